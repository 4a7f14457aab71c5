/*
 * test_conversations: the conversation rules (conversation.h) through the real service,
 * its store and the mock gateway: STOP in its forms and its traps, the one confirmation,
 * silence after it (a staff reply, a restart), an opted-out texter's urgent text reaching
 * staff but no SMS to them, START, HELP while opted out, 21610 in the audit trail,
 * Spanish that sticks, the menu, the repeat pointer, the reply budget, the keyword mode
 * "gateway", and the loop guard against an echo bot played by this test over loopback.
 *
 * What reached the texter is read at the mock (requests answered 2xx to their number);
 * what was decided, from the store.
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "hotline/replies.h"
#include "service_fixture.h"

#define BOT "+15550003333"
#define URGENT_TEXT "my friend took too much and is not breathing"

/* Sends text from `from` (signed) and expects the 200. */
static void text(struct fx *fx, const char *from, const char *body)
{
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    post_text_ok(fx, sid, from, body);
}

/* Waits until the store has n inbound texts: every decision before it has committed. */
static void wait_inbound(struct fx *fx, int64_t n)
{
    wait_db(fx, "SELECT count(*) FROM inbound", n);
}

/* Bodies the mock answered 2xx for `to`, in arrival order; returns how many, filling
 * out (up to cap, each to free) when out is not NULL. */
static size_t sent_to(struct fx *fx, const char *to, char **out, size_t cap)
{
    size_t n = 0, total = mock_gateway_count(fx->mg);
    for (size_t i = 0; i < total; i++) {
        struct mock_request r;
        assert_int_equal(mock_gateway_request(fx->mg, i, &r), 0);
        char *f_to = mock_request_form(&r, "To");
        bool ok =
            f_to && strcmp(f_to, to) == 0 && r.response_status >= 200 && r.response_status < 300;
        if (ok && out && n < cap)
            out[n] = mock_request_form(&r, "Body");
        n += ok;
        free(f_to);
        mock_request_clear(&r);
    }
    return n;
}

/* Every job of the store has reached a final state (nothing pending or in flight). */
static void wait_settled(struct fx *fx)
{
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state IN ('pending', 'sending')", 0);
}

static const char *answer(enum intent intent, enum lang lang)
{
    return g_replies->intents[intent].answer[lang];
}

static void assert_bodies(char **got, size_t n, const char *const *want, size_t nwant)
{
    if (n != nwant) {
        for (size_t i = 0; i < n; i++)
            print_message("sent %zu: %s\n", i, got[i]);
        fail_msg("%zu texts sent, expected %zu", n, nwant);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(got[i], want[i]) != 0)
            fail_msg("text %zu is \"%s\", expected \"%s\"", i, got[i], want[i]);
}

static void free_all(char **v, size_t n)
{
    for (size_t i = 0; i < n && i < 32; i++)
        free(v[i]);
}

/*
 * STOP in its forms opts out, with one confirmation; "how do i stop using" is a
 * question, answered; after the opt-out nothing reaches the number: not a later question,
 * not a second STOP, not a staff reply, not a restart. HELP still answers; START brings
 * the texter back with a confirmation. Every change is in the audit trail and
 * `hotline optouts`.
 */
static void test_stop_help_start(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    add_staff(fx);
    start(fx);

    text(fx, TEXTER, "how do i stop using");
    text(fx, TEXTER, "  Stop!! ");
    wait_inbound(fx, 2);
    assert_int_equal(db_int(fx, "SELECT intent = 'get_help' OR intent = 'treatment_options'"
                                " FROM inbound ORDER BY id LIMIT 1"),
                     1);
    text(fx, TEXTER, "what insurance do you take");
    text(fx, TEXTER, "STOP");
    text(fx, TEXTER, "take me off your list");
    wait_inbound(fx, 5);
    wait_settled(fx);

    /* A staff member cannot text them either: the CLI refuses. */
    char *out = NULL;
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations"), 1); /* get_help */
    int rc = cli(fx, "escalations reply 1 'are you ok?' --by alice", &out);
    assert_int_equal(rc, 1); /* "not sent: the texter opted out (STOP)" */
    free(out);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE body = 'are you ok?'"), 0);

    /* A restart changes nothing. */
    assert_int_equal(kill(fx->pid, SIGKILL), 0);
    assert_int_equal(reap(fx), 128 + SIGKILL);
    start(fx);
    text(fx, TEXTER, "do you have a free book");
    text(fx, TEXTER, "HELP");
    wait_inbound(fx, 7);
    wait_settled(fx);

    char *got[16];
    size_t n = sent_to(fx, TEXTER, got, 16);
    const char *want[] = {g_replies->intents[INTENT_GET_HELP].answer[LANG_EN],
                          answer(INTENT_OPT_OUT, LANG_EN), answer(INTENT_HELP_KEYWORD, LANG_EN)};
    /* The first answer depends on the matcher; the rest must be exactly these. */
    assert_true(n == 3);
    want[0] = got[0];
    assert_bodies(got, n, want, 3);
    free_all(got, n);

    text(fx, TEXTER, "START");
    text(fx, TEXTER, "do you have a free book");
    wait_inbound(fx, 9);
    wait_settled(fx);
    n = sent_to(fx, TEXTER, got, 16);
    assert_int_equal(n, 5);
    assert_string_equal(got[3], answer(INTENT_OPT_IN, LANG_EN));
    assert_string_equal(got[4], answer(INTENT_FREE_BOOK, LANG_EN));
    free_all(got, n);

    /* The audit trail: one opt-out (the keyword) and one opt-in. */
    assert_int_equal(db_int(fx, "SELECT count(*) FROM opt_events WHERE number = '" TEXTER "'"), 2);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM opt_events WHERE event = 'opt_out' AND"
                                " source = 'keyword' AND inbound_id IS NOT NULL"),
                     1);
    assert_int_equal(cli(fx, "optouts export", &out), 0);
    assert_non_null(strstr(out, "time_utc,number,event,source,inbound_id\n"));
    assert_non_null(strstr(out, "," TEXTER ",opt_out,keyword,"));
    assert_non_null(strstr(out, "," TEXTER ",opt_in,keyword,"));
    free(out);
    assert_int_equal(cli(fx, "optouts list", &out), 0);
    assert_non_null(strstr(out, "0 numbers opted out"));
    free(out);
    stop_ok(fx);
}

/*
 * A plain-language request in Spanish opts out (confirmed in Spanish); that texter's
 * urgent text later opens an urgent escalation and pages staff, but sends the texter
 * nothing. `hotline optouts list` shows the number as a "request".
 */
static void test_opted_out_urgent_reaches_staff_only(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    add_staff(fx);
    start(fx);
    text(fx, TEXTER, "por favor dejen de mandarme mensajes");
    wait_inbound(fx, 1);
    wait_settled(fx);
    text(fx, TEXTER, URGENT_TEXT);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE kind = 'page' AND state = 'sent'", 2);
    wait_settled(fx);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations WHERE level = 'urgent'"), 1);

    char *got[4];
    size_t n = sent_to(fx, TEXTER, got, 4);
    assert_int_equal(n, 1);
    assert_string_equal(got[0], answer(INTENT_OPT_OUT, LANG_ES));
    free_all(got, n);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM jobs WHERE to_number = '" TEXTER "'"), 1);

    char *out = NULL;
    assert_int_equal(cli(fx, "optouts list", &out), 0);
    assert_non_null(strstr(out, TEXTER));
    assert_non_null(strstr(out, "request"));
    assert_non_null(strstr(out, "1 number opted out"));
    free(out);
    assert_int_equal(cli(fx, "optouts list --json", &out), 0);
    assert_non_null(strstr(out, "\"source\":\"request\""));
    free(out);
    stop_ok(fx);
}

/* 21610 from the gateway marks the number opted out, with the source in the trail. */
static void test_21610_in_the_audit_trail(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    mock_gateway_push(fx->mg, &(struct mock_response){.status = 400, .twilio_code = 21610});
    start(fx);
    text(fx, TEXTER, "do you take insurance?");
    wait_db(fx, "SELECT opted_out FROM senders WHERE number = '" TEXTER "'", 1);
    wait_db(fx,
            "SELECT count(*) FROM opt_events WHERE number = '" TEXTER "' AND event = 'opt_out'"
            " AND source = 'gateway error 21610'",
            1);
    text(fx, TEXTER, "hello?");
    wait_inbound(fx, 2);
    wait_settled(fx);
    assert_int_equal(sent_to(fx, TEXTER, NULL, 0), 0);
    assert_int_equal(mock_gateway_count(fx->mg), 1);
    stop_ok(fx);
}

/* With HOTLINE_KEYWORD_REPLIES=gateway, Twilio answers STOP/HELP/START: hotline records
 * them and sends nothing, but confirms a plain-language request Twilio does not catch. */
static void test_keywords_answered_by_the_gateway(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    env_set(fx, "HOTLINE_KEYWORD_REPLIES", "gateway");
    start(fx);
    text(fx, TEXTER, "STOP");
    text(fx, TEXTER, "HELP");
    text(fx, TEXTER, "START");
    text(fx, TEXTER, "please stop texting me");
    wait_inbound(fx, 4);
    wait_settled(fx);
    char *got[4];
    size_t n = sent_to(fx, TEXTER, got, 4);
    const char *want[] = {answer(INTENT_OPT_OUT, LANG_EN)};
    assert_bodies(got, n, want, 1);
    free_all(got, n);
    assert_int_equal(db_int(fx, "SELECT opted_out FROM senders"), 1);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM opt_events"), 3);
    stop_ok(fx);
}

/*
 * The greeting offers the menu and "2" picks treatment; a Spanish texter gets Spanish,
 * keeps it for "ok" and "1", and gets English again when they write English; the same
 * question twice within minutes gets the pointer.
 */
static void test_menu_language_and_pointer(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    start(fx);
    text(fx, TEXTER, "hi");
    wait_inbound(fx, 1);
    text(fx, TEXTER, "2");
    wait_inbound(fx, 2);
    text(fx, TEXTER, "do you take cigna insurance");
    wait_inbound(fx, 3);
    text(fx, TEXTER, "and do you take aetna insurance?");
    wait_inbound(fx, 4);

    text(fx, TEXTER2, "hola, aceptan seguro medico?");
    wait_inbound(fx, 5);
    text(fx, TEXTER2, "0");
    wait_inbound(fx, 6);
    text(fx, TEXTER2, "3");
    wait_inbound(fx, 7);
    text(fx, TEXTER2, "how long do track marks take to heal");
    wait_inbound(fx, 8);
    wait_settled(fx);

    char *got[8];
    size_t n = sent_to(fx, TEXTER, got, 8);
    const char *want[] = {answer(INTENT_GREETING, LANG_EN),
                          answer(INTENT_TREATMENT_OPTIONS, LANG_EN),
                          answer(INTENT_INSURANCE, LANG_EN), g_replies->menu.repeat[LANG_EN]};
    assert_bodies(got, n, want, 4);
    free_all(got, n);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM inbound WHERE body = '2' AND"
                                " intent = 'treatment_options'"),
                     1);

    n = sent_to(fx, TEXTER2, got, 8);
    const char *want2[] = {answer(INTENT_INSURANCE, LANG_ES), answer(INTENT_GREETING, LANG_ES),
                           answer(INTENT_TRACK_MARKS_WHAT, LANG_ES),
                           answer(INTENT_HEALING_TIME, LANG_EN)};
    assert_bodies(got, n, want2, 4);
    free_all(got, n);
    assert_int_equal(db_int(fx, "SELECT lang = 'en' FROM senders WHERE number = '" TEXTER2 "'"), 1);
    stop_ok(fx);
}

/*
 * Past HOTLINE_REPLY_BUDGET auto-replies in the hour, texts are stored and a person is
 * asked to look (one standard escalation), but nothing more is sent, except urgent
 * answers.
 */
static void test_reply_budget(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    env_set(fx, "HOTLINE_REPLY_BUDGET", "3");
    add_staff(fx);
    start(fx);
    const char *texts[] = {"do you take insurance", "whats your phone number",
                           "how long do marks take to heal", "can marks be removed",
                           "do you have a free book"};
    for (int i = 0; i < 5; i++) {
        text(fx, TEXTER, texts[i]);
        wait_inbound(fx, i + 1);
    }
    wait_settled(fx);
    assert_int_equal(sent_to(fx, TEXTER, NULL, 0), 3);
    assert_int_equal(db_int(fx, "SELECT count(*) FROM escalations WHERE level = 'standard' AND"
                                " texter = '" TEXTER "'"),
                     1);
    text(fx, TEXTER, URGENT_TEXT);
    wait_inbound(fx, 6);
    wait_settled(fx);
    char *got[8];
    size_t n = sent_to(fx, TEXTER, got, 8);
    assert_int_equal(n, 4);
    assert_string_equal(got[3], answer(INTENT_CRISIS_OVERDOSE, LANG_EN));
    free_all(got, n);
    wait_file_has(fx->err_path, "event=reply_budget");
    stop_ok(fx);
}

/*
 * An echo bot (this test, over loopback) answers each of hotline's texts with the text
 * itself. The loop guard stops the ping-pong after a few rounds, logs it, and keeps
 * silent; the bot number's urgent text still opens an urgent escalation and pages staff.
 */
static void test_loop_guard_against_an_echo_bot(void **state)
{
    struct fx *fx = *state;
    with_credentials(fx);
    add_staff(fx);
    start(fx);
    text(fx, BOT, "hello");
    int rounds = 0;
    size_t seen = 0;
    for (; rounds < 40; rounds++) {
        /* Wait for hotline's next text to the bot; none within 3 s: it stopped. */
        int64_t deadline = now_ms() + 3000;
        size_t n;
        while ((n = sent_to(fx, BOT, NULL, 0)) == seen && now_ms() < deadline)
            sleep_ms(20);
        if (n == seen)
            break;
        char *got[64];
        size_t m = sent_to(fx, BOT, got, 64);
        assert_true(m > seen && m <= 64);
        text(fx, BOT, got[m - 1]); /* echo the latest */
        free_all(got, m);
        seen = m;
    }
    assert_true(rounds < 40); /* it stopped */
    wait_file_has(fx->err_path, "event=loop_guard");
    size_t replies_before = sent_to(fx, BOT, NULL, 0);
    assert_true(replies_before <= 3); /* "hello", its echo, then silence */

    /* Silent for the bot, but an urgent text from it still reaches staff. */
    text(fx, BOT, URGENT_TEXT);
    wait_db(fx, "SELECT count(*) FROM escalations WHERE level = 'urgent'", 1);
    /* (Its echoes may have opened a standard escalation already, paged once: the urgent
     * text raises it and pages both phones again.) */
    wait_db(fx,
            "SELECT count(*) FROM jobs j JOIN escalations e ON e.id = j.escalation_id WHERE"
            " j.kind = 'page' AND j.state = 'sent' AND j.inbound_id = (SELECT max(id) FROM"
            " inbound)",
            2);
    wait_settled(fx);
    assert_int_equal(sent_to(fx, BOT, NULL, 0), replies_before);

    /* Another texter is unaffected. */
    text(fx, TEXTER, "do you take insurance");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE to_number = '" TEXTER "' AND state = 'sent'", 1);
    stop_ok(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_help_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opted_out_urgent_reaches_staff_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_21610_in_the_audit_trail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keywords_answered_by_the_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_menu_language_and_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_guard_against_an_echo_bot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
