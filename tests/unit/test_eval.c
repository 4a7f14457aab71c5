/*
 * The dev-set guard: runs the matcher over the labelled dev set (a copy of
 * ../shared/eval/dev.jsonl in tests/data) and the labelled sets of replies/examples/, and
 * fails when accuracy drops below the figures reached so far, so that no change silently
 * loses accuracy. Those floors are the rules' alone (the learned safety net off): the
 * safety net learns from replies/examples/ itself, so with it on they would measure
 * nothing. The safety net is measured apart, leave-one-file-out (test_safety_net_held_out).
 * Also runs the built `hotline match` over the same file and checks the output contract.
 */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/urgency.h"

/* Floors: the figures measured when the matcher last changed, rounded down. */
#define MIN_INTENT_ACC 0.99
#define MIN_URGENT_RECALL 1.0
#define MAX_FALSE_URGENT 0.005
#define MIN_SPANISH_ACC 0.97
#define MIN_LANG_ACC 0.99

#define DEV_SET HOTLINE_SOURCE_DIR "/tests/data/eval-dev.jsonl"

/* Floors on the extra sets, below what each reached (worst since matcher round 6: intent
 * 0.947 on set4, false urgent 0.000, Spanish 0.950 on set6). False urgent keeps its 0.01 budget: a
 * missed crisis is the worse error. */
#define EXTRA_MIN_INTENT_ACC 0.94
#define EXTRA_MAX_FALSE_URGENT 0.01
#define EXTRA_MIN_SPANISH_ACC 0.94

struct figures {
    int n;
    double intent_acc, urgent_recall, false_urgent, es_acc, lang_acc;
};

/* The scorer's figures for a labelled JSONL file (../shared/eval/README.md's scheme). */
static struct figures measure(struct matcher *m, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    char line[4096];
    int n = 0, right = 0, urgent = 0, urgent_hit = 0, calm = 0, false_urgent = 0, es = 0,
        es_right = 0, lang_right = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t err;
        json_t *item = json_loads(line, 0, &err);
        assert_non_null(item);
        const char *body = json_string_value(json_object_get(item, "body"));
        const char *want = json_string_value(json_object_get(item, "intent"));
        const char *lang = json_string_value(json_object_get(item, "lang"));
        const char *level = json_string_value(json_object_get(item, "escalate"));
        assert_non_null(body);
        struct match_result r;
        matcher_classify(m, body, strlen(body), &r, NULL);
        int ok = strcmp(intent_name(r.intent), want) == 0;
        int got_urgent = intent_escalation(r.intent) == ESCALATE_URGENT;
        n++;
        right += ok;
        if (strcmp(level, "urgent") == 0) {
            urgent++;
            urgent_hit += got_urgent;
            if (!got_urgent)
                print_message("%s: missed urgent: %s\n", path, body);
        } else {
            calm++;
            false_urgent += got_urgent;
        }
        if (strcmp(lang, "es") == 0) {
            es++;
            es_right += ok;
        }
        lang_right += strcmp(lang_name(r.lang), lang) == 0;
        json_decref(item);
    }
    fclose(f);
    struct figures fig = {
        .n = n,
        .intent_acc = (double)right / n,
        .urgent_recall = urgent ? (double)urgent_hit / urgent : 1.0,
        .false_urgent = calm ? (double)false_urgent / calm : 0.0,
        .es_acc = es ? (double)es_right / es : 1.0,
        .lang_acc = (double)lang_right / n,
    };
    print_message("%s: n=%d intent_acc=%.3f urgent_recall=%.3f false_urgent=%.3f es_acc=%.3f "
                  "lang_acc=%.3f\n",
                  path, n, fig.intent_acc, fig.urgent_recall, fig.false_urgent, fig.es_acc,
                  fig.lang_acc);
    return fig;
}

static struct matcher *load_matcher(struct replies **replies)
{
    *replies = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    assert_non_null(*replies);
    int missing = -1;
    struct matcher *m = matcher_new_with_dictionaries(*replies, NULL, &missing);
    assert_non_null(m);
    assert_int_equal(missing, 0);
    matcher_set_urgency_model(m, NULL); /* the rules alone: see the top of this file */
    return m;
}

/* A labelled set's floors: its size and the figures it must keep. */
struct set_floors {
    const char *name;
    int min_n;
    double intent, recall, false_urgent, es;
};

/* Measures each set in replies/examples/<folder>/ and holds it to its floors. */
static void check_floors(const char *folder, const struct set_floors *sets, size_t n)
{
    struct replies *replies;
    struct matcher *m = load_matcher(&replies);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/replies/examples/%s/%s.jsonl", HOTLINE_SOURCE_DIR, folder,
                 sets[i].name);
        struct figures fig = measure(m, path);
        assert_true(fig.n >= sets[i].min_n);
        assert_true(fig.urgent_recall >= sets[i].recall);
        assert_true(fig.intent_acc >= sets[i].intent);
        assert_true(fig.false_urgent <= sets[i].false_urgent);
        assert_true(fig.es_acc >= sets[i].es);
    }
    matcher_free(m);
    replies_free(replies);
}

static void test_dev_set_figures(void **state)
{
    (void)state;
    struct replies *replies;
    struct matcher *m = load_matcher(&replies);
    struct figures fig = measure(m, DEV_SET);
    matcher_free(m);
    replies_free(replies);
    assert_true(fig.n > 100);
    assert_true(fig.intent_acc >= MIN_INTENT_ACC);
    assert_true(fig.urgent_recall >= MIN_URGENT_RECALL);
    assert_true(fig.false_urgent <= MAX_FALSE_URGENT);
    assert_true(fig.es_acc >= MIN_SPANISH_ACC);
    assert_true(fig.lang_acc >= MIN_LANG_ACC);
}

/* The extra sets (replies/examples/extra/README.md): no crisis they hold may be missed again,
 * and the rest must not slip below what was reached. */
static void test_extra_sets_figures(void **state)
{
    (void)state;
    static const char *const sets[] = {"set1", "set2", "set3", "set4",
                                       "set5", "set6", "set7", "crisis"};
    struct replies *replies;
    struct matcher *m = load_matcher(&replies);
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/replies/examples/extra/%s.jsonl", HOTLINE_SOURCE_DIR,
                 sets[i]);
        struct figures fig = measure(m, path);
        assert_true(fig.n >= 300);
        assert_true(fig.urgent_recall >= 1.0);
        assert_true(fig.intent_acc >= EXTRA_MIN_INTENT_ACC);
        assert_true(fig.false_urgent <= EXTRA_MAX_FALSE_URGENT);
        assert_true(fig.es_acc >= EXTRA_MIN_SPANISH_ACC);
    }
    matcher_free(m);
    replies_free(replies);
}

/* Three false urgents came back when a greeting stopped counting as a question that a weak
 * crisis sign must outweigh ("hey. od happening rn" had been read as a greeting): crisis26
 * 0.20 -> 0.21, set28 0.001 -> 0.004 ("hey so my dad ... now pills too. how do we get him
 * into your place") and train18a below. */
/* The sets of the third session and set9/crisis9 of the fourth (replies/examples/extra/README.md),
 * each with floors just below
 * what it reached: crisis8 is 100 indirect crises and 100 calm look-alikes, and one of its
 * crises ("is it normal for someone to breathe like 3 times a minute") is still read as a
 * question. */
static void test_later_sets_figures(void **state)
{
    (void)state;
    static const struct set_floors sets[] = {
        {"set8", 300, 0.98, 1.0, 0.005, 0.98},
        {"setH", 220, 0.99, 1.0, 0.01, 0.99},
        {"crisis8", 200, 0.875, 0.99, 0.04, 0.95},
        {"set9", 300, 0.98, 1.0, 0.005, 0.97},
        {"crisis9", 200, 0.885, 1.0, 0.031, 0.905},
        {"set10", 300, 0.99, 1.0, 0.004, 0.99},
        {"set11", 300, 0.975, 1.0, 0.004, 0.98},
        {"crisis11", 200, 0.89, 1.0, 0.081, 0.91},
        {"set12", 300, 0.99, 1.0, 0.004, 0.99},
        {"set13", 300, 0.99, 1.0, 0.004, 0.98},
        {"set14", 300, 0.99, 1.0, 0.004, 0.98},
        {"crisis15", 200, 0.88, 1.0, 0.03, 0.88},
        {"set16", 300, 0.97, 1.0, 0.004, 0.97},
        {"crisis17", 200, 0.91, 1.0, 0.091, 0.87},
        {"set19", 300, 0.97, 1.0, 0.004, 0.98},
        {"set20", 300, 0.96, 1.0, 0.001, 0.93},
        {"set21", 300, 0.94, 1.0, 0.001, 0.95},
        {"set22", 300, 0.96, 1.0, 0.017, 0.97},
        {"set23", 300, 0.95, 1.0, 0.005, 0.97},
        {"set24", 300, 0.94, 1.0, 0.009, 0.94},
        {"set25", 300, 0.935, 1.0, 0.005, 0.93},
        {"crisis26", 200, 0.82, 1.0, 0.161, 0.79},
        {"set27", 300, 0.935, 1.00, 0.005, 0.86},
        {"set28", 300, 0.94, 1.00, 0.004, 0.91},
        {"set29", 300, 0.94, 1.0, 0.009, 0.94},
        {"set30", 300, 0.96, 1.0, 0.001, 0.92},
        {"set31", 300, 0.99, 1.0, 0.001, 0.98},
        {"set32", 300, 0.995, 1.0, 0.001, 0.995},
        {"set33", 300, 0.985, 1.0, 0.001, 0.995},
        {"set34", 300, 0.99, 1.0, 0.001, 0.995},
        {"crisis35", 200, 0.98, 1.0, 0.001, 0.975},
        {"set37", 300, 0.975, 1.0, 0.009, 0.97},
        {"set38", 300, 0.98, 1.0, 0.001, 0.995},
        /* Measured blind after round 14; studied in round 15. */
        {"set39", 300, 0.955, 1.0, 0.005, 0.92},
        {"set40", 300, 0.965, 1.0, 0.005, 0.97},
        {"crisis41", 200, 0.925, 1.0, 0.041, 0.94},
        /* Measured blind with round 14 and the safety net (which then raised crisis44's
         * recall to 0.980); the rules alone below. */
        {"set42", 300, 0.97, 1.0, 0.001, 0.96},
        {"set43", 300, 0.975, 1.0, 0.001, 0.97},
        {"crisis44", 200, 0.965, 1.0, 0.001, 0.85},
        /* Measured blind with round 15 and the net's second round; not yet studied. */
        {"set45", 300, 0.975, 1.0, 0.005, 0.985},
        {"set46", 300, 0.97, 1.0, 0.001, 0.955},
        {"crisis47", 200, 0.885, 0.93, 0.061, 0.88},
        /* Measured blind with round 15 and the net's second round, then with round 16. */
        {"set48", 300, 0.965, 1.0, 0.001, 0.97},
        {"set49", 300, 0.955, 1.0, 0.001, 0.96},
        /* Measured blind with round 16 (the matcher at the close of session 4). */
        {"set50", 300, 0.98, 1.0, 0.001, 0.985},
        {"set51", 300, 0.965, 1.0, 0.005, 0.995},
    };
    check_floors("extra", sets, sizeof sets / sizeof sets[0]);
}

/* The development corpora of round 8 (replies/examples/train/README.md): train18a is 200 urgent
 * texts across the clinical warning signs and 200 calm look-alikes, train18b 400 texts of
 * every intent. Floors just below what round 9 reached on them; train18a's false urgent
 * 0.01 -> 0.015 when a greeting stopped counting as calm ("...black tar heroin. how does
 * that even happen": "even" stems as "evening" had). */
static void test_train_sets_figures(void **state)
{
    (void)state;
    static const struct set_floors sets[] = {
        {"train18a", 400, 0.90, 1.0, 0.015, 0.915},
        {"train18b", 400, 0.99, 1.0, 0.004, 0.99},
        /* Round 13's, studied in round 14. */
        {"train36a", 300, 0.93, 1.0, 0.001, 0.0},
        {"train36b", 300, 0.90, 1.0, 0.041, 0.90},
    };
    check_floors("train", sets, sizeof sets / sizeof sets[0]);
}

/*
 * The learned safety net, measured honestly: leave-one-file-out. For each file of
 * replies/examples/ a model is trained on every other file (and the intents' example
 * texts), each text with its reading by the matcher as at start-up, and the matcher
 * (rules + that model) reads the file left out; the dev set is read with the model of
 * every file. A crisis the rules alone miss and the net raises is recovered; a calm text
 * the rules leave calm and the net raises is a false alarm added. Counted by threshold:
 * URGENCY_THRESHOLD for a text without crisis words, URGENCY_THRESHOLD_WORDS for one whose
 * crisis words the rules found too weak or set aside by a question or laughter; and the
 * curve over both, from which they were chosen (the most crises recovered for the fewest
 * false alarms, well within 0.2% of the calm texts).
 * Floors: what the thresholds reached (3 epochs). How many of the rules' misses the net
 * recovers depends on the rules (round 14's missed 12 held-out crises and the net recovered
 * 10; round 15's rules miss 1), so the net is also held to what it raises alone, rules
 * aside: NET_MIN_ALONE of every held-out crisis. The crises neither raises,
 * NET_MAX_STILL_MISSED, must not grow.
 */
#define NET_MIN_ALONE 0.81         /* of held-out crises the net alone raises (0.813) */
#define NET_MAX_STILL_MISSED 3     /* crises neither the rules nor the net raise (of 8) */
#define NET_MAX_ADDED_SHARE 0.0012 /* false alarms added: 14 of 12,589 calm texts (0.11%) */
#define NET_MAX_ADDED_SETS 4       /* ...of them on the set* files (texts as they come) */
#define NET_MAX_ADDED_PER_FILE 3

/* For the curve: each text the rules left calm (a crisis missed, or a calm text). */
struct net_text {
    float p;
    unsigned char urgent, words, held;
};

struct net_figures {
    int missed, recovered, calm, added;
    int crises, alone; /* held-out crises, and those the net alone raises at its threshold */
    int recovered_words, added_words; /* ...of them at URGENCY_THRESHOLD_WORDS */
    int curve;                        /* 1: the texts go into the curve */
};

static struct net_text *curve;
static size_t n_curve, cap_curve;

static void net_count(struct matcher *m, const struct urgency_model *model, const char *body,
                      int urgent, struct net_figures *fig)
{
    struct match_result off, on;
    struct match_explain why;
    matcher_set_urgency_model(m, NULL);
    matcher_classify(m, body, strlen(body), &off, NULL);
    matcher_set_urgency_model(m, model);
    matcher_classify(m, body, strlen(body), &on, &why);
    struct match_result quiet;
    matcher_classify(m, body, strlen(body), &quiet, NULL);
    assert_int_equal(quiet.intent, on.intent); /* an explanation changes nothing */
    int was = intent_escalation(off.intent) == ESCALATE_URGENT;
    int is = intent_escalation(on.intent) == ESCALATE_URGENT;
    assert_true(is || !was); /* the net only ever adds a crisis */
    if (!was && !is)
        assert_int_equal(on.intent, off.intent);
    if (!was && !off.keyword && fig->curve) {
        if (n_curve == cap_curve) {
            cap_curve = cap_curve ? 2 * cap_curve : 4096;
            curve = realloc(curve, cap_curve * sizeof *curve);
            assert_non_null(curve);
        }
        curve[n_curve++] = (struct net_text){(float)why.urgency, (unsigned char)urgent,
                                             (unsigned char)why.crisis_words,
                                             (unsigned char)(why.set_aside > why.laughed_aside)};
    }
    if (is && !was)
        assert_true(why.urgency >= why.urgency_threshold);
    if (urgent) {
        /* The net alone, whatever the rules said: how well it carries to unseen texts. */
        char reading[4096];
        size_t n = matcher_reading(m, body, strlen(body), reading, sizeof reading);
        fig->crises++;
        fig->alone +=
            urgency_score_reading(model, body, strlen(body), reading, n) >= URGENCY_THRESHOLD;
        fig->missed += !was;
        fig->recovered += !was && is;
        fig->recovered_words += !was && is && why.crisis_words;
        if (!was)
            print_message("  rules missed%s: p=%.3f (threshold %.2f) %s\n",
                          is ? ", net recovered" : "", why.urgency, why.urgency_threshold, body);
    } else {
        fig->calm++;
        fig->added += !was && is;
        fig->added_words += !was && is && why.crisis_words;
        if (!was && is)
            print_message("  net added a false alarm: p=%.3f (threshold %.2f) %s\n", why.urgency,
                          why.urgency_threshold, body);
    }
}

static void net_add(struct net_figures *to, const struct net_figures *fig)
{
    to->crises += fig->crises;
    to->alone += fig->alone;
    to->missed += fig->missed;
    to->recovered += fig->recovered;
    to->calm += fig->calm;
    to->added += fig->added;
    to->recovered_words += fig->recovered_words;
    to->added_words += fig->added_words;
}

/* The curve: recovered and added at other thresholds, from the texts' probabilities. */
static void net_curve(void)
{
    static const double t1s[] = {0.99, 0.98, 0.97, 0.96, 0.95, 0.93};
    static const double t2s[] = {0.97, 0.95, 0.94, 0.93, 0.92, 0.90, 0.85, 0.80, 0.70, 0.50};
    print_message("curve: recovered/added by URGENCY_THRESHOLD (rows) and "
                  "URGENCY_THRESHOLD_WORDS (columns, up to the row's)\n");
    for (size_t a = 0; a < sizeof t1s / sizeof t1s[0]; a++) {
        char line[512];
        int used = snprintf(line, sizeof line, "  %.2f:", t1s[a]);
        for (size_t b = 0; b < sizeof t2s / sizeof t2s[0]; b++) {
            if (t2s[b] > t1s[a] + 1e-9)
                continue;
            int rec = 0, add = 0;
            for (size_t i = 0; i < n_curve; i++) {
                const struct net_text *t = &curve[i];
                double th = t->words ? t2s[b] : t1s[a];
                if (t->held || t->p < th)
                    continue;
                rec += t->urgent;
                add += !t->urgent;
            }
            used +=
                snprintf(line + used, sizeof line - (size_t)used, " %.2f=%d/%d", t2s[b], rec, add);
        }
        print_message("%s\n", line);
    }
}

static void test_safety_net_held_out(void **state)
{
    (void)state;
    struct replies *r;
    struct matcher *m = load_matcher(&r);
    struct urgency_set *set = urgency_set_new();
    size_t n_texts = urgency_text_count(r);
    char reading[4096];
    for (size_t i = 0; i < n_texts; i++) {
        int urgent, group;
        const char *text = urgency_text(r, i, &urgent, &group);
        size_t n = matcher_reading(m, text, strlen(text), reading, sizeof reading);
        urgency_set_add_reading(set, text, strlen(text), reading, n, urgent, group);
    }
    struct net_figures all = {0}, sets = {0}, newest = {0};
    for (size_t f = 0; f < r->n_example_files; f++) {
        struct urgency_model *model = urgency_train(set, (int)f);
        assert_non_null(model);
        struct net_figures fig = {.curve = 1};
        print_message("%s:\n", r->example_files[f]);
        for (size_t i = 0; i < r->n_labelled; i++)
            if (r->labelled[i].file == f)
                net_count(m, model, r->labelled[i].text,
                          intent_escalation(r->labelled[i].intent) == ESCALATE_URGENT, &fig);
        urgency_free(model);
        const char *base = strrchr(r->example_files[f], '/') + 1;
        print_message("%s: rules missed %d, net recovered %d; false alarms added %d of %d\n", base,
                      fig.missed, fig.recovered, fig.added, fig.calm);
        assert_true(fig.added <= NET_MAX_ADDED_PER_FILE);
        net_add(&all, &fig);
        if (strncmp(base, "set", 3) == 0) {
            sets.calm += fig.calm;
            sets.added += fig.added;
        }
        /* The newest blind sets, written after the prototype was tuned. */
        if (strcmp(base, "set39.jsonl") == 0 || strcmp(base, "set40.jsonl") == 0 ||
            strcmp(base, "crisis41.jsonl") == 0) {
            newest.missed += fig.missed;
            newest.recovered += fig.recovered;
            newest.added += fig.added;
        }
    }
    /* The dev set is in no file the model learns from. */
    struct urgency_model *model = urgency_train(set, -1);
    struct net_figures dev = {0};
    FILE *f = fopen(DEV_SET, "r");
    assert_non_null(f);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        json_t *item = json_loads(line, 0, NULL);
        assert_non_null(item);
        net_count(m, model, json_string_value(json_object_get(item, "body")),
                  strcmp(json_string_value(json_object_get(item, "escalate")), "urgent") == 0,
                  &dev);
        json_decref(item);
    }
    fclose(f);
    /* The model trained at start-up (urgency_start, urgency_read, urgency_finish) is the
     * one these texts and readings train. */
    const struct urgency_model *own = matcher_urgency_model(m);
    assert_non_null(own);
    for (size_t i = 0; i < n_texts; i += 97) {
        const char *text = urgency_text(r, i, NULL, NULL);
        size_t n = matcher_reading(m, text, strlen(text), reading, sizeof reading);
        assert_true(urgency_score_reading(own, text, strlen(text), reading, n) ==
                    urgency_score_reading(model, text, strlen(text), reading, n));
    }
    urgency_free(model);
    urgency_set_free(set);
    matcher_free(m);
    replies_free(r);
    net_curve();
    free(curve);
    curve = NULL;
    n_curve = cap_curve = 0;
    print_message("held out (thresholds %.2f, %.2f with crisis words): rules missed %d, net "
                  "recovered %d (%d at %.2f); false alarms added %d (%d at %.2f) of %d (set* "
                  "files %d of %d); newest sets: missed %d, recovered %d, added %d; dev set: "
                  "missed %d, added %d of %d\n",
                  URGENCY_THRESHOLD, URGENCY_THRESHOLD_WORDS, all.missed, all.recovered,
                  all.recovered_words, URGENCY_THRESHOLD_WORDS, all.added, all.added_words,
                  URGENCY_THRESHOLD_WORDS, all.calm, sets.added, sets.calm, newest.missed,
                  newest.recovered, newest.added, dev.missed, dev.added, dev.calm);
    assert_true(all.calm > 10000);
    print_message("the net alone raises %d of %d held-out crises (%.3f) at %.2f\n", all.alone,
                  all.crises, (double)all.alone / all.crises, URGENCY_THRESHOLD);
    assert_true(all.crises > 3000);
    assert_true(all.alone >= NET_MIN_ALONE * all.crises);
    assert_true(all.missed - all.recovered <= NET_MAX_STILL_MISSED);
    assert_true(all.added <= NET_MAX_ADDED_SHARE * all.calm);
    assert_true(sets.added <= NET_MAX_ADDED_SETS);
    assert_int_equal(newest.added, 0);
    assert_int_equal(dev.added, 0);
}

/* A crisis wrapped as texters wrap one: how 0 puts a greeting before it, 1 a question
 * about something else before it, 2 one after it. Returns snprintf's count. */
static int wrap(char *out, size_t size, int how, enum lang lang, const char *body)
{
    int es = lang == LANG_ES;
    switch (how) {
    case 0:
        return snprintf(out, size, es ? "hola. %s" : "hey. %s", body);
    case 1:
        return snprintf(out, size, es ? "aceptan medi-cal? %s" : "do you guys take cigna? %s",
                        body);
    default:
        return snprintf(out, size,
                        es ? "%s. por cierto a que hora abren" : "%s also what are ur hours", body);
    }
}

/* Every labelled crisis of every set that the matcher reads as a crisis (2,700+) is read
 * as one still when a greeting or an unrelated question comes before or after it. Allowed:
 * one text whose own first sentence is a cost question, so that with another question
 * before it nothing but the threat is left ("what would 30 days there run me? if its too
 * expensive i'll just end it..."), and the mid-sentence turns "also" cannot split. */
static void test_wrapped_crises_stay_crises(void **state)
{
    (void)state;
    struct replies *replies;
    struct matcher *m = load_matcher(&replies);
    int crises = 0, lost[3] = {0};
    /* The labelled texts of replies/examples/, as the loader read them. */
    for (size_t i = 0; i < replies->n_labelled; i++) {
        const struct replies_labelled *t = &replies->labelled[i];
        struct match_result r;
        matcher_classify(m, t->text, strlen(t->text), &r, NULL);
        if (intent_escalation(t->intent) != ESCALATE_URGENT ||
            intent_escalation(r.intent) != ESCALATE_URGENT)
            continue;
        crises++;
        for (int how = 0; how < 3; how++) {
            char text[4400];
            int n = wrap(text, sizeof text, how, t->lang, t->text);
            matcher_classify(m, text, (size_t)n, &r, NULL);
            if (intent_escalation(r.intent) != ESCALATE_URGENT) {
                lost[how]++;
                print_message("wrapped crisis lost: %s\n", text);
            }
        }
    }
    matcher_free(m);
    replies_free(replies);
    print_message("%d crises; lost with a greeting %d, a question before %d, after %d\n", crises,
                  lost[0], lost[1], lost[2]);
    assert_true(crises > 2500);
    assert_int_equal(lost[0], 0);
    assert_true(lost[1] <= 1);
    assert_true(lost[2] <= 2);
}

/* `hotline match` keeps the evaluation contract: one object per line, same ids, every
 * field present with a known value, a non-empty reply. */
static void test_match_command_contract(void **state)
{
    (void)state;
    char *input = tu_read_file(DEV_SET, NULL);
    assert_non_null(input);
    char *output = NULL;
    int status =
        tu_run(HOTLINE_BINARY " match --replies " HOTLINE_SOURCE_DIR "/replies", input, &output);
    assert_int_equal(status, 0);
    assert_non_null(output);

    char *in_save = NULL, *out_save = NULL;
    char *in_line = strtok_r(input, "\n", &in_save);
    char *out_line = strtok_r(output, "\n", &out_save);
    int lines = 0;
    while (in_line) {
        assert_non_null(out_line);
        json_t *in = json_loads(in_line, 0, NULL), *out = json_loads(out_line, 0, NULL);
        assert_non_null(in);
        assert_non_null(out);
        assert_string_equal(json_string_value(json_object_get(in, "id")),
                            json_string_value(json_object_get(out, "id")));
        const char *intent = json_string_value(json_object_get(out, "intent"));
        const char *level = json_string_value(json_object_get(out, "escalate"));
        const char *lang = json_string_value(json_object_get(out, "lang"));
        const char *reply = json_string_value(json_object_get(out, "reply"));
        assert_non_null(intent);
        assert_true(intent_from_name(intent) >= 0);
        assert_non_null(level);
        assert_string_equal(level, escalation_name(intent_escalation(intent_from_name(intent))));
        assert_non_null(lang);
        assert_true(lang_from_name(lang) >= 0);
        assert_non_null(reply);
        assert_true(strlen(reply) > 0);
        json_decref(in);
        json_decref(out);
        lines++;
        in_line = strtok_r(NULL, "\n", &in_save);
        out_line = strtok_r(NULL, "\n", &out_save);
    }
    assert_null(out_line);
    assert_true(lines > 100);
    free(input);
    free(output);
}

/* A broken line gets an error object in its place; the lines around it still answer. */
static void test_match_command_bad_line(void **state)
{
    (void)state;
    char *output = NULL;
    int status = tu_run(HOTLINE_BINARY " match --replies " HOTLINE_SOURCE_DIR "/replies",
                        "{\"id\":\"a\",\"body\":\"hi\"}\nnot json\n{\"id\":\"c\"}\n"
                        "{\"id\":\"d\",\"body\":\"STOP\"}\n",
                        &output);
    assert_int_equal(status, 0);
    char *save = NULL;
    const char *expect_error[] = {NULL, "x", "x", NULL};
    const char *expect_intent[] = {"greeting", NULL, NULL, "opt_out"};
    char *line = strtok_r(output, "\n", &save);
    for (int i = 0; i < 4; i++) {
        assert_non_null(line);
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        if (expect_error[i])
            assert_non_null(json_object_get(o, "error"));
        else
            assert_string_equal(json_string_value(json_object_get(o, "intent")), expect_intent[i]);
        json_decref(o);
        line = strtok_r(NULL, "\n", &save);
    }
    assert_null(line);
    free(output);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev_set_figures),
        cmocka_unit_test(test_extra_sets_figures),
        cmocka_unit_test(test_later_sets_figures),
        cmocka_unit_test(test_train_sets_figures),
        cmocka_unit_test(test_safety_net_held_out),
        cmocka_unit_test(test_wrapped_crises_stay_crises),
        cmocka_unit_test(test_match_command_contract),
        cmocka_unit_test(test_match_command_bad_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
