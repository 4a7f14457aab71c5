/*
 * fuzz webhook: the inbound-message webhook as the server takes it apart, before
 * anything is stored: the form parser (form_parse), the signature check over the URL
 * the request named (twilio_signature_valid and its JSON variant), and the inbound
 * parser (twilio_parse_inbound). These are the first code every request from the
 * network reaches, signed or not.
 *
 * Input: "<request target>\n<X-Twilio-Signature>\n<body>"; with fewer newlines the
 * whole input is the body of a POST to /webhooks/twilio/messages without a signature.
 * The target is appended to the public URL, as the server does, so the URL layout code
 * (ports, '@', '#', the query re-encoding) sees attacker-chosen bytes.
 *
 * Besides surviving the sanitizers, it checks: every decoded name and value is a C
 * string of its stated length and valid UTF-8 (cross-checked against utf8proc through
 * sms_measure); form_encode then form_parse gives the same parameters back; a signature
 * computed over a fragment-free URL verifies; a parsed inbound has printable From/To.
 */
#include "fuzz.h"

#include "hotline/form.h"
#include "hotline/sms.h"
#include "hotline/twilio.h"

#define TOKEN "0123456789abcdef0123456789abcdef"
#define PUBLIC_URL "https://sms.example.org"

/* The server's limits (src/server.c webhook_limits). */
static const struct form_limits limits = {256, 64, 16384};
/* Tight ones, to reach every limit. */
static const struct form_limits tight = {3, 8, 16};

static void check_form(const struct form *f)
{
    for (size_t i = 0; i < f->count; i++) {
        const struct form_param *p = &f->params[i];
        FUZZ_CHECK(strlen(p->name) == p->name_len && p->name_len > 0);
        FUZZ_CHECK(strlen(p->value) == p->value_len);
        struct sms_measure m;
        FUZZ_CHECK(sms_measure(p->name, p->name_len, &m) == 0);
        FUZZ_CHECK(sms_measure(p->value, p->value_len, &m) == 0);
        FUZZ_CHECK(form_get(f, p->name) != NULL);
        FUZZ_CHECK(form_count(f, p->name) >= 1);
    }

    /* Round trip: what the encoder writes, the parser reads back unchanged. */
    struct form_pair *pairs = calloc(f->count + 1, sizeof *pairs);
    FUZZ_CHECK(pairs);
    for (size_t i = 0; i < f->count; i++)
        pairs[i] = (struct form_pair){f->params[i].name, f->params[i].value};
    char *enc = form_encode(pairs, f->count);
    FUZZ_CHECK(enc);
    const char *why = NULL;
    struct form *g = form_parse(enc, strlen(enc), &limits, &why);
    FUZZ_CHECK(g);
    FUZZ_CHECK(g->count == f->count);
    for (size_t i = 0; i < f->count; i++) {
        FUZZ_CHECK(strcmp(g->params[i].name, f->params[i].name) == 0);
        FUZZ_CHECK(strcmp(g->params[i].value, f->params[i].value) == 0);
    }
    form_free(g);
    free(enc);
    free(pairs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *piece[3];
    size_t len[3];
    const uint8_t *body = data;
    size_t body_len = size;
    char *target = NULL, *sig = NULL;
    if (fuzz_split(data, size, piece, len, 3) == 3) {
        target = fuzz_cstr(piece[0], len[0]);
        sig = fuzz_cstr(piece[1], len[1]);
        body = piece[2];
        body_len = len[2];
    } else {
        target = fuzz_cstr((const uint8_t *)"/webhooks/twilio/messages", 25);
    }

    const char *why = NULL;
    form_free(form_parse((const char *)body, body_len, &tight, &why));
    struct form *f = form_parse((const char *)body, body_len, &limits, &why);
    FUZZ_CHECK(f || why);

    size_t ulen = strlen(PUBLIC_URL) + strlen(target) + 1;
    char *url = malloc(ulen);
    FUZZ_CHECK(url);
    snprintf(url, ulen, "%s%s", PUBLIC_URL, target);

    (void)twilio_signature_valid_json(TOKEN, url, (const char *)body, body_len, sig);
    if (f) {
        check_form(f);
        (void)twilio_signature_valid(TOKEN, url, f, sig);
        char good[TWILIO_SIGNATURE_LEN + 1];
        FUZZ_CHECK(twilio_signature(TOKEN, url, f, good) == 0);
        if (!strchr(url, '#'))
            FUZZ_CHECK(twilio_signature_valid(TOKEN, url, f, good));

        struct gateway_inbound in;
        if (twilio_parse_inbound(f, &in, &why) == 0) {
            FUZZ_CHECK(in.gateway_id && strlen(in.gateway_id) == TWILIO_SID_LEN);
            FUZZ_CHECK(in.from && *in.from && strlen(in.from) <= TWILIO_ADDRESS_MAX);
            FUZZ_CHECK(in.to && *in.to && strlen(in.to) <= TWILIO_ADDRESS_MAX);
            for (const char *c = in.from; *c; c++)
                FUZZ_CHECK(*c > 0x20 && *c < 0x7F);
            FUZZ_CHECK(in.body && strlen(in.body) == in.body_len);
        } else {
            FUZZ_CHECK(why);
        }
    }
    form_free(f);
    free(url);
    free(target);
    free(sig);
    return 0;
}
