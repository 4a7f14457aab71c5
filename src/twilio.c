/*
 * twilio: Twilio's webhook signatures, webhook forms, Messages API request and error
 * codes, as pure functions (see twilio.h; facts from ../shared/gateways.md).
 *
 * The signature check is the security boundary of the service, so it follows Twilio's
 * helper libraries literally: the signed string is the configured URL followed by the
 * decoded params sorted by name then value (distinct pairs only), and because Twilio's
 * back end is inconsistent about default ports and query encoding, a small fixed set of
 * URL variants is tried, each compared in constant time. Error classification is a
 * table keyed on the few codes gateways.md says are safe to branch on, with a default
 * for everything else, because Twilio warns that codes and messages change.
 */
#include "hotline/twilio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* ---- small helpers ---- */

static bool is_hex(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* "XX" + 32 hex digits, with XX one of the two-letter prefixes in the list. */
static bool sid_valid(const char *s, const char *prefix_a, const char *prefix_b)
{
    if (!s || strlen(s) != TWILIO_SID_LEN)
        return false;
    if (strncmp(s, prefix_a, 2) != 0 && (!prefix_b || strncmp(s, prefix_b, 2) != 0))
        return false;
    for (size_t i = 2; i < TWILIO_SID_LEN; i++)
        if (!is_hex((unsigned char)s[i]))
            return false;
    return true;
}

/* Parses an optional count: absent or "" -> 0; else 1..max_digits decimal digits. */
static int parse_count(const char *s, size_t max_digits, unsigned *out)
{
    *out = 0;
    if (!s || !*s)
        return 0;
    size_t n = strlen(s);
    if (n > max_digits)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static bool printable_ascii(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || s[n] < 0x21 || s[n] > 0x7E)
            return false;
    return n > 0;
}

/* ---- signature ---- */

struct pair_ref {
    const char *name;
    const char *value;
};

static int pair_cmp(const void *a, const void *b)
{
    const struct pair_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/*
 * The params part of the signed string: name+value for each distinct pair, sorted.
 * Returns a malloc'd string ("" for no params) or NULL when out of memory.
 */
static char *params_suffix(const struct form *params, size_t *out_len)
{
    size_t n = params ? params->count : 0;
    struct pair_ref *refs = NULL;
    size_t total = 1;
    if (n > 0) {
        refs = malloc(n * sizeof *refs);
        if (!refs)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            refs[i].name = params->params[i].name;
            refs[i].value = params->params[i].value;
            total += params->params[i].name_len + params->params[i].value_len;
        }
        qsort(refs, n, sizeof *refs, pair_cmp);
    }
    char *out = malloc(total);
    if (!out) {
        free(refs);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && pair_cmp(&refs[i - 1], &refs[i]) == 0)
            continue;
        size_t nl = strlen(refs[i].name), vl = strlen(refs[i].value);
        memcpy(out + o, refs[i].name, nl);
        o += nl;
        memcpy(out + o, refs[i].value, vl);
        o += vl;
    }
    out[o] = '\0';
    free(refs);
    *out_len = o;
    return out;
}

/* base64(HMAC-SHA1(token, url[0..url_len) + suffix)) into out. Returns 0 or -1. */
static int sign(const char *token, const char *url, size_t url_len, const char *suffix,
                size_t suffix_len, char out[TWILIO_SIGNATURE_LEN + 1])
{
    unsigned char *msg = malloc(url_len + suffix_len + 1);
    if (!msg)
        return -1;
    memcpy(msg, url, url_len);
    memcpy(msg + url_len, suffix, suffix_len);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    unsigned char *ok =
        HMAC(EVP_sha1(), token, (int)strlen(token), msg, url_len + suffix_len, mac, &mac_len);
    free(msg);
    if (!ok || mac_len != 20)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, mac, 20);
    out[TWILIO_SIGNATURE_LEN] = '\0';
    return 0;
}

int twilio_signature(const char *auth_token, const char *url, const struct form *params,
                     char out[TWILIO_SIGNATURE_LEN + 1])
{
    size_t suffix_len = 0;
    char *suffix = params_suffix(params, &suffix_len);
    if (!suffix)
        return -1;
    int rc = sign(auth_token, url, strlen(url), suffix, suffix_len, out);
    free(suffix);
    return rc;
}

/* Where the pieces of a URL are, as offsets into it. */
struct url_layout {
    size_t len;        /* up to the fragment: the part Twilio signs */
    size_t host_end;   /* end of the host (after ']' for IPv6), start of ":port" if any */
    size_t auth_end;   /* end of the authority */
    size_t query;      /* offset of '?', or len when there is none */
    bool has_port;     /* ":digits" after the host */
    bool default_port; /* ... and it is the scheme's default */
    const char *default_port_str;
};

static void url_layout(const char *url, struct url_layout *u)
{
    memset(u, 0, sizeof *u);
    const char *hash = strchr(url, '#');
    u->len = hash ? (size_t)(hash - url) : strlen(url);
    const char *q = memchr(url, '?', u->len);
    u->query = q ? (size_t)(q - url) : u->len;
    u->host_end = u->auth_end = u->len;

    const char *sep = strstr(url, "://");
    if (!sep || (size_t)(sep - url) >= u->query)
        return;
    size_t scheme_len = (size_t)(sep - url);
    if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
        u->default_port_str = "443";
    else if (scheme_len == 4 && strncasecmp(url, "http", 4) == 0)
        u->default_port_str = "80";
    else
        return;

    size_t a = scheme_len + 3, e = a;
    while (e < u->len && url[e] != '/' && url[e] != '?')
        e++;
    u->auth_end = e;
    size_t h = a;
    for (size_t i = a; i < e; i++)
        if (url[i] == '@')
            h = i + 1;
    size_t he = e;
    if (h < e && url[h] == '[') {
        const char *rb = memchr(url + h, ']', e - h);
        if (rb)
            he = (size_t)(rb - url) + 1;
    } else {
        const char *colon = memchr(url + h, ':', e - h);
        if (colon)
            he = (size_t)(colon - url);
    }
    u->host_end = he;
    if (he < e && url[he] == ':') {
        size_t digits = e - he - 1;
        bool all_digits = digits > 0;
        for (size_t i = he + 1; i < e; i++)
            if (url[i] < '0' || url[i] > '9')
                all_digits = false;
        if (all_digits) {
            u->has_port = true;
            u->default_port = digits == strlen(u->default_port_str) &&
                              strncmp(url + he + 1, u->default_port_str, digits) == 0;
        }
    }
}

/* Bytes a WHATWG URL parser percent-encodes in the query of an http(s) URL. */
static bool query_needs_encoding(unsigned char c)
{
    return c <= 0x20 || c >= 0x7F || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
}

/* A copy of url[0..len) with its query re-encoded; NULL if nothing changes or no memory. */
static char *reencode_query(const char *url, size_t len, size_t query)
{
    size_t extra = 0;
    for (size_t i = query; i < len; i++)
        if (query_needs_encoding((unsigned char)url[i]))
            extra += 2;
    if (extra == 0)
        return NULL;
    char *out = malloc(len + extra + 1);
    if (!out)
        return NULL;
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (i >= query && query_needs_encoding(c)) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

/*
 * Writes into variants[] the URLs to try (each malloc'd, NUL-terminated, distinct):
 * without the default port, with it, and the query-re-encoded form of each. Returns how
 * many, or -1 when out of memory (variants[] is then all freed).
 */
#define MAX_VARIANTS 4
static int url_variants(const char *url, char *variants[MAX_VARIANTS])
{
    struct url_layout u;
    url_layout(url, &u);
    int n = 0;
    char *without = malloc(u.len + 1), *with = NULL;
    if (!without)
        goto oom;
    if (u.has_port && u.default_port) {
        size_t cut = u.auth_end - u.host_end;
        memcpy(without, url, u.host_end);
        memcpy(without + u.host_end, url + u.auth_end, u.len - u.auth_end);
        without[u.len - cut] = '\0';
        with = strndup(url, u.len);
    } else {
        memcpy(without, url, u.len);
        without[u.len] = '\0';
        if (!u.has_port && u.default_port_str) {
            size_t pl = strlen(u.default_port_str);
            with = malloc(u.len + pl + 2);
            if (with) {
                memcpy(with, url, u.host_end);
                with[u.host_end] = ':';
                memcpy(with + u.host_end + 1, u.default_port_str, pl);
                memcpy(with + u.host_end + 1 + pl, url + u.host_end, u.len - u.host_end);
                with[u.len + pl + 1] = '\0';
            }
        } else {
            with = strdup(without); /* a non-default port is kept: one URL */
        }
    }
    if (!with)
        goto oom;
    variants[n++] = without;
    if (strcmp(with, without) != 0)
        variants[n++] = with;
    else
        free(with);
    with = NULL;
    int base = n;
    for (int i = 0; i < base; i++) {
        /* Adding or removing the port moved the query: find it anew. */
        const char *q = strchr(variants[i], '?');
        if (!q)
            continue;
        char *re = reencode_query(variants[i], strlen(variants[i]), (size_t)(q - variants[i]));
        if (re)
            variants[n++] = re;
    }
    return n;
oom:
    free(without);
    free(with);
    for (int i = 0; i < n; i++)
        free(variants[i]);
    return -1;
}

static bool signature_valid_with_suffix(const char *auth_token, const char *url, const char *suffix,
                                        size_t suffix_len, const char *signature)
{
    if (!auth_token || !url || !signature || strlen(signature) != TWILIO_SIGNATURE_LEN)
        return false;
    char *variants[MAX_VARIANTS];
    int n = url_variants(url, variants);
    if (n < 0)
        return false;
    bool valid = false;
    for (int i = 0; i < n; i++) {
        char expect[TWILIO_SIGNATURE_LEN + 1];
        if (sign(auth_token, variants[i], strlen(variants[i]), suffix, suffix_len, expect) == 0 &&
            CRYPTO_memcmp(expect, signature, TWILIO_SIGNATURE_LEN) == 0)
            valid = true;
        free(variants[i]);
    }
    return valid;
}

bool twilio_signature_valid(const char *auth_token, const char *url, const struct form *params,
                            const char *signature)
{
    size_t suffix_len = 0;
    char *suffix = params_suffix(params, &suffix_len);
    if (!suffix)
        return false;
    bool valid = signature_valid_with_suffix(auth_token, url, suffix, suffix_len, signature);
    free(suffix);
    return valid;
}

bool twilio_signature_valid_json(const char *auth_token, const char *url, const char *body,
                                 size_t len, const char *signature)
{
    if (!url || (!body && len > 0))
        return false;
    /* Find bodySHA256=<64 hex> among the query's fields (before any fragment). */
    const char *q = strchr(url, '?');
    const char *end = strchr(url, '#');
    if (!end)
        end = url + strlen(url);
    if (!q || q > end)
        return false;
    const char *claimed = NULL;
    for (const char *f = q + 1; f < end;) {
        const char *amp = memchr(f, '&', (size_t)(end - f));
        const char *fe = amp ? amp : end;
        if ((size_t)(fe - f) == 11 + 64 && strncmp(f, "bodySHA256=", 11) == 0) {
            claimed = f + 11;
            break;
        }
        f = fe + 1;
    }
    if (!claimed)
        return false;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)(body ? body : ""), len, digest);
    char hex[2 * SHA256_DIGEST_LENGTH];
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    bool hash_ok = CRYPTO_memcmp(hex, claimed, sizeof hex) == 0;
    bool sig_ok = signature_valid_with_suffix(auth_token, url, "", 0, signature);
    return hash_ok && sig_ok;
}

/* ---- inbound message ---- */

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * The first of a webhook's single-valued fields that the form repeats, as the static
 * reason "duplicate From" and the like, or NULL. Twilio sends each of them once (its
 * lists are numbered, MediaUrl0..N; repeated names belong to other products), so a
 * repeat is not Twilio's, and which copy would count is ambiguous: a 400, never a guess.
 */
static const char *duplicate_field(const struct form *form, const char *const *reasons)
{
    /* Each reason is "duplicate <name>". */
    for (; *reasons; reasons++)
        if (form_count(form, *reasons + strlen("duplicate ")) > 1)
            return *reasons;
    return NULL;
}

/* MessageSid (required, SM/MM) and AccountSid (optional, AC) of a webhook; pointers into
 * the form. Returns NULL, or the reason for a 400. */
static const char *parse_sids(const struct form *form, const char **message, const char **account)
{
    *message = form_get(form, "MessageSid");
    if (!*message || !**message)
        return "missing MessageSid";
    if (!sid_valid(*message, "SM", "MM"))
        return "malformed MessageSid";
    *account = form_get(form, "AccountSid");
    if (*account && !sid_valid(*account, "AC", NULL))
        return "malformed AccountSid";
    return NULL;
}

int twilio_parse_inbound(const struct form *form, struct gateway_inbound *out, const char **reason)
{
    static const char *const single[] = {
        "duplicate MessageSid",  "duplicate AccountSid", "duplicate From",
        "duplicate To",          "duplicate Body",       "duplicate NumMedia",
        "duplicate NumSegments", "duplicate OptOutType", NULL};
    const char *why = NULL;
    memset(out, 0, sizeof *out);

    if ((why = duplicate_field(form, single)) ||
        (why = parse_sids(form, &out->gateway_id, &out->account)))
        goto fail;
    out->from = form_get(form, "From");
    if (!out->from || !*out->from) {
        why = "missing From";
        goto fail;
    }
    if (!printable_ascii(out->from, TWILIO_ADDRESS_MAX)) {
        why = "malformed From";
        goto fail;
    }
    out->to = form_get(form, "To");
    if (!out->to || !*out->to) {
        why = "missing To";
        goto fail;
    }
    if (!printable_ascii(out->to, TWILIO_ADDRESS_MAX)) {
        why = "malformed To";
        goto fail;
    }
    out->body = form_get(form, "Body");
    if (!out->body)
        out->body = "";
    out->body_len = strlen(out->body);
    if (utf8_chars(out->body) > TWILIO_BODY_ACCEPT_MAX) {
        why = "Body too long";
        goto fail;
    }
    if (parse_count(form_get(form, "NumMedia"), 4, &out->num_media) != 0) {
        why = "malformed NumMedia";
        goto fail;
    }
    if (parse_count(form_get(form, "NumSegments"), 4, &out->num_segments) != 0) {
        why = "malformed NumSegments";
        goto fail;
    }
    const char *opt = form_get(form, "OptOutType");
    out->opt_out_type = opt && printable_ascii(opt, 16) ? opt : NULL;
    return 0;

fail:
    memset(out, 0, sizeof *out);
    if (reason)
        *reason = why;
    return -1;
}

/* ---- status ---- */

static const struct {
    const char *name;
    int rank; /* forward order; terminal states share a rank */
} status_table[] = {
    [TWILIO_STATUS_UNKNOWN] = {"unknown", -1},
    [TWILIO_STATUS_ACCEPTED] = {"accepted", 1},
    [TWILIO_STATUS_SCHEDULED] = {"scheduled", 1},
    [TWILIO_STATUS_QUEUED] = {"queued", 2},
    [TWILIO_STATUS_SENDING] = {"sending", 3},
    [TWILIO_STATUS_SENT] = {"sent", 4},
    [TWILIO_STATUS_PARTIALLY_DELIVERED] = {"partially_delivered", 5},
    [TWILIO_STATUS_DELIVERED] = {"delivered", 6},
    [TWILIO_STATUS_UNDELIVERED] = {"undelivered", 6},
    [TWILIO_STATUS_FAILED] = {"failed", 6},
    [TWILIO_STATUS_CANCELED] = {"canceled", 6},
    [TWILIO_STATUS_READ] = {"read", 7},
    /* Inbound-only states: never part of an outbound job's progress. */
    [TWILIO_STATUS_RECEIVING] = {"receiving", -1},
    [TWILIO_STATUS_RECEIVED] = {"received", -1},
};
#define STATUS_COUNT (sizeof status_table / sizeof status_table[0])

enum twilio_status twilio_status_from_name(const char *name)
{
    if (!name)
        return TWILIO_STATUS_UNKNOWN;
    for (size_t i = 1; i < STATUS_COUNT; i++)
        if (strcmp(status_table[i].name, name) == 0)
            return (enum twilio_status)i;
    return TWILIO_STATUS_UNKNOWN;
}

const char *twilio_status_name(enum twilio_status status)
{
    if ((size_t)status >= STATUS_COUNT)
        return "unknown";
    return status_table[status].name;
}

bool twilio_status_is_terminal(enum twilio_status status)
{
    switch (status) {
    case TWILIO_STATUS_DELIVERED:
    case TWILIO_STATUS_UNDELIVERED:
    case TWILIO_STATUS_FAILED:
    case TWILIO_STATUS_CANCELED:
    case TWILIO_STATUS_READ:
        return true;
    default:
        return false;
    }
}

bool twilio_status_advances(enum twilio_status current, enum twilio_status incoming)
{
    if ((size_t)incoming >= STATUS_COUNT || status_table[incoming].rank < 0)
        return false;
    if (current == TWILIO_STATUS_DELIVERED)
        return incoming == TWILIO_STATUS_READ;
    if (twilio_status_is_terminal(current))
        return false;
    int cur = (size_t)current < STATUS_COUNT ? status_table[current].rank : -1;
    return status_table[incoming].rank > cur;
}

int twilio_parse_status(const struct form *form, struct twilio_status_update *out,
                        const char **reason)
{
    static const char *const single[] = {"duplicate MessageSid",    "duplicate AccountSid",
                                         "duplicate MessageStatus", "duplicate SmsStatus",
                                         "duplicate ErrorCode",     NULL};
    const char *why = NULL;
    memset(out, 0, sizeof *out);

    if ((why = duplicate_field(form, single)) ||
        (why = parse_sids(form, &out->gateway_id, &out->account)))
        goto fail;
    const char *st = form_get(form, "MessageStatus");
    if (!st || !*st)
        st = form_get(form, "SmsStatus"); /* legacy name, same value */
    if (!st || !*st) {
        why = "missing MessageStatus";
        goto fail;
    }
    size_t n = strlen(st);
    bool shape_ok = n <= 32;
    for (size_t i = 0; i < n && shape_ok; i++)
        shape_ok = (st[i] >= 'a' && st[i] <= 'z') || st[i] == '_' || st[i] == '-';
    if (!shape_ok) {
        why = "malformed MessageStatus";
        goto fail;
    }
    out->status_name = st;
    out->status = twilio_status_from_name(st);
    unsigned code = 0;
    if (parse_count(form_get(form, "ErrorCode"), 6, &code) != 0) {
        why = "malformed ErrorCode";
        goto fail;
    }
    out->error_code = (int)code;
    return 0;

fail:
    memset(out, 0, sizeof *out);
    if (reason)
        *reason = why;
    return -1;
}

/* ---- sending ---- */

int twilio_send_request_build(struct twilio_send_request *out, const char *api_base,
                              const char *account_sid, const char *from, const char *to,
                              const char *text, const char *status_callback)
{
    memset(out, 0, sizeof *out);
    if (!api_base || !*api_base || !sid_valid(account_sid, "AC", NULL) || !from || !*from || !to ||
        !*to || !text)
        return -1;
    size_t base_len = strlen(api_base);
    if (api_base[base_len - 1] == '/')
        base_len--;
    static const char mid[] = "/2010-04-01/Accounts/", tail[] = "/Messages.json";
    size_t url_len = base_len + strlen(mid) + TWILIO_SID_LEN + strlen(tail);
    out->url = malloc(url_len + 1);
    if (!out->url)
        goto fail;
    snprintf(out->url, url_len + 1, "%.*s%s%s%s", (int)base_len, api_base, mid, account_sid, tail);
    /* The order twilio-python's MessageList.create serialises them in. */
    const struct form_pair pairs[] = {
        {"To", to},
        {"StatusCallback", status_callback},
        {"From", from},
        {"Body", text},
    };
    out->body = form_encode(pairs, sizeof pairs / sizeof pairs[0]);
    if (!out->body)
        goto fail;
    return 0;
fail:
    twilio_send_request_clear(out);
    return -1;
}

void twilio_send_request_clear(struct twilio_send_request *req)
{
    free(req->url);
    free(req->body);
    req->url = NULL;
    req->body = NULL;
}

static const struct {
    int code;
    enum twilio_outcome outcome;
    unsigned flags;
    const char *reason;
} error_table[] = {
    {20003, TWILIO_PERMANENT, TWILIO_F_AUTH, "authentication failed"},
    {20429, TWILIO_RETRY, 0, "too many concurrent requests"},
    {21211, TWILIO_PERMANENT, 0, "invalid To number"},
    {21408, TWILIO_PERMANENT, TWILIO_F_CONFIG, "no permission to send to this region"},
    {21608, TWILIO_PERMANENT, TWILIO_F_CONFIG, "trial account: recipient not verified"},
    {21610, TWILIO_PERMANENT, TWILIO_F_OPTED_OUT, "recipient opted out (STOP)"},
    {21611, TWILIO_RETRY, TWILIO_F_THROTTLE, "sender queue full"},
    {21614, TWILIO_PERMANENT, 0, "To is not a mobile number"},
    {30001, TWILIO_RETRY, TWILIO_F_THROTTLE, "queue overflow"},
    {30003, TWILIO_RETRY, TWILIO_F_RETRY_ONCE, "handset unreachable"},
    {30006, TWILIO_PERMANENT, 0, "landline or unreachable carrier"},
    {30007, TWILIO_PERMANENT, TWILIO_F_CONFIG, "filtered as spam by the carrier"},
    {30032, TWILIO_PERMANENT, TWILIO_F_CONFIG, "toll-free number not verified"},
    {30034, TWILIO_PERMANENT, TWILIO_F_CONFIG, "10DLC number not registered"},
};

enum twilio_outcome twilio_error_classify(int code, unsigned *flags, const char **reason)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++) {
        if (error_table[i].code == code) {
            if (flags)
                *flags |= error_table[i].flags;
            if (reason)
                *reason = error_table[i].reason;
            return error_table[i].outcome;
        }
    }
    if (reason)
        *reason = "unclassified gateway error";
    return TWILIO_PERMANENT;
}

/* Twilio's "code": an integer, or (RFC 9457 bodies, defensively) a numeric string. */
static int response_error_code(json_t *root)
{
    json_t *code = json_object_get(root, "code");
    if (json_is_integer(code)) {
        json_int_t v = json_integer_value(code);
        return v > 0 && v < 1000000 ? (int)v : 0;
    }
    if (json_is_string(code)) {
        unsigned v = 0;
        if (parse_count(json_string_value(code), 6, &v) == 0)
            return (int)v;
    }
    return 0;
}

static void copy_token(char *dst, size_t cap, const char *src)
{
    dst[0] = '\0';
    if (!src)
        return;
    size_t n = strlen(src);
    if (n >= cap)
        return;
    for (size_t i = 0; i < n; i++)
        if (!((src[i] >= 'a' && src[i] <= 'z') || src[i] == '_' || src[i] == '-'))
            return;
    memcpy(dst, src, n + 1);
}

void twilio_send_classify(long http_status, const char *body, size_t len,
                          struct twilio_send_result *out)
{
    memset(out, 0, sizeof *out);
    out->http_status = http_status;
    json_t *root = NULL;
    if (body && len > 0) {
        json_error_t jerr;
        root = json_loadb(body, len, 0, &jerr);
        if (root && !json_is_object(root)) {
            json_decref(root);
            root = NULL;
        }
    }

    if (http_status >= 200 && http_status < 300) {
        out->outcome = TWILIO_SENT;
        const char *sid = json_string_value(json_object_get(root, "sid"));
        if (sid_valid(sid, "SM", "MM")) {
            memcpy(out->sid, sid, TWILIO_SID_LEN + 1);
            out->reason = "accepted";
        } else {
            /* Twilio took it; resending could duplicate. Keep it sent, without a sid. */
            out->reason = "accepted without a message sid";
        }
        copy_token(out->status, sizeof out->status,
                   json_string_value(json_object_get(root, "status")));
        goto done;
    }

    out->error_code = root ? response_error_code(root) : 0;
    if (http_status == 0) {
        out->outcome = TWILIO_RETRY;
        out->flags = TWILIO_F_MAYBE_SENT;
        out->reason = "no response from the gateway";
    } else if (http_status == 429) {
        out->outcome = TWILIO_RETRY;
        out->reason = "too many concurrent requests";
    } else if (http_status >= 500 && http_status < 600) {
        out->outcome = TWILIO_RETRY;
        out->flags = TWILIO_F_MAYBE_SENT;
        out->reason = "gateway server error";
    } else if (http_status == 401 || http_status == 403) {
        out->outcome = TWILIO_PERMANENT;
        out->flags = TWILIO_F_AUTH;
        out->reason = "authentication failed";
    } else if (http_status == 408) {
        out->outcome = TWILIO_RETRY;
        out->reason = "gateway request timeout";
    } else if (http_status >= 400 && http_status < 500 && out->error_code != 0) {
        out->outcome = twilio_error_classify(out->error_code, &out->flags, &out->reason);
    } else if (http_status == 404) {
        out->outcome = TWILIO_PERMANENT;
        out->flags = TWILIO_F_CONFIG;
        out->reason = "gateway API not found (check the API base and account sid)";
    } else if (http_status >= 400 && http_status < 500) {
        out->outcome = TWILIO_PERMANENT;
        out->reason = "rejected by the gateway";
    } else {
        out->outcome = TWILIO_PERMANENT;
        out->flags = TWILIO_F_CONFIG;
        out->reason = "unexpected HTTP status from the gateway";
    }
done:
    json_decref(root);
}
