/*
 * staff: the staff directory in the database (see staff.h). Each change is one short
 * BEGIN IMMEDIATE transaction on the caller's connection, so it waits its turn behind the
 * service's writer (busy timeout) instead of failing while the service runs.
 */
#include "hotline/staff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool staff_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > STAFF_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

bool staff_phone_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 3 && n <= STAFF_PHONE_MAX && s[0] == '+' && s[1] >= '1' && s[1] <= '9' &&
           strspn(s + 1, "0123456789") == n - 1;
}

int staff_token_hash(const char *token, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return -1;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int token_new(char token[STAFF_TOKEN_SIZE], char hash[65])
{
    unsigned char raw[20];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(token, "hlt_", 4);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(token + 4 + 2 * i, 3, "%02x", raw[i]);
    return staff_token_hash(token, hash);
}

/*
 * Runs one statement (binding text params ?1.. from args, NULL-terminated; ints from
 * ivals) in its own transaction. Returns the number of changed rows, or -1 with err.
 */
static int run_change(sqlite3 *db, const char *sql, const char *const *texts, size_t ntexts,
                      const int64_t *ints, size_t nints, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int changed = -1;
    char *msg = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "cannot start a transaction: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (size_t i = 0; i < ntexts; i++)
        sqlite3_bind_text(st, (int)i + 1, texts[i], -1, SQLITE_TRANSIENT);
    for (size_t i = 0; i < nints; i++)
        sqlite3_bind_int64(st, (int)(ntexts + i) + 1, ints[i]);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    changed = sqlite3_changes(db);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    return changed;
fail:
    if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE)
        snprintf(err, errlen, "a staff member with that name or phone exists already");
    else
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int staff_add(struct sqlite3 *db, const char *name, const char *phone, bool on_call,
              char token[STAFF_TOKEN_SIZE], char *err, size_t errlen)
{
    if (!staff_name_valid(name)) {
        snprintf(err, errlen, "a name is 1 to 32 letters, digits, '.', '_' or '-'");
        return -1;
    }
    if (!staff_phone_valid(phone)) {
        snprintf(err, errlen, "the phone must be an E.164 number such as +19495550100");
        return -1;
    }
    char hash[65];
    if (token_new(token, hash) < 0) {
        snprintf(err, errlen, "cannot make a token (no randomness)");
        return -1;
    }
    const char *texts[] = {name, phone, hash};
    int64_t ints[] = {on_call ? 1 : 0, now_ms()};
    int rc = run_change(db,
                        "INSERT INTO staff (name, phone, token_hash, on_call, created_at,"
                        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        texts, 3, ints, 2, err, errlen);
    return rc == 1 ? 0 : -1;
}

static int changed_one(int rc, const char *name, char *err, size_t errlen)
{
    if (rc == 0)
        snprintf(err, errlen, "no staff member named %s", name);
    return rc == 1 ? 0 : -1;
}

int staff_set_on_call(struct sqlite3 *db, const char *name, bool on_call, char *err, size_t errlen)
{
    const char *texts[] = {name};
    int64_t ints[] = {on_call ? 1 : 0, now_ms()};
    int rc = run_change(db, "UPDATE staff SET on_call = ?2, updated_at = ?3 WHERE name = ?1", texts,
                        1, ints, 2, err, errlen);
    return changed_one(rc, name, err, errlen);
}

int staff_new_token(struct sqlite3 *db, const char *name, char token[STAFF_TOKEN_SIZE], char *err,
                    size_t errlen)
{
    char hash[65];
    if (token_new(token, hash) < 0) {
        snprintf(err, errlen, "cannot make a token (no randomness)");
        return -1;
    }
    const char *texts[] = {name, hash};
    int64_t ints[] = {now_ms()};
    int rc = run_change(db, "UPDATE staff SET token_hash = ?2, updated_at = ?3 WHERE name = ?1",
                        texts, 2, ints, 1, err, errlen);
    return changed_one(rc, name, err, errlen);
}

int staff_remove(struct sqlite3 *db, const char *name, char *err, size_t errlen)
{
    const char *texts[] = {name};
    int rc = run_change(db, "DELETE FROM staff WHERE name = ?1", texts, 1, NULL, 0, err, errlen);
    return changed_one(rc, name, err, errlen);
}

static void member_from_row(sqlite3_stmt *st, struct staff_member *m)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    snprintf(m->name, sizeof m->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(m->phone, sizeof m->phone, "%s", (const char *)sqlite3_column_text(st, 2));
    m->on_call = sqlite3_column_int(st, 3) != 0;
    m->created_at = sqlite3_column_int64(st, 4);
}

#define MEMBER_COLUMNS "id, name, phone, on_call, created_at"

int staff_list(struct sqlite3 *db, struct staff_member **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    struct staff_member *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT " MEMBER_COLUMNS " FROM staff ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8;
            struct staff_member *grown = realloc(v, cap * sizeof *v);
            if (!grown)
                goto fail;
            v = grown;
        }
        member_from_row(st, &v[len++]);
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    *out = v;
    *n = len;
    return 0;
fail:
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    free(v);
    return -1;
}

static int get_one(sqlite3 *db, const char *sql, const char *key, struct staff_member *out)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            member_from_row(st, out);
            ret = 1;
        } else if (rc == SQLITE_DONE) {
            ret = 0;
        }
    }
    sqlite3_finalize(st);
    return ret;
}

int staff_get(struct sqlite3 *db, const char *name, struct staff_member *out)
{
    return get_one(db, "SELECT " MEMBER_COLUMNS " FROM staff WHERE name = ?1", name, out);
}

int staff_by_token(struct sqlite3 *db, const char *token, struct staff_member *out)
{
    char hash[65];
    if (!token || staff_token_hash(token, hash) < 0)
        return -1;
    return get_one(db, "SELECT " MEMBER_COLUMNS " FROM staff WHERE token_hash = ?1", hash, out);
}
