/*
 * Conversation tests: the per-sender decision as a table. Opted-out numbers get nothing
 * but the one confirmation, keywords the gateway answered get no second reply, urgent
 * texts escalate whatever the state, repeated fallbacks reach a person.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "hotline/conversation.h"

static struct replies replies;

static int setup(void **state)
{
    (void)state;
    static char texts[INTENT_COUNT][LANG_COUNT][48];
    for (int k = 0; k < INTENT_COUNT; k++)
        for (int l = 0; l < LANG_COUNT; l++) {
            snprintf(texts[k][l], sizeof texts[k][l], "%s/%s", intent_name((enum intent)k),
                     lang_name((enum lang)l));
            replies.intents[k].answer[l] = texts[k][l];
        }
    return 0;
}

static struct conversation_decision decide(enum keyword_mode mode, struct sender_state st,
                                           enum intent intent, enum lang lang, bool keyword)
{
    struct conversation_input in = {.intent = intent, .lang = lang, .keyword = keyword};
    struct conversation_decision d;
    conversation_decide(&replies, mode, &st, &in, &d);
    return d;
}

static void test_answers_in_the_texters_language(void **state)
{
    (void)state;
    struct sender_state fresh = {0};
    struct conversation_decision d = decide(KEYWORDS_SELF, fresh, INTENT_INSURANCE, LANG_ES, false);
    assert_string_equal(d.reply, "insurance/es");
    assert_int_equal(d.next.lang, LANG_ES);
    assert_int_equal(d.escalation, ESCALATE_NONE);

    /* A bare keyword is answered in the language the texter used before. */
    struct sender_state spanish = {.lang = LANG_ES};
    d = decide(KEYWORDS_SELF, spanish, INTENT_HELP_KEYWORD, LANG_EN, true);
    assert_string_equal(d.reply, "help_keyword/es");
}

static void test_opt_out_is_confirmed_once(void **state)
{
    (void)state;
    struct sender_state fresh = {0};
    struct conversation_decision d = decide(KEYWORDS_SELF, fresh, INTENT_OPT_OUT, LANG_EN, true);
    assert_string_equal(d.reply, "opt_out/en");
    assert_true(d.next.opted_out);

    /* A second STOP gets nothing: there is only one confirmation. */
    d = decide(KEYWORDS_SELF, d.next, INTENT_OPT_OUT, LANG_EN, true);
    assert_null(d.reply);
    assert_true(d.next.opted_out);
}

static void test_opted_out_gets_nothing_but_urgent_still_escalates(void **state)
{
    (void)state;
    struct sender_state out = {.opted_out = true};
    assert_null(decide(KEYWORDS_SELF, out, INTENT_INSURANCE, LANG_EN, false).reply);
    assert_null(decide(KEYWORDS_SELF, out, INTENT_HELP_KEYWORD, LANG_EN, true).reply);
    assert_null(decide(KEYWORDS_SELF, out, INTENT_GREETING, LANG_EN, false).reply);

    struct conversation_decision d =
        decide(KEYWORDS_SELF, out, INTENT_CRISIS_SUICIDE, LANG_EN, false);
    assert_null(d.reply);
    assert_int_equal(d.escalation, ESCALATE_URGENT);
    assert_true(d.next.opted_out);

    /* START brings them back, with a confirmation. */
    d = decide(KEYWORDS_SELF, out, INTENT_OPT_IN, LANG_EN, true);
    assert_string_equal(d.reply, "opt_in/en");
    assert_false(d.next.opted_out);
}

static void test_gateway_keywords_get_no_second_reply(void **state)
{
    (void)state;
    struct sender_state fresh = {0};
    struct conversation_decision d = decide(KEYWORDS_GATEWAY, fresh, INTENT_OPT_OUT, LANG_EN, true);
    assert_null(d.reply);
    assert_true(d.next.opted_out); /* still honoured on our side */
    assert_null(decide(KEYWORDS_GATEWAY, fresh, INTENT_HELP_KEYWORD, LANG_EN, true).reply);
    assert_null(decide(KEYWORDS_GATEWAY, fresh, INTENT_OPT_IN, LANG_EN, true).reply);

    /* "please stop texting me" is not a keyword the gateway catches: we confirm it. */
    d = decide(KEYWORDS_GATEWAY, fresh, INTENT_OPT_OUT, LANG_EN, false);
    assert_string_equal(d.reply, "opt_out/en");
}

static void test_urgent_and_repeated_fallbacks_escalate(void **state)
{
    (void)state;
    struct sender_state fresh = {0};
    struct conversation_decision d =
        decide(KEYWORDS_SELF, fresh, INTENT_CRISIS_OVERDOSE, LANG_EN, false);
    assert_string_equal(d.reply, "crisis_overdose/en");
    assert_int_equal(d.escalation, ESCALATE_URGENT);

    d = decide(KEYWORDS_SELF, fresh, INTENT_FALLBACK, LANG_EN, false);
    assert_int_equal(d.escalation, ESCALATE_NONE);
    assert_int_equal(d.next.misses, 1);
    d = decide(KEYWORDS_SELF, d.next, INTENT_FALLBACK, LANG_EN, false);
    assert_int_equal(d.escalation, ESCALATE_STANDARD);
    assert_string_equal(d.reply, "fallback/en");

    /* Understanding resets the count. */
    d = decide(KEYWORDS_SELF, d.next, INTENT_CONTACT, LANG_EN, false);
    assert_int_equal(d.next.misses, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_in_the_texters_language),
        cmocka_unit_test(test_opt_out_is_confirmed_once),
        cmocka_unit_test(test_opted_out_gets_nothing_but_urgent_still_escalates),
        cmocka_unit_test(test_gateway_keywords_get_no_second_reply),
        cmocka_unit_test(test_urgent_and_repeated_fallbacks_escalate),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
