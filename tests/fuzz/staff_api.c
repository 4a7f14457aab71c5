/*
 * fuzz staff_api: raw bytes, as a client may send them, to the real evhttp server of
 * `hotline serve` in this process: the staff API's request handling (routing, the
 * {id} and path parsing, the bearer token, the JSON or form body of a reply, the token
 * check and the action in the store, the event stream), and on the way every other
 * route, since one router takes every request.
 *
 * Built once in LLVMFuzzerInitialize, as service.c assembles it: the repo's replies/,
 * the matcher with its word lists, a store in a temporary folder (under /dev/shm when
 * there is one), the metrics and the server on 127.0.0.1 with a kernel-chosen port. It
 * runs in local mode (no credentials: webhooks need no signature, so the fuzzer reaches
 * the store through them too; fuzz_webhook covers the signature check). One staff member
 * is on call with the fixed token below (the dictionary knows it), and two escalations
 * are open (#1 urgent, #2 standard), so ack, reply, close and show have something to act
 * on.
 *
 * Each input is one TCP connection: the bytes are written as they are (pipelined
 * requests, a truncated header, a lying Content-Length...), the loop runs until the
 * server has nothing pending and nothing more arrives, then the client half-closes and
 * the loop runs until the server closes the connection. A server that never closes it
 * after EOF is reported as a hang (abort). The client closes with a reset (SO_LINGER 0)
 * and connects from addresses that change (127.0.0.2-254), so that a long run does not
 * run out of ephemeral ports.
 *
 * Property: the first response is never a 5xx other than 501 (evhttp's answer to an
 * unknown method) and 503 (shutting down, store unavailable): a 500 means a request
 * reached a state the server did not expect.
 * Set HOTLINE_FUZZ_LOG=debug to see the server's log lines.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "hotline/config.h"
#include "hotline/log.h"
#include "hotline/matcher.h"
#include "hotline/metrics.h"
#include "hotline/replies.h"
#include "hotline/server.h"
#include "hotline/staff.h"
#include "hotline/store.h"

#define STAFF_TOKEN "hlt_f00df00df00df00df00df00df00df00df00df00d"
#define INPUT_MAX_BYTES (256 * 1024)
#define QUIET_PASSES 3
#define HANG_MS 5000 /* under libFuzzer's -timeout=10 of run.sh: the message is ours */

static struct {
    char dir[256];
    struct config cfg;
    struct replies *replies;
    struct matcher *matcher;
    struct event_base *base;
    struct store *store;
    struct metrics metrics;
    struct server *server;
    int port;
} g;

/* One connection's client side. */
struct client {
    int fd;
    const uint8_t *out;
    size_t out_len, out_at;
    char head[24]; /* the first bytes answered: "HTTP/1.1 200" */
    size_t head_len;
    size_t received;
    bool eof;
    struct event *rd, *wr;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct client *c = arg;
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            size_t take = (size_t)n;
            if (take > sizeof c->head - c->head_len)
                take = sizeof c->head - c->head_len;
            memcpy(c->head + c->head_len, buf, take);
            c->head_len += take;
            c->received += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c->eof = true; /* closed (or reset) by the server */
            event_del(c->rd);
        }
        return;
    }
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct client *c = arg;
    while (c->out_at < c->out_len) {
        ssize_t n = send(fd, c->out + c->out_at, c->out_len - c->out_at, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_at += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;             /* EV_PERSIST: called again when there is room */
        c->out_at = c->out_len; /* the server closed on us: nothing more to send */
    }
    event_del(c->wr);
}

/*
 * Sends data on a fresh connection and runs the loop until the server closed it.
 * Writes the first bytes of the first response into head (NUL-terminated). Returns
 * false when the server never closed it (a hang).
 */
static bool exchange(const uint8_t *data, size_t size, char head[24])
{
    struct client c = {.out = data, .out_len = size};
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
        abort();
    struct linger lg = {1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    /* The server closes first (after the client's EOF), so each connection leaves a
     * TIME_WAIT on its side for a minute; spreading the clients over 127.0.0.2-254 gives
     * 250 times the ephemeral ports one source address has. */
    static unsigned next_source;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + next_source++ % 253);
    int one = 1; /* the port is picked at connect, for the pair of addresses */
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Non-blocking first: libFuzzer's once-a-second SIGALRM must not interrupt a connect
     * (EINTR); an unfinished connect completes in the loop like any write. */
    evutil_make_socket_nonblocking(c.fd);
    if (bind(c.fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(c.fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS &&
         errno != EINTR)) {
        fprintf(stderr, "fuzz_staff_api: connect: %s\n", strerror(errno));
        abort();
    }
    c.rd = event_new(g.base, c.fd, EV_READ | EV_PERSIST, on_readable, &c);
    c.wr = event_new(g.base, c.fd, EV_WRITE | EV_PERSIST, on_writable, &c);
    if (!c.rd || !c.wr)
        abort();
    event_add(c.rd, NULL);
    if (size)
        event_add(c.wr, NULL);

    /* Until everything is written and the server is quiet: nothing waiting for the
     * store, nothing being answered, and no new bytes for a few passes. */
    int64_t deadline = now_ms() + HANG_MS;
    int quiet = 0;
    size_t seen = 0;
    while (quiet < QUIET_PASSES && !c.eof && now_ms() < deadline) {
        bool waiting = server_pending(g.server) > 0;
        event_base_loop(g.base, waiting ? EVLOOP_ONCE : EVLOOP_NONBLOCK);
        bool idle = c.out_at == c.out_len && server_pending(g.server) == 0 &&
                    server_busy(g.server) == 0 && c.received == seen;
        quiet = idle ? quiet + 1 : 0;
        seen = c.received;
    }
    /* Then the client is done sending; the server must close the connection. */
    shutdown(c.fd, SHUT_WR);
    while (!c.eof && now_ms() < deadline)
        event_base_loop(g.base, EVLOOP_ONCE);
    /* Whatever the server still owes the store finishes before the next input. */
    while (server_pending(g.server) > 0 && now_ms() < deadline)
        event_base_loop(g.base, EVLOOP_ONCE);

    bool closed = c.eof;
    event_free(c.rd);
    event_free(c.wr);
    close(c.fd);
    memcpy(head, c.head, c.head_len);
    head[c.head_len < 23 ? c.head_len : 23] = '\0';
    return closed;
}

static void send_text(const char *sid, const char *from, const char *text)
{
    char body[512], req[1024], head[24] = "";
    snprintf(body, sizeof body, "MessageSid=%s&From=%%2B%s&To=%%2B19497633440&Body=%s", sid, from,
             text);
    snprintf(req, sizeof req,
             "POST /webhooks/twilio/messages HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    if (!exchange((const uint8_t *)req, strlen(req), head) || strncmp(head, "HTTP/1.1 200", 12)) {
        fprintf(stderr, "fuzz_staff_api: the seed text was not accepted (%s)\n", head);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    const char *lv = getenv("HOTLINE_FUZZ_LOG");
    log_set_level(lv && strcmp(lv, "debug") == 0 ? LOG_DEBUG : LOG_ERROR);

    snprintf(g.dir, sizeof g.dir, "%s", fuzz_tmpdir("http"));
    char data_env[300];
    snprintf(data_env, sizeof data_env, "HOTLINE_DATA_DIR=%s/data", g.dir);
    char *envp[] = {"HOTLINE_LISTEN=127.0.0.1:0", data_env,
                    "HOTLINE_REPLIES=" HOTLINE_SOURCE_DIR "/replies", NULL};
    if (config_load(&g.cfg, NULL, envp, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_staff_api: %s\n", err);
        abort();
    }

    if (!(g.replies = replies_load(g.cfg.replies, NULL, NULL)) ||
        !(g.matcher = matcher_new_with_dictionaries(g.replies, NULL, NULL)) ||
        evthread_use_pthreads() != 0 || !(g.base = event_base_new()))
        abort();
    if (!(g.store = store_open(g.base, g.cfg.data_dir, NULL, err, sizeof err))) {
        fprintf(stderr, "fuzz_staff_api: %s\n", err);
        abort();
    }

    /* alice, on call, whose token is STAFF_TOKEN. */
    struct sqlite3 *db = store_open_direct(g.cfg.data_dir, err, sizeof err);
    char token[STAFF_TOKEN_SIZE], hash[65], sql[256];
    if (!db || staff_add(db, "alice", "+15550009001", true, token, err, sizeof err) != 0 ||
        staff_token_hash(STAFF_TOKEN, hash) != 0)
        abort();
    snprintf(sql, sizeof sql, "UPDATE staff SET token_hash = '%s' WHERE name = 'alice'", hash);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        abort();
    sqlite3_close(db);

    metrics_init(&g.metrics);
    struct server_settings ss = {.cfg = &g.cfg,
                                 .replies = g.replies,
                                 .matcher = g.matcher,
                                 .store = g.store,
                                 .metrics = &g.metrics};
    char addr[80];
    if (!(g.server = server_new(g.base, &ss, err, sizeof err)) ||
        server_listen(g.server, "127.0.0.1", 0, addr, sizeof addr, &g.port, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_staff_api: %s\n", err);
        abort();
    }

    /* Escalation #1 (urgent) and #2 (standard), from two texters. */
    send_text("SM00000000000000000000000000000001", "15550001111",
              "my+friend+took+too+much+and+is+not+breathing");
    send_text("SM00000000000000000000000000000002", "15550002222", "can+I+talk+to+a+person%3F");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX_BYTES)
        return 0;
    char head[24] = "";
    if (!exchange(data, size, head)) {
        fprintf(stderr, "fuzz_staff_api: the server did not close the connection after EOF\n");
        abort();
    }
    /* "HTTP/1.1 5xx": only 501 (evhttp, for a method it does not know: RFC 9110 15.6.2)
     * and 503 are answers the server means to give. evhttp echoes the request's version,
     * however odd ("HTTP/1.125"), so the code is what follows the first space. */
    const char *code = strncmp(head, "HTTP/", 5) == 0 ? strchr(head, ' ') : NULL;
    if (code && code[1] == '5')
        FUZZ_CHECK(strncmp(code + 1, "501", 3) == 0 || strncmp(code + 1, "503", 3) == 0);
    return 0;
}
