/*
 * test_replies: the replies/ loader. Each test builds a folder in a temp dir, starting
 * from a valid minimal one (all 23 intents plus lexicon.json, generated here), breaks
 * one or more files, and checks that every problem is reported with the right file,
 * line, column and message, and that the load fails. Columns count characters from 1,
 * like jansson's. The last test loads the real replies/ folder once it is complete.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotline/replies.h"

/* ---- collecting reports ---- */

#define MAX_REPORTS 64

struct report {
    char file[128]; /* base name */
    int line, col;
    char msg[1024];
};

struct reports {
    size_t n;
    struct report v[MAX_REPORTS];
};

static void on_report(void *ctx, const char *file, int line, int column, const char *message)
{
    struct reports *r = ctx;
    if (r->n == MAX_REPORTS)
        fail_msg("too many reports; last: %s: %s", file, message);
    struct report *p = &r->v[r->n++];
    const char *slash = strrchr(file, '/');
    snprintf(p->file, sizeof p->file, "%s", slash ? slash + 1 : file);
    p->line = line;
    p->col = column;
    snprintf(p->msg, sizeof p->msg, "%s", message);
}

static void dump(const struct reports *r)
{
    for (size_t i = 0; i < r->n; i++)
        print_message("  %s:%d:%d: %s\n", r->v[i].file, r->v[i].line, r->v[i].col, r->v[i].msg);
}

/* Asserts one report for file at line:col (col -1: any) whose message holds each of the
 * NULL-terminated substrings. */
static void expect_report(const struct reports *r, const char *file, int line, int col, ...)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct report *p = &r->v[i];
        if (strcmp(p->file, file) != 0 || p->line != line || (col >= 0 && p->col != col))
            continue;
        va_list ap;
        va_start(ap, col);
        int all = 1;
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
            if (!strstr(p->msg, s))
                all = 0;
        va_end(ap);
        if (all)
            return;
    }
    dump(r);
    fail_msg("no report for %s:%d:%d as expected", file, line, col);
}

/* ---- folders ---- */

static const char *valid_lexicon = "{\n"
                                   "  \"note\": \"shared words\",\n"
                                   "  \"shorthand\": {\"u\": \"you\", \"pls\": \"please\"},\n"
                                   "  \"cues\": {\"personal\": {\"en\": [\"not\", \"never\"], "
                                   "\"es\": [\"no\"]}, \"past\": {\"en\": [\"used to\"]}}\n"
                                   "}\n";

static const char *valid_menu =
    "{\n"
    "  \"menu\": {\"en\": \"Reply 1 insurance, 2 a person.\", \"es\": \"Responde 1 seguro, 2 una "
    "persona.\"},\n"
    "  \"items\": {\"1\": \"insurance\", \"2\": \"human\"},\n"
    "  \"repeat\": {\"en\": \"See my last message.\", \"es\": \"Mira mi mensaje anterior.\"}\n"
    "}\n";

static void write_intent(const char *dir, int id, const char *body)
{
    char name[64];
    snprintf(name, sizeof name, "%s.json", intent_name((enum intent)id));
    tu_write_file(dir, name, body);
}

/* The keywords the loader requires of the three keyword intents. */
#define OPT_OUT_KEYWORDS                                                                           \
    "[\"STOP\", \"OPT OUT\", \"STOPALL\", \"UNSUBSCRIBE\", \"CANCEL\", \"END\", \"QUIT\", "        \
    "\"REVOKE\", \"OPTOUT\"]"
#define OPT_OUT_KEYWORD_COUNT 9

static const char *required_keywords(int id)
{
    switch (id) {
    case INTENT_OPT_OUT:
        return ", \"keywords\": " OPT_OUT_KEYWORDS;
    case INTENT_OPT_IN:
        return ", \"keywords\": [\"START\", \"UNSTOP\"]";
    case INTENT_HELP_KEYWORD:
        return ", \"keywords\": [\"HELP\", \"INFO\"]";
    default:
        return "";
    }
}

static size_t required_keyword_count(int id)
{
    return id == INTENT_OPT_OUT                               ? OPT_OUT_KEYWORD_COUNT
           : id == INTENT_OPT_IN || id == INTENT_HELP_KEYWORD ? 2
                                                              : 0;
}

static void write_minimal_intent(const char *dir, int id)
{
    char body[1024];
    const char *n = intent_name((enum intent)id);
    snprintf(body, sizeof body,
             "{\"intent\": \"%s\", \"answer\": {\"en\": \"EN %s\", \"es\": \"ES %s\"}%s}\n", n, n,
             n, required_keywords(id));
    write_intent(dir, id, body);
}

/* A valid folder: every intent, the lexicon, and a README that must be ignored. */
static char *valid_dir(void)
{
    char *dir = tu_mkdtemp();
    for (int i = 0; i < INTENT_COUNT; i++)
        write_minimal_intent(dir, i);
    tu_write_file(dir, "lexicon.json", valid_lexicon);
    tu_write_file(dir, "menu.json", valid_menu);
    tu_write_file(dir, "README.md", "# not JSON { at all\n");
    tu_write_file(dir, "notes.txt", "{");
    return dir;
}

static struct replies *load(const char *dir, struct reports *r)
{
    memset(r, 0, sizeof *r);
    return replies_load(dir, on_report, r);
}

/* Loads dir expecting failure; returns the reports in *r. */
static void load_fails(const char *dir, struct reports *r)
{
    struct replies *rep = load(dir, r);
    if (rep) {
        replies_free(rep);
        fail_msg("load succeeded");
    }
    assert_true(r->n > 0);
}

static void rmdir_free(char *dir)
{
    tu_rmtree(dir);
    free(dir);
}

/* ---- valid folders ---- */

static void test_valid_minimal(void **state)
{
    (void)state;
    char *dir = valid_dir();
    struct reports r;
    struct replies *rep = load(dir, &r);
    if (!rep)
        dump(&r);
    assert_non_null(rep);
    assert_int_equal(r.n, 0);
    for (int i = 0; i < INTENT_COUNT; i++) {
        char want[64];
        snprintf(want, sizeof want, "EN %s", intent_name((enum intent)i));
        assert_string_equal(rep->intents[i].answer[LANG_EN], want);
        snprintf(want, sizeof want, "ES %s", intent_name((enum intent)i));
        assert_string_equal(rep->intents[i].answer[LANG_ES], want);
        assert_int_equal(rep->intents[i].n_keywords, required_keyword_count(i));
        assert_int_equal(rep->intents[i].n_phrases, 0);
        assert_int_equal(rep->intents[i].n_examples, 0);
    }
    assert_int_equal(rep->n_shorthand, 2);
    assert_string_equal(rep->shorthand[0].from, "u");
    assert_string_equal(rep->shorthand[0].to, "you");
    assert_string_equal(rep->shorthand[1].from, "pls");
    assert_string_equal(rep->shorthand[1].to, "please");
    assert_int_equal(rep->n_cues, 4);
    assert_string_equal(rep->cues[0].name, "personal");
    assert_string_equal(rep->cues[0].text, "not");
    assert_int_equal(rep->cues[0].lang, LANG_EN);
    assert_string_equal(rep->cues[1].text, "never");
    assert_string_equal(rep->cues[2].text, "no");
    assert_int_equal(rep->cues[2].lang, LANG_ES);
    assert_string_equal(rep->cues[3].name, "past");
    assert_string_equal(rep->cues[3].text, "used to");
    replies_free(rep);
    replies_free(NULL);
    rmdir_free(dir);
}

static void test_valid_full_intent(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_INSURANCE,
                 "{\n"
                 "  \"intent\": \"insurance\",\n"
                 "  \"note\": \"checked by admissions\",\n"
                 "  \"answer\": {\"es\": \"¿Seguro? Sí, aceptamos PPO.\", \"en\": \"Yes, PPO.\"},\n"
                 "  \"phrases\": {\n"
                 "    \"en\": {\"strong\": [\"insurance\", \"ppo\"], \"weak\": [\"cost\"]},\n"
                 "    \"es\": {\"weak\": [\"costo\"]}\n"
                 "  },\n"
                 "  \"examples\": {\"en\": [\"do u take cigna\"], \"es\": [\"¿aceptan "
                 "seguro?\"]}\n"
                 "}\n");
    write_intent(dir, INTENT_OPT_OUT,
                 "{\"intent\": \"opt_out\", \"keywords\": " OPT_OUT_KEYWORDS ",\n"
                 " \"answer\": {\"en\": \"You are unsubscribed.\", \"es\": \"Baja hecha.\"}}");
    /* A byte order mark is tolerated. */
    write_intent(dir, INTENT_THANKS,
                 "\xEF\xBB\xBF{\"intent\": \"thanks\", \"answer\": {\"en\": \"ok\", \"es\": "
                 "\"vale\"}}");
    struct reports r;
    struct replies *rep = load(dir, &r);
    if (!rep)
        dump(&r);
    assert_non_null(rep);
    const struct replies_intent *in = &rep->intents[INTENT_INSURANCE];
    assert_string_equal(in->answer[LANG_EN], "Yes, PPO.");
    assert_string_equal(in->answer[LANG_ES], "¿Seguro? Sí, aceptamos PPO.");
    assert_int_equal(in->n_phrases, 4);
    assert_string_equal(in->phrases[0].text, "insurance");
    assert_int_equal(in->phrases[0].lang, LANG_EN);
    assert_int_equal(in->phrases[0].strength, PHRASE_STRONG);
    assert_string_equal(in->phrases[1].text, "ppo");
    assert_string_equal(in->phrases[2].text, "cost");
    assert_int_equal(in->phrases[2].strength, PHRASE_WEAK);
    assert_string_equal(in->phrases[3].text, "costo");
    assert_int_equal(in->phrases[3].lang, LANG_ES);
    assert_int_equal(in->phrases[3].strength, PHRASE_WEAK);
    assert_int_equal(in->n_examples, 2);
    assert_string_equal(in->examples[0].text, "do u take cigna");
    assert_int_equal(in->examples[0].lang, LANG_EN);
    assert_string_equal(in->examples[1].text, "¿aceptan seguro?");
    assert_int_equal(in->examples[1].lang, LANG_ES);
    in = &rep->intents[INTENT_OPT_OUT];
    assert_int_equal(in->n_keywords, OPT_OUT_KEYWORD_COUNT);
    assert_string_equal(in->keywords[0], "STOP");
    assert_string_equal(in->keywords[1], "OPT OUT");
    assert_string_equal(rep->intents[INTENT_THANKS].answer[LANG_ES], "vale");
    replies_free(rep);
    rmdir_free(dir);
}

/* ---- syntax and encoding ---- */

static void test_syntax_errors_all_reported(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_INSURANCE,
                 "{\n"
                 "  \"intent\": \"insurance\",\n"
                 "  \"answer\": {\"en\": \"a\" \"es\": \"b\"}\n"
                 "}\n");
    write_intent(dir, INTENT_CONTACT,
                 "{\"intent\": \"contact\",\n"
                 " \"answer\": {\"en\": \"a\", \"es\": \"b\",}}\n");
    write_intent(dir, INTENT_GREETING,
                 "{\"intent\": \"greeting\", \"intent\": \"greeting\",\n"
                 " \"answer\": {\"en\": \"a\", \"es\": \"b\"}}\n");
    write_intent(dir, INTENT_THANKS, "");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 3, -1, "invalid JSON", NULL);
    expect_report(&r, "contact.json", 2, -1, "invalid JSON", NULL);
    expect_report(&r, "greeting.json", 1, -1, "invalid JSON", "duplicate object key", NULL);
    expect_report(&r, "thanks.json", 1, 1, "invalid JSON", NULL);
    assert_int_equal(r.n, 4);
    for (size_t i = 0; i < r.n; i++)
        assert_true(r.v[i].col > 0);
    rmdir_free(dir);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    char *dir = valid_dir();
    /* Latin-1 'á' (0xE1), as a Windows editor might save it. */
    write_intent(dir, INTENT_INSURANCE,
                 "{\n"
                 "  \"intent\": \"insurance\",\n"
                 "  \"answer\": {\"en\": \"a\", \"es\": \"Cu\xe1nto\"}\n"
                 "}\n");
    /* Column counts characters: "¿" before the bad byte is one. */
    write_intent(dir, INTENT_CONTACT,
                 "{\"intent\": \"contact\", \"answer\": {\"en\": \"a\", "
                 "\"es\": \"¿\xc3\"}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 3, 34, "invalid UTF-8", "0xE1", NULL);
    expect_report(&r, "contact.json", 1, 53, "invalid UTF-8", "0xC3", NULL);
    assert_int_equal(r.n, 2);
    rmdir_free(dir);
}

static void test_file_too_large(void **state)
{
    (void)state;
    char *dir = valid_dir();
    size_t n = 1024 * 1024 + 10;
    char *big = malloc(n + 200);
    assert_non_null(big);
    int k = snprintf(big, 200,
                     "{\"intent\": \"insurance\", \"answer\": {\"en\": \"a\", \"es\": "
                     "\"b\"}, \"note\": \"");
    memset(big + k, 'x', n);
    strcpy(big + k + n, "\"}");
    write_intent(dir, INTENT_INSURANCE, big);
    free(big);
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 0, 0, "too large", "1 MiB", NULL);
    assert_int_equal(r.n, 1);
    rmdir_free(dir);
}

static void test_top_level_not_object(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_INSURANCE, "[\"insurance\"]");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 1, 1, "must be one JSON object", "an array", NULL);
    assert_int_equal(r.n, 1);
    rmdir_free(dir);
}

/* ---- schema ---- */

static void test_unknown_keys(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_INSURANCE,
                 "{\n"
                 "  \"intent\": \"insurance\",\n"
                 "  \"answr\": {\"en\": \"a\", \"es\": \"b\"},\n"
                 "  \"colour\": [[[[[[[[[[[[{\"deep\": 1}]]]]]]]]]]]]\n"
                 "}\n");
    write_intent(dir, INTENT_CONTACT,
                 "{\"intent\": \"contact\", \"answer\": {\"en\": \"a\", \"es\": \"b\", \"fr\": "
                 "\"c\"},\n"
                 " \"phrases\": {\"en\": {\"strnog\": [\"call\"]}}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 3, 3, "answr", "unknown key", "did you mean \"answer\"",
                  NULL);
    expect_report(&r, "insurance.json", 4, 3, "colour", "unknown key", "allowed: intent", NULL);
    /* The typo also means the answer is missing. */
    expect_report(&r, "insurance.json", 1, 1, "missing \"answer\"", NULL);
    expect_report(&r, "contact.json", 1, 56, "answer.fr: unknown language", "allowed: en, es",
                  NULL);
    expect_report(&r, "contact.json", 2, 21, "phrases.en.strnog", "did you mean \"strong\"", NULL);
    assert_int_equal(r.n, 5);
    rmdir_free(dir);
}

static void test_wrong_types(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_INSURANCE,
                 "{\n"
                 "  \"intent\": \"insurance\",\n"
                 "  \"answer\": {\"en\": 5, \"es\": \"b\"},\n"
                 "  \"phrases\": {\"en\": {\"strong\": \"insurance\"}},\n"
                 "  \"examples\": {\"es\": [\"¿aceptan seguro?\", 7]},\n"
                 "  \"note\": 1\n"
                 "}\n");
    write_intent(dir, INTENT_CONTACT,
                 "{\"intent\": 3, \"answer\": \"call us\", \"phrases\": [], "
                 "\"examples\": {\"en\": null}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 3, 20, "answer.en: must be a string, not a number", NULL);
    expect_report(&r, "insurance.json", 4, 32, "phrases.en.strong: must be an array", "a string",
                  NULL);
    expect_report(&r, "insurance.json", 5, 43, "examples.es[1]: must be a string, not a number",
                  NULL);
    expect_report(&r, "insurance.json", 6, 11, "note: must be a string", NULL);
    expect_report(&r, "contact.json", 1, 12, "intent: must be a string", NULL);
    expect_report(&r, "contact.json", 1, 25, "answer: must be an object", NULL);
    expect_report(&r, "contact.json", 1, 47, "phrases: must be an object", "an array", NULL);
    expect_report(&r, "contact.json", 1, 70, "examples.en: must be an array", "null", NULL);
    assert_int_equal(r.n, 8);
    rmdir_free(dir);
}

static void test_answer_problems(void **state)
{
    (void)state;
    char *dir = valid_dir();
    /* Missing language: reported at the answer object. */
    write_intent(dir, INTENT_INSURANCE,
                 "{\n"
                 "  \"intent\": \"insurance\",\n"
                 "  \"answer\": {\"en\": \"a\"}\n"
                 "}\n");
    write_intent(dir, INTENT_CONTACT, "{\"intent\": \"contact\"}");
    write_intent(dir, INTENT_FREE_BOOK,
                 "{\"intent\": \"free_book\", \"answer\": {\"en\": \" \\n \", \"es\": \"\"}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 3, 13, "answer.es: missing", "\"en\" and \"es\"", NULL);
    expect_report(&r, "contact.json", 1, 1, "missing \"answer\"", NULL);
    expect_report(&r, "free_book.json", 1, 42, "answer.en: empty answer", NULL);
    expect_report(&r, "free_book.json", 1, 56, "answer.es: empty answer", NULL);
    assert_int_equal(r.n, 4);
    rmdir_free(dir);
}

/* An intent file whose answers are en and es (JSON-escaped by the caller if needed). */
static void write_answers(const char *dir, int id, const char *en, const char *es)
{
    size_t n = strlen(en) + strlen(es) + 200;
    char *body = malloc(n);
    assert_non_null(body);
    snprintf(body, n, "{\"intent\": \"%s\",\n \"answer\": {\"en\": \"%s\",\n \"es\": \"%s\"}}",
             intent_name((enum intent)id), en, es);
    write_intent(dir, id, body);
    free(body);
}

static char *repeat(char c, size_t n, const char *tail)
{
    char *s = malloc(n + strlen(tail) + 1);
    assert_non_null(s);
    memset(s, c, n);
    strcpy(s + n, tail);
    return s;
}

static void test_answer_segments(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char *a459 = repeat('a', 459, ""); /* 3 GSM-7 parts exactly */
    char *a460 = repeat('a', 460, "");
    char *u201 = repeat('a', 200, "á"); /* 3 UCS-2 parts exactly */
    char *u202 = repeat('a', 201, "á");
    char *e458 = repeat('a', 458, "€"); /* 460 septets */
    write_answers(dir, INTENT_INSURANCE, a459, u201);
    write_answers(dir, INTENT_CONTACT, a460, u202);
    write_answers(dir, INTENT_FREE_BOOK, e458, "ok 😀");
    char *tab = repeat('a', 201, "\\t"); /* a JSON-escaped tab: not GSM-7, not printable */
    write_answers(dir, INTENT_HEALING_TIME, "ok", tab);
    free(tab);
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "contact.json", 2, 19, "answer.en: 4 SMS segments", "GSM-7", "460 septets",
                  "at most 3", NULL);
    expect_report(&r, "contact.json", 3, 8, "answer.es: 4 SMS segments", "UCS-2",
                  "202 UTF-16 units", "'á' U+00E1", NULL);
    expect_report(&r, "free_book.json", 2, 19, "answer.en: 4 SMS segments", "460 septets", NULL);
    expect_report(&r, "healing_time.json", 3, 8, "answer.es: 4 SMS segments", "forced by U+0009",
                  NULL);
    assert_int_equal(r.n, 4);
    /* Fix them: the folder loads, and the 3-segment answers are kept whole. */
    write_answers(dir, INTENT_CONTACT, "a", "b");
    write_answers(dir, INTENT_FREE_BOOK, "a", "ok 😀");
    write_answers(dir, INTENT_HEALING_TIME, "a", "b");
    struct replies *rep = load(dir, &r);
    assert_non_null(rep);
    assert_string_equal(rep->intents[INTENT_INSURANCE].answer[LANG_EN], a459);
    assert_string_equal(rep->intents[INTENT_INSURANCE].answer[LANG_ES], u201);
    replies_free(rep);
    free(a459);
    free(a460);
    free(u201);
    free(u202);
    free(e458);
    rmdir_free(dir);
}

static void test_intent_files(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/contact.json", dir);
    assert_int_equal(unlink(path), 0);
    tu_write_file(dir, "insurence.json", "{");
    tu_write_file(dir, "weather.json", "{}");
    write_intent(dir, INTENT_GREETING,
                 "{\"intent\": \"thanks\", \"answer\": {\"en\": \"hi\", \"es\": \"hola\"}}");
    write_intent(dir, INTENT_HUMAN, "{\"answer\": {\"en\": \"hi\", \"es\": \"hola\"}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "contact.json", 0, 0, "missing", NULL);
    expect_report(&r, "insurence.json", 0, 0, "no intent \"insurence\"", "insurance.json", NULL);
    expect_report(&r, "weather.json", 0, 0, "no intent \"weather\"", NULL);
    expect_report(&r, "greeting.json", 1, 12, "intent: is \"thanks\" but the file is greeting.json",
                  NULL);
    expect_report(&r, "human.json", 1, 1, "missing \"intent\": \"human\"", NULL);
    assert_int_equal(r.n, 5);
    rmdir_free(dir);
}

static void test_keywords(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_GREETING,
                 "{\"intent\": \"greeting\", \"keywords\": [\"HI\"],\n"
                 " \"answer\": {\"en\": \"hi\", \"es\": \"hola\"}}");
    write_intent(dir, INTENT_HELP_KEYWORD,
                 "{\"intent\": \"help_keyword\", \"keywords\": [\"HELP\", \"\", 4, \"INFO\"],\n"
                 " \"answer\": {\"en\": \"hi\", \"es\": \"hola\"}}");
    write_intent(dir, INTENT_OPT_IN,
                 "{\"intent\": \"opt_in\", \"keywords\": \"START\",\n"
                 " \"answer\": {\"en\": \"hi\", \"es\": \"hola\"}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "greeting.json", 1, 24, "keywords: only opt_out, opt_in and help_keyword",
                  NULL);
    expect_report(&r, "help_keyword.json", 1, 49, "keywords[1]: empty text", NULL);
    expect_report(&r, "help_keyword.json", 1, 53, "keywords[2]: must be a string", NULL);
    expect_report(&r, "opt_in.json", 1, 34, "keywords: must be an array", NULL);
    /* With no usable keywords, the ones US rules require are missing. */
    expect_report(&r, "opt_in.json", 1, 22, "keywords: the keyword \"START\" is required", NULL);
    expect_report(&r, "opt_in.json", 1, 22, "keywords: the keyword \"UNSTOP\" is required", NULL);
    assert_int_equal(r.n, 6);
    rmdir_free(dir);

    /* An edit that drops STOP from opt_out is refused. */
    dir = valid_dir();
    write_intent(dir, INTENT_OPT_OUT,
                 "{\"intent\": \"opt_out\", \"keywords\": [\"UNSUBSCRIBE\"],\n"
                 " \"answer\": {\"en\": \"bye\", \"es\": \"adios\"}}");
    load_fails(dir, &r);
    expect_report(&r, "opt_out.json", 1, 23, "keywords: the keyword \"STOP\" is required", NULL);
    assert_int_equal(r.n, 8);
    rmdir_free(dir);
}

static void test_text_bounds(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char *long301 = repeat('x', 301, "");
    char *ok300 = repeat('y', 300, "");
    size_t n = 1000;
    char *body = malloc(n);
    assert_non_null(body);
    snprintf(body, n,
             "{\"intent\": \"insurance\", \"answer\": {\"en\": \"a\", \"es\": \"b\"},\n"
             "\"phrases\": {\"es\": {\"strong\": [\"%s\", \"\\t\"]}},\n"
             "\"examples\": {\"en\": [\"%s\"]}}",
             ok300, long301);
    write_intent(dir, INTENT_INSURANCE, body);
    free(body);
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 2, 335, "phrases.es.strong[1]: empty text", NULL);
    expect_report(&r, "insurance.json", 3, 21, "examples.en[0]: too long", "301 bytes", "300",
                  NULL);
    assert_int_equal(r.n, 2);
    free(long301);
    free(ok300);
    rmdir_free(dir);
}

/* ---- lexicon ---- */

static void test_lexicon_problems(void **state)
{
    (void)state;
    char *dir = valid_dir();
    /* "p\u006cs" is "pls": the position index decodes escapes in keys. */
    tu_write_file(dir, "lexicon.json",
                  "{\n"
                  "  \"shorthand\": {\"u\": \"you\", \"p\\u006cs\": \"\", \"u r\": \"you are\"},\n"
                  "  \"cues\": {\"personnl\": {\"en\": [\"not\"]}, \"past\": {\"fr\": [\"a\"], "
                  "\"en\": \"used to\"}},\n"
                  "  \"stems\": {}\n"
                  "}\n");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "lexicon.json", 2, 41, "shorthand.pls: empty text", NULL);
    expect_report(&r, "lexicon.json", 2, 45, "shorthand.u r: must be one token", NULL);
    expect_report(&r, "lexicon.json", 3, 12, "cues.personnl: unknown cue",
                  "did you mean \"personal\"", NULL);
    expect_report(&r, "lexicon.json", 3, 50, "cues.past.fr: unknown language", NULL);
    expect_report(&r, "lexicon.json", 3, 69, "cues.past.en: must be an array", NULL);
    expect_report(&r, "lexicon.json", 4, 3, "stems: unknown key", NULL);
    assert_int_equal(r.n, 6);
    rmdir_free(dir);
}

/* Crisis rules: concepts, then rules over them, in file order. */
static void test_lexicon_rules(void **state)
{
    (void)state;
    char *dir = valid_dir();
    tu_write_file(dir, "lexicon.json",
                  "{\n"
                  "  \"concepts\": {\"act\": {\"en\": [\"cut\"], \"es\": [\"cortar\"]},\n"
                  "    \"body\": {\"en\": [\"my arm\"]}, \"tool\": {\"en\": [\"razor\"]},\n"
                  "    \"calm\": {\"en\": [\"hair\"]}},\n"
                  "  \"rules\": [{\"name\": \"self_harm\", \"intent\": \"crisis_suicide\",\n"
                  "    \"all\": [\"act\", [\"body\", \"tool\"]], \"window\": 6,\n"
                  "    \"unless\": [\"calm\", \"accident\"], \"note\": \"x\"},\n"
                  "    {\"name\": \"two\", \"intent\": \"medical_urgent\", \"all\": [\"act\", "
                  "\"body\"]}]\n"
                  "}\n");
    struct reports r;
    struct replies *rep = load(dir, &r);
    if (!rep)
        dump(&r);
    assert_non_null(rep);
    assert_int_equal(rep->n_concepts, 5);
    assert_string_equal(rep->concepts[0].name, "act");
    assert_int_equal(rep->concepts[1].lang, LANG_ES);
    assert_int_equal(rep->n_rules, 2);
    const struct replies_rule *rule = &rep->rules[0];
    assert_string_equal(rule->name, "self_harm");
    assert_int_equal(rule->intent, INTENT_CRISIS_SUICIDE);
    assert_int_equal(rule->window, 6);
    assert_int_equal(rule->n_slots, 2);
    assert_int_equal(rule->n_alts[1], 2);
    assert_string_equal(rule->slot[1][1], "tool");
    assert_int_equal(rule->n_unless, 2);
    assert_string_equal(rule->unless[1], "accident");
    assert_int_equal(rep->rules[1].window, RULE_DEFAULT_WINDOW);
    replies_free(rep);

    tu_write_file(
        dir, "lexicon.json",
        "{\n"
        "  \"concepts\": {\"act\": {\"en\": [\"cut\"]}, \"Bad Name\": {\"en\": [\"x\"]}},\n"
        "  \"rules\": [{\"name\": \"a\", \"intent\": \"insurance\", \"all\": [\"act\", "
        "\"act\"]},\n"
        "    {\"name\": \"b\", \"intent\": \"crisis_suicide\", \"all\": [\"act\", "
        "\"bodyy\"], \"window\": 0},\n"
        "    {\"name\": \"c\", \"intent\": \"crisis_suicide\", \"all\": [\"act\"], "
        "\"unless\": [\"away\", \"nope\"], \"when\": 1}]\n"
        "}\n");
    load_fails(dir, &r);
    expect_report(&r, "lexicon.json", 2, -1, "concepts.Bad Name", "a concept name", NULL);
    expect_report(&r, "lexicon.json", 3, -1, "rules[0].intent", "urgent intent", NULL);
    expect_report(&r, "lexicon.json", 4, -1, "rules[1].all[1]", "unknown concept \"bodyy\"", NULL);
    expect_report(&r, "lexicon.json", 4, -1, "rules[1].window", "1 to 40", NULL);
    expect_report(&r, "lexicon.json", 5, -1, "rules[2].all", "2 to 4 concepts", NULL);
    expect_report(&r, "lexicon.json", 5, -1, "rules[2].unless[1]", "unknown concept \"nope\"",
                  NULL);
    expect_report(&r, "lexicon.json", 5, -1, "rules[2].when", "unknown key", NULL);
    assert_int_equal(r.n, 7);
    rmdir_free(dir);
}

static void test_lexicon_missing_and_wrong_shape(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char path[4200];
    snprintf(path, sizeof path, "%s/lexicon.json", dir);
    assert_int_equal(unlink(path), 0);
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "lexicon.json", 0, 0, "missing", NULL);
    assert_int_equal(r.n, 1);

    tu_write_file(dir, "lexicon.json", "{\"shorthand\": [\"u\"], \"cues\": {\"past\": 1}}");
    load_fails(dir, &r);
    expect_report(&r, "lexicon.json", 1, 15, "shorthand: must be an object", NULL);
    expect_report(&r, "lexicon.json", 1, 39, "cues.past: must be an object", NULL);
    assert_int_equal(r.n, 2);
    rmdir_free(dir);
}

/* ---- folder-level ---- */

static void test_missing_folder_and_null_callback(void **state)
{
    (void)state;
    struct reports r;
    memset(&r, 0, sizeof r);
    assert_null(replies_load("/nonexistent/hotline-replies", on_report, &r));
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].file, "hotline-replies");
    assert_int_equal(r.v[0].line, 0);
    assert_non_null(strstr(r.v[0].msg, "cannot open"));

    /* An empty folder: every intent, the lexicon and the menu are missing. */
    char *dir = tu_mkdtemp();
    load_fails(dir, &r);
    assert_int_equal(r.n, INTENT_COUNT + 2);
    expect_report(&r, "menu.json", 0, 0, "missing", NULL);
    expect_report(&r, "fallback.json", 0, 0, "missing", NULL);
    /* No callback: still fails, quietly. */
    assert_null(replies_load(dir, NULL, NULL));
    rmdir_free(dir);
}

static void test_every_problem_reported(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_INSURANCE, "{\"intent\": \"insurance\", \"answer\": {\"en\": \"\"}}");
    write_intent(dir, INTENT_CONTACT, "{");
    write_intent(dir, INTENT_GREETING,
                 "{\"intent\": \"greeting\", \"answer\": {\"en\": \"a\", "
                 "\"es\": \"b\"}, \"keywords\": [\"HI\"], \"x\": 1}");
    tu_write_file(dir, "lexicon.json", "{\"cues\": {\"future\": {}}}");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "insurance.json", 1, 42, "answer.en: empty answer", NULL);
    expect_report(&r, "insurance.json", 1, 35, "answer.es: missing", NULL);
    expect_report(&r, "contact.json", 1, -1, "invalid JSON", NULL);
    expect_report(&r, "greeting.json", 1, 58, "keywords", NULL);
    expect_report(&r, "greeting.json", 1, 78, "unknown key \"x\"", NULL);
    expect_report(&r, "lexicon.json", 1, 11, "unknown cue \"future\"", NULL);
    assert_int_equal(r.n, 6);
    rmdir_free(dir);
}

/* ---- menu.json ---- */

static void test_menu_loaded_and_expanded(void **state)
{
    (void)state;
    char *dir = valid_dir();
    write_intent(dir, INTENT_GREETING,
                 "{\"intent\": \"greeting\", \"answer\": {\"en\": \"Hi. {menu} Bye.\", "
                 "\"es\": \"Hola. {menu}\"}}");
    struct reports r;
    struct replies *rep = load(dir, &r);
    if (!rep) {
        dump(&r);
        fail_msg("valid menu refused");
    }
    assert_string_equal(rep->intents[INTENT_GREETING].answer[LANG_EN],
                        "Hi. Reply 1 insurance, 2 a person. Bye.");
    assert_string_equal(rep->intents[INTENT_GREETING].answer[LANG_ES],
                        "Hola. Responde 1 seguro, 2 una persona.");
    assert_int_equal(rep->menu.n_items, 2);
    assert_int_equal(rep->menu.item[1], INTENT_INSURANCE);
    assert_int_equal(rep->menu.item[2], INTENT_HUMAN);
    assert_int_equal(rep->menu.item[3], INTENT_COUNT);
    assert_string_equal(rep->menu.repeat[LANG_ES], "Mira mi mensaje anterior.");
    replies_free(rep);
    rmdir_free(dir);
}

static void test_menu_problems(void **state)
{
    (void)state;
    char *dir = valid_dir();
    /* Digits out of range, a number the menu text does not offer, forbidden topics, a
     * missing repeat pointer. */
    tu_write_file(dir, "menu.json",
                  "{\"menu\": {\"en\": \"Reply 1 or 2\", \"es\": \"Responde 1\"},\n"
                  "\"items\": {\"0\": \"insurance\", \"12\": \"insurance\", \"2\": \"contact\", "
                  "\"1\": \"opt_out\", \"3\": \"crisis_suicide\", \"4\": \"nope\"}}");
    /* An answer that the menu pushes past 3 segments. */
    char big[600];
    memset(big, 'x', 450); /* 457 septets with " {menu}": 3 segments; 469 expanded */
    big[450] = '\0';
    char body[800];
    snprintf(body, sizeof body,
             "{\"intent\": \"contact\", \"answer\": {\"en\": \"%s {menu}\", \"es\": \"a\"}}", big);
    write_intent(dir, INTENT_CONTACT, body);
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "menu.json", 1, -1, "repeat", "missing", NULL);
    expect_report(&r, "menu.json", 2, -1, "items.0: a menu number is one digit", NULL);
    expect_report(&r, "menu.json", 2, -1, "items.12: a menu number is one digit", NULL);
    expect_report(&r, "menu.json", 2, -1, "items.2: the menu text in \"es\" does not offer 2",
                  NULL);
    expect_report(&r, "menu.json", 2, -1, "items.1: \"opt_out\" cannot be a menu topic", NULL);
    expect_report(&r, "menu.json", 2, -1, "items.3: \"crisis_suicide\" cannot be", NULL);
    expect_report(&r, "menu.json", 2, -1, "items.4: no intent \"nope\"", NULL);
    expect_report(&r, "contact.json", 0, 0, "answer.en: with the menu it is 4 SMS segments", NULL);
    rmdir_free(dir);
}

/* ---- examples/: labelled texts ---- */

/* Labelled files at any depth are read in name order, blank lines skipped; README.md and
 * the like ignored. */
static void test_examples_loaded(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/examples", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/examples/b", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    tu_write_file(sub, "README.md", "# not JSON {\n");
    tu_write_file(sub, "one.jsonl",
                  "{\"id\": \"b1\", \"body\": \"i want to die \\u00e1\", \"intent\": "
                  "\"crisis_suicide\", \"escalate\": \"urgent\", \"lang\": \"en\"}\n\n"
                  "{\"id\":\"b2\",\"body\":\"do u take cigna\",\"intent\":\"insurance\","
                  "\"escalate\":\"none\",\"lang\":\"en\"}\n");
    snprintf(sub, sizeof sub, "%s/examples", dir);
    tu_write_file(sub, "a.jsonl",
                  "{\"id\": \"a1\", \"body\": \"hola\", \"intent\": \"greeting\", "
                  "\"escalate\": \"none\", \"lang\": \"es\"}\n");
    struct reports r;
    struct replies *rep = load(dir, &r);
    if (!rep)
        dump(&r);
    assert_non_null(rep);
    assert_int_equal(rep->n_example_files, 2);
    assert_string_equal(rep->example_files[0], "examples/a.jsonl");
    assert_string_equal(rep->example_files[1], "examples/b/one.jsonl");
    assert_int_equal(rep->n_labelled, 3);
    assert_string_equal(rep->labelled[0].text, "hola");
    assert_int_equal(rep->labelled[0].lang, LANG_ES);
    assert_int_equal(rep->labelled[0].file, 0);
    assert_string_equal(rep->labelled[1].text, "i want to die \xc3\xa1");
    assert_int_equal(rep->labelled[1].intent, INTENT_CRISIS_SUICIDE);
    assert_int_equal(rep->labelled[2].intent, INTENT_INSURANCE);
    assert_int_equal(rep->labelled[2].file, 1);
    replies_free(rep);
    rmdir_free(dir);
}

/* Each wrong line is reported with its file and line; the load fails. */
static void test_examples_problems(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/examples", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    tu_write_file(
        sub, "bad.jsonl",
        "{\"id\": \"1\", \"body\": \"ok\", \"intent\": \"greeting\", \"escalate\": \"none\", "
        "\"lang\": \"en\"}\n"
        "{\"id\": \"2\", \"body\": \"x\", \"intent\": \"insurence\", \"escalate\": \"none\", "
        "\"lang\": \"en\"}\n"
        "{\"id\": \"3\", \"body\": \"x\", \"intent\": \"crisis_suicide\", \"escalate\": "
        "\"none\", \"lang\": \"en\"}\n"
        "{\"id\": \"4\", \"body\": \"x\", \"intent\": \"greeting\", \"escalate\": \"none\", "
        "\"lang\": \"fr\", \"bodi\": 1}\n"
        "{\"id\": \"5\", \"body\": \"x\", \"intent\": \"greeting\"\n"
        "{\"id\": \"6\", \"body\": 7, \"intent\": \"greeting\", \"escalate\": \"none\", "
        "\"lang\": \"en\"}\n"
        "[1]\n"
        "{\"id\": \"8\", \"body\": \"  \", \"intent\": \"greeting\", \"escalate\": \"none\", "
        "\"lang\": \"en\", \"id\": \"9\"}\n");
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "bad.jsonl", 2, -1, "intent", "insurence", "did you mean insurance", NULL);
    expect_report(&r, "bad.jsonl", 3, -1, "escalate", "urgent", NULL);
    expect_report(&r, "bad.jsonl", 4, -1, "lang", "fr", NULL);
    expect_report(&r, "bad.jsonl", 4, -1, "unknown key", "bodi", "did you mean \"body\"", NULL);
    expect_report(&r, "bad.jsonl", 5, -1, "invalid JSON", NULL);
    expect_report(&r, "bad.jsonl", 6, -1, "body", "must be a string", NULL);
    expect_report(&r, "bad.jsonl", 7, -1, "one JSON object a line", NULL);
    expect_report(&r, "bad.jsonl", 8, -1, "invalid JSON", "duplicate", NULL);
    rmdir_free(dir);
}

/* A body over the bound and a missing key. */
static void test_examples_bounds(void **state)
{
    (void)state;
    char *dir = valid_dir();
    char sub[512];
    snprintf(sub, sizeof sub, "%s/examples", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    static char text[3000 + 256];
    char body[2100];
    memset(body, 'a', 2049);
    body[2049] = '\0';
    snprintf(text, sizeof text,
             "{\"id\": \"1\", \"body\": \"%s\", \"intent\": \"greeting\", \"escalate\": "
             "\"none\", \"lang\": \"en\"}\n"
             "{\"id\": \"2\", \"body\": \"x\", \"escalate\": \"none\", \"lang\": \"en\"}\n",
             body);
    tu_write_file(sub, "big.jsonl", text);
    struct reports r;
    load_fails(dir, &r);
    expect_report(&r, "big.jsonl", 1, -1, "body", "too long", NULL);
    expect_report(&r, "big.jsonl", 2, -1, "intent", "missing", NULL);
    rmdir_free(dir);
}

/* ---- the real folder ---- */

static void test_real_replies_folder(void **state)
{
    (void)state;
    const char *dir = HOTLINE_SOURCE_DIR "/replies";
    if (access(HOTLINE_SOURCE_DIR "/replies/lexicon.json", F_OK) != 0) {
        print_message("replies/lexicon.json not written yet: skipping\n");
        skip();
    }
    struct reports r;
    struct replies *rep = load(dir, &r);
    if (!rep) {
        dump(&r);
        fail_msg("replies/ does not load");
    }
    for (int i = 0; i < INTENT_COUNT; i++)
        for (int l = 0; l < LANG_COUNT; l++)
            assert_true(rep->intents[i].answer[l][0] != '\0');
    /* examples/ holds the labelled sets (extra/, train/): thousands of texts. */
    assert_true(rep->n_example_files >= 40);
    assert_true(rep->n_labelled > 10000);
    replies_free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_minimal),
        cmocka_unit_test(test_valid_full_intent),
        cmocka_unit_test(test_syntax_errors_all_reported),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_file_too_large),
        cmocka_unit_test(test_top_level_not_object),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_answer_problems),
        cmocka_unit_test(test_answer_segments),
        cmocka_unit_test(test_intent_files),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_text_bounds),
        cmocka_unit_test(test_lexicon_problems),
        cmocka_unit_test(test_lexicon_rules),
        cmocka_unit_test(test_lexicon_missing_and_wrong_shape),
        cmocka_unit_test(test_missing_folder_and_null_callback),
        cmocka_unit_test(test_every_problem_reported),
        cmocka_unit_test(test_menu_loaded_and_expanded),
        cmocka_unit_test(test_menu_problems),
        cmocka_unit_test(test_examples_loaded),
        cmocka_unit_test(test_examples_problems),
        cmocka_unit_test(test_examples_bounds),
        cmocka_unit_test(test_real_replies_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
