/*
 * chat: escalation events as a message for a staff chat channel (a Slack-compatible
 * incoming webhook, HOTLINE_STAFF_WEBHOOK_URL).
 *
 * Input: the escalation log's lines of one committed store operation (escalation.h:
 * one JSON object per line). Output: the request body {"text": "..."}, one line of text
 * per event, e.g.
 *   URGENT #17 opened: possible overdose, texter +1555***1111
 *   URGENT #17 paged alice, bob: possible overdose, texter +1555***1111
 *   URGENT #17 acknowledged by alice (sms): possible overdose, texter +1555***1111
 * Consecutive paged (or re-paged) events of one escalation become one line naming
 * everyone paged. A chat service is not where protected health information belongs, so
 * the texter's number is masked as in stderr logs and the texter's words never appear
 * (the event lines do not hold them either). "viewed" events (audit of staff reading a
 * conversation) are left out: they are for the supervisor's log, not the channel.
 * Slack's control characters (&, <, >) are escaped in the text.
 *
 * Pure functions: no I/O, no clock, nothing blocks.
 */
#ifndef HOTLINE_CHAT_H
#define HOTLINE_CHAT_H

#include <stddef.h>

/*
 * The text for the event lines (len bytes, '\n'-separated JSON objects), or NULL when
 * none of them is worth a message (only "viewed", or no parsable line) or out of
 * memory. The caller frees it.
 */
char *chat_text(const char *lines, size_t len);

/* The JSON body {"text": text} of a Slack-compatible webhook; the caller frees it. NULL
 * on failure (text not UTF-8, out of memory). */
char *chat_payload(const char *text);

/* Both steps: the request body for the event lines, or NULL when there is nothing to post. */
char *chat_message(const char *lines, size_t len);

#endif
