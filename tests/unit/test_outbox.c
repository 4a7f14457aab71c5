/*
 * test_outbox: the send queue against a real HTTP server on loopback (mock_gateway).
 *
 * Each test drives the outbox on its own event_base on this thread while the mock
 * answers from its own thread. run_until() turns the loop until a condition holds; its
 * 20 s deadline only stops a broken test from hanging, nothing is asserted about time
 * taken. Backoff is a few ms so retries are quick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "hotline/outbox.h"
#include "mock_gateway.h"
#include "testutil.h"

#define MAX_LOG 128
#define ACCOUNT "AC123"
#define TOKEN "tok"
#define BASIC_AUTH "Basic QUMxMjM6dG9r" /* base64("AC123:tok") */

struct logged {
    struct outbox_result r;
    char gateway_id[OUTBOX_GATEWAY_ID_SIZE];
    char reason[OUTBOX_REASON_SIZE];
};

struct fx {
    struct event_base *base;
    struct event *tick;
    struct mock_gateway *mg;
    struct outbox_config cfg;
    struct outbox *ob;

    struct logged results[MAX_LOG];
    size_t n_results;

    /* before_send */
    size_t n_before;
    int64_t before_id[MAX_LOG];
    int64_t before_mono[MAX_LOG];
    size_t max_in_flight_at_send;
    bool veto; /* refuse job 2 at its first attempt and job 1 at its second */

    int64_t enqueue_after_sent; /* on_result enqueues job 100 when this id is SENT */
    bool drained;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define run_until(fx, cond)                                                                        \
    do {                                                                                           \
        int64_t deadline_ = mono_ms() + 20000;                                                     \
        while (!(cond)) {                                                                          \
            if (mono_ms() > deadline_)                                                             \
                fail_msg("gave up waiting for %s", #cond);                                         \
            event_base_loop((fx)->base, EVLOOP_ONCE);                                              \
        }                                                                                          \
    } while (0)

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg; /* only wakes the loop so run_until re-checks conditions set elsewhere */
}

static void enqueue_job(struct fx *fx, int64_t id, int priority)
{
    char url[256], body[256];
    snprintf(url, sizeof url, "%s/2010-04-01/Accounts/" ACCOUNT "/Messages.json",
             mock_gateway_url(fx->mg));
    snprintf(body, sizeof body, "To=%%2B15551230000&From=%%2B19497633440&Body=reply+%lld",
             (long long)id);
    struct outbox_job job = {
        .id = id,
        .priority = priority,
        .url = url,
        .username = ACCOUNT,
        .password = TOKEN,
        .body = body,
    };
    assert_int_equal(outbox_enqueue(fx->ob, &job), 0);
}

static void on_result(void *arg, const struct outbox_result *r)
{
    struct fx *fx = arg;
    assert_true(fx->n_results < MAX_LOG);
    struct logged *l = &fx->results[fx->n_results++];
    l->r = *r;
    snprintf(l->gateway_id, sizeof l->gateway_id, "%s", r->gateway_id);
    snprintf(l->reason, sizeof l->reason, "%s", r->reason);
    l->r.gateway_id = l->gateway_id;
    l->r.reason = l->reason;
    if (fx->enqueue_after_sent && r->job_id == fx->enqueue_after_sent && r->outcome == OUTBOX_SENT)
        enqueue_job(fx, 100, 10);
}

static int before_send(void *arg, const struct outbox_job *job, int *error_code, char *reason)
{
    struct fx *fx = arg;
    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    if (st.in_flight > fx->max_in_flight_at_send)
        fx->max_in_flight_at_send = st.in_flight;
    assert_true(fx->n_before < MAX_LOG);
    fx->before_id[fx->n_before] = job->id;
    fx->before_mono[fx->n_before] = mono_ms();
    fx->n_before++;
    if (fx->veto &&
        ((job->id == 2 && job->attempts == 0) || (job->id == 1 && job->attempts == 1))) {
        *error_code = 1;
        snprintf(reason, OUTBOX_REASON_SIZE, "opted out");
        return 1;
    }
    return 0;
}

/* A Twilio-like classifier: the sid of a 2xx, code 21610 as permanent. */
static void classify(void *arg, const struct outbox_response *resp, struct outbox_verdict *v)
{
    (void)arg;
    if (resp->curl_code != 0)
        return;
    json_t *o = json_loadb(resp->body, resp->body_len, 0, NULL);
    if (resp->http_status >= 200 && resp->http_status < 300) {
        const char *sid = json_string_value(json_object_get(o, "sid"));
        if (sid)
            snprintf(v->gateway_id, sizeof v->gateway_id, "%s", sid);
    } else if (json_integer_value(json_object_get(o, "code")) == 21610) {
        v->kind = OUTBOX_VERDICT_PERMANENT;
        v->error_code = 21610;
        snprintf(v->reason, sizeof v->reason, "recipient unsubscribed");
    }
    json_decref(o);
}

static void on_drained(void *arg)
{
    ((struct fx *)arg)->drained = true;
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->mg = mock_gateway_start();
    fx->base = event_base_new();
    assert_non_null(fx->base);
    fx->tick = event_new(fx->base, -1, EV_PERSIST, on_tick, fx);
    struct timeval tv = {0, 10000};
    assert_int_equal(event_add(fx->tick, &tv), 0);
    outbox_config_defaults(&fx->cfg);
    fx->cfg.backoff_base_ms = 5;
    fx->cfg.backoff_cap_ms = 20;
    fx->cfg.classify = classify;
    fx->cfg.before_send = before_send;
    fx->cfg.on_result = on_result;
    fx->cfg.arg = fx;
    fx->cfg.seed = 42;
    *state = fx;
    return 0;
}

/* Creates the outbox from fx->cfg, once a test has adjusted it. */
static void open_outbox(struct fx *fx)
{
    char err[256];
    fx->ob = outbox_new(fx->base, &fx->cfg, err, sizeof err);
    if (!fx->ob)
        fail_msg("outbox_new: %s", err);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    outbox_free(fx->ob); /* before the base, as libcurl may still call back */
    mock_gateway_free(fx->mg);
    event_free(fx->tick);
    event_base_free(fx->base);
    free(fx);
    return 0;
}

/* The id encoded in a recorded request's Body ("reply <id>"). */
static int64_t request_job_id(struct fx *fx, size_t i)
{
    struct mock_request r;
    assert_int_equal(mock_gateway_request(fx->mg, i, &r), 0);
    char *body = mock_request_form(&r, "Body");
    assert_non_null(body);
    long long id = -1;
    assert_int_equal(sscanf(body, "reply %lld", &id), 1);
    free(body);
    mock_request_clear(&r);
    return id;
}

static void test_one_job_one_post(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    enqueue_job(fx, 7, 10);
    run_until(fx, fx->n_results == 1);

    assert_int_equal(mock_gateway_count(fx->mg), 1);
    struct mock_request req;
    assert_int_equal(mock_gateway_request(fx->mg, 0, &req), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/2010-04-01/Accounts/" ACCOUNT "/Messages.json");
    assert_string_equal(mock_request_header(&req, "Authorization"), BASIC_AUTH);
    assert_string_equal(mock_request_header(&req, "Content-Type"),
                        "application/x-www-form-urlencoded");
    assert_string_equal(req.body, "To=%2B15551230000&From=%2B19497633440&Body=reply+7");
    char *to = mock_request_form(&req, "To");
    assert_string_equal(to, "+15551230000");
    free(to);

    const struct outbox_result *r = &fx->results[0].r;
    assert_int_equal(r->job_id, 7);
    assert_int_equal(r->outcome, OUTBOX_SENT);
    assert_int_equal(r->attempts, 1);
    assert_int_equal(r->http_status, 201);
    assert_non_null(req.response_sid);
    assert_string_equal(r->gateway_id, req.response_sid);
    assert_true(r->latency_ms >= 0);
    assert_true(r->first_attempt_at > 0);
    mock_request_clear(&req);

    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.attempts, 1);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.retries, 0);
}

/* A job's own content type goes out as its Content-Type (the others keep the form's);
 * one with a CR or LF, or an empty one, is refused. */
static void test_job_content_type(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    char url[256];
    snprintf(url, sizeof url, "%s/hooks/chat", mock_gateway_url(fx->mg));
    struct outbox_job job = {
        .id = 1,
        .priority = 10,
        .url = url,
        .body = "{\"text\":\"hello\"}",
        .content_type = "application/json",
    };
    assert_int_equal(outbox_enqueue(fx->ob, &job), 0);
    run_until(fx, fx->n_results == 1);
    enqueue_job(fx, 2, 10);
    run_until(fx, fx->n_results == 2);
    job.content_type = "application/json\r\nX-Injected: 1";
    assert_int_equal(outbox_enqueue(fx->ob, &job), -1);
    job.content_type = "";
    assert_int_equal(outbox_enqueue(fx->ob, &job), -1);

    struct mock_request req;
    assert_int_equal(mock_gateway_request(fx->mg, 0, &req), 0);
    assert_string_equal(req.path, "/hooks/chat");
    assert_string_equal(mock_request_header(&req, "Content-Type"), "application/json");
    assert_null(mock_request_header(&req, "Authorization"));
    assert_string_equal(req.body, "{\"text\":\"hello\"}");
    mock_request_clear(&req);
    assert_int_equal(mock_gateway_request(fx->mg, 1, &req), 0);
    assert_string_equal(mock_request_header(&req, "Content-Type"),
                        "application/x-www-form-urlencoded");
    mock_request_clear(&req);
    assert_int_equal(fx->results[0].r.outcome, OUTBOX_SENT);
    assert_int_equal(mock_gateway_count(fx->mg), 2);
}

static void test_500_500_201(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 3);

    for (int i = 0; i < 2; i++) {
        const struct outbox_result *r = &fx->results[i].r;
        assert_int_equal(r->outcome, OUTBOX_RETRY_SCHEDULED);
        assert_int_equal(r->attempts, i + 1);
        assert_int_equal(r->http_status, 500);
        assert_true(r->next_attempt_at >= r->first_attempt_at);
        assert_true(r->next_attempt_at <= outbox_unix_ms() + fx->cfg.backoff_cap_ms);
    }
    assert_int_equal(fx->results[2].r.outcome, OUTBOX_SENT);
    assert_int_equal(fx->results[2].r.attempts, 3);
    assert_int_equal(fx->results[2].r.first_attempt_at, fx->results[0].r.first_attempt_at);
    assert_int_equal(mock_gateway_count(fx->mg), 3);
    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.queued, 0);
}

static void test_permanent_no_retry(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 400, .twilio_code = 21610});
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 1);

    const struct outbox_result *r = &fx->results[0].r;
    assert_int_equal(r->outcome, OUTBOX_FAILED);
    assert_int_equal(r->error_code, 21610);
    assert_string_equal(r->reason, "recipient unsubscribed");
    assert_int_equal(r->http_status, 400);
    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.queued, 0); /* nothing left to retry */
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(mock_gateway_count(fx->mg), 1);
}

static void test_hang_times_out_and_retries(void **state)
{
    struct fx *fx = *state;
    fx->cfg.timeout_ms = 300;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 2);

    assert_int_equal(fx->results[0].r.outcome, OUTBOX_RETRY_SCHEDULED);
    assert_int_equal(fx->results[0].r.curl_code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(fx->results[0].r.http_status, 0);
    assert_int_equal(fx->results[1].r.outcome, OUTBOX_SENT);
    assert_int_equal(mock_gateway_count(fx->mg), 2);
}

static void test_page_overtakes_replies(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 1;
    open_outbox(fx);
    enqueue_job(fx, 1, 10);
    /* Once job 1 holds the only slot, three more arrive: two replies, then a page. */
    struct outbox_stats st = {0};
    run_until(fx, (outbox_stats(fx->ob, &st), st.in_flight == 1));
    enqueue_job(fx, 2, 10);
    enqueue_job(fx, 3, 10);
    enqueue_job(fx, 4, 0);
    run_until(fx, fx->n_results == 4);

    assert_int_equal(mock_gateway_count(fx->mg), 4);
    int64_t expected[] = {1, 4, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(request_job_id(fx, i), expected[i]);
        assert_int_equal(fx->results[i].r.job_id, expected[i]);
        assert_int_equal(fx->results[i].r.outcome, OUTBOX_SENT);
    }
}

static void test_connection_reused(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 1;
    open_outbox(fx);
    for (int64_t id = 1; id <= 3; id++)
        enqueue_job(fx, id, 10);
    run_until(fx, fx->n_results == 3);
    int port = -1;
    for (size_t i = 0; i < 3; i++) {
        struct mock_request r;
        assert_int_equal(mock_gateway_request(fx->mg, i, &r), 0);
        assert_true(r.peer_port > 0);
        if (i == 0)
            port = r.peer_port;
        assert_int_equal(r.peer_port, port); /* one TCP connection for all three */
        mock_request_clear(&r);
    }
}

static void test_max_in_flight(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 3; /* one of them kept for urgent jobs: two for these */
    open_outbox(fx);
    mock_gateway_set_default(fx->mg, &(struct mock_response){.status = 201, .delay_ms = 100});
    for (int64_t id = 1; id <= 6; id++)
        enqueue_job(fx, id, 10);
    run_until(fx, fx->n_results == 6);

    for (size_t i = 0; i < 6; i++)
        assert_int_equal(fx->results[i].r.outcome, OUTBOX_SENT);
    assert_int_equal(mock_gateway_count(fx->mg), 6);
    /* Never more than 2 at the gateway, and the two slots were used together. */
    assert_true(mock_gateway_max_concurrent(fx->mg) <= 2);
    assert_int_equal(mock_gateway_max_concurrent(fx->mg), 2);
    assert_true(fx->max_in_flight_at_send < 2); /* a free slot at every start */
}

/* A hung gateway holding every routine slot does not hold a page: the urgent slot takes
 * it at once, while the replies still hang. */
static void test_urgent_slot_kept_from_replies(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 3;
    fx->cfg.timeout_ms = 20000;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    for (int64_t id = 1; id <= 4; id++)
        enqueue_job(fx, id, 10);
    struct outbox_stats st = {0};
    run_until(fx, mock_gateway_count(fx->mg) == 2);
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.in_flight, 2); /* replies 3 and 4 wait: the third slot is kept */
    assert_int_equal(st.queued, 2);

    enqueue_job(fx, 5, 0); /* a page */
    enqueue_job(fx, 6, 1); /* an urgent answer, after the page */
    run_until(fx, fx->n_results == 1);
    assert_int_equal(fx->results[0].r.job_id, 5);
    assert_int_equal(fx->results[0].r.outcome, OUTBOX_SENT);
    run_until(fx, fx->n_results == 2);
    assert_int_equal(fx->results[1].r.job_id, 6);
    assert_int_equal(fx->results[1].r.outcome, OUTBOX_SENT);
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.in_flight, 2); /* the replies still hang */
    assert_int_equal(request_job_id(fx, 2), 5);
    assert_int_equal(request_job_id(fx, 3), 6);
}

/* The logged result of job id with this outcome (fails when absent). */
static const struct outbox_result *find_result(struct fx *fx, int64_t id, enum outbox_outcome o)
{
    for (size_t i = 0; i < fx->n_results; i++)
        if (fx->results[i].r.job_id == id && fx->results[i].r.outcome == o)
            return &fx->results[i].r;
    fail_msg("no %s result for job %lld", outbox_outcome_name(o), (long long)id);
    return NULL;
}

static void test_veto_before_every_send(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    /* Job 2 is refused at its first attempt; job 1 at its second (after a 500). */
    fx->veto = true;
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    enqueue_job(fx, 1, 10);
    enqueue_job(fx, 2, 10);
    run_until(fx, fx->n_results == 3);

    const struct outbox_result *r = find_result(fx, 2, OUTBOX_VETOED);
    assert_int_equal(r->error_code, 1);
    assert_string_equal(r->reason, "opted out");
    assert_int_equal(r->attempts, 0);
    assert_int_equal(r->latency_ms, -1);
    assert_int_equal(find_result(fx, 1, OUTBOX_RETRY_SCHEDULED)->attempts, 1);
    r = find_result(fx, 1, OUTBOX_VETOED);
    assert_int_equal(r->attempts, 1);
    assert_string_equal(r->reason, "opted out");

    assert_int_equal(mock_gateway_count(fx->mg), 1); /* only job 1's first attempt */
    assert_int_equal(fx->n_before, 3);
    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.vetoed, 2);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.in_flight, 0);
}

static void test_retry_window_exhausted(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    /* A job resumed after a crash, its 4 h window already spent: one try, then done. */
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 503});
    char url[256];
    snprintf(url, sizeof url, "%s/2010-04-01/Accounts/" ACCOUNT "/Messages.json",
             mock_gateway_url(fx->mg));
    struct outbox_job job = {
        .id = 9,
        .priority = 10,
        .attempts = 5,
        .first_attempt_at = outbox_unix_ms() - fx->cfg.retry_window_ms,
        .url = url,
        .username = ACCOUNT,
        .password = TOKEN,
        .body = "To=%2B15551230000&Body=reply+9",
    };
    assert_int_equal(outbox_enqueue(fx->ob, &job), 0);
    run_until(fx, fx->n_results == 1);
    const struct outbox_result *r = &fx->results[0].r;
    assert_int_equal(r->outcome, OUTBOX_FAILED);
    assert_string_equal(r->reason, "retry window exhausted");
    assert_int_equal(r->attempts, 6);
    assert_int_equal(r->http_status, 503);
    assert_int_equal(mock_gateway_count(fx->mg), 1);
}

static void test_retry_window_bounds_retries(void **state)
{
    struct fx *fx = *state;
    fx->cfg.retry_window_ms = 200;
    fx->cfg.backoff_base_ms = 10;
    fx->cfg.backoff_cap_ms = 40;
    open_outbox(fx);
    mock_gateway_set_default(fx->mg, &(struct mock_response){.status = 500});
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results > 0 &&
                      fx->results[fx->n_results - 1].r.outcome != OUTBOX_RETRY_SCHEDULED);

    size_t n = fx->n_results;
    assert_true(n >= 2);
    int64_t first = fx->results[0].r.first_attempt_at;
    for (size_t i = 0; i + 1 < n; i++) {
        assert_int_equal(fx->results[i].r.outcome, OUTBOX_RETRY_SCHEDULED);
        assert_true(fx->results[i].r.next_attempt_at <= first + fx->cfg.retry_window_ms);
    }
    assert_int_equal(fx->results[n - 1].r.outcome, OUTBOX_FAILED);
    assert_string_equal(fx->results[n - 1].r.reason, "retry window exhausted");
    assert_int_equal(fx->results[n - 1].r.attempts, (int)n);
    assert_int_equal(mock_gateway_count(fx->mg), n);
}

static void test_retry_after_honoured(void **state)
{
    struct fx *fx = *state;
    fx->cfg.backoff_base_ms = 1;
    fx->cfg.backoff_cap_ms = 1;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 429, .headers = "Retry-After: 2"});
    int64_t before = outbox_unix_ms();
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 1);
    const struct outbox_result *r = &fx->results[0].r;
    assert_int_equal(r->outcome, OUTBOX_RETRY_SCHEDULED);
    assert_int_equal(r->http_status, 429);
    assert_true(r->next_attempt_at >= before + 2000);
    /* Teardown frees the outbox with the job still queued. */
}

/* A gateway back after an outage: the jobs backing off are due at once, page first,
 * rather than each at the end of its own (here up to 60 s) backoff. */
static void test_recovery_makes_backoffs_due_page_first(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 1;
    fx->cfg.backoff_base_ms = 60000;
    fx->cfg.backoff_cap_ms = 60000;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 503});
    enqueue_job(fx, 1, 10); /* a reply, then a page: both fail and back off */
    run_until(fx, fx->n_results == 1);
    enqueue_job(fx, 2, 0);
    run_until(fx, fx->n_results == 2);
    assert_int_equal(fx->results[0].r.outcome, OUTBOX_RETRY_SCHEDULED);
    assert_int_equal(fx->results[1].r.outcome, OUTBOX_RETRY_SCHEDULED);
    enqueue_job(fx, 3, 10); /* answered 201: the gateway is back */
    run_until(fx, fx->n_results == 5);
    int64_t expected[] = {3, 2, 1};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(fx->results[2 + i].r.outcome, OUTBOX_SENT);
        assert_int_equal(fx->results[2 + i].r.job_id, expected[i]);
    }
}

/* A request still hung when the gateway recovered is retried at once when it times out,
 * not after a backoff (here up to 60 s). */
static void test_recovery_retries_hung_at_once(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 2;
    fx->cfg.timeout_ms = 500;
    fx->cfg.backoff_base_ms = 60000;
    fx->cfg.backoff_cap_ms = 60000;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    enqueue_job(fx, 1, 0); /* hangs in one slot until its timeout */
    run_until(fx, mock_gateway_count(fx->mg) == 1);
    enqueue_job(fx, 2, 10);
    run_until(fx, fx->n_results == 1);
    enqueue_job(fx, 3, 10);
    run_until(fx, fx->n_results == 2);
    enqueue_job(fx, 4, 10); /* 201: the gateway is back while job 1 still hangs */
    struct outbox_stats st = {0};
    run_until(fx, (outbox_stats(fx->ob, &st), st.sent == 4));
    assert_int_equal(st.retries, 3); /* 2, 3, and 1's timeout */
}

/* A 429 is the gateway's pace, not an outage: its job keeps its Retry-After. */
static void test_recovery_keeps_retry_after(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_in_flight = 1;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 500});
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 429, .headers = "Retry-After: 30"});
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 1);
    int64_t before = outbox_unix_ms();
    enqueue_job(fx, 2, 10);
    run_until(fx, fx->n_results == 2);
    assert_int_equal(fx->results[1].r.http_status, 429);
    enqueue_job(fx, 3, 10);
    run_until(fx, fx->n_results == 4); /* job 1 retried, job 3 sent, in some order */
    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.queued, 1); /* job 2 waits its 30 s */
    assert_true(fx->results[1].r.next_attempt_at >= before + 30000);
}

static void test_response_size_cap(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_response_bytes = 16; /* the 201's JSON is far longer */
    open_outbox(fx);
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 1);
    assert_int_equal(fx->results[0].r.outcome, OUTBOX_RETRY_SCHEDULED);
    assert_int_equal(fx->results[0].r.curl_code, CURLE_WRITE_ERROR);
}

static void test_result_callback_may_enqueue(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    fx->enqueue_after_sent = 1;
    enqueue_job(fx, 1, 10);
    run_until(fx, fx->n_results == 2);
    assert_int_equal(fx->results[1].r.job_id, 100);
    assert_int_equal(fx->results[1].r.outcome, OUTBOX_SENT);
    assert_int_equal(request_job_id(fx, 1), 100);
}

static void test_pacing(void **state)
{
    struct fx *fx = *state;
    fx->cfg.max_per_second = 20; /* one send per 50 ms */
    fx->cfg.burst = 1;
    open_outbox(fx);
    for (int64_t id = 1; id <= 4; id++)
        enqueue_job(fx, id, 10);
    run_until(fx, fx->n_results == 4);
    assert_int_equal(fx->n_before, 4);
    for (size_t i = 1; i < 4; i++)
        assert_true(fx->before_mono[i] - fx->before_mono[i - 1] >= 45);
}

static void test_drain_abandons_hung(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    enqueue_job(fx, 1, 10);
    enqueue_job(fx, 2, 10);
    char url[256];
    snprintf(url, sizeof url, "%s/later", mock_gateway_url(fx->mg));
    struct outbox_job later = {
        .id = 3, .not_before = outbox_unix_ms() + 3600 * 1000, .url = url, .body = ""};
    assert_int_equal(outbox_enqueue(fx->ob, &later), 0);
    run_until(fx, mock_gateway_count(fx->mg) == 2);

    assert_int_equal(outbox_drain(fx->ob, 50, on_drained, fx), 0);
    assert_int_equal(outbox_drain(fx->ob, 50, on_drained, fx), -1);
    assert_int_equal(outbox_enqueue(fx->ob, &later), -1);
    run_until(fx, fx->drained);

    assert_int_equal(fx->n_results, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fx->results[i].r.outcome, OUTBOX_RETRY_SCHEDULED);
        assert_string_equal(fx->results[i].r.reason, "abandoned at shutdown");
        assert_int_equal(fx->results[i].r.attempts, 1);
    }
    struct outbox_stats st;
    outbox_stats(fx->ob, &st);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.queued, 1);
}

static void test_free_with_hung_transfer(void **state)
{
    struct fx *fx = *state;
    open_outbox(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.hang = true});
    enqueue_job(fx, 1, 10);
    run_until(fx, mock_gateway_count(fx->mg) == 1);
    outbox_free(fx->ob);
    fx->ob = NULL;
    assert_int_equal(fx->n_results, 1);
    assert_int_equal(fx->results[0].r.outcome, OUTBOX_RETRY_SCHEDULED);
    assert_string_equal(fx->results[0].r.reason, "abandoned at shutdown");
}

static void test_bad_config_refused(void **state)
{
    struct fx *fx = *state;
    char err[256];
    fx->cfg.max_in_flight = 0;
    assert_null(outbox_new(fx->base, &fx->cfg, err, sizeof err));
    assert_non_null(strstr(err, "max_in_flight"));
    outbox_config_defaults(&fx->cfg);
    fx->cfg.backoff_base_ms = 10;
    fx->cfg.backoff_cap_ms = 5;
    assert_null(outbox_new(fx->base, &fx->cfg, err, sizeof err));
    assert_non_null(strstr(err, "backoff"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_job_one_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_500_201, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_no_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hang_times_out_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_overtakes_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urgent_slot_kept_from_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_veto_before_every_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_window_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_window_bounds_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_makes_backoffs_due_page_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_retries_hung_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_keeps_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_callback_may_enqueue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_abandons_hung, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_hung_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
