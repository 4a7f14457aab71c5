/*
 * service_fixture: the real service as a process, a mock gateway, signed webhooks and a
 * read-only view of the store (see service_fixture.h).
 */
#include "service_fixture.h"

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "hotline/matcher.h"
#include "hotline/replies.h"

extern char **environ;

struct replies *g_replies;
struct matcher *g_matcher;

/* ---- small helpers ---- */

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void message_sid(char out[TWILIO_SID_LEN + 1], unsigned n)
{
    snprintf(out, TWILIO_SID_LEN + 1, "SM%08x%024x", (unsigned)getpid(), n);
}

void next_sid(struct fx *fx, char out[TWILIO_SID_LEN + 1])
{
    message_sid(out, ++fx->sid_counter);
}

const char *expected_reply(const char *text)
{
    struct match_result m;
    matcher_classify(g_matcher, text, strlen(text), &m, NULL);
    return g_replies->intents[m.intent].answer[m.lang];
}

/* ---- fixtures ---- */

int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_replies = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    g_matcher = g_replies ? matcher_new(g_replies) : NULL;
    return g_matcher ? 0 : -1;
}

int group_teardown(void **state)
{
    (void)state;
    matcher_free(g_matcher);
    replies_free(g_replies);
    curl_global_cleanup();
    return 0;
}

struct fx *fx_new(void)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->tmp = tu_mkdtemp();
    fx->mg = mock_gateway_start();
    char data[600];
    snprintf(data, sizeof data, "%s/data", fx->tmp);
    set_data_dir(fx, data);
    env_set(fx, "HOTLINE_TWILIO_API_BASE", mock_gateway_url(fx->mg));
    env_set(fx, "HOTLINE_LISTEN", "127.0.0.1:0");
    env_set(fx, "HOTLINE_REPLIES", HOTLINE_SOURCE_DIR "/replies");
    env_set(fx, "HOTLINE_RETRY_BASE_MS", "20");
    return fx;
}

void fx_free(struct fx *fx)
{
    if (fx->pid > 0) {
        kill(fx->pid, SIGKILL);
        waitpid(fx->pid, NULL, 0);
    }
    mock_gateway_free(fx->mg);
    mock_gateway_free(fx->chat);
    if (fx->tmp)
        tu_rmtree(fx->tmp);
    free(fx->tmp);
    for (size_t i = 0; i < fx->nenv; i++)
        free(fx->env[i]);
    free(fx);
}

int setup(void **state)
{
    *state = fx_new();
    return 0;
}

int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* ---- the environment ---- */

void env_set(struct fx *fx, const char *name, const char *value)
{
    size_t nl = strlen(name), n = nl + strlen(value) + 2;
    char *entry = malloc(n);
    assert_non_null(entry);
    snprintf(entry, n, "%s=%s", name, value);
    for (size_t i = 0; i < fx->nenv; i++) {
        if (strncmp(fx->env[i], name, nl) == 0 && fx->env[i][nl] == '=') {
            free(fx->env[i]);
            fx->env[i] = entry;
            return;
        }
    }
    assert_true(fx->nenv < sizeof fx->env / sizeof fx->env[0]);
    fx->env[fx->nenv++] = entry;
}

void with_credentials(struct fx *fx)
{
    env_set(fx, "TWILIO_ACCOUNT_SID", SID);
    env_set(fx, "TWILIO_AUTH_TOKEN", TOKEN);
}

void set_data_dir(struct fx *fx, const char *dir)
{
    snprintf(fx->data, sizeof fx->data, "%s", dir);
    snprintf(fx->db, sizeof fx->db, "%s/hotline.db", fx->data);
    env_set(fx, "HOTLINE_DATA_DIR", fx->data);
}

/* The lowest port the kernel hands out on its own (bind to port 0, connect), from
 * /proc/sys/net/ipv4/ip_local_port_range; 32768 when it cannot be read. */
static int ephemeral_low(void)
{
    int low = 32768, high = 0;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    return low;
}

void use_fixed_port(struct fx *fx)
{
    /*
     * A port nobody listens on now, and one the kernel never gives to another socket
     * on its own: below the ephemeral range. (A port of that range, picked and closed
     * again, went to a parallel test's mock gateway before the service could bind it.)
     * Random within the range below it, checked free by binding it.
     */
    int low = ephemeral_low();
    int span = low > 20000 ? low - 10000 : 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned seed = (unsigned)getpid() ^ (unsigned)now_ms();
    int found = 0;
    for (int attempt = 0; attempt < 200 && !found && span > 0; attempt++) {
        a.sin_port = htons((uint16_t)(10000 + rand_r(&seed) % span));
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            fail_msg("no socket: %s", strerror(errno));
        found = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
    }
    if (!found) {
        /* No such range: the kernel's pick, closed again at once. */
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        a.sin_port = 0;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) != 0)
            fail_msg("no free port: %s", strerror(errno));
        close(fd);
    }
    fx->port = ntohs(a.sin_port);
    fx->fixed_port = true;
    snprintf(fx->base_url, sizeof fx->base_url, "http://127.0.0.1:%d", fx->port);
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", fx->port);
    env_set(fx, "HOTLINE_LISTEN", listen);
}

/* ---- the process ---- */

/* Settings never leak in from the developer's environment: the test sets its own. */
static bool overridden(const char *entry)
{
    return strncmp(entry, "HOTLINE_", 8) == 0 || strncmp(entry, "TWILIO_", 7) == 0;
}

void spawn(struct fx *fx)
{
    assert_int_equal(fx->pid, 0);
    fx->run++;
    snprintf(fx->out_path, sizeof fx->out_path, "%s/out.%d", fx->tmp, fx->run);
    snprintf(fx->err_path, sizeof fx->err_path, "%s/err.%d", fx->tmp, fx->run);

    /* Built before fork: the child of a threaded process may only exec. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + fx->nenv + 1, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!overridden(environ[i]))
            envp[k++] = environ[i];
    for (size_t i = 0; i < fx->nenv; i++)
        envp[k++] = fx->env[i];
    envp[k] = NULL;
    int out = open(fx->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(fx->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(out >= 0 && err >= 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        char *argv[] = {"hotline", "serve", NULL};
        execve(HOTLINE_BINARY, argv, envp);
        _exit(127);
    }
    close(out);
    close(err);
    free(envp);
    fx->pid = pid;
}

void wait_listening(struct fx *fx)
{
    static const char line[] = "event=listening addr=127.0.0.1:";
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        char *err = tu_read_file(fx->err_path, NULL);
        const char *at = err ? strstr(err, line) : NULL;
        if (at) {
            /* A fixed port is left alone: a sender thread may be reading base_url. */
            if (!fx->fixed_port) {
                fx->port = atoi(at + strlen(line));
                snprintf(fx->base_url, sizeof fx->base_url, "http://127.0.0.1:%d", fx->port);
            }
            free(err);
            return;
        }
        if (waitpid(fx->pid, NULL, WNOHANG) == fx->pid) {
            fx->pid = 0;
            char said[4096]; /* fail_msg does not return: nothing may stay allocated */
            snprintf(said, sizeof said, "%s", err ? err : "");
            free(err);
            fail_msg("hotline serve exited before listening; stderr:\n%s", said);
        }
        free(err);
        if (now_ms() > deadline)
            fail_msg("hotline serve did not start listening");
        sleep_ms(10);
    }
}

void start(struct fx *fx)
{
    spawn(fx);
    wait_listening(fx);
}

int reap(struct fx *fx)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int status = 0;
    while (waitpid(fx->pid, &status, WNOHANG) != fx->pid) {
        if (now_ms() > deadline) {
            kill(fx->pid, SIGKILL);
            waitpid(fx->pid, &status, 0);
            break;
        }
        sleep_ms(10);
    }
    fx->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int stop(struct fx *fx)
{
    assert_true(fx->pid > 0);
    assert_int_equal(kill(fx->pid, SIGTERM), 0);
    return reap(fx);
}

void stop_ok(struct fx *fx)
{
    int rc = stop(fx);
    if (rc != 0) {
        char *err = tu_read_file(fx->err_path, NULL);
        fail_msg("exit status %d after SIGTERM; stderr:\n%s", rc, err ? err : "");
    }
}

int kill9(struct fx *fx)
{
    assert_true(fx->pid > 0);
    assert_int_equal(kill(fx->pid, SIGKILL), 0);
    return reap(fx);
}

/* ---- HTTP ---- */

int connect_service(struct fx *fx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail_msg("connect: %s", strerror(errno));
    return fd;
}

/* Where a libcurl write or header callback appends: a NUL-terminated buffer and its length. */
struct sink {
    char **buf;
    size_t *len;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    char *grown = realloc(*s->buf, *s->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + *s->len, p, n);
    *s->len += n;
    grown[*s->len] = '\0';
    *s->buf = grown;
    return n;
}

long try_request(struct fx *fx, CURL *c, long timeout_ms, const char *method, const char *path,
                 struct curl_slist *headers, const char *body, size_t body_len, struct resp *r)
{
    struct resp dropped;
    if (!r)
        r = &dropped;
    memset(r, 0, sizeof *r);
    CURL *own = c ? NULL : curl_easy_init();
    if (!c)
        c = own;
    assert_non_null(c);
    curl_easy_reset(c);
    char url[512];
    snprintf(url, sizeof url, "%s%s", fx->base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    size_t headers_len = 0;
    struct sink body_sink = {&r->body, &r->len}, header_sink = {&r->headers, &headers_len};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body_sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &header_sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    } else {
        r->error = curl_easy_strerror(rc);
    }
    if (own)
        curl_easy_cleanup(own);
    long status = r->status;
    if (r == &dropped)
        resp_clear(r);
    return status;
}

void http(struct fx *fx, const char *method, const char *path, const char *body, size_t body_len,
          const char *extra_header, struct resp *r)
{
    struct curl_slist *h = extra_header ? curl_slist_append(NULL, extra_header) : NULL;
    try_request(fx, NULL, WAIT_MS, method, path, h, body, body_len, r);
    curl_slist_free_all(h);
    if (!r->status)
        fail_msg("%s %s: %s", method, path, r->error ? r->error : "no status");
}

void api(struct fx *fx, const char *method, const char *path, const char *token, const char *body,
         const char *ctype, struct resp *r)
{
    char line[160];
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
    }
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    try_request(fx, NULL, WAIT_MS, method, path, h, body, body ? strlen(body) : 0, r);
    curl_slist_free_all(h);
    if (!r->status)
        fail_msg("%s %s: %s", method, path, r->error ? r->error : "no status");
}

void resp_clear(struct resp *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

/* ---- webhooks ---- */

void sign_form(const char *token, const char *url, const struct form_pair *pairs, size_t n,
               char sig[TWILIO_SIGNATURE_LEN + 1])
{
    char *body = form_encode(pairs, n);
    assert_non_null(body);
    const char *why = NULL;
    struct form *f = form_parse(body, strlen(body), &(struct form_limits){512, 64, 65536}, &why);
    assert_non_null(f);
    assert_int_equal(twilio_signature(token, url, f, sig), 0);
    form_free(f);
    free(body);
}

void text_form(struct form_pair p[TEXT_FIELDS], const char *sid, const char *account,
               const char *from, const char *to, const char *text)
{
    const struct form_pair capture[TEXT_FIELDS] = {
        {"ToCountry", "US"},
        {"ToState", "CA"},
        {"SmsMessageSid", sid},
        {"NumMedia", "0"},
        {"ToCity", "IRVINE"},
        {"FromZip", ""},
        {"SmsSid", sid},
        {"FromState", ""},
        {"SmsStatus", "received"},
        {"FromCity", ""},
        {"Body", text},
        {"FromCountry", "US"},
        {"To", to},
        {"ToZip", ""},
        {"NumSegments", "1"},
        {"MessageSid", sid},
        {"AccountSid", account},
        {"From", from},
        {"ApiVersion", "2010-04-01"},
    };
    memcpy(p, capture, sizeof capture);
}

long try_post_form(struct fx *fx, CURL *c, long timeout_ms, const char *path,
                   const struct form_pair *pairs, size_t n, const char *token, const char *url_base,
                   struct resp *out)
{
    struct curl_slist *h = NULL;
    if (token) {
        char url[512], sig[TWILIO_SIGNATURE_LEN + 1], header[128];
        snprintf(url, sizeof url, "%s%s", url_base ? url_base : fx->base_url, path);
        sign_form(token, url, pairs, n, sig);
        snprintf(header, sizeof header, "X-Twilio-Signature: %s", sig);
        h = curl_slist_append(h, header);
    }
    char *body = form_encode(pairs, n);
    assert_non_null(body);
    long status = try_request(fx, c, timeout_ms, "POST", path, h, body, strlen(body), out);
    curl_slist_free_all(h);
    free(body);
    return status;
}

long post_form(struct fx *fx, const char *path, const struct form_pair *pairs, size_t n,
               const char *token, const char *url_base, struct resp *out)
{
    long status = try_post_form(fx, NULL, WAIT_MS, path, pairs, n, token, url_base, out);
    if (!status)
        fail_msg("POST %s: no answer", path);
    return status;
}

long post_text(struct fx *fx, const char *sid, const char *account, const char *from,
               const char *to, const char *text, const char *token, struct resp *out)
{
    struct form_pair p[TEXT_FIELDS];
    text_form(p, sid, account, from, to, text);
    return post_form(fx, "/webhooks/twilio/messages", p, TEXT_FIELDS, token, NULL, out);
}

void post_text_ok(struct fx *fx, const char *sid, const char *from, const char *text)
{
    struct resp r;
    assert_int_equal(post_text(fx, sid, SID, from, HOTLINE, text, TOKEN, &r), 200);
    assert_non_null(strstr(r.ctype, "text/xml"));
    assert_non_null(r.body);
    assert_non_null(strstr(r.body, "<Response></Response>"));
    resp_clear(&r);
}

/* ---- the store, read-only ---- */

int64_t db_int(struct fx *fx, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        fail_msg("open %s: %s", fx->db, sqlite3_errstr(rc));
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

char *db_text(struct fx *fx, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void wait_db_for(struct fx *fx, const char *sql, int64_t want, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms, got = -1;
    while ((got = db_int(fx, sql)) != want) {
        if (now_ms() > deadline)
            fail_msg("waited for %s = %lld, got %lld", sql, (long long)want, (long long)got);
        sleep_ms(20);
    }
}

void wait_db(struct fx *fx, const char *sql, int64_t want)
{
    wait_db_for(fx, sql, want, WAIT_MS);
}

void wait_db_at_least(struct fx *fx, const char *sql, int64_t want)
{
    int64_t deadline = now_ms() + WAIT_MS, got = -1;
    while ((got = db_int(fx, sql)) < want) {
        if (now_ms() > deadline)
            fail_msg("waited for %s >= %lld, got %lld", sql, (long long)want, (long long)got);
        sleep_ms(20);
    }
}

/* ---- logs ---- */

void wait_file_has(const char *path, const char *needle)
{
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        char *text = tu_read_file(path, NULL);
        bool found = text && strstr(text, needle);
        if (found || now_ms() > deadline) {
            if (!found)
                fail_msg("%s never contained \"%s\"; it holds:\n%s", path, needle,
                         text ? text : "");
            free(text);
            return;
        }
        free(text);
        sleep_ms(20);
    }
}

/* How many times needle occurs in the file at path (0 when it is missing). */
static int file_count(const char *path, const char *needle)
{
    char *text = tu_read_file(path, NULL);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(text);
    return n;
}

int stderr_count(struct fx *fx, const char *needle)
{
    int n = 0;
    for (int i = 1; i <= fx->run; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/err.%d", fx->tmp, i);
        n += file_count(path, needle);
    }
    return n;
}

int log_count_now(struct fx *fx, const char *needle)
{
    char path[700];
    snprintf(path, sizeof path, "%s/escalations.jsonl", fx->data);
    return file_count(path, needle);
}

int log_count(struct fx *fx, const char *needle, int want)
{
    int64_t deadline = now_ms() + WAIT_MS;
    int n;
    while ((n = log_count_now(fx, needle)) != want && now_ms() < deadline)
        sleep_ms(20);
    return n;
}

/* ---- what reached the mock ---- */

void wait_mock(struct fx *fx, size_t n)
{
    if (mock_gateway_wait(fx->mg, n, WAIT_MS) != 0)
        fail_msg("the mock got %zu requests, waited for %zu", mock_gateway_count(fx->mg), n);
}

void assert_send_request(struct fx *fx, size_t i, const char *to, const char *body)
{
    struct mock_request r;
    assert_int_equal(mock_gateway_request(fx->mg, i, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.path, "/2010-04-01/Accounts/" SID "/Messages.json");

    unsigned char b64[128];
    const char creds[] = SID ":" TOKEN;
    EVP_EncodeBlock(b64, (const unsigned char *)creds, (int)strlen(creds));
    char auth[160];
    snprintf(auth, sizeof auth, "Basic %s", (const char *)b64);
    assert_non_null(mock_request_header(&r, "Authorization"));
    assert_string_equal(mock_request_header(&r, "Authorization"), auth);
    const char *ct = mock_request_header(&r, "Content-Type");
    assert_non_null(ct);
    assert_non_null(strstr(ct, "application/x-www-form-urlencoded"));

    char *f_to = mock_request_form(&r, "To"), *f_from = mock_request_form(&r, "From");
    char *f_body = mock_request_form(&r, "Body"), *f_cb = mock_request_form(&r, "StatusCallback");
    assert_non_null(f_to);
    assert_non_null(f_from);
    assert_non_null(f_body);
    assert_non_null(f_cb);
    assert_string_equal(f_to, to);
    assert_string_equal(f_from, HOTLINE);
    assert_string_equal(f_body, body);
    char cb[256];
    snprintf(cb, sizeof cb, "%s/webhooks/twilio/status", fx->base_url);
    assert_string_equal(f_cb, cb);
    free(f_to);
    free(f_from);
    free(f_body);
    free(f_cb);
    mock_request_clear(&r);
}

char *request_form(struct fx *fx, size_t i, const char *field)
{
    struct mock_request r;
    assert_int_equal(mock_gateway_request(fx->mg, i, &r), 0);
    char *v = mock_request_form(&r, field);
    mock_request_clear(&r);
    assert_non_null(v);
    return v;
}

/* ---- the CLI ---- */

int cli(struct fx *fx, const char *args, char **out)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "env HOTLINE_DATA_DIR='%s' HOTLINE_LISTEN=127.0.0.1:0 TWILIO_ACCOUNT_SID= "
             "TWILIO_AUTH_TOKEN= '%s' %s",
             fx->data, HOTLINE_BINARY, args);
    return tu_run(cmd, NULL, out);
}

void cli_ok(struct fx *fx, const char *args)
{
    char *out = NULL;
    int rc = cli(fx, args, &out);
    if (rc != 0)
        fail_msg("hotline %s: exit %d: %s", args, rc, out ? out : "");
    free(out);
}

void add_staff(struct fx *fx)
{
    char *out = NULL;
    assert_int_equal(cli(fx, "staff add alice --phone " ALICE " --on-call", &out), 0);
    assert_non_null(strstr(out, "token: hlt_"));
    free(out);
    cli_ok(fx, "staff add bob --phone " BOB " --on-call");
    cli_ok(fx, "staff add carol --phone " CAROL);
}

void add_with_token(struct fx *fx, const char *args, char token[STAFF_TOKEN_SIZE])
{
    char *out = NULL;
    int rc = cli(fx, args, &out);
    if (rc != 0)
        fail_msg("hotline %s: exit %d: %s", args, rc, out ? out : "");
    const char *t = strstr(out, "token: ");
    assert_non_null(t);
    snprintf(token, STAFF_TOKEN_SIZE, "%.*s", STAFF_TOKEN_SIZE - 1, t + 7);
    free(out);
}

/* ---- the staff event stream ---- */

int sse_open(struct fx *fx, const char *token)
{
    int fd = connect_service(fx);
    char req[256];
    int n = snprintf(req, sizeof req,
                     "GET /staff/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
                     token);
    assert_int_equal(write(fd, req, (size_t)n), n);
    return fd;
}

bool sse_wait(int fd, char *buf, size_t cap, const char *needle, int ms)
{
    int64_t deadline = now_ms() + ms;
    size_t len = strlen(buf);
    while (!strstr(buf, needle)) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            return false;
        len += (size_t)r;
        buf[len] = '\0';
    }
    return true;
}
