/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share.
 *
 * A target checks properties as well as surviving: FUZZ_CHECK aborts with the failed
 * condition, so libFuzzer saves the input as a crash exactly as it does for a sanitizer
 * report. fuzz_cstr copies the fuzzer's bytes (which are not NUL-terminated) into a C
 * string, as the server does with what evhttp hands it. fuzz_tmpdir gives a target a
 * scratch folder, removed at exit; a crash skips exit handlers, so it also removes the
 * folders of earlier runs whose process is gone.
 */
#ifndef HOTLINE_FUZZ_H
#define HOTLINE_FUZZ_H

#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy of n bytes (which may hold NULs: C code then sees a prefix). */
static inline char *fuzz_cstr(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/*
 * Splits data at the first count-1 newlines into count pieces (the last takes the rest).
 * Returns how many pieces were found; missing ones are empty.
 */
static inline size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **piece,
                                size_t *len, size_t count)
{
    size_t found = 0, at = 0;
    for (size_t i = 0; i < count; i++) {
        piece[i] = data + at;
        len[i] = 0;
    }
    while (found < count) {
        const uint8_t *nl =
            found + 1 < count && at < size ? memchr(data + at, '\n', size - at) : NULL;
        size_t end = nl ? (size_t)(nl - data) : size;
        piece[found] = data + at;
        len[found] = end - at;
        found++;
        if (!nl)
            break;
        at = end + 1;
    }
    return found;
}

static char fuzz_tmpdir_path[256];

static inline void fuzz_rmtree(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", path);
}

static inline void fuzz_tmpdir_cleanup(void)
{
    fuzz_rmtree(fuzz_tmpdir_path);
}

/*
 * Creates <base>/hotline-fuzz-<tag>-<pid>-XXXXXX, base being /dev/shm when there is one
 * (keeping SQLite and file writes off the disk), else /tmp, and returns its path (static
 * storage). Aborts on failure.
 */
static inline const char *fuzz_tmpdir(const char *tag)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "hotline-fuzz-%s-", tag);
    DIR *d = opendir(base);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        long pid = strncmp(e->d_name, prefix, (size_t)plen) == 0 ? atol(e->d_name + plen) : 0;
        if (pid > 0 && kill((pid_t)pid, 0) != 0) {
            char stale[512];
            snprintf(stale, sizeof stale, "%s/%s", base, e->d_name);
            fuzz_rmtree(stale);
        }
    }
    if (d)
        closedir(d);
    snprintf(fuzz_tmpdir_path, sizeof fuzz_tmpdir_path, "%s/%s%ld-XXXXXX", base, prefix,
             (long)getpid());
    if (!mkdtemp(fuzz_tmpdir_path))
        abort();
    atexit(fuzz_tmpdir_cleanup);
    return fuzz_tmpdir_path;
}

#endif
