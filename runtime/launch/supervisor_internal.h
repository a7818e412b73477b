/* What the files of the supervisor share: the state of one run and of each
 * block's process. All of it is owned by the one thread that runs the event
 * loop (supervisor.c); the other files are steps of that loop:
 *   children.c       starting workers, signalling them, reaping what ends
 *   block_end.c      a block's process ended: reclaim, restart or give up
 *   restart_policy.c the decisions of the restart policy (pure)
 *   watchdog.c       hung blocks (judging is pure; sampling kills)
 *   say.c            what mqrun says on stderr */
#ifndef MQS_SUPERVISOR_INTERNAL_H
#define MQS_SUPERVISOR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "restart_policy.h"
#include "observe/render.h"
#include "supervisor.h"
#include "watchdog.h"

typedef enum child_state {
    CHILD_IDLE,     /* not running; restart_at > 0 while a restart is due */
    CHILD_RUNNING,  /* its worker process runs */
    CHILD_DONE,     /* ended cleanly, for good */
    CHILD_FAILED,   /* failed and stays down (restart: never, or the graph is stopping) */
    CHILD_GIVEN_UP, /* failed with max_restarts used up */
} child_state;

typedef struct child {
    pid_t pid;                  /* of the worker while RUNNING (its process group too) */
    child_state state;
    int64_t started_ns;
    int64_t restart_at;         /* > 0: start it again at this time */
    mqs_watch_verdict killed_for; /* the watchdog killed it: it ends as hung */
    mqs_restart_state restarts;
    uint64_t calls_at_start;    /* the slot's call count when this process was started */
    mqs_watch watch;
} child;

typedef enum phase {
    PHASE_STARTING,     /* workers attach; the start gate is closed */
    PHASE_RUNNING,
    PHASE_STOP_SOURCES, /* sources were told to stop; the rest drains */
    PHASE_STOP_ALL,     /* everyone was told to stop */
    PHASE_KILL,         /* everyone left was killed */
} phase;

typedef struct supervisor {
    mqs_domain *domain;
    const mqs_launch_block *blocks;
    uint32_t count;
    const mqs_supervisor_options *opt;
    child *children;
    uint64_t start_time;     /* mqrun's /proc starttime, for the workers' --launcher */
    phase phase;
    int64_t phase_deadline;  /* of STARTING (start timeout), STOP_SOURCES and STOP_ALL */
    int64_t stop_at;         /* --duration; 0: none */
    int64_t next_stats;
    int64_t next_watch;      /* next watchdog sample; INT64_MAX: none needed */
    int64_t next_sweep;      /* next sweep of the inputs of blocks that are gone; INT64_MAX: none */
    int64_t sigchld_ns;      /* when the loop last woke up for SIGCHLD */
    int64_t next_sample;     /* next sample of the pools' high water */
    bool setup_failed, failed, gave_up, killed;
    mqs_stats_snapshot *first_stats; /* at start: the final line's rates cover the whole run */
    mqs_stats_snapshot *last_stats;
} supervisor;

/* "mqrun: ..." on stderr when the verbosity is at least `level`. */
void mqs_say(const supervisor *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- children.c ---- */
/* Make mqrun the reaper of whatever its workers leave behind. 0 or -errno. */
int mqs_children_become_reaper(void);
/* Start block i's worker in its own process group. 0 or -errno. */
int mqs_child_start(supervisor *s, uint32_t i);
/* Send sig to block i's process group, if it runs. */
void mqs_child_signal(supervisor *s, uint32_t i, int sig);
/* Reap one process that ended, a worker or an orphan left by one, after
 * killing what is left of its process group. 1 with *pid and *status, 0
 * when none has ended. */
int mqs_children_reap(pid_t *pid, int *status);

/* ---- block_end.c ---- */
/* Block i's worker ended with wait status `status`. */
void mqs_block_ended(supervisor *s, uint32_t i, int status);
/* The run is over, every block ended: release what is still queued for
 * any of them, so the final counters show what really leaked. */
void mqs_blocks_drain_all(supervisor *s);
/* Release what was pushed to blocks that are gone for good as they went;
 * returns when to sweep next (INT64_MAX: no block is gone). */
int64_t mqs_disconnected_sweep(supervisor *s, int64_t now);
/* The graph stops: block i, waiting for a restart, stays down. */
void mqs_restart_cancel(supervisor *s, uint32_t i);
/* Start blocks whose backoff is over; returns when the next one is due
 * (INT64_MAX: none). */
int64_t mqs_restarts_due(supervisor *s, int64_t now);

/* ---- watchdog.c ---- */
/* Sample every running block, kill the hung; returns when to sample next
 * (INT64_MAX: nothing to watch). */
int64_t mqs_watchdog_sample(supervisor *s, int64_t now);

#endif
