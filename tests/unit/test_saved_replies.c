/*
 * test_saved_replies: replies/saved_replies.json, the staff page's saved replies. The
 * shipped file loads (each text within 3 SMS segments); every kind of mistake is reported
 * with the JSON path (or line and column), all of them at once; a bad file makes the
 * whole replies folder fail to load, as a bad intent file does, and a folder without one
 * loads with no saved replies; `hotline check-replies` shows their sizes.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hotline/replies.h"
#include "hotline/saved_replies.h"
#include "hotline/sms.h"

/* The problems a load reported, one "line:col: message" per line. */
struct problems {
    char text[8192];
    int n;
};

static void on_problem(void *ctx, const char *file, int line, int column, const char *message)
{
    (void)file;
    struct problems *p = ctx;
    size_t len = strlen(p->text);
    snprintf(p->text + len, sizeof p->text - len, "%d:%d: %s\n", line, column, message);
    p->n++;
}

/* Loads text as a saved replies file; NULL when refused (problems in *p). */
static struct saved_replies *load_text(const char *text, struct problems *p)
{
    char *dir = tu_mkdtemp();
    tu_write_file(dir, SAVED_REPLIES_FILE, text);
    char path[4200];
    snprintf(path, sizeof path, "%s/" SAVED_REPLIES_FILE, dir);
    memset(p, 0, sizeof *p);
    struct saved_replies *s = saved_replies_load(path, on_problem, p);
    tu_rmtree(dir);
    free(dir);
    return s;
}

static void expect_problem(const char *text, const char *needle)
{
    struct problems p;
    struct saved_replies *s = load_text(text, &p);
    if (s)
        fail_msg("accepted: %s", text);
    if (!strstr(p.text, needle))
        fail_msg("expected \"%s\" among the problems:\n%s", needle, p.text);
}

#define ONE(id, label, en, es)                                                                     \
    "{\"id\": \"" id "\", \"label\": \"" label "\", \"text\": {\"en\": \"" en "\", \"es\": \"" es  \
    "\"}}"

static void test_shipped_file_loads(void **state)
{
    (void)state;
    struct problems p = {0};
    struct saved_replies *s =
        saved_replies_load(HOTLINE_SOURCE_DIR "/replies/" SAVED_REPLIES_FILE, on_problem, &p);
    if (!s)
        fail_msg("%s", p.text);
    assert_true(s->n >= 5);
    assert_string_equal(s->v[0].id, "safe_now");
    assert_string_equal(s->v[0].text[LANG_EN],
                        "This is a counselor from the center. Are you safe right now?");
    for (size_t i = 0; i < s->n; i++) {
        for (int l = 0; l < LANG_COUNT; l++) {
            struct sms_measure m;
            assert_int_equal(sms_measure(s->v[i].text[l], strlen(s->v[i].text[l]), &m), 0);
            assert_true(m.segments >= 1 && m.segments <= SAVED_REPLY_MAX_SEGMENTS);
        }
    }
    /* The JSON the API serves: the same texts, in file order. */
    json_error_t err;
    json_t *j = json_loads(saved_replies_json(s), 0, &err);
    assert_non_null(j);
    json_t *list = json_object_get(j, "saved");
    assert_int_equal(json_array_size(list), s->n);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "id")), "safe_now");
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "text"), "es")),
                        s->v[0].text[LANG_ES]);
    json_decref(j);
    saved_replies_free(s);
    assert_string_equal(saved_replies_json(NULL), "{\"saved\":[]}");
    saved_replies_free(NULL);
}

static void test_a_good_small_file(void **state)
{
    (void)state;
    struct problems p;
    struct saved_replies *s = load_text(
        "\xEF\xBB\xBF{\"note\": \"n\", \"saved\": [" ONE("a_1", "One", "Hi {there}", "¿Hola?") "]}",
        &p);
    if (!s)
        fail_msg("%s", p.text);
    assert_int_equal(s->n, 1);
    assert_string_equal(s->v[0].label, "One");
    assert_string_equal(s->v[0].text[LANG_ES], "¿Hola?");
    assert_string_equal(saved_replies_json(s),
                        "{\"saved\":[{\"id\":\"a_1\",\"label\":\"One\","
                        "\"text\":{\"en\":\"Hi {there}\",\"es\":\"¿Hola?\"}}]}");
    saved_replies_free(s);
}

static void test_mistakes_are_reported(void **state)
{
    (void)state;
    expect_problem("{\"saved\": [\n  {\"id\": \"x\",}\n]}", "2:");
    expect_problem("{\"saved\": [\n  {\"id\": \"x\",}\n]}", "invalid JSON");
    expect_problem("{\"saved\": [],\n \"note\": \"\xC3\x28\"}", "2:11: invalid UTF-8 (byte 0xC3)");
    expect_problem("[]", "must be one JSON object");
    expect_problem("{}", "missing \"saved\"");
    expect_problem("{\"saved\": {}}", "saved: must be an array");
    expect_problem("{\"saved\": [], \"sved\": 1}", "sved: unknown key");
    expect_problem("{\"saved\": [], \"note\": 3}", "note: must be a string");
    expect_problem("{\"saved\": [3]}", "saved[0]: must be an object");
    expect_problem("{\"saved\": [" ONE("Bad-Id", "L", "a", "b") "]}",
                   "saved[0].id: must be 1 to 32");
    expect_problem("{\"saved\": [" ONE("a", "", "a", "b") "]}",
                   "saved[0].label: must be a non-blank");
    expect_problem("{\"saved\": [" ONE("a", "L", "  ", "b") "]}", "saved[0].text.en: empty text");
    expect_problem("{\"saved\": [{\"id\": \"a\", \"label\": \"L\", \"text\": {\"en\": \"x\"}}]}",
                   "saved[0].text.es: missing");
    expect_problem("{\"saved\": [{\"id\": \"a\", \"label\": \"L\", \"text\": {\"en\": \"x\", "
                   "\"es\": \"y\", \"fr\": \"z\"}}]}",
                   "saved[0].text.fr: unknown key");
    expect_problem("{\"saved\": [{\"id\": \"a\", \"label\": \"L\", \"txt\": {}}]}",
                   "saved[0].txt: unknown key");
    expect_problem("{\"saved\": [" ONE("a", "L", "x", "y") ", " ONE("a", "M", "x", "y") "]}",
                   "saved[1].id: \"a\" is already the id of saved[0]");
    expect_problem(
        "{\"saved\": [{\"id\": \"a\", \"label\": \"L\", \"text\": {\"en\": \"x\\u0000y\", "
        "\"es\": \"y\"}}]}",
        "invalid JSON: \\u0000 is not allowed");

    /* Longer than 3 segments: 460 GSM-7 septets, and 202 UCS-2 units. */
    char big[2048], a460[461], u202[512];
    memset(a460, 'a', 460);
    a460[460] = '\0';
    memset(u202, 'a', 201);
    strcpy(u202 + 201, "\xC3\xA1"); /* á */
    snprintf(big, sizeof big,
             "{\"saved\": [{\"id\": \"a\", \"label\": \"L\", \"text\": {\"en\": "
             "\"%s\", \"es\": \"%s\"}}]}",
             a460, u202);
    expect_problem(big, "saved[0].text.en: 4 SMS segments (GSM-7, 460 septets); at most 3");
    expect_problem(big, "saved[0].text.es: 4 SMS segments (UCS-2, 202 UTF-16 units)");

    /* Every problem at once, not just the first. */
    struct problems p;
    assert_null(
        load_text("{\"saved\": [" ONE("A", "L", "x", "y") ", " ONE("b", "", "", "y") "]}", &p));
    assert_int_equal(p.n, 3);

    /* At most 50; at most 64 KiB. */
    char *many = malloc(51 * 100 + 64);
    assert_non_null(many);
    strcpy(many, "{\"saved\": [");
    for (int i = 0; i < 51; i++)
        snprintf(many + strlen(many), 100,
                 "%s{\"id\": \"i%d\", \"label\": \"L\", \"text\": "
                 "{\"en\": \"x\", \"es\": \"y\"}}",
                 i ? ", " : "", i);
    strcat(many, "]}");
    expect_problem(many, "saved: 51 saved replies, at most 50");
    free(many);
    char *huge = malloc(SAVED_REPLIES_FILE_MAX + 64);
    assert_non_null(huge);
    strcpy(huge, "{\"note\": \"");
    memset(huge + strlen(huge), 'x', SAVED_REPLIES_FILE_MAX);
    strcpy(huge + 10 + SAVED_REPLIES_FILE_MAX, "\", \"saved\": []}");
    expect_problem(huge, "too large");
    free(huge);
}

/* A copy of the shipped replies folder in a fresh temporary folder; caller frees. */
static char *copy_replies(void)
{
    char *dir = tu_mkdtemp();
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "cp '%s'/replies/*.json '%s'/", HOTLINE_SOURCE_DIR, dir);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    return dir;
}

static void test_replies_folder(void **state)
{
    (void)state;
    char *dir = copy_replies();
    struct problems p = {0};
    struct replies *r = replies_load(dir, on_problem, &p);
    if (!r)
        fail_msg("%s", p.text);
    assert_non_null(r->saved);
    assert_true(r->saved->n >= 5);
    replies_free(r);

    /* A bad saved replies file refuses the folder, reported like any other problem. */
    tu_write_file(dir, SAVED_REPLIES_FILE,
                  "{\"saved\": [" ONE("a", "L", "x", "y") ", " ONE("a", "L", "x", "y") "]}");
    memset(&p, 0, sizeof p);
    assert_null(replies_load(dir, on_problem, &p));
    assert_int_equal(p.n, 1);
    assert_non_null(strstr(p.text, "already the id"));
    char cmd[8400], *out = NULL;
    snprintf(cmd, sizeof cmd, "{ '%s' check-replies '%s' 2>&1; }", HOTLINE_BINARY, dir);
    assert_int_equal(tu_run(cmd, NULL, &out), 1);
    assert_non_null(strstr(out, SAVED_REPLIES_FILE ": error: saved[1].id"));
    free(out);

    /* Without one: no saved replies, and nothing wrong. */
    snprintf(cmd, sizeof cmd, "rm '%s/" SAVED_REPLIES_FILE "'", dir);
    assert_int_equal(tu_run(cmd, NULL, NULL), 0);
    r = replies_load(dir, NULL, NULL);
    assert_non_null(r);
    assert_null(r->saved);
    replies_free(r);
    tu_rmtree(dir);
    free(dir);

    /* check-replies lists their sizes. */
    snprintf(cmd, sizeof cmd, "'%s' check-replies '%s/replies'", HOTLINE_BINARY,
             HOTLINE_SOURCE_DIR);
    assert_int_equal(tu_run(cmd, NULL, &out), 0);
    assert_non_null(strstr(out, "safe_now               en   GSM-7, 60 septets, 1 segment"));
    assert_non_null(strstr(out, "saved replies, each fits in 3 segments"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_file_loads),
        cmocka_unit_test(test_a_good_small_file),
        cmocka_unit_test(test_mistakes_are_reported),
        cmocka_unit_test(test_replies_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
