/*
 * Tests for chat: escalation event lines become one Slack-compatible message, with the
 * level, the id, the need in plain words, the masked texter number and who acted; pages
 * of one round fold into one line; "viewed" is left out; Slack's &, <, > are escaped.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hotline/chat.h"

#define EV(event, id, level, intent, staff, via)                                                   \
    "{\"time\":\"2025-01-02T03:04:05.678Z\",\"event\":\"" event "\",\"escalation\":" #id           \
    ",\"level\":\"" level "\",\"intent\":\"" intent                                                \
    "\",\"texter\":\"+15550001111\",\"staff\":" staff ",\"via\":\"" via "\"}\n"

static char *text_of(const char *lines)
{
    return chat_text(lines, strlen(lines));
}

static void test_urgent_opened_and_paged(void **state)
{
    (void)state;
    const char *lines = EV("opened", 17, "urgent", "crisis_overdose", "null", "service")
        EV("paged", 17, "urgent", "crisis_overdose", "\"alice\"", "service")
            EV("paged", 17, "urgent", "crisis_overdose", "\"bob\"", "service");
    char *text = text_of(lines);
    assert_non_null(text);
    assert_string_equal(text, "URGENT #17 opened: possible overdose, texter +1555***1111\n"
                              "URGENT #17 paged alice, bob: possible overdose, texter "
                              "+1555***1111");
    assert_null(strstr(text, "+15550001111"));
    free(text);

    char *body = chat_message(lines, strlen(lines));
    assert_non_null(body);
    json_t *o = json_loads(body, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 1);
    const char *t = json_string_value(json_object_get(o, "text"));
    assert_non_null(t);
    assert_non_null(strstr(t, "URGENT #17 opened: possible overdose"));
    json_decref(o);
    free(body);
}

static void test_every_kind(void **state)
{
    (void)state;
    const char *lines = EV("re-paged", 3, "urgent", "crisis_suicide", "\"alice\"", "service")
        EV("joined", 3, "urgent", "crisis_suicide", "null", "service")
            EV("raised", 4, "urgent", "medical_urgent", "null", "service")
                EV("acknowledged", 3, "urgent", "crisis_suicide", "\"alice\"", "sms")
                    EV("relayed", 3, "urgent", "crisis_suicide", "\"alice\"", "service")
                        EV("replied", 3, "urgent", "crisis_suicide", "\"alice\"", "api")
                            EV("closed", 5, "standard", "human", "\"bob\"", "cli")
                                EV("viewed", 5, "standard", "human", "\"bob\"", "api");
    char *text = text_of(lines);
    assert_non_null(text);
    const char *want =
        "URGENT #3 not acknowledged, paged again alice: suicide risk, texter +1555***1111\n"
        "URGENT #3 the texter wrote again: suicide risk, texter +1555***1111\n"
        "URGENT #4 raised to urgent: urgent medical, texter +1555***1111\n"
        "URGENT #3 acknowledged by alice (sms): suicide risk, texter +1555***1111\n"
        "URGENT #3 new text from the texter relayed to alice: suicide risk, texter "
        "+1555***1111\n"
        "URGENT #3 answered by alice (api): suicide risk, texter +1555***1111\n"
        "standard #5 closed by bob (cli): asks for a person, texter +1555***1111";
    assert_string_equal(text, want);
    free(text);
}

static void test_nothing_to_post(void **state)
{
    (void)state;
    const char *viewed = EV("viewed", 5, "standard", "human", "\"bob\"", "api");
    assert_null(text_of(viewed));
    assert_null(chat_message(viewed, strlen(viewed)));
    assert_null(text_of("not json\n\n"));
    assert_null(chat_text(NULL, 0));
    assert_null(chat_payload(NULL));
}

/* Pages of different escalations or rounds do not fold; names are escaped for Slack. */
static void test_folding_and_escaping(void **state)
{
    (void)state;
    const char *lines = EV("paged", 1, "standard", "get_help", "\"a<b>&c\"", "service")
        EV("paged", 2, "standard", "get_help", "\"bob\"", "service")
            EV("re-paged", 2, "urgent", "crisis_overdose", "\"bob\"", "service")
                EV("re-paged", 2, "urgent", "crisis_overdose", "\"carol\"", "service");
    char *text = text_of(lines);
    assert_non_null(text);
    assert_string_equal(text,
                        "standard #1 paged a&lt;b&gt;&amp;c: wants help, texter +1555***1111\n"
                        "standard #2 paged bob: wants help, texter +1555***1111\n"
                        "URGENT #2 not acknowledged, paged again bob, carol: possible overdose, "
                        "texter +1555***1111");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urgent_opened_and_paged),
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_nothing_to_post),
        cmocka_unit_test(test_folding_and_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
