/*
 * form: application/x-www-form-urlencoded, both ways.
 *
 * Gateways post their webhooks as forms and take their REST requests as forms, and the
 * webhook signature covers the decoded parameters, so decoding must be exact and
 * strict: a malformed %-escape, an embedded NUL or invalid UTF-8 is an error rather
 * than something to repair (a repaired value would not match what was signed, and NUL
 * would truncate C strings downstream). Every size is bounded by the caller, because
 * the input comes straight off the network.
 *
 * The encoder writes what Twilio's Python helper library (urllib's urlencode) writes:
 * letters, digits and "-._~" as they are, space as '+', every other byte as %XX.
 */
#ifndef HOTLINE_FORM_H
#define HOTLINE_FORM_H

#include <stddef.h>

/* One decoded parameter. Both strings are NUL-terminated valid UTF-8 without NULs. */
struct form_param {
    const char *name;
    const char *value;
    size_t name_len;
    size_t value_len;
};

/* A decoded form: params in the order they appeared (repeated names kept). Read-only. */
struct form {
    size_t count;
    const struct form_param *params;
};

struct form_limits {
    size_t max_params;    /* non-empty '&'-separated fields */
    size_t max_name_len;  /* decoded bytes */
    size_t max_value_len; /* decoded bytes */
};

/*
 * Decodes len bytes of body ('+' is a space, %XX a byte; empty fields such as "a=1&&b=2"
 * are skipped; a field without '=' is a name with an empty value).
 * Returns a new form that the caller frees with form_free (it owns all its strings), or
 * NULL with *err set to a static one-line reason: too many parameters, a name or value
 * over its limit, an empty name, a malformed %-escape, an encoded NUL, invalid UTF-8,
 * or out of memory. body need not be NUL-terminated; err may be NULL.
 */
struct form *form_parse(const char *body, size_t len, const struct form_limits *limits,
                        const char **err);

/* Frees a form from form_parse; form_free(NULL) is a no-op. */
void form_free(struct form *form);

/* The value of the first parameter called name, or NULL. Borrowed: lives as long as form. */
const char *form_get(const struct form *form, const char *name);

/* How many parameters are called name. */
size_t form_count(const struct form *form, const char *name);

/* A name/value pair for form_encode; a NULL value leaves the pair out. */
struct form_pair {
    const char *name;
    const char *value;
};

/*
 * Encodes n pairs as "name=value&name=value" in the given order, skipping pairs whose
 * value is NULL. Returns a NUL-terminated string the caller frees, or NULL when out of
 * memory.
 */
char *form_encode(const struct form_pair *pairs, size_t n);

#endif
