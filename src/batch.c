/*
 * batch: `hotline match` (see batch.h). Lines are read in blocks of BATCH_LINES; each
 * worker takes every n-th line of a block, so the work splits evenly without a queue,
 * and writes its answer into that line's slot; the main thread then writes the slots in
 * order. The model is built once; the other workers use clones that share it.
 */
#define _GNU_SOURCE /* asprintf */
#include "hotline/batch.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "hotline/matcher.h"

#define BATCH_LINES 8192
#define MAX_THREADS 8

static bool plain_reader = true; /* batch_set_plain_reader */

void batch_set_plain_reader(bool on)
{
    plain_reader = on;
}

struct batch {
    const struct replies *replies;
    char *reply_json[INTENT_COUNT][LANG_COUNT]; /* the answers, JSON-encoded once */
    size_t reply_len[INTENT_COUNT][LANG_COUNT];
    char **lines;
    size_t *lens;
    /* Each line's answer: out_len[i] bytes at out_at[i] of the text of the worker that
     * took it (line i % stride); out_len[i] is 0 for a skipped blank line. One buffer per
     * worker and block, not one allocation per line. */
    size_t *out_at, *out_len;
    size_t nlines;
    int nthreads;
    int stride; /* workers on the current block */
};

struct worker {
    struct batch *b;
    struct matcher *matcher;
    int index;
    int failed;
    char *body; /* the decoded body of a line read by read_plain_line */
    size_t body_cap;
    char *text; /* this block's answers, one after the other */
    size_t text_len, text_cap;
};

/* Room for n more bytes of answers; returns where they go, NULL when out of memory. */
static char *text_room(struct worker *w, size_t n)
{
    if (w->text_len + n > w->text_cap) {
        size_t cap = w->text_cap ? w->text_cap : 1 << 16;
        while (cap < w->text_len + n)
            cap *= 2;
        char *grown = realloc(w->text, cap);
        if (!grown)
            return NULL;
        w->text = grown;
        w->text_cap = cap;
    }
    return w->text + w->text_len;
}

/* A JSON value as compact text; the caller frees it. */
static char *json_text(const json_t *value)
{
    char *s = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    return s ? s : strdup("null");
}

/* Appends a string to a buffer sized by the caller. */
static char *put(char *at, const char *s)
{
    size_t n = strlen(s);
    memcpy(at, s, n);
    return at + n;
}

/* One result line, built by hand: printf's format parsing cost more than the matching.
 * id_json is id_len bytes of JSON. Appends it to w's text; returns its length, 0 when out
 * of memory. */
static size_t format_answer(struct worker *w, const char *id_json, size_t id_len,
                            const struct match_result *r)
{
    const struct batch *b = w->b;
    const char *reply = b->reply_json[r->intent][r->lang];
    char *out = text_room(w, id_len + b->reply_len[r->intent][r->lang] + 160);
    if (!out)
        return 0;
    int permille = (int)(r->confidence * 1000 + 0.5);
    char conf[8] = {(char)('0' + permille / 1000),     '.',
                    (char)('0' + permille / 100 % 10), (char)('0' + permille / 10 % 10),
                    (char)('0' + permille % 10),       '\0'};
    char *at = put(out, "{\"id\":");
    memcpy(at, id_json, id_len);
    at += id_len;
    at = put(at, ",\"intent\":\"");
    at = put(at, intent_name(r->intent));
    at = put(at, "\",\"escalate\":\"");
    at = put(at, escalation_name(intent_escalation(r->intent)));
    at = put(at, "\",\"lang\":\"");
    at = put(at, lang_name(r->lang));
    at = put(at, "\",\"confidence\":");
    at = put(at, conf);
    at = put(at, ",\"reply\":");
    memcpy(at, reply, b->reply_len[r->intent][r->lang]);
    at += b->reply_len[r->intent][r->lang];
    at = put(at, "}\n");
    return (size_t)(at - out);
}

/*
 * The usual line, read without jansson, whose parse (an object, its keys and strings, all
 * allocated) cost as much as the matching: a JSON object of string values, whose "id", if
 * any, is printable ASCII without escapes, so that it is its own JSON. Anything else
 * (numbers, escapes in a key or the id, invalid UTF-8, \u0000, errors) returns 0 and is
 * left to jansson, so that every answer and error message is jansson's.
 */
struct plain_line {
    const char *id; /* the id's JSON, quotes included; NULL: no id */
    size_t id_len;
    const char *body; /* decoded, in the worker's buffer or the line itself */
    size_t body_len;
};

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
    if (end - p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at p (jansson's rules: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0. */
static int utf8_valid(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    int n;
    unsigned v;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07;
    else
        return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
        (n == 4 && v < 0x10000))
        return 0;
    return n;
}

static char *put_utf8(char *at, unsigned cp)
{
    if (cp < 0x80) {
        *at++ = (char)cp;
    } else if (cp < 0x800) {
        *at++ = (char)(0xC0 | cp >> 6);
        *at++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *at++ = (char)(0xE0 | cp >> 12);
        *at++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *at++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *at++ = (char)(0xF0 | cp >> 18);
        *at++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *at++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *at++ = (char)(0x80 | (cp & 0x3F));
    }
    return at;
}

/*
 * The string starting after the opening quote at p: *end_out is past its closing quote,
 * *escaped whether it has escapes. With dst (room for the raw length), also decodes it
 * there and sets *dst_len. Returns 0 for anything jansson would refuse or this does not
 * handle.
 */
static int scan_string(const char *p, const char *end, const char **end_out, int *escaped,
                       char *dst, size_t *dst_len)
{
    char *at = dst;
    *escaped = 0;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *end_out = p + 1;
            if (dst)
                *dst_len = (size_t)(at - dst);
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c != '\\') {
            int n = utf8_valid((const unsigned char *)p, (const unsigned char *)end);
            if (!n)
                return 0;
            if (dst) {
                memcpy(at, p, (size_t)n);
                at += n;
            }
            p += n;
            continue;
        }
        *escaped = 1;
        if (end - p < 2)
            return 0;
        char e = p[1];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            if (dst)
                *at++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            p += 2;
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || !hex4(p + 2, end, &cp) || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return 0;
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate: its low half must follow */
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, end, &lo) ||
                lo < 0xDC00 || lo > 0xDFFF)
                return 0;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        if (dst)
            at = put_utf8(at, cp);
    }
    return 0;
}

static int read_plain_line(struct worker *w, const char *line, size_t len, struct plain_line *out)
{
    const char *end = line + len;
    const char *p = skip_space(line, end);
    const char *body = NULL, *body_end = NULL;
    int body_escaped = 0;
    out->id = NULL;
    out->id_len = 0;
    if (p == end || *p != '{')
        return 0;
    p = skip_space(p + 1, end);
    if (p == end || *p == '}')
        return 0; /* no body */
    for (;;) {
        if (p == end || *p != '"')
            return 0;
        const char *key = p + 1, *value;
        int escaped;
        if (!scan_string(key, end, &p, &escaped, NULL, NULL) || escaped)
            return 0;
        size_t key_len = (size_t)(p - 1 - key);
        p = skip_space(p, end);
        if (p == end || *p != ':')
            return 0;
        p = skip_space(p + 1, end);
        if (p == end || *p != '"')
            return 0;
        value = p;
        if (!scan_string(value + 1, end, &p, &escaped, NULL, NULL))
            return 0;
        /* A key said twice: jansson keeps the last value, and so does this. */
        if (key_len == 2 && memcmp(key, "id", 2) == 0) {
            if (escaped)
                return 0;
            for (const char *c = value + 1; c < p - 1; c++)
                if (*c < 0x20 || *c > 0x7E)
                    return 0;
            out->id = value;
            out->id_len = (size_t)(p - value);
        } else if (key_len == 4 && memcmp(key, "body", 4) == 0) {
            body = value + 1;
            body_end = p;
            body_escaped = escaped;
        }
        p = skip_space(p, end);
        if (p == end)
            return 0;
        if (*p == '}')
            break;
        if (*p != ',')
            return 0;
        p = skip_space(p + 1, end);
    }
    if (skip_space(p + 1, end) != end || !body)
        return 0;
    if (!body_escaped) {
        out->body = body;
        out->body_len = (size_t)(body_end - 1 - body);
        return 1;
    }
    size_t need = (size_t)(body_end - body);
    if (need > w->body_cap) {
        char *grown = realloc(w->body, need);
        if (!grown)
            return 0;
        w->body = grown;
        w->body_cap = need;
    }
    const char *ignored;
    int escaped;
    if (!scan_string(body, end, &ignored, &escaped, w->body, &out->body_len))
        return 0;
    out->body = w->body;
    return 1;
}

/* Appends the answer to a line to w's text; returns its length, 0 when out of memory. */
static size_t answer_line(struct worker *w, const char *line, size_t len)
{
    struct plain_line plain;
    if (plain_reader && read_plain_line(w, line, len, &plain)) {
        struct match_result r;
        matcher_classify(w->matcher, plain.body, plain.body_len, &r, NULL);
        if (plain.id)
            return format_answer(w, plain.id, plain.id_len, &r);
        return format_answer(w, "null", 4, &r);
    }
    json_error_t jerr;
    json_t *in = json_loadb(line, len, 0, &jerr);
    json_t *body = in ? json_object_get(in, "body") : NULL;
    json_t *id = in ? json_object_get(in, "id") : NULL;
    char *id_json = id ? json_text(id) : strdup("null");
    size_t n = 0;
    if (!json_is_object(in) || !json_is_string(body)) {
        json_t *err = json_string(in ? "expected an object with a string \"body\"" : jerr.text);
        char *err_json = json_text(err);
        char *out;
        int k = asprintf(&out, "{\"id\":%s,\"error\":%s}\n", id_json, err_json);
        char *at = k < 0 ? NULL : text_room(w, (size_t)k);
        if (at) {
            memcpy(at, out, (size_t)k);
            n = (size_t)k;
        }
        if (k >= 0)
            free(out);
        free(err_json);
        json_decref(err);
    } else {
        struct match_result r;
        matcher_classify(w->matcher, json_string_value(body), json_string_length(body), &r, NULL);
        n = format_answer(w, id_json, strlen(id_json), &r);
    }
    free(id_json);
    json_decref(in);
    return n;
}

static void *run_block(void *arg)
{
    struct worker *w = arg;
    struct batch *b = w->b;
    w->text_len = 0;
    for (size_t i = (size_t)w->index; i < b->nlines; i += (size_t)b->stride) {
        b->out_len[i] = 0;
        if (b->lens[i] == 0)
            continue;
        b->out_at[i] = w->text_len;
        b->out_len[i] = answer_line(w, b->lines[i], b->lens[i]);
        if (!b->out_len[i])
            w->failed = 1;
        w->text_len += b->out_len[i];
    }
    return NULL;
}

static void *build_matcher(void *arg)
{
    struct worker *w = arg;
    w->matcher = matcher_new_with_dictionaries(w->b->replies, NULL, NULL);
    return NULL;
}

/* Runs fn on every worker, the first on this thread and the rest on new threads. */
static void run_workers(struct worker *workers, int n, void *(*fn)(void *))
{
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < n; i++)
        started[i] = pthread_create(&tid[i], NULL, fn, &workers[i]) == 0;
    fn(&workers[0]);
    for (int i = 1; i < n; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            fn(&workers[i]); /* no thread to be had: do its share here */
    }
}

/* Reads up to BATCH_LINES lines; returns how many, 0 at the end of the input. */
static size_t read_block(struct batch *b, FILE *in, size_t *caps)
{
    size_t n = 0;
    while (n < BATCH_LINES) {
        ssize_t len = getline(&b->lines[n], &caps[n], in);
        if (len < 0)
            break;
        while (len > 0 && (b->lines[n][len - 1] == '\n' || b->lines[n][len - 1] == '\r'))
            b->lines[n][--len] = '\0';
        b->lens[n] = (size_t)len;
        n++;
    }
    return n;
}

int batch_match(const struct replies *replies, FILE *in, FILE *out, int threads)
{
    if (threads <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (int)cpus : 1;
    }
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;

    struct batch b = {.replies = replies, .nthreads = threads};
    b.lines = calloc(BATCH_LINES, sizeof *b.lines);
    b.lens = calloc(BATCH_LINES, sizeof *b.lens);
    b.out_at = calloc(BATCH_LINES, sizeof *b.out_at);
    b.out_len = calloc(BATCH_LINES, sizeof *b.out_len);
    size_t *caps = calloc(BATCH_LINES, sizeof *caps);
    struct worker workers[MAX_THREADS];
    memset(workers, 0, sizeof workers);
    int rc = -1;
    if (!b.lines || !b.lens || !b.out_at || !b.out_len || !caps)
        goto done;
    for (int k = 0; k < INTENT_COUNT; k++) {
        for (int l = 0; l < LANG_COUNT; l++) {
            json_t *str = json_string(replies->intents[k].answer[l]);
            b.reply_json[k][l] = json_text(str);
            b.reply_len[k][l] = strlen(b.reply_json[k][l]);
            json_decref(str);
        }
    }
    /* jansson seeds its hash function on first use; do it before the threads race. */
    json_object_seed(0);

    for (int i = 0; i < threads; i++) {
        workers[i].b = &b;
        workers[i].index = i;
    }
    build_matcher(&workers[0]);
    for (int i = 1; i < threads && workers[0].matcher; i++)
        workers[i].matcher = matcher_clone(workers[0].matcher);
    for (int i = 0; i < threads; i++) {
        if (!workers[i].matcher) {
            fprintf(stderr, "hotline: could not build the matcher (Snowball stemmers?)\n");
            goto done;
        }
    }

    size_t n;
    while ((n = read_block(&b, in, caps)) > 0) {
        b.nlines = n;
        /* A short block is not worth waking the other workers for. */
        b.stride = n < 64 ? 1 : threads;
        run_workers(workers, b.stride, run_block);
        for (size_t i = 0; i < n; i++)
            if (b.out_len[i])
                fwrite(workers[i % (size_t)b.stride].text + b.out_at[i], 1, b.out_len[i], out);
        for (int i = 0; i < threads; i++) {
            if (workers[i].failed) {
                fprintf(stderr, "hotline: out of memory\n");
                goto done;
            }
        }
    }
    if (ferror(in)) {
        fprintf(stderr, "hotline: reading the input: %s\n", strerror(errno));
        goto done;
    }
    if (fflush(out) != 0) {
        fprintf(stderr, "hotline: writing the output: %s\n", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    for (int i = threads - 1; i >= 0; i--) { /* clones before their original */
        matcher_free(workers[i].matcher);
        free(workers[i].body);
        free(workers[i].text);
    }
    for (int k = 0; k < INTENT_COUNT; k++)
        for (int l = 0; l < LANG_COUNT; l++)
            free(b.reply_json[k][l]);
    if (b.lines)
        for (size_t i = 0; i < BATCH_LINES; i++)
            free(b.lines[i]);
    free(b.lines);
    free(b.lens);
    free(b.out_at);
    free(b.out_len);
    free(caps);
    return rc;
}
