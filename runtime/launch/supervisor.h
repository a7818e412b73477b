/* The supervisor: starts one worker per block, opens the start gate, restarts
 * failed blocks per their policy, stops the graph in order (sources first,
 * then everything drains through end of stream), and reports how it ended. */
#ifndef MQS_SUPERVISOR_H
#define MQS_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "graph/graph.h"
#include "mqs/mqs.h"

/* One block to run; block i runs as domain process slot i + 1. */
typedef struct mqs_launch_block {
    const char *instance;
    const char *plugin_path;
    const char *params_json;
    mqs_restart_policy restart;
    bool is_source;
} mqs_launch_block;

typedef struct mqs_supervisor_options {
    const char *worker_path;
    int64_t duration_ns;       /* stop after this long; <= 0: run until end of stream or a signal */
    int64_t grace_ns;          /* after a stop, how long blocks get to drain before being stopped hard */
    int64_t start_timeout_ns;  /* every worker must attach within this */
    int64_t stats_interval_ns; /* <= 0: no periodic stats */
    bool stats_table;          /* print the readable table to stderr */
    FILE *stats_json;          /* JSON lines, or NULL */
    int verbosity;             /* 0 quiet, 1 normal, 2+ verbose */
} mqs_supervisor_options;

/* Exit statuses of mqrun. */
enum {
    MQS_RUN_CLEAN = 0,        /* every block ended cleanly */
    MQS_RUN_BLOCK_FAILED = 1, /* a block failed (even if restarted) */
    MQS_RUN_SETUP_FAILED = 2, /* bad graph, bad params, a worker could not start */
    MQS_RUN_KILLED = 3,       /* blocks had to be killed after the grace period */
};

/* Run the graph to completion. Returns an MQS_RUN_* status. */
int mqs_supervise(mqs_domain *d, const mqs_launch_block *blocks, uint32_t count, const mqs_supervisor_options *opt);

#endif
