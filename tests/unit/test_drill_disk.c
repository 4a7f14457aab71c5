/*
 * test_drill_disk: the disk trouble drill (issue 7, "Faults"). The data folder is on a
 * file system of its own that fails under the running `hotline serve`:
 *
 *   - test_disk_full: a small tmpfs (DRILL_DISK_MB, 16) filled to the last byte by a
 *     filler file, then freed again;
 *   - test_disk_readonly: an ext4 image (twice DRILL_DISK_MB) on a loop device, forced
 *     read-only at run time (`mount -o remount,abort` with errors=remount-ro: what the
 *     kernel does on an I/O error). A read-only ext4 cannot be made writable again under
 *     open files, so the recovery is the operator's: stop, unmount, fsck, mount, start.
 *
 * While the disk fails, texts keep arriving (a new one every 20 ms for DRILL_FAULT_MS,
 * 3000), /healthz is polled, and the test checks that the service never answers 2xx for a
 * text it could not store (every acknowledged text is in the store afterwards), that it
 * answers 5xx instead (so that the gateway retries), that /healthz says 503 "store not
 * writable", and that once the disk is back the texts refused meanwhile are accepted on
 * retry and every text gets its reply. One "DRILL disk ..." line per test.
 *
 * Needs root (mount); skipped otherwise, and when the kernel refuses the mount.
 * DRILL_DEBUG=1 prints df, the data folder and the service's descriptors when a text is
 * still refused after the disk came back.
 */
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "drill.h"

#define FAQ_TEXT "do you take insurance?"
#define MAX_TEXTS 4096

struct texts {
    unsigned n;
    bool acked[MAX_TEXTS];
    int last_status[MAX_TEXTS];
};

static void text_ids(unsigned i, char sid[TWILIO_SID_LEN + 1], char from[16])
{
    message_sid(sid, i + 1);
    snprintf(from, 16, "+1556%07u", i);
}

static long send_one(struct fx *fx, CURL *c, struct texts *t, unsigned i)
{
    char sid[TWILIO_SID_LEN + 1], from[16];
    text_ids(i, sid, from);
    long st = drill_post_text(fx, c, sid, from, FAQ_TEXT, 10000);
    t->last_status[i] = (int)st;
    if (st >= 200 && st < 300)
        t->acked[i] = true;
    return st;
}

/* Runs a shell command built printf-style; returns its exit status. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

/* Fills the file system of dir: a filler file written until ENOSPC. */
static void fill(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0) /* the last bytes */
        ;
    assert_int_equal(errno, ENOSPC);
    close(fd);
}

/*
 * The fault window: a text every 20 ms, /healthz every 200 ms. Counts what was answered.
 */
struct fault_figures {
    unsigned sent, ok, server_errors, no_answer, healthz_503, healthz_200;
    bool healthz_said_store;
};

static void fault_window(struct fx *fx, struct texts *t, long ms, struct fault_figures *f)
{
    CURL *c = curl_easy_init(), *hz = curl_easy_init();
    assert_true(c && hz);
    int64_t end = now_ms() + ms, next_hz = 0;
    while (now_ms() < end && t->n < MAX_TEXTS) {
        long st = send_one(fx, c, t, t->n++);
        f->sent++;
        if (st >= 200 && st < 300)
            f->ok++;
        else if (st >= 500)
            f->server_errors++;
        else if (st == 0)
            f->no_answer++;
        else
            fail_msg("a text answered %ld while the disk failed", st);
        if (now_ms() >= next_hz) {
            struct resp r;
            long hs = try_request(fx, hz, 10000, "GET", "/healthz", NULL, NULL, 0, &r);
            if (hs == 503) {
                f->healthz_503++;
                f->healthz_said_store |= strstr(r.body ? r.body : "", "store not writable") != NULL;
            } else if (hs == 200) {
                f->healthz_200++;
            }
            resp_clear(&r);
            next_hz = now_ms() + 200;
        }
        sleep_ms(20);
    }
    curl_easy_cleanup(c);
    curl_easy_cleanup(hz);
}

/* Resends every text not yet acknowledged until each is (30 s at most). */
static unsigned retry_refused(struct fx *fx, struct texts *t)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    unsigned retried = 0;
    int64_t deadline = now_ms() + 30000;
    for (unsigned i = 0; i < t->n; i++) {
        if (t->acked[i])
            continue;
        retried++;
        while (send_one(fx, c, t, i) != 200) {
            if (now_ms() > deadline && getenv("DRILL_DEBUG")) {
                char cmd[1500];
                snprintf(cmd, sizeof cmd, "df -k '%s'; ls -la '%s'; ls -la /proc/%d/fd", fx->data,
                         fx->data, (int)fx->pid);
                if (system(cmd) != 0)
                    printf("(%s failed)\n", cmd);
            }
            if (now_ms() > deadline)
                fail_msg("text %u still refused (%d) after the disk came back", i,
                         t->last_status[i]);
            sleep_ms(50);
        }
    }
    curl_easy_cleanup(c);
    return retried;
}

/* Waits for /healthz 200; returns how long it took. */
static int64_t wait_healthy(struct fx *fx)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    int64_t t0 = now_ms();
    while (try_request(fx, c, 10000, "GET", "/healthz", NULL, NULL, 0, NULL) != 200) {
        if (now_ms() - t0 > 30000)
            fail_msg("/healthz never came back to 200");
        sleep_ms(50);
    }
    curl_easy_cleanup(c);
    return now_ms() - t0;
}

/* Every acknowledged text stored, every stored text answered once. */
static void check_all(struct fx *fx, const struct texts *t, unsigned *stored, unsigned *replies,
                      unsigned *dups)
{
    wait_db_for(fx, "SELECT count(*) FROM jobs WHERE state IN ('pending', 'sending')", 0, 30000);
    *stored = 0;
    for (unsigned i = 0; i < t->n; i++) {
        char sid[TWILIO_SID_LEN + 1], from[16], sql[256];
        text_ids(i, sid, from);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM inbound WHERE message_sid = '%s'", sid);
        int64_t c = db_int(fx, sql);
        if (t->acked[i] && c != 1)
            fail_msg("text %u was acknowledged but is not in the store", i);
        *stored += c == 1;
    }
    size_t n = 0;
    struct drill_send *s = drill_sends(fx, &n);
    drill_sends_sort(s, n);
    *replies = *dups = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].status < 200 || s[i].status > 299)
            continue;
        bool same = i > 0 && strcmp(s[i].to, s[i - 1].to) == 0 && s[i - 1].status >= 200 &&
                    s[i - 1].status < 300;
        *dups += same;
        *replies += !same;
    }
    drill_sends_free(s, n);
}

static bool can_mount(void)
{
    return geteuid() == 0;
}

static char g_mnt[600]; /* the file system the running test mounted ("": none) */

/* drill_teardown, after the service is stopped and g_mnt unmounted (a failed test leaves
 * no process, mount or folder behind). */
static int disk_teardown(void **state)
{
    struct fx *fx = *state;
    if (fx->pid > 0)
        kill9(fx);
    if (g_mnt[0]) {
        umount2(g_mnt, MNT_DETACH);
        g_mnt[0] = '\0';
    }
    return drill_teardown(state);
}

static void test_disk_full(void **state)
{
    if (!can_mount())
        skip();
    struct fx *fx = *state;
    char mnt[600], data[700];
    snprintf(mnt, sizeof mnt, "%s/mnt", fx->tmp);
    snprintf(data, sizeof data, "%s/data", mnt);
    assert_int_equal(sh("mkdir -p '%s'", mnt), 0);
    char opts[64];
    snprintf(opts, sizeof opts, "size=%ldm,mode=0700", drill_env_int("DRILL_DISK_MB", 16));
    if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0)
        skip(); /* no permission: disk_teardown cleans up */
    snprintf(g_mnt, sizeof g_mnt, "%s", mnt);
    set_data_dir(fx, data);
    start(fx);

    static struct texts t;
    memset(&t, 0, sizeof t);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    for (; t.n < 20; t.n++)
        assert_int_equal(send_one(fx, c, &t, t.n), 200);
    wait_db_for(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 20, 10000);

    /* Replies in flight when the disk fills: the gateway accepts them a second later,
     * while no commit can succeed, so their 'sent' must wait for the disk. */
    mock_gateway_set_default(fx->mg, &(struct mock_response){.delay_ms = 1000});
    for (unsigned end = t.n + 5; t.n < end; t.n++)
        assert_int_equal(send_one(fx, c, &t, t.n), 200);
    curl_easy_cleanup(c);
    fill(mnt);
    struct fault_figures f = {0};
    fault_window(fx, &t, drill_env_int("DRILL_FAULT_MS", 3000), &f);
    mock_gateway_set_default(fx->mg, NULL);

    char filler[700];
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    assert_int_equal(unlink(filler), 0);
    int64_t t_back = now_ms();
    unsigned retried = retry_refused(fx, &t);
    int64_t accepted_after = now_ms() - t_back;
    int64_t healthy_after = wait_healthy(fx) + accepted_after;
    unsigned stored, replies, dups;
    check_all(fx, &t, &stored, &replies, &dups);
    int64_t unfinished = db_int(fx, "SELECT count(*) FROM jobs WHERE state != 'sent'");
    /* A restart resumes what the store says is unfinished: nothing may be sent again. */
    int rc1 = stop(fx);
    start(fx);
    sleep_ms(1000);
    check_all(fx, &t, &stored, &replies, &dups);
    int rc = stop(fx);
    rc = rc ? rc : rc1;
    int final_retries = stderr_count(fx, "next=\"retry in 1 s\"");
    printf("DRILL disk kind=full fs=tmpfs texts=%u during_fault=%u ok_during_fault=%u "
           "5xx_during_fault=%u no_answer_during_fault=%u healthz_503=%u healthz_200=%u "
           "refused_then_accepted=%u all_accepted_after_ms=%lld healthz_200_after_ms=%lld "
           "stored=%u replies=%u duplicates_after_restart=%u jobs_not_sent=%lld "
           "final_updates_retried=%d exit=%d\n",
           t.n, f.sent, f.ok, f.server_errors, f.no_answer, f.healthz_503, f.healthz_200, retried,
           (long long)accepted_after, (long long)healthy_after, stored, replies, dups,
           (long long)unfinished, final_retries, rc);
    fflush(stdout);

    assert_true(f.server_errors > 0); /* the disk did fail the commits */
    assert_true(f.healthz_503 > 0 && f.healthz_said_store);
    assert_int_equal(stored, t.n);
    assert_int_equal(replies, t.n);
    assert_int_equal(unfinished, 0); /* the 'sent' of the replies accepted meanwhile */
    assert_int_equal(dups, 0);
    assert_int_equal(rc, 0);
}

static void test_disk_readonly(void **state)
{
    if (!can_mount() || system("command -v mkfs.ext4 >/dev/null 2>&1") != 0)
        skip();
    struct fx *fx = *state;
    char mnt[600], data[700], img[600];
    snprintf(mnt, sizeof mnt, "%s/mnt", fx->tmp);
    snprintf(img, sizeof img, "%s/ext4.img", fx->tmp);
    snprintf(data, sizeof data, "%s/data", mnt);
    assert_int_equal(sh("mkdir -p '%s' && truncate -s %ldM '%s'", mnt,
                        drill_env_int("DRILL_DISK_MB", 16) * 2, img),
                     0);
    if (sh("mkfs.ext4 -q -F '%s' >/dev/null 2>&1 && mount -o loop,errors=remount-ro '%s' '%s'", img,
           img, mnt) != 0)
        skip();
    snprintf(g_mnt, sizeof g_mnt, "%s", mnt);
    set_data_dir(fx, data);
    start(fx);

    static struct texts t;
    memset(&t, 0, sizeof t);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    for (; t.n < 20; t.n++)
        assert_int_equal(send_one(fx, c, &t, t.n), 200);
    curl_easy_cleanup(c);
    wait_db_for(fx, "SELECT count(*) FROM jobs WHERE state = 'sent'", 20, 10000);

    /* What the kernel does on a metadata I/O error with errors=remount-ro. */
    assert_int_equal(sh("mount -o remount,abort '%s'", mnt), 0);
    struct fault_figures f = {0};
    fault_window(fx, &t, drill_env_int("DRILL_FAULT_MS", 3000), &f);

    /* The operator's recovery: stop, unmount, check, mount, start. */
    int stop_rc = stop(fx);
    assert_int_equal(sh("umount '%s'", mnt), 0);
    int fsck = sh("e2fsck -fy '%s' >/dev/null 2>&1", img); /* 0 clean, 1 fixed */
    assert_int_equal(sh("mount -o loop,errors=remount-ro '%s' '%s'", img, mnt), 0);
    start(fx);
    int64_t t_back = now_ms();
    unsigned retried = retry_refused(fx, &t);
    int64_t accepted_after = now_ms() - t_back;
    unsigned stored, replies, dups;
    check_all(fx, &t, &stored, &replies, &dups);
    int rc = stop(fx);
    printf("DRILL disk kind=readonly fs=ext4 texts=%u during_fault=%u ok_during_fault=%u "
           "5xx_during_fault=%u no_answer_during_fault=%u healthz_503=%u healthz_200=%u "
           "exit_on_sigterm_while_readonly=%d fsck=%d refused_then_accepted=%u "
           "all_accepted_after_restart_ms=%lld stored=%u replies=%u duplicates=%u exit=%d\n",
           t.n, f.sent, f.ok, f.server_errors, f.no_answer, f.healthz_503, f.healthz_200, stop_rc,
           fsck, retried, (long long)accepted_after, stored, replies, dups, rc);
    fflush(stdout);

    assert_true(f.server_errors > 0);
    assert_true(f.healthz_503 > 0 && f.healthz_said_store);
    assert_int_equal(stored, t.n);
    assert_int_equal(replies, t.n);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disk_full, drill_setup, disk_teardown),
        cmocka_unit_test_setup_teardown(test_disk_readonly, drill_setup, disk_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
