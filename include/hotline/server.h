/*
 * server: the evhttp listener and its routes; nothing else in hotline knows HTTP server
 * details.
 *
 *   POST /webhooks/twilio/messages  an inbound text: limits, signature, parse, refuse
 *                                   what is not ours, classify, then ONE durable
 *                                   transaction (text + decision + reply job); 200 with
 *                                   empty TwiML only once it committed
 *   POST /webhooks/twilio/status    a delivery-status callback: recorded, then 200
 *   GET  /healthz                   200 when the store commits a probe, else 503 (the
 *                                   body warns when nobody is on call)
 *   GET  /metrics                   Prometheus text
 *   GET  /staff/escalations         the staff API, `Authorization: Bearer <token>`
 *   GET  /staff/escalations/{id}    (401 otherwise): the token is checked and the action
 *   POST /staff/escalations/{id}/ack|reply|close   runs in one store operation
 *                                   (store_submit_staff), answered from its completion
 *   GET  /staff/events              server-sent events: every escalation event committed
 *                                   (one `data: {json}` each), `: keep-alive` every 15 s
 *   GET  /staff/me                  {"staff": NAME}: whose token it is (the page's sign-in)
 *   GET  /staff/saved-replies       the saved replies of replies/ (saved_replies.h)
 *   GET  /staff/, /staff/<file>     the staff page (webui.h), no token: it holds no data and
 *                                   asks for one; /staff redirects to /staff/
 *   (every answer under /staff carries the page's security headers: CSP, nosniff,
 *   no-referrer, no framing; and every answer Cache-Control: no-store)
 *   anything else                   404 (unknown path) or 405 (wrong method)
 *
 * The server never answers before the store's completion callback: a webhook waits,
 * costing a small context and no thread, while the writer thread group-commits it with
 * whatever else arrived meanwhile (store.h). Created jobs are handed to the caller's
 * on_inbound hook (the outbox wiring lives in service.c), so the server knows nothing of
 * sending.
 *
 * Everything runs on the loop thread, except the decide step (conversation.h), which the
 * store runs on its writer thread with a per-request context that owns copies of all it
 * reads.
 */
#ifndef HOTLINE_SERVER_H
#define HOTLINE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "hotline/config.h"
#include "hotline/intent.h"
#include "hotline/metrics.h"

struct event_base;
struct matcher;
struct replies;
struct server;
struct store;
struct store_result;

/* The largest webhook body answered with anything but 413. */
#define SERVER_BODY_MAX (64 * 1024)
/* The request line and headers together. */
#define SERVER_HEADERS_MAX (16 * 1024)
/* Seconds a connection may stay silent (reading a request, or idle between requests). */
#define SERVER_TIMEOUT_S 30

/*
 * Outbox priority of an opt-out confirmation: the only job allowed to reach a number
 * that has opted out (gateways.md section 6). It is persisted with the job, so the mark
 * survives a restart; it also puts the confirmation ahead of FAQ replies (the FCC
 * presumes a confirmation fine within 5 minutes) and behind staff pages.
 */
#define SERVER_PRIORITY_OPT_OUT_CONFIRMATION 5

struct server_hooks {
    /* An inbound text from `from` committed (STORE_OK): res->jobs hold its new jobs
     * (maybe none) and res->sender the sender's state after it. Runs on the loop thread,
     * after the 200 was handed to evhttp. Not called for duplicates, errors, or after
     * server_free. */
    void (*on_inbound)(void *arg, const struct store_result *res, const char *from,
                       enum intent intent);
    /* A staff API action committed jobs (a staff reply): dispatch them. */
    void (*on_jobs)(void *arg, const struct store_result *res);
    /* Fills the gauges of /metrics (the server fills webhooks_pending and the store's). */
    void (*fill_gauges)(void *arg, struct metrics_gauges *g);
    void *arg;
};

/* Everything is borrowed and must outlive the server; replies must outlive the store too
 * (the writer thread reads them until the last decide). */
struct server_settings {
    const struct config *cfg; /* public_url is read per request: it may be updated after
                                 server_listen (port 0) and before the loop runs */
    const struct replies *replies;
    struct matcher *matcher; /* used on the loop thread only */
    struct store *store;
    struct metrics *metrics;
    struct server_hooks hooks;
};

/* Creates the evhttp server (no socket yet). NULL with a reason in err on failure. */
struct server *server_new(struct event_base *base, const struct server_settings *settings,
                          char *err, size_t errlen);

/*
 * Binds and listens on host:port (port 0: the kernel picks one; name resolution blocks,
 * so call it before the loop runs). Writes the bound address, "127.0.0.1:8080" or
 * "[::1]:8080", into addr and the port into *port_out (may be NULL). 0, or -1 with err.
 */
int server_listen(struct server *srv, const char *host, int port, char *addr, size_t addrlen,
                  int *port_out, char *err, size_t errlen);

/*
 * Shutdown, step one: closes the listening sockets. Requests already waiting for their
 * commit are still answered when it lands; new requests on connections that are still
 * open get 503 (Connection: close).
 */
void server_stop_accepting(struct server *srv);

/* Requests taken and not yet fully answered: waiting for a commit, or a reply still being
 * written. Shutdown waits for 0 (with a deadline: a peer that vanished mid-write is never
 * reported). */
size_t server_busy(const struct server *srv);

/* Sends escalation-log lines (one JSON object each) to every event-stream client. */
void server_publish_events(struct server *srv, const char *lines, size_t len);

/* Event-stream clients connected. */
size_t server_stream_clients(const struct server *srv);

/* The largest staff API request body (a reply's text and its encoding). */
#define SERVER_STAFF_BODY_MAX (8 * 1024)
/* Seconds between keep-alive comments on an event stream. */
#define SERVER_SSE_KEEPALIVE_S 15

/* Webhooks waiting for their commit. */
size_t server_pending(const struct server *srv);

/*
 * Frees the server and its connections. Requests still waiting for a commit are detached:
 * their store callbacks then only free their contexts (the jobs they created stay pending
 * in the store and resume at the next start). NULL is a no-op. Not from a callback.
 */
void server_free(struct server *srv);

#endif
