/* multiqueue-shm: domains.
 *
 * A domain is one run of a graph: a control segment holding the process table,
 * pool and buffer metadata and the queues, plus one payload segment per pool.
 * Objects are named /mqs.<uid>.<graph>.<runid>.<what>, created O_EXCL with mode
 * 0600. The creator describes the whole domain up front (mqs_domain_config);
 * other processes attach by name as one of the declared process slots.
 *
 * A mqs_domain handle is one process's view: its mappings and the process slot
 * it acts as. Handles are not shared between threads.
 */
#ifndef MQS_DOMAIN_H
#define MQS_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "align.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqs_domain mqs_domain;

#define MQS_NAME_MAX 48 /* bytes of a graph, process, pool or queue name, with the NUL */
#define MQS_RUN_ID_MAX 24

enum {
    MQS_POOL_HUGE_PAGES = 1u << 0, /* ask for transparent huge pages on the payload */
};

typedef struct mqs_pool_config {
    const char *name;   /* for tools, e.g. "camera.out" */
    uint64_t slot_size; /* payload bytes per slot */
    uint32_t slot_count;
    uint32_t owner;     /* process slot that allocates from it (maps it read-write) */
    uint32_t flags;     /* MQS_POOL_* */
} mqs_pool_config;

/* An output port: buffers sent to it go to every queue whose output is it. */
typedef struct mqs_output_config {
    const char *name;
    uint32_t owner; /* process slot that sends on it */
    uint32_t pool;  /* pool it allocates from */
    mqs_caps caps;  /* what it carries (optional; for blocks and tools) */
} mqs_output_config;

/* A queue joins one output to one input of one consumer process. */
typedef struct mqs_queue_config {
    const char *name;
    uint32_t output;   /* feeding output */
    uint32_t consumer; /* consuming process slot */
    uint32_t depth;    /* entries; rounded up to a power of two, at least 2 */
    mqs_queue_policy policy;
    /* For the consumer's aligner (mqs/align.h); ignored when it does not align. */
    int64_t period_ns; /* least time between two buffers' pts on this input; 0: unknown */
    bool optional;     /* sets may go without this input once it is late */
} mqs_queue_config;

typedef struct mqs_process_config {
    const char *name;
    mqs_sync_config sync; /* how its inputs are aligned; zero: policy none */
} mqs_process_config;

typedef struct mqs_domain_config {
    const char *graph;  /* [A-Za-z0-9_-], at most MQS_NAME_MAX-1 bytes */
    const char *run_id; /* same alphabet; NULL: made from pid and time */
    mqs_wait_mode wait_mode;
    uint32_t held_capacity; /* references one process may hold at once; 0: 1024 */
    const mqs_process_config *processes; /* slot 0 is the creator (supervisor) */
    uint32_t process_count;
    const mqs_pool_config *pools;
    uint32_t pool_count;
    const mqs_output_config *outputs;
    uint32_t output_count;
    const mqs_queue_config *queues;
    uint32_t queue_count;
    /* Taps (mqs/tap.h): consumers that may attach to any output while the
     * domain runs, at most this many at once (0..MQS_MAX_TAPS). Each takes
     * a process slot and a queue after the declared ones. */
    uint32_t tap_count;
} mqs_domain_config;

/* Create a domain and attach to it as process slot 0.
 * Returns 0, or -EINVAL (bad config), -EEXIST (a domain of that name exists),
 * -ENOMEM/-ENOSPC (shared memory exhausted), -EACCES, -ENAMETOOLONG. Nothing
 * it made is left behind on failure. */
int mqs_domain_create(const mqs_domain_config *config, mqs_domain **out);

/* Attach to the domain named `name` (as returned by mqs_domain_name, e.g.
 * "/mqs.1000.demo.1a2b") as process slot `process`.
 * Returns 0, or -ENOENT (no such domain), -EPROTO (another layout version or
 * not a multiqueue-shm segment), -EBADMSG (truncated or corrupt segment),
 * -ERANGE (no such process slot), -EBUSY (slot held by a live process or not
 * yet reclaimed after its holder died), -EAGAIN (still being created: retry),
 * -EINVAL (NULL arguments). */
int mqs_domain_attach(const char *name, uint32_t process, mqs_domain **out);

/* mqs_domain_process() of an observer. */
#define MQS_OBSERVER UINT32_MAX

/* Look at the domain `name` without taking a process slot: tools (mqctl,
 * mqrun --stats). The control segment is mapped read-only and no payload at
 * all, so an observer cannot disturb a counter or a buffer; it reads names,
 * stats and counters and may post commands (mqs/command.h). Every call that
 * would change the domain refuses it (-EPERM, or does nothing). Errors as
 * mqs_domain_attach. Release it with mqs_domain_detach. */
int mqs_domain_observe(const char *name, mqs_domain **out);

/* Unmap and free the handle; the process slot is marked as exited. Buffers
 * still held are released first, so a clean exit leaks nothing. */
void mqs_domain_detach(mqs_domain *d);

/* Unlink every object of the domain and detach. Processes still attached keep
 * their mappings until they detach. */
void mqs_domain_destroy(mqs_domain *d);

/* The domain's name prefix ("/mqs.<uid>.<graph>.<runid>"). */
const char *mqs_domain_name(const mqs_domain *d);

/* This handle's process slot. */
uint32_t mqs_domain_process(const mqs_domain *d);

/* Sizes of the declared topology. */
uint32_t mqs_domain_pool_count(const mqs_domain *d);
uint32_t mqs_domain_output_count(const mqs_domain *d);
uint32_t mqs_domain_queue_count(const mqs_domain *d);
uint32_t mqs_domain_process_count(const mqs_domain *d);

/* ---- the runs of this user (core/runs.c) ---- */

/* Unlink the objects of runs of `graph` (all graphs if NULL) owned by this
 * user whose creator process is gone. Returns how many runs were removed. */
int mqs_domain_remove_stale(const char *graph);

/* One run (domain) of this user, as its control object tells. */
typedef struct mqs_run_info {
    char domain[160];            /* the name to attach: /mqs.UID.GRAPH.RUN */
    char graph[MQS_NAME_MAX];
    char run_id[MQS_NAME_MAX];
    uint32_t launcher_pid;       /* its creator; 0 when the object could not be read */
    bool alive;                  /* the creator still runs (same pid and start time) */
    uint32_t blocks;             /* process slots other than the launcher's */
    uint32_t running;            /* of them, attached by a live process now */
    int64_t uptime_ns;           /* since the start gate opened; -1: not started */
} mqs_run_info;

/* The runs of `graph` (all if NULL) of this user, read-only, in /dev/shm's
 * order: fills at most `cap` and returns how many there are, or -errno. */
int mqs_runs_list(const char *graph, mqs_run_info *out, uint32_t cap);

/* The caps stored with an output; NULL for a bad index. */
const mqs_caps *mqs_output_caps(const mqs_domain *d, uint32_t output);

/* Names of outputs, queues, processes and pools, as configured; NULL for a
 * bad index. The lookups below return UINT32_MAX for a bad index. */
const char *mqs_output_name(const mqs_domain *d, uint32_t output);
const char *mqs_queue_name(const mqs_domain *d, uint32_t queue);
const char *mqs_process_name(const mqs_domain *d, uint32_t process);
const char *mqs_pool_name(const mqs_domain *d, uint32_t pool);

/* Topology lookups (cold path: linear scans). */
uint32_t mqs_output_pool(const mqs_domain *d, uint32_t output);
uint32_t mqs_output_owner(const mqs_domain *d, uint32_t output);
uint32_t mqs_queue_output(const mqs_domain *d, uint32_t queue);
uint32_t mqs_queue_consumer(const mqs_domain *d, uint32_t queue);

/* The start gate: the launcher opens it once every process is attached, so
 * sources do not run ahead of consumers that are still loading.
 * mqs_domain_wait_started returns 0, -ETIMEDOUT or -ECANCELED. */
void mqs_domain_start(mqs_domain *d);
int mqs_domain_wait_started(mqs_domain *d, int64_t timeout_ns);

/* When the start gate opened (mqs_now_ns), 0 before: the graph's epoch, the
 * same for every process, e.g. for cameras that share a trigger. */
int64_t mqs_domain_start_time(const mqs_domain *d);

/* The alignment settings of process slot `process`. 0 or -ERANGE. */
int mqs_process_sync(const mqs_domain *d, uint32_t process, mqs_sync_config *out);

/* Record that this process is alive (tools show the age). No syscall. */
void mqs_domain_heartbeat(mqs_domain *d);

/* What a process is doing (mqs_process_stats.activity), as it says itself. */
typedef enum mqs_activity {
    MQS_ACTIVITY_IDLE = 0,       /* between calls, or not started */
    MQS_ACTIVITY_INIT = 1,       /* in the block's init() */
    MQS_ACTIVITY_CALL = 2,       /* in process(), produce(), transform() or flush() */
    MQS_ACTIVITY_WAIT_INPUT = 3, /* waiting for input: not hung */
    MQS_ACTIVITY_WAIT_ALLOC = 4, /* waiting for a free slot of pool `waiting_on`: not hung */
    MQS_ACTIVITY_WAIT_SEND = 5,  /* waiting for room on output `waiting_on`: not hung */
} mqs_activity;

/* Say what this process does now. A block call also counts one call (the
 * launcher's watchdog sees progress), unless it comes back from a wait for
 * a slot or for room inside that call. A few relaxed loads and stores, no
 * syscall. */
void mqs_process_activity(mqs_domain *d, mqs_activity activity, uint32_t waiting_on);

/* Launcher only (slot 0): record how often process slot `process` was
 * restarted, for tools and for the blocks downstream of it. */
void mqs_process_set_restarts(mqs_domain *d, uint32_t process, uint32_t restarts);

/* Launcher only (slot 0): give up on the consumer `process` for good. Its
 * input queues are drained (every reference released) and marked so that
 * their producers drop what they send there instead of waiting for room.
 * Returns the references released, -ERANGE or -EPERM. */
int mqs_process_disconnect(mqs_domain *d, uint32_t process);

/* Process slot states (mqs_process_stats.state). */
typedef enum mqs_process_state {
    MQS_PROCESS_FREE = 0,     /* never attached, or reclaimed: may be attached */
    MQS_PROCESS_ATTACHED = 1, /* a process acts as this slot */
    MQS_PROCESS_EXITED = 2,   /* detached cleanly, held nothing: may be attached */
} mqs_process_state;

typedef struct mqs_process_stats {
    mqs_process_state state;
    uint32_t pid;          /* 0 when no process holds the slot */
    uint32_t held;         /* buffer references it holds */
    int64_t heartbeat_ns;  /* mqs_now_ns() of its last heartbeat */
    uint64_t reclaimed;    /* references released by mqs_reclaim, all time */
    mqs_activity activity;
    uint32_t waiting_on;   /* pool (WAIT_ALLOC) or output (WAIT_SEND) */
    uint64_t calls;        /* block calls started */
    uint32_t restarts;     /* times the launcher restarted it */
} mqs_process_stats;

int mqs_process_stats_get(const mqs_domain *d, uint32_t process, mqs_process_stats *out);

/* Release every buffer reference process slot `process` held, then free the
 * slot for a new process. For a process that died (crash, SIGKILL); the
 * caller must know it is dead (e.g. waitpid). What is queued for the slot
 * stays queued, for the process restarted in its place; if none will be,
 * mqs_process_disconnect drains it. Returns how many references it released,
 * or -ERANGE, -EBUSY (the slot's pid is still alive), -EINVAL (it is the
 * caller's own slot). */
int mqs_reclaim(mqs_domain *d, uint32_t process);

#ifdef __cplusplus
}
#endif
#endif
