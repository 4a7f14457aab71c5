/*
 * conversation: the decision for one inbound text, given what we know of its sender.
 *
 * Pure: values in, a value out, no I/O, no clock (the caller passes "now"). The store
 * calls it on its writer thread, inside the transaction that records the text, so that
 * two texts from one number are decided in the order they commit (a STOP followed at
 * once by "hi" must see the opt-out), and `hotline chat` calls it with a state it keeps
 * in memory, so staff can try the same flows at a terminal.
 *
 * What it guarantees, in this order of precedence:
 *  - urgent texts are escalated whatever the sender's state, replies or not;
 *  - an opted-out number gets nothing but the one opt-out confirmation, START back, and
 *    HELP (CTIA: HELP always answers);
 *  - keywords the gateway already answered get no second reply (keyword mode "gateway");
 *  - a texter a staff member holds gets no auto-replies but the urgent ones;
 *  - the loop guard: a number that sends the same text again and again, or more texts in
 *    a short window than a person types, is taken for another auto-responder; hotline
 *    stops auto-answering it for a while (escalations still open);
 *  - the reply budget: past so many auto-replies in an hour, texts are stored and a
 *    person is asked to look, but no more auto-replies go (urgent ones still do);
 *  - the same answer twice within a few minutes becomes a short pointer instead;
 *  - a bare menu number soon after the menu picks that topic; 0 shows the menu again;
 *  - language: a text sure of its language sets it; "ok", "1" keep the current one;
 *  - a texter who keeps getting the fallback is handed to a person.
 */
#ifndef HOTLINE_CONVERSATION_H
#define HOTLINE_CONVERSATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hotline/intent.h"
#include "hotline/replies.h"

/* Who answers STOP/START/HELP: hotline itself, or the gateway (Twilio's built-in
 * opt-out handling, gateways.md section 6). */
enum keyword_mode { KEYWORDS_SELF, KEYWORDS_GATEWAY };

/* The limits of a conversation. conversation_rules_default() gives the shipped ones. */
struct conversation_rules {
    enum keyword_mode mode;
    int reply_budget;         /* auto-replies per budget window (non-urgent ones stop after) */
    int64_t budget_window_ms; /* one hour */
    int64_t repeat_ms;        /* the same answer within this: the repeat pointer instead */
    int64_t menu_ms;          /* a bare number picks a topic this long after the menu */
    int loop_repeats;         /* identical texts in a row that mean a loop */
    int loop_echoes;          /* texts in a row that repeat hotline's own last reply */
    int64_t loop_repeat_ms;   /* ...each within this of the one before */
    int loop_texts;           /* more texts than this within loop_window_ms mean a loop */
    int64_t loop_window_ms;
    int64_t mute_ms; /* how long the loop guard stays silent after the last looping text */
};

void conversation_rules_default(struct conversation_rules *rules);

/*
 * What hotline remembers of one texter besides the opt-out, language and misses. All
 * zeros is a texter never seen; times are Unix milliseconds, 0 meaning never.
 */
struct conversation_memory {
    int64_t last_text_at;
    enum intent last_intent; /* of the last text (valid when last_text_at != 0) */
    int64_t menu_at;         /* when the menu was last sent */
    enum intent last_answer; /* the last full answer (valid when last_answer_at != 0) */
    int64_t last_answer_at;
    uint32_t last_hash;   /* of the last text, folded: the loop guard's "same text" */
    int same_texts;       /* identical texts in a row, the last one included */
    uint32_t reply_hash;  /* of the last auto-reply, folded */
    int echoes;           /* texts in a row that repeat hotline's last reply */
    int64_t window_start; /* the loop guard's rate window */
    int window_texts;
    int64_t muted_until;  /* the loop guard is silent until then */
    int64_t budget_start; /* the reply budget's window */
    int budget_replies;   /* auto-replies in it; reply_budget + 1 once staff were told */
};

/* What hotline remembers of one texter. A number never seen before is all zeros. */
struct sender_state {
    bool opted_out;
    enum lang lang; /* the language of their last text sure of its language */
    int misses;     /* fallbacks in a row */
    struct conversation_memory memory;
    bool held; /* given, not kept: a staff member holds the texter's escalation and
                  answers them; only urgent answers and the keywords are automatic */
};

/* The matcher's verdict on the text, and the text. */
struct conversation_input {
    const char *text; /* the body as received (UTF-8, not necessarily terminated) */
    size_t len;
    enum intent intent;
    enum lang lang;
    bool lang_sure; /* the text carries evidence of its language */
    double confidence;
    bool keyword; /* the whole text was a compliance keyword (STOP, START, HELP...) */
    int64_t now;  /* Unix milliseconds */
};

/* What happened, beyond the reply: for the log, the metrics and the tests. */
enum conversation_flag {
    CONV_MENU_PICK = 1u << 0,      /* a menu number chose the intent */
    CONV_MENU_SHOWN = 1u << 1,     /* the reply carries the menu */
    CONV_REPEAT_POINTER = 1u << 2, /* the repeat pointer replaced an answer */
    CONV_LOOP_DETECTED = 1u << 3,  /* this text started the loop guard's silence */
    CONV_MUTED = 1u << 4,          /* the loop guard kept this text unanswered */
    CONV_BUDGET_REACHED = 1u << 5, /* the first text past the budget: staff are asked */
    CONV_OVER_BUDGET = 1u << 6,    /* the budget kept this text unanswered */
    CONV_OPTED_OUT_NOW = 1u << 7,  /* this text opted the number out */
    CONV_OPTED_IN_NOW = 1u << 8,   /* this text opted the number back in */
};

struct conversation_decision {
    enum intent intent; /* the intent acted on: the matcher's, or the menu topic */
    const char *reply;  /* borrowed from the replies; NULL: send nothing */
    enum lang reply_lang;
    enum escalation escalation; /* what staff must do */
    struct sender_state next;   /* the sender's state after this text */
    unsigned flags;             /* enum conversation_flag bits */
    const char *opt_source;     /* with CONV_OPTED_*_NOW: "keyword" or "request" */
    const char *why;            /* a short, static reason for the log */
};

/* Fallbacks in a row after which a person follows up. */
#define CONVERSATION_MISSES_TO_ESCALATE 2

/* Decides. replies must stay valid while the decision's reply is used. */
void conversation_decide(const struct replies *replies, const struct conversation_rules *rules,
                         const struct sender_state *state, const struct conversation_input *in,
                         struct conversation_decision *out);

#endif
