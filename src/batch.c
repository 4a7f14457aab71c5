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

struct batch {
    const struct replies *replies;
    char *reply_json[INTENT_COUNT][LANG_COUNT]; /* the answers, JSON-encoded once */
    char **lines;
    size_t *lens;
    char **out; /* one malloc'd line per input line, NULL for a skipped blank line */
    size_t nlines;
    int nthreads;
    int stride; /* workers on the current block */
};

struct worker {
    struct batch *b;
    struct matcher *matcher;
    int index;
    int failed;
};

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

/* One result line, built by hand: printf's format parsing cost more than the matching. */
static char *format_answer(const struct batch *b, const char *id_json, const struct match_result *r)
{
    const char *reply = b->reply_json[r->intent][r->lang];
    char *out = malloc(strlen(id_json) + strlen(reply) + 160);
    if (!out)
        return NULL;
    int permille = (int)(r->confidence * 1000 + 0.5);
    char conf[8] = {(char)('0' + permille / 1000),     '.',
                    (char)('0' + permille / 100 % 10), (char)('0' + permille / 10 % 10),
                    (char)('0' + permille % 10),       '\0'};
    char *at = put(out, "{\"id\":");
    at = put(at, id_json);
    at = put(at, ",\"intent\":\"");
    at = put(at, intent_name(r->intent));
    at = put(at, "\",\"escalate\":\"");
    at = put(at, escalation_name(intent_escalation(r->intent)));
    at = put(at, "\",\"lang\":\"");
    at = put(at, lang_name(r->lang));
    at = put(at, "\",\"confidence\":");
    at = put(at, conf);
    at = put(at, ",\"reply\":");
    at = put(at, reply);
    at = put(at, "}\n");
    *at = '\0';
    return out;
}

static char *answer_line(struct worker *w, const char *line, size_t len)
{
    struct batch *b = w->b;
    json_error_t jerr;
    json_t *in = json_loadb(line, len, 0, &jerr);
    json_t *body = in ? json_object_get(in, "body") : NULL;
    json_t *id = in ? json_object_get(in, "id") : NULL;
    char *id_json = id ? json_text(id) : strdup("null");
    char *out = NULL;
    if (!json_is_object(in) || !json_is_string(body)) {
        json_t *err = json_string(in ? "expected an object with a string \"body\"" : jerr.text);
        char *err_json = json_text(err);
        if (asprintf(&out, "{\"id\":%s,\"error\":%s}\n", id_json, err_json) < 0)
            out = NULL;
        free(err_json);
        json_decref(err);
    } else {
        struct match_result r;
        matcher_classify(w->matcher, json_string_value(body), json_string_length(body), &r, NULL);
        out = format_answer(b, id_json, &r);
    }
    free(id_json);
    json_decref(in);
    return out;
}

static void *run_block(void *arg)
{
    struct worker *w = arg;
    struct batch *b = w->b;
    for (size_t i = (size_t)w->index; i < b->nlines; i += (size_t)b->stride) {
        if (b->lens[i] == 0) {
            b->out[i] = NULL;
            continue;
        }
        b->out[i] = answer_line(w, b->lines[i], b->lens[i]);
        if (!b->out[i])
            w->failed = 1;
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
    b.out = calloc(BATCH_LINES, sizeof *b.out);
    size_t *caps = calloc(BATCH_LINES, sizeof *caps);
    struct worker workers[MAX_THREADS];
    memset(workers, 0, sizeof workers);
    int rc = -1;
    if (!b.lines || !b.lens || !b.out || !caps)
        goto done;
    for (int k = 0; k < INTENT_COUNT; k++) {
        for (int l = 0; l < LANG_COUNT; l++) {
            json_t *str = json_string(replies->intents[k].answer[l]);
            b.reply_json[k][l] = json_text(str);
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
        for (size_t i = 0; i < n; i++) {
            if (b.out[i]) {
                fputs(b.out[i], out);
                free(b.out[i]);
                b.out[i] = NULL;
            }
        }
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
    for (int i = threads - 1; i >= 0; i--) /* clones before their original */
        matcher_free(workers[i].matcher);
    for (int k = 0; k < INTENT_COUNT; k++)
        for (int l = 0; l < LANG_COUNT; l++)
            free(b.reply_json[k][l]);
    if (b.lines)
        for (size_t i = 0; i < BATCH_LINES; i++)
            free(b.lines[i]);
    free(b.lines);
    free(b.lens);
    free(b.out);
    free(caps);
    return rc;
}
