/*
 * test_drill_outage: the gateway outage drill (issue 7, "Faults"). `hotline serve` runs
 * against the mock gateway while the mock fails every send, then recovers:
 *
 *   - test_outage_500: the mock answers 500 for DRILL_OUTAGE_MS (3000; drills/outage.sh:
 *     60000). Texts keep arriving and are acknowledged (the store is fine); the outbox
 *     retries with backoff. After recovery every reply and page is delivered exactly once,
 *     and the pages before the replies queued with them: at most the transfers already
 *     in flight when the gateway came back (4 routine slots) may be replies (and a
 *     page whose request was hung in flight then goes when that request times out).
 *   - test_outage_hang: the mock accepts the connection and never answers, for
 *     DRILL_HANG_MS (5000; drills/outage.sh: 60000). The outbox's request timeout (15 s)
 *     must end the hung transfers and retry them; then the same checks.
 *
 * Each text comes from a texter of its own; one in DRILL_URGENT_EVERY (3) is urgent and
 * pages the two on-call phones. One "DRILL outage ..." line per test with the figures:
 * attempts refused during the outage, time from recovery to the last page and to the
 * last reply, replies delivered before the last page.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "drill.h"

#define FAQ_TEXT "do you take insurance?"
#define MAX_IN_FLIGHT 4       /* routine sends at once: the outbox's 5, less the urgent slot */
#define SEND_TIMEOUT_MS 15000 /* the outbox's default request timeout */

static bool is_staff(const char *to)
{
    return strcmp(to, ALICE) == 0 || strcmp(to, BOB) == 0;
}

/* Sends n texts (one in urgent_every urgent), each must be acknowledged at once. */
static void send_texts(struct fx *fx, unsigned first, int n, int urgent_every, int *urgent)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    for (int i = 0; i < n; i++) {
        char sid[TWILIO_SID_LEN + 1], from[16];
        message_sid(sid, first + (unsigned)i);
        snprintf(from, sizeof from, "+1556%07u", first + (unsigned)i);
        bool u = i % urgent_every == 0;
        *urgent += u;
        long st = drill_post_text(fx, c, sid, from, u ? URGENT_TEXT : FAQ_TEXT, 10000);
        if (st != 200)
            fail_msg("text %d answered %ld during the gateway outage", i, st);
        sleep_ms(20);
    }
    curl_easy_cleanup(c);
}

/*
 * The checks after recovery at recovered_ms: each texter and page once, pages first.
 * Prints the figures with the given label.
 */
static void check_after_recovery(struct fx *fx, const char *label, int texts, int urgent,
                                 int64_t outage_start, int64_t recovered_ms)
{
    wait_db_for(fx, "SELECT count(*) FROM jobs WHERE state IN ('pending', 'sending')", 0, 120000);
    size_t n = 0;
    struct drill_send *s = drill_sends(fx, &n);
    size_t refused = 0, hung = 0, replies = 0, pages = 0;
    int64_t last_page = 0, last_reply = 0, first_ok = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = s[i].status >= 200 && s[i].status < 300;
        if (!ok) {
            refused += s[i].status != 0;
            hung += s[i].status == 0;
            continue;
        }
        if (!first_ok)
            first_ok = s[i].ms;
        if (s[i].ms < recovered_ms)
            fail_msg("a send was accepted before the gateway recovered");
        if (is_staff(s[i].to)) {
            pages++;
            last_page = s[i].ms;
        } else {
            replies++;
            last_reply = s[i].ms;
        }
    }
    /* Pages first: no reply before a page, but for the transfers in flight at the
     * recovery. A page whose request hung at the mock within the request timeout (15 s)
     * before the recovery was still in flight then: it goes when that attempt times out,
     * and the replies behind it may pass (in_flight_pages). */
    int64_t last_queued_page = 0;
    size_t in_flight_pages = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].status < 200 || s[i].status > 299 || !is_staff(s[i].to))
            continue;
        bool was_hung = false;
        for (size_t j = 0; j < n && !was_hung; j++)
            was_hung = s[j].status == 0 && s[j].ms > recovered_ms - SEND_TIMEOUT_MS - 1000 &&
                       strcmp(s[j].to, s[i].to) == 0 && strcmp(s[j].body, s[i].body) == 0;
        in_flight_pages += was_hung;
        if (!was_hung && s[i].ms > last_queued_page)
            last_queued_page = s[i].ms;
    }
    size_t replies_before_last_page = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].status >= 200 && s[i].status < 300 && !is_staff(s[i].to) &&
            s[i].ms < last_queued_page)
            replies_before_last_page++;
    /* Exactly once: no (To, Body) accepted twice. */
    drill_sends_sort(s, n);
    size_t dups = 0;
    for (size_t i = 1; i < n; i++)
        dups += s[i].status >= 200 && s[i].status < 300 && s[i - 1].status >= 200 &&
                s[i - 1].status < 300 && strcmp(s[i].to, s[i - 1].to) == 0 &&
                strcmp(s[i].body, s[i - 1].body) == 0;
    drill_sends_free(s, n);
    int64_t timeouts = stderr_count(fx, "timed out");
    printf("DRILL outage kind=%s outage_ms=%lld texts=%d urgent=%d refused_attempts=%zu "
           "hung_attempts=%zu timeouts_logged=%lld replies=%zu pages=%zu duplicates=%zu "
           "first_delivery_after_recovery_ms=%lld last_page_after_recovery_ms=%lld "
           "last_reply_after_recovery_ms=%lld replies_before_last_queued_page=%zu "
           "pages_in_flight_at_recovery=%zu\n",
           label, (long long)(recovered_ms - outage_start), texts, urgent, refused, hung,
           (long long)timeouts, replies, pages, dups, (long long)(first_ok - recovered_ms),
           (long long)(last_page - recovered_ms), (long long)(last_reply - recovered_ms),
           replies_before_last_page, in_flight_pages);
    fflush(stdout);
    assert_int_equal(replies, (size_t)texts);
    assert_int_equal(pages, (size_t)urgent * 2);
    assert_int_equal(dups, 0);
    assert_true(replies_before_last_page <= MAX_IN_FLIGHT);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE state != 'sent'"), 0);
}

static void start_with_staff(struct fx *fx)
{
    cli_ok(fx, "staff add alice --phone " ALICE " --on-call");
    cli_ok(fx, "staff add bob --phone " BOB " --on-call");
    start(fx);
}

static void test_outage_500(void **state)
{
    struct fx *fx = *state;
    long outage_ms = drill_env_int("DRILL_OUTAGE_MS", 3000);
    int texts = (int)drill_env_int("DRILL_TEXTS", 24);
    int every = (int)drill_env_int("DRILL_URGENT_EVERY", 3);
    start_with_staff(fx);
    mock_gateway_set_default(fx->mg, &(struct mock_response){.status = 500});
    int64_t t0 = now_ms();
    int urgent = 0;
    send_texts(fx, 1, texts, every, &urgent);
    int64_t rest = t0 + outage_ms - now_ms();
    if (rest > 0)
        sleep_ms((long)rest);
    int64_t recovered = now_ms();
    mock_gateway_set_default(fx->mg, NULL);
    check_after_recovery(fx, "500", texts, urgent, t0, recovered);
    assert_int_equal(stop(fx), 0);
}

static void test_outage_hang(void **state)
{
    struct fx *fx = *state;
    long hang_ms = drill_env_int("DRILL_HANG_MS", 5000);
    int texts = (int)drill_env_int("DRILL_TEXTS", 24);
    int every = (int)drill_env_int("DRILL_URGENT_EVERY", 3);
    start_with_staff(fx);
    mock_gateway_set_default(fx->mg, &(struct mock_response){.hang = true});
    int64_t t0 = now_ms();
    int urgent = 0;
    send_texts(fx, 1001, texts, every, &urgent);
    int64_t rest = t0 + hang_ms - now_ms();
    if (rest > 0)
        sleep_ms((long)rest);
    int64_t recovered = now_ms();
    mock_gateway_set_default(fx->mg, NULL);
    check_after_recovery(fx, "hang", texts, urgent, t0, recovered);
    /* The hung transfers ended by the outbox's timeout and were retried. */
    assert_true(stderr_count(fx, "outcome=retry") > 0);
    assert_true(stderr_count(fx, "timed out") > 0);
    assert_int_equal(stop(fx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outage_500, drill_setup, drill_teardown),
        cmocka_unit_test_setup_teardown(test_outage_hang, drill_setup, drill_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
