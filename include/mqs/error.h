/* multiqueue-shm: error reporting.
 *
 * Every function returns 0 (or a non-negative count) on success and a negative
 * errno code on failure. Cold-path functions (create, attach, reclaim) also
 * leave a sentence saying what went wrong, where, and how to fix it; read it
 * with mqs_last_error() on the same thread, right after the failing call.
 */
#ifndef MQS_ERROR_H
#define MQS_ERROR_H

#include <errno.h> /* the codes callers compare with: -EAGAIN, -ETIMEDOUT ... */

#ifdef __cplusplus
extern "C" {
#endif

/* Text for a negative errno code, e.g. mqs_strerror(-ESTALE). Never NULL. */
const char *mqs_strerror(int err);

/* The detailed message of the last failing cold-path call on this thread,
 * or "" if there is none. Valid until the next call into libmqs. */
const char *mqs_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
