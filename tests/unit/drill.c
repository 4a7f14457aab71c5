/*
 * drill: the fault and soak drills' harness (see drill.h): the `hotline serve` child on a
 * fixed port, signed webhooks over libcurl, read-only looks at the store, /proc samples.
 */
#include "drill.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "hotline/form.h"
#include "hotline/twilio.h"
#include "testutil.h"

#define WAIT_MS 30000

extern char **environ;

struct drill_http {
    CURL *c;
    char *body;
    size_t len;
};

int64_t drill_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void drill_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

long drill_env_int(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    return *end ? def : n;
}

/* A port nobody listens on now (the kernel's pick; closed again at once). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        fail_msg("free_port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

void drill_setenv(struct drill *d, const char *name, const char *value)
{
    size_t nl = strlen(name);
    size_t n = nl + strlen(value) + 2;
    char *entry = malloc(n);
    assert_non_null(entry);
    snprintf(entry, n, "%s=%s", name, value);
    for (size_t i = 0; i < d->nenv; i++) {
        if (strncmp(d->env[i], name, nl) == 0 && d->env[i][nl] == '=') {
            free(d->env[i]);
            d->env[i] = entry;
            return;
        }
    }
    assert_true(d->nenv < DRILL_ENV_MAX);
    d->env[d->nenv++] = entry;
}

void drill_set_data_dir(struct drill *d, const char *dir)
{
    snprintf(d->data, sizeof d->data, "%s", dir);
    snprintf(d->db, sizeof d->db, "%s/hotline.db", d->data);
    drill_setenv(d, "HOTLINE_DATA_DIR", d->data);
}

static struct drill *g_last; /* for drill_teardown */

void drill_init_with(struct drill *d, const char *binary, const char *source_dir)
{
    memset(d, 0, sizeof *d);
    g_last = d;
    d->binary = binary;
    d->tmp = tu_mkdtemp();
    d->mg = mock_gateway_start();
    d->port = free_port();
    snprintf(d->base_url, sizeof d->base_url, "http://127.0.0.1:%d", d->port);
    char data[600], listen[64], replies[600];
    snprintf(data, sizeof data, "%s/data", d->tmp);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", d->port);
    snprintf(replies, sizeof replies, "%s/replies", source_dir);
    drill_set_data_dir(d, data);
    drill_setenv(d, "HOTLINE_LISTEN", listen);
    drill_setenv(d, "HOTLINE_PUBLIC_URL", d->base_url);
    drill_setenv(d, "TWILIO_ACCOUNT_SID", DRILL_SID);
    drill_setenv(d, "TWILIO_AUTH_TOKEN", DRILL_TOKEN);
    drill_setenv(d, "HOTLINE_TWILIO_API_BASE", mock_gateway_url(d->mg));
    drill_setenv(d, "HOTLINE_REPLIES", replies);
    drill_setenv(d, "HOTLINE_FROM", DRILL_HOTLINE);
    drill_setenv(d, "HOTLINE_RETRY_BASE_MS", "20");
    drill_setenv(d, "HOTLINE_REPAGE_SECONDS", "86400");
    drill_setenv(d, "HOTLINE_LOG_LEVEL", "info");
    drill_setenv(d, "HOTLINE_STAFF_WEBHOOK_URL", "");
    drill_setenv(d, "HOTLINE_KEYWORD_REPLIES", "self");
}

void drill_free(struct drill *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    if (d->mnt[0]) {
        umount2(d->mnt, MNT_DETACH);
        d->mnt[0] = '\0';
    }
    mock_gateway_free(d->mg);
    d->mg = NULL;
    if (d->tmp && getenv("DRILL_KEEP")) {
        printf("DRILL kept %s\n", d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    } else if (d->tmp) {
        tu_rmtree(d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    }
    for (size_t i = 0; i < d->nenv; i++)
        free(d->env[i]);
    d->nenv = 0;
    if (g_last == d)
        g_last = NULL;
}

int drill_teardown(void **state)
{
    (void)state;
    if (g_last)
        drill_free(g_last);
    return 0;
}

/* Whether the environment entry e is one the drill sets. */
static bool overridden(const struct drill *d, const char *e)
{
    for (size_t i = 0; i < d->nenv; i++) {
        size_t nl = strcspn(d->env[i], "=") + 1;
        if (strncmp(e, d->env[i], nl) == 0)
            return true;
    }
    return false;
}

void drill_spawn(struct drill *d)
{
    assert_int_equal(d->pid, 0);
    d->run++;
    snprintf(d->err_path, sizeof d->err_path, "%s/err.%d", d->tmp, d->run);
    char out_path[600];
    snprintf(out_path, sizeof out_path, "%s/out.%d", d->tmp, d->run);

    /* Built before fork: the child of a threaded process may only exec. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + d->nenv + 1, sizeof *envp);
    assert_non_null(envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!overridden(d, environ[i]))
            envp[k++] = environ[i];
    for (size_t i = 0; i < d->nenv; i++)
        if (strchr(d->env[i], '=')[1]) /* "NAME=": left unset */
            envp[k++] = d->env[i];
    envp[k] = NULL;
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(d->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(out >= 0 && err >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        char *argv[] = {"hotline", "serve", NULL};
        execve(d->binary, argv, envp);
        _exit(127);
    }
    close(out);
    close(err);
    free(envp);
    d->pid = pid;
}

void drill_wait_listening(struct drill *d)
{
    int64_t deadline = drill_now_ms() + WAIT_MS;
    for (;;) {
        char *err = tu_read_file(d->err_path, NULL);
        bool up = err && strstr(err, "event=listening addr=");
        if (up) {
            free(err);
            return;
        }
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            fail_msg("hotline serve exited before listening; stderr:\n%s", err ? err : "");
        }
        free(err);
        if (drill_now_ms() > deadline)
            fail_msg("hotline serve did not start listening");
        drill_sleep_ms(10);
    }
}

void drill_start(struct drill *d)
{
    drill_spawn(d);
    drill_wait_listening(d);
}

void drill_kill9(struct drill *d)
{
    assert_true(d->pid > 0);
    assert_int_equal(kill(d->pid, SIGKILL), 0);
    assert_int_equal(waitpid(d->pid, NULL, 0), d->pid);
    d->pid = 0;
}

int drill_stop(struct drill *d)
{
    assert_true(d->pid > 0);
    assert_int_equal(kill(d->pid, SIGTERM), 0);
    int64_t deadline = drill_now_ms() + WAIT_MS;
    int status = 0;
    while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
        if (drill_now_ms() > deadline) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &status, 0);
            break;
        }
        drill_sleep_ms(10);
    }
    d->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void drill_staff_add(struct drill *d, const char *name, const char *phone)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "env HOTLINE_DATA_DIR='%s' HOTLINE_LISTEN=127.0.0.1:0 TWILIO_ACCOUNT_SID= "
             "TWILIO_AUTH_TOKEN= '%s' staff add %s --phone %s --on-call",
             d->data, d->binary, name, phone);
    char *out = NULL;
    int rc = tu_run(cmd, NULL, &out);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", cmd, rc, out ? out : "");
    free(out);
}

void drill_sid(char out[35], unsigned n)
{
    snprintf(out, 35, "SM%08x%024x", (unsigned)getpid(), n);
}

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct drill_http *h = arg;
    size_t n = size * nmemb;
    char *grown = realloc(h->body, h->len + n + 1);
    if (!grown)
        return 0;
    h->body = grown;
    memcpy(h->body + h->len, p, n);
    h->len += n;
    h->body[h->len] = '\0';
    return n;
}

struct drill_http *drill_http_new(void)
{
    struct drill_http *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->c = curl_easy_init();
    assert_non_null(h->c);
    return h;
}

void drill_http_free(struct drill_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->c);
    free(h->body);
    free(h);
}

static long perform(struct drill_http *h, const char *url, const char *body,
                    struct curl_slist *headers, long timeout_ms, double *latency_ms)
{
    CURL *c = h->c;
    curl_easy_reset(c);
    h->len = 0;
    if (h->body)
        h->body[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    int64_t t0 = drill_now_ms();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CURLcode rc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &b);
    (void)t0;
    if (latency_ms)
        *latency_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

long drill_post_text(struct drill *d, struct drill_http *h, const char *sid, const char *from,
                     const char *text, long timeout_ms, double *latency_ms)
{
    const struct form_pair p[] = {
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
        {"To", DRILL_HOTLINE},
        {"ToZip", ""},
        {"NumSegments", "1"},
        {"MessageSid", sid},
        {"AccountSid", DRILL_SID},
        {"From", from},
        {"ApiVersion", "2010-04-01"},
    };
    size_t np = sizeof p / sizeof p[0];
    char *body = form_encode(p, np);
    assert_non_null(body);
    const char *why = NULL;
    struct form *f = form_parse(body, strlen(body), &(struct form_limits){256, 64, 65536}, &why);
    assert_non_null(f);
    char url[256], sig[TWILIO_SIGNATURE_LEN + 1], header[128];
    snprintf(url, sizeof url, "%s/webhooks/twilio/messages", d->base_url);
    assert_int_equal(twilio_signature(DRILL_TOKEN, url, f, sig), 0);
    form_free(f);
    snprintf(header, sizeof header, "X-Twilio-Signature: %s", sig);
    struct curl_slist *hs = curl_slist_append(NULL, header);
    long status = perform(h, url, body, hs, timeout_ms, latency_ms);
    curl_slist_free_all(hs);
    free(body);
    return status;
}

long drill_get(struct drill *d, struct drill_http *h, const char *path, char **body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", d->base_url, path);
    long status = perform(h, url, NULL, NULL, 10000, NULL);
    if (body)
        *body = strdup(h->body ? h->body : "");
    return status;
}

/* ---- the store ---- */

int64_t drill_db_int(struct drill *d, const char *sql)
{
    sqlite3 *db = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

void drill_wait_db(struct drill *d, const char *sql, int64_t want, int timeout_ms)
{
    int64_t deadline = drill_now_ms() + timeout_ms, got;
    while ((got = drill_db_int(d, sql)) != want) {
        if (drill_now_ms() > deadline)
            fail_msg("waited for %s = %lld, got %lld", sql, (long long)want, (long long)got);
        drill_sleep_ms(20);
    }
}

/* ---- logs and /proc ---- */

char *drill_logs(struct drill *d)
{
    size_t cap = 1, len = 0;
    char *all = calloc(1, 1);
    assert_non_null(all);
    for (int i = 1; i <= d->run; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/err.%d", d->tmp, i);
        size_t n = 0;
        char *text = tu_read_file(path, &n);
        if (!text)
            continue;
        if (len + n + 1 > cap) {
            cap = len + n + 1;
            all = realloc(all, cap);
            assert_non_null(all);
        }
        memcpy(all + len, text, n);
        len += n;
        all[len] = '\0';
        free(text);
    }
    return all;
}

int drill_log_count(struct drill *d, const char *needle)
{
    char *all = drill_logs(d);
    int n = 0;
    for (const char *p = all; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(all);
    return n;
}

long drill_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

int drill_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

/* ---- what reached the mock ---- */

struct drill_send *drill_sends(struct drill *d, size_t *n)
{
    size_t count = mock_gateway_count(d->mg);
    struct drill_send *s = calloc(count ? count : 1, sizeof *s);
    assert_non_null(s);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        struct mock_request r;
        if (mock_gateway_request(d->mg, i, &r) != 0)
            continue;
        char *to = mock_request_form(&r, "To"), *body = mock_request_form(&r, "Body");
        s[k].to = to ? to : strdup("");
        s[k].body = body ? body : strdup("");
        s[k].status = r.response_status;
        s[k].ms = r.received_ms;
        k++;
        mock_request_clear(&r);
    }
    *n = k;
    return s;
}

void drill_sends_free(struct drill_send *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].to);
        free(s[i].body);
    }
    free(s);
}

static int send_cmp(const void *a, const void *b)
{
    const struct drill_send *x = a, *y = b;
    int c = strcmp(x->to, y->to);
    if (!c)
        c = strcmp(x->body, y->body);
    if (!c)
        c = (x->ms > y->ms) - (x->ms < y->ms);
    return c;
}

void drill_sends_sort(struct drill_send *s, size_t n)
{
    qsort(s, n, sizeof *s, send_cmp);
}
