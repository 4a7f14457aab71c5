/*
 * metrics: the service's counters and histograms, and their Prometheus text exposition
 * for GET /metrics.
 *
 * One struct, owned by the service and touched only on the loop thread (the server
 * counts webhooks, the outbox side counts replies), so nothing here needs atomics or
 * locks. Gauges (queue depth, in flight, store figures) are sampled by the caller when
 * it renders, so they are never stale. Latencies are recorded in seconds into fixed
 * buckets chosen for what each one measures: a webhook is answered after one group
 * commit (milliseconds), a gateway call crosses the internet (tens of ms to seconds).
 */
#ifndef HOTLINE_METRICS_H
#define HOTLINE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum metrics_route { METRICS_ROUTE_MESSAGES, METRICS_ROUTE_STATUS, METRICS_ROUTE_COUNT };

enum metrics_webhook_outcome {
    METRICS_WEBHOOK_ACCEPTED,      /* stored (a status callback: recorded) */
    METRICS_WEBHOOK_DUPLICATE,     /* MessageSid already stored: 200, nothing else */
    METRICS_WEBHOOK_BAD_SIGNATURE, /* 403 */
    METRICS_WEBHOOK_BAD_REQUEST,   /* 400/415: malformed form or missing fields */
    METRICS_WEBHOOK_TOO_LARGE,     /* 413 */
    METRICS_WEBHOOK_REFUSED,       /* another account or number: logged, not answered */
    METRICS_WEBHOOK_ERROR,         /* the store failed: 500, the gateway retries */
    METRICS_WEBHOOK_OUTCOME_COUNT
};

enum metrics_reply_outcome {
    METRICS_REPLY_SENT,   /* the gateway accepted it */
    METRICS_REPLY_RETRY,  /* an attempt failed and another is scheduled */
    METRICS_REPLY_FAILED, /* permanent error or retry window exhausted */
    METRICS_REPLY_VETOED, /* not sent: the recipient opted out */
    METRICS_REPLY_OUTCOME_COUNT
};

/* The conversation's notable turns (conversation.h's flags, one counter each). */
#define METRICS_CONVERSATION_EVENTS 9

#define METRICS_BUCKETS_MAX 16

struct metrics_histogram {
    const double *bounds; /* upper bounds in seconds, ascending; +Inf is implicit */
    size_t nbounds;
    uint64_t counts[METRICS_BUCKETS_MAX]; /* per bucket, not cumulative */
    uint64_t count;
    double sum;
};

struct metrics {
    uint64_t webhooks[METRICS_ROUTE_COUNT][METRICS_WEBHOOK_OUTCOME_COUNT];
    uint64_t replies[METRICS_REPLY_OUTCOME_COUNT];
    uint64_t conversation[METRICS_CONVERSATION_EVENTS]; /* by bit of conversation_flag */
    struct metrics_histogram webhook_latency;           /* request handed to us -> 200 sent */
    struct metrics_histogram gateway_latency;           /* one Messages API attempt */
};

/* Sampled at render time. */
struct metrics_gauges {
    size_t queue_depth;      /* outbox jobs waiting */
    size_t in_flight;        /* outbox transfers running */
    size_t webhooks_pending; /* webhooks waiting for their commit */
    int store_healthy;       /* 1 or 0 */
    uint64_t store_commits;  /* transactions committed */
    uint64_t store_largest_group;
    uint64_t store_queued; /* operations waiting for the writer */
};

/* Zeroes m and sets up the histograms' buckets. */
void metrics_init(struct metrics *m);

void metrics_webhook(struct metrics *m, enum metrics_route route,
                     enum metrics_webhook_outcome outcome);
void metrics_reply(struct metrics *m, enum metrics_reply_outcome outcome);
/* Counts each conversation_flag bit set in flags. */
void metrics_conversation(struct metrics *m, unsigned flags);
void metrics_observe(struct metrics_histogram *h, double seconds);

/* Appends the Prometheus text format (version 0.0.4) to out. 0, or -1 when out of memory. */
int metrics_render(const struct metrics *m, const struct metrics_gauges *g, struct evbuffer *out);

const char *metrics_webhook_outcome_name(enum metrics_webhook_outcome outcome);

#endif
