/*
 * urgency: a learned safety net under the matcher's crisis rules. Text in; the
 * probability that it is a crisis (an urgent intent) out.
 *
 * A logistic regression over hashed features of the folded text and of its reading by
 * the matcher (words, word pairs, character 4-grams of each "<word>"), trained at
 * start-up from the labelled texts of replies/examples/ and the example texts of
 * replies/<intent>.json. The matcher consults it only for a text its rules did not read
 * as a crisis (see matcher_classify): it recovers crises phrased in ways no rule
 * foresaw, at thresholds high enough that it seldom pages a nurse for a calm text.
 *
 * Pure: no I/O. Deterministic: the same texts in the same order train the same model.
 * A model is read-only once trained: any number of threads may score with it.
 */
#ifndef HOTLINE_URGENCY_H
#define HOTLINE_URGENCY_H

#include <stddef.h>

struct replies;

/* The probability from which the matcher raises a crisis its rules missed: chosen, with
 * the next, by leave-one-file-out cross-validation over replies/examples/ (test_eval). */
#define URGENCY_THRESHOLD 0.97
/* ...and from which it raises one in a text where the rules saw crisis words but found
 * them too weak, or set them aside by a question frame or laughter ("haha been a burden
 * since the day i was born, might as well fix it"). */
#define URGENCY_THRESHOLD_WORDS 0.92

#define URGENCY_BUCKETS (1u << 20) /* hashed features */
#define URGENCY_MAX_WORD 48        /* bytes of a folded word; longer words are cut */

/* Labelled texts, each stored as its features, with a group (a file, say) that training
 * may leave out. */
struct urgency_set;

struct urgency_set *urgency_set_new(void);

/* Adds len bytes of UTF-8 text (invalid bytes are skipped). urgent: 1 or 0. Aborts on
 * allocation failure, as the replies loader does. */
void urgency_set_add(struct urgency_set *s, const char *text, size_t len, int urgent, int group);

/* The same with a reading of the text: the words as the matcher reads them (typos
 * corrected, text-speak expanded: matcher_reading), whose features join the text's own
 * (each feature still counts once). reading may be NULL. */
void urgency_set_add_reading(struct urgency_set *s, const char *text, size_t len,
                             const char *reading, size_t reading_len, int urgent, int group);

size_t urgency_set_count(const struct urgency_set *s);

void urgency_set_free(struct urgency_set *s);

struct urgency_model;

/* Trains on every text of s but those of group skip_group (-1: none). Returns NULL when
 * the texts left have no crisis or no calm text (nothing to learn), or on allocation
 * failure. */
struct urgency_model *urgency_train(const struct urgency_set *s, int skip_group);

/* The model from replies' labelled texts (examples/) and intent example texts (those of
 * urgent intents as crises, the rest as calm). NULL as for urgency_train. */
struct urgency_model *urgency_from_replies(const struct replies *replies);

/* urgency_from_replies in parts, so that the model trains while the matcher builds:
 * urgency_start reads the texts' own features and runs the first epochs on a second
 * thread (or at once when none can be had); replies must stay alive and unchanged until
 * urgency_finish. urgency_read gives the reading of training text i (urgency_text(replies,
 * i)); any number of threads may call it, each for other texts, until urgency_finish,
 * which runs the last epochs with the readings given (none: the texts alone) and returns
 * the model (NULL as above), freeing the job. With every text's reading given, the model
 * is the one urgency_set_add_reading and urgency_train make of the same texts. */
struct urgency_job;
struct urgency_job *urgency_start(const struct replies *replies);
void urgency_read(struct urgency_job *job, size_t i, const char *reading, size_t reading_len);
struct urgency_model *urgency_finish(struct urgency_job *job);

/* The training texts of replies: the labelled texts of examples/, then the intents'
 * example texts. *urgent (1 or 0) and *group (its file, -1 for an intent's example) get
 * text i's label; either may be NULL. */
size_t urgency_text_count(const struct replies *replies);
const char *urgency_text(const struct replies *replies, size_t i, int *urgent, int *group);

/* The probability (0..1) that len bytes of UTF-8 text are a crisis. */
double urgency_score(const struct urgency_model *m, const char *text, size_t len);

/* The same with a reading of the text (see urgency_set_add_reading; NULL: none). */
double urgency_score_reading(const struct urgency_model *m, const char *text, size_t len,
                             const char *reading, size_t reading_len);

/* The words that pushed the text most towards a crisis, best first: a word's own
 * features, its 4-grams and half of each pair it is in. Returns how many were written
 * to out (at most max), only words with a positive contribution. */
struct urgency_word {
    char word[URGENCY_MAX_WORD + 1]; /* folded */
    double weight;
};
int urgency_explain(const struct urgency_model *m, const char *text, size_t len,
                    struct urgency_word *out, int max);
int urgency_explain_reading(const struct urgency_model *m, const char *text, size_t len,
                            const char *reading, size_t reading_len, struct urgency_word *out,
                            int max);

/* Frees a model; urgency_free(NULL) is a no-op. */
void urgency_free(struct urgency_model *m);

#endif
