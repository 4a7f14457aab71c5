/*
 * outbox: the send queue. Gateway-neutral: it POSTs prebuilt form requests and asks the
 * caller what each response means; it knows nothing of Twilio, SMS or the store.
 *
 * Shape, and why:
 * - libcurl's multi interface driven by the caller's libevent event_base (socket and timer
 *   callbacks, curl's own hiperfifo pattern), so a slow gateway never blocks the loop; one
 *   long-lived multi owns the connection pool, so sends reuse connections. libcurl must
 *   resolve names asynchronously (CURL_VERSION_ASYNCHDNS), checked by outbox_new.
 * - Two binary heaps: jobs not yet due wait in one keyed by (not_before, priority, id)
 *   under one timer for the earliest due time; due jobs move to one keyed by (priority,
 *   not_before, id), so a staff page (priority 0) overtakes queued replies (priority 10)
 *   whatever their age. A single heap cannot hold "is it due yet" in its key, since that
 *   changes with the clock and not with the heap.
 * - At most max_in_flight transfers at once, optionally paced by a token bucket (a
 *   sender's messages per second) refilled on a timer. urgent_slots of them are kept
 *   for urgent jobs (priority at most urgent_priority: staff pages, crisis answers), so
 *   a page never waits for a slot behind replies held by a slow or hung gateway.
 * - Everything the caller hears comes through callbacks on the loop thread, never from
 *   inside a libcurl callback: before_send (veto, e.g. the opt-out check before EVERY
 *   attempt), classify (response -> verdict) and on_result (every outcome, for the caller
 *   to persist). on_result and before_send may enqueue new jobs: enqueueing only pushes on
 *   a heap and schedules the dispatcher, it never starts a transfer synchronously.
 * - Retries: exponential backoff with full jitter (delay uniform in [0, min(cap, base *
 *   2^(attempts-1))]), at least Retry-After on 429/503, bounded by a retry window counted
 *   from the first attempt; past it the job fails with "retry window exhausted". When
 *   the gateway answers again after two or more failed attempts in a row (an outage
 *   ending), the jobs backing off are due at once, and an attempt still in flight then
 *   that fails (a hung request timing out) is retried at once, so pages go before
 *   replies then too (not those waiting on a Retry-After or a 429).
 * - Latency: each result carries the attempt's latency in ms; the caller aggregates it
 *   into its own histogram (the metrics module owns bucket choice and exposition).
 *
 * Time: not_before, first_attempt_at and next_attempt_at are unix epoch milliseconds (they
 * are persisted); latency and pacing use the monotonic clock.
 */
#ifndef HOTLINE_OUTBOX_H
#define HOTLINE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct outbox;

#define OUTBOX_GATEWAY_ID_SIZE 65 /* a gateway id of up to 64 bytes, NUL-terminated */
#define OUTBOX_REASON_SIZE 128    /* a short reason, NUL-terminated (truncated to fit) */

/*
 * One send. The outbox copies the strings and keeps nothing the caller passed.
 * username/password: HTTP Basic credentials (NULL: no auth). body: the request body,
 * already encoded, of type content_type (NULL: application/x-www-form-urlencoded, the
 * gateway's form; e.g. "application/json" for a chat webhook). A content_type holding a
 * CR or LF (a header injection) is refused by outbox_enqueue.
 */
struct outbox_job {
    int64_t id;               /* the caller's key, reported back in every result */
    int priority;             /* lower goes sooner: staff pages 0, replies 10 */
    int attempts;             /* attempts already made (0 for a new job) */
    int64_t first_attempt_at; /* unix ms of the first attempt; 0 = not attempted yet */
    int64_t not_before;       /* unix ms; 0 or past = due now */
    const char *url;
    const char *username;
    const char *password;
    const char *body;
    const char *content_type;
};

/* What came back from one attempt; every pointer is borrowed for the classify call. */
struct outbox_response {
    int curl_code;          /* CURLcode; 0 when a complete response arrived */
    const char *curl_error; /* curl's message for curl_code, "" when 0 */
    long http_status;       /* 0 when no status line arrived (connect error, timeout) */
    const char *body;       /* NUL-terminated; truncated and curl_code 23 past the cap */
    size_t body_len;
    int64_t retry_after_ms; /* the Retry-After header in ms, -1 when absent */
};

enum outbox_verdict_kind { OUTBOX_VERDICT_SENT, OUTBOX_VERDICT_RETRY, OUTBOX_VERDICT_PERMANENT };

struct outbox_verdict {
    enum outbox_verdict_kind kind;
    char gateway_id[OUTBOX_GATEWAY_ID_SIZE]; /* SENT: the gateway's message id, or "" */
    int error_code;                          /* RETRY/PERMANENT: gateway error code, or 0 */
    char reason[OUTBOX_REASON_SIZE];         /* RETRY/PERMANENT: short, safe to store */
    int64_t retry_after_ms; /* RETRY: minimum delay before the next attempt, -1 none */
};

/*
 * Maps an attempt's response to a verdict. *verdict arrives prefilled with the default,
 * which the function may keep or overwrite: a transport error (curl_code != 0, including
 * timeouts and an oversized response) -> RETRY; 2xx -> SENT with no gateway id; 429 and
 * 5xx -> RETRY; any other status -> PERMANENT with error_code = the HTTP status;
 * retry_after_ms -1. A RETRY waits at least the Retry-After of a 429 or 503 whatever the
 * verdict says, and at least verdict->retry_after_ms. Runs on the loop thread; must not
 * block and must not call outbox functions.
 */
typedef void (*outbox_classify_fn)(void *arg, const struct outbox_response *response,
                                   struct outbox_verdict *verdict);

/*
 * Called right before each attempt (every retry included). Return 0 to send; anything
 * else vetoes: the job ends with OUTBOX_VETOED and the error_code/reason written here
 * (reason has OUTBOX_REASON_SIZE bytes, prefilled with "vetoed"). The job pointer and its
 * strings are borrowed for the call. May call outbox_enqueue and outbox_stats.
 */
typedef int (*outbox_before_send_fn)(void *arg, const struct outbox_job *job, int *error_code,
                                     char *reason);

enum outbox_outcome {
    OUTBOX_SENT,            /* the gateway accepted it; the job is done */
    OUTBOX_RETRY_SCHEDULED, /* will be tried again at next_attempt_at; keep it pending */
    OUTBOX_FAILED,          /* permanent error, or retry window exhausted; the job is done */
    OUTBOX_VETOED,          /* before_send refused it; no request was made; the job is done */
};

/* One outcome; every pointer is borrowed for the on_result call. */
struct outbox_result {
    int64_t job_id;
    enum outbox_outcome outcome;
    int attempts;             /* attempts made, this one included */
    int64_t first_attempt_at; /* unix ms; 0 when vetoed before any attempt */
    int64_t next_attempt_at;  /* unix ms, OUTBOX_RETRY_SCHEDULED only (else 0) */
    const char *gateway_id;   /* OUTBOX_SENT: the verdict's id ("" when none); else "" */
    int error_code;           /* from the verdict or the veto; 0 when none */
    const char *reason;       /* "" when SENT; "retry window exhausted", "abandoned at
                                 shutdown", or the verdict's or veto's reason */
    long http_status;         /* 0 when no response (or vetoed) */
    int curl_code;            /* CURLcode of the transfer, 0 when fine or vetoed */
    int64_t latency_ms;       /* request start to completion; -1 when no request was made */
};

/*
 * Called on the loop thread for every outcome. May call outbox_enqueue, outbox_stats and
 * outbox_drain, never outbox_free. Must not block (hand persistence to a writer thread).
 * Called from outbox_free for transfers abandoned there; enqueueing is refused then.
 */
typedef void (*outbox_result_fn)(void *arg, const struct outbox_result *result);

typedef void (*outbox_drained_fn)(void *arg);

struct outbox_config {
    int max_in_flight;                 /* transfers at once (default 5) */
    int urgent_slots;                  /* of those, only for urgent jobs (default 1; at
                                          most max_in_flight - 1 take effect) */
    int urgent_priority;               /* jobs at or below it are urgent (default 1) */
    long connect_timeout_ms;           /* default 5000 */
    long timeout_ms;                   /* whole transfer, default 15000 */
    size_t max_response_bytes;         /* response bodies over this abort the transfer (64 KiB) */
    int64_t backoff_base_ms;           /* default 1000 */
    int64_t backoff_cap_ms;            /* default 300000 (5 min) */
    int64_t retry_window_ms;           /* from first_attempt_at; default 4 h (Twilio's queue) */
    double max_per_second;             /* pacing; 0 = unpaced (default) */
    double burst;                      /* token bucket size when paced (default 1) */
    uint64_t seed;                     /* jitter PRNG seed; 0 = from getrandom */
    const char *user_agent;            /* default "hotline/<version>" */
    outbox_classify_fn classify;       /* NULL: keep the defaults described above */
    outbox_before_send_fn before_send; /* NULL: no veto */
    outbox_result_fn on_result;        /* NULL: outcomes are only counted */
    void *arg;                         /* passed to the three callbacks */
};

struct outbox_stats {
    size_t queued;    /* waiting for their time, a slot or a token */
    size_t in_flight; /* transfers running */
    uint64_t attempts, sent, failed, vetoed, retries; /* since outbox_new */
};

/* Fills *cfg with the defaults above (callbacks NULL). */
void outbox_config_defaults(struct outbox_config *cfg);

/*
 * Creates an outbox driven by base (borrowed: it must outlive the outbox). cfg is copied
 * (user_agent included). Returns NULL and writes a one-line reason to err (errlen bytes,
 * may be NULL) when libcurl lacks asynchronous DNS, a setting is invalid, or on failure
 * to allocate. Calls curl_global_init (reference-counted by libcurl; call it yourself in
 * main before any thread starts if your libcurl is not CURL_VERSION_THREADSAFE).
 */
struct outbox *outbox_new(struct event_base *base, const struct outbox_config *cfg, char *err,
                          size_t errlen);

/*
 * Queues a copy of job; the send starts from the loop, never inside this call. Returns 0,
 * or -1 when job lacks a url or body, its content_type is empty or holds a CR or LF, the
 * outbox is draining, or out of memory (the caller keeps the job pending in its store
 * either way).
 */
int outbox_enqueue(struct outbox *ob, const struct outbox_job *job);

/* Counters and gauges at this moment. */
void outbox_stats(const struct outbox *ob, struct outbox_stats *out);

/*
 * Starts shutdown: no new transfers start and outbox_enqueue refuses. Transfers in flight
 * get up to wait_ms to finish (their outcomes reported as usual); then the rest are
 * abandoned and reported as OUTBOX_RETRY_SCHEDULED ("abandoned at shutdown",
 * next_attempt_at now), as their outcome is unknown. on_drained (may be NULL) then runs
 * once on the loop, never inside this call; the caller typically breaks its loop there
 * and calls outbox_free. Jobs still queued are not reported: they were never attempted
 * beyond what the caller already knows. Returns -1 when already draining.
 */
int outbox_drain(struct outbox *ob, int64_t wait_ms, outbox_drained_fn on_drained, void *arg);

/*
 * Frees the outbox: abandons transfers still in flight (reported as by outbox_drain),
 * removes every handle, frees queued jobs and calls curl_multi_cleanup, all while the
 * event_base is still alive; free the base after. NULL is a no-op. Never call it from an
 * outbox callback.
 */
void outbox_free(struct outbox *ob);

/* Unix epoch milliseconds (CLOCK_REALTIME): the clock of not_before and next_attempt_at. */
int64_t outbox_unix_ms(void);

/* "sent", "retry_scheduled", "failed", "vetoed". */
const char *outbox_outcome_name(enum outbox_outcome outcome);

#endif
