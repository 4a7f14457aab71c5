/*
 * saved_replies: loads and validates replies/saved_replies.json (format in
 * saved_replies.h) and keeps the JSON the staff API serves.
 *
 * Like the intent files, this one is edited by hand, so the loader reports every problem
 * it finds (file, and line and column where it has them: a byte that is not UTF-8, a JSON
 * syntax error) instead of stopping at the first, and gives either a complete, checked
 * list or NULL. A saved reply must fit in 3 SMS segments as sms_measure counts them: the
 * staff page's counter (web/sms.js) counts the same way, so what staff see before sending
 * is what the texter is charged for.
 *
 * The JSON for the page is built once here (jansson, compact, file order), so serving it
 * costs a pointer.
 */
#include "hotline/saved_replies.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "hotline/sms.h"

#define EMPTY_JSON "{\"saved\":[]}"

struct loader {
    const char *path;
    replies_report_fn report;
    void *ctx;
    int errors;
};

__attribute__((format(printf, 4, 5))) static void problem(struct loader *ld, int line, int col,
                                                          const char *fmt, ...)
{
    ld->errors++;
    if (!ld->report)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ld->report(ld->ctx, ld->path, line, col, msg);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fputs("hotline: out of memory loading saved replies\n", stderr);
        abort();
    }
    return d;
}

/* The whole file (NUL-terminated) in *text, at most SAVED_REPLIES_FILE_MAX bytes. */
static int read_file(struct loader *ld, char **text, size_t *len)
{
    FILE *f = fopen(ld->path, "rbe");
    if (!f) {
        problem(ld, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    char *buf = malloc(SAVED_REPLIES_FILE_MAX + 2);
    if (!buf) {
        fclose(f);
        problem(ld, 0, 0, "out of memory");
        return -1;
    }
    size_t n = fread(buf, 1, SAVED_REPLIES_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > SAVED_REPLIES_FILE_MAX) {
        free(buf);
        if (bad)
            problem(ld, 0, 0, "cannot read the file");
        else
            problem(ld, 0, 0, "too large: more than %d bytes", SAVED_REPLIES_FILE_MAX);
        return -1;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

/* The first byte that is not UTF-8, reported with its line and column. */
static int check_utf8(struct loader *ld, const char *text, size_t len)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0 || cp < 0) {
            problem(ld, line, col, "invalid UTF-8 (byte 0x%02X): save the file as UTF-8",
                    (unsigned char)text[i]);
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

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SAVED_REPLY_ID_MAX)
        return false;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    return true;
}

/* Reports every key of obj that is not in keys (NULL-terminated). */
static void check_keys(struct loader *ld, const char *where, json_t *obj, const char *const *keys)
{
    char allowed[128] = "";
    for (const char *const *k = keys; *k; k++)
        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s\"%s\"",
                 k == keys ? "" : ", ", *k);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (const char *const *k = keys; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known)
            problem(ld, 0, 0, "%s%s%s: unknown key (allowed: %s)", where, *where ? "." : "", key,
                    allowed);
    }
}

/* One language's text of item at where ("saved[2].text.es"); a copy, or NULL (reported). */
static char *check_text(struct loader *ld, const char *where, json_t *v)
{
    if (!v) {
        problem(ld, 0, 0, "%s: missing (every saved reply needs both \"en\" and \"es\")", where);
        return NULL;
    }
    if (!json_is_string(v)) {
        problem(ld, 0, 0, "%s: must be a string", where);
        return NULL;
    }
    const char *s = json_string_value(v); /* no NUL inside: jansson refuses \u0000 */
    size_t n = json_string_length(v);
    if (blank(s)) {
        problem(ld, 0, 0, "%s: empty text", where);
        return NULL;
    }
    struct sms_measure m;
    if (sms_measure(s, n, &m) != 0) {
        problem(ld, 0, 0, "%s: not valid UTF-8", where);
        return NULL;
    }
    if (m.segments > SAVED_REPLY_MAX_SEGMENTS) {
        problem(ld, 0, 0, "%s: %d SMS segments (%s, %zu %s); at most %d are allowed", where,
                m.segments, sms_encoding_name(m.encoding), m.units,
                m.encoding == SMS_GSM7 ? "septets" : "UTF-16 units", SAVED_REPLY_MAX_SEGMENTS);
        return NULL;
    }
    return xstrdup(s);
}

static void free_item(struct saved_reply *r)
{
    free(r->id);
    free(r->label);
    for (int l = 0; l < LANG_COUNT; l++)
        free(r->text[l]);
}

/* Item i of the "saved" array into *out; false when it had problems (all reported). */
static bool load_item(struct loader *ld, size_t i, json_t *item, struct saved_reply *out,
                      const struct saved_reply *earlier, size_t n_earlier)
{
    static const char *const keys[] = {"id", "label", "text", NULL};
    static const char *const lang_keys[] = {"en", "es", NULL};
    char where[64], sub[96];
    snprintf(where, sizeof where, "saved[%zu]", i);
    memset(out, 0, sizeof *out);
    if (!json_is_object(item)) {
        problem(ld, 0, 0, "%s: must be an object with \"id\", \"label\" and \"text\"", where);
        return false;
    }
    int before = ld->errors;
    check_keys(ld, where, item, keys);

    json_t *v = json_object_get(item, "id");
    snprintf(sub, sizeof sub, "%s.id", where);
    if (!v)
        problem(ld, 0, 0, "%s: missing", sub);
    else if (!json_is_string(v) || !id_valid(json_string_value(v)))
        problem(ld, 0, 0, "%s: must be 1 to %d of a-z, 0-9 and _", sub, SAVED_REPLY_ID_MAX);
    else {
        for (size_t k = 0; k < n_earlier; k++)
            if (earlier[k].id && strcmp(earlier[k].id, json_string_value(v)) == 0)
                problem(ld, 0, 0, "%s: \"%s\" is already the id of saved[%zu]", sub,
                        json_string_value(v), k);
        out->id = xstrdup(json_string_value(v));
    }

    v = json_object_get(item, "label");
    snprintf(sub, sizeof sub, "%s.label", where);
    if (!v)
        problem(ld, 0, 0, "%s: missing (a few words staff pick it by)", sub);
    else if (!json_is_string(v) || blank(json_string_value(v)) ||
             json_string_length(v) > SAVED_REPLY_LABEL_MAX)
        problem(ld, 0, 0, "%s: must be a non-blank string of at most %d bytes", sub,
                SAVED_REPLY_LABEL_MAX);
    else
        out->label = xstrdup(json_string_value(v));

    v = json_object_get(item, "text");
    snprintf(sub, sizeof sub, "%s.text", where);
    if (!v) {
        problem(ld, 0, 0, "%s: missing: { \"en\": \"...\", \"es\": \"...\" }", sub);
    } else if (!json_is_object(v)) {
        problem(ld, 0, 0, "%s: must be an object with \"en\" and \"es\"", sub);
    } else {
        check_keys(ld, sub, v, lang_keys);
        for (int l = 0; l < LANG_COUNT; l++) {
            char lp[128];
            snprintf(lp, sizeof lp, "%s.%s", sub, lang_name((enum lang)l));
            out->text[l] = check_text(ld, lp, json_object_get(v, lang_name((enum lang)l)));
        }
    }
    if (ld->errors != before) {
        free_item(out);
        memset(out, 0, sizeof *out);
        return false;
    }
    return true;
}

static char *build_json(const struct saved_replies *s)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < s->n; i++) {
        const struct saved_reply *r = &s->v[i];
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", r->id, "label", r->label,
                                        "text", "en", r->text[LANG_EN], "es", r->text[LANG_ES]));
    }
    json_t *root = json_pack("{s:o}", "saved", list);
    char *out = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return out;
}

struct saved_replies *saved_replies_load(const char *path, replies_report_fn report, void *ctx)
{
    struct loader ld = {.path = path, .report = report, .ctx = ctx};
    char *text = NULL;
    size_t len = 0;
    if (read_file(&ld, &text, &len) != 0)
        return NULL;
    size_t bom = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    if (check_utf8(&ld, text + bom, len - bom) != 0) {
        free(text);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text + bom, len - bom, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        problem(&ld, jerr.line > 0 ? jerr.line : 0,
                jerr.line > 0 && jerr.column > 0 ? jerr.column : 0, "invalid JSON: %s", jerr.text);
        return NULL;
    }
    struct saved_replies *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(root);
        problem(&ld, 0, 0, "out of memory");
        return NULL;
    }
    if (!json_is_object(root)) {
        problem(&ld, 0, 0, "must be one JSON object { \"saved\": [ ... ] }");
        goto done;
    }
    static const char *const keys[] = {"note", "saved", NULL};
    check_keys(&ld, "", root, keys);
    json_t *note = json_object_get(root, "note");
    if (note && !json_is_string(note))
        problem(&ld, 0, 0, "note: must be a string");
    json_t *list = json_object_get(root, "saved");
    if (!list) {
        problem(&ld, 0, 0, "missing \"saved\": [ { \"id\": ..., \"label\": ..., \"text\": ... } ]");
        goto done;
    }
    if (!json_is_array(list)) {
        problem(&ld, 0, 0, "saved: must be an array");
        goto done;
    }
    if (json_array_size(list) > SAVED_REPLIES_MAX) {
        problem(&ld, 0, 0, "saved: %zu saved replies, at most %d", json_array_size(list),
                SAVED_REPLIES_MAX);
        goto done;
    }
    if (!(s->v = calloc(json_array_size(list) + 1, sizeof *s->v))) {
        problem(&ld, 0, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < json_array_size(list); i++)
        if (load_item(&ld, i, json_array_get(list, i), &s->v[s->n], s->v, s->n))
            s->n++;
    if (!ld.errors && !(s->json = build_json(s)))
        problem(&ld, 0, 0, "out of memory");
done:
    json_decref(root);
    if (ld.errors) {
        saved_replies_free(s);
        return NULL;
    }
    return s;
}

void saved_replies_free(struct saved_replies *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free_item(&s->v[i]);
    free(s->v);
    free(s->json);
    free(s);
}

const char *saved_replies_json(const struct saved_replies *s)
{
    return s && s->json ? s->json : EMPTY_JSON;
}
