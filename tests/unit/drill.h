/*
 * drill: what the fault drills (tests/unit/test_drill_*.c, drills/) share on top of
 * service_fixture.
 *
 * A drill runs the real `hotline serve` binary (service_fixture's start, spawn, kill9,
 * stop) on a FIXED loopback port, so that it can be killed and restarted on the same data
 * folder while a sender keeps sending signed webhooks to the same URL, pointed at the
 * fixture's mock_gateway. Each start has its own stderr file (err.N in the fixture's
 * folder). Figures are printed on stdout as "DRILL key=value ..." lines, which the
 * scripts in drills/ collect.
 *
 * Sizes come from the environment (drill_env_int), so that the same code is a short
 * CI test and, with bigger numbers, the full drill of drills/.
 */
#ifndef HOTLINE_DRILL_H
#define HOTLINE_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "service_fixture.h"

/* A cmocka setup: service_fixture's setup for a Twilio-mode service on a fixed port
 * (credentials, HOTLINE_PUBLIC_URL, HOTLINE_FROM, HOTLINE_REPAGE_SECONDS=86400,
 * HOTLINE_LOG_LEVEL=info, HOTLINE_KEYWORD_REPLIES=self). */
int drill_setup(void **state);
/* A cmocka teardown: service_fixture's, but DRILL_KEEP=1 in the environment keeps the
 * folder (the logs) and says where. */
int drill_teardown(void **state);

/*
 * POSTs a signed Twilio inbound webhook from from (text_form) over c (reused:
 * keep-alive). Returns the HTTP status, or 0 when no answer came (refused, reset, timed
 * out after timeout_ms): a refused connection is what a drill expects while the service
 * is down.
 */
long drill_post_text(struct fx *fx, CURL *c, const char *sid, const char *from, const char *text,
                     long timeout_ms);

/* An integer from the environment, or def when unset or not a number. */
long drill_env_int(const char *name, long def);

/* One Messages API request the mock received, in arrival order. */
struct drill_send {
    char *to, *body; /* decoded form fields ("" when absent) */
    int status;      /* what the mock answered; 0 for a hung request */
    int64_t ms;      /* arrival, CLOCK_MONOTONIC ms */
};
/* Every request the mock kept so far (free with drill_sends_free). */
struct drill_send *drill_sends(struct fx *fx, size_t *n);
void drill_sends_free(struct drill_send *s, size_t n);
/* Sorts by (to, body, arrival): the sends of one message end up together. */
void drill_sends_sort(struct drill_send *s, size_t n);

#endif
