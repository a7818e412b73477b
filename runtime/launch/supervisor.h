/* The supervisor: starts one worker per block, opens the start gate, learns
 * of every death at once, restarts failed blocks per their policy or gives
 * up on them, kills hung ones, stops the graph in order (sources first, then
 * everything drains through end of stream), and reports how it ended.
 * docs/running.md and docs/fault-tolerance.md say what it promises. */
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
    mqs_graph_supervision supervision; /* restart policy and limits, watchdog, init_timeout */
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
    int verbosity;             /* 0 quiet, 1 normal, 2+ verbose (with the time each death took to handle) */
} mqs_supervisor_options;

/* Exit statuses of mqrun. When several apply: 2, then 4, then 3, then 1. */
enum {
    MQS_RUN_CLEAN = 0,        /* every block ended cleanly */
    MQS_RUN_BLOCK_FAILED = 1, /* a block failed (even if restarted) */
    MQS_RUN_SETUP_FAILED = 2, /* bad graph, bad params, a worker could not start */
    MQS_RUN_KILLED = 3,       /* blocks had to be killed after the grace period */
    MQS_RUN_GAVE_UP = 4,      /* a block failed max_restarts times in a row and was given up on */
};

/* Run the graph to completion. Returns an MQS_RUN_* status. */
int mqs_supervise(mqs_domain *d, const mqs_launch_block *blocks, uint32_t count, const mqs_supervisor_options *opt);

#endif
