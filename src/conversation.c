/*
 * conversation: the per-sender decision for one inbound text (see conversation.h).
 *
 * Kept pure so that it runs on the store's writer thread inside the text's transaction,
 * in `hotline chat` on a state kept in memory, and in tests as a table. The decision
 * goes in steps, each of which may settle it: the counters every text moves (the loop
 * guard's, the language, the misses), the menu number, the compliance keywords, the
 * opt-out, the loop guard, the budget, then the answer itself and the repeat pointer.
 */
#include "hotline/conversation.h"

#include <ctype.h>
#include <string.h>

#define MINUTE_MS (60 * (int64_t)1000)

void conversation_rules_default(struct conversation_rules *rules)
{
    *rules = (struct conversation_rules){
        .mode = KEYWORDS_SELF,
        .reply_budget = 20,
        .budget_window_ms = 60 * MINUTE_MS,
        .repeat_ms = 5 * MINUTE_MS,
        .menu_ms = 30 * MINUTE_MS,
        .loop_repeats = 4,
        .loop_echoes = 2,
        .loop_repeat_ms = 10 * MINUTE_MS,
        .loop_texts = 15,
        .loop_window_ms = 2 * MINUTE_MS,
        .mute_ms = 60 * MINUTE_MS,
    };
}

/* FNV-1a over the letters and digits, lower-cased: "OK!" and "ok" are the same text. */
static uint32_t text_hash(const char *text, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x80 && !isalnum(c))
            continue;
        h ^= (uint32_t)(c < 0x80 ? tolower(c) : c);
        h *= 16777619u;
    }
    return h;
}

/* The text without surrounding spaces and punctuation, when that is one ASCII word or
 * digit run of at most cap - 1 bytes (lower-cased into out); else "". */
static void bare_word(const char *text, size_t len, char *out, size_t cap)
{
    size_t a = 0, b = len;
    while (a < b && !isalnum((unsigned char)text[a]))
        a++;
    while (b > a && !isalnum((unsigned char)text[b - 1]))
        b--;
    out[0] = '\0';
    if (b - a == 0 || b - a >= cap)
        return;
    for (size_t i = a; i < b; i++)
        if (!isalnum((unsigned char)text[i]))
            return;
    for (size_t i = a; i < b; i++)
        out[i - a] = (char)tolower((unsigned char)text[i]);
    out[b - a] = '\0';
}

/* Moves the loop guard's counters for a text at now; true when it is (still) looping. */
static bool loop_guard(const struct conversation_rules *rules, struct conversation_memory *m,
                       uint32_t hash, int64_t now, bool *detected)
{
    bool again =
        m->last_text_at && m->last_hash == hash && now - m->last_text_at <= rules->loop_repeat_ms;
    m->same_texts = again ? m->same_texts + 1 : 1;
    m->last_hash = hash;
    /* A person does not send hotline's own words back; an auto-responder does. */
    bool echo = m->reply_hash && hash == m->reply_hash;
    m->echoes = echo ? m->echoes + 1 : 0;
    if (!m->window_start || now - m->window_start > rules->loop_window_ms) {
        m->window_start = now;
        m->window_texts = 0;
    }
    m->window_texts++;

    bool looping = m->same_texts >= rules->loop_repeats || m->echoes >= rules->loop_echoes ||
                   m->window_texts > rules->loop_texts;
    bool muted = m->muted_until > now;
    *detected = looping && !muted;
    if (looping)
        m->muted_until = now + rules->mute_ms; /* silent while it goes on, and a while after */
    return looping || muted;
}

void conversation_decide(const struct replies *replies, const struct conversation_rules *rules,
                         const struct sender_state *state, const struct conversation_input *in,
                         struct conversation_decision *out)
{
    memset(out, 0, sizeof *out);
    out->next = *state;
    struct conversation_memory *mem = &out->next.memory;
    const struct conversation_memory *was = &state->memory;
    int64_t now = in->now;
    enum intent intent = in->intent;

    /* The menu: a bare number soon after the menu picks its topic; 0 shows the menu. */
    char word[8];
    bare_word(in->text, in->len, word, sizeof word);
    bool menu_request = false;
    if (word[0] && word[1] == '\0' && isdigit((unsigned char)word[0]) && !state->opted_out) {
        int d = word[0] - '0';
        if (d == 0) {
            intent = INTENT_GREETING;
            menu_request = true;
            out->flags |= CONV_MENU_PICK;
        } else if (was->menu_at && now - was->menu_at <= rules->menu_ms &&
                   replies->menu.item[d] != INTENT_COUNT) {
            intent = replies->menu.item[d];
            out->flags |= CONV_MENU_PICK;
        }
    }
    /* YES opts back in only after a STOP; from anyone else it answers something we
     * cannot see, so it gets what any text we cannot place gets: the menu. */
    if (intent == INTENT_OPT_IN && !state->opted_out && strcmp(word, "yes") == 0)
        intent = INTENT_FALLBACK;
    out->intent = intent;
    out->escalation = intent_escalation(intent);
    bool urgent = out->escalation == ESCALATE_URGENT;

    /* Language: a bare keyword, a number, "ok" carry none of their own; answer in the
     * one the texter used last. */
    enum lang lang = in->lang;
    if (!in->lang_sure || (in->keyword && in->lang == LANG_EN) || (out->flags & CONV_MENU_PICK))
        lang = state->lang;
    else
        out->next.lang = in->lang;
    out->reply_lang = lang;

    if (intent == INTENT_FALLBACK) {
        out->next.misses = state->misses + 1;
        if (out->next.misses >= CONVERSATION_MISSES_TO_ESCALATE &&
            out->escalation == ESCALATE_NONE) {
            out->escalation = ESCALATE_STANDARD;
            out->why = "repeated fallback: a person follows up";
        }
    } else {
        out->next.misses = 0;
    }

    bool loop_detected;
    bool looping = loop_guard(rules, mem, text_hash(in->text, in->len), now, &loop_detected);
    mem->last_text_at = now;
    mem->last_intent = intent;
    if (loop_detected)
        out->flags |= CONV_LOOP_DETECTED;

    const char *reply = replies->intents[intent].answer[lang];
    bool gateway_keyword = rules->mode == KEYWORDS_GATEWAY && in->keyword;
    switch (intent) {
    case INTENT_OPT_OUT:
        out->next.opted_out = true;
        if (state->opted_out) {
            out->why = "already opted out: no second confirmation";
            return;
        }
        out->flags |= CONV_OPTED_OUT_NOW;
        out->opt_source = in->keyword ? "keyword" : "request";
        if (gateway_keyword) {
            out->why = "opt-out keyword answered by the gateway";
            return;
        }
        /* The one confirmation goes even to a number the loop guard silenced. */
        out->reply = reply;
        out->why = "opt-out confirmed";
        return;
    case INTENT_OPT_IN: {
        out->next.opted_out = false;
        if (state->opted_out) {
            out->flags |= CONV_OPTED_IN_NOW;
            out->opt_source = "keyword";
        }
        if (gateway_keyword) {
            out->why = "opt-in keyword answered by the gateway";
            return;
        }
        if (looping) {
            out->flags |= CONV_MUTED;
            out->why = "loop guard: not answering this number for now";
            return;
        }
        out->reply = reply;
        out->why = state->opted_out ? "opted back in" : "opt-in keyword";
        return;
    }
    case INTENT_HELP_KEYWORD:
        if (gateway_keyword) {
            out->why = "help keyword answered by the gateway";
            return;
        }
        if (looping) {
            out->flags |= CONV_MUTED;
            out->why = "loop guard: not answering this number for now";
            return;
        }
        out->reply = reply; /* opted out or not: HELP always answers */
        out->why = "help keyword";
        return;
    default:
        break;
    }

    if (state->opted_out) {
        /* Urgent texts still reach staff through the escalation; the texter gets no SMS. */
        out->why =
            urgent ? "sender opted out: no reply, staff alerted" : "sender opted out: no reply";
        return;
    }
    if (state->held && !urgent) {
        out->why = "held by staff: the text goes to them";
        return;
    }
    if (looping) {
        out->flags |= CONV_MUTED;
        out->why = loop_detected ? "loop guard: another auto-responder? not answering for now"
                                 : "loop guard: not answering this number for now";
        return;
    }

    /* The budget counts every auto-reply; past it only urgent answers still go. */
    if (!mem->budget_start || now - mem->budget_start >= rules->budget_window_ms) {
        mem->budget_start = now;
        mem->budget_replies = 0;
    }
    if (mem->budget_replies >= rules->reply_budget && !urgent) {
        out->flags |= CONV_OVER_BUDGET;
        out->why = "reply budget used up: stored for staff";
        if (mem->budget_replies == rules->reply_budget) {
            /* Once per window, a person is asked to look at the conversation. */
            out->flags |= CONV_BUDGET_REACHED;
            mem->budget_replies++;
            if (out->escalation == ESCALATE_NONE)
                out->escalation = ESCALATE_STANDARD;
            out->why = "reply budget reached: a person follows up";
        }
        return;
    }

    /* The same answer again within minutes: a pointer to it. Never for an urgent
     * answer, the fallback (each one answers a different text) or the menu asked for
     * by 0. */
    if (!urgent && !menu_request && intent != INTENT_FALLBACK && was->last_answer_at &&
        was->last_answer == intent && now - was->last_answer_at < rules->repeat_ms) {
        out->reply = replies->menu.repeat[lang];
        out->flags |= CONV_REPEAT_POINTER;
        out->why = "same answer a few minutes ago: pointer";
    } else {
        out->reply = reply;
        mem->last_answer = intent;
        mem->last_answer_at = now;
        if (!out->why)
            out->why = out->flags & CONV_MENU_PICK ? "menu choice" : "answered";
    }
    if (mem->budget_replies < rules->reply_budget)
        mem->budget_replies++;
    mem->reply_hash = text_hash(out->reply, strlen(out->reply));
    const char *menu = replies->menu.text[lang];
    if (menu && strstr(out->reply, menu)) {
        mem->menu_at = now;
        out->flags |= CONV_MENU_SHOWN;
    }
}
