/*
 * Conversation tests: the per-sender decision, played as short conversations on a clock
 * the test moves. Opted-out numbers get nothing but the one confirmation and HELP;
 * keywords the gateway answered get no second reply; urgent texts escalate whatever the
 * state; the menu, the language, the loop guard, the budget and the repeat pointer each
 * do what conversation.h says, and no more.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "hotline/conversation.h"

static struct replies replies;

#define MINUTE (60 * (int64_t)1000)

static int setup(void **state)
{
    (void)state;
    static char texts[INTENT_COUNT][LANG_COUNT][64];
    for (int k = 0; k < INTENT_COUNT; k++)
        for (int l = 0; l < LANG_COUNT; l++) {
            /* The greeting and the fallback carry the menu, as the shipped ones do. */
            bool menu = k == INTENT_GREETING || k == INTENT_FALLBACK;
            snprintf(texts[k][l], sizeof texts[k][l], "%s/%s%s%s", intent_name((enum intent)k),
                     lang_name((enum lang)l), menu ? " menu/" : "",
                     menu ? lang_name((enum lang)l) : "");
            replies.intents[k].answer[l] = texts[k][l];
        }
    replies.menu.text[LANG_EN] = "menu/en";
    replies.menu.text[LANG_ES] = "menu/es";
    replies.menu.repeat[LANG_EN] = "repeat/en";
    replies.menu.repeat[LANG_ES] = "repeat/es";
    for (int d = 0; d < 10; d++)
        replies.menu.item[d] = INTENT_COUNT;
    replies.menu.item[1] = INTENT_INSURANCE;
    replies.menu.item[4] = INTENT_HUMAN;
    replies.menu.n_items = 2;
    return 0;
}

/* One texter's conversation: their state, the clock and the rules. */
struct talk {
    struct sender_state st;
    struct conversation_rules rules;
    int64_t now;
};

static struct talk talk_new(void)
{
    struct talk t = {.now = 1700000000000};
    conversation_rules_default(&t.rules);
    return t;
}

/* The texter sends text, which the matcher read as intent/lang; the state moves on. */
static struct conversation_decision say_as(struct talk *t, const char *text, enum intent intent,
                                           enum lang lang, bool sure, bool keyword)
{
    struct conversation_input in = {.text = text,
                                    .len = strlen(text),
                                    .intent = intent,
                                    .lang = lang,
                                    .lang_sure = sure,
                                    .keyword = keyword,
                                    .now = t->now};
    struct conversation_decision d;
    conversation_decide(&replies, &t->rules, &t->st, &in, &d);
    t->st = d.next;
    return d;
}

static struct conversation_decision say(struct talk *t, const char *text, enum intent intent,
                                        enum lang lang)
{
    return say_as(t, text, intent, lang, true, false);
}

static struct conversation_decision keyword(struct talk *t, const char *text, enum intent intent)
{
    return say_as(t, text, intent, LANG_EN, true, true);
}

static void test_answers_in_the_texters_language(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d = say(&t, "cuanto cuesta", INTENT_INSURANCE, LANG_ES);
    assert_string_equal(d.reply, "insurance/es");
    assert_int_equal(t.st.lang, LANG_ES);
    assert_int_equal(d.escalation, ESCALATE_NONE);

    /* A bare keyword, and a short text sure of nothing, keep Spanish. */
    d = keyword(&t, "HELP", INTENT_HELP_KEYWORD);
    assert_string_equal(d.reply, "help_keyword/es");
    t.now += 10 * MINUTE;
    d = say_as(&t, "ok", INTENT_THANKS, LANG_EN, false, false);
    assert_string_equal(d.reply, "thanks/es");
    assert_int_equal(t.st.lang, LANG_ES);

    /* Until they write in English again. */
    d = say(&t, "how long do marks take to heal", INTENT_HEALING_TIME, LANG_EN);
    assert_string_equal(d.reply, "healing_time/en");
    assert_int_equal(t.st.lang, LANG_EN);

    /* A fallback sure of its language sets it too. */
    d = say(&t, "no entiendo nada de esto", INTENT_FALLBACK, LANG_ES);
    assert_string_equal(d.reply, "fallback/es menu/es");
    assert_int_equal(t.st.lang, LANG_ES);
}

static void test_opt_out_is_confirmed_once(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d = keyword(&t, "STOP", INTENT_OPT_OUT);
    assert_string_equal(d.reply, "opt_out/en");
    assert_true(t.st.opted_out);
    assert_true(d.flags & CONV_OPTED_OUT_NOW);
    assert_string_equal(d.opt_source, "keyword");

    /* A second STOP, or a plain request, gets nothing: there is only one confirmation. */
    d = keyword(&t, "stop", INTENT_OPT_OUT);
    assert_null(d.reply);
    assert_false(d.flags & CONV_OPTED_OUT_NOW);
    d = say(&t, "stop texting me", INTENT_OPT_OUT, LANG_EN);
    assert_null(d.reply);
    assert_true(t.st.opted_out);

    /* A plain-language request is recorded as such. */
    struct talk u = talk_new();
    d = say(&u, "dejen de mandarme mensajes", INTENT_OPT_OUT, LANG_ES);
    assert_string_equal(d.reply, "opt_out/es");
    assert_string_equal(d.opt_source, "request");
}

static void test_opted_out_gets_help_only_and_urgent_still_escalates(void **state)
{
    (void)state;
    struct talk t = talk_new();
    keyword(&t, "STOP", INTENT_OPT_OUT);
    t.now += MINUTE;
    assert_null(say(&t, "do you take cigna", INTENT_INSURANCE, LANG_EN).reply);
    assert_null(say(&t, "hi", INTENT_GREETING, LANG_EN).reply);
    assert_null(say(&t, "0", INTENT_FALLBACK, LANG_EN).reply); /* no menu either */

    /* HELP always answers (CTIA), opted out or not. */
    struct conversation_decision d = keyword(&t, "HELP", INTENT_HELP_KEYWORD);
    assert_string_equal(d.reply, "help_keyword/en");
    assert_true(t.st.opted_out);

    d = say(&t, "i want to die", INTENT_CRISIS_SUICIDE, LANG_EN);
    assert_null(d.reply);
    assert_int_equal(d.escalation, ESCALATE_URGENT);
    assert_true(t.st.opted_out);

    /* START brings them back, with a confirmation. */
    d = keyword(&t, "START", INTENT_OPT_IN);
    assert_string_equal(d.reply, "opt_in/en");
    assert_false(t.st.opted_out);
    assert_true(d.flags & CONV_OPTED_IN_NOW);
    assert_string_equal(say(&t, "do you take cigna", INTENT_INSURANCE, LANG_EN).reply,
                        "insurance/en");
}

static void test_yes_only_counts_after_an_opt_out(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d = keyword(&t, "Yes", INTENT_OPT_IN);
    assert_string_equal(d.reply, "fallback/en menu/en"); /* nothing to confirm */
    assert_int_equal(d.intent, INTENT_FALLBACK);
    assert_false(d.flags & CONV_OPTED_IN_NOW);
    keyword(&t, "STOP", INTENT_OPT_OUT);
    d = keyword(&t, "YES", INTENT_OPT_IN);
    assert_string_equal(d.reply, "opt_in/en");
    assert_false(t.st.opted_out);
}

static void test_gateway_keywords_get_no_second_reply(void **state)
{
    (void)state;
    struct talk t = talk_new();
    t.rules.mode = KEYWORDS_GATEWAY;
    struct conversation_decision d = keyword(&t, "STOP", INTENT_OPT_OUT);
    assert_null(d.reply);
    assert_true(t.st.opted_out); /* still honoured on our side */
    assert_true(d.flags & CONV_OPTED_OUT_NOW);
    assert_null(keyword(&t, "HELP", INTENT_HELP_KEYWORD).reply);
    d = keyword(&t, "START", INTENT_OPT_IN);
    assert_null(d.reply);
    assert_false(t.st.opted_out);

    /* "please stop texting me" is not a keyword the gateway catches: we confirm it. */
    d = say(&t, "please stop texting me", INTENT_OPT_OUT, LANG_EN);
    assert_string_equal(d.reply, "opt_out/en");
}

static void test_urgent_and_repeated_fallbacks_escalate(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d = say(&t, "he is blue", INTENT_CRISIS_OVERDOSE, LANG_EN);
    assert_string_equal(d.reply, "crisis_overdose/en");
    assert_int_equal(d.escalation, ESCALATE_URGENT);

    d = say(&t, "asdf", INTENT_FALLBACK, LANG_EN);
    assert_int_equal(d.escalation, ESCALATE_NONE);
    assert_int_equal(t.st.misses, 1);
    d = say(&t, "qwerty", INTENT_FALLBACK, LANG_EN);
    assert_int_equal(d.escalation, ESCALATE_STANDARD);
    assert_string_equal(d.reply, "fallback/en menu/en");

    /* Understanding resets the count. */
    say(&t, "whats your number", INTENT_CONTACT, LANG_EN);
    assert_int_equal(t.st.misses, 0);
}

static void test_menu_numbers(void **state)
{
    (void)state;
    struct talk t = talk_new();
    /* A number before any menu is just a text. */
    struct conversation_decision d = say_as(&t, "1", INTENT_FALLBACK, LANG_EN, false, false);
    assert_string_equal(d.reply, "fallback/en menu/en");
    assert_false(d.flags & CONV_MENU_PICK);
    assert_true(d.flags & CONV_MENU_SHOWN);

    /* Soon after the menu, "1" is insurance and " 4. " a person. */
    t.now += 5 * MINUTE;
    d = say_as(&t, "1", INTENT_FALLBACK, LANG_EN, false, false);
    assert_string_equal(d.reply, "insurance/en");
    assert_int_equal(d.intent, INTENT_INSURANCE);
    assert_true(d.flags & CONV_MENU_PICK);
    assert_int_equal(t.st.misses, 0);
    d = say_as(&t, " 4. ", INTENT_FALLBACK, LANG_EN, false, false);
    assert_int_equal(d.intent, INTENT_HUMAN);
    assert_int_equal(d.escalation, ESCALATE_STANDARD);

    /* A number the menu lacks, or one long after it, is not a pick. */
    d = say_as(&t, "7", INTENT_FALLBACK, LANG_EN, false, false);
    assert_false(d.flags & CONV_MENU_PICK);
    t.now += 31 * MINUTE;
    d = say_as(&t, "1", INTENT_FALLBACK, LANG_EN, false, false);
    assert_false(d.flags & CONV_MENU_PICK);

    /* 0 shows the menu at any time, in the texter's language; twice is fine. */
    struct talk es = talk_new();
    say(&es, "hola", INTENT_GREETING, LANG_ES);
    es.now += 40 * MINUTE;
    d = say_as(&es, "0", INTENT_FALLBACK, LANG_EN, false, false);
    assert_string_equal(d.reply, "greeting/es menu/es");
    d = say_as(&es, "0", INTENT_FALLBACK, LANG_EN, false, false);
    assert_string_equal(d.reply, "greeting/es menu/es");
    d = say_as(&es, "1", INTENT_FALLBACK, LANG_EN, false, false);
    assert_string_equal(d.reply, "insurance/es");
    /* "10" or "1 2" are not menu numbers. */
    d = say_as(&es, "10", INTENT_FALLBACK, LANG_EN, false, false);
    assert_false(d.flags & CONV_MENU_PICK);
}

static void test_repeat_pointer(void **state)
{
    (void)state;
    struct talk t = talk_new();
    assert_string_equal(say(&t, "do u take cigna", INTENT_INSURANCE, LANG_EN).reply,
                        "insurance/en");
    t.now += 2 * MINUTE;
    struct conversation_decision d = say(&t, "what about aetna", INTENT_INSURANCE, LANG_EN);
    assert_string_equal(d.reply, "repeat/en");
    assert_true(d.flags & CONV_REPEAT_POINTER);
    /* The pointer is in their language. */
    d = say(&t, "aceptan seguro", INTENT_INSURANCE, LANG_ES);
    assert_string_equal(d.reply, "repeat/es");
    /* Texts we could not place are not answers: the fallback is never a pointer. */
    say(&t, "asdf", INTENT_FALLBACK, LANG_EN);
    assert_string_equal(say(&t, "qwer", INTENT_FALLBACK, LANG_EN).reply, "fallback/en menu/en");
    /* Five minutes after the answer, the full answer again. */
    t.now += 4 * MINUTE;
    assert_string_equal(say(&t, "insurance?", INTENT_INSURANCE, LANG_EN).reply, "insurance/en");

    /* Urgent answers are always sent in full. */
    say(&t, "took too much", INTENT_CRISIS_OVERDOSE, LANG_EN);
    d = say(&t, "he took too much", INTENT_CRISIS_OVERDOSE, LANG_EN);
    assert_string_equal(d.reply, "crisis_overdose/en");

    /* repeat_ms 0 turns the pointer off. */
    struct talk u = talk_new();
    u.rules.repeat_ms = 0;
    say(&u, "cigna?", INTENT_INSURANCE, LANG_EN);
    assert_string_equal(say(&u, "aetna?", INTENT_INSURANCE, LANG_EN).reply, "insurance/en");
}

static void test_reply_budget(void **state)
{
    (void)state;
    struct talk t = talk_new();
    t.rules.reply_budget = 3;
    t.rules.repeat_ms = 0;
    for (int i = 0; i < 3; i++) {
        t.now += 1000;
        assert_non_null(say(&t, "insurance", INTENT_INSURANCE, LANG_EN).reply);
    }
    /* The first text past the budget asks a person to look, once; later ones are stored. */
    struct conversation_decision d = say(&t, "cigna?", INTENT_INSURANCE, LANG_EN);
    assert_null(d.reply);
    assert_true(d.flags & CONV_BUDGET_REACHED);
    assert_int_equal(d.escalation, ESCALATE_STANDARD);
    d = say(&t, "aetna?", INTENT_INSURANCE, LANG_EN);
    assert_null(d.reply);
    assert_true(d.flags & CONV_OVER_BUDGET);
    assert_false(d.flags & CONV_BUDGET_REACHED);
    assert_int_equal(d.escalation, ESCALATE_NONE);

    /* Urgent answers still go; STOP is still confirmed. */
    d = say(&t, "i want to end it", INTENT_CRISIS_SUICIDE, LANG_EN);
    assert_string_equal(d.reply, "crisis_suicide/en");
    /* An hour later the budget is new. */
    t.now += 61 * MINUTE;
    assert_non_null(say(&t, "insurance", INTENT_INSURANCE, LANG_EN).reply);
    struct talk u = t;
    u.rules.reply_budget = 1;
    assert_string_equal(keyword(&u, "STOP", INTENT_OPT_OUT).reply, "opt_out/en");
}

static void test_loop_guard_identical_texts(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d;
    for (int i = 0; i < 3; i++) {
        t.now += 3000;
        d = say(&t, "Thank you for your message!", INTENT_THANKS, LANG_EN);
        assert_false(d.flags & CONV_MUTED);
    }
    /* The fourth identical text in a row: another auto-responder. */
    t.now += 3000;
    d = say(&t, "thank you for your message", INTENT_THANKS, LANG_EN);
    assert_null(d.reply);
    assert_true(d.flags & CONV_LOOP_DETECTED);
    assert_true(d.flags & CONV_MUTED);
    /* Silent while it goes on, whatever it sends, but urgent texts still escalate. */
    t.now += 3000;
    d = say(&t, "insurance", INTENT_INSURANCE, LANG_EN);
    assert_null(d.reply);
    assert_true(d.flags & CONV_MUTED);
    assert_false(d.flags & CONV_LOOP_DETECTED);
    d = say(&t, "overdose", INTENT_CRISIS_OVERDOSE, LANG_EN);
    assert_null(d.reply);
    assert_int_equal(d.escalation, ESCALATE_URGENT);
    /* STOP is still confirmed, once. */
    struct talk u = t;
    assert_string_equal(keyword(&u, "STOP", INTENT_OPT_OUT).reply, "opt_out/en");
    /* An hour after the last text it answers again. */
    t.now += 61 * MINUTE;
    assert_non_null(say(&t, "insurance", INTENT_INSURANCE, LANG_EN).reply);

    /* Identical texts far apart are a person, not a loop. */
    struct talk p = talk_new();
    for (int i = 0; i < 6; i++) {
        p.now += 11 * MINUTE;
        assert_false(say(&p, "hello?", INTENT_GREETING, LANG_EN).flags & CONV_MUTED);
    }
}

static void test_loop_guard_rate(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d;
    char text[32];
    /* Fifteen different texts in two minutes are still answered... */
    for (int i = 0; i < 15; i++) {
        t.now += 5000;
        snprintf(text, sizeof text, "message %d", i);
        d = say(&t, text, INTENT_FALLBACK, LANG_EN);
        assert_false(d.flags & CONV_MUTED);
    }
    /* ...the sixteenth is not. */
    t.now += 5000;
    d = say(&t, "message 15", INTENT_FALLBACK, LANG_EN);
    assert_true(d.flags & CONV_LOOP_DETECTED);
    assert_null(d.reply);
}

static void test_loop_guard_echoes(void **state)
{
    (void)state;
    struct talk t = talk_new();
    struct conversation_decision d = say(&t, "hello", INTENT_GREETING, LANG_EN);
    assert_string_equal(d.reply, "greeting/en menu/en");
    /* A person may quote us once; twice in a row is an auto-responder. */
    t.now += 2000;
    d = say(&t, "Greeting/en menu/en", INTENT_GREETING, LANG_EN);
    assert_string_equal(d.reply, "repeat/en");
    t.now += 2000;
    d = say(&t, "repeat/en", INTENT_FALLBACK, LANG_EN);
    assert_true(d.flags & CONV_LOOP_DETECTED);
    assert_null(d.reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_in_the_texters_language),
        cmocka_unit_test(test_opt_out_is_confirmed_once),
        cmocka_unit_test(test_opted_out_gets_help_only_and_urgent_still_escalates),
        cmocka_unit_test(test_yes_only_counts_after_an_opt_out),
        cmocka_unit_test(test_gateway_keywords_get_no_second_reply),
        cmocka_unit_test(test_urgent_and_repeated_fallbacks_escalate),
        cmocka_unit_test(test_menu_numbers),
        cmocka_unit_test(test_repeat_pointer),
        cmocka_unit_test(test_reply_budget),
        cmocka_unit_test(test_loop_guard_identical_texts),
        cmocka_unit_test(test_loop_guard_rate),
        cmocka_unit_test(test_loop_guard_echoes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
