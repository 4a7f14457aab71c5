/*
 * bench_mock_twilio: a fast stand-in for Twilio's Messages API, for the service benchmark.
 * One evhttp thread, nothing stored but counters.
 *
 *   POST /2010-04-01/Accounts/{AC...}/Messages.json
 *       201 with a Message resource shaped like Twilio's ({"sid": "SM<32 hex>", "status":
 *       "queued", ...}, a fresh sid each time). Needs Basic auth and the form fields To,
 *       From and Body; without them: 401 or 400 (Twilio's error JSON) and counted as bad.
 *   GET /count
 *       {"count": N, "bad": B, "first": T, "last": T, "rate": R}: N accepted sends, T the
 *       wall-clock time (Unix seconds, microsecond precision) of the first and last one,
 *       R = (N - 1) / (last - first) sends per second (0 when fewer than two).
 *   POST /reset
 *       zeroes the counters (a new phase of the benchmark).
 *   POST /hooks/chat
 *       a Slack-style chat webhook: 200 "ok", counted as "chat" in /count.
 *   GET /pages
 *       with --staff: one line per accepted send whose To is a staff number, in arrival
 *       order: "<arrival, Unix seconds with microseconds> <To> <texter>", the texter being
 *       the number after "Texter " in the page body ("-" when none, e.g. a relay). This
 *       is how bench/escalation.sh times webhook -> page.
 *
 * Usage: bench_mock_twilio PORT [--staff +1...,+1...]
 *        (listens on 127.0.0.1; SIGINT/SIGTERM stop it)
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define PATH_PREFIX "/2010-04-01/Accounts/"
#define PATH_SUFFIX "/Messages.json"
#define BODY_MAX (64 * 1024)

#define MAX_STAFF 16
#define NUMBER_MAX 24

struct page {
    double t;
    char to[NUMBER_MAX], texter[NUMBER_MAX];
};

static struct {
    uint64_t count, bad, serial, seed, chat;
    double first, last;
    char staff[MAX_STAFF][NUMBER_MAX];
    int nstaff;
    struct page *pages;
    size_t npages, pages_cap;
} st;

static double now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Unique within the process: the high half is a per-process random, the low half a
 * bijective scramble of the serial number. */
static void new_sid(char out[35])
{
    uint64_t lo = splitmix64(++st.serial); /* splitmix64 is a bijection of its input */
    snprintf(out, 35, "SM%016llx%016llx", (unsigned long long)st.seed, (unsigned long long)lo);
}

static void reply_json(struct evhttp_request *req, int code, const char *reason,
                       struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json; charset=utf-8");
    evhttp_send_reply(req, code, reason, body);
}

static void twilio_error(struct evhttp_request *req, int status, int code, const char *message)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b,
                        "{\"code\": %d, \"message\": \"%s\", \"more_info\": "
                        "\"https://www.twilio.com/docs/errors/%d\", \"status\": %d}",
                        code, message, code, status);
    st.bad++;
    reply_json(req, status, status == 401 ? "Unauthorized" : "Bad Request", b);
    evbuffer_free(b);
}

/* E.164 or short code: safe to echo into JSON without escaping. */
static int plain_number(const char *s)
{
    if (!s || !*s || strlen(s) > 20)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (p == s && *p == '+')))
            return 0;
    return 1;
}

static int is_staff(const char *to)
{
    for (int i = 0; i < st.nstaff; i++)
        if (strcmp(st.staff[i], to) == 0)
            return 1;
    return 0;
}

/* A page reached the mock at t: keep when, to whom, and about which texter. */
static void record_page(double t, const char *to, const char *text)
{
    if (st.npages == st.pages_cap) {
        size_t cap = st.pages_cap ? st.pages_cap * 2 : 4096;
        struct page *grown = realloc(st.pages, cap * sizeof *grown);
        if (!grown)
            return;
        st.pages = grown;
        st.pages_cap = cap;
    }
    struct page *p = &st.pages[st.npages++];
    p->t = t;
    snprintf(p->to, sizeof p->to, "%s", to);
    const char *at = strstr(text, "Texter ");
    size_t n = at ? strspn(at + 7, "+0123456789") : 0;
    if (n == 0 || n >= sizeof p->texter)
        snprintf(p->texter, sizeof p->texter, "-");
    else
        snprintf(p->texter, sizeof p->texter, "%.*s", (int)n, at + 7);
}

static void on_send(struct evhttp_request *req, const char *path)
{
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!auth || strncmp(auth, "Basic ", 6) != 0) {
        twilio_error(req, 401, 20003, "Authenticate");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > BODY_MAX) {
        twilio_error(req, 400, 21617, "The concatenated message body exceeds the limit");
        return;
    }
    char *form = malloc(n + 1);
    if (!form) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_copyout(in, form, n);
    form[n] = '\0';
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(form, &q) != 0) {
        free(form);
        twilio_error(req, 400, 21604, "Malformed form body");
        return;
    }
    const char *to = evhttp_find_header(&q, "To");
    const char *from = evhttp_find_header(&q, "From");
    const char *text = evhttp_find_header(&q, "Body");
    if (!to || !*to) {
        twilio_error(req, 400, 21604, "A 'To' phone number is required.");
    } else if (!from || !*from) {
        twilio_error(req, 400, 21603, "A 'From' phone number is required.");
    } else if (!text || !*text) {
        twilio_error(req, 400, 21602, "Message body is required.");
    } else {
        char sid[35];
        new_sid(sid);
        /* {AC...} from the path: prefix + 34 chars + suffix, checked by the caller. */
        char account[35];
        snprintf(account, sizeof account, "%.34s", path + strlen(PATH_PREFIX));
        double t = now_unix();
        if (st.nstaff && is_staff(to))
            record_page(t, to, text);
        if (st.count == 0)
            st.first = t;
        st.last = t;
        st.count++;
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(
            b,
            "{\"account_sid\": \"%s\", \"api_version\": \"2010-04-01\", \"body\": null, "
            "\"date_created\": null, \"date_sent\": null, \"date_updated\": null, "
            "\"direction\": \"outbound-api\", \"error_code\": null, \"error_message\": null, "
            "\"from\": \"%s\", \"messaging_service_sid\": null, \"num_media\": \"0\", "
            "\"num_segments\": \"1\", \"price\": null, \"price_unit\": \"USD\", "
            "\"sid\": \"%s\", \"status\": \"queued\", \"to\": \"%s\", "
            "\"uri\": \"/2010-04-01/Accounts/%s/Messages/%s.json\"}",
            account, plain_number(from) ? from : "", sid, plain_number(to) ? to : "", account, sid);
        reply_json(req, 201, "Created", b);
        evbuffer_free(b);
    }
    evhttp_clear_headers(&q);
    free(form);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (!path)
        path = "";
    size_t len = strlen(path), pre = strlen(PATH_PREFIX), suf = strlen(PATH_SUFFIX);
    if (cmd == EVHTTP_REQ_POST && len == pre + 34 + suf && strncmp(path, PATH_PREFIX, pre) == 0 &&
        strcmp(path + pre + 34, PATH_SUFFIX) == 0 && strncmp(path + pre, "AC", 2) == 0) {
        on_send(req, path);
    } else if (cmd == EVHTTP_REQ_GET && strcmp(path, "/count") == 0) {
        struct evbuffer *b = evbuffer_new();
        double span = st.last - st.first;
        evbuffer_add_printf(b,
                            "{\"count\": %llu, \"bad\": %llu, \"first\": %.6f, \"last\": %.6f, "
                            "\"rate\": %.1f, \"pages\": %zu, \"chat\": %llu}\n",
                            (unsigned long long)st.count, (unsigned long long)st.bad, st.first,
                            st.last, st.count > 1 && span > 0 ? (double)(st.count - 1) / span : 0.0,
                            st.npages, (unsigned long long)st.chat);
        reply_json(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (cmd == EVHTTP_REQ_GET && strcmp(path, "/pages") == 0) {
        struct evbuffer *b = evbuffer_new();
        for (size_t i = 0; i < st.npages; i++)
            evbuffer_add_printf(b, "%.6f %s %s\n", st.pages[i].t, st.pages[i].to,
                                st.pages[i].texter);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/hooks/chat") == 0) {
        st.chat++;
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "ok");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (cmd == EVHTTP_REQ_POST && strcmp(path, "/reset") == 0) {
        st.count = st.bad = st.chat = 0;
        st.npages = 0;
        st.first = st.last = 0;
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"count\": 0}\n");
        reply_json(req, 200, "OK", b);
        evbuffer_free(b);
    } else {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"code\": 20404, \"message\": \"The requested resource was "
                               "not found\", \"status\": 404}");
        reply_json(req, 404, "Not Found", b);
        evbuffer_free(b);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    bool staff_arg = argc == 4 && strcmp(argv[2], "--staff") == 0;
    if ((argc != 2 && !staff_arg) || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        bool help = argc == 2;
        fprintf(help ? stdout : stderr,
                "usage: bench_mock_twilio PORT [--staff +1...,+1...]\n"
                "Mock Twilio Messages API on 127.0.0.1:PORT:\n"
                "  POST /2010-04-01/Accounts/AC.../Messages.json  201 {\"sid\": \"SM...\", "
                "\"status\": \"queued\", ...}\n"
                "  GET  /count   {\"count\", \"bad\", \"first\", \"last\", \"rate\", "
                "\"pages\", \"chat\"}\n"
                "  GET  /pages   one line per send to a --staff number: time To texter\n"
                "  POST /hooks/chat  a chat webhook: 200 ok, counted\n"
                "  POST /reset   zero the counters and forget the pages\n");
        return help ? 0 : 2;
    }
    if (staff_arg) {
        for (char *tok = strtok(argv[3], ","); tok; tok = strtok(NULL, ",")) {
            if (st.nstaff == MAX_STAFF || strlen(tok) >= NUMBER_MAX) {
                fprintf(stderr, "bench_mock_twilio: too many or too long --staff numbers\n");
                return 2;
            }
            snprintf(st.staff[st.nstaff++], NUMBER_MAX, "%s", tok);
        }
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end || port < 1 || port > 65535) {
        fprintf(stderr, "bench_mock_twilio: bad port '%s'\n", argv[1]);
        return 2;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    st.seed = splitmix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid());
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http || evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
        fprintf(stderr, "bench_mock_twilio: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    evhttp_set_max_body_size(http, BODY_MAX + 1);
    evhttp_set_gencb(http, on_request, NULL);
    struct event *ev_int = evsignal_new(base, SIGINT, on_signal, base);
    struct event *ev_term = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(ev_int, NULL);
    event_add(ev_term, NULL);
    fprintf(stderr, "bench_mock_twilio: listening on 127.0.0.1:%ld\n", port);
    event_base_dispatch(base);
    fprintf(stderr, "bench_mock_twilio: %llu sends, %llu bad\n", (unsigned long long)st.count,
            (unsigned long long)st.bad);
    event_free(ev_int);
    event_free(ev_term);
    evhttp_free(http);
    event_base_free(base);
    free(st.pages);
    return 0;
}
