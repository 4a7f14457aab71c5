/*
 * fuzz replies: the replies/ loader (replies_load) on hostile file contents, and, when a
 * set loads, the matcher built from it (matcher_new). Staff edit these files by hand and
 * the service loads them at start, so a typo must give a clear report, never a crash,
 * and whatever passes validation must build a working matcher.
 *
 * The loader reads a folder, so the target keeps two in a temporary directory (under
 * /dev/shm when there is one, to keep the fuzzer off the disk). The input's first byte
 * picks the file the rest of the input becomes (any *.json name the repo's replies/
 * has, in name order, a file named after no intent, or examples/fuzz.jsonl: labelled
 * texts one JSON object a line, read by a parser of the loader's own) and the folder it
 * goes in:
 *   - bit 7 clear: a folder holding that file alone. The load then always fails (every
 *     other file is missing) but validates the file completely, and is fast: the loader
 *     reads each file into a 1 MiB buffer, which AddressSanitizer makes costly.
 *   - bit 7 set: a folder with a minimal valid file for every intent of intents.md, a
 *     minimal lexicon.json and a copy of any other file the repo has (checked to load
 *     at start), the input replacing one of them; a valid input then loads as a whole
 *     set and a matcher is built from it.
 * After the load the file gets its previous content back.
 *
 * Properties: every reported problem names a file in the folder and a line and column
 * >= 0; a load either succeeds or reports at least one problem; a loaded set has both
 * answers of every intent, every labelled text a non-empty body, a known intent and
 * language and a file, and its matcher (whose safety net trains on those texts)
 * classifies a few texts into valid intents.
 */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotline/intent.h"
#include "hotline/matcher.h"
#include "hotline/replies.h"

static char g_dir[256];  /* holds the two folders */
static char g_full[300]; /* a minimal valid set */
static char g_one[300];  /* one file at a time */

/* The files of the set: the *.json names of the repo's replies/, then a stray one. */
#define MAX_FILES 64
static char *g_names[MAX_FILES];
static char *g_minimal[MAX_FILES]; /* each file's content in g_full (NULL: none) */
static size_t g_nfiles;

static void write_bytes(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    for (size_t at = 0; at < n;) {
        ssize_t w = write(fd, (const char *)data + at, n - at);
        if (w <= 0)
            abort();
        at += (size_t)w;
    }
    close(fd);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(f);
    fclose(mem);
    return buf;
}

/*
 * The minimal valid content of a file of the set: an answer, the required keywords and
 * one example for an intent; one shorthand and one cue for the lexicon; any other file
 * the repo has (a menu, say) as the repo has it, since the loader may require it.
 */
static char *minimal_content(const char *name)
{
    char text[1024];
    char stem[256];
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(name) - 5), name);
    int id = intent_from_name(stem);
    if (strcmp(name, "lexicon.json") == 0) {
        snprintf(text, sizeof text,
                 "{\"shorthand\": {\"u\": \"you\"}, \"cues\": {\"past\": {\"en\": [\"last "
                 "year\"]}}}\n");
    } else if (id >= 0) {
        const char *kw = id == INTENT_OPT_OUT        ? ", \"keywords\": [\"STOP\", \"STOPALL\", "
                                                       "\"UNSUBSCRIBE\", \"CANCEL\", \"END\", \"QUIT\", "
                                                       "\"REVOKE\", \"OPTOUT\", \"OPT OUT\"]"
                         : id == INTENT_OPT_IN       ? ", \"keywords\": [\"START\", \"UNSTOP\"]"
                         : id == INTENT_HELP_KEYWORD ? ", \"keywords\": [\"HELP\", \"INFO\"]"
                                                     : "";
        snprintf(text, sizeof text,
                 "{\"intent\": \"%s\", \"answer\": {\"en\": \"%s en\", \"es\": \"%s es\"}%s, "
                 "\"examples\": {\"en\": [\"about %s\"]}}\n",
                 stem, stem, stem, kw, stem);
    } else {
        char path[512];
        snprintf(path, sizeof path, "%s/replies/%s", HOTLINE_SOURCE_DIR, name);
        return read_all(path);
    }
    return strdup(text);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the *.json names of the repo's replies/ (as the loader would), then the stray one. */
static void list_files(void)
{
    DIR *d = opendir(HOTLINE_SOURCE_DIR "/replies");
    if (!d)
        abort();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        if (g_nfiles + 2 >= MAX_FILES)
            abort();
        g_names[g_nfiles++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(g_names, g_nfiles, sizeof g_names[0], cmp_names);
    for (size_t i = 0; i < g_nfiles; i++)
        g_minimal[i] = minimal_content(g_names[i]);
    g_names[g_nfiles++] = strdup("insurence.json"); /* close to an intent: a suggestion */
    g_names[g_nfiles++] = strdup("examples/fuzz.jsonl");
}

/* Gives file i of dir its previous content back: its minimal one in g_full, none (the
 * file is removed) in g_one and for the stray name. */
static void restore(const char *dir, size_t i)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, g_names[i]);
    if (dir == g_one || !g_minimal[i])
        unlink(path);
    else
        write_bytes(path, g_minimal[i], strlen(g_minimal[i]));
}

struct reports {
    size_t n;
};

static void on_problem(void *ctx, const char *file, int line, int column, const char *message)
{
    struct reports *r = ctx;
    r->n++;
    FUZZ_CHECK(file && strncmp(file, g_dir, strlen(g_dir)) == 0);
    FUZZ_CHECK(line >= 0 && column >= 0);
    FUZZ_CHECK(message && *message);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(g_dir, sizeof g_dir, "%s", fuzz_tmpdir("replies"));
    snprintf(g_full, sizeof g_full, "%s/full", g_dir);
    snprintf(g_one, sizeof g_one, "%s/one", g_dir);
    char examples[2][320];
    snprintf(examples[0], sizeof examples[0], "%s/examples", g_full);
    snprintf(examples[1], sizeof examples[1], "%s/examples", g_one);
    if (mkdir(g_full, 0700) != 0 || mkdir(g_one, 0700) != 0 || mkdir(examples[0], 0700) != 0 ||
        mkdir(examples[1], 0700) != 0)
        abort();
    list_files();
    for (size_t i = 0; i < g_nfiles; i++)
        restore(g_full, i);
    struct reports rep = {0};
    struct replies *r = replies_load(g_full, on_problem, &rep);
    if (!r) {
        fprintf(stderr, "fuzz_replies: the minimal replies do not load (%zu problems)\n", rep.n);
        abort();
    }
    replies_free(r);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *dir = data[0] & 0x80 ? g_full : g_one;
    size_t which = (data[0] & 0x7F) % g_nfiles;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, g_names[which]);
    write_bytes(path, data + 1, size - 1);

    struct reports rep = {0};
    struct replies *r = replies_load(dir, on_problem, &rep);
    FUZZ_CHECK((r != NULL) == (rep.n == 0));
    if (r) {
        for (int i = 0; i < INTENT_COUNT; i++)
            for (int l = 0; l < LANG_COUNT; l++)
                FUZZ_CHECK(r->intents[i].answer[l] && *r->intents[i].answer[l]);
        for (size_t i = 0; i < r->n_labelled; i++) {
            const struct replies_labelled *t = &r->labelled[i];
            FUZZ_CHECK(t->text && *t->text);
            FUZZ_CHECK((unsigned)t->intent < INTENT_COUNT && (unsigned)t->lang < LANG_COUNT);
            FUZZ_CHECK(t->file < r->n_example_files);
        }
        struct matcher *m = matcher_new(r);
        FUZZ_CHECK(m);
        static const char *const texts[] = {"STOP", "hola", "do u take insurance??",
                                            "he overdosed last year", "\xF0\x9F\x98\xA2"};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            struct match_result res;
            matcher_classify(m, texts[i], strlen(texts[i]), &res, NULL);
            FUZZ_CHECK((unsigned)res.intent < INTENT_COUNT && (unsigned)res.lang < LANG_COUNT);
        }
        /* And a text the file itself supplies, if it has an example. */
        for (int i = 0; i < INTENT_COUNT; i++) {
            if (r->intents[i].n_examples) {
                const char *t = r->intents[i].examples[0].text;
                struct match_result res;
                matcher_classify(m, t, strlen(t), &res, NULL);
                FUZZ_CHECK((unsigned)res.intent < INTENT_COUNT);
            }
        }
        matcher_free(m);
        replies_free(r);
    }
    restore(dir, which);
    return 0;
}
