/*
 * test_sms_table: sms_measure against tests/data/sms_cases.json, the table the staff
 * page's counter (web/sms.js) is held to as well (tests/e2e/sms_counter.test.js), so the
 * two always agree: each case's encoding, units, segments and first non-GSM character,
 * and, code point by code point, the whole GSM-7 alphabet (basic and extension tables).
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "hotline/sms.h"

static json_t *load_table(void)
{
    json_error_t err;
    json_t *t = json_load_file(HOTLINE_SOURCE_DIR "/tests/data/sms_cases.json", 0, &err);
    if (!t)
        fail_msg("sms_cases.json: %d:%d: %s", err.line, err.column, err.text);
    return t;
}

/* A case's text: its parts, each [piece, times], concatenated. Caller frees. */
static char *case_text(json_t *parts)
{
    size_t len = 0, i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        len += strlen(json_string_value(json_array_get(p, 0))) *
               (size_t)json_integer_value(json_array_get(p, 1));
    }
    char *s = malloc(len + 1), *at = s;
    assert_non_null(s);
    json_array_foreach(parts, i, p)
    {
        const char *piece = json_string_value(json_array_get(p, 0));
        size_t n = strlen(piece);
        for (json_int_t k = 0; k < json_integer_value(json_array_get(p, 1)); k++, at += n)
            memcpy(at, piece, n);
    }
    *at = '\0';
    return s;
}

static void test_cases(void **state)
{
    (void)state;
    json_t *t = load_table();
    json_t *cases = json_object_get(t, "cases"), *c;
    size_t i;
    assert_true(json_array_size(cases) >= 40);
    json_array_foreach(cases, i, c)
    {
        char *text = case_text(json_object_get(c, "parts"));
        struct sms_measure m;
        assert_int_equal(sms_measure(text, strlen(text), &m), 0);
        const char *enc = json_string_value(json_object_get(c, "encoding"));
        if (strcmp(sms_encoding_name(m.encoding), enc) != 0 ||
            (json_int_t)m.units != json_integer_value(json_object_get(c, "units")) ||
            m.segments != json_integer_value(json_object_get(c, "segments")) ||
            (json_int_t)m.first_non_gsm != json_integer_value(json_object_get(c, "first_non_gsm")))
            fail_msg("case %zu: sms_measure says %s, %zu units, %d segments, first U+%04X; the "
                     "table says %s, %lld, %lld, U+%04llX",
                     i, sms_encoding_name(m.encoding), m.units, m.segments, m.first_non_gsm, enc,
                     (long long)json_integer_value(json_object_get(c, "units")),
                     (long long)json_integer_value(json_object_get(c, "segments")),
                     (long long)json_integer_value(json_object_get(c, "first_non_gsm")));
        free(text);
    }
    json_decref(t);
}

/* The code points of a UTF-8 string into cps (at most cap); their number. */
static size_t decode(const char *s, utf8proc_int32_t *cps, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0, n = strlen(s); i < n && k < cap;) {
        utf8proc_ssize_t step =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cps[k++]);
        assert_true(step > 0);
        i += (size_t)step;
    }
    return k;
}

static bool in(const utf8proc_int32_t *cps, size_t n, utf8proc_int32_t cp)
{
    for (size_t i = 0; i < n; i++)
        if (cps[i] == cp)
            return true;
    return false;
}

static void test_alphabet(void **state)
{
    (void)state;
    json_t *t = load_table();
    utf8proc_int32_t basic[200], ext[20];
    size_t nb = decode(json_string_value(json_object_get(t, "gsm7_basic")), basic, 200);
    size_t ne = decode(json_string_value(json_object_get(t, "gsm7_extension")), ext, 20);
    assert_int_equal(nb, 127);
    assert_int_equal(ne, 10);
    for (utf8proc_int32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        utf8proc_uint8_t buf[4];
        utf8proc_ssize_t len = utf8proc_encode_char(cp, buf);
        struct sms_measure m;
        assert_int_equal(sms_measure((const char *)buf, (size_t)len, &m), 0);
        bool in_basic = in(basic, nb, cp), in_ext = in(ext, ne, cp);
        if (in_basic || in_ext) {
            if (m.encoding != SMS_GSM7 || m.units != (in_ext ? 2u : 1u))
                fail_msg("U+%04X: the table says GSM-7 %d septets", (unsigned)cp, in_ext ? 2 : 1);
        } else if (m.encoding != SMS_UCS2 || m.units != (cp > 0xFFFF ? 2u : 1u) ||
                   m.first_non_gsm != (unsigned)cp) {
            fail_msg("U+%04X: the table says UCS-2", (unsigned)cp);
        }
    }
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_alphabet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
