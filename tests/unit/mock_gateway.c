/*
 * mock_gateway: a scriptable SMS gateway on loopback (see mock_gateway.h).
 *
 * Threads: the mock's thread runs its event_base and is the only one to touch evhttp and
 * the held requests. Everything the test thread reads or writes (script, default answer,
 * records, counters) sits behind one mutex; a condition variable wakes
 * mock_gateway_wait. Stopping is an event_active from the test thread (libevent's
 * pthreads locking makes that safe), after which the mock's thread answers what it holds,
 * frees the evhttp and leaves its loop.
 *
 * Held requests (delayed or hung) follow libevent's rule: reply exactly once, and reply
 * even when the client left, since a request detached from its connection is freed by
 * that reply (evhttp_send with no connection frees it). The reply is always sent before
 * evhttp_free, which frees the requests still attached to their connections.
 */
#include "mock_gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>

#include "testutil.h"

/* A scripted answer with its own copies of the strings. */
struct answer {
    int status;
    bool hang;
    int delay_ms;
    char *body;
    int twilio_code;
    char *headers;
    char *content_type;
};

struct script_item {
    struct answer a;
    struct script_item *next;
};

/* A request the mock answers later (delayed) or only at stop (hung). Mock thread only. */
struct held {
    struct mock_gateway *mg;
    struct evhttp_request *req;
    struct event *timer; /* NULL when hung */
    int status;
    char *body, *headers, *content_type;
    struct held *prev, *next;
};

struct mock_gateway {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    int port;
    char url[64];
    struct held *held; /* mock thread only */

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t arrived;
    struct script_item *head, *tail;
    bool has_default;
    struct answer def;
    bool keep;
    struct mock_request *reqs;
    size_t n_reqs, cap_reqs, count;
    int unanswered, max_concurrent;
    uint64_t sid_state;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void answer_copy(struct answer *dst, const struct mock_response *src)
{
    dst->status = src->status ? src->status : 201;
    dst->hang = src->hang;
    dst->delay_ms = src->delay_ms;
    dst->body = xstrdup(src->body);
    dst->twilio_code = src->twilio_code;
    dst->headers = xstrdup(src->headers);
    dst->content_type = xstrdup(src->content_type);
}

static void answer_clear(struct answer *a)
{
    free(a->body);
    free(a->headers);
    free(a->content_type);
    memset(a, 0, sizeof *a);
}

/* ---- request records ---- */

void mock_request_clear(struct mock_request *r)
{
    if (!r)
        return;
    free(r->method);
    free(r->uri);
    free(r->path);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    free(r->response_body);
    free(r->response_sid);
    memset(r, 0, sizeof *r);
}

static void request_copy(struct mock_request *dst, const struct mock_request *src)
{
    *dst = *src;
    dst->method = xstrdup(src->method);
    dst->uri = xstrdup(src->uri);
    dst->path = xstrdup(src->path);
    dst->headers = xmalloc(src->n_headers * sizeof *dst->headers);
    for (size_t i = 0; i < src->n_headers; i++) {
        dst->headers[i].name = xstrdup(src->headers[i].name);
        dst->headers[i].value = xstrdup(src->headers[i].value);
    }
    dst->body = xmalloc(src->body_len + 1);
    memcpy(dst->body, src->body, src->body_len + 1);
    dst->response_body = xstrdup(src->response_body);
    dst->response_sid = xstrdup(src->response_sid);
}

const char *mock_request_header(const struct mock_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

char *mock_request_form(const struct mock_request *r, const char *name)
{
    const char *p = r->body;
    const char *end = r->body + r->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        char *key = xmalloc((size_t)(kend - p) + 1);
        memcpy(key, p, (size_t)(kend - p));
        key[kend - p] = '\0';
        char *dkey = evhttp_uridecode(key, 1, NULL);
        free(key);
        bool match = dkey && strcmp(dkey, name) == 0;
        free(dkey);
        if (match) {
            const char *v = eq ? eq + 1 : stop;
            char *raw = xmalloc((size_t)(stop - v) + 1);
            memcpy(raw, v, (size_t)(stop - v));
            raw[stop - v] = '\0';
            char *value = evhttp_uridecode(raw, 1, NULL);
            free(raw);
            return value;
        }
        p = stop + 1;
    }
    return NULL;
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

/* Builds the record of req (without the answer). */
static void record_request(struct evhttp_request *req, struct mock_request *r)
{
    memset(r, 0, sizeof *r);
    r->method = xstrdup(method_name(evhttp_request_get_command(req)));
    r->uri = xstrdup(evhttp_request_get_uri(req));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    r->path = path ? evhttp_uridecode(path, 0, NULL) : xstrdup("");
    if (!r->path)
        abort();
    struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
    size_t n = 0;
    for (struct evkeyval *kv = hs->tqh_first; kv; kv = kv->next.tqe_next)
        n++;
    r->headers = xmalloc(n * sizeof *r->headers);
    for (struct evkeyval *kv = hs->tqh_first; kv; kv = kv->next.tqe_next) {
        r->headers[r->n_headers].name = xstrdup(kv->key);
        r->headers[r->n_headers].value = xstrdup(kv->value);
        r->n_headers++;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    r->body_len = evbuffer_get_length(in);
    r->body = xmalloc(r->body_len + 1);
    evbuffer_copyout(in, r->body, r->body_len);
    r->body[r->body_len] = '\0';
    r->received_ms = mono_ms();
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    const struct sockaddr *peer = evcon ? evhttp_connection_get_addr(evcon) : NULL;
    if (peer && peer->sa_family == AF_INET)
        r->peer_port = ntohs(((const struct sockaddr_in *)(const void *)peer)->sin_port);
}

/* ---- answers ---- */

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The account sid in "/2010-04-01/Accounts/{sid}/Messages.json", or a placeholder. */
static char *account_from_path(const char *path)
{
    const char *p = strstr(path, "/Accounts/");
    if (!p)
        return xstrdup("AC00000000000000000000000000000000");
    p += strlen("/Accounts/");
    size_t n = strcspn(p, "/");
    char *s = xmalloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* A Twilio-like message resource for a 2xx default answer; *sid gets the new sid. */
static char *message_resource(const struct mock_request *r, const char *sid)
{
    char *to = mock_request_form(r, "To");
    char *from = mock_request_form(r, "From");
    char *body = mock_request_form(r, "Body");
    char *account = account_from_path(r->path);
    char uri[256];
    snprintf(uri, sizeof uri, "/2010-04-01/Accounts/%s/Messages/%s.json", account, sid);
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:s, s:s, s:n, s:n, s:s}", "sid",
                          sid, "account_sid", account, "to", to, "from", from, "body", body,
                          "status", "queued", "direction", "outbound-api", "num_segments", "1",
                          "api_version", "2010-04-01", "error_code", "error_message", "uri", uri);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    free(to);
    free(from);
    free(body);
    free(account);
    if (!text)
        abort();
    return text;
}

static char *error_resource(int status, int code)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"code\":%d,\"message\":\"mock gateway error %d\","
             "\"more_info\":\"https://www.twilio.com/docs/errors/%d\",\"status\":%d}",
             code, code, code, status);
    return xstrdup(text);
}

static void add_headers(struct evkeyvalq *out, const char *lines)
{
    if (!lines)
        return;
    char *copy = xstrdup(lines);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = '\0';
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        evhttp_add_header(out, line, value);
    }
    free(copy);
}

/* Answers req once; req may be detached from its connection (then this frees it). */
static void reply(struct mock_gateway *mg, struct evhttp_request *req, int status, const char *body,
                  const char *headers, const char *content_type)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", content_type ? content_type : "application/json");
    add_headers(out, headers);
    struct evbuffer *buf = evbuffer_new();
    if (!buf)
        abort();
    if (body)
        evbuffer_add(buf, body, strlen(body));
    evhttp_send_reply(req, status, NULL, buf);
    evbuffer_free(buf);
    pthread_mutex_lock(&mg->mu);
    mg->unanswered--;
    pthread_mutex_unlock(&mg->mu);
}

static void held_unlink_free(struct held *h)
{
    struct mock_gateway *mg = h->mg;
    if (h->prev)
        h->prev->next = h->next;
    else
        mg->held = h->next;
    if (h->next)
        h->next->prev = h->prev;
    if (h->timer)
        event_free(h->timer);
    free(h->body);
    free(h->headers);
    free(h->content_type);
    free(h);
}

static void on_held_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct held *h = arg;
    reply(h->mg, h->req, h->status, h->body, h->headers, h->content_type);
    held_unlink_free(h);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct mock_gateway *mg = arg;
    struct mock_request r;
    record_request(req, &r);

    pthread_mutex_lock(&mg->mu);
    struct answer a;
    struct script_item *item = mg->head;
    if (item) {
        mg->head = item->next;
        if (!mg->head)
            mg->tail = NULL;
        a = item->a;
        free(item);
    } else if (mg->has_default) {
        struct mock_response d = {
            .status = mg->def.status,
            .hang = mg->def.hang,
            .delay_ms = mg->def.delay_ms,
            .body = mg->def.body,
            .twilio_code = mg->def.twilio_code,
            .headers = mg->def.headers,
            .content_type = mg->def.content_type,
        };
        answer_copy(&a, &d);
    } else {
        answer_copy(&a, &(struct mock_response){0});
    }
    uint64_t hi = splitmix(&mg->sid_state), lo = splitmix(&mg->sid_state);
    pthread_mutex_unlock(&mg->mu);

    if (!a.hang) {
        r.response_status = a.status;
        if (a.body) {
            r.response_body = xstrdup(a.body);
        } else if (a.status >= 200 && a.status < 300) {
            char sid[40];
            snprintf(sid, sizeof sid, "SM%016llx%016llx", (unsigned long long)hi,
                     (unsigned long long)lo);
            r.response_sid = xstrdup(sid);
            r.response_body = message_resource(&r, sid);
        } else {
            r.response_body = error_resource(a.status, a.twilio_code ? a.twilio_code : a.status);
        }
    }

    pthread_mutex_lock(&mg->mu);
    r.index = mg->count++;
    r.concurrent = ++mg->unanswered;
    if (mg->unanswered > mg->max_concurrent)
        mg->max_concurrent = mg->unanswered;
    char *body = xstrdup(r.response_body);
    if (mg->keep) {
        if (mg->n_reqs == mg->cap_reqs) {
            mg->cap_reqs = mg->cap_reqs ? mg->cap_reqs * 2 : 16;
            mg->reqs = realloc(mg->reqs, mg->cap_reqs * sizeof *mg->reqs);
            if (!mg->reqs)
                abort();
        }
        mg->reqs[mg->n_reqs++] = r;
    } else {
        mock_request_clear(&r);
    }
    pthread_cond_broadcast(&mg->arrived);
    pthread_mutex_unlock(&mg->mu);

    if (!a.hang && a.delay_ms <= 0) {
        reply(mg, req, a.status, body, a.headers, a.content_type);
        free(body);
        answer_clear(&a);
        return;
    }
    struct held *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    h->mg = mg;
    h->req = req;
    h->status = a.hang ? 503 : a.status;
    h->body = a.hang ? xstrdup("{\"message\":\"mock gateway stopped\"}") : body;
    if (a.hang)
        free(body);
    h->headers = a.hang ? NULL : xstrdup(a.headers);
    h->content_type = xstrdup(a.content_type);
    if (!a.hang) {
        h->timer = evtimer_new(mg->base, on_held_timer, h);
        struct timeval tv = {.tv_sec = a.delay_ms / 1000, .tv_usec = (a.delay_ms % 1000) * 1000};
        if (!h->timer || evtimer_add(h->timer, &tv) != 0)
            abort();
    }
    h->next = mg->held;
    if (mg->held)
        mg->held->prev = h;
    mg->held = h;
    answer_clear(&a);
}

/* ---- thread and lifetime ---- */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mock_gateway *mg = arg;
    while (mg->held) {
        struct held *h = mg->held;
        reply(mg, h->req, h->status, h->body, h->headers, h->content_type);
        held_unlink_free(h);
    }
    evhttp_free(mg->http);
    mg->http = NULL;
    event_base_loopbreak(mg->base);
}

static void *run(void *arg)
{
    struct mock_gateway *mg = arg;
    event_base_loop(mg->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct mock_gateway *mock_gateway_start(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0)
        fail_msg("mock_gateway: evthread_use_pthreads failed");
    struct mock_gateway *mg = calloc(1, sizeof *mg);
    if (!mg)
        fail_msg("mock_gateway: out of memory");
    mg->keep = true;
    mg->sid_state = (uint64_t)mono_ms() ^ ((uint64_t)(uintptr_t)mg << 16);
    pthread_mutex_init(&mg->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&mg->arrived, &ca);
    pthread_condattr_destroy(&ca);

    mg->base = event_base_new();
    mg->http = mg->base ? evhttp_new(mg->base) : NULL;
    if (!mg->http)
        fail_msg("mock_gateway: could not create the event base or evhttp");
    evhttp_set_max_body_size(mg->http, 1 << 20);
    evhttp_set_allowed_methods(mg->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                             EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                             EVHTTP_REQ_PATCH);
    evhttp_set_gencb(mg->http, on_request, mg);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(mg->http, "127.0.0.1", 0);
    if (!bound)
        fail_msg("mock_gateway: bind 127.0.0.1:0: %s", strerror(errno));
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&addr, &len) != 0)
        fail_msg("mock_gateway: getsockname: %s", strerror(errno));
    mg->port = ntohs(addr.sin_port);
    snprintf(mg->url, sizeof mg->url, "http://127.0.0.1:%d", mg->port);
    mg->stop_ev = event_new(mg->base, -1, 0, on_stop, mg);
    if (!mg->stop_ev)
        fail_msg("mock_gateway: event_new failed");
    if (pthread_create(&mg->thread, NULL, run, mg) != 0)
        fail_msg("mock_gateway: pthread_create failed");
    return mg;
}

void mock_gateway_free(struct mock_gateway *mg)
{
    if (!mg)
        return;
    event_active(mg->stop_ev, EV_TIMEOUT, 0);
    pthread_join(mg->thread, NULL);
    event_free(mg->stop_ev);
    event_base_free(mg->base);
    mock_gateway_clear_script(mg);
    answer_clear(&mg->def);
    for (size_t i = 0; i < mg->n_reqs; i++)
        mock_request_clear(&mg->reqs[i]);
    free(mg->reqs);
    pthread_cond_destroy(&mg->arrived);
    pthread_mutex_destroy(&mg->mu);
    free(mg);
}

int mock_gateway_port(const struct mock_gateway *mg)
{
    return mg->port;
}

const char *mock_gateway_url(const struct mock_gateway *mg)
{
    return mg->url;
}

void mock_gateway_push(struct mock_gateway *mg, const struct mock_response *response)
{
    struct script_item *item = calloc(1, sizeof *item);
    if (!item)
        abort();
    answer_copy(&item->a, response);
    pthread_mutex_lock(&mg->mu);
    if (mg->tail)
        mg->tail->next = item;
    else
        mg->head = item;
    mg->tail = item;
    pthread_mutex_unlock(&mg->mu);
}

void mock_gateway_set_default(struct mock_gateway *mg, const struct mock_response *response)
{
    struct answer a = {0};
    if (response)
        answer_copy(&a, response);
    pthread_mutex_lock(&mg->mu);
    struct answer old = mg->def;
    mg->def = a;
    mg->has_default = response != NULL;
    pthread_mutex_unlock(&mg->mu);
    answer_clear(&old);
}

void mock_gateway_clear_script(struct mock_gateway *mg)
{
    pthread_mutex_lock(&mg->mu);
    struct script_item *item = mg->head;
    mg->head = mg->tail = NULL;
    pthread_mutex_unlock(&mg->mu);
    while (item) {
        struct script_item *next = item->next;
        answer_clear(&item->a);
        free(item);
        item = next;
    }
}

void mock_gateway_keep_requests(struct mock_gateway *mg, bool keep)
{
    pthread_mutex_lock(&mg->mu);
    mg->keep = keep;
    pthread_mutex_unlock(&mg->mu);
}

size_t mock_gateway_count(struct mock_gateway *mg)
{
    pthread_mutex_lock(&mg->mu);
    size_t n = mg->count;
    pthread_mutex_unlock(&mg->mu);
    return n;
}

int mock_gateway_max_concurrent(struct mock_gateway *mg)
{
    pthread_mutex_lock(&mg->mu);
    int n = mg->max_concurrent;
    pthread_mutex_unlock(&mg->mu);
    return n;
}

int mock_gateway_wait(struct mock_gateway *mg, size_t n, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&mg->mu);
    while (mg->count < n && rc == 0)
        rc = pthread_cond_timedwait(&mg->arrived, &mg->mu, &deadline);
    bool ok = mg->count >= n;
    pthread_mutex_unlock(&mg->mu);
    return ok ? 0 : -1;
}

int mock_gateway_request(struct mock_gateway *mg, size_t i, struct mock_request *out)
{
    int rc = -1;
    pthread_mutex_lock(&mg->mu);
    if (i < mg->n_reqs) {
        request_copy(out, &mg->reqs[i]);
        rc = 0;
    }
    pthread_mutex_unlock(&mg->mu);
    return rc;
}
