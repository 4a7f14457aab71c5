/*
 * urgency: the learned safety net (see urgency.h). Owns the features, the training, the
 * scoring and the explanation; the matcher owns when to ask it.
 *
 * Shaped by what it is for. The texts are short and misspelt, so the features are
 * character 4-grams of each "<word>" besides the words and word pairs: "wakin" and
 * "waking" share most of theirs. They are hashed (FNV-1a, a fixed function, so a model is
 * the same on every machine) into 2^20 buckets: no vocabulary to build, and collisions
 * are rare at a few hundred thousand distinct features. A text is a set of features (each
 * counts once). The model is a logistic regression trained by plain SGD from a
 * fixed-seed shuffle (6 epochs, crises weighted 2, a step shrunk with the number of
 * features): deterministic, and fast enough to train at every start (14,000 texts in a
 * few tens of milliseconds) so that a text staff add to replies/examples/ counts at the
 * next start. The prototype (and its leave-one-file-out figures) is the same model.
 */
#include "hotline/urgency.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "hotline/intent.h"
#include "hotline/replies.h"

#define MAX_TEXT_BYTES 4096 /* Twilio bodies are at most 1600 characters */
#define MAX_FEATURES 8192   /* per text; more are dropped */
#define EPOCHS 6            /* 8 (the prototype's) gains nothing in cross-validation */
#define LEARNING_RATE 0.2
#define BIAS_RATE 0.02
#define L2 1e-6
#define CRISIS_WEIGHT 2.0 /* a missed crisis is the worse error */
#define SHUFFLE_SEED 0x9E3779B97F4A7C15ull
#define Z_LIMIT 30.0

enum kind { KIND_WORD = 'w', KIND_PAIR = 'b', KIND_GRAM = 'c' };

/* Training reads and writes each text's weights 8 times: over a dense numbering of the
 * buckets the set uses (a few hundred thousand, not 2^20) they stay in the cache. */
struct urgency_set {
    uint32_t *feat; /* every text's distinct features (dense ids), one after another */
    size_t *start;  /* text i's are feat[start[i] .. start[i + 1]) */
    unsigned char *urgent;
    int *group;
    size_t n, cap, n_feat, cap_feat;
    uint32_t *dense;     /* by bucket: its dense id, UINT32_MAX when unused */
    uint32_t *bucket_of; /* by dense id: the bucket */
    size_t n_dense, cap_dense;
};

struct urgency_model {
    float bias;
    float w[URGENCY_BUCKETS];
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("hotline: out of memory training the safety net\n", stderr);
        abort();
    }
    return q;
}

/* ---- features ---- */

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static uint32_t bucket(uint32_t h)
{
    return (h ^ (h >> 20)) & (URGENCY_BUCKETS - 1); /* xor-folded to 20 bits */
}

/* A folded word: its bytes, and where each of its code points starts. */
struct word {
    char s[URGENCY_MAX_WORD + 1];
    size_t len;
    int ncp;
    unsigned char cp_at[URGENCY_MAX_WORD + 1];
};

/* Called for each feature of each word: index is the word's among the text's words. */
typedef void (*feature_fn)(void *ctx, uint32_t bucket, const struct word *w, int index,
                           enum kind kind);

static void word_features(const struct word *prev, const struct word *w, int index, feature_fn fn,
                          void *ctx)
{
    char kind = KIND_WORD;
    fn(ctx, bucket(fnv(fnv(FNV_OFFSET, &kind, 1), w->s, w->len)), w, index, KIND_WORD);
    if (prev) {
        kind = KIND_PAIR;
        uint32_t h = fnv(fnv(FNV_OFFSET, &kind, 1), prev->s, prev->len);
        h = fnv(fnv(h, " ", 1), w->s, w->len);
        fn(ctx, bucket(h), w, index, KIND_PAIR);
    }
    /* 4-grams of code points of "<word>". */
    char framed[URGENCY_MAX_WORD + 3];
    unsigned char at[URGENCY_MAX_WORD + 4];
    framed[0] = '<';
    memcpy(framed + 1, w->s, w->len);
    framed[w->len + 1] = '>';
    int n = 0;
    at[n++] = 0;
    for (int c = 0; c < w->ncp; c++)
        at[n++] = (unsigned char)(w->cp_at[c] + 1);
    at[n++] = (unsigned char)(w->len + 1);
    at[n] = (unsigned char)(w->len + 2); /* the end */
    kind = KIND_GRAM;
    uint32_t h0 = fnv(FNV_OFFSET, &kind, 1);
    for (int c = 0; c + 4 <= n; c++)
        fn(ctx, bucket(fnv(h0, framed + at[c], (size_t)(at[c + 4] - at[c]))), w, index, KIND_GRAM);
}

/* Appends code point cp (already folded) to the word; past URGENCY_MAX_WORD bytes the
 * word is cut (*overlong: the rest of it adds nothing). */
static void add_char(struct word *w, utf8proc_int32_t cp, int *overlong)
{
    if (cp < 0x80) {
        if (w->len + 1 > URGENCY_MAX_WORD) {
            *overlong = 1;
            return;
        }
        w->cp_at[w->ncp++] = (unsigned char)w->len;
        w->s[w->len++] = (char)cp;
        return;
    }
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t k = utf8proc_encode_char(cp, buf);
    if (w->len + (size_t)k > URGENCY_MAX_WORD) {
        *overlong = 1;
        return;
    }
    w->cp_at[w->ncp++] = (unsigned char)w->len;
    memcpy(w->s + w->len, buf, (size_t)k);
    w->len += (size_t)k;
}

/* An ASCII character folded: a lowercase letter or a digit, '\'' kept (dropped by the
 * caller), 0 for a separator. No locale: the same everywhere. */
static int ascii_fold(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c + ('a' - 'A');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'')
        return c;
    return 0;
}

/*
 * The features of a text: folded (NFKD, case folded, marks stripped, look-alike
 * punctuation lumped to ASCII), split on anything not a letter or digit, apostrophes
 * dropped ("don't" -> "dont"). Returns the number of words.
 */
static int text_features(const char *text, size_t len, feature_fn fn, void *ctx)
{
    if (len > MAX_TEXT_BYTES)
        len = MAX_TEXT_BYTES;
    struct word words[2];
    words[0].len = words[1].len = 0;
    words[0].ncp = words[1].ncp = 0;
    int cur = 0, nwords = 0, overlong = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    size_t i = 0;
    for (;;) {
        utf8proc_int32_t dec[24];
        utf8proc_ssize_t nd = 1;
        int end = i >= len;
        if (end) {
            dec[0] = ' '; /* ends the last word */
        } else if (p[i] < 0x80) {
            dec[0] = p[i++];
        } else {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
            if (k <= 0) {
                i++;
                continue;
            }
            i += (size_t)k;
            nd = utf8proc_decompose_char(cp, dec, 24,
                                         UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                             UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP,
                                         NULL);
            if (nd < 0 || nd > 24)
                continue;
        }
        for (utf8proc_ssize_t d = 0; d < nd; d++) {
            utf8proc_int32_t c = dec[d];
            int alnum;
            if (c < 0x80) {
                c = ascii_fold(c);
                if (c == '\'')
                    continue; /* dropped: "don't" -> "dont" */
                alnum = c != 0;
            } else {
                utf8proc_category_t cat = utf8proc_category(c);
                alnum = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                        cat == UTF8PROC_CATEGORY_ND;
            }
            if (alnum) {
                if (!overlong)
                    add_char(&words[cur], c, &overlong);
                continue;
            }
            struct word *w = &words[cur];
            if (w->len) {
                word_features(nwords ? &words[!cur] : NULL, w, nwords, fn, ctx);
                nwords++;
                cur = !cur;
                words[cur].len = 0;
                words[cur].ncp = 0;
            }
            overlong = 0;
        }
        if (end)
            break;
    }
    return nwords;
}

struct collect {
    uint32_t *v;
    size_t n;
};

static void on_collect(void *ctx, uint32_t b, const struct word *w, int index, enum kind kind)
{
    (void)w;
    (void)index;
    (void)kind;
    struct collect *c = ctx;
    if (c->n < MAX_FEATURES)
        c->v[c->n++] = b;
}

/* A bit per bucket, for keeping a text's features distinct; all clear between texts. */
static _Thread_local uint64_t seen_bits[URGENCY_BUCKETS / 64];

/* The text's distinct buckets into v (MAX_FEATURES of room), in order of appearance;
 * returns how many. */
static size_t distinct_features(const char *text, size_t len, uint32_t *v)
{
    struct collect c = {.v = v};
    text_features(text, len, on_collect, &c);
    size_t n = 0;
    for (size_t i = 0; i < c.n; i++) {
        uint64_t bit = 1ull << (v[i] & 63);
        if (seen_bits[v[i] >> 6] & bit)
            continue;
        seen_bits[v[i] >> 6] |= bit;
        v[n++] = v[i];
    }
    for (size_t i = 0; i < n; i++)
        seen_bits[v[i] >> 6] = 0;
    return n;
}

/* ---- the labelled set ---- */

struct urgency_set *urgency_set_new(void)
{
    struct urgency_set *s = xrealloc(NULL, sizeof *s);
    memset(s, 0, sizeof *s);
    s->start = xrealloc(NULL, sizeof *s->start);
    s->start[0] = 0;
    s->dense = xrealloc(NULL, URGENCY_BUCKETS * sizeof *s->dense);
    memset(s->dense, 0xff, URGENCY_BUCKETS * sizeof *s->dense); /* none yet */
    return s;
}

void urgency_set_add(struct urgency_set *s, const char *text, size_t len, int urgent, int group)
{
    uint32_t v[MAX_FEATURES];
    size_t n = distinct_features(text, len, v);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->start = xrealloc(s->start, (s->cap + 1) * sizeof *s->start);
        s->urgent = xrealloc(s->urgent, s->cap);
        s->group = xrealloc(s->group, s->cap * sizeof *s->group);
    }
    if (s->n_feat + n > s->cap_feat) {
        s->cap_feat = (s->n_feat + n) * 2 + 4096;
        s->feat = xrealloc(s->feat, s->cap_feat * sizeof *s->feat);
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t d = s->dense[v[i]];
        if (d == UINT32_MAX) {
            if (s->n_dense == s->cap_dense) {
                s->cap_dense = s->cap_dense ? s->cap_dense * 2 : 65536;
                s->bucket_of = xrealloc(s->bucket_of, s->cap_dense * sizeof *s->bucket_of);
            }
            d = s->dense[v[i]] = (uint32_t)s->n_dense;
            s->bucket_of[s->n_dense++] = v[i];
        }
        s->feat[s->n_feat++] = d;
    }
    s->urgent[s->n] = urgent != 0;
    s->group[s->n] = group;
    s->n++;
    s->start[s->n] = s->n_feat;
}

size_t urgency_set_count(const struct urgency_set *s)
{
    return s ? s->n : 0;
}

void urgency_set_free(struct urgency_set *s)
{
    if (!s)
        return;
    free(s->feat);
    free(s->start);
    free(s->urgent);
    free(s->group);
    free(s->dense);
    free(s->bucket_of);
    free(s);
}

/* ---- training ---- */

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64*: a fixed sequence, whatever the platform's rand(). */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static double sigmoid(double z)
{
    if (z > Z_LIMIT)
        z = Z_LIMIT;
    if (z < -Z_LIMIT)
        z = -Z_LIMIT;
    return 1.0 / (1.0 + exp(-z));
}

struct urgency_model *urgency_train(const struct urgency_set *s, int skip_group)
{
    size_t *order = malloc((s->n ? s->n : 1) * sizeof *order);
    float *w = calloc(s->n_dense ? s->n_dense : 1, sizeof *w);
    struct urgency_model *m = calloc(1, sizeof *m);
    if (!order || !w || !m) {
        free(order);
        free(w);
        free(m);
        return NULL;
    }
    size_t n = 0;
    int seen[2] = {0, 0};
    for (size_t i = 0; i < s->n; i++) {
        if (skip_group >= 0 && s->group[i] == skip_group)
            continue;
        order[n++] = i;
        seen[s->urgent[i]] = 1;
    }
    if (!seen[0] || !seen[1]) {
        free(order);
        free(w);
        free(m);
        return NULL;
    }
    uint64_t state = SHUFFLE_SEED;
    double bias = 0;
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(next_random(&state) % (i + 1));
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; k < n; k++) {
            size_t e = order[k];
            const uint32_t *f = s->feat + s->start[e];
            size_t nf = s->start[e + 1] - s->start[e];
            double z = bias;
            for (size_t j = 0; j < nf; j++)
                z += w[f[j]];
            int y = s->urgent[e];
            double g = (sigmoid(z) - y) * (y ? CRISIS_WEIGHT : 1.0);
            float step = (float)(LEARNING_RATE / sqrt(nf > 1 ? (double)nf : 1.0));
            float decay = (float)(1.0 - step * L2), push = (float)(step * g);
            for (size_t j = 0; j < nf; j++)
                w[f[j]] = w[f[j]] * decay - push;
            bias -= BIAS_RATE * g;
        }
    }
    for (size_t d = 0; d < s->n_dense; d++)
        m->w[s->bucket_of[d]] = w[d];
    m->bias = (float)bias;
    free(w);
    free(order);
    return m;
}

struct urgency_model *urgency_from_replies(const struct replies *r)
{
    struct urgency_set *s = urgency_set_new();
    for (size_t i = 0; i < r->n_labelled; i++) {
        const struct replies_labelled *t = &r->labelled[i];
        urgency_set_add(s, t->text, strlen(t->text),
                        intent_escalation(t->intent) == ESCALATE_URGENT, (int)t->file);
    }
    for (int k = 0; k < INTENT_COUNT; k++) {
        int urgent = intent_escalation((enum intent)k) == ESCALATE_URGENT;
        const struct replies_intent *in = &r->intents[k];
        for (size_t i = 0; i < in->n_examples; i++)
            urgency_set_add(s, in->examples[i].text, strlen(in->examples[i].text), urgent, -1);
    }
    struct urgency_model *m = urgency_train(s, -1);
    urgency_set_free(s);
    return m;
}

struct urgency_job {
    const struct replies *replies;
    struct urgency_model *model;
    pthread_t tid;
    int threaded;
};

static void *train_thread(void *arg)
{
    struct urgency_job *job = arg;
    job->model = urgency_from_replies(job->replies);
    return NULL;
}

struct urgency_job *urgency_start(const struct replies *replies)
{
    struct urgency_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->replies = replies;
    job->threaded = pthread_create(&job->tid, NULL, train_thread, job) == 0;
    return job;
}

struct urgency_model *urgency_finish(struct urgency_job *job)
{
    if (!job)
        return NULL;
    if (job->threaded)
        pthread_join(job->tid, NULL);
    else
        train_thread(job);
    struct urgency_model *m = job->model;
    free(job);
    return m;
}

/* ---- scoring ---- */

double urgency_score(const struct urgency_model *m, const char *text, size_t len)
{
    uint32_t v[MAX_FEATURES];
    size_t n = distinct_features(text, len, v);
    double z = m->bias;
    for (size_t i = 0; i < n; i++)
        z += m->w[v[i]];
    return sigmoid(z);
}

#define EXPLAIN_WORDS 256 /* words of a text looked at; later ones are left out */

struct explain_ctx {
    const struct urgency_model *m;
    double weight[EXPLAIN_WORDS];
    char word[EXPLAIN_WORDS][URGENCY_MAX_WORD + 1];
};

static void on_explain(void *ctx, uint32_t b, const struct word *w, int index, enum kind kind)
{
    struct explain_ctx *c = ctx;
    if (index >= EXPLAIN_WORDS)
        return;
    double weight = c->m->w[b];
    if (kind == KIND_PAIR) {
        c->weight[index] += weight / 2;
        c->weight[index - 1] += weight / 2;
        return;
    }
    if (kind == KIND_WORD) {
        memcpy(c->word[index], w->s, w->len);
        c->word[index][w->len] = '\0';
    }
    c->weight[index] += weight;
}

int urgency_explain(const struct urgency_model *m, const char *text, size_t len,
                    struct urgency_word *out, int max)
{
    struct explain_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return 0;
    c->m = m;
    int nwords = text_features(text, len, on_explain, c);
    if (nwords > EXPLAIN_WORDS)
        nwords = EXPLAIN_WORDS;
    /* Each word once, at its best (a word said twice), then the best first. */
    int n = 0;
    for (int i = 0; i < nwords; i++) {
        int j = 0;
        while (j < n && strcmp(c->word[j], c->word[i]) != 0)
            j++;
        if (j == n) {
            if (n != i)
                memcpy(c->word[n], c->word[i], sizeof c->word[n]);
            c->weight[n++] = c->weight[i];
        } else if (c->weight[i] > c->weight[j]) {
            c->weight[j] = c->weight[i];
        }
    }
    int written = 0;
    for (; written < max; written++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (c->weight[i] > 0 && (best < 0 || c->weight[i] > c->weight[best]))
                best = i;
        if (best < 0)
            break;
        memcpy(out[written].word, c->word[best], sizeof out[written].word);
        out[written].weight = c->weight[best];
        c->weight[best] = 0;
    }
    free(c);
    return written;
}

void urgency_free(struct urgency_model *m)
{
    free(m);
}
