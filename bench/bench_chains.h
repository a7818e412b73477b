/* Small messages through whole graphs: a chain of mqrun blocks with the
 * defaults a graph gets, against a chain of as many processes joined by
 * pipes, in the same run (part of mqbench pipeline). */
#ifndef MQS_BENCH_CHAINS_H
#define MQS_BENCH_CHAINS_H

#include <stdint.h>

#include "bench_graph.h"

#define CHAIN_MESSAGE_BYTES 64

typedef struct chain_result {
    int processes;      /* blocks in the graph, stages in the pipe chain */
    double mqrun_per_s; /* messages/s, start-up excluded */
    double pipe_per_s;
} chain_result;

/* Chains of 3 and 8 processes, `messages` each (medians of alternating
 * trials): 0, or -errno (the failure was told on stderr). */
int bench_chains_run(const bench_env *env, uint64_t messages, chain_result out[2]);

#endif
