/*
 * test_serve: `hotline serve` end to end, as real processes and real servers on loopback.
 *
 * Each test starts the built binary (HOTLINE_BINARY) on an ephemeral port
 * (HOTLINE_LISTEN=127.0.0.1:0; the test reads `event=listening addr=...` from its stderr),
 * pointed at a mock Twilio API (mock_gateway, a real HTTP server on its own thread) and at
 * a fresh data folder. Webhooks are sent with libcurl and signed with twilio_signature
 * exactly as Twilio signs them; the test then looks at what reached the mock and, through
 * a read-only SQLite connection, at what was stored.
 *
 * Nothing asserts a timing: every wait polls a condition with a generous timeout (the
 * sanitizer build is slow), and "nothing else happened" is shown by ordering (a later
 * webhook's reply arrives and the count is still exact) or by the store's contents.
 * Every test ends with SIGTERM and expects exit status 0.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "hotline/form.h"
#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/staff.h"
#include "hotline/twilio.h"
#include "mock_gateway.h"

#include "service_fixture.h"

/* ---- tests ---- */

static void test_signed_webhook_gets_one_reply(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    const char *text = "do you take insurance?";
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, text);

    wait_mock(fx, 1);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_int_equal(mock_gateway_count(fx->mg), 1);
    assert_send_request(fx, 0, TEXTER, expected_reply(text));
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound"), 1);
    assert_int_equal(db_int(fx, "SELECT attempts FROM jobs"), 1);

    struct mock_request r;
    assert_int_equal(mock_gateway_request(fx->mg, 0, &r), 0);
    char *stored = db_text(fx, "SELECT gateway_sid FROM jobs");
    assert_non_null(stored);
    assert_non_null(r.response_sid);
    assert_string_equal(stored, r.response_sid);
    free(stored);
    mock_request_clear(&r);

    stop_ok(fx);
    /* Privacy: the log has the masked number, never the number or the words. */
    char *err = tu_read_file(fx->err_path, NULL);
    assert_non_null(err);
    assert_null(strstr(err, TEXTER));
    assert_null(strstr(err, text));
    assert_non_null(strstr(err, "+1555***1111"));
    free(err);
}

static void test_bad_or_missing_signature_is_refused(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    /* Missing, signed with another token, signed over another URL. */
    assert_int_equal(post_text(fx, sid, SID, TEXTER, HOTLINE, "hello", NULL, NULL), 403);
    assert_int_equal(
        post_text(fx, sid, SID, TEXTER, HOTLINE, "hello", "ffffffffffffffffffffffffffffffff", NULL),
        403);
    const struct form_pair p[] = {{"MessageSid", sid},
                                  {"AccountSid", SID},
                                  {"From", TEXTER},
                                  {"To", HOTLINE},
                                  {"Body", "hello"}};
    assert_int_equal(
        post_form(fx, "/webhooks/twilio/messages", p, 5, TOKEN, "https://elsewhere.example", NULL),
        403);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound"), 0);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), 0);

    /* The same text, signed: accepted, and it is the only thing the mock ever sees. */
    post_text_ok(fx, sid, TEXTER, "hello");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_int_equal(mock_gateway_count(fx->mg), 1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound"), 1);
    stop_ok(fx);
}

static void test_duplicate_gets_one_reply(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "where are you located?");
    post_text_ok(fx, sid, TEXTER, "where are you located?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    post_text_ok(fx, sid, TEXTER, "where are you located?"); /* a retry after the reply */

    /* Another texter's reply goes out after the retries: still one job per text. */
    char sid2[TWILIO_SID_LEN + 1];
    next_sid(fx, sid2);
    post_text_ok(fx, sid2, TEXTER2, "where are you located?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 2);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound"), 2);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs"), 2);
    assert_int_equal(mock_gateway_count(fx->mg), 2);
    stop_ok(fx);
}

static void test_500_500_201_delivers_once(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    start(fx);
    const char *text = "how long does detox take?";
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, text);
    wait_mock(fx, 3);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_int_equal(db_int(fx, "SELECT attempts FROM jobs"), 3);
    assert_int_equal(mock_gateway_count(fx->mg), 3);
    for (size_t i = 0; i < 3; i++)
        assert_send_request(fx, i, TEXTER, expected_reply(text));
    stop_ok(fx);
}

static void test_21610_is_not_retried(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 400, .twilio_code = 21610});
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "do you take insurance?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'failed'", 1);
    assert_int_equal(db_int(fx, "SELECT error_code FROM jobs"), 21610);
    assert_int_equal(db_int(fx, "SELECT attempts FROM jobs"), 1);
    char *reason = db_text(fx, "SELECT reason FROM jobs");
    assert_non_null(reason);
    assert_true(strlen(reason) > 0);
    free(reason);
    /* The gateway's word is remembered: the number is opted out in the store. */
    wait_db(fx, "SELECT opted_out FROM senders WHERE number = '" TEXTER "'", 1);

    /* A later text from them gets nothing; another texter's reply goes out, and the
     * mock has seen exactly one request for the first: no retry. */
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "hello?");
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER2, "do you take insurance?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_int_equal(mock_gateway_count(fx->mg), 2);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE to_number = '" TEXTER "'"), 1);
    stop_ok(fx);
}

static void test_sigkill_after_200_still_replies(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    start(fx);
    const char *text = "do you take insurance?";
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, text);
    wait_mock(fx, 1); /* the send is in flight and will never be answered */
    assert_int_equal(kill(fx->pid, SIGKILL), 0);
    assert_int_equal(reap(fx), 128 + SIGKILL);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE state = 'pending'"), 1);

    start(fx); /* the same data folder */
    wait_mock(fx, 2);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_send_request(fx, 1, TEXTER, expected_reply(text));
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound"), 1);
    stop_ok(fx);
}

/*
 * An opted-out number gets nothing but the one confirmation, even when a reply to an
 * earlier text is still queued: "hi" and then STOP, both sends stuck at the gateway, the
 * process killed; after the restart the confirmation goes out and the reply to "hi" is
 * vetoed (canceled) before it is ever sent again.
 */
static void test_opt_out_vetoes_queued_reply(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "hi");
    wait_mock(fx, 1);
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "STOP");
    wait_mock(fx, 2);
    wait_db(fx, "SELECT opted_out FROM senders WHERE number = '" TEXTER "'", 1);
    assert_int_equal(kill(fx->pid, SIGKILL), 0);
    assert_int_equal(reap(fx), 128 + SIGKILL);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE state = 'pending'"), 2);

    start(fx);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'canceled'", 1);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    wait_mock(fx, 3);
    /* What went out after the restart is the confirmation, and only it. */
    struct mock_request r;
    assert_int_equal(mock_gateway_request(fx->mg, 2, &r), 0);
    char *body = mock_request_form(&r, "Body");
    assert_non_null(body);
    assert_string_equal(body, g_replies->intents[INTENT_OPT_OUT].answer[LANG_EN]);
    free(body);
    mock_request_clear(&r);
    char *reason = db_text(fx, "SELECT reason FROM jobs WHERE state = 'canceled'");
    assert_non_null(reason);
    assert_string_equal(reason, "recipient opted out");
    free(reason);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs j JOIN inbound i ON i.id = j.inbound_id"
                                " WHERE j.state = 'canceled' AND i.body = 'hi'"),
                     1);
    stop_ok(fx);
    assert_int_equal(mock_gateway_count(fx->mg), 3);
}

static void test_status_callback_updates_job(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "do you take insurance?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    char *msid = db_text(fx, "SELECT gateway_sid FROM jobs");
    assert_non_null(msid);

    const struct form_pair delivered[] = {
        {"SmsSid", msid},  {"SmsStatus", "delivered"},  {"MessageStatus", "delivered"},
        {"To", TEXTER},    {"MessageSid", msid},        {"AccountSid", SID},
        {"From", HOTLINE}, {"ApiVersion", "2010-04-01"}};
    const size_t n = sizeof delivered / sizeof delivered[0];
    /* Unsigned: refused, nothing recorded. */
    assert_int_equal(post_form(fx, "/webhooks/twilio/status", delivered, n, NULL, NULL, NULL), 403);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM status_events"), 0);

    struct resp r;
    assert_int_equal(post_form(fx, "/webhooks/twilio/status", delivered, n, TOKEN, NULL, &r), 200);
    assert_int_equal(r.len, 0);
    resp_clear(&r);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE state = 'delivered'"), 1);

    /* A late "sent" does not move it back. */
    const struct form_pair late[] = {
        {"MessageStatus", "sent"}, {"MessageSid", msid}, {"AccountSid", SID}};
    assert_int_equal(post_form(fx, "/webhooks/twilio/status", late, 3, TOKEN, NULL, NULL), 200);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE state = 'delivered'"), 1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM status_events"), 2);
    free(msid);
    stop_ok(fx);
}

static void test_bad_requests_and_service_keeps_serving(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    struct resp r;

    /* Over 64 KiB: 413, whether the handler or evhttp sees the size first. */
    size_t big = 70 * 1024;
    char *body = malloc(big + 1);
    assert_non_null(body);
    memcpy(body, "Body=", 5);
    memset(body + 5, 'a', big - 5);
    body[big] = '\0';
    http(fx, "POST", "/webhooks/twilio/messages", body, big,
         "Content-Type: application/x-www-form-urlencoded", &r);
    assert_int_equal(r.status, 413);
    resp_clear(&r);
    free(body);
    size_t huge = 1024 * 1024;
    body = calloc(1, huge + 1);
    assert_non_null(body);
    memset(body, 'a', huge);
    http(fx, "POST", "/webhooks/twilio/messages", body, huge, "Expect:", &r);
    assert_int_equal(r.status, 413);
    resp_clear(&r);
    free(body);

    /* Signed but missing From: 400 with the reason. */
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    const struct form_pair nofrom[] = {
        {"MessageSid", sid}, {"AccountSid", SID}, {"To", HOTLINE}, {"Body", "hi"}};
    assert_int_equal(post_form(fx, "/webhooks/twilio/messages", nofrom, 4, TOKEN, NULL, &r), 400);
    assert_non_null(r.body);
    assert_non_null(strstr(r.body, "From"));
    resp_clear(&r);
    /* Not a form at all. */
    http(fx, "POST", "/webhooks/twilio/messages", "Body=%zz", 8, NULL, &r);
    assert_int_equal(r.status, 400);
    resp_clear(&r);
    http(fx, "POST", "/webhooks/twilio/messages", "{}", 2, "Content-Type: application/json", &r);
    assert_int_equal(r.status, 415);
    resp_clear(&r);
    /* Routes. */
    http(fx, "GET", "/webhooks/twilio/messages", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 405);
    resp_clear(&r);
    http(fx, "GET", "/nowhere", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_clear(&r);
    http(fx, "GET", "/healthz", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    /* Refused: another account, another number (signed: logged, 200, nothing stored). */
    next_sid(fx, sid);
    assert_int_equal(post_text(fx, sid, OTHER_SID, TEXTER, HOTLINE, "hi", TOKEN, NULL), 200);
    assert_int_equal(post_text(fx, sid, SID, TEXTER, "+15559990000", "hi", TOKEN, NULL), 200);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound"), 0);

    /* And it still serves. */
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "do you take insurance?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_int_equal(mock_gateway_count(fx->mg), 1);

    http(fx, "GET", "/metrics", NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.body);
    const char *want[] = {
        "hotline_webhooks_total{route=\"messages\",outcome=\"accepted\"} 1",
        "hotline_webhooks_total{route=\"messages\",outcome=\"too_large\"} 1",
        "hotline_webhooks_total{route=\"messages\",outcome=\"bad_request\"} 3",
        "hotline_webhooks_total{route=\"messages\",outcome=\"refused\"} 2",
        "hotline_replies_total{outcome=\"sent\"} 1",
        "hotline_outbox_queue_depth ",
        "hotline_outbox_in_flight ",
        "hotline_webhook_latency_seconds_count 1",
        "hotline_gateway_latency_seconds_count 1",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.body, want[i]))
            fail_msg("/metrics lacks \"%s\":\n%s", want[i], r.body);
    resp_clear(&r);
    stop_ok(fx);
}

static void test_local_mode_prints_the_sms(void **state)
{
    struct fx *fx = *state;
    start(fx); /* no credentials */
    char *err = tu_read_file(fx->err_path, NULL);
    assert_non_null(err);
    assert_non_null(strstr(err, "LOCAL MODE"));
    free(err);
    const char *text = "do you take insurance?";
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    struct resp r;
    /* Unsigned, as a developer's curl sends it. */
    assert_int_equal(post_text(fx, sid, SID, TEXTER, HOTLINE, text, NULL, &r), 200);
    assert_non_null(strstr(r.body, "<Response></Response>"));
    resp_clear(&r);
    wait_file_has(fx->out_path, "--- SMS to +1555***1111 (intent insurance, ");
    wait_file_has(fx->out_path, expected_reply(text));
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    assert_int_equal(mock_gateway_count(fx->mg), 0);
    stop_ok(fx);
}

static void test_sigterm_answers_and_exits_zero(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "do you take insurance?");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 1);
    stop_ok(fx);
    wait_file_has(fx->err_path, "event=stopped status=0");
    /* Stopped means stopped: nothing listens there any more. */
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s/healthz", fx->base_url);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_not_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
}

/* ---- escalations ---- */

/*
 * An urgent text pages every on-call phone (not the others), with the id and without the
 * texter's words, and the pages and the texter's emergency answer go out while the
 * gateway still holds every routine send slot: the mock holds the four FAQ replies the
 * outbox runs at once, four more replies wait in the queue, then the urgent text
 * arrives; the next requests the mock sees are the two pages and the crisis answer,
 * through the slot the outbox keeps for urgent sends, each arriving while the four held
 * replies are still unanswered.
 */
static void test_urgent_pages_before_queued_replies(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    add_staff(fx);
    for (int i = 0; i < 4; i++)
        mock_gateway_push(fx->mg, &(struct mock_response){.delay_ms = 6000});
    start(fx);
    char sid[TWILIO_SID_LEN + 1], from[32];
    for (int i = 0; i < 8; i++) {
        snprintf(from, sizeof from, "+1555000300%d", i);
        next_sid(fx, sid);
        post_text_ok(fx, sid, from, "do you take insurance?");
        if (i == 3)
            wait_mock(fx, 4);
    }
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, URGENT_TEXT);

    wait_mock(fx, 4 + 2 + 1);
    for (size_t i = 4; i < 7; i++) {
        struct mock_request r;
        assert_int_equal(mock_gateway_request(fx->mg, i, &r), 0);
        assert_int_equal(r.concurrent, 5); /* the four held replies, and this one */
        mock_request_clear(&r);
    }
    char *to6 = request_form(fx, 6, "To");
    assert_string_equal(to6, TEXTER);
    free(to6);
    char *crisis = request_form(fx, 6, "Body");
    assert_string_equal(crisis, expected_reply(URGENT_TEXT));
    free(crisis);

    char *to4 = request_form(fx, 4, "To"), *to5 = request_form(fx, 5, "To");
    assert_true((strcmp(to4, ALICE) == 0 && strcmp(to5, BOB) == 0) ||
                (strcmp(to4, BOB) == 0 && strcmp(to5, ALICE) == 0));
    free(to4);
    free(to5);
    for (size_t i = 4; i < 6; i++) {
        char *body = request_form(fx, i, "Body");
        assert_non_null(strstr(body, "URGENT"));
        assert_non_null(strstr(body, "#1"));
        assert_non_null(strstr(body, "Reply ACK 1"));
        assert_non_null(strstr(body, "possible overdose"));
        assert_non_null(strstr(body, TEXTER));
        assert_null(strstr(body, "breathing"));
        assert_true(strlen(body) <= 160);
        free(body);
    }
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 11);
    assert_int_equal(mock_gateway_count(fx->mg), 11);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE to_number = '" CAROL "'"), 0);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE kind = 'page' AND priority = 0"
                                " AND escalation_id = 1"),
                     2);
    /* The texter's own reply, as urgent as the pages. */
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE to_number = '" TEXTER "'"
                                " AND kind = 'reply' AND priority = 1 AND state = 'sent'"),
                     1);
    char *out = NULL;
    assert_int_equal(cli(fx, "escalations list --json", &out), 0);
    assert_non_null(strstr(out, "\"level\": \"urgent\""));
    assert_non_null(strstr(out, "\"state\": \"open\""));
    free(out);
    stop_ok(fx);
    char *err = tu_read_file(fx->err_path, NULL);
    assert_null(strstr(err, TEXTER));
    assert_null(strstr(err, ALICE));
    assert_null(strstr(err, "breathing"));
    free(err);
}

/*
 * With a one-second re-page interval, pages repeat until alice texts "ack 1" from her
 * phone; she gets a confirmation and nothing else (a staff phone is never answered as a
 * texter), and the pages stop. After a SIGKILL and a restart every page and the
 * acknowledgment are in the escalation log, once; the restarted service appends to it.
 */
static void test_repage_until_ack_by_sms(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    env_set(fx, "HOTLINE_REPAGE_SECONDS", "1");
    add_staff(fx);
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, URGENT_TEXT);
    wait_db_at_least(fx,
                     "SELECT count(*) FROM jobs WHERE kind = 'page' AND escalation_id = 1"
                     " AND state = 'sent'",
                     6);

    next_sid(fx, sid);
    post_text_ok(fx, sid, ALICE, "  aCk   1 ");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE body = 'ACK 1 ok' AND state = 'sent'", 1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations WHERE state = 'acknowledged'"
                                " AND acked_by = 'alice'"),
                     1);
    int64_t pages = db_int(fx, "SELECT count(*) FROM jobs WHERE escalation_id = 1");
    sleep_ms(3000); /* three re-page intervals */
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE escalation_id = 1"), pages);
    /* alice was treated as staff: her text is marked, no texter reply, no sender row. */
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound WHERE staff = 'alice'"), 1);
    assert_int_equal(
        db_int(fx, "SELECT count(*) FROM jobs WHERE to_number = '" ALICE "' AND kind = 'reply'"),
        0);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM senders WHERE number = '" ALICE "'"), 0);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations"), 1);

    /* An unknown escalation gets an answer too. */
    next_sid(fx, sid);
    post_text_ok(fx, sid, BOB, "ACK 99");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE body = 'no open escalation 99'", 1);

    assert_int_equal(kill(fx->pid, SIGKILL), 0);
    assert_int_equal(reap(fx), 128 + SIGKILL);
    /* After the restart, every page that was created is in the log, and so is the
     * acknowledgment: the start exports what the kill left unexported, once. */
    start(fx);
    assert_int_equal(log_count(fx, "\"event\":\"opened\"", 1), 1);
    assert_int_equal(log_count_now(fx, "\"event\":\"paged\"") +
                         log_count_now(fx, "\"event\":\"re-paged\""),
                     (int)db_int(fx, "SELECT count(*) FROM jobs WHERE escalation_id = 1"));
    assert_int_equal(log_count(fx, "\"event\":\"acknowledged\"", 1), 1);
    assert_int_equal(log_count(fx, "\"staff\":\"alice\",\"via\":\"sms\"", 1), 1);

    cli_ok(fx, "escalations close 1 --by bob");
    assert_int_equal(log_count(fx, "\"event\":\"closed\"", 1), 1);
    assert_int_equal(log_count(fx, "\"event\":\"opened\"", 1), 1);
    char path[700];
    snprintf(path, sizeof path, "%s/escalations.jsonl", fx->data);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    stop_ok(fx);
}

/*
 * Two fallbacks in a row open a standard escalation, paged once (no re-page even with a
 * one-second interval); staff commands work while the service runs; an urgent text from
 * the same texter raises it and pages; a further urgent text joins (no second opening).
 */
static void test_standard_escalation_raise_and_join(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    env_set(fx, "HOTLINE_REPAGE_SECONDS", "1");
    start(fx);     /* nobody in the directory yet */
    add_staff(fx); /* while it runs */
    cli_ok(fx, "staff on-call bob off");
    char *out = NULL;
    assert_int_equal(cli(fx, "staff list", &out), 0);
    assert_non_null(strstr(out, "alice"));
    assert_non_null(strstr(out, ALICE));
    free(out);

    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "zxqv blorp");
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "qwzx flarb");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE kind = 'page' AND state = 'sent'", 1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations WHERE level = 'standard'"), 1);
    char *to = db_text(fx, "SELECT to_number FROM jobs WHERE kind = 'page'");
    assert_string_equal(to, ALICE);
    free(to);
    char *body = db_text(fx, "SELECT body FROM jobs WHERE kind = 'page'");
    assert_non_null(strstr(body, "#1"));
    assert_non_null(strstr(body, "ACK 1"));
    assert_null(strstr(body, "flarb"));
    free(body);
    sleep_ms(2500);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE kind = 'page'"), 1);

    /* The command line acknowledges while the service runs. */
    cli_ok(fx, "escalations ack 1 --by alice");
    assert_int_equal(cli(fx, "escalations ack 1 --by nobody", NULL), 1);
    assert_int_equal(log_count(fx, "\"event\":\"acknowledged\"", 1), 1);

    cli_ok(fx, "staff on-call bob on");
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, URGENT_TEXT);
    wait_db_at_least(fx, "SELECT count(*) FROM jobs WHERE kind = 'page' AND state = 'sent'", 3);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations WHERE level = 'urgent'"
                                " AND state = 'open'"),
                     1);
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "i want to kill myself");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE kind = 'reply' AND state = 'sent'", 4);
    cli_ok(fx, "escalations ack 1 --by bob");
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations"), 1);
    assert_int_equal(log_count(fx, "\"event\":\"opened\"", 1), 1);
    assert_int_equal(log_count(fx, "\"event\":\"raised\"", 1), 1);
    assert_int_equal(log_count(fx, "\"event\":\"joined\"", 1), 1);
    assert_int_equal(log_count(fx, "\"event\":\"acknowledged\"", 2), 2);

    assert_int_equal(cli(fx, "escalations list", &out), 0);
    assert_non_null(strstr(out, "acknowledged"));
    free(out);
    assert_int_equal(cli(fx, "escalations show 1", &out), 0);
    assert_non_null(strstr(out, "flarb"));
    free(out);
    cli_ok(fx, "staff remove carol");
    stop_ok(fx);
}

/* ---- part 2: holding, relays, the staff API and the event stream ---- */
/*
 * After ACK by SMS, alice holds the texter: the next text is relayed to her phone and not
 * auto-answered; "R n text" from her phone reaches the texter from the hotline number;
 * `hotline escalations reply` too; the API refuses a missing or a wrong token and serves
 * the list urgent first; a view through the API and `show` are logged; closing hands the
 * texter back. Nothing of the texter's words reaches stderr.
 */
static void test_hold_relay_reply_and_api(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    char alice_token[STAFF_TOKEN_SIZE], bob_token[STAFF_TOKEN_SIZE];
    add_with_token(fx, "staff add alice --phone " ALICE " --on-call", alice_token);
    add_with_token(fx, "staff add bob --phone " BOB, bob_token);
    start(fx);
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, URGENT_TEXT);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 2); /* reply + page */
    next_sid(fx, sid);
    post_text_ok(fx, sid, ALICE, "ACK 1");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE body = 'ACK 1 ok' AND state = 'sent'", 1);

    /* Relayed, not answered. */
    size_t before = mock_gateway_count(fx->mg);
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "do you take insurance?");
    wait_mock(fx, before + 1);
    char *to = request_form(fx, before, "To"), *body = request_form(fx, before, "Body");
    assert_string_equal(to, ALICE);
    assert_string_equal(body, "#1 " TEXTER ": do you take insurance?");
    free(to);
    free(body);

    /* R 1 from alice's phone: exactly that text to the texter, from the hotline. */
    next_sid(fx, sid);
    post_text_ok(fx, sid, ALICE, "R 1 This is Alice at the center. Are you safe right now?");
    wait_mock(fx, before + 2);
    assert_send_request(fx, before + 1, TEXTER,
                        "This is Alice at the center. Are you safe right now?");
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE to_number = '" TEXTER "'"
                                " AND kind = 'reply'"),
                     2); /* the first emergency reply, and alice's; no auto-reply since */

    /* The command line answers too, through the running service. */
    cli_ok(fx, "escalations reply 1 'Bob here too' --by bob");
    wait_mock(fx, before + 3);
    assert_send_request(fx, before + 2, TEXTER, "Bob here too");

    /* The API. */
    struct resp r;
    api(fx, "GET", "/staff/escalations", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    api(fx, "GET", "/staff/escalations", "hlt_0000000000000000000000000000000000000000", NULL, NULL,
        &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER2, "can I talk to a person?"); /* a standard one, #2 */
    wait_db(fx, "SELECT count(*) FROM escalations", 2);
    api(fx, "GET", "/staff/escalations", bob_token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char *first = strstr(r.body, "\"id\":1"), *second = strstr(r.body, "\"id\":2");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second); /* urgent first */
    resp_clear(&r);
    api(fx, "GET", "/staff/escalations/1", bob_token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "do you take insurance?"));
    /* Each staff reply says who wrote it: by SMS, and from the command line. */
    assert_non_null(
        strstr(r.body, "\"text\":\"This is Alice at the center. Are you safe right now?\""));
    assert_non_null(strstr(r.body, "\"by\":\"alice\""));
    assert_non_null(strstr(r.body, "\"by\":\"bob\""));
    resp_clear(&r);
    assert_int_equal(log_count(fx, "\"event\":\"viewed\"", 1), 1);
    assert_int_equal(log_count(fx, "\"staff\":\"bob\",\"via\":\"api\"", 1), 1);
    api(fx, "GET", "/staff/escalations/99", bob_token, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_clear(&r);
    api(fx, "POST", "/staff/escalations/2/reply", bob_token, "{\"text\": \"Hi, this is Bob\"}",
        "application/json", &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE body = 'Hi, this is Bob' AND state = 'sent'", 1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE body = 'Hi, this is Bob' AND"
                                " staff = 'bob'"),
                     1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations WHERE id = 2"
                                " AND acked_by = 'bob'"),
                     1);
    char *out = NULL;
    assert_int_equal(cli(fx, "escalations show 1 --by alice", &out), 0);
    free(out);
    assert_int_equal(log_count(fx, "\"event\":\"viewed\"", 2), 2);

    /* Close (API) hands the texter back: the next text gets the auto-reply. */
    api(fx, "POST", "/staff/escalations/1/close", alice_token, "", NULL, &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, "do you take insurance?");
    wait_db(fx,
            "SELECT count(*) FROM jobs WHERE to_number = '" TEXTER "' AND kind = 'reply'"
            " AND staff IS NULL AND state = 'sent'",
            2);
    char *faq = db_text(fx, "SELECT body FROM jobs WHERE to_number = '" TEXTER "' AND"
                            " priority = 10 ORDER BY id DESC LIMIT 1");
    assert_string_equal(faq, expected_reply("do you take insurance?"));
    free(faq);
    assert_int_equal(log_count(fx, "\"event\":\"relayed\"", 1), 1);
    assert_int_equal(log_count(fx, "\"event\":\"replied\"", 3), 3);
    assert_int_equal(log_count(fx, "\"event\":\"closed\"", 1), 1);
    assert_int_equal(log_count(fx, "Are you safe", 0), 0);

    /* /healthz: healthy, and says nobody is on call once alice goes off call. */
    api(fx, "GET", "/healthz", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "nobody is on call"));
    resp_clear(&r);
    cli_ok(fx, "staff on-call alice off");
    api(fx, "GET", "/healthz", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "nobody is on call"));
    resp_clear(&r);

    stop_ok(fx);
    char *err = tu_read_file(fx->err_path, NULL);
    assert_null(strstr(err, TEXTER));
    assert_null(strstr(err, "take insurance"));
    assert_null(strstr(err, "Are you safe"));
    assert_null(strstr(err, alice_token));
    free(err);
}

/* The event stream: a bad token gets 401; a good one gets the "opened" and "paged" events
 * of an urgent text within a second of its webhook's answer. */
static void test_event_stream(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    char token[STAFF_TOKEN_SIZE];
    add_with_token(fx, "staff add alice --phone " ALICE " --on-call", token);
    start(fx);
    char buf[8192] = "";
    int bad = sse_open(fx, "hlt_nope");
    assert_true(sse_wait(bad, buf, sizeof buf, "\r\n\r\n", WAIT_MS));
    assert_non_null(strstr(buf, " 401 "));
    close(bad);

    buf[0] = '\0';
    int fd = sse_open(fx, token);
    assert_true(sse_wait(fd, buf, sizeof buf, "hotline escalation events", WAIT_MS));
    assert_non_null(strstr(buf, "text/event-stream"));
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, URGENT_TEXT);
    int64_t t0 = now_ms();
    assert_true(sse_wait(fd, buf, sizeof buf, "\"event\":\"paged\"", 1000));
    assert_true(now_ms() - t0 <= 1000);
    assert_non_null(strstr(buf, "data: {\"time\""));
    assert_non_null(strstr(buf, "\"event\":\"opened\""));
    assert_null(strstr(buf, "breathing"));
    /* An acknowledgment from the command line, while the service runs, reaches the
     * stream too (the service exports the CLI's events and tells its live views). */
    assert_null(strstr(buf, "\"event\":\"acknowledged\""));
    cli_ok(fx, "escalations ack 1 --by alice");
    assert_true(sse_wait(fd, buf, sizeof buf, "\"via\":\"cli\"", WAIT_MS));
    assert_non_null(strstr(buf, "\"event\":\"acknowledged\""));
    assert_null(strstr(buf, "\"seq\""));
    /* ...and the log file gets it exactly once. */
    char log[700];
    snprintf(log, sizeof log, "%s/escalations.jsonl", fx->data);
    char *text = NULL;
    for (int waited = 0; waited < WAIT_MS; waited += 20) {
        free(text);
        text = tu_read_file(log, NULL);
        if (text && strstr(text, "\"event\":\"acknowledged\""))
            break;
        sleep_ms(20);
    }
    assert_non_null(text);
    const char *first = strstr(text, "\"event\":\"acknowledged\"");
    assert_non_null(first);
    assert_null(strstr(first + 1, "\"event\":\"acknowledged\""));
    free(text);
    close(fd); /* the server cleans up; it still stops cleanly */
    sleep_ms(100);
    stop_ok(fx);
}

/* The JSON text of the i-th request at the chat mock, checked as a Slack webhook call. */
static char *chat_request_text(struct fx *fx, size_t i)
{
    struct mock_request r;
    assert_int_equal(mock_gateway_request(fx->chat, i, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/hooks/chat/T0SECRET");
    const char *ct = mock_request_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_string_equal(ct, "application/json");
    assert_null(mock_request_header(&r, "Authorization"));
    json_error_t jerr;
    json_t *o = json_loadb(r.body, r.body_len, 0, &jerr);
    if (!o)
        fail_msg("chat body is not JSON: %s", jerr.text);
    assert_int_equal(json_object_size(o), 1);
    const char *t = json_string_value(json_object_get(o, "text"));
    assert_non_null(t);
    char *text = strdup(t);
    json_decref(o);
    mock_request_clear(&r);
    return text;
}

/*
 * HOTLINE_STAFF_WEBHOOK_URL: an urgent text is posted to the chat webhook as Slack-style
 * JSON (level, id, need, masked number; never the texter's words or full number), after
 * a 500 from the chat service it is retried, and the pages go out regardless; the
 * acknowledgment by SMS is posted too. The URL (a secret) never reaches the logs.
 */
static void test_chat_webhook(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    fx->chat = mock_gateway_start();
    mock_gateway_set_default(
        fx->chat,
        &(struct mock_response){.status = 200, .body = "ok", .content_type = "text/plain"});
    mock_gateway_push(fx->chat, &(struct mock_response){.status = 500, .body = "oops"});
    char url[256];
    snprintf(url, sizeof url, "%s/hooks/chat/T0SECRET", mock_gateway_url(fx->chat));
    env_set(fx, "HOTLINE_STAFF_WEBHOOK_URL", url);
    add_staff(fx);
    start(fx);

    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, TEXTER, URGENT_TEXT);
    /* The pages do not wait for the chat service (which failed its first attempt). */
    wait_db(fx, "SELECT count(*) FROM jobs WHERE kind = 'page' AND state = 'sent'", 2);
    if (mock_gateway_wait(fx->chat, 2, WAIT_MS) != 0)
        fail_msg("the chat mock got %zu requests, waited for 2", mock_gateway_count(fx->chat));
    char *first = chat_request_text(fx, 0), *retry = chat_request_text(fx, 1);
    assert_string_equal(first, retry); /* the same message, retried after the 500 */
    assert_non_null(strstr(first, "URGENT #1 opened: possible overdose, texter +1555***1111"));
    assert_non_null(strstr(first, "URGENT #1 paged alice, bob: possible overdose"));
    assert_null(strstr(first, TEXTER));
    assert_null(strstr(first, "breathing"));
    free(first);
    free(retry);

    next_sid(fx, sid);
    post_text_ok(fx, sid, ALICE, "ACK 1");
    if (mock_gateway_wait(fx->chat, 3, WAIT_MS) != 0)
        fail_msg("the chat mock got %zu requests, waited for 3", mock_gateway_count(fx->chat));
    char *ack = chat_request_text(fx, 2);
    assert_string_equal(ack, "URGENT #1 acknowledged by alice (sms): possible overdose, texter "
                             "+1555***1111");
    free(ack);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE body = 'ACK 1 ok' AND state = 'sent'", 1);
    stop_ok(fx);
    assert_int_equal(mock_gateway_count(fx->chat), 3);
    char *err = tu_read_file(fx->err_path, NULL);
    assert_non_null(strstr(err, "chat_webhook=on"));
    assert_non_null(strstr(err, "event=chat_webhook message=1 outcome=retry"));
    assert_null(strstr(err, "T0SECRET"));
    assert_null(strstr(err, TEXTER));
    assert_null(strstr(err, "breathing"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_webhook_gets_one_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_or_missing_signature_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_gets_one_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_500_201_delivers_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_21610_is_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_after_200_still_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opt_out_vetoes_queued_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_callback_updates_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_and_service_keeps_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_local_mode_prints_the_sms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_answers_and_exits_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urgent_pages_before_queued_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repage_until_ack_by_sms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_standard_escalation_raise_and_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_relay_reply_and_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chat_webhook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
