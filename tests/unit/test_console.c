/*
 * Tests for `hotline chat` (console.c): a scripted session through the real replies and
 * matcher keeps each texter's conversation across lines, as the service would: the menu
 * number picks its topic, a repeated question gets the pointer, STOP silences all but
 * HELP, /as switches to a texter with a state of its own, /reset forgets one.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotline/console.h"
#include "hotline/matcher.h"
#include "hotline/replies.h"

static struct replies *replies;
static struct matcher *matcher;

static int setup(void **state)
{
    (void)state;
    replies = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    if (!replies)
        return -1;
    matcher = matcher_new_with_dictionaries(replies, NULL, NULL);
    return matcher ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    matcher_free(matcher);
    replies_free(replies);
    return 0;
}

/* Runs script through a session; returns the "hotline> ..." lines, one per text. */
static char *run(const char *script)
{
    struct conversation_rules rules;
    conversation_rules_default(&rules);
    FILE *in = fmemopen((void *)script, strlen(script), "r");
    char *out_buf = NULL;
    size_t out_len = 0;
    FILE *out = open_memstream(&out_buf, &out_len);
    assert_non_null(in);
    assert_non_null(out);
    assert_int_equal(console_run(replies, matcher, &rules, in, out, false), 0);
    fclose(in);
    fclose(out);
    return out_buf;
}

/* The n-th (0-based) line of out that starts with prefix, copied; NULL when none. */
static char *nth_line(const char *out, const char *prefix, int n)
{
    size_t plen = strlen(prefix);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, prefix, plen) == 0 && n-- == 0) {
            size_t len = strcspn(l, "\n");
            char *copy = malloc(len + 1);
            memcpy(copy, l, len);
            copy[len] = '\0';
            return copy;
        }
    }
    return NULL;
}

static void expect_reply(const char *out, int n, const char *answer)
{
    char *line = nth_line(out, "hotline> ", n);
    if (!line)
        fail_msg("no reply %d in:\n%s", n, out);
    if (strcmp(line + strlen("hotline> "), answer) != 0)
        fail_msg("reply %d is \"%s\", expected \"%s\"", n, line, answer);
    free(line);
}

static void test_menu_pointer_and_stop(void **state)
{
    (void)state;
    char *out = run("hi\n"
                    "1\n"
                    "do you take aetna insurance\n"
                    "STOP\n"
                    "what does treatment look like\n"
                    "HELP\n"
                    "START\n");
    expect_reply(out, 0, replies->intents[INTENT_GREETING].answer[LANG_EN]);
    assert_non_null(
        strstr(replies->intents[INTENT_GREETING].answer[LANG_EN], replies->menu.text[LANG_EN]));
    expect_reply(out, 1, replies->intents[INTENT_INSURANCE].answer[LANG_EN]);
    assert_non_null(strstr(out, "intent=fallback -> insurance"));
    expect_reply(out, 2, replies->menu.repeat[LANG_EN]);
    expect_reply(out, 3, replies->intents[INTENT_OPT_OUT].answer[LANG_EN]);
    expect_reply(out, 4, "(no reply)");
    expect_reply(out, 5, replies->intents[INTENT_HELP_KEYWORD].answer[LANG_EN]);
    expect_reply(out, 6, replies->intents[INTENT_OPT_IN].answer[LANG_EN]);
    free(out);
}

static void test_texters_and_reset(void **state)
{
    (void)state;
    char *out = run("hola, necesito ayuda con el seguro\n"
                    "/as +15550001234\n"
                    "1\n"
                    "/as +15555550100\n"
                    "ok\n"
                    "STOP\n"
                    "/reset\n"
                    "do you take cigna\n"
                    "/as 12345\n"
                    "/nope\n");
    /* The first texter wrote Spanish: "ok" keeps Spanish. */
    char *first = nth_line(out, "hotline> ", 0);
    assert_non_null(first);
    free(first);
    /* A new texter's "1" picks nothing: no menu was shown to them. */
    char *pick = nth_line(out, "  [intent=", 1);
    assert_non_null(pick);
    assert_null(strstr(pick, "->"));
    free(pick);
    char *ok = nth_line(out, "  [intent=", 2);
    assert_non_null(strstr(ok, "reply_lang=es"));
    free(ok);
    /* STOP in Spanish; after /reset the texter is new: answered again, in English. */
    expect_reply(out, 3, replies->intents[INTENT_OPT_OUT].answer[LANG_ES]);
    expect_reply(out, 4, replies->intents[INTENT_INSURANCE].answer[LANG_EN]);
    assert_non_null(strstr(out, "[/as needs a number like"));
    assert_non_null(strstr(out, "[unknown command /nope"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_menu_pointer_and_stop),
        cmocka_unit_test(test_texters_and_reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
