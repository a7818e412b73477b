/* Snapshots of a running graph: every counter of a domain at one instant,
 * plus what the kernel says of each block process (CPU time, memory).
 * Taken by mqrun --stats and by mqctl through the same code, so they never
 * disagree. Reading is relaxed loads only: it never slows the blocks. */
#ifndef MQS_OBSERVE_SNAPSHOT_H
#define MQS_OBSERVE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "mqs/mqs.h"

/* What /proc says of one process. */
typedef struct mqs_proc_usage {
    bool known;           /* the process could be read (it runs, and is ours) */
    uint64_t cpu_ns;      /* user + system time, all its life */
    uint64_t rss_bytes;   /* resident memory now */
} mqs_proc_usage;

typedef struct mqs_stats_snapshot {
    const mqs_domain *domain;
    int64_t t_ns;          /* mqs_now_ns() when taken */
    int64_t start_ns;      /* when the graph started; 0: not yet */
    uint32_t processes, queues, pools;
    mqs_process_stats *proc;             /* per process slot */
    mqs_process_counters_info *counters; /* per process slot */
    mqs_proc_usage *usage;               /* per process slot */
    mqs_queue_stats *queue;
    mqs_pool_stats *pool;
    mqs_align_stats **align;             /* per process; NULL where it does not align */
    mqs_input_stats *input;              /* per queue */
} mqs_stats_snapshot;

/* NULL when out of memory. */
mqs_stats_snapshot *mqs_stats_take(const mqs_domain *d);
void mqs_stats_free(mqs_stats_snapshot *s);

/* CPU time and resident memory of `pid` from /proc. */
mqs_proc_usage mqs_proc_usage_of(uint32_t pid);

#endif
