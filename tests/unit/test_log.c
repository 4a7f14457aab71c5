/*
 * test_log: phone masking, and the exact line format on stderr, captured by pointing
 * fd 2 at a pipe (dup2) and read back by a reader thread so that writers never block on
 * a full pipe. Also checks the level filter, truncation, control characters, and that
 * lines from concurrent threads never interleave.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotline/log.h"

/* ---- stderr capture ---- */

struct capture {
    int saved_fd;
    int read_fd;
    pthread_t reader;
    char *buf;
    size_t len, cap;
};

static void *reader_main(void *arg)
{
    struct capture *c = arg;
    for (;;) {
        if (c->cap - c->len < 4097) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->buf = realloc(c->buf, c->cap);
            if (!c->buf)
                abort();
        }
        ssize_t got = read(c->read_fd, c->buf + c->len, c->cap - c->len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        c->len += (size_t)got;
    }
    c->buf[c->len] = '\0';
    return NULL;
}

static void capture_start(struct capture *c)
{
    memset(c, 0, sizeof *c);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    close(fds[1]);
    c->read_fd = fds[0];
    assert_int_equal(pthread_create(&c->reader, NULL, reader_main, c), 0);
}

/* Restores stderr and returns everything written meanwhile (owned by c; free c->buf). */
static char *capture_end(struct capture *c)
{
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    pthread_join(c->reader, NULL);
    close(c->read_fd);
    return c->buf;
}

/* ---- masking ---- */

static void check_mask(const char *in, const char *want)
{
    char out[32];
    memset(out, 'x', sizeof out);
    assert_ptr_equal(log_mask_phone(in, out, sizeof out), out);
    assert_string_equal(out, want);
}

static void test_mask_phone(void **state)
{
    (void)state;
    check_mask("+19497633440", "+1949***3440");
    check_mask("+447911123456", "+4479***3456");
    check_mask("+861234567890123", "+8612***0123"); /* 15 digits, the E.164 maximum */
    /* Shorter numbers keep fewer leading digits: at least 3 are always hidden. */
    check_mask("+3312345678", "+331***5678");
    check_mask("+12345678", "+1***5678");
    /* Short or odd input: masked entirely. */
    check_mask("", "***");
    check_mask(NULL, "***");
    check_mask("+1234567", "***");          /* too short */
    check_mask("12345", "***");             /* short code */
    check_mask("9497633440", "***");        /* no + */
    check_mask("+1949763344O", "***");      /* letter O */
    check_mask("+1 949 763 3440", "***");   /* spaces */
    check_mask("+1234567890123456", "***"); /* 16 digits */
    check_mask("whatsapp:+19497633440", "***");
    check_mask("+", "***");
}

static void test_mask_phone_small_buffer(void **state)
{
    (void)state;
    char out[13];
    /* Exactly enough room for "+1949***3440". */
    assert_string_equal(log_mask_phone("+19497633440", out, 13), "+1949***3440");
    /* Too small for the masked number: never a partial number, "***" instead. */
    assert_string_equal(log_mask_phone("+19497633440", out, 12), "***");
    assert_string_equal(log_mask_phone("+19497633440", out, 4), "***");
    assert_string_equal(log_mask_phone("+19497633440", out, 3), "");
    out[0] = 'z';
    log_mask_phone("+19497633440", out, 0);
    assert_int_equal(out[0], 'z');
}

/* ---- line format ---- */

static void assert_matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("%s\ndoes not match\n%s", text, pattern);
}

#define TS_RE "ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_line_format(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    struct capture c;
    time_t before = time(NULL);
    capture_start(&c);
    char masked[32];
    log_event(LOG_INFO, "listening", "port=%d addr=%s", 8080, "127.0.0.1");
    log_event(LOG_WARN, "send_retry", "to=%s attempt=%d",
              log_mask_phone("+19497633440", masked, sizeof masked), 2);
    log_event(LOG_ERROR, "stopped", NULL);
    log_event(LOG_INFO, "empty_fields", "%s", "");
    char *out = capture_end(&c);
    time_t after = time(NULL);

    assert_matches(out,
                   "^" TS_RE " level=info event=listening port=8080 addr=127\\.0\\.0\\.1\n" TS_RE
                   " level=warn event=send_retry to=\\+1949\\*\\*\\*3440 attempt=2\n" TS_RE
                   " level=error event=stopped\n" TS_RE " level=info event=empty_fields \n$");

    /* The timestamp is UTC and now. */
    struct tm tm = {0};
    int ms = -1;
    assert_int_equal(sscanf(out, "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                     7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t logged = timegm(&tm);
    assert_true(logged >= before && logged <= after);
    assert_true(ms >= 0 && ms <= 999);
    free(out);
}

static void test_level_filter(void **state)
{
    (void)state;
    struct capture c;
    capture_start(&c);
    log_set_level(LOG_WARN);
    log_event(LOG_DEBUG, "d1", NULL);
    log_event(LOG_INFO, "i1", NULL);
    log_event(LOG_WARN, "w1", NULL);
    log_event(LOG_ERROR, "e1", NULL);
    log_set_level(LOG_DEBUG);
    log_event(LOG_DEBUG, "d2", NULL);
    log_set_level(LOG_ERROR);
    log_event(LOG_WARN, "w2", NULL);
    log_event(LOG_ERROR, "e2", NULL);
    log_set_level(LOG_INFO);
    log_event(LOG_DEBUG, "d3", NULL);
    log_event(LOG_INFO, "i3", NULL);
    char *out = capture_end(&c);
    assert_matches(out, "^" TS_RE " level=warn event=w1\n" TS_RE " level=error event=e1\n" TS_RE
                        " level=debug event=d2\n" TS_RE " level=error event=e2\n" TS_RE
                        " level=info event=i3\n$");
    free(out);
}

static void test_control_chars_and_errno(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    struct capture c;
    capture_start(&c);
    errno = ENOENT;
    log_event(LOG_INFO, "odd", "reason=%s", "two\nlines\r\tand\x7f");
    int kept = errno;
    char *out = capture_end(&c);
    assert_int_equal(kept, ENOENT);
    assert_matches(out, "^" TS_RE " level=info event=odd reason=two\\?lines\\?\\?and\\?\n$");
    free(out);
}

static void test_long_line_truncated(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    size_t n = 10000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    /* 'é' is two bytes: the cut must not split one. */
    for (size_t i = 0; i + 1 < n; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[n] = '\0';
    struct capture c;
    capture_start(&c);
    log_event(LOG_INFO, "big", "x=a%s", big);
    log_event(LOG_INFO, "after", NULL);
    char *out = capture_end(&c);
    free(big);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    size_t first = (size_t)(nl - out) + 1;
    assert_true(first <= 4096);
    assert_true(first >= 4096 - 2);
    const char *mark = " truncated=1\n";
    assert_memory_equal(nl + 1 - strlen(mark), mark, strlen(mark));
    /* Everything before the mark is whole 'é's after "x=a". */
    const char *x = strstr(out, " x=a");
    assert_non_null(x);
    size_t body = (size_t)(nl + 1 - strlen(mark) - (x + 4));
    assert_int_equal(body % 2, 0);
    for (size_t i = 0; i < body; i += 2)
        assert_memory_equal(x + 4 + i, "\xc3\xa9", 2);
    assert_matches(nl + 1, "^" TS_RE " level=info event=after\n$");
    free(out);
}

/* ---- threads ---- */

#define THREADS 8
#define LINES 400

static void *writer_main(void *arg)
{
    int id = (int)(long)arg;
    char pad[301];
    memset(pad, 'a' + id, 300);
    pad[300] = '\0';
    for (int i = 0; i < LINES; i++)
        log_event(LOG_INFO, "concurrent", "thread=%d seq=%d pad=%s end=1", id, i, pad);
    return NULL;
}

static void test_concurrent_lines_whole(void **state)
{
    (void)state;
    log_set_level(LOG_INFO);
    struct capture c;
    capture_start(&c);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *out = capture_end(&c);

    int next_seq[THREADS] = {0};
    int lines = 0;
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int id, seq, used = 0;
        assert_int_equal(sscanf(l, "ts=%*s level=info event=concurrent thread=%d seq=%d pad=%n",
                                &id, &seq, &used),
                         2);
        assert_true(id >= 0 && id < THREADS);
        /* Per thread, lines arrive in order; the pad is all one letter. */
        assert_int_equal(seq, next_seq[id]);
        next_seq[id]++;
        const char *pad = l + used;
        for (int k = 0; k < 300; k++)
            assert_int_equal(pad[k], 'a' + id);
        assert_string_equal(pad + 300, " end=1");
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_phone),
        cmocka_unit_test(test_mask_phone_small_buffer),
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_control_chars_and_errno),
        cmocka_unit_test(test_long_line_truncated),
        cmocka_unit_test(test_concurrent_lines_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
