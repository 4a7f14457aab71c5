/*
 * saved_replies: the short prepared texts staff pick from on the staff page
 * (replies/saved_replies.json), in English and Spanish.
 *
 * They live beside the FAQ answers and are edited the same way: by hand, checked by
 * `hotline check-replies`, loaded at start (replies_load reads this file when it is there
 * and refuses the whole folder when it is wrong). A saved reply is only ever a starting
 * point: the staff member sees it in the reply box and may change it before sending.
 *
 * The file:
 *   {
 *     "note":  "free text for staff",                        optional, ignored
 *     "saved": [
 *       { "id": "safe_now",                                   [a-z0-9_], 1..32, unique
 *         "label": "Are you safe?",                           non-blank, <= 60 bytes
 *         "text": { "en": "...", "es": "..." } },             both, <= 3 SMS segments
 *       ...                                                   at most 50
 *     ]
 *   }
 * Unknown keys are errors, as in the intent files; the file is UTF-8 (a leading byte
 * order mark is tolerated) of at most 64 KiB.
 */
#ifndef HOTLINE_SAVED_REPLIES_H
#define HOTLINE_SAVED_REPLIES_H

#include <stddef.h>

#include "hotline/intent.h"
#include "hotline/replies.h"

#define SAVED_REPLIES_FILE "saved_replies.json"
#define SAVED_REPLIES_MAX 50
#define SAVED_REPLY_ID_MAX 32
#define SAVED_REPLY_LABEL_MAX 60
#define SAVED_REPLY_MAX_SEGMENTS 3
#define SAVED_REPLIES_FILE_MAX (64 * 1024)

struct saved_reply {
    char *id;
    char *label;
    char *text[LANG_COUNT]; /* never NULL after a successful load */
};

struct saved_replies {
    struct saved_reply *v; /* in file order */
    size_t n;
    char *json; /* {"saved":[{"id":..,"label":..,"text":{"en":..,"es":..}},..]}, compact */
};

/*
 * Loads and validates the file at path, reporting every problem through report (may be
 * NULL; same contract as replies_load's: a schema problem's message starts with the JSON
 * path, e.g. "saved[2].text.es: ...", with line and column 0). NULL when anything was
 * wrong or the file cannot be read. The caller frees the result with saved_replies_free.
 */
struct saved_replies *saved_replies_load(const char *path, replies_report_fn report, void *ctx);

/* Frees everything; NULL is a no-op. */
void saved_replies_free(struct saved_replies *s);

/* The JSON the staff API serves: s->json, or an empty list when s is NULL (no file).
 * Static or owned by s. */
const char *saved_replies_json(const struct saved_replies *s);

#endif
