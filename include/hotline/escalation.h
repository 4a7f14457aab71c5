/*
 * escalation: handing a texter to a person. Owns the escalation records (opened, joined,
 * raised, paged, re-paged, acknowledged, closed), the page text and the escalation log
 * ($data_dir/escalations.jsonl).
 *
 * Why it is shaped so: an escalation must be opened in the SAME transaction as the text
 * that caused it (a text that committed without its escalation would be a person in
 * danger nobody hears of), and the service's writer thread and the command line both
 * change escalations. So everything here works on a caller's sqlite3 connection, inside
 * a transaction the caller runs: the store calls it on its writer thread, the `hotline
 * escalations` commands on their own connection. Nothing here commits, sleeps or logs to
 * stderr; it never blocks but on SQLite's own busy wait.
 *
 * The escalation log is written by the caller only after the COMMIT that holds the
 * events (escalation_log_write: write + fdatasync under an flock, so lines from the
 * service and the command line never interleave). The events are collected meanwhile in
 * a struct escalation_events. An event line is one JSON object:
 *   {"time":"2025-01-02T03:04:05.678Z","event":"opened","escalation":17,"level":"urgent",
 *    "intent":"crisis_overdose","texter":"+15550001111","staff":null,"via":"service"}
 * "staff" is the staff member paged (paged, re-paged) or who acted (acknowledged,
 * closed); null otherwise. The texter's words never appear in pages or in the log.
 *
 * Levels: urgent escalations page every on-call staff phone at once and again every
 * re-page interval until acknowledged; standard ones page once. One active (not closed)
 * escalation per texter: a further text joins it; an urgent text raises a standard one
 * to urgent (unacknowledged again) and pages.
 */
#ifndef HOTLINE_ESCALATION_H
#define HOTLINE_ESCALATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotline/intent.h"

struct sqlite3;
struct escalation_db;

/* The schema this module relies on (a store migration creates it). */
#define ESCALATION_LOG_FILE "escalations.jsonl"

/* Event lines collected for the log; owned by whoever declared the struct. */
struct escalation_events {
    char *data;
    size_t len, cap;
};
void escalation_events_clear(struct escalation_events *ev);

/* One page to send: an SMS to a staff phone. Strings owned by the list. */
struct escalation_page {
    int64_t escalation_id;
    char *to;    /* the staff phone */
    char *from;  /* the hotline number the texter wrote to */
    char *body;  /* the page text: no texter words */
    char *staff; /* the staff member's name */
};
struct escalation_pages {
    struct escalation_page *v;
    size_t n, cap;
};
void escalation_pages_clear(struct escalation_pages *p);

/* Prepared statements on one connection. NULL on failure. free(NULL) is a no-op. */
struct escalation_db *escalation_db_new(struct sqlite3 *db);
void escalation_db_free(struct escalation_db *e);

/*
 * The staff member whose phone is `phone`: 1 with the name in name (NUL-terminated,
 * truncated to namelen), 0 when the number is no staff phone, -1 on error.
 */
int escalation_staff_by_phone(struct escalation_db *e, const char *phone, char *name,
                              size_t namelen);

/*
 * A committed text from `texter` to the hotline number `line`, with the decision's level.
 * Opens, joins or raises the texter's escalation, appends the pages to send (every
 * on-call staff phone) and the events. *escalation_id is the escalation the text belongs
 * to (0: none). 0, or -1 with a reason (no numbers, no texts) in err.
 */
int escalation_on_text(struct escalation_db *e, const char *texter, const char *line,
                       enum intent intent, enum escalation level, int64_t inbound_id, int64_t now,
                       int64_t *escalation_id, struct escalation_pages *pages,
                       struct escalation_events *ev, char *err, size_t errlen);

/* Urgent escalations still unacknowledged whose last page is repage_ms old or more: pages
 * every on-call phone again. 0, or -1 with err. */
int escalation_repage_due(struct escalation_db *e, int64_t now, int64_t repage_ms,
                          struct escalation_pages *pages, struct escalation_events *ev, char *err,
                          size_t errlen);

enum escalation_act_outcome {
    ESCALATION_ACT_DONE,    /* acknowledged / closed now */
    ESCALATION_ACT_ALREADY, /* acknowledged already (ack only): by holds who */
    ESCALATION_ACT_NONE,    /* no such escalation, or closed */
};

/* Acknowledges (ack) or closes (!ack) escalation id as staff member `staff`; `via` is
 * "sms" or "cli". by (may be NULL) gets who acknowledged it when ALREADY. 0 with
 * *outcome, or -1 with err. */
int escalation_act(struct escalation_db *e, int64_t id, bool ack, const char *staff,
                   const char *via, int64_t now, enum escalation_act_outcome *outcome, char *by,
                   size_t bylen, struct escalation_events *ev, char *err, size_t errlen);

/*
 * Parses a staff text: "ACK 17" (any case, spaces around, an optional '#'). Returns 1 with
 * *id, 0 when it is not a command.
 */
int escalation_parse_ack(const char *text, int64_t *id);

/* Writes what ev holds to the open log fd: flock, write, fdatasync. 0 or -1 (errno). */
int escalation_log_write(int fd, const char *data, size_t len);

/* Opens (creating, 0600 whatever the umask) $data_dir/escalations.jsonl for appending.
 * The fd, or -1 (errno). */
int escalation_log_open(const char *data_dir);

/* The need of an intent in plain words ("possible overdose"). */
const char *escalation_need(enum intent intent);

#endif
