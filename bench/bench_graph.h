/* Running whole graphs (mqrun) and other programs from a benchmark: a
 * temporary directory for the graph, its --stats-json and its output, wall
 * times of whole runs, and the reports blocks left in the stats. */
#ifndef MQS_BENCH_GRAPH_H
#define MQS_BENCH_GRAPH_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

typedef struct bench_env {
    char bin[PATH_MAX];  /* where mqrun is (next to mqbench) */
    char dir[64];        /* the run's temporary directory */
    char graph[128], stats[128], log[128];
} bench_env;

/* Find mqrun and make /tmp/mqbench-<name>-XXXXXX: 0, or -errno. */
int bench_env_setup(bench_env *env, const char *name);
void bench_env_cleanup(const bench_env *env);

/* Let mqrun find the bench-only blocks (msg_source, latency_sink) in
 * <bin>/../bench/blocks: MQS_BLOCK_PATH of this process gets it first. */
void bench_use_bench_blocks(const bench_env *env);

/* Runs argv with its output into env->log: its wall time in ns, or -errno
 * (-ECHILD: it failed). */
int64_t bench_run_timed(const bench_env *env, char *const *argv);

/* mqrun -q --stats-json env->stats env->graph, timed as above. */
int64_t bench_run_graph(const bench_env *env);

/* Report `key` of block `block` in the last line of env->stats; -1 if absent. */
double bench_stats_report(const bench_env *env, const char *block, const char *key);

/* Whether `mqrun --list-blocks` lists block type `type`. */
int bench_has_block(const bench_env *env, const char *type);

/* Tell why a run failed, with the end of its output, on stderr. */
void bench_show_failure(const bench_env *env, const char *bench, const char *what, int rc);

/* The options of the graph benchmarks: --json, --frames N (above
 * `min_frames`), --help (usage on stdout). -1 to go on, else the exit
 * status to return now (usage on stderr for a bad option: 2). */
int bench_parse_frames_json(int argc, char **argv, unsigned long long min_frames, unsigned long long *frames,
                            bool *json, void (*usage)(FILE *out));

/* One timed run of `count` items (frames, messages): its wall time in ns,
 * or -errno (the failure already told on stderr). */
typedef int64_t (*bench_timed_fn)(void *arg, uint64_t count);

/* The steady state of whole runs, process start-up left out: runs of `few`
 * and of `many` items, then items/s = (many - few) / (t(many) - t(few)) and
 * CPU seconds per item the same difference of the CPU their processes used
 * (waited-for children). `per_item` counts what one item stands for (a set
 * of n camera frames: n). cpu_s may be NULL. 0 or -errno. */
int bench_steady(bench_timed_fn run, void *arg, uint64_t few, uint64_t many, double per_item, double *per_s,
                 double *cpu_s);

/* Sorts v and returns its median. */
double bench_median(double *v, int n);

#endif
