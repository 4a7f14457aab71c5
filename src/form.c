/*
 * form: strict application/x-www-form-urlencoded decoding and urlencode-style encoding
 * (see form.h for why strict).
 *
 * A parsed form is one allocation: the struct, the parameter array and an arena holding
 * every decoded string. Decoding never grows a field (each %XX shrinks to one byte), so
 * the arena needs at most the body's length plus two terminators per field, and the
 * whole form is freed with one free().
 */
#include "hotline/form.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            unsigned char cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

/*
 * Decodes n bytes of src into dst (which has room for n bytes plus a NUL). Returns NULL
 * and the decoded length in *out_len, or a static reason.
 */
static const char *decode_field(const char *src, size_t n, char *dst, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (n - i < 3)
                return "malformed percent-escape";
            int hi = hex_value((unsigned char)src[i + 1]);
            int lo = hex_value((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return "malformed percent-escape";
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0')
            return "embedded NUL";
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    if (!utf8_valid((const unsigned char *)dst, o))
        return "invalid UTF-8";
    *out_len = o;
    return NULL;
}

struct form *form_parse(const char *body, size_t len, const struct form_limits *limits,
                        const char **err)
{
    const char *why = NULL;
    size_t fields = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > i)
            fields++;
        i = end + 1;
    }
    if (fields > limits->max_params) {
        why = "too many parameters";
        goto fail;
    }

    /* Fits: fields and len are both bounded by the request size the caller accepted. */
    size_t head = sizeof(struct form) + fields * sizeof(struct form_param);
    struct form *form = malloc(head + len + 2 * fields + 1);
    if (!form) {
        why = "out of memory";
        goto fail;
    }
    struct form_param *params = (struct form_param *)(form + 1);
    char *arena = (char *)form + head;
    form->count = 0;
    form->params = params;

    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > i) {
            const char *field = body + i;
            size_t flen = end - i;
            const char *eq = memchr(field, '=', flen);
            size_t nlen_enc = eq ? (size_t)(eq - field) : flen;
            const char *venc = eq ? eq + 1 : field + flen;
            size_t vlen_enc = eq ? flen - nlen_enc - 1 : 0;
            struct form_param *p = &params[form->count];
            size_t nlen, vlen;

            if ((why = decode_field(field, nlen_enc, arena, &nlen)) != NULL)
                goto fail_free;
            if (nlen == 0) {
                why = "empty parameter name";
                goto fail_free;
            }
            if (nlen > limits->max_name_len) {
                why = "parameter name too long";
                goto fail_free;
            }
            p->name = arena;
            p->name_len = nlen;
            arena += nlen + 1;
            if ((why = decode_field(venc, vlen_enc, arena, &vlen)) != NULL)
                goto fail_free;
            if (vlen > limits->max_value_len) {
                why = "parameter value too long";
                goto fail_free;
            }
            p->value = arena;
            p->value_len = vlen;
            arena += vlen + 1;
            form->count++;
        }
        i = end + 1;
    }
    return form;

fail_free:
    free(form);
fail:
    if (err)
        *err = why;
    return NULL;
}

void form_free(struct form *form)
{
    free(form);
}

const char *form_get(const struct form *form, const char *name)
{
    for (size_t i = 0; i < form->count; i++)
        if (strcmp(form->params[i].name, name) == 0)
            return form->params[i].value;
    return NULL;
}

size_t form_count(const struct form *form, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < form->count; i++)
        if (strcmp(form->params[i].name, name) == 0)
            n++;
    return n;
}

/* Python's quote_plus(safe=""): unreserved bytes stay, space is '+', the rest %XX. */
static size_t encode_component(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            if (out)
                out[o] = (char)c;
            o++;
        } else if (c == ' ') {
            if (out)
                out[o] = '+';
            o++;
        } else {
            if (out) {
                out[o] = '%';
                out[o + 1] = hex[c >> 4];
                out[o + 2] = hex[c & 15];
            }
            o += 3;
        }
    }
    return o;
}

char *form_encode(const struct form_pair *pairs, size_t n)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        if (pairs[i].value)
            total +=
                encode_component(pairs[i].name, NULL) + encode_component(pairs[i].value, NULL) + 2;
    char *out = malloc(total);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pairs[i].value)
            continue;
        if (o > 0)
            out[o++] = '&';
        o += encode_component(pairs[i].name, out + o);
        out[o++] = '=';
        o += encode_component(pairs[i].value, out + o);
    }
    out[o] = '\0';
    return out;
}
