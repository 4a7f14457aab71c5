/*
 * log: one line per event on stderr, key=value, for operators.
 *
 * Privacy is the reason this module exists rather than fprintf: application logs must
 * never hold a texter's full phone number or message text (42 CFR Part 2, HIPAA). Callers
 * pass phone numbers through log_mask_phone() and never pass bodies at all.
 */
#ifndef HOTLINE_LOG_H
#define HOTLINE_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);

/*
 * Writes "ts=<UTC ISO-8601> level=<level> event=<event> <fields>\n" to stderr in one
 * write. fields is a printf format for the key=value pairs that follow (may be NULL).
 */
void log_event(enum log_level level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Masks an E.164 number for logs: "+19497633440" -> "+1949***3440". Keeps at most the
 * first 5 and last 4 characters; short or odd inputs are masked entirely. Returns out.
 */
char *log_mask_phone(const char *number, char *out, size_t outlen);

#endif
