/* The watchdog's judgement of one block: hung when it is in a block call
 * (MQS_ACTIVITY_CALL) and its call counter has not moved for longer than
 * its `watchdog`, or in init() for longer than its `init_timeout`. Waiting
 * (for input, a pool slot, room on an output) is never hung. Judged from
 * samples of the block's own record in the domain: nothing in the worker. */
#ifndef MQS_WATCHDOG_H
#define MQS_WATCHDOG_H

#include <stdint.h>

#include "graph/graph.h"
#include "mqs/mqs.h"

#define MQS_WATCH_PERIOD_MIN_NS (5LL * 1000000)
#define MQS_WATCH_PERIOD_MAX_NS (500LL * 1000000)

typedef struct mqs_watch {
    mqs_activity activity; /* as last sampled */
    uint64_t calls;
    int64_t since_ns;      /* when this activity and count were first seen; 0: not sampled yet */
    uint64_t calls_at_start; /* the slot's count when the process was started (left by its predecessor) */
    int32_t pid;             /* the process watched: another one starts a new watch */
} mqs_watch;

typedef enum mqs_watch_verdict {
    MQS_WATCH_OK = 0,
    MQS_WATCH_HUNG_CALL, /* in a block call without progress longer than `watchdog` */
    MQS_WATCH_HUNG_INIT, /* in init() longer than `init_timeout` */
} mqs_watch_verdict;

/* A process was started on the slot whose call counter is now `calls`. */
void mqs_watch_start(mqs_watch *w, uint64_t calls);

/* Feed one sample of the block's record, taken at `now`. */
mqs_watch_verdict mqs_watch_judge(mqs_watch *w, const mqs_process_stats *ps, const mqs_graph_supervision *s,
                                  int64_t now);

/* How long the sampled state has lasted at `now`. */
int64_t mqs_watch_stuck_ns(const mqs_watch *w, int64_t now);

/* When the sampled state, if it lasts, becomes hung; INT64_MAX: never. A
 * sample is due then too, so a hung block is killed between T and T plus
 * one period after its last progress, whatever T is. */
int64_t mqs_watch_deadline(const mqs_watch *w, const mqs_graph_supervision *s);

/* How often to sample the block; 0: no need (no watchdog, and init is over). */
int64_t mqs_watch_period(const mqs_watch *w, const mqs_graph_supervision *s);

#endif
