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
 * Each event is recorded in the SAME transaction as the change it reports: a row of
 * escalation_log (seq, line), the seq one more than the last, the line starting with
 * it. The exporter (escalation_log_export) later appends the committed rows the file
 * lacks, in seq order, under an flock (so lines from the service and the command line
 * never interleave, and no seq is written twice), with one fdatasync. So an event whose
 * transaction committed is in the file once the exporter has run: the service runs it
 * off the commit path (the store's checkpointer thread) and at start, the commands right
 * after their COMMIT. The events are also collected in a struct escalation_events for
 * the live consumers, as the same line without its seq.
 *
 * The file is a copy of the table, so it may be rotated: the service renames it to
 * escalations.jsonl.1 (shifting older ones up, dropping the oldest past a kept count)
 * once it passes a size, and any exporter that finds the name pointing at another file
 * than the one it holds (its own rotation, another process's, or logrotate's rename)
 * reopens it. A new empty file continues after the last seq of the one before it (the
 * exporter's memory, else escalations.jsonl.1's last line), never from seq 1 again.
 * An event line is one JSON object:
 *   {"seq":42,"time":"2025-01-02T03:04:05.678Z","event":"opened","escalation":17,
 *    "level":"urgent","intent":"crisis_overdose","texter":"+15550001111","staff":null,
 *    "via":"service"}
 * "staff" is the staff member paged (paged, re-paged) or who acted (acknowledged,
 * closed); null otherwise. The texter's words never appear in the log, nor in pages but
 * the relay of a held texter's text to the holder's phone (escalation_relay).
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

/* Event lines collected for the live consumers (the log gets them through
 * escalation_log); owned by whoever declared the struct. */
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

/* ---- part 2: holding, relays, staff replies, views ---- */

/* Outbox priority of a staff member's answer to a texter: ahead of FAQ replies, behind
 * pages. It is a reply-kind job, so the opt-out veto applies to it. */
#define ESCALATION_PRIORITY_STAFF_REPLY 1

enum escalation_cmd {
    ESCALATION_CMD_NONE,
    ESCALATION_CMD_ACK,   /* "ACK 17" */
    ESCALATION_CMD_REPLY, /* "R 17 text": *msg is the text (after one space) */
    ESCALATION_CMD_CLOSE, /* "CLOSE 17" */
};

/* Parses a staff text (any case, spaces around, an optional '#' before the id). */
enum escalation_cmd escalation_parse_command(const char *text, int64_t *id, const char **msg);

/*
 * Whether texter's conversation is held: their active escalation is acknowledged and its
 * acknowledger is still in the directory. 1 with *id, the holder's name and phone; 0 when
 * not held; -1 on error.
 */
int escalation_holder(struct escalation_db *e, const char *texter, int64_t *id, char *name,
                      size_t namelen, char *phone, size_t phonelen);

/*
 * A held texter's text goes to the holder: one page "#17 +15550001111: <text>" (cut to
 * the SMS body limit) and a "relayed" event (without the text). 0 or -1 with err.
 */
int escalation_relay(struct escalation_db *e, int64_t id, const char *texter, const char *line,
                     const char *holder, const char *holder_phone, const char *text, int64_t now,
                     struct escalation_pages *pages, struct escalation_events *ev, char *err,
                     size_t errlen);

enum escalation_reply_outcome {
    ESCALATION_REPLY_OK,        /* write the job: to the texter, from the line */
    ESCALATION_REPLY_NONE,      /* no such escalation, or closed */
    ESCALATION_REPLY_OPTED_OUT, /* the texter sent STOP: nothing may reach them */
    ESCALATION_REPLY_EMPTY,     /* no text, or over the SMS body limit */
};

/*
 * Staff member `staff` answers escalation id's texter with text: checks, acknowledges it
 * first when still open (the one who answers holds it), and a "replied" event. On OK, to
 * and from (40 bytes each) get the texter's number and the hotline line; the caller
 * inserts the reply job (ESCALATION_PRIORITY_STAFF_REPLY) in the same transaction.
 */
int escalation_reply(struct escalation_db *e, int64_t id, const char *staff, const char *via,
                     const char *text, int64_t now, enum escalation_reply_outcome *outcome,
                     char *to, char *from, struct escalation_events *ev, char *err, size_t errlen);

/* An audit "viewed" event: staff saw escalation id's conversation. 1, 0 (no such), -1. */
int escalation_viewed(struct escalation_db *e, int64_t id, const char *staff, const char *via,
                      int64_t now, struct escalation_events *ev, char *err, size_t errlen);

/* The escalations as a JSON array (jansson json_t *; NULL on error): active ones (all:
 * closed too), urgent first, then oldest. */
void *escalation_list_json(struct sqlite3 *db, bool all);
/* One escalation with its conversation, or NULL (no such escalation, or an error): the
 * list's fields, "lang" (the texter's language, "en" or "es") and "texts", in time order:
 * {"at","from":"texter","intent","text","reply","reply_status"} (reply and its delivery
 * status null when no auto-reply) or {"at","from":"staff","text","status"}; a status is
 * the reply job's state (pending, sending, sent, delivered, undelivered, failed...). */
void *escalation_show_json(struct sqlite3 *db, int64_t id);

/* The escalation log file as one exporter holds it. */
struct escalation_log_file {
    char path[4096];   /* $data_dir/escalations.jsonl */
    char dir[4096];    /* $data_dir, synced after a rename */
    int fd;            /* the file this exporter holds, or -1 */
    int64_t synced;    /* the last seq this exporter wrote and synced (0: none yet) */
    int64_t max_bytes; /* rotate once the file reaches this size (0: never) */
    int keep;          /* rotated files kept: escalations.jsonl.1 .. .keep */
    bool rotated;      /* the last export rotated the file */
    int rotate_errno;  /* the last export's rotation failed with this (0: it did not) */
};

/*
 * Opens (creating, 0600 whatever the umask) $data_dir/escalations.jsonl for reading and
 * appending. max_bytes 0 never rotates (the commands, or logrotate doing it instead:
 * it must rename, not copytruncate, and keep .1 uncompressed); keep is the number of
 * rotated files kept (1 or more). 0, or -1 (errno).
 */
int escalation_log_open(struct escalation_log_file *log, const char *data_dir, int64_t max_bytes,
                        int keep);
void escalation_log_close(struct escalation_log_file *log);

/*
 * Appends the committed escalation_log rows of db whose seq is above the file's last
 * line's (an empty file: above log->synced or escalations.jsonl.1's last line), in seq
 * order: flock, write, fdatasync; then rotates the file if it has reached max_bytes.
 * The file it locks is the one the path names now (see the top). A torn last line is
 * cut off first (and its row written again). *exported (may be NULL) gets the number of
 * lines written; on_line (may be NULL) hears each of them once they are synced. A failed
 * rotation does not fail the export: it sets log->rotate_errno. 0, or -1 (errno).
 */
/* Called with each line the export wrote (its "seq" included, no newline). */
typedef void (*escalation_line_fn)(void *ctx, const char *line, size_t len);

int escalation_log_export(struct escalation_log_file *log, struct sqlite3 *db, int64_t *exported,
                          escalation_line_fn on_line, void *ctx);

/* The need of an intent in plain words ("possible overdose"). */
const char *escalation_need(enum intent intent);

#endif
