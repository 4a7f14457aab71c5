/*
 * outbox: the send queue (see outbox.h for the contract).
 *
 * This file owns every libcurl handle of the outbound path and the events that drive
 * them. It follows curl's hiperfifo/multi-event examples: one struct per lifetime (the
 * outbox with its base, multi and timers; a struct xfer per transfer, reached through
 * CURLOPT_PRIVATE; a struct sock per socket, reached through curl_multi_assign), the
 * socket callback maps CURL_POLL_* onto one persistent event per socket, the timer
 * callback replaces (or, for -1, deletes) a single timer, and every
 * curl_multi_socket_action is followed by draining curl_multi_info_read.
 *
 * Nothing that calls back into the caller runs inside a libcurl callback: the socket and
 * timer callbacks only (re)arm events; finished transfers are handled after
 * curl_multi_socket_action returns (remove handle, easy cleanup, classify, report, free
 * the context, in that order). Starting transfers happens only in the dispatcher (a
 * deferred event), so on_result and before_send may enqueue without recursion.
 */
#include "hotline/outbox.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#ifndef HOTLINE_VERSION
#define HOTLINE_VERSION "dev"
#endif

#define REASON_WINDOW "retry window exhausted"
#define REASON_ABANDONED "abandoned at shutdown"
#define MULTI_RETRY_MS 1000 /* how soon to retry creating a multi after that failed */
#define RECOVERY_STREAK 2   /* failed attempts in a row that make an answer a recovery */

/* A queued job; pub's strings point at copies owned here. */
struct job {
    struct outbox_job pub;
    uint64_t seq;     /* enqueue order, the last tie-breaker */
    bool recoverable; /* waiting on our own backoff: due at once when the gateway recovers */
};

/* A binary min-heap of jobs ordered by before(). */
struct heap {
    struct job **v;
    size_t n, cap;
    int (*before)(const struct job *a, const struct job *b);
};

/* One running transfer; owns its easy handle and response buffer, borrows its job. */
struct xfer {
    struct outbox *ob;
    struct job *job;
    CURL *easy;
    struct curl_slist *headers; /* a job's own Content-Type, else NULL (the outbox's) */
    char *resp;
    size_t resp_len, resp_cap;
    int64_t started_mono;
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *prev, *next;
};

/* One socket libcurl asked us to watch. */
struct sock {
    curl_socket_t fd;
    struct event *ev;
    struct sock *prev, *next;
};

struct outbox {
    struct event_base *base;
    struct outbox_config cfg;
    char *user_agent;
    CURLM *multi;
    struct curl_slist *headers;

    struct event *curl_timer;  /* libcurl's single timeout */
    struct event *wake_timer;  /* earliest due job, or the next pacing token */
    struct event *dispatch_ev; /* deferred "start what can start" */
    struct event *drain_timer; /* end of outbox_drain's grace period */
    struct event *drained_ev;  /* deferred on_drained */

    struct heap waiting; /* not due yet: (not_before, priority, id) */
    struct heap ready;   /* due: (priority, not_before, id) */
    size_t jobs;         /* all jobs owned: queued and in flight */
    uint64_t seq;

    struct xfer *xfers;
    size_t in_flight;
    size_t routine_in_flight; /* of them, jobs above urgent_priority */
    struct sock *socks;

    double tokens;
    int64_t tokens_at; /* monotonic ms of the last refill */
    uint64_t rng;

    struct outbox_stats stats;
    int fail_streak;      /* attempts in a row that ended in RETRY */
    size_t recoverable;   /* jobs in the waiting heap with recoverable set */
    int64_t recovered_at; /* monotonic ms of the last recovery (gateway_answered), or 0 */
    bool draining, drained_fired;
    outbox_drained_fn on_drained;
    void *drained_arg;
    int in_callback;
};

/* ---- time and randomness ---- */

static int64_t clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t outbox_unix_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

static int64_t mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static struct timeval ms_to_tv(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* splitmix64: small, fast, and good enough for jitter. */
static uint64_t rng_next(struct outbox *ob)
{
    uint64_t z = (ob->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Full jitter: uniform in [0, min(cap, base * 2^(attempts-1))]. */
static int64_t backoff_ms(struct outbox *ob, int attempts)
{
    int64_t ceiling = ob->cfg.backoff_cap_ms;
    int shift = attempts > 1 ? attempts - 1 : 0;
    if (shift < 62 && ob->cfg.backoff_base_ms <= (ceiling >> shift))
        ceiling = ob->cfg.backoff_base_ms << shift;
    if (ceiling <= 0)
        return 0;
    return (int64_t)(rng_next(ob) % ((uint64_t)ceiling + 1));
}

/* ---- jobs and heaps ---- */

static void job_free(struct job *j)
{
    if (!j)
        return;
    free((void *)j->pub.url);
    free((void *)j->pub.username);
    free((void *)j->pub.password);
    free((void *)j->pub.body);
    free((void *)j->pub.content_type);
    free(j);
}

static char *dup_or_null(const char *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

static struct job *job_new(const struct outbox_job *src)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    bool failed = false;
    j->pub = *src;
    j->pub.url = dup_or_null(src->url, &failed);
    j->pub.username = dup_or_null(src->username, &failed);
    j->pub.password = dup_or_null(src->password, &failed);
    j->pub.body = dup_or_null(src->body, &failed);
    j->pub.content_type = dup_or_null(src->content_type, &failed);
    if (failed) {
        job_free(j);
        return NULL;
    }
    return j;
}

static int waiting_before(const struct job *a, const struct job *b)
{
    if (a->pub.not_before != b->pub.not_before)
        return a->pub.not_before < b->pub.not_before;
    if (a->pub.priority != b->pub.priority)
        return a->pub.priority < b->pub.priority;
    if (a->pub.id != b->pub.id)
        return a->pub.id < b->pub.id;
    return a->seq < b->seq;
}

static int ready_before(const struct job *a, const struct job *b)
{
    if (a->pub.priority != b->pub.priority)
        return a->pub.priority < b->pub.priority;
    if (a->pub.not_before != b->pub.not_before)
        return a->pub.not_before < b->pub.not_before;
    if (a->pub.id != b->pub.id)
        return a->pub.id < b->pub.id;
    return a->seq < b->seq;
}

static int heap_reserve(struct heap *h, size_t want)
{
    if (want <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 16;
    while (cap < want)
        cap *= 2;
    struct job **v = realloc(h->v, cap * sizeof *v);
    if (!v)
        return -1;
    h->v = v;
    h->cap = cap;
    return 0;
}

/* Never fails: outbox_enqueue reserved room for every job the outbox owns in both heaps. */
static void heap_push(struct heap *h, struct job *j)
{
    assert(h->n < h->cap);
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!h->before(j, h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = j;
}

static bool is_urgent(const struct outbox *ob, const struct job *j)
{
    return j->pub.priority <= ob->cfg.urgent_priority;
}

static struct job *heap_top(const struct heap *h)
{
    return h->n ? h->v[0] : NULL;
}

static struct job *heap_pop(struct heap *h)
{
    if (!h->n)
        return NULL;
    struct job *top = h->v[0];
    struct job *last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->before(h->v[child + 1], h->v[child]))
            child++;
        if (!h->before(h->v[child], last))
            break;
        h->v[i] = h->v[child];
        i = child;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* A job leaves the outbox for good. */
static void job_done(struct outbox *ob, struct job *j)
{
    ob->jobs--;
    job_free(j);
}

/* ---- reporting ---- */

static void report(struct outbox *ob, const struct outbox_result *r)
{
    if (!ob->cfg.on_result)
        return;
    ob->in_callback++;
    ob->cfg.on_result(ob->cfg.arg, r);
    ob->in_callback--;
}

static struct outbox_result result_for(const struct job *j)
{
    struct outbox_result r = {
        .job_id = j->pub.id,
        .attempts = j->pub.attempts,
        .first_attempt_at = j->pub.first_attempt_at,
        .gateway_id = "",
        .reason = "",
        .latency_ms = -1,
    };
    return r;
}

static void kick(struct outbox *ob)
{
    event_active(ob->dispatch_ev, EV_TIMEOUT, 0);
}

static void maybe_drained(struct outbox *ob)
{
    if (!ob->draining || ob->in_flight || ob->drained_fired || !ob->drained_ev)
        return;
    ob->drained_fired = true;
    evtimer_del(ob->drain_timer);
    event_active(ob->drained_ev, EV_TIMEOUT, 0);
}

/*
 * The gateway answered an attempt (2xx, or an error that is final). When at least
 * RECOVERY_STREAK attempts in a row had failed before, it is back from an outage (5xx,
 * hung or refused connections): the jobs backing off from those failures become due now,
 * so that the ready heap's order (pages before replies) decides what goes first, not
 * whichever job's jittered backoff happened to end soonest (a page's could end a minute
 * after the replies'). Jobs waiting on a Retry-After or a 429 keep their time. A lone
 * job that keeps failing while others succeed never makes a streak, so it keeps its
 * backoff. Attempts still in flight at the recovery (a hung request that times out
 * after it) are retried at once when they fail: see conclude.
 */
static void gateway_answered(struct outbox *ob)
{
    bool recovered = ob->fail_streak >= RECOVERY_STREAK;
    ob->fail_streak = 0;
    if (recovered)
        ob->recovered_at = mono_ms();
    if (!recovered || !ob->recoverable)
        return;
    int64_t now = outbox_unix_ms();
    struct job **v = ob->waiting.v;
    size_t n = ob->waiting.n;
    ob->waiting.n = 0;
    /* Rebuilt in place: push i writes only v[0..i], all of which have been read. */
    for (size_t i = 0; i < n; i++) {
        struct job *j = v[i];
        if (j->recoverable) {
            j->recoverable = false;
            ob->recoverable--;
            j->pub.not_before = now;
        }
        heap_push(&ob->waiting, j);
    }
    kick(ob);
}

/*
 * Ends one attempt of j (no longer in flight) with verdict v: SENT and PERMANENT finish
 * the job, RETRY puts it back in the waiting heap or fails it past the retry window.
 * Reports the outcome; j is freed unless requeued.
 */
static void conclude(struct outbox *ob, struct job *j, const struct outbox_verdict *v,
                     long http_status, int curl_code, int64_t retry_after_ms, int64_t latency_ms)
{
    struct outbox_result r = result_for(j);
    r.http_status = http_status;
    r.curl_code = curl_code;
    r.latency_ms = latency_ms;
    switch (v->kind) {
    case OUTBOX_VERDICT_SENT:
        gateway_answered(ob);
        r.outcome = OUTBOX_SENT;
        r.gateway_id = v->gateway_id;
        ob->stats.sent++;
        report(ob, &r);
        job_done(ob, j);
        return;
    case OUTBOX_VERDICT_PERMANENT:
        gateway_answered(ob);
        r.outcome = OUTBOX_FAILED;
        r.error_code = v->error_code;
        r.reason = v->reason;
        ob->stats.failed++;
        report(ob, &r);
        job_done(ob, j);
        return;
    case OUTBOX_VERDICT_RETRY:
        break;
    }
    ob->fail_streak++;
    int64_t now = outbox_unix_ms();
    int64_t delay = backoff_ms(ob, j->pub.attempts);
    bool told = http_status == 429; /* the gateway set (or throttles) the pace */
    if (v->retry_after_ms > delay) {
        delay = v->retry_after_ms;
        told = true;
    }
    if ((http_status == 429 || http_status == 503) && retry_after_ms > delay) {
        delay = retry_after_ms;
        told = true;
    }
    /* An attempt started before the gateway's last recovery failed of the outage, not of
     * the gateway as it is now: due at once, its priority decides (a page must not wait
     * out a backoff while the replies queued with it go). */
    if (!told && latency_ms > 0 && ob->recovered_at && mono_ms() - latency_ms < ob->recovered_at)
        delay = 0;
    int64_t next = now + delay;
    r.error_code = v->error_code;
    if (next > j->pub.first_attempt_at + ob->cfg.retry_window_ms) {
        r.outcome = OUTBOX_FAILED;
        r.reason = REASON_WINDOW;
        ob->stats.failed++;
        report(ob, &r);
        job_done(ob, j);
        return;
    }
    j->pub.not_before = next;
    j->seq = ob->seq++;
    j->recoverable = !told;
    ob->recoverable += j->recoverable;
    heap_push(&ob->waiting, j);
    r.outcome = OUTBOX_RETRY_SCHEDULED;
    r.next_attempt_at = next;
    r.reason = v->reason;
    ob->stats.retries++;
    report(ob, &r);
    kick(ob);
}

/* ---- transfers ---- */

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;
    size_t max = x->ob->cfg.max_response_bytes;
    if (n > max - x->resp_len)
        return 0; /* over the cap: libcurl aborts with CURLE_WRITE_ERROR */
    if (x->resp_len + n + 1 > x->resp_cap) {
        size_t cap = x->resp_cap ? x->resp_cap * 2 : 1024;
        while (cap < x->resp_len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *p = realloc(x->resp, cap);
        if (!p)
            return 0;
        x->resp = p;
        x->resp_cap = cap;
    }
    memcpy(x->resp + x->resp_len, ptr, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
    return n;
}

/* Takes x out of the multi and frees its easy handle; x and its job stay. */
static void xfer_release(struct outbox *ob, struct xfer *x)
{
    if (ob->multi)
        curl_multi_remove_handle(ob->multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
    if (x->prev)
        x->prev->next = x->next;
    else
        ob->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    ob->in_flight--;
    if (!is_urgent(ob, x->job))
        ob->routine_in_flight--;
}

static void xfer_free(struct xfer *x)
{
    curl_slist_free_all(x->headers);
    free(x->resp);
    free(x);
}

/* The request headers of a job with its own content type: that type instead of the
 * form's, and no 100-continue round trip. NULL when out of memory. */
static struct curl_slist *job_headers(const char *content_type)
{
    size_t n = strlen(content_type) + sizeof "Content-Type: ";
    char *line = malloc(n);
    if (!line)
        return NULL;
    snprintf(line, n, "Content-Type: %s", content_type);
    struct curl_slist *h = curl_slist_append(NULL, line);
    free(line);
    struct curl_slist *more = h ? curl_slist_append(h, "Expect:") : NULL;
    if (!more) {
        curl_slist_free_all(h);
        return NULL;
    }
    return more;
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(x->easy, opt, val) != CURLE_OK)                                       \
            goto fail;                                                                             \
    } while (0)

/* Starts one attempt of j. Returns 0, or -1 with nothing running (j untouched). */
static int xfer_start(struct outbox *ob, struct job *j)
{
    struct xfer *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->ob = ob;
    x->job = j;
    x->easy = curl_easy_init();
    if (!x->easy)
        goto fail;
    SETOPT(CURLOPT_URL, j->pub.url);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, ob->cfg.connect_timeout_ms);
    SETOPT(CURLOPT_TIMEOUT_MS, ob->cfg.timeout_ms);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->pub.body));
    SETOPT(CURLOPT_POSTFIELDS, j->pub.body);
    if (j->pub.content_type && !(x->headers = job_headers(j->pub.content_type)))
        goto fail;
    SETOPT(CURLOPT_HTTPHEADER, x->headers ? x->headers : ob->headers);
    SETOPT(CURLOPT_USERAGENT, ob->user_agent);
    if (j->pub.username) {
        SETOPT(CURLOPT_HTTPAUTH, (unsigned long)CURLAUTH_BASIC);
        SETOPT(CURLOPT_USERNAME, j->pub.username);
        SETOPT(CURLOPT_PASSWORD, j->pub.password ? j->pub.password : "");
    }
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, x);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_PRIVATE, x);
    x->started_mono = mono_ms();
    if (curl_multi_add_handle(ob->multi, x->easy) != CURLM_OK)
        goto fail;
    x->next = ob->xfers;
    if (ob->xfers)
        ob->xfers->prev = x;
    ob->xfers = x;
    ob->in_flight++;
    if (!is_urgent(ob, j))
        ob->routine_in_flight++;
    return 0;
fail:
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x);
    return -1;
}

#undef SETOPT

static void default_verdict(const struct outbox_response *resp, struct outbox_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->retry_after_ms = -1;
    long status = resp->http_status;
    if (resp->curl_code != CURLE_OK) {
        v->kind = OUTBOX_VERDICT_RETRY;
        snprintf(v->reason, sizeof v->reason, "transport: %.100s", resp->curl_error);
    } else if (status >= 200 && status < 300) {
        v->kind = OUTBOX_VERDICT_SENT;
    } else if (status == 429 || status >= 500) {
        v->kind = OUTBOX_VERDICT_RETRY;
        snprintf(v->reason, sizeof v->reason, "http %ld", status);
    } else {
        v->kind = OUTBOX_VERDICT_PERMANENT;
        v->error_code = (int)status;
        snprintf(v->reason, sizeof v->reason, "http %ld", status);
    }
}

/* A transfer completed (libcurl said CURLMSG_DONE): free order, then verdict, then report. */
static void xfer_done(struct outbox *ob, struct xfer *x, CURLcode res)
{
    long status = 0;
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &retry_after) != CURLE_OK)
        retry_after = 0;
    int64_t latency = mono_ms() - x->started_mono;
    xfer_release(ob, x);

    struct outbox_response resp = {
        .curl_code = (int)res,
        .curl_error = res == CURLE_OK ? "" : (x->errbuf[0] ? x->errbuf : curl_easy_strerror(res)),
        .http_status = status,
        .body = x->resp ? x->resp : "",
        .body_len = x->resp_len,
        .retry_after_ms = retry_after > 0 ? (int64_t)retry_after * 1000 : -1,
    };
    struct outbox_verdict v;
    default_verdict(&resp, &v);
    if (ob->cfg.classify) {
        ob->in_callback++;
        ob->cfg.classify(ob->cfg.arg, &resp, &v);
        ob->in_callback--;
        v.gateway_id[sizeof v.gateway_id - 1] = '\0';
        v.reason[sizeof v.reason - 1] = '\0';
    }
    conclude(ob, x->job, &v, status, (int)res, resp.retry_after_ms, latency);
    xfer_free(x);
}

/* Handles every finished transfer; returns how many there were. */
static int check_multi_info(struct outbox *ob)
{
    CURLMsg *msg;
    int left, done = 0;
    while (ob->multi && (msg = curl_multi_info_read(ob->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode res = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        xfer_done(ob, (struct xfer *)(void *)priv, res);
        done++;
    }
    return done;
}

/* Ends every transfer in flight as RETRY_SCHEDULED now, without requeueing (shutdown). */
static void abandon_all(struct outbox *ob)
{
    while (ob->xfers) {
        struct xfer *x = ob->xfers;
        int64_t latency = mono_ms() - x->started_mono;
        xfer_release(ob, x);
        struct outbox_result r = result_for(x->job);
        r.outcome = OUTBOX_RETRY_SCHEDULED;
        r.next_attempt_at = outbox_unix_ms();
        r.reason = REASON_ABANDONED;
        r.latency_ms = latency;
        ob->stats.retries++;
        report(ob, &r);
        job_done(ob, x->job);
        xfer_free(x);
    }
}

/* ---- libcurl's socket and timer callbacks: they only arm events ---- */

static void sock_free(struct outbox *ob, struct sock *sk)
{
    event_free(sk->ev);
    if (sk->prev)
        sk->prev->next = sk->next;
    else
        ob->socks = sk->next;
    if (sk->next)
        sk->next->prev = sk->prev;
    free(sk);
}

static void after_action(struct outbox *ob, CURLMcode rc);

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    struct outbox *ob = arg;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running = 0;
    /* The struct sock of fd may be freed inside this call (CURL_POLL_REMOVE): not used after. */
    CURLMcode rc = curl_multi_socket_action(ob->multi, fd, action, &running);
    after_action(ob, rc);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct outbox *ob = userp;
    struct sock *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sk)
            sock_free(ob, sk);
        return 0;
    }
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!sk) {
        sk = calloc(1, sizeof *sk);
        if (!sk)
            return -1;
        sk->fd = s;
        sk->ev = event_new(ob->base, s, kind, on_sock_event, ob);
        if (!sk->ev || curl_multi_assign(ob->multi, s, sk) != CURLM_OK) {
            if (sk->ev)
                event_free(sk->ev);
            free(sk);
            return -1;
        }
        sk->next = ob->socks;
        if (ob->socks)
            ob->socks->prev = sk;
        ob->socks = sk;
    } else {
        event_del(sk->ev);
        event_assign(sk->ev, ob->base, s, kind, on_sock_event, ob);
    }
    return event_add(sk->ev, NULL) == 0 ? 0 : -1;
}

/* -1 deletes the timer; any other value, 0 included, replaces it. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct outbox *ob = userp;
    if (timeout_ms < 0)
        return evtimer_del(ob->curl_timer) == 0 ? 0 : -1;
    struct timeval tv = ms_to_tv(timeout_ms);
    return evtimer_add(ob->curl_timer, &tv) == 0 ? 0 : -1;
}

static void on_curl_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct outbox *ob = arg;
    int running = 0;
    CURLMcode rc = curl_multi_socket_action(ob->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    after_action(ob, rc);
}

static int multi_create(struct outbox *ob)
{
    CURLM *m = curl_multi_init();
    if (!m)
        return -1;
    if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_SOCKETDATA, ob) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_TIMERDATA, ob) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)ob->cfg.max_in_flight) !=
            CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)ob->cfg.max_in_flight) != CURLM_OK) {
        curl_multi_cleanup(m);
        return -1;
    }
    ob->multi = m;
    return 0;
}

/*
 * The multi reported an error: libcurl then wants every handle removed. The transfers
 * are retried with backoff as any transport error, and a fresh multi replaces this one.
 */
static void multi_fail(struct outbox *ob, CURLMcode rc)
{
    while (ob->xfers) {
        struct xfer *x = ob->xfers;
        int64_t latency = mono_ms() - x->started_mono;
        xfer_release(ob, x);
        struct outbox_verdict v = {.kind = OUTBOX_VERDICT_RETRY, .retry_after_ms = -1};
        snprintf(v.reason, sizeof v.reason, "transport: %s", curl_multi_strerror(rc));
        conclude(ob, x->job, &v, 0, CURLE_ABORTED_BY_CALLBACK, -1, latency);
        xfer_free(x);
    }
    curl_multi_cleanup(ob->multi);
    ob->multi = NULL;
    while (ob->socks)
        sock_free(ob, ob->socks);
    evtimer_del(ob->curl_timer);
    multi_create(ob); /* on failure the dispatcher retries later */
    maybe_drained(ob);
}

static void after_action(struct outbox *ob, CURLMcode rc)
{
    int done = check_multi_info(ob);
    if (rc != CURLM_OK)
        multi_fail(ob, rc);
    maybe_drained(ob);
    if (done || rc != CURLM_OK)
        kick(ob); /* slots freed */
}

/* ---- dispatch: start what is due, within the in-flight bound and the pace ---- */

static bool paced(const struct outbox *ob)
{
    return ob->cfg.max_per_second > 0;
}

static void refill(struct outbox *ob)
{
    int64_t now = mono_ms();
    ob->tokens += (double)(now - ob->tokens_at) * ob->cfg.max_per_second / 1000.0;
    if (ob->tokens > ob->cfg.burst)
        ob->tokens = ob->cfg.burst;
    ob->tokens_at = now;
}

static int64_t token_wait_ms(const struct outbox *ob)
{
    return (int64_t)((1.0 - ob->tokens) * 1000.0 / ob->cfg.max_per_second) + 1;
}

/* Whether the best ready job may take a slot now: any free slot for an urgent one, a
 * slot outside the urgent reserve for the others. */
static bool slot_for_top(const struct outbox *ob)
{
    struct job *top = heap_top(&ob->ready);
    if (!top || ob->in_flight >= (size_t)ob->cfg.max_in_flight)
        return false;
    int reserved = ob->cfg.urgent_slots < ob->cfg.max_in_flight ? ob->cfg.urgent_slots
                                                                : ob->cfg.max_in_flight - 1;
    return is_urgent(ob, top) || ob->routine_in_flight < (size_t)(ob->cfg.max_in_flight - reserved);
}

static void arm_wake(struct outbox *ob)
{
    int64_t delay = -1;
    if (!ob->draining) {
        struct job *top = heap_top(&ob->waiting);
        if (top) {
            delay = top->pub.not_before - outbox_unix_ms();
            if (delay < 0)
                delay = 0;
        }
        if (slot_for_top(ob)) {
            int64_t d = -1;
            if (!ob->multi)
                d = MULTI_RETRY_MS;
            else if (paced(ob) && ob->tokens < 1.0)
                d = token_wait_ms(ob);
            if (d >= 0 && (delay < 0 || d < delay))
                delay = d;
        }
    }
    if (delay < 0) {
        evtimer_del(ob->wake_timer);
    } else {
        struct timeval tv = ms_to_tv(delay);
        evtimer_add(ob->wake_timer, &tv);
    }
}

/* Returns true when j may be sent; otherwise reports the veto and frees j. */
static bool allowed(struct outbox *ob, struct job *j)
{
    if (!ob->cfg.before_send)
        return true;
    int code = 0;
    char reason[OUTBOX_REASON_SIZE] = "vetoed";
    ob->in_callback++;
    int veto = ob->cfg.before_send(ob->cfg.arg, &j->pub, &code, reason);
    ob->in_callback--;
    if (!veto)
        return true;
    reason[sizeof reason - 1] = '\0';
    struct outbox_result r = result_for(j);
    r.outcome = OUTBOX_VETOED;
    r.error_code = code;
    r.reason = reason;
    ob->stats.vetoed++;
    report(ob, &r);
    job_done(ob, j);
    return false;
}

static void pump(struct outbox *ob)
{
    if (!ob->multi && !ob->draining)
        multi_create(ob);
    int64_t now = outbox_unix_ms();
    struct job *top;
    while ((top = heap_top(&ob->waiting)) && top->pub.not_before <= now) {
        if (top->recoverable) {
            top->recoverable = false;
            ob->recoverable--;
        }
        heap_push(&ob->ready, heap_pop(&ob->waiting));
    }
    if (paced(ob))
        refill(ob);
    while (!ob->draining && ob->multi && slot_for_top(ob)) {
        if (paced(ob) && ob->tokens < 1.0)
            break;
        struct job *j = heap_pop(&ob->ready);
        if (!allowed(ob, j))
            continue;
        if (ob->draining) { /* before_send started the shutdown */
            heap_push(&ob->ready, j);
            break;
        }
        if (paced(ob))
            ob->tokens -= 1.0;
        j->pub.attempts++;
        if (!j->pub.first_attempt_at)
            j->pub.first_attempt_at = now;
        ob->stats.attempts++;
        if (xfer_start(ob, j) < 0) {
            struct outbox_verdict v = {.kind = OUTBOX_VERDICT_RETRY, .retry_after_ms = -1};
            snprintf(v.reason, sizeof v.reason, "could not start transfer");
            conclude(ob, j, &v, 0, 0, -1, 0);
        }
    }
    arm_wake(ob);
}

static void on_dispatch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct outbox *ob = arg;
    abandon_all(ob);
    maybe_drained(ob);
}

static void on_drained_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct outbox *ob = arg;
    if (ob->on_drained)
        ob->on_drained(ob->drained_arg);
}

/* ---- public ---- */

void outbox_config_defaults(struct outbox_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_in_flight = 5;
    cfg->urgent_slots = 1;
    cfg->urgent_priority = 1;
    cfg->connect_timeout_ms = 5000;
    cfg->timeout_ms = 15000;
    cfg->max_response_bytes = 64 * 1024;
    cfg->backoff_base_ms = 1000;
    cfg->backoff_cap_ms = 5 * 60 * 1000;
    cfg->retry_window_ms = 4LL * 3600 * 1000;
    cfg->max_per_second = 0;
    cfg->burst = 1;
}

static const char *config_error(const struct outbox_config *c)
{
    if (c->max_in_flight < 1)
        return "max_in_flight must be at least 1";
    if (c->urgent_slots < 0)
        return "urgent_slots must be at least 0";
    if (c->connect_timeout_ms <= 0 || c->timeout_ms <= 0)
        return "timeouts must be positive";
    if (c->max_response_bytes == 0)
        return "max_response_bytes must be positive";
    if (c->backoff_base_ms < 0 || c->backoff_cap_ms < c->backoff_base_ms)
        return "backoff needs 0 <= base <= cap";
    if (c->retry_window_ms < 0)
        return "retry_window_ms must not be negative";
    if (c->max_per_second < 0 || (c->max_per_second > 0 && c->burst < 1))
        return "pacing needs max_per_second >= 0 and burst >= 1";
    return NULL;
}

struct outbox *outbox_new(struct event_base *base, const struct outbox_config *cfg, char *err,
                          size_t errlen)
{
    const char *why = NULL;
    char scratch[1];
    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (!base || !cfg) {
        snprintf(err, errlen, "outbox: no event base or config");
        return NULL;
    }
    if ((why = config_error(cfg))) {
        snprintf(err, errlen, "outbox: %s", why);
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "outbox: curl_global_init failed");
        return NULL;
    }
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (!(info->features & CURL_VERSION_ASYNCHDNS)) {
        snprintf(err, errlen,
                 "outbox: libcurl %s lacks asynchronous DNS (CURL_VERSION_ASYNCHDNS); name "
                 "lookups would block the event loop",
                 info->version);
        curl_global_cleanup();
        return NULL;
    }
    struct outbox *ob = calloc(1, sizeof *ob);
    if (!ob) {
        curl_global_cleanup();
        snprintf(err, errlen, "outbox: out of memory");
        return NULL;
    }
    ob->base = base;
    ob->cfg = *cfg;
    ob->waiting.before = waiting_before;
    ob->ready.before = ready_before;
    ob->tokens = cfg->burst;
    ob->tokens_at = mono_ms();
    ob->rng = cfg->seed;
    if (!ob->rng && getrandom(&ob->rng, sizeof ob->rng, GRND_NONBLOCK) != sizeof ob->rng)
        ob->rng = (uint64_t)mono_ms() ^ ((uint64_t)getpid() << 32);
    ob->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "hotline/" HOTLINE_VERSION);
    ob->cfg.user_agent = ob->user_agent;

    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
        "Expect:", /* no 100-continue round trip for bodies over 1 KiB */
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        struct curl_slist *n = curl_slist_append(ob->headers, headers[i]);
        if (!n)
            goto oom;
        ob->headers = n;
    }

    ob->curl_timer = evtimer_new(base, on_curl_timeout, ob);
    ob->wake_timer = evtimer_new(base, on_dispatch, ob);
    ob->dispatch_ev = event_new(base, -1, 0, on_dispatch, ob);
    ob->drain_timer = evtimer_new(base, on_drain_timeout, ob);
    ob->drained_ev = event_new(base, -1, 0, on_drained_event, ob);
    if (!ob->user_agent || !ob->curl_timer || !ob->wake_timer || !ob->dispatch_ev ||
        !ob->drain_timer || !ob->drained_ev || multi_create(ob) < 0)
        goto oom;
    return ob;
oom:
    snprintf(err, errlen, "outbox: out of memory");
    outbox_free(ob);
    return NULL;
}

int outbox_enqueue(struct outbox *ob, const struct outbox_job *job)
{
    if (!ob || !job || !job->url || !job->body || ob->draining)
        return -1;
    if (job->content_type && (!*job->content_type || strpbrk(job->content_type, "\r\n")))
        return -1;
    /* Room in both heaps for every job owned, so moving one between them never fails. */
    if (heap_reserve(&ob->waiting, ob->jobs + 1) < 0 || heap_reserve(&ob->ready, ob->jobs + 1) < 0)
        return -1;
    struct job *j = job_new(job);
    if (!j)
        return -1;
    j->seq = ob->seq++;
    ob->jobs++;
    heap_push(&ob->waiting, j);
    kick(ob);
    return 0;
}

void outbox_stats(const struct outbox *ob, struct outbox_stats *out)
{
    *out = ob->stats;
    out->queued = ob->waiting.n + ob->ready.n;
    out->in_flight = ob->in_flight;
}

int outbox_drain(struct outbox *ob, int64_t wait_ms, outbox_drained_fn on_drained, void *arg)
{
    if (ob->draining)
        return -1;
    ob->draining = true;
    ob->on_drained = on_drained;
    ob->drained_arg = arg;
    evtimer_del(ob->wake_timer);
    if (ob->in_flight) {
        struct timeval tv = ms_to_tv(wait_ms);
        evtimer_add(ob->drain_timer, &tv);
    }
    maybe_drained(ob);
    return 0;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    assert(ob->in_callback == 0);
    ob->draining = true;
    ob->drained_fired = true; /* no on_drained once freeing */
    abandon_all(ob);
    struct job *j;
    while ((j = heap_pop(&ob->waiting)))
        job_done(ob, j);
    while ((j = heap_pop(&ob->ready)))
        job_done(ob, j);
    /* The cleanup may still call on_socket and on_curl_timer: their events must live. */
    if (ob->multi)
        curl_multi_cleanup(ob->multi);
    ob->multi = NULL;
    while (ob->socks)
        sock_free(ob, ob->socks);
    if (ob->curl_timer)
        event_free(ob->curl_timer);
    if (ob->wake_timer)
        event_free(ob->wake_timer);
    if (ob->dispatch_ev)
        event_free(ob->dispatch_ev);
    if (ob->drain_timer)
        event_free(ob->drain_timer);
    if (ob->drained_ev)
        event_free(ob->drained_ev);
    curl_slist_free_all(ob->headers);
    free(ob->waiting.v);
    free(ob->ready.v);
    free(ob->user_agent);
    free(ob);
    curl_global_cleanup();
}

const char *outbox_outcome_name(enum outbox_outcome outcome)
{
    switch (outcome) {
    case OUTBOX_SENT:
        return "sent";
    case OUTBOX_RETRY_SCHEDULED:
        return "retry_scheduled";
    case OUTBOX_FAILED:
        return "failed";
    case OUTBOX_VETOED:
        return "vetoed";
    }
    return "unknown";
}
