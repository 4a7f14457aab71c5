/*
 * test_sms: the encoding and segment facts of ../shared/gateways.md section 8, checked
 * against sms_measure. Texts are built by repeating a character so that the counts in
 * the test names are the counts in the text.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotline/sms.h"

/* A text of n copies of piece, then tail (may be ""). Caller frees. */
static char *rep(const char *piece, size_t n, const char *tail)
{
    size_t plen = strlen(piece), tlen = strlen(tail);
    char *s = malloc(plen * n + tlen + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * plen, piece, plen);
    memcpy(s + plen * n, tail, tlen + 1);
    return s;
}

/* Concatenation of three texts. Caller frees. */
static char *cat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    assert_non_null(s);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static struct sms_measure measure(const char *text)
{
    struct sms_measure m;
    memset(&m, 0xAB, sizeof m);
    assert_int_equal(sms_measure(text, strlen(text), &m), 0);
    return m;
}

static void check(const char *text, enum sms_encoding enc, size_t units, int segments)
{
    struct sms_measure m = measure(text);
    assert_int_equal(m.encoding, enc);
    assert_int_equal(m.units, units);
    assert_int_equal(m.segments, segments);
    if (enc == SMS_GSM7)
        assert_int_equal(m.first_non_gsm, 0);
}

/* rep(piece, n, tail) measured and freed. */
static void check_rep(const char *piece, size_t n, const char *tail, enum sms_encoding enc,
                      size_t units, int segments)
{
    char *s = rep(piece, n, tail);
    check(s, enc, units, segments);
    free(s);
}

static void test_empty(void **state)
{
    (void)state;
    check("", SMS_GSM7, 0, 0);
    struct sms_measure m;
    assert_int_equal(sms_measure(NULL, 0, &m), 0);
    assert_int_equal(m.segments, 0);
    assert_int_equal(m.units, 0);
}

static void test_gsm7_sizes(void **state)
{
    (void)state;
    check_rep("a", 1, "", SMS_GSM7, 1, 1);
    check_rep("a", 160, "", SMS_GSM7, 160, 1);
    check_rep("a", 161, "", SMS_GSM7, 161, 2);
    check_rep("a", 306, "", SMS_GSM7, 306, 2);
    check_rep("a", 307, "", SMS_GSM7, 307, 3);
    check_rep("a", 459, "", SMS_GSM7, 459, 3);
    check_rep("a", 460, "", SMS_GSM7, 460, 4);
}

static void test_gsm7_extension(void **state)
{
    (void)state;
    /* 159 a + € = 161 septets: two parts. */
    check_rep("a", 159, "€", SMS_GSM7, 161, 2);
    /* 158 a + € = 160 septets: still one. */
    check_rep("a", 158, "€", SMS_GSM7, 160, 1);
    /* Every extension character costs 2 septets. */
    const char *ext[] = {"^", "{", "}", "\\", "[", "]", "~", "|", "€", "\f"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        check(ext[i], SMS_GSM7, 2, 1);
    check("{[x]}", SMS_GSM7, 9, 1);
}

static void test_escape_pair_not_split(void **state)
{
    (void)state;
    /* 152 a + € + 152 a = 306 septets; the € cannot take the 153rd septet of part one, so
     * part two starts with it and overflows: three parts, where 306 / 153 would say two. */
    char *a152 = rep("a", 152, "");
    char *s = cat3(a152, "€", a152);
    check(s, SMS_GSM7, 306, 3);
    free(s);
    /* 152 a + € + 151 a = 305 septets: part one 152, part two € + 151 = 153. */
    char *a151 = rep("a", 151, "");
    s = cat3(a152, "€", a151);
    check(s, SMS_GSM7, 305, 2);
    free(s);
    /* 151 a + € fills part one exactly (153); 153 a more fill part two. */
    char *a153 = rep("a", 153, "");
    s = cat3(a151, "€", a153);
    check(s, SMS_GSM7, 306, 2);
    free(s);
    free(a151);
    free(a152);
    free(a153);
}

static void test_ucs2_sizes(void **state)
{
    (void)state;
    /* A curly apostrophe forces UCS-2 and costs one unit. */
    struct sms_measure m;
    char *s = rep("a", 69, "’");
    m = measure(s);
    assert_int_equal(m.encoding, SMS_UCS2);
    assert_int_equal(m.units, 70);
    assert_int_equal(m.segments, 1);
    assert_int_equal(m.first_non_gsm, 0x2019);
    free(s);
    check_rep("a", 70, "’", SMS_UCS2, 71, 2);
    check_rep("a", 133, "’", SMS_UCS2, 134, 2);
    check_rep("a", 134, "’", SMS_UCS2, 135, 3);
    /* An emoji is a surrogate pair: 69 a + emoji = 71 units, two parts. */
    s = rep("a", 69, "😀");
    m = measure(s);
    assert_int_equal(m.encoding, SMS_UCS2);
    assert_int_equal(m.units, 71);
    assert_int_equal(m.segments, 2);
    assert_int_equal(m.first_non_gsm, 0x1F600);
    free(s);
    check_rep("a", 68, "😀", SMS_UCS2, 70, 1);
}

static void test_surrogate_pair_not_split(void **state)
{
    (void)state;
    /* 66 a + emoji + 66 a = 134 units: the emoji cannot take unit 67 of part one, so
     * part two is emoji + 66 a = 68 > 67: three parts, where 134 / 67 would say two. */
    char *a66 = rep("a", 66, "");
    char *s = cat3(a66, "😀", a66);
    check(s, SMS_UCS2, 134, 3);
    free(s);
    /* 66 a + emoji + 65 a = 133 units: parts of 66 and 67. */
    char *a65 = rep("a", 65, "");
    s = cat3(a66, "😀", a65);
    check(s, SMS_UCS2, 133, 2);
    free(s);
    /* 65 a + emoji fills part one exactly. */
    char *a67 = rep("a", 67, "");
    s = cat3(a65, "😀", a67);
    check(s, SMS_UCS2, 134, 2);
    free(s);
    free(a65);
    free(a66);
    free(a67);
}

static void test_one_non_gsm_char_makes_all_ucs2(void **state)
{
    (void)state;
    /* In UCS-2 the extension characters cost one unit like everything else. */
    struct sms_measure m = measure("{€} á");
    assert_int_equal(m.encoding, SMS_UCS2);
    assert_int_equal(m.units, 5);
    assert_int_equal(m.first_non_gsm, 0xE1);
    /* first_non_gsm is the first one, not the last. */
    m = measure("ok ó then 😀");
    assert_int_equal(m.first_non_gsm, 0xF3);
}

static void test_spanish(void **state)
{
    (void)state;
    /* In the basic table. */
    const char *gsm[] = {"é", "ñ", "ü", "ä", "ö", "à", "è", "ù", "ì",
                         "ò", "É", "Ñ", "Ü", "Ç", "¿", "¡", "Ä", "Ö"};
    for (size_t i = 0; i < sizeof gsm / sizeof gsm[0]; i++)
        check(gsm[i], SMS_GSM7, 1, 1);
    check("¿Qué es eso? ¡Señor! pingüino", SMS_GSM7, 29, 1);
    /* Not in it: each forces UCS-2 on its own. */
    const struct {
        const char *s;
        unsigned int cp;
    } ucs[] = {{"á", 0xE1},  {"í", 0xED},   {"ó", 0xF3},  {"ú", 0xFA}, {"Á", 0xC1},
               {"Í", 0xCD},  {"Ó", 0xD3},   {"Ú", 0xDA},  {"ç", 0xE7}, {"`", 0x60},
               {"\t", 0x09}, {"“", 0x201C}, {"–", 0x2013}};
    for (size_t i = 0; i < sizeof ucs / sizeof ucs[0]; i++) {
        struct sms_measure m = measure(ucs[i].s);
        assert_int_equal(m.encoding, SMS_UCS2);
        assert_int_equal(m.units, 1);
        assert_int_equal(m.first_non_gsm, ucs[i].cp);
    }
    struct sms_measure m = measure("¿Está bien?");
    assert_int_equal(m.encoding, SMS_UCS2);
    assert_int_equal(m.first_non_gsm, 0xE1);
}

/* UTF-8 for one code point (valid scalar values only). */
static size_t encode(unsigned cp, char *buf)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The whole table of gateways.md, and nothing else: 127 basic + 10 extension. */
static void test_table_is_exact(void **state)
{
    (void)state;
    const char *basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    struct sms_measure m = measure(basic);
    assert_int_equal(m.encoding, SMS_GSM7);
    assert_int_equal(m.units, 127);
    size_t n_basic = 0, n_ext = 0;
    for (unsigned cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char buf[4];
        size_t len = encode(cp, buf);
        assert_int_equal(sms_measure(buf, len, &m), 0);
        if (m.encoding == SMS_GSM7) {
            if (m.units == 1)
                n_basic++;
            else if (m.units == 2)
                n_ext++;
            else
                fail_msg("U+%04X: %zu septets", cp, m.units);
        } else {
            assert_int_equal(m.first_non_gsm, cp);
            assert_int_equal(m.units, cp > 0xFFFF ? 2 : 1);
        }
    }
    assert_int_equal(n_basic, 127);
    assert_int_equal(n_ext, 10);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char *bad[] = {
        "\xff",             /* never valid */
        "abc\xc3",          /* truncated two-byte sequence */
        "\xc3\x28",         /* bad continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* UTF-16 surrogate D800 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\x80",             /* lone continuation */
        "ok \xe2\x82",      /* truncated € */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sms_measure m;
        memset(&m, 0x5A, sizeof m);
        struct sms_measure before = m;
        assert_int_equal(sms_measure(bad[i], strlen(bad[i]), &m), -1);
        /* out is untouched on failure. */
        assert_memory_equal(&m, &before, sizeof m);
    }
    /* len bounds the text: a NUL-free prefix of a longer buffer. */
    struct sms_measure m;
    assert_int_equal(sms_measure("ab\xff", 2, &m), 0);
    assert_int_equal(m.units, 2);
    /* Cutting € in the middle is invalid. */
    assert_int_equal(sms_measure("€", 2, &m), -1);
}

static void test_encoding_name(void **state)
{
    (void)state;
    assert_string_equal(sms_encoding_name(SMS_GSM7), "GSM-7");
    assert_string_equal(sms_encoding_name(SMS_UCS2), "UCS-2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_gsm7_sizes),
        cmocka_unit_test(test_gsm7_extension),
        cmocka_unit_test(test_escape_pair_not_split),
        cmocka_unit_test(test_ucs2_sizes),
        cmocka_unit_test(test_surrogate_pair_not_split),
        cmocka_unit_test(test_one_non_gsm_char_makes_all_ucs2),
        cmocka_unit_test(test_spanish),
        cmocka_unit_test(test_table_is_exact),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_encoding_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
