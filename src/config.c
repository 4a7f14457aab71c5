/*
 * config: settings from the environment, an optional JSON file and defaults, validated
 * once (see config.h for the rules and the file format).
 *
 * One table lists every setting (variable, file key, meaning, default, secret or not);
 * loading, error messages and the --help text all read it, so a new setting cannot be
 * forgotten in one of them. Values are gathered as strings with where each came from,
 * then validated in table order, and the first invalid one stops the load with a
 * reason that names the variable or the file key, so the operator knows what to fix.
 */
#include "hotline/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

enum setting_id {
    S_LISTEN,
    S_PUBLIC_URL,
    S_ACCOUNT_SID,
    S_AUTH_TOKEN,
    S_API_BASE,
    S_FROM,
    S_DATA_DIR,
    S_REPLIES,
    S_LOG_LEVEL,
    S_KEYWORD_REPLIES,
    S_RETRY_BASE_MS,
    S_REPAGE_SECONDS,
    S_REPLY_BUDGET,
    S_REPEAT_SECONDS,
    S_LOOP_MUTE_SECONDS,
    S_ESCALATION_LOG_MAX_MB,
    S_ESCALATION_LOG_KEEP,
    S_STAFF_WEBHOOK_URL,
    S_COUNT
};

static const struct setting {
    const char *env;
    const char *key;
    const char *meaning;
    const char *fallback; /* default value, NULL when none or derived */
    const char *default_help;
    bool secret;
} settings[S_COUNT] = {
    [S_LISTEN] = {"HOTLINE_LISTEN", "listen", "address:port to listen on", "127.0.0.1:8080",
                  "127.0.0.1:8080", false},
    [S_PUBLIC_URL] = {"HOTLINE_PUBLIC_URL", "public_url",
                      "the base URL the gateway calls (signatures cover it)", NULL,
                      "http:// + listen", false},
    [S_ACCOUNT_SID] = {"TWILIO_ACCOUNT_SID", "twilio_account_sid", "the Twilio account (AC...)",
                       NULL, "none: local mode", false},
    [S_AUTH_TOKEN] = {"TWILIO_AUTH_TOKEN", "twilio_auth_token", "the account's auth token (secret)",
                      NULL, "none: local mode", true},
    [S_API_BASE] = {"HOTLINE_TWILIO_API_BASE", "twilio_api_base", "where the Messages API is",
                    "https://api.twilio.com", "https://api.twilio.com", false},
    [S_FROM] = {"HOTLINE_FROM", "from", "the hotline's own number (E.164)", "+19497633440",
                "+19497633440", false},
    [S_DATA_DIR] = {"HOTLINE_DATA_DIR", "data_dir", "the database and logs", "./var", "./var",
                    false},
    [S_REPLIES] = {"HOTLINE_REPLIES", "replies", "the replies folder", "./replies", "./replies",
                   false},
    [S_LOG_LEVEL] = {"HOTLINE_LOG_LEVEL", "log_level", "debug, info, warn or error", "info", "info",
                     false},
    [S_KEYWORD_REPLIES] = {"HOTLINE_KEYWORD_REPLIES", "keyword_replies",
                           "who answers STOP/START/HELP: self (hotline) or gateway (Twilio)",
                           "self", "self", false},
    [S_RETRY_BASE_MS] = {"HOTLINE_RETRY_BASE_MS", "retry_base_ms",
                         "first retry delay of a failed send, ms (doubles, with jitter, up to 5 "
                         "min)",
                         "1000", "1000", false},
    [S_REPAGE_SECONDS] = {"HOTLINE_REPAGE_SECONDS", "repage_seconds",
                          "how often an unacknowledged urgent escalation pages the on-call staff "
                          "again, seconds (1 to 86400)",
                          "120", "120", false},
    [S_REPLY_BUDGET] = {"HOTLINE_REPLY_BUDGET", "reply_budget",
                        "auto-replies one texter may get in an hour (1 to 1000); past it, "
                        "texts are stored and a person is asked to look (urgent replies "
                        "still go)",
                        "20", "20", false},
    [S_REPEAT_SECONDS] = {"HOTLINE_REPEAT_SECONDS", "repeat_seconds",
                          "the same answer asked for again within this many seconds gets a "
                          "short pointer instead (0 to 86400; 0: never)",
                          "300", "300", false},
    [S_LOOP_MUTE_SECONDS] = {"HOTLINE_LOOP_MUTE_SECONDS", "loop_mute_seconds",
                             "how long hotline stops auto-answering a number that looks like "
                             "another auto-responder, seconds (60 to 604800)",
                             "3600", "3600", false},
    [S_ESCALATION_LOG_MAX_MB] = {"HOTLINE_ESCALATION_LOG_MAX_MB", "escalation_log_max_mb",
                                 "escalations.jsonl is renamed escalations.jsonl.1 (older ones "
                                 "shifted up) when it reaches this many MiB (0 to 65536; 0: "
                                 "never, for logrotate)",
                                 "64", "64", false},
    [S_ESCALATION_LOG_KEEP] = {"HOTLINE_ESCALATION_LOG_KEEP", "escalation_log_keep",
                               "rotated escalation logs kept (1 to 1000); the database keeps "
                               "every event",
                               "10", "10", false},
    [S_STAFF_WEBHOOK_URL] = {"HOTLINE_STAFF_WEBHOOK_URL", "staff_webhook_url",
                             "chat webhook URL for every escalation event (Slack-compatible "
                             "{\"text\": ...}; secret)",
                             NULL, "none", true},
};

enum origin { FROM_DEFAULT, FROM_FILE, FROM_ENV };

struct loader {
    char *value[S_COUNT];
    enum origin origin[S_COUNT];
    const char *file;
    char *err;
    size_t errlen;
};

/* Copies s into out for an error message: at most 64 bytes, control bytes as '?'. */
static void sanitize(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 1 < cap && o < 64; s++)
        out[o++] = ((unsigned char)*s < 0x20 || *s == 0x7F) ? '?' : *s;
    out[o] = '\0';
}

static void set_err(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct loader *l, const char *fmt, ...)
{
    if (!l->err || l->errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, l->errlen, fmt, ap);
    va_end(ap);
}

/* "<where>: <reason>", plus the offending value unless the setting is secret. */
static int invalid(struct loader *l, enum setting_id id, const char *reason)
{
    char where[512];
    if (l->origin[id] == FROM_ENV)
        snprintf(where, sizeof where, "%s", settings[id].env);
    else if (l->origin[id] == FROM_FILE)
        snprintf(where, sizeof where, "\"%s\" in %s", settings[id].key, l->file);
    else
        snprintf(where, sizeof where, "%s (default)", settings[id].env);
    if (settings[id].secret || !l->value[id]) {
        set_err(l, "%s: %s", where, reason);
    } else {
        char shown[65];
        sanitize(l->value[id], shown, sizeof shown);
        set_err(l, "%s: %s (got \"%s\")", where, reason, shown);
    }
    return -1;
}

static int set_value(struct loader *l, enum setting_id id, const char *v, enum origin origin)
{
    char *copy = strdup(v);
    if (!copy) {
        set_err(l, "out of memory");
        return -1;
    }
    free(l->value[id]);
    l->value[id] = copy;
    l->origin[id] = origin;
    return 0;
}

static int read_file(struct loader *l)
{
    char shown[65];
    FILE *f = fopen(l->file, "r");
    if (!f) {
        set_err(l, "%s: cannot open: %s", l->file, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        set_err(l, "%s: not a regular file", l->file);
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        fclose(f);
        set_err(l, "%s: writable by others; run chmod o-w on it", l->file);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!root) {
        set_err(l, "%s:%d:%d: %s", l->file, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) {
        set_err(l, "%s: must hold one JSON object", l->file);
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int id = -1;
        for (int i = 0; i < S_COUNT; i++)
            if (strcmp(settings[i].key, key) == 0)
                id = i;
        sanitize(key, shown, sizeof shown);
        if (id < 0) {
            set_err(l, "%s: unknown setting \"%s\"", l->file, shown);
            goto done;
        }
        if (json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            set_err(l, "%s: \"%s\" must be a string", l->file, shown);
            goto done;
        }
        if (set_value(l, (enum setting_id)id, json_string_value(v), FROM_FILE) != 0)
            goto done;
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (settings[i].secret && l->value[i] && (st.st_mode & S_IRWXO)) {
            set_err(l, "%s: holds %s but is readable by others; run chmod o-rwx on it", l->file,
                    settings[i].key);
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* ---- validators: each returns NULL or a static reason ---- */

static bool all_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return true;
    return false;
}

static bool hostname_valid(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253 || h[0] == '-' || h[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Splits "host:port" / "[v6]:port" into cfg; returns NULL or a reason. */
static const char *parse_listen(const char *s, struct config *cfg)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return "must be host:port";
    const char *port = colon + 1;
    size_t plen = strlen(port);
    if (plen == 0 || plen > 5 || strspn(port, "0123456789") != plen || atoi(port) > 65535)
        return "port must be a number from 0 to 65535";
    char host[256];
    size_t hlen = (size_t)(colon - s);
    if (hlen > 0 && s[0] == '[') {
        if (hlen < 3 || s[hlen - 1] != ']')
            return "must be host:port, with an IPv6 address in brackets";
        hlen -= 2;
        if (hlen >= sizeof host)
            return "bad IPv6 address";
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return "bad IPv6 address";
    } else {
        if (hlen == 0)
            return "must be host:port (name the address, e.g. 127.0.0.1:8080 or 0.0.0.0:8080)";
        if (hlen >= sizeof host)
            return "host name too long";
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (strchr(host, ':'))
            return "must be host:port, with an IPv6 address in brackets";
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) != 1 && !hostname_valid(host))
            return "bad host";
    }
    cfg->listen_host = strdup(host);
    if (!cfg->listen_host)
        return "out of memory";
    cfg->listen_port = atoi(port);
    return NULL;
}

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcasecmp(host, "localhost") == 0;
}

/*
 * What every URL setting shares: an http:// or https:// scheme (its length goes to *skip)
 * and only printable ASCII without spaces. Returns NULL or a reason.
 */
static const char *check_url_scheme_and_bytes(const char *url, size_t *skip)
{
    if (strncmp(url, "https://", 8) == 0)
        *skip = 8;
    else if (strncmp(url, "http://", 7) == 0)
        *skip = 7;
    else
        return "must start with http:// or https://";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p >= 0x7F)
            return "must not contain spaces, control or non-ASCII characters";
    return NULL;
}

/*
 * An http(s) base URL: scheme, non-empty host, no query, fragment, spaces or control
 * bytes. Strips one trailing '/' in place. Returns NULL or a reason.
 */
static const char *check_base_url(char *url, bool callback_host)
{
    size_t skip;
    const char *why = check_url_scheme_and_bytes(url, &skip);
    if (why)
        return why;
    if (strpbrk(url, "?#"))
        return "must not have a query or fragment";
    size_t host_len = strcspn(url + skip, "/");
    if (host_len == 0)
        return "has no host";
    if (callback_host && memchr(url + skip, '_', host_len))
        return "host must not contain '_' (Twilio refuses such callback URLs)";
    size_t n = strlen(url);
    if (n > skip + host_len && url[n - 1] == '/')
        url[n - 1] = '\0';
    if (strlen(url) > skip + host_len && url[strlen(url) - 1] == '/')
        return "must not end with '//'";
    return NULL;
}

/*
 * A webhook URL: http(s), a host, no spaces, control or non-ASCII bytes, no fragment, at
 * most 2048 bytes. A query is allowed (some chat services put their key there).
 */
static const char *check_webhook_url(const char *url)
{
    size_t skip;
    const char *why = check_url_scheme_and_bytes(url, &skip);
    if (why)
        return why;
    if (strlen(url) > 2048)
        return "must be at most 2048 bytes";
    if (strchr(url, '#'))
        return "must not have a fragment";
    size_t host_len = strcspn(url + skip, "/?");
    if (host_len == 0 || url[skip] == ':' || url[skip] == '@')
        return "has no host";
    return NULL;
}

static const char *check_e164(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' ||
        strspn(s + 1, "0123456789") != n - 1)
        return "must be an E.164 number such as +19497633440";
    return NULL;
}

static int validate(struct loader *l, struct config *cfg)
{
    const char *why;
    char **v = l->value;

    if ((why = parse_listen(v[S_LISTEN], cfg)) != NULL)
        return invalid(l, S_LISTEN, why);

    if ((why = check_base_url(v[S_PUBLIC_URL], true)) != NULL)
        return invalid(l, S_PUBLIC_URL, why);

    if (v[S_ACCOUNT_SID] &&
        (strncmp(v[S_ACCOUNT_SID], "AC", 2) != 0 || !all_hex(v[S_ACCOUNT_SID] + 2, 32)))
        return invalid(l, S_ACCOUNT_SID, "must be AC followed by 32 hex digits");
    if (v[S_AUTH_TOKEN] && !all_hex(v[S_AUTH_TOKEN], 32))
        return invalid(l, S_AUTH_TOKEN, "must be 32 hex digits");
    if (!v[S_ACCOUNT_SID] != !v[S_AUTH_TOKEN]) {
        enum setting_id missing = v[S_ACCOUNT_SID] ? S_AUTH_TOKEN : S_ACCOUNT_SID;
        set_err(l,
                "%s is not set: set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither "
                "for local mode",
                settings[missing].env);
        return -1;
    }
    cfg->local_mode = !v[S_ACCOUNT_SID];

    if ((why = check_base_url(v[S_API_BASE], false)) != NULL)
        return invalid(l, S_API_BASE, why);
    if ((why = check_e164(v[S_FROM])) != NULL)
        return invalid(l, S_FROM, why);
    if (has_control(v[S_DATA_DIR]))
        return invalid(l, S_DATA_DIR, "must not contain control characters");
    if (has_control(v[S_REPLIES]))
        return invalid(l, S_REPLIES, "must not contain control characters");

    static const char *const levels[] = {"debug", "info", "warn", "error"};
    static const enum log_level level_values[] = {LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR};
    int level = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(v[S_LOG_LEVEL], levels[i]) == 0)
            level = i;
    if (level < 0)
        return invalid(l, S_LOG_LEVEL, "must be debug, info, warn or error");
    cfg->log_level = level_values[level];

    if (strcmp(v[S_KEYWORD_REPLIES], "self") == 0)
        cfg->keyword_replies = CONFIG_KEYWORDS_SELF;
    else if (strcmp(v[S_KEYWORD_REPLIES], "gateway") == 0)
        cfg->keyword_replies = CONFIG_KEYWORDS_GATEWAY;
    else
        return invalid(l, S_KEYWORD_REPLIES, "must be self or gateway");

    char *end;
    errno = 0;
    long base_ms = strtol(v[S_RETRY_BASE_MS], &end, 10);
    if (errno || end == v[S_RETRY_BASE_MS] || *end || base_ms < 1 || base_ms > 600000)
        return invalid(l, S_RETRY_BASE_MS, "must be a number of milliseconds from 1 to 600000");
    cfg->retry_base_ms = base_ms;

    errno = 0;
    long repage = strtol(v[S_REPAGE_SECONDS], &end, 10);
    if (errno || end == v[S_REPAGE_SECONDS] || *end || repage < 1 || repage > 86400)
        return invalid(l, S_REPAGE_SECONDS, "must be a number of seconds from 1 to 86400");
    cfg->repage_seconds = repage;

    static const struct {
        int setting;
        long min, max;
        const char *why;
    } numbers[] = {
        {S_REPLY_BUDGET, 1, 1000, "must be a number of replies from 1 to 1000"},
        {S_REPEAT_SECONDS, 0, 86400, "must be a number of seconds from 0 to 86400"},
        {S_LOOP_MUTE_SECONDS, 60, 604800, "must be a number of seconds from 60 to 604800"},
        {S_ESCALATION_LOG_MAX_MB, 0, 65536, "must be a number of MiB from 0 to 65536"},
        {S_ESCALATION_LOG_KEEP, 1, 1000, "must be a number of files from 1 to 1000"},
    };
    long *targets[] = {&cfg->reply_budget, &cfg->repeat_seconds, &cfg->loop_mute_seconds,
                       &cfg->escalation_log_max_mb, &cfg->escalation_log_keep};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *text = v[numbers[i].setting];
        errno = 0;
        long n = strtol(text, &end, 10);
        if (errno || end == text || *end || n < numbers[i].min || n > numbers[i].max)
            return invalid(l, numbers[i].setting, numbers[i].why);
        *targets[i] = n;
    }

    if (v[S_STAFF_WEBHOOK_URL] && (why = check_webhook_url(v[S_STAFF_WEBHOOK_URL])) != NULL)
        return invalid(l, S_STAFF_WEBHOOK_URL, why);

    if (cfg->local_mode && !host_is_loopback(cfg->listen_host))
        return invalid(l, S_LISTEN,
                       "local mode (no Twilio credentials) listens on loopback only: use "
                       "127.0.0.1, [::1] or localhost, or set the credentials");
    return 0;
}

int config_load(struct config *cfg, const char *config_file, char *const *envp, char *err,
                size_t errlen)
{
    struct loader l = {.file = config_file, .err = err, .errlen = errlen};
    memset(cfg, 0, sizeof *cfg);
    if (err && errlen)
        err[0] = '\0';

    if (config_file && read_file(&l) != 0)
        goto fail;
    for (int i = 0; i < S_COUNT; i++) {
        const char *e = env_lookup(envp, settings[i].env);
        if (e && *e && set_value(&l, (enum setting_id)i, e, FROM_ENV) != 0)
            goto fail;
    }
    for (int i = 0; i < S_COUNT; i++)
        if (!l.value[i] && settings[i].fallback &&
            set_value(&l, (enum setting_id)i, settings[i].fallback, FROM_DEFAULT) != 0)
            goto fail;
    cfg->public_url_default = !l.value[S_PUBLIC_URL];
    if (cfg->public_url_default) {
        size_t n = strlen(l.value[S_LISTEN]) + sizeof "http://";
        char *url = malloc(n);
        if (!url) {
            set_err(&l, "out of memory");
            goto fail;
        }
        snprintf(url, n, "http://%s", l.value[S_LISTEN]);
        l.value[S_PUBLIC_URL] = url;
        l.origin[S_PUBLIC_URL] = l.origin[S_LISTEN];
    }

    if (validate(&l, cfg) != 0)
        goto fail;

    /* Hand the strings over to cfg. */
    cfg->listen = l.value[S_LISTEN];
    cfg->public_url = l.value[S_PUBLIC_URL];
    cfg->twilio_account_sid = l.value[S_ACCOUNT_SID];
    cfg->twilio_auth_token = l.value[S_AUTH_TOKEN];
    cfg->twilio_api_base = l.value[S_API_BASE];
    cfg->from = l.value[S_FROM];
    cfg->data_dir = l.value[S_DATA_DIR];
    cfg->replies = l.value[S_REPLIES];
    cfg->staff_webhook_url = l.value[S_STAFF_WEBHOOK_URL];
    free(l.value[S_LOG_LEVEL]);
    free(l.value[S_KEYWORD_REPLIES]);
    free(l.value[S_RETRY_BASE_MS]);
    free(l.value[S_REPAGE_SECONDS]);
    free(l.value[S_REPLY_BUDGET]);
    free(l.value[S_REPEAT_SECONDS]);
    free(l.value[S_LOOP_MUTE_SECONDS]);
    free(l.value[S_ESCALATION_LOG_MAX_MB]);
    free(l.value[S_ESCALATION_LOG_KEEP]);
    return 0;

fail:
    for (int i = 0; i < S_COUNT; i++) {
        if (settings[i].secret && l.value[i])
            explicit_bzero(l.value[i], strlen(l.value[i]));
        free(l.value[i]);
    }
    free(cfg->listen_host);
    memset(cfg, 0, sizeof *cfg);
    return -1;
}

void config_clear(struct config *cfg)
{
    if (cfg->twilio_auth_token)
        explicit_bzero(cfg->twilio_auth_token, strlen(cfg->twilio_auth_token));
    free(cfg->listen);
    free(cfg->listen_host);
    free(cfg->public_url);
    free(cfg->twilio_account_sid);
    free(cfg->twilio_auth_token);
    free(cfg->twilio_api_base);
    free(cfg->from);
    free(cfg->data_dir);
    free(cfg->replies);
    if (cfg->staff_webhook_url)
        explicit_bzero(cfg->staff_webhook_url, strlen(cfg->staff_webhook_url));
    free(cfg->staff_webhook_url);
    memset(cfg, 0, sizeof *cfg);
}

void config_print_help(FILE *out)
{
    fputs("Usage: hotline serve [--config FILE]\n"
          "\n"
          "Runs the SMS auto-responder: Twilio webhooks in, replies out through the\n"
          "Messages API. Each setting comes from its environment variable first, then from\n"
          "the JSON file given with --config (the key in brackets), then its default.\n"
          "Secrets are never read from the command line. An empty variable counts as unset.\n"
          "\n"
          "Settings:\n",
          out);
    for (int i = 0; i < S_COUNT; i++)
        fprintf(out, "  %s [%s]\n      %s (default: %s)\n", settings[i].env, settings[i].key,
                settings[i].meaning, settings[i].default_help);
    fputs("\n"
          "Local mode: without TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, hotline listens on\n"
          "loopback only, accepts unsigned webhooks and prints each reply instead of sending\n"
          "it. With them, every webhook must carry a valid X-Twilio-Signature computed over\n"
          "HOTLINE_PUBLIC_URL, so set it to the URL Twilio calls (e.g. behind a TLS proxy).\n",
          out);
}

const char *config_log_level_name(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warn";
    case LOG_ERROR:
        return "error";
    }
    return "info";
}
