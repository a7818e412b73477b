/* multiqueue-shm: commands to a running process (mqctl set).
 *
 * Each process slot has one command slot in the domain. Any process of the
 * user, an observer too, posts a command and waits for the answer; the
 * process carries it out between two block calls (the worker looks after
 * every batch of input, and at least every 100 ms while it waits) and
 * writes the result. One command at a time per process; a writer that dies
 * while posting leaves the slot to the next one. */
#ifndef MQS_COMMAND_H
#define MQS_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqs_domain mqs_domain;

#define MQS_COMMAND_KEY_MAX 64
#define MQS_COMMAND_VALUE_MAX 4096 /* the longest param string a graph file may hold, with the NUL */
#define MQS_COMMAND_REPLY_MAX 512

typedef enum mqs_command_kind {
    MQS_COMMAND_SET_PARAM = 1, /* set param `key` to `value`, written as in a graph file */
} mqs_command_kind;

/* Ask process slot `process` to set its param `key` to `value`, and wait up
 * to `timeout_ns` for its answer (its text in `reply`). Returns the
 * process's result (0: applied; -EINVAL, -EPERM ...: refused, reply says
 * why), or -ETIMEDOUT (not taken in time: withdrawn, nothing changed),
 * -EINPROGRESS (taken but not answered in time: it may still apply),
 * -EBUSY (a live writer's command is pending), -ESRCH (no process in the
 * slot), -ERANGE, -ENAMETOOLONG (key or value too long). */
int mqs_command_set_param(mqs_domain *d, uint32_t process, const char *key, const char *value, int64_t timeout_ns,
                          char *reply, size_t reply_size);

/* A command as its process receives it. */
typedef struct mqs_command {
    mqs_command_kind kind;
    char key[MQS_COMMAND_KEY_MAX];
    char value[MQS_COMMAND_VALUE_MAX];
} mqs_command;

/* The process side: 1 and *out filled when a command waits for the calling
 * process (it must answer with mqs_command_finish), 0 when none does (one
 * relaxed load). */
int mqs_command_take(mqs_domain *d, mqs_command *out);

/* Answer the command taken: result 0 or -errno, and a line for the user. */
void mqs_command_finish(mqs_domain *d, int result, const char *reply);

#ifdef __cplusplus
}
#endif
#endif
