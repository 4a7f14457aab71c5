/*
 * store: the SQLite schema, its migrations and the durable-write path (see store.h).
 *
 * Why the write path is shaped so. hotline answers a webhook 2xx only once the text,
 * the decision and the reply job are on disk, and "on disk" must survive a power cut,
 * not just a process crash: hence synchronous=FULL, under which every COMMIT in WAL
 * mode ends with an fsync of the WAL. An fsync takes milliseconds, so it must never run
 * on the libevent loop thread, and paying one per webhook would cap the service at a few
 * hundred texts a second. So:
 *
 *   - one writer thread owns the only read-write connection (SQLite allows one writer
 *     at a time anyway, and a single owner needs no locking around it);
 *   - the loop thread deep-copies each operation into a queue (mutex + condvar) and goes
 *     back to serving; the writer takes EVERYTHING queued and commits it in one
 *     BEGIN IMMEDIATE ... COMMIT (group commit: N webhooks that arrive while the previous
 *     group is syncing cost one fsync together);
 *   - each operation runs inside its own SAVEPOINT, so one that fails (a constraint, a
 *     bad decision) is rolled back alone and reported as failed while its group commits;
 *   - only after COMMIT has returned are the results pushed on a completion queue and
 *     the loop woken with event_active() on an event of its own base (thread-safe
 *     because the base was created after evthread_use_pthreads()); the callbacks run on
 *     the loop thread in submission order. While operations are outstanding that event
 *     is also pending on a long timeout, so that event_base_dispatch() does not return
 *     before their callbacks have run.
 *
 * The conversation step (decide) runs on the writer thread, inside the transaction,
 * after the sender's row has been read: two texts from one number are decided in commit
 * order and the second sees the state the first wrote. That is why it must be pure: a
 * rolled-back transaction simply forgets its decisions.
 *
 * Reads used at startup and by admin paths go through a second, read-only connection
 * (WAL lets it read while the writer writes); webhooks never read synchronously.
 *
 * Checkpoints (copying the WAL back into hotline.db, which syncs hotline.db) are kept
 * off the commit path: SQLite's automatic checkpoint would run inside a commit on the
 * writer thread every 1000 pages and hold every webhook in the group for the length of a
 * database sync. The writer's connection has wal_autocheckpoint off, and a third thread
 * with its own connection runs a PASSIVE checkpoint (it never blocks the writer) every
 * CHECKPOINT_EVERY_MS while there are new commits. The WAL is reset by the writer's
 * next transaction after a checkpoint has copied everything.
 *
 * The escalation log (escalations.jsonl) costs the commit path nothing but a row: each
 * event's line is inserted into escalation_log inside the group's transaction, so the
 * COMMIT's one fsync makes it durable with the change it reports. The checkpointer
 * thread exports the committed rows the file lacks (escalation_log_export: flock,
 * write, one fdatasync) on its next tick after a commit that carried events, before its
 * checkpoint; store_open exports what a crash left behind, store_close what the last
 * commits did. So an event whose transaction committed is in the file after a SIGKILL
 * and a restart. The live consumers (on_events) still get the lines after the COMMIT.
 *
 * A lock file (flock) makes a data_dir one process's: store_open may then reset jobs a
 * crash left 'sending' to 'pending' (at least once: such a job may be sent twice).
 *
 * The schema is versioned by PRAGMA user_version; migrations[] is append-only (never
 * edit a migration that has shipped), and each one is applied in its own transaction.
 */
#include "hotline/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "hotline/escalation.h"
#include "hotline/log.h"
#include "hotline/staff.h"

/* ---- schema ---- */

static const char *const migrations[] = {
    /* v1: the texts, the outbox, the senders, the status callbacks. */
    "CREATE TABLE inbound ("
    " id INTEGER PRIMARY KEY,"
    " gateway TEXT NOT NULL,"
    " message_sid TEXT NOT NULL UNIQUE,"
    " account_sid TEXT NOT NULL,"
    " from_number TEXT NOT NULL,"
    " to_number TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " received_at INTEGER NOT NULL,"
    " intent TEXT NOT NULL,"
    " lang TEXT NOT NULL CHECK (lang IN ('en', 'es')),"
    " confidence REAL NOT NULL,"
    " escalation TEXT NOT NULL CHECK (escalation IN ('none', 'standard', 'urgent')));"
    "CREATE INDEX inbound_from ON inbound (from_number, received_at);"
    "CREATE TABLE senders ("
    " number TEXT PRIMARY KEY,"
    " opted_out INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),"
    " opted_out_at INTEGER,"
    " lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),"
    " misses INTEGER NOT NULL DEFAULT 0 CHECK (misses >= 0),"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('reply', 'page')),"
    " priority INTEGER NOT NULL,"
    " inbound_id INTEGER REFERENCES inbound (id),"
    " to_number TEXT NOT NULL,"
    " from_number TEXT NOT NULL,"
    " body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent',"
    "  'delivered', 'undelivered', 'failed', 'canceled', 'read')),"
    " attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " next_attempt_at INTEGER NOT NULL,"
    " gateway_sid TEXT,"
    " error_code INTEGER,"
    " reason TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX jobs_gateway_sid ON jobs (gateway_sid) WHERE gateway_sid IS NOT NULL;"
    "CREATE INDEX jobs_inbound ON jobs (inbound_id);"
    "CREATE TABLE status_events ("
    " id INTEGER PRIMARY KEY,"
    " job_id INTEGER REFERENCES jobs (id),"
    " gateway_sid TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " error_code INTEGER,"
    " received_at INTEGER NOT NULL);"
    "CREATE INDEX status_events_job ON status_events (job_id);",

    /* v2: an index for reloading the outbox, and the heartbeat row of the health probe. */
    "CREATE INDEX jobs_unfinished ON jobs (priority, next_attempt_at)"
    " WHERE state IN ('pending', 'sending');"
    "CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);",

    /* v3: the staff directory and escalations (escalation.h); pages point at theirs, and
     * a text from a staff phone records who sent it. */
    "CREATE TABLE staff ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " phone TEXT NOT NULL UNIQUE,"
    " on_call INTEGER NOT NULL DEFAULT 0 CHECK (on_call IN (0, 1)),"
    " token_hash TEXT NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE escalations ("
    " id INTEGER PRIMARY KEY,"
    " texter TEXT NOT NULL,"
    " line TEXT NOT NULL,"
    " level TEXT NOT NULL CHECK (level IN ('standard', 'urgent')),"
    " intent TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'closed')),"
    " inbound_id INTEGER REFERENCES inbound (id),"
    " opened_at INTEGER NOT NULL,"
    " last_paged_at INTEGER NOT NULL,"
    " pages INTEGER NOT NULL DEFAULT 0,"
    " acked_at INTEGER,"
    " acked_by TEXT,"
    " closed_at INTEGER,"
    " closed_by TEXT,"
    " updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX escalations_active ON escalations (texter) WHERE state != 'closed';"
    "CREATE INDEX escalations_due ON escalations (last_paged_at)"
    " WHERE level = 'urgent' AND state = 'open';"
    "ALTER TABLE jobs ADD COLUMN escalation_id INTEGER REFERENCES escalations (id);"
    "ALTER TABLE inbound ADD COLUMN staff TEXT;",

    /* v4: jobs another process (`hotline escalations reply`) queued for the service. */
    "CREATE TABLE job_handoff (job_id INTEGER PRIMARY KEY REFERENCES jobs (id));",

    /* v5: the re-page search reads only open urgent escalations, however long the
     * history of closed and acknowledged ones grows. */
    "CREATE INDEX escalations_urgent_open ON escalations (last_paged_at)"
    " WHERE level = 'urgent' AND state = 'open';",

    /* v6: each escalation event's log line, written in the transaction of the event;
     * the exporter copies the committed ones to escalations.jsonl (escalation.h). */
    "CREATE TABLE escalation_log (seq INTEGER PRIMARY KEY, line TEXT NOT NULL);",

    /* v7: the conversation's memory of each texter (conversation.h), and the audit trail
     * of opt-outs and opt-ins, seeded with the numbers already opted out. */
    "ALTER TABLE senders ADD COLUMN last_text_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN last_intent TEXT;"
    "ALTER TABLE senders ADD COLUMN menu_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN last_answer TEXT;"
    "ALTER TABLE senders ADD COLUMN last_answer_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN last_hash INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN same_texts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN reply_hash INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN echoes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN window_start INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN window_texts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN muted_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN budget_start INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE senders ADD COLUMN budget_replies INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE opt_events ("
    " id INTEGER PRIMARY KEY,"
    " number TEXT NOT NULL,"
    " event TEXT NOT NULL CHECK (event IN ('opt_out', 'opt_in')),"
    " source TEXT NOT NULL,"
    " inbound_id INTEGER REFERENCES inbound (id),"
    " at INTEGER NOT NULL);"
    "CREATE INDEX opt_events_number ON opt_events (number, at);"
    "INSERT INTO opt_events (number, event, source, at) SELECT number, 'opt_out',"
    " 'before the audit trail', coalesce(opted_out_at, updated_at) FROM senders"
    " WHERE opted_out = 1;",

    /* v8: who wrote a staff reply, for the conversation view. */
    "ALTER TABLE jobs ADD COLUMN staff TEXT;",
};

#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* A senders row as sender_from_row reads it and write_sender writes it. */
#define SENDER_COLUMNS                                                                             \
    "opted_out, opted_out_at, lang, misses, updated_at, last_text_at, last_intent, menu_at, "      \
    "last_answer, last_answer_at, last_hash, same_texts, window_start, window_texts, "             \
    "muted_until, budget_start, budget_replies, reply_hash, echoes"

#define JOB_COLUMNS                                                                                \
    "id, kind, priority, inbound_id, to_number, from_number, body, state, attempts, "              \
    "next_attempt_at, gateway_sid, error_code, reason, created_at, updated_at"

/* The writer's statements, prepared once on first use. */
enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_INBOUND_FIND,
    ST_INBOUND_INSERT,
    ST_SENDER_GET,
    ST_SENDER_PUT,
    ST_JOB_INSERT,
    ST_JOB_STATE,
    ST_JOB_UPDATE,
    ST_JOB_BY_SID,
    ST_JOB_ADVANCE,
    ST_STATUS_INSERT,
    ST_HEARTBEAT,
    ST_ON_CALL,
    ST_HANDOFF,
    ST_HANDOFF_DEL,
    ST_TOKENS,
    ST_OPT_EVENT,
    ST_JOB_STAFF,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT op",
    [ST_RELEASE] = "RELEASE op",
    [ST_ROLLBACK_TO] = "ROLLBACK TO op",
    [ST_INBOUND_FIND] = "SELECT id FROM inbound WHERE message_sid = ?1",
    [ST_INBOUND_INSERT] = "INSERT INTO inbound (gateway, message_sid, account_sid, from_number,"
                          " to_number, body, received_at, intent, lang, confidence, escalation,"
                          " staff) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_SENDER_GET] = "SELECT " SENDER_COLUMNS " FROM senders WHERE number = ?1",
    [ST_SENDER_PUT] = "INSERT OR REPLACE INTO senders (number, " SENDER_COLUMNS ") VALUES (?1,"
                      " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
                      " ?18, ?19, ?20)",
    [ST_JOB_STAFF] = "UPDATE jobs SET staff = ?2 WHERE id = ?1",
    [ST_OPT_EVENT] = "INSERT INTO opt_events (number, event, source, inbound_id, at) VALUES"
                     " (?1, ?2, ?3, ?4, ?5)",
    [ST_JOB_INSERT] = "INSERT INTO jobs (kind, priority, inbound_id, to_number, from_number,"
                      " body, state, attempts, next_attempt_at, created_at, updated_at,"
                      " escalation_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?7, ?7,"
                      " ?8)",
    [ST_JOB_STATE] = "SELECT state FROM jobs WHERE id = ?1",
    [ST_JOB_UPDATE] = "UPDATE jobs SET state = ?2, attempts = ?3, next_attempt_at = ?4,"
                      " gateway_sid = coalesce(?5, gateway_sid), error_code = ?6, reason = ?7,"
                      " updated_at = ?8 WHERE id = ?1",
    [ST_JOB_BY_SID] = "SELECT id, state FROM jobs WHERE gateway_sid = ?1",
    [ST_JOB_ADVANCE] = "UPDATE jobs SET state = ?2, error_code = coalesce(?3, error_code),"
                       " updated_at = ?4 WHERE id = ?1",
    [ST_STATUS_INSERT] = "INSERT INTO status_events (job_id, gateway_sid, status, error_code,"
                         " received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_HEARTBEAT] = "INSERT INTO heartbeat (id, at) VALUES (1, ?1)"
                     " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
    [ST_ON_CALL] = "SELECT count(*) FROM staff WHERE on_call = 1",
    /* CROSS JOIN keeps job_handoff (nearly always empty) as the outer loop: a plain JOIN
     * let SQLite scan every job ever sent, on the writer thread, every second. */
    [ST_HANDOFF] = "SELECT j.id, j.kind, j.to_number, j.from_number, j.body, j.priority,"
                   " j.inbound_id, j.created_at, coalesce(s.opted_out, 0) FROM job_handoff h"
                   " CROSS JOIN jobs j ON j.id = h.job_id LEFT JOIN senders s ON s.number ="
                   " j.to_number WHERE j.state = 'pending' ORDER BY h.job_id LIMIT 64",
    [ST_HANDOFF_DEL] = "DELETE FROM job_handoff WHERE job_id = ?1",
    [ST_TOKENS] = "SELECT name, token_hash FROM staff",
};

/* ---- job states ---- */

static const char *const state_names[] = {
    [STORE_JOB_PENDING] = "pending",
    [STORE_JOB_SENDING] = "sending",
    [STORE_JOB_SENT] = "sent",
    [STORE_JOB_DELIVERED] = "delivered",
    [STORE_JOB_UNDELIVERED] = "undelivered",
    [STORE_JOB_FAILED] = "failed",
    [STORE_JOB_CANCELED] = "canceled",
    [STORE_JOB_READ] = "read",
};

#define STATE_COUNT ((int)(sizeof state_names / sizeof state_names[0]))

const char *store_job_state_name(enum store_job_state state)
{
    if ((int)state < 0 || (int)state >= STATE_COUNT)
        return "unknown";
    return state_names[state];
}

static int state_from_name(const char *name)
{
    for (int i = 0; name && i < STATE_COUNT; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

static bool state_is_final(enum store_job_state state)
{
    return state >= STORE_JOB_DELIVERED;
}

/* A Twilio MessageStatus as a job state, or -1 for one that moves no job. */
static int status_to_state(const char *status)
{
    static const char *const sending[] = {"queued", "accepted", "scheduled", "sending"};
    for (size_t i = 0; i < sizeof sending / sizeof sending[0]; i++)
        if (strcmp(status, sending[i]) == 0)
            return STORE_JOB_SENDING;
    int state = state_from_name(status);
    return state > STORE_JOB_SENDING ? state : -1;
}

/*
 * Status callbacks arrive out of order, so a job only moves forward: pending < sending <
 * sent < the final states, a final state is never overwritten, except that "read"
 * (which implies delivery) may follow delivered or a state before it.
 */
static bool status_advances(enum store_job_state cur, enum store_job_state next)
{
    if (cur == STORE_JOB_DELIVERED)
        return next == STORE_JOB_READ;
    if (state_is_final(cur))
        return false;
    if (state_is_final(next))
        return true;
    return next > cur;
}

/* ---- the store ---- */

enum op_kind { OP_INBOUND, OP_JOB_UPDATE, OP_STATUS, OP_SENDER, OP_PROBE, OP_REPAGE, OP_STAFF };

#define OP_MAX_COPIES 6

/* One submitted operation: its deep-copied input, then its result. */
struct op {
    struct op *next;
    enum op_kind kind;
    store_done_fn cb;
    void *arg;
    union {
        struct {
            struct store_inbound in;
            store_decide_fn decide;
            void *ctx;
        } inbound;
        struct store_job_update job;
        struct store_status status;
        struct {
            const char *number;
            unsigned fields;
            struct store_sender values;
            const char *source;
        } sender;
        int64_t repage_ms;
        struct store_staff_request staff;
    } u;
    char *copies[OP_MAX_COPIES];
    int ncopies;
    struct store_result res;
    struct store_job *jobs; /* res.jobs */
    size_t njobs;
    char error[192];                 /* res.error */
    struct escalation_events events; /* for the live consumers, after the COMMIT */
    char *body;                      /* res.body */
    char staff[STAFF_NAME_MAX + 1];  /* res.staff */
};

struct op_list {
    struct op *head, *tail;
};

struct store {
    struct event_base *base;
    struct event *done_ev; /* event_active'd by the writer; pending while ops are out */
    bool done_ev_added;    /* loop thread only */
    int lock_fd;

    sqlite3 *wdb; /* the writer thread's, once it runs */
    sqlite3_stmt *stmts[ST_COUNT];
    struct escalation_db *esc;      /* statements on wdb: writer thread */
    struct escalation_log_file log; /* escalations.jsonl: the checkpointer thread's */
    bool log_open;

    sqlite3 *rdb; /* read-only, under rd_mu */
    pthread_mutex_t rd_mu;

    pthread_t thread;
    bool thread_started;

    sqlite3 *cdb; /* the checkpointer thread's */
    pthread_t cp_thread;
    bool cp_started;
    uint64_t checkpointed_commits; /* under mu: stats.commits at the last checkpoint */
    uint64_t checkpoints;          /* under mu */
    uint64_t event_commits;        /* under mu: commits that carried escalation events */
    uint64_t exported_commits;     /* under mu: event_commits at the last export */
    int64_t exported_seq;          /* checkpointer only: highest seq the export has seen */
    char *cli_lines;               /* under mu: events the CLI committed, for the loop */
    size_t cli_len, cli_cap;

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    pthread_cond_t cp_cv; /* wakes the checkpointer to stop */
    struct op_list pending, done;
    bool stopping;
    size_t outstanding; /* submitted, callback not yet run */
    bool healthy;
    struct store_stats stats;

    store_events_fn events_fn; /* loop thread */
    void *events_arg;
};

#define CHECKPOINT_EVERY_MS 200
#define WAL_RESTART_FRAMES 4096    /* about 16 MiB of WAL: see checkpointer_main */
#define WAL_RESTART_EVERY_MS 30000 /* ... at most this often while commits succeed */

/* A submitted operation keeps the loop alive this long between wake-ups. */
static const struct timeval keepalive = {3600, 0};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- jobs ---- */

int store_job_copy(struct store_job *dst, const struct store_job *src)
{
    *dst = *src;
    dst->to = xstrdup(src->to);
    dst->from = xstrdup(src->from);
    dst->body = xstrdup(src->body);
    dst->gateway_sid = xstrdup(src->gateway_sid);
    dst->reason = xstrdup(src->reason);
    if ((src->to && !dst->to) || (src->from && !dst->from) || (src->body && !dst->body) ||
        (src->gateway_sid && !dst->gateway_sid) || (src->reason && !dst->reason)) {
        store_job_clear(dst);
        return -1;
    }
    return 0;
}

void store_job_clear(struct store_job *job)
{
    if (!job)
        return;
    free(job->to);
    free(job->from);
    free(job->body);
    free(job->gateway_sid);
    free(job->reason);
    job->to = job->from = job->body = job->gateway_sid = job->reason = NULL;
}

void store_jobs_free(struct store_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        store_job_clear(&jobs[i]);
    free(jobs);
}

/* ---- operations: allocation ---- */

static struct op *op_new(enum op_kind kind, store_done_fn cb, void *arg)
{
    struct op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->kind = kind;
    op->cb = cb;
    op->arg = arg;
    return op;
}

/* Replaces *field by a copy the op owns; NULL stays NULL. -1 on allocation failure. */
static int op_keep(struct op *op, const char **field)
{
    if (!*field)
        return 0;
    if (op->ncopies == OP_MAX_COPIES)
        abort(); /* a programming error: OP_MAX_COPIES is too small */
    char *copy = strdup(*field);
    if (!copy)
        return -1;
    op->copies[op->ncopies++] = copy;
    *field = copy;
    return 0;
}

static void op_drop_jobs(struct op *op)
{
    store_jobs_free(op->jobs, op->njobs);
    op->jobs = NULL;
    op->njobs = 0;
    op->res.jobs = NULL;
    op->res.njobs = 0;
}

static void op_free(struct op *op)
{
    if (!op)
        return;
    op_drop_jobs(op);
    escalation_events_clear(&op->events);
    free(op->body);
    for (int i = 0; i < op->ncopies; i++)
        free(op->copies[i]);
    free(op);
}

/* Marks the op failed (dropping any result it had); returns -1 for the caller to return. */
__attribute__((format(printf, 2, 3))) static int op_fail(struct op *op, const char *fmt, ...)
{
    op_drop_jobs(op);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->error, sizeof op->error, fmt, ap);
    va_end(ap);
    op->res.outcome = STORE_ERROR;
    op->res.error = op->error;
    return -1;
}

/* ---- writer: statements ---- */

static sqlite3_stmt *wstmt(struct store *s, enum stmt_id id)
{
    if (!s->stmts[id] && sqlite3_prepare_v3(s->wdb, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->stmts[id], NULL) != SQLITE_OK)
        return NULL;
    return s->stmts[id];
}

/* Statements bind with SQLITE_STATIC: finish() clears the bindings before they dangle. */
static void finish(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Binds 0 as NULL: "no time", "no error code". */
static void bind_opt_int64(sqlite3_stmt *st, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Gets the statement, or fails the op. */
static sqlite3_stmt *op_stmt(struct store *s, struct op *op, enum stmt_id id)
{
    sqlite3_stmt *st = wstmt(s, id);
    if (!st)
        op_fail(op, "prepare: %s", sqlite3_errmsg(s->wdb));
    return st;
}

/* Steps a statement that returns no row to its end; fails the op on error. */
static int op_exec(struct store *s, struct op *op, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        op_fail(op, "%s: %s", what, sqlite3_errmsg(s->wdb));
    finish(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Runs one of the transaction-control statements; -1 with SQLite's message in err. */
static int control(struct store *s, enum stmt_id id, char *err, size_t errlen)
{
    sqlite3_stmt *st = wstmt(s, id);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (rc != SQLITE_DONE)
        snprintf(err, errlen, "%s: %s", stmt_sql[id], sqlite3_errmsg(s->wdb));
    if (st)
        finish(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- writer: operations ---- */

static const struct store_sender new_sender = {.lang = LANG_EN};

/* An intent column that may be NULL (never set): INTENT_FALLBACK then. */
static enum intent col_intent(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int id = t ? intent_from_name((const char *)t) : -1;
    return id < 0 ? INTENT_FALLBACK : (enum intent)id;
}

/* A senders row (SENDER_COLUMNS) into out. */
static void sender_from_row(sqlite3_stmt *st, struct store_sender *out)
{
    int lang = lang_from_name(col_text(st, 2));
    out->known = true;
    out->opted_out = sqlite3_column_int(st, 0) != 0;
    out->opted_out_at = sqlite3_column_int64(st, 1);
    out->lang = lang < 0 ? LANG_EN : (enum lang)lang;
    out->misses = sqlite3_column_int(st, 3);
    out->updated_at = sqlite3_column_int64(st, 4);
    struct conversation_memory *m = &out->memory;
    m->last_text_at = sqlite3_column_int64(st, 5);
    m->last_intent = col_intent(st, 6);
    m->menu_at = sqlite3_column_int64(st, 7);
    m->last_answer = col_intent(st, 8);
    m->last_answer_at = sqlite3_column_int64(st, 9);
    m->last_hash = (uint32_t)sqlite3_column_int64(st, 10);
    m->same_texts = sqlite3_column_int(st, 11);
    m->window_start = sqlite3_column_int64(st, 12);
    m->window_texts = sqlite3_column_int(st, 13);
    m->muted_until = sqlite3_column_int64(st, 14);
    m->budget_start = sqlite3_column_int64(st, 15);
    m->budget_replies = sqlite3_column_int(st, 16);
    m->reply_hash = (uint32_t)sqlite3_column_int64(st, 17);
    m->echoes = sqlite3_column_int(st, 18);
}

static int read_sender(struct store *s, struct op *op, const char *number, struct store_sender *out)
{
    sqlite3_stmt *st = op_stmt(s, op, ST_SENDER_GET);
    if (!st)
        return -1;
    *out = new_sender;
    bind_text(st, 1, number);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sender_from_row(st, out);
    } else if (rc != SQLITE_DONE) {
        op_fail(op, "read sender: %s", sqlite3_errmsg(s->wdb));
    }
    finish(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int write_sender(struct store *s, struct op *op, const char *number,
                        const struct store_sender *v, int64_t now)
{
    if ((unsigned)v->lang >= LANG_COUNT || v->misses < 0)
        return op_fail(op, "invalid sender state");
    sqlite3_stmt *st = op_stmt(s, op, ST_SENDER_PUT);
    if (!st)
        return -1;
    const struct conversation_memory *m = &v->memory;
    if ((unsigned)m->last_intent >= INTENT_COUNT || (unsigned)m->last_answer >= INTENT_COUNT)
        return op_fail(op, "invalid sender state");
    bind_text(st, 1, number);
    sqlite3_bind_int(st, 2, v->opted_out);
    bind_opt_int64(st, 3, v->opted_out ? v->opted_out_at : 0);
    bind_text(st, 4, lang_name(v->lang));
    sqlite3_bind_int(st, 5, v->misses);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, m->last_text_at);
    bind_text(st, 8, m->last_text_at ? intent_name(m->last_intent) : NULL);
    sqlite3_bind_int64(st, 9, m->menu_at);
    bind_text(st, 10, m->last_answer_at ? intent_name(m->last_answer) : NULL);
    sqlite3_bind_int64(st, 11, m->last_answer_at);
    sqlite3_bind_int64(st, 12, m->last_hash);
    sqlite3_bind_int(st, 13, m->same_texts);
    sqlite3_bind_int64(st, 14, m->window_start);
    sqlite3_bind_int(st, 15, m->window_texts);
    sqlite3_bind_int64(st, 16, m->muted_until);
    sqlite3_bind_int64(st, 17, m->budget_start);
    sqlite3_bind_int(st, 18, m->budget_replies);
    sqlite3_bind_int64(st, 19, m->reply_hash);
    sqlite3_bind_int(st, 20, m->echoes);
    return op_exec(s, op, st, "write sender");
}

/* Records who wrote a staff reply job. */
static int mark_job_staff(struct store *s, struct op *op, int64_t job_id, const char *staff)
{
    sqlite3_stmt *st = op_stmt(s, op, ST_JOB_STAFF);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, job_id);
    bind_text(st, 2, staff);
    return op_exec(s, op, st, "record the reply's author");
}

/* One line of the opt-out audit trail, when was and now differ. */
static int record_opt_change(struct store *s, struct op *op, const char *number, bool was,
                             bool now_out, const char *source, int64_t inbound_id, int64_t now)
{
    if (was == now_out)
        return 0;
    sqlite3_stmt *st = op_stmt(s, op, ST_OPT_EVENT);
    if (!st)
        return -1;
    bind_text(st, 1, number);
    bind_text(st, 2, now_out ? "opt_out" : "opt_in");
    bind_text(st, 3, source && *source ? source : "texter");
    bind_opt_int64(st, 4, inbound_id);
    sqlite3_bind_int64(st, 5, now);
    return op_exec(s, op, st, "record opt-out change");
}

/* Inserts a pending job and fills *job (owned strings) from what was written. */
static int insert_job(struct store *s, struct op *op, enum store_job_kind kind, int priority,
                      int64_t inbound_id, int64_t escalation_id, const char *to, const char *from,
                      const char *body, int64_t now, struct store_job *job)
{
    sqlite3_stmt *st = op_stmt(s, op, ST_JOB_INSERT);
    if (!st)
        return -1;
    bind_text(st, 1, kind == STORE_JOB_PAGE ? "page" : "reply");
    sqlite3_bind_int(st, 2, priority);
    bind_opt_int64(st, 3, inbound_id);
    bind_text(st, 4, to);
    bind_text(st, 5, from);
    bind_text(st, 6, body);
    sqlite3_bind_int64(st, 7, now);
    bind_opt_int64(st, 8, escalation_id);
    if (op_exec(s, op, st, kind == STORE_JOB_PAGE ? "insert page job" : "insert reply job") < 0)
        return -1;
    struct store_job written = {
        .id = sqlite3_last_insert_rowid(s->wdb),
        .kind = kind,
        .priority = priority,
        .inbound_id = inbound_id,
        .to = (char *)to,
        .from = (char *)from,
        .body = (char *)body,
        .state = STORE_JOB_PENDING,
        .next_attempt_at = now,
        .created_at = now,
        .updated_at = now,
    };
    if (store_job_copy(job, &written) < 0)
        return op_fail(op, "out of memory");
    return 0;
}

static bool decision_valid(const struct store_decision *d)
{
    if ((unsigned)d->intent >= INTENT_COUNT || (unsigned)d->escalation > ESCALATE_URGENT ||
        (unsigned)d->sender.lang >= LANG_COUNT || d->sender.misses < 0 ||
        (d->npages && !d->pages) || d->npages > 64)
        return false;
    for (size_t i = 0; i < d->npages; i++)
        if (!d->pages[i].to || !d->pages[i].body)
            return false;
    return true;
}

/* The inbound row; intent, escalation and staff (NULL: a texter) as decided. */
static int insert_inbound(struct store *s, struct op *op, enum intent intent,
                          enum escalation escalation, const char *staff, int64_t *id)
{
    const struct store_inbound *in = &op->u.inbound.in;
    sqlite3_stmt *st = op_stmt(s, op, ST_INBOUND_INSERT);
    if (!st)
        return -1;
    bind_text(st, 1, in->gateway);
    bind_text(st, 2, in->message_sid);
    bind_text(st, 3, in->account_sid);
    bind_text(st, 4, in->from);
    bind_text(st, 5, in->to);
    bind_text(st, 6, in->body);
    sqlite3_bind_int64(st, 7, in->received_at);
    bind_text(st, 8, intent_name(intent));
    bind_text(st, 9, lang_name(in->lang));
    sqlite3_bind_double(st, 10, in->confidence);
    bind_text(st, 11, escalation_name(escalation));
    bind_text(st, 12, staff);
    if (op_exec(s, op, st, "insert inbound") < 0)
        return -1;
    *id = sqlite3_last_insert_rowid(s->wdb);
    return 0;
}

/*
 * A text from a staff phone: a staff command, never a texter's text (no conversation
 * step, no sender state, no escalation). "ACK n" acknowledges escalation n; the staff
 * member gets a short confirmation, sent as a page (it goes to a staff phone).
 */
static int do_staff_text(struct store *s, struct op *op, const char *staff, int64_t now)
{
    const struct store_inbound *in = &op->u.inbound.in;
    int64_t inbound_id;
    if (insert_inbound(s, op, op->u.inbound.in.intent, ESCALATE_NONE, staff, &inbound_id) < 0)
        return -1;

    char answer[160] = "", by[STAFF_NAME_MAX + 1], err[160], to[40], from[40];
    int64_t id = 0;
    const char *msg = NULL;
    enum escalation_act_outcome outcome;
    enum escalation_reply_outcome ro = ESCALATION_REPLY_NONE;
    if (!(op->jobs = calloc(2, sizeof *op->jobs)))
        return op_fail(op, "out of memory");
    switch (escalation_parse_command(in->body, &id, &msg)) {
    case ESCALATION_CMD_ACK:
        if (escalation_act(s->esc, id, true, staff, "sms", now, &outcome, by, sizeof by,
                           &op->events, err, sizeof err) < 0)
            return op_fail(op, "%s", err);
        if (outcome == ESCALATION_ACT_DONE)
            snprintf(answer, sizeof answer, "ACK %lld ok", (long long)id);
        else if (outcome == ESCALATION_ACT_ALREADY)
            snprintf(answer, sizeof answer, "ACK %lld: already acknowledged by %s", (long long)id,
                     by);
        else
            snprintf(answer, sizeof answer, "no open escalation %lld", (long long)id);
        break;
    case ESCALATION_CMD_CLOSE:
        if (escalation_act(s->esc, id, false, staff, "sms", now, &outcome, by, sizeof by,
                           &op->events, err, sizeof err) < 0)
            return op_fail(op, "%s", err);
        if (outcome == ESCALATION_ACT_DONE)
            snprintf(answer, sizeof answer, "CLOSE %lld ok", (long long)id);
        else
            snprintf(answer, sizeof answer, "no open escalation %lld", (long long)id);
        break;
    case ESCALATION_CMD_REPLY:
        /* The texter gets exactly the staff member's text; staff hear back only when it
         * cannot go (a confirmation per answer would double the texts of a conversation). */
        if (escalation_reply(s->esc, id, staff, "sms", msg, now, &ro, to, from, &op->events, err,
                             sizeof err) < 0)
            return op_fail(op, "%s", err);
        if (ro == ESCALATION_REPLY_OK) {
            if (insert_job(s, op, STORE_JOB_REPLY, ESCALATION_PRIORITY_STAFF_REPLY, inbound_id, id,
                           to, from, msg, now, &op->jobs[op->njobs]) < 0 ||
                mark_job_staff(s, op, op->jobs[op->njobs].id, staff) < 0)
                return -1;
            op->njobs++;
        } else if (ro == ESCALATION_REPLY_OPTED_OUT) {
            snprintf(answer, sizeof answer, "R %lld not sent: the texter opted out (STOP)",
                     (long long)id);
        } else if (ro == ESCALATION_REPLY_EMPTY) {
            snprintf(answer, sizeof answer, "R %lld not sent: empty or over 1600 characters",
                     (long long)id);
        } else {
            snprintf(answer, sizeof answer, "no open escalation %lld", (long long)id);
        }
        break;
    case ESCALATION_CMD_NONE:
        snprintf(answer, sizeof answer,
                 "hotline: unknown command. ACK <id>, R <id> <text> or CLOSE <id>.");
        break;
    }
    if (answer[0]) {
        if (insert_job(s, op, STORE_JOB_PAGE, STORE_PRIORITY_PAGE, inbound_id, 0, in->from, in->to,
                       answer, now, &op->jobs[op->njobs]) < 0)
            return -1;
        op->njobs++;
    }

    struct store_sender state;
    if (read_sender(s, op, in->from, &state) < 0)
        return -1;
    op->res.outcome = STORE_OK;
    op->res.inbound_id = inbound_id;
    op->res.escalation = ESCALATE_NONE;
    op->res.staff_command = true;
    op->res.jobs = op->jobs;
    op->res.njobs = op->njobs;
    op->res.sender = state;
    return 0;
}

/* Inserts the page jobs of pages after the jobs already in op->jobs (room reserved). */
static int insert_pages(struct store *s, struct op *op, const struct escalation_pages *pages,
                        int64_t inbound_id, int64_t now)
{
    for (size_t i = 0; i < pages->n; i++) {
        const struct escalation_page *pg = &pages->v[i];
        if (insert_job(s, op, STORE_JOB_PAGE, STORE_PRIORITY_PAGE, inbound_id, pg->escalation_id,
                       pg->to, pg->from, pg->body, now, &op->jobs[op->njobs]) < 0)
            return -1;
        op->njobs++;
    }
    return 0;
}

static int do_inbound(struct store *s, struct op *op)
{
    const struct store_inbound *in = &op->u.inbound.in;

    sqlite3_stmt *st = op_stmt(s, op, ST_INBOUND_FIND);
    if (!st)
        return -1;
    bind_text(st, 1, in->message_sid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        op->res.outcome = STORE_DUPLICATE;
        op->res.inbound_id = sqlite3_column_int64(st, 0);
    } else if (rc != SQLITE_DONE) {
        op_fail(op, "find inbound: %s", sqlite3_errmsg(s->wdb));
    }
    finish(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_ROW ? 0 : -1;

    int64_t now = now_ms();
    char staff[STAFF_NAME_MAX + 1];
    int is_staff = escalation_staff_by_phone(s->esc, in->from, staff, sizeof staff);
    if (is_staff < 0)
        return op_fail(op, "read staff: %s", sqlite3_errmsg(s->wdb));
    if (is_staff)
        return do_staff_text(s, op, staff, now);

    /* Held (a staff member acknowledged the texter's escalation): the text is relayed to
     * the holder, and the auto-responder stays silent but for the compliance keywords. An
     * urgent text on a held standard escalation still raises it (escalation_on_text: it is
     * open again, everyone is paged, and the texter gets the emergency reply); the holder
     * gets that text relayed all the same. The decide step is told, so that an answer
     * never sent is not remembered as sent. */
    char holder[STAFF_NAME_MAX + 1], holder_phone[STAFF_PHONE_MAX + 1], err[160];
    int64_t held_id = 0;
    int held = escalation_holder(s->esc, in->from, &held_id, holder, sizeof holder, holder_phone,
                                 sizeof holder_phone);
    if (held < 0)
        return op_fail(op, "read holder: %s", sqlite3_errmsg(s->wdb));

    struct store_sender state;
    if (read_sender(s, op, in->from, &state) < 0)
        return -1;
    state.held = held > 0;
    struct store_decision d = {
        .intent = in->intent,
        .escalation = ESCALATE_NONE,
        .sender = state,
        .reply_priority = STORE_PRIORITY_REPLY,
    };
    op->u.inbound.decide(op->u.inbound.ctx, in, &state, &d);
    if (!decision_valid(&d))
        return op_fail(op, "decide returned an invalid decision");

    int64_t inbound_id;
    if (insert_inbound(s, op, d.intent, d.escalation, NULL, &inbound_id) < 0)
        return -1;
    if (write_sender(s, op, in->from, &d.sender, now) < 0 ||
        record_opt_change(s, op, in->from, state.opted_out, d.sender.opted_out, d.opt_source,
                          inbound_id, now) < 0)
        return -1;

    /* The escalation, in this same transaction: opened, joined or raised, with its pages. */
    struct escalation_pages pages = {0};
    int64_t escalation_id = 0;
    if (escalation_on_text(s->esc, in->from, in->to, d.intent, d.escalation, inbound_id, now,
                           &escalation_id, &pages, &op->events, err, sizeof err) < 0 ||
        (held && escalation_relay(s->esc, held_id, in->from, in->to, holder, holder_phone, in->body,
                                  now, &pages, &op->events, err, sizeof err) < 0)) {
        escalation_pages_clear(&pages);
        return op_fail(op, "%s", err);
    }
    if (held) {
        int64_t still_id = 0;
        int still = escalation_holder(s->esc, in->from, &still_id, holder, sizeof holder,
                                      holder_phone, sizeof holder_phone);
        if (still < 0) {
            escalation_pages_clear(&pages);
            return op_fail(op, "read holder: %s", sqlite3_errmsg(s->wdb));
        }
        bool keyword = d.intent == INTENT_OPT_OUT || d.intent == INTENT_OPT_IN ||
                       d.intent == INTENT_HELP_KEYWORD;
        if (still && !keyword)
            d.reply = NULL;
    }

    size_t njobs = (d.reply ? 1 : 0) + d.npages + pages.n;
    if (njobs && !(op->jobs = calloc(njobs, sizeof *op->jobs))) {
        escalation_pages_clear(&pages);
        return op_fail(op, "out of memory");
    }
    if (d.reply) {
        if (insert_job(s, op, STORE_JOB_REPLY, d.reply_priority, inbound_id, 0, in->from, in->to,
                       d.reply, now, &op->jobs[op->njobs]) < 0) {
            escalation_pages_clear(&pages);
            return -1;
        }
        op->njobs++;
    }
    for (size_t i = 0; i < d.npages; i++) {
        if (insert_job(s, op, STORE_JOB_PAGE, STORE_PRIORITY_PAGE, inbound_id, escalation_id,
                       d.pages[i].to, in->to, d.pages[i].body, now, &op->jobs[op->njobs]) < 0) {
            escalation_pages_clear(&pages);
            return -1;
        }
        op->njobs++;
    }
    rc = insert_pages(s, op, &pages, inbound_id, now);
    escalation_pages_clear(&pages);
    if (rc < 0)
        return -1;

    op->res.outcome = STORE_OK;
    op->res.inbound_id = inbound_id;
    op->res.escalation = d.escalation;
    op->res.escalation_id = escalation_id;
    op->res.jobs = op->jobs;
    op->res.njobs = op->njobs;
    op->res.sender = d.sender;
    op->res.sender.known = true;
    op->res.sender.updated_at = now;
    if (!op->res.sender.opted_out)
        op->res.sender.opted_out_at = 0;
    return 0;
}

/*
 * Jobs another process queued (job_handoff) join op->jobs (room for 64 reserved); one to
 * an opted-out texter is canceled here, in the transaction that would dispatch it.
 */
static int take_handoff(struct store *s, struct op *op, int64_t now)
{
    sqlite3_stmt *st = op_stmt(s, op, ST_HANDOFF);
    if (!st)
        return -1;
    int64_t ids[64];
    bool cancel[64];
    size_t n = 0;
    int rc;
    while (n < 64 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        bool reply = strcmp(col_text(st, 1), "reply") == 0;
        cancel[n] = reply && sqlite3_column_int(st, 8) != 0;
        if (!cancel[n]) {
            struct store_job row = {
                .id = ids[n],
                .kind = reply ? STORE_JOB_REPLY : STORE_JOB_PAGE,
                .priority = sqlite3_column_int(st, 5),
                .inbound_id = sqlite3_column_int64(st, 6),
                .to = (char *)col_text(st, 2),
                .from = (char *)col_text(st, 3),
                .body = (char *)col_text(st, 4),
                .state = STORE_JOB_PENDING,
                .next_attempt_at = now,
                .created_at = sqlite3_column_int64(st, 7),
                .updated_at = now,
            };
            if (store_job_copy(&op->jobs[op->njobs], &row) < 0) {
                finish(st);
                return op_fail(op, "out of memory");
            }
            op->njobs++;
        }
        n++;
    }
    finish(st);
    if (n < 64 && rc != SQLITE_DONE)
        return op_fail(op, "read handoff: %s", sqlite3_errmsg(s->wdb));
    for (size_t i = 0; i < n; i++) {
        if (cancel[i]) {
            if (!(st = op_stmt(s, op, ST_JOB_UPDATE)))
                return -1;
            sqlite3_bind_int64(st, 1, ids[i]);
            bind_text(st, 2, "canceled");
            sqlite3_bind_int(st, 3, 0);
            sqlite3_bind_int64(st, 4, now);
            bind_text(st, 7, "recipient opted out");
            sqlite3_bind_int64(st, 8, now);
            if (op_exec(s, op, st, "cancel handoff job") < 0)
                return -1;
        }
        if (!(st = op_stmt(s, op, ST_HANDOFF_DEL)))
            return -1;
        sqlite3_bind_int64(st, 1, ids[i]);
        if (op_exec(s, op, st, "take handoff") < 0)
            return -1;
    }
    return 0;
}

/* Urgent escalations due for another page: one round of page jobs each. */
static int do_repage(struct store *s, struct op *op)
{
    struct escalation_pages pages = {0};
    char err[160];
    int64_t now = now_ms();
    if (escalation_repage_due(s->esc, now, op->u.repage_ms, &pages, &op->events, err, sizeof err) <
        0) {
        escalation_pages_clear(&pages);
        return op_fail(op, "%s", err);
    }
    if (!(op->jobs = calloc(pages.n + 64, sizeof *op->jobs))) {
        escalation_pages_clear(&pages);
        return op_fail(op, "out of memory");
    }
    int rc = insert_pages(s, op, &pages, 0, now);
    escalation_pages_clear(&pages);
    if (rc < 0 || take_handoff(s, op, now) < 0)
        return -1;
    op->res.outcome = STORE_OK;
    op->res.jobs = op->jobs;
    op->res.njobs = op->njobs;
    return 0;
}

/* The job's current state: 1 found, 0 no such job, -1 error. */
static int job_state(struct store *s, struct op *op, int64_t id, enum store_job_state *state)
{
    sqlite3_stmt *st = op_stmt(s, op, ST_JOB_STATE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st), found = rc == SQLITE_ROW ? 1 : 0;
    if (rc == SQLITE_ROW)
        *state = (enum store_job_state)state_from_name(col_text(st, 0));
    else if (rc != SQLITE_DONE)
        found = op_fail(op, "read job: %s", sqlite3_errmsg(s->wdb));
    finish(st);
    return found;
}

static int do_job_update(struct store *s, struct op *op)
{
    const struct store_job_update *u = &op->u.job;
    enum store_job_state cur = STORE_JOB_PENDING;
    int found = job_state(s, op, u->job_id, &cur);
    if (found < 0)
        return -1;
    op->res.outcome = STORE_OK;
    if (found == 0)
        return 0;
    op->res.matched = true;
    op->res.job_id = u->job_id;
    op->res.state = cur;
    if (state_is_final(cur))
        return 0;

    sqlite3_stmt *st = op_stmt(s, op, ST_JOB_UPDATE);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, u->job_id);
    bind_text(st, 2, state_names[u->state]);
    sqlite3_bind_int(st, 3, u->attempts);
    sqlite3_bind_int64(st, 4, u->next_attempt_at);
    bind_text(st, 5, u->gateway_sid);
    bind_opt_int64(st, 6, u->error_code);
    bind_text(st, 7, u->reason);
    sqlite3_bind_int64(st, 8, now_ms());
    if (op_exec(s, op, st, "update job") < 0)
        return -1;
    op->res.changed = true;
    op->res.state = u->state;
    return 0;
}

static int do_status(struct store *s, struct op *op)
{
    const struct store_status *ev = &op->u.status;
    int next = status_to_state(ev->status);

    sqlite3_stmt *st = op_stmt(s, op, ST_JOB_BY_SID);
    if (!st)
        return -1;
    bind_text(st, 1, ev->gateway_sid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        op->res.matched = true;
        op->res.job_id = sqlite3_column_int64(st, 0);
        op->res.state = (enum store_job_state)state_from_name(col_text(st, 1));
    } else if (rc != SQLITE_DONE) {
        op_fail(op, "find job: %s", sqlite3_errmsg(s->wdb));
    }
    finish(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;

    if (!(st = op_stmt(s, op, ST_STATUS_INSERT)))
        return -1;
    bind_opt_int64(st, 1, op->res.matched ? op->res.job_id : 0);
    bind_text(st, 2, ev->gateway_sid);
    bind_text(st, 3, ev->status);
    bind_opt_int64(st, 4, ev->error_code);
    sqlite3_bind_int64(st, 5, ev->received_at);
    if (op_exec(s, op, st, "insert status") < 0)
        return -1;

    op->res.outcome = STORE_OK;
    if (!op->res.matched || next < 0 || !status_advances(op->res.state, (enum store_job_state)next))
        return 0;
    if (!(st = op_stmt(s, op, ST_JOB_ADVANCE)))
        return -1;
    sqlite3_bind_int64(st, 1, op->res.job_id);
    bind_text(st, 2, state_names[next]);
    bind_opt_int64(st, 3, ev->error_code);
    sqlite3_bind_int64(st, 4, now_ms());
    if (op_exec(s, op, st, "advance job") < 0)
        return -1;
    op->res.changed = true;
    op->res.state = (enum store_job_state)next;
    return 0;
}

static int do_sender(struct store *s, struct op *op)
{
    const char *number = op->u.sender.number;
    const struct store_sender *v = &op->u.sender.values;
    unsigned fields = op->u.sender.fields;
    int64_t now = now_ms();
    struct store_sender state;
    if (read_sender(s, op, number, &state) < 0)
        return -1;
    bool was_out = state.opted_out;
    if (fields & STORE_SET_OPTED_OUT) {
        state.opted_out = v->opted_out;
        state.opted_out_at = v->opted_out ? (v->opted_out_at ? v->opted_out_at : now) : 0;
    }
    if (fields & STORE_SET_LANG)
        state.lang = v->lang;
    if (fields & STORE_SET_MISSES)
        state.misses = v->misses;
    if (write_sender(s, op, number, &state, now) < 0 ||
        record_opt_change(s, op, number, was_out, state.opted_out, op->u.sender.source, 0, now) < 0)
        return -1;
    state.known = true;
    state.updated_at = now;
    op->res.outcome = STORE_OK;
    op->res.sender = state;
    return 0;
}

static int do_probe(struct store *s, struct op *op)
{
    sqlite3_stmt *st = op_stmt(s, op, ST_ON_CALL);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    op->res.on_call = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    finish(st);
    if (!(st = op_stmt(s, op, ST_HEARTBEAT)))
        return -1;
    sqlite3_bind_int64(st, 1, now_ms());
    op->res.outcome = STORE_OK;
    return op_exec(s, op, st, "heartbeat");
}

/* The staff member whose token this is, comparing every stored hash in constant time;
 * 1 with op->staff, 0 nobody, -1 error. */
static int authenticate(struct store *s, struct op *op, const char *token)
{
    char hash[65];
    if (!token || !*token || strlen(token) > 128 || staff_token_hash(token, hash) < 0)
        return 0;
    sqlite3_stmt *st = op_stmt(s, op, ST_TOKENS);
    if (!st)
        return -1;
    int rc, found = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *h = col_text(st, 1);
        if (h && strlen(h) == 64 && CRYPTO_memcmp(h, hash, 64) == 0 && !found) {
            snprintf(op->staff, sizeof op->staff, "%s", col_text(st, 0));
            found = 1;
        }
    }
    finish(st);
    if (rc != SQLITE_DONE)
        return op_fail(op, "read tokens: %s", sqlite3_errmsg(s->wdb));
    return found;
}

/* The staff API's body: json (stolen), or {"error": why}. */
static int staff_answer(struct op *op, int status, json_t *json, const char *why)
{
    if (!json)
        json = json_pack("{s:s}", "error", why ? why : "error");
    op->body = json ? json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(json);
    if (!op->body)
        return op_fail(op, "out of memory");
    op->res.outcome = STORE_OK;
    op->res.http_status = status;
    op->res.body = op->body;
    op->res.staff = op->staff;
    return 0;
}

static int do_staff(struct store *s, struct op *op)
{
    const struct store_staff_request *r = &op->u.staff;
    int who = authenticate(s, op, r->token);
    if (who < 0)
        return -1;
    if (who == 0)
        return staff_answer(op, 401, NULL, "a valid bearer token is required");
    int64_t now = now_ms();
    char err[160], by[STAFF_NAME_MAX + 1] = "", to[40], from[40];
    enum escalation_act_outcome ao;
    enum escalation_reply_outcome ro;
    json_t *j = NULL;
    switch (r->action) {
    case STORE_STAFF_AUTH:
        return staff_answer(op, 200, json_pack("{s:s}", "staff", op->staff), NULL);
    case STORE_STAFF_LIST:
        if (!(j = escalation_list_json(s->wdb, false)))
            return op_fail(op, "list escalations: %s", sqlite3_errmsg(s->wdb));
        return staff_answer(op, 200, j, NULL);
    case STORE_STAFF_SHOW:
        if (!(j = escalation_show_json(s->wdb, r->id)))
            return staff_answer(op, 404, NULL, "no such escalation");
        if (escalation_viewed(s->esc, r->id, op->staff, "api", now, &op->events, err, sizeof err) <
            0) {
            json_decref(j);
            return op_fail(op, "%s", err);
        }
        return staff_answer(op, 200, j, NULL);
    case STORE_STAFF_ACK:
    case STORE_STAFF_CLOSE: {
        bool ack = r->action == STORE_STAFF_ACK;
        if (escalation_act(s->esc, r->id, ack, op->staff, "api", now, &ao, by, sizeof by,
                           &op->events, err, sizeof err) < 0)
            return op_fail(op, "%s", err);
        if (ao == ESCALATION_ACT_NONE)
            return staff_answer(op, 404, NULL, "no open escalation with that id");
        return staff_answer(op, 200,
                            json_pack("{s:I, s:s, s:s}", "id", (json_int_t)r->id, "state",
                                      ack ? "acknowledged" : "closed", "by",
                                      ao == ESCALATION_ACT_ALREADY ? by : op->staff),
                            NULL);
    }
    case STORE_STAFF_REPLY:
        if (escalation_reply(s->esc, r->id, op->staff, "api", r->text, now, &ro, to, from,
                             &op->events, err, sizeof err) < 0)
            return op_fail(op, "%s", err);
        if (ro == ESCALATION_REPLY_NONE)
            return staff_answer(op, 404, NULL, "no open escalation with that id");
        if (ro == ESCALATION_REPLY_OPTED_OUT)
            return staff_answer(op, 409, NULL, "the texter opted out (STOP): nothing is sent");
        if (ro == ESCALATION_REPLY_EMPTY)
            return staff_answer(op, 400, NULL, "text is empty or over 1600 characters");
        if (!(op->jobs = calloc(1, sizeof *op->jobs)))
            return op_fail(op, "out of memory");
        if (insert_job(s, op, STORE_JOB_REPLY, ESCALATION_PRIORITY_STAFF_REPLY, 0, r->id, to, from,
                       r->text, now, &op->jobs[0]) < 0 ||
            mark_job_staff(s, op, op->jobs[0].id, op->staff) < 0)
            return -1;
        op->njobs = 1;
        if (staff_answer(op, 200,
                         json_pack("{s:I, s:I, s:s}", "id", (json_int_t)r->id, "job",
                                   (json_int_t)op->jobs[0].id, "state", "queued"),
                         NULL) < 0)
            return -1;
        op->res.jobs = op->jobs;
        op->res.njobs = op->njobs;
        return 0;
    }
    return op_fail(op, "unknown staff action");
}

static int run_op(struct store *s, struct op *op)
{
    switch (op->kind) {
    case OP_INBOUND:
        return do_inbound(s, op);
    case OP_JOB_UPDATE:
        return do_job_update(s, op);
    case OP_STATUS:
        return do_status(s, op);
    case OP_SENDER:
        return do_sender(s, op);
    case OP_PROBE:
        return do_probe(s, op);
    case OP_REPAGE:
        return do_repage(s, op);
    case OP_STAFF:
        return do_staff(s, op);
    }
    return op_fail(op, "unknown operation");
}

/* ---- writer: the group transaction ---- */

/* Fails every op of the group that has not failed already. */
static void fail_group(struct op *group, const char *why)
{
    for (struct op *op = group; op; op = op->next)
        if (op->res.outcome != STORE_ERROR)
            op_fail(op, "%s", why);
}

/* Gives the whole group up: rolls back what is left of the transaction, fails every op. */
static bool abort_group(struct store *s, struct op *group, const char *why)
{
    char ignored[160];
    if (!sqlite3_get_autocommit(s->wdb))
        control(s, ST_ROLLBACK, ignored, sizeof ignored);
    fail_group(group, why);
    log_event(LOG_ERROR, "store_transaction_failed", "error=\"%s\"", why);
    return false;
}

/*
 * Runs a group in one transaction, each op in its own savepoint. Returns true when the
 * transaction committed (some ops may still have failed alone).
 */
static bool run_group(struct store *s, struct op *group)
{
    char err[160];
    if (control(s, ST_BEGIN, err, sizeof err) < 0)
        return abort_group(s, group, err);
    for (struct op *op = group; op; op = op->next) {
        if (control(s, ST_SAVEPOINT, err, sizeof err) < 0)
            return abort_group(s, group, err);
        int rc = run_op(s, op);
        if (sqlite3_get_autocommit(s->wdb)) {
            /* SQLite rolled the whole transaction back (I/O error, disk full...). */
            snprintf(err, sizeof err, "transaction rolled back: %s", sqlite3_errmsg(s->wdb));
            return abort_group(s, group, err);
        }
        /* On failure, undo this op alone: its error is already in op->res. */
        if (rc == 0 ? control(s, ST_RELEASE, err, sizeof err) < 0
                    : (control(s, ST_ROLLBACK_TO, err, sizeof err) < 0 ||
                       control(s, ST_RELEASE, err, sizeof err) < 0))
            return abort_group(s, group, err);
    }
    if (control(s, ST_COMMIT, err, sizeof err) < 0)
        return abort_group(s, group, err);
    return true;
}

/* Whether a committed group carried escalation events (rows for the exporter). */
static bool group_has_events(struct op *group)
{
    for (struct op *op = group; op; op = op->next)
        if (op->res.outcome == STORE_OK && op->events.len)
            return true;
    return false;
}

/*
 * Copies the committed escalation_log rows the file lacks to escalations.jsonl (see
 * escalation.h). A failure cannot undo the commits; it is logged for the operator and
 * the rows are exported at the next try (or the next start).
 */
/*
 * Events the `hotline escalations` commands commit while the service runs: the CLI
 * leaves their export to the service, which hands them to the live consumers (SSE, the
 * staff chat) like its own. Checkpointer thread; the "seq" the file keeps is dropped, as
 * the live lines never carry it.
 */
static void on_exported_line(void *ctx, const char *line, size_t len)
{
    struct store *s = ctx;
    static const char via_cli[] = "\"via\":\"cli\"";
    bool from_cli = false;
    for (size_t i = 0; !from_cli && i + sizeof via_cli - 1 <= len; i++)
        from_cli = memcmp(line + i, via_cli, sizeof via_cli - 1) == 0;
    if (!from_cli)
        return;
    const char *comma = memchr(line, ',', len);
    if (len < 8 || strncmp(line, "{\"seq\":", 7) != 0 || !comma)
        return;
    size_t rest = len - (size_t)(comma + 1 - line);
    pthread_mutex_lock(&s->mu);
    if (s->cli_len + rest + 2 > s->cli_cap) {
        size_t cap = s->cli_cap ? s->cli_cap * 2 : 1024;
        while (cap < s->cli_len + rest + 2)
            cap *= 2;
        char *grown = realloc(s->cli_lines, cap);
        if (!grown) {
            pthread_mutex_unlock(&s->mu);
            return; /* the line is in the file; only its live copy is lost */
        }
        s->cli_lines = grown;
        s->cli_cap = cap;
    }
    s->cli_lines[s->cli_len++] = '{';
    memcpy(s->cli_lines + s->cli_len, comma + 1, rest);
    s->cli_len += rest;
    s->cli_lines[s->cli_len++] = '\n';
    pthread_mutex_unlock(&s->mu);
}

static int export_escalation_log(struct store *s, sqlite3 *db, bool live)
{
    int64_t n = 0;
    if (!s->log_open ||
        escalation_log_export(&s->log, db, &n, live ? on_exported_line : NULL, s) < 0) {
        log_event(LOG_ERROR, "escalation_log", "error=\"cannot write %s: %s\"", ESCALATION_LOG_FILE,
                  !s->log_open ? "not open" : strerror(errno));
        return -1;
    }
    if (s->log.rotated)
        log_event(LOG_INFO, "escalation_log_rotated", "file=%s.1 keep=%d", ESCALATION_LOG_FILE,
                  s->log.keep);
    else if (s->log.rotate_errno)
        log_event(LOG_WARN, "escalation_log", "error=\"cannot rotate %s: %s\"", ESCALATION_LOG_FILE,
                  strerror(s->log.rotate_errno));
    return 0;
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->pending.head && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        struct op_list group = s->pending;
        s->pending.head = s->pending.tail = NULL;
        s->stats.queued = 0;
        pthread_mutex_unlock(&s->mu);
        if (!group.head)
            break; /* stopping, and everything queued is done */

        bool committed = run_group(s, group.head);
        bool events = committed && group_has_events(group.head);

        uint64_t n = 0, failed = 0;
        for (struct op *op = group.head; op; op = op->next) {
            n++;
            failed += op->res.outcome == STORE_ERROR;
        }
        pthread_mutex_lock(&s->mu);
        if (s->done.tail)
            s->done.tail->next = group.head;
        else
            s->done.head = group.head;
        s->done.tail = group.tail;
        s->healthy = committed;
        s->stats.commits += committed;
        s->event_commits += events;
        s->stats.failed_commits += !committed;
        s->stats.ops += n;
        s->stats.failed_ops += failed;
        if (n > s->stats.largest_group)
            s->stats.largest_group = n;
        pthread_mutex_unlock(&s->mu);
        /* Only now, after COMMIT returned, may the loop learn the outcome. */
        event_active(s->done_ev, EV_READ, 1);
    }
    return NULL;
}

/* Exports the escalation log, then checkpoints, while there are new commits; see the top
 * of this file. */
static void *checkpointer_main(void *arg)
{
    struct store *s = arg;
    struct timespec last_restart = {0};
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CHECKPOINT_EVERY_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->cp_cv, &s->mu, &until);
        if (s->stopping)
            continue;
        uint64_t event_commits = s->event_commits;
        bool export = event_commits != s->exported_commits;
        pthread_mutex_unlock(&s->mu);
        /* Rows the CLI committed (it leaves them to us while we run) count too. */
        int64_t max_seq = s->exported_seq;
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(s->cdb, "SELECT coalesce(max(seq), 0) FROM escalation_log", -1, &q,
                               NULL) == SQLITE_OK &&
            sqlite3_step(q) == SQLITE_ROW)
            max_seq = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        if (export || max_seq > s->exported_seq) {
            int rc = export_escalation_log(s, s->cdb, true);
            pthread_mutex_lock(&s->mu);
            if (rc == 0) {
                s->exported_commits = event_commits;
                s->exported_seq = max_seq;
            }
            bool wake = s->cli_len > 0;
            pthread_mutex_unlock(&s->mu);
            if (wake)
                event_active(s->done_ev, EV_READ, 1);
        }
        pthread_mutex_lock(&s->mu);
        if (s->stopping || s->stats.commits == s->checkpointed_commits)
            continue;
        uint64_t commits = s->stats.commits;
        bool healthy = s->healthy;
        pthread_mutex_unlock(&s->mu);
        int log_frames = 0, done_frames = 0;
        int rc = sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                           &done_frames);
        /*
         * Under a steady load the WAL never rewinds: SQLite starts it over only when a
         * write transaction begins with every frame copied back, and a passive checkpoint
         * always leaves the frames committed while it ran. The file then grows with every
         * commit until a lull (about 14 KB a text: 167 MB after a minute at 200 texts/s in
         * drills/soak.sh), and on a disk that filled up, the retried texts' commits can
         * take the space back before a checkpoint gets it to grow hotline.db: the store
         * then never recovers (drills/README.md). So past WAL_RESTART_FRAMES a RESTART
         * checkpoint: this connection has no busy handler, so it proceeds only when the
         * writer is between two groups (else SQLITE_BUSY, tried again next tick), copies
         * the few frames the passive one left and holds the writer for that long (a few
         * ms, in the writer's busy handler), so that the next commit rewinds the WAL.
         * That hold shows in the webhooks' tail latency (bench/serve.sh: p99 at half the
         * peak went from 12 to 100 ms with a RESTART every 16 MiB, several a second at
         * 3,000 texts/s), so while commits succeed it runs at most every
         * WAL_RESTART_EVERY_MS (the WAL stays within ~30 s of writes); when they fail
         * (disk full), at every tick, to give the space back as soon as it can.
         */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t since_ms = (int64_t)(now.tv_sec - last_restart.tv_sec) * 1000 +
                           (now.tv_nsec - last_restart.tv_nsec) / 1000000;
        if (rc == SQLITE_OK && log_frames > WAL_RESTART_FRAMES &&
            (!healthy || since_ms >= WAL_RESTART_EVERY_MS)) {
            rc = sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_RESTART, &log_frames,
                                           &done_frames);
            if (rc == SQLITE_OK)
                last_restart = now;
        }
        pthread_mutex_lock(&s->mu);
        if (rc == SQLITE_OK) {
            s->checkpoints++;
            /* Not everything copied (a reader held old frames): try again next time. */
            if (done_frames == log_frames)
                s->checkpointed_commits = commits;
        } else if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
            log_event(LOG_WARN, "store.checkpoint", "error=\"%s\"", sqlite3_errstr(rc));
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- loop side ---- */

/* Runs the callbacks of every completed op, in submission order. Loop thread. */
static void deliver(struct store *s)
{
    pthread_mutex_lock(&s->mu);
    struct op *op = s->done.head;
    s->done.head = s->done.tail = NULL;
    pthread_mutex_unlock(&s->mu);

    size_t n = 0;
    while (op) {
        struct op *next = op->next;
        if (s->events_fn && op->res.outcome == STORE_OK && op->events.len)
            s->events_fn(s->events_arg, op->events.data, op->events.len);
        if (op->cb)
            op->cb(&op->res, op->arg);
        op_free(op);
        op = next;
        n++;
    }

    pthread_mutex_lock(&s->mu);
    s->outstanding -= n;
    bool idle = s->outstanding == 0;
    char *cli = s->cli_lines;
    size_t cli_len = s->cli_len;
    s->cli_lines = NULL;
    s->cli_len = s->cli_cap = 0;
    pthread_mutex_unlock(&s->mu);
    if (cli_len && s->events_fn)
        s->events_fn(s->events_arg, cli, cli_len);
    free(cli);
    if (idle && s->done_ev_added) {
        event_del(s->done_ev);
        s->done_ev_added = false;
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deliver(arg);
}

/* Queues op (consumed whatever happens). */
static int submit(struct store *s, struct op *op)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        op_free(op);
        return -1;
    }
    if (s->pending.tail)
        s->pending.tail->next = op;
    else
        s->pending.head = op;
    s->pending.tail = op;
    s->stats.queued++;
    s->outstanding++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (!s->done_ev_added && event_add(s->done_ev, &keepalive) == 0)
        s->done_ev_added = true;
    return 0;
}

int store_submit_inbound(struct store *s, const struct store_inbound *in, store_decide_fn decide,
                         void *decide_ctx, store_done_fn cb, void *arg)
{
    if (!s || !in || !decide || !in->gateway || !in->message_sid || !in->from || !in->to ||
        !in->body || (unsigned)in->intent >= INTENT_COUNT || (unsigned)in->lang >= LANG_COUNT)
        return -1;
    struct op *op = op_new(OP_INBOUND, cb, arg);
    if (!op)
        return -1;
    struct store_inbound *c = &op->u.inbound.in;
    *c = *in;
    if (!c->account_sid)
        c->account_sid = "";
    op->u.inbound.decide = decide;
    op->u.inbound.ctx = decide_ctx;
    if (op_keep(op, &c->gateway) < 0 || op_keep(op, &c->message_sid) < 0 ||
        op_keep(op, &c->account_sid) < 0 || op_keep(op, &c->from) < 0 || op_keep(op, &c->to) < 0 ||
        op_keep(op, &c->body) < 0) {
        op_free(op);
        return -1;
    }
    return submit(s, op);
}

int store_submit_job_update(struct store *s, const struct store_job_update *u, store_done_fn cb,
                            void *arg)
{
    if (!s || !u || (int)u->state < 0 || (int)u->state >= STATE_COUNT || u->attempts < 0)
        return -1;
    struct op *op = op_new(OP_JOB_UPDATE, cb, arg);
    if (!op)
        return -1;
    op->u.job = *u;
    if (op_keep(op, &op->u.job.gateway_sid) < 0 || op_keep(op, &op->u.job.reason) < 0) {
        op_free(op);
        return -1;
    }
    return submit(s, op);
}

int store_submit_status(struct store *s, const struct store_status *st, store_done_fn cb, void *arg)
{
    if (!s || !st || !st->gateway_sid || !st->status)
        return -1;
    struct op *op = op_new(OP_STATUS, cb, arg);
    if (!op)
        return -1;
    op->u.status = *st;
    if (op_keep(op, &op->u.status.gateway_sid) < 0 || op_keep(op, &op->u.status.status) < 0) {
        op_free(op);
        return -1;
    }
    return submit(s, op);
}

int store_submit_sender_update(struct store *s, const char *number, unsigned fields,
                               const struct store_sender *values, const char *source,
                               store_done_fn cb, void *arg)
{
    if (!s || !number || !values ||
        (fields & ~(STORE_SET_OPTED_OUT | STORE_SET_LANG | STORE_SET_MISSES)) ||
        ((fields & STORE_SET_LANG) && (unsigned)values->lang >= LANG_COUNT) ||
        ((fields & STORE_SET_MISSES) && values->misses < 0))
        return -1;
    struct op *op = op_new(OP_SENDER, cb, arg);
    if (!op)
        return -1;
    op->u.sender.number = number;
    op->u.sender.fields = fields;
    op->u.sender.values = *values;
    op->u.sender.source = source ? source : "";
    if (op_keep(op, &op->u.sender.number) < 0 || op_keep(op, &op->u.sender.source) < 0) {
        op_free(op);
        return -1;
    }
    return submit(s, op);
}

int store_submit_repage(struct store *s, int64_t repage_ms, store_done_fn cb, void *arg)
{
    if (!s || repage_ms < 0)
        return -1;
    struct op *op = op_new(OP_REPAGE, cb, arg);
    if (!op)
        return -1;
    op->u.repage_ms = repage_ms;
    return submit(s, op);
}

int store_submit_staff(struct store *s, const struct store_staff_request *r, store_done_fn cb,
                       void *arg)
{
    if (!s || !r || (unsigned)r->action > STORE_STAFF_CLOSE ||
        (r->action == STORE_STAFF_REPLY && !r->text))
        return -1;
    struct op *op = op_new(OP_STAFF, cb, arg);
    if (!op)
        return -1;
    op->u.staff = *r;
    if (op_keep(op, &op->u.staff.token) < 0 || op_keep(op, &op->u.staff.text) < 0) {
        op_free(op);
        return -1;
    }
    return submit(s, op);
}

void store_set_events_hook(struct store *s, store_events_fn fn, void *arg)
{
    s->events_fn = fn;
    s->events_arg = arg;
}

int store_submit_probe(struct store *s, store_done_fn cb, void *arg)
{
    if (!s)
        return -1;
    struct op *op = op_new(OP_PROBE, cb, arg);
    return op ? submit(s, op) : -1;
}

bool store_healthy(struct store *s)
{
    pthread_mutex_lock(&s->mu);
    bool ok = s->healthy && s->thread_started && !s->stopping;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->checkpoints = s->checkpoints;
    pthread_mutex_unlock(&s->mu);
}

/* ---- open, migrate, close ---- */

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Creates (or opens) path with mode 0600 whatever the umask; returns the fd or -1. */
static int open_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 && fchmod(fd, 0600) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

/* The single integer or text a PRAGMA returns; -1 on error. */
static int pragma_int(sqlite3 *db, const char *sql, char *text, size_t textlen)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int(st, 0);
        if (text)
            snprintf(text, textlen, "%s", col_text(st, 0) ? col_text(st, 0) : "");
    }
    sqlite3_finalize(st);
    return v;
}

/*
 * Applies migrations[version] and sets user_version to version + 1, in one transaction;
 * a no-op when another process (the service, a command) got there first.
 */
static int migrate_step(sqlite3 *db, int version, char *why, size_t whylen)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
    if (exec_sql(db, "BEGIN IMMEDIATE", why, whylen) < 0)
        return -1;
    int at = pragma_int(db, "PRAGMA user_version", NULL, 0);
    if (at < 0) {
        snprintf(why, whylen, "cannot read the schema version");
        goto fail;
    }
    if (at <= version &&
        (exec_sql(db, migrations[version], why, whylen) < 0 || exec_sql(db, sql, why, whylen) < 0))
        goto fail;
    if (exec_sql(db, "COMMIT", why, whylen) < 0)
        goto fail;
    return 0;
fail:
    if (!sqlite3_get_autocommit(db))
        exec_sql(db, "ROLLBACK", NULL, 0);
    return -1;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    int version = pragma_int(db, "PRAGMA user_version", NULL, 0);
    if (version < 0) {
        set_err(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (version > SCHEMA_VERSION) {
        set_err(err, errlen, "the database has schema version %d, newer than this hotline's %d",
                version, SCHEMA_VERSION);
        return -1;
    }
    for (; version < SCHEMA_VERSION; version++) {
        char why[160];
        if (migrate_step(db, version, why, sizeof why) < 0) {
            set_err(err, errlen, "migration to schema version %d failed: %s", version + 1, why);
            return -1;
        }
    }
    return 0;
}

static int open_writer(struct store *s, const char *path, char *err, size_t errlen)
{
    char mode[32], why[160];
    if (sqlite3_open_v2(path, &s->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        set_err(err, errlen, "cannot open the database: %s",
                s->wdb ? sqlite3_errmsg(s->wdb) : "out of memory");
        return -1;
    }
    sqlite3_extended_result_codes(s->wdb, 1);
    sqlite3_busy_timeout(s->wdb, 5000);
    if (pragma_int(s->wdb, "PRAGMA journal_mode = WAL", mode, sizeof mode) < 0 ||
        strcmp(mode, "wal") != 0) {
        set_err(err, errlen, "cannot switch the database to WAL mode");
        return -1;
    }
    /* FULL: the WAL is synced at every commit, so a commit survives a power cut. */
    if (exec_sql(s->wdb, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", why, sizeof why) <
            0 ||
        pragma_int(s->wdb, "PRAGMA synchronous", NULL, 0) != 2 ||
        pragma_int(s->wdb, "PRAGMA foreign_keys", NULL, 0) != 1) {
        set_err(err, errlen, "cannot set synchronous=FULL and foreign_keys");
        return -1;
    }
    /* Checkpoints belong to the checkpointer thread, not to the commits; a larger page
     * cache keeps the indexes the commits touch in memory. The WAL file keeps the size it
     * reached between two rewinds (the last connection removes it at shutdown): cutting
     * it back with journal_size_limit happens on the writer's commit path, and with 64 MiB
     * it took the soak's p99 from 9-12 ms to 50-180 ms (max 18-69 ms to 280-380 ms). */
    if (exec_sql(s->wdb, "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -16384", why,
                 sizeof why) < 0) {
        set_err(err, errlen, "cannot configure the writer: %s", why);
        return -1;
    }
    if (migrate(s->wdb, err, errlen) < 0)
        return -1;
    /* Sends in flight when the last process died: their outcome is unknown, retry them. */
    char sql[128];
    snprintf(sql, sizeof sql,
             "UPDATE jobs SET state = 'pending', updated_at = %lld WHERE state = 'sending'",
             (long long)now_ms());
    if (exec_sql(s->wdb, sql, why, sizeof why) < 0) {
        set_err(err, errlen, "cannot reset jobs left sending: %s", why);
        return -1;
    }
    return 0;
}

/*
 * SQLite creates -wal and -shm with the database file's mode; set it again in case
 * they were left by an older process with another mode.
 */
static int fix_sidecar_modes(const char *db_path, char *err, size_t errlen)
{
    static const char *const suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX + 8];
        snprintf(path, sizeof path, "%s%s", db_path, suffixes[i]);
        if (chmod(path, 0600) < 0 && errno != ENOENT) {
            set_err(err, errlen, "chmod %s: %s", suffixes[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int start_writer(struct store *s, char *err, size_t errlen)
{
    /* Signals are for the loop thread (libevent's signal events), never these threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, writer_main, s);
    if (rc == 0) {
        s->thread_started = true;
        rc = pthread_create(&s->cp_thread, NULL, checkpointer_main, s);
        s->cp_started = rc == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        set_err(err, errlen, "cannot start the store's threads: %s", strerror(rc));
        return -1;
    }
    return 0;
}

struct store *store_open(struct event_base *base, const char *data_dir,
                         const struct store_options *options, char *err, size_t errlen)
{
    const struct store_options defaults = {STORE_ESCALATION_LOG_MAX_BYTES,
                                           STORE_ESCALATION_LOG_KEEP};
    if (!options)
        options = &defaults;
    char db_path[PATH_MAX], lock_path[PATH_MAX];
    if (!base || !data_dir || !*data_dir) {
        set_err(err, errlen, "no event base or data directory");
        return NULL;
    }
    if ((size_t)snprintf(db_path, sizeof db_path, "%s/hotline.db", data_dir) >=
            sizeof db_path - 8 ||
        (size_t)snprintf(lock_path, sizeof lock_path, "%s/hotline.lock", data_dir) >=
            sizeof lock_path) {
        set_err(err, errlen, "data directory path too long");
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        set_err(err, errlen, "SQLite was built without thread support");
        return NULL;
    }
    /* Needed for event_active from the writer; see store.h: the base must come after. */
    if (evthread_use_pthreads() < 0) {
        set_err(err, errlen, "evthread_use_pthreads failed");
        return NULL;
    }

    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->lock_fd = -1;
    s->log.fd = -1;
    s->healthy = true;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->rd_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->cp_cv, NULL);

    if (mkdir(data_dir, 0700) == 0) {
        if (chmod(data_dir, 0700) < 0) {
            set_err(err, errlen, "chmod %s: %s", data_dir, strerror(errno));
            goto fail;
        }
    } else if (errno != EEXIST) {
        set_err(err, errlen, "cannot create %s: %s", data_dir, strerror(errno));
        goto fail;
    }
    if ((s->lock_fd = open_private(lock_path)) < 0) {
        set_err(err, errlen, "cannot open %s: %s", lock_path, strerror(errno));
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        set_err(err, errlen, "%s is in use by another hotline process", data_dir);
        goto fail;
    }
    int fd = open_private(db_path);
    if (fd < 0) {
        set_err(err, errlen, "cannot create %s: %s", db_path, strerror(errno));
        goto fail;
    }
    close(fd);

    if (open_writer(s, db_path, err, errlen) < 0 || fix_sidecar_modes(db_path, err, errlen) < 0)
        goto fail;
    if (!(s->esc = escalation_db_new(s->wdb))) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    if (escalation_log_open(&s->log, data_dir, options->escalation_log_max_bytes,
                            options->escalation_log_keep) < 0) {
        set_err(err, errlen, "cannot open %s/%s: %s", data_dir, ESCALATION_LOG_FILE,
                strerror(errno));
        goto fail;
    }
    s->log_open = true;
    if (sqlite3_open_v2(db_path, &s->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        set_err(err, errlen, "cannot open the database for reading");
        goto fail;
    }
    sqlite3_busy_timeout(s->rdb, 5000);
    char why[160];
    if (sqlite3_open_v2(db_path, &s->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
            SQLITE_OK ||
        exec_sql(s->cdb, "PRAGMA synchronous = FULL", why, sizeof why) < 0) {
        set_err(err, errlen, "cannot open the database for checkpoints");
        goto fail;
    }

    /* What a crash left unexported (committed rows the file lacks). A failure is logged;
     * the checkpointer tries again. */
    if (export_escalation_log(s, s->cdb, false) < 0)
        s->event_commits = 1;

    if (!(s->done_ev = event_new(base, -1, EV_PERSIST, on_done, s))) {
        set_err(err, errlen, "event_new failed");
        goto fail;
    }
    if (start_writer(s, err, errlen) < 0)
        goto fail;
    return s;

fail:
    store_close(s);
    return NULL;
}

struct sqlite3 *store_open_direct(const char *data_dir, char *err, size_t errlen)
{
    char db_path[PATH_MAX], why[160], mode[32];
    sqlite3 *db = NULL;
    if (!data_dir || !*data_dir ||
        (size_t)snprintf(db_path, sizeof db_path, "%s/hotline.db", data_dir) >=
            sizeof db_path - 8) {
        set_err(err, errlen, "no data directory, or its path is too long");
        return NULL;
    }
    if (mkdir(data_dir, 0700) == 0) {
        if (chmod(data_dir, 0700) < 0) {
            set_err(err, errlen, "chmod %s: %s", data_dir, strerror(errno));
            return NULL;
        }
    } else if (errno != EEXIST) {
        set_err(err, errlen, "cannot create %s: %s", data_dir, strerror(errno));
        return NULL;
    }
    int fd = open_private(db_path);
    if (fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", db_path, strerror(errno));
        return NULL;
    }
    close(fd);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        set_err(err, errlen, "cannot open the database: %s",
                db ? sqlite3_errmsg(db) : "out of memory");
        goto fail;
    }
    sqlite3_extended_result_codes(db, 1);
    /* The service's writer holds the write lock for one group commit at a time. */
    sqlite3_busy_timeout(db, 10000);
    if (pragma_int(db, "PRAGMA journal_mode = WAL", mode, sizeof mode) < 0 ||
        strcmp(mode, "wal") != 0) {
        set_err(err, errlen, "cannot switch the database to WAL mode");
        goto fail;
    }
    if (exec_sql(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", why, sizeof why) < 0) {
        set_err(err, errlen, "cannot configure the database: %s", why);
        goto fail;
    }
    if (migrate(db, err, errlen) < 0 || fix_sidecar_modes(db_path, err, errlen) < 0)
        goto fail;
    return db;
fail:
    sqlite3_close(db);
    return NULL;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_cond_signal(&s->cp_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started)
        pthread_join(s->thread, NULL); /* it commits everything queued first */
    if (s->cp_started)
        pthread_join(s->cp_thread, NULL);
    if (s->done_ev) {
        deliver(s);
        event_free(s->done_ev);
    }
    /* The threads are gone: export what the last commits left (the writer's connection,
     * which every store that got this far has). */
    if (s->thread_started && s->wdb && s->log_open)
        export_escalation_log(s, s->wdb, false);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    escalation_db_free(s->esc);
    escalation_log_close(&s->log);
    sqlite3_close(s->rdb);
    sqlite3_close(s->cdb);
    sqlite3_close(s->wdb); /* the last connection checkpoints the WAL into the file */
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->cp_cv);
    pthread_mutex_destroy(&s->rd_mu);
    pthread_mutex_destroy(&s->mu);
    free(s->cli_lines);
    free(s);
}

/* ---- reads (read-only connection) ---- */

static int job_from_row(sqlite3_stmt *st, struct store_job *job)
{
    int kind_is_page = strcmp(col_text(st, 1), "page") == 0;
    int state = state_from_name(col_text(st, 7));
    struct store_job row = {
        .id = sqlite3_column_int64(st, 0),
        .kind = kind_is_page ? STORE_JOB_PAGE : STORE_JOB_REPLY,
        .priority = sqlite3_column_int(st, 2),
        .inbound_id = sqlite3_column_int64(st, 3),
        .to = (char *)col_text(st, 4),
        .from = (char *)col_text(st, 5),
        .body = (char *)col_text(st, 6),
        .state = state < 0 ? STORE_JOB_PENDING : (enum store_job_state)state,
        .attempts = sqlite3_column_int(st, 8),
        .next_attempt_at = sqlite3_column_int64(st, 9),
        .gateway_sid = (char *)col_text(st, 10),
        .error_code = sqlite3_column_int(st, 11),
        .reason = (char *)col_text(st, 12),
        .created_at = sqlite3_column_int64(st, 13),
        .updated_at = sqlite3_column_int64(st, 14),
    };
    return store_job_copy(job, &row);
}

int store_load_unfinished_jobs(struct store *s, struct store_job **jobs, size_t *n)
{
    static const char sql[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE state IN"
                              " ('pending', 'sending') ORDER BY priority, next_attempt_at, id";
    struct store_job *out = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    int rc;

    *jobs = NULL;
    *n = 0;
    pthread_mutex_lock(&s->rd_mu);
    if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct store_job *grown = realloc(out, ncap * sizeof *out);
            if (!grown)
                goto fail;
            out = grown;
            cap = ncap;
        }
        if (job_from_row(st, &out[len]) < 0)
            goto fail;
        len++;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rd_mu);
    *jobs = out;
    *n = len;
    return 0;

fail:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rd_mu);
    store_jobs_free(out, len);
    return -1;
}

int store_get_job(struct store *s, int64_t id, struct store_job *out)
{
    static const char sql[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1";
    sqlite3_stmt *st = NULL;
    int ret = -1;
    pthread_mutex_lock(&s->rd_mu);
    if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            ret = job_from_row(st, out) == 0 ? 1 : -1;
        else if (rc == SQLITE_DONE)
            ret = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rd_mu);
    return ret;
}

int store_get_sender(struct store *s, const char *number, struct store_sender *out)
{
    static const char sql[] = "SELECT opted_out, opted_out_at, lang, misses, updated_at"
                              " FROM senders WHERE number = ?1";
    sqlite3_stmt *st = NULL;
    int ret = -1;
    *out = new_sender;
    pthread_mutex_lock(&s->rd_mu);
    if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) == SQLITE_OK) {
        bind_text(st, 1, number);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            sender_from_row(st, out);
            ret = 1;
        } else if (rc == SQLITE_DONE) {
            ret = 0;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rd_mu);
    return ret;
}

/* The count a query returns; text binds ?1 when not NULL. */
static int64_t count(struct store *s, const char *sql, const char *text)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    pthread_mutex_lock(&s->rd_mu);
    if (sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL) == SQLITE_OK) {
        if (text)
            bind_text(st, 1, text);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->rd_mu);
    return v;
}

int64_t store_count_inbound(struct store *s)
{
    return count(s, "SELECT count(*) FROM inbound", NULL);
}

int64_t store_count_on_call(struct store *s)
{
    return count(s, "SELECT count(*) FROM staff WHERE on_call = 1", NULL);
}

int64_t store_count_jobs(struct store *s, enum store_job_state state)
{
    if ((int)state < 0 || (int)state >= STATE_COUNT)
        return -1;
    return count(s, "SELECT count(*) FROM jobs WHERE state = ?1", state_names[state]);
}
