/*
 * test_escalation_log: the escalation log file (escalation_log_export) over the years a
 * service runs: rotation at a size, rotation by someone else (logrotate renames the
 * file, or truncates it), a second exporter holding the old file, a restart that finds
 * an empty new file. Whatever happens, the files together hold every committed line
 * once, in seq order, from the oldest file kept to the newest; a new file never starts
 * again at seq 1; every file is 0600.
 *
 * A real SQLite file with the store's escalation_log table stands in for the store: the
 * exporter reads only that table.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hotline/escalation.h"

struct fx {
    char *dir;
    char path[600];
    sqlite3 *db;
    int64_t rows;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    fx->dir = tu_mkdtemp();
    snprintf(fx->path, sizeof fx->path, "%s/" ESCALATION_LOG_FILE, fx->dir);
    char db_path[600];
    snprintf(db_path, sizeof db_path, "%s/log.db", fx->dir);
    assert_int_equal(sqlite3_open(db_path, &fx->db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(fx->db,
                                  "CREATE TABLE escalation_log (seq INTEGER PRIMARY KEY, line "
                                  "TEXT NOT NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    sqlite3_close(fx->db);
    tu_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Commits n more event lines, each about 120 bytes. */
static void commit_lines(struct fx *fx, int n)
{
    for (int i = 0; i < n; i++) {
        char sql[400];
        fx->rows++;
        snprintf(sql, sizeof sql,
                 "INSERT INTO escalation_log VALUES (%lld, '{\"seq\":%lld,\"time\":"
                 "\"2026-11-26T03:04:05.678Z\",\"event\":\"paged\",\"escalation\":%lld,"
                 "\"texter\":\"+15550001111\",\"via\":\"service\"}')",
                 (long long)fx->rows, (long long)fx->rows, (long long)fx->rows);
        assert_int_equal(sqlite3_exec(fx->db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
}

static void export_ok(struct fx *fx, struct escalation_log_file *log, int64_t want)
{
    int64_t n = -1;
    assert_int_equal(escalation_log_export(log, fx->db, &n, NULL, NULL), 0);
    assert_int_equal(n, want);
    assert_int_equal(log->rotate_errno, 0);
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/*
 * Reads one file's seqs into seqs[] (appending at *n), checking each line is complete
 * and the file is 0600. Returns false when the file does not exist.
 */
static bool read_seqs(const char *path, int64_t *seqs, size_t cap, size_t *n)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return false;
    assert_int_equal(sb.st_mode & 0777, 0600);
    size_t len = 0;
    char *t = tu_read_file(path, &len);
    assert_non_null(t);
    assert_true(len == 0 || t[len - 1] == '\n');
    for (char *p = t; *p;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = '\0';
        long long seq = -1;
        assert_int_equal(sscanf(p, "{\"seq\":%lld,", &seq), 1);
        assert_true(*n < cap);
        seqs[(*n)++] = seq;
        p = nl + 1;
    }
    free(t);
    return true;
}

/*
 * The files from the oldest kept (.keep) to the current one hold first..fx->rows, each
 * once, in order, with no gap. Returns the first seq still on disk.
 */
static int64_t check_files(struct fx *fx, int keep)
{
    int64_t seqs[4096];
    size_t n = 0;
    for (int i = keep + 1; i >= 0; i--) {
        char path[700];
        if (i == 0)
            snprintf(path, sizeof path, "%s", fx->path);
        else
            snprintf(path, sizeof path, "%s.%d", fx->path, i);
        bool found = read_seqs(path, seqs, 4096, &n);
        if (i == keep + 1)
            assert_false(found); /* the one past keep was removed */
    }
    assert_true(n > 0);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(seqs[i], seqs[i - 1] + 1);
    assert_int_equal(seqs[n - 1], fx->rows);
    return seqs[0];
}

/* The service's rotation: at the size, the file moves to .1, older ones up, the one
 * past keep goes; the next export starts a new file where the old one ended. */
static void test_rotates_at_size_and_keeps_count(void **state)
{
    struct fx *fx = *state;
    struct escalation_log_file log;
    assert_int_equal(escalation_log_open(&log, fx->dir, 1000, 3), 0);

    commit_lines(fx, 5); /* ~600 bytes: no rotation yet */
    export_ok(fx, &log, 5);
    assert_false(log.rotated);
    assert_true(exists(fx->path));
    char one[700];
    snprintf(one, sizeof one, "%s.1", fx->path);
    assert_false(exists(one));

    commit_lines(fx, 6); /* past 1000 bytes: rotated after the write */
    export_ok(fx, &log, 6);
    assert_true(log.rotated);
    assert_true(exists(one));
    assert_false(exists(fx->path));
    assert_int_equal(check_files(fx, 3), 1);

    /* Many more rounds: never more than keep old files, never a line twice or lost
     * between the files kept. */
    for (int round = 0; round < 12; round++) {
        commit_lines(fx, 4);
        export_ok(fx, &log, 4);
        int64_t first = check_files(fx, 3);
        assert_true(first >= 1);
    }
    assert_true(check_files(fx, 3) > 1); /* the oldest lines went with the oldest file */

    /* An export with nothing new leaves everything as it is. */
    export_ok(fx, &log, 0);
    check_files(fx, 3);
    escalation_log_close(&log);
}

/* logrotate's way (rename, then the service goes on): the exporter notices the name
 * points elsewhere, opens a new file and continues after the renamed file's last seq. */
static void test_renamed_by_someone_else(void **state)
{
    struct fx *fx = *state;
    struct escalation_log_file log;
    assert_int_equal(escalation_log_open(&log, fx->dir, 0, 1), 0);
    commit_lines(fx, 7);
    export_ok(fx, &log, 7);

    char one[700];
    snprintf(one, sizeof one, "%s.1", fx->path);
    assert_int_equal(rename(fx->path, one), 0);
    commit_lines(fx, 3);
    export_ok(fx, &log, 3); /* only the new ones, into a new file */
    assert_int_equal(check_files(fx, 1), 1);
    int64_t seqs[16];
    size_t n = 0;
    assert_true(read_seqs(fx->path, seqs, 16, &n));
    assert_int_equal(n, 3);
    assert_int_equal(seqs[0], 8);
    escalation_log_close(&log);

    /* A restart (a new exporter, no memory) that finds the new file empty, as a rename
     * by logrotate with `create` leaves it: it continues after .1's last line too. */
    assert_int_equal(rename(fx->path, one), 0);
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    fclose(f);
    chmod(fx->path, 0600);
    commit_lines(fx, 2);
    assert_int_equal(escalation_log_open(&log, fx->dir, 0, 1), 0);
    export_ok(fx, &log, 2);
    n = 0;
    assert_true(read_seqs(fx->path, seqs, 16, &n));
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 11);
    escalation_log_close(&log);
}

/* A truncation under a running exporter (logrotate's copytruncate) does not make it
 * write the whole history again. */
static void test_truncated_under_the_exporter(void **state)
{
    struct fx *fx = *state;
    struct escalation_log_file log;
    assert_int_equal(escalation_log_open(&log, fx->dir, 0, 1), 0);
    commit_lines(fx, 9);
    export_ok(fx, &log, 9);
    assert_int_equal(truncate(fx->path, 0), 0);
    commit_lines(fx, 1);
    export_ok(fx, &log, 1);
    int64_t seqs[16];
    size_t n = 0;
    assert_true(read_seqs(fx->path, seqs, 16, &n));
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 10);
    escalation_log_close(&log);
}

/* Two exporters (the service and a command): the one holding the file the other
 * rotated away writes into the new one, after the lines already there. */
static void test_second_exporter_follows_rotation(void **state)
{
    struct fx *fx = *state;
    struct escalation_log_file service, command;
    assert_int_equal(escalation_log_open(&service, fx->dir, 500, 2), 0);
    assert_int_equal(escalation_log_open(&command, fx->dir, 0, 1), 0);
    commit_lines(fx, 6);
    export_ok(fx, &service, 6);
    assert_true(service.rotated);
    commit_lines(fx, 1);
    export_ok(fx, &command, 1); /* into the new file, seq 7 */
    commit_lines(fx, 1);
    export_ok(fx, &service, 1); /* the service opens the command's new file: seq 8 */
    int64_t seqs[16];
    size_t n = 0;
    assert_true(read_seqs(fx->path, seqs, 16, &n));
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 7);
    assert_int_equal(seqs[1], 8);
    assert_int_equal(check_files(fx, 2), 1);
    escalation_log_close(&service);
    escalation_log_close(&command);
}

/* A first start with no file at all writes everything from seq 1, in a 0600 file,
 * whatever the umask. */
static void test_first_export_writes_all(void **state)
{
    struct fx *fx = *state;
    mode_t old = umask(0);
    struct escalation_log_file log;
    assert_int_equal(escalation_log_open(&log, fx->dir, 0, 1), 0);
    umask(old);
    commit_lines(fx, 4);
    export_ok(fx, &log, 4);
    assert_int_equal(check_files(fx, 1), 1);
    escalation_log_close(&log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_export_writes_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotates_at_size_and_keeps_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_by_someone_else, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_under_the_exporter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_exporter_follows_rotation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
