/*
 * service_fixture: `hotline serve` as a real process, for the end-to-end tests
 * (test_serve, test_conversations, ...).
 *
 * setup() makes a fresh data folder and a mock Twilio API (mock_gateway, a real HTTP
 * server on its own thread); start() runs the built binary (HOTLINE_BINARY) on an
 * ephemeral loopback port with the environment gathered by env_add() (reading `event=
 * listening addr=...` from its stderr); post_text() sends a webhook signed exactly as
 * Twilio signs it; db_int()/db_text() read the store through a read-only SQLite
 * connection; cli() runs `hotline ...` on the same data folder. Every wait polls a
 * condition with a generous timeout (WAIT_MS: the sanitizer build is slow); nothing
 * asserts a timing. Failures fail the running cmocka test.
 */
#ifndef HOTLINE_SERVICE_FIXTURE_H
#define HOTLINE_SERVICE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

#define WAIT_MS 30000

struct fx {
    char *tmp;
    char data[512];
    char db[600];
    struct mock_gateway *mg;
    struct mock_gateway *chat; /* a chat webhook, for the tests that set one */
    pid_t pid;
    int run; /* increments per start: each process has its own log files */
    char out_path[600], err_path[600];
    char addr[80];
    char base_url[128];
    const char *env[16]; /* "NAME=value" for the next start */
    size_t nenv;
    unsigned sid_counter;
};

struct resp {
    long status;
    char *body;
    size_t len;
    char ctype[128];
};

#define ALICE "+15550009001"

#define BOB "+15550009002"

#define CAROL "+15550009003"

#define URGENT_TEXT "my friend took too much and is not breathing"

/* The shipped replies and a matcher over them, loaded by group_setup(). */
extern struct replies *g_replies;
extern struct matcher *g_matcher;

void sleep_ms(int ms);
int64_t now_ms(void);
void next_sid(struct fx *fx, char out[TWILIO_SID_LEN + 1]);
const char *expected_reply(const char *text);
void env_add(struct fx *fx, const char *entry);
void start(struct fx *fx);
int reap(struct fx *fx);
void stop_ok(struct fx *fx);
void http(struct fx *fx, const char *method, const char *path, const char *body, size_t body_len,
          const char *extra_header, struct resp *r);
void resp_clear(struct resp *r);
long post_form(struct fx *fx, const char *path, const struct form_pair *pairs, size_t n,
               const char *token, const char *url_base, struct resp *out);
long post_text(struct fx *fx, const char *sid, const char *account, const char *from,
               const char *to, const char *text, const char *token, struct resp *out);
void post_text_ok(struct fx *fx, const char *sid, const char *from, const char *text);
int64_t db_int(struct fx *fx, const char *sql);
char *db_text(struct fx *fx, const char *sql);
void wait_db(struct fx *fx, const char *sql, int64_t want);
void wait_file_has(const char *path, const char *needle);
void wait_mock(struct fx *fx, size_t n);
int group_setup(void **state);
int group_teardown(void **state);
char *env_entry(const char *name, const char *value);
/* env_add of NAME=value in a string the fixture frees at teardown. */
void env_set(struct fx *fx, const char *name, const char *value);
int setup(void **state);
void with_credentials(struct fx *fx);
int teardown(void **state);
void assert_send_request(struct fx *fx, size_t i, const char *to, const char *body);
int cli(struct fx *fx, const char *args, char **out);
void cli_ok(struct fx *fx, const char *args);
void add_staff(struct fx *fx);
void wait_db_at_least(struct fx *fx, const char *sql, int64_t want);
int log_count_now(struct fx *fx, const char *needle);
int log_count(struct fx *fx, const char *needle, int want);
char *request_form(struct fx *fx, size_t i, const char *field);
void add_with_token(struct fx *fx, const char *args, char token[STAFF_TOKEN_SIZE]);
void api(struct fx *fx, const char *method, const char *path, const char *token, const char *body,
         const char *ctype, struct resp *r);
int sse_open(struct fx *fx, const char *token);
bool sse_wait(int fd, char *buf, size_t cap, const char *needle, int ms);

#endif
