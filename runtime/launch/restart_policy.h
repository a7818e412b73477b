/* A block's restart policy as decisions: whether the launcher starts a
 * block whose process ended again, after how long, and when it gives up.
 * Pure: no processes, no clock; the caller says how long the block ran. */
#ifndef MQS_RESTART_POLICY_H
#define MQS_RESTART_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"

typedef struct mqs_restart_state {
    uint32_t in_row; /* restarts since the block last ran restart_window without ending */
    uint32_t total;  /* restarts in the whole run */
} mqs_restart_state;

typedef enum mqs_restart_verdict {
    MQS_RESTART_NOT = 0, /* not restarted: the policy says so, or a clean end used up max_restarts */
    MQS_RESTART_AFTER,   /* restart after the delay */
    MQS_RESTART_GIVE_UP, /* a failure with max_restarts used up: given up on */
} mqs_restart_verdict;

/* The block's process ended (clean: exit status 0) after running ran_ns.
 * Running restart_window clears the count in a row; max_restarts (0: no
 * limit) restarts in a row are allowed; the delay is backoff doubled per
 * restart in a row, at most max_backoff. Updates st on a restart. */
mqs_restart_verdict mqs_restart_decide(const mqs_graph_supervision *s, mqs_restart_state *st, bool clean,
                                       int64_t ran_ns, int64_t *delay_ns);

/* The delay before restart number in_row + 1 in a row. */
int64_t mqs_restart_backoff(const mqs_graph_supervision *s, uint32_t in_row);

#endif
