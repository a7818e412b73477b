/* Small helpers shared by the benchmarks: percentiles of latency samples. */
#ifndef MQS_BENCH_STATS_H
#define MQS_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Sorts `samples` in place and returns the q-quantile (0 <= q <= 1). */
int64_t bench_percentile(int64_t *samples, size_t n, double q);

#endif
