/*
 * testutil: shared helpers for the unit tests (see testutil.h).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/hotline-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path))
        fail_msg("mkdtemp: %s", strerror(errno));
    return strdup(path);
}

void tu_rmtree(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fail_msg("could not remove %s", path);
}

void tu_write_file(const char *dir, const char *name, const char *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("open %s: %s", path, strerror(errno));
    fputs(data, f);
    if (fclose(f) != 0)
        fail_msg("write %s: %s", path, strerror(errno));
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int tu_run(const char *command, const char *input, char **out)
{
    char *dir = tu_mkdtemp();
    char in_path[4200], out_path[4200], cmd[16384];
    snprintf(in_path, sizeof in_path, "%s/stdin", dir);
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    tu_write_file(dir, "stdin", input ? input : "");
    snprintf(cmd, sizeof cmd, "%s <'%s' >'%s'", command, in_path, out_path);
    int status = system(cmd);
    if (out)
        *out = tu_read_file(out_path, NULL);
    tu_rmtree(dir);
    free(dir);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}
