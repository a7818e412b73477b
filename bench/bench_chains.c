/* msg_source -> passthrough x (k-2) -> null_sink through mqrun, with no
 * depth, slots or wait mode in the graph file, against k processes joined by
 * k-1 pipes (each stage reads a 64-byte message and writes it on; the pipe
 * buffers are the largest an unprivileged process may ask for). Both are
 * timed as whole runs of N and of W messages, so process start-up is left
 * out: rate = (N - W) / (t(N) - t(W)). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_chains.h"
#include "bench_io.h"

#define WARMUP_MESSAGES 1000
#define TRIALS 3
static const int chain_lengths[2] = {3, 8};

/* ---- the graph ---- */

static int write_chain_graph(const bench_env *env, int processes, uint64_t messages)
{
    FILE *f = fopen(env->graph, "w");
    if (!f)
        return -errno;
    fprintf(f, "name: mqbench-chain\nblocks:\n  b0: { type: msg_source, params: { size: %d, count: %llu } }\n",
            CHAIN_MESSAGE_BYTES, (unsigned long long)messages);
    for (int i = 1; i < processes - 1; i++)
        fprintf(f, "  b%d: { type: passthrough, inputs: { in: b%d.out } }\n", i, i - 1);
    fprintf(f, "  b%d: { type: null_sink, inputs: { in: b%d.out } }\n", processes - 1, processes - 2);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* One chain of `processes` (bench_timed_fn's arg). */
typedef struct chain_run {
    const bench_env *env;
    int processes;
} chain_run;

static int64_t time_graph(void *arg, uint64_t messages)
{
    const chain_run *r = arg;
    int rc = write_chain_graph(r->env, r->processes, messages);
    if (rc)
        return rc;
    int64_t t = bench_run_graph(r->env);
    if (t < 0)
        bench_show_failure(r->env, "pipeline", "a chain graph", (int)t);
    return t;
}

/* ---- the pipe chain ---- */

/* One stage: in < 0 is the source, out < 0 the sink; every message carries
 * its number, checked on the way. */
static void pipe_stage(int in, int out, uint64_t messages)
{
    uint8_t msg[CHAIN_MESSAGE_BYTES];
    memset(msg, 0xab, sizeof msg);
    for (uint64_t i = 0; i < messages; i++) {
        if (in >= 0 && bench_full_io(in, msg, sizeof msg, false) != 0)
            _exit(21);
        if (in < 0)
            memcpy(msg, &i, sizeof i);
        else if (memcmp(msg, &i, sizeof i) != 0)
            _exit(22);
        if (out >= 0 && bench_full_io(out, msg, sizeof msg, true) != 0)
            _exit(23);
    }
    _exit(0);
}

static int64_t time_pipes(void *arg, uint64_t messages)
{
    int processes = ((const chain_run *)arg)->processes;
    int fds[2 * 16];
    for (int i = 0; i < processes - 1; i++)
        if (bench_make_link(false, fds + 2 * i) != 0)
            return -errno;
    int64_t t0 = mqs_now_ns();
    pid_t pids[16];
    for (int s = 0; s < processes; s++) {
        pids[s] = fork();
        if (pids[s] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            int in = s > 0 ? fds[2 * (s - 1)] : -1, out = s < processes - 1 ? fds[2 * s + 1] : -1;
            for (int k = 0; k < 2 * (processes - 1); k++)
                if (fds[k] != in && fds[k] != out)
                    close(fds[k]);
            pipe_stage(in, out, messages);
        }
    }
    for (int k = 0; k < 2 * (processes - 1); k++)
        close(fds[k]);
    int failed = 0;
    for (int s = 0; s < processes; s++) {
        int status;
        if (waitpid(pids[s], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    if (failed)
        fprintf(stderr, "mqbench pipeline: a pipe chain of %d processes failed\n", processes);
    return failed ? -EIO : mqs_now_ns() - t0;
}

/* ---- driver ---- */

int bench_chains_run(const bench_env *env, uint64_t messages, chain_result out[2])
{
    if (messages <= WARMUP_MESSAGES)
        messages = 10 * WARMUP_MESSAGES;
    for (int c = 0; c < 2; c++) {
        chain_run r = {env, chain_lengths[c]};
        double graph[TRIALS], pipes[TRIALS];
        for (int t = 0; t < TRIALS; t++)
            if (bench_steady(time_graph, &r, WARMUP_MESSAGES, messages, 1, &graph[t], NULL) < 0 ||
                bench_steady(time_pipes, &r, WARMUP_MESSAGES, messages, 1, &pipes[t], NULL) < 0)
                return -EIO;
        out[c] = (chain_result){r.processes, bench_median(graph, TRIALS), bench_median(pipes, TRIALS)};
    }
    return 0;
}
