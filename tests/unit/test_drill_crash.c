/*
 * test_drill_crash: the crash drill (issue 7, "Faults"). A sender thread sends signed
 * webhooks steadily (FAQ, urgent, STOP and START texts, each from a texter of its own)
 * and, as a gateway does, retries each one until it gets a 2xx, while the main thread
 * SIGKILLs the real `hotline serve` at random moments (some during its start-up, the rest
 * while it serves) and restarts it on the same data folder. At the end:
 *
 *   - every text was acknowledged, and every acknowledged text is in the store with
 *     exactly one reply job;
 *   - the mock gateway received at least one reply for every text, and every urgent text
 *     has its escalation and one page per on-call staff phone;
 *   - a reply or page received twice is a duplicate. hotline is at-least-once at one
 *     point: a send in flight, or accepted by the gateway but not yet recorded 'sent',
 *     when the process dies is sent again at the next start. The test counts them and
 *     FAILS on any duplicate that no kill explains (both copies sent by the same process
 *     life) and on any text without its reply or page.
 *
 * Sizes (environment; drills/crash.sh runs the full drill):
 *   DRILL_KILLS (4), DRILL_RATE texts/s (60), DRILL_UP_MS longest life before a kill (800).
 * Prints one "DRILL crash ..." line with the figures; DRILL_VERBOSE=1 adds a line per
 * duplicate, with how long before the kill its first copy reached the gateway.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "drill.h"

#define MAX_TEXTS 200000
#define MAX_KILLS 1000
#define KILL_SLACK_MS 50 /* a restart takes longer: see kill_between */

enum kind { FAQ, URGENT, STOP, START };

struct text {
    char sid[35];
    char from[16];
    const char *body;
    enum kind kind;
    long tries;
};

static const char *const faq_bodies[] = {"do you take insurance?", "what are your visiting hours",
                                         "how much does detox cost"};
static const char *const urgent_bodies[] = {"my friend took too much and is not breathing",
                                            "i want to kill myself tonight"};

struct run {
    struct fx *fx;
    struct text *texts;
    atomic_size_t sent; /* texts acknowledged, in order */
    atomic_bool stop;
    long rate;
    int64_t kills[MAX_KILLS];
    int nkills;
    long non2xx; /* answers other than 2xx (not counting no answer) */
    long noanswer;
};

static void text_init(struct text *t, size_t i)
{
    message_sid(t->sid, (unsigned)i + 1);
    snprintf(t->from, sizeof t->from, "+1556%07zu", i);
    switch (i % 10) {
    case 6:
    case 7:
        t->kind = URGENT;
        t->body = urgent_bodies[i % 2];
        break;
    case 8:
        t->kind = STOP;
        t->body = "STOP";
        break;
    case 9:
        t->kind = START;
        t->body = "START";
        break;
    default:
        t->kind = FAQ;
        t->body = faq_bodies[i % 3];
    }
}

/* The gateway: each text in turn, at the rate, retried every 10 ms until a 2xx. */
static void *sender(void *arg)
{
    struct run *r = arg;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    int64_t t0 = now_ms();
    for (size_t i = 0; i < MAX_TEXTS && !atomic_load(&r->stop); i++) {
        int64_t due = t0 + (int64_t)(i * 1000 / (size_t)r->rate);
        int64_t now = now_ms();
        if (due > now)
            sleep_ms((long)(due - now));
        struct text *t = &r->texts[i];
        text_init(t, i);
        for (;;) {
            t->tries++;
            long st = drill_post_text(r->fx, c, t->sid, t->from, t->body, 5000);
            if (st >= 200 && st < 300)
                break;
            if (st)
                r->non2xx++;
            else
                r->noanswer++;
            sleep_ms(10);
        }
        atomic_store(&r->sent, i + 1);
    }
    curl_easy_cleanup(c);
    return NULL;
}

/* Whether a kill happened between two arrivals at the mock. The first may arrive a little
 * after the kill: a request already in the socket when its sender died is still read. */
static bool kill_between(const struct run *r, int64_t a, int64_t b)
{
    for (int k = 0; k < r->nkills; k++)
        if (r->kills[k] >= a - KILL_SLACK_MS && r->kills[k] <= b)
            return true;
    return false;
}

static bool is_staff(const char *to)
{
    return strcmp(to, ALICE) == 0 || strcmp(to, BOB) == 0;
}

static const char *staff_or_texter(const char *to)
{
    return is_staff(to) ? "page" : "reply";
}

static void test_crash_drill(void **state)
{
    struct run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->fx = *state;
    r->texts = calloc(MAX_TEXTS, sizeof *r->texts);
    assert_non_null(r->texts);
    long kills = drill_env_int("DRILL_KILLS", 4);
    long up_ms = drill_env_int("DRILL_UP_MS", 800);
    r->rate = drill_env_int("DRILL_RATE", 60);
    assert_true(kills >= 1 && kills <= MAX_KILLS && r->rate >= 1 && up_ms >= 50);
    cli_ok(r->fx, "staff add alice --phone " ALICE " --on-call");
    cli_ok(r->fx, "staff add bob --phone " BOB " --on-call");
    srand((unsigned)now_ms());

    start(r->fx);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sender, r), 0);
    int early = 0;
    for (long k = 0; k < kills; k++) {
        if (k % 4 == 3) {
            /* During the start-up: store_open's recovery, the resume of unfinished jobs. */
            sleep_ms(rand() % 150);
            early++;
        } else {
            wait_listening(r->fx);
            sleep_ms(50 + rand() % (up_ms - 49));
        }
        r->kills[r->nkills++] = now_ms();
        kill9(r->fx);
        spawn(r->fx);
    }
    wait_listening(r->fx);
    sleep_ms(1000); /* a last stretch of normal service */
    atomic_store(&r->stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    size_t n = atomic_load(&r->sent);

    /* Everything the outbox owes is sent, then a clean stop. */
    wait_db_for(r->fx, "SELECT count(*) FROM jobs WHERE state IN ('pending', 'sending')", 0, 60000);
    sleep_ms(200); /* the last job updates' commits */
    int rc = stop(r->fx);
    assert_int_equal(rc, 0);

    /* ---- the store: every acknowledged text, one reply job each ---- */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(r->fx->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM jobs j WHERE j.inbound_id "
                                        "= i.id AND j.kind = 'reply'), i.escalation, "
                                        "(SELECT count(*) FROM escalations e WHERE e.texter = "
                                        "i.from_number AND e.level = 'urgent') "
                                        "FROM inbound i WHERE i.message_sid = ?1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    size_t stored = 0, one_reply_job = 0, urgent = 0, escalated = 0;
    long retried_texts = 0;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(q, 1, r->texts[i].sid, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW) {
            stored++;
            one_reply_job += sqlite3_column_int(q, 0) == 1;
            if (r->texts[i].kind == URGENT) {
                urgent++;
                escalated += strcmp((const char *)sqlite3_column_text(q, 1), "urgent") == 0 &&
                             sqlite3_column_int(q, 2) == 1;
            }
        }
        sqlite3_reset(q);
        retried_texts += r->texts[i].tries > 1;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    int64_t jobs_not_sent = db_int(r->fx, "SELECT count(*) FROM jobs WHERE state != 'sent'");
    int64_t page_jobs = db_int(r->fx, "SELECT count(*) FROM jobs WHERE kind = 'page'");

    /* ---- the mock: one reply per texter, one page per (escalation, staff phone) ---- */
    size_t ns = 0;
    struct drill_send *s = drill_sends(r->fx, &ns);
    drill_sends_sort(s, ns);
    size_t reply_msgs = 0, page_msgs = 0, reply_dups = 0, page_dups = 0, unexplained = 0;
    size_t texters_with_two_bodies = 0;
    int64_t worst_gap = 0; /* longest time from a duplicate's first copy to the kill after it */
    const char *last_to = "";
    for (size_t i = 0; i < ns;) {
        if (s[i].status < 200 || s[i].status > 299) {
            i++;
            continue;
        }
        /* One message: its accepted copies (same To and Body). */
        size_t j = i + 1, copies = 1;
        int64_t prev = s[i].ms;
        for (; j < ns && strcmp(s[j].to, s[i].to) == 0 && strcmp(s[j].body, s[i].body) == 0; j++) {
            if (s[j].status < 200 || s[j].status > 299)
                continue;
            copies++;
            if (!kill_between(r, prev, s[j].ms)) {
                unexplained++;
            } else {
                /* How long before the kill that caused it the first copy was accepted. */
                int64_t gap = INT64_MAX;
                for (int k = 0; k < r->nkills; k++)
                    if (r->kills[k] >= prev - KILL_SLACK_MS && r->kills[k] - prev < gap)
                        gap = r->kills[k] - prev;
                if (gap > worst_gap)
                    worst_gap = gap;
                if (getenv("DRILL_VERBOSE"))
                    printf("duplicate: %s copy %zu, %lld ms before the kill\n",
                           staff_or_texter(s[i].to), copies, (long long)gap);
            }
            prev = s[j].ms;
        }
        bool staff = is_staff(s[i].to);
        if (staff) {
            page_msgs++;
            page_dups += copies - 1;
        } else {
            texters_with_two_bodies += strcmp(last_to, s[i].to) == 0;
            reply_msgs++;
            reply_dups += copies - 1;
        }
        last_to = s[i].to;
        i = j;
    }
    drill_sends_free(s, ns);

    printf("DRILL crash kills=%d early_kills=%d texts=%zu acknowledged=%zu stored=%zu "
           "one_reply_job=%zu retried_webhooks=%ld non2xx=%ld no_answer=%ld replies=%zu "
           "reply_duplicates=%zu urgent=%zu escalated=%zu page_jobs=%lld pages=%zu "
           "page_duplicates=%zu unexplained_duplicates=%zu dup_window_max_ms=%lld "
           "jobs_not_sent=%lld\n",
           r->nkills, early, n, n, stored, one_reply_job, retried_texts, r->non2xx, r->noanswer,
           reply_msgs, reply_dups, urgent, escalated, (long long)page_jobs, page_msgs, page_dups,
           unexplained, (long long)worst_gap, (long long)jobs_not_sent);
    fflush(stdout);

    assert_true(n > 0);
    assert_int_equal(stored, n);
    assert_int_equal(one_reply_job, n);
    assert_int_equal(escalated, urgent);
    assert_int_equal(page_jobs, (int64_t)urgent * 2);
    assert_int_equal(jobs_not_sent, 0);
    assert_int_equal(reply_msgs, n);              /* every texter got its reply ... */
    assert_int_equal(texters_with_two_bodies, 0); /* ... and never a second, different one */
    assert_int_equal(page_msgs, urgent * 2);      /* every page reached both phones */
    assert_int_equal(unexplained, 0);             /* no duplicate within one process life */
    /* The escalation log has each urgent escalation's "opened" line, once. */
    char path[700];
    snprintf(path, sizeof path, "%s/escalations.jsonl", r->fx->data);
    char *log = tu_read_file(path, NULL);
    size_t opened = 0;
    for (const char *p = log; p && (p = strstr(p, "\"event\":\"opened\"")); p++)
        opened++;
    free(log);
    assert_int_equal(opened, urgent);

    free(r->texts);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_drill, drill_setup, drill_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
