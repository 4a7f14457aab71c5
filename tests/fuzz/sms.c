/*
 * fuzz sms: the segment counter (sms_measure) on arbitrary bytes. It decides whether a
 * reply fits in three segments (replies/ are checked with it) and, through form.c's
 * twin, what counts as UTF-8 at all.
 *
 * Properties: sms_measure accepts exactly the strict UTF-8 of RFC 3629 (checked against
 * a small independent decoder here); units are at least the number of characters (GSM-7
 * extension characters and astral UCS-2 characters count 2, nothing more); and the
 * segment count is 0 for an empty text, 1 when it fits one part, else between
 * ceil(units / part) and ceil(units / (part - 1)) (a 2-unit character is never split,
 * so each part wastes at most one unit).
 */
#include "fuzz.h"

#include <stdbool.h>

#include "hotline/sms.h"

/* Counts the characters of strict UTF-8, or returns -1. Written apart from form.c and
 * utf8proc on purpose. */
static long strict_chars(const uint8_t *s, size_t n)
{
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        uint8_t c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, cp = c & 0x07;
        } else {
            return -1;
        }
        if (i + need >= n)
            return -1;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return -1;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        i += need + 1;
    }
    return chars;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sms_measure m;
    memset(&m, 0xA5, sizeof m);
    int rc = sms_measure((const char *)data, size, &m);
    long chars = strict_chars(data, size);
    FUZZ_CHECK((rc == 0) == (chars >= 0));
    if (rc != 0)
        return 0;

    bool gsm = m.encoding == SMS_GSM7;
    FUZZ_CHECK(gsm || m.encoding == SMS_UCS2);
    FUZZ_CHECK(m.units >= (size_t)chars && m.units <= 2 * (size_t)chars);
    if (gsm)
        FUZZ_CHECK(m.first_non_gsm == 0);
    size_t single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    if (m.units == 0)
        FUZZ_CHECK(m.segments == 0);
    else if (m.units <= single)
        FUZZ_CHECK(m.segments == 1);
    else
        FUZZ_CHECK((size_t)m.segments >= (m.units + part - 1) / part &&
                   (size_t)m.segments <= (m.units + part - 2) / (part - 1));
    return 0;
}
