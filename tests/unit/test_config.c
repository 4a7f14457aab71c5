/*
 * Tests for config: defaults, environment over file, one message per invalid setting,
 * the local-mode rules, file permission rules, and a help text that lists every setting
 * and never a secret. The environment is always an injected array.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hotline/config.h"

#define SID "AC0123456789abcdef0123456789abcdef"
#define TOKEN "f00dfeedf00dfeedf00dfeedf00dfeed"
#define SID_ENV "TWILIO_ACCOUNT_SID=" SID
#define TOKEN_ENV "TWILIO_AUTH_TOKEN=" TOKEN

static void load_ok(struct config *cfg, const char *file, char *const *envp)
{
    char err[512];
    if (config_load(cfg, file, envp, err, sizeof err) != 0)
        fail_msg("config_load failed: %s", err);
}

/* Loads, expects failure, and returns the message (static buffer). */
static const char *load_err(const char *file, char *const *envp)
{
    static char err[512];
    struct config cfg;
    memset(err, 0, sizeof err);
    if (config_load(&cfg, file, envp, err, sizeof err) == 0) {
        config_clear(&cfg);
        fail_msg("config_load accepted the settings");
    }
    assert_null(cfg.listen);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    return err;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config cfg;
    load_ok(&cfg, NULL, NULL);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_string_equal(cfg.public_url, "http://127.0.0.1:8080");
    assert_true(cfg.public_url_default);
    assert_null(cfg.twilio_account_sid);
    assert_null(cfg.twilio_auth_token);
    assert_true(cfg.local_mode);
    assert_string_equal(cfg.twilio_api_base, "https://api.twilio.com");
    assert_string_equal(cfg.from, "+19497633440");
    assert_string_equal(cfg.data_dir, "./var");
    assert_string_equal(cfg.replies, "./replies");
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.keyword_replies, CONFIG_KEYWORDS_SELF);
    assert_null(cfg.staff_webhook_url);
    config_clear(&cfg);
    assert_null(cfg.listen);
    config_clear(&cfg);
}

static void test_environment(void **state)
{
    (void)state;
    char *env[] = {
        "PATH=/usr/bin",
        "HOTLINE_LISTEN=0.0.0.0:9000",
        "HOTLINE_PUBLIC_URL=https://sms.example.org/hotline/",
        SID_ENV,
        TOKEN_ENV,
        "HOTLINE_TWILIO_API_BASE=http://127.0.0.1:4010/",
        "HOTLINE_FROM=+15555550100",
        "HOTLINE_DATA_DIR=/var/lib/hotline",
        "HOTLINE_REPLIES=/etc/hotline/replies",
        "HOTLINE_LOG_LEVEL=debug",
        "HOTLINE_KEYWORD_REPLIES=gateway",
        "HOTLINE_LISTEN_EXTRA=ignored",
        NULL,
    };
    struct config cfg;
    load_ok(&cfg, NULL, env);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.public_url, "https://sms.example.org/hotline");
    assert_false(cfg.public_url_default);
    assert_string_equal(cfg.twilio_account_sid, SID);
    assert_string_equal(cfg.twilio_auth_token, TOKEN);
    assert_false(cfg.local_mode);
    assert_string_equal(cfg.twilio_api_base, "http://127.0.0.1:4010");
    assert_string_equal(cfg.from, "+15555550100");
    assert_string_equal(cfg.data_dir, "/var/lib/hotline");
    assert_string_equal(cfg.replies, "/etc/hotline/replies");
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    assert_int_equal(cfg.keyword_replies, CONFIG_KEYWORDS_GATEWAY);
    config_clear(&cfg);
}

static void test_ipv6_and_port_zero(void **state)
{
    (void)state;
    char *env[] = {"HOTLINE_LISTEN=[::1]:0", NULL};
    struct config cfg;
    load_ok(&cfg, NULL, env);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 0);
    assert_string_equal(cfg.public_url, "http://[::1]:0");
    assert_true(cfg.local_mode);
    config_clear(&cfg);

    char *env2[] = {"HOTLINE_LISTEN=localhost:8081", NULL};
    load_ok(&cfg, NULL, env2);
    assert_string_equal(cfg.listen_host, "localhost");
    config_clear(&cfg);
}

static void test_empty_variable_is_unset(void **state)
{
    (void)state;
    char *env[] = {"HOTLINE_LISTEN=", "TWILIO_AUTH_TOKEN=", "TWILIO_ACCOUNT_SID=", NULL};
    struct config cfg;
    load_ok(&cfg, NULL, env);
    assert_string_equal(cfg.listen, "127.0.0.1:8080");
    assert_true(cfg.local_mode);
    config_clear(&cfg);
}

static char *write_config(const char *dir, const char *json, mode_t mode)
{
    tu_write_file(dir, "hotline.json", json);
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/hotline.json", dir);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static void test_file_and_env_precedence(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = write_config(dir,
                              "{\"listen\": \"127.0.0.1:7000\", \"from\": \"+15555550111\","
                              " \"data_dir\": \"/srv/hotline\", \"log_level\": \"warn\","
                              " \"twilio_account_sid\": \"" SID "\","
                              " \"twilio_auth_token\": \"" TOKEN "\", \"replies\": null}",
                              0600);
    struct config cfg;
    load_ok(&cfg, path, NULL);
    assert_string_equal(cfg.listen, "127.0.0.1:7000");
    assert_string_equal(cfg.public_url, "http://127.0.0.1:7000");
    assert_string_equal(cfg.from, "+15555550111");
    assert_string_equal(cfg.data_dir, "/srv/hotline");
    assert_string_equal(cfg.replies, "./replies");
    assert_int_equal(cfg.log_level, LOG_WARN);
    assert_false(cfg.local_mode);
    config_clear(&cfg);

    /* The environment wins, setting by setting. */
    char *env[] = {"HOTLINE_FROM=+15555550199", "HOTLINE_LOG_LEVEL=error", NULL};
    load_ok(&cfg, path, env);
    assert_string_equal(cfg.from, "+15555550199");
    assert_int_equal(cfg.log_level, LOG_ERROR);
    assert_string_equal(cfg.listen, "127.0.0.1:7000");
    assert_string_equal(cfg.data_dir, "/srv/hotline");
    config_clear(&cfg);

    /* An invalid file value is reported with its key and the file. */
    free(path);
    path = write_config(dir, "{\"from\": \"5555\"}", 0644);
    const char *err = load_err(path, NULL);
    assert_contains(err, "\"from\" in ");
    assert_contains(err, "hotline.json");
    assert_contains(err, "E.164");
    /* ... unless the environment overrides it. */
    char *env2[] = {"HOTLINE_FROM=+15555550199", NULL};
    load_ok(&cfg, path, env2);
    config_clear(&cfg);

    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_file_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = write_config(dir, "{\"listen\": \"127.0.0.1:7000\", \"lisen\": \"x\"}", 0600);
    assert_contains(load_err(path, NULL), "unknown setting \"lisen\"");
    free(path);

    path = write_config(dir, "{\"listen\": 8080}", 0600);
    assert_contains(load_err(path, NULL), "\"listen\" must be a string");
    free(path);

    path = write_config(dir, "[\"listen\"]", 0600);
    assert_contains(load_err(path, NULL), "one JSON object");
    free(path);

    path = write_config(dir, "{\"listen\": \"127.0.0.1:7000\",\n \"from\": }", 0600);
    assert_contains(load_err(path, NULL), "hotline.json:2:");
    free(path);

    path = write_config(dir, "{\"from\": \"+1555\", \"from\": \"+1666\"}", 0600);
    assert_contains(load_err(path, NULL), "duplicate");
    free(path);

    /* The auth token may live in a file only if others cannot read it. */
    path = write_config(
        dir, "{\"twilio_account_sid\": \"" SID "\", \"twilio_auth_token\": \"" TOKEN "\"}", 0644);
    const char *err = load_err(path, NULL);
    assert_contains(err, "readable by others");
    assert_null(strstr(err, TOKEN));
    free(path);

    /* No config file may be writable by others. */
    path = write_config(dir, "{\"from\": \"+15555550111\"}", 0666);
    assert_contains(load_err(path, NULL), "writable by others");
    free(path);

    assert_contains(load_err("/nonexistent/hotline.json", NULL), "cannot open");
    tu_rmtree(dir);
    free(dir);
}

struct bad_case {
    const char *env;      /* NAME=value */
    const char *expected; /* substring of the message */
};

static void test_invalid_values(void **state)
{
    (void)state;
    const struct bad_case cases[] = {
        {"HOTLINE_LISTEN=8080", "HOTLINE_LISTEN: must be host:port"},
        {"HOTLINE_LISTEN=127.0.0.1:", "HOTLINE_LISTEN: port must be a number from 0 to 65535"},
        {"HOTLINE_LISTEN=127.0.0.1:65536", "port must be a number from 0 to 65535"},
        {"HOTLINE_LISTEN=127.0.0.1:80a", "port must be a number"},
        {"HOTLINE_LISTEN=:8080", "HOTLINE_LISTEN: must be host:port (name the address"},
        {"HOTLINE_LISTEN=::1:8080", "IPv6 address in brackets"},
        {"HOTLINE_LISTEN=[::zz]:8080", "bad IPv6 address"},
        {"HOTLINE_LISTEN=bad_host!:8080", "HOTLINE_LISTEN: bad host"},
        {"HOTLINE_PUBLIC_URL=ftp://x.org",
         "HOTLINE_PUBLIC_URL: must start with http:// or https://"},
        {"HOTLINE_PUBLIC_URL=sms.example.org", "must start with http:// or https://"},
        {"HOTLINE_PUBLIC_URL=https://", "HOTLINE_PUBLIC_URL: has no host"},
        {"HOTLINE_PUBLIC_URL=https://x.org/a?b=1", "must not have a query or fragment"},
        {"HOTLINE_PUBLIC_URL=https://x.org/a#ct=1", "must not have a query or fragment"},
        {"HOTLINE_PUBLIC_URL=https://x.org/a b", "must not contain spaces"},
        {"HOTLINE_PUBLIC_URL=https://my_host.org", "must not contain '_'"},
        {"HOTLINE_PUBLIC_URL=https://x.org//", "must not end with '//'"},
        {"HOTLINE_TWILIO_API_BASE=api.twilio.com",
         "HOTLINE_TWILIO_API_BASE: must start with http:// or https://"},
        {"HOTLINE_FROM=9497633440", "HOTLINE_FROM: must be an E.164 number"},
        {"HOTLINE_FROM=+09497633440", "must be an E.164 number"},
        {"HOTLINE_FROM=+1949763344012345", "must be an E.164 number"},
        {"HOTLINE_FROM=+1 949 763 3440", "must be an E.164 number"},
        {"HOTLINE_LOG_LEVEL=verbose", "HOTLINE_LOG_LEVEL: must be debug, info, warn or error"},
        {"HOTLINE_KEYWORD_REPLIES=twilio", "HOTLINE_KEYWORD_REPLIES: must be self or gateway"},
        {"HOTLINE_DATA_DIR=/var/\x01x", "HOTLINE_DATA_DIR: must not contain control characters"},
        {"HOTLINE_REPLIES=./r\x1b", "HOTLINE_REPLIES: must not contain control characters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *env[] = {(char *)cases[i].env, NULL};
        const char *err = load_err(NULL, env);
        assert_contains(err, cases[i].expected);
        /* The offending (non-secret) value is echoed, with control bytes masked. */
        assert_contains(err, "(got \"");
    }
}

static void test_credentials(void **state)
{
    (void)state;
    char *bad_sid[] = {"TWILIO_ACCOUNT_SID=AC123", TOKEN_ENV, NULL};
    assert_contains(load_err(NULL, bad_sid), "TWILIO_ACCOUNT_SID: must be AC followed by 32 hex");
    char *bad_prefix[] = {"TWILIO_ACCOUNT_SID=SM0123456789abcdef0123456789abcdef", TOKEN_ENV, NULL};
    assert_contains(load_err(NULL, bad_prefix), "must be AC followed by 32 hex");

    /* The token is secret: its value never appears in a message. */
    char *bad_token[] = {SID_ENV, "TWILIO_AUTH_TOKEN=s3cr3t-but-not-hex-s3cr3t-but-no", NULL};
    const char *err = load_err(NULL, bad_token);
    assert_contains(err, "TWILIO_AUTH_TOKEN: must be 32 hex digits");
    assert_null(strstr(err, "s3cr3t"));

    char *only_sid[] = {SID_ENV, NULL};
    err = load_err(NULL, only_sid);
    assert_contains(err, "TWILIO_AUTH_TOKEN is not set");
    assert_contains(err, "or neither for local mode");
    char *only_token[] = {TOKEN_ENV, NULL};
    err = load_err(NULL, only_token);
    assert_contains(err, "TWILIO_ACCOUNT_SID is not set");
    assert_null(strstr(err, TOKEN));
}

static void test_local_mode_loopback_only(void **state)
{
    (void)state;
    const char *refused[] = {"HOTLINE_LISTEN=0.0.0.0:8080", "HOTLINE_LISTEN=192.168.1.5:8080",
                             "HOTLINE_LISTEN=[::]:8080", "HOTLINE_LISTEN=example.org:8080"};
    for (size_t i = 0; i < 4; i++) {
        char *env[] = {(char *)refused[i], NULL};
        const char *err = load_err(NULL, env);
        assert_contains(err, "HOTLINE_LISTEN: local mode");
        assert_contains(err, "loopback only");
    }
    const char *allowed[] = {"HOTLINE_LISTEN=127.0.0.1:1", "HOTLINE_LISTEN=127.1.2.3:8080",
                             "HOTLINE_LISTEN=[::1]:8080", "HOTLINE_LISTEN=LOCALHOST:8080"};
    for (size_t i = 0; i < 4; i++) {
        char *env[] = {(char *)allowed[i], NULL};
        struct config cfg;
        load_ok(&cfg, NULL, env);
        assert_true(cfg.local_mode);
        config_clear(&cfg);
    }
    /* With credentials any address may be used. */
    char *env[] = {"HOTLINE_LISTEN=0.0.0.0:8080", SID_ENV, TOKEN_ENV, NULL};
    struct config cfg;
    load_ok(&cfg, NULL, env);
    assert_false(cfg.local_mode);
    config_clear(&cfg);
}

/* HOTLINE_STAFF_WEBHOOK_URL: an http(s) URL (a query allowed), never echoed in an error
 * (it embeds a token), and a file holding it must not be readable by others. */
static void test_staff_webhook_url(void **state)
{
    (void)state;
    struct config cfg;
    char *ok[] = {"HOTLINE_STAFF_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/secretXYZ",
                  NULL};
    load_ok(&cfg, NULL, ok);
    assert_string_equal(cfg.staff_webhook_url, "https://hooks.slack.com/services/T0/B0/secretXYZ");
    config_clear(&cfg);
    assert_null(cfg.staff_webhook_url);

    char *query[] = {"HOTLINE_STAFF_WEBHOOK_URL=http://127.0.0.1:9000/hook?key=secretXYZ", NULL};
    load_ok(&cfg, NULL, query);
    assert_string_equal(cfg.staff_webhook_url, "http://127.0.0.1:9000/hook?key=secretXYZ");
    config_clear(&cfg);

    const char *bad[][2] = {
        {"HOTLINE_STAFF_WEBHOOK_URL=ftp://example.org/secretXYZ", "http:// or https://"},
        {"HOTLINE_STAFF_WEBHOOK_URL=hooks.example.org/secretXYZ", "http:// or https://"},
        {"HOTLINE_STAFF_WEBHOOK_URL=https:///secretXYZ", "no host"},
        {"HOTLINE_STAFF_WEBHOOK_URL=https://example.org/a secretXYZ", "spaces"},
        {"HOTLINE_STAFF_WEBHOOK_URL=https://example.org/secretXYZ#frag", "fragment"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *env[] = {(char *)bad[i][0], NULL};
        const char *err = load_err(NULL, env);
        assert_contains(err, "HOTLINE_STAFF_WEBHOOK_URL");
        assert_contains(err, bad[i][1]);
        assert_null(strstr(err, "secretXYZ"));
    }

    char *dir = tu_mkdtemp();
    char *path =
        write_config(dir, "{\"staff_webhook_url\": \"https://hooks.example.org/secretXYZ\"}", 0600);
    load_ok(&cfg, path, NULL);
    assert_string_equal(cfg.staff_webhook_url, "https://hooks.example.org/secretXYZ");
    config_clear(&cfg);
    free(path);
    path =
        write_config(dir, "{\"staff_webhook_url\": \"https://hooks.example.org/secretXYZ\"}", 0644);
    const char *err = load_err(path, NULL);
    assert_contains(err, "staff_webhook_url");
    assert_contains(err, "readable by others");
    assert_null(strstr(err, "secretXYZ"));
    free(path);
    path = write_config(dir, "{\"staff_webhook_url\": \"mailto:secretXYZ\"}", 0600);
    err = load_err(path, NULL);
    assert_contains(err, "\"staff_webhook_url\" in");
    assert_null(strstr(err, "secretXYZ"));
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_help(void **state)
{
    (void)state;
    char *env[] = {SID_ENV, TOKEN_ENV, NULL};
    struct config cfg;
    load_ok(&cfg, NULL, env);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    config_print_help(out);
    fclose(out);

    const char *must[] = {
        "hotline serve",
        "--config",
        "HOTLINE_LISTEN [listen]",
        "HOTLINE_PUBLIC_URL [public_url]",
        "TWILIO_ACCOUNT_SID [twilio_account_sid]",
        "TWILIO_AUTH_TOKEN [twilio_auth_token]",
        "HOTLINE_TWILIO_API_BASE [twilio_api_base]",
        "HOTLINE_FROM [from]",
        "HOTLINE_DATA_DIR [data_dir]",
        "HOTLINE_REPLIES [replies]",
        "HOTLINE_LOG_LEVEL [log_level]",
        "HOTLINE_KEYWORD_REPLIES [keyword_replies]",
        "HOTLINE_STAFF_WEBHOOK_URL [staff_webhook_url]",
        "(default: 127.0.0.1:8080)",
        "(default: http:// + listen)",
        "(default: none: local mode)",
        "(default: https://api.twilio.com)",
        "(default: +19497633440)",
        "(default: ./var)",
        "(default: ./replies)",
        "(default: info)",
        "(default: self)",
        "Local mode",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_contains(text, must[i]);
    assert_null(strstr(text, TOKEN));
    assert_null(strstr(text, SID));
    free(text);
    config_clear(&cfg);

    assert_string_equal(config_log_level_name(LOG_WARN), "warn");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_environment),
        cmocka_unit_test(test_ipv6_and_port_zero),
        cmocka_unit_test(test_empty_variable_is_unset),
        cmocka_unit_test(test_file_and_env_precedence),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_local_mode_loopback_only),
        cmocka_unit_test(test_staff_webhook_url),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
