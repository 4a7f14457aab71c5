/*
 * console: `hotline chat`, a texter's conversation at the terminal.
 *
 * Each line typed is one text. It goes through the same matcher and the same
 * conversation rules as a text through `hotline serve` (conversation.h), with each
 * texter's state kept in memory for the session, so staff can try the menu, the
 * language, STOP/START/HELP, the repeat pointer and the loop guard without a phone. Below
 * each reply: the intent, confidence, escalation, SMS size, and why it was chosen.
 *
 * Lines starting with '/' are commands: /as +1NUMBER (switch texter; each keeps its own
 * state), /reset (forget the current texter), /state (show what is remembered), /help.
 * Nothing is stored or sent.
 */
#ifndef HOTLINE_CONSOLE_H
#define HOTLINE_CONSOLE_H

#include <stdbool.h>
#include <stdio.h>

#include "hotline/conversation.h"

struct matcher;
struct replies;

/* Runs the session until end of input. prompt: print prompts and a banner (a terminal).
 * Returns 0, or -1 when out of memory. */
int console_run(const struct replies *replies, struct matcher *matcher,
                const struct conversation_rules *rules, FILE *in, FILE *out, bool prompt);

#endif
