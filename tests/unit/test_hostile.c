/*
 * test_hostile: malformed and hostile requests against the running service, one test per
 * row of a table, and after each row the three promises that matter under attack:
 *
 *   1. the row gets its clear status (a 4xx; 501 for a method nobody implements, as
 *      RFC 9110 15.6.2 says; or, for a client that stalls, a closed connection),
 *   2. nothing was stored (every table's row count and every escalation's state are as
 *      before) and nothing reached the gateway (the mock's request count is unchanged),
 *   3. a valid signed webhook, from a new texter, still gets 200 and its reply at the
 *      mock, and it is the only request the mock saw since the row (an unwanted send
 *      queued by the row would have reached it first).
 *
 * One `hotline serve` process (service_fixture's, started once for the group: with Twilio
 * credentials, so signatures are checked; its outbox pointed at the fixture's
 * mock_gateway) serves the whole table, so it must keep answering throughout, including
 * while two slow clients hold connections open from the first rows to the last: one
 * sends its headers a byte at a time and then stalls, one announces a body it never
 * finishes. The last row checks that evhttp's timeout (SERVER_TIMEOUT_S, counted from the
 * client's last byte) closed both without an answer. Setup adds a staff member (alice, on
 * call, with an API token) and an urgent escalation (#1), so the staff rows have
 * something to act on and "nothing stored" also means "not acknowledged, not viewed, not
 * answered".
 *
 * Requests are raw bytes over a TCP socket (built here, signed with the fixture's
 * sign_form), since most rows are things curl would not send. Duplicate parameters:
 * Twilio sends each single-valued field once (gateways.md section 1 lists them; only
 * media come as numbered lists), so a duplicate MessageSid, AccountSid, From, To, Body,
 * NumMedia, NumSegments or OptOutType is a 400 even when signed; so is a duplicate "text"
 * of a staff reply. The table and the reasons are also in tests/fuzz/README.md.
 */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hotline/form.h"
#include "hotline/server.h"
#include "hotline/staff.h"
#include "hotline/twilio.h"
#include "service_fixture.h"

#define MESSAGES "/webhooks/twilio/messages"
#define STATUS "/webhooks/twilio/status"
#define FORM_TYPE "application/x-www-form-urlencoded"

/* ---- the service, for the whole group ---- */

static struct {
    struct fx *fx;
    char token[STAFF_TOKEN_SIZE]; /* alice's */
    char *last_valid;             /* the last valid webhook, as sent, for the replay row */
    size_t last_valid_len;
    int slow_fd[2];     /* the two stalled clients */
    int64_t slow_ms[2]; /* when each sent its last byte */
} H = {.slow_fd = {-1, -1}};

/* A growable byte buffer for building requests. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_add(struct buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_fmt(struct buf *b, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    char *tmp = malloc((size_t)n + 1);
    assert_non_null(tmp);
    vsnprintf(tmp, (size_t)n + 1, fmt, again);
    va_end(again);
    buf_add(b, tmp, (size_t)n);
    free(tmp);
}

/* ---- raw HTTP ---- */

/* Sends everything it can; a server that closed on us early is not an error here. */
static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/*
 * Reads one response (skipping 1xx) and returns its status: 0 when the server closed the
 * connection without answering, -1 when nothing complete came within timeout_ms. The
 * body goes to *body (caller frees) when body is not NULL.
 */
static int read_response(int fd, int timeout_ms, char **body)
{
    struct buf in = {0};
    int64_t deadline = now_ms() + timeout_ms;
    int status = -1;
    for (;;) {
        /* A complete response in hand? */
        char *end = in.p ? strstr(in.p, "\r\n\r\n") : NULL;
        if (end) {
            int code = 0;
            if (sscanf(in.p, "HTTP/%*d.%*d %d", &code) != 1)
                fail_msg("not an HTTP response: %.60s", in.p);
            size_t head = (size_t)(end - in.p) + 4;
            if (code >= 100 && code < 200) {
                memmove(in.p, in.p + head, in.len - head + 1);
                in.len -= head;
                continue;
            }
            long clen = 0;
            const char *cl = strstr(in.p, "\r\nContent-Length:") /* as evhttp writes it */;
            if (cl && cl < end)
                clen = strtol(cl + 17, NULL, 10);
            if (in.len >= head + (size_t)clen) {
                status = code;
                if (body)
                    *body = strndup(in.p + head, (size_t)clen);
                break;
            }
        }
        int left = (int)(deadline - now_ms());
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        char chunk[16384];
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r <= 0) {
            if (in.len == 0)
                status = 0;
            break;
        }
        buf_add(&in, chunk, (size_t)r);
    }
    free(in.p);
    return status;
}

/* One request on a fresh connection; returns the status (see read_response). */
static int exchange(const struct buf *req, char **body)
{
    int fd = connect_service(H.fx);
    send_all(fd, req->p, req->len);
    int status = read_response(fd, WAIT_MS, body);
    close(fd);
    return status;
}

/* ---- building requests ---- */

/* The signature Twilio would send for pairs posted to path. */
static void sign(const char *path, const struct form_pair *pairs, size_t n,
                 char sig[TWILIO_SIGNATURE_LEN + 1])
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", H.fx->base_url, path);
    sign_form(TOKEN, url, pairs, n, sig);
}

/* A request head: method, target, Host, then Content-Type (when ctype is not NULL). The
 * caller adds any other header, then ends it with end_head or a body. */
static void head(struct buf *b, const char *method, const char *target, const char *ctype)
{
    buf_fmt(b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target);
    if (ctype)
        buf_fmt(b, "Content-Type: %s\r\n", ctype);
}

/* Content-Length, the blank line and the body. */
static void body_bytes(struct buf *b, const char *body, size_t n)
{
    buf_fmt(b, "Content-Length: %zu\r\n\r\n", n);
    buf_add(b, body, n);
}

/* A form POST of pairs to path, with Twilio's signature of them when signed_request. */
static void form_post(struct buf *b, const char *path, const struct form_pair *pairs, size_t n,
                      bool signed_request)
{
    head(b, "POST", path, FORM_TYPE);
    if (signed_request) {
        char sig[TWILIO_SIGNATURE_LEN + 1];
        sign(path, pairs, n, sig);
        buf_fmt(b, "X-Twilio-Signature: %s\r\n", sig);
    }
    char *body = form_encode(pairs, n);
    assert_non_null(body);
    body_bytes(b, body, strlen(body));
    free(body);
}

/* The five fields of an inbound text. */
static void text_fields(struct form_pair p[5], const char *sid, const char *from, const char *text)
{
    p[0] = (struct form_pair){"MessageSid", sid};
    p[1] = (struct form_pair){"AccountSid", SID};
    p[2] = (struct form_pair){"From", from};
    p[3] = (struct form_pair){"To", HOTLINE};
    p[4] = (struct form_pair){"Body", text};
}

/* ---- the store, read-only ---- */

/* Every table's row count and every escalation's state, as one comparable string. */
static char *snapshot(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(H.fx->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("open %s: %s", H.fx->db, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    struct buf out = {0};
    sqlite3_stmt *tables = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                        "name NOT LIKE 'sqlite_%' ORDER BY name",
                                        -1, &tables, NULL),
                     SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", name);
        sqlite3_stmt *count = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &count, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(count), SQLITE_ROW);
        buf_fmt(&out, "%s=%lld ", name, (long long)sqlite3_column_int64(count, 0));
        sqlite3_finalize(count);
    }
    sqlite3_finalize(tables);
    sqlite3_stmt *esc = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT id, state, ifnull(acked_by, '-') FROM escalations "
                                        "ORDER BY id",
                                        -1, &esc, NULL),
                     SQLITE_OK);
    while (sqlite3_step(esc) == SQLITE_ROW)
        buf_fmt(&out, "esc%lld:%s:%s ", (long long)sqlite3_column_int64(esc, 0),
                (const char *)sqlite3_column_text(esc, 1),
                (const char *)sqlite3_column_text(esc, 2));
    sqlite3_finalize(esc);
    sqlite3_close(db);
    return out.p;
}

/* ---- the promise checked after every row ---- */

/*
 * A valid signed webhook from a new texter: 200, its reply at the mock (To the texter,
 * From the hotline, not empty), and exactly one more request there than mock_before.
 */
static void valid_webhook_still_served(size_t mock_before)
{
    char sid[TWILIO_SID_LEN + 1], from[16];
    next_sid(H.fx, sid);
    snprintf(from, sizeof from, "+1555100%04u", H.fx->sid_counter % 10000);
    struct form_pair p[5];
    text_fields(p, sid, from, "do you take insurance?");
    struct buf req = {0};
    form_post(&req, MESSAGES, p, 5, true);
    char *body = NULL;
    int status = exchange(&req, &body);
    if (status != 200)
        fail_msg("a valid webhook got %d (%s)", status, body ? body : "");
    assert_non_null(strstr(body, "<Response></Response>"));
    free(body);
    free(H.last_valid);
    H.last_valid = req.p;
    H.last_valid_len = req.len;

    wait_mock(H.fx, mock_before + 1);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM jobs WHERE to_number = '%s' AND state = 'sent'",
             from);
    wait_db(H.fx, sql, 1);
    assert_int_equal(mock_gateway_count(H.fx->mg), mock_before + 1);
    struct mock_request r;
    assert_int_equal(mock_gateway_request(H.fx->mg, mock_before, &r), 0);
    char *to = mock_request_form(&r, "To"), *f = mock_request_form(&r, "From");
    char *text = mock_request_form(&r, "Body");
    assert_non_null(to);
    assert_non_null(f);
    assert_non_null(text);
    assert_string_equal(to, from);
    assert_string_equal(f, HOTLINE);
    assert_true(strlen(text) > 0);
    free(to);
    free(f);
    free(text);
    mock_request_clear(&r);
}

/* ---- the table ---- */

struct row {
    const char *name;
    void (*build)(struct buf *req); /* the raw request */
    int expect;                     /* its status */
};

/* -- sizes -- */

static void big_body(struct buf *b, size_t n)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    char *body = malloc(n);
    assert_non_null(body);
    memcpy(body, "Body=", 5);
    memset(body + 5, 'a', n - 5);
    body_bytes(b, body, n);
    free(body);
}

static void body_over_64k(struct buf *b)
{
    big_body(b, SERVER_BODY_MAX + 1024);
}

static void body_of_1mib(struct buf *b)
{
    big_body(b, 1024 * 1024);
}

static void header_line_of_20k(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_str(b, "X-Padding: ");
    for (int i = 0; i < 20 * 1024; i++)
        buf_str(b, "a");
    buf_str(b, "\r\n");
    body_bytes(b, "Body=hi", 7);
}

static void headers_2000(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    for (int i = 0; i < 2000; i++)
        buf_fmt(b, "X-H%d: v\r\n", i);
    body_bytes(b, "Body=hi", 7);
}

static void target_of_20k(struct buf *b)
{
    buf_str(b, "POST " MESSAGES "?");
    for (int i = 0; i < 20 * 1024; i++)
        buf_str(b, "a");
    buf_str(b, " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " FORM_TYPE "\r\n");
    body_bytes(b, "Body=hi", 7);
}

static void params_300(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    struct buf body = {0};
    for (int i = 0; i < 300; i++)
        buf_fmt(&body, "%sP%d=v", i ? "&" : "", i);
    body_bytes(b, body.p, body.len);
    free(body.p);
}

static void name_of_65_bytes(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    char body[80];
    memset(body, 'N', 65);
    memcpy(body + 65, "=v", 3);
    body_bytes(b, body, strlen(body));
}

static void body_over_3200_chars_signed(struct buf *b)
{
    char sid[TWILIO_SID_LEN + 1], text[3300];
    next_sid(H.fx, sid);
    memset(text, 'a', 3201);
    text[3201] = '\0';
    struct form_pair p[5];
    text_fields(p, sid, "+15552000001", text);
    form_post(b, MESSAGES, p, 5, true);
}

/* -- encoding -- */

static void raw_form(struct buf *b, const char *body, size_t n)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    body_bytes(b, body, n);
}

#define RAW_FORM(fn, literal)                                                                      \
    static void fn(struct buf *b)                                                                  \
    {                                                                                              \
        raw_form(b, literal, sizeof literal - 1);                                                  \
    }

RAW_FORM(percent_g1, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=%G1")
RAW_FORM(percent_trailing, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=abc%")
RAW_FORM(percent_one_digit, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=%4")
RAW_FORM(nul_raw_in_body, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=a\0b")
RAW_FORM(nul_percent_in_body, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=a%00b")
RAW_FORM(overlong_c0_af_percent, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=%C0%AF")
RAW_FORM(overlong_c0_af_raw, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=\xC0\xAF")
RAW_FORM(surrogate_ed_a0_80, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=%ED%A0%80")
RAW_FORM(above_u10ffff, "MessageSid=SM1&From=%2B15552000001&To=%2B19497633440&Body=%F4%90%80%80")

static void nul_in_target(struct buf *b)
{
    static const char req[] = "POST " MESSAGES "\0/../healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: " FORM_TYPE "\r\nContent-Length: 7\r\n\r\nBody=hi";
    buf_add(b, req, sizeof req - 1);
}

static void nul_in_signature_header(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    static const char sig[] = "X-Twilio-Signature: abc\0def\r\n";
    buf_add(b, sig, sizeof sig - 1);
    body_bytes(b, "Body=hi", 7);
}

/* -- duplicates and missing fields (all signed: the fields are what is wrong) -- */

static void signed_with_extra(struct buf *b, const char *name, const char *value)
{
    char sid[TWILIO_SID_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[6];
    text_fields(p, sid, "+15552000001", "do you take insurance?");
    p[5] = (struct form_pair){name, value ? value : sid};
    form_post(b, MESSAGES, p, 6, true);
}

static void duplicate_body(struct buf *b)
{
    signed_with_extra(b, "Body", "STOP");
}

static void duplicate_from(struct buf *b)
{
    signed_with_extra(b, "From", "+15552000002");
}

static void duplicate_to(struct buf *b)
{
    signed_with_extra(b, "To", HOTLINE);
}

static void duplicate_message_sid(struct buf *b)
{
    signed_with_extra(b, "MessageSid", NULL); /* the same sid twice */
}

static void signed_without(struct buf *b, const char *missing)
{
    char sid[TWILIO_SID_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair all[5];
    text_fields(all, sid, "+15552000001", "hello");
    struct form_pair p[5];
    size_t n = 0;
    for (size_t i = 0; i < 5; i++)
        if (strcmp(all[i].name, missing) != 0)
            p[n++] = all[i];
    form_post(b, MESSAGES, p, n, true);
}

static void missing_message_sid(struct buf *b)
{
    signed_without(b, "MessageSid");
}

static void missing_from(struct buf *b)
{
    signed_without(b, "From");
}

static void missing_to(struct buf *b)
{
    signed_without(b, "To");
}

/* -- content types -- */

static void signed_as(struct buf *b, const char *ctype)
{
    char sid[TWILIO_SID_LEN + 1], sig[TWILIO_SIGNATURE_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[5];
    text_fields(p, sid, "+15552000001", "hello");
    sign(MESSAGES, p, 5, sig);
    head(b, "POST", MESSAGES, ctype);
    buf_fmt(b, "X-Twilio-Signature: %s\r\n", sig);
    char *body = form_encode(p, 5);
    body_bytes(b, body, strlen(body));
    free(body);
}

static void type_json(struct buf *b)
{
    signed_as(b, "application/json");
}

static void type_text_plain(struct buf *b)
{
    signed_as(b, "text/plain");
}

static void type_multipart(struct buf *b)
{
    signed_as(b, "multipart/form-data; boundary=xyz");
}

static void type_form_with_suffix(struct buf *b)
{
    signed_as(b, FORM_TYPE "x");
}

/* -- signatures -- */

static void signature_missing(struct buf *b)
{
    char sid[TWILIO_SID_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[5];
    text_fields(p, sid, "+15552000001", "hello");
    form_post(b, MESSAGES, p, 5, false);
}

static void signature_wrong(struct buf *b)
{
    char sid[TWILIO_SID_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[5];
    text_fields(p, sid, "+15552000001", "hello");
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_str(b, "X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=\r\n");
    char *body = form_encode(p, 5);
    body_bytes(b, body, strlen(body));
    free(body);
}

/* A valid signature replayed over a changed body: what an eavesdropper could try. */
static void signature_replayed_body_changed(struct buf *b)
{
    char sid[TWILIO_SID_LEN + 1], sig[TWILIO_SIGNATURE_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[5];
    text_fields(p, sid, "+15552000001", "hello");
    sign(MESSAGES, p, 5, sig);
    struct form_pair changed[5];
    text_fields(changed, sid, "+15552000001", "STOP");
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_fmt(b, "X-Twilio-Signature: %s\r\n", sig);
    char *body = form_encode(changed, 5);
    body_bytes(b, body, strlen(body));
    free(body);
}

/* ... and over another URL (a query added to the signed one). */
static void signature_replayed_url_changed(struct buf *b)
{
    char sid[TWILIO_SID_LEN + 1], sig[TWILIO_SIGNATURE_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[5];
    text_fields(p, sid, "+15552000001", "hello");
    sign(MESSAGES, p, 5, sig);
    head(b, "POST", MESSAGES "?x=1", FORM_TYPE);
    buf_fmt(b, "X-Twilio-Signature: %s\r\n", sig);
    char *body = form_encode(p, 5);
    body_bytes(b, body, strlen(body));
    free(body);
}

/* The last valid webhook, byte for byte: a duplicate, answered 200, stored once. */
static void replay_exact(struct buf *b)
{
    assert_non_null(H.last_valid);
    buf_add(b, H.last_valid, H.last_valid_len);
}

/* -- framing -- */

static void two_content_lengths(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_str(b, "Content-Length: 7\r\nContent-Length: 7\r\n\r\nBody=hi");
}

static void length_and_chunked(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_str(b, "Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nBody=hi\r\n0\r\n\r\n");
}

static void negative_length(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_str(b, "Content-Length: -7\r\n\r\nBody=hi");
}

static void bad_chunk_size(struct buf *b)
{
    head(b, "POST", MESSAGES, FORM_TYPE);
    buf_str(b, "Transfer-Encoding: chunked\r\n\r\nzz\r\nBody=hi\r\n0\r\n\r\n");
}

#define RAW(fn, literal)                                                                           \
    static void fn(struct buf *b)                                                                  \
    {                                                                                              \
        buf_add(b, literal, sizeof literal - 1);                                                   \
    }

RAW(no_http_version, "GET /healthz\r\n\r\n")
RAW(http_version_9_9, "GET /healthz HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n")
RAW(http2_preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
RAW(empty_request_line, "\r\n\r\n")
RAW(unknown_method, "BREW " MESSAGES " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
RAW(trace_method, "TRACE /staff/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
RAW(lowercase_method, "post " MESSAGES " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
RAW(get_on_webhook, "GET " MESSAGES " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

/* -- the status callback -- */

static void status_signed(struct buf *b, const struct form_pair *p, size_t n)
{
    form_post(b, STATUS, p, n, true);
}

static void status_unsigned(struct buf *b)
{
    const struct form_pair p[] = {{"MessageSid", "SM0123456789abcdef0123456789abcdef"},
                                  {"MessageStatus", "failed"},
                                  {"ErrorCode", "21610"}};
    form_post(b, STATUS, p, 3, false);
}

static void status_missing_status(struct buf *b)
{
    const struct form_pair p[] = {{"MessageSid", "SM0123456789abcdef0123456789abcdef"},
                                  {"AccountSid", SID}};
    status_signed(b, p, 2);
}

static void status_duplicate_status(struct buf *b)
{
    const struct form_pair p[] = {{"MessageSid", "SM0123456789abcdef0123456789abcdef"},
                                  {"MessageStatus", "delivered"},
                                  {"MessageStatus", "failed"}};
    status_signed(b, p, 3);
}

/* -- the staff API (alice's token unless the row is about the token) -- */

static void staff(struct buf *b, const char *method, const char *target, const char *auth,
                  const char *ctype, const char *body, size_t n)
{
    head(b, method, target, ctype);
    if (auth)
        buf_fmt(b, "Authorization: %s\r\n", auth);
    if (body || strcmp(method, "POST") == 0)
        body_bytes(b, body ? body : "", n);
    else
        buf_str(b, "\r\n");
}

static void staff_alice(struct buf *b, const char *method, const char *target, const char *ctype,
                        const char *body, size_t n)
{
    char auth[80];
    snprintf(auth, sizeof auth, "Bearer %s", H.token);
    staff(b, method, target, auth, ctype, body, n);
}

#define STAFF_GET(fn, target)                                                                      \
    static void fn(struct buf *b)                                                                  \
    {                                                                                              \
        staff_alice(b, "GET", target, NULL, NULL, 0);                                              \
    }
#define STAFF_POST(fn, target)                                                                     \
    static void fn(struct buf *b)                                                                  \
    {                                                                                              \
        staff_alice(b, "POST", target, NULL, NULL, 0);                                             \
    }

STAFF_GET(staff_dot_dot, "/staff/../staff/escalations/1")
STAFF_GET(staff_encoded_dot_dot, "/staff/%2e%2e/staff/escalations/1")
STAFF_GET(staff_encoded_slash, "/staff/escalations/1%2f2")
STAFF_GET(staff_double_slash, "/staff//escalations/1")
STAFF_GET(staff_backslash, "/staff\\escalations\\1")
STAFF_GET(staff_id_leading_zero, "/staff/escalations/01")
STAFF_GET(staff_id_negative, "/staff/escalations/-1")
STAFF_GET(staff_id_exponent, "/staff/escalations/1e0")
STAFF_GET(staff_id_overflow, "/staff/escalations/99999999999999999999999")
STAFF_GET(staff_id_with_space, "/staff/escalations/1%20")
STAFF_POST(staff_ack_trailing_slash, "/staff/escalations/1/ack/")
STAFF_POST(staff_ack_double_slash, "/staff/escalations/1//ack")
STAFF_POST(staff_ack_encoded, "/staff/escalations/1/%61ck")
STAFF_GET(staff_ack_by_get, "/staff/escalations/1/ack")

static void staff_put(struct buf *b)
{
    staff_alice(b, "PUT", "/staff/escalations/1", NULL, "", 0);
}

static void staff_delete(struct buf *b)
{
    staff_alice(b, "DELETE", "/staff/escalations/1", NULL, NULL, 0);
}

static void staff_path_of_8k(struct buf *b)
{
    struct buf t = {0};
    buf_str(&t, "/staff/escalations/1/");
    for (int i = 0; i < 8 * 1024; i++)
        buf_str(&t, "a");
    staff_alice(b, "GET", t.p, NULL, NULL, 0);
    free(t.p);
}

static void staff_path_of_20k(struct buf *b)
{
    struct buf t = {0};
    buf_str(&t, "/staff/escalations/");
    for (int i = 0; i < 20 * 1024; i++)
        buf_str(&t, "1");
    staff_alice(b, "GET", t.p, NULL, NULL, 0);
    free(t.p);
}

static void staff_ack_no_token(struct buf *b)
{
    staff(b, "POST", "/staff/escalations/1/ack", NULL, NULL, NULL, 0);
}

static void staff_ack_empty_bearer(struct buf *b)
{
    staff(b, "POST", "/staff/escalations/1/ack", "Bearer ", NULL, NULL, 0);
}

static void staff_ack_basic_auth(struct buf *b)
{
    staff(b, "POST", "/staff/escalations/1/ack", "Basic YWxpY2U6YWxpY2U=", NULL, NULL, 0);
}

static void staff_ack_wrong_token(struct buf *b)
{
    staff(b, "POST", "/staff/escalations/1/ack",
          "Bearer hlt_0000000000000000000000000000000000000000", NULL, NULL, 0);
}

static void staff_ack_token_with_nul(struct buf *b)
{
    /* alice's token with a NUL after its tenth character: whatever evhttp makes of the
     * line, what is left is not her token. */
    head(b, "POST", "/staff/escalations/1/ack", NULL);
    char line[128];
    int n = snprintf(line, sizeof line, "Authorization: Bearer %.10s", H.token);
    buf_add(b, line, (size_t)n);
    buf_add(b, "\0", 1);
    buf_str(b, H.token + 10);
    buf_str(b, "\r\n");
    body_bytes(b, "", 0);
}

static void staff_show_token_in_query(struct buf *b)
{
    char target[128];
    snprintf(target, sizeof target, "/staff/escalations/1?token=%s", H.token);
    staff(b, "GET", target, NULL, NULL, NULL, 0);
}

static void staff_reply(struct buf *b, const char *ctype, const char *body, size_t n)
{
    staff_alice(b, "POST", "/staff/escalations/1/reply", ctype, body, n);
}

#define STAFF_REPLY(fn, ctype, literal)                                                            \
    static void fn(struct buf *b)                                                                  \
    {                                                                                              \
        staff_reply(b, ctype, literal, sizeof literal - 1);                                        \
    }

STAFF_REPLY(reply_json_nul_escape, "application/json", "{\"text\": \"a\\u0000b\"}")
STAFF_REPLY(reply_json_raw_nul, "application/json", "{\"text\": \"a\0b\"}")
STAFF_REPLY(reply_json_overlong, "application/json", "{\"text\": \"\xC0\xAF\"}")
STAFF_REPLY(reply_json_duplicate_key, "application/json",
            "{\"text\": \"Are you safe?\", \"text\": \"STOP\"}")
STAFF_REPLY(reply_json_not_string, "application/json", "{\"text\": [\"a\"]}")
STAFF_REPLY(reply_json_empty_text, "application/json", "{\"text\": \"\"}")
STAFF_REPLY(reply_form_overlong, FORM_TYPE, "text=%C0%AF")
STAFF_REPLY(reply_form_bad_percent, FORM_TYPE, "text=%G1")
STAFF_REPLY(reply_form_duplicate, FORM_TYPE, "text=Are+you+safe%3F&text=STOP")
STAFF_REPLY(reply_wrong_type, "text/plain", "Are you safe?")

static void reply_over_8k(struct buf *b)
{
    size_t n = SERVER_STAFF_BODY_MAX + 1;
    char *body = malloc(n);
    assert_non_null(body);
    memcpy(body, "text=", 5);
    memset(body + 5, 'a', n - 5);
    staff_reply(b, FORM_TYPE, body, n);
    free(body);
}

/* -- controls: the same service answering what is right, so the 4xx above mean
 * something (these rows store nothing either) -- */

STAFF_GET(control_staff_list, "/staff/escalations")
RAW(control_metrics, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

/* -- slow clients: opened here, checked by the last row -- */

/* Headers a byte at a time (every 25 ms), then nothing. */
static void open_slow_loris(void)
{
    static const char part[] = "POST " MESSAGES " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a";
    int fd = connect_service(H.fx);
    for (size_t i = 0; i < sizeof part - 1; i++) {
        send_all(fd, part + i, 1);
        sleep_ms(25);
    }
    H.slow_fd[0] = fd;
    H.slow_ms[0] = now_ms();
}

/* A complete head announcing 100 bytes, and 10 of them. */
static void open_stalled_body(void)
{
    struct buf b = {0};
    head(&b, "POST", MESSAGES, FORM_TYPE);
    buf_str(&b, "Content-Length: 100\r\n\r\nBody=hello");
    int fd = connect_service(H.fx);
    send_all(fd, b.p, b.len);
    free(b.p);
    H.slow_fd[1] = fd;
    H.slow_ms[1] = now_ms();
}

/* ---- running a row ---- */

static void run_row(void **state)
{
    const struct row *row = *state;
    char *before = snapshot();
    size_t mock_before = mock_gateway_count(H.fx->mg);

    struct buf req = {0};
    row->build(&req);
    char *body = NULL;
    int status = exchange(&req, &body);
    free(req.p);
    if (status != row->expect)
        fail_msg("%s: got %d, expected %d (%s)", row->name, status, row->expect,
                 body ? body : "no body");
    free(body);

    char *after = snapshot();
    if (strcmp(before, after) != 0)
        fail_msg("%s stored something:\n before %s\n after  %s", row->name, before, after);
    free(before);
    free(after);
    assert_int_equal(mock_gateway_count(H.fx->mg), mock_before);
    valid_webhook_still_served(mock_before);
}

/* The two slow clients were closed by the server, without an answer, once they had been
 * silent for SERVER_TIMEOUT_S; meanwhile every row above was served. */
static void slow_clients_closed(void **state)
{
    (void)state;
    char *before = snapshot();
    for (int i = 0; i < 2; i++) {
        int fd = H.slow_fd[i];
        assert_true(fd >= 0);
        int64_t deadline = H.slow_ms[i] + (SERVER_TIMEOUT_S + 15) * 1000;
        int status = -1;
        while (status < 0 && now_ms() < deadline)
            status = read_response(fd, 1000, NULL);
        int64_t silent_ms = now_ms() - H.slow_ms[i];
        if (status != 0)
            fail_msg("slow client %d: got %d after %lld ms, expected a close without an answer", i,
                     status, (long long)silent_ms);
        if (silent_ms < (SERVER_TIMEOUT_S - 2) * 1000)
            fail_msg("slow client %d closed after %lld ms, before the timeout", i,
                     (long long)silent_ms);
        close(fd);
        H.slow_fd[i] = -1;
    }
    char *after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
    valid_webhook_still_served(mock_gateway_count(H.fx->mg));
}

static const struct row rows[] = {
    /* sizes */
    {"body over 64 KiB", body_over_64k, 413},
    {"body of 1 MiB", body_of_1mib, 413},
    {"header line of 20 KiB", header_line_of_20k, 400},
    {"2000 headers", headers_2000, 400},
    {"request target of 20 KiB", target_of_20k, 400},
    {"300 parameters", params_300, 400},
    {"parameter name of 65 bytes", name_of_65_bytes, 400},
    {"Body over 3200 characters, signed", body_over_3200_chars_signed, 400},
    /* percent-encoding, NUL, UTF-8 */
    {"bad percent-encoding %G1", percent_g1, 400},
    {"trailing %", percent_trailing, 400},
    {"percent with one digit", percent_one_digit, 400},
    {"raw NUL in the body", nul_raw_in_body, 400},
    {"%00 in the body", nul_percent_in_body, 400},
    {"NUL in the request target", nul_in_target, 400},
    {"NUL in the signature header", nul_in_signature_header, 403},
    {"overlong UTF-8 %C0%AF", overlong_c0_af_percent, 400},
    {"overlong UTF-8 C0 AF raw", overlong_c0_af_raw, 400},
    {"UTF-8 surrogate %ED%A0%80", surrogate_ed_a0_80, 400},
    {"UTF-8 above U+10FFFF", above_u10ffff, 400},
    /* fields */
    {"duplicate Body, signed", duplicate_body, 400},
    {"duplicate From, signed", duplicate_from, 400},
    {"duplicate To, signed", duplicate_to, 400},
    {"duplicate MessageSid, signed", duplicate_message_sid, 400},
    {"missing MessageSid, signed", missing_message_sid, 400},
    {"missing From, signed", missing_from, 400},
    {"missing To, signed", missing_to, 400},
    /* content types */
    {"Content-Type application/json", type_json, 415},
    {"Content-Type text/plain", type_text_plain, 415},
    {"Content-Type multipart/form-data", type_multipart, 415},
    {"Content-Type form with a suffix", type_form_with_suffix, 415},
    /* signatures */
    {"signature missing", signature_missing, 403},
    {"signature wrong", signature_wrong, 403},
    {"valid signature replayed, body changed", signature_replayed_body_changed, 403},
    {"valid signature replayed, URL changed", signature_replayed_url_changed, 403},
    {"valid webhook replayed exactly (a duplicate)", replay_exact, 200},
    /* framing and methods */
    {"two Content-Length headers", two_content_lengths, 400},
    {"Content-Length and chunked", length_and_chunked, 400},
    {"negative Content-Length", negative_length, 400},
    {"bad chunk size", bad_chunk_size, 413},
    {"no HTTP version", no_http_version, 400},
    {"HTTP/9.9", http_version_9_9, 400},
    {"HTTP/2 preface", http2_preface, 400},
    {"empty request line", empty_request_line, 400},
    {"unknown method BREW", unknown_method, 501},
    {"TRACE", trace_method, 501},
    {"lower-case method", lowercase_method, 501},
    {"GET on the webhook", get_on_webhook, 405},
    /* the status callback */
    {"status callback unsigned", status_unsigned, 403},
    {"status callback missing MessageStatus, signed", status_missing_status, 400},
    {"status callback duplicate MessageStatus, signed", status_duplicate_status, 400},
    /* staff paths */
    {"staff /../", staff_dot_dot, 404},
    {"staff %2e%2e", staff_encoded_dot_dot, 404},
    {"staff /escalations/1%2f2", staff_encoded_slash, 404},
    {"staff //escalations", staff_double_slash, 404},
    {"staff backslashes", staff_backslash, 404},
    {"staff id 01", staff_id_leading_zero, 404},
    {"staff id -1", staff_id_negative, 404},
    {"staff id 1e0", staff_id_exponent, 404},
    {"staff id overflowing", staff_id_overflow, 404},
    {"staff id with %20", staff_id_with_space, 404},
    {"staff ack/ trailing slash", staff_ack_trailing_slash, 404},
    {"staff 1//ack", staff_ack_double_slash, 404},
    {"staff %61ck", staff_ack_encoded, 404},
    {"staff ack by GET", staff_ack_by_get, 405},
    {"staff PUT", staff_put, 405},
    {"staff DELETE", staff_delete, 405},
    {"staff path of 8 KiB", staff_path_of_8k, 404},
    {"staff path of 20 KiB", staff_path_of_20k, 400},
    /* staff tokens */
    {"staff ack without a token", staff_ack_no_token, 401},
    {"staff ack with an empty bearer", staff_ack_empty_bearer, 401},
    {"staff ack with Basic auth", staff_ack_basic_auth, 401},
    {"staff ack with a wrong token", staff_ack_wrong_token, 401},
    {"staff ack with a NUL in the token", staff_ack_token_with_nul, 401},
    {"staff show with the token in the query", staff_show_token_in_query, 401},
    /* staff reply bodies */
    {"staff reply JSON \\u0000", reply_json_nul_escape, 400},
    {"staff reply JSON raw NUL", reply_json_raw_nul, 400},
    {"staff reply JSON overlong UTF-8", reply_json_overlong, 400},
    {"staff reply JSON duplicate text", reply_json_duplicate_key, 400},
    {"staff reply JSON text not a string", reply_json_not_string, 400},
    {"staff reply JSON empty text", reply_json_empty_text, 400},
    {"staff reply form overlong UTF-8", reply_form_overlong, 400},
    {"staff reply form bad percent", reply_form_bad_percent, 400},
    {"staff reply form duplicate text", reply_form_duplicate, 400},
    {"staff reply text/plain", reply_wrong_type, 400},
    {"staff reply over 8 KiB", reply_over_8k, 413},
    /* controls */
    {"control: staff list with the token", control_staff_list, 200},
    {"control: /metrics", control_metrics, 200},
};
#define N_ROWS (sizeof rows / sizeof rows[0])

/* ---- the group ---- */

static int hostile_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    H.fx = fx_new();
    with_credentials(H.fx);
    env_set(H.fx, "HOTLINE_REPAGE_SECONDS", "86400");
    /* alice, on call, with an API token. */
    add_with_token(H.fx, "staff add alice --phone " ALICE " --on-call", H.token);
    start(H.fx);

    /* Escalation #1, urgent: the texter's reply and alice's page. */
    char sid[TWILIO_SID_LEN + 1];
    next_sid(H.fx, sid);
    struct form_pair p[5];
    text_fields(p, sid, TEXTER, URGENT_TEXT);
    struct buf req = {0};
    form_post(&req, MESSAGES, p, 5, true);
    assert_int_equal(exchange(&req, NULL), 200);
    free(req.p);
    wait_db(H.fx, "SELECT count(*) FROM escalations WHERE state = 'open'", 1);
    wait_db(H.fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 2);

    /* The slow clients stay open through every row. */
    open_slow_loris();
    open_stalled_body();
    return 0;
}

static int hostile_teardown(void **state)
{
    (void)state;
    int rc = 0;
    if (H.fx->pid > 0) {
        /* Exit 0 after SIGTERM: the hostile requests left nothing half-done. */
        int status = stop(H.fx);
        if (status != 0) {
            fprintf(stderr, "hotline serve exited with status %d\n", status);
            rc = -1;
        }
        /* Privacy: no body, number or token of the rows reached the log. */
        char *log = tu_read_file(H.fx->err_path, NULL);
        if (log && (strstr(log, H.token) || strstr(log, "take insurance") || strstr(log, TEXTER))) {
            fprintf(stderr, "the log holds a token, a text or a number\n");
            rc = -1;
        }
        free(log);
    }
    for (int i = 0; i < 2; i++)
        if (H.slow_fd[i] >= 0)
            close(H.slow_fd[i]);
    fx_free(H.fx);
    free(H.last_valid);
    return rc;
}

int main(void)
{
    struct CMUnitTest tests[N_ROWS + 1];
    for (size_t i = 0; i < N_ROWS; i++)
        tests[i] = (struct CMUnitTest){
            .name = rows[i].name, .test_func = run_row, .initial_state = (void *)&rows[i]};
    tests[N_ROWS] = (struct CMUnitTest){.name = "slow clients closed after the idle timeout",
                                        .test_func = slow_clients_closed};
    return _cmocka_run_group_tests("hostile", tests, N_ROWS + 1, hostile_setup, hostile_teardown);
}
