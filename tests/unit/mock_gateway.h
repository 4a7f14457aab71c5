/*
 * mock_gateway: a scriptable SMS gateway (a Twilio Messages API look-alike) for tests
 * and benchmarks. It is a real evhttp server on 127.0.0.1 with an ephemeral port, run by
 * its OWN thread with its own event_base, so the code under test can drive its own loop
 * on the test's thread, or run as a separate process (`hotline serve` pointed at
 * mock_gateway_url() through HOTLINE_TWILIO_API_BASE).
 *
 * Every request (any method, any path) is recorded thread-safely: method, URI, path,
 * headers (Authorization included), body, and what was answered. Answers come from a
 * script, a queue of responses consumed in arrival order; once it is empty, the default
 * answers (initially 201 with a Twilio-like message resource and a fresh "SM" + 32 hex
 * sid). A response can be delayed, or can hang: never answered until the mock stops
 * (then it gets a 503). Timers run on the mock's thread.
 *
 * Typical use:
 *     struct mock_gateway *mg = mock_gateway_start();
 *     mock_gateway_push(mg, &(struct mock_response){.status = 500});
 *     mock_gateway_push(mg, &(struct mock_response){.status = 400, .twilio_code = 21610});
 *     ... point the code under test at mock_gateway_url(mg) and run it ...
 *     assert_int_equal(mock_gateway_count(mg), 3);
 *     struct mock_request r;
 *     mock_gateway_request(mg, 0, &r);
 *     char *to = mock_request_form(&r, "To");  (decoded; free it)
 *     mock_request_clear(&r);
 *     mock_gateway_free(mg);
 *
 * Process-wide effect: mock_gateway_start enables libevent's pthreads locking
 * (evthread_use_pthreads) and ignores SIGPIPE, as a server must. Functions fail the
 * running cmocka test on setup errors rather than returning them.
 */
#ifndef HOTLINE_MOCK_GATEWAY_H
#define HOTLINE_MOCK_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mock_gateway;

/* One scripted answer; the mock copies the strings. A zeroed struct answers 201. */
struct mock_response {
    int status;               /* HTTP status; 0 means 201 */
    bool hang;                /* never answer (503 when the mock stops); the rest is ignored */
    int delay_ms;             /* answer this long after the request arrived (0: at once) */
    const char *body;         /* NULL: a 2xx gets a Twilio message resource with a fresh sid,
                                 anything else a Twilio error {"code","message","more_info",
                                 "status"} with code = twilio_code (or the status when 0) */
    int twilio_code;          /* see body */
    const char *headers;      /* extra response headers, "Name: value" lines split by '\n' */
    const char *content_type; /* NULL: "application/json" */
};

struct mock_header {
    char *name;
    char *value;
};

/* One recorded request (a deep copy once handed out; free with mock_request_clear). */
struct mock_request {
    size_t index; /* 0-based arrival order */
    char *method; /* "POST", "GET", ... */
    char *uri;    /* as sent: path and query */
    char *path;   /* decoded path without the query */
    struct mock_header *headers;
    size_t n_headers;
    char *body; /* NUL-terminated (body_len bytes before the NUL) */
    size_t body_len;
    int concurrent; /* requests unanswered at the mock when this one arrived, itself included */
    int response_status; /* what was (or will be) answered; 0 for a hang */
    char *response_body; /* NULL for a hang */
    char *response_sid;  /* the generated message sid of a default 2xx body, else NULL */
    int64_t received_ms; /* CLOCK_MONOTONIC ms at arrival */
    int peer_port;       /* the client's TCP port: equal ports mean a reused connection */
};

/* Starts the server and its thread. Never NULL (fails the test instead). */
struct mock_gateway *mock_gateway_start(void);

/* Stops the thread, answers held requests with 503, frees everything. NULL is a no-op. */
void mock_gateway_free(struct mock_gateway *mg);

/* The listening port, and "http://127.0.0.1:<port>" (valid until mock_gateway_free). */
int mock_gateway_port(const struct mock_gateway *mg);
const char *mock_gateway_url(const struct mock_gateway *mg);

/* Appends an answer to the script. */
void mock_gateway_push(struct mock_gateway *mg, const struct mock_response *response);

/* Replaces the answer used once the script is empty (NULL: back to the Twilio-like 201). */
void mock_gateway_set_default(struct mock_gateway *mg, const struct mock_response *response);

/* Drops what is left of the script. */
void mock_gateway_clear_script(struct mock_gateway *mg);

/* Whether to keep request copies (default true); false only counts, for benchmarks. */
void mock_gateway_keep_requests(struct mock_gateway *mg, bool keep);

/* Requests received so far. */
size_t mock_gateway_count(struct mock_gateway *mg);

/* The most requests ever unanswered at once (hung ones count until the mock stops). */
int mock_gateway_max_concurrent(struct mock_gateway *mg);

/*
 * Blocks until at least n requests arrived or timeout_ms passed (a safety net for tests
 * whose code under test runs elsewhere, e.g. another process; not a benchmark timer).
 * Returns 0, or -1 on timeout.
 */
int mock_gateway_wait(struct mock_gateway *mg, size_t n, int timeout_ms);

/* Copies the i-th kept request into *out. Returns 0, or -1 when there is none. */
int mock_gateway_request(struct mock_gateway *mg, size_t i, struct mock_request *out);

/* Frees what mock_gateway_request copied into r (r itself is the caller's). */
void mock_request_clear(struct mock_request *r);

/* The first header named name (case-insensitive), borrowed from r, or NULL. */
const char *mock_request_header(const struct mock_request *r, const char *name);

/* The first form field named name of r's urlencoded body, decoded ('+' is a space);
 * caller frees; NULL when absent. */
char *mock_request_form(const struct mock_request *r, const char *name);

#endif
