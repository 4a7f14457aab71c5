/*
 * server: the evhttp listener and routes (see server.h for the routes and the promise).
 *
 * Why it is shaped so:
 *
 * - One generic callback routes every request, so unknown paths get 404 and wrong
 *   methods 405 from one place, and every request passes the same bookkeeping (a request
 *   id for the logs, the busy count that shutdown waits on).
 * - Checks run cheapest and least trusting first: the size limits (evhttp refuses bodies
 *   past twice SERVER_BODY_MAX before reading them; we answer 413 past SERVER_BODY_MAX and
 *   count it), then the signature over the decoded form (403, nothing stored), then the
 *   fields (400 with the parser's reason), then whether the text is ours at all. Only a
 *   request that passes all of them costs a matcher run and a store operation.
 * - Acknowledged means durable: a webhook is answered from the store's completion
 *   callback, never before. The request waits in a `struct pending`, which also carries
 *   what the decide step needs on the writer thread (the replies, the keyword mode, the
 *   matcher's keyword flag) so that the writer never reaches into the server.
 * - A client can leave while its webhook waits. libevent then detaches the request
 *   (evhttp_request_get_connection() returns NULL) and leaves it to us: we free it
 *   instead of replying. server_free detaches every waiting request from its context the
 *   other way round, so a completion that lands after the server is gone touches nothing.
 * - Refused webhooks (another AccountSid, or a To that is not HOTLINE_FROM) are signed,
 *   so they really come from the gateway: they get 200 with empty TwiML, are logged and
 *   counted (outcome "refused"), and nothing is stored or sent. A 4xx would make Twilio
 *   try the number's fallback URL, which could answer the texter a second time.
 *
 * Privacy: logs carry MessageSids, masked numbers and static reasons; never a body, a
 * signature or a full number.
 */
#include "hotline/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "hotline/conversation.h"
#include "hotline/form.h"
#include "hotline/log.h"
#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/saved_replies.h"
#include "hotline/store.h"
#include "hotline/twilio.h"
#include "hotline/webui.h"

#define PATH_MESSAGES "/webhooks/twilio/messages"
#define PATH_STATUS "/webhooks/twilio/status"
#define PATH_HEALTHZ "/healthz"
#define PATH_METRICS "/metrics"

#define TWIML_EMPTY "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"
#define CT_XML "text/xml; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

#define MAX_BOUND 4

static const struct form_limits webhook_limits = {
    .max_params = 256,     /* ~30 documented fields, 10 media pairs, room for new ones */
    .max_name_len = 64,    /* "MediaContentType9" and the like */
    .max_value_len = 16384 /* TWILIO_BODY_ACCEPT_MAX characters of up to 4 bytes each */
};

enum pending_kind { PENDING_MESSAGE, PENDING_STATUS, PENDING_PROBE, PENDING_STAFF };

/* The staff routes that only need to know whose token it is (STORE_STAFF_AUTH). */
enum staff_auth_use {
    AUTH_STREAM, /* GET /staff/events: the event stream */
    AUTH_ME,     /* GET /staff/me: {"staff": NAME} (the page's sign-in) */
    AUTH_SAVED,  /* GET /staff/saved-replies: replies/saved_replies.json's texts */
};

/*
 * A request waiting for the store. Owned by the store operation's completion callback,
 * which frees it. srv and req are cleared by server_free (then the callback only frees).
 * The decide fields are set before submitting and read on the writer thread; `why` is
 * written there and read in the callback (the store's queue orders the two).
 */
struct pending {
    struct server *srv;
    struct evhttp_request *req;
    enum pending_kind kind;
    unsigned long long rid;
    int64_t t0_us; /* monotonic, when the handler took the request */
    struct pending *prev, *next;

    const struct replies *replies;
    const struct conversation_rules *rules;
    bool keyword;
    bool lang_sure;
    enum intent intent; /* the matcher's */
    enum lang lang;
    double confidence;
    /* written by decide on the writer thread, read by the completion */
    const char *why;
    enum intent acted; /* the intent acted on (a menu number becomes its topic) */
    unsigned flags;    /* conversation.h's */

    char sid[TWILIO_SID_LEN + 1];
    char from[TWILIO_ADDRESS_MAX + 1]; /* in memory only, for the on_inbound hook */
    char from_masked[32];
    char status[40];
    int error_code;
    enum store_staff_action action;
    enum staff_auth_use auth_use; /* what a STORE_STAFF_AUTH answers */
    const char *what;             /* the staff route's name in the logs (static) */
};

/* An event-stream client: a chunked 200 that stays open until the client leaves or the
 * server stops. */
struct sse_client {
    struct server *srv;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct sse_client *prev, *next;
};

struct server {
    struct event_base *base;
    struct evhttp *http;
    struct server_settings set;
    struct conversation_rules rules;
    struct evhttp_bound_socket *bound[MAX_BOUND];
    size_t nbound;
    bool stopping;
    struct pending *pending; /* waiting for a commit */
    size_t npending;
    size_t busy; /* taken, not yet fully answered */
    unsigned long long next_rid;
    struct sse_client *streams;
    size_t nstreams;
    struct event *keepalive;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *route_name(enum metrics_route route)
{
    return route == METRICS_ROUTE_STATUS ? "status" : "messages";
}

/* ---- replying ---- */

/* Whether req is for the staff page or API (/staff, /staff/...). */
static bool is_staff_path(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    return path && strncmp(path, "/staff", 6) == 0 && (path[6] == '\0' || path[6] == '/');
}

/*
 * What every answer under /staff carries, the page and the API alike: the page's
 * Content-Security-Policy (webui.h), no MIME sniffing (a JSON body is never run as a
 * script), no Referer to anywhere, no framing, and a window of its own.
 */
static void add_staff_headers(struct evkeyvalq *h)
{
    evhttp_add_header(h, "Content-Security-Policy", WEBUI_CSP);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct server *srv = arg;
    if (srv->busy > 0)
        srv->busy--;
}

/*
 * Answers req exactly once; body (may be NULL) is left with the caller. When the client
 * has gone, libevent detached the request and it is ours to free: nothing is sent.
 * Returns false in that case.
 */
static bool respond_buf(struct server *srv, struct evhttp_request *req, int code,
                        const char *reason, const char *ctype, struct evbuffer *body)
{
    if (!evhttp_request_get_connection(req)) {
        evhttp_request_free(req);
        if (srv->busy > 0)
            srv->busy--;
        return false;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (is_staff_path(req))
        add_staff_headers(h);
    if (srv->stopping)
        evhttp_add_header(h, "Connection", "close");
    evhttp_request_set_on_complete_cb(req, on_complete, srv);
    evhttp_send_reply(req, code, reason, body);
    return true;
}

static bool respond(struct server *srv, struct evhttp_request *req, int code, const char *reason,
                    const char *ctype, const char *text)
{
    struct evbuffer *buf = evbuffer_new();
    if (buf && text)
        evbuffer_add(buf, text, strlen(text));
    bool sent = respond_buf(srv, req, code, reason, ctype, buf);
    evbuffer_free(buf);
    return sent;
}

/* A 4xx/5xx with a one-line reason as its body. */
static void respond_error(struct server *srv, struct evhttp_request *req, int code,
                          const char *reason, const char *detail)
{
    char text[256];
    snprintf(text, sizeof text, "%s\n", detail ? detail : reason);
    respond(srv, req, code, reason, CT_TEXT, text);
}

static void respond_twiml(struct server *srv, struct evhttp_request *req)
{
    respond(srv, req, 200, "OK", CT_XML, TWIML_EMPTY);
}

/* ---- pending requests ---- */

static struct pending *pending_new(struct server *srv, struct evhttp_request *req,
                                   enum pending_kind kind, unsigned long long rid, int64_t t0_us)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->srv = srv;
    p->req = req;
    p->kind = kind;
    p->rid = rid;
    p->t0_us = t0_us;
    p->next = srv->pending;
    if (srv->pending)
        srv->pending->prev = p;
    srv->pending = p;
    srv->npending++;
    return p;
}

/* Takes p off its server's list; afterwards p->srv is NULL. */
static void pending_unlink(struct pending *p)
{
    struct server *srv = p->srv;
    if (!srv)
        return;
    if (p->prev)
        p->prev->next = p->next;
    else
        srv->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    srv->npending--;
    p->srv = NULL;
    p->prev = p->next = NULL;
}

/* ---- the decide step: runs on the store's writer thread ---- */

/*
 * Adapts the store's sender row to conversation.h and back. Pure but for p->why, a
 * static string the callback reads later. An opted-out sender's confirmation is marked
 * with SERVER_PRIORITY_OPT_OUT_CONFIRMATION: conversation_decide only ever replies to a
 * sender it leaves opted out when that reply is the opt-out confirmation.
 */
static void decide(void *ctx, const struct store_inbound *in, const struct store_sender *state,
                   struct store_decision *out)
{
    struct pending *p = ctx;
    struct sender_state now = {.opted_out = state->opted_out,
                               .lang = state->lang,
                               .misses = state->misses,
                               .memory = state->memory,
                               .held = state->held};
    struct conversation_input ci = {.text = in->body,
                                    .len = strlen(in->body),
                                    .intent = in->intent,
                                    .lang = in->lang,
                                    .lang_sure = p->lang_sure,
                                    .confidence = in->confidence,
                                    .keyword = p->keyword,
                                    .now = in->received_at};
    struct conversation_decision d;
    conversation_decide(p->replies, p->rules, &now, &ci, &d);

    out->intent = d.intent;
    out->escalation = d.escalation;
    out->sender.opted_out = d.next.opted_out;
    out->sender.opted_out_at =
        d.next.opted_out
            ? (state->opted_out && state->opted_out_at ? state->opted_out_at : in->received_at)
            : 0;
    out->sender.lang = d.next.lang;
    out->sender.misses = d.next.misses;
    out->sender.memory = d.next.memory;
    out->opt_source = d.opt_source;
    out->reply = d.reply;
    if (d.reply && d.next.opted_out)
        out->reply_priority = SERVER_PRIORITY_OPT_OUT_CONFIRMATION;
    else if (d.reply && d.escalation == ESCALATE_URGENT)
        out->reply_priority = STORE_PRIORITY_URGENT_REPLY;
    p->why = d.why;
    p->acted = d.intent;
    p->flags = d.flags;
}

/* ---- completions: loop thread ---- */

static double since_ms(int64_t t0_us)
{
    return (double)(mono_us() - t0_us) / 1000.0;
}

static void on_inbound_done(const struct store_result *res, void *arg)
{
    struct pending *p = arg;
    struct server *srv = p->srv;
    pending_unlink(p);
    if (!srv || !p->req) {
        free(p); /* the server is gone; the jobs stay pending in the store */
        return;
    }
    double ms = since_ms(p->t0_us);
    switch (res->outcome) {
    case STORE_OK:
        metrics_webhook(srv->set.metrics, METRICS_ROUTE_MESSAGES, METRICS_WEBHOOK_ACCEPTED);
        log_event(LOG_INFO, "webhook",
                  "req=%llu route=messages outcome=accepted sid=%s from=%s inbound=%lld "
                  "intent=%s acted=%s lang=%s confidence=%.2f escalation=%s jobs=%zu "
                  "why=\"%s\" latency_ms=%.2f",
                  p->rid, p->sid, p->from_masked, (long long)res->inbound_id,
                  intent_name(p->intent), res->staff_command ? "-" : intent_name(p->acted),
                  lang_name(p->lang), p->confidence, escalation_name(res->escalation), res->njobs,
                  res->staff_command ? "staff command" : (p->why ? p->why : ""), ms);
        if (!res->staff_command) {
            metrics_conversation(srv->set.metrics, p->flags);
            if (p->flags & CONV_LOOP_DETECTED)
                log_event(LOG_WARN, "loop_guard",
                          "from=%s inbound=%lld muted_s=%lld why=\"identical texts or too many "
                          "in a short window: another auto-responder? not auto-answering it\"",
                          p->from_masked, (long long)res->inbound_id,
                          (long long)(srv->rules.mute_ms / 1000));
            if (p->flags & CONV_BUDGET_REACHED)
                log_event(LOG_WARN, "reply_budget",
                          "from=%s inbound=%lld budget=%d why=\"reply budget reached: texts are "
                          "stored and a person is asked to follow up\"",
                          p->from_masked, (long long)res->inbound_id, srv->rules.reply_budget);
            if (p->flags & (CONV_OPTED_OUT_NOW | CONV_OPTED_IN_NOW))
                log_event(LOG_INFO, p->flags & CONV_OPTED_OUT_NOW ? "opted_out" : "opted_in",
                          "number=%s source=texter inbound=%lld", p->from_masked,
                          (long long)res->inbound_id);
        }
        respond_twiml(srv, p->req);
        metrics_observe(&srv->set.metrics->webhook_latency, ms / 1000.0);
        if (srv->set.hooks.on_inbound)
            srv->set.hooks.on_inbound(srv->set.hooks.arg, res, p->from, p->intent);
        break;
    case STORE_DUPLICATE:
        metrics_webhook(srv->set.metrics, METRICS_ROUTE_MESSAGES, METRICS_WEBHOOK_DUPLICATE);
        log_event(LOG_INFO, "webhook",
                  "req=%llu route=messages outcome=duplicate sid=%s inbound=%lld latency_ms=%.2f",
                  p->rid, p->sid, (long long)res->inbound_id, ms);
        respond_twiml(srv, p->req);
        metrics_observe(&srv->set.metrics->webhook_latency, ms / 1000.0);
        break;
    case STORE_ERROR:
        metrics_webhook(srv->set.metrics, METRICS_ROUTE_MESSAGES, METRICS_WEBHOOK_ERROR);
        log_event(LOG_ERROR, "webhook", "req=%llu route=messages outcome=error sid=%s error=\"%s\"",
                  p->rid, p->sid, res->error ? res->error : "?");
        respond_error(srv, p->req, 500, "Internal Server Error", "store error: try again");
        break;
    }
    free(p);
}

static void on_status_done(const struct store_result *res, void *arg)
{
    struct pending *p = arg;
    struct server *srv = p->srv;
    pending_unlink(p);
    if (!srv || !p->req) {
        free(p);
        return;
    }
    if (res->outcome == STORE_ERROR) {
        metrics_webhook(srv->set.metrics, METRICS_ROUTE_STATUS, METRICS_WEBHOOK_ERROR);
        log_event(LOG_ERROR, "webhook", "req=%llu route=status outcome=error sid=%s error=\"%s\"",
                  p->rid, p->sid, res->error ? res->error : "?");
        respond_error(srv, p->req, 500, "Internal Server Error", "store error: try again");
    } else {
        metrics_webhook(srv->set.metrics, METRICS_ROUTE_STATUS, METRICS_WEBHOOK_ACCEPTED);
        log_event(LOG_INFO, "webhook",
                  "req=%llu route=status outcome=accepted sid=%s status=%s error_code=%d "
                  "matched=%d changed=%d job=%lld state=%s",
                  p->rid, p->sid, p->status, p->error_code, res->matched, res->changed,
                  (long long)res->job_id, res->matched ? store_job_state_name(res->state) : "-");
        respond(srv, p->req, 200, "OK", CT_TEXT, NULL);
    }
    free(p);
}

static void on_probe_done(const struct store_result *res, void *arg)
{
    struct pending *p = arg;
    struct server *srv = p->srv;
    pending_unlink(p);
    if (srv && p->req) {
        if (res->outcome == STORE_OK && !srv->stopping)
            respond(srv, p->req, 200, "OK", CT_TEXT,
                    res->on_call == 0 ? "ok\nwarning: nobody is on call: escalations page "
                                        "nobody (hotline staff on-call NAME on)\n"
                                      : "ok\n");
        else
            respond_error(srv, p->req, 503, "Service Unavailable",
                          srv->stopping ? "shutting down" : "store not writable");
    }
    free(p);
}

/* ---- webhooks ---- */

static void reject(struct server *srv, struct evhttp_request *req, unsigned long long rid,
                   enum metrics_route route, enum metrics_webhook_outcome outcome, int code,
                   const char *reason, const char *detail)
{
    metrics_webhook(srv->set.metrics, route, outcome);
    log_event(LOG_WARN, "webhook", "req=%llu route=%s outcome=%s status=%d reason=\"%s\"", rid,
              route_name(route), metrics_webhook_outcome_name(outcome), code,
              detail ? detail : reason);
    respond_error(srv, req, code, reason, detail);
}

/*
 * Size limit, form decoding and signature, common to both webhooks. Returns the decoded
 * form (the caller frees it), or NULL after answering.
 */
static struct form *webhook_form(struct server *srv, struct evhttp_request *req,
                                 unsigned long long rid, enum metrics_route route)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > SERVER_BODY_MAX) {
        reject(srv, req, rid, route, METRICS_WEBHOOK_TOO_LARGE, 413, "Payload Too Large",
               "body over 64 KiB");
        return NULL;
    }
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    static const char form_type[] = "application/x-www-form-urlencoded";
    /* The media type exactly, then parameters if any ("; charset=utf-8"): a prefix match
     * would take "application/x-www-form-urlencodedx" for a form. */
    char after = ctype ? ctype[strnlen(ctype, sizeof form_type - 1)] : '\0';
    if (ctype && (strncasecmp(ctype, form_type, sizeof form_type - 1) != 0 ||
                  (after != '\0' && after != ';' && after != ' ' && after != '\t'))) {
        reject(srv, req, rid, route, METRICS_WEBHOOK_BAD_REQUEST, 415, "Unsupported Media Type",
               "expected application/x-www-form-urlencoded");
        return NULL;
    }
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *why = NULL;
    struct form *form = body ? form_parse(body, len, &webhook_limits, &why) : NULL;
    if (!form) {
        reject(srv, req, rid, route, METRICS_WEBHOOK_BAD_REQUEST, 400, "Bad Request",
               why ? why : "unreadable body");
        return NULL;
    }
    const struct config *cfg = srv->set.cfg;
    if (cfg->local_mode)
        return form; /* no token to check against: local mode accepts unsigned webhooks */

    /* The URL Twilio signed: the public base it was configured with, plus the path and
     * query exactly as they arrived (a TLS proxy must pass them unchanged). */
    const char *sig =
        evhttp_find_header(evhttp_request_get_input_headers(req), "X-Twilio-Signature");
    const char *target = evhttp_request_get_uri(req);
    size_t ulen = strlen(cfg->public_url) + strlen(target) + 1;
    char *url = malloc(ulen);
    bool valid = false;
    if (url) {
        snprintf(url, ulen, "%s%s", cfg->public_url, target);
        valid = sig && twilio_signature_valid(cfg->twilio_auth_token, url, form, sig);
        free(url);
    }
    if (!valid) {
        form_free(form);
        reject(srv, req, rid, route, METRICS_WEBHOOK_BAD_SIGNATURE, 403, "Forbidden",
               sig ? "invalid X-Twilio-Signature" : "missing X-Twilio-Signature");
        return NULL;
    }
    return form;
}

/* Signed but not ours: logged and counted, answered 200 with nothing to send. */
static void refuse(struct server *srv, struct evhttp_request *req, unsigned long long rid,
                   enum metrics_route route, const char *why, const char *sid)
{
    metrics_webhook(srv->set.metrics, route, METRICS_WEBHOOK_REFUSED);
    log_event(LOG_WARN, "webhook", "req=%llu route=%s outcome=refused reason=%s sid=%s", rid,
              route_name(route), why, sid);
    if (route == METRICS_ROUTE_MESSAGES)
        respond_twiml(srv, req);
    else
        respond(srv, req, 200, "OK", CT_TEXT, NULL);
}

static bool other_account(const struct config *cfg, const char *account)
{
    return !cfg->local_mode && account && strcmp(account, cfg->twilio_account_sid) != 0;
}

static void handle_messages(struct server *srv, struct evhttp_request *req, unsigned long long rid,
                            int64_t t0)
{
    struct form *form = webhook_form(srv, req, rid, METRICS_ROUTE_MESSAGES);
    if (!form)
        return;
    const struct config *cfg = srv->set.cfg;
    struct gateway_inbound in;
    const char *why = NULL;
    if (twilio_parse_inbound(form, &in, &why) != 0) {
        reject(srv, req, rid, METRICS_ROUTE_MESSAGES, METRICS_WEBHOOK_BAD_REQUEST, 400,
               "Bad Request", why);
        goto done;
    }
    if (other_account(cfg, in.account)) {
        refuse(srv, req, rid, METRICS_ROUTE_MESSAGES, "other_account", in.gateway_id);
        goto done;
    }
    if (strcmp(in.to, cfg->from) != 0) {
        refuse(srv, req, rid, METRICS_ROUTE_MESSAGES, "other_number", in.gateway_id);
        goto done;
    }

    /* The matcher is not thread-safe and is pure: it runs here, on the loop thread. */
    struct match_result m;
    matcher_classify(srv->set.matcher, in.body, in.body_len, &m, NULL);

    struct pending *p = pending_new(srv, req, PENDING_MESSAGE, rid, t0);
    if (!p) {
        reject(srv, req, rid, METRICS_ROUTE_MESSAGES, METRICS_WEBHOOK_ERROR, 500,
               "Internal Server Error", "out of memory");
        goto done;
    }
    p->replies = srv->set.replies;
    p->rules = &srv->rules;
    p->keyword = m.keyword != 0;
    p->lang_sure = m.lang_sure != 0;
    p->intent = m.intent;
    p->lang = m.lang;
    p->confidence = m.confidence;
    snprintf(p->sid, sizeof p->sid, "%s", in.gateway_id);
    snprintf(p->from, sizeof p->from, "%s", in.from);
    log_mask_phone(in.from, p->from_masked, sizeof p->from_masked);

    struct store_inbound si = {
        .gateway = "twilio",
        .message_sid = in.gateway_id,
        .account_sid = in.account ? in.account : "",
        .from = in.from,
        .to = in.to,
        .body = in.body,
        .received_at = unix_ms(),
        .intent = m.intent,
        .lang = m.lang,
        .confidence = m.confidence,
    };
    if (store_submit_inbound(srv->set.store, &si, decide, p, on_inbound_done, p) != 0) {
        pending_unlink(p);
        free(p);
        reject(srv, req, rid, METRICS_ROUTE_MESSAGES, METRICS_WEBHOOK_ERROR, 500,
               "Internal Server Error", "store refused the text");
    }
done:
    form_free(form);
}

static void handle_status(struct server *srv, struct evhttp_request *req, unsigned long long rid,
                          int64_t t0)
{
    struct form *form = webhook_form(srv, req, rid, METRICS_ROUTE_STATUS);
    if (!form)
        return;
    struct twilio_status_update st;
    const char *why = NULL;
    if (twilio_parse_status(form, &st, &why) != 0) {
        reject(srv, req, rid, METRICS_ROUTE_STATUS, METRICS_WEBHOOK_BAD_REQUEST, 400, "Bad Request",
               why);
        goto done;
    }
    if (other_account(srv->set.cfg, st.account)) {
        refuse(srv, req, rid, METRICS_ROUTE_STATUS, "other_account", st.gateway_id);
        goto done;
    }
    struct pending *p = pending_new(srv, req, PENDING_STATUS, rid, t0);
    if (!p) {
        reject(srv, req, rid, METRICS_ROUTE_STATUS, METRICS_WEBHOOK_ERROR, 500,
               "Internal Server Error", "out of memory");
        goto done;
    }
    snprintf(p->sid, sizeof p->sid, "%s", st.gateway_id);
    snprintf(p->status, sizeof p->status, "%s", st.status_name);
    p->error_code = st.error_code;
    struct store_status ss = {
        .gateway_sid = st.gateway_id,
        .status = st.status_name,
        .error_code = st.error_code,
        .received_at = unix_ms(),
    };
    if (store_submit_status(srv->set.store, &ss, on_status_done, p) != 0) {
        pending_unlink(p);
        free(p);
        reject(srv, req, rid, METRICS_ROUTE_STATUS, METRICS_WEBHOOK_ERROR, 500,
               "Internal Server Error", "store refused the status");
    }
done:
    form_free(form);
}

/* ---- operations ---- */

static void handle_healthz(struct server *srv, struct evhttp_request *req, unsigned long long rid,
                           int64_t t0)
{
    if (!store_healthy(srv->set.store)) {
        respond_error(srv, req, 503, "Service Unavailable", "store not writable");
        return;
    }
    struct pending *p = pending_new(srv, req, PENDING_PROBE, rid, t0);
    if (!p || store_submit_probe(srv->set.store, on_probe_done, p) != 0) {
        if (p) {
            pending_unlink(p);
            free(p);
        }
        respond_error(srv, req, 503, "Service Unavailable", "store not writable");
    }
}

static void handle_metrics(struct server *srv, struct evhttp_request *req)
{
    struct metrics_gauges g;
    memset(&g, 0, sizeof g);
    if (srv->set.hooks.fill_gauges)
        srv->set.hooks.fill_gauges(srv->set.hooks.arg, &g);
    struct store_stats ss;
    store_get_stats(srv->set.store, &ss);
    g.webhooks_pending = srv->npending;
    g.store_healthy = store_healthy(srv->set.store);
    g.store_commits = ss.commits;
    g.store_largest_group = ss.largest_group;
    g.store_queued = ss.queued;
    struct evbuffer *buf = evbuffer_new();
    if (!buf || metrics_render(srv->set.metrics, &g, buf) != 0) {
        evbuffer_free(buf);
        respond_error(srv, req, 500, "Internal Server Error", "out of memory");
        return;
    }
    respond_buf(srv, req, 200, "OK", CT_METRICS, buf);
    evbuffer_free(buf);
}

static void method_not_allowed(struct server *srv, struct evhttp_request *req, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    respond_error(srv, req, 405, "Method Not Allowed", NULL);
}

/* ---- the staff API ---- */

#define CT_JSON "application/json"
#define CT_SSE "text/event-stream"

static const char *const action_names[] = {
    [STORE_STAFF_AUTH] = "events", [STORE_STAFF_LIST] = "list",   [STORE_STAFF_SHOW] = "show",
    [STORE_STAFF_ACK] = "ack",     [STORE_STAFF_REPLY] = "reply", [STORE_STAFF_CLOSE] = "close",
};

static void respond_json(struct server *srv, struct evhttp_request *req, int code,
                         const char *reason, const char *json)
{
    if (code == 401)
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"hotline\"");
    char *text = NULL;
    if (json && (text = malloc(strlen(json) + 2)))
        snprintf(text, strlen(json) + 2, "%s\n", json);
    respond(srv, req, code, reason, CT_JSON, text ? text : json);
    free(text);
}

static const char *status_reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    default:
        return "Error";
    }
}

/* The bearer token of the Authorization header, or NULL. */
static const char *bearer_token(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

static void sse_unlink(struct sse_client *c)
{
    struct server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->streams = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nstreams--;
}

/*
 * The client left. libevent frees the connection after this returns; a request whose
 * reply was still streaming was detached from it first (evhttp_request_get_connection()
 * is NULL) and is ours to free, as in respond_buf.
 */
static void on_sse_close(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct sse_client *c = arg;
    if (!evhttp_request_get_connection(c->req))
        evhttp_request_free(c->req);
    log_event(LOG_INFO, "staff_stream", "outcome=closed clients=%zu", c->srv->nstreams - 1);
    sse_unlink(c);
    free(c);
}

static void sse_send(struct sse_client *c, const char *data, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf)
        return;
    evbuffer_add(buf, data, len);
    evhttp_send_reply_chunk(c->req, buf);
    evbuffer_free(buf);
}

/* Ends one stream (server stopping or freed). */
static void sse_end(struct sse_client *c)
{
    evhttp_connection_set_closecb(c->conn, NULL, NULL);
    evhttp_send_reply_end(c->req);
    sse_unlink(c);
    free(c);
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct server *srv = arg;
    for (struct sse_client *c = srv->streams; c; c = c->next)
        sse_send(c, ": keep-alive\n\n", 14);
}

void server_publish_events(struct server *srv, const char *lines, size_t len)
{
    if (!srv || !srv->streams)
        return;
    struct evbuffer *msg = evbuffer_new();
    if (!msg)
        return;
    /* "data: <line>\n\n" per line: a JSON line never holds a raw newline. */
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(lines + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (lines + at)) : len - at;
        if (n) {
            evbuffer_add(msg, "data: ", 6);
            evbuffer_add(msg, lines + at, n);
            evbuffer_add(msg, "\n\n", 2);
        }
        at += n + 1;
    }
    size_t mlen = evbuffer_get_length(msg);
    const char *data = (const char *)evbuffer_pullup(msg, -1);
    for (struct sse_client *c = srv->streams; c && data; c = c->next)
        sse_send(c, data, mlen);
    evbuffer_free(msg);
}

size_t server_stream_clients(const struct server *srv)
{
    return srv ? srv->nstreams : 0;
}

/* The token is good: the request becomes an event stream. */
static void sse_start(struct server *srv, struct evhttp_request *req, const char *staff)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct sse_client *c = conn ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        respond_error(srv, req, 500, "Internal Server Error", "out of memory");
        return;
    }
    c->srv = srv;
    c->req = req;
    c->conn = conn;
    c->next = srv->streams;
    if (srv->streams)
        srv->streams->prev = c;
    srv->streams = c;
    srv->nstreams++;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", CT_SSE);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Accel-Buffering", "no"); /* nginx: pass events on at once */
    add_staff_headers(h);
    evhttp_send_reply_start(req, 200, "OK");
    evhttp_connection_set_closecb(conn, on_sse_close, c);
    sse_send(c, ": hotline escalation events\n\n", 30);
    /* A stream is not work in flight: shutdown ends it instead of waiting for it. */
    if (srv->busy > 0)
        srv->busy--;
    log_event(LOG_INFO, "staff_stream", "outcome=open staff=%s clients=%zu", staff, srv->nstreams);
}

static void on_staff_done(const struct store_result *res, void *arg)
{
    struct pending *p = arg;
    struct server *srv = p->srv;
    pending_unlink(p);
    if (!srv || !p->req) {
        free(p); /* a reply job it made stays pending and goes out at the next start */
        return;
    }
    if (res->outcome != STORE_OK) {
        log_event(LOG_ERROR, "staff_api", "req=%llu action=%s outcome=error error=\"%s\"", p->rid,
                  p->what, res->error ? res->error : "?");
        respond_json(srv, p->req, 500, "Internal Server Error", "{\"error\":\"store error\"}");
    } else {
        log_event(res->http_status == 401 ? LOG_WARN : LOG_INFO, "staff_api",
                  "req=%llu action=%s status=%d staff=%s latency_ms=%.2f", p->rid, p->what,
                  res->http_status, res->staff && *res->staff ? res->staff : "-",
                  since_ms(p->t0_us));
        bool authed = p->action == STORE_STAFF_AUTH && res->http_status == 200;
        if (authed && p->auth_use == AUTH_STREAM && !srv->stopping)
            sse_start(srv, p->req, res->staff);
        else if (authed && p->auth_use == AUTH_SAVED)
            respond_json(srv, p->req, 200, "OK",
                         saved_replies_json(srv->set.replies ? srv->set.replies->saved : NULL));
        else
            respond_json(srv, p->req, res->http_status, status_reason(res->http_status), res->body);
        if (res->njobs && srv->set.hooks.on_jobs)
            srv->set.hooks.on_jobs(srv->set.hooks.arg, res);
    }
    free(p);
}

/* A reply's text: {"text": "..."} (application/json) or text=... (a form). NULL after
 * answering. The caller frees. */
static char *reply_text(struct server *srv, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > SERVER_STAFF_BODY_MAX) {
        respond_json(srv, req, 413, "Payload Too Large", "{\"error\":\"body over 8 KiB\"}");
        return NULL;
    }
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    char *text = NULL;
    /* A duplicate "text" (a JSON key or a form field) is refused rather than guessed at:
     * which copy the texter gets must not depend on the parser. */
    if (ctype && strncasecmp(ctype, "application/json", 16) == 0) {
        json_error_t jerr;
        json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        const char *t = json_string_value(json_object_get(o, "text"));
        text = t ? strdup(t) : NULL;
        json_decref(o);
    } else {
        static const struct form_limits limits = {16, 16, SERVER_STAFF_BODY_MAX};
        const char *why = NULL;
        struct form *f = form_parse(body, len, &limits, &why);
        const char *t = f && form_count(f, "text") == 1 ? form_get(f, "text") : NULL;
        text = t ? strdup(t) : NULL;
        form_free(f);
    }
    if (!text)
        respond_json(srv, req, 400, "Bad Request",
                     "{\"error\":\"expected {\\\"text\\\": ...} or text=...\"}");
    return text;
}

/* A file of the staff page (webui.h): GET or HEAD. */
static void serve_asset(struct server *srv, struct evhttp_request *req, const struct webui_asset *a,
                        enum evhttp_cmd_type method)
{
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
        return method_not_allowed(srv, req, "GET, HEAD");
    struct evbuffer *buf = evbuffer_new();
    if (!buf || evbuffer_add_reference(buf, a->data, a->len, NULL, NULL) != 0) {
        evbuffer_free(buf);
        return respond_error(srv, req, 500, "Internal Server Error", "out of memory");
    }
    respond_buf(srv, req, 200, "OK", a->content_type, buf);
    evbuffer_free(buf);
}

/* /staff -> /staff/, so that the page's relative links resolve under /staff/. */
static void redirect_to_page(struct server *srv, struct evhttp_request *req,
                             enum evhttp_cmd_type method)
{
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD)
        return method_not_allowed(srv, req, "GET, HEAD");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/staff/");
    respond(srv, req, 301, "Moved Permanently", CT_TEXT, "/staff/\n");
}

static void handle_staff(struct server *srv, struct evhttp_request *req, unsigned long long rid,
                         int64_t t0, const char *path, enum evhttp_cmd_type method)
{
    struct store_staff_request r = {.action = STORE_STAFF_LIST};
    enum staff_auth_use use = AUTH_STREAM;
    bool get = method == EVHTTP_REQ_GET, post = method == EVHTTP_REQ_POST;
    const char *rest = path + strlen("/staff/");
    const struct webui_asset *asset = webui_find(rest);
    if (asset)
        return serve_asset(srv, req, asset, method);
    if (strcmp(rest, "events") == 0 || strcmp(rest, "me") == 0 ||
        strcmp(rest, "saved-replies") == 0) {
        if (!get)
            return method_not_allowed(srv, req, "GET");
        r.action = STORE_STAFF_AUTH;
        use = rest[0] == 'e' ? AUTH_STREAM : rest[0] == 'm' ? AUTH_ME : AUTH_SAVED;
    } else if (strcmp(rest, "escalations") == 0) {
        if (!get)
            return method_not_allowed(srv, req, "GET");
        r.action = STORE_STAFF_LIST;
    } else if (strncmp(rest, "escalations/", 12) == 0) {
        const char *p = rest + 12;
        char *end = NULL;
        long long id = (*p >= '1' && *p <= '9') ? strtoll(p, &end, 10) : 0;
        if (id <= 0 || id > 100000000000LL)
            return respond_json(srv, req, 404, "Not Found", "{\"error\":\"no such path\"}");
        r.id = id;
        if (*end == '\0') {
            if (!get)
                return method_not_allowed(srv, req, "GET");
            r.action = STORE_STAFF_SHOW;
        } else {
            if (strcmp(end, "/ack") == 0)
                r.action = STORE_STAFF_ACK;
            else if (strcmp(end, "/reply") == 0)
                r.action = STORE_STAFF_REPLY;
            else if (strcmp(end, "/close") == 0)
                r.action = STORE_STAFF_CLOSE;
            else
                return respond_json(srv, req, 404, "Not Found", "{\"error\":\"no such path\"}");
            if (!post)
                return method_not_allowed(srv, req, "POST");
        }
    } else {
        return respond_json(srv, req, 404, "Not Found", "{\"error\":\"no such path\"}");
    }
    static const char *const auth_names[] = {
        [AUTH_STREAM] = "events", [AUTH_ME] = "me", [AUTH_SAVED] = "saved_replies"};
    const char *what = r.action == STORE_STAFF_AUTH ? auth_names[use] : action_names[r.action];
    r.token = bearer_token(req);
    if (!r.token) {
        log_event(LOG_WARN, "staff_api", "req=%llu action=%s status=401 reason=no_token", rid,
                  what);
        return respond_json(srv, req, 401, "Unauthorized",
                            "{\"error\":\"a valid bearer token is required\"}");
    }
    char *text = NULL;
    if (r.action == STORE_STAFF_REPLY && !(r.text = text = reply_text(srv, req)))
        return;
    struct pending *p = pending_new(srv, req, PENDING_STAFF, rid, t0);
    if (p) {
        p->action = r.action;
        p->auth_use = use;
        p->what = what;
    }
    if (!p || store_submit_staff(srv->set.store, &r, on_staff_done, p) != 0) {
        if (p) {
            pending_unlink(p);
            free(p);
        }
        respond_json(srv, req, 503, "Service Unavailable", "{\"error\":\"store unavailable\"}");
    }
    free(text);
}

/* The one entry point: every request evhttp parsed within the limits lands here. */
static void on_request(struct evhttp_request *req, void *arg)
{
    struct server *srv = arg;
    int64_t t0 = mono_us();
    unsigned long long rid = ++srv->next_rid;
    srv->busy++;

    if (srv->stopping) {
        respond_error(srv, req, 503, "Service Unavailable", "shutting down");
        return;
    }
    /* evhttp frames the body by the first Content-Length and ignores any other, so a
     * request with two has framing that another reader (a proxy) may take differently:
     * RFC 9112 section 6.3 makes it a 400, and the connection is not reused. */
    size_t lengths = 0;
    for (struct evkeyval *h = evhttp_request_get_input_headers(req)->tqh_first; h;
         h = h->next.tqe_next)
        if (strcasecmp(h->key, "Content-Length") == 0)
            lengths++;
    if (lengths > 1) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        respond_error(srv, req, 400, "Bad Request", "more than one Content-Length");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path) {
        respond_error(srv, req, 400, "Bad Request", "unreadable request target");
        return;
    }
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    bool post = method == EVHTTP_REQ_POST;
    bool get = method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD;

    if (strcmp(path, PATH_MESSAGES) == 0) {
        if (post)
            handle_messages(srv, req, rid, t0);
        else
            method_not_allowed(srv, req, "POST");
    } else if (strcmp(path, PATH_STATUS) == 0) {
        if (post)
            handle_status(srv, req, rid, t0);
        else
            method_not_allowed(srv, req, "POST");
    } else if (strcmp(path, PATH_HEALTHZ) == 0) {
        if (get)
            handle_healthz(srv, req, rid, t0);
        else
            method_not_allowed(srv, req, "GET, HEAD");
    } else if (strcmp(path, PATH_METRICS) == 0) {
        if (get)
            handle_metrics(srv, req);
        else
            method_not_allowed(srv, req, "GET, HEAD");
    } else if (strcmp(path, "/staff") == 0) {
        redirect_to_page(srv, req, method);
    } else if (strncmp(path, "/staff/", 7) == 0) {
        handle_staff(srv, req, rid, t0, path, method);
    } else {
        respond_error(srv, req, 404, "Not Found", NULL);
    }
}

/* ---- lifetime ---- */

_Static_assert(CONV_OPTED_IN_NOW == 1u << (METRICS_CONVERSATION_EVENTS - 1),
               "metrics counts one event per conversation flag");

/* The conversation's limits: the shipped ones, with what the operator may set. */
static void conversation_rules_from_config(struct conversation_rules *rules,
                                           const struct config *cfg)
{
    conversation_rules_default(rules);
    rules->mode =
        cfg->keyword_replies == CONFIG_KEYWORDS_GATEWAY ? KEYWORDS_GATEWAY : KEYWORDS_SELF;
    rules->reply_budget = (int)cfg->reply_budget;
    rules->repeat_ms = (int64_t)cfg->repeat_seconds * 1000;
    rules->mute_ms = (int64_t)cfg->loop_mute_seconds * 1000;
}

struct server *server_new(struct event_base *base, const struct server_settings *settings,
                          char *err, size_t errlen)
{
    struct server *srv = calloc(1, sizeof *srv);
    if (!srv || !(srv->http = evhttp_new(base))) {
        snprintf(err, errlen, "cannot create the HTTP server: out of memory");
        free(srv);
        return NULL;
    }
    srv->base = base;
    srv->set = *settings;
    conversation_rules_from_config(&srv->rules, settings->cfg);
    /* evhttp refuses anything past twice our limit before reading it (bounding what a
     * connection may buffer); up to there the handler answers 413 itself and counts it. */
    evhttp_set_max_body_size(srv->http, 2 * SERVER_BODY_MAX);
    /* ... and then drains (without keeping) the rest of such a body before its 413, so the
     * client reads the 413 instead of a reset from closing on unread data. */
    evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_max_headers_size(srv->http, SERVER_HEADERS_MAX);
    evhttp_set_timeout(srv->http, SERVER_TIMEOUT_S);
    /* Let the common methods reach the router, which answers 405 with an Allow header. */
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(srv->http, on_request, srv);
    struct timeval ka = {SERVER_SSE_KEEPALIVE_S, 0};
    if (!(srv->keepalive = event_new(base, -1, EV_PERSIST, on_keepalive, srv)) ||
        event_add(srv->keepalive, &ka) != 0) {
        snprintf(err, errlen, "cannot create the keep-alive timer");
        if (srv->keepalive)
            event_free(srv->keepalive);
        evhttp_free(srv->http);
        free(srv);
        return NULL;
    }
    return srv;
}

int server_listen(struct server *srv, const char *host, int port, char *addr, size_t addrlen,
                  int *port_out, char *err, size_t errlen)
{
    if (srv->nbound == MAX_BOUND) {
        snprintf(err, errlen, "too many listening sockets");
        return -1;
    }
    struct evhttp_bound_socket *b =
        evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)port);
    if (!b) {
        snprintf(err, errlen, "cannot listen on %s port %d (in use, or not a local address?)", host,
                 port);
        return -1;
    }
    srv->bound[srv->nbound++] = b;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int bound_port = port;
    if (getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
            bound_port = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
            bound_port = ntohs(s4->sin_port);
        }
    }
    if (ss.ss_family == AF_INET6)
        snprintf(addr, addrlen, "[%s]:%d", ip, bound_port);
    else
        snprintf(addr, addrlen, "%s:%d", ip, bound_port);
    if (port_out)
        *port_out = bound_port;
    return 0;
}

void server_stop_accepting(struct server *srv)
{
    if (!srv)
        return;
    srv->stopping = true;
    while (srv->streams)
        sse_end(srv->streams);
    for (size_t i = 0; i < srv->nbound; i++)
        evhttp_del_accept_socket(srv->http, srv->bound[i]);
    srv->nbound = 0;
}

size_t server_busy(const struct server *srv)
{
    return srv ? srv->busy : 0;
}

size_t server_pending(const struct server *srv)
{
    return srv ? srv->npending : 0;
}

void server_free(struct server *srv)
{
    if (!srv)
        return;
    while (srv->pending) {
        struct pending *p = srv->pending;
        /* A request whose client left is no longer in any connection: evhttp_free would
         * not free it. The others die with their connections below. */
        if (p->req && !evhttp_request_get_connection(p->req))
            evhttp_request_free(p->req);
        p->req = NULL;
        pending_unlink(p);
    }
    while (srv->streams)
        sse_end(srv->streams);
    event_free(srv->keepalive);
    evhttp_free(srv->http);
    free(srv);
}
