/*
 * sms: how a text travels as SMS. Decides GSM-7 or UCS-2 and counts segments the way
 * carriers and Twilio do (../shared/gateways.md section 8), so that replies/ can be
 * checked to fit in three segments before a texter ever pays for a fourth.
 */
#ifndef HOTLINE_SMS_H
#define HOTLINE_SMS_H

#include <stddef.h>

enum sms_encoding { SMS_GSM7, SMS_UCS2 };

struct sms_measure {
    enum sms_encoding encoding;
    size_t units; /* septets for GSM-7 (extension characters count 2), UTF-16 units for UCS-2 */
    int segments; /* 0 for the empty text */
    /* First character that forced UCS-2 (a code point), or 0 when the text is GSM-7. */
    unsigned int first_non_gsm;
};

/*
 * Measures a UTF-8 text of len bytes. Returns 0, or -1 when the text is not valid
 * UTF-8 (out is then untouched). Single part: 160 septets / 70 units; concatenated:
 * 153 / 67 per part; an escape pair or a surrogate pair is never split across parts.
 */
int sms_measure(const char *utf8, size_t len, struct sms_measure *out);

/* "GSM-7" or "UCS-2". */
const char *sms_encoding_name(enum sms_encoding encoding);

/* The size of a NUL-terminated text as staff read it, into out (cap bytes): "GSM-7, 241
 * septets, 2 segments", or "invalid UTF-8". Used by check-replies and `hotline chat`. */
void sms_describe(const char *text, char *out, size_t cap);

#endif
