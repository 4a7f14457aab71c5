/*
 * test_urgency: the learned safety net on its own (urgency.h): features (folding,
 * apostrophes, separators), determinism, scoring, the explanation, a tiny training set
 * learned, and the model trained from the real replies/ folder.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_fold),    cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_tiny_set_learned), cmocka_unit_test(test_scores_bounded),
        cmocka_unit_test(test_explanation),      cmocka_unit_test(test_real_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
