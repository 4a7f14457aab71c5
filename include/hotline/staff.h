/*
 * staff: the staff directory (who answers the line, their phone, whether they are on
 * call, and a hash of their personal API token).
 *
 * Every person who answers must have an account: a provider bound by HIPAA and 42 CFR
 * Part 2 must know who saw and did what. The directory lives in the database, so the
 * `hotline staff` commands change it on their own connection while the service runs
 * (the service reads it inside its write transactions: an on-call change takes effect at
 * the next page). Tokens are shown once and stored only as a SHA-256 hash (OpenSSL).
 *
 * Functions take a read-write sqlite3 connection and run their own short transaction.
 * Part 2 (the staff HTTP API) finds a staff member by token with staff_by_token.
 */
#ifndef HOTLINE_STAFF_H
#define HOTLINE_STAFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

#define STAFF_NAME_MAX 32
#define STAFF_PHONE_MAX 16
/* "hlt_" + 40 hex digits (160 random bits), plus the NUL. */
#define STAFF_TOKEN_SIZE 45

struct staff_member {
    int64_t id;
    char name[STAFF_NAME_MAX + 1];
    char phone[STAFF_PHONE_MAX + 1];
    bool on_call;
    int64_t created_at;
};

/* 1..32 of [A-Za-z0-9._-], starting with a letter or digit. */
bool staff_name_valid(const char *name);
/* E.164: '+', a non-zero digit, at most 15 digits in all. */
bool staff_phone_valid(const char *phone);

/* All functions: 0 on success, -1 with a one-line reason in err. */

/* Adds a member and writes their new token (shown once) into token. */
int staff_add(struct sqlite3 *db, const char *name, const char *phone, bool on_call,
              char token[STAFF_TOKEN_SIZE], char *err, size_t errlen);
/* Sets on call on or off. */
int staff_set_on_call(struct sqlite3 *db, const char *name, bool on_call, char *err, size_t errlen);
/* A new token replaces the old one, which stops working at once. */
int staff_new_token(struct sqlite3 *db, const char *name, char token[STAFF_TOKEN_SIZE], char *err,
                    size_t errlen);
int staff_remove(struct sqlite3 *db, const char *name, char *err, size_t errlen);
/* Every member, by name; *out is malloc'd (free it). */
int staff_list(struct sqlite3 *db, struct staff_member **out, size_t *n, char *err, size_t errlen);
/* 1 with *out, 0 when no member has the name, -1 on error. */
int staff_get(struct sqlite3 *db, const char *name, struct staff_member *out);
/* hex(SHA-256(token)) into out (65 bytes). 0 or -1. */
int staff_token_hash(const char *token, char out[65]);
/* 1 with *out when token is someone's current token, 0 when nobody's, -1 on error. */
int staff_by_token(struct sqlite3 *db, const char *token, struct staff_member *out);

#endif
