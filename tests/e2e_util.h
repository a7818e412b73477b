/* Helpers of the end-to-end tests: run the real mqrun on real graph files,
 * read what it and the sinks wrote (report files, --stats-json lines), and
 * check that a run leaves nothing behind. Every test of a suite gets its own
 * work directory (make_workdir / remove_workdir as the suite's init/fini). */
#ifndef MQS_TEST_E2E_UTIL_H
#define MQS_TEST_E2E_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct run_result {
    int status; /* exit status, or 128 + signal */
    char out[32768];
    char err[32768];
} run_result;

void make_workdir(void);
void remove_workdir(void);
/* A path in the work directory, and one in the source tree (a few rotating buffers each). */
const char *tmp_path(const char *name);
const char *source_path(const char *rel);
/* The file's text ("" if unreadable), truncated to size - 1. */
void read_file(const char *path, char *out, size_t size);

/* Start `mqrun args...` with stdout and stderr to the work directory. */
pid_t start_mqrun(const char *const *args, const char *mqrun);
/* Wait for it (killing it after RUN_TIMEOUT_S, a test failure) and collect its output. */
void finish_mqrun(pid_t pid, run_result *r);
/* Both; if sigint_after_ms > 0, send SIGINT after that long. */
void run_mqrun_env(const char *const *args, int sigint_after_ms, run_result *r, const char *mqrun);
void run_mqrun(const char *const *args, int sigint_after_ms, run_result *r);

/* /proc/<pid>/cmdline with spaces between the arguments and one at the end. */
void read_cmdline(const char *pid, char *out, size_t size);
/* Wait until graph `graph` runs with all its `blocks` attached (asserts it does). */
void wait_until_running(const char *graph, uint32_t blocks);
/* SIGINT to `mqrun`, as Ctrl-C; `clean`: it must end with status 0, else (a
 * block hangs) a second SIGINT stops it at once. Then nothing of `graph` may
 * be left. */
void stop_mqrun(pid_t mqrun, const char *graph, bool clean);
/* How many times `needle` stands in `text`. */
int occurrences(const char *text, const char *needle);

/* Nothing of this graph left in /dev/shm, and no worker of it alive. */
void assert_nothing_left(const char *graph);
/* The pid of the worker running block `instance` of graph `graph`, or -1. */
pid_t worker_pid(const char *graph, const char *instance);

/* The last JSON line of a report file whose "block" is `block` (asserts there is one). */
json_t *report_of(const char *path, const char *block);
/* An integer member (asserts it is one). */
long long field(json_t *o, const char *key);
/* The final line of a --stats-json file (asserts it is final). */
json_t *final_stats(const char *stats_path);
/* The element of array `section` of the final stats whose `key` is `value`. */
json_t *final_entry(const char *stats_path, const char *section, const char *key, const char *value);
/* Field `key` of the final stats line's entry named `name` in `section`. */
long long final_field(const char *stats_path, const char *section, const char *name, const char *key);
/* The final stats line's connection into `to` (e.g. "stats.in"). */
json_t *final_connection(const char *stats_path, const char *to);

#endif
