/*
 * conversation: the per-sender decision for one inbound text (see conversation.h).
 * Kept pure so that it can run on the store's writer thread and be tested as a table.
 */
#include "hotline/conversation.h"

#include <string.h>

void conversation_decide(const struct replies *replies, enum keyword_mode mode,
                         const struct sender_state *state, const struct conversation_input *in,
                         struct conversation_decision *out)
{
    memset(out, 0, sizeof *out);
    out->next = *state;
    out->escalation = intent_escalation(in->intent);

    /* Bare keywords carry no language of their own: answer in the one the texter used
     * last. Texts with words set the language for what follows. */
    enum lang lang = in->lang;
    if (in->keyword && in->lang == LANG_EN)
        lang = state->lang;
    else if (in->intent != INTENT_FALLBACK)
        out->next.lang = in->lang;
    out->reply_lang = lang;

    if (in->intent == INTENT_FALLBACK) {
        out->next.misses = state->misses + 1;
        if (out->next.misses >= CONVERSATION_MISSES_TO_ESCALATE &&
            out->escalation == ESCALATE_NONE) {
            out->escalation = ESCALATE_STANDARD;
            out->why = "repeated fallback: a person follows up";
        }
    } else {
        out->next.misses = 0;
    }

    switch (in->intent) {
    case INTENT_OPT_OUT:
        out->next.opted_out = true;
        if (state->opted_out) {
            out->why = "already opted out: no second confirmation";
            return;
        }
        if (mode == KEYWORDS_GATEWAY && in->keyword) {
            out->why = "opt-out keyword answered by the gateway";
            return;
        }
        out->reply = replies->intents[INTENT_OPT_OUT].answer[lang];
        out->why = "opt-out confirmed";
        return;
    case INTENT_OPT_IN:
        out->next.opted_out = false;
        if (mode == KEYWORDS_GATEWAY && in->keyword) {
            out->why = "opt-in keyword answered by the gateway";
            return;
        }
        out->reply = replies->intents[INTENT_OPT_IN].answer[lang];
        out->why = state->opted_out ? "opted back in" : "opt-in keyword";
        return;
    default:
        break;
    }

    if (state->opted_out) {
        /* Nothing but the one confirmation reaches an opted-out number. Urgent texts
         * still reach staff through the escalation. */
        out->why = "sender opted out: no reply";
        return;
    }
    if (in->intent == INTENT_HELP_KEYWORD && mode == KEYWORDS_GATEWAY && in->keyword) {
        out->why = "help keyword answered by the gateway";
        return;
    }
    out->reply = replies->intents[in->intent].answer[lang];
    if (!out->why)
        out->why = "answered";
}
