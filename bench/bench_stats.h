/* Small helpers shared by the benchmarks: percentiles of latency samples,
 * and targets printed the same way in a table and in --json. */
#ifndef MQS_BENCH_STATS_H
#define MQS_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sorts `samples` in place and returns the q-quantile (0 <= q <= 1). */
int64_t bench_percentile(int64_t *samples, size_t n, double q);

/* A target against a baseline of the same run: what it asks, the figure
 * as shown ("0.71x", "3.2 ms"), that figure as a number, and whether it
 * was met. */
typedef struct bench_target {
    char text[96];
    char shown[64];
    double value;
    bool pass;
} bench_target;

/* Fill one target (text and shown are printf formats of one argument each
 * at most: pass the value through `shown`). */
void bench_target_set(bench_target *t, const char *text, const char *shown_fmt, double value, bool pass);

/* "target: TEXT: SHOWN  PASS" lines, after an empty line. */
void bench_print_targets(const bench_target *t, size_t n);

/* ,"targets":[{"target":TEXT,"value":VALUE,"pass":true},...] (no braces
 * around it: it goes inside the benchmark's object). */
void bench_json_targets(const bench_target *t, size_t n);

#endif
