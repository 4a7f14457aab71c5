/*
 * log: key=value event lines on stderr (see log.h for the privacy rule).
 *
 * Each line is formatted into one stack buffer and handed to a single write(2), never to
 * stdio: threads (the store's writer thread, the event loop) may log at once, and a
 * write of at most PIPE_BUF bytes to a pipe, or any write to an O_APPEND file, is never
 * interleaved with another. Lines are therefore capped at PIPE_BUF (4096) bytes; a longer
 * line is cut on a UTF-8 boundary and ends with " truncated=1". Control characters in
 * the formatted text are replaced by '?' so that one event stays one line. The level is
 * an atomic, so log_set_level may race with logging threads. errno is preserved.
 */
#include "hotline/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define TRUNCATED_MARK " truncated=1"

static atomic_int log_threshold = LOG_INFO;

void log_set_level(enum log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warn";
    default:
        return "error";
    }
}

void log_event(enum log_level level, const char *event, const char *fields, ...)
{
    if ((int)level < atomic_load(&log_threshold))
        return;
    int saved_errno = errno;

    char line[LOG_LINE_MAX];
    const size_t cap = sizeof line - 1; /* room for the newline */
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, cap, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     now.tv_nsec / 1000000L, level_name(level), event ? event : "-");
    size_t len = n < 0 ? 0 : (size_t)n;
    int truncated = len >= cap;
    if (!truncated && fields && *fields) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fields);
        n = vsnprintf(line + len, cap - len, fields, ap);
        va_end(ap);
        if (n < 0)
            len--; /* a formatting error: drop the fields */
        else if ((size_t)n >= cap - len)
            truncated = 1;
        else
            len += (size_t)n;
    }
    if (truncated) {
        len = cap - strlen(TRUNCATED_MARK);
        while (len > 0 && ((unsigned char)line[len] & 0xC0) == 0x80)
            len--; /* do not cut a UTF-8 sequence */
        memcpy(line + len, TRUNCATED_MARK, strlen(TRUNCATED_MARK));
        len += strlen(TRUNCATED_MARK);
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7F)
            line[i] = '?';
    line[len++] = '\n';

    while (write(STDERR_FILENO, line, len) < 0 && errno == EINTR)
        ;
    errno = saved_errno;
}

/* "+" and 8 to 15 digits: the shape of an E.164 number. */
static int is_e164(const char *s, size_t len)
{
    if (len < 9 || len > 16 || s[0] != '+')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

char *log_mask_phone(const char *number, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return out;
    size_t len = number ? strlen(number) : 0;
    if (number && is_e164(number, len)) {
        /* Keep the last 4 and up to 5 leading characters, hiding at least 3 digits. */
        size_t keep_head = len - 4 - 3 < 5 ? len - 4 - 3 : 5;
        size_t need = keep_head + 3 + 4 + 1;
        if (outlen >= need) {
            memcpy(out, number, keep_head);
            memcpy(out + keep_head, "***", 3);
            memcpy(out + keep_head + 3, number + len - 4, 4);
            out[need - 1] = '\0';
            return out;
        }
    }
    if (outlen >= 4)
        memcpy(out, "***", 4);
    else
        out[0] = '\0';
    return out;
}
