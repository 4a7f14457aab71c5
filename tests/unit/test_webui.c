/*
 * test_webui: the staff page and the API it adds, served by the real `hotline serve`.
 *
 * The embedded files (webui_find) hold no inline script, style or event handler (the
 * Content-Security-Policy would block them) and nothing from another origin. Then, with
 * service_fixture as in test_serve, the built binary on an ephemeral loopback port with a
 * fresh data folder, the mock Twilio API, Twilio credentials and alice on call with an
 * API token: the page and its files with their content types and security headers,
 * /staff -> /staff/, no file but the embedded ones; /staff/me and /staff/saved-replies
 * behind the token; and a conversation's thread with each reply's delivery status and
 * the texter's language.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hotline/saved_replies.h"
#include "hotline/webui.h"
#include "service_fixture.h"

/* ---- the embedded files ---- */

static void test_assets(void **state)
{
    (void)state;
    const struct webui_asset *index = webui_find("");
    assert_non_null(index);
    assert_ptr_equal(index, webui_find("index.html"));
    assert_string_equal(index->content_type, "text/html; charset=utf-8");
    assert_string_equal(webui_find("app.js")->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(webui_find("sms.js")->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(webui_find("app.css")->content_type, "text/css; charset=utf-8");
    assert_string_equal(webui_find("icon.svg")->content_type, "image/svg+xml");
    assert_null(webui_find("nope.js"));
    assert_null(webui_find("../CMakeLists.txt"));
    assert_null(webui_find("events"));
    assert_null(webui_find(NULL));

    /* The files are the ones in web/, byte for byte. */
    const char *names[] = {"index.html", "app.js", "sms.js", "app.css", "icon.svg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/web/%s", HOTLINE_SOURCE_DIR, names[i]);
        size_t len = 0;
        char *disk = tu_read_file(path, &len);
        const struct webui_asset *a = webui_find(names[i]);
        assert_non_null(disk);
        assert_int_equal(a->len, len);
        assert_memory_equal(a->data, disk, len);
        assert_int_equal(a->data[a->len], '\0');
        /* Nothing from another origin: no CDN, no font service (an SVG names its XML
         * namespace with a URL, which is never fetched). */
        for (const char *u = strstr(disk, "http"); u; u = strstr(u + 1, "http"))
            if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
                assert_true(strncmp(u, "http://www.w3.org/2000/svg\"", 27) == 0);
        free(disk);
    }

    /* No inline script, style or handler: every <script> has a src, no style="...", no
     * on...= attribute. */
    const char *html = (const char *)index->data;
    int scripts = 0;
    for (const char *s = strstr(html, "<script"); s; s = strstr(s + 1, "<script")) {
        const char *end = strchr(s, '>');
        assert_non_null(end);
        char tag[256];
        snprintf(tag, sizeof tag, "%.*s", (int)(end - s), s);
        assert_non_null(strstr(tag, " src=\""));
        assert_true(strncmp(end, "></script>", 10) == 0);
        scripts++;
    }
    assert_int_equal(scripts, 2);
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, " style="));
    assert_null(strstr(html, " onclick="));
    assert_null(strstr(html, " onload="));
    assert_null(strstr(html, " onsubmit="));
    assert_null(strstr(html, "javascript:"));
    assert_non_null(strstr(html, "<title>hotline staff</title>"));
    /* The token is never put where a URL could carry it: the form posts (and the policy
     * forbids form posts anyway), and the script reads the field itself. */
    assert_non_null(strstr(html, "<form id=\"signin-form\" method=\"post\""));
    assert_non_null(strstr(WEBUI_CSP, "form-action 'none'"));
    assert_non_null(strstr(WEBUI_CSP, "frame-ancestors 'none'"));
    assert_null(strstr(WEBUI_CSP, "unsafe"));
}

/* ---- the service ---- */

static char g_token[STAFF_TOKEN_SIZE]; /* alice's */

/* The fixture with credentials, and alice on call with her API token. */
static int webui_setup(void **state)
{
    setup(state);
    struct fx *fx = *state;
    with_credentials(fx);
    add_with_token(fx, "staff add alice --phone " ALICE " --on-call", g_token);
    return 0;
}

/* The value of header name (case-insensitive) in r, copied into out ("" when absent). */
static const char *header(const struct resp *r, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *l = r->headers; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"), v);
            break;
        }
    }
    return out;
}

static void assert_header(const struct resp *r, const char *name, const char *want)
{
    char v[512];
    header(r, name, v, sizeof v);
    if (strcmp(v, want) != 0)
        fail_msg("%s: \"%s\", want \"%s\"", name, v, want);
}

static void assert_staff_headers(const struct resp *r)
{
    assert_header(r, "Content-Security-Policy", WEBUI_CSP);
    assert_header(r, "X-Content-Type-Options", "nosniff");
    assert_header(r, "Referrer-Policy", "no-referrer");
    assert_header(r, "X-Frame-Options", "DENY");
    assert_header(r, "Cache-Control", "no-store");
}

/* A signed inbound text, as Twilio sends it. */
static void text(struct fx *fx, const char *from, const char *body)
{
    char sid[TWILIO_SID_LEN + 1];
    next_sid(fx, sid);
    struct resp r;
    assert_int_equal(post_text(fx, sid, SID, from, HOTLINE, body, TOKEN, &r), 200);
    /* The staff page's headers are for /staff only. */
    char v[64];
    assert_string_equal(header(&r, "Content-Security-Policy", v, sizeof v), "");
    resp_clear(&r);
}

static void post_status(struct fx *fx, const char *msid, const char *status)
{
    const struct form_pair p[] = {
        {"MessageSid", msid}, {"AccountSid", SID}, {"MessageStatus", status}};
    assert_int_equal(post_form(fx, "/webhooks/twilio/status", p, 3, TOKEN, NULL, NULL), 200);
}

/* ---- the tests ---- */

/* The page and its files, the redirect, the methods, nothing else served from disk. */
static void test_page_is_served(void **state)
{
    struct fx *fx = *state;
    start(fx);
    struct resp r;
    api(fx, "GET", "/staff/", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_staff_headers(&r);
    const struct webui_asset *index = webui_find("");
    assert_int_equal(r.len, index->len);
    assert_memory_equal(r.body, index->data, index->len);
    resp_clear(&r);

    api(fx, "GET", "/staff/app.js?v=1", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/javascript; charset=utf-8");
    assert_staff_headers(&r);
    resp_clear(&r);
    api(fx, "HEAD", "/staff/app.css", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "text/css; charset=utf-8");
    assert_int_equal(r.len, 0);
    resp_clear(&r);

    api(fx, "GET", "/staff", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 301);
    assert_header(&r, "Location", "/staff/");
    assert_staff_headers(&r);
    resp_clear(&r);

    api(fx, "POST", "/staff/", NULL, "x=1", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_header(&r, "Allow", "GET, HEAD");
    resp_clear(&r);
    api(fx, "GET", "/staff/nope.html", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_staff_headers(&r);
    resp_clear(&r);
    api(fx, "GET", "/staff/../CMakeLists.txt", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_clear(&r);
    api(fx, "GET", "/staff/%2e%2e/CMakeLists.txt", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_clear(&r);
    stop_ok(fx);
}

/* /staff/me and /staff/saved-replies: behind the token, logged under the staff name. */
static void test_me_and_saved_replies(void **state)
{
    struct fx *fx = *state;
    start(fx);
    struct resp r;
    api(fx, "GET", "/staff/me", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    assert_staff_headers(&r);
    resp_clear(&r);
    api(fx, "GET", "/staff/me", "hlt_0000000000000000000000000000000000000000", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    api(fx, "GET", "/staff/me", g_token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_staff_headers(&r);
    assert_string_equal(r.body, "{\"staff\":\"alice\"}\n");
    resp_clear(&r);
    api(fx, "POST", "/staff/me", g_token, "", NULL, &r);
    assert_int_equal(r.status, 405);
    resp_clear(&r);

    api(fx, "GET", "/staff/saved-replies", NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    api(fx, "GET", "/staff/saved-replies", g_token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_staff_headers(&r);
    struct saved_replies *s =
        saved_replies_load(HOTLINE_SOURCE_DIR "/replies/" SAVED_REPLIES_FILE, NULL, NULL);
    assert_non_null(s);
    char want[16384];
    snprintf(want, sizeof want, "%s\n", saved_replies_json(s));
    assert_string_equal(r.body, want);
    saved_replies_free(s);
    resp_clear(&r);
    stop_ok(fx);

    char *err = tu_read_file(fx->err_path, NULL);
    assert_non_null(strstr(err, "event=staff_api req="));
    assert_non_null(strstr(err, "action=me status=200 staff=alice"));
    assert_non_null(strstr(err, "action=saved_replies status=200 staff=alice"));
    assert_non_null(strstr(err, "action=me status=401 reason=no_token"));
    assert_null(strstr(err, g_token));
    free(err);
}

/* The thread: texts, auto-replies and staff replies, each reply with its delivery status,
 * and the texter's language. */
static void test_thread_has_delivery_status(void **state)
{
    struct fx *fx = *state;
    start(fx);
    text(fx, TEXTER, "me quiero morir");
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 2); /* reply + page */
    struct resp r;
    char path[64];
    snprintf(path, sizeof path, "/staff/escalations/%d", 1);
    api(fx, "POST", "/staff/escalations/1/reply", g_token,
        "{\"text\": \"Te escribe un consejero del centro.\"}", "application/json", &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    wait_db(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 3);
    char *sid =
        db_text(fx, "SELECT gateway_sid FROM jobs WHERE escalation_id = 1 AND kind = 'reply'");
    assert_non_null(sid);
    post_status(fx, sid, "delivered");
    free(sid);

    api(fx, "GET", path, g_token, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_staff_headers(&r);
    json_error_t jerr;
    json_t *e = json_loads(r.body, 0, &jerr);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "lang")), "es");
    assert_string_equal(json_string_value(json_object_get(e, "state")), "acknowledged");
    json_t *texts = json_object_get(e, "texts");
    assert_int_equal(json_array_size(texts), 2);
    json_t *t0 = json_array_get(texts, 0), *t1 = json_array_get(texts, 1);
    assert_string_equal(json_string_value(json_object_get(t0, "from")), "texter");
    assert_string_equal(json_string_value(json_object_get(t0, "text")), "me quiero morir");
    assert_non_null(json_string_value(json_object_get(t0, "reply")));
    assert_string_equal(json_string_value(json_object_get(t0, "reply_status")), "sent");
    assert_true(json_is_null(json_object_get(t0, "status")));
    assert_string_equal(json_string_value(json_object_get(t1, "from")), "staff");
    assert_string_equal(json_string_value(json_object_get(t1, "text")),
                        "Te escribe un consejero del centro.");
    assert_string_equal(json_string_value(json_object_get(t1, "status")), "delivered");
    assert_true(json_is_null(json_object_get(t1, "reply_status")));
    json_decref(e);
    resp_clear(&r);
    stop_ok(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets),
        cmocka_unit_test_setup_teardown(test_page_is_served, webui_setup, teardown),
        cmocka_unit_test_setup_teardown(test_me_and_saved_replies, webui_setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_has_delivery_status, webui_setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
