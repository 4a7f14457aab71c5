/*
 * replies: loads and validates the replies/ folder (format in replies.h).
 *
 * Staff edit these files by hand, so the loader is a checker first: it never stops at
 * the first problem, and it says where each one is. Each file goes through four gates,
 * each reported with a file, line and column: readable regular file of at most 1 MiB,
 * valid UTF-8 (checked here, to name the byte and its place rather than trust a
 * generic parser message), JSON syntax (jansson, duplicate keys rejected), then the
 * schema. jansson keeps no positions for values, so at a file's first schema problem a
 * small scanner walks the already-validated text once and indexes every value (and object
 * key) by its JSON path ("answer.es", "phrases.en.strong[2]"); a problem is reported at
 * the position of its path, or of the nearest ancestor that exists (a missing
 * "answer.es" points at the "answer" object), with the path at the start of the message.
 * The first three gates run on two threads at once, quietly (pre_parse); the schema is
 * checked file by file in name order, and a file that failed a gate is read again then,
 * so problems are reported in the same order as ever.
 *
 * Results are built while validating and thrown away if anything failed, so a caller
 * gets either a complete, checked set of replies or NULL. Allocation failure aborts
 * (a half-loaded set of crisis answers is worse than no process).
 */
#include "hotline/replies.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <utf8proc.h>

#include "hotline/saved_replies.h"
#include "hotline/sms.h"

#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_TEXT_BYTES 300
#define MAX_ANSWER_SEGMENTS 3
#define INDEX_DEPTH 8 /* deeper values are never schema-valid; their parent is enough */
#define PATH_MAX_LEN 256
#define LEXICON_FILE "lexicon.json"
#define MENU_FILE "menu.json"
#define MENU_PLACEHOLDER "{menu}"
#define EXAMPLES_DIR "examples"
#define MAX_EXAMPLE_DEPTH 4
#define MAX_EXAMPLE_FILES 1000
#define MAX_LABELLED 200000
#define MAX_LABELLED_BYTES 2048

/* ---- allocation: one policy, abort ---- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("hotline: out of memory loading replies\n", stderr);
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/*
 * Room for element n of an array of n elements of `size` bytes. The array doubles
 * whenever n reaches a power of two, so its capacity follows from n alone: one realloc
 * per element made loading the 7,000 phrases copy them over and over.
 */
static void *room_for(void *arr, size_t n, size_t size)
{
    if (n == 0 || (n & (n - 1)) == 0)
        return xrealloc(arr, (n ? 2 * n : 1) * size);
    return arr;
}

/* Appends one zeroed element to arr (of *n) and returns it. */
#define APPEND(arr, n)                                                                             \
    ((arr) = room_for((arr), (n), sizeof *(arr)), memset(&(arr)[(n)], 0, sizeof *(arr)),           \
     &(arr)[(n)++])

/* ---- positions: JSON path -> line and column ---- */

struct pos {
    char *path;
    int key_line, key_col; /* of the member's key; the value's own position otherwise */
    int line, col;
};

struct pos_index {
    struct pos *v;
    size_t n;
};

struct scanner {
    const char *s;
    size_t len, i;
    int line, col; /* of s[i]; columns count characters, as jansson's do */
    struct pos_index *idx;
    char *path;
    size_t plen, pcap;
};

static void sc_adv(struct scanner *sc)
{
    unsigned char b = (unsigned char)sc->s[sc->i++];
    if (b == '\n') {
        sc->line++;
        sc->col = 1;
    } else if ((b & 0xC0) != 0x80) {
        sc->col++;
    }
}

static int sc_peek(const struct scanner *sc)
{
    return sc->i < sc->len ? (unsigned char)sc->s[sc->i] : -1;
}

static void sc_ws(struct scanner *sc)
{
    int c;
    while ((c = sc_peek(sc)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        sc_adv(sc);
}

static void path_append(struct scanner *sc, const char *piece, size_t n)
{
    if (sc->plen + n + 1 > sc->pcap) {
        sc->pcap = (sc->plen + n + 1) * 2;
        sc->path = xrealloc(sc->path, sc->pcap);
    }
    memcpy(sc->path + sc->plen, piece, n);
    sc->plen += n;
    sc->path[sc->plen] = '\0';
}

static int hex4(struct scanner *sc)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int c = sc_peek(sc);
        if (c < 0 || !isxdigit(c))
            return -1;
        v = v * 16 + (isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
        sc_adv(sc);
    }
    return v;
}

/* Reads the string at s[i] ('"'); appends its decoded form to the path when decode. */
static void sc_string(struct scanner *sc, int decode)
{
    sc_adv(sc); /* opening quote */
    int c;
    while ((c = sc_peek(sc)) >= 0 && c != '"') {
        if (c != '\\') {
            if (decode) {
                char ch = (char)c;
                path_append(sc, &ch, 1);
            }
            sc_adv(sc);
            continue;
        }
        sc_adv(sc);
        int e = sc_peek(sc);
        if (e < 0)
            break;
        sc_adv(sc);
        long cp = e;
        switch (e) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            cp = hex4(sc);
            if (cp >= 0xD800 && cp <= 0xDBFF && sc_peek(sc) == '\\' && sc->i + 1 < sc->len &&
                sc->s[sc->i + 1] == 'u') {
                sc_adv(sc);
                sc_adv(sc);
                long lo = hex4(sc);
                if (lo >= 0xDC00 && lo <= 0xDFFF)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            break;
        default:
            break; /* '"', '\\', '/' stand for themselves */
        }
        if (decode && cp > 0) {
            utf8proc_uint8_t buf[4];
            utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, buf);
            path_append(sc, (const char *)buf, (size_t)n);
        }
    }
    if (c == '"')
        sc_adv(sc);
}

/* Skips one value without indexing it (strings may hold brackets). */
static void sc_skip(struct scanner *sc)
{
    int depth = 0;
    int c;
    while ((c = sc_peek(sc)) >= 0) {
        if (c == '"') {
            sc_string(sc, 0);
        } else if (c == '{' || c == '[') {
            depth++;
            sc_adv(sc);
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return;
            depth--;
            sc_adv(sc);
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
            return;
        } else {
            sc_adv(sc);
        }
        if (depth == 0 && (c == '"' || c == '}' || c == ']'))
            return;
    }
}

static void sc_record(struct scanner *sc, int key_line, int key_col)
{
    struct pos *p = APPEND(sc->idx->v, sc->idx->n);
    p->path = xstrdup(sc->path);
    p->key_line = key_line ? key_line : sc->line;
    p->key_col = key_line ? key_col : sc->col;
    p->line = sc->line;
    p->col = sc->col;
}

static void sc_value(struct scanner *sc, int depth, int key_line, int key_col)
{
    sc_ws(sc);
    if (depth > INDEX_DEPTH) {
        sc_skip(sc);
        return;
    }
    sc_record(sc, key_line, key_col);
    int c = sc_peek(sc);
    size_t base = sc->plen;
    if (c == '{') {
        sc_adv(sc);
        while ((c = (sc_ws(sc), sc_peek(sc))) >= 0 && c != '}') {
            if (c != '"') {
                sc_adv(sc); /* ',' */
                continue;
            }
            int kl = sc->line, kc = sc->col;
            if (base > 0)
                path_append(sc, ".", 1);
            sc_string(sc, 1);
            sc_ws(sc);
            if (sc_peek(sc) == ':')
                sc_adv(sc);
            sc_value(sc, depth + 1, kl, kc);
            sc->plen = base;
            sc->path[base] = '\0';
        }
        if (c == '}')
            sc_adv(sc);
    } else if (c == '[') {
        sc_adv(sc);
        for (size_t k = 0; (c = (sc_ws(sc), sc_peek(sc))) >= 0 && c != ']';) {
            if (c == ',') {
                sc_adv(sc);
                continue;
            }
            char piece[32];
            int n = snprintf(piece, sizeof piece, "[%zu]", k++);
            path_append(sc, piece, (size_t)n);
            size_t before = sc->i;
            sc_value(sc, depth + 1, 0, 0);
            if (sc->i == before)
                sc_adv(sc); /* never stall on bad input */
            sc->plen = base;
            sc->path[base] = '\0';
        }
        if (c == ']')
            sc_adv(sc);
    } else if (c == '"') {
        sc_string(sc, 0);
    } else {
        while ((c = sc_peek(sc)) >= 0 && !strchr(",]} \t\r\n", c))
            sc_adv(sc);
    }
}

static void pos_index_build(struct pos_index *idx, const char *text, size_t len)
{
    struct scanner sc = {.s = text, .len = len, .line = 1, .col = 1, .idx = idx};
    path_append(&sc, "", 0);
    sc_value(&sc, 0, 0, 0);
    free(sc.path);
}

static void pos_index_free(struct pos_index *idx)
{
    for (size_t i = 0; i < idx->n; i++)
        free(idx->v[i].path);
    free(idx->v);
    idx->v = NULL;
    idx->n = 0;
}

/* Position of path (its key when at_key), else of its nearest indexed ancestor. */
static void pos_lookup(const struct pos_index *idx, const char *path, int at_key, int *line,
                       int *col)
{
    char buf[PATH_MAX_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    for (;;) {
        for (size_t i = 0; i < idx->n; i++) {
            if (strcmp(idx->v[i].path, buf) == 0) {
                *line = at_key ? idx->v[i].key_line : idx->v[i].line;
                *col = at_key ? idx->v[i].key_col : idx->v[i].col;
                return;
            }
        }
        if (!*buf)
            break;
        size_t cut = strlen(buf);
        while (cut > 0 && buf[cut] != '.' && buf[cut] != '[')
            cut--;
        buf[cut] = '\0'; /* "a.b[2]" -> "a.b" -> "a" -> "" */
        at_key = 0;
    }
    *line = 1;
    *col = 1;
}

/* ---- reporting ---- */

struct loader {
    const char *dir;
    replies_report_fn report;
    void *ctx;
    int errors;
    struct replies *r;
    int seen[INTENT_COUNT];
    int menu_seen;
    size_t cap_labelled;
};

struct jfile {
    struct loader *ld;
    char *path;
    char *text;
    size_t len;
    size_t bom; /* 3 when the file starts with a UTF-8 byte order mark: skipped, not a column */
    struct pos_index idx; /* built on the first problem: a file without one never needs it */
    int idx_built;
    enum intent intent;
};

__attribute__((format(printf, 5, 6))) static void report_at(struct loader *ld, const char *file,
                                                            int line, int col, const char *fmt, ...)
{
    ld->errors++;
    if (!ld->report)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ld->report(ld->ctx, file, line, col, msg);
}

/* A schema problem at jpath (the key of the member when at_key). */
__attribute__((format(printf, 4, 5))) static void problem(struct jfile *f, const char *jpath,
                                                          int at_key, const char *fmt, ...)
{
    int line, col;
    if (!f->idx_built) {
        pos_index_build(&f->idx, f->text + f->bom, f->len - f->bom);
        f->idx_built = 1;
    }
    pos_lookup(&f->idx, jpath, at_key, &line, &col);
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (*jpath)
        report_at(f->ld, f->path, line, col, "%s: %s", jpath, msg);
    else
        report_at(f->ld, f->path, line, col, "%s", msg);
}

/*
 * out (PATH_MAX_LEN bytes) = parent + sep + piece, cut to fit: a cut path only makes
 * pos_lookup fall back to an ancestor's position.
 */
static void path_join(char *out, const char *parent, const char *sep, const char *piece)
{
    size_t n = 0;
    const char *parts[3] = {parent, sep, piece};
    for (int k = 0; k < 3; k++)
        for (const char *c = parts[k]; *c && n + 1 < PATH_MAX_LEN; c++)
            out[n++] = *c;
    out[n] = '\0';
}

static void path_key(char *out, const char *parent, const char *key)
{
    path_join(out, parent, *parent ? "." : "", key);
}

static void path_item(char *out, const char *parent, size_t i)
{
    char piece[32];
    snprintf(piece, sizeof piece, "[%zu]", i);
    path_join(out, parent, "", piece);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true/false";
    default:
        return "null";
    }
}

static int expect(struct jfile *f, const char *jpath, const json_t *v, json_type type,
                  const char *what)
{
    if (json_typeof(v) == type)
        return 1;
    problem(f, jpath, 0, "must be %s, not %s", what, type_name(v));
    return 0;
}

/* Edit distance, for "did you mean". Strings here are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest of names (NULL-terminated) within 2 edits of word (1 if short), or NULL. */
static const char *suggest(const char *word, const char *const *names)
{
    const char *best = NULL;
    size_t best_d = strlen(word) <= 3 ? 2 : 3; /* "fr" is not a typo of "en" */
    for (size_t i = 0; names[i]; i++) {
        size_t d = distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

static int in_list(const char *word, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(word, names[i]) == 0)
            return 1;
    return 0;
}

/* Reports every key of obj (at jpath) that is not in allowed. */
static void check_keys(struct jfile *f, const char *jpath, json_t *obj, const char *const *allowed,
                       const char *what)
{
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *key = json_object_iter_key(it);
        if (in_list(key, allowed))
            continue;
        char p[PATH_MAX_LEN];
        path_key(p, jpath, key);
        const char *s = suggest(key, allowed);
        char list[200] = "";
        for (size_t i = 0; allowed[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     allowed[i]);
        if (s)
            problem(f, p, 1, "unknown %s \"%s\" (did you mean \"%s\"?)", what, key, s);
        else
            problem(f, p, 1, "unknown %s \"%s\" (allowed: %s)", what, key, list);
    }
}

/* A phrase, example, keyword or shorthand string: non-empty and bounded. */
static const char *check_text(struct jfile *f, const char *jpath, const json_t *v)
{
    if (!expect(f, jpath, v, JSON_STRING, "a string"))
        return NULL;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    size_t blank = 0;
    while (blank < n && isspace((unsigned char)s[blank]))
        blank++;
    if (blank == n) {
        problem(f, jpath, 0, "empty text");
        return NULL;
    }
    if (n > MAX_TEXT_BYTES) {
        problem(f, jpath, 0, "too long: %zu bytes, at most %d", n, MAX_TEXT_BYTES);
        return NULL;
    }
    return s;
}

/* ---- building the result ---- */

enum list_kind { LIST_KEYWORD, LIST_PHRASE, LIST_EXAMPLE, LIST_CUE, LIST_CONCEPT };

struct list_target {
    enum list_kind kind;
    struct replies *r;
    struct replies_intent *in;
    enum lang lang;
    enum phrase_strength strength;
    const char *cue;
};

static void list_add(const struct list_target *t, const char *text)
{
    switch (t->kind) {
    case LIST_KEYWORD:
        *APPEND(t->in->keywords, t->in->n_keywords) = xstrdup(text);
        break;
    case LIST_PHRASE: {
        struct replies_phrase *p = APPEND(t->in->phrases, t->in->n_phrases);
        p->text = xstrdup(text);
        p->lang = t->lang;
        p->strength = t->strength;
        break;
    }
    case LIST_EXAMPLE: {
        struct replies_example *e = APPEND(t->in->examples, t->in->n_examples);
        e->text = xstrdup(text);
        e->lang = t->lang;
        break;
    }
    case LIST_CUE: {
        struct replies_cue *c = APPEND(t->r->cues, t->r->n_cues);
        c->name = xstrdup(t->cue);
        c->text = xstrdup(text);
        c->lang = t->lang;
        break;
    }
    case LIST_CONCEPT: {
        struct replies_cue *c = APPEND(t->r->concepts, t->r->n_concepts);
        c->name = xstrdup(t->cue);
        c->text = xstrdup(text);
        c->lang = t->lang;
        break;
    }
    }
}

/* An array of texts at jpath, each added to t. */
static void load_list(struct jfile *f, const char *jpath, json_t *arr, const struct list_target *t)
{
    if (!expect(f, jpath, arr, JSON_ARRAY, "an array of texts"))
        return;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char p[PATH_MAX_LEN];
        path_item(p, jpath, i);
        const char *s = check_text(f, p, json_array_get(arr, i));
        if (s)
            list_add(t, s);
    }
}

static const char *const lang_keys[] = {"en", "es", NULL};

/* An object keyed by language at jpath; calls fn for each language present. */
static void for_each_lang(struct jfile *f, const char *jpath, json_t *obj,
                          void (*fn)(struct jfile *f, const char *jpath, json_t *v,
                                     struct list_target *t),
                          struct list_target *t)
{
    if (!expect(f, jpath, obj, JSON_OBJECT, "an object with \"en\" and/or \"es\""))
        return;
    check_keys(f, jpath, obj, lang_keys, "language");
    for (int l = 0; l < LANG_COUNT; l++) {
        json_t *v = json_object_get(obj, lang_name((enum lang)l));
        if (!v)
            continue;
        char p[PATH_MAX_LEN];
        path_key(p, jpath, lang_name((enum lang)l));
        t->lang = (enum lang)l;
        fn(f, p, v, t);
    }
}

static void lang_list(struct jfile *f, const char *jpath, json_t *v, struct list_target *t)
{
    load_list(f, jpath, v, t);
}

static void lang_phrases(struct jfile *f, const char *jpath, json_t *v, struct list_target *t)
{
    static const char *const strengths[] = {"strong", "weak", NULL};
    if (!expect(f, jpath, v, JSON_OBJECT, "an object with \"strong\" and/or \"weak\""))
        return;
    check_keys(f, jpath, v, strengths, "key");
    for (int s = 0; strengths[s]; s++) {
        json_t *arr = json_object_get(v, strengths[s]);
        if (!arr)
            continue;
        char p[PATH_MAX_LEN];
        path_key(p, jpath, strengths[s]);
        t->strength = s == 0 ? PHRASE_STRONG : PHRASE_WEAK;
        load_list(f, p, arr, t);
    }
}

/* ---- intent files ---- */

static void check_answer(struct jfile *f, struct replies_intent *in, json_t *answer)
{
    if (!expect(f, "answer", answer, JSON_OBJECT, "an object with \"en\" and \"es\""))
        return;
    check_keys(f, "answer", answer, lang_keys, "language");
    for (int l = 0; l < LANG_COUNT; l++) {
        const char *lang = lang_name((enum lang)l);
        char p[PATH_MAX_LEN];
        path_key(p, "answer", lang);
        json_t *v = json_object_get(answer, lang);
        if (!v) {
            problem(f, p, 0, "missing (every answer needs both \"en\" and \"es\")");
            continue;
        }
        if (!expect(f, p, v, JSON_STRING, "a string"))
            continue;
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), blank = 0;
        while (blank < n && isspace((unsigned char)s[blank]))
            blank++;
        if (blank == n) {
            problem(f, p, 0, "empty answer");
            continue;
        }
        struct sms_measure m;
        if (sms_measure(s, n, &m) != 0) {
            problem(f, p, 0, "not valid UTF-8");
            continue;
        }
        if (m.segments > MAX_ANSWER_SEGMENTS) {
            char why[96] = "";
            if (m.encoding == SMS_UCS2) {
                /* Name the character, and show it unless it is a control character. */
                utf8proc_uint8_t ch[5] = {0};
                if (m.first_non_gsm >= 0x20 && m.first_non_gsm != 0x7F)
                    utf8proc_encode_char((utf8proc_int32_t)m.first_non_gsm, ch);
                snprintf(why, sizeof why, ", forced by %s%s%sU+%04X, which GSM-7 lacks",
                         ch[0] ? "'" : "", (const char *)ch, ch[0] ? "' " : "", m.first_non_gsm);
            }
            problem(f, p, 0, "%d SMS segments (%s, %zu %s%s); at most %d are allowed", m.segments,
                    sms_encoding_name(m.encoding), m.units,
                    m.encoding == SMS_GSM7 ? "septets" : "UTF-16 units", why, MAX_ANSWER_SEGMENTS);
            continue;
        }
        in->answer[l] = xstrdup(s);
    }
}

/*
 * The keywords the law and the carriers expect to work (gateways.md section 6: CTIA,
 * FCC 24-24, Twilio's defaults) must stay in the files, whatever an edit removes.
 */
static void check_required_keywords(struct jfile *f, const struct replies_intent *in)
{
    static const char *const opt_out[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL",  "END",
                                          "QUIT", "REVOKE",  "OPTOUT",      "OPT OUT", NULL};
    static const char *const opt_in[] = {"START", "UNSTOP", NULL};
    static const char *const help[] = {"HELP", "INFO", NULL};
    const char *const *required = f->intent == INTENT_OPT_OUT        ? opt_out
                                  : f->intent == INTENT_OPT_IN       ? opt_in
                                  : f->intent == INTENT_HELP_KEYWORD ? help
                                                                     : NULL;
    for (; required && *required; required++) {
        int found = 0;
        for (size_t k = 0; k < in->n_keywords && !found; k++)
            found = strcasecmp(in->keywords[k], *required) == 0;
        if (!found)
            problem(f, "keywords", 1, "the keyword \"%s\" is required (US opt-out rules)",
                    *required);
    }
}

static void load_intent(struct jfile *f, json_t *root)
{
    static const char *const keys[] = {"intent",  "note",     "answer", "keywords",
                                       "phrases", "examples", NULL};
    struct replies_intent *in = &f->ld->r->intents[f->intent];
    const char *want = intent_name(f->intent);
    check_keys(f, "", root, keys, "key");

    json_t *v = json_object_get(root, "intent");
    if (!v)
        problem(f, "", 0, "missing \"intent\": \"%s\"", want);
    else if (expect(f, "intent", v, JSON_STRING, "a string") &&
             strcmp(json_string_value(v), want) != 0)
        problem(f, "intent", 0, "is \"%s\" but the file is %s.json", json_string_value(v), want);

    v = json_object_get(root, "note");
    if (v)
        expect(f, "note", v, JSON_STRING, "a string");

    v = json_object_get(root, "answer");
    if (!v)
        problem(f, "", 0, "missing \"answer\": { \"en\": \"...\", \"es\": \"...\" }");
    else
        check_answer(f, in, v);

    struct list_target t = {.r = f->ld->r, .in = in};
    v = json_object_get(root, "keywords");
    if (v) {
        if (f->intent != INTENT_OPT_OUT && f->intent != INTENT_OPT_IN &&
            f->intent != INTENT_HELP_KEYWORD) {
            problem(f, "keywords", 1,
                    "only opt_out, opt_in and help_keyword may have keywords; use \"phrases\"");
        } else {
            t.kind = LIST_KEYWORD;
            load_list(f, "keywords", v, &t);
        }
    }
    check_required_keywords(f, in);
    v = json_object_get(root, "phrases");
    if (v) {
        t.kind = LIST_PHRASE;
        for_each_lang(f, "phrases", v, lang_phrases, &t);
    }
    v = json_object_get(root, "examples");
    if (v) {
        t.kind = LIST_EXAMPLE;
        for_each_lang(f, "examples", v, lang_list, &t);
    }
}

/* ---- lexicon.json ---- */

/* A concept name: 1 to 32 of lowercase letters, digits and '_'. */
static int concept_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return 1;
}

/* Whether concepts (from "concepts") define name. */
static int concept_defined(const json_t *concepts, const char *name)
{
    return concepts && json_is_object(concepts) && json_object_get(concepts, name) != NULL;
}

/* One concept name of a rule at jpath; returns a copy or NULL after reporting. */
static char *rule_concept(struct jfile *f, const char *jpath, const json_t *v,
                          const json_t *concepts, int cue_ok)
{
    if (!expect(f, jpath, v, JSON_STRING, "a concept name"))
        return NULL;
    const char *name = json_string_value(v);
    if (cue_ok && (strcmp(name, "accident") == 0 || strcmp(name, "away") == 0))
        return xstrdup(name);
    if (!concept_defined(concepts, name)) {
        problem(f, jpath, 0, "unknown concept \"%s\"", name);
        return NULL;
    }
    return xstrdup(name);
}

static void free_rule(struct replies_rule *rule)
{
    free(rule->name);
    for (int s = 0; s < RULE_MAX_SLOTS; s++)
        for (int a = 0; a < RULE_MAX_ALTS; a++)
            free(rule->slot[s][a]);
    for (int u = 0; u < RULE_MAX_UNLESS; u++)
        free(rule->unless[u]);
    memset(rule, 0, sizeof *rule);
}

/* "rules": crisis rules over the concepts (see replies.h). */
static void load_rules(struct jfile *f, json_t *arr, const json_t *concepts)
{
    static const char *const keys[] = {"name", "intent", "all", "window", "unless", "note", NULL};
    struct replies *r = f->ld->r;
    if (!expect(f, "rules", arr, JSON_ARRAY, "an array of rules"))
        return;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
        path_item(p, "rules", i);
        json_t *o = json_array_get(arr, i);
        if (!expect(f, p, o, JSON_OBJECT, "an object"))
            continue;
        check_keys(f, p, o, keys, "key");
        struct replies_rule rule;
        memset(&rule, 0, sizeof rule);
        int ok = 1;
        json_t *v = json_object_get(o, "name");
        path_key(q, p, "name");
        if (!v) {
            problem(f, p, 0, "missing \"name\"");
            ok = 0;
        } else if (expect(f, q, v, JSON_STRING, "a string") &&
                   concept_name_ok(json_string_value(v))) {
            rule.name = xstrdup(json_string_value(v));
        } else {
            if (json_is_string(v))
                problem(f, q, 0, "must be 1 to 32 of a-z, 0-9 and _");
            ok = 0;
        }
        v = json_object_get(o, "intent");
        path_key(q, p, "intent");
        int id = v && json_is_string(v) ? intent_from_name(json_string_value(v)) : -1;
        if (!v) {
            problem(f, p, 0, "missing \"intent\"");
            ok = 0;
        } else if (!expect(f, q, v, JSON_STRING, "an intent id")) {
            ok = 0;
        } else if (id < 0 || intent_escalation((enum intent)id) != ESCALATE_URGENT) {
            problem(f, q, 0,
                    "must be an urgent intent (crisis_suicide, crisis_overdose, "
                    "medical_urgent)");
            ok = 0;
        } else {
            rule.intent = (enum intent)id;
        }
        rule.window = RULE_DEFAULT_WINDOW;
        v = json_object_get(o, "window");
        path_key(q, p, "window");
        if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 40)) {
            problem(f, q, 0, "must be a whole number of words, 1 to 40");
            ok = 0;
        } else if (v) {
            rule.window = (int)json_integer_value(v);
        }
        v = json_object_get(o, "all");
        path_key(q, p, "all");
        if (!v) {
            problem(f, p, 0, "missing \"all\"");
            ok = 0;
        } else if (expect(f, q, v, JSON_ARRAY, "an array of concepts") &&
                   (json_array_size(v) < 2 || json_array_size(v) > RULE_MAX_SLOTS)) {
            problem(f, q, 0, "must name 2 to %d concepts", RULE_MAX_SLOTS);
            ok = 0;
        } else if (json_is_array(v)) {
            for (size_t s = 0; s < json_array_size(v); s++) {
                char sp[PATH_MAX_LEN];
                path_item(sp, q, s);
                json_t *item = json_array_get(v, s);
                if (json_is_array(item)) {
                    if (json_array_size(item) < 1 || json_array_size(item) > RULE_MAX_ALTS) {
                        problem(f, sp, 0, "must list 1 to %d concepts", RULE_MAX_ALTS);
                        ok = 0;
                        continue;
                    }
                    for (size_t a = 0; a < json_array_size(item); a++) {
                        char ap[PATH_MAX_LEN];
                        path_item(ap, sp, a);
                        char *name = rule_concept(f, ap, json_array_get(item, a), concepts, 0);
                        if (!name)
                            ok = 0;
                        rule.slot[s][rule.n_alts[s]++] = name;
                    }
                } else {
                    char *name = rule_concept(f, sp, item, concepts, 0);
                    if (!name)
                        ok = 0;
                    rule.slot[s][rule.n_alts[s]++] = name;
                }
                rule.n_slots++;
            }
        } else {
            ok = 0;
        }
        v = json_object_get(o, "unless");
        path_key(q, p, "unless");
        if (v && expect(f, q, v, JSON_ARRAY, "an array of concepts")) {
            if (json_array_size(v) > RULE_MAX_UNLESS) {
                problem(f, q, 0, "at most %d concepts", RULE_MAX_UNLESS);
                ok = 0;
            } else {
                for (size_t u = 0; u < json_array_size(v); u++) {
                    char up[PATH_MAX_LEN];
                    path_item(up, q, u);
                    char *name = rule_concept(f, up, json_array_get(v, u), concepts, 1);
                    if (!name)
                        ok = 0;
                    rule.unless[rule.n_unless++] = name;
                }
            }
        } else if (v) {
            ok = 0;
        }
        if (ok)
            *APPEND(r->rules, r->n_rules) = rule;
        else
            free_rule(&rule);
    }
}

static void load_lexicon(struct jfile *f, json_t *root)
{
    static const char *const keys[] = {"note", "shorthand", "cues", "concepts", "rules", NULL};
    static const char *const cue_names[] = {"hypothetical", "past",    "third_party", "personal",
                                            "question",     "present", "idiom",       "unreal",
                                            "ongoing",      NULL};
    struct replies *r = f->ld->r;
    check_keys(f, "", root, keys, "key");

    json_t *v = json_object_get(root, "note");
    if (v)
        expect(f, "note", v, JSON_STRING, "a string");

    v = json_object_get(root, "shorthand");
    if (v && expect(f, "shorthand", v, JSON_OBJECT, "an object of token -> words")) {
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            const char *from = json_object_iter_key(it);
            json_t *to = json_object_iter_value(it);
            char p[PATH_MAX_LEN];
            path_key(p, "shorthand", from);
            size_t n = strlen(from);
            int ok = 1;
            if (n == 0 || n > MAX_TEXT_BYTES) {
                problem(f, p, 1, "the token must be 1 to %d bytes", MAX_TEXT_BYTES);
                ok = 0;
            } else {
                for (size_t i = 0; i < n; i++) {
                    if (isspace((unsigned char)from[i])) {
                        problem(f, p, 1, "must be one token, without spaces");
                        ok = 0;
                        break;
                    }
                }
            }
            const char *s = check_text(f, p, to);
            if (ok && s) {
                struct replies_shorthand *sh = APPEND(r->shorthand, r->n_shorthand);
                sh->from = xstrdup(from);
                sh->to = xstrdup(s);
            }
        }
    }

    v = json_object_get(root, "cues");
    if (v && expect(f, "cues", v, JSON_OBJECT, "an object of cue name -> languages")) {
        check_keys(f, "cues", v, cue_names, "cue");
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
            const char *name = json_object_iter_key(it);
            json_t *langs = json_object_iter_value(it);
            if (!in_list(name, cue_names))
                continue;
            char p[PATH_MAX_LEN];
            path_key(p, "cues", name);
            struct list_target t = {.kind = LIST_CUE, .r = r, .cue = name};
            for_each_lang(f, p, langs, lang_list, &t);
        }
    }

    json_t *concepts = json_object_get(root, "concepts");
    if (concepts &&
        expect(f, "concepts", concepts, JSON_OBJECT, "an object of concept name -> languages")) {
        int n_concepts = 0;
        for (void *it = json_object_iter(concepts); it; it = json_object_iter_next(concepts, it)) {
            const char *name = json_object_iter_key(it);
            char p[PATH_MAX_LEN];
            path_key(p, "concepts", name);
            if (!concept_name_ok(name)) {
                problem(f, p, 1, "a concept name is 1 to 32 of a-z, 0-9 and _");
                continue;
            }
            if (++n_concepts > MAX_CONCEPTS) {
                problem(f, p, 1, "at most %d concepts", MAX_CONCEPTS);
                continue;
            }
            struct list_target t = {.kind = LIST_CONCEPT, .r = r, .cue = name};
            for_each_lang(f, p, json_object_iter_value(it), lang_list, &t);
        }
    }
    v = json_object_get(root, "rules");
    if (v)
        load_rules(f, v, concepts);
}

/* ---- menu.json ---- */

/* Whether the digit key stands alone in text ("1" in "Reply 1 for", not in "911"). */
static int has_standalone_digit(const char *text, char key)
{
    for (const char *c = text; *c; c++)
        if (*c == key && (c == text || !isdigit((unsigned char)c[-1])) &&
            !isdigit((unsigned char)c[1]))
            return 1;
    return 0;
}

/* A language-keyed pair of short texts ("menu", "repeat"), both required. */
static void load_pair(struct jfile *f, json_t *root, const char *key, char *out[LANG_COUNT])
{
    json_t *obj = json_object_get(root, key);
    if (!obj) {
        problem(f, "", 0, "missing \"%s\": { \"en\": \"...\", \"es\": \"...\" }", key);
        return;
    }
    if (!expect(f, key, obj, JSON_OBJECT, "an object with \"en\" and \"es\""))
        return;
    check_keys(f, key, obj, lang_keys, "language");
    for (int l = 0; l < LANG_COUNT; l++) {
        char p[PATH_MAX_LEN];
        path_key(p, key, lang_name((enum lang)l));
        json_t *v = json_object_get(obj, lang_name((enum lang)l));
        if (!v) {
            problem(f, p, 0, "missing (both \"en\" and \"es\" are needed)");
            continue;
        }
        const char *s = check_text(f, p, v);
        struct sms_measure m;
        if (!s)
            continue;
        if (strstr(s, MENU_PLACEHOLDER))
            problem(f, p, 0, "may not contain %s", MENU_PLACEHOLDER);
        else if (sms_measure(s, strlen(s), &m) != 0 || m.segments > MAX_ANSWER_SEGMENTS)
            problem(f, p, 0, "more than %d SMS segments", MAX_ANSWER_SEGMENTS);
        else
            out[l] = xstrdup(s);
    }
}

static void load_menu(struct jfile *f, json_t *root)
{
    static const char *const keys[] = {"note", "menu", "items", "repeat", NULL};
    struct replies_menu *m = &f->ld->r->menu;
    check_keys(f, "", root, keys, "key");
    json_t *v = json_object_get(root, "note");
    if (v)
        expect(f, "note", v, JSON_STRING, "a string");
    load_pair(f, root, "menu", m->text);
    load_pair(f, root, "repeat", m->repeat);
    for (int k = 0; k < 10; k++)
        m->item[k] = INTENT_COUNT;

    v = json_object_get(root, "items");
    if (!v) {
        problem(f, "", 0, "missing \"items\": { \"1\": \"insurance\", ... }");
        return;
    }
    if (!expect(f, "items", v, JSON_OBJECT, "an object of number -> intent id"))
        return;
    for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
        const char *key = json_object_iter_key(it);
        json_t *val = json_object_iter_value(it);
        char p[PATH_MAX_LEN];
        path_key(p, "items", key);
        if (strlen(key) != 1 || key[0] < '1' || key[0] > '9') {
            problem(f, p, 1, "a menu number is one digit from 1 to 9 (0 shows the menu)");
            continue;
        }
        if (!expect(f, p, val, JSON_STRING, "an intent id"))
            continue;
        int id = intent_from_name(json_string_value(val));
        if (id < 0) {
            problem(f, p, 0, "no intent \"%s\" in intents.md", json_string_value(val));
            continue;
        }
        /* A menu number is a topic: never a compliance keyword, never an emergency. */
        if (id == INTENT_OPT_OUT || id == INTENT_OPT_IN || id == INTENT_HELP_KEYWORD ||
            id == INTENT_FALLBACK || intent_escalation((enum intent)id) == ESCALATE_URGENT) {
            problem(f, p, 0, "\"%s\" cannot be a menu topic", json_string_value(val));
            continue;
        }
        m->item[key[0] - '0'] = (enum intent)id;
        m->n_items++;
        for (int l = 0; l < LANG_COUNT; l++)
            if (m->text[l] && !has_standalone_digit(m->text[l], key[0]))
                problem(f, p, 1, "the menu text in \"%s\" does not offer %s",
                        lang_name((enum lang)l), key);
    }
    if (m->n_items == 0)
        problem(f, "items", 0, "the menu needs at least one topic");
}

/*
 * Answers may carry the menu as "{menu}": expanded once everything is loaded (menu.json
 * sorts after the intents that use it), then measured again, since the expanded text is
 * what texters get.
 */
static void expand_menus(struct loader *ld)
{
    struct replies *r = ld->r;
    size_t plen = strlen(ld->dir) + NAME_MAX + 2;
    char *path = xrealloc(NULL, plen);
    for (int i = 0; i < INTENT_COUNT; i++) {
        for (int l = 0; l < LANG_COUNT; l++) {
            char *a = r->intents[i].answer[l];
            char *at = a ? strstr(a, MENU_PLACEHOLDER) : NULL;
            if (!at)
                continue;
            snprintf(path, plen, "%s/%s.json", ld->dir, intent_name((enum intent)i));
            const char *menu = r->menu.text[l];
            if (!menu) {
                report_at(ld, path, 0, 0, "answer.%s: uses %s but menu.json has no menu",
                          lang_name((enum lang)l), MENU_PLACEHOLDER);
                continue;
            }
            if (strstr(at + strlen(MENU_PLACEHOLDER), MENU_PLACEHOLDER)) {
                report_at(ld, path, 0, 0, "answer.%s: %s may appear only once",
                          lang_name((enum lang)l), MENU_PLACEHOLDER);
                continue;
            }
            size_t head = (size_t)(at - a), n = strlen(a) - strlen(MENU_PLACEHOLDER) + strlen(menu);
            char *full = xrealloc(NULL, n + 1);
            snprintf(full, n + 1, "%.*s%s%s", (int)head, a, menu, at + strlen(MENU_PLACEHOLDER));
            struct sms_measure m;
            if (sms_measure(full, n, &m) == 0 && m.segments > MAX_ANSWER_SEGMENTS)
                report_at(ld, path, 0, 0,
                          "answer.%s: with the menu it is %d SMS segments (%s, %zu %s); at most "
                          "%d are allowed",
                          lang_name((enum lang)l), m.segments, sms_encoding_name(m.encoding),
                          m.units, m.encoding == SMS_GSM7 ? "septets" : "UTF-16 units",
                          MAX_ANSWER_SEGMENTS);
            free(a);
            r->intents[i].answer[l] = full;
        }
    }
    free(path);
}

/* ---- files ---- */

/* Reads a regular file of at most MAX_FILE_BYTES into f->text. */
static int read_whole(struct jfile *f)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        report_at(f->ld, f->path, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        report_at(f->ld, f->path, 0, 0, "not a regular file");
        close(fd);
        return -1;
    }
    if (st.st_size > MAX_FILE_BYTES) {
        report_at(f->ld, f->path, 0, 0, "too large: %lld bytes, at most 1 MiB (%d)",
                  (long long)st.st_size, MAX_FILE_BYTES);
        close(fd);
        return -1;
    }
    f->text = xrealloc(NULL, MAX_FILE_BYTES + 2);
    f->len = 0;
    for (;;) {
        ssize_t got = read(fd, f->text + f->len, MAX_FILE_BYTES + 1 - f->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            report_at(f->ld, f->path, 0, 0, "cannot read: %s", strerror(errno));
            close(fd);
            return -1;
        }
        if (got == 0)
            break;
        f->len += (size_t)got;
        if (f->len > MAX_FILE_BYTES) {
            report_at(f->ld, f->path, 0, 0, "too large: more than 1 MiB (%d bytes)",
                      MAX_FILE_BYTES);
            close(fd);
            return -1;
        }
    }
    close(fd);
    f->text[f->len] = '\0';
    if (f->len >= 3 && memcmp(f->text, "\xEF\xBB\xBF", 3) == 0)
        f->bom = 3;
    return 0;
}

/* Reports the first byte that is not UTF-8, with its line and column. */
static int check_utf8(struct jfile *f)
{
    int line = 1, col = 1;
    size_t i = f->bom;
    while (i < f->len) {
        /* ASCII, most of every file, is valid as it is: utf8proc_iterate would only
         * return the byte itself. */
        unsigned char b = (unsigned char)f->text[i];
        if (b < 0x80) {
            if (b == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)f->text + i,
                                              (utf8proc_ssize_t)(f->len - i), &cp);
        if (n <= 0 || cp < 0) {
            report_at(f->ld, f->path, line, col,
                      "invalid UTF-8 (byte 0x%02X): save the file as UTF-8",
                      (unsigned char)f->text[i]);
            return -1;
        }
        if (cp == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += (size_t)n;
    }
    return 0;
}

/* Reads, checks and parses one file; NULL (reported) when it is not a JSON object. A file
 * already parsed without a problem (pre_parse) comes as its root. */
static json_t *parse_file(struct jfile *f, json_t *parsed)
{
    json_t *root = parsed;
    json_error_t err;
    if (!root && (read_whole(f) != 0 || check_utf8(f) != 0))
        return NULL;
    if (!root)
        root = json_loadb(f->text + f->bom, f->len - f->bom, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        int line = err.line, col = err.column;
        if (line < 1) {
            line = col = 0;
        } else {
            if (col < 1)
                col = 1;
        }
        report_at(f->ld, f->path, line, col, "invalid JSON: %s", err.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        problem(f, "", 0, "must be one JSON object { ... }, not %s", type_name(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

/* saved_replies.json has a loader of its own (saved_replies.c); its problems count here. */
static void on_saved_problem(void *ctx, const char *file, int line, int column, const char *message)
{
    report_at(ctx, file, line, column, "%s", message);
}

static void load_saved(struct loader *ld, const char *name)
{
    size_t plen = strlen(ld->dir) + strlen(name) + 2;
    char *path = xrealloc(NULL, plen);
    snprintf(path, plen, "%s/%s", ld->dir, name);
    ld->r->saved = saved_replies_load(path, on_saved_problem, ld);
    free(path);
}

/*
 * A file read and parsed ahead (see pre_parse): its text and root, or no root when
 * anything went wrong, and then load_file does it again, reporting, in its turn.
 */
struct parsed {
    const char *name;
    char *text;
    size_t len, bom;
    json_t *root;
};

static void load_file(struct loader *ld, const char *name, struct parsed *pre)
{
    if (strcmp(name, SAVED_REPLIES_FILE) == 0) {
        load_saved(ld, name);
        return;
    }
    size_t stem_len = strlen(name) - strlen(".json");
    char stem[NAME_MAX + 1];
    snprintf(stem, sizeof stem, "%.*s", (int)stem_len, name);
    struct jfile f = {.ld = ld};
    size_t plen = strlen(ld->dir) + strlen(name) + 2;
    f.path = xrealloc(NULL, plen);
    snprintf(f.path, plen, "%s/%s", ld->dir, name);

    int lexicon = strcmp(name, LEXICON_FILE) == 0;
    int menu = strcmp(name, MENU_FILE) == 0;
    int id = lexicon || menu ? -1 : intent_from_name(stem);
    if (!lexicon && !menu && id < 0) {
        const char *names[INTENT_COUNT + 3];
        for (int i = 0; i < INTENT_COUNT; i++)
            names[i] = intent_name((enum intent)i);
        names[INTENT_COUNT] = "lexicon";
        names[INTENT_COUNT + 1] = "menu";
        names[INTENT_COUNT + 2] = NULL;
        const char *s = suggest(stem, names);
        if (s)
            report_at(ld, f.path, 0, 0, "no intent \"%s\" in intents.md (did you mean %s.json?)",
                      stem, s);
        else
            report_at(ld, f.path, 0, 0,
                      "no intent \"%s\" in intents.md: rename the file or remove it", stem);
        free(f.path);
        return; /* never parsed ahead: see pre_parse_files */
    }
    if (menu) {
        ld->menu_seen = 1;
    } else if (!lexicon) {
        f.intent = (enum intent)id;
        ld->seen[id] = 1;
    }
    if (pre && pre->root) {
        f.text = pre->text;
        f.len = pre->len;
        f.bom = pre->bom;
    }
    json_t *root = parse_file(&f, pre ? pre->root : NULL);
    if (root) {
        if (lexicon)
            load_lexicon(&f, root);
        else if (menu)
            load_menu(&f, root);
        else
            load_intent(&f, root);
        json_decref(root);
    }
    pos_index_free(&f.idx);
    free(f.text);
    free(f.path);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_json_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/*
 * Reading and parsing (jansson) was most of loading, and is the same work for any file
 * whatever the others hold, so two threads take the files in turn before load_file
 * checks them one by one, in order. Problems are not reported here: a file with one is
 * read again by load_file, which reports it where it always has.
 */
struct pre_parse {
    const char *dir;
    struct parsed *files;
    size_t n;
    size_t next; /* the next file to take, shared by the threads */
};

static void *pre_parse_files(void *arg)
{
    struct pre_parse *pp = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&pp->next, 1, __ATOMIC_RELAXED);
        if (i >= pp->n)
            return NULL;
        struct parsed *p = &pp->files[i];
        /* Only the files load_file parses: saved_replies.c reads its own, and a file named
         * after no intent is only reported. */
        size_t stem_len = strlen(p->name) - strlen(".json");
        char stem[NAME_MAX + 1];
        snprintf(stem, sizeof stem, "%.*s", (int)stem_len, p->name);
        if (strcmp(p->name, SAVED_REPLIES_FILE) == 0 ||
            (strcmp(p->name, LEXICON_FILE) != 0 && strcmp(p->name, MENU_FILE) != 0 &&
             intent_from_name(stem) < 0))
            continue;
        struct loader quiet = {.dir = pp->dir};
        struct jfile f = {.ld = &quiet};
        size_t plen = strlen(pp->dir) + strlen(p->name) + 2;
        f.path = xrealloc(NULL, plen);
        snprintf(f.path, plen, "%s/%s", pp->dir, p->name);
        if (read_whole(&f) == 0 && check_utf8(&f) == 0)
            p->root = json_loadb(f.text + f.bom, f.len - f.bom, JSON_REJECT_DUPLICATES, NULL);
        if (p->root) {
            p->text = f.text;
            p->len = f.len;
            p->bom = f.bom;
        } else {
            free(f.text);
        }
        free(f.path);
    }
}

static void pre_parse(struct pre_parse *pp)
{
    /* jansson seeds its hash function on first use; do it before the threads race. */
    json_object_seed(0);
    pthread_t tid;
    int threaded = pthread_create(&tid, NULL, pre_parse_files, pp) == 0;
    pre_parse_files(pp);
    if (threaded)
        pthread_join(tid, NULL);
}

/* ---- examples/: labelled texts ---- */

static int is_jsonl_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".jsonl") == 0;
}

/* Adds the *.jsonl files under dir/rel (rel "examples", "examples/extra"...) to names. */
static void find_example_files(struct loader *ld, const char *rel, int depth, char ***names,
                               size_t *n)
{
    size_t plen = strlen(ld->dir) + strlen(rel) + 2;
    char *path = xrealloc(NULL, plen);
    snprintf(path, plen, "%s/%s", ld->dir, rel);
    DIR *d = opendir(path);
    if (!d) {
        if (depth > 0 || errno != ENOENT)
            report_at(ld, path, 0, 0, "cannot open the folder: %s", strerror(errno));
        free(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t clen = strlen(rel) + strlen(e->d_name) + 2;
        char *child = xrealloc(NULL, clen);
        snprintf(child, clen, "%s/%s", rel, e->d_name);
        size_t flen = strlen(ld->dir) + clen + 1;
        char *full = xrealloc(NULL, flen);
        snprintf(full, flen, "%s/%s", ld->dir, child);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth + 1 < MAX_EXAMPLE_DEPTH)
                find_example_files(ld, child, depth + 1, names, n);
            else
                report_at(ld, full, 0, 0, "too deep: examples/ may nest %d folders at most",
                          MAX_EXAMPLE_DEPTH - 1);
            free(child);
        } else if (is_jsonl_name(e->d_name)) {
            if (*n >= MAX_EXAMPLE_FILES) {
                if (*n == MAX_EXAMPLE_FILES)
                    report_at(ld, full, 0, 0, "too many files: examples/ holds at most %d",
                              MAX_EXAMPLE_FILES);
                free(child);
                *n += *n == MAX_EXAMPLE_FILES; /* reported once */
            } else {
                *APPEND(*names, *n) = child;
            }
        } else {
            free(child);
        }
        free(full);
    }
    closedir(d);
    free(path);
}

static const char *const labelled_keys[] = {"id", "body", "intent", "escalate", "lang", NULL};
#define MAX_LABELLED_MEMBERS 16

/* The members of one labelled line: a string value, or NULL for any other type. */
struct members {
    const char *key[MAX_LABELLED_MEMBERS], *val[MAX_LABELLED_MEMBERS];
    size_t val_len[MAX_LABELLED_MEMBERS];
    int n;
};

static int hex_digit(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A JSON string at s[*i] (the opening quote) decoded into out; *i past the closing quote.
 * Returns the decoded length, or -1 for anything the fast path leaves to jansson
 * (controls, bad escapes, \u0000, lone surrogates). */
static long flat_string(const char *s, size_t len, size_t *i, char *out)
{
    size_t k = *i + 1, n = 0;
    while (k < len && s[k] != '"') {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            out[n++] = (char)c;
            k++;
            continue;
        }
        if (k + 1 >= len)
            return -1;
        char e = s[k + 1];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *at = e ? strchr(from, e) : NULL;
        if (at) {
            out[n++] = to[at - from];
            k += 2;
            continue;
        }
        if (e != 'u')
            return -1;
        long cp = 0;
        for (int pair = 0; pair < 2; pair++) {
            if (k + 6 > len || s[k] != '\\' || s[k + 1] != 'u')
                return -1;
            long u = 0;
            for (int d = 2; d < 6; d++) {
                int h = hex_digit((unsigned char)s[k + d]);
                if (h < 0)
                    return -1;
                u = u * 16 + h;
            }
            k += 6;
            if (pair == 0) {
                cp = u;
                if (u < 0xD800 || u > 0xDFFF)
                    break;
                if (u > 0xDBFF)
                    return -1; /* a low surrogate first */
            } else {
                if (u < 0xDC00 || u > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (u - 0xDC00);
            }
        }
        if (cp == 0)
            return -1;
        n += (size_t)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)out + n);
    }
    if (k >= len)
        return -1;
    *i = k + 1;
    return (long)n;
}

static void flat_ws(const char *s, size_t len, size_t *i)
{
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r'))
        (*i)++;
}

/*
 * The fast path for a labelled line: an object whose members are all strings, with no
 * key twice, as nearly every line is. Decodes into buf (len + 1 bytes: decoding never
 * grows a string). Returns 0 when the line is anything else, for jansson to parse and,
 * when it is wrong, to say why: jansson takes a few microseconds a line, and a start
 * reads some 14,000.
 */
static int flat_object(const char *s, size_t len, char *buf, struct members *m)
{
    size_t i = 0, used = 0;
    m->n = 0;
    flat_ws(s, len, &i);
    if (i >= len || s[i++] != '{')
        return 0;
    flat_ws(s, len, &i);
    if (i < len && s[i] == '}') {
        i++;
    } else {
        for (;;) {
            if (i >= len || s[i] != '"' || m->n == MAX_LABELLED_MEMBERS)
                return 0;
            long kl = flat_string(s, len, &i, buf + used);
            if (kl < 0)
                return 0;
            const char *key = buf + used;
            buf[used + (size_t)kl] = '\0';
            used += (size_t)kl + 1;
            flat_ws(s, len, &i);
            if (i >= len || s[i++] != ':')
                return 0;
            flat_ws(s, len, &i);
            if (i >= len || s[i] != '"')
                return 0;
            long vl = flat_string(s, len, &i, buf + used);
            if (vl < 0 || memchr(key, '\0', (size_t)kl))
                return 0;
            for (int k = 0; k < m->n; k++)
                if (strcmp(m->key[k], key) == 0)
                    return 0;
            m->key[m->n] = key;
            m->val[m->n] = buf + used;
            m->val_len[m->n++] = (size_t)vl;
            buf[used + (size_t)vl] = '\0';
            used += (size_t)vl + 1;
            flat_ws(s, len, &i);
            if (i < len && s[i] == ',') {
                i++;
                flat_ws(s, len, &i);
                continue;
            }
            if (i < len && s[i] == '}') {
                i++;
                break;
            }
            return 0;
        }
    }
    flat_ws(s, len, &i);
    return i == len;
}

static const char *member(const struct members *m, const char *key, size_t *len, int *present)
{
    for (int k = 0; k < m->n; k++) {
        if (strcmp(m->key[k], key) == 0) {
            *present = 1;
            *len = m->val_len[k];
            return m->val[k];
        }
    }
    *present = 0;
    *len = 0;
    return NULL;
}

/* One line of a labelled file: adds its text, or reports what is wrong. buf: len + 1
 * bytes of scratch. */
static void load_labelled_line(struct jfile *f, size_t file, int line, const char *s, size_t len,
                               char *buf)
{
    struct loader *ld = f->ld;
    struct members m;
    json_t *o = NULL;
    if (!flat_object(s, len, buf, &m)) {
        json_error_t err;
        o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
        if (!o) {
            report_at(ld, f->path, line, err.column > 0 ? err.column : 1, "invalid JSON: %s",
                      err.text);
            return;
        }
        if (!json_is_object(o)) {
            report_at(ld, f->path, line, 1, "must be one JSON object a line, not %s", type_name(o));
            json_decref(o);
            return;
        }
        m.n = 0;
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            if (m.n == MAX_LABELLED_MEMBERS) {
                report_at(ld, f->path, line, 1,
                          "too many keys: id, body, intent, escalate "
                          "and lang only");
                json_decref(o);
                return;
            }
            m.key[m.n] = key;
            m.val[m.n] = json_string_value(v);
            m.val_len[m.n++] = json_is_string(v) ? json_string_length(v) : 0;
        }
    }
    int bad = 0;
    for (int k = 0; k < m.n; k++) {
        if (in_list(m.key[k], labelled_keys))
            continue;
        const char *sug = suggest(m.key[k], labelled_keys);
        if (sug)
            report_at(ld, f->path, line, 1, "unknown key \"%s\" (did you mean \"%s\"?)", m.key[k],
                      sug);
        else
            report_at(ld, f->path, line, 1,
                      "unknown key \"%s\" (allowed: id, body, intent, escalate, lang)", m.key[k]);
        bad = 1;
    }
    const char *str[5];
    size_t body_len = 0;
    for (int k = 0; k < 5; k++) {
        int present;
        size_t n = 0;
        str[k] = member(&m, labelled_keys[k], &n, &present);
        if (k == 1)
            body_len = n;
        if (!str[k]) {
            report_at(ld, f->path, line, 1, "%s: %s", labelled_keys[k],
                      present ? "must be a string" : "missing");
            bad = 1;
        }
    }
    int intent = str[2] ? intent_from_name(str[2]) : -1;
    if (str[2] && intent < 0) {
        const char *names[INTENT_COUNT + 1];
        for (int i = 0; i < INTENT_COUNT; i++)
            names[i] = intent_name((enum intent)i);
        names[INTENT_COUNT] = NULL;
        const char *sug = suggest(str[2], names);
        if (sug)
            report_at(ld, f->path, line, 1, "intent: no intent \"%s\" (did you mean %s?)", str[2],
                      sug);
        else
            report_at(ld, f->path, line, 1, "intent: no intent \"%s\" in intents.md", str[2]);
        bad = 1;
    }
    if (intent >= 0 && str[3]) {
        const char *want = escalation_name(intent_escalation((enum intent)intent));
        if (strcmp(str[3], want) != 0) {
            report_at(ld, f->path, line, 1, "escalate: \"%s\", but %s is \"%s\" (intents.md)",
                      str[3], str[2], want);
            bad = 1;
        }
    }
    int lang = str[4] ? lang_from_name(str[4]) : -1;
    if (str[4] && lang < 0) {
        report_at(ld, f->path, line, 1, "lang: \"%s\" is neither \"en\" nor \"es\"", str[4]);
        bad = 1;
    }
    if (str[1]) {
        size_t blank = 0;
        while (blank < body_len && isspace((unsigned char)str[1][blank]))
            blank++;
        if (blank == body_len) {
            report_at(ld, f->path, line, 1, "body: empty text");
            bad = 1;
        } else if (body_len > MAX_LABELLED_BYTES) {
            report_at(ld, f->path, line, 1, "body: too long: %zu bytes, at most %d", body_len,
                      MAX_LABELLED_BYTES);
            bad = 1;
        } else if (memchr(str[1], '\0', body_len)) {
            report_at(ld, f->path, line, 1, "body: contains a NUL character");
            bad = 1;
        }
    }
    struct replies *r = ld->r;
    if (!bad && r->n_labelled == MAX_LABELLED) {
        report_at(ld, f->path, line, 1, "too many labelled texts: at most %d in examples/",
                  MAX_LABELLED);
        r->n_labelled++; /* reported once; dropped by load_examples */
    } else if (!bad && r->n_labelled < MAX_LABELLED) {
        if (r->n_labelled == ld->cap_labelled) {
            ld->cap_labelled = ld->cap_labelled ? ld->cap_labelled * 2 : 1024;
            r->labelled = xrealloc(r->labelled, ld->cap_labelled * sizeof *r->labelled);
        }
        struct replies_labelled *t = &r->labelled[r->n_labelled++];
        t->text = memcpy(xrealloc(NULL, body_len + 1), str[1], body_len + 1);
        t->intent = (enum intent)intent;
        t->lang = (enum lang)lang;
        t->file = file;
    }
    json_decref(o);
}

/* Reads examples/ (optional): every *.jsonl under it, in name order. */
static void load_examples(struct loader *ld)
{
    char **names = NULL;
    size_t n = 0;
    find_example_files(ld, EXAMPLES_DIR, 0, &names, &n);
    if (n > MAX_EXAMPLE_FILES)
        n = MAX_EXAMPLE_FILES;
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    struct replies *r = ld->r;
    for (size_t i = 0; i < n; i++) {
        struct jfile f = {.ld = ld};
        size_t plen = strlen(ld->dir) + strlen(names[i]) + 2;
        f.path = xrealloc(NULL, plen);
        snprintf(f.path, plen, "%s/%s", ld->dir, names[i]);
        size_t file = r->n_example_files;
        *APPEND(r->example_files, r->n_example_files) = names[i];
        if (read_whole(&f) == 0 && check_utf8(&f) == 0) {
            char *buf = xrealloc(NULL, f.len + 1);
            int line = 0;
            for (size_t at = f.bom; at < f.len;) {
                char *eol = memchr(f.text + at, '\n', f.len - at);
                size_t end = eol ? (size_t)(eol - f.text) : f.len;
                line++;
                size_t k = at;
                while (k < end && isspace((unsigned char)f.text[k]))
                    k++;
                if (k < end)
                    load_labelled_line(&f, file, line, f.text + at, end - at, buf);
                at = end + 1;
            }
            free(buf);
        }
        free(f.text);
        free(f.path);
    }
    free(names);
    if (r->n_labelled > MAX_LABELLED)
        r->n_labelled = MAX_LABELLED; /* the count past it only marked the report */
}

struct replies *replies_load(const char *dir, replies_report_fn report, void *ctx)
{
    struct loader ld = {.dir = dir, .report = report, .ctx = ctx};
    DIR *d = opendir(dir);
    if (!d) {
        report_at(&ld, dir, 0, 0, "cannot open the replies folder: %s", strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (is_json_name(e->d_name))
            *APPEND(names, n_names) = xstrdup(e->d_name);
    closedir(d);
    if (n_names)
        qsort(names, n_names, sizeof *names, cmp_names);

    ld.r = xrealloc(NULL, sizeof *ld.r);
    memset(ld.r, 0, sizeof *ld.r);
    struct pre_parse pp = {
        .dir = dir, .files = xrealloc(NULL, (n_names + 1) * sizeof *pp.files), .n = n_names};
    for (size_t i = 0; i < n_names; i++)
        pp.files[i] = (struct parsed){.name = names[i]};
    pre_parse(&pp);
    int lexicon_seen = 0;
    for (size_t i = 0; i < n_names; i++) {
        lexicon_seen |= strcmp(names[i], LEXICON_FILE) == 0;
        load_file(&ld, names[i], &pp.files[i]);
        free(names[i]);
    }
    free(pp.files);
    free(names);

    size_t plen = strlen(dir) + NAME_MAX + 2;
    char *path = xrealloc(NULL, plen);
    for (int i = 0; i < INTENT_COUNT; i++) {
        if (ld.seen[i])
            continue;
        snprintf(path, plen, "%s/%s.json", dir, intent_name((enum intent)i));
        report_at(&ld, path, 0, 0, "missing: every intent of intents.md needs a file");
    }
    if (!lexicon_seen) {
        snprintf(path, plen, "%s/%s", dir, LEXICON_FILE);
        report_at(&ld, path, 0, 0, "missing: the shared lexicon is required");
    }
    if (!ld.menu_seen) {
        snprintf(path, plen, "%s/%s", dir, MENU_FILE);
        report_at(&ld, path, 0, 0, "missing: the menu (and the repeat pointer) is required");
    }
    free(path);
    expand_menus(&ld);
    load_examples(&ld);

    if (ld.errors) {
        replies_free(ld.r);
        return NULL;
    }
    return ld.r;
}

void replies_free(struct replies *r)
{
    if (!r)
        return;
    for (int i = 0; i < INTENT_COUNT; i++) {
        struct replies_intent *in = &r->intents[i];
        for (int l = 0; l < LANG_COUNT; l++)
            free(in->answer[l]);
        for (size_t k = 0; k < in->n_keywords; k++)
            free(in->keywords[k]);
        free(in->keywords);
        for (size_t k = 0; k < in->n_phrases; k++)
            free(in->phrases[k].text);
        free(in->phrases);
        for (size_t k = 0; k < in->n_examples; k++)
            free(in->examples[k].text);
        free(in->examples);
    }
    for (size_t k = 0; k < r->n_shorthand; k++) {
        free(r->shorthand[k].from);
        free(r->shorthand[k].to);
    }
    free(r->shorthand);
    for (size_t k = 0; k < r->n_cues; k++) {
        free(r->cues[k].name);
        free(r->cues[k].text);
    }
    free(r->cues);
    for (size_t k = 0; k < r->n_concepts; k++) {
        free(r->concepts[k].name);
        free(r->concepts[k].text);
    }
    free(r->concepts);
    for (size_t k = 0; k < r->n_rules; k++)
        free_rule(&r->rules[k]);
    free(r->rules);
    for (int l = 0; l < LANG_COUNT; l++) {
        free(r->menu.text[l]);
        free(r->menu.repeat[l]);
    }
    saved_replies_free(r->saved);
    for (size_t k = 0; k < r->n_example_files; k++)
        free(r->example_files[k]);
    free(r->example_files);
    for (size_t k = 0; k < r->n_labelled; k++)
        free(r->labelled[k].text);
    free(r->labelled);
    free(r);
}
