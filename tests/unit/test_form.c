/*
 * Tests for form: strict urlencoded decoding (limits, escapes, NUL, UTF-8) and an
 * encoder that matches Python's urllib.parse.urlencode byte for byte.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "hotline/form.h"

static const struct form_limits roomy = {64, 256, 4096};

static struct form *parse_ok(const char *body)
{
    const char *err = NULL;
    struct form *f = form_parse(body, strlen(body), &roomy, &err);
    if (!f)
        fail_msg("form_parse(\"%s\") failed: %s", body, err);
    return f;
}

static void expect_error(const char *body, size_t len, const struct form_limits *lim,
                         const char *reason)
{
    const char *err = NULL;
    struct form *f = form_parse(body, len, lim, &err);
    if (f) {
        form_free(f);
        fail_msg("form_parse accepted \"%s\"", body);
    }
    assert_non_null(err);
    assert_string_equal(err, reason);
}

static void test_decodes_plus_and_percent(void **state)
{
    (void)state;
    struct form *f = parse_ok("Body=It%27s+amazing%21%0AOK&From=%2B14158675309&Empty=");
    assert_int_equal(f->count, 3);
    assert_string_equal(form_get(f, "Body"), "It's amazing!\nOK");
    assert_string_equal(form_get(f, "From"), "+14158675309");
    assert_string_equal(form_get(f, "Empty"), "");
    assert_int_equal(f->params[1].value_len, 12);
    assert_null(form_get(f, "Missing"));
    form_free(f);
}

static void test_order_repeats_and_odd_fields(void **state)
{
    (void)state;
    /* Empty fields skipped; a bare name has an empty value; '=' inside a value stays. */
    struct form *f = parse_ok("&Digits=5678&&Digits=1234&flag&eq=a=b&");
    assert_int_equal(f->count, 4);
    assert_string_equal(f->params[0].name, "Digits");
    assert_string_equal(f->params[0].value, "5678");
    assert_string_equal(f->params[1].value, "1234");
    assert_string_equal(form_get(f, "Digits"), "5678");
    assert_int_equal(form_count(f, "Digits"), 2);
    assert_string_equal(form_get(f, "flag"), "");
    assert_string_equal(form_get(f, "eq"), "a=b");
    form_free(f);

    f = parse_ok("");
    assert_int_equal(f->count, 0);
    form_free(f);
}

static void test_utf8_values(void **state)
{
    (void)state;
    /* "¿Qué?" percent-encoded, and raw UTF-8 bytes in the body. */
    struct form *f = parse_ok("a=%C2%BFQu%C3%A9%3F&b=caf\xC3\xA9&c=%F0%9F%98%80");
    assert_string_equal(form_get(f, "a"), "\xC2\xBFQu\xC3\xA9?");
    assert_string_equal(form_get(f, "b"), "caf\xC3\xA9");
    assert_string_equal(form_get(f, "c"), "\xF0\x9F\x98\x80");
    form_free(f);
}

static void test_malformed_escapes(void **state)
{
    (void)state;
    expect_error("a=%", 3, &roomy, "malformed percent-escape");
    expect_error("a=%4", 4, &roomy, "malformed percent-escape");
    expect_error("a=%G1", 5, &roomy, "malformed percent-escape");
    expect_error("a=%%41", 6, &roomy, "malformed percent-escape");
    expect_error("a%2=1", 5, &roomy, "malformed percent-escape");
}

static void test_nul_rejected(void **state)
{
    (void)state;
    expect_error("a=x%00y", 7, &roomy, "embedded NUL");
    expect_error("a%00=1", 6, &roomy, "embedded NUL");
    expect_error("a=x\0y", 5, &roomy, "embedded NUL");
}

static void test_invalid_utf8_rejected(void **state)
{
    (void)state;
    expect_error("a=%FF", 5, &roomy, "invalid UTF-8");
    expect_error("a=%C3", 5, &roomy, "invalid UTF-8");           /* truncated */
    expect_error("a=%C0%AF", 8, &roomy, "invalid UTF-8");        /* overlong '/' */
    expect_error("a=%ED%A0%80", 11, &roomy, "invalid UTF-8");    /* surrogate */
    expect_error("a=%F4%90%80%80", 14, &roomy, "invalid UTF-8"); /* > U+10FFFF */
    expect_error("%FF=1", 5, &roomy, "invalid UTF-8");
}

static void test_limits(void **state)
{
    (void)state;
    const struct form_limits tight = {2, 4, 5};
    const char *err = NULL;
    struct form *f = form_parse("abcd=12345&b=", 13, &tight, &err);
    assert_non_null(f);
    form_free(f);
    expect_error("a=1&b=2&c=3", 11, &tight, "too many parameters");
    expect_error("abcde=1", 7, &tight, "parameter name too long");
    expect_error("a=123456", 8, &tight, "parameter value too long");
    /* Limits apply to decoded sizes: five escaped bytes are five bytes. */
    f = form_parse("a=%41%41%41%41%41", 17, &tight, &err);
    assert_non_null(f);
    form_free(f);
    expect_error("=1", 2, &roomy, "empty parameter name");
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    char buf[8];
    memcpy(buf, "a=1&b=2X", 8); /* only the first 7 bytes are the body */
    const char *err = NULL;
    struct form *f = form_parse(buf, 7, &roomy, &err);
    assert_non_null(f);
    assert_string_equal(form_get(f, "b"), "2");
    form_free(f);
}

static void test_encode_like_urlencode(void **state)
{
    (void)state;
    /* Expected strings produced by Python: urllib.parse.urlencode(pairs). */
    const struct form_pair pairs[] = {
        {"To", "+14155550100"},
        {"Skip", NULL},
        {"Body", "Hi there! 50% off? a&b=c ~_.-'\"/\n"},
        {"Uni", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
        {"Empty", ""},
    };
    char *s = form_encode(pairs, 5);
    assert_non_null(s);
    assert_string_equal(s, "To=%2B14155550100"
                           "&Body=Hi+there%21+50%25+off%3F+a%26b%3Dc+~_.-%27%22%2F%0A"
                           "&Uni=caf%C3%A9+%F0%9F%98%80&Empty=");
    free(s);

    s = form_encode(pairs, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_roundtrip(void **state)
{
    (void)state;
    const struct form_pair pairs[] = {
        {"A b", "x+y z%"},
        {"B", "\xE2\x80\x99quoted\xE2\x80\x99"},
    };
    char *s = form_encode(pairs, 2);
    struct form *f = parse_ok(s);
    assert_int_equal(f->count, 2);
    assert_string_equal(f->params[0].name, "A b");
    assert_string_equal(f->params[0].value, "x+y z%");
    assert_string_equal(form_get(f, "B"), pairs[1].value);
    form_free(f);
    free(s);
    form_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decodes_plus_and_percent),
        cmocka_unit_test(test_order_repeats_and_odd_fields),
        cmocka_unit_test(test_utf8_values),
        cmocka_unit_test(test_malformed_escapes),
        cmocka_unit_test(test_nul_rejected),
        cmocka_unit_test(test_invalid_utf8_rejected),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_encode_like_urlencode),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
