/*
 * testutil: small helpers shared by the unit tests: temporary folders and files, and
 * running the built `hotline` binary with input and captured output.
 * Every helper fails the running cmocka test (fail_msg) rather than returning errors.
 */
#ifndef HOTLINE_TESTUTIL_H
#define HOTLINE_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh folder under $TMPDIR (or /tmp); the caller frees the string and may remove it
 * with tu_rmtree. */
char *tu_mkdtemp(void);

/* Removes a folder and everything in it. */
void tu_rmtree(const char *path);

/* Writes data to dir/name (creating or truncating). */
void tu_write_file(const char *dir, const char *name, const char *data);

/* Reads a whole file; NUL-terminated; caller frees. NULL when missing. */
char *tu_read_file(const char *path, size_t *len);

/*
 * Runs a shell command with input on stdin (NULL for none); returns its exit status and
 * stores its stdout (NUL-terminated, caller frees) in *out when out is not NULL.
 */
int tu_run(const char *command, const char *input, char **out);

#endif
