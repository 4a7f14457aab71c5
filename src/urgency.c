/*
 * urgency: the learned safety net (see urgency.h). Owns the features, the training, the
 * scoring and the explanation; the matcher owns when to ask it and how a text reads.
 *
 * Shaped by what it is for. The texts are short and misspelt, so the features are
 * character 4-grams of each "<word>" besides the words and word pairs: "wakin" and
 * "waking" share most of theirs. A text's features join those of its reading, the words
 * as the matcher reads them (typos corrected, text-speak expanded: "idk how many i
 * tookk" also reads "i do not know how many i took"), so that a typo hides no crisis
 * from the net; a word the reading shares with the text adds only its pair. They are
 * hashed (a fixed multiply-xorshift hash of 8-byte chunks, each feature hashed once, so a
 * model is the same on every machine) into 2^20 buckets: no vocabulary to build, and
 * collisions are rare at a few hundred thousand distinct features; the weights are kept
 * in 16 bits. A text is a set of features (each counts once). The model is a logistic regression
 * trained by plain SGD from a fixed-seed shuffle (3 epochs, crises weighted 2, a step shrunk with
 * the number of features): deterministic, and fast enough to train at every start so that a text
 * staff add to replies/examples/ counts at the next start. The start overlaps the
 * matcher's: the texts' own features and the first 2 epochs on a second thread while
 * the matcher builds, then the readings (which need the matcher and its word lists, read
 * on two threads) and the last epoch with them (urgency_start, urgency_read,
 * urgency_finish).
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
/* Epochs over the texts' own features (while the matcher builds), then with their
 * readings: 2 + 1 recover as many held-out crises as 4 + 2 or 3 + 3, with as few false
 * alarms (test_eval), for half the training. */
#define EPOCHS_OWN 2
#define EPOCHS_READ 1
#define LEARNING_RATE 0.2
#define BIAS_RATE 0.02
#define L2 1e-6
#define CRISIS_WEIGHT 2.0 /* a missed crisis is the worse error */
#define SHUFFLE_SEED 0x9E3779B97F4A7C15ull
#define Z_LIMIT 30.0

enum kind { KIND_WORD = 'w', KIND_PAIR = 'b', KIND_GRAM = 'c' };

/* Training reads and writes each text's weights at every epoch: over a dense numbering
 * of the buckets the set uses (a few hundred thousand, not 2^20) they stay in the cache.
 * A text's features are its own (feat) and those only its reading has (xfeat: the words
 * as the matcher reads them, typos corrected), added once the matcher can read. */
struct urgency_set {
    uint32_t *feat; /* every text's distinct features (dense ids), one after another */
    size_t *start;  /* text i's are feat[start[i] .. start[i + 1]) */
    unsigned char *urgent;
    int *group;
    size_t n, cap, n_feat, cap_feat;
    uint32_t *xfeat; /* the reading's features the text lacks, likewise */
    size_t *xstart;  /* text i's are xfeat[xstart[i] .. xstart[i + 1]), for i < n_read */
    size_t n_read, n_xfeat, cap_xfeat;
    uint32_t *dense;     /* by bucket: its dense id, UINT32_MAX when unused */
    uint32_t *bucket_of; /* by dense id: the bucket */
    size_t n_dense, cap_dense;
};

/* Weights in 16 bits (w[b] * scale): 2 MiB that a text's hundred scattered look-ups find
 * in the cache more often than 4, and sums exact in any order. */
struct urgency_model {
    float bias, scale;
    int16_t w[URGENCY_BUCKETS];
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

/* A fixed 64-bit hash (the same on every machine, so a model is too): bytes read 8 at a
 * time, little-endian, each chunk folded in by a multiply-xorshift mix. A feature is
 * hashed once: a word's hash is reused for its pair with the next word. */
#define HASH_MUL 0xD6E8FEB86659FD93ull
#define SEED_WORD 0x9E3779B97F4A7C15ull
#define SEED_PAIR 0xC2B2AE3D27D4EB4Full
#define SEED_GRAM 0x165667B19E3779F9ull

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= HASH_MUL;
    x ^= x >> 29;
    x *= HASH_MUL;
    x ^= x >> 32;
    return x;
}

/* n (0..8) bytes at s as a little-endian number; s must have 8 bytes of room. */
static inline uint64_t load_bytes(const char *s, size_t n)
{
    uint64_t c;
    memcpy(&c, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    c = __builtin_bswap64(c);
#endif
    return n >= 8 ? c : c & ((1ull << (8 * n)) - 1);
}

/* The hash of n bytes at s (which must have 8 bytes of room past them): 8-byte chunks
 * folded in one by one, the last with the length. word_push computes the same as a word
 * grows. */
static inline uint64_t hash_bytes(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = seed;
    size_t total = n;
    while (n > 8) {
        h = mix64(h ^ load_bytes(s, 8));
        s += 8;
        n -= 8;
    }
    return mix64(h ^ load_bytes(s, n) ^ ((uint64_t)total << 56));
}

static inline uint32_t bucket(uint64_t h)
{
    return (uint32_t)(h >> 44) & (URGENCY_BUCKETS - 1); /* the top 20 bits */
}

/* A folded word: its bytes, where each of its code points starts, and its hash so far
 * (hash_bytes with SEED_WORD, kept as it grows: reading back bytes just written, 8 at a
 * time, stalls). */
struct word {
    char s[URGENCY_MAX_WORD + 8]; /* room for hash_bytes */
    size_t len;
    int ncp;
    unsigned char cp_at[URGENCY_MAX_WORD + 1];
    uint64_t h, chunk; /* chunks before the last folded into h; the last so far */
};

static inline void word_clear(struct word *w)
{
    w->len = 0;
    w->ncp = 0;
    w->h = SEED_WORD;
    w->chunk = 0;
}

static inline void word_push(struct word *w, unsigned char b)
{
    if (w->len && (w->len & 7) == 0) {
        w->h = mix64(w->h ^ w->chunk);
        w->chunk = 0;
    }
    w->chunk |= (uint64_t)b << (8 * (w->len & 7));
    w->s[w->len++] = (char)b;
}

static inline uint64_t word_hash(const struct word *w)
{
    return mix64(w->h ^ w->chunk ^ ((uint64_t)w->len << 56));
}

/* Called for each feature of each word: index is the word's among the text's words. */
typedef void (*feature_fn)(void *ctx, uint32_t bucket, const struct word *w, int index,
                           enum kind kind);

/* Word hashes seen in a text (its first SEEN_WORDS words), so that a reading of it need
 * not hash again the words it shares: their own features and 4-grams are the text's. */
#define SEEN_WORDS 64
struct seen_words {
    uint64_t h[SEEN_WORDS];
    int n;
};

static int seen_word(const struct seen_words *sw, uint64_t h)
{
    for (int i = 0; i < sw->n; i++)
        if (sw->h[i] == h)
            return 1;
    return 0;
}

/* The features of word w (prev_hash: the previous word's hash, 0 for none); returns the
 * word's hash. A word in skip has only its pair. */
static inline uint64_t word_features(uint64_t prev_hash, const struct word *w, int index,
                                     feature_fn fn, void *ctx, struct seen_words *record,
                                     const struct seen_words *skip)
{
    uint64_t h = word_hash(w) | 1; /* never 0: "no previous word" */
    if (prev_hash)
        fn(ctx, bucket(mix64(prev_hash ^ SEED_PAIR ^ (h << 21 | h >> 43))), w, index, KIND_PAIR);
    if (record && record->n < SEEN_WORDS)
        record->h[record->n++] = h;
    if (skip && seen_word(skip, h))
        return h;
    fn(ctx, bucket(h), w, index, KIND_WORD);
    /* 4-grams of code points of "<word>". */
    if (w->ncp == (int)w->len) { /* ASCII: a code point a byte, 4 bytes a gram */
        const uint64_t seed = SEED_GRAM ^ (4ull << 56); /* hash_bytes of 4 bytes */
        uint32_t window = (uint32_t)'<' << 24;
        for (size_t c = 0; c <= w->len; c++) {
            unsigned char b = c < w->len ? (unsigned char)w->s[c] : '>';
            window = window >> 8 | (uint32_t)b << 24;
            if (c >= 2)
                fn(ctx, bucket(mix64(seed ^ window)), w, index, KIND_GRAM);
        }
        return h;
    }
    char framed[URGENCY_MAX_WORD + 10]; /* "<word>" and room for hash_bytes */
    framed[0] = '<';
    memcpy(framed + 1, w->s, w->len);
    framed[w->len + 1] = '>';
    unsigned char at[URGENCY_MAX_WORD + 4];
    int n = 0;
    at[n++] = 0;
    for (int c = 0; c < w->ncp; c++)
        at[n++] = (unsigned char)(w->cp_at[c] + 1);
    at[n++] = (unsigned char)(w->len + 1);
    at[n] = (unsigned char)(w->len + 2); /* the end */
    for (int c = 0; c + 4 <= n; c++)
        fn(ctx, bucket(hash_bytes(framed + at[c], (size_t)(at[c + 4] - at[c]), SEED_GRAM)), w,
           index, KIND_GRAM);
    return h;
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
        word_push(w, (unsigned char)cp);
        return;
    }
    utf8proc_uint8_t buf[4];
    utf8proc_ssize_t k = utf8proc_encode_char(cp, buf);
    if (w->len + (size_t)k > URGENCY_MAX_WORD) {
        *overlong = 1;
        return;
    }
    w->cp_at[w->ncp++] = (unsigned char)w->len;
    for (utf8proc_ssize_t j = 0; j < k; j++)
        word_push(w, buf[j]);
}

/* ASCII folded: a lowercase letter or a digit, '\'' (dropped: "don't" -> "dont"), 0 for
 * a separator. No locale: the same everywhere. */
static const unsigned char ascii_table[128] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3',   ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['\''] = '\'', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c',
    ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g',   ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
    ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',   ['o'] = 'o', ['p'] = 'p', ['q'] = 'q',
    ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u',   ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
    ['y'] = 'y', ['z'] = 'z', ['A'] = 'a', ['B'] = 'b',   ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
    ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i',   ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
    ['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p',   ['Q'] = 'q', ['R'] = 'r', ['S'] = 's',
    ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w',   ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
};

/*
 * The features of a text: folded (NFKD, case folded, marks stripped, look-alike
 * punctuation lumped to ASCII), split on anything not a letter or digit, apostrophes
 * dropped ("don't" -> "dont"). Words are numbered from first_index; record (may be NULL)
 * gets the words' hashes, and a word whose hash is in skip (may be NULL) gives only its
 * pair. Returns the number of words.
 */
static int text_features(const char *text, size_t len, int first_index, feature_fn fn, void *ctx,
                         struct seen_words *record, const struct seen_words *skip)
{
    if (len > MAX_TEXT_BYTES)
        len = MAX_TEXT_BYTES;
    struct word w;
    word_clear(&w);
    uint64_t prev = 0;
    int nwords = first_index, overlong = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    size_t i = 0;
    for (;;) {
        /* The common case: ASCII letters and digits, straight into the word. */
        while (i < len && p[i] < 0x80) {
            unsigned char c = ascii_table[p[i++]];
            if (c == '\'')
                continue;
            if (c) {
                if (w.len < URGENCY_MAX_WORD && !overlong) {
                    w.cp_at[w.ncp++] = (unsigned char)w.len;
                    word_push(&w, c);
                } else {
                    overlong = 1;
                }
                continue;
            }
            if (w.len) {
                prev = word_features(prev, &w, nwords, fn, ctx, record, skip);
                nwords++;
                word_clear(&w);
            }
            overlong = 0;
        }
        utf8proc_int32_t dec[24];
        utf8proc_ssize_t nd = 1;
        int end = i >= len;
        if (end) {
            dec[0] = ' '; /* ends the last word */
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
                c = ascii_table[c];
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
                    add_char(&w, c, &overlong);
                continue;
            }
            if (w.len) {
                prev = word_features(prev, &w, nwords, fn, ctx, record, skip);
                nwords++;
                word_clear(&w);
            }
            overlong = 0;
        }
        if (end)
            break;
    }
    return nwords - first_index;
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

/* Keeps the first n buckets of v not yet in seen_bits, in order, marking them; returns how
 * many are kept. The caller clears what it marked. */
static size_t keep_unseen(uint32_t *v, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t bit = 1ull << (v[i] & 63);
        if (seen_bits[v[i] >> 6] & bit)
            continue;
        seen_bits[v[i] >> 6] |= bit;
        v[kept++] = v[i];
    }
    return kept;
}

/* The distinct buckets of a text and of its reading (another spelling of the same text,
 * or NULL) into v (MAX_FEATURES of room), in order of appearance; returns how many. */
static size_t distinct_features(const char *text, size_t len, const char *reading,
                                size_t reading_len, uint32_t *v)
{
    struct collect c = {.v = v};
    struct seen_words words;
    words.n = 0;
    int n_raw = text_features(text, len, 0, on_collect, &c, reading ? &words : NULL, NULL);
    if (reading)
        text_features(reading, reading_len, n_raw, on_collect, &c, NULL, &words);
    size_t n = keep_unseen(v, c.n);
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
    s->xstart = xrealloc(NULL, sizeof *s->xstart);
    s->xstart[0] = 0;
    s->dense = xrealloc(NULL, URGENCY_BUCKETS * sizeof *s->dense);
    memset(s->dense, 0xff, URGENCY_BUCKETS * sizeof *s->dense); /* none yet */
    return s;
}

static uint32_t dense_id(struct urgency_set *s, uint32_t b)
{
    uint32_t d = s->dense[b];
    if (d == UINT32_MAX) {
        if (s->n_dense == s->cap_dense) {
            s->cap_dense = s->cap_dense ? s->cap_dense * 2 : 65536;
            s->bucket_of = xrealloc(s->bucket_of, s->cap_dense * sizeof *s->bucket_of);
        }
        d = s->dense[b] = (uint32_t)s->n_dense;
        s->bucket_of[s->n_dense++] = b;
    }
    return d;
}

/* Adds a text's own features. */
static void set_add(struct urgency_set *s, const char *text, size_t len, int urgent, int group)
{
    uint32_t v[MAX_FEATURES];
    size_t n = distinct_features(text, len, NULL, 0, v);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->start = xrealloc(s->start, (s->cap + 1) * sizeof *s->start);
        s->xstart = xrealloc(s->xstart, (s->cap + 1) * sizeof *s->xstart);
        s->urgent = xrealloc(s->urgent, s->cap);
        s->group = xrealloc(s->group, s->cap * sizeof *s->group);
    }
    if (s->n_feat + n > s->cap_feat) {
        s->cap_feat = (s->n_feat + n) * 2 + 4096;
        s->feat = xrealloc(s->feat, s->cap_feat * sizeof *s->feat);
    }
    for (size_t i = 0; i < n; i++)
        s->feat[s->n_feat++] = dense_id(s, v[i]);
    s->urgent[s->n] = urgent != 0;
    s->group[s->n] = group;
    s->n++;
    s->start[s->n] = s->n_feat;
}

/* The distinct buckets of the reading of text t of s that the text itself lacks, into v
 * (MAX_FEATURES of room); returns how many. Only reads s. */
static size_t reading_extras(const struct urgency_set *s, size_t t, const char *reading,
                             size_t reading_len, uint32_t *v)
{
    struct collect c = {.v = v};
    text_features(reading, reading_len, 0, on_collect, &c, NULL, NULL);
    for (size_t i = s->start[t]; i < s->start[t + 1]; i++) {
        uint32_t b = s->bucket_of[s->feat[i]];
        seen_bits[b >> 6] |= 1ull << (b & 63);
    }
    size_t n = keep_unseen(v, c.n);
    for (size_t i = s->start[t]; i < s->start[t + 1]; i++)
        seen_bits[s->bucket_of[s->feat[i]] >> 6] = 0;
    for (size_t i = 0; i < n; i++)
        seen_bits[v[i] >> 6] = 0;
    return n;
}

/* Adds buckets v (reading_extras) as the reading of the next text without one. */
static void set_read_buckets(struct urgency_set *s, const uint32_t *v, size_t n)
{
    if (s->n_xfeat + n > s->cap_xfeat) {
        s->cap_xfeat = (s->n_xfeat + n) * 2 + 4096;
        s->xfeat = xrealloc(s->xfeat, s->cap_xfeat * sizeof *s->xfeat);
    }
    for (size_t i = 0; i < n; i++)
        s->xfeat[s->n_xfeat++] = dense_id(s, v[i]);
    s->n_read++;
    s->xstart[s->n_read] = s->n_xfeat;
}

/* Adds the reading of the next text without one (NULL: none). */
static void set_read(struct urgency_set *s, const char *reading, size_t reading_len)
{
    uint32_t v[MAX_FEATURES];
    v[0] = 0;
    size_t n = reading ? reading_extras(s, s->n_read, reading, reading_len, v) : 0;
    set_read_buckets(s, v, n);
}

void urgency_set_add(struct urgency_set *s, const char *text, size_t len, int urgent, int group)
{
    urgency_set_add_reading(s, text, len, NULL, 0, urgent, group);
}

void urgency_set_add_reading(struct urgency_set *s, const char *text, size_t len,
                             const char *reading, size_t reading_len, int urgent, int group)
{
    set_add(s, text, len, urgent, group);
    while (s->n_read < s->n - 1)
        set_read(s, NULL, 0);
    set_read(s, reading, reading_len);
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
    free(s->xfeat);
    free(s->xstart);
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

/* Training under way: the weights by dense id, the order of the texts and the shuffle's
 * state, so that the epochs over the texts' own features may run before their readings
 * are in and the rest after. */
struct train_state {
    float *w;
    size_t n_w;
    double bias;
    size_t *order;
    size_t n;
    uint64_t rng;
};

static void train_free(struct train_state *t)
{
    free(t->w);
    free(t->order);
    memset(t, 0, sizeof *t);
}

/* Returns 0 when the texts left have no crisis or no calm text. */
static int train_begin(struct train_state *t, const struct urgency_set *s, int skip_group)
{
    memset(t, 0, sizeof *t);
    t->order = xrealloc(NULL, (s->n ? s->n : 1) * sizeof *t->order);
    int seen[2] = {0, 0};
    for (size_t i = 0; i < s->n; i++) {
        if (skip_group >= 0 && s->group[i] == skip_group)
            continue;
        t->order[t->n++] = i;
        seen[s->urgent[i]] = 1;
    }
    t->rng = SHUFFLE_SEED;
    if (!seen[0] || !seen[1]) {
        train_free(t);
        return 0;
    }
    return 1;
}

/* Epochs of plain SGD over each text's own features, and its reading's when with_reading
 * (every text's reading must be in). */
static void train_epochs(struct train_state *t, const struct urgency_set *s, int epochs,
                         int with_reading)
{
    if (t->n_w < s->n_dense) { /* features the readings brought start at 0 */
        t->w = xrealloc(t->w, s->n_dense * sizeof *t->w);
        memset(t->w + t->n_w, 0, (s->n_dense - t->n_w) * sizeof *t->w);
        t->n_w = s->n_dense;
    }
    float *w = t->w;
    size_t *order = t->order, n = t->n;
    for (int epoch = 0; epoch < epochs; epoch++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(next_random(&t->rng) % (i + 1));
            size_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (size_t k = 0; k < n; k++) {
            size_t e = order[k];
            const uint32_t *f = s->feat + s->start[e], *x = NULL;
            size_t nf = s->start[e + 1] - s->start[e], nx = 0;
            if (with_reading && s->xstart[e + 1] > s->xstart[e]) {
                x = s->xfeat + s->xstart[e];
                nx = s->xstart[e + 1] - s->xstart[e];
            }
            float z = 0;
            for (size_t j = 0; j < nf; j++)
                z += w[f[j]];
            for (size_t j = 0; j < nx; j++)
                z += w[x[j]];
            int y = s->urgent[e];
            double g = (sigmoid(t->bias + z) - y) * (y ? CRISIS_WEIGHT : 1.0);
            size_t all = nf + nx;
            float step = (float)(LEARNING_RATE / sqrt(all > 1 ? (double)all : 1.0));
            float decay = (float)(1.0 - step * L2), push = (float)(step * g);
            for (size_t j = 0; j < nf; j++)
                w[f[j]] = w[f[j]] * decay - push;
            for (size_t j = 0; j < nx; j++)
                w[x[j]] = w[x[j]] * decay - push;
            t->bias -= BIAS_RATE * g;
        }
    }
}

static struct urgency_model *train_end(struct train_state *t, const struct urgency_set *s)
{
    struct urgency_model *m = calloc(1, sizeof *m);
    if (m) {
        size_t n = t->n_w < s->n_dense ? t->n_w : s->n_dense;
        float most = 0;
        for (size_t d = 0; d < n; d++)
            most = fmaxf(most, fabsf(t->w[d]));
        m->scale = most > 0 ? most / INT16_MAX : 1;
        for (size_t d = 0; d < n; d++)
            m->w[s->bucket_of[d]] = (int16_t)lrintf(t->w[d] / m->scale);
        m->bias = (float)t->bias;
    }
    train_free(t);
    return m;
}

struct urgency_model *urgency_train(const struct urgency_set *s, int skip_group)
{
    struct train_state t;
    if (!train_begin(&t, s, skip_group))
        return NULL;
    train_epochs(&t, s, EPOCHS_OWN, 0);
    train_epochs(&t, s, EPOCHS_READ, s->n_read == s->n);
    return train_end(&t, s);
}

size_t urgency_text_count(const struct replies *r)
{
    size_t n = r->n_labelled;
    for (int k = 0; k < INTENT_COUNT; k++)
        n += r->intents[k].n_examples;
    return n;
}

/* Text i of the replies' training texts: the labelled texts, then the intents' examples.
 * *urgent and *group (may be NULL) get its label and its file (-1 for none). */
static const char *text_at(const struct replies *r, size_t i, int *urgent, int *group)
{
    if (i < r->n_labelled) {
        if (urgent)
            *urgent = intent_escalation(r->labelled[i].intent) == ESCALATE_URGENT;
        if (group)
            *group = (int)r->labelled[i].file;
        return r->labelled[i].text;
    }
    i -= r->n_labelled;
    for (int k = 0; k < INTENT_COUNT; k++) {
        if (i < r->intents[k].n_examples) {
            if (urgent)
                *urgent = intent_escalation((enum intent)k) == ESCALATE_URGENT;
            if (group)
                *group = -1;
            return r->intents[k].examples[i].text;
        }
        i -= r->intents[k].n_examples;
    }
    return NULL;
}

const char *urgency_text(const struct replies *r, size_t i, int *urgent, int *group)
{
    return text_at(r, i, urgent, group);
}

struct urgency_job {
    const struct replies *replies;
    struct urgency_set *set;
    struct train_state train;
    int can_learn;
    /* The readings' buckets by text (urgency_read), NULL for none. */
    size_t n;
    uint32_t **extra;
    size_t *n_extra;
    int any_read;
    /* set_ready: the texts' own features are in, readings may be taken. */
    pthread_mutex_t lock;
    pthread_cond_t ready;
    int set_ready;
    pthread_t tid;
    int threaded;
};

/* The texts' own features and the first epochs over them, while the matcher builds. */
static void *train_thread(void *arg)
{
    struct urgency_job *job = arg;
    for (size_t i = 0; i < job->n; i++) {
        int urgent = 0, group = -1;
        const char *text = text_at(job->replies, i, &urgent, &group);
        set_add(job->set, text, strlen(text), urgent, group);
    }
    pthread_mutex_lock(&job->lock);
    job->set_ready = 1;
    pthread_cond_broadcast(&job->ready);
    pthread_mutex_unlock(&job->lock);
    job->can_learn = train_begin(&job->train, job->set, -1);
    if (job->can_learn)
        train_epochs(&job->train, job->set, EPOCHS_OWN, 0);
    return NULL;
}

struct urgency_job *urgency_start(const struct replies *replies)
{
    struct urgency_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->replies = replies;
    job->n = urgency_text_count(replies);
    job->set = urgency_set_new();
    job->extra = xrealloc(NULL, (job->n + 1) * sizeof *job->extra);
    job->n_extra = xrealloc(NULL, (job->n + 1) * sizeof *job->n_extra);
    memset(job->extra, 0, (job->n + 1) * sizeof *job->extra);
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->ready, NULL);
    job->threaded = pthread_create(&job->tid, NULL, train_thread, job) == 0;
    if (!job->threaded)
        train_thread(job);
    return job;
}

void urgency_read(struct urgency_job *job, size_t i, const char *reading, size_t reading_len)
{
    if (!job || i >= job->n)
        return;
    pthread_mutex_lock(&job->lock);
    while (!job->set_ready)
        pthread_cond_wait(&job->ready, &job->lock);
    pthread_mutex_unlock(&job->lock);
    uint32_t v[MAX_FEATURES];
    size_t n = reading_extras(job->set, i, reading, reading_len, v);
    job->extra[i] = xrealloc(NULL, (n ? n : 1) * sizeof *v);
    memcpy(job->extra[i], v, n * sizeof *v);
    job->n_extra[i] = n;
}

struct urgency_model *urgency_finish(struct urgency_job *job)
{
    if (!job)
        return NULL;
    if (job->threaded)
        pthread_join(job->tid, NULL);
    struct urgency_model *m = NULL;
    int read = 0;
    for (size_t i = 0; i < job->n; i++)
        read |= job->extra[i] != NULL;
    if (job->can_learn) {
        for (size_t i = 0; read && i < job->n; i++)
            set_read_buckets(job->set, job->extra[i], job->extra[i] ? job->n_extra[i] : 0);
        train_epochs(&job->train, job->set, EPOCHS_READ, read);
        m = train_end(&job->train, job->set);
    }
    for (size_t i = 0; i < job->n; i++)
        free(job->extra[i]);
    free(job->extra);
    free(job->n_extra);
    pthread_mutex_destroy(&job->lock);
    pthread_cond_destroy(&job->ready);
    urgency_set_free(job->set);
    free(job);
    return m;
}

struct urgency_model *urgency_from_replies(const struct replies *r)
{
    return urgency_finish(urgency_start(r));
}

/* ---- scoring ---- */

double urgency_score(const struct urgency_model *m, const char *text, size_t len)
{
    return urgency_score_reading(m, text, len, NULL, 0);
}

/* Scoring sums each distinct feature's weight as it comes, kept distinct by a small
 * open-addressing set (in the cache, unlike seen_bits) cleared after each text; a text
 * with more features than it holds is scored the long way. */
#define SCORE_SLOTS 1024
#define SCORE_MAX (SCORE_SLOTS / 2)

struct score_ctx {
    const struct urgency_model *m;
    int64_t z; /* in units of m->scale */
    int n, overflow;
    uint16_t at[SCORE_MAX];
};

static _Thread_local uint32_t score_slot[SCORE_SLOTS]; /* bucket + 1; 0: empty */

static void on_score(void *ctx, uint32_t b, const struct word *w, int index, enum kind kind)
{
    (void)w;
    (void)index;
    (void)kind;
    struct score_ctx *c = ctx;
    uint32_t i = (b * 0x9E3779B1u) >> 22; /* 10 bits */
    for (; score_slot[i]; i = (i + 1) & (SCORE_SLOTS - 1))
        if (score_slot[i] == b + 1)
            return;
    if (c->n == SCORE_MAX) {
        c->overflow = 1;
        return;
    }
    score_slot[i] = b + 1;
    c->at[c->n++] = (uint16_t)i;
    c->z += c->m->w[b];
}

double urgency_score_reading(const struct urgency_model *m, const char *text, size_t len,
                             const char *reading, size_t reading_len)
{
    struct score_ctx c = {.m = m};
    struct seen_words words;
    words.n = 0;
    int n_raw = text_features(text, len, 0, on_score, &c, reading ? &words : NULL, NULL);
    if (reading)
        text_features(reading, reading_len, n_raw, on_score, &c, NULL, &words);
    for (int i = 0; i < c.n; i++)
        score_slot[c.at[i]] = 0;
    if (c.overflow) {
        uint32_t v[MAX_FEATURES];
        size_t n = distinct_features(text, len, reading, reading_len, v);
        c.z = 0;
        for (size_t i = 0; i < n; i++)
            c.z += m->w[v[i]];
    }
    return sigmoid(m->bias + (double)c.z * m->scale);
}

#define EXPLAIN_WORDS 256 /* words of a text looked at; later ones are left out */

struct explain_ctx {
    const struct urgency_model *m;
    uint64_t seen[URGENCY_BUCKETS / 64];
    double weight[EXPLAIN_WORDS];
    char word[EXPLAIN_WORDS][URGENCY_MAX_WORD + 1];
};

static void on_explain(void *ctx, uint32_t b, const struct word *w, int index, enum kind kind)
{
    struct explain_ctx *c = ctx;
    if (index >= EXPLAIN_WORDS)
        return;
    uint64_t bit = 1ull << (b & 63);
    if (c->seen[b >> 6] & bit) {
        if (kind == KIND_WORD) { /* the word still has its name */
            memcpy(c->word[index], w->s, w->len);
            c->word[index][w->len] = '\0';
        }
        return; /* each feature counts once, as in the score */
    }
    c->seen[b >> 6] |= bit;
    double weight = c->m->w[b] * (double)c->m->scale;
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
    return urgency_explain_reading(m, text, len, NULL, 0, out, max);
}

int urgency_explain_reading(const struct urgency_model *m, const char *text, size_t len,
                            const char *reading, size_t reading_len, struct urgency_word *out,
                            int max)
{
    struct explain_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return 0;
    c->m = m;
    int nwords = text_features(text, len, 0, on_explain, c, NULL, NULL);
    if (reading)
        nwords += text_features(reading, reading_len, nwords, on_explain, c, NULL, NULL);
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
