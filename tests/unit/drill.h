/*
 * drill: the harness of the fault and soak drills (tests/unit/test_drill_*.c, drills/).
 *
 * A drill runs the real `hotline serve` binary as a child process on a FIXED loopback port
 * (so that it can be killed and restarted on the same data folder while a sender keeps
 * sending signed webhooks to the same URL), pointed at a mock_gateway in this process.
 * Each start has its own stderr file (err.N in the drill's folder). Figures are printed
 * on stdout as "DRILL key=value ..." lines, which the scripts in drills/ collect.
 *
 * Sizes come from the environment (drill_env_int), so that the same code is a short
 * CI test and, with bigger numbers, the full drill of drills/.
 *
 * Every helper fails the running cmocka test on setup errors; the request helpers do
 * not (a refused connection is what a drill expects while the service is down).
 */
#ifndef HOTLINE_DRILL_H
#define HOTLINE_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mock_gateway.h"

#define DRILL_SID "AC0123456789abcdef0123456789abcdef"
#define DRILL_TOKEN "0123456789abcdef0123456789abcdef"
#define DRILL_HOTLINE "+19497633440"
#define DRILL_ENV_MAX 24

struct drill {
    const char *binary; /* the hotline executable */
    char *tmp;          /* the drill's folder: logs, and data/ unless moved */
    char data[600];     /* HOTLINE_DATA_DIR */
    char db[700];
    struct mock_gateway *mg;
    pid_t pid; /* 0: not running */
    int run;   /* starts so far: the current stderr is err.<run> */
    char err_path[600];
    int port;
    char base_url[64];
    char *env[DRILL_ENV_MAX]; /* "NAME=value", owned */
    size_t nenv;
    char mnt[600]; /* a file system the drill mounted ("": none), unmounted by drill_free */
};

/* Sets up d: a temp folder, a mock gateway, a free port, the environment of a Twilio-mode
 * service (credentials, public URL, data dir, replies, HOTLINE_RETRY_BASE_MS=20,
 * HOTLINE_REPAGE_SECONDS=86400, HOTLINE_LOG_LEVEL=info). */
void drill_init_with(struct drill *d, const char *binary, const char *source_dir);
#define drill_init(d) drill_init_with((d), HOTLINE_BINARY, HOTLINE_SOURCE_DIR)

/* Kills a running child (SIGKILL), unmounts d->mnt, stops the mock, removes the folder.
 * Idempotent. DRILL_KEEP=1 in the environment keeps the folder (the logs) and says where. */
void drill_free(struct drill *d);
/* A cmocka teardown that drill_frees the last drill_init'ed drill (a failed test leaves no
 * process, mount or folder behind). */
int drill_teardown(void **state);

/* Adds or replaces NAME=value for the next start. */
void drill_setenv(struct drill *d, const char *name, const char *value);
/* Moves the data folder (before the first start). */
void drill_set_data_dir(struct drill *d, const char *dir);

/* Forks and execs `hotline serve`; returns at once (the child may still be starting). */
void drill_spawn(struct drill *d);
/* Waits for the current child's "event=listening" line; fails if it exits first. */
void drill_wait_listening(struct drill *d);
/* drill_spawn, then drill_wait_listening. */
void drill_start(struct drill *d);
/* SIGKILL and reap the child. */
void drill_kill9(struct drill *d);
/* SIGTERM; returns the exit status (128 + signal when killed), after at most 30 s. */
int drill_stop(struct drill *d);

/* `hotline staff add NAME --phone PHONE --on-call` on the drill's data folder. */
void drill_staff_add(struct drill *d, const char *name, const char *phone);

/* A message sid unique to this process and n. */
void drill_sid(char out[35], unsigned n);

/*
 * POSTs a signed Twilio inbound webhook (the fields of a real capture) over the given
 * libcurl handle (reused: keep-alive). Returns the HTTP status, or 0 when no answer came
 * (refused, reset, timed out after timeout_ms). *latency_ms (may be NULL) gets the time.
 */
struct drill_http;
struct drill_http *drill_http_new(void);
void drill_http_free(struct drill_http *h);
long drill_post_text(struct drill *d, struct drill_http *h, const char *sid, const char *from,
                     const char *body, long timeout_ms, double *latency_ms);
/* GET base_url + path; returns the status (0: no answer) and the body (caller frees). */
long drill_get(struct drill *d, struct drill_http *h, const char *path, char **body);

/* One integer from the store through a read-only connection; -1 on any error. */
int64_t drill_db_int(struct drill *d, const char *sql);
/* Polls until drill_db_int(sql) == want, or fails after timeout_ms. */
void drill_wait_db(struct drill *d, const char *sql, int64_t want, int timeout_ms);

/* Every start's stderr, concatenated (caller frees). */
char *drill_logs(struct drill *d);
/* Lines of drill_logs containing needle. */
int drill_log_count(struct drill *d, const char *needle);

/* VmRSS of pid in KiB and its open descriptors; -1 when unreadable. */
long drill_rss_kb(pid_t pid);
int drill_fd_count(pid_t pid);

/* An integer from the environment, or def when unset or not a number. */
long drill_env_int(const char *name, long def);
int64_t drill_now_ms(void); /* CLOCK_MONOTONIC, as mock_request.received_ms */
void drill_sleep_ms(long ms);

/* One Messages API request the mock received, in arrival order. */
struct drill_send {
    char *to, *body; /* decoded form fields ("" when absent) */
    int status;      /* what the mock answered; 0 for a hung request */
    int64_t ms;      /* arrival, CLOCK_MONOTONIC ms */
};
/* Every request the mock kept so far (free with drill_sends_free). */
struct drill_send *drill_sends(struct drill *d, size_t *n);
void drill_sends_free(struct drill_send *s, size_t n);
/* Sorts by (to, body, arrival): the sends of one message end up together. */
void drill_sends_sort(struct drill_send *s, size_t n);

#endif
