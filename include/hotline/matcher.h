/*
 * matcher: what a text means. Text in; intent, language and confidence out.
 *
 * Pure: no I/O after matcher_new(), which builds its indexes from loaded replies/.
 * Short noisy texts are handled by normalisation (Unicode folding, text-speak, repeated
 * letters, typo correction against the known vocabulary, Snowball stemming), weighted
 * phrases from replies/, character trigram similarity to the example texts, and cue
 * words for questions, hypotheticals and past events. Crisis signs are checked first and
 * win over any question in the same text. Under the rules, a learned safety net
 * (urgency.h, trained at start-up from replies/examples/) raises a crisis the rules missed
 * when it is very sure of one.
 *
 * A matcher is not thread-safe (its stemmers and memo keep state): use one per thread,
 * made with matcher_clone() so that the model is built once.
 */
#ifndef HOTLINE_MATCHER_H
#define HOTLINE_MATCHER_H

#include <stddef.h>

#include "hotline/intent.h"
#include "hotline/replies.h"

struct matcher;

struct match_result {
    enum intent intent;
    enum lang lang;
    double confidence; /* 0..1 */
    int keyword;       /* 1 when the whole text was a compliance keyword (STOP, HELP...) */
    int lang_sure;     /* 1 when the text carries real evidence of its language ("ok", "1"
                          and "thanks" do not: a conversation keeps its language for them) */
};

/* Why an intent was chosen, for `hotline chat`. Filled when passed to matcher_classify. */
struct match_explain {
    char normalized[512]; /* the tokens the matcher saw, stemmed */
    char reason[512];     /* the rule or the phrases that decided */
    double score[INTENT_COUNT];
    int set_aside;     /* crisis words the rules set aside for an ordinary reason */
    int laughed_aside; /* ...of them, by laughter alone ("im dead lmao"): the net may weigh */
    double urgency;    /* the safety net's probability, when the rules saw no crisis */
    double urgency_threshold; /* the one it was held to: URGENCY_THRESHOLD or, when the
                                 rules saw crisis words (crisis_words), URGENCY_THRESHOLD_WORDS */
    int crisis_words;         /* the rules saw crisis words but raised no crisis */
    int net;                  /* 1 when the safety net raised the crisis */
    char net_words[256];      /* then: the words that weighed most, best first */
};

/*
 * Builds a matcher from replies (which it does not keep: the caller may free them).
 * Returns NULL on allocation failure or when a stemmer is unavailable.
 */
struct matcher *matcher_new(const struct replies *replies);

/*
 * A matcher for another thread that shares m's model (read-only once built) and has its
 * own stemmers and memo. Load the word lists into m first. Free every clone before m.
 * Returns NULL on allocation failure.
 */
struct matcher *matcher_clone(const struct matcher *m);

/* Frees a matcher or a clone; matcher_free(NULL) is a no-op. */
void matcher_free(struct matcher *m);

/* Where Debian's word lists are (packages wamerican, wspanish). */
#define MATCHER_DEFAULT_DICTIONARIES "/usr/share/dict/american-english:/usr/share/dict/spanish"

/*
 * matcher_new() plus the matcher's one piece of I/O: the word lists of list (colon-
 * separated; NULL: $HOTLINE_DICTIONARIES, else MATCHER_DEFAULT_DICTIONARIES), correctly
 * spelled words that typo correction then leaves alone ("selling" is not "swelling"),
 * and that count as evidence of the one language whose list has them. They are read on
 * a second thread while the model is built (start-up is most of a short batch's time).
 * *failed (may be NULL) gets how many lists could not be read, each named on stderr:
 * the matcher works without them, but corrects typos more eagerly.
 */
struct matcher *matcher_new_with_dictionaries(const struct replies *replies, const char *list,
                                              int *failed);

/*
 * The learned safety net (urgency.h) that matcher_classify consults for a text its rules
 * did not read as a crisis: by default the model matcher_new trained from the replies'
 * labelled texts. NULL turns it off (rules only: what the evaluation floors measure);
 * any other model is the caller's, kept alive until m and its clones are freed. Clones
 * made afterwards use what m uses.
 */
struct urgency_model;
void matcher_set_urgency_model(struct matcher *m, const struct urgency_model *model);

/* The model matcher_new trained (NULL when the replies had nothing to learn from). */
const struct urgency_model *matcher_urgency_model(const struct matcher *m);

/* The words the matcher reads in len bytes of text, as the safety net reads them too
 * (urgency_set_add_reading): folded, text-speak expanded, typos corrected, space-
 * separated, into out (cap bytes, NUL-terminated). Returns the length. */
size_t matcher_reading(struct matcher *m, const char *text, size_t len, char *out, size_t cap);

/* Classifies len bytes of UTF-8 text (invalid bytes are skipped). why may be NULL. */
void matcher_classify(struct matcher *m, const char *text, size_t len, struct match_result *out,
                      struct match_explain *why);

#endif
