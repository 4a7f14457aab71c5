/*
 * metrics: counters, histograms and the Prometheus text exposition (see metrics.h).
 *
 * Kept apart from the server so that the outbox side can count replies and gateway
 * latency without knowing HTTP, and so that the exposition format lives in one place.
 */
#include "hotline/metrics.h"

#include <string.h>

#include <event2/buffer.h>

static const double webhook_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5};
static const double gateway_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,  5,     10,   15,  30};

static const char *const route_names[METRICS_ROUTE_COUNT] = {"messages", "status"};
static const char *const webhook_names[METRICS_WEBHOOK_OUTCOME_COUNT] = {
    "accepted", "duplicate", "bad_signature", "bad_request", "too_large", "refused", "error"};
static const char *const reply_names[METRICS_REPLY_OUTCOME_COUNT] = {"sent", "retry", "failed",
                                                                     "vetoed"};

_Static_assert(sizeof webhook_bounds / sizeof webhook_bounds[0] < METRICS_BUCKETS_MAX,
               "webhook buckets");
_Static_assert(sizeof gateway_bounds / sizeof gateway_bounds[0] < METRICS_BUCKETS_MAX,
               "gateway buckets");

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof *m);
    m->webhook_latency.bounds = webhook_bounds;
    m->webhook_latency.nbounds = sizeof webhook_bounds / sizeof webhook_bounds[0];
    m->gateway_latency.bounds = gateway_bounds;
    m->gateway_latency.nbounds = sizeof gateway_bounds / sizeof gateway_bounds[0];
}

void metrics_webhook(struct metrics *m, enum metrics_route route,
                     enum metrics_webhook_outcome outcome)
{
    if ((unsigned)route < METRICS_ROUTE_COUNT && (unsigned)outcome < METRICS_WEBHOOK_OUTCOME_COUNT)
        m->webhooks[route][outcome]++;
}

void metrics_reply(struct metrics *m, enum metrics_reply_outcome outcome)
{
    if ((unsigned)outcome < METRICS_REPLY_OUTCOME_COUNT)
        m->replies[outcome]++;
}

void metrics_conversation(struct metrics *m, unsigned flags)
{
    for (int e = 0; e < METRICS_CONVERSATION_EVENTS; e++)
        if (flags & (1u << e))
            m->conversation[e]++;
}

void metrics_observe(struct metrics_histogram *h, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    size_t i = 0;
    while (i < h->nbounds && seconds > h->bounds[i])
        i++;
    h->counts[i]++; /* i == nbounds: the +Inf bucket */
    h->count++;
    h->sum += seconds;
}

const char *metrics_webhook_outcome_name(enum metrics_webhook_outcome outcome)
{
    return (unsigned)outcome < METRICS_WEBHOOK_OUTCOME_COUNT ? webhook_names[outcome] : "unknown";
}

static int render_histogram(struct evbuffer *out, const char *name, const char *help,
                            const struct metrics_histogram *h)
{
    int rc = 0;
    rc |= evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name) < 0;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h->nbounds; i++) {
        cumulative += h->counts[i];
        rc |= evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
                                  (unsigned long long)cumulative) < 0;
    }
    rc |= evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                              name, (unsigned long long)h->count, name, h->sum, name,
                              (unsigned long long)h->count) < 0;
    return rc ? -1 : 0;
}

int metrics_render(const struct metrics *m, const struct metrics_gauges *g, struct evbuffer *out)
{
    int rc = 0;
    rc |= evbuffer_add_printf(out, "# HELP hotline_webhooks_total Webhooks by route and outcome.\n"
                                   "# TYPE hotline_webhooks_total counter\n") < 0;
    for (int r = 0; r < METRICS_ROUTE_COUNT; r++)
        for (int o = 0; o < METRICS_WEBHOOK_OUTCOME_COUNT; o++)
            rc |= evbuffer_add_printf(
                      out, "hotline_webhooks_total{route=\"%s\",outcome=\"%s\"} %llu\n",
                      route_names[r], webhook_names[o], (unsigned long long)m->webhooks[r][o]) < 0;
    rc |= evbuffer_add_printf(out, "# HELP hotline_replies_total Send attempts by outcome.\n"
                                   "# TYPE hotline_replies_total counter\n") < 0;
    for (int o = 0; o < METRICS_REPLY_OUTCOME_COUNT; o++)
        rc |= evbuffer_add_printf(out, "hotline_replies_total{outcome=\"%s\"} %llu\n",
                                  reply_names[o], (unsigned long long)m->replies[o]) < 0;
    static const char *const conversation_names[METRICS_CONVERSATION_EVENTS] = {
        "menu_pick",      "menu_shown",  "repeat_pointer", "loop_detected", "muted",
        "budget_reached", "over_budget", "opted_out",      "opted_in"};
    rc |= evbuffer_add_printf(out, "# HELP hotline_conversation_events_total Menu choices, "
                                   "repeat pointers, loop guard and budget silences, "
                                   "opt-outs and opt-ins.\n"
                                   "# TYPE hotline_conversation_events_total counter\n") < 0;
    for (int e = 0; e < METRICS_CONVERSATION_EVENTS; e++)
        rc |=
            evbuffer_add_printf(out, "hotline_conversation_events_total{event=\"%s\"} %llu\n",
                                conversation_names[e], (unsigned long long)m->conversation[e]) < 0;
    rc |= evbuffer_add_printf(
              out,
              "# HELP hotline_outbox_queue_depth Jobs waiting to be sent.\n"
              "# TYPE hotline_outbox_queue_depth gauge\nhotline_outbox_queue_depth %zu\n"
              "# HELP hotline_outbox_in_flight Gateway requests running.\n"
              "# TYPE hotline_outbox_in_flight gauge\nhotline_outbox_in_flight %zu\n"
              "# HELP hotline_webhooks_pending Webhooks waiting for their commit.\n"
              "# TYPE hotline_webhooks_pending gauge\nhotline_webhooks_pending %zu\n"
              "# HELP hotline_store_healthy 1 when the last transaction committed.\n"
              "# TYPE hotline_store_healthy gauge\nhotline_store_healthy %d\n"
              "# HELP hotline_store_commits_total Transactions committed (one per group).\n"
              "# TYPE hotline_store_commits_total counter\nhotline_store_commits_total %llu\n"
              "# HELP hotline_store_largest_group Most operations in one transaction.\n"
              "# TYPE hotline_store_largest_group gauge\nhotline_store_largest_group %llu\n"
              "# HELP hotline_store_queued Operations waiting for the writer.\n"
              "# TYPE hotline_store_queued gauge\nhotline_store_queued %llu\n",
              g->queue_depth, g->in_flight, g->webhooks_pending, g->store_healthy,
              (unsigned long long)g->store_commits, (unsigned long long)g->store_largest_group,
              (unsigned long long)g->store_queued) < 0;
    rc |= render_histogram(out, "hotline_webhook_latency_seconds",
                           "Inbound webhook: request read to 200 sent (after the commit).",
                           &m->webhook_latency);
    rc |= render_histogram(out, "hotline_gateway_latency_seconds",
                           "One Messages API attempt: request start to completion.",
                           &m->gateway_latency);
    return rc ? -1 : 0;
}
