/* Report files of the sinks: one JSON line per run, appended with a single
 * write(2) at fini, so end-to-end tests can read exact counts (and several
 * sinks may share one file). Private to the built-in blocks. */
#ifndef MQS_BLOCKS_REPORT_H
#define MQS_BLOCKS_REPORT_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mqs/block.h>

#define REPORT_PATH_MAX 4096

/* `s` as a JSON string, quotes included, truncated to fit `cap`. */
static inline void report_json_string(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return;
    dst[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[n++] = '\\';
            dst[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", c);
        } else {
            dst[n++] = (char)c;
        }
    }
    dst[n++] = '"';
    dst[n] = '\0';
}

/* Append `line` (ending in '\n') to `path` in one write: a reader never sees
 * half a line, and concurrent writers (O_APPEND) never interleave. Logs and
 * returns -errno on failure. */
static inline int report_append(mqs_block_ctx *ctx, const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = -errno;
        mqs_log(ctx, MQS_LOG_ERROR, "cannot open report file '%s': %s (check param `report`)", path, strerror(-rc));
        return rc;
    }
    size_t len = strlen(line);
    ssize_t w = write(fd, line, len);
    int rc = w == (ssize_t)len ? 0 : w < 0 ? -errno : -ENOSPC;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        mqs_log(ctx, MQS_LOG_ERROR, "cannot write report file '%s': %s", path, strerror(-rc));
    return rc;
}

#endif
