/* Error texts: mqs_strerror for codes, mqs_last_error for the sentence that
 * says what, where and how to fix. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_error[512];

int mqsi_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return err;
}

void mqsi_clear_error(void)
{
    last_error[0] = '\0';
}

const char *mqs_last_error(void)
{
    return last_error;
}

const char *mqs_strerror(int err)
{
    if (err > 0)
        return "not an error code";
    if (err < -4095) /* beyond any errno; also keeps -INT_MIN from overflowing */
        return "unknown error";
    switch (-err) {
    case 0: return "success";
    case ESTALE: return "stale buffer ID (the buffer was already released)";
    case EPROTO: return "shared-memory layout version mismatch";
    case ENOTRECOVERABLE: return "the block failed (its log above says why)";
    case EBADMSG: return "corrupt or truncated shared-memory segment";
    case EAGAIN: return "resource temporarily exhausted";
    case ETIMEDOUT: return "timed out";
    case ECANCELED: return "stop requested";
    default: break;
    }
    return strerror(-err);
}
