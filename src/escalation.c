/*
 * escalation: the escalation records, the page text and the escalation log (see
 * escalation.h for why everything here runs inside a caller's transaction).
 *
 * The rules, in one place:
 *  - a texter has at most one active (open or acknowledged) escalation; the schema's
 *    partial unique index holds it;
 *  - a text with level standard or urgent and no active escalation opens one and pages
 *    every on-call phone; with one active, it joins it; an urgent text on a standard
 *    escalation raises it to urgent, clears its acknowledgment and pages again;
 *  - urgent and open (unacknowledged) escalations are paged again when their last page
 *    is the re-page interval old; standard ones never are;
 *  - with nobody on call the escalation is still opened and logged (the round counts as
 *    paged, so someone who goes on call is paged at the next re-page of an urgent one).
 */
#include "hotline/escalation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

enum esc_stmt {
    E_ACTIVE,
    E_INSERT,
    E_RAISE,
    E_PAGED,
    E_ON_CALL,
    E_STAFF_BY_PHONE,
    E_DUE,
    E_GET,
    E_ACK,
    E_CLOSE,
    E_HOLDER,
    E_OPTED_OUT,
    E_LOG_NEXT,
    E_LOG_INSERT,
    E_COUNT
};

static const char *const esc_sql[E_COUNT] = {
    [E_ACTIVE] = "SELECT id, level FROM escalations WHERE texter = ?1"
                 " AND state != 'closed'",
    [E_INSERT] = "INSERT INTO escalations (texter, line, level, intent, state, inbound_id,"
                 " opened_at, last_paged_at, pages, updated_at)"
                 " VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?6, 1, ?6)",
    [E_RAISE] = "UPDATE escalations SET level = 'urgent', intent = ?2, state = 'open',"
                " acked_at = NULL, acked_by = NULL, last_paged_at = ?3, pages = pages + 1,"
                " updated_at = ?3 WHERE id = ?1",
    [E_PAGED] = "UPDATE escalations SET last_paged_at = ?2, pages = pages + 1, updated_at = ?2"
                " WHERE id = ?1",
    [E_ON_CALL] = "SELECT name, phone FROM staff WHERE on_call = 1 ORDER BY name",
    [E_STAFF_BY_PHONE] = "SELECT name FROM staff WHERE phone = ?1",
    [E_DUE] = "SELECT id, texter, line, intent, pages FROM escalations WHERE level = 'urgent'"
              " AND state = 'open' AND last_paged_at <= ?1 ORDER BY opened_at, id LIMIT 64",
    [E_GET] = "SELECT texter, level, intent, state, acked_by, line FROM escalations WHERE id = ?1",
    [E_ACK] = "UPDATE escalations SET state = 'acknowledged', acked_at = ?2, acked_by = ?3,"
              " updated_at = ?2 WHERE id = ?1",
    [E_CLOSE] = "UPDATE escalations SET state = 'closed', closed_at = ?2, closed_by = ?3,"
                " updated_at = ?2 WHERE id = ?1",
    /* "state != 'closed'" lets SQLite use the escalations_active index (texter): without
     * it every text from a texter scanned every escalation ever opened. */
    [E_HOLDER] = "SELECT e.id, s.name, s.phone FROM escalations e JOIN staff s ON s.name ="
                 " e.acked_by WHERE e.texter = ?1 AND e.state != 'closed'"
                 " AND e.state = 'acknowledged'",
    [E_OPTED_OUT] = "SELECT opted_out FROM senders WHERE number = ?1",
    [E_LOG_NEXT] = "SELECT coalesce(max(seq), 0) + 1 FROM escalation_log",
    [E_LOG_INSERT] = "INSERT INTO escalation_log (seq, line) VALUES (?1, ?2)",
};

struct escalation_db {
    sqlite3 *db;
    sqlite3_stmt *st[E_COUNT];
};

/* ---- small helpers ---- */

void escalation_events_clear(struct escalation_events *ev)
{
    if (!ev)
        return;
    free(ev->data);
    memset(ev, 0, sizeof *ev);
}

void escalation_pages_clear(struct escalation_pages *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].to);
        free(p->v[i].from);
        free(p->v[i].body);
        free(p->v[i].staff);
    }
    free(p->v);
    memset(p, 0, sizeof *p);
}

struct escalation_db *escalation_db_new(struct sqlite3 *db)
{
    struct escalation_db *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->db = db;
    return e;
}

void escalation_db_free(struct escalation_db *e)
{
    if (!e)
        return;
    for (int i = 0; i < E_COUNT; i++)
        sqlite3_finalize(e->st[i]);
    free(e);
}

/* The statement, reset and unbound, or NULL with err set. */
static sqlite3_stmt *stmt(struct escalation_db *e, enum esc_stmt id, char *err, size_t errlen)
{
    if (!e->st[id] && sqlite3_prepare_v3(e->db, esc_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                         &e->st[id], NULL) != SQLITE_OK) {
        snprintf(err, errlen, "prepare escalation statement: %s", sqlite3_errmsg(e->db));
        return NULL;
    }
    sqlite3_reset(e->st[id]);
    sqlite3_clear_bindings(e->st[id]);
    return e->st[id];
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}

/* Steps a statement that returns no row; -1 with err on failure. */
static int exec_done(struct escalation_db *e, sqlite3_stmt *st, const char *what, char *err,
                     size_t errlen)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(e->db));
        return -1;
    }
    return 0;
}

const char *escalation_need(enum intent intent)
{
    switch (intent) {
    case INTENT_CRISIS_SUICIDE:
        return "suicide risk";
    case INTENT_CRISIS_OVERDOSE:
        return "possible overdose";
    case INTENT_MEDICAL_URGENT:
        return "urgent medical";
    case INTENT_GET_HELP:
        return "wants help";
    case INTENT_HUMAN:
        return "asks for a person";
    case INTENT_FALLBACK:
        return "not understood twice";
    default:
        return "needs a person";
    }
}

/* ---- events ---- */

static void iso_time(int64_t ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", base, (int)(ms % 1000));
}

/*
 * One event: its line gets the next seq and goes into escalation_log in the caller's
 * transaction (the exporter copies it to the file once committed), and into ev for the
 * live consumers.
 */
static int event_add(struct escalation_db *e, struct escalation_events *ev, int64_t now,
                     const char *event, int64_t id, const char *level, const char *intent,
                     const char *texter, const char *staff, const char *via, char *err,
                     size_t errlen)
{
    char when[40];
    iso_time(now, when, sizeof when);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s?, s:s}", "time", when, "event", event,
                          "escalation", (json_int_t)id, "level", level, "intent", intent, "texter",
                          texter, "staff", staff, "via", via);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!line) {
        snprintf(err, errlen, "out of memory (event)");
        return -1;
    }
    /* The log's line: {"seq":N, then the live line's members. */
    sqlite3_stmt *st = stmt(e, E_LOG_NEXT, err, errlen);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (st)
        sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        if (st)
            snprintf(err, errlen, "next log seq: %s", sqlite3_errmsg(e->db));
        free(line);
        return -1;
    }
    char *logged = sqlite3_mprintf("{\"seq\":%lld,%s", (long long)seq, line + 1);
    if (!logged || !(st = stmt(e, E_LOG_INSERT, err, errlen))) {
        if (!logged)
            snprintf(err, errlen, "out of memory (event)");
        sqlite3_free(logged);
        free(line);
        return -1;
    }
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, logged, -1, sqlite3_free);
    if (exec_done(e, st, "insert log line", err, errlen) < 0) {
        free(line);
        return -1;
    }
    size_t n = strlen(line);
    if (ev->len + n + 2 > ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 512;
        while (cap < ev->len + n + 2)
            cap *= 2;
        char *grown = realloc(ev->data, cap);
        if (!grown) {
            free(line);
            snprintf(err, errlen, "out of memory (event)");
            return -1;
        }
        ev->data = grown;
        ev->cap = cap;
    }
    memcpy(ev->data + ev->len, line, n);
    ev->len += n;
    ev->data[ev->len++] = '\n';
    ev->data[ev->len] = '\0';
    free(line);
    return 0;
}

/* ---- pages ---- */

/* The page text: GSM-7 only (plain ASCII without []{}|^~\), one segment for any E.164. */
static void page_text(char *out, size_t outlen, int64_t id, bool urgent, const char *what,
                      enum intent intent, const char *texter)
{
    if (urgent)
        snprintf(out, outlen, "URGENT hotline #%lld%s: %s. Texter %s. Reply ACK %lld",
                 (long long)id, what, escalation_need(intent), texter, (long long)id);
    else
        snprintf(out, outlen, "hotline #%lld: %s, please follow up. Texter %s. Reply ACK %lld",
                 (long long)id, escalation_need(intent), texter, (long long)id);
}

static int page_add(struct escalation_pages *p, int64_t id, const char *to, const char *from,
                    const char *body, const char *staff)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        struct escalation_page *grown = realloc(p->v, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->v = grown;
        p->cap = cap;
    }
    struct escalation_page *pg = &p->v[p->n];
    pg->escalation_id = id;
    pg->to = strdup(to);
    pg->from = strdup(from);
    pg->body = strdup(body);
    pg->staff = strdup(staff);
    if (!pg->to || !pg->from || !pg->body || !pg->staff) {
        free(pg->to);
        free(pg->from);
        free(pg->body);
        free(pg->staff);
        return -1;
    }
    p->n++;
    return 0;
}

/* One round of pages for escalation id: every on-call phone, one event each. */
static int page_round(struct escalation_db *e, int64_t id, bool urgent, const char *what,
                      const char *event, enum intent intent, const char *texter, const char *line,
                      int64_t now, struct escalation_pages *pages, struct escalation_events *ev,
                      char *err, size_t errlen)
{
    char body[200];
    page_text(body, sizeof body, id, urgent, what, intent, texter);
    sqlite3_stmt *st = stmt(e, E_ON_CALL, err, errlen);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = col_text(st, 0), *phone = col_text(st, 1);
        if (page_add(pages, id, phone, line, body, name) < 0 ||
            event_add(e, ev, now, event, id, urgent ? "urgent" : "standard", intent_name(intent),
                      texter, name, "service", err, errlen) < 0) {
            sqlite3_reset(st);
            snprintf(err, errlen, "out of memory (pages)");
            return -1;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "read on-call staff: %s", sqlite3_errmsg(e->db));
        return -1;
    }
    return 0;
}

int escalation_staff_by_phone(struct escalation_db *e, const char *phone, char *name,
                              size_t namelen)
{
    char err[160]; /* the reason is dropped; sized so that -O3 sees no truncation */
    sqlite3_stmt *st = stmt(e, E_STAFF_BY_PHONE, err, sizeof err);
    if (!st)
        return -1;
    bind_text(st, 1, phone);
    int rc = sqlite3_step(st), ret = -1;
    if (rc == SQLITE_ROW) {
        snprintf(name, namelen, "%s", col_text(st, 0));
        ret = 1;
    } else if (rc == SQLITE_DONE) {
        ret = 0;
    }
    sqlite3_reset(st);
    return ret;
}

int escalation_on_text(struct escalation_db *e, const char *texter, const char *line,
                       enum intent intent, enum escalation level, int64_t inbound_id, int64_t now,
                       int64_t *escalation_id, struct escalation_pages *pages,
                       struct escalation_events *ev, char *err, size_t errlen)
{
    *escalation_id = 0;
    sqlite3_stmt *st = stmt(e, E_ACTIVE, err, errlen);
    if (!st)
        return -1;
    bind_text(st, 1, texter);
    int rc = sqlite3_step(st);
    int64_t id = 0;
    bool was_urgent = false;
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        was_urgent = strcmp(col_text(st, 1), "urgent") == 0;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(err, errlen, "find escalation: %s", sqlite3_errmsg(e->db));
        return -1;
    }

    if (id == 0) {
        if (level == ESCALATE_NONE)
            return 0;
        bool urgent = level == ESCALATE_URGENT;
        if (!(st = stmt(e, E_INSERT, err, errlen)))
            return -1;
        bind_text(st, 1, texter);
        bind_text(st, 2, line);
        bind_text(st, 3, urgent ? "urgent" : "standard");
        bind_text(st, 4, intent_name(intent));
        if (inbound_id)
            sqlite3_bind_int64(st, 5, inbound_id);
        sqlite3_bind_int64(st, 6, now);
        if (exec_done(e, st, "open escalation", err, errlen) < 0)
            return -1;
        id = sqlite3_last_insert_rowid(e->db);
        *escalation_id = id;
        if (event_add(e, ev, now, "opened", id, urgent ? "urgent" : "standard", intent_name(intent),
                      texter, NULL, "service", err, errlen) < 0)
            return -1;
        return page_round(e, id, urgent, "", "paged", intent, texter, line, now, pages, ev, err,
                          errlen);
    }

    *escalation_id = id;
    if (level == ESCALATE_URGENT && !was_urgent) {
        if (!(st = stmt(e, E_RAISE, err, errlen)))
            return -1;
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, intent_name(intent));
        sqlite3_bind_int64(st, 3, now);
        if (exec_done(e, st, "raise escalation", err, errlen) < 0 ||
            event_add(e, ev, now, "raised", id, "urgent", intent_name(intent), texter, NULL,
                      "service", err, errlen) < 0)
            return -1;
        return page_round(e, id, true, " (raised)", "paged", intent, texter, line, now, pages, ev,
                          err, errlen);
    }
    /* Joined: the text belongs to the escalation; nobody is paged again for it. */
    return event_add(e, ev, now, "joined", id, was_urgent ? "urgent" : "standard",
                     intent_name(intent), texter, NULL, "service", err, errlen);
}

int escalation_repage_due(struct escalation_db *e, int64_t now, int64_t repage_ms,
                          struct escalation_pages *pages, struct escalation_events *ev, char *err,
                          size_t errlen)
{
    struct due {
        int64_t id;
        char texter[40], line[40];
        int intent, pages;
    } due[64];
    size_t n = 0;
    sqlite3_stmt *st = stmt(e, E_DUE, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now - repage_ms);
    int rc;
    while (n < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        due[n].id = sqlite3_column_int64(st, 0);
        snprintf(due[n].texter, sizeof due[n].texter, "%s", col_text(st, 1));
        snprintf(due[n].line, sizeof due[n].line, "%s", col_text(st, 2));
        due[n].intent = intent_from_name(col_text(st, 3));
        due[n].pages = sqlite3_column_int(st, 4);
        n++;
    }
    sqlite3_reset(st);
    if (n < 64 && rc != SQLITE_DONE) {
        snprintf(err, errlen, "find due escalations: %s", sqlite3_errmsg(e->db));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char what[48];
        snprintf(what, sizeof what, " (page %d, no ACK yet)", due[i].pages + 1);
        enum intent intent = due[i].intent >= 0 ? (enum intent)due[i].intent : INTENT_FALLBACK;
        if (!(st = stmt(e, E_PAGED, err, errlen)))
            return -1;
        sqlite3_bind_int64(st, 1, due[i].id);
        sqlite3_bind_int64(st, 2, now);
        if (exec_done(e, st, "mark escalation paged", err, errlen) < 0 ||
            page_round(e, due[i].id, true, what, "re-paged", intent, due[i].texter, due[i].line,
                       now, pages, ev, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int escalation_act(struct escalation_db *e, int64_t id, bool ack, const char *staff,
                   const char *via, int64_t now, enum escalation_act_outcome *outcome, char *by,
                   size_t bylen, struct escalation_events *ev, char *err, size_t errlen)
{
    *outcome = ESCALATION_ACT_NONE;
    if (by && bylen)
        by[0] = '\0';
    sqlite3_stmt *st = stmt(e, E_GET, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    char texter[40] = "", level[16] = "", intent[40] = "", state[16] = "";
    if (rc == SQLITE_ROW) {
        snprintf(texter, sizeof texter, "%s", col_text(st, 0));
        snprintf(level, sizeof level, "%s", col_text(st, 1));
        snprintf(intent, sizeof intent, "%s", col_text(st, 2));
        snprintf(state, sizeof state, "%s", col_text(st, 3));
        if (by && bylen)
            snprintf(by, bylen, "%s", col_text(st, 4));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(err, errlen, "read escalation: %s", sqlite3_errmsg(e->db));
        return -1;
    }
    if (rc == SQLITE_DONE || strcmp(state, "closed") == 0)
        return 0;
    if (ack && strcmp(state, "acknowledged") == 0) {
        *outcome = ESCALATION_ACT_ALREADY;
        return 0;
    }
    if (!(st = stmt(e, ack ? E_ACK : E_CLOSE, err, errlen)))
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    bind_text(st, 3, staff);
    if (exec_done(e, st, ack ? "acknowledge escalation" : "close escalation", err, errlen) < 0 ||
        event_add(e, ev, now, ack ? "acknowledged" : "closed", id, level, intent, texter, staff,
                  via, err, errlen) < 0)
        return -1;
    *outcome = ESCALATION_ACT_DONE;
    return 0;
}

/* "WORD [#]N": the id after the word, and where the rest starts; NULL when no match. */
static const char *parse_word_id(const char *text, const char *word, int64_t *id)
{
    const char *p = text;
    size_t wl = strlen(word);
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (strncasecmp(p, word, wl) != 0)
        return NULL;
    p += wl;
    if (*p != ' ' && *p != '\t' && *p != '#')
        return NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '#')
        p++;
    if (*p < '0' || *p > '9')
        return NULL;
    int64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > 100000000000LL)
            return NULL;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return NULL;
    *id = v;
    return p;
}

/* Nothing but spaces and a final '.' or '!' left. */
static bool only_trailer(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '.' || *p == '!')
        p++;
    return *p == '\0';
}

int escalation_parse_ack(const char *text, int64_t *id)
{
    return escalation_parse_command(text, id, NULL) == ESCALATION_CMD_ACK;
}

enum escalation_cmd escalation_parse_command(const char *text, int64_t *id, const char **msg)
{
    int64_t v = 0;
    const char *p;
    if ((p = parse_word_id(text, "ack", &v)) && only_trailer(p)) {
        *id = v;
        return ESCALATION_CMD_ACK;
    }
    if ((p = parse_word_id(text, "close", &v)) && only_trailer(p)) {
        *id = v;
        return ESCALATION_CMD_CLOSE;
    }
    /* "R 17 text": the text is everything after the one space that follows the id. */
    if ((p = parse_word_id(text, "r", &v)) && (*p == ' ' || *p == '\t' || *p == '\n')) {
        *id = v;
        if (msg)
            *msg = p + 1;
        return ESCALATION_CMD_REPLY;
    }
    return ESCALATION_CMD_NONE;
}

/* ---- holding, relays, staff replies, views ---- */

int escalation_holder(struct escalation_db *e, const char *texter, int64_t *id, char *name,
                      size_t namelen, char *phone, size_t phonelen)
{
    char err[160]; /* the reason is dropped; sized so that -O3 sees no truncation */
    sqlite3_stmt *st = stmt(e, E_HOLDER, err, sizeof err);
    if (!st)
        return -1;
    bind_text(st, 1, texter);
    int rc = sqlite3_step(st), ret = -1;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(name, namelen, "%s", col_text(st, 1));
        snprintf(phone, phonelen, "%s", col_text(st, 2));
        ret = 1;
    } else if (rc == SQLITE_DONE) {
        ret = 0;
    }
    sqlite3_reset(st);
    return ret;
}

struct esc_row {
    char texter[40], level[16], intent[40], state[16], acked_by[40], line[40];
};

/* 1 with the row, 0 when there is no such escalation, -1 with err. */
static int get_row(struct escalation_db *e, int64_t id, struct esc_row *r, char *err, size_t errlen)
{
    sqlite3_stmt *st = stmt(e, E_GET, err, errlen);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(r->texter, sizeof r->texter, "%s", col_text(st, 0));
        snprintf(r->level, sizeof r->level, "%s", col_text(st, 1));
        snprintf(r->intent, sizeof r->intent, "%s", col_text(st, 2));
        snprintf(r->state, sizeof r->state, "%s", col_text(st, 3));
        snprintf(r->acked_by, sizeof r->acked_by, "%s", col_text(st, 4));
        snprintf(r->line, sizeof r->line, "%s", col_text(st, 5));
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(err, errlen, "read escalation: %s", sqlite3_errmsg(e->db));
        return -1;
    }
    return rc == SQLITE_ROW;
}

/* Longest relay and staff reply: Twilio's Body limit (store.h's STORE_BODY_MAX). */
#define BODY_MAX 1600

int escalation_relay(struct escalation_db *e, int64_t id, const char *texter, const char *line,
                     const char *holder, const char *holder_phone, const char *text, int64_t now,
                     struct escalation_pages *pages, struct escalation_events *ev, char *err,
                     size_t errlen)
{
    struct esc_row r;
    int found = get_row(e, id, &r, err, errlen);
    if (found <= 0)
        return found < 0 ? -1 : 0;
    /* Cut to the limit in characters, never inside a UTF-8 sequence. */
    char body[BODY_MAX * 4 + 1];
    int head = snprintf(body, sizeof body, "#%lld %s: ", (long long)id, texter);
    size_t chars = (size_t)head, at = (size_t)head;
    for (const unsigned char *p = (const unsigned char *)text; *p && chars < BODY_MAX; chars++) {
        size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : 4;
        for (size_t k = 0; k < n && *p && at < sizeof body - 1; k++)
            body[at++] = (char)*p++;
    }
    body[at] = '\0';
    if (page_add(pages, id, holder_phone, line, body, holder) < 0) {
        snprintf(err, errlen, "out of memory (relay)");
        return -1;
    }
    return event_add(e, ev, now, "relayed", id, r.level, r.intent, texter, holder, "service", err,
                     errlen);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int escalation_reply(struct escalation_db *e, int64_t id, const char *staff, const char *via,
                     const char *text, int64_t now, enum escalation_reply_outcome *outcome,
                     char *to, char *from, struct escalation_events *ev, char *err, size_t errlen)
{
    *outcome = ESCALATION_REPLY_NONE;
    const char *t = text ? text : "";
    while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
        t++;
    if (!*t || utf8_chars(text) > BODY_MAX) {
        *outcome = ESCALATION_REPLY_EMPTY;
        return 0;
    }
    struct esc_row r;
    int found = get_row(e, id, &r, err, errlen);
    if (found < 0)
        return -1;
    if (!found || strcmp(r.state, "closed") == 0)
        return 0;
    sqlite3_stmt *st = stmt(e, E_OPTED_OUT, err, errlen);
    if (!st)
        return -1;
    bind_text(st, 1, r.texter);
    int rc = sqlite3_step(st);
    bool opted_out = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        snprintf(err, errlen, "read sender: %s", sqlite3_errmsg(e->db));
        return -1;
    }
    if (opted_out) {
        *outcome = ESCALATION_REPLY_OPTED_OUT;
        return 0;
    }
    if (strcmp(r.state, "open") == 0) {
        /* Whoever answers first holds the conversation. */
        enum escalation_act_outcome ao;
        if (escalation_act(e, id, true, staff, via, now, &ao, NULL, 0, ev, err, errlen) < 0)
            return -1;
    }
    snprintf(to, 40, "%s", r.texter);
    snprintf(from, 40, "%s", r.line);
    *outcome = ESCALATION_REPLY_OK;
    return event_add(e, ev, now, "replied", id, r.level, r.intent, r.texter, staff, via, err,
                     errlen);
}

int escalation_viewed(struct escalation_db *e, int64_t id, const char *staff, const char *via,
                      int64_t now, struct escalation_events *ev, char *err, size_t errlen)
{
    struct esc_row r;
    int found = get_row(e, id, &r, err, errlen);
    if (found <= 0)
        return found;
    if (event_add(e, ev, now, "viewed", id, r.level, r.intent, r.texter, staff, via, err, errlen) <
        0)
        return -1;
    return 1;
}

/* ---- JSON views (the command line and the staff API) ---- */

#define ESC_COLUMNS                                                                                \
    "id, level, state, intent, texter, opened_at, pages, acked_by, acked_at, closed_by, "          \
    "closed_at, inbound_id"

static void fmt_time(int64_t ms, char *out, size_t outlen)
{
    if (ms <= 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *need_of(const char *intent)
{
    int i = intent_from_name(intent);
    return escalation_need(i >= 0 ? (enum intent)i : INTENT_FALLBACK);
}

static json_t *esc_json(sqlite3_stmt *st)
{
    const char *acked_by = (const char *)sqlite3_column_text(st, 7);
    const char *closed_by = (const char *)sqlite3_column_text(st, 9);
    char opened[32], acked[32], closed[32];
    fmt_time(sqlite3_column_int64(st, 5), opened, sizeof opened);
    fmt_time(sqlite3_column_int64(st, 8), acked, sizeof acked);
    fmt_time(sqlite3_column_int64(st, 10), closed, sizeof closed);
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s?, s:s?, s:s?, s:s?}", "id",
        (json_int_t)sqlite3_column_int64(st, 0), "level", col_text(st, 1), "state", col_text(st, 2),
        "intent", col_text(st, 3), "need", need_of(col_text(st, 3)), "texter", col_text(st, 4),
        "opened_at", opened, "pages", sqlite3_column_int(st, 6), "acked_by", acked_by, "acked_at",
        acked_by ? acked : NULL, "closed_by", closed_by, "closed_at", closed_by ? closed : NULL);
}

void *escalation_list_json(struct sqlite3 *db, bool all)
{
    static const char sql[] = "SELECT " ESC_COLUMNS " FROM escalations"
                              " WHERE ?1 OR state != 'closed'"
                              " ORDER BY level = 'urgent' DESC, opened_at, id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int(st, 1, all);
    json_t *list = json_array();
    int rc;
    while (list && (rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(list, esc_json(st));
    sqlite3_finalize(st);
    if (list && rc != SQLITE_DONE) {
        json_decref(list);
        return NULL;
    }
    return list;
}

void *escalation_show_json(struct sqlite3 *db, int64_t id)
{
    sqlite3_stmt *st = NULL;
    json_t *e = NULL;
    int64_t inbound_id = 0;
    char texter[40] = "";
    if (sqlite3_prepare_v2(db, "SELECT " ESC_COLUMNS " FROM escalations WHERE id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            e = esc_json(st);
            inbound_id = sqlite3_column_int64(st, 11);
            snprintf(texter, sizeof texter, "%s", col_text(st, 4));
        }
    }
    sqlite3_finalize(st);
    if (!e)
        return NULL;
    /* The texter's texts since it opened, each with the auto-reply it got (if any), and
     * the staff's answers, in time order; each reply with its delivery status (the job's
     * state: pending, sending, sent, delivered, undelivered, failed, canceled, read). */
    json_t *texts = json_array();
    static const char sql[] =
        "SELECT at, who, intent, body, reply, reply_state, state, staff FROM ("
        " SELECT i.received_at AS at, i.id AS k, 'texter' AS who, i.intent AS intent,"
        " i.body AS body, (SELECT j.body FROM jobs j WHERE j.inbound_id = i.id AND"
        " j.kind = 'reply' ORDER BY j.id LIMIT 1) AS reply, (SELECT j.state FROM jobs j"
        " WHERE j.inbound_id = i.id AND j.kind = 'reply' ORDER BY j.id LIMIT 1) AS reply_state,"
        " NULL AS state, NULL AS staff"
        " FROM inbound i WHERE i.from_number = ?1 AND i.id >= ?2 AND i.staff IS NULL"
        " UNION ALL SELECT j.created_at, j.id, 'staff', NULL, j.body, NULL, NULL, j.state,"
        " j.staff"
        " FROM jobs j WHERE j.escalation_id = ?3 AND j.kind = 'reply')"
        " ORDER BY at, who DESC, k";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, texter, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, inbound_id);
        sqlite3_bind_int64(st, 3, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char at[32];
            fmt_time(sqlite3_column_int64(st, 0), at, sizeof at);
            json_array_append_new(
                texts, json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:s?}", "at", at, "from",
                                 col_text(st, 1), "intent",
                                 (const char *)sqlite3_column_text(st, 2), "text", col_text(st, 3),
                                 "reply", (const char *)sqlite3_column_text(st, 4), "reply_status",
                                 (const char *)sqlite3_column_text(st, 5), "status",
                                 (const char *)sqlite3_column_text(st, 6), "by",
                                 (const char *)sqlite3_column_text(st, 7)));
        }
    }
    sqlite3_finalize(st);
    /* The texter's language as the conversation last saw it: the staff page offers saved
     * replies in it first. */
    const char *lang = "en";
    if (sqlite3_prepare_v2(db, "SELECT lang FROM senders WHERE number = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, texter, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW && strcmp(col_text(st, 0), "es") == 0)
            lang = "es";
    }
    sqlite3_finalize(st);
    json_object_set_new(e, "lang", json_string(lang));
    json_object_set_new(e, "texts", texts);
    return e;
}

/* ---- the log ---- */

static int open_current(struct escalation_log_file *log)
{
    int fd = open(log->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 && fchmod(fd, 0600) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if (fd < 0)
        return -1;
    if (log->fd >= 0)
        close(log->fd);
    log->fd = fd;
    return 0;
}

int escalation_log_open(struct escalation_log_file *log, const char *data_dir, int64_t max_bytes,
                        int keep)
{
    memset(log, 0, sizeof *log);
    log->fd = -1;
    log->max_bytes = max_bytes > 0 ? max_bytes : 0;
    log->keep = keep > 0 ? keep : 1;
    if ((size_t)snprintf(log->path, sizeof log->path, "%s/" ESCALATION_LOG_FILE, data_dir) >=
            sizeof log->path ||
        (size_t)snprintf(log->dir, sizeof log->dir, "%s", data_dir) >= sizeof log->dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open_current(log);
}

void escalation_log_close(struct escalation_log_file *log)
{
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
}

/*
 * Locks the file the path names now. The one held may have been renamed since (by this
 * exporter's rotation, another process's, or logrotate): then it opens the new one,
 * creating it if nothing has yet. 0 with the lock held, or -1 (errno).
 */
static int lock_current(struct escalation_log_file *log)
{
    for (int tries = 0; tries < 16; tries++) {
        if (log->fd < 0 && open_current(log) < 0)
            return -1;
        if (flock(log->fd, LOCK_EX) < 0)
            return -1;
        struct stat held, named;
        if (fstat(log->fd, &held) < 0) {
            int saved = errno;
            flock(log->fd, LOCK_UN);
            errno = saved;
            return -1;
        }
        if (lstat(log->path, &named) == 0 && named.st_dev == held.st_dev &&
            named.st_ino == held.st_ino)
            return 0;
        flock(log->fd, LOCK_UN);
        close(log->fd);
        log->fd = -1;
    }
    errno = EAGAIN; /* renamed under us 16 times in a row */
    return -1;
}

/*
 * The seq of the file's last line (0: empty file, or a last line without one, as in a
 * log written before the seq existed). A torn last line (no '\n', a crash in the middle
 * of a write) is cut off: its rows are exported again. Under the flock. -1 (errno).
 */
static int64_t log_last_seq(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return -1;
    off_t end = sb.st_size;
    char buf[4096];
    /* Where the complete lines end: after the last '\n'. */
    off_t keep = 0, at = end;
    while (at > 0) {
        size_t n = at > (off_t)sizeof buf ? sizeof buf : (size_t)at;
        ssize_t r = pread(fd, buf, n, at - (off_t)n);
        if (r != (ssize_t)n)
            return r < 0 ? -1 : (errno = EIO, -1);
        size_t i = n;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            keep = at - (off_t)n + (off_t)i;
            break;
        }
        at -= (off_t)n;
    }
    if (keep < end && ftruncate(fd, keep) < 0)
        return -1;
    if (keep == 0)
        return 0;
    /* The start of the last complete line. */
    off_t line = keep - 1;
    at = line;
    for (;;) {
        size_t n = at > (off_t)sizeof buf ? sizeof buf : (size_t)at;
        if (n == 0) {
            line = 0;
            break;
        }
        ssize_t r = pread(fd, buf, n, at - (off_t)n);
        if (r != (ssize_t)n)
            return r < 0 ? -1 : (errno = EIO, -1);
        size_t i = n;
        while (i > 0 && buf[i - 1] != '\n')
            i--;
        if (i > 0) {
            line = at - (off_t)n + (off_t)i;
            break;
        }
        at -= (off_t)n;
    }
    char head[48] = "";
    ssize_t r = pread(fd, head, sizeof head - 1, line);
    if (r < 0)
        return -1;
    head[r] = '\0';
    static const char prefix[] = "{\"seq\":";
    if (strncmp(head, prefix, sizeof prefix - 1) != 0)
        return 0;
    int64_t seq = 0;
    for (const char *p = head + sizeof prefix - 1; *p >= '0' && *p <= '9'; p++)
        seq = seq * 10 + (*p - '0');
    return seq;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The last seq of escalations.jsonl.1, the file rotated before the current one (0 when
 * there is none, it is empty, or it starts before the seq existed). */
static int64_t rotated_last_seq(const struct escalation_log_file *log)
{
    char path[4096 + 8];
    snprintf(path, sizeof path, "%s.1", log->path);
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int64_t seq = log_last_seq(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return seq;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* Under the lock: escalations.jsonl becomes .1, .1 becomes .2 ..., the one past keep is
 * removed. The held fd keeps naming the renamed file: the next export's lock_current
 * opens a new one. 0, or -1 (errno) with the names as far as they got (never a lost
 * file: each rename only moves a file up). */
static int rotate(struct escalation_log_file *log)
{
    char from[4096 + 16], to[4096 + 16];
    snprintf(to, sizeof to, "%s.%d", log->path, log->keep);
    if (unlink(to) < 0 && errno != ENOENT)
        return -1;
    for (int i = log->keep - 1; i >= 1; i--) {
        snprintf(from, sizeof from, "%s.%d", log->path, i);
        snprintf(to, sizeof to, "%s.%d", log->path, i + 1);
        if (rename(from, to) < 0 && errno != ENOENT)
            return -1;
    }
    snprintf(to, sizeof to, "%s.1", log->path);
    if (rename(log->path, to) < 0)
        return -1;
    return sync_dir(log->dir);
}

int escalation_log_export(struct escalation_log_file *log, struct sqlite3 *db, int64_t *exported,
                          escalation_line_fn on_line, void *ctx)
{
    if (exported)
        *exported = 0;
    log->rotated = false;
    log->rotate_errno = 0;
    if (lock_current(log) < 0)
        return -1;
    int fd = log->fd;
    int rc = -1, saved = 0;
    sqlite3_stmt *st = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int64_t last = log_last_seq(fd), n = 0, last_written = 0;
    struct stat sb;
    if (last < 0 || fstat(fd, &sb) < 0)
        goto out;
    if (sb.st_size == 0) {
        /* A new file after a rotation continues the one before it. */
        int64_t before = rotated_last_seq(log);
        if (before < 0)
            goto out;
        last = before > log->synced ? before : log->synced;
    }
    if (sqlite3_prepare_v2(db, "SELECT seq, line FROM escalation_log WHERE seq > ?1 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        errno = EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, last);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 1);
        size_t ln = line ? strlen(line) : 0;
        if (len + ln + 1 > cap) {
            size_t c = cap ? cap * 2 : 4096;
            while (c < len + ln + 1)
                c *= 2;
            char *grown = realloc(buf, c);
            if (!grown) {
                errno = ENOMEM;
                goto out;
            }
            buf = grown;
            cap = c;
        }
        memcpy(buf + len, line ? line : "", ln);
        len += ln;
        buf[len++] = '\n';
        n++;
        last_written = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st); /* the read snapshot ends before the write and the sync */
    st = NULL;
    if (step != SQLITE_DONE) {
        errno = EIO;
        goto out;
    }
    if (len && (write_all(fd, buf, len) < 0 || fdatasync(fd) < 0))
        goto out;
    log->synced = len ? last_written : (last > log->synced ? last : log->synced);
    if (log->max_bytes > 0 && fstat(fd, &sb) == 0 && sb.st_size >= log->max_bytes) {
        if (rotate(log) == 0)
            log->rotated = true;
        else
            log->rotate_errno = errno ? errno : EIO;
    }
    for (size_t at = 0; on_line && at < len;) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t ln = nl ? (size_t)(nl - (buf + at)) : len - at;
        on_line(ctx, buf + at, ln);
        at += ln + 1;
    }
    if (exported)
        *exported = n;
    rc = 0;
out:
    saved = errno;
    sqlite3_finalize(st);
    free(buf);
    flock(fd, LOCK_UN);
    errno = saved;
    return rc;
}
