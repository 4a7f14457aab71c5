/*
 * store: the durable store. SQLite in $data_dir/hotline.db: the texts received, the
 * outbox of jobs to send, each sender's state and every delivery-status callback.
 *
 * Writes are asynchronous and group-committed. The loop thread submits an operation
 * (store_submit_*), one writer thread commits everything queued in one transaction
 * (synchronous=FULL: one fsync for the whole group) and the operation's callback then
 * runs on the loop thread, in submission order. A callback reporting STORE_OK means the
 * write is on disk and survives a crash or a power cut: only then may the webhook be
 * answered 2xx. Nothing here blocks the loop thread except short mutex holds.
 *
 * Threads: the event_base passed to store_open must have been created AFTER
 * evthread_use_pthreads() (main calls it first). store_open calls it too, but libevent
 * gives a base its locks only at creation, so that call cannot help a base that exists.
 * Call store_submit_*, store_close and the reads from the loop thread.
 *
 * Texts and numbers are Part 2 / PHI: error strings from here never contain them.
 */
#ifndef HOTLINE_STORE_H
#define HOTLINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotline/conversation.h"
#include "hotline/intent.h"

struct event_base;
struct sqlite3;
struct store;

/* Outbox priorities: lower goes sooner; the outbox keeps a send slot for 0 and 1 (pages,
 * crisis answers and staff replies, ESCALATION_PRIORITY_STAFF_REPLY). */
#define STORE_PRIORITY_PAGE 0
#define STORE_PRIORITY_URGENT_REPLY 1 /* the emergency numbers to a texter in danger */
#define STORE_PRIORITY_REPLY 10

/* Longest job body (characters): Twilio's Body limit. The schema enforces it. */
#define STORE_BODY_MAX 1600

enum store_job_kind { STORE_JOB_REPLY, STORE_JOB_PAGE };

/* Stored as text: "pending", "sending", "sent", "delivered", "undelivered", "failed",
 * "canceled", "read". */
enum store_job_state {
    STORE_JOB_PENDING,
    STORE_JOB_SENDING, /* request in flight; reset to pending by store_open */
    STORE_JOB_SENT,    /* the gateway accepted it (gateway_sid set) */
    STORE_JOB_DELIVERED,
    STORE_JOB_UNDELIVERED,
    STORE_JOB_FAILED,
    STORE_JOB_CANCELED,
    STORE_JOB_READ,
};

const char *store_job_state_name(enum store_job_state state);

/* One outbox job. Strings are owned by whoever owns the struct (see store_job_copy). */
struct store_job {
    int64_t id;
    enum store_job_kind kind;
    int priority;
    int64_t inbound_id; /* 0: none */
    char *to;
    char *from;
    char *body;
    enum store_job_state state;
    int attempts;
    int64_t next_attempt_at; /* unix ms, like every time here */
    char *gateway_sid;       /* NULL until the gateway accepted the job */
    int error_code;          /* 0: none */
    char *reason;            /* NULL: none */
    int64_t created_at;
    int64_t updated_at;
};

/* Deep copy (dst's previous contents are not freed). 0, or -1 on allocation failure. */
int store_job_copy(struct store_job *dst, const struct store_job *src);
/* Frees the strings of a job the caller owns; store_job_clear(NULL) is a no-op. */
void store_job_clear(struct store_job *job);
/* Frees an array from store_load_unfinished_jobs. */
void store_jobs_free(struct store_job *jobs, size_t n);

/* A sender's conversation state; a new number reads as {known = false, lang = LANG_EN}. */
struct store_sender {
    bool known; /* a row exists */
    bool opted_out;
    int64_t opted_out_at; /* 0 when not opted out */
    enum lang lang;
    int misses; /* unmatched texts in a row */
    int64_t updated_at;
    struct conversation_memory memory; /* the rest of conversation.h's state, kept as is */
    bool held; /* read only, given to the decide step: a staff member holds this texter's
                  escalation (escalation.h), so replies go through them */
};

/* One inbound text with the matcher's verdict. Strings are copied by the submit call. */
struct store_inbound {
    const char *gateway;     /* "twilio" */
    const char *message_sid; /* the gateway's id: a second text with it is a DUPLICATE */
    const char *account_sid; /* "" in local mode */
    const char *from;
    const char *to;   /* the hotline's number: replies and pages are sent from it */
    const char *body; /* "" is a valid text */
    int64_t received_at;
    enum intent intent;
    enum lang lang;
    double confidence;
};

struct store_page {
    const char *to;
    const char *body;
};

/*
 * What to do about one inbound text. The store presets it to "no reply, no pages,
 * ESCALATE_NONE, sender state unchanged, reply_priority STORE_PRIORITY_REPLY"; decide
 * edits it. The strings are borrowed: they must stay valid until decide is next called
 * or the store is closed (the store copies them before either can happen).
 */
struct store_decision {
    enum intent intent; /* the intent acted on (preset to in->intent): recorded with the
                           text and its escalation (a menu number becomes its topic) */
    enum escalation escalation;
    struct store_sender sender; /* the sender's new state, written as is */
    const char *reply;          /* to in->from, from in->to; NULL: no reply */
    int reply_priority;
    const struct store_page *pages; /* staff pages, priority STORE_PRIORITY_PAGE */
    size_t npages;
    const char *opt_source; /* when the opt-out changes: recorded in opt_events ("keyword",
                               "request"); NULL: "texter" */
};

/*
 * The conversation step. Runs ON THE WRITER THREAD, inside the transaction, after the
 * sender's row has been read: two texts from one number are thus decided in commit
 * order, each seeing the state the previous one wrote. It must be pure and thread-safe
 * (no I/O, no shared mutable state): a transaction that fails is rolled back and its
 * decision forgotten.
 */
typedef void (*store_decide_fn)(void *ctx, const struct store_inbound *in,
                                const struct store_sender *state, struct store_decision *out);

enum store_outcome {
    STORE_OK,        /* committed (for an inbound text: accepted) */
    STORE_DUPLICATE, /* inbound only: message_sid already stored, nothing written */
    STORE_ERROR,     /* nothing of this operation was written */
};

/* Handed to a completion callback; everything in it dies when the callback returns. */
struct store_result {
    enum store_outcome outcome;
    const char *error; /* STORE_ERROR: why, without numbers or texts; else NULL */

    /* store_submit_inbound */
    int64_t inbound_id;           /* OK, and DUPLICATE (the stored row) */
    enum escalation escalation;   /* OK: the decision's */
    int64_t escalation_id;        /* OK: the texter's escalation the text belongs to, or 0 */
    bool staff_command;           /* OK: the text came from a staff phone (escalation.h) */
    const struct store_job *jobs; /* OK: the created jobs, reply first, then pages (and for a
                                     staff command, the confirmation, a page-kind job);
                                     store_submit_repage: the new pages */
    size_t njobs;

    /* store_submit_job_update, store_submit_status */
    bool matched;               /* a job with that id / gateway_sid exists */
    bool changed;               /* ... and this operation updated it (false: the job is in
                                   a final state, or the status does not move it on) */
    int64_t job_id;             /* when matched */
    enum store_job_state state; /* when matched: its state after this operation */

    /* store_submit_inbound (OK) and store_submit_sender_update: the sender's state after */
    struct store_sender sender;

    /* store_submit_staff (OK): the HTTP status to answer, its JSON body (NULL: none) and
     * the staff member the token belongs to ("" when it matched nobody) */
    int http_status;
    const char *body;
    const char *staff;

    /* store_submit_probe (OK): staff members on call */
    int64_t on_call;
};

/* Runs on the loop thread. It may submit further operations; it must not store_close. */
typedef void (*store_done_fn)(const struct store_result *res, void *arg);

/* How the store keeps its files; NULL to store_open takes the defaults. */
struct store_options {
    int64_t escalation_log_max_bytes; /* rotate escalations.jsonl at this size (0: never) */
    int escalation_log_keep;          /* rotated files kept (escalations.jsonl.1 ..) */
};

#define STORE_ESCALATION_LOG_MAX_BYTES (64 * 1024 * 1024)
#define STORE_ESCALATION_LOG_KEEP 10

/*
 * Opens (creating if needed: data_dir 0700, the files 0600 whatever the umask) and
 * migrates the database, resets jobs left 'sending' to 'pending' and starts the writer.
 * Only one process may hold a data_dir. Returns NULL with a reason in err on failure.
 */
struct store *store_open(struct event_base *base, const char *data_dir,
                         const struct store_options *options, char *err, size_t errlen);

/*
 * Stops accepting, lets the writer commit everything queued, runs every remaining
 * completion callback (from here, before returning), joins the writer and closes.
 * Call it from the loop thread, not from a completion callback. NULL is a no-op.
 */
void store_close(struct store *s);

/*
 * Submitting: 0 when queued, and then cb (which may be NULL) runs exactly once; -1 when
 * refused (store closing, a required field missing, no memory), and then cb never runs.
 * A queued operation keeps event_base_dispatch() running until its callback has run.
 */

/*
 * The text, the decision's sender state, reply job and page jobs: all or nothing.
 * decide(decide_ctx, ...) runs on the writer thread; decide_ctx must stay valid until cb
 * has run (a per-request context may carry what the step needs beyond the text).
 *
 * In the same transaction (escalation.h): a text from a staff phone is a staff command
 * (decide is not called; "ACK n" acknowledges, and a confirmation job is created); a
 * texter's text opens, joins or raises their escalation by the decision's level, with a
 * page job (kind page, STORE_PRIORITY_PAGE) to every on-call staff phone. The escalation
 * events' log lines are rows of the same transaction (escalation_log); the store's
 * checkpointer thread appends the committed ones to $data_dir/escalations.jsonl
 * (fdatasync) within about 200 ms, off the commit path, and store_open whatever a crash
 * left unwritten.
 */
int store_submit_inbound(struct store *s, const struct store_inbound *in, store_decide_fn decide,
                         void *decide_ctx, store_done_fn cb, void *arg);

/* The outcome of a send attempt. Never changes a job in a final state (changed = false). */
struct store_job_update {
    int64_t job_id;
    enum store_job_state state;
    int attempts;
    int64_t next_attempt_at;
    const char *gateway_sid; /* NULL: keep the stored one */
    int error_code;          /* 0: none */
    const char *reason;      /* NULL: none */
};
int store_submit_job_update(struct store *s, const struct store_job_update *u, store_done_fn cb,
                            void *arg);

/*
 * A delivery-status callback. Always appended to status_events (matched or not); the
 * job's state only moves forward: pending < sending < sent < delivered | undelivered |
 * failed | canceled, and "read" only over delivered or a non-final state (read implies
 * delivered). queued/accepted/scheduled/sending count as sending; other statuses are
 * recorded and change nothing. A non-zero error_code is kept when the state changes.
 */
struct store_status {
    const char *gateway_sid;
    const char *status; /* Twilio's MessageStatus */
    int error_code;     /* 0: none */
    int64_t received_at;
};
int store_submit_status(struct store *s, const struct store_status *st, store_done_fn cb,
                        void *arg);

/*
 * Sets the chosen fields of a sender (creating its row), e.g. opted out after 21610. A
 * change of the opt-out is recorded in opt_events with source (e.g. "gateway 21610").
 */
#define STORE_SET_OPTED_OUT 1u /* opted_out and opted_out_at */
#define STORE_SET_LANG 2u
#define STORE_SET_MISSES 4u
int store_submit_sender_update(struct store *s, const char *number, unsigned fields,
                               const struct store_sender *values, const char *source,
                               store_done_fn cb, void *arg);

/*
 * Pages again the urgent escalations not acknowledged whose last page is repage_ms old
 * (escalation_repage_due): res->jobs are the new page jobs, events logged as above. It
 * also hands over the jobs another process queued in job_handoff (`hotline escalations
 * reply` while the service runs): they come back in res->jobs too, after the pages; one
 * to a texter who has opted out meanwhile is canceled instead.
 */
int store_submit_repage(struct store *s, int64_t repage_ms, store_done_fn cb, void *arg);

/*
 * The staff API (server.c): authenticates a bearer token and runs one action in the
 * writer's transaction. The token is hashed (SHA-256) and compared with EVERY stored
 * hash in constant time (CRYPTO_memcmp), so neither the comparison nor an index lookup
 * tells a prober how close a guess was; going through the writer means a token replaced
 * by `hotline staff token` stops working at once (no cache to refresh), at the price of a
 * queue hop (no fsync: a transaction that changed nothing writes nothing). res->staff is
 * the actor of the events it logs (via "api"). A wrong or missing token: http_status 401.
 */
enum store_staff_action {
    STORE_STAFF_AUTH,  /* only who the token is (the event stream) */
    STORE_STAFF_LIST,  /* active escalations, urgent first, then oldest */
    STORE_STAFF_SHOW,  /* one escalation with its conversation: a "viewed" event */
    STORE_STAFF_ACK,   /* acknowledge: the actor holds the conversation */
    STORE_STAFF_REPLY, /* text to the texter: res->jobs holds the reply job */
    STORE_STAFF_CLOSE, /* close: hands the texter back to the auto-responder */
};
struct store_staff_request {
    enum store_staff_action action;
    const char *token; /* the bearer token as received (NULL: 401) */
    int64_t id;        /* the escalation (all but AUTH and LIST) */
    const char *text;  /* REPLY */
};
int store_submit_staff(struct store *s, const struct store_staff_request *r, store_done_fn cb,
                       void *arg);

/*
 * Called on the loop thread with the escalation-log lines (JSON objects, one per line) of
 * every committed operation, right before its callback: the live event stream and the
 * chat webhook. The lines are borrowed for the call. NULL fn: none.
 */
typedef void (*store_events_fn)(void *arg, const char *lines, size_t len);
void store_set_events_hook(struct store *s, store_events_fn fn, void *arg);

/* Writes a heartbeat row through the writer: STORE_OK means the disk takes commits. */
int store_submit_probe(struct store *s, store_done_fn cb, void *arg);

/*
 * Cheap health for /healthz and /metrics, no I/O: false when the last transaction the
 * writer attempted could not begin or commit (true again after a commit succeeds).
 */
bool store_healthy(struct store *s);

struct store_stats {
    uint64_t commits; /* transactions committed: one per group */
    uint64_t failed_commits;
    uint64_t ops;           /* operations completed, any outcome */
    uint64_t failed_ops;    /* STORE_ERROR */
    uint64_t largest_group; /* most operations in one transaction */
    uint64_t queued;        /* submitted, not yet taken by the writer */
    uint64_t checkpoints;   /* WAL checkpoints run by the checkpointer thread */
};
void store_get_stats(struct store *s, struct store_stats *out);

/*
 * Reads: synchronous, on a separate read-only connection, for startup, admin commands and
 * tests; never per webhook. They see every write whose callback has run. Counts and
 * lookups return -1 on error.
 */

/* Jobs in state pending or sending, by priority then next_attempt_at. At least once: a
 * job whose send was in flight at a crash was reset to pending and is sent again. */
int store_load_unfinished_jobs(struct store *s, struct store_job **jobs, size_t *n);
/* 1 and *out filled (store_job_clear it), 0 when no such job, -1 on error. */
int store_get_job(struct store *s, int64_t id, struct store_job *out);
/* 1 when a row exists, 0 for a new number (*out holds the defaults), -1 on error. */
int store_get_sender(struct store *s, const char *number, struct store_sender *out);
int64_t store_count_inbound(struct store *s);
int64_t store_count_jobs(struct store *s, enum store_job_state state);
/* Staff members on call (for the start-up warning). */
int64_t store_count_on_call(struct store *s);

/*
 * For the staff and escalation commands: a read-write connection of their own to
 * $data_dir/hotline.db (created and migrated if needed, WAL, synchronous=FULL, a busy
 * timeout so that it waits for the service's writer), WITHOUT the data_dir's lock: it
 * works while the service runs. Close it with sqlite3_close. NULL with err on failure.
 */
struct sqlite3 *store_open_direct(const char *data_dir, char *err, size_t errlen);

#endif
