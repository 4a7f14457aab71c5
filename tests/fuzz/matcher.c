/*
 * fuzz matcher: an SMS body, as anyone can text it, through the matcher (folding,
 * text-speak, typo correction, stemming, phrases, similarity, decision) and through the
 * staff-command parser that the same body meets when it comes from a staff phone
 * (escalation_parse_command: "ACK 17", "R 17 text", "CLOSE 17").
 *
 * The bytes are arbitrary: invalid UTF-8, NULs, overlong forms, lone surrogates, huge
 * runs of one letter, thousands of tokens. One matcher is built once from the repo's
 * replies/ and Debian's word lists, as `hotline serve` builds it, and kept across inputs,
 * so its memo of words grows as in a long-running service.
 *
 * Properties: intent, language and keyword are in range and confidence is a number in
 * [0, 1]; classifying the same text again, with the explanation on, gives the same
 * answer (the memo must never change a decision); the explanation's strings are
 * terminated; a parsed staff command has a positive id that did not
 * overflow, and a reply's text lies
 * inside the text.
 */
#include "fuzz.h"

#include <math.h>

#include "hotline/escalation.h"
#include "hotline/matcher.h"
#include "hotline/replies.h"

static struct replies *g_replies;
static struct matcher *g_matcher;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    g_replies = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    if (!g_replies) {
        fprintf(stderr, "fuzz_matcher: cannot load %s/replies\n", HOTLINE_SOURCE_DIR);
        abort();
    }
    int failed = 0;
    g_matcher = matcher_new_with_dictionaries(g_replies, NULL, &failed);
    if (!g_matcher)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct match_result a, b;
    matcher_classify(g_matcher, (const char *)data, size, &a, NULL);
    FUZZ_CHECK((unsigned)a.intent < INTENT_COUNT);
    FUZZ_CHECK((unsigned)a.lang < LANG_COUNT);
    FUZZ_CHECK(a.keyword == 0 || a.keyword == 1);
    FUZZ_CHECK(!isnan(a.confidence) && a.confidence >= 0.0 && a.confidence <= 1.0);

    struct match_explain *why = malloc(sizeof *why);
    FUZZ_CHECK(why);
    memset(why, 0xA5, sizeof *why);
    matcher_classify(g_matcher, (const char *)data, size, &b, why);
    FUZZ_CHECK(a.intent == b.intent && a.lang == b.lang && a.keyword == b.keyword);
    FUZZ_CHECK(a.confidence == b.confidence);
    FUZZ_CHECK(memchr(why->normalized, '\0', sizeof why->normalized));
    FUZZ_CHECK(memchr(why->reason, '\0', sizeof why->reason));
    free(why);

    char *text = fuzz_cstr(data, size);
    int64_t id = 0;
    const char *msg = NULL;
    enum escalation_cmd cmd = escalation_parse_command(text, &id, &msg);
    if (cmd != ESCALATION_CMD_NONE)
        FUZZ_CHECK(id >= 1 && id < 10000000000000LL); /* no overflow */
    if (cmd == ESCALATION_CMD_REPLY)
        FUZZ_CHECK(msg > text && msg <= text + strlen(text));
    free(text);
    return 0;
}
