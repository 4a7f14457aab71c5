/*
 * service: `hotline serve` assembled (see service.h for the start and stop order).
 *
 * This file owns the glue that no single module should know:
 *
 * - Jobs. The store creates reply jobs inside the webhook's transaction; once it commits,
 *   the server hands them here and each becomes a Twilio Messages API request in the
 *   outbox (or, in local mode, a block printed on stdout and stored as sent). Every
 *   outcome the outbox reports goes back to the store as a job update through the writer
 *   thread, so nothing here ever waits on the disk. A small map (job id -> recipient,
 *   priority, intent) keeps what the outbox does not carry.
 * - Opt-outs. An in-memory set of opted-out numbers, loaded at start for the recipients
 *   of unfinished jobs and then kept current from every committed decision (the sender's
 *   state after it) and every 21610 from the gateway. The outbox asks before EVERY attempt
 *   (before_send) and a job to a number in the set is vetoed, except the opt-out
 *   confirmation itself, marked by its priority (SERVER_PRIORITY_OPT_OUT_CONFIRMATION).
 *   So a reply queued before a STOP never goes out after it. Pages (and staff command
 *   confirmations, which are page-kind jobs) go to staff phones, not texters: never vetoed.
 * - Escalations. Page jobs are created by the store in the text's own transaction and
 *   dispatched here like replies, at priority 0 (ahead of queued replies). A timer asks
 *   the store every REPAGE_TICK_MS (or half the re-page interval, if shorter) for the
 *   urgent escalations due for another page: one store operation at a time, never a
 *   synchronous read on the loop.
 * - The staff chat webhook (HOTLINE_STAFF_WEBHOOK_URL). The store hands every committed
 *   operation's escalation events to on_events on the loop; each batch becomes one
 *   {"text": ...} message (chat.h: no texter words, the number masked) queued in an outbox
 *   of its own, so a slow or failing chat service never takes a slot from pages and
 *   replies and never blocks the loop. It retries like other sends (backoff, the same
 *   retry window) and logs outcomes; it is best effort and in memory only: messages still
 *   queued at shutdown are dropped (the escalation log and the database hold the events),
 *   and past CHAT_MAX_QUEUED waiting messages new ones are dropped and logged.
 * - Signals and shutdown, with deadlines so that a stuck peer cannot hold the process.
 *
 * Persisting: a job stays 'pending' in the store while its request is in flight (no
 * commit per attempt); a crash mid-send therefore resends it at the next start (at least
 * once, as store.h says), and the next start resumes every unfinished job. A job's final
 * update that the store cannot commit (a failing disk) is submitted again until it
 * commits, so that it is not resent at the next start (see job_update).
 */
#include "hotline/service.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "hotline/chat.h"
#include "hotline/log.h"
#include "hotline/matcher.h"
#include "hotline/metrics.h"
#include "hotline/outbox.h"
#include "hotline/replies.h"
#include "hotline/server.h"
#include "hotline/sms.h"
#include "hotline/store.h"
#include "hotline/twilio.h"

#define BUCKETS 1024 /* both hash tables; chains stay short for thousands of entries */
#define STOP_CHECK_MS 10
#define REASON_OPTED_OUT "recipient opted out"
#define REPAGE_TICK_MS 1000
#define CHAT_MAX_QUEUED 1000  /* chat messages waiting at most; more are dropped */
#define CHAT_MAX_IN_FLIGHT 2  /* a chat service gets few connections */
#define CHAT_TIMEOUT_MS 10000 /* a chat POST that takes longer is retried */
#define UPDATE_RETRY_MS 1000  /* a job's last update the store could not commit: next try */

/* What the outbox does not carry about a job. */
struct job_meta {
    int64_t id;
    char *to;
    int priority;
    enum store_job_kind kind;
    int intent; /* -1: unknown (a job resumed after a restart) */
    struct job_meta *next;
};

struct number {
    char *s;
    struct number *next;
};

/* A job's final update (sent, failed, canceled) on its way to the store; see job_update. */
struct final_update {
    struct service *sv;
    struct store_job_update u;
    char *gateway_sid, *reason; /* u's strings */
    struct event *retry;        /* NULL until a commit failed */
    struct final_update *prev, *next;
};

struct service {
    struct config *cfg;
    struct replies *replies;
    struct matcher *matcher;
    struct event_base *base;
    struct store *store;
    struct outbox *outbox; /* NULL in local mode */
    struct outbox *chat;   /* the staff chat webhook's sends; NULL when none is set */
    int64_t chat_seq;      /* chat message ids, for the logs */
    struct server *server;
    struct metrics metrics;
    char *status_callback; /* {public_url}/webhooks/twilio/status */

    struct event *ev_term, *ev_int, *ev_stop_check, *ev_repage;
    bool repage_busy; /* a re-page operation is queued in the store */
    bool stopping, drained, chat_drained;
    int64_t stop_deadline_us;

    struct job_meta *jobs[BUCKETS];
    struct number *opted_out[BUCKETS];
    struct final_update *updates; /* final updates not yet committed */
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

/* ---- the opted-out set ---- */

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h % BUCKETS);
}

static bool optout_has(const struct service *sv, const char *number)
{
    for (const struct number *n = sv->opted_out[hash_str(number)]; n; n = n->next)
        if (strcmp(n->s, number) == 0)
            return true;
    return false;
}

static void optout_set(struct service *sv, const char *number, bool opted_out)
{
    struct number **pp = &sv->opted_out[hash_str(number)];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->s, number) == 0) {
            if (!opted_out) {
                struct number *gone = *pp;
                *pp = gone->next;
                free(gone->s);
                free(gone);
            }
            return;
        }
    }
    if (!opted_out)
        return;
    struct number *n = malloc(sizeof *n);
    char *copy = strdup(number);
    if (!n || !copy) {
        /* Out of memory: the stored state still holds the opt-out, and the gateway's
         * 21610 stops the send; log so that an operator sees it. */
        free(n);
        free(copy);
        log_event(LOG_ERROR, "optout_set", "error=\"out of memory\"");
        return;
    }
    n->s = copy;
    n->next = *pp;
    *pp = n;
}

/* ---- the job map ---- */

static struct job_meta *meta_get(const struct service *sv, int64_t id)
{
    for (struct job_meta *m = sv->jobs[(uint64_t)id % BUCKETS]; m; m = m->next)
        if (m->id == id)
            return m;
    return NULL;
}

static struct job_meta *meta_add(struct service *sv, const struct store_job *job, int intent)
{
    struct job_meta *m = meta_get(sv, job->id);
    if (m)
        return m;
    if (!(m = calloc(1, sizeof *m)) || !(m->to = strdup(job->to))) {
        free(m);
        return NULL;
    }
    m->id = job->id;
    m->priority = job->priority;
    m->kind = job->kind;
    m->intent = intent;
    struct job_meta **head = &sv->jobs[(uint64_t)job->id % BUCKETS];
    m->next = *head;
    *head = m;
    return m;
}

static void meta_del(struct service *sv, int64_t id)
{
    for (struct job_meta **pp = &sv->jobs[(uint64_t)id % BUCKETS]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct job_meta *gone = *pp;
            *pp = gone->next;
            free(gone->to);
            free(gone);
            return;
        }
    }
}

/* Whether a job may go to its recipient now: the opt-out rule, checked before every
 * attempt. */
static bool send_allowed(const struct service *sv, const struct job_meta *m)
{
    return m->kind == STORE_JOB_PAGE || !optout_has(sv, m->to) ||
           m->priority == SERVER_PRIORITY_OPT_OUT_CONFIRMATION;
}

/* ---- persisting outcomes ---- */

/*
 * A retry's update may be lost (the job stays pending in the store and resumes
 * at the next start, as it would after a crash). A job's FINAL update may not: if the
 * disk fails while a reply is accepted by the gateway and that 'sent' were dropped, the
 * next start (maybe days later) would send the reply again. So a final update the store
 * could not commit (disk full, read-only, I/O error) is kept in memory and submitted
 * again every UPDATE_RETRY_MS until it commits or the service stops. Only final ones:
 * a late 'pending' could otherwise overwrite a 'sent' that committed after it.
 */
static void final_update_free(struct final_update *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        f->sv->updates = f->next;
    if (f->next)
        f->next->prev = f->prev;
    if (f->retry)
        event_free(f->retry);
    free(f->gateway_sid);
    free(f->reason);
    free(f);
}

static void on_final_written(const struct store_result *res, void *arg);

static void final_update_submit(struct final_update *f)
{
    if (store_submit_job_update(f->sv->store, &f->u, on_final_written, f) != 0) {
        log_event(LOG_ERROR, "job_update", "job=%lld error=\"store refused the update\"",
                  (long long)f->u.job_id);
        final_update_free(f);
    }
}

static void on_final_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    final_update_submit(arg);
}

static void on_final_written(const struct store_result *res, void *arg)
{
    struct final_update *f = arg;
    if (res->outcome != STORE_ERROR) {
        final_update_free(f);
        return;
    }
    struct timeval tv = {UPDATE_RETRY_MS / 1000, (UPDATE_RETRY_MS % 1000) * 1000};
    bool again = !f->sv->stopping &&
                 (f->retry || (f->retry = evtimer_new(f->sv->base, on_final_retry, f))) &&
                 evtimer_add(f->retry, &tv) == 0;
    log_event(
        LOG_ERROR, "job_update", "job=%lld state=%s error=\"%s\" next=\"%s\"",
        (long long)f->u.job_id, store_job_state_name(f->u.state), res->error ? res->error : "?",
        again ? "retry in 1 s" : "stays unfinished in the store; sent again at the next start");
    if (!again)
        final_update_free(f);
}

static void on_job_written(const struct store_result *res, void *arg)
{
    if (res->outcome == STORE_ERROR)
        log_event(LOG_ERROR, "job_update", "job=%lld error=\"%s\"", (long long)(intptr_t)arg,
                  res->error ? res->error : "?");
}

static void job_update(struct service *sv, int64_t id, enum store_job_state state, int attempts,
                       int64_t next_attempt_at, const char *gateway_sid, int error_code,
                       const char *reason)
{
    struct store_job_update u = {
        .job_id = id,
        .state = state,
        .attempts = attempts,
        .next_attempt_at = next_attempt_at,
        .gateway_sid = gateway_sid && *gateway_sid ? gateway_sid : NULL,
        .error_code = error_code,
        .reason = reason && *reason ? reason : NULL,
    };
    if (state != STORE_JOB_PENDING) {
        struct final_update *f = calloc(1, sizeof *f);
        if (f && (!u.gateway_sid || (f->gateway_sid = strdup(u.gateway_sid))) &&
            (!u.reason || (f->reason = strdup(u.reason)))) {
            f->sv = sv;
            f->u = u;
            f->u.gateway_sid = f->gateway_sid;
            f->u.reason = f->reason;
            f->next = sv->updates;
            if (sv->updates)
                sv->updates->prev = f;
            sv->updates = f;
            final_update_submit(f);
            return;
        }
        if (f) {
            free(f->gateway_sid);
            free(f);
        } /* out of memory: submitted once, as a retry's update */
    }
    if (store_submit_job_update(sv->store, &u, on_job_written, (void *)(intptr_t)id) != 0)
        log_event(LOG_ERROR, "job_update", "job=%lld error=\"store refused the update\"",
                  (long long)id);
}

static void on_sender_written(const struct store_result *res, void *arg)
{
    (void)arg;
    if (res->outcome == STORE_ERROR)
        log_event(LOG_ERROR, "sender_update", "error=\"%s\"", res->error ? res->error : "?");
}

/* ---- local mode: the terminal is the gateway ---- */

static void deliver_local(struct service *sv, struct job_meta *m, const struct store_job *job)
{
    char masked[32];
    log_mask_phone(job->to, masked, sizeof masked);
    if (!send_allowed(sv, m)) {
        metrics_reply(&sv->metrics, METRICS_REPLY_VETOED);
        log_event(LOG_INFO, "reply", "job=%lld to=%s outcome=vetoed reason=\"%s\"",
                  (long long)job->id, masked, REASON_OPTED_OUT);
        job_update(sv, job->id, STORE_JOB_CANCELED, job->attempts, 0, NULL, 0, REASON_OPTED_OUT);
        meta_del(sv, job->id);
        return;
    }
    struct sms_measure sm = {.segments = 0};
    sms_measure(job->body, strlen(job->body), &sm);
    const char *what = m->intent >= 0 ? intent_name((enum intent)m->intent)
                                      : (m->kind == STORE_JOB_PAGE ? "page" : "resumed");
    printf("--- SMS to %s (intent %s, %d segment%s) ---\n%s\n---\n", masked, what, sm.segments,
           sm.segments == 1 ? "" : "s", job->body);
    fflush(stdout);
    metrics_reply(&sv->metrics, METRICS_REPLY_SENT);
    log_event(LOG_INFO, "reply", "job=%lld to=%s outcome=sent local=1 segments=%d",
              (long long)job->id, masked, sm.segments);
    job_update(sv, job->id, STORE_JOB_SENT, job->attempts + 1, 0, NULL, 0, NULL);
    meta_del(sv, job->id);
}

/* ---- jobs into the outbox ---- */

/* Starts one stored job on its way; intent is -1 when not known. */
static void dispatch(struct service *sv, const struct store_job *job, int intent)
{
    if (job->state != STORE_JOB_PENDING && job->state != STORE_JOB_SENDING)
        return;
    struct job_meta *m = meta_add(sv, job, intent);
    if (!m) {
        log_event(LOG_ERROR, "dispatch",
                  "job=%lld error=\"out of memory\" next=\"resumes at "
                  "the next start\"",
                  (long long)job->id);
        return;
    }
    if (sv->cfg->local_mode) {
        deliver_local(sv, m, job);
        return;
    }
    struct twilio_send_request req;
    if (twilio_send_request_build(&req, sv->cfg->twilio_api_base, sv->cfg->twilio_account_sid,
                                  job->from, job->to, job->body, sv->status_callback) != 0) {
        log_event(LOG_ERROR, "dispatch", "job=%lld error=\"cannot build the request\"",
                  (long long)job->id);
        job_update(sv, job->id, STORE_JOB_FAILED, job->attempts, 0, NULL, 0,
                   "cannot build the request");
        meta_del(sv, job->id);
        return;
    }
    struct outbox_job oj = {
        .id = job->id,
        .priority = job->priority,
        .attempts = job->attempts,
        /* The retry window counts from the first attempt; the store keeps no such time, so
         * a job already attempted before a restart counts from its creation. */
        .first_attempt_at = job->attempts > 0 ? job->created_at : 0,
        .not_before = job->next_attempt_at,
        .url = req.url,
        .username = sv->cfg->twilio_account_sid,
        .password = sv->cfg->twilio_auth_token,
        .body = req.body,
    };
    if (outbox_enqueue(sv->outbox, &oj) != 0) {
        log_event(sv->stopping ? LOG_INFO : LOG_ERROR, "dispatch",
                  "job=%lld queued=0 next=\"stays pending; resumes at the next start\"",
                  (long long)job->id);
        meta_del(sv, job->id);
    }
    twilio_send_request_clear(&req);
}

/* server hook: a text committed. The sender's new state first, so that a STOP vetoes the
 * replies already queued for that number before anything else is sent. */
static void on_inbound(void *arg, const struct store_result *res, const char *from,
                       enum intent intent)
{
    struct service *sv = arg;
    if (!res->staff_command)
        optout_set(sv, from, res->sender.opted_out);
    size_t pages = 0;
    for (size_t i = 0; i < res->njobs; i++) {
        pages += res->jobs[i].kind == STORE_JOB_PAGE;
        dispatch(sv, &res->jobs[i], res->jobs[i].kind == STORE_JOB_REPLY ? (int)intent : -1);
    }
    if (res->escalation_id)
        log_event(res->escalation == ESCALATE_URGENT ? LOG_WARN : LOG_INFO, "escalation",
                  "id=%lld level=%s inbound=%lld pages=%zu", (long long)res->escalation_id,
                  escalation_name(res->escalation), (long long)res->inbound_id, pages);
}

/* server hook: a staff API action committed jobs (a staff reply to a texter). */
static void on_staff_jobs(void *arg, const struct store_result *res)
{
    struct service *sv = arg;
    for (size_t i = 0; i < res->njobs; i++)
        dispatch(sv, &res->jobs[i], -1);
}

/* ---- the staff chat webhook ---- */

static void chat_post(struct service *sv, const char *lines, size_t len)
{
    char *body = chat_message(lines, len);
    if (!body)
        return; /* nothing worth a message ("viewed" only), or out of memory */
    int64_t id = ++sv->chat_seq;
    struct outbox_stats st;
    outbox_stats(sv->chat, &st);
    struct outbox_job job = {
        .id = id,
        .priority = 0,
        .url = sv->cfg->staff_webhook_url,
        .body = body,
        .content_type = "application/json",
    };
    if (st.queued >= CHAT_MAX_QUEUED)
        log_event(LOG_ERROR, "chat_webhook", "message=%lld outcome=dropped reason=\"%zu queued\"",
                  (long long)id, st.queued);
    else if (outbox_enqueue(sv->chat, &job) != 0)
        log_event(sv->stopping ? LOG_INFO : LOG_ERROR, "chat_webhook",
                  "message=%lld outcome=dropped reason=\"%s\"", (long long)id,
                  sv->stopping ? "shutting down" : "cannot queue");
    free(body);
}

/* Outcomes of chat sends: logged, never stored (the URL is a secret: never logged). */
static void on_chat_result(void *arg, const struct outbox_result *r)
{
    (void)arg;
    switch (r->outcome) {
    case OUTBOX_SENT:
        log_event(LOG_DEBUG, "chat_webhook",
                  "message=%lld outcome=sent attempts=%d http_status=%ld latency_ms=%lld",
                  (long long)r->job_id, r->attempts, r->http_status, (long long)r->latency_ms);
        break;
    case OUTBOX_RETRY_SCHEDULED:
        log_event(LOG_WARN, "chat_webhook",
                  "message=%lld outcome=retry attempts=%d http_status=%ld reason=\"%s\" "
                  "next_in_ms=%lld",
                  (long long)r->job_id, r->attempts, r->http_status, r->reason,
                  (long long)(r->next_attempt_at - unix_ms()));
        break;
    case OUTBOX_FAILED:
    case OUTBOX_VETOED:
        log_event(LOG_ERROR, "chat_webhook",
                  "message=%lld outcome=failed attempts=%d http_status=%ld reason=\"%s\"",
                  (long long)r->job_id, r->attempts, r->http_status, r->reason);
        break;
    }
}

static void on_chat_drained(void *arg)
{
    struct service *sv = arg;
    sv->chat_drained = true;
}

/* store hook: escalation events committed; the live streams get them at once, and the
 * chat webhook a message. */
static void on_events(void *arg, const char *lines, size_t len)
{
    struct service *sv = arg;
    server_publish_events(sv->server, lines, len);
    if (sv->chat)
        chat_post(sv, lines, len);
}

/* ---- re-paging ---- */

static void on_repaged(const struct store_result *res, void *arg)
{
    struct service *sv = arg;
    sv->repage_busy = false;
    if (sv->stopping)
        return; /* the outbox may be gone: the pages stay pending and resume at the next start */
    if (res->outcome != STORE_OK) {
        log_event(LOG_ERROR, "repage", "error=\"%s\"", res->error ? res->error : "?");
        return;
    }
    for (size_t i = 0; i < res->njobs; i++)
        dispatch(sv, &res->jobs[i], -1);
    if (res->njobs)
        log_event(LOG_WARN, "repage", "pages=%zu", res->njobs);
}

static void on_repage_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *sv = arg;
    if (sv->stopping || sv->repage_busy)
        return;
    if (store_submit_repage(sv->store, (int64_t)sv->cfg->repage_seconds * 1000, on_repaged, sv) ==
        0)
        sv->repage_busy = true;
}

static void fill_gauges(void *arg, struct metrics_gauges *g)
{
    struct service *sv = arg;
    if (!sv->outbox)
        return;
    struct outbox_stats st;
    outbox_stats(sv->outbox, &st);
    g->queue_depth = st.queued;
    g->in_flight = st.in_flight;
}

/* ---- outbox callbacks (loop thread) ---- */

/* The Twilio rules of gateways.md section 3, through twilio_send_classify. */
static void classify(void *arg, const struct outbox_response *resp, struct outbox_verdict *v)
{
    (void)arg;
    struct twilio_send_result tr;
    twilio_send_classify(resp->curl_code ? 0 : resp->http_status, resp->body, resp->body_len, &tr);
    v->error_code = tr.error_code;
    switch (tr.outcome) {
    case TWILIO_SENT:
        v->kind = OUTBOX_VERDICT_SENT;
        snprintf(v->gateway_id, sizeof v->gateway_id, "%s", tr.sid);
        v->error_code = 0;
        break;
    case TWILIO_RETRY:
        v->kind = OUTBOX_VERDICT_RETRY;
        snprintf(v->reason, sizeof v->reason, "%s",
                 resp->curl_code ? resp->curl_error : (tr.reason ? tr.reason : "retry"));
        break;
    case TWILIO_PERMANENT:
        v->kind = OUTBOX_VERDICT_PERMANENT;
        snprintf(v->reason, sizeof v->reason, "%s", tr.reason ? tr.reason : "rejected");
        break;
    }
    if (tr.flags & (TWILIO_F_AUTH | TWILIO_F_CONFIG))
        log_event(LOG_ERROR, "gateway_alert", "http_status=%ld error_code=%d reason=\"%s\"",
                  tr.http_status, tr.error_code, tr.reason ? tr.reason : "");
}

static int before_send(void *arg, const struct outbox_job *job, int *error_code, char *reason)
{
    struct service *sv = arg;
    const struct job_meta *m = meta_get(sv, job->id);
    if (!m || send_allowed(sv, m))
        return 0;
    *error_code = 0;
    snprintf(reason, OUTBOX_REASON_SIZE, "%s", REASON_OPTED_OUT);
    return 1;
}

static void on_result(void *arg, const struct outbox_result *r)
{
    struct service *sv = arg;
    struct job_meta *m = meta_get(sv, r->job_id);
    char masked[32] = "?";
    if (m)
        log_mask_phone(m->to, masked, sizeof masked);
    if (r->latency_ms >= 0)
        metrics_observe(&sv->metrics.gateway_latency, (double)r->latency_ms / 1000.0);

    switch (r->outcome) {
    case OUTBOX_SENT:
        metrics_reply(&sv->metrics, METRICS_REPLY_SENT);
        log_event(LOG_INFO, "reply",
                  "job=%lld to=%s outcome=sent sid=%s attempts=%d http_status=%ld latency_ms=%lld",
                  (long long)r->job_id, masked, r->gateway_id, r->attempts, r->http_status,
                  (long long)r->latency_ms);
        job_update(sv, r->job_id, STORE_JOB_SENT, r->attempts, 0, r->gateway_id, 0, NULL);
        meta_del(sv, r->job_id);
        break;
    case OUTBOX_RETRY_SCHEDULED:
        metrics_reply(&sv->metrics, METRICS_REPLY_RETRY);
        log_event(LOG_WARN, "reply",
                  "job=%lld to=%s outcome=retry attempts=%d http_status=%ld error_code=%d "
                  "reason=\"%s\" next_in_ms=%lld",
                  (long long)r->job_id, masked, r->attempts, r->http_status, r->error_code,
                  r->reason, (long long)(r->next_attempt_at - unix_ms()));
        job_update(sv, r->job_id, STORE_JOB_PENDING, r->attempts, r->next_attempt_at, NULL,
                   r->error_code, r->reason);
        break;
    case OUTBOX_FAILED:
        metrics_reply(&sv->metrics, METRICS_REPLY_FAILED);
        log_event(LOG_WARN, "reply",
                  "job=%lld to=%s outcome=failed attempts=%d http_status=%ld error_code=%d "
                  "reason=\"%s\"",
                  (long long)r->job_id, masked, r->attempts, r->http_status, r->error_code,
                  r->reason);
        job_update(sv, r->job_id, STORE_JOB_FAILED, r->attempts, 0, NULL, r->error_code, r->reason);
        if (m) {
            unsigned flags = 0;
            if (r->error_code)
                twilio_error_classify(r->error_code, &flags, NULL);
            if (flags & TWILIO_F_OPTED_OUT) {
                /* The gateway says the recipient sent STOP: never send to it again. */
                optout_set(sv, m->to, true);
                struct store_sender st = {.opted_out = true, .opted_out_at = unix_ms()};
                char source[40];
                snprintf(source, sizeof source, "gateway error %d", r->error_code);
                if (store_submit_sender_update(sv->store, m->to, STORE_SET_OPTED_OUT, &st, source,
                                               on_sender_written, NULL) != 0)
                    log_event(LOG_ERROR, "sender_update", "error=\"store refused the update\"");
                log_event(LOG_INFO, "opted_out", "number=%s source=gateway error_code=%d", masked,
                          r->error_code);
            }
        }
        meta_del(sv, r->job_id);
        break;
    case OUTBOX_VETOED:
        metrics_reply(&sv->metrics, METRICS_REPLY_VETOED);
        log_event(LOG_INFO, "reply", "job=%lld to=%s outcome=vetoed reason=\"%s\"",
                  (long long)r->job_id, masked, r->reason);
        job_update(sv, r->job_id, STORE_JOB_CANCELED, r->attempts, 0, NULL, r->error_code,
                   r->reason);
        meta_del(sv, r->job_id);
        break;
    }
}

/* ---- shutdown ---- */

static void on_drained(void *arg)
{
    struct service *sv = arg;
    sv->drained = true;
}

static void on_stop_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct service *sv = arg;
    bool done = sv->drained && sv->chat_drained && server_busy(sv->server) == 0;
    if (!done && mono_us() < sv->stop_deadline_us)
        return;
    if (!done)
        log_event(LOG_WARN, "shutdown", "deadline=1 drained=%d chat_drained=%d busy=%zu",
                  sv->drained, sv->chat_drained, server_busy(sv->server));
    event_base_loopbreak(sv->base);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct service *sv = arg;
    const char *name = (int)fd == SIGINT ? "SIGINT" : "SIGTERM";
    if (sv->stopping) {
        log_event(LOG_WARN, "shutdown", "signal=%s forced=1", name);
        event_base_loopbreak(sv->base);
        return;
    }
    sv->stopping = true;
    log_event(LOG_INFO, "shutdown", "signal=%s webhooks_pending=%zu", name,
              server_pending(sv->server));
    server_stop_accepting(sv->server);
    event_del(sv->ev_repage);
    sv->stop_deadline_us = mono_us() + (int64_t)SERVICE_SHUTDOWN_DEADLINE_MS * 1000;
    if (!sv->outbox || outbox_drain(sv->outbox, SERVICE_DRAIN_WAIT_MS, on_drained, sv) != 0)
        sv->drained = true;
    if (sv->chat) {
        struct outbox_stats st;
        outbox_stats(sv->chat, &st);
        if (st.queued)
            log_event(LOG_WARN, "chat_webhook",
                      "outcome=dropped messages=%zu reason=\"shutting down\"", st.queued);
    }
    if (!sv->chat || outbox_drain(sv->chat, SERVICE_DRAIN_WAIT_MS, on_chat_drained, sv) != 0)
        sv->chat_drained = true;
    struct timeval tv = {0, STOP_CHECK_MS * 1000};
    event_add(sv->ev_stop_check, &tv);
}

/* ---- start ---- */

static void print_problem(void *ctx, const char *file, int line, int column, const char *message)
{
    (void)ctx;
    if (line > 0)
        fprintf(stderr, "%s:%d:%d: error: %s\n", file, line, column, message);
    else
        fprintf(stderr, "%s: error: %s\n", file, message);
}

/* When public_url was derived from a listen port of 0, it names the real port now. */
static int fix_public_url(struct config *cfg, const char *addr)
{
    if (!cfg->public_url_default || cfg->listen_port != 0)
        return 0;
    size_t n = strlen(addr) + sizeof "http://";
    char *url = malloc(n);
    if (!url)
        return -1;
    snprintf(url, n, "http://%s", addr);
    free(cfg->public_url);
    cfg->public_url = url;
    return 0;
}

static int resume_jobs(struct service *sv)
{
    struct store_job *jobs = NULL;
    size_t n = 0;
    if (store_load_unfinished_jobs(sv->store, &jobs, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct store_sender s;
        if (store_get_sender(sv->store, jobs[i].to, &s) == 1 && s.opted_out)
            optout_set(sv, jobs[i].to, true);
    }
    for (size_t i = 0; i < n; i++)
        dispatch(sv, &jobs[i], -1);
    if (n)
        log_event(LOG_INFO, "resumed", "jobs=%zu", n);
    store_jobs_free(jobs, n);
    return 0;
}

static void local_mode_banner(const char *addr)
{
    fprintf(stderr,
            "\n"
            "  *** hotline is in LOCAL MODE (no TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN) ***\n"
            "  Listening on %s (loopback only). Webhooks are NOT signature-checked, and\n"
            "  replies are printed here instead of being sent. Never expose this port.\n"
            "  Play a texter:  curl -s http://%s/webhooks/twilio/messages \\\n"
            "      -d MessageSid=SM$(date +%%s%%N | md5sum | head -c32) \\\n"
            "      --data-urlencode From=+15555550100 --data-urlencode To=+19497633440 \\\n"
            "      --data-urlencode 'Body=do you take insurance?'\n"
            "\n",
            addr, addr);
}

static void service_teardown(struct service *sv)
{
    if (sv->ev_term)
        event_free(sv->ev_term);
    if (sv->ev_int)
        event_free(sv->ev_int);
    if (sv->ev_stop_check)
        event_free(sv->ev_stop_check);
    if (sv->ev_repage)
        event_free(sv->ev_repage);
    if (sv->store)
        store_set_events_hook(sv->store, NULL, NULL); /* the server goes first */
    server_free(sv->server);                          /* first: nothing new can arrive */
    outbox_free(sv->outbox); /* transfers still running are reported and stored pending */
    outbox_free(sv->chat);
    store_close(sv->store); /* commits what is queued and runs the last callbacks */
    while (sv->updates)     /* final updates waiting for their next try: given up */
        final_update_free(sv->updates);
    if (sv->base)
        event_base_free(sv->base);
    matcher_free(sv->matcher);
    replies_free(sv->replies);
    for (size_t i = 0; i < BUCKETS; i++) {
        while (sv->jobs[i])
            meta_del(sv, sv->jobs[i]->id);
        while (sv->opted_out[i])
            optout_set(sv, sv->opted_out[i]->s, false);
    }
    free(sv->status_callback);
}

int service_run(struct config *cfg)
{
    signal(SIGPIPE, SIG_IGN); /* a peer that hangs up must not kill the process */
    log_set_level(cfg->log_level);
    /* Before any thread starts (the store's writer): libcurl's global init is not
     * thread-safe on every build. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_event(LOG_ERROR, "start", "error=\"curl_global_init failed\"");
        return 1;
    }

    struct service *sv = calloc(1, sizeof *sv);
    char err[512] = "";
    char addr[80] = "";
    int rc = 1;
    if (!sv) {
        log_event(LOG_ERROR, "start", "error=\"out of memory\"");
        goto out;
    }
    sv->cfg = cfg;
    metrics_init(&sv->metrics);

    if (!(sv->replies = replies_load(cfg->replies, print_problem, NULL))) {
        log_event(LOG_ERROR, "start", "error=\"cannot load the replies (see above)\" dir=%s",
                  cfg->replies);
        goto out;
    }
    /* The same word lists as `hotline match`, so that the service understands texts as
     * the evaluation measured; without them it still runs, correcting typos more eagerly. */
    int missing_lists = 0;
    if (!(sv->matcher = matcher_new_with_dictionaries(sv->replies, NULL, &missing_lists))) {
        log_event(LOG_ERROR, "start", "error=\"cannot build the matcher\"");
        goto out;
    }
    if (missing_lists != 0)
        log_event(LOG_WARN, "start",
                  "warning=\"word lists missing (apt-get install wamerican "
                  "wspanish)\"");
    /* libevent gives a base its locks at creation: threads first, then the base. */
    if (evthread_use_pthreads() != 0 || !(sv->base = event_base_new())) {
        log_event(LOG_ERROR, "start", "error=\"cannot create the event base\"");
        goto out;
    }
    const struct store_options store_options = {
        .escalation_log_max_bytes = (int64_t)cfg->escalation_log_max_mb * 1024 * 1024,
        .escalation_log_keep = (int)cfg->escalation_log_keep,
    };
    if (!(sv->store = store_open(sv->base, cfg->data_dir, &store_options, err, sizeof err))) {
        log_event(LOG_ERROR, "start", "error=\"%s\"", err);
        goto out;
    }
    if (!cfg->local_mode) {
        struct outbox_config oc;
        outbox_config_defaults(&oc);
        oc.backoff_base_ms = cfg->retry_base_ms;
        if (oc.backoff_cap_ms < oc.backoff_base_ms)
            oc.backoff_cap_ms = oc.backoff_base_ms;
        oc.classify = classify;
        oc.before_send = before_send;
        oc.on_result = on_result;
        oc.arg = sv;
        if (!(sv->outbox = outbox_new(sv->base, &oc, err, sizeof err))) {
            log_event(LOG_ERROR, "start", "error=\"%s\"", err);
            goto out;
        }
    }
    if (cfg->staff_webhook_url) {
        struct outbox_config oc;
        outbox_config_defaults(&oc);
        oc.max_in_flight = CHAT_MAX_IN_FLIGHT;
        oc.timeout_ms = CHAT_TIMEOUT_MS;
        oc.backoff_base_ms = cfg->retry_base_ms;
        if (oc.backoff_cap_ms < oc.backoff_base_ms)
            oc.backoff_cap_ms = oc.backoff_base_ms;
        /* No classify: the outbox's defaults (2xx sent, 429/5xx and transport errors
         * retried, any other status permanent). No veto: staff channels, not texters. */
        oc.on_result = on_chat_result;
        oc.arg = sv;
        if (!(sv->chat = outbox_new(sv->base, &oc, err, sizeof err))) {
            log_event(LOG_ERROR, "start", "error=\"%s\"", err);
            goto out;
        }
    }

    struct server_settings ss = {
        .cfg = cfg,
        .replies = sv->replies,
        .matcher = sv->matcher,
        .store = sv->store,
        .metrics = &sv->metrics,
        .hooks = {.on_inbound = on_inbound,
                  .on_jobs = on_staff_jobs,
                  .fill_gauges = fill_gauges,
                  .arg = sv},
    };
    if (!(sv->server = server_new(sv->base, &ss, err, sizeof err)) ||
        server_listen(sv->server, cfg->listen_host, cfg->listen_port, addr, sizeof addr, NULL, err,
                      sizeof err) != 0) {
        log_event(LOG_ERROR, "start", "error=\"%s\"", err);
        goto out;
    }
    if (fix_public_url(cfg, addr) != 0)
        goto out;
    store_set_events_hook(sv->store, on_events, sv);
    size_t n = strlen(cfg->public_url) + sizeof "/webhooks/twilio/status";
    if (!(sv->status_callback = malloc(n)))
        goto out;
    snprintf(sv->status_callback, n, "%s/webhooks/twilio/status", cfg->public_url);

    sv->ev_term = evsignal_new(sv->base, SIGTERM, on_signal, sv);
    sv->ev_int = evsignal_new(sv->base, SIGINT, on_signal, sv);
    sv->ev_stop_check = event_new(sv->base, -1, EV_PERSIST, on_stop_check, sv);
    sv->ev_repage = event_new(sv->base, -1, EV_PERSIST, on_repage_tick, sv);
    long tick_ms = cfg->repage_seconds * 1000 / 2;
    if (tick_ms > REPAGE_TICK_MS)
        tick_ms = REPAGE_TICK_MS;
    struct timeval tick = {tick_ms / 1000, (tick_ms % 1000) * 1000};
    if (!sv->ev_term || !sv->ev_int || !sv->ev_stop_check || !sv->ev_repage ||
        event_add(sv->ev_term, NULL) != 0 || event_add(sv->ev_int, NULL) != 0 ||
        event_add(sv->ev_repage, &tick) != 0) {
        log_event(LOG_ERROR, "start", "error=\"cannot install the signal handlers\"");
        goto out;
    }

    /* The addresses are known now, and the loop has not started: nothing resumed can be
     * sent before the listener exists. */
    if (resume_jobs(sv) != 0) {
        log_event(LOG_ERROR, "start", "error=\"cannot read the unfinished jobs\"");
        goto out;
    }
    if (cfg->local_mode) {
        local_mode_banner(addr);
        log_event(LOG_WARN, "local_mode", "signatures=off gateway=stdout");
    }
    int64_t on_call = store_count_on_call(sv->store);
    if (on_call == 0)
        log_event(LOG_WARN, "no_staff_on_call",
                  "warning=\"nobody is on call: escalations are logged but page nobody (hotline "
                  "staff on-call NAME on)\"");
    log_event(LOG_INFO, "listening",
              "addr=%s public_url=%s mode=%s keyword_replies=%s staff_on_call=%lld repage_s=%ld "
              "chat_webhook=%s",
              addr, cfg->public_url, cfg->local_mode ? "local" : "twilio",
              cfg->keyword_replies == CONFIG_KEYWORDS_GATEWAY ? "gateway" : "self",
              (long long)on_call, cfg->repage_seconds, sv->chat ? "on" : "off");

    if (event_base_dispatch(sv->base) < 0) {
        log_event(LOG_ERROR, "loop", "error=\"event_base_dispatch failed\"");
        goto out;
    }
    rc = sv->stopping ? 0 : 1;
    if (!sv->stopping)
        log_event(LOG_ERROR, "loop", "error=\"the loop ended without a signal\"");
out:
    if (sv) {
        service_teardown(sv);
        free(sv);
    }
    curl_global_cleanup();
    if (rc == 0)
        log_event(LOG_INFO, "stopped", "status=0");
    return rc;
}
