/*
 * test_urgency: the learned safety net on its own (urgency.h): features (folding,
 * apostrophes, separators), determinism, scoring, the explanation, a tiny training set
 * learned, readings (the words as the matcher reads them), and the model trained from the
 * real replies/ folder, in parts as at start-up.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/urgency.h"

static const char *const crises[] = {
    "i want to die tonight",          "i took all my pills and i cant breathe",
    "im going to end it all tonight", "he is not breathing and his lips are blue",
    "i have a gun and i want to die", "i overdosed and my heart is pounding",
    "i want to kill myself",          "she took too many pills and wont wake up",
};
static const char *const calm[] = {
    "do you take cigna insurance",
    "what are your hours",
    "how long do track marks take to heal",
    "can i get the free book",
    "where are you located",
    "thanks for the info",
    "does insurance cover detox",
    "how do i remove old scars on my arm",
    "hello",
    "what treatment options do you have",
};

#define N(a) (sizeof(a) / sizeof(a)[0])

static struct urgency_set *tiny_set(void)
{
    struct urgency_set *s = urgency_set_new();
    for (size_t i = 0; i < N(crises); i++)
        urgency_set_add(s, crises[i], strlen(crises[i]), 1, 0);
    for (size_t i = 0; i < N(calm); i++)
        urgency_set_add(s, calm[i], strlen(calm[i]), 0, 1);
    assert_int_equal(urgency_set_count(s), N(crises) + N(calm));
    return s;
}

static double score(const struct urgency_model *m, const char *text)
{
    return urgency_score(m, text, strlen(text));
}

/* Texts that differ only by case, accents, curly or dropped apostrophes and separators
 * are the same features, hence the same score. */
static void test_features_fold(void **state)
{
    (void)state;
    struct urgency_set *s = tiny_set();
    struct urgency_model *m = urgency_train(s, -1);
    assert_non_null(m);
    assert_true(score(m, "I DON'T want to live") == score(m, "i dont want to live"));
    assert_true(score(m, "i don\xe2\x80\x99t want to live") == score(m, "i dont want to live"));
    assert_true(score(m, "  i, dont... want to-live!!") == score(m, "i dont want to live"));
    assert_true(score(m, "adicci\xc3\xb3n") == score(m, "ADICCION"));
    assert_true(score(m, "e\xcc\x81xito") == score(m, "\xc3\xa9xito")); /* NFKD */
    /* A word said twice is one feature: a set, not counts. */
    assert_true(score(m, "die die die") == score(m, "die"));
    /* Word order matters through the pairs. */
    assert_true(score(m, "want to die") != score(m, "die to want"));
    urgency_free(m);
    urgency_set_free(s);
}

/* The same texts train the same model, bit for bit. */
static void test_deterministic(void **state)
{
    (void)state;
    struct urgency_set *s = tiny_set();
    struct urgency_model *a = urgency_train(s, -1), *b = urgency_train(s, -1);
    assert_non_null(a);
    assert_non_null(b);
    const char *probe[] = {"i want to die", "what are your hours", "random words here", ""};
    for (size_t i = 0; i < N(probe); i++)
        assert_true(score(a, probe[i]) == score(b, probe[i]));
    urgency_free(a);
    urgency_free(b);
    urgency_set_free(s);
}

/* A tiny set is learned: its crises score high, its calm texts low, and an unseen
 * phrasing that shares their words goes their way. */
static void test_tiny_set_learned(void **state)
{
    (void)state;
    struct urgency_set *s = tiny_set();
    struct urgency_model *m = urgency_train(s, -1);
    assert_non_null(m);
    for (size_t i = 0; i < N(crises); i++)
        assert_true(score(m, crises[i]) > 0.5);
    for (size_t i = 0; i < N(calm); i++)
        assert_true(score(m, calm[i]) < 0.5);
    assert_true(score(m, "i want to die") > score(m, "do you take insurance"));
    urgency_free(m);

    /* Leaving the crises' group out leaves nothing to learn. */
    assert_null(urgency_train(s, 0));
    assert_null(urgency_train(s, 1));
    urgency_set_free(s);
}

/* Scores are probabilities, whatever the input: empty, symbols only, invalid UTF-8,
 * NUL bytes, very long texts and words. */
static void test_scores_bounded(void **state)
{
    (void)state;
    struct urgency_set *s = tiny_set();
    struct urgency_model *m = urgency_train(s, -1);
    char *big = malloc(20000);
    assert_non_null(big);
    for (int i = 0; i < 19999; i++)
        big[i] = i % 7 == 6 ? ' ' : 'a' + i % 26;
    big[19999] = '\0';
    char longword[200];
    memset(longword, 'x', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    const char *odd[] = {"", "!!! ??? ...", "\xff\xfe\x80 die", longword, big, "\xf0\x9f\x98\xad"};
    for (size_t i = 0; i < N(odd); i++) {
        double p = score(m, odd[i]);
        assert_true(p >= 0.0 && p <= 1.0);
        assert_false(isnan(p));
    }
    double p = urgency_score(m, "die\0 die", 8);
    assert_true(p >= 0.0 && p <= 1.0);
    free(big);
    urgency_free(m);
    urgency_set_free(s);
}

/* The explanation names the words that weigh towards a crisis, best first, each once. */
static void test_explanation(void **state)
{
    (void)state;
    struct urgency_set *s = tiny_set();
    struct urgency_model *m = urgency_train(s, -1);
    struct urgency_word w[3];
    const char *text = "Hello, I want to DIE. die!";
    int n = urgency_explain(m, text, strlen(text), w, 3);
    assert_true(n >= 1 && n <= 3);
    int die = 0;
    for (int i = 0; i < n; i++) {
        assert_true(w[i].weight > 0);
        if (i)
            assert_true(w[i - 1].weight >= w[i].weight);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(w[i].word, w[j].word);
        die += strcmp(w[i].word, "die") == 0;
    }
    assert_int_equal(die, 1);
    assert_int_equal(urgency_explain(m, "", 0, w, 3), 0);
    assert_int_equal(urgency_explain(m, text, strlen(text), w, 0), 0);
    urgency_free(m);
    urgency_set_free(s);
    urgency_free(NULL);
    urgency_set_free(NULL);
}

/* The model of the real replies/ folder (examples/ and the intents' examples), trained
 * on a second thread as the matcher does: the crises the rules missed in the newest
 * blind sets score past the threshold, everyday questions far below it. */
static void test_real_model(void **state)
{
    (void)state;
    struct replies *r = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    assert_non_null(r);
    struct urgency_model *m = urgency_finish(urgency_start(r));
    assert_non_null(m);
    assert_true(score(m, "i dont see the point of waking up tomorrow") >= URGENCY_THRESHOLD);
    assert_true(score(m, "what time do you open on saturday") < 0.1);
    assert_true(score(m, "do you take medicaid") < 0.1);
    struct urgency_model *again = urgency_from_replies(r);
    assert_true(score(again, "asking for a friend, is 30 pills a lot") ==
                score(m, "asking for a friend, is 30 pills a lot"));
    urgency_free(again);
    urgency_free(m);
    replies_free(r);
}

/* A reading adds its features to the text's: the same text read as itself scores as it
 * does alone; a typo read as the word it stands for scores like that word; a set built
 * with readings trains the model that scores with them. */
static void test_readings(void **state)
{
    (void)state;
    struct urgency_set *s = tiny_set();
    struct urgency_model *m = urgency_train(s, -1);
    const char *typo = "i want to dye tonihgt", *read = "i want to die tonight";
    assert_true(urgency_score_reading(m, typo, strlen(typo), typo, strlen(typo)) == score(m, typo));
    assert_true(urgency_score_reading(m, typo, strlen(typo), NULL, 0) == score(m, typo));
    assert_true(urgency_score_reading(m, typo, strlen(typo), read, strlen(read)) > score(m, typo));
    struct urgency_word w[4];
    int n = urgency_explain_reading(m, typo, strlen(typo), read, strlen(read), w, 4);
    int die = 0;
    for (int i = 0; i < n; i++)
        die += strcmp(w[i].word, "die") == 0;
    assert_int_equal(die, 1);
    urgency_free(m);

    /* With readings that are the texts themselves, the same model as without. */
    struct urgency_set *same = urgency_set_new();
    for (size_t i = 0; i < N(crises); i++)
        urgency_set_add_reading(same, crises[i], strlen(crises[i]), crises[i], strlen(crises[i]), 1,
                                0);
    for (size_t i = 0; i < N(calm); i++)
        urgency_set_add_reading(same, calm[i], strlen(calm[i]), calm[i], strlen(calm[i]), 0, 1);
    struct urgency_model *a = urgency_train(s, -1), *b = urgency_train(same, -1);
    assert_true(score(a, typo) == score(b, typo));
    assert_true(score(a, "i want to die") == score(b, "i want to die"));
    urgency_free(a);
    urgency_free(b);
    urgency_set_free(same);
    urgency_set_free(s);
}

/* The matcher's reading corrects typos and expands text-speak ("idk", "tookk",
 * "spinnin"), and the model it trains at start-up, in parts on two threads, is the one
 * urgency_set_add_reading and urgency_train make of the same texts and readings. */
static void test_start_up_model(void **state)
{
    (void)state;
    struct replies *r = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    assert_non_null(r);
    struct matcher *mt = matcher_new_with_dictionaries(r, NULL, NULL);
    assert_non_null(mt);
    char reading[512];
    const char *text = "idk how many i tookk. room spinnin";
    size_t n = matcher_reading(mt, text, strlen(text), reading, sizeof reading);
    assert_int_equal(n, strlen(reading));
    assert_string_equal(reading, "i do not know how many i took room spinning");
    assert_int_equal(matcher_reading(mt, "", 0, reading, sizeof reading), 0);
    n = matcher_reading(mt, text, strlen(text), reading, 8); /* cut between words */
    assert_int_equal(n, strlen(reading));
    assert_true(n < 8);
    assert_true(strncmp(reading, "i do not know how many", n) == 0);

    struct urgency_set *s = urgency_set_new();
    size_t count = urgency_text_count(r);
    assert_true(count > 10000);
    char buf[4096];
    for (size_t i = 0; i < count; i++) {
        int urgent, group;
        const char *t = urgency_text(r, i, &urgent, &group);
        size_t len = matcher_reading(mt, t, strlen(t), buf, sizeof buf);
        urgency_set_add_reading(s, t, strlen(t), buf, len, urgent, group);
    }
    assert_null(urgency_text(r, count, NULL, NULL));
    struct urgency_model *m = urgency_train(s, -1);
    const struct urgency_model *own = matcher_urgency_model(mt);
    assert_non_null(own);
    const char *const probe[] = {text, "what time do you open on saturday",
                                 "i dont see the point of waking up tomorrow"};
    for (size_t i = 0; i < N(probe); i++) {
        size_t len = matcher_reading(mt, probe[i], strlen(probe[i]), buf, sizeof buf);
        assert_true(urgency_score_reading(own, probe[i], strlen(probe[i]), buf, len) ==
                    urgency_score_reading(m, probe[i], strlen(probe[i]), buf, len));
    }
    urgency_free(m);
    urgency_set_free(s);
    matcher_free(mt);
    replies_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_fold),    cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_tiny_set_learned), cmocka_unit_test(test_scores_bounded),
        cmocka_unit_test(test_explanation),      cmocka_unit_test(test_real_model),
        cmocka_unit_test(test_readings),         cmocka_unit_test(test_start_up_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
