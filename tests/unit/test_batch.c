/*
 * test_batch: `hotline match`'s own reader for plain lines against jansson. batch reads
 * the usual line ({"id": "...", "body": "..."}) without jansson, for speed, and must
 * answer exactly as jansson's reading would: the same bytes out for every line, answers
 * and error lines alike. The lines: tests/data/batch/tricky.jsonl (escapes, surrogates,
 * invalid and overlong UTF-8, NULs, keys twice, trailing junk, BOM, non-objects), then
 * thousands of copies of them with bytes flipped, cut or duplicated by a fixed PRNG.
 * (Not a libFuzzer target: batch_match builds its matchers on every call, seconds under
 * the sanitizers, so a fuzzer would run a few inputs a minute.)
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotline/batch.h"
#include "hotline/replies.h"

#define TRICKY HOTLINE_SOURCE_DIR "/tests/data/batch/tricky.jsonl"

static struct replies *g_replies;

static int group_setup(void **state)
{
    (void)state;
    g_replies = replies_load(HOTLINE_SOURCE_DIR "/replies", NULL, NULL);
    return g_replies ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    replies_free(g_replies);
    return 0;
}

static char *run(const char *input, size_t len, bool plain, size_t *out_len)
{
    FILE *in = fmemopen((void *)input, len, "r");
    char *out = NULL;
    FILE *o = open_memstream(&out, out_len);
    assert_non_null(in);
    assert_non_null(o);
    batch_set_plain_reader(plain);
    assert_int_equal(batch_match(g_replies, in, o, 2), 0);
    fclose(in);
    fclose(o);
    batch_set_plain_reader(true);
    return out;
}

static void assert_same_both_ways(const char *input, size_t len)
{
    size_t fast_len = 0, slow_len = 0;
    char *fast = run(input, len, true, &fast_len);
    char *slow = run(input, len, false, &slow_len);
    assert_int_equal(fast_len, slow_len);
    assert_memory_equal(fast, slow, fast_len);
    free(fast);
    free(slow);
}

static void test_tricky_lines(void **state)
{
    (void)state;
    size_t len = 0;
    char *t = tu_read_file(TRICKY, &len);
    assert_non_null(t);
    assert_true(len > 1000);
    assert_same_both_ways(t, len);
    /* The file holds both kinds: lines answered and lines refused. */
    size_t out_len = 0;
    char *out = run(t, len, true, &out_len);
    assert_non_null(strstr(out, "\"intent\""));
    assert_non_null(strstr(out, "\"error\""));
    free(out);
    free(t);
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every tricky line, mutated many times: a byte flipped to one of the characters that
 * matter to a JSON reader, a byte dropped, or a span repeated. */
static void test_mutated_lines(void **state)
{
    (void)state;
    size_t len = 0;
    char *t = tu_read_file(TRICKY, &len);
    assert_non_null(t);
    static const char interesting[] = "\"\\{}:,u0dD8F \t\x01\x7f\xc3\xa9\xed\xa0\x80\xf0\xff";
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    size_t cap = len * 64 + 1024, n = 0;
    char *mutated = malloc(cap);
    assert_non_null(mutated);
    for (int round = 0; round < 60; round++) {
        for (char *line = t; *line;) {
            char *nl = strchr(line, '\n');
            size_t ll = nl ? (size_t)(nl - line) : strlen(line);
            char buf[512];
            size_t bl = ll < sizeof buf - 64 ? ll : sizeof buf - 64;
            memcpy(buf, line, bl);
            if (bl) {
                size_t at = next(&seed) % bl;
                switch (next(&seed) % 3) {
                case 0:
                    buf[at] = interesting[next(&seed) % (sizeof interesting - 1)];
                    break;
                case 1:
                    memmove(buf + at, buf + at + 1, bl - at - 1);
                    bl--;
                    break;
                default: {
                    size_t span = 1 + next(&seed) % 8;
                    if (at + span > bl)
                        span = bl - at;
                    memmove(buf + at + span, buf + at, bl - at);
                    bl += span;
                }
                }
            }
            assert_true(n + bl + 1 < cap);
            memcpy(mutated + n, buf, bl);
            n += bl;
            mutated[n++] = '\n';
            line = nl ? nl + 1 : line + ll;
        }
    }
    assert_same_both_ways(mutated, n);
    free(mutated);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tricky_lines),
        cmocka_unit_test(test_mutated_lines),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
