/*
 * Tests for twilio: every signature test vector of ../shared/gateways.md section 2
 * (port variants, repeated params, basic-auth URL, JSON bodies, quote re-encoding),
 * tampering, webhook parsing, status ordering, the send request and response
 * classification.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotline/form.h"
#include "hotline/twilio.h"

#define TOKEN "12345"
#define URL "https://mycompany.com/myapp.php?foo=1&bar=2"

static const struct form_limits limits = {256, 256, 65536};

static struct form *make_form(const struct form_pair *pairs, size_t n)
{
    char *body = form_encode(pairs, n);
    assert_non_null(body);
    const char *err = NULL;
    struct form *f = form_parse(body, strlen(body), &limits, &err);
    if (!f)
        fail_msg("form_parse: %s", err);
    free(body);
    return f;
}

static const struct form_pair P[] = {
    {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+14158675309"}, {"Digits", "1234"},
    {"From", "+14158675309"},         {"To", "+18005551212"},
};

static struct form *form_p(void)
{
    return make_form(P, 5);
}

static void expect_signature(const char *url, const struct form *f, const char *expected)
{
    char sig[TWILIO_SIGNATURE_LEN + 1];
    assert_int_equal(twilio_signature(TOKEN, url, f, sig), 0);
    assert_string_equal(sig, expected);
}

/* V1 */
static void test_v1_base_case(void **state)
{
    (void)state;
    struct form *f = form_p();
    expect_signature(URL, f, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    assert_true(twilio_signature_valid(TOKEN, URL, f, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* Param order in the body does not matter: the signed string sorts them. */
    const struct form_pair shuffled[] = {P[4], P[2], P[0], P[3], P[1]};
    struct form *g = make_form(shuffled, 5);
    assert_true(twilio_signature_valid(TOKEN, URL, g, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    /* The fragment (connection overrides) is not signed. */
    assert_true(
        twilio_signature_valid(TOKEN, URL "#ct=3000&rc=3", f, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    form_free(g);
    form_free(f);
}

/* V2: repeated names: distinct values, sorted. */
static void test_v2_repeated_params(void **state)
{
    (void)state;
    const struct form_pair pairs[] = {
        {"Sid", "CA123"},   {"SidAccount", "AC123"}, {"Digits", "5678"},
        {"Digits", "1234"}, {"Digits", "1234"},
    };
    struct form *f = make_form(pairs, 5);
    expect_signature(URL, f, "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    assert_true(twilio_signature_valid(TOKEN, URL, f, "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
    form_free(f);
}

/* V3, V4: explicit default ports; either form of the URL validates either signature. */
static void test_v3_v4_default_ports(void **state)
{
    (void)state;
    struct form *f = form_p();
    const char *https443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    const char *http80 = "http://mycompany.com:80/myapp.php?foo=1&bar=2";
    const char *http = "http://mycompany.com/myapp.php?foo=1&bar=2";

    expect_signature(https443, f, "kvajT1Ptam85bY51eRf/AJRuM3w=");
    assert_true(twilio_signature_valid(TOKEN, https443, f, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    assert_true(twilio_signature_valid(TOKEN, URL, f, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    assert_true(twilio_signature_valid(TOKEN, https443, f, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));

    expect_signature(http80, f, "0ZXoZLH/DfblKGATFgpif+LLRf4=");
    assert_true(twilio_signature_valid(TOKEN, http80, f, "0ZXoZLH/DfblKGATFgpif+LLRf4="));
    assert_true(twilio_signature_valid(TOKEN, http, f, "0ZXoZLH/DfblKGATFgpif+LLRf4="));
    /* The default port is the scheme's: :443 is not a default for http. */
    assert_false(twilio_signature_valid(TOKEN, http, f, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    form_free(f);
}

/* V5: a non-default port is kept and is the only accepted form. */
static void test_v5_custom_port(void **state)
{
    (void)state;
    struct form *f = form_p();
    const char *u1234 = "http://mycompany.com:1234/myapp.php?foo=1&bar=2";
    expect_signature(u1234, f, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
    assert_true(twilio_signature_valid(TOKEN, u1234, f, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
    char no_port[TWILIO_SIGNATURE_LEN + 1];
    assert_int_equal(
        twilio_signature(TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", f, no_port), 0);
    assert_false(twilio_signature_valid(TOKEN, u1234, f, no_port));
    assert_false(twilio_signature_valid(TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", f,
                                        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
    form_free(f);
}

#define V6_BODY "{\"property\": \"value\", \"boolean\": true}"
#define V6_HASH "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
#define V10_HASH "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

/* V6, V7: JSON bodies: the hash in the URL, the signature over the URL alone. */
static void test_v6_v7_json_body(void **state)
{
    (void)state;
    const char *url6 = URL "&bodySHA256=" V6_HASH;
    expect_signature(url6, NULL, "a9nBmqA0ju/hNViExpshrM61xv4=");
    assert_true(twilio_signature_valid_json(TOKEN, url6, V6_BODY, strlen(V6_BODY),
                                            "a9nBmqA0ju/hNViExpshrM61xv4="));
    /* One changed byte in the body breaks the hash even with the right signature. */
    char body[] = V6_BODY;
    body[3] = 'P';
    assert_false(twilio_signature_valid_json(TOKEN, url6, body, strlen(body),
                                             "a9nBmqA0ju/hNViExpshrM61xv4="));
    assert_false(twilio_signature_valid_json(TOKEN, URL, V6_BODY, strlen(V6_BODY),
                                             "RSOYDt4T1cUTdK1PDd93/VVr8B8="));

    const char *url7 = "https://mycompany.com/myapp.php?bodySHA256=" V6_HASH;
    expect_signature(url7, NULL, "y77kIzt2vzLz71DgmJGsen2scGs=");
    assert_true(twilio_signature_valid_json(TOKEN, url7, V6_BODY, strlen(V6_BODY),
                                            "y77kIzt2vzLz71DgmJGsen2scGs="));
    assert_false(twilio_signature_valid_json(TOKEN, url7, V6_BODY, strlen(V6_BODY),
                                             "a9nBmqA0ju/hNViExpshrM61xv4="));
}

/* V8: basic-auth credentials in the URL are signed; the port rule still applies. */
static void test_v8_userinfo(void **state)
{
    (void)state;
    struct form *f = form_p();
    const char *u = "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2";
    expect_signature(u, f, "CukzLTc1tT5dXEDIHm/tKBanW10=");
    assert_true(twilio_signature_valid(TOKEN, u, f, "CukzLTc1tT5dXEDIHm/tKBanW10="));
    assert_true(twilio_signature_valid(TOKEN,
                                       "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2",
                                       f, "CukzLTc1tT5dXEDIHm/tKBanW10="));
    assert_false(twilio_signature_valid(TOKEN, URL, f, "CukzLTc1tT5dXEDIHm/tKBanW10="));
    form_free(f);
}

/* V9: dotted names, repeated with different values. */
static void test_v9_binding_address(void **state)
{
    (void)state;
    const struct form_pair pairs[] = {
        {"MessagingBinding.Address", "+1415xxxxxxx"},
        {"MessagingBinding.Address", "+1325xxxxxxx"},
    };
    struct form *f = make_form(pairs, 2);
    expect_signature(URL, f, "83O6e2vORAoJHUNzJjDWN1jz+BA=");
    assert_true(twilio_signature_valid(TOKEN, URL, f, "83O6e2vORAoJHUNzJjDWN1jz+BA="));
    form_free(f);
}

/* V10: body "{}" signed only with ":443" added: the with-port variant is needed. */
static void test_v10_only_with_port(void **state)
{
    (void)state;
    const char *u = URL "&bodySHA256=" V10_HASH;
    char sig[TWILIO_SIGNATURE_LEN + 1];
    assert_int_equal(twilio_signature(TOKEN, u, NULL, sig), 0);
    assert_string_not_equal(sig, "Ldidvp12m26NI7eqEvxnEpkd9Hc=");
    expect_signature("https://mycompany.com:443/myapp.php?foo=1&bar=2&bodySHA256=" V10_HASH, NULL,
                     "Ldidvp12m26NI7eqEvxnEpkd9Hc=");
    assert_true(twilio_signature_valid_json(TOKEN, u, "{}", 2, "Ldidvp12m26NI7eqEvxnEpkd9Hc="));
    assert_false(twilio_signature_valid_json(TOKEN, u, "{ }", 3, "Ldidvp12m26NI7eqEvxnEpkd9Hc="));
}

/* The quote in the query: raw "'" (older twilio-node) and "%27" (current) both validate. */
static void test_quote_reencoding(void **state)
{
    (void)state;
    struct form *f = form_p();
    const char *raw = URL "&Body=It's+amazing";
    const char *enc = URL "&Body=It%27s+amazing";
    expect_signature(raw, f, "dsq4Ehbj6cs+KdTkpF5sSSplOWw=");
    expect_signature(enc, f, "TfZzewPq8wqrGlMfyAud8+/IvJ0=");
    assert_true(twilio_signature_valid(TOKEN, raw, f, "dsq4Ehbj6cs+KdTkpF5sSSplOWw="));
    assert_true(twilio_signature_valid(TOKEN, raw, f, "TfZzewPq8wqrGlMfyAud8+/IvJ0="));
    assert_true(twilio_signature_valid(TOKEN, enc, f, "TfZzewPq8wqrGlMfyAud8+/IvJ0="));
    assert_false(twilio_signature_valid(TOKEN, raw, f, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    form_free(f);
}

static void test_tampering_fails(void **state)
{
    (void)state;
    const char *good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    struct form *f = form_p();
    assert_true(twilio_signature_valid(TOKEN, URL, f, good));

    /* A changed value, an added param, a dropped param. */
    struct form_pair changed[5];
    memcpy(changed, P, sizeof changed);
    changed[2].value = "1235";
    struct form *g = make_form(changed, 5);
    assert_false(twilio_signature_valid(TOKEN, URL, g, good));
    form_free(g);
    struct form_pair more[6];
    memcpy(more, P, sizeof P);
    more[5] = (struct form_pair){"Body", "hi"};
    g = make_form(more, 6);
    assert_false(twilio_signature_valid(TOKEN, URL, g, good));
    form_free(g);
    g = make_form(P, 4);
    assert_false(twilio_signature_valid(TOKEN, URL, g, good));
    form_free(g);
    assert_false(twilio_signature_valid(TOKEN, URL, NULL, good));

    /* A changed URL, scheme or token. */
    assert_false(
        twilio_signature_valid(TOKEN, "https://mycompany.com/myapp.php?foo=1&bar=3", f, good));
    assert_false(
        twilio_signature_valid(TOKEN, "https://mycompany.com/other.php?foo=1&bar=2", f, good));
    assert_false(
        twilio_signature_valid(TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", f, good));
    assert_false(twilio_signature_valid("12346", URL, f, good));

    /* Malformed signatures. */
    assert_false(twilio_signature_valid(TOKEN, URL, f, NULL));
    assert_false(twilio_signature_valid(TOKEN, URL, f, ""));
    assert_false(twilio_signature_valid(TOKEN, URL, f, "RSOYDt4T1cUTdK1PDd93/VVr8B8"));
    assert_false(twilio_signature_valid(TOKEN, URL, f, "RSOYDt4T1cUTdK1PDd93/VVr8B8=="));
    assert_false(twilio_signature_valid(TOKEN, URL, f, "rSOYDt4T1cUTdK1PDd93/VVr8B8="));
    assert_false(twilio_signature_valid(TOKEN, URL, f, "RSOYDt4T1cUTdK1PDd93/VVr8B9="));
    form_free(f);
}

/* ---- inbound ---- */

#define MSID "SM0123456789abcdef0123456789abcdef"
#define ASID "AC0123456789abcdef0123456789abcdef"

static void test_parse_inbound(void **state)
{
    (void)state;
    const struct form_pair pairs[] = {
        {"ToCountry", "US"},    {"SmsMessageSid", MSID},   {"NumMedia", "0"},
        {"SmsSid", MSID},       {"SmsStatus", "received"}, {"Body", "Where can I get help?"},
        {"To", "+19497633440"}, {"NumSegments", "1"},      {"MessageSid", MSID},
        {"AccountSid", ASID},   {"From", "+14155550100"},  {"ApiVersion", "2010-04-01"},
        {"SomethingNew", "x"},
    };
    struct form *f = make_form(pairs, sizeof pairs / sizeof pairs[0]);
    struct gateway_inbound in;
    const char *why = NULL;
    assert_int_equal(twilio_parse_inbound(f, &in, &why), 0);
    assert_string_equal(in.gateway_id, MSID);
    assert_string_equal(in.account, ASID);
    assert_string_equal(in.from, "+14155550100");
    assert_string_equal(in.to, "+19497633440");
    assert_string_equal(in.body, "Where can I get help?");
    assert_int_equal(in.body_len, 21);
    assert_int_equal(in.num_media, 0);
    assert_int_equal(in.num_segments, 1);
    assert_null(in.opt_out_type);
    form_free(f);

    /* MMS sid, empty body, no counts, OptOutType, a WhatsApp-style address. */
    const struct form_pair mms[] = {
        {"MessageSid", "MMABCDEF0123456789abcdef0123456789"},
        {"From", "whatsapp:+14155550100"},
        {"To", "+19497633440"},
        {"Body", ""},
        {"OptOutType", "STOP"},
    };
    f = make_form(mms, 5);
    assert_int_equal(twilio_parse_inbound(f, &in, &why), 0);
    assert_string_equal(in.body, "");
    assert_int_equal(in.body_len, 0);
    assert_null(in.account);
    assert_int_equal(in.num_segments, 0);
    assert_string_equal(in.opt_out_type, "STOP");
    form_free(f);
}

static void expect_inbound_error(const struct form_pair *pairs, size_t n, const char *reason)
{
    struct form *f = make_form(pairs, n);
    struct gateway_inbound in;
    const char *why = NULL;
    assert_int_equal(twilio_parse_inbound(f, &in, &why), -1);
    assert_non_null(why);
    assert_string_equal(why, reason);
    form_free(f);
}

static void test_inbound_errors(void **state)
{
    (void)state;
    struct form_pair p[4] = {
        {"MessageSid", MSID}, {"From", "+14155550100"}, {"To", "+19497633440"}, {"Body", "hi"}};

    expect_inbound_error(p + 1, 3, "missing MessageSid");
    p[0].value = "";
    expect_inbound_error(p, 4, "missing MessageSid");
    p[0].value = "SM0123456789abcdef0123456789abcde"; /* 33 chars */
    expect_inbound_error(p, 4, "malformed MessageSid");
    p[0].value = "XX0123456789abcdef0123456789abcdef";
    expect_inbound_error(p, 4, "malformed MessageSid");
    p[0].value = "SM0123456789abcdef0123456789abcdeg";
    expect_inbound_error(p, 4, "malformed MessageSid");
    p[0].value = MSID;

    struct form_pair no_from[3] = {p[0], p[2], p[3]};
    expect_inbound_error(no_from, 3, "missing From");
    struct form_pair no_to[3] = {p[0], p[1], p[3]};
    expect_inbound_error(no_to, 3, "missing To");
    p[1].value = "+1 415 555";
    expect_inbound_error(p, 4, "malformed From");
    p[1].value = "+14155550100";
    char long_to[TWILIO_ADDRESS_MAX + 2];
    memset(long_to, '1', sizeof long_to - 1);
    long_to[sizeof long_to - 1] = '\0';
    p[2].value = long_to;
    expect_inbound_error(p, 4, "malformed To");
    p[2].value = "+19497633440";

    struct form_pair acct[5] = {p[0], p[1], p[2], p[3], {"AccountSid", "AC123"}};
    expect_inbound_error(acct, 5, "malformed AccountSid");
    struct form_pair media[5] = {p[0], p[1], p[2], p[3], {"NumMedia", "1x"}};
    expect_inbound_error(media, 5, "malformed NumMedia");
    struct form_pair segs[5] = {p[0], p[1], p[2], p[3], {"NumSegments", "-1"}};
    expect_inbound_error(segs, 5, "malformed NumSegments");
}

static void test_inbound_body_bounds(void **state)
{
    (void)state;
    /* Characters, not bytes: 3200 two-byte characters are accepted, 3201 are not. */
    char *body = malloc(2 * (TWILIO_BODY_ACCEPT_MAX + 1) + 1);
    for (int i = 0; i < TWILIO_BODY_ACCEPT_MAX + 1; i++)
        memcpy(body + 2 * i, "\xC3\xA9", 2);
    body[2 * TWILIO_BODY_ACCEPT_MAX] = '\0';
    struct form_pair p[4] = {
        {"MessageSid", MSID}, {"From", "+14155550100"}, {"To", "+19497633440"}, {"Body", body}};
    struct form *f = make_form(p, 4);
    struct gateway_inbound in;
    const char *why = NULL;
    assert_int_equal(twilio_parse_inbound(f, &in, &why), 0);
    assert_int_equal(in.body_len, 2 * TWILIO_BODY_ACCEPT_MAX);
    form_free(f);

    memcpy(body + 2 * TWILIO_BODY_ACCEPT_MAX, "\xC3\xA9", 3);
    expect_inbound_error(p, 4, "Body too long");
    free(body);
}

/* ---- status ---- */

static void test_status_names(void **state)
{
    (void)state;
    const char *names[] = {
        "accepted",  "scheduled",   "queued", "sending",  "sent", "partially_delivered",
        "delivered", "undelivered", "failed", "canceled", "read", "receiving",
        "received"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        enum twilio_status s = twilio_status_from_name(names[i]);
        assert_int_not_equal(s, TWILIO_STATUS_UNKNOWN);
        assert_string_equal(twilio_status_name(s), names[i]);
    }
    assert_int_equal(twilio_status_from_name("exploded"), TWILIO_STATUS_UNKNOWN);
    assert_int_equal(twilio_status_from_name(NULL), TWILIO_STATUS_UNKNOWN);
    assert_string_equal(twilio_status_name(TWILIO_STATUS_UNKNOWN), "unknown");
}

static void test_status_order(void **state)
{
    (void)state;
    /* Forward only. */
    assert_true(twilio_status_advances(TWILIO_STATUS_UNKNOWN, TWILIO_STATUS_QUEUED));
    assert_true(twilio_status_advances(TWILIO_STATUS_ACCEPTED, TWILIO_STATUS_QUEUED));
    assert_true(twilio_status_advances(TWILIO_STATUS_QUEUED, TWILIO_STATUS_SENDING));
    assert_true(twilio_status_advances(TWILIO_STATUS_QUEUED, TWILIO_STATUS_SENT));
    assert_true(twilio_status_advances(TWILIO_STATUS_SENDING, TWILIO_STATUS_SENT));
    assert_true(twilio_status_advances(TWILIO_STATUS_SENT, TWILIO_STATUS_DELIVERED));
    assert_true(twilio_status_advances(TWILIO_STATUS_SENT, TWILIO_STATUS_UNDELIVERED));
    assert_true(twilio_status_advances(TWILIO_STATUS_QUEUED, TWILIO_STATUS_FAILED));
    assert_true(twilio_status_advances(TWILIO_STATUS_SCHEDULED, TWILIO_STATUS_CANCELED));
    assert_false(twilio_status_advances(TWILIO_STATUS_SENT, TWILIO_STATUS_SENDING));
    assert_false(twilio_status_advances(TWILIO_STATUS_SENT, TWILIO_STATUS_SENT));
    assert_false(twilio_status_advances(TWILIO_STATUS_SENT, TWILIO_STATUS_QUEUED));

    /* Out of order: delivered before sent; a terminal state is never overwritten. */
    assert_false(twilio_status_advances(TWILIO_STATUS_DELIVERED, TWILIO_STATUS_SENT));
    assert_false(twilio_status_advances(TWILIO_STATUS_DELIVERED, TWILIO_STATUS_UNDELIVERED));
    assert_false(twilio_status_advances(TWILIO_STATUS_FAILED, TWILIO_STATUS_DELIVERED));
    assert_false(twilio_status_advances(TWILIO_STATUS_UNDELIVERED, TWILIO_STATUS_DELIVERED));
    assert_false(twilio_status_advances(TWILIO_STATUS_CANCELED, TWILIO_STATUS_QUEUED));
    assert_false(twilio_status_advances(TWILIO_STATUS_FAILED, TWILIO_STATUS_READ));

    /* read comes after delivered only, and ends everything. */
    assert_true(twilio_status_advances(TWILIO_STATUS_DELIVERED, TWILIO_STATUS_READ));
    assert_false(twilio_status_advances(TWILIO_STATUS_READ, TWILIO_STATUS_DELIVERED));

    /* Unknown or inbound-only states never advance an outbound job. */
    assert_false(twilio_status_advances(TWILIO_STATUS_QUEUED, TWILIO_STATUS_UNKNOWN));
    assert_false(twilio_status_advances(TWILIO_STATUS_QUEUED, TWILIO_STATUS_RECEIVED));

    assert_true(twilio_status_is_terminal(TWILIO_STATUS_DELIVERED));
    assert_true(twilio_status_is_terminal(TWILIO_STATUS_UNDELIVERED));
    assert_true(twilio_status_is_terminal(TWILIO_STATUS_FAILED));
    assert_true(twilio_status_is_terminal(TWILIO_STATUS_CANCELED));
    assert_true(twilio_status_is_terminal(TWILIO_STATUS_READ));
    assert_false(twilio_status_is_terminal(TWILIO_STATUS_SENT));
    assert_false(twilio_status_is_terminal(TWILIO_STATUS_QUEUED));
}

static void test_parse_status(void **state)
{
    (void)state;
    const struct form_pair pairs[] = {
        {"SmsSid", MSID},         {"SmsStatus", "undelivered"}, {"MessageStatus", "undelivered"},
        {"To", "+14155550100"},   {"MessageSid", MSID},         {"AccountSid", ASID},
        {"From", "+19497633440"}, {"ApiVersion", "2010-04-01"}, {"ErrorCode", "30003"},
    };
    struct form *f = make_form(pairs, sizeof pairs / sizeof pairs[0]);
    struct twilio_status_update st;
    const char *why = NULL;
    assert_int_equal(twilio_parse_status(f, &st, &why), 0);
    assert_string_equal(st.gateway_id, MSID);
    assert_string_equal(st.account, ASID);
    assert_int_equal(st.status, TWILIO_STATUS_UNDELIVERED);
    assert_string_equal(st.status_name, "undelivered");
    assert_int_equal(st.error_code, 30003);
    form_free(f);

    /* Legacy name only, a status this code does not know, no ErrorCode. */
    const struct form_pair legacy[] = {{"MessageSid", MSID}, {"SmsStatus", "delivered"}};
    f = make_form(legacy, 2);
    assert_int_equal(twilio_parse_status(f, &st, &why), 0);
    assert_int_equal(st.status, TWILIO_STATUS_DELIVERED);
    assert_int_equal(st.error_code, 0);
    form_free(f);
    const struct form_pair novel[] = {{"MessageSid", MSID}, {"MessageStatus", "teleported"}};
    f = make_form(novel, 2);
    assert_int_equal(twilio_parse_status(f, &st, &why), 0);
    assert_int_equal(st.status, TWILIO_STATUS_UNKNOWN);
    assert_string_equal(st.status_name, "teleported");
    form_free(f);

    const struct form_pair bad[][2] = {
        {{"MessageStatus", "sent"}, {"X", "y"}},
        {{"MessageSid", "SM1"}, {"MessageStatus", "sent"}},
        {{"MessageSid", MSID}, {"X", "y"}},
        {{"MessageSid", MSID}, {"MessageStatus", "Sent <b>"}},
    };
    const char *reasons[] = {"missing MessageSid", "malformed MessageSid", "missing MessageStatus",
                             "malformed MessageStatus"};
    for (size_t i = 0; i < 4; i++) {
        f = make_form(bad[i], 2);
        assert_int_equal(twilio_parse_status(f, &st, &why), -1);
        assert_string_equal(why, reasons[i]);
        form_free(f);
    }
    const struct form_pair bad_code[] = {
        {"MessageSid", MSID}, {"MessageStatus", "failed"}, {"ErrorCode", "30x"}};
    f = make_form(bad_code, 3);
    assert_int_equal(twilio_parse_status(f, &st, &why), -1);
    assert_string_equal(why, "malformed ErrorCode");
    form_free(f);
}

/*
 * A single-valued field given twice is a 400, even when both copies agree: Twilio never
 * repeats them, and the first or the last copy winning would be a guess (found by the
 * hostile-request table, tests/unit/test_hostile.c). Repeated unknown fields still pass.
 */
static void test_duplicate_fields(void **state)
{
    (void)state;
    const struct form_pair p[] = {
        {"MessageSid", MSID}, {"From", "+14155550100"}, {"To", "+19497633440"}, {"Body", "hi"}};
    const char *names[] = {"MessageSid", "AccountSid", "From",        "To",
                           "Body",       "NumMedia",   "NumSegments", "OptOutType"};
    const char *values[] = {MSID, ASID, "+14155550101", "+19497633440", "hi", "0", "1", "STOP"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct form_pair dup[6] = {
            p[0], p[1], p[2], p[3], {names[i], values[i]}, {names[i], values[i]}};
        char reason[64];
        snprintf(reason, sizeof reason, "duplicate %s", names[i]);
        expect_inbound_error(dup, 6, reason);
    }
    struct form_pair extra[6] = {p[0], p[1], p[2], p[3], {"ToCity", "A"}, {"ToCity", "B"}};
    struct form *f = make_form(extra, 6);
    struct gateway_inbound in;
    const char *why = NULL;
    assert_int_equal(twilio_parse_inbound(f, &in, &why), 0);
    form_free(f);

    const char *snames[] = {"MessageSid", "AccountSid", "MessageStatus", "SmsStatus", "ErrorCode"};
    const char *svalues[] = {MSID, ASID, "sent", "sent", "30003"};
    for (size_t i = 0; i < sizeof snames / sizeof snames[0]; i++) {
        struct form_pair dup[4] = {{"MessageSid", MSID},
                                   {"MessageStatus", "delivered"},
                                   {snames[i], svalues[i]},
                                   {snames[i], svalues[i]}};
        struct twilio_status_update st;
        char reason[64];
        snprintf(reason, sizeof reason, "duplicate %s", snames[i]);
        f = make_form(dup, 4);
        assert_int_equal(twilio_parse_status(f, &st, &why), -1);
        assert_string_equal(why, reason);
        form_free(f);
    }
}

/* ---- sending ---- */

static void test_send_request(void **state)
{
    (void)state;
    struct twilio_send_request req;
    assert_int_equal(twilio_send_request_build(&req, "https://api.twilio.com", ASID, "+19497633440",
                                               "+14155550100",
                                               "Reply STOP to opt out. \xC2\xBFQu\xC3\xA9?",
                                               "https://sms.example.org/webhooks/twilio/status"),
                     0);
    assert_string_equal(req.url,
                        "https://api.twilio.com/2010-04-01/Accounts/" ASID "/Messages.json");
    /* Byte for byte what urllib.parse.urlencode produces for the same fields. */
    assert_string_equal(req.body,
                        "To=%2B14155550100"
                        "&StatusCallback=https%3A%2F%2Fsms.example.org%2Fwebhooks%2Ftwilio%2Fstatus"
                        "&From=%2B19497633440"
                        "&Body=Reply+STOP+to+opt+out.+%C2%BFQu%C3%A9%3F");
    twilio_send_request_clear(&req);
    assert_null(req.url);
    twilio_send_request_clear(&req);

    /* A trailing slash on the base; no status callback. */
    assert_int_equal(twilio_send_request_build(&req, "http://127.0.0.1:9999/", ASID, "+19497633440",
                                               "+14155550100", "", NULL),
                     0);
    assert_string_equal(req.url,
                        "http://127.0.0.1:9999/2010-04-01/Accounts/" ASID "/Messages.json");
    assert_string_equal(req.body, "To=%2B14155550100&From=%2B19497633440&Body=");
    twilio_send_request_clear(&req);

    /* The sid goes into the path: anything but AC + 32 hex is refused. */
    assert_int_equal(twilio_send_request_build(&req, "https://api.twilio.com", "AC/../x",
                                               "+19497633440", "+14155550100", "hi", NULL),
                     -1);
    assert_null(req.url);
    assert_int_equal(twilio_send_request_build(&req, "https://api.twilio.com", ASID, "",
                                               "+14155550100", "hi", NULL),
                     -1);
}

static void classify(long status, const char *body, struct twilio_send_result *r)
{
    twilio_send_classify(status, body, body ? strlen(body) : 0, r);
    assert_non_null(r->reason);
    /* Reasons are static text: never a number or body from the response. */
    assert_null(strstr(r->reason, "+1"));
    assert_null(strstr(r->reason, "415"));
}

#define ERR_BODY(code)                                                                             \
    "{\"code\": " #code ", \"message\": \"The 'To' number +14155550100 is not valid.\", "          \
    "\"more_info\": \"https://www.twilio.com/docs/errors/" #code "\", \"status\": 400}"

static void test_classify_success(void **state)
{
    (void)state;
    struct twilio_send_result r;
    classify(201,
             "{\"account_sid\": \"" ASID "\", \"body\": \"hi\", \"direction\": \"outbound-api\","
             " \"error_code\": null, \"from\": \"+19497633440\", \"num_segments\": \"1\","
             " \"sid\": \"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"status\": \"queued\","
             " \"to\": \"+14155550100\"}",
             &r);
    assert_int_equal(r.outcome, TWILIO_SENT);
    assert_string_equal(r.sid, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_string_equal(r.status, "queued");
    assert_int_equal(r.flags, 0);
    assert_int_equal(r.http_status, 201);

    /* A 2xx without a usable sid is still sent: resending could duplicate. */
    classify(201, "not json", &r);
    assert_int_equal(r.outcome, TWILIO_SENT);
    assert_string_equal(r.sid, "");
    assert_string_equal(r.status, "");
    classify(201, "{\"sid\": \"SM<script>\", \"status\": \"Queued!\"}", &r);
    assert_int_equal(r.outcome, TWILIO_SENT);
    assert_string_equal(r.sid, "");
    assert_string_equal(r.status, "");
}

static void test_classify_retry(void **state)
{
    (void)state;
    struct twilio_send_result r;
    classify(429, "{\"code\": 20429, \"message\": \"Too Many Requests\", \"status\": 429}", &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);
    assert_int_equal(r.error_code, 20429);
    assert_false(r.flags & TWILIO_F_MAYBE_SENT);
    classify(429, NULL, &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);

    classify(500, "{\"code\": 20500, \"message\": \"Internal Server Error\"}", &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);
    assert_true(r.flags & TWILIO_F_MAYBE_SENT);
    classify(503, "<html>busy</html>", &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);
    classify(0, NULL, &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);
    assert_true(r.flags & TWILIO_F_MAYBE_SENT);

    classify(400, ERR_BODY(21611), &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);
    assert_true(r.flags & TWILIO_F_THROTTLE);
    classify(400, ERR_BODY(30001), &r);
    assert_int_equal(r.outcome, TWILIO_RETRY);
    assert_true(r.flags & TWILIO_F_THROTTLE);
}

static void test_classify_permanent(void **state)
{
    (void)state;
    struct twilio_send_result r;
    classify(400, ERR_BODY(21610), &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
    assert_int_equal(r.error_code, 21610);
    assert_int_equal(r.flags, TWILIO_F_OPTED_OUT);

    const int plain[] = {21211, 21614, 30006};
    for (size_t i = 0; i < 3; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"code\": %d, \"message\": \"x\", \"status\": 400}",
                 plain[i]);
        classify(400, body, &r);
        assert_int_equal(r.outcome, TWILIO_PERMANENT);
        assert_int_equal(r.error_code, plain[i]);
        assert_int_equal(r.flags, 0);
    }
    const int config[] = {21408, 21608, 30007, 30032, 30034};
    for (size_t i = 0; i < 5; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"code\": %d, \"status\": 400}", config[i]);
        classify(400, body, &r);
        assert_int_equal(r.outcome, TWILIO_PERMANENT);
        assert_int_equal(r.flags, TWILIO_F_CONFIG);
    }

    /* Auth: permanent for the job, flagged because the configuration is wrong. */
    classify(401, "{\"code\": 20003, \"message\": \"Authenticate\", \"status\": 401}", &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
    assert_int_equal(r.error_code, 20003);
    assert_true(r.flags & TWILIO_F_AUTH);
    classify(403, NULL, &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
    assert_true(r.flags & TWILIO_F_AUTH);

    /* Unknown code, no body, 404, RFC 9457 string code, unexpected status. */
    classify(400, ERR_BODY(21999), &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
    assert_string_equal(r.reason, "unclassified gateway error");
    classify(400, NULL, &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
    assert_int_equal(r.error_code, 0);
    classify(404, "{\"status\": 404}", &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
    assert_true(r.flags & TWILIO_F_CONFIG);
    classify(400, "{\"type\": \"x\", \"title\": \"t\", \"status\": 400, \"code\": \"21610\"}", &r);
    assert_int_equal(r.error_code, 21610);
    assert_true(r.flags & TWILIO_F_OPTED_OUT);
    classify(302, NULL, &r);
    assert_int_equal(r.outcome, TWILIO_PERMANENT);
}

static void test_error_classify_codes(void **state)
{
    (void)state;
    unsigned flags = 0;
    const char *reason = NULL;
    assert_int_equal(twilio_error_classify(30003, &flags, &reason), TWILIO_RETRY);
    assert_true(flags & TWILIO_F_RETRY_ONCE);
    assert_string_equal(reason, "handset unreachable");
    flags = 0;
    assert_int_equal(twilio_error_classify(21610, &flags, NULL), TWILIO_PERMANENT);
    assert_int_equal(flags, TWILIO_F_OPTED_OUT);
    assert_int_equal(twilio_error_classify(20429, NULL, NULL), TWILIO_RETRY);
    assert_int_equal(twilio_error_classify(12345, NULL, &reason), TWILIO_PERMANENT);
    assert_string_equal(reason, "unclassified gateway error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_base_case),         cmocka_unit_test(test_v2_repeated_params),
        cmocka_unit_test(test_v3_v4_default_ports),  cmocka_unit_test(test_v5_custom_port),
        cmocka_unit_test(test_v6_v7_json_body),      cmocka_unit_test(test_v8_userinfo),
        cmocka_unit_test(test_v9_binding_address),   cmocka_unit_test(test_v10_only_with_port),
        cmocka_unit_test(test_quote_reencoding),     cmocka_unit_test(test_tampering_fails),
        cmocka_unit_test(test_parse_inbound),        cmocka_unit_test(test_inbound_errors),
        cmocka_unit_test(test_inbound_body_bounds),  cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_status_order),         cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_send_request),         cmocka_unit_test(test_classify_success),
        cmocka_unit_test(test_classify_retry),       cmocka_unit_test(test_classify_permanent),
        cmocka_unit_test(test_error_classify_codes), cmocka_unit_test(test_duplicate_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
