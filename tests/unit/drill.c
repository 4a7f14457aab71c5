/*
 * drill: the fault drills' setup on top of service_fixture, their sender's webhook and
 * their audit of what reached the mock (see drill.h).
 */
#include "drill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int drill_setup(void **state)
{
    struct fx *fx = fx_new();
    with_credentials(fx);
    use_fixed_port(fx);
    env_set(fx, "HOTLINE_PUBLIC_URL", fx->base_url);
    env_set(fx, "HOTLINE_FROM", HOTLINE);
    env_set(fx, "HOTLINE_REPAGE_SECONDS", "86400");
    env_set(fx, "HOTLINE_LOG_LEVEL", "info");
    env_set(fx, "HOTLINE_KEYWORD_REPLIES", "self");
    *state = fx;
    return 0;
}

int drill_teardown(void **state)
{
    struct fx *fx = *state;
    if (getenv("DRILL_KEEP")) {
        printf("DRILL kept %s\n", fx->tmp);
        free(fx->tmp);
        fx->tmp = NULL;
    }
    fx_free(fx);
    return 0;
}

long drill_post_text(struct fx *fx, CURL *c, const char *sid, const char *from, const char *text,
                     long timeout_ms)
{
    struct form_pair p[TEXT_FIELDS];
    text_form(p, sid, SID, from, HOTLINE, text);
    return try_post_form(fx, c, timeout_ms, "/webhooks/twilio/messages", p, TEXT_FIELDS, TOKEN,
                         NULL, NULL);
}

long drill_env_int(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    return *end ? def : n;
}

/* ---- what reached the mock ---- */

struct drill_send *drill_sends(struct fx *fx, size_t *n)
{
    size_t count = mock_gateway_count(fx->mg);
    struct drill_send *s = calloc(count ? count : 1, sizeof *s);
    assert_non_null(s);
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        struct mock_request r;
        if (mock_gateway_request(fx->mg, i, &r) != 0)
            continue;
        char *to = mock_request_form(&r, "To"), *body = mock_request_form(&r, "Body");
        s[k].to = to ? to : strdup("");
        s[k].body = body ? body : strdup("");
        s[k].status = r.response_status;
        s[k].ms = r.received_ms;
        k++;
        mock_request_clear(&r);
    }
    *n = k;
    return s;
}

void drill_sends_free(struct drill_send *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].to);
        free(s[i].body);
    }
    free(s);
}

static int send_cmp(const void *a, const void *b)
{
    const struct drill_send *x = a, *y = b;
    int c = strcmp(x->to, y->to);
    if (!c)
        c = strcmp(x->body, y->body);
    if (!c)
        c = (x->ms > y->ms) - (x->ms < y->ms);
    return c;
}

void drill_sends_sort(struct drill_send *s, size_t n)
{
    qsort(s, n, sizeof *s, send_cmp);
}
