/*
 * Typo robustness of the matcher. Texts to a crisis line are typed in a hurry, scared,
 * drunk or high: a crisis must stay a crisis with a letter swapped, dropped, doubled or
 * hit beside the right key, and typo correction must not turn a calm text into a crisis.
 *
 * The property tests make deterministic single-typo variants of the longest word of every
 * labelled crisis text of replies/examples/extra and replies/examples/train that the matcher reads
 * as a crisis, and count the variants that stop being one. The allowed losses are the figures
 * reached when typo correction last changed: lower them when it improves, never raise them.
 */
#include "testutil.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int missing = 0;
    matcher = matcher_new_with_dictionaries(replies, NULL, &missing);
    if (!matcher || missing != 0)
        return -1;
    /* The rules alone: the safety net learned these very texts (test_eval.c's top). */
    matcher_set_urgency_model(matcher, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    matcher_free(matcher);
    replies_free(replies);
    return 0;
}

static int is_urgent(const char *text, struct match_explain *why)
{
    struct match_result r;
    matcher_classify(matcher, text, strlen(text), &r, why);
    return intent_escalation(r.intent) == ESCALATE_URGENT;
}

/* The kinds of typo the property tests make, in the longest word of a text. */
enum typo {
    TYPO_SWAP_MIDDLE, /* two letters in the middle swapped: "breahting" */
    TYPO_SWAP_FIRST,  /* the first two letters swapped: "rbeathing" */
    TYPO_DROP,        /* the middle letter dropped: "breahing" */
    TYPO_DOUBLE,      /* the middle letter typed twice: "breatthing" */
    TYPO_NEIGHBOUR,   /* the middle letter replaced by the key to its right: "breayhing" */
    TYPO_COUNT
};
static const char *const typo_names[TYPO_COUNT] = {"swap-middle", "swap-first", "drop", "double",
                                                   "neighbour"};

/* The key to the right of c on a QWERTY keyboard (to the left at a row's end). */
static char right_key(char c)
{
    static const char *const rows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
    for (int r = 0; r < 3; r++) {
        const char *p = strchr(rows[r], c);
        if (p)
            return p[1] ? p[1] : p[-1];
    }
    return c;
}

/*
 * Writes text with one typo of the given kind in its longest word of ASCII letters (the
 * first of the longest; words of 5 letters or more, as /work/perturb.py). Returns 0 when the
 * text has no such word.
 */
static int make_typo(const char *text, enum typo kind, char *out, size_t cap)
{
    size_t best = 0, best_len = 0, n = strlen(text);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && isalpha((unsigned char)text[j]))
            j++;
        int whole = (i == 0 || isspace((unsigned char)text[i - 1]) ||
                     ispunct((unsigned char)text[i - 1])) &&
                    (j == n || isspace((unsigned char)text[j]) || ispunct((unsigned char)text[j]));
        if (j > i && whole && j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    if (best_len < 5 || n + 2 > cap)
        return 0;
    memcpy(out, text, n + 1);
    char *w = out + best, lc;
    size_t mid = best_len / 2;
    switch (kind) {
    case TYPO_SWAP_MIDDLE:
        if (w[mid - 1] == w[mid])
            return 0;
        lc = w[mid - 1];
        w[mid - 1] = w[mid];
        w[mid] = lc;
        break;
    case TYPO_SWAP_FIRST:
        if (w[0] == w[1])
            return 0;
        lc = w[0];
        w[0] = w[1];
        w[1] = lc;
        break;
    case TYPO_DROP:
        memmove(w + mid, w + mid + 1, strlen(w + mid));
        break;
    case TYPO_DOUBLE:
        memmove(w + mid + 1, w + mid, strlen(w + mid) + 1);
        break;
    case TYPO_NEIGHBOUR:
        lc = (char)tolower((unsigned char)w[mid]);
        if (right_key(lc) == lc)
            return 0;
        w[mid] = isupper((unsigned char)w[mid]) ? (char)toupper((unsigned char)right_key(lc))
                                                : right_key(lc);
        break;
    default:
        return 0;
    }
    return 1;
}

struct tally {
    int crises;            /* crisis texts read as crises */
    int tried[TYPO_COUNT]; /* their typo variants */
    int lost[TYPO_COUNT];  /* variants no longer read as crises */
    int calm;              /* calm texts */
    int calm_urgent;       /* calm texts read as a crisis */
    int calm_corrected;    /* of those, with a word typo correction changed */
    int calm_tried;        /* typo variants of calm texts read as calm */
    int calm_raised;       /* of those, read as a crisis */
};

/* One labelled text from source (its file, for the messages) into t. */
static void tally_text(const char *source, const char *body, int labelled_urgent, struct tally *t,
                       int crises_too)
{
    char variant[4200];
    struct match_explain why;
    int urgent = is_urgent(body, &why);
    if (!labelled_urgent) {
        t->calm++;
        if (urgent) {
            t->calm_urgent++;
            if (strchr(why.normalized, '*')) {
                t->calm_corrected++;
                print_message("%s: calm text raised after correction: %s (%s)\n", source, body,
                              why.normalized);
            }
        } else {
            for (int k = 0; k < TYPO_COUNT; k++) {
                if (!make_typo(body, (enum typo)k, variant, sizeof variant))
                    continue;
                t->calm_tried++;
                if (is_urgent(variant, &why)) {
                    t->calm_raised++;
                    print_message("%s: raised by a typo (%s): %s (%s)\n", source, typo_names[k],
                                  variant, why.normalized);
                }
            }
        }
    } else if (urgent && crises_too) {
        t->crises++;
        for (int k = 0; k < TYPO_COUNT; k++) {
            if (!make_typo(body, (enum typo)k, variant, sizeof variant))
                continue;
            t->tried[k]++;
            if (!is_urgent(variant, &why)) {
                t->lost[k]++;
                print_message("crisis lost to a typo (%s): %s (%s)\n", typo_names[k], variant,
                              why.normalized);
            }
        }
    }
}

static void tally_file(const char *path, struct tally *t, int crises_too)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        json_t *item = json_loads(line, 0, NULL);
        assert_non_null(item);
        const char *body = json_string_value(json_object_get(item, "body"));
        const char *level = json_string_value(json_object_get(item, "escalate"));
        assert_non_null(body);
        assert_non_null(level);
        tally_text(path, body, strcmp(level, "urgent") == 0, t, crises_too);
        json_decref(item);
    }
    fclose(f);
}

/* The labelled texts of replies/examples/, as the loader read them. */
static void tally_examples(struct tally *t, int crises_too)
{
    for (size_t i = 0; i < replies->n_labelled; i++) {
        const struct replies_labelled *l = &replies->labelled[i];
        tally_text(replies->example_files[l->file], l->text,
                   intent_escalation(l->intent) == ESCALATE_URGENT, t, crises_too);
    }
}

/*
 * Allowed losses by kind of typo, per thousand variants tried (about 3,000-3,600 of each:
 * a rate, so that new labelled sets do not move the limit). Before Damerau-Levenshtein
 * costs, first-letter slips, dictionary and text-speak targets (the matcher of round 13):
 * swap-middle 10, swap-first 335, drop 22, double 5, neighbour 10 of about 3,100. After them,
 * with round 14's rules and set39-44: 8 of 3,313, 2 of 3,589, 23 of 3,591, 2 and 6; with
 * round 16 and set45-49 10, 4, 27, 4 and 8 of about 3,900 (swap-first was 335 before).
 */
static const double max_lost_per_mille[TYPO_COUNT] = {
    [TYPO_SWAP_MIDDLE] = 3.5, [TYPO_SWAP_FIRST] = 1.5, [TYPO_DROP] = 8.0,
    [TYPO_DOUBLE] = 1.5,      [TYPO_NEIGHBOUR] = 2.5,
};

static void test_crises_survive_one_typo(void **state)
{
    (void)state;
    struct tally t = {0};
    tally_examples(&t, 1);
    print_message("%d crisis texts read as crises\n", t.crises);
    assert_true(t.crises > 2500);
    for (int k = 0; k < TYPO_COUNT; k++) {
        print_message("%-12s %4d lost of %d (at most %.1f per thousand)\n", typo_names[k],
                      t.lost[k], t.tried[k], max_lost_per_mille[k]);
        assert_true(t.tried[k] > 2000);
    }
    for (int k = 0; k < TYPO_COUNT; k++)
        if (1000.0 * t.lost[k] > max_lost_per_mille[k] * t.tried[k])
            fail_msg("%s typos lost %d crises of %d, at most %.1f per thousand allowed",
                     typo_names[k], t.lost[k], t.tried[k], max_lost_per_mille[k]);
}

/*
 * Calm texts: few read as a crisis with a corrected word, and few typo variants of the
 * calm texts read as one. The 6 with a corrected word were so before this work and are not
 * raised by the correction alone ("compa" read "coma", "feas" "fear": Spanish plurals and
 * verb forms the word lists lack). Before it, 89 typo variants were raised ("my hpone is
 * dead" is about a phone, and is read so only because "hpone" is corrected).
 */
#define MAX_CALM_CORRECTED 6
/* Typo variants of calm texts raised, per thousand tried (12 of 52,625 with set45-47). */
#define MAX_CALM_RAISED_PER_MILLE 0.3

static void test_correction_raises_no_calm_text(void **state)
{
    (void)state;
    struct tally t = {0};
    tally_examples(&t, 0);
    tally_file(HOTLINE_SOURCE_DIR "/tests/data/eval-dev.jsonl", &t, 0);
    print_message("%d calm texts, %d read as a crisis, %d of them after a correction; %d of %d "
                  "typo variants raised\n",
                  t.calm, t.calm_urgent, t.calm_corrected, t.calm_raised, t.calm_tried);
    assert_true(t.calm > 9000);
    assert_true(t.calm_corrected <= MAX_CALM_CORRECTED);
    assert_true(1000.0 * t.calm_raised <= MAX_CALM_RAISED_PER_MILLE * t.calm_tried);
}

#define assert_words(text, want)                                                                   \
    do {                                                                                           \
        struct match_explain why_;                                                                 \
        is_urgent(text, &why_);                                                                    \
        if (strcmp(why_.normalized, want) != 0)                                                    \
            fail_msg("'%s': words '%s', want '%s'", text, why_.normalized, want);                  \
    } while (0)

#define assert_urgent(text, want)                                                                  \
    do {                                                                                           \
        struct match_explain why_;                                                                 \
        if (is_urgent(text, &why_) != (want))                                                      \
            fail_msg("'%s': %s, want %s (words: %s; why: %s)", text, (want) ? "calm" : "urgent",   \
                     (want) ? "urgent" : "calm", why_.normalized, why_.reason);                    \
    } while (0)

/* What correction makes of single words, with the '*' of `hotline chat`. */
static void test_corrections(void **state)
{
    (void)state;
    /* The first two letters swapped: a changed first letter is allowed for a swap. */
    assert_words("rbeathing", "breathing*");
    assert_words("toher", "other*");
    assert_words("uqiero", "quiero*");
    /* A swap is one edit (Damerau), cheaper than an added letter: "after", not "faster". */
    assert_words("fater", "after*");
    /* A doubled letter typed once: "kills", not "kids". */
    assert_words("kils", "kills*");
    /* A letter dropped, a letter doubled, a key beside the right one. */
    assert_words("breating", "breathing*");
    assert_words("overdossed", "overdosed*");
    assert_words("xanx", "xanax*");
    assert_words("matr", "matar*");
    /* Two edits from seven letters. */
    assert_words("typicle", "typical*");
    /* Another form of a word of replies/ is no typo: "rayé" is "raya", not "rate". */
    assert_words("rayé", "raya*");
    /* From 5 letters, a first letter dropped or hit beside the right key. */
    assert_words("ablan", "hablan*");
    assert_words("natar", "matar*");
    assert_words("nding", "ending*");
    /* A dictionary word one slip away whose stem phrases use. */
    assert_words("slittign", "slitting*");
    assert_words("seling", "selling*");
    /* Text-speak words are targets too, from 5 letters and with their first letter. */
    assert_words("wnana", "want to");
    assert_words("ureslf", "yourself");
    assert_words("iding", "hiding*");
    assert_words("oing", "oing");
    /* A first letter that sounds alike: the insurer, not "signs". */
    assert_words("signa", "cigna*");
    /* A dropped final g. */
    assert_words("goin", "going*");
    assert_words("feelin", "feeling*");
    /* Contractions text-speak does not list: not "whole", not "hell". */
    assert_words("who've", "who have");
    assert_words("he'll", "he will");
    /* Real words and short words are left alone. */
    assert_words("selling", "selling");
    assert_words("pills", "pills");
    assert_words("rehash", "rehash");
    assert_words("hii", "hii");
}

static void test_typos_in_english(void **state)
{
    (void)state;
    assert_urgent("hes not rbeathing", 1);
    assert_urgent("HES NOT BREATING WHAT DO I DO", 1);
    assert_urgent("see u on the toher side", 1);
    assert_urgent("i keep thinking about slittign my wrists", 1);
    assert_urgent("thinking about steppinng in front of the train", 1);
    assert_urgent("the arzor is right next to me", 1);
    assert_urgent("my friend is barely breahting after a shot", 1);
    assert_urgent("he is making weird snoirng sounds and wont wake up", 1);
    assert_urgent("im so tired of bein alive", 1);
    /* Corrected words that stay calm. */
    assert_urgent("my hpone is dead", 0);
    assert_urgent("do you take signa", 0);
    assert_urgent("im selling my car", 0);
    assert_urgent("im seling my car", 0);
    assert_urgent("i keep oing it, is that addiction", 0);
    assert_urgent("my wallet is already cying lol", 0);
    assert_urgent("what is a typicle day like in detox", 0);
    assert_urgent("last omnth my arm was bruised, will it heal", 0);
}

static void test_typos_in_spanish(void **state)
{
    (void)state;
    assert_urgent("díganle a mi mamá que la uqiero y que no fue su culpa", 1);
    assert_urgent("me wuiero matar", 1);
    assert_urgent("me quiero matr", 1);
    assert_urgent("me quiero natar", 1);
    assert_urgent("ya no quiero segiur viviendo", 1);
    assert_urgent("mi hijo no respria", 1);
    assert_urgent("tengo la ipstola de mi esposo aqui", 1);
    assert_urgent("mi hija dice que se va a cortar las evnas", 1);
    assert_urgent("ya no voy a setar aqui mañana", 1);
    /* Corrected words that stay calm. */
    assert_urgent("cuanto cuetsa el tratamiento", 0);
    assert_urgent("aceptan sguro medico", 0);
    assert_urgent("los terapeutas ablan español?", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrections),
        cmocka_unit_test(test_typos_in_english),
        cmocka_unit_test(test_typos_in_spanish),
        cmocka_unit_test(test_crises_survive_one_typo),
        cmocka_unit_test(test_correction_raises_no_calm_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
