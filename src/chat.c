/*
 * chat: escalation events as a chat message (see chat.h).
 *
 * Each event line is parsed with jansson (the lines are escalation.c's own output, so a
 * line that does not parse is skipped rather than trusted). Lines are built in a growing
 * buffer; a run of paged/re-paged events of one escalation is folded into one line by
 * remembering the last line's (event, escalation) and where its staff list ends.
 */
#include "hotline/chat.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hotline/escalation.h"
#include "hotline/intent.h"
#include "hotline/log.h"

struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->failed = true;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Appends s with Slack's three control characters escaped. */
static void buf_add_escaped(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            buf_add(b, "&amp;", 5);
            break;
        case '<':
            buf_add(b, "&lt;", 4);
            break;
        case '>':
            buf_add(b, "&gt;", 4);
            break;
        default:
            buf_add(b, s, 1);
        }
    }
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char *str_field(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* What happened, in words, before the staff member's name where there is one. */
static const char *action_words(const char *event)
{
    static const struct {
        const char *event, *words;
    } table[] = {
        {"opened", "opened"},
        {"paged", "paged"},
        {"re-paged", "not acknowledged, paged again"},
        {"joined", "the texter wrote again"},
        {"raised", "raised to urgent"},
        {"acknowledged", "acknowledged by"},
        {"relayed", "new text from the texter relayed to"},
        {"replied", "answered by"},
        {"closed", "closed by"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].event, event) == 0)
            return table[i].words;
    return NULL;
}

/* One event line into b. *fold_* remember the last line for folding pages. */
static void add_event(struct buf *b, json_t *o, char *fold_event, size_t fold_event_len,
                      int64_t *fold_id, size_t *fold_at)
{
    const char *event = str_field(o, "event");
    const char *words = action_words(event);
    if (!words)
        return; /* "viewed", or an event this module does not know */
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "escalation"));
    const char *staff = json_string_value(json_object_get(o, "staff"));
    const char *via = str_field(o, "via");
    bool pages = strcmp(event, "paged") == 0 || strcmp(event, "re-paged") == 0;

    if (pages && staff && *fold_id == id && strcmp(fold_event, event) == 0 && !b->failed) {
        /* Another staff member of the same round: insert ", name" after the list. */
        struct buf tail = {0};
        buf_add(&tail, b->s + *fold_at, b->len - *fold_at);
        b->len = *fold_at;
        buf_add(b, ", ", 2);
        buf_add_escaped(b, staff);
        *fold_at = b->len;
        if (tail.s)
            buf_add(b, tail.s, tail.len);
        b->failed |= tail.failed;
        free(tail.s);
        return;
    }

    int intent = intent_from_name(str_field(o, "intent"));
    const char *need = escalation_need(intent >= 0 ? (enum intent)intent : INTENT_COUNT);
    char masked[32];
    log_mask_phone(str_field(o, "texter"), masked, sizeof masked);
    bool urgent = strcmp(str_field(o, "level"), "urgent") == 0;

    if (b->len)
        buf_add(b, "\n", 1);
    buf_printf(b, "%s #%lld %s", urgent ? "URGENT" : "standard", (long long)id, words);
    bool with_staff = staff && *staff;
    if (with_staff) {
        buf_add(b, " ", 1);
        buf_add_escaped(b, staff);
    }
    size_t staff_end = b->len;
    if (with_staff && *via && strcmp(via, "service") != 0)
        buf_printf(b, " (%s)", via);
    buf_add(b, ": ", 2);
    buf_add_escaped(b, need);
    buf_printf(b, ", texter %s", masked);

    snprintf(fold_event, fold_event_len, "%s", pages ? event : "");
    *fold_id = pages ? id : -1;
    *fold_at = staff_end;
}

char *chat_text(const char *lines, size_t len)
{
    if (!lines)
        return NULL;
    struct buf b = {0};
    char fold_event[16] = "";
    int64_t fold_id = -1;
    size_t fold_at = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(lines + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (lines + at)) : len - at;
        json_t *o = n ? json_loadb(lines + at, n, 0, NULL) : NULL;
        if (json_is_object(o))
            add_event(&b, o, fold_event, sizeof fold_event, &fold_id, &fold_at);
        json_decref(o);
        at += n + 1;
    }
    if (b.failed || !b.len) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *chat_payload(const char *text)
{
    json_t *o = text ? json_pack("{s:s}", "text", text) : NULL;
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return body;
}

char *chat_message(const char *lines, size_t len)
{
    char *text = chat_text(lines, len);
    char *body = chat_payload(text);
    free(text);
    return body;
}
