/*
 * config: the settings of `hotline serve`, read once at start and validated in one place.
 *
 * Each setting comes from the environment first, else from an optional JSON file
 * (`--config FILE`), else its default; the names are the operators' contract (see
 * config_print_help). Secrets (the Twilio auth token) never come from the command line,
 * where `ps` would show them; the API has no way to pass one. The environment is passed
 * in as an envp array so tests never touch the process environment.
 *
 * The JSON file is one object whose keys are the variable names in lower case without
 * the HOTLINE_ prefix:
 *   { "listen": "127.0.0.1:8080", "public_url": "https://sms.example.org",
 *     "twilio_account_sid": "AC...", "twilio_auth_token": "...",
 *     "twilio_api_base": "https://api.twilio.com", "from": "+19497633440",
 *     "data_dir": "./var", "replies": "./replies", "log_level": "info",
 *     "keyword_replies": "self", "retry_base_ms": "1000", "repage_seconds": "120",
 *     "reply_budget": "20", "repeat_seconds": "300", "loop_mute_seconds": "3600",
 *     "escalation_log_max_mb": "64", "escalation_log_keep": "10",
 *     "staff_webhook_url": "https://hooks.slack.com/services/..." }
 * Values are strings (null counts as unset); an unknown key is an error. A file that
 * holds a secret (the auth token, the staff webhook URL) must not be readable by others,
 * and no config file may be writable by others.
 *
 * Local mode: with neither TWILIO_ACCOUNT_SID nor TWILIO_AUTH_TOKEN the service accepts
 * unsigned webhooks and prints replies instead of sending them, so it must listen on a
 * loopback address only; a non-loopback listen address is refused.
 */
#ifndef HOTLINE_CONFIG_H
#define HOTLINE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "hotline/log.h"

/* Who answers STOP/START/HELP (gateways.md section 6). */
enum config_keyword_replies {
    CONFIG_KEYWORDS_SELF,    /* hotline replies; Twilio's built-in handling is off */
    CONFIG_KEYWORDS_GATEWAY, /* Twilio replies; hotline must not send a second reply */
};

/* Validated settings. Every string is owned by the struct (config_clear frees them). */
struct config {
    char *listen;             /* "host:port" as configured, e.g. "127.0.0.1:8080", "[::1]:80" */
    char *listen_host;        /* host without IPv6 brackets, for the bind call */
    int listen_port;          /* 0..65535; 0 asks the kernel for a free port */
    char *public_url;         /* http(s) base URL without a trailing '/' */
    bool public_url_default;  /* public_url was derived from listen (rebuild it if port 0) */
    char *twilio_account_sid; /* "AC" + 32 hex, NULL in local mode */
    char *twilio_auth_token;  /* 32 hex, NULL in local mode. Secret: never log or print */
    char *twilio_api_base;    /* http(s) URL without a trailing '/' */
    char *from;               /* the hotline's number, E.164 */
    char *data_dir;
    char *replies;
    enum log_level log_level;
    enum config_keyword_replies keyword_replies;
    bool local_mode;        /* no credentials: unsigned webhooks, replies printed, loopback only */
    long retry_base_ms;     /* first retry delay of a failed send (backoff doubles it) */
    long repage_seconds;    /* an unacknowledged urgent escalation pages again this often */
    long reply_budget;      /* auto-replies per texter per hour (conversation.h) */
    long repeat_seconds;    /* the same answer within this: the repeat pointer; 0: never */
    long loop_mute_seconds; /* the loop guard's silence */
    long escalation_log_max_mb; /* rotate escalations.jsonl at this size; 0: never */
    long escalation_log_keep;   /* rotated escalation logs kept */
    char *staff_webhook_url;    /* chat webhook for escalation events, NULL when none. Secret
                                   (it usually embeds a token): never log or print it */
};

/*
 * Loads the settings from envp (a NULL-terminated "NAME=value" array such as environ;
 * NULL means none; an empty value counts as unset) and from the JSON file at
 * config_file (NULL for none), the environment winning, then applies defaults and
 * validates. Returns 0 with *cfg filled (the caller frees it with config_clear), or -1
 * with *cfg zeroed and a one-line reason naming the setting and where it came from in
 * err (never the value of a secret).
 */
int config_load(struct config *cfg, const char *config_file, char *const *envp, char *err,
                size_t errlen);

/* Frees every string of cfg and zeroes it; safe on a zeroed or already cleared config. */
void config_clear(struct config *cfg);

/*
 * Writes the `hotline serve --help` text to out: usage, then every setting with its
 * variable, file key, meaning and default. Static text: it prints no configured value.
 */
void config_print_help(FILE *out);

/* "debug", "info", "warn" or "error". */
const char *config_log_level_name(enum log_level level);

#endif
