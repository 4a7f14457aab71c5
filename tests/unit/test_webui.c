/*
 * test_webui: the staff page and the API it adds, served by the real `hotline serve`.
 *
 * The embedded files (webui_find) hold no inline script, style or event handler (the
 * Content-Security-Policy would block them) and nothing from another origin. Then, as in
 * test_serve, the built binary on an ephemeral loopback port with a fresh data folder and
 * the mock Twilio API: the page and its files with their content types and security
 * headers, /staff -> /staff/, no file but the embedded ones; /staff/me and
 * /staff/saved-replies behind the token; and a conversation's thread with each reply's
 * delivery status and the texter's language.
 */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "hotline/form.h"
#include "hotline/replies.h"
#include "hotline/saved_replies.h"
#include "hotline/staff.h"
#include "hotline/twilio.h"
#include "hotline/webui.h"
#include "mock_gateway.h"

#define SID "AC0123456789abcdef0123456789abcdef"
#define TOKEN "0123456789abcdef0123456789abcdef"
#define HOTLINE "+19497633440"
#define ALICE "+15550009001"
#define TEXTER "+15550001111"
#define WAIT_MS 30000

extern char **environ;

/* ---- the embedded files ---- */

static void test_assets(void **state)
{
    (void)state;
    const struct webui_asset *index = webui_find("");
    assert_non_null(index);
    assert_ptr_equal(index, webui_find("index.html"));
    assert_string_equal(index->content_type, "text/html; charset=utf-8");
    assert_string_equal(webui_find("app.js")->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(webui_find("sms.js")->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(webui_find("app.css")->content_type, "text/css; charset=utf-8");
    assert_string_equal(webui_find("icon.svg")->content_type, "image/svg+xml");
    assert_null(webui_find("nope.js"));
    assert_null(webui_find("../CMakeLists.txt"));
    assert_null(webui_find("events"));
    assert_null(webui_find(NULL));

    /* The files are the ones in web/, byte for byte. */
    const char *names[] = {"index.html", "app.js", "sms.js", "app.css", "icon.svg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/web/%s", HOTLINE_SOURCE_DIR, names[i]);
        size_t len = 0;
        char *disk = tu_read_file(path, &len);
        const struct webui_asset *a = webui_find(names[i]);
        assert_non_null(disk);
        assert_int_equal(a->len, len);
        assert_memory_equal(a->data, disk, len);
        assert_int_equal(a->data[a->len], '\0');
        /* Nothing from another origin: no CDN, no font service (an SVG names its XML
         * namespace with a URL, which is never fetched). */
        for (const char *u = strstr(disk, "http"); u; u = strstr(u + 1, "http"))
            if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
                assert_true(strncmp(u, "http://www.w3.org/2000/svg\"", 27) == 0);
        free(disk);
    }

    /* No inline script, style or handler: every <script> has a src, no style="...", no
     * on...= attribute. */
    const char *html = (const char *)index->data;
    int scripts = 0;
    for (const char *s = strstr(html, "<script"); s; s = strstr(s + 1, "<script")) {
        const char *end = strchr(s, '>');
        assert_non_null(end);
        char tag[256];
        snprintf(tag, sizeof tag, "%.*s", (int)(end - s), s);
        assert_non_null(strstr(tag, " src=\""));
        assert_true(strncmp(end, "></script>", 10) == 0);
        scripts++;
    }
    assert_int_equal(scripts, 2);
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, " style="));
    assert_null(strstr(html, " onclick="));
    assert_null(strstr(html, " onload="));
    assert_null(strstr(html, " onsubmit="));
    assert_null(strstr(html, "javascript:"));
    assert_non_null(strstr(html, "<title>hotline staff</title>"));
    /* The token is never put where a URL could carry it: the form posts (and the policy
     * forbids form posts anyway), and the script reads the field itself. */
    assert_non_null(strstr(html, "<form id=\"signin-form\" method=\"post\""));
    assert_non_null(strstr(WEBUI_CSP, "form-action 'none'"));
    assert_non_null(strstr(WEBUI_CSP, "frame-ancestors 'none'"));
    assert_null(strstr(WEBUI_CSP, "unsafe"));
}

/* ---- the service ---- */

struct fx {
    char *tmp;
    char data[512];
    char db[600];
    char env_data[600], env_api[300];
    struct mock_gateway *mg;
    pid_t pid;
    char err_path[600];
    char base_url[128];
    char token[STAFF_TOKEN_SIZE];
    unsigned sids;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool overridden(const char *entry)
{
    return strncmp(entry, "HOTLINE_", 8) == 0 || strncmp(entry, "TWILIO_", 7) == 0;
}

static void start(struct fx *fx)
{
    snprintf(fx->err_path, sizeof fx->err_path, "%s/stderr", fx->tmp);
    const char *extra[] = {fx->env_data,
                           fx->env_api,
                           "HOTLINE_LISTEN=127.0.0.1:0",
                           "HOTLINE_REPLIES=" HOTLINE_SOURCE_DIR "/replies",
                           "HOTLINE_RETRY_BASE_MS=20",
                           "TWILIO_ACCOUNT_SID=" SID,
                           "TWILIO_AUTH_TOKEN=" TOKEN};
    size_t n = 0, nextra = sizeof extra / sizeof extra[0];
    while (environ[n])
        n++;
    char **envp = calloc(n + nextra + 1, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!overridden(environ[i]))
            envp[k++] = environ[i];
    for (size_t i = 0; i < nextra; i++)
        envp[k++] = (char *)extra[i];
    int err = open(fx->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(err >= 0 && out >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        char *argv[] = {"hotline", "serve", NULL};
        execve(HOTLINE_BINARY, argv, envp);
        _exit(127);
    }
    close(err);
    close(out);
    free(envp);
    fx->pid = pid;
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        char *text = tu_read_file(fx->err_path, NULL);
        const char *at = text ? strstr(text, "event=listening addr=") : NULL;
        if (at) {
            at += strlen("event=listening addr=");
            snprintf(fx->base_url, sizeof fx->base_url, "http://%.*s", (int)strcspn(at, " \n"), at);
            free(text);
            return;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fx->pid = 0;
            fail_msg("hotline serve exited; stderr:\n%s", text ? text : "");
        }
        free(text);
        if (now_ms() > deadline)
            fail_msg("hotline serve did not listen");
        sleep_ms(20);
    }
}

static void stop_ok(struct fx *fx)
{
    assert_int_equal(kill(fx->pid, SIGTERM), 0);
    int status = 0;
    assert_int_equal(waitpid(fx->pid, &status, 0), fx->pid);
    fx->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->tmp = tu_mkdtemp();
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->tmp);
    snprintf(fx->db, sizeof fx->db, "%s/hotline.db", fx->data);
    snprintf(fx->env_data, sizeof fx->env_data, "HOTLINE_DATA_DIR=%s", fx->data);
    fx->mg = mock_gateway_start();
    snprintf(fx->env_api, sizeof fx->env_api, "HOTLINE_TWILIO_API_BASE=%s",
             mock_gateway_url(fx->mg));
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "env HOTLINE_DATA_DIR='%s' HOTLINE_LISTEN=127.0.0.1:0 TWILIO_ACCOUNT_SID= "
             "TWILIO_AUTH_TOKEN= '%s' staff add alice --phone " ALICE " --on-call",
             fx->data, HOTLINE_BINARY);
    assert_int_equal(tu_run(cmd, NULL, &out), 0);
    const char *t = strstr(out, "token: ");
    assert_non_null(t);
    snprintf(fx->token, sizeof fx->token, "%.*s", STAFF_TOKEN_SIZE - 1, t + 7);
    free(out);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    if (fx->pid > 0) {
        kill(fx->pid, SIGKILL);
        waitpid(fx->pid, NULL, 0);
    }
    mock_gateway_free(fx->mg);
    tu_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx);
    return 0;
}

/* ---- HTTP ---- */

struct resp {
    long status;
    char *body;
    size_t len;
    char *headers; /* the raw header block */
    size_t hlen;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t n = size * nmemb, have = *buf ? strlen(*buf) : 0;
    char *grown = realloc(*buf, have + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + have, p, n);
    grown[have + n] = '\0';
    *buf = grown;
    return n;
}

/* One request; token NULL: none; body NULL: none. */
static void request(struct fx *fx, const char *method, const char *path, const char *token,
                    const char *body, const char *extra_header, struct resp *r)
{
    memset(r, 0, sizeof *r);
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", fx->base_url, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (extra_header)
        h = curl_slist_append(h, extra_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WAIT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) != CURLE_OK)
        fail_msg("%s %s failed", method, path);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->len = r->body ? strlen(r->body) : 0;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void resp_clear(struct resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

/* The value of header name (case-insensitive) in r, copied into out ("" when absent). */
static const char *header(const struct resp *r, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *l = r->headers; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"), v);
            break;
        }
    }
    return out;
}

static void assert_header(const struct resp *r, const char *name, const char *want)
{
    char v[512];
    header(r, name, v, sizeof v);
    if (strcmp(v, want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", name, v, want);
}

static void assert_staff_headers(const struct resp *r)
{
    assert_header(r, "Content-Security-Policy", WEBUI_CSP);
    assert_header(r, "X-Content-Type-Options", "nosniff");
    assert_header(r, "Referrer-Policy", "no-referrer");
    assert_header(r, "X-Frame-Options", "DENY");
    assert_header(r, "Cache-Control", "no-store");
}

/* A signed inbound text, as Twilio sends it. */
static void post_text(struct fx *fx, const char *from, const char *text)
{
    char sid[TWILIO_SID_LEN + 1];
    snprintf(sid, sizeof sid, "SM%08x%024x", (unsigned)getpid(), ++fx->sids);
    const struct form_pair p[] = {{"MessageSid", sid}, {"AccountSid", SID}, {"From", from},
                                  {"To", HOTLINE},     {"Body", text},      {"NumMedia", "0"}};
    char *body = form_encode(p, sizeof p / sizeof p[0]);
    const char *why = NULL;
    struct form *f = form_parse(body, strlen(body), &(struct form_limits){64, 64, 65536}, &why);
    assert_non_null(f);
    char url[512], sig[TWILIO_SIGNATURE_LEN + 1], hdr[128];
    snprintf(url, sizeof url, "%s/webhooks/twilio/messages", fx->base_url);
    assert_int_equal(twilio_signature(TOKEN, url, f, sig), 0);
    form_free(f);
    snprintf(hdr, sizeof hdr, "X-Twilio-Signature: %s", sig);
    struct resp r;
    request(fx, "POST", "/webhooks/twilio/messages", NULL, body, hdr, &r);
    assert_int_equal(r.status, 200);
    /* The staff page's headers are for /staff only. */
    char v[64];
    assert_string_equal(header(&r, "Content-Security-Policy", v, sizeof v), "");
    resp_clear(&r);
    free(body);
}

static void post_status(struct fx *fx, const char *msid, const char *status)
{
    const struct form_pair p[] = {
        {"MessageSid", msid}, {"AccountSid", SID}, {"MessageStatus", status}};
    char *body = form_encode(p, sizeof p / sizeof p[0]);
    const char *why = NULL;
    struct form *f = form_parse(body, strlen(body), &(struct form_limits){64, 64, 65536}, &why);
    char url[512], sig[TWILIO_SIGNATURE_LEN + 1], hdr[128];
    snprintf(url, sizeof url, "%s/webhooks/twilio/status", fx->base_url);
    assert_int_equal(twilio_signature(TOKEN, url, f, sig), 0);
    form_free(f);
    snprintf(hdr, sizeof hdr, "X-Twilio-Signature: %s", sig);
    struct resp r;
    request(fx, "POST", "/webhooks/twilio/status", NULL, body, hdr, &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    free(body);
}

static int64_t db_int(struct fx *fx, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void wait_db(struct fx *fx, const char *sql, int64_t want)
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (db_int(fx, sql) != want) {
        if (now_ms() > deadline)
            fail_msg("waited for %s = %lld", sql, (long long)want);
        sleep_ms(20);
    }
}

/* ---- the tests ---- */

/* The page and its files, the redirect, the methods, nothing else served from disk. */
static void test_page_is_served(void **state)
{
    struct fx *fx = *state;
    start(fx);
    struct resp r;
    request(fx, "GET", "/staff/", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_staff_headers(&r);
    const struct webui_asset *index = webui_find("");
    assert_int_equal(r.len, index->len);
    assert_memory_equal(r.body, index->data, index->len);
    resp_clear(&r);

    request(fx, "GET", "/staff/app.js?v=1", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/javascript; charset=utf-8");
    assert_staff_headers(&r);
    resp_clear(&r);
    request(fx, "HEAD", "/staff/app.css", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/css; charset=utf-8");
    assert_int_equal(r.len, 0);
    resp_clear(&r);

    request(fx, "GET", "/staff", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 301);
    assert_header(&r, "Location", "/staff/");
    assert_staff_headers(&r);
    resp_clear(&r);

    request(fx, "POST", "/staff/", NULL, "x=1", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_header(&r, "Allow", "GET, HEAD");
    resp_clear(&r);
    request(fx, "GET", "/staff/nope.html", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_staff_headers(&r);
    resp_clear(&r);
    request(fx, "GET", "/staff/../CMakeLists.txt", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_clear(&r);
    request(fx, "GET", "/staff/%2e%2e/CMakeLists.txt", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_clear(&r);
    stop_ok(fx);
}

/* /staff/me and /staff/saved-replies: behind the token, logged under the staff name. */
static void test_me_and_saved_replies(void **state)
{
    struct fx *fx = *state;
    start(fx);
    struct resp r;
    request(fx, "GET", "/staff/me", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_staff_headers(&r);
    resp_clear(&r);
    request(fx, "GET", "/staff/me", "hlt_0000000000000000000000000000000000000000", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    request(fx, "GET", "/staff/me", fx->token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_staff_headers(&r);
    assert_string_equal(r.body, "{\"staff\":\"alice\"}\n");
    resp_clear(&r);
    request(fx, "POST", "/staff/me", fx->token, "", NULL, &r);
    assert_int_equal(r.status, 405);
    resp_clear(&r);

    request(fx, "GET", "/staff/saved-replies", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    request(fx, "GET", "/staff/saved-replies", fx->token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_staff_headers(&r);
    struct saved_replies *s =
        saved_replies_load(HOTLINE_SOURCE_DIR "/replies/" SAVED_REPLIES_FILE, NULL, NULL);
    assert_non_null(s);
    char want[16384];
    snprintf(want, sizeof want, "%s\n", saved_replies_json(s));
    assert_string_equal(r.body, want);
    saved_replies_free(s);
    resp_clear(&r);
    stop_ok(fx);

    char *err = tu_read_file(fx->err_path, NULL);
    assert_non_null(strstr(err, "event=staff_api req="));
    assert_non_null(strstr(err, "action=me status=200 staff=alice"));
    assert_non_null(strstr(err, "action=saved_replies status=200 staff=alice"));
    assert_non_null(strstr(err, "action=me status=401 reason=no_token"));
    assert_null(strstr(err, fx->token));
    free(err);
}

/* The thread: texts, auto-replies and staff replies, each reply with its delivery status,
 * and the texter's language. */
static void test_thread_has_delivery_status(void **state)
{
    struct fx *fx = *state;
    start(fx);
    post_text(fx, TEXTER, "me quiero morir");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 2); /* reply + page */
    struct resp r;
    char path[64];
    snprintf(path, sizeof path, "/staff/escalations/%d", 1);
    request(fx, "POST", "/staff/escalations/1/reply", fx->token,
            "{\"text\": \"Te escribe un consejero del centro.\"}", "Content-Type: application/json",
            &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 3);
    char *sid = NULL;
    {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT gateway_sid FROM jobs WHERE escalation_id = 1"
                                            " AND kind = 'reply'",
                                            -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        sid = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    post_status(fx, sid, "delivered");
    free(sid);

    request(fx, "GET", path, fx->token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_staff_headers(&r);
    json_error_t jerr;
    json_t *e = json_loads(r.body, 0, &jerr);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "lang")), "es");
    assert_string_equal(json_string_value(json_object_get(e, "state")), "acknowledged");
    json_t *texts = json_object_get(e, "texts");
    assert_int_equal(json_array_size(texts), 2);
    json_t *t0 = json_array_get(texts, 0), *t1 = json_array_get(texts, 1);
    assert_string_equal(json_string_value(json_object_get(t0, "from")), "texter");
    assert_string_equal(json_string_value(json_object_get(t0, "text")), "me quiero morir");
    assert_non_null(json_string_value(json_object_get(t0, "reply")));
    assert_string_equal(json_string_value(json_object_get(t0, "reply_status")), "sent");
    assert_true(json_is_null(json_object_get(t0, "status")));
    assert_string_equal(json_string_value(json_object_get(t1, "from")), "staff");
    assert_string_equal(json_string_value(json_object_get(t1, "text")),
                        "Te escribe un consejero del centro.");
    assert_string_equal(json_string_value(json_object_get(t1, "status")), "delivered");
    assert_true(json_is_null(json_object_get(t1, "reply_status")));
    json_decref(e);
    resp_clear(&r);
    stop_ok(fx);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets),
        cmocka_unit_test_setup_teardown(test_page_is_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_me_and_saved_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_has_delivery_status, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
