/*
 * replies: the center's answers and the matcher's vocabulary, loaded from the replies/
 * folder that staff edit without recompiling.
 *
 * Layout of the folder (see replies/README.md for the staff-facing guide):
 *   replies/<intent_id>.json   one file per intent id of ../shared/intents.md
 *   replies/lexicon.json       shared normalisation data: text-speak and cue words
 *   replies/menu.json          the numbered topic menu and the repeat pointer
 *   replies/saved_replies.json optional: the staff page's saved replies (saved_replies.h)
 *   replies/examples/.../NAME.jsonl  optional: labelled texts, from which the matcher's safety
 *                              net (urgency.h) learns at every start
 *
 * An intent file:
 *   {
 *     "intent":   "insurance",                  must equal the file name
 *     "note":     "free text for staff",         optional, ignored
 *     "answer":   { "en": "...", "es": "..." },  both languages required, <= 3 SMS segments
 *     "keywords": ["STOP", "OPT OUT"],           optional: whole-message keywords (opt_out,
 *                                                opt_in, help_keyword only)
 *     "phrases":  { "en": { "strong": [..], "weak": [..] },
 *                   "es": { "strong": [..], "weak": [..] } },   words/phrases, optional
 *     "examples": { "en": [..], "es": [..] }                    example texts, optional
 *   }
 * lexicon.json:
 *   {
 *     "shorthand": { "u": "you", "pls": "please", ... },   one token -> replacement words
 *     "cues": { "<cue name>": { "en": [..], "es": [..] }, ... }
 *   }
 *   Cue names the matcher knows: "hypothetical", "past", "third_party",
 *   "personal" (words that make a sentence about real people: I, my, he, she...),
 *   "question" (words that open a question: what, how, is, can...), "present"
 *   (now, again, tonight: what follows a past event is happening now), "idiom" (figures
 *   of speech that only sound like a crisis: "this heat is killing me"), "unreal" (what
 *   is not happening now although it is about real people: "in case my son ever",
 *   "all the time", "how would i know if"), "ongoing" (someone else keeps doing it:
 *   "won't stop", "keeps", "no deja de"; with a third party before an opt-out phrase,
 *   "my mom won't stop texting me" is not an opt-out); any other cue name is an
 *   error. lexicon.json may also have an optional "note" string.
 *   Crisis rules (optional) describe a crisis as concepts met together in a short window:
 *     "concepts": { "<name>": { "en": [..], "es": [..] }, ... },   words/phrases per idea
 *     "rules": [ { "name": "self_harm_body",       a short id, shown in `hotline chat`
 *                  "intent": "crisis_suicide",     an urgent intent
 *                  "all": ["harm_act", ["own_body", "harm_tool"]],  each item a concept,
 *                                                  or an array of alternatives; 2 to 4 items
 *                  "window": 8,                    optional: at most this many words from
 *                                                  the first concept to the last (12)
 *                  "unless": ["accident", "calm_hair"],  optional: concepts, or the cues
 *                                                  "accident" and "away", that set the rule
 *                                                  aside when in the same sentences
 *                  "note": "..." } ]               optional, ignored
 *   Concept names are lowercase letters, digits and '_' (at most MAX_CONCEPTS of them); a
 *   rule may name only concepts that "concepts" defines.
 * menu.json:
 *   {
 *     "menu":   { "en": "Reply 1 insurance, 2 ...", "es": "..." },  the menu line
 *     "items":  { "1": "insurance", "2": "treatment_options", ... }, digit -> intent id
 *     "repeat": { "en": "See my last message, or reply 0 for the menu.", "es": "..." }
 *   }
 *   Any answer may include the menu line as "{menu}" (once); it is expanded at load, and
 *   the expanded answer is what the 3-segment rule measures. Menu digits are 1-9 (0
 *   shows the menu again); each must appear in both menu lines; a topic is never a
 *   compliance keyword, the fallback or an urgent intent. "repeat" is sent instead of an
 *   answer the texter got a few minutes ago.
 *
 * Unknown keys are errors (a typo such as "answr" must not silently drop an answer).
 * The loader reports every problem it finds, not just the first, through a callback, so
 * that `hotline check-replies` can list them all with file, line and column.
 *
 * Further rules the loader enforces:
 *   - files are UTF-8 (a leading byte order mark is tolerated), at most 1 MiB each;
 *   - only *.json names count: README.md and the like, and dot-files (editor locks such
 *     as ".#insurance.json"), are ignored; any other *.json name is an error;
 *   - every answer is non-blank and at most 3 SMS segments as sms_measure counts them
 *     (one á, í, ó, ú or curly quote makes the whole answer UCS-2: 67 characters a part);
 *   - every keyword, phrase, example, shorthand and cue text is a non-blank string of at
 *     most 300 bytes; a shorthand key is one token (no spaces);
 *   - "phrases", "examples" and cue lists may give one language or both.
 *
 * examples/ (any depth up to 4 folders; only *.jsonl files count, dot-files and other
 * names such as README.md are ignored): one JSON object a line, the evaluation's scheme,
 *   {"id": "t1", "body": "...", "intent": "crisis_suicide", "escalate": "urgent", "lang": "en"}
 * every key required and no other; intent a known id; escalate the level intents.md fixes
 * for that intent; lang "en" or "es"; body a non-blank text of at most 2048 bytes. Blank
 * lines are skipped. At most 1 MiB a file, 1,000 files and 200,000 texts in all; problems
 * are reported with the file and the line.
 */
#ifndef HOTLINE_REPLIES_H
#define HOTLINE_REPLIES_H

#include <stddef.h>

#include "hotline/intent.h"

enum phrase_strength { PHRASE_WEAK, PHRASE_STRONG };

struct replies_phrase {
    char *text; /* as written in the file (UTF-8) */
    enum lang lang;
    enum phrase_strength strength;
};

struct replies_example {
    char *text;
    enum lang lang;
};

struct replies_intent {
    char *answer[LANG_COUNT]; /* never NULL after a successful load */
    char **keywords;          /* whole-message keywords, as written */
    size_t n_keywords;
    struct replies_phrase *phrases;
    size_t n_phrases;
    struct replies_example *examples;
    size_t n_examples;
};

struct replies_shorthand {
    char *from; /* one token, as written */
    char *to;   /* one or more words */
};

struct replies_cue {
    char *name; /* "hypothetical", ... */
    char *text; /* a word or phrase */
    enum lang lang;
};

/* A crisis rule of lexicon.json: every slot met by one of its concepts, close together. */
#define RULE_MAX_SLOTS 4
#define RULE_MAX_ALTS 8
#define RULE_MAX_UNLESS 8
#define RULE_DEFAULT_WINDOW 12
#define MAX_CONCEPTS 128 /* concept names in lexicon.json */
struct replies_rule {
    char *name;
    enum intent intent;
    int window;
    int n_slots;
    int n_alts[RULE_MAX_SLOTS];
    char *slot[RULE_MAX_SLOTS][RULE_MAX_ALTS]; /* concept names */
    int n_unless;
    char *unless[RULE_MAX_UNLESS]; /* concept names, or "accident" / "away" */
};

/* The numbered menu of menu.json. */
struct replies_menu {
    char *text[LANG_COUNT];   /* the menu line, as inserted for "{menu}" */
    char *repeat[LANG_COUNT]; /* the pointer sent instead of a repeated answer */
    enum intent item[10];     /* item[d]: the topic of digit d; INTENT_COUNT when none */
    int n_items;
};
struct saved_replies;

/* A labelled text of examples/. */
struct replies_labelled {
    char *text;
    enum intent intent;
    enum lang lang;
    size_t file; /* index into example_files */
};

struct replies {
    struct replies_intent intents[INTENT_COUNT];
    struct replies_menu menu;
    struct replies_shorthand *shorthand;
    size_t n_shorthand;
    struct replies_cue *cues;
    size_t n_cues;
    struct replies_cue *concepts; /* name: the concept; text: one of its words or phrases */
    size_t n_concepts;
    struct replies_rule *rules;
    size_t n_rules;
    struct saved_replies *saved; /* NULL when the folder has no saved_replies.json */
    /* examples/: its files (paths under the folder, "examples/extra/set1.jsonl"), in name
     * order, and their texts, file by file in line order. */
    char **example_files;
    size_t n_example_files;
    struct replies_labelled *labelled;
    size_t n_labelled;
};

/*
 * Called once per problem. file is the path of the offending file (dir + "/" + name; the
 * folder itself when it cannot be opened); line and column are 1-based, columns counting
 * characters (as jansson's do), or 0 when the problem is not tied to a position (a
 * missing file, say). A schema problem's message starts with the JSON path of the value,
 * "answer.es: empty answer", and points at that value (at the key, for an unknown key),
 * or at the nearest enclosing value when the thing is missing. All strings are only
 * valid during the call. Problems come file by file in name order, missing files last.
 */
typedef void (*replies_report_fn)(void *ctx, const char *file, int line, int column,
                                  const char *message);

/*
 * Loads and validates dir. Returns the replies, or NULL when anything was wrong (after
 * reporting each problem through report, which may be NULL). Checks: JSON syntax, the
 * schema above, every intent id present exactly once, no unknown intent files, both
 * languages in every answer, every answer non-empty and at most 3 SMS segments.
 * The caller owns the result and frees it with replies_free(). Lists keep file order;
 * an intent's phrases come en strong, en weak, es strong, es weak; cues come by cue name
 * in file order, en before es. Aborts on allocation failure.
 */
struct replies *replies_load(const char *dir, replies_report_fn report, void *ctx);

/* Frees everything; replies_free(NULL) is a no-op. */
void replies_free(struct replies *replies);

#endif
