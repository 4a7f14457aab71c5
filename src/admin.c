/*
 * admin: the staff directory and escalation commands (see admin.h). Each command opens
 * the database directly, does one short transaction and closes it; nothing here takes
 * the service's lock, so it is safe while `hotline serve` runs. Escalation events are
 * recorded in escalation_log in the command's transaction and exported to the log
 * right after its COMMIT (escalation.h).
 *
 * Output is for a person at a terminal (or --json for tools). Numbers are shown here:
 * the operator is staff looking at the record, not a log.
 */
#include "hotline/admin.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/file.h>
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
    "  ack ID --by NAME          acknowledge it (stops re-paging; NAME holds the texter)\n"
    "  reply ID TEXT --by NAME   text the texter from the hotline number\n"
    "  close ID --by NAME        close it (the auto-responder answers the texter again)\n"
    "  tail                      follow the escalation log live, one line per event\n"
    "\n"
    "Every change, and every show (as --by NAME, else the login), is appended to\n"
    "HOTLINE_DATA_DIR/escalations.jsonl.\n";

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
    json_t *list = escalation_list_json(db, a->all);
    if (!list) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
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

/* Whether `hotline serve` holds this data folder (its flock on hotline.lock). */
static bool service_running(const char *data_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/hotline.lock", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd); /* releases a shared lock we may have taken */
    return held;
}

/* After the COMMIT that holds ev's rows (escalation_log): exports the committed rows the
 * file lacks, ours and any the service has not exported yet. A failure is only warned
 * about (the rows stay in the database; the next export writes them). */
static void append_log(sqlite3 *db, const char *data_dir, const struct escalation_events *ev)
{
    if (!ev->len)
        return;
    /* A running service exports them within a fraction of a second and tells its live
     * views (SSE, the staff chat): exporting here would hide them from it. */
    if (service_running(data_dir))
        return;
    /* The commands never rotate the file: the service does, at its configured size. */
    struct escalation_log_file log;
    if (escalation_log_open(&log, data_dir, 0, 1) < 0 ||
        escalation_log_export(&log, db, NULL, NULL, NULL) < 0)
        fprintf(stderr, "hotline: warning: cannot append to the escalation log: %s\n",
                strerror(errno));
    escalation_log_close(&log);
}

/* Who looks: --by NAME (a staff member), else the login the command runs as. */
static int viewer(sqlite3 *db, const struct args *a, char *out, size_t outlen)
{
    if (a->by) {
        struct staff_member m;
        int found = staff_get(db, a->by, &m);
        if (found != 1) {
            fprintf(stderr, "hotline: --by must name a staff member (hotline staff list)\n");
            return -1;
        }
        snprintf(out, outlen, "%s", m.name);
        return 0;
    }
    struct passwd *pw = getpwuid(geteuid());
    snprintf(out, outlen, "unix:%s", pw && pw->pw_name ? pw->pw_name : "?");
    return 0;
}

static int64_t unix_ms(void);

/* One escalation and its conversation; the view is an audit event ("viewed", via cli). */
static int esc_show(sqlite3 *db, const char *data_dir, const struct args *a, int64_t id)
{
    char who[64];
    if (viewer(db, a, who, sizeof who) < 0)
        return 1;
    json_t *e = escalation_show_json(db, id);
    if (!e) {
        fprintf(stderr, "hotline: no escalation %lld\n", (long long)id);
        return 1;
    }
    struct escalation_db *edb = escalation_db_new(db);
    struct escalation_events ev = {0};
    char err[256] = "";
    if (!edb || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        escalation_viewed(edb, id, who, "cli", unix_ms(), &ev, err, sizeof err) < 0 ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        /* No record of the view, no view. */
        fprintf(stderr, "hotline: cannot record the view: %s\n", err[0] ? err : sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        escalation_db_free(edb);
        json_decref(e);
        return 1;
    }
    escalation_db_free(edb);
    append_log(db, data_dir, &ev);
    escalation_events_clear(&ev);
    json_t *texts = json_object_get(e, "texts");
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
            const char *from = json_string_value(json_object_get(t, "from"));
            if (from && strcmp(from, "staff") == 0) {
                printf("\n[%s] staff:\n  %s\n", json_string_value(json_object_get(t, "at")),
                       json_string_value(json_object_get(t, "text")));
                continue;
            }
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
    append_log(db, data_dir, &ev);
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

/*
 * A staff answer: the job is written with a job_handoff row in the same transaction; a
 * running service picks it up within a second (store.h, store_submit_repage) and sends
 * it; with no service running, the next start sends it.
 */
static int esc_reply(sqlite3 *db, const char *data_dir, const struct args *a, int64_t id,
                     const char *text)
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
    enum escalation_reply_outcome ro = ESCALATION_REPLY_NONE;
    char err[256] = "", to[40], from[40];
    int64_t now = unix_ms(), job = 0;
    sqlite3_stmt *st = NULL;
    int rc = 1;
    if (!e || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    if (escalation_reply(e, id, m.name, "cli", text, now, &ro, to, from, &ev, err, sizeof err) < 0)
        goto fail;
    if (ro == ESCALATION_REPLY_OK) {
        static const char sql[] =
            "INSERT INTO jobs (kind, priority, to_number, from_number, body, state, attempts,"
            " next_attempt_at, created_at, updated_at, escalation_id, staff) VALUES ('reply', ?1,"
            " ?2, ?3, ?4, 'pending', 0, ?5, ?5, ?5, ?6, ?7)";
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            goto fail;
        sqlite3_bind_int(st, 1, ESCALATION_PRIORITY_STAFF_REPLY);
        sqlite3_bind_text(st, 2, to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, from, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_int64(st, 6, id);
        sqlite3_bind_text(st, 7, m.name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto fail;
        sqlite3_finalize(st);
        st = NULL;
        job = sqlite3_last_insert_rowid(db);
        char sql2[96];
        snprintf(sql2, sizeof sql2, "INSERT INTO job_handoff (job_id) VALUES (%lld)",
                 (long long)job);
        if (sqlite3_exec(db, sql2, NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    append_log(db, data_dir, &ev);
    switch (ro) {
    case ESCALATION_REPLY_OK:
        printf("escalation %lld: reply queued (job %lld)\n", (long long)id, (long long)job);
        rc = 0;
        break;
    case ESCALATION_REPLY_OPTED_OUT:
        fprintf(stderr, "hotline: not sent: the texter opted out (STOP)\n");
        break;
    case ESCALATION_REPLY_EMPTY:
        fprintf(stderr, "hotline: not sent: the text is empty or over 1600 characters\n");
        break;
    case ESCALATION_REPLY_NONE:
        fprintf(stderr, "hotline: no open escalation %lld\n", (long long)id);
        break;
    }
    goto done;
fail:
    fprintf(stderr, "hotline: %s\n", err[0] ? err : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
done:
    escalation_events_clear(&ev);
    escalation_db_free(e);
    return rc;
}

/* One event line as a person reads it. */
static void print_event(const char *line)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    if (!o) {
        printf("%s\n", line);
        return;
    }
    const char *staff = json_string_value(json_object_get(o, "staff"));
    const char *intent = json_string_value(json_object_get(o, "intent"));
    int i = intent ? intent_from_name(intent) : -1;
    printf("%s  #%-5" JSON_INTEGER_FORMAT " %-12s %-8s %-22s texter %s%s%s (via %s)\n",
           json_string_value(json_object_get(o, "time")),
           json_integer_value(json_object_get(o, "escalation")),
           json_string_value(json_object_get(o, "event")),
           json_string_value(json_object_get(o, "level")),
           escalation_need(i >= 0 ? (enum intent)i : INTENT_FALLBACK),
           json_string_value(json_object_get(o, "texter")), staff ? "  staff " : "",
           staff ? staff : "", json_string_value(json_object_get(o, "via")));
    fflush(stdout);
    json_decref(o);
}

/* Follows escalations.jsonl from its end (a new file after a rotation is read from its
 * start); polls every 200 ms until interrupted. */
static int esc_tail(const char *data_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/" ESCALATION_LOG_FILE, data_dir);
    FILE *f = NULL;
    long pos = -1;
    ino_t ino = 0;
    char line[4096];
    size_t len = 0;
    for (;;) {
        struct stat sb;
        if (stat(path, &sb) == 0 && (!f || sb.st_ino != ino || sb.st_size < pos)) {
            if (f)
                fclose(f);
            f = fopen(path, "r");
            if (f && pos < 0)
                fseek(f, 0, SEEK_END); /* the first open: only what comes next */
            ino = sb.st_ino;
            len = 0;
        }
        int c;
        while (f && (c = fgetc(f)) != EOF) {
            if (c == '\n') {
                line[len] = '\0';
                print_event(line);
                len = 0;
            } else if (len < sizeof line - 1) {
                line[len++] = (char)c;
            }
        }
        if (f) {
            clearerr(f);
            pos = ftell(f);
        } else {
            pos = 0;
        }
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
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
    bool reply = strcmp(cmd, "reply") == 0, tail = strcmp(cmd, "tail") == 0;
    int64_t id = 0;
    if ((!list && !show && !ack && !close_ && !reply && !tail) ||
        a.npos != (list || tail ? 1
                   : reply      ? 3
                                : 2) ||
        (!list && !tail && parse_id(a.pos[1], &id) < 0)) {
        fputs(usage_esc, stderr);
        return 2;
    }
    if ((ack || close_ || reply) && !a.by) {
        fprintf(stderr, "hotline: escalations %s needs --by NAME (a staff member)\n", cmd);
        return 2;
    }
    char *data_dir = NULL;
    sqlite3 *db = open_db(&a, &data_dir);
    if (!db)
        return 1;
    if (tail) {
        sqlite3_close(db);
        db = NULL;
        rc = esc_tail(data_dir);
    } else if (list) {
        rc = esc_list(db, &a);
    } else if (show) {
        rc = esc_show(db, data_dir, &a, id);
    } else if (reply) {
        rc = esc_reply(db, data_dir, &a, id, a.pos[2]);
    } else {
        rc = esc_act(db, data_dir, &a, id, ack);
    }
    sqlite3_close(db);
    free(data_dir);
    return rc;
}

/* ---- opt-outs ---- */

static const char usage_optouts[] =
    "usage: hotline optouts COMMAND [--config FILE]\n"
    "\n"
    "Opt-outs, for audits (in HOTLINE_DATA_DIR, safe while the service runs):\n"
    "  list [--json]   the numbers opted out now, oldest first: since when, and how\n"
    "                  (keyword: STOP and the like; request: \"stop texting me\";\n"
    "                  gateway error 21610: the carrier refused a send after a STOP)\n"
    "  export          every opt-out and opt-in ever recorded, oldest first, as CSV:\n"
    "                  time_utc,number,event,source,inbound_id\n";

/* Unix ms as "2026-11-26T01:02:03.456Z" into out (32 bytes). */
static void iso_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static int optouts_list(sqlite3 *db, const struct args *a)
{
    static const char sql[] =
        "SELECT s.number, coalesce(s.opted_out_at, s.updated_at),"
        " (SELECT e.source FROM opt_events e WHERE e.number = s.number AND e.event = 'opt_out'"
        "  ORDER BY e.at DESC, e.id DESC LIMIT 1)"
        " FROM senders s WHERE s.opted_out = 1 ORDER BY 2, 1";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *number = (const char *)sqlite3_column_text(st, 0);
        const char *source = (const char *)sqlite3_column_text(st, 2);
        char since[32];
        iso_time(sqlite3_column_int64(st, 1), since);
        if (a->json) {
            json_t *o = json_pack("{s:s, s:s, s:s}", "number", number, "since", since, "source",
                                  source ? source : "unknown");
            char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (line)
                puts(line);
            free(line);
            json_decref(o);
        } else {
            if (n == 0)
                printf("%-16s %-24s %s\n", "number", "opted out since (UTC)", "source");
            printf("%-16s %-24s %s\n", number, since, source ? source : "unknown");
        }
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    if (!a->json)
        printf("%d number%s opted out\n", n, n == 1 ? "" : "s");
    return 0;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

static int optouts_export(sqlite3 *db)
{
    static const char sql[] = "SELECT at, number, event, source, inbound_id FROM opt_events"
                              " ORDER BY at, id";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    puts("time_utc,number,event,source,inbound_id");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32], inbound[24] = "";
        iso_time(sqlite3_column_int64(st, 0), at);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            snprintf(inbound, sizeof inbound, "%lld", (long long)sqlite3_column_int64(st, 4));
        csv_field(at, false);
        csv_field((const char *)sqlite3_column_text(st, 1), false);
        csv_field((const char *)sqlite3_column_text(st, 2), false);
        csv_field((const char *)sqlite3_column_text(st, 3), false);
        csv_field(inbound, true);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "hotline: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int admin_optouts(int argc, char **argv)
{
    struct args a;
    int rc = parse_all(argc, argv, usage_optouts, &a);
    if (rc)
        return rc == 1 ? 0 : 2;
    bool list = a.npos == 1 && strcmp(a.pos[0], "list") == 0;
    bool export = a.npos == 1 && strcmp(a.pos[0], "export") == 0;
    if ((!list && !export) || a.by || a.phone || a.on_call || a.all || (export && a.json)) {
        fputs(usage_optouts, stderr);
        return 2;
    }
    char *data_dir = NULL;
    sqlite3 *db = open_db(&a, &data_dir);
    if (!db)
        return 1;
    rc = list ? optouts_list(db, &a) : optouts_export(db);
    sqlite3_close(db);
    free(data_dir);
    return rc;
}
