/*
 * sms: GSM-7 / UCS-2 choice and segment counting (../shared/gateways.md section 8).
 *
 * A first pass decodes UTF-8 (utf8proc, which rejects overlongs, surrogates and
 * truncated sequences), picks the encoding and sums the units; a second pass packs the
 * characters into parts. No allocation, so -1 means invalid UTF-8 and nothing else.
 * Packing character by character, rather than dividing the total by 153 or 67, is what
 * keeps an escape pair (GSM-7 extension character) or a surrogate pair (UCS-2 emoji) in
 * one part, as carriers and Twilio do: 152 'a' + '€' + 152 'a' is 306 septets but three
 * parts, not two.
 *
 * The basic table is the 127 characters of GSM 03.38 (plus ESC, which is not a
 * character): in particular lowercase ç, backtick and tab are NOT in it, so any of them
 * makes the whole text UCS-2. U+0000 is not GSM-7 either; it is the one case where
 * first_non_gsm is 0 for a UCS-2 text, so callers test encoding, not first_non_gsm.
 */
#include "hotline/sms.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#define GSM7_SINGLE 160
#define GSM7_PART 153
#define UCS2_SINGLE 70
#define UCS2_PART 67

/* The non-ASCII characters of the GSM-7 basic table. */
static const uint32_t gsm7_basic_non_ascii[] = {
    /* £ ¥ è é ù ì ò Ç Ø ø Å å */
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8, 0x00C5, 0x00E5,
    /* Δ Φ Γ Λ Ω Π Ψ Σ Θ Ξ */
    0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E,
    /* Æ æ ß É ¤ ¡ Ä Ö Ñ Ü § ¿ ä ö ñ ü à */
    0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7, 0x00BF,
    0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0};

/* Septets a code point costs in GSM-7: 1 (basic), 2 (extension), 0 (not GSM-7). */
static int gsm7_cost(uint32_t cp)
{
    switch (cp) {
    case '\n':
    case '\r':
        return 1;
    case '\f':
    case '^':
    case '{':
    case '}':
    case '\\':
    case '[':
    case ']':
    case '~':
    case '|':
    case 0x20AC: /* € */
        return 2;
    case '`':
        return 0;
    default:
        break;
    }
    if (cp >= 0x20 && cp <= 0x7E)
        return 1;
    for (size_t i = 0; i < sizeof gsm7_basic_non_ascii / sizeof gsm7_basic_non_ascii[0]; i++)
        if (gsm7_basic_non_ascii[i] == cp)
            return 1;
    return 0;
}

/*
 * Decodes the character at utf8[*off] and advances *off. Returns the code point, or -1
 * for an invalid or truncated sequence.
 */
static int32_t next_cp(const char *utf8, size_t len, size_t *off)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t step = utf8proc_iterate((const utf8proc_uint8_t *)utf8 + *off,
                                             (utf8proc_ssize_t)(len - *off), &cp);
    if (step <= 0 || cp < 0)
        return -1;
    *off += (size_t)step;
    return cp;
}

static size_t unit_cost(uint32_t cp, enum sms_encoding encoding)
{
    if (encoding == SMS_GSM7)
        return (size_t)gsm7_cost(cp);
    return cp > 0xFFFF ? 2 : 1;
}

/*
 * Parts needed for an already validated text of total units: a character never
 * straddles two parts, so packing walks the characters.
 */
static int pack(const char *utf8, size_t len, enum sms_encoding encoding, size_t total)
{
    size_t single = encoding == SMS_GSM7 ? GSM7_SINGLE : UCS2_SINGLE;
    size_t part = encoding == SMS_GSM7 ? GSM7_PART : UCS2_PART;
    if (total == 0)
        return 0;
    if (total <= single)
        return 1;
    int parts = 1;
    size_t used = 0, off = 0;
    while (off < len) {
        size_t cost = unit_cost((uint32_t)next_cp(utf8, len, &off), encoding);
        if (used + cost > part) {
            parts++;
            used = 0;
        }
        used += cost;
    }
    return parts;
}

int sms_measure(const char *utf8, size_t len, struct sms_measure *out)
{
    if (!utf8 && len > 0)
        return -1;
    size_t off = 0, septets = 0, units = 0;
    int all_gsm = 1;
    unsigned int first_non_gsm = 0;
    while (off < len) {
        int32_t cp = next_cp(utf8, len, &off);
        if (cp < 0)
            return -1;
        int g = gsm7_cost((uint32_t)cp);
        if (g == 0 && all_gsm) {
            all_gsm = 0;
            first_non_gsm = (unsigned int)cp;
        }
        septets += (size_t)g;
        units += unit_cost((uint32_t)cp, SMS_UCS2);
    }
    out->encoding = all_gsm ? SMS_GSM7 : SMS_UCS2;
    out->units = all_gsm ? septets : units;
    out->first_non_gsm = first_non_gsm;
    out->segments = pack(utf8, len, out->encoding, out->units);
    return 0;
}

const char *sms_encoding_name(enum sms_encoding encoding)
{
    return encoding == SMS_UCS2 ? "UCS-2" : "GSM-7";
}

void sms_describe(const char *text, char *out, size_t cap)
{
    struct sms_measure sm;
    if (sms_measure(text, strlen(text), &sm) < 0) {
        snprintf(out, cap, "invalid UTF-8");
        return;
    }
    snprintf(out, cap, "%s, %zu %s, %d segment%s", sms_encoding_name(sm.encoding), sm.units,
             sm.encoding == SMS_GSM7 ? "septets" : "UTF-16 units", sm.segments,
             sm.segments == 1 ? "" : "s");
}
