/* Helpers shared by the Criterion tests of the core library.
 *
 * Rules every test follows (tests/check_no_shm_left.sh enforces the first):
 *  - domains use graph names starting with "mqstest" and a run id unique to
 *    the test process (pid + counter), so tests running in parallel never
 *    share a shared-memory object;
 *  - everything a test creates (domains, handles, child processes, pipes,
 *    hand-made shm objects) is registered here and undone by mqst_teardown(),
 *    which every suite uses as its .fini, so a failing assertion leaves
 *    nothing behind;
 *  - a forked child never uses the parent's handle or Criterion: it attaches
 *    as its own process slot and reports through its exit code.
 */
#ifndef MQS_TEST_UTIL_H
#define MQS_TEST_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mqs/mqs.h"

#define MQST_MS ((int64_t)1000000)
#define MQST_SEC ((int64_t)1000000000)

/* Generous bound for waits that should finish at once: this machine has 2
 * cores, runs the sanitizer build too, and may run other tests alongside. */
#define MQST_PATIENCE (10 * MQST_SEC)

#define MQST_MAX_PROCS 8
#define MQST_MAX_POOLS 8
#define MQST_MAX_OUTPUTS 8
#define MQST_MAX_QUEUES 16

/* ---- topology builder ---- */

/* A domain configuration under construction. The arrays live inside, so a
 * test builds one on the stack and passes mqst_config(&t) to create. */
typedef struct mqst_topo {
    char graph[MQS_NAME_MAX];
    char run_id[MQS_RUN_ID_MAX];
    mqs_domain_config cfg;
    mqs_process_config procs[MQST_MAX_PROCS];
    mqs_pool_config pools[MQST_MAX_POOLS];
    mqs_output_config outputs[MQST_MAX_OUTPUTS];
    mqs_queue_config queues[MQST_MAX_QUEUES];
} mqst_topo;

/* graph = "mqstest_<suite>", a fresh run id, `processes` unnamed slots,
 * hybrid waiting, default held capacity, no pools, outputs or queues. */
void mqst_topo_init(mqst_topo *t, const char *suite, uint32_t processes);
/* Each returns the index of what it added. */
uint32_t mqst_add_pool(mqst_topo *t, uint32_t owner, uint64_t slot_size, uint32_t slot_count);
uint32_t mqst_add_output(mqst_topo *t, uint32_t owner, uint32_t pool);
uint32_t mqst_add_queue(mqst_topo *t, uint32_t output, uint32_t consumer, uint32_t depth, mqs_queue_policy policy);
/* The config with its array pointers and counts filled in. */
mqs_domain_config *mqst_config(mqst_topo *t);

/* A run id no other test process uses: "r<pid>n<counter>". */
void mqst_make_run_id(char *out, size_t size);

/* ---- fixture: everything here is undone by mqst_teardown ---- */

/* Create the domain (asserting success); destroyed by teardown. */
mqs_domain *mqst_create(mqst_topo *t);
/* Register a domain created by hand, to be destroyed by teardown. */
void mqst_track_domain(mqs_domain *d);
/* Attach a second handle in this process as `slot` (asserting success);
 * detached by teardown. Lets single-process tests act as another slot. */
mqs_domain *mqst_attach(const char *name, uint32_t slot);
/* Detach or destroy a tracked handle now (and forget it). */
void mqst_release(mqs_domain *d);
/* Unlink every /dev/shm object whose name starts with `prefix` (a domain
 * name, with its leading '/') at teardown. */
void mqst_track_prefix(const char *prefix);
/* Kill and reap child processes, detach/destroy handles, unlink tracked
 * objects, close pipes. The .fini of every suite. */
void mqst_teardown(void);

/* ---- /dev/shm inspection ---- */

/* Objects whose name starts with the domain name `prefix` (e.g. the value of
 * mqs_domain_name) followed by '.'. */
int mqst_shm_count(const char *prefix);
/* Objects of this user whose name contains `needle`. */
int mqst_shm_count_containing(const char *needle);
/* Mode bits (st_mode & 07777) of the object, or -errno. */
int mqst_shm_mode(const char *object);
/* Unlink every object starting with prefix + '.'; returns how many. */
int mqst_shm_unlink_prefix(const char *prefix);

/* ---- child processes ---- */

typedef int (*mqst_child_fn)(void *arg);

/* Fork a child that runs fn(arg) and _exit()s with its return value. The
 * child dies with the test process (PR_SET_PDEATHSIG), so a test killed by
 * a timeout leaves no process behind. Asserts the fork worked. */
pid_t mqst_spawn(mqst_child_fn fn, void *arg);

#define MQST_TIMED_OUT (-1)
#define MQST_SIGNALED(sig) (1000 + (sig))
/* Wait for a child: its exit code, MQST_SIGNALED(sig) if a signal killed it,
 * or MQST_TIMED_OUT (the child was then killed and reaped). */
int mqst_join(pid_t pid, int64_t timeout_ns);
/* SIGKILL a child and reap it; returns what mqst_join would. */
int mqst_kill(pid_t pid);

/* In a child: attach as `slot`, or NULL (after printing why). */
mqs_domain *mqst_child_attach(const char *name, uint32_t slot);
/* In a child: print where a check failed and return `code` for _exit. */
int mqst_child_fail(int code, const char *file, int line, const char *what);
#define MQST_REQUIRE(cond, code)                                            \
    do {                                                                    \
        if (!(cond))                                                        \
            return mqst_child_fail((code), __FILE__, __LINE__, #cond);      \
    } while (0)

/* Memory shared with children forked after this call (MAP_SHARED |
 * MAP_ANONYMOUS, zeroed); unmapped by teardown. */
void *mqst_shared(size_t size);

/* A one-way byte channel between processes (a pipe), closed by teardown. */
typedef struct mqst_pipe {
    int rd, wr;
} mqst_pipe;
void mqst_pipe_open(mqst_pipe *p);
/* 0, or -errno. */
int mqst_pipe_put(const mqst_pipe *p, uint8_t byte);
/* The byte read, -ETIMEDOUT, or -EPIPE when every writer is gone. */
int mqst_pipe_get(const mqst_pipe *p, int64_t timeout_ns);

/* ---- small assertions on library state ---- */

mqs_pool_stats mqst_pool_stats(const mqs_domain *d, uint32_t pool);
mqs_queue_stats mqst_queue_stats(const mqs_domain *d, uint32_t queue);
mqs_process_stats mqst_process_stats(const mqs_domain *d, uint32_t process);

#endif
