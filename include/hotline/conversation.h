/*
 * conversation: the decision for one inbound text, given what we know of its sender.
 *
 * Pure: values in, a value out, no I/O. The store calls it on its writer thread, inside
 * the transaction that records the text, so that two texts from one number are decided
 * in the order they commit (a STOP followed at once by "hi" must see the opt-out).
 *
 * What it guarantees:
 *  - an opted-out number gets nothing but the one opt-out confirmation (and START back);
 *  - keywords the gateway already answered get no second reply (keyword mode "gateway");
 *  - urgent texts are escalated whatever the sender's state, replies or not;
 *  - a texter who keeps getting the fallback is handed to a person.
 */
#ifndef HOTLINE_CONVERSATION_H
#define HOTLINE_CONVERSATION_H

#include <stdbool.h>

#include "hotline/intent.h"
#include "hotline/replies.h"

/* Who answers STOP/START/HELP: hotline itself, or the gateway (Twilio's built-in
 * opt-out handling, gateways.md section 6). */
enum keyword_mode { KEYWORDS_SELF, KEYWORDS_GATEWAY };

/* What hotline remembers of one texter. A number never seen before is all zeros. */
struct sender_state {
    bool opted_out;
    enum lang lang; /* the language of their last text with words in it */
    int misses;     /* fallbacks in a row */
};

/* The matcher's verdict on the text, plus whether it was a bare keyword. */
struct conversation_input {
    enum intent intent;
    enum lang lang;
    double confidence;
    bool keyword; /* the whole text was a compliance keyword (STOP, START, HELP...) */
};

struct conversation_decision {
    const char *reply; /* borrowed from the replies; NULL: send nothing */
    enum lang reply_lang;
    enum escalation escalation; /* what staff must do */
    struct sender_state next;   /* the sender's state after this text */
    const char *why;            /* a short, static reason for the log */
};

/* Fallbacks in a row after which a person follows up. */
#define CONVERSATION_MISSES_TO_ESCALATE 2

/* Decides. replies must stay valid while the decision's reply is used. */
void conversation_decide(const struct replies *replies, enum keyword_mode mode,
                         const struct sender_state *state, const struct conversation_input *in,
                         struct conversation_decision *out);

#endif
