/*
 * admin: the staff directory and escalation commands (see admin.h). Each command opens
 * the database directly, does one short transaction and closes it; nothing here takes
 * the service's lock, so it is safe while `hotline serve` runs. Escalation events are
 * appended to the log only after their COMMIT, like the service does.
 *
 * Output is for a person at a terminal (or --json for tools). Numbers are shown here:
 * the operator is staff looking at the record, not a log.
 */
#include "hotline/admin.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "hotline/config.h"
#include "hotline/escalation.h"
#include "hotline/staff.h"
#include "hotline/store.h"

extern char **environ;

static const char usage_staff[] =
    "usage: hotline staff COMMAND [--config FILE]\n"
    "\n"
    "The staff directory (in HOTLINE_DATA_DIR, safe while the service runs):\n"
    "  add NAME --phone E164 [--on-call]  add a member; prints their API token once\n"
    "  list                               every member, phone and on-call state\n"
    "  on-call NAME on|off                on-call members are paged\n"
    "  token NAME                         a new API token (the old one stops working)\n"
    "  remove NAME                        remove a member\n"
    "\n"
    "Settings are read as `hotline serve` reads them (environment, then --config FILE).\n";

static const char usage_esc[] =
    "usage: hotline escalations COMMAND [--config FILE]\n"
    "\n"
    "Escalations (in HOTLINE_DATA_DIR, safe while the service runs):\n"
    "  list [--all] [--json]     open ones (--all: closed too), urgent first, then oldest\n"
    "  show ID [--json]          one escalation and the texter's texts since it opened\n"
    "  ack ID --by NAME          acknowledge it (stops re-paging)\n"
    "  close ID --by NAME        close it\n"
    "\n"
    "Every change is appended to HOTLINE_DATA_DIR/escalations.jsonl.\n";

struct args {
    const char *config;
    const char *phone;
    const char *by;
    bool on_call, all, json;
    char **pos;
    int npos;
};

/*
 * Parses the options every subcommand shares, before or after the operands (GNU getopt
 * permutes); the operands land in a->pos. 0, 1 after --help, or 2.
 */
static int parse_all(int argc, char **argv, const char *usage, struct args *a)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"phone", required_argument, NULL, 'p'},
        {"by", required_argument, NULL, 'b'},     {"on-call", no_argument, NULL, 'o'},
        {"all", no_argument, NULL, 'a'},          {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:p:b:oajh", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->config = optarg;
            break;
        case 'p':
            a->phone = optarg;
            break;
        case 'b':
            a->by = optarg;
            break;
        case 'o':
            a->on_call = true;
            break;
        case 'a':
            a->all = true;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    a->pos = argv + optind;
    a->npos = argc - optind;
    return 0;
}

/* Settings by serve's rules, then the database; NULL after printing why. */
static sqlite3 *open_db(const struct args *a, char **data_dir)
{
    struct config cfg;
    char err[512];
    if (config_load(&cfg, a->config, environ, err, sizeof err) != 0) {
        fprintf(stderr, "hotline: %s\n", err);
        return NULL;
    }
    sqlite3 *db = store_open_direct(cfg.data_dir, err, sizeof err);
    if (!db)
        fprintf(stderr, "hotline: %s\n", err);
    else if (!(*data_dir = strdup(cfg.data_dir))) {
        sqlite3_close(db);
        db = NULL;
    }
    config_clear(&cfg);
    return db;
}

static void fmt_time(int64_t ms, char *out, size_t outlen)
{
    if (ms <= 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- staff ---- */

int admin_staff(int argc, char **argv)
{
    struct args a;
    int rc = parse_all(argc, argv, usage_staff, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (a.npos < 1) {
        fputs(usage_staff, stderr);
        return 2;
    }
    const char *cmd = a.pos[0];
    int want = strcmp(cmd, "list") == 0      ? 1
               : strcmp(cmd, "on-call") == 0 ? 3
               : strcmp(cmd, "add") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "remove") == 0
                   ? 2
                   : -1;
    if (want < 0 || a.npos != want) {
        fputs(usage_staff, stderr);
        return 2;
    }
    if (strcmp(cmd, "add") == 0 && !a.phone) {
        fprintf(stderr, "hotline: staff add needs --phone E164\n");
        return 2;
    }
    if (strcmp(cmd, "on-call") == 0 && strcmp(a.pos[2], "on") != 0 &&
        strcmp(a.pos[2], "off") != 0) {
        fprintf(stderr, "hotline: staff on-call NAME on|off\n");
        return 2;
    }
    char *data_dir = NULL;
    sqlite3 *db = open_db(&a, &data_dir);
    if (!db)
        return 1;
    char err[256] = "", token[STAFF_TOKEN_SIZE];
    rc = 1;
    if (strcmp(cmd, "add") == 0) {
        if (staff_add(db, a.pos[1], a.phone, a.on_call, token, err, sizeof err) == 0) {
            printf("added %s (%s, %s)\ntoken: %s\n(shown once: give it to %s and keep it "
                   "secret)\n",
                   a.pos[1], a.phone, a.on_call ? "on call" : "not on call", token, a.pos[1]);
            rc = 0;
        }
    } else if (strcmp(cmd, "token") == 0) {
        if (staff_new_token(db, a.pos[1], token, err, sizeof err) == 0) {
            printf("token: %s\n(shown once; the old token no longer works)\n", token);
            rc = 0;
        }
    } else if (strcmp(cmd, "remove") == 0) {
        if (staff_remove(db, a.pos[1], err, sizeof err) == 0) {
            printf("removed %s\n", a.pos[1]);
            rc = 0;
        }
    } else if (strcmp(cmd, "on-call") == 0) {
        bool on = strcmp(a.pos[2], "on") == 0;
        if (staff_set_on_call(db, a.pos[1], on, err, sizeof err) == 0) {
            printf("%s is %s\n", a.pos[1], on ? "on call" : "not on call");
            rc = 0;
        }
    } else {
        struct staff_member *m = NULL;
        size_t n = 0;
        if (staff_list(db, &m, &n, err, sizeof err) == 0) {
            printf("%-20s %-17s %s\n", "name", "phone", "on call");
            for (size_t i = 0; i < n; i++)
                printf("%-20s %-17s %s\n", m[i].name, m[i].phone, m[i].on_call ? "yes" : "no");
            free(m);
            rc = 0;
        }
    }
    if (rc)
        fprintf(stderr, "hotline: %s\n", err);
    sqlite3_close(db);
    free(data_dir);
    return rc;
}

/* ---- escalations ---- */

static int parse_id(const char *s, int64_t *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return -1;
    *id = v;
    return 0;
}

#define ESC_COLUMNS                                                                                \
    "id, level, state, intent, texter, opened_at, pages, acked_by, acked_at, closed_by, "          \
    "closed_at, inbound_id"

static const char *need_of(const char *intent)
{
    int i = intent_from_name(intent);
    return escalation_need(i >= 0 ? (enum intent)i : INTENT_FALLBACK);
}

static json_t *esc_json(sqlite3_stmt *st)
{
    const char *acked_by = (const char *)sqlite3_column_text(st, 7);
    const char *closed_by = (const char *)sqlite3_column_text(st, 9);
    char opened[32], acked[32], closed[32];
    fmt_time(sqlite3_column_int64(st, 5), opened, sizeof opened);
    fmt_time(sqlite3_column_int64(st, 8), acked, sizeof acked);
    fmt_time(sqlite3_column_int64(st, 10), closed, sizeof closed);
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s?, s:s?, s:s?, s:s?}", "id",
        (json_int_t)sqlite3_column_int64(st, 0), "level", (const char *)sqlite3_column_text(st, 1),
        "state", (const char *)sqlite3_column_text(st, 2), "intent",
        (const char *)sqlite3_column_text(st, 3), "need",
        need_of((const char *)sqlite3_column_text(st, 3)), "texter",
        (const char *)sqlite3_column_text(st, 4), "opened_at", opened, "pages",
        sqlite3_column_int(st, 6), "acked_by", acked_by, "acked_at", acked_by ? acked : NULL,
        "closed_by", closed_by, "closed_at", closed_by ? closed : NULL);
}

static void print_row(json_t *e)
{
    printf("%-6" JSON_INTEGER_FORMAT " %-8s %-12s %-20s %-17s %-20s %s\n",
           json_integer_value(json_object_get(e, "id")),
           json_string_value(json_object_get(e, "level")),
           json_string_value(json_object_get(e, "state")),
           json_string_value(json_object_get(e, "need")),
           json_string_value(json_object_get(e, "texter")),
           json_string_value(json_object_get(e, "opened_at")),
           json_string_value(json_object_get(e, "acked_by"))
               ? json_string_value(json_object_get(e, "acked_by"))
               : "-");
}

static int esc_list(sqlite3 *db, const struct args *a)
{
    static const char sql[] = "SELECT " ESC_COLUMNS " FROM escalations"
                              " WHERE ?1 OR state != 'closed'"
                              " ORDER BY level = 'urgent' DESC, opened_at, id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_bind_int(st, 1, a->all);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(list, esc_json(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
        json_decref(list);
        return 1;
    }
    if (a->json) {
        json_dumpf(list, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
    } else {
        printf("%-6s %-8s %-12s %-20s %-17s %-20s %s\n", "id", "level", "state", "need", "texter",
               "opened", "acked by");
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) print_row(e);
        if (json_array_size(list) == 0)
            printf("(no %sescalations)\n", a->all ? "" : "open ");
    }
    json_decref(list);
    return 0;
}

static int esc_show(sqlite3 *db, const struct args *a, int64_t id)
{
    sqlite3_stmt *st = NULL;
    json_t *e = NULL;
    int64_t inbound_id = 0;
    char texter[40] = "";
    if (sqlite3_prepare_v2(db, "SELECT " ESC_COLUMNS " FROM escalations WHERE id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            e = esc_json(st);
            inbound_id = sqlite3_column_int64(st, 11);
            snprintf(texter, sizeof texter, "%s", (const char *)sqlite3_column_text(st, 4));
        }
    }
    sqlite3_finalize(st);
    if (!e) {
        fprintf(stderr, "hotline: no escalation %lld\n", (long long)id);
        return 1;
    }
    json_t *texts = json_array();
    static const char sql[] =
        "SELECT i.received_at, i.intent, i.body, (SELECT j.body FROM jobs j WHERE"
        " j.inbound_id = i.id AND j.kind = 'reply' ORDER BY j.id LIMIT 1)"
        " FROM inbound i WHERE i.from_number = ?1 AND i.id >= ?2 ORDER BY i.id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, texter, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, inbound_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char at[32];
            fmt_time(sqlite3_column_int64(st, 0), at, sizeof at);
            json_array_append_new(texts,
                                  json_pack("{s:s, s:s, s:s, s:s?}", "at", at, "intent",
                                            (const char *)sqlite3_column_text(st, 1), "text",
                                            (const char *)sqlite3_column_text(st, 2), "reply",
                                            (const char *)sqlite3_column_text(st, 3)));
        }
    }
    sqlite3_finalize(st);
    json_object_set_new(e, "texts", texts);
    if (a->json) {
        json_dumpf(e, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
    } else {
        printf("%-6s %-8s %-12s %-20s %-17s %-20s %s\n", "id", "level", "state", "need", "texter",
               "opened", "acked by");
        print_row(e);
        size_t i;
        json_t *t;
        json_array_foreach(texts, i, t)
        {
            printf("\n[%s] texter (%s):\n  %s\n", json_string_value(json_object_get(t, "at")),
                   json_string_value(json_object_get(t, "intent")),
                   json_string_value(json_object_get(t, "text")));
            if (json_string_value(json_object_get(t, "reply")))
                printf("  hotline: %s\n", json_string_value(json_object_get(t, "reply")));
        }
    }
    json_decref(e);
    return 0;
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ack or close, as staff member a->by, then the log (after the COMMIT). */
static int esc_act(sqlite3 *db, const char *data_dir, const struct args *a, int64_t id, bool ack)
{
    struct staff_member m;
    int found = staff_get(db, a->by, &m);
    if (found != 1) {
        fprintf(stderr, "hotline: %s\n",
                found == 0 ? "--by must name a staff member (hotline staff list)"
                           : sqlite3_errmsg(db));
        return 1;
    }
    struct escalation_db *e = escalation_db_new(db);
    struct escalation_events ev = {0};
    enum escalation_act_outcome outcome = ESCALATION_ACT_NONE;
    char err[256] = "out of memory", by[STAFF_NAME_MAX + 1] = "";
    int rc = 1;
    if (!e || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        if (e)
            snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
        goto done;
    }
    if (escalation_act(e, id, ack, m.name, "cli", unix_ms(), &outcome, by, sizeof by, &ev, err,
                       sizeof err) < 0 ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        if (!err[0])
            snprintf(err, sizeof err, "%s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        goto done;
    }
    if (ev.len) {
        int fd = escalation_log_open(data_dir);
        if (fd < 0 || escalation_log_write(fd, ev.data, ev.len) < 0)
            fprintf(stderr, "hotline: warning: cannot append to the escalation log: %s\n",
                    strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    switch (outcome) {
    case ESCALATION_ACT_DONE:
        printf("escalation %lld %s by %s\n", (long long)id, ack ? "acknowledged" : "closed",
               m.name);
        rc = 0;
        break;
    case ESCALATION_ACT_ALREADY:
        printf("escalation %lld was already acknowledged by %s\n", (long long)id, by);
        rc = 0;
        break;
    case ESCALATION_ACT_NONE:
        snprintf(err, sizeof err, "no open escalation %lld", (long long)id);
        break;
    }
done:
    if (rc)
        fprintf(stderr, "hotline: %s\n", err);
    escalation_events_clear(&ev);
    escalation_db_free(e);
    return rc;
}

int admin_escalations(int argc, char **argv)
{
    struct args a;
    int rc = parse_all(argc, argv, usage_esc, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (a.npos < 1) {
        fputs(usage_esc, stderr);
        return 2;
    }
    const char *cmd = a.pos[0];
    bool list = strcmp(cmd, "list") == 0, show = strcmp(cmd, "show") == 0;
    bool ack = strcmp(cmd, "ack") == 0, close_ = strcmp(cmd, "close") == 0;
    int64_t id = 0;
    if ((!list && !show && !ack && !close_) || a.npos != (list ? 1 : 2) ||
        (!list && parse_id(a.pos[1], &id) < 0)) {
        fputs(usage_esc, stderr);
        return 2;
    }
    if ((ack || close_) && !a.by) {
        fprintf(stderr, "hotline: escalations %s needs --by NAME (a staff member)\n", cmd);
        return 2;
    }
    char *data_dir = NULL;
    sqlite3 *db = open_db(&a, &data_dir);
    if (!db)
        return 1;
    if (list)
        rc = esc_list(db, &a);
    else if (show)
        rc = esc_show(db, &a, id);
    else
        rc = esc_act(db, data_dir, &a, id, ack);
    sqlite3_close(db);
    free(data_dir);
    return rc;
}
