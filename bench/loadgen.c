/*
 * bench_loadgen: the load tool of the service benchmark (see bench/README.md).
 *
 * Sends pre-built HTTP POSTs (one per line of a file: path TAB signature TAB body, as
 * bench/gen_requests.py writes them) over C keep-alive HTTP/1.1 connections to one host,
 * for D seconds, either
 *
 * - open loop (--rate R > 0): request i is *scheduled* at t0 + i/R whatever happens to
 *   the earlier ones; it goes out on the first idle connection, and its latency is
 *   measured from its scheduled time, not from when a connection became free. A server
 *   that stalls therefore gets charged for every request that queued behind the stall
 *   (no coordinated omission, as in wrk2). Requests still unsent when D ends are reported
 *   as "late" (the server was not keeping up with R); or
 * - closed loop (--rate 0): each connection sends its next request as soon as the
 *   previous response is in, for the peak rate; latency is then measured from the send.
 *
 * One thread, raw non-blocking sockets driven by libevent (the precise timerfd timer, so
 * sub-millisecond schedules are honoured), a minimal response parser (status line,
 * Content-Length, Connection: close; no chunked bodies: none of the servers here send
 * them). Connections are opened before t0, so connect time is never measured. Every
 * latency is kept and sorted at the end, so the percentiles are exact.
 *
 * Output: a human summary on stderr and one machine line on stdout:
 *   RESULT sent=.. done=.. ok=.. non2xx=.. errors=.. late=.. secs=.. rate=.. ok_rate=..
 *          p50_ms=.. p90_ms=.. p99_ms=.. p999_ms=.. max_ms=.. mean_ms=.. next=.. wrapped=..
 *          exhausted=.. cpu_s=..
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define IN_MAX 16384 /* response headers must fit; bodies are skipped, any size */

struct request {
    const char *path, *sig, *body;
    size_t body_len;
};

enum conn_state { CONN_CONNECTING, CONN_IDLE, CONN_BUSY, CONN_DEAD };

struct conn {
    int id, fd;
    enum conn_state state;
    struct event *ev_read, *ev_write;
    char *out;
    size_t out_len, out_off;
    char in[IN_MAX];
    size_t in_len;
    bool headers_done, close_after;
    size_t body_left;
    int status;
    uint64_t sched_ns; /* latency origin of the request in flight */
    struct conn *next_idle;
};

static struct {
    /* settings */
    char host[256];
    int port;
    char host_header[300];
    const char *file;
    size_t start;
    int conns;
    double duration, rate, timeout;
    bool progress, no_wrap;
    /* the requests */
    struct request *reqs;
    size_t nreqs, out_cap;
    /* run */
    struct event_base *base;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct conn *cs;
    struct conn *idle;
    int connecting;
    struct event *ev_tick, *ev_end, *ev_grace, *ev_progress;
    uint64_t t0, t_end, t_last_done;
    bool started, sending_over, finished, exhausted;
    uint64_t planned, sent, done, ok, non2xx, errors, timeouts, reconnects;
    uint64_t status_hist[6]; /* 1xx..5xx, [0] other */
    uint64_t *lat;
    size_t nlat, lat_cap;
    uint64_t progress_done;
} g;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_loadgen: %s\n", what);
    exit(1);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_loadgen --url http://HOST:PORT --requests FILE [options]\n"
               "\n"
               "Sends the requests of FILE (one per line: PATH<TAB>SIGNATURE<TAB>FORM-BODY, as\n"
               "bench/gen_requests.py writes them; SIGNATURE '-' sends no X-Twilio-Signature) as\n"
               "HTTP/1.1 POSTs (application/x-www-form-urlencoded) over keep-alive connections.\n"
               "Lines are used in order from --start and wrap around at the end of the file\n"
               "(reported as wrapped=1: the MessageSids then repeat).\n"
               "\n"
               "options:\n"
               "  -u, --url URL        http://HOST:PORT (the path comes from each line)\n"
               "  -f, --requests FILE  the pre-built requests\n"
               "  -s, --start N        first line to use, 0-based (default 0)\n"
               "  -c, --connections C  connections (default 16)\n"
               "  -d, --duration S     seconds of sending (default 10)\n"
               "  -r, --rate R         open loop: R requests/s scheduled evenly, latency from\n"
               "                       the scheduled time; 0 = closed loop, as fast as the\n"
               "                       connections go, latency from the send (default 0)\n"
               "  -t, --timeout S      after the sending ends, wait at most S seconds for the\n"
               "                       responses in flight (default 10); the rest are timeouts\n"
               "  -n, --no-wrap        end the run early (exhausted=1) rather than reuse lines\n"
               "  -p, --progress       a line per second on stderr\n"
               "  -h, --help\n"
               "\n"
               "Prints a summary on stderr and one line on stdout:\n"
               "  RESULT sent= done= ok= non2xx= errors= late= secs= rate= ok_rate= p50_ms=\n"
               "         p90_ms= p99_ms= p999_ms= max_ms= mean_ms= next= wrapped= exhausted=\n"
               "         cpu_s=\n"
               "rate = responses/s and ok_rate = 2xx/s over [first send, last response];\n"
               "late = open-loop requests still unsent when the duration ended (the server\n"
               "did not keep up); next = the --start for a following run on the same file;\n"
               "cpu_s = this tool's own CPU time (user + system), to see what it took from the\n"
               "machine.\n");
}

/* ---- the requests file ---- */

static void load_requests(void)
{
    FILE *f = fopen(g.file, "rb");
    if (!f)
        die("cannot open the requests file");
    if (fseek(f, 0, SEEK_END) != 0)
        die("cannot seek the requests file");
    long size = ftell(f);
    if (size <= 0)
        die("empty requests file");
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
        die("cannot read the requests file");
    fclose(f);
    buf[size] = '\0';
    size_t cap = 1024;
    g.reqs = malloc(cap * sizeof *g.reqs);
    size_t longest = 0;
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len) {
            char *t1 = strchr(line, '\t');
            char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (!t2 || line[0] != '/')
                die("bad line in the requests file (want PATH<TAB>SIGNATURE<TAB>BODY)");
            *t1 = *t2 = '\0';
            if (g.nreqs == cap) {
                cap *= 2;
                g.reqs = realloc(g.reqs, cap * sizeof *g.reqs);
                if (!g.reqs)
                    die("out of memory");
            }
            struct request *r = &g.reqs[g.nreqs++];
            r->path = line;
            r->sig = strcmp(t1 + 1, "-") == 0 ? NULL : t1 + 1;
            r->body = t2 + 1;
            r->body_len = strlen(t2 + 1);
            if (len > longest)
                longest = len;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    if (!g.nreqs)
        die("no requests in the file");
    g.out_cap = longest + strlen(g.host_header) + 256;
}

static size_t format_request(char *out, const struct request *r)
{
    int n = snprintf(out, g.out_cap,
                     "POST %s HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/x-www-form-urlencoded\r\n"
                     "%s%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     r->path, g.host_header, r->sig ? "X-Twilio-Signature: " : "",
                     r->sig ? r->sig : "", r->sig ? "\r\n" : "", r->body_len);
    if (n < 0 || (size_t)n + r->body_len > g.out_cap)
        die("request too long");
    memcpy(out + n, r->body, r->body_len);
    return (size_t)n + r->body_len;
}

/* ---- connections ---- */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void dispatch(void);
static void maybe_finish(void);
static void end_sending(void);

static void conn_open(struct conn *c)
{
    c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket() failed");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = CONN_CONNECTING;
    c->in_len = 0;
    c->headers_done = c->close_after = false;
    c->out_len = c->out_off = 0;
    g.connecting++;
    if (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) != 0 && errno != EINPROGRESS) {
        perror("bench_loadgen: connect");
        exit(1);
    }
    c->ev_read = event_new(g.base, c->fd, EV_READ | EV_PERSIST, on_read, c);
    c->ev_write = event_new(g.base, c->fd, EV_WRITE, on_write, c);
    event_add(c->ev_write, NULL);
}

static void conn_close(struct conn *c)
{
    event_free(c->ev_read);
    event_free(c->ev_write);
    close(c->fd);
    c->fd = -1;
    c->state = CONN_DEAD;
}

static void make_idle(struct conn *c)
{
    c->state = CONN_IDLE;
    c->next_idle = g.idle;
    g.idle = c;
}

/* The connection broke: the request in flight (if any) is an error; open a new one. */
static void conn_fail(struct conn *c)
{
    bool was_busy = c->state == CONN_BUSY, was_connecting = c->state == CONN_CONNECTING;
    if (was_connecting)
        g.connecting--;
    if (c->state == CONN_IDLE) /* the server closed an idle connection */
        for (struct conn **pp = &g.idle; *pp; pp = &(*pp)->next_idle)
            if (*pp == c) {
                *pp = c->next_idle;
                break;
            }
    conn_close(c);
    if (was_busy) {
        g.errors++;
        g.done++;
    }
    if (was_connecting && !g.started)
        die("cannot connect");
    g.reconnects++;
    if (!g.sending_over)
        conn_open(c);
    maybe_finish();
}

static void conn_send(struct conn *c, uint64_t sched)
{
    size_t idx = (g.start + g.sent) % g.nreqs;
    c->out_len = format_request(c->out, &g.reqs[idx]);
    c->out_off = 0;
    c->sched_ns = sched;
    c->state = CONN_BUSY;
    c->in_len = 0;
    c->headers_done = c->close_after = false;
    c->body_left = 0;
    g.sent++;
    on_write(c->fd, EV_WRITE, c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct conn *c = arg;
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
            errno = err;
            perror("bench_loadgen: connect");
            conn_fail(c);
            return;
        }
        g.connecting--;
        event_add(c->ev_read, NULL);
        make_idle(c);
        if (g.started)
            dispatch();
        return;
    }
    while (c->out_off < c->out_len) {
        ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(c->ev_write, NULL);
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            conn_fail(c);
            return;
        }
    }
}

static void record(struct conn *c)
{
    uint64_t t = now_ns();
    g.done++;
    g.t_last_done = t;
    int cls = c->status / 100;
    g.status_hist[cls >= 1 && cls <= 5 ? cls : 0]++;
    if (cls == 2)
        g.ok++;
    else
        g.non2xx++;
    if (g.nlat == g.lat_cap) {
        g.lat_cap = g.lat_cap ? g.lat_cap * 2 : 65536;
        g.lat = realloc(g.lat, g.lat_cap * sizeof *g.lat);
        if (!g.lat)
            die("out of memory");
    }
    g.lat[g.nlat++] = t > c->sched_ns ? t - c->sched_ns : 0;
}

/* Parses the headers in c->in; returns 1 when complete, 0 when more is needed, -1 bad. */
static int parse_headers(struct conn *c)
{
    char *end = NULL;
    for (size_t i = 0; i + 3 < c->in_len; i++)
        if (c->in[i] == '\r' && c->in[i + 1] == '\n' && c->in[i + 2] == '\r' &&
            c->in[i + 3] == '\n') {
            end = c->in + i;
            break;
        }
    if (!end)
        return c->in_len >= IN_MAX ? -1 : 0;
    *end = '\0';
    if (strncmp(c->in, "HTTP/1.", 7) != 0 || strlen(c->in) < 12)
        return -1;
    c->status = atoi(c->in + 9);
    bool http10 = c->in[7] == '0';
    size_t clen = 0;
    bool have_clen = false, keep_alive = false;
    for (char *line = strstr(c->in, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "Content-Length:", 15) == 0) {
            clen = (size_t)strtoull(line + 15, NULL, 10);
            have_clen = true;
        } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            return -1; /* chunked: not needed here */
        } else if (strncasecmp(line, "Connection:", 11) == 0) {
            const char *v = line + 11;
            while (*v == ' ')
                v++;
            if (strncasecmp(v, "close", 5) == 0)
                c->close_after = true;
            else if (strncasecmp(v, "keep-alive", 10) == 0)
                keep_alive = true;
        }
    }
    if (http10 && !keep_alive)
        c->close_after = true;
    if (!have_clen && c->status != 204 && c->status != 304 && c->status >= 200)
        return -1; /* body delimited by close: unsupported */
    size_t hdr = (size_t)(end - c->in) + 4;
    size_t got = c->in_len - hdr;
    if (got > clen)
        return -1; /* pipelined extra bytes: we never pipeline */
    c->body_left = clen - got;
    c->headers_done = true;
    return 1;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct conn *c = arg;
    for (;;) {
        char skip[IN_MAX];
        char *dst = c->headers_done ? skip : c->in + c->in_len;
        size_t room = c->headers_done ? sizeof skip : IN_MAX - c->in_len;
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c->state != CONN_BUSY) {
            conn_fail(c); /* closed or reset, or bytes nobody asked for */
            return;
        }
        if (c->headers_done) {
            if ((size_t)n > c->body_left) {
                conn_fail(c);
                return;
            }
            c->body_left -= (size_t)n;
        } else {
            c->in_len += (size_t)n;
            int rc = parse_headers(c);
            if (rc < 0) {
                conn_fail(c);
                return;
            }
            if (rc == 0)
                continue;
        }
        if (c->headers_done && c->body_left == 0) {
            record(c);
            if (c->close_after) {
                conn_close(c);
                g.reconnects++;
                if (!g.sending_over)
                    conn_open(c);
            } else {
                make_idle(c);
            }
            dispatch();
            maybe_finish();
            return;
        }
    }
}

/* ---- scheduling ---- */

static uint64_t sched_of(uint64_t i)
{
    return g.t0 + (uint64_t)((double)i * 1e9 / g.rate);
}

/* Open loop: how many requests are due by time t (request 0 is due at t0). */
static uint64_t due_by(uint64_t t)
{
    if (t < g.t0)
        return 0;
    uint64_t n = (uint64_t)floor((double)(t - g.t0) * g.rate / 1e9) + 1;
    return n < g.planned ? n : g.planned;
}

static void arm_tick(void)
{
    if (g.rate <= 0 || g.sending_over || g.sent >= g.planned)
        return;
    uint64_t now = now_ns(), due = due_by(now);
    if (due > g.sent)
        return; /* a backlog: the next completion dispatches */
    uint64_t at = sched_of(due);
    uint64_t wait = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(wait / 1000000000ULL),
                         (suseconds_t)(wait % 1000000000ULL / 1000)};
    event_add(g.ev_tick, &tv);
}

static void dispatch(void)
{
    if (!g.started || g.sending_over)
        return;
    if (g.rate > 0) {
        uint64_t due = due_by(now_ns());
        while (g.idle && g.sent < due) {
            if (g.no_wrap && g.start + g.sent >= g.nreqs) {
                g.exhausted = true;
                end_sending();
                return;
            }
            struct conn *c = g.idle;
            g.idle = c->next_idle;
            conn_send(c, sched_of(g.sent));
        }
        arm_tick();
    } else {
        while (g.idle) {
            if (g.no_wrap && g.start + g.sent >= g.nreqs) {
                g.exhausted = true;
                end_sending();
                return;
            }
            struct conn *c = g.idle;
            g.idle = c->next_idle;
            conn_send(c, now_ns());
        }
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    dispatch();
    arm_tick();
}

static void maybe_finish(void)
{
    if (!g.sending_over || g.finished)
        return;
    for (int i = 0; i < g.conns; i++)
        if (g.cs[i].state == CONN_BUSY)
            return;
    g.finished = true;
    event_base_loopbreak(g.base);
}

/* No more sends: wait (at most --timeout) for the responses in flight. */
static void end_sending(void)
{
    if (g.sending_over)
        return;
    g.sending_over = true;
    event_del(g.ev_tick);
    event_del(g.ev_end);
    struct timeval tv = {(time_t)g.timeout, (suseconds_t)((g.timeout - floor(g.timeout)) * 1e6)};
    event_add(g.ev_grace, &tv);
    maybe_finish();
}

static void on_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (g.rate > 0)
        dispatch(); /* the last scheduled ones, if a connection is free */
    end_sending();
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (int i = 0; i < g.conns; i++)
        if (g.cs[i].state == CONN_BUSY) {
            g.timeouts++;
            g.done++;
        }
    g.finished = true;
    event_base_loopbreak(g.base);
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    double t = (double)(now_ns() - g.t0) / 1e9;
    fprintf(stderr, "  t=%5.1fs  %6llu responses/s  (sent %llu, backlog %lld)\n", t,
            (unsigned long long)(g.done - g.progress_done), (unsigned long long)g.sent,
            g.rate > 0 ? (long long)due_by(now_ns()) - (long long)g.sent : 0LL);
    g.progress_done = g.done;
}

static void on_startup_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (g.connecting == 0)
        event_base_loopbreak(g.base);
}

/* ---- main ---- */

static void parse_url(const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        die("--url must be http://HOST:PORT");
    const char *h = url + 7;
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= sizeof g.host)
        die("bad host in --url");
    memcpy(g.host, h, hl);
    g.host[hl] = '\0';
    g.port = 80;
    if (h[hl] == ':')
        g.port = atoi(h + hl + 1);
    if (g.port <= 0 || g.port > 65535)
        die("bad port in --url");
    snprintf(g.host_header, sizeof g.host_header, "%s:%d", g.host, g.port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    char port[16];
    snprintf(port, sizeof port, "%d", g.port);
    if (getaddrinfo(g.host, port, &hints, &ai) != 0)
        die("cannot resolve the host of --url");
    memcpy(&g.addr, ai->ai_addr, ai->ai_addrlen);
    g.addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (!g.nlat)
        return 0;
    size_t i = (size_t)ceil(p / 100.0 * (double)g.nlat);
    if (i > 0)
        i--;
    if (i >= g.nlat)
        i = g.nlat - 1;
    return (double)g.lat[i] / 1e6;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"requests", required_argument, NULL, 'f'},
                                         {"start", required_argument, NULL, 's'},
                                         {"connections", required_argument, NULL, 'c'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"progress", no_argument, NULL, 'p'},
                                         {"no-wrap", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL;
    g.conns = 16;
    g.duration = 10;
    g.timeout = 10;
    int o;
    while ((o = getopt_long(argc, argv, "u:f:s:c:d:r:t:pnh", opts, NULL)) != -1) {
        switch (o) {
        case 'u':
            url = optarg;
            break;
        case 'f':
            g.file = optarg;
            break;
        case 's':
            g.start = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'c':
            g.conns = atoi(optarg);
            break;
        case 'd':
            g.duration = atof(optarg);
            break;
        case 'r':
            g.rate = atof(optarg);
            break;
        case 't':
            g.timeout = atof(optarg);
            break;
        case 'p':
            g.progress = true;
            break;
        case 'n':
            g.no_wrap = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!url || !g.file || optind != argc || g.conns < 1 || g.conns > 10000 || g.duration <= 0 ||
        g.rate < 0 || g.timeout < 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    parse_url(url);
    load_requests();

    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    g.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!g.base)
        die("event_base_new failed");

    /* Connect everything first. */
    g.cs = calloc((size_t)g.conns, sizeof *g.cs);
    for (int i = 0; i < g.conns; i++) {
        g.cs[i].id = i;
        g.cs[i].out = malloc(g.out_cap);
        if (!g.cs[i].out)
            die("out of memory");
        conn_open(&g.cs[i]);
    }
    struct event *ev_check = event_new(g.base, -1, EV_PERSIST, on_startup_check, NULL);
    struct timeval ms1 = {0, 1000};
    event_add(ev_check, &ms1);
    event_base_dispatch(g.base);
    event_free(ev_check);

    g.ev_tick = evtimer_new(g.base, on_tick, NULL);
    g.ev_end = evtimer_new(g.base, on_end, NULL);
    g.ev_grace = evtimer_new(g.base, on_grace, NULL);
    if (g.rate > 0)
        g.planned = (uint64_t)llround(g.rate * g.duration);
    g.started = true;
    g.t0 = now_ns();
    struct timeval dur = {(time_t)g.duration,
                          (suseconds_t)((g.duration - floor(g.duration)) * 1e6)};
    event_add(g.ev_end, &dur);
    if (g.progress) {
        g.ev_progress = event_new(g.base, -1, EV_PERSIST, on_progress, NULL);
        struct timeval s1 = {1, 0};
        event_add(g.ev_progress, &s1);
    }
    dispatch();
    event_base_dispatch(g.base);
    uint64_t t_stop = g.t_last_done > g.t0 ? g.t_last_done : now_ns();

    qsort(g.lat, g.nlat, sizeof *g.lat, cmp_u64);
    double secs = (double)(t_stop - g.t0) / 1e9;
    double sum = 0;
    for (size_t i = 0; i < g.nlat; i++)
        sum += (double)g.lat[i];
    double mean = g.nlat ? sum / (double)g.nlat / 1e6 : 0;
    uint64_t late = g.rate > 0 && g.planned > g.sent ? g.planned - g.sent : 0;
    bool wrapped = g.start + g.sent > g.nreqs;
    double rate = secs > 0 ? (double)(g.done - g.timeouts - g.errors) / secs : 0;
    double ok_rate = secs > 0 ? (double)g.ok / secs : 0;

    fprintf(stderr,
            "bench_loadgen: %s loop, %d connections, %.1f s, %s\n"
            "  sent %llu, responses %llu: 2xx %llu, non-2xx %llu (1xx %llu 3xx %llu 4xx %llu "
            "5xx %llu other %llu), errors %llu, timeouts %llu, reconnects %llu\n"
            "  %.0f responses/s, %.0f 2xx/s over %.2f s%s\n"
            "  latency (%s): p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms"
            "  mean %.3f ms\n",
            g.rate > 0 ? "open" : "closed", g.conns, g.duration, url, (unsigned long long)g.sent,
            (unsigned long long)(g.done - g.errors - g.timeouts), (unsigned long long)g.ok,
            (unsigned long long)g.non2xx, (unsigned long long)g.status_hist[1],
            (unsigned long long)g.status_hist[3], (unsigned long long)g.status_hist[4],
            (unsigned long long)g.status_hist[5], (unsigned long long)g.status_hist[0],
            (unsigned long long)g.errors, (unsigned long long)g.timeouts,
            (unsigned long long)g.reconnects, rate, ok_rate, secs,
            wrapped       ? " (WRAPPED: requests were reused)"
            : g.exhausted ? " (the requests file ran out: ended early)"
                          : "",
            g.rate > 0 ? "from the scheduled send time" : "from the send", pct_ms(50), pct_ms(90),
            pct_ms(99), pct_ms(99.9), g.nlat ? (double)g.lat[g.nlat - 1] / 1e6 : 0, mean);
    if (g.rate > 0)
        fprintf(stderr, "  target %.0f/s: %llu planned, %llu late (never sent: not kept up)\n",
                g.rate, (unsigned long long)g.planned, (unsigned long long)late);
    printf("RESULT sent=%llu done=%llu ok=%llu non2xx=%llu errors=%llu late=%llu secs=%.3f "
           "rate=%.1f ok_rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
           "max_ms=%.3f mean_ms=%.3f next=%llu wrapped=%d exhausted=%d cpu_s=%.3f\n",
           (unsigned long long)g.sent, (unsigned long long)(g.done - g.errors - g.timeouts),
           (unsigned long long)g.ok, (unsigned long long)g.non2xx,
           (unsigned long long)(g.errors + g.timeouts), (unsigned long long)late, secs, rate,
           ok_rate, pct_ms(50), pct_ms(90), pct_ms(99), pct_ms(99.9),
           g.nlat ? (double)g.lat[g.nlat - 1] / 1e6 : 0, mean,
           (unsigned long long)(g.start + g.sent), wrapped ? 1 : 0, g.exhausted ? 1 : 0,
           cpu_seconds());
    return 0;
}
