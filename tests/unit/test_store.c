/*
 * test_store: the durable store against a real SQLite file in a temporary folder and a
 * real event_base: accepted and duplicate texts, group commit, the decide step landing
 * in the database in commit order, one failing operation not failing its group, the
 * forward-only status rules, reloading unfinished jobs after a close and after a crash
 * (a forked child that _exits in its completion callback), file modes, migrations.
 *
 * To make a group deterministic a test blocks the writer inside one operation's decide
 * (a "gate"), queues the operations that must share a transaction, then opens the gate:
 * the writer takes all of them at once.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>

#include "hotline/escalation.h"
#include "hotline/staff.h"
#include "hotline/store.h"

#define HOTLINE "+19497633440"
#define TEXTER "+15550001111"
#define T0 1700000000000LL

/* Holds the writer inside one decide (see the top of the file). */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool used, entered, open;
};

struct fx {
    struct gate gate; /* in the fixture, so that teardown can open it after a failure */
    char *tmp;
    char data[512];
    char db[600];
    struct event_base *base;
    struct store *s;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    char err[256];
    assert_non_null(fx);
    assert_int_equal(evthread_use_pthreads(), 0); /* before event_base_new */
    fx->tmp = tu_mkdtemp();
    snprintf(fx->data, sizeof fx->data, "%s/data", fx->tmp);
    snprintf(fx->db, sizeof fx->db, "%s/hotline.db", fx->data);
    fx->base = event_base_new();
    assert_non_null(fx->base);
    fx->s = store_open(fx->base, fx->data, NULL, err, sizeof err);
    if (!fx->s)
        fail_msg("store_open: %s", err);
    *state = fx;
    return 0;
}

static void gate_open(struct gate *g);

static int teardown(void **state)
{
    struct fx *fx = *state;
    if (fx->gate.used) {
        gate_open(&fx->gate);
        store_close(fx->s);
        pthread_cond_destroy(&fx->gate.cv);
        pthread_mutex_destroy(&fx->gate.mu);
    } else {
        store_close(fx->s);
    }
    event_base_free(fx->base);
    tu_rmtree(fx->tmp);
    free(fx->tmp);
    free(fx);
    return 0;
}

static void reopen(struct fx *fx)
{
    char err[256];
    store_close(fx->s);
    fx->s = store_open(fx->base, fx->data, NULL, err, sizeof err);
    if (!fx->s)
        fail_msg("store_open: %s", err);
}

/* Runs the loop until every submitted operation has completed. */
static void run(struct fx *fx)
{
    assert_true(event_base_dispatch(fx->base) >= 0);
}

/* ---- results ---- */

static int sequence;

struct got {
    int calls;
    int seq;
    enum store_outcome outcome;
    char error[256];
    int64_t inbound_id;
    enum escalation escalation;
    int64_t escalation_id;
    bool staff_command;
    struct store_job jobs[8];
    size_t njobs;
    bool matched, changed;
    int64_t job_id;
    enum store_job_state state;
    struct store_sender sender;
    int http_status;
    char body[2048];
    char staff[40];
    int64_t on_call;
};

static void on_got(const struct store_result *r, void *arg)
{
    struct got *g = arg;
    g->calls++;
    g->seq = ++sequence;
    g->outcome = r->outcome;
    snprintf(g->error, sizeof g->error, "%s", r->error ? r->error : "");
    g->inbound_id = r->inbound_id;
    g->escalation = r->escalation;
    g->escalation_id = r->escalation_id;
    g->staff_command = r->staff_command;
    assert_true(r->njobs <= 8);
    for (size_t i = 0; i < r->njobs; i++)
        assert_int_equal(store_job_copy(&g->jobs[i], &r->jobs[i]), 0);
    g->njobs = r->njobs;
    g->matched = r->matched;
    g->changed = r->changed;
    g->job_id = r->job_id;
    g->state = r->state;
    g->sender = r->sender;
    g->http_status = r->http_status;
    snprintf(g->body, sizeof g->body, "%s", r->body ? r->body : "");
    snprintf(g->staff, sizeof g->staff, "%s", r->staff ? r->staff : "");
    g->on_call = r->on_call;
}

static void got_clear(struct got *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < g[i].njobs; j++)
            store_job_clear(&g[i].jobs[j]);
}

/* ---- inputs ---- */

static struct store_inbound text(const char *sid, const char *from, const char *body)
{
    return (struct store_inbound){
        .gateway = "twilio",
        .message_sid = sid,
        .account_sid = "AC0123",
        .from = from,
        .to = HOTLINE,
        .body = body,
        .received_at = T0,
        .intent = INTENT_GREETING,
        .lang = LANG_EN,
        .confidence = 0.9,
    };
}

/* ctx is the reply text, or NULL for none. */
static void decide_reply(void *ctx, const struct store_inbound *in,
                         const struct store_sender *state, struct store_decision *out)
{
    (void)in;
    (void)state;
    out->reply = ctx;
}

static void submit_text(struct fx *fx, const char *sid, const char *from, const char *reply,
                        struct got *g)
{
    struct store_inbound in = text(sid, from, "hello");
    assert_int_equal(store_submit_inbound(fx->s, &in, decide_reply, (void *)reply, on_got, g), 0);
}

static void submit_update(struct fx *fx, int64_t job_id, enum store_job_state state,
                          const char *sid, int64_t next, struct got *g)
{
    struct store_job_update u = {.job_id = job_id,
                                 .state = state,
                                 .attempts = 1,
                                 .next_attempt_at = next,
                                 .gateway_sid = sid};
    assert_int_equal(store_submit_job_update(fx->s, &u, on_got, g), 0);
}

static void submit_status(struct fx *fx, const char *sid, const char *status, int code,
                          struct got *g)
{
    struct store_status st = {
        .gateway_sid = sid, .status = status, .error_code = code, .received_at = T0};
    assert_int_equal(store_submit_status(fx->s, &st, on_got, g), 0);
}

/* ---- the gate: holds the writer inside one decide ---- */

static void decide_gate(void *ctx, const struct store_inbound *in, const struct store_sender *state,
                        struct store_decision *out)
{
    struct gate *g = ctx;
    (void)in;
    (void)state;
    (void)out;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Submits the gate op and returns once the writer is blocked in it. */
static struct gate *gate_close(struct fx *fx, struct got *got)
{
    struct gate *g = &fx->gate;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->used = true;
    g->entered = g->open = false;
    struct store_inbound in = text("SMgate", "+15550009999", "gate");
    assert_int_equal(store_submit_inbound(fx->s, &in, decide_gate, g, on_got, got), 0);
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return g;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* ---- raw SQL, to look at what the API does not show ---- */

static int64_t sql_int(const char *db, const char *sql)
{
    sqlite3 *c;
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(c);
    return v;
}

static void sql_text(const char *db, const char *sql, char *out, size_t outlen)
{
    sqlite3 *c;
    sqlite3_stmt *st;
    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(c);
}

static void sql_exec(sqlite3 *c, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* ---- tests ---- */

static void test_accept_and_duplicate(void **state)
{
    struct fx *fx = *state;
    struct got g[4] = {0};

    submit_text(fx, "SM1", TEXTER, "Hi, how can we help?", &g[0]);
    run(fx);
    assert_int_equal(g[0].calls, 1);
    assert_int_equal(g[0].outcome, STORE_OK);
    assert_true(g[0].inbound_id > 0);
    assert_int_equal(g[0].njobs, 1);
    struct store_job *job = &g[0].jobs[0];
    assert_true(job->id > 0);
    assert_int_equal(job->kind, STORE_JOB_REPLY);
    assert_int_equal(job->priority, STORE_PRIORITY_REPLY);
    assert_int_equal(job->inbound_id, g[0].inbound_id);
    assert_string_equal(job->to, TEXTER);
    assert_string_equal(job->from, HOTLINE);
    assert_string_equal(job->body, "Hi, how can we help?");
    assert_int_equal(job->state, STORE_JOB_PENDING);
    assert_null(job->gateway_sid);

    /* What the loop was handed is what is on disk. */
    struct store_job stored;
    assert_int_equal(store_get_job(fx->s, job->id, &stored), 1);
    assert_string_equal(stored.body, job->body);
    assert_string_equal(stored.to, job->to);
    assert_int_equal(stored.created_at, job->created_at);
    store_job_clear(&stored);
    assert_int_equal(store_get_job(fx->s, 424242, &stored), 0);

    /* A gateway retry, and two copies of a new text in one go: one row each. */
    submit_text(fx, "SM1", TEXTER, "a second reply", &g[1]);
    submit_text(fx, "SM2", TEXTER, "reply two", &g[2]);
    submit_text(fx, "SM2", TEXTER, "reply two again", &g[3]);
    run(fx);
    assert_int_equal(g[1].outcome, STORE_DUPLICATE);
    assert_int_equal(g[1].inbound_id, g[0].inbound_id);
    assert_int_equal(g[1].njobs, 0);
    assert_int_equal(g[2].outcome, STORE_OK);
    assert_int_equal(g[3].outcome, STORE_DUPLICATE);
    assert_int_equal(g[3].inbound_id, g[2].inbound_id);
    assert_int_equal(store_count_inbound(fx->s), 2);
    assert_int_equal(store_count_jobs(fx->s, STORE_JOB_PENDING), 2);
    assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM jobs WHERE body LIKE '%again%'"), 0);
    got_clear(g, 4);
}

static void test_group_commit(void **state)
{
    struct fx *fx = *state;
    enum { N = 50 };
    struct got gate_got = {0}, g[N] = {{0}};
    struct store_stats before, after;
    char sid[32];

    store_get_stats(fx->s, &before);
    struct gate *gate = gate_close(fx, &gate_got);
    for (int i = 0; i < N; i++) {
        snprintf(sid, sizeof sid, "SMgroup%02d", i);
        submit_text(fx, sid, TEXTER, "reply", &g[i]);
    }
    store_get_stats(fx->s, &after);
    assert_int_equal(after.queued, N);
    gate_open(gate);
    run(fx);

    assert_int_equal(gate_got.outcome, STORE_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].outcome, STORE_OK);
        assert_int_equal(g[i].seq, gate_got.seq + 1 + i); /* in submission order */
    }
    store_get_stats(fx->s, &after);
    /* 51 operations, two transactions: the gate's, then the 50 that queued behind it. */
    assert_int_equal(after.commits - before.commits, 2);
    assert_int_equal(after.ops - before.ops, N + 1);
    assert_int_equal(after.largest_group, N);
    assert_int_equal(after.queued, 0);
    assert_int_equal(store_count_inbound(fx->s), N + 1);
    assert_int_equal(store_count_jobs(fx->s, STORE_JOB_PENDING), N);
    got_clear(g, N);
}

/* Commits never wait for a checkpoint: the checkpointer thread copies the WAL into the
 * database file on its own, soon after commits land. */
static void test_checkpoints_off_the_commit_path(void **state)
{
    struct fx *fx = *state;
    enum { N = 20 };
    struct got g[N] = {{0}};
    char sid[32];
    struct stat before;
    assert_int_equal(stat(fx->db, &before), 0);
    for (int i = 0; i < N; i++) {
        snprintf(sid, sizeof sid, "SMcheckpoint%02d", i);
        submit_text(fx, sid, TEXTER, "reply", &g[i]);
        run(fx);
        assert_int_equal(g[i].outcome, STORE_OK);
    }
    struct store_stats st;
    for (int waited = 0; waited < 5000; waited += 10) {
        store_get_stats(fx->s, &st);
        if (st.checkpoints > 0)
            break;
        usleep(10 * 1000);
    }
    assert_true(st.checkpoints > 0);
    /* The rows reached the database file itself, which only a checkpoint writes. */
    struct stat after;
    for (int waited = 0; waited < 5000; waited += 10) {
        assert_int_equal(stat(fx->db, &after), 0);
        if (after.st_size > before.st_size)
            break;
        usleep(10 * 1000);
    }
    assert_true(after.st_size > before.st_size);
    got_clear(g, N);
}

struct convo {
    struct store_sender seen[8];
    int calls;
};

static const struct store_page staff_pages[] = {
    {"+15550000001", "URGENT text on the line: open the staff page"},
    {"+15550000002", "URGENT text on the line: open the staff page"},
};

/* A small conversation step: counts texts, pages on crisis, opts out on STOP. */
static void decide_convo(void *ctx, const struct store_inbound *in,
                         const struct store_sender *state, struct store_decision *out)
{
    struct convo *c = ctx;
    c->seen[c->calls++] = *state;
    out->sender.misses = state->misses + 1;
    out->reply = "ok";
    if (in->intent == INTENT_CRISIS_SUICIDE) {
        out->escalation = ESCALATE_URGENT;
        out->reply = "Call or text 988 now.";
        out->reply_priority = 5;
        out->pages = staff_pages;
        out->npages = 2;
    } else if (in->intent == INTENT_OPT_OUT) {
        out->sender.opted_out = true;
        out->sender.opted_out_at = in->received_at;
        out->sender.lang = in->lang;
        out->reply = "Te has dado de baja.";
    }
}

static void test_decide_lands(void **state)
{
    struct fx *fx = *state;
    struct convo c = {0};
    struct got g[3] = {0};
    struct store_inbound in[3] = {text("SMa", TEXTER, "hi"), text("SMb", TEXTER, "help me"),
                                  text("SMc", TEXTER, "BAJA")};
    in[1].intent = INTENT_CRISIS_SUICIDE;
    in[2].intent = INTENT_OPT_OUT;
    in[2].lang = LANG_ES;
    in[2].received_at = T0 + 5000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_submit_inbound(fx->s, &in[i], decide_convo, &c, on_got, &g[i]), 0);
    run(fx);

    /* Decided in commit order: each text saw what the one before it wrote. */
    assert_int_equal(c.calls, 3);
    assert_false(c.seen[0].known);
    assert_int_equal(c.seen[0].misses, 0);
    assert_int_equal(c.seen[0].lang, LANG_EN);
    assert_true(c.seen[1].known);
    assert_int_equal(c.seen[1].misses, 1);
    assert_int_equal(c.seen[2].misses, 2);
    assert_false(c.seen[2].opted_out);

    assert_int_equal(g[1].outcome, STORE_OK);
    assert_int_equal(g[1].escalation, ESCALATE_URGENT);
    assert_int_equal(g[1].njobs, 3);
    assert_int_equal(g[1].jobs[0].kind, STORE_JOB_REPLY);
    assert_int_equal(g[1].jobs[0].priority, 5);
    assert_string_equal(g[1].jobs[0].to, TEXTER);
    assert_string_equal(g[1].jobs[0].body, "Call or text 988 now.");
    for (int i = 1; i < 3; i++) {
        assert_int_equal(g[1].jobs[i].kind, STORE_JOB_PAGE);
        assert_int_equal(g[1].jobs[i].priority, STORE_PRIORITY_PAGE);
        assert_string_equal(g[1].jobs[i].to, staff_pages[i - 1].to);
        assert_string_equal(g[1].jobs[i].from, HOTLINE);
        assert_string_equal(g[1].jobs[i].body, staff_pages[i - 1].body);
        assert_int_equal(g[1].jobs[i].inbound_id, g[1].inbound_id);
    }

    assert_true(g[2].sender.opted_out);
    struct store_sender sender;
    assert_int_equal(store_get_sender(fx->s, TEXTER, &sender), 1);
    assert_true(sender.known);
    assert_true(sender.opted_out);
    assert_int_equal(sender.opted_out_at, T0 + 5000);
    assert_int_equal(sender.lang, LANG_ES);
    assert_int_equal(sender.misses, 3);
    assert_int_equal(store_get_sender(fx->s, "+15550002222", &sender), 0);
    assert_false(sender.known);

    char v[64];
    sql_text(fx->db,
             "SELECT escalation || ' ' || intent || ' ' || lang FROM inbound"
             " WHERE message_sid = 'SMb'",
             v, sizeof v);
    assert_string_equal(v, "urgent crisis_suicide en");
    sql_text(fx->db,
             "SELECT escalation || ' ' || intent || ' ' || lang FROM inbound"
             " WHERE message_sid = 'SMc'",
             v, sizeof v);
    assert_string_equal(v, "none opt_out es");
    /* Pages go ahead of every reply when the outbox reloads. */
    struct store_job *jobs;
    size_t n;
    assert_int_equal(store_load_unfinished_jobs(fx->s, &jobs, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(jobs[0].kind, STORE_JOB_PAGE);
    assert_int_equal(jobs[1].kind, STORE_JOB_PAGE);
    assert_int_equal(jobs[2].priority, 5);
    store_jobs_free(jobs, n);
    got_clear(g, 3);
}

static void decide_bad(void *ctx, const struct store_inbound *in, const struct store_sender *state,
                       struct store_decision *out)
{
    (void)ctx;
    (void)in;
    (void)state;
    out->npages = 1; /* and no pages array */
}

static void test_failing_op_alone(void **state)
{
    struct fx *fx = *state;
    struct got setup_got[3] = {0}, gate_got = {0}, g[6] = {0};
    struct store_stats before, after;
    char long_body[STORE_BODY_MAX + 2];
    memset(long_body, 'x', sizeof long_body - 1);
    long_body[sizeof long_body - 1] = '\0';

    /* Two jobs, the first with gateway sid SMdup. */
    submit_text(fx, "SMj1", "+15550000011", "one", &setup_got[0]);
    submit_text(fx, "SMj2", "+15550000012", "two", &setup_got[1]);
    run(fx);
    int64_t j1 = setup_got[0].jobs[0].id, j2 = setup_got[1].jobs[0].id;
    submit_update(fx, j1, STORE_JOB_SENT, "SMdup", T0, &setup_got[2]);
    run(fx);
    assert_int_equal(setup_got[2].outcome, STORE_OK);

    store_get_stats(fx->s, &before);
    struct gate *gate = gate_close(fx, &gate_got);
    submit_text(fx, "SMa", "+15550000021", "fine", &g[0]);
    submit_text(fx, "SMb", "+15550000022", long_body, &g[1]);  /* CHECK(length(body)) */
    submit_update(fx, j2, STORE_JOB_SENT, "SMdup", T0, &g[2]); /* UNIQUE(gateway_sid) */
    struct store_inbound bad = text("SMbad", "+15550000023", "x");
    assert_int_equal(store_submit_inbound(fx->s, &bad, decide_bad, NULL, on_got, &g[3]), 0);
    submit_text(fx, "SMe", "+15550000024", "fine too", &g[4]);
    submit_status(fx, "SMdup", "delivered", 0, &g[5]);
    gate_open(gate);
    run(fx);

    store_get_stats(fx->s, &after);
    assert_int_equal(after.commits - before.commits, 2); /* all six shared one transaction */
    assert_int_equal(after.failed_ops - before.failed_ops, 3);
    assert_int_equal(g[0].outcome, STORE_OK);
    assert_int_equal(g[1].outcome, STORE_ERROR);
    assert_non_null(strstr(g[1].error, "CHECK constraint"));
    assert_null(strstr(g[1].error, "xxxx")); /* no text in errors */
    assert_int_equal(g[1].njobs, 0);
    assert_int_equal(g[2].outcome, STORE_ERROR);
    assert_non_null(strstr(g[2].error, "UNIQUE"));
    assert_int_equal(g[3].outcome, STORE_ERROR);
    assert_non_null(strstr(g[3].error, "invalid decision"));
    assert_int_equal(g[4].outcome, STORE_OK);
    assert_int_equal(g[5].outcome, STORE_OK);
    assert_true(g[5].changed);

    /* Nothing of the failed ones was written: not the text, not the sender, not the sid. */
    struct store_sender sender;
    assert_int_equal(store_get_sender(fx->s, "+15550000022", &sender), 0);
    assert_int_equal(store_get_sender(fx->s, "+15550000023", &sender), 0);
    assert_int_equal(store_get_sender(fx->s, "+15550000024", &sender), 1);
    struct store_job job;
    assert_int_equal(store_get_job(fx->s, j2, &job), 1);
    assert_null(job.gateway_sid);
    assert_int_equal(job.state, STORE_JOB_PENDING);
    store_job_clear(&job);
    assert_int_equal(store_count_inbound(fx->s), 2 + 1 + 2);

    /* So the gateway's retry of the failed text is accepted, not a duplicate. */
    struct got retry = {0};
    submit_text(fx, "SMb", "+15550000022", "short now", &retry);
    run(fx);
    assert_int_equal(retry.outcome, STORE_OK);
    got_clear(setup_got, 3);
    got_clear(g, 6);
    got_clear(&retry, 1);
}

static void test_status_forward_only(void **state)
{
    struct fx *fx = *state;
    struct got made[3] = {0}, up[3] = {0}, g[12] = {0}, u[2] = {0};
    const char *sids[] = {"SM_one", "SM_two", "SM_three"};
    int64_t job[3];

    for (int i = 0; i < 3; i++) {
        char sid[16];
        snprintf(sid, sizeof sid, "SMin%d", i);
        submit_text(fx, sid, TEXTER, "reply", &made[i]);
    }
    run(fx);
    for (int i = 0; i < 3; i++) {
        job[i] = made[i].jobs[0].id;
        submit_update(fx, job[i], STORE_JOB_SENT, sids[i], T0, &up[i]);
    }
    run(fx);
    for (int i = 0; i < 3; i++)
        assert_true(up[i].changed);

    struct {
        const char *sid, *status;
        int code;
        bool matched, changed;
        enum store_job_state after;
    } steps[] = {
        {"SM_one", "delivered", 0, true, true, STORE_JOB_DELIVERED},
        {"SM_one", "sent", 0, true, false, STORE_JOB_DELIVERED}, /* late, out of order */
        {"SM_one", "read", 0, true, true, STORE_JOB_READ},
        {"SM_one", "failed", 30007, true, false, STORE_JOB_READ},
        {"SM_two", "queued", 0, true, false, STORE_JOB_SENT},
        {"SM_two", "sending", 0, true, false, STORE_JOB_SENT},
        {"SM_two", "undelivered", 30003, true, true, STORE_JOB_UNDELIVERED},
        {"SM_two", "delivered", 0, true, false, STORE_JOB_UNDELIVERED},
        {"SM_two", "read", 0, true, false, STORE_JOB_UNDELIVERED},
        {"SM_three", "partially_delivered", 0, true, false, STORE_JOB_SENT},
        {"SM_three", "read", 0, true, true, STORE_JOB_READ},
        {"SM_unknown", "delivered", 0, false, false, STORE_JOB_PENDING},
    };
    for (size_t i = 0; i < 12; i++)
        submit_status(fx, steps[i].sid, steps[i].status, steps[i].code, &g[i]);
    run(fx);
    for (size_t i = 0; i < 12; i++) {
        if (g[i].outcome != STORE_OK || g[i].matched != steps[i].matched ||
            g[i].changed != steps[i].changed || (steps[i].matched && g[i].state != steps[i].after))
            fail_msg("step %zu (%s %s): outcome %d matched %d changed %d state %s", i, steps[i].sid,
                     steps[i].status, g[i].outcome, g[i].matched, g[i].changed,
                     store_job_state_name(g[i].state));
    }

    struct store_job j;
    assert_int_equal(store_get_job(fx->s, job[1], &j), 1);
    assert_int_equal(j.state, STORE_JOB_UNDELIVERED);
    assert_int_equal(j.error_code, 30003);
    assert_string_equal(j.gateway_sid, "SM_two");
    store_job_clear(&j);
    assert_int_equal(store_count_jobs(fx->s, STORE_JOB_READ), 2);
    /* Every callback is recorded, matched or not. */
    assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM status_events"), 12);
    assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM status_events WHERE job_id IS NULL"), 1);

    /* The outbox cannot move a final job back either; an unknown id matches nothing. */
    submit_update(fx, job[0], STORE_JOB_PENDING, NULL, T0, &u[0]);
    submit_update(fx, 987654, STORE_JOB_SENT, NULL, T0, &u[1]);
    run(fx);
    assert_int_equal(u[0].outcome, STORE_OK);
    assert_true(u[0].matched);
    assert_false(u[0].changed);
    assert_int_equal(u[0].state, STORE_JOB_READ);
    assert_int_equal(u[1].outcome, STORE_OK);
    assert_false(u[1].matched);
    got_clear(made, 3);
}

static void test_unfinished_reload(void **state)
{
    struct fx *fx = *state;
    struct convo c = {0};
    struct got made[3] = {0}, up[3] = {0};
    struct store_inbound crisis = text("SMr1", TEXTER, "I want to die");
    crisis.intent = INTENT_CRISIS_SUICIDE;
    assert_int_equal(store_submit_inbound(fx->s, &crisis, decide_convo, &c, on_got, &made[0]), 0);
    submit_text(fx, "SMr2", "+15550000031", "second", &made[1]);
    submit_text(fx, "SMr3", "+15550000032", "third", &made[2]);
    run(fx);
    int64_t reply1 = made[0].jobs[0].id, reply2 = made[1].jobs[0].id;
    int64_t reply3 = made[2].jobs[0].id;
    /* reply1 waits for a retry, reply2 was in flight, reply3 is done. */
    submit_update(fx, reply1, STORE_JOB_PENDING, NULL, T0 + 60000, &up[0]);
    submit_update(fx, reply2, STORE_JOB_SENDING, NULL, T0, &up[1]);
    submit_update(fx, reply3, STORE_JOB_SENT, "SMsent3", T0, &up[2]);
    run(fx);
    assert_int_equal(store_count_jobs(fx->s, STORE_JOB_SENDING), 1);

    reopen(fx);

    assert_int_equal(store_count_jobs(fx->s, STORE_JOB_SENDING), 0);
    struct store_job *jobs;
    size_t n;
    assert_int_equal(store_load_unfinished_jobs(fx->s, &jobs, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(jobs[0].kind, STORE_JOB_PAGE);
    assert_int_equal(jobs[1].kind, STORE_JOB_PAGE);
    assert_int_equal(jobs[2].id, reply1); /* priority 5 before 10 */
    assert_int_equal(jobs[2].next_attempt_at, T0 + 60000);
    assert_int_equal(jobs[2].attempts, 1);
    assert_int_equal(jobs[3].id, reply2);
    assert_int_equal(jobs[3].state, STORE_JOB_PENDING); /* back from 'sending' */
    assert_string_equal(jobs[3].body, "second");
    store_jobs_free(jobs, n);
    got_clear(made, 3);
}

static void on_child_done(const struct store_result *r, void *arg)
{
    (void)arg;
    _exit(r->outcome == STORE_OK && r->njobs == 1 ? 0 : 11); /* the crash, at once */
}

static void test_crash_after_callback(void **state)
{
    struct fx *fx = *state;
    store_close(fx->s); /* the child owns the data dir now */
    fx->s = NULL;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct event_base *base = event_base_new();
        struct store *s = base ? store_open(base, fx->data, NULL, err, sizeof err) : NULL;
        if (!s)
            _exit(10);
        struct store_inbound in = text("SMcrash", TEXTER, "are you open?");
        if (store_submit_inbound(s, &in, decide_reply, "We are open 24/7.", on_child_done, NULL) <
            0)
            _exit(12);
        event_base_dispatch(base);
        _exit(13);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    reopen(fx);
    assert_int_equal(store_count_inbound(fx->s), 1);
    struct store_job *jobs;
    size_t n;
    assert_int_equal(store_load_unfinished_jobs(fx->s, &jobs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].body, "We are open 24/7.");
    assert_string_equal(jobs[0].to, TEXTER);
    store_jobs_free(jobs, n);
}

static void expect_mode(const char *dir, const char *name, mode_t want)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", dir, name);
    if (stat(path, &st) < 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    if ((st.st_mode & 07777) != want)
        fail_msg("%s has mode %o, want %o", path, (unsigned)(st.st_mode & 07777), (unsigned)want);
}

static void test_file_modes(void **state)
{
    struct fx *fx = *state;
    char err[256], data[600];
    struct got g = {0};
    store_close(fx->s);
    fx->s = NULL;

    /* A umask that would strip the owner's own bits: the modes must not depend on it. */
    snprintf(data, sizeof data, "%s/private", fx->tmp);
    mode_t old = umask(0277);
    struct store *s = store_open(fx->base, data, NULL, err, sizeof err);
    umask(old);
    if (!s)
        fail_msg("store_open: %s", err);
    assert_int_equal(store_submit_probe(s, on_got, &g), 0);
    assert_true(event_base_dispatch(fx->base) >= 0);
    assert_int_equal(g.outcome, STORE_OK);
    expect_mode(data, "", 0700);
    expect_mode(data, "/hotline.db", 0600);
    expect_mode(data, "/hotline.db-wal", 0600);
    expect_mode(data, "/hotline.db-shm", 0600);
    expect_mode(data, "/hotline.lock", 0600);
    store_close(s);

    /* A database file someone made readable gets its mode back. */
    char db[700];
    snprintf(db, sizeof db, "%s/hotline.db", data);
    assert_int_equal(chmod(db, 0644), 0);
    s = store_open(fx->base, data, NULL, err, sizeof err);
    assert_non_null(s);
    expect_mode(data, "/hotline.db", 0600);
    store_close(s);
    fx->s = store_open(fx->base, fx->data, NULL, err, sizeof err);
    assert_non_null(fx->s);
}

/* Schema version 1 exactly as it shipped: the fixture for the migration test. */
static const char schema_v1[] =
    "CREATE TABLE inbound (id INTEGER PRIMARY KEY, gateway TEXT NOT NULL, message_sid TEXT"
    " NOT NULL UNIQUE, account_sid TEXT NOT NULL, from_number TEXT NOT NULL, to_number TEXT"
    " NOT NULL, body TEXT NOT NULL, received_at INTEGER NOT NULL, intent TEXT NOT NULL, lang"
    " TEXT NOT NULL CHECK (lang IN ('en', 'es')), confidence REAL NOT NULL, escalation TEXT"
    " NOT NULL CHECK (escalation IN ('none', 'standard', 'urgent')));"
    "CREATE INDEX inbound_from ON inbound (from_number, received_at);"
    "CREATE TABLE senders (number TEXT PRIMARY KEY, opted_out INTEGER NOT NULL DEFAULT 0"
    " CHECK (opted_out IN (0, 1)), opted_out_at INTEGER, lang TEXT NOT NULL DEFAULT 'en'"
    " CHECK (lang IN ('en', 'es')), misses INTEGER NOT NULL DEFAULT 0 CHECK (misses >= 0),"
    " updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('reply',"
    " 'page')), priority INTEGER NOT NULL, inbound_id INTEGER REFERENCES inbound (id),"
    " to_number TEXT NOT NULL, from_number TEXT NOT NULL, body TEXT NOT NULL CHECK"
    " (length(body) BETWEEN 1 AND 1600), state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
    " ('pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'canceled',"
    " 'read')), attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0), next_attempt_at"
    " INTEGER NOT NULL, gateway_sid TEXT, error_code INTEGER, reason TEXT, created_at INTEGER"
    " NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX jobs_gateway_sid ON jobs (gateway_sid) WHERE gateway_sid IS NOT NULL;"
    "CREATE INDEX jobs_inbound ON jobs (inbound_id);"
    "CREATE TABLE status_events (id INTEGER PRIMARY KEY, job_id INTEGER REFERENCES jobs (id),"
    " gateway_sid TEXT NOT NULL, status TEXT NOT NULL, error_code INTEGER, received_at"
    " INTEGER NOT NULL);"
    "CREATE INDEX status_events_job ON status_events (job_id);";

static void make_db(const char *data, int version, bool with_v1)
{
    char db[700], sql[64];
    sqlite3 *c;
    assert_int_equal(mkdir(data, 0700), 0);
    snprintf(db, sizeof db, "%s/hotline.db", data);
    assert_int_equal(sqlite3_open(db, &c), SQLITE_OK);
    if (with_v1) {
        sql_exec(c, schema_v1);
        sql_exec(c, "INSERT INTO inbound VALUES (1, 'twilio', 'SMold', 'AC1', '+15550000041',"
                    " '+19497633440', 'old text', 1, 'greeting', 'en', 0.5, 'none');"
                    "INSERT INTO jobs (kind, priority, inbound_id, to_number, from_number, body,"
                    " next_attempt_at, created_at, updated_at) VALUES ('reply', 10, 1,"
                    " '+15550000041', '+19497633440', 'old reply', 1, 1, 1);"
                    "INSERT INTO senders VALUES ('+15550000041', 1, 7, 'es', 0, 7);");
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    sql_exec(c, sql);
    sqlite3_close(c);
}

static void test_migrate_from_v1(void **state)
{
    struct fx *fx = *state;
    char data[600], db[700], err[256];
    struct got probe = {0}, dup = {0};

    snprintf(data, sizeof data, "%s/v1", fx->tmp);
    snprintf(db, sizeof db, "%s/hotline.db", data);
    make_db(data, 1, true);
    struct store *s = store_open(fx->base, data, NULL, err, sizeof err);
    if (!s)
        fail_msg("store_open: %s", err);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 8);
    /* v7: the audit trail starts with the numbers already opted out; the conversation's
     * memory starts empty. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM opt_events WHERE number = '+15550000041'"
                                 " AND event = 'opt_out' AND at = 7"),
                     1);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM senders WHERE last_text_at = 0 AND"
                                 " last_intent IS NULL AND budget_replies = 0"),
                     1);
    /* v5: the re-page search has an index of its own. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_schema"
                                 " WHERE name = 'escalations_urgent_open'"),
                     1);
    /* v6: the escalation log's lines, in the transactions of their events. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM escalation_log"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_schema"
                                 " WHERE name IN ('heartbeat', 'jobs_unfinished')"),
                     2);
    /* v3: the staff directory and escalations; old jobs have no escalation. */
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_schema"
                                 " WHERE name IN ('staff', 'escalations', 'escalations_active')"),
                     3);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM jobs WHERE escalation_id IS NULL"), 1);

    /* The old rows survive and behave. */
    struct store_job *jobs;
    size_t n;
    assert_int_equal(store_load_unfinished_jobs(s, &jobs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].body, "old reply");
    store_jobs_free(jobs, n);
    struct store_sender sender;
    assert_int_equal(store_get_sender(s, "+15550000041", &sender), 1);
    assert_true(sender.opted_out);
    assert_int_equal(sender.lang, LANG_ES);
    struct store_inbound in = text("SMold", "+15550000041", "again");
    assert_int_equal(store_submit_inbound(s, &in, decide_reply, "x", on_got, &dup), 0);
    assert_int_equal(store_submit_probe(s, on_got, &probe), 0); /* v2's heartbeat table */
    assert_true(event_base_dispatch(fx->base) >= 0);
    assert_int_equal(dup.outcome, STORE_DUPLICATE);
    assert_int_equal(probe.outcome, STORE_OK);
    store_close(s);

    /* A database from a newer hotline is refused, not touched. */
    snprintf(data, sizeof data, "%s/v99", fx->tmp);
    snprintf(db, sizeof db, "%s/hotline.db", data);
    make_db(data, 99, false);
    assert_null(store_open(fx->base, data, NULL, err, sizeof err));
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 99);
}

struct close_ctx {
    struct store *s;
    int calls;
    int ok;
    int resubmit;
};

static void on_closing(const struct store_result *r, void *arg)
{
    struct close_ctx *c = arg;
    c->calls++;
    c->ok += r->outcome == STORE_OK;
    c->resubmit = store_submit_probe(c->s, NULL, NULL);
}

static void test_close_commits_and_delivers(void **state)
{
    struct fx *fx = *state;
    struct close_ctx c = {.s = fx->s, .resubmit = 0};
    char sid[32];
    for (int i = 0; i < 5; i++) {
        snprintf(sid, sizeof sid, "SMclose%d", i);
        struct store_inbound in = text(sid, TEXTER, "bye");
        assert_int_equal(store_submit_inbound(fx->s, &in, decide_reply, "reply", on_closing, &c),
                         0);
    }
    /* No loop run: store_close commits them and runs their callbacks itself. */
    store_close(fx->s);
    fx->s = NULL;
    assert_int_equal(c.calls, 5);
    assert_int_equal(c.ok, 5);
    assert_int_equal(c.resubmit, -1); /* closing: refused */
    reopen(fx);
    assert_int_equal(store_count_inbound(fx->s), 5);
    assert_int_equal(store_count_jobs(fx->s, STORE_JOB_PENDING), 5);
}

static void test_senders_probe_and_refusals(void **state)
{
    struct fx *fx = *state;
    struct got g[4] = {0};
    char err[256];

    assert_true(store_healthy(fx->s));
    assert_int_equal(store_submit_probe(fx->s, on_got, &g[0]), 0);
    run(fx);
    assert_int_equal(g[0].outcome, STORE_OK);
    assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM heartbeat"), 1);

    /* 21610 from the gateway: opted out, the rest of the state kept. */
    struct store_sender v = {.opted_out = true, .lang = LANG_ES, .misses = 4};
    const char *num = "+15550000051";
    assert_int_equal(
        store_submit_sender_update(fx->s, num, STORE_SET_OPTED_OUT, &v, NULL, on_got, &g[1]), 0);
    assert_int_equal(
        store_submit_sender_update(fx->s, num, STORE_SET_LANG, &v, NULL, on_got, &g[2]), 0);
    v.opted_out = false;
    run(fx);
    assert_true(g[1].sender.opted_out);
    assert_true(g[1].sender.opted_out_at > 0);
    assert_int_equal(g[1].sender.lang, LANG_EN);
    assert_true(g[2].sender.opted_out);
    assert_int_equal(g[2].sender.lang, LANG_ES);
    assert_int_equal(g[2].sender.misses, 0);
    assert_int_equal(
        store_submit_sender_update(fx->s, num, STORE_SET_OPTED_OUT, &v, NULL, on_got, &g[3]), 0);
    run(fx);
    struct store_sender got;
    assert_int_equal(store_get_sender(fx->s, num, &got), 1);
    assert_false(got.opted_out);
    assert_int_equal(got.opted_out_at, 0);
    assert_int_equal(got.lang, LANG_ES);

    /* Refused submissions never call back. */
    struct got never = {0};
    struct store_inbound in = text(NULL, TEXTER, "x");
    assert_int_equal(store_submit_inbound(fx->s, &in, decide_reply, NULL, on_got, &never), -1);
    in = text("SMx", TEXTER, "x");
    assert_int_equal(store_submit_inbound(fx->s, &in, NULL, NULL, on_got, &never), -1);
    v.lang = (enum lang)7;
    assert_int_equal(
        store_submit_sender_update(fx->s, num, STORE_SET_LANG, &v, NULL, on_got, &never), -1);
    assert_int_equal(store_submit_sender_update(fx->s, num, 0x80, &v, NULL, on_got, &never), -1);
    run(fx);
    assert_int_equal(never.calls, 0);

    /* One process per data dir. */
    assert_null(store_open(fx->base, fx->data, NULL, err, sizeof err));
    assert_non_null(strstr(err, "in use"));
    assert_true(store_healthy(fx->s));
}

/* ---- escalations (escalation.h) inside the store's transactions ---- */

/* ctx is the escalation level (as an intptr_t) the decision carries. */
static void decide_level(void *ctx, const struct store_inbound *in,
                         const struct store_sender *state, struct store_decision *out)
{
    (void)in;
    (void)state;
    out->escalation = (enum escalation)(intptr_t)ctx;
    out->reply = "a reply";
}

static void submit_level(struct fx *fx, const char *sid, const char *from, const char *body,
                         enum intent intent, enum escalation level, struct got *g)
{
    struct store_inbound in = text(sid, from, body);
    in.intent = intent;
    assert_int_equal(
        store_submit_inbound(fx->s, &in, decide_level, (void *)(intptr_t)level, on_got, g), 0);
}

static int count_in_log_now(struct fx *fx, const char *needle)
{
    char path[700];
    snprintf(path, sizeof path, "%s/escalations.jsonl", fx->data);
    char *t = tu_read_file(path, NULL);
    int n = 0;
    for (const char *p = t; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    free(t);
    return n;
}

/* How many lines contain needle, once the exporter (the checkpointer thread, every
 * 200 ms) has had the time to write want of them: waits up to 5 s for want. */
static int count_in_log(struct fx *fx, const char *needle, int want)
{
    int n = count_in_log_now(fx, needle);
    for (int i = 0; i < 250 && n != want; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
        n = count_in_log_now(fx, needle);
    }
    return n;
}

static void test_escalations_in_the_transaction(void **state)
{
    struct fx *fx = *state;
    char err[256], token[STAFF_TOKEN_SIZE];
    sqlite3 *db = store_open_direct(fx->data, err, sizeof err); /* while the store is open */
    if (!db)
        fail_msg("store_open_direct: %s", err);
    assert_int_equal(staff_add(db, "alice", "+15550009001", true, token, err, sizeof err), 0);
    assert_int_equal(staff_add(db, "bob", "+15550009002", false, token, err, sizeof err), 0);
    char old[STAFF_TOKEN_SIZE], spare[STAFF_TOKEN_SIZE];
    memcpy(old, token, sizeof old);
    assert_int_equal(staff_add(db, "bob", "+15550009003", false, spare, err, sizeof err), -1);
    assert_int_equal(staff_add(db, "bad name", "+15550009004", false, spare, err, sizeof err), -1);
    struct staff_member m;
    assert_int_equal(staff_by_token(db, old, &m), 1);
    assert_string_equal(m.name, "bob");
    assert_int_equal(staff_new_token(db, "bob", token, err, sizeof err), 0);
    assert_int_equal(staff_by_token(db, old, &m), 0);
    assert_int_equal(staff_by_token(db, token, &m), 1);
    assert_int_equal(store_count_on_call(fx->s), 1);

    /* An urgent text opens an escalation and pages alice (on call), not bob. */
    struct got g[6] = {0};
    submit_level(fx, "SM1", TEXTER, "words", INTENT_CRISIS_SUICIDE, ESCALATE_URGENT, &g[0]);
    run(fx);
    assert_int_equal(g[0].outcome, STORE_OK);
    assert_int_equal(g[0].njobs, 2);
    assert_int_equal(g[0].jobs[0].kind, STORE_JOB_REPLY);
    assert_int_equal(g[0].jobs[1].kind, STORE_JOB_PAGE);
    assert_int_equal(g[0].jobs[1].priority, STORE_PRIORITY_PAGE);
    assert_string_equal(g[0].jobs[1].to, "+15550009001");
    assert_string_equal(g[0].jobs[1].from, HOTLINE);
    assert_non_null(strstr(g[0].jobs[1].body, "suicide risk"));
    assert_null(strstr(g[0].jobs[1].body, "words"));
    int64_t id = g[0].escalation_id;
    assert_true(id > 0);
    assert_int_equal(count_in_log(fx, "\"event\":\"opened\"", 1), 1);
    assert_int_equal(count_in_log(fx, "\"event\":\"paged\"", 1), 1);

    /* A further text joins; a staff phone's "ACK n" acknowledges and is answered. */
    submit_level(fx, "SM2", TEXTER, "more", INTENT_GREETING, ESCALATE_NONE, &g[1]);
    char ack[32];
    snprintf(ack, sizeof ack, "ack %lld", (long long)id);
    submit_level(fx, "SM3", "+15550009002", ack, INTENT_FALLBACK, ESCALATE_URGENT, &g[2]);
    run(fx);
    assert_int_equal(g[1].escalation_id, id);
    assert_int_equal(g[1].njobs, 1);
    assert_true(g[2].staff_command);
    assert_int_equal(g[2].escalation, ESCALATE_NONE);
    assert_int_equal(g[2].njobs, 1);
    assert_int_equal(g[2].jobs[0].kind, STORE_JOB_PAGE);
    char want[32];
    snprintf(want, sizeof want, "ACK %lld ok", (long long)id);
    assert_string_equal(g[2].jobs[0].body, want);
    assert_int_equal(count_in_log(fx, "\"event\":\"joined\"", 1), 1);
    assert_int_equal(count_in_log(fx, "\"event\":\"acknowledged\"", 1), 1);
    assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM senders WHERE number = '+15550009002'"),
                     0);

    /* Re-paging: nothing due for an acknowledged escalation; a new urgent one is due. */
    assert_int_equal(store_submit_repage(fx->s, 0, on_got, &g[3]), 0);
    run(fx);
    assert_int_equal(g[3].outcome, STORE_OK);
    assert_int_equal(g[3].njobs, 0);
    submit_level(fx, "SM4", "+15550001234", "x", INTENT_CRISIS_OVERDOSE, ESCALATE_URGENT, &g[4]);
    run(fx);
    assert_int_equal(store_submit_repage(fx->s, 0, on_got, &g[5]), 0);
    run(fx);
    assert_int_equal(g[5].njobs, 1);
    assert_non_null(strstr(g[5].jobs[0].body, "page 2"));
    assert_int_equal(count_in_log(fx, "\"event\":\"re-paged\"", 1), 1);

    assert_int_equal(staff_remove(db, "bob", err, sizeof err), 0);
    assert_int_equal(staff_remove(db, "bob", err, sizeof err), -1);
    sqlite3_close(db);
    got_clear(g, 6);

    int64_t v;
    assert_int_equal(escalation_parse_ack(" ACK  #17 ", &v), 1);
    assert_int_equal(v, 17);
    assert_int_equal(escalation_parse_ack("ack17", &v), 0);
    assert_int_equal(escalation_parse_ack("ACK 17 please", &v), 0);
    assert_int_equal(escalation_parse_ack("hello", &v), 0);
}

/* ---- the escalation log after a crash ---- */

static int child_left;

static void on_child_event(const struct store_result *r, void *arg)
{
    bool crash = arg != NULL;
    if (r->outcome != STORE_OK)
        _exit(11);
    if (--child_left == 0 && crash)
        _exit(0); /* the crash, at once: the exporter has not run */
}

/* The child: two texts exported (it waits past the exporter's tick), then two more
 * committed and a crash before the exporter's next tick. */
static void crash_child(const char *data)
{
    char err[256];
    struct event_base *base = event_base_new();
    struct store *s = base ? store_open(base, data, NULL, err, sizeof err) : NULL;
    if (!s)
        _exit(10);
    static const char *const texters[] = {"+15550002001", "+15550002002", "+15550002003",
                                          "+15550002004"};
    for (int round = 0; round < 2; round++) {
        child_left = 2;
        for (int k = 0; k < 2; k++) {
            char sid[16];
            snprintf(sid, sizeof sid, "SMlog%d", round * 2 + k);
            struct store_inbound in = text(sid, texters[round * 2 + k], "words");
            in.intent = INTENT_CRISIS_SUICIDE;
            if (store_submit_inbound(s, &in, decide_level, (void *)(intptr_t)ESCALATE_URGENT,
                                     on_child_event, round ? (void *)1 : NULL) < 0)
                _exit(12);
        }
        event_base_dispatch(base);
        if (round == 0) {
            struct timespec ts = {0, 700 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    _exit(13);
}

/* The log's lines must be seq 1..n, each once, in order; returns n. */
static int check_log_seqs(struct fx *fx)
{
    char path[700];
    snprintf(path, sizeof path, "%s/escalations.jsonl", fx->data);
    size_t len = 0;
    char *t = tu_read_file(path, &len);
    assert_non_null(t);
    assert_true(len > 0 && t[len - 1] == '\n');
    int n = 0;
    for (char *p = t; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        long long seq = -1;
        assert_int_equal(sscanf(p, "{\"seq\":%lld,", &seq), 1);
        assert_int_equal(seq, ++n);
        p = nl + 1;
    }
    free(t);
    return n;
}

static void test_escalation_log_after_crash(void **state)
{
    struct fx *fx = *state;
    store_close(fx->s); /* the child owns the data dir now */
    fx->s = NULL;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(fx->data);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The first two were exported before the crash, the last two (almost always) not. */
    int before = check_log_seqs(fx);
    assert_true(before >= 2);
    assert_int_equal(count_in_log_now(fx, "\"event\":\"opened\""), before);
    /* And a torn line, as a power cut in the middle of a write would leave. */
    char path[700];
    snprintf(path, sizeof path, "%s/escalations.jsonl", fx->data);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "{\"seq\":%d,\"time\":\"20", before + 1);
    fclose(f);

    /* The restart exports every committed event the file lacks, once, in order. */
    reopen(fx);
    assert_int_equal(count_in_log_now(fx, "\"event\":\"opened\""), 4);
    assert_int_equal(check_log_seqs(fx), 4);
    for (int k = 1; k <= 4; k++) {
        char texter[40];
        snprintf(texter, sizeof texter, "\"texter\":\"+1555000200%d\"", k);
        assert_int_equal(count_in_log_now(fx, texter), 1);
    }
    /* Another restart, and a new event: still no line twice. */
    reopen(fx);
    struct got g = {0};
    submit_level(fx, "SMlog9", "+15550002009", "words", INTENT_CRISIS_SUICIDE, ESCALATE_URGENT, &g);
    run(fx);
    assert_int_equal(g.outcome, STORE_OK);
    assert_int_equal(count_in_log(fx, "\"texter\":\"+15550002009\"", 1), 1);
    got_clear(&g, 1);
    reopen(fx);
    assert_int_equal(check_log_seqs(fx), 5);
}

/* Part 2: holding, relays, staff replies by SMS and by the API, close hands back, views
 * logged, the API's token check, the handoff of jobs from another process. */
static void test_hold_relay_reply_close(void **state)
{
    struct fx *fx = *state;
    char err[256], token[STAFF_TOKEN_SIZE], bob_token[STAFF_TOKEN_SIZE];
    sqlite3 *db = store_open_direct(fx->data, err, sizeof err);
    if (!db)
        fail_msg("store_open_direct: %s", err);
    assert_int_equal(staff_add(db, "alice", "+15550009001", true, token, err, sizeof err), 0);
    assert_int_equal(staff_add(db, "bob", "+15550009002", false, bob_token, err, sizeof err), 0);

    struct got g[12] = {0};
    submit_level(fx, "SM1", TEXTER, "words", INTENT_CRISIS_SUICIDE, ESCALATE_URGENT, &g[0]);
    run(fx);
    int64_t id = g[0].escalation_id;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "ACK %lld", (long long)id);
    submit_level(fx, "SM2", "+15550009001", cmd, INTENT_FALLBACK, ESCALATE_NONE, &g[1]);
    /* Held by alice: the next text is relayed to her phone, with no auto-reply. */
    submit_level(fx, "SM3", TEXTER, "are you there", INTENT_GREETING, ESCALATE_NONE, &g[2]);
    run(fx);
    assert_int_equal(g[2].outcome, STORE_OK);
    assert_int_equal(g[2].njobs, 1);
    assert_int_equal(g[2].jobs[0].kind, STORE_JOB_PAGE);
    assert_string_equal(g[2].jobs[0].to, "+15550009001");
    char want[128];
    snprintf(want, sizeof want, "#%lld " TEXTER ": are you there", (long long)id);
    assert_string_equal(g[2].jobs[0].body, want);
    assert_int_equal(count_in_log(fx, "\"event\":\"relayed\"", 1), 1);
    assert_int_equal(count_in_log(fx, "are you there", 0), 0);
    /* HELP still gets its answer while held (and is relayed). */
    submit_level(fx, "SM4", TEXTER, "HELP", INTENT_HELP_KEYWORD, ESCALATE_NONE, &g[3]);
    run(fx);
    assert_int_equal(g[3].njobs, 2);
    assert_int_equal(g[3].jobs[0].kind, STORE_JOB_REPLY);

    /* "R n text" from a staff phone: exactly that text to the texter, from the line. */
    snprintf(cmd, sizeof cmd, "r %lld  We are here. Call 988 now?", (long long)id);
    submit_level(fx, "SM5", "+15550009001", cmd, INTENT_FALLBACK, ESCALATE_NONE, &g[4]);
    run(fx);
    assert_true(g[4].staff_command);
    assert_int_equal(g[4].njobs, 1);
    assert_int_equal(g[4].jobs[0].kind, STORE_JOB_REPLY);
    assert_int_equal(g[4].jobs[0].priority, ESCALATION_PRIORITY_STAFF_REPLY);
    assert_string_equal(g[4].jobs[0].to, TEXTER);
    assert_string_equal(g[4].jobs[0].from, HOTLINE);
    assert_string_equal(g[4].jobs[0].body, " We are here. Call 988 now?");
    assert_int_equal(count_in_log(fx, "\"event\":\"replied\"", 1), 1);

    /* The API: no token, a wrong one, then bob's; the list, a view, a reply. */
    struct store_staff_request r = {.action = STORE_STAFF_LIST};
    assert_int_equal(store_submit_staff(fx->s, &r, on_got, &g[5]), 0);
    r.token = "hlt_0000000000000000000000000000000000000000";
    assert_int_equal(store_submit_staff(fx->s, &r, on_got, &g[6]), 0);
    r.token = bob_token;
    assert_int_equal(store_submit_staff(fx->s, &r, on_got, &g[7]), 0);
    struct store_staff_request show = {.action = STORE_STAFF_SHOW, .token = bob_token, .id = id};
    assert_int_equal(store_submit_staff(fx->s, &show, on_got, &g[8]), 0);
    struct store_staff_request reply = {
        .action = STORE_STAFF_REPLY, .token = bob_token, .id = id, .text = "bob here"};
    assert_int_equal(store_submit_staff(fx->s, &reply, on_got, &g[9]), 0);
    run(fx);
    assert_int_equal(g[5].http_status, 401);
    assert_int_equal(g[6].http_status, 401);
    assert_int_equal(g[7].http_status, 200);
    assert_string_equal(g[7].staff, "bob");
    assert_non_null(strstr(g[7].body, "\"state\":\"acknowledged\""));
    assert_int_equal(g[8].http_status, 200);
    assert_non_null(strstr(g[8].body, "are you there"));
    assert_int_equal(count_in_log(fx, "\"event\":\"viewed\"", 1), 1);
    assert_int_equal(count_in_log(fx, "\"staff\":\"bob\",\"via\":\"api\"", 2), 2);
    assert_int_equal(g[9].http_status, 200);
    assert_int_equal(g[9].njobs, 1);
    assert_string_equal(g[9].jobs[0].body, "bob here");
    got_clear(g, 12);
    memset(g, 0, sizeof g);

    /* CLOSE by SMS hands the texter back: the next text is auto-answered again. */
    snprintf(cmd, sizeof cmd, "close #%lld", (long long)id);
    submit_level(fx, "SM6", "+15550009001", cmd, INTENT_FALLBACK, ESCALATE_NONE, &g[0]);
    submit_level(fx, "SM7", TEXTER, "thanks", INTENT_THANKS, ESCALATE_NONE, &g[1]);
    run(fx);
    snprintf(want, sizeof want, "CLOSE %lld ok", (long long)id);
    assert_string_equal(g[0].jobs[0].body, want);
    assert_int_equal(g[1].njobs, 1);
    assert_int_equal(g[1].jobs[0].kind, STORE_JOB_REPLY);
    assert_string_equal(g[1].jobs[0].body, "a reply");
    assert_int_equal(count_in_log(fx, "\"event\":\"closed\"", 1), 1);
    /* A reply to a closed escalation is refused. */
    submit_level(fx, "SM8", "+15550009002", "R 1 hello", INTENT_FALLBACK, ESCALATE_NONE, &g[2]);
    run(fx);
    assert_int_equal(g[2].njobs, 1);
    assert_non_null(strstr(g[2].jobs[0].body, "no open escalation"));

    /* A job another process handed over comes back with the next re-page round. */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO jobs (kind, priority, to_number, from_number, body,"
                                  " next_attempt_at, created_at, updated_at) VALUES ('reply', 1,"
                                  " '" TEXTER "', '" HOTLINE "', 'from the cli', 1, 1, 1);"
                                  "INSERT INTO job_handoff (job_id) VALUES (last_insert_rowid())",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(store_submit_repage(fx->s, 1000000, on_got, &g[3]), 0);
    assert_int_equal(store_submit_probe(fx->s, on_got, &g[4]), 0);
    run(fx);
    assert_int_equal(g[3].njobs, 1);
    assert_string_equal(g[3].jobs[0].body, "from the cli");
    assert_int_equal(sql_int(fx->db, "SELECT count(*) FROM job_handoff"), 0);
    assert_int_equal(g[4].on_call, 1);
    got_clear(g, 12);
    sqlite3_close(db);

    int64_t v;
    const char *msg = NULL;
    assert_int_equal(escalation_parse_command("R 17 hi there", &v, &msg), ESCALATION_CMD_REPLY);
    assert_int_equal(v, 17);
    assert_string_equal(msg, "hi there");
    assert_int_equal(escalation_parse_command("R17 hi", &v, &msg), ESCALATION_CMD_NONE);
    assert_int_equal(escalation_parse_command("R 17", &v, &msg), ESCALATION_CMD_NONE);
    assert_int_equal(escalation_parse_command(" Close 3. ", &v, &msg), ESCALATION_CMD_CLOSE);
    assert_int_equal(escalation_parse_command("really?", &v, &msg), ESCALATION_CMD_NONE);
}

int main(void)
{
    alarm(120); /* a hung writer fails the run instead of stalling it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accept_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_off_the_commit_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_lands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_op_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_forward_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_commits_and_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senders_probe_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalations_in_the_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_log_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_relay_reply_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
