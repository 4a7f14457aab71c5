/*
 * service_fixture: `hotline serve` as a real process, for the end-to-end tests
 * (test_serve, test_conversations, test_webui, test_hostile, and the drills through
 * drill.h).
 *
 * setup() (fx_new) makes a fresh folder with a data folder and a mock Twilio API
 * (mock_gateway, a real HTTP server on its own thread). start() runs the built binary
 * (HOTLINE_BINARY) with the environment gathered by env_set() and with_credentials(),
 * on an ephemeral loopback port (or, after use_fixed_port(), on one port for every
 * restart), and reads `event=listening addr=...` from its stderr; each start has its own
 * log files (out.N, err.N). post_text() sends a webhook signed exactly as Twilio signs it
 * (sign_form); db_int()/db_text() read the store through a read-only SQLite connection;
 * cli() runs `hotline ...` on the same data folder; api() and sse_open() talk to the
 * staff API. Every wait polls a condition with a generous timeout (WAIT_MS: the
 * sanitizer build is slow); nothing asserts a timing. Failures fail the running cmocka
 * test, but for the try_ requests, which a sender uses while the service may be down.
 */
#ifndef HOTLINE_SERVICE_FIXTURE_H
#define HOTLINE_SERVICE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "hotline/form.h"
#include "hotline/staff.h"
#include "hotline/twilio.h"
#include "mock_gateway.h"

struct replies;
struct matcher;

#define SID "AC0123456789abcdef0123456789abcdef"

#define OTHER_SID "ACffffffffffffffffffffffffffffffff"

#define TOKEN "0123456789abcdef0123456789abcdef"

#define HOTLINE "+19497633440"

#define TEXTER "+15550001111"

#define TEXTER2 "+15550002222"

#define ALICE "+15550009001"

#define BOB "+15550009002"

#define CAROL "+15550009003"

#define URGENT_TEXT "my friend took too much and is not breathing"

#define WAIT_MS 30000

/* The number of fields of a real Twilio inbound webhook (text_form). */
#define TEXT_FIELDS 19

struct fx {
    char *tmp;      /* the test's folder: logs, and data/ unless moved */
    char data[600]; /* HOTLINE_DATA_DIR */
    char db[700];
    struct mock_gateway *mg;
    struct mock_gateway *chat; /* a chat webhook, for the tests that set one */
    pid_t pid;                 /* 0: not running */
    int run;                   /* starts so far: the current logs are out.<run>, err.<run> */
    char out_path[600], err_path[600];
    int port;        /* the service's, once listening (before, with use_fixed_port) */
    bool fixed_port; /* use_fixed_port: every start listens on port */
    char base_url[64];
    char *env[24]; /* "NAME=value" for the next start, owned */
    size_t nenv;
    unsigned sid_counter;
};

struct resp {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char *headers;     /* the raw header block */
    const char *error; /* why no answer came (status 0), else NULL */
};

/* The shipped replies and a matcher over them, loaded by group_setup(). */
extern struct replies *g_replies;
extern struct matcher *g_matcher;

/* Sleeps ms milliseconds. */
void sleep_ms(long ms);
/* CLOCK_MONOTONIC in ms, as mock_request.received_ms. */
int64_t now_ms(void);
/* A message sid unique to this process and n. */
void message_sid(char out[TWILIO_SID_LEN + 1], unsigned n);
/* The fixture's next message sid. */
void next_sid(struct fx *fx, char out[TWILIO_SID_LEN + 1]);
/* The reply the service must send a new texter for text. */
const char *expected_reply(const char *text);

/* cmocka group fixtures: curl's global state, g_replies and g_matcher. */
int group_setup(void **state);
int group_teardown(void **state);
/* A new fixture: a folder, a mock gateway, the environment of a service without
 * credentials (data folder, mock, replies, HOTLINE_RETRY_BASE_MS=20, ephemeral port). */
struct fx *fx_new(void);
/* Kills a running service, stops the mocks, removes the folder (kept when tmp is NULL). */
void fx_free(struct fx *fx);
/* cmocka test fixtures: *state = fx_new(), and fx_free(*state). */
int setup(void **state);
int teardown(void **state);

/* Sets NAME=value for the next start, replacing an earlier value of NAME. */
void env_set(struct fx *fx, const char *name, const char *value);
/* The Twilio credentials (SID, TOKEN): signatures are checked, replies go to the mock. */
void with_credentials(struct fx *fx);
/* Moves the data folder to dir (before the first start). */
void set_data_dir(struct fx *fx, const char *dir);
/* Picks a free loopback port for every start (restarts keep base_url). */
void use_fixed_port(struct fx *fx);

/* Forks and execs `hotline serve`; returns at once (it may still be starting). */
void spawn(struct fx *fx);
/* Waits for the current process's listening line; fails if it exits first. */
void wait_listening(struct fx *fx);
/* spawn, then wait_listening. */
void start(struct fx *fx);
/* Waits for the process to exit (SIGKILL after WAIT_MS); its exit status, or 128 + signal. */
int reap(struct fx *fx);
/* SIGTERM, then reap. */
int stop(struct fx *fx);
/* stop, failing with the stderr unless the exit status is 0. */
void stop_ok(struct fx *fx);
/* SIGKILL, then reap; returns reap's status. */
int kill9(struct fx *fx);

/* A TCP connection to the service; returns the fd. */
int connect_service(struct fx *fx);
/*
 * One request to base_url + path over c (a handle the caller keeps: keep-alive; NULL: a new
 * one) with headers (may be NULL) and body (NULL: none; "HEAD" asks for no body). Returns
 * the status, or 0 when no answer came within timeout_ms (r->error says why); never fails
 * the test on that. r (NULL: dropped) gets the answer; free it with resp_clear.
 */
long try_request(struct fx *fx, CURL *c, long timeout_ms, const char *method, const char *path,
                 struct curl_slist *headers, const char *body, size_t body_len, struct resp *r);
/* try_request with one extra header (may be NULL), failing when no answer came. */
void http(struct fx *fx, const char *method, const char *path, const char *body, size_t body_len,
          const char *extra_header, struct resp *r);
/* A request with a bearer token (NULL: none), a Content-Type (NULL: none); body NULL for
 * GET. Fails when no answer came. */
void api(struct fx *fx, const char *method, const char *path, const char *token, const char *body,
         const char *ctype, struct resp *r);
void resp_clear(struct resp *r);

/* The X-Twilio-Signature value for pairs posted to url, signed with token as Twilio does
 * (the URL, then every name and value sorted). */
void sign_form(const char *token, const char *url, const struct form_pair *pairs, size_t n,
               char sig[TWILIO_SIGNATURE_LEN + 1]);
/* The fields of a real Twilio inbound webhook (a capture's, in its order). */
void text_form(struct form_pair p[TEXT_FIELDS], const char *sid, const char *account,
               const char *from, const char *to, const char *text);
/*
 * POSTs the form pairs to path, signed over url_base + path with token (NULL: no
 * signature header; url_base NULL: the service's own URL), over c (see try_request).
 * Returns the status, 0 when no answer came.
 */
long try_post_form(struct fx *fx, CURL *c, long timeout_ms, const char *path,
                   const struct form_pair *pairs, size_t n, const char *token, const char *url_base,
                   struct resp *out);
/* try_post_form on a new handle, failing when no answer came. */
long post_form(struct fx *fx, const char *path, const struct form_pair *pairs, size_t n,
               const char *token, const char *url_base, struct resp *out);
/* A Twilio inbound webhook (text_form) signed with token; returns the status. */
long post_text(struct fx *fx, const char *sid, const char *account, const char *from,
               const char *to, const char *text, const char *token, struct resp *out);
/* post_text with the fixture's credentials, expecting 200 and an empty TwiML answer. */
void post_text_ok(struct fx *fx, const char *sid, const char *from, const char *text);

/* The first column of the first row as an integer: -1 when no row, -2 when NULL. */
int64_t db_int(struct fx *fx, const char *sql);
/* A text column of the first row (caller frees), NULL when none or NULL. */
char *db_text(struct fx *fx, const char *sql);
/* Polls until db_int(sql) == want; fails after timeout_ms. */
void wait_db_for(struct fx *fx, const char *sql, int64_t want, int timeout_ms);
/* wait_db_for with WAIT_MS. */
void wait_db(struct fx *fx, const char *sql, int64_t want);
/* Polls until db_int(sql) >= want; fails after WAIT_MS. */
void wait_db_at_least(struct fx *fx, const char *sql, int64_t want);
/* Polls until the file at path contains needle; fails after WAIT_MS. */
void wait_file_has(const char *path, const char *needle);
/* How many times needle occurs in the stderr of every start so far. */
int stderr_count(struct fx *fx, const char *needle);

/* Waits until the mock gateway has received n requests; fails after WAIT_MS. */
void wait_mock(struct fx *fx, size_t n);
/* The mock's request i is a Messages API send to to with body, as the service sends it. */
void assert_send_request(struct fx *fx, size_t i, const char *to, const char *body);
/* A decoded form field of the mock's request i (caller frees); fails when absent. */
char *request_form(struct fx *fx, size_t i, const char *field);

/* Runs `hotline ARGS` against the fixture's data folder; returns the exit status and its
 * stdout in *out (caller frees; out may be NULL). */
int cli(struct fx *fx, const char *args, char **out);
/* cli, failing unless the exit status is 0. */
void cli_ok(struct fx *fx, const char *args);
/* Staff: alice and bob on call, carol not. */
void add_staff(struct fx *fx);
/* `hotline ARGS` (a staff add), and the token it printed. */
void add_with_token(struct fx *fx, const char *args, char token[STAFF_TOKEN_SIZE]);

/* How many times needle occurs in the escalation log now. */
int log_count_now(struct fx *fx, const char *needle);
/* The same once the service's exporter (every 200 ms) has had the time to write want of
 * them: waits up to WAIT_MS for want. */
int log_count(struct fx *fx, const char *needle, int want);

/* Opens GET /staff/events on a raw socket; returns the fd. */
int sse_open(struct fx *fx, const char *token);
/* Reads from fd into buf (appending) until needle appears or ms pass; true when found. */
bool sse_wait(int fd, char *buf, size_t cap, const char *needle, int ms);

#endif
