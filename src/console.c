/*
 * console: `hotline chat` (see console.h). A list of texters, each with the
 * sender_state the store would keep; every text is decided by conversation_decide on the
 * wall clock, exactly as the service decides it, so what staff see here is what a
 * texter would get (a pointer instead of a repeated answer, silence after STOP...).
 */
#include "hotline/console.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "hotline/matcher.h"
#include "hotline/replies.h"
#include "hotline/sms.h"
#include "hotline/urgency.h"

#define DEFAULT_TEXTER "+15555550100"
#define NUMBER_MAX 24

struct texter {
    char number[NUMBER_MAX];
    struct sender_state state;
    struct texter *next;
};

struct session {
    const struct replies *replies;
    struct matcher *matcher;
    const struct conversation_rules *rules;
    FILE *out;
    struct texter *texters;
    struct texter *current;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The texter with number, created (all zeros: never seen) if new; NULL when out of memory. */
static struct texter *texter_get(struct session *s, const char *number)
{
    for (struct texter *t = s->texters; t; t = t->next)
        if (strcmp(t->number, number) == 0)
            return t;
    struct texter *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->number, sizeof t->number, "%s", number);
    t->next = s->texters;
    s->texters = t;
    return t;
}

/* "+" and 7 to 15 digits: the E.164 shape the gateway sends. */
static bool e164(const char *s)
{
    if (*s++ != '+')
        return false;
    size_t n = 0;
    for (; isdigit((unsigned char)s[n]); n++)
        ;
    return s[n] == '\0' && n >= 7 && n <= 15;
}

static void print_sms_size(FILE *f, const char *text)
{
    char size[64];
    sms_describe(text, size, sizeof size);
    fputs(size, f);
}

static const char *ago(int64_t then, int64_t now, char *buf, size_t cap)
{
    if (!then)
        return "never";
    snprintf(buf, cap, "%llds ago", (long long)((now - then) / 1000));
    return buf;
}

static void show_state(struct session *s)
{
    const struct sender_state *st = &s->current->state;
    const struct conversation_memory *m = &st->memory;
    int64_t now = now_ms();
    char a[32], b[32], c[32];
    fprintf(s->out,
            "  [texter %s: %s, language %s, misses %d, last text %s, menu shown %s, last "
            "answer %s %s, auto-replies this hour %d of %d%s]\n",
            s->current->number, st->opted_out ? "OPTED OUT" : "subscribed", lang_name(st->lang),
            st->misses, ago(m->last_text_at, now, a, sizeof a), ago(m->menu_at, now, b, sizeof b),
            m->last_answer_at ? intent_name(m->last_answer) : "-",
            ago(m->last_answer_at, now, c, sizeof c), m->budget_replies, s->rules->reply_budget,
            m->muted_until > now ? ", muted by the loop guard" : "");
}

static void command(struct session *s, char *line)
{
    char *arg = line + strcspn(line, " \t");
    if (*arg)
        *arg++ = '\0';
    while (*arg == ' ' || *arg == '\t')
        arg++;
    if (strcmp(line, "/as") == 0) {
        if (!e164(arg)) {
            fprintf(s->out, "  [/as needs a number like +15555550123]\n");
            return;
        }
        struct texter *t = texter_get(s, arg);
        if (!t) {
            fprintf(s->out, "  [out of memory]\n");
            return;
        }
        s->current = t;
        fprintf(s->out, "  [now texting as %s]\n", t->number);
        show_state(s);
    } else if (strcmp(line, "/reset") == 0) {
        memset(&s->current->state, 0, sizeof s->current->state);
        fprintf(s->out, "  [%s starts afresh: a texter never seen]\n", s->current->number);
    } else if (strcmp(line, "/state") == 0) {
        show_state(s);
    } else if (strcmp(line, "/help") == 0) {
        fprintf(s->out, "  [/as +1NUMBER: text as another texter; /reset: forget this texter;\n"
                        "   /state: what hotline remembers of them; Ctrl-D: quit]\n");
    } else {
        fprintf(s->out, "  [unknown command %s: try /help]\n", line);
    }
}

static void text(struct session *s, const char *body, size_t len)
{
    struct match_result r;
    struct match_explain why;
    matcher_classify(s->matcher, body, len, &r, &why);
    struct conversation_input in = {.text = body,
                                    .len = len,
                                    .intent = r.intent,
                                    .lang = r.lang,
                                    .lang_sure = r.lang_sure != 0,
                                    .confidence = r.confidence,
                                    .keyword = r.keyword != 0,
                                    .now = now_ms()};
    struct conversation_decision d;
    conversation_decide(s->replies, s->rules, &s->current->state, &in, &d);
    s->current->state = d.next;

    if (d.reply)
        fprintf(s->out, "hotline> %s\n", d.reply);
    else
        fprintf(s->out, "hotline> (no reply)\n");
    fprintf(s->out, "  [intent=%s", intent_name(r.intent));
    if (d.intent != r.intent)
        fprintf(s->out, " -> %s", intent_name(d.intent));
    fprintf(s->out, " lang=%s%s reply_lang=%s confidence=%.2f escalate=%s", lang_name(r.lang),
            r.lang_sure ? "" : "?", lang_name(d.reply_lang), r.confidence,
            escalation_name(d.escalation));
    if (d.reply) {
        fprintf(s->out, " sms=");
        print_sms_size(s->out, d.reply);
    }
    fprintf(s->out, "]\n  [conversation: %s]\n", d.why ? d.why : "-");
    if (d.escalation != ESCALATE_NONE)
        fprintf(s->out, "  [staff: %s escalation%s]\n", escalation_name(d.escalation),
                d.escalation == ESCALATE_URGENT ? ": on-call staff are paged now" : "");
    fprintf(s->out, "  [words: %s]\n", why.normalized);
    if (why.reason[0])
        fprintf(s->out, "  [why: %s]\n", why.reason);
    if (why.net)
        fprintf(s->out, "  [safety net: p=%.3f (threshold %.2f, %s); words: %s]\n", why.urgency,
                why.urgency_threshold,
                why.crisis_words ? "the rules saw crisis words" : "no crisis words",
                why.net_words[0] ? why.net_words : "-");
    /* The three best scores, for tuning. */
    fprintf(s->out, "  [scores:");
    int shown[3] = {-1, -1, -1};
    for (int k3 = 0; k3 < 3; k3++) {
        int best = -1;
        for (int k = 0; k < INTENT_COUNT; k++) {
            if (k == shown[0] || k == shown[1])
                continue;
            if (best < 0 || why.score[k] > why.score[best])
                best = k;
        }
        shown[k3] = best;
        if (best >= 0 && why.score[best] > 0)
            fprintf(s->out, " %s=%.2f", intent_name((enum intent)best), why.score[best]);
    }
    fprintf(s->out, "]\n\n");
}

int console_run(const struct replies *replies, struct matcher *matcher,
                const struct conversation_rules *rules, FILE *in, FILE *out, bool prompt)
{
    struct session s = {.replies = replies, .matcher = matcher, .rules = rules, .out = out};
    if (!(s.current = texter_get(&s, DEFAULT_TEXTER)))
        return -1;
    if (prompt)
        fprintf(out,
                "hotline chat: type as a texter would (English or Spanish); /help for "
                "commands. Ctrl-D ends.\nYou are texting as %s.\n\n",
                s.current->number);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (;;) {
        if (prompt) {
            fprintf(out, "%s> ", s.current->number);
            fflush(out);
        }
        if ((n = getline(&line, &cap, in)) == -1)
            break;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (line[0] == '/')
            command(&s, line);
        else
            text(&s, line, (size_t)n);
        fflush(out);
    }
    free(line);
    while (s.texters) {
        struct texter *next = s.texters->next;
        free(s.texters);
        s.texters = next;
    }
    return 0;
}
