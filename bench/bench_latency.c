/* mqbench latency: what a message costs at the rate a real source sends it,
 * not as fast as it goes. source -> passthrough -> sink as three processes,
 * for 64-byte messages at 1 kHz and 1080p rgb24 frames at 30 and 60 fps:
 * through mqrun (msg_source -> passthrough -> latency_sink) in each wait
 * mode and, in the same run, through a pipe chain and a Unix-socket chain of
 * three forked processes, which copy every message twice. Nothing is pinned:
 * the scheduler places every process, as it would for a user.
 *
 * Latency is one way, from the send to the arrival, on CLOCK_MONOTONIC:
 * msg_source stamps pts just before its send and latency_sink notes
 * now - pts; the chain's source writes its send time into the message just
 * before the write, its sink notes now - that once the whole message is in.
 * Both sources fill every byte first, so both sides pay the same fill. The
 * first WARMUP_SAMPLES of a run (first page faults, first wake-ups) are left
 * out of the percentiles.
 *
 * CPU per message = (cpu(N) - cpu(W)) / (N - W): user + system of every
 * process of a run (mqrun waits for its workers, the chain's stages are
 * waited for here), from runs of N and of W = SHORT_RUN messages at the
 * same rate, so process start-up cancels out. At these rates it is mostly
 * the cost of going to sleep and waking up, where the wait modes differ.
 *
 * Every transport runs once per round, ROUNDS rounds in turn, so all see
 * the same machine: the percentiles are of the rounds' latencies together,
 * the CPU is summed over the rounds before the start-up is taken out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_cpu.h"
#include "bench_graph.h"
#include "bench_io.h"
#include "bench_latency.h"
#include "bench_stats.h"

#define GRAPH_NAME "mqbench-latency"
#define WARMUP_SAMPLES 10 /* left out of the percentiles: first page faults, first wake-ups */
#define SHORT_RUN 20      /* messages of the run whose CPU is subtracted: start-up */
#define MIN_MESSAGES (2 * SHORT_RUN)
#define MAX_SCALE 1000.0
#define ROUNDS 3
#define FRAME_1080P (1920ULL * 1080 * 3)

typedef struct scenario {
    const char *name;
    double rate_hz;
    uint64_t bytes, messages; /* messages at --scale 1 */
} scenario;

static const scenario scenarios[] = { /* messages per round */
    {"64 B at 1 kHz", 1000, 64, 1000},
    {"1080p at 30 fps", 30, FRAME_1080P, 60},
    {"1080p at 60 fps", 60, FRAME_1080P, 120},
};
#define SCENARIO_COUNT (sizeof scenarios / sizeof scenarios[0])

typedef enum { KIND_MQRUN, KIND_PIPE, KIND_SOCKET } chain_kind;

typedef struct transport {
    const char *name, *label;
    chain_kind kind;
    const char *wait; /* the graph's `wait:` */
} transport;

enum { T_HYBRID, T_SLEEP, T_SPIN, T_PIPE, T_SOCKET, TRANSPORT_COUNT };

static const transport transports[TRANSPORT_COUNT] = {
    [T_HYBRID] = {"mqs_hybrid", "mqs_hybrid (default)", KIND_MQRUN, "hybrid"},
    [T_SLEEP] = {"mqs_sleep", "mqs_sleep", KIND_MQRUN, "sleep"},
    [T_SPIN] = {"mqs_spin", "mqs_spin", KIND_MQRUN, "spin"},
    [T_PIPE] = {"pipe", "pipe", KIND_PIPE, NULL},
    [T_SOCKET] = {"unix_socket", "unix_socket", KIND_SOCKET, NULL},
};

typedef struct result {
    int64_t p50, p99, p999;
    double cpu_ns_per_msg;
} result;

typedef struct scenario_result {
    uint64_t messages; /* per round */
    result r[TRANSPORT_COUNT];
} scenario_result;

/* What the rounds of one transport gather. */
typedef struct gathered {
    int64_t *latencies; /* every round's, warm-up left out */
    size_t count;
    int64_t cpu_short, cpu_long; /* summed over the rounds: runs of SHORT_RUN and of N messages */
} gathered;

/* What every run shares: the temporary directory, and where latencies land. */
typedef struct latency_bench {
    bench_env env;
    char lat_file[96];
    int64_t *samples; /* MAP_SHARED: the chains' sinks write here; lat.bin is read into it */
    size_t capacity;  /* samples */
} latency_bench;

static uint64_t messages_for(const scenario *s, double scale)
{
    uint64_t n = (uint64_t)((double)s->messages * scale + 0.5);
    return n < MIN_MESSAGES ? MIN_MESSAGES : n;
}

/* ---- mqrun ---- */

static int write_graph(const latency_bench *b, const transport *t, const scenario *s, uint64_t n)
{
    FILE *f = fopen(b->env.graph, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "name: " GRAPH_NAME "\n"
            "wait: %s\n"
            "blocks:\n"
            "  src: { type: msg_source, params: { size: %llu, count: %llu, rate: %g } }\n"
            "  pass: { type: passthrough, inputs: { in: src.out } }\n"
            "  sink: { type: latency_sink, inputs: { in: pass.out }, params: { file: \"%s\", count: %llu } }\n",
            t->wait, (unsigned long long)s->bytes, (unsigned long long)n, s->rate_hz, b->lat_file,
            (unsigned long long)n);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* latency_sink's file: n int64 ns, in arrival order, into b->samples. */
static int read_latencies(latency_bench *b, uint64_t n)
{
    int fd = open(b->lat_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = bench_full_io(fd, b->samples, n * sizeof *b->samples, false);
    close(fd);
    return rc ? -EIO : 0;
}

/* One mqrun of n messages; the sink must have got every one, in order. */
static int run_graph(latency_bench *b, const transport *t, const scenario *s, uint64_t n)
{
    int rc = write_graph(b, t, s, n);
    if (rc < 0) {
        fprintf(stderr, "mqbench latency: cannot write %s: %s\n", b->env.graph, strerror(-rc));
        return rc;
    }
    int64_t took = bench_run_graph(&b->env);
    if (took < 0) {
        bench_show_failure(&b->env, "latency", t->label, (int)took);
        return (int)took;
    }
    double frames = bench_stats_report(&b->env, "sink", "frames");
    double disorder = bench_stats_report(&b->env, "sink", "out_of_order");
    if (frames != (double)n || disorder != 0) {
        fprintf(stderr, "mqbench latency: %s, %s: the sink got %.0f messages of %llu, %.0f out of order\n",
                t->label, s->name, frames, (unsigned long long)n, disorder);
        return -EPROTO;
    }
    rc = read_latencies(b, n);
    if (rc < 0)
        fprintf(stderr, "mqbench latency: %s, %s: cannot read %llu latencies from %s\n", t->label, s->name,
                (unsigned long long)n, b->lat_file);
    return rc;
}

/* ---- the pipe and socket chains ---- */

enum { STAGE_SOURCE, STAGE_MIDDLE, STAGE_SINK, STAGES };

typedef struct chain {
    const scenario *s;
    uint64_t n;
    int64_t *samples;
    int fds[4]; /* source -> middle, then middle -> sink; a pipe's [0] reads, [1] writes; a socket's both */
} chain;

/* Paced on an absolute schedule, as msg_source is: a late message does not
 * push the ones after it back. Every byte is written, then the send time and
 * the number go into the first 16, just before the write. */
static void chain_source(int out, const scenario *s, uint64_t n, uint8_t *msg)
{
    int64_t period = (int64_t)(1e9 / s->rate_hz + 0.5), next = mqs_now_ns();
    for (uint64_t i = 0; i < n; i++, next += period) {
        struct timespec at = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {
        }
        memset(msg, (int)(i & 0xff), s->bytes);
        int64_t stamp[2] = {mqs_now_ns(), (int64_t)i};
        memcpy(msg, stamp, sizeof stamp);
        if (bench_full_io(out, msg, s->bytes, true) != 0)
            _exit(23);
    }
}

static void chain_middle(int in, int out, const scenario *s, uint64_t n, uint8_t *msg)
{
    for (uint64_t i = 0; i < n; i++)
        if (bench_full_io(in, msg, s->bytes, false) != 0 || bench_full_io(out, msg, s->bytes, true) != 0)
            _exit(21);
}

/* A message has arrived once all of it is read: a copying transport has to. */
static void chain_sink(int in, const scenario *s, uint64_t n, uint8_t *msg, int64_t *samples)
{
    for (uint64_t i = 0; i < n; i++) {
        if (bench_full_io(in, msg, s->bytes, false) != 0)
            _exit(21);
        int64_t now = mqs_now_ns(), stamp[2];
        memcpy(stamp, msg, sizeof stamp);
        if (stamp[1] != (int64_t)i)
            _exit(22);
        samples[i] = now - stamp[0];
    }
}

static pid_t fork_stage(const chain *c, int stage)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int in = stage == STAGE_MIDDLE ? c->fds[0] : stage == STAGE_SINK ? c->fds[2] : -1;
    int out = stage == STAGE_SOURCE ? c->fds[1] : stage == STAGE_MIDDLE ? c->fds[3] : -1;
    for (int i = 0; i < 4; i++)
        if (c->fds[i] != in && c->fds[i] != out)
            close(c->fds[i]);
    uint8_t *msg = malloc(c->s->bytes);
    if (!msg)
        _exit(24);
    if (stage == STAGE_SOURCE)
        chain_source(out, c->s, c->n, msg);
    else if (stage == STAGE_MIDDLE)
        chain_middle(in, out, c->s, c->n, msg);
    else
        chain_sink(in, c->s, c->n, msg, c->samples);
    _exit(0);
}

static void close_links(int fds[4])
{
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* One run of the chain; 0 when all three stages went right. A stage that
 * dies takes the others down: the rest see end of file or a broken pipe. */
static int run_chain(latency_bench *b, const transport *t, const scenario *s, uint64_t n)
{
    chain c = {s, n, b->samples, {-1, -1, -1, -1}};
    bool socket = t->kind == KIND_SOCKET;
    if (bench_make_link(socket, c.fds) != 0 || bench_make_link(socket, c.fds + 2) != 0) {
        int rc = -errno;
        close_links(c.fds);
        fprintf(stderr, "mqbench latency: cannot make a %s: %s\n", t->name, strerror(-rc));
        return rc;
    }
    pid_t pids[STAGES];
    for (int stage = STAGE_SINK; stage >= STAGE_SOURCE; stage--) /* readers first */
        pids[stage] = fork_stage(&c, stage);
    close_links(c.fds);
    bool ok = true;
    for (int i = 0; i < STAGES; i++) {
        int status;
        ok &= pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0;
    }
    if (!ok)
        fprintf(stderr, "mqbench latency: the %s chain, %s, failed (lost, reordered or a stage died)\n", t->name,
                s->name);
    return ok ? 0 : -EIO;
}

/* ---- measuring ---- */

/* One run of n messages through t: the CPU of all its processes into *cpu. */
static int run_once(latency_bench *b, const transport *t, const scenario *s, uint64_t n, int64_t *cpu)
{
    int64_t before = bench_children_cpu_ns();
    int rc = t->kind == KIND_MQRUN ? run_graph(b, t, s, n) : run_chain(b, t, s, n);
    *cpu = bench_children_cpu_ns() - before;
    return rc;
}

/* One round of t: a run of SHORT_RUN messages and one of n, their CPU
 * added to g, the long run's latencies too. */
static int gather_round(latency_bench *b, const transport *t, const scenario *s, uint64_t n, gathered *g)
{
    int64_t cpu_short, cpu_long;
    int rc = run_once(b, t, s, SHORT_RUN, &cpu_short);
    if (rc == 0)
        rc = run_once(b, t, s, n, &cpu_long); /* the long run last: its latencies stay in b->samples */
    if (rc != 0)
        return rc;
    memcpy(g->latencies + g->count, b->samples + WARMUP_SAMPLES, (n - WARMUP_SAMPLES) * sizeof *g->latencies);
    g->count += n - WARMUP_SAMPLES;
    g->cpu_short += cpu_short;
    g->cpu_long += cpu_long;
    return 0;
}

/* The CPU of the rounds summed before the start-up is taken out: one
 * round's start-up varies by more than a short run's messages cost. */
static void summarize(gathered *g, uint64_t n, result *out)
{
    out->p50 = bench_percentile(g->latencies, g->count, 0.50);
    out->p99 = bench_percentile(g->latencies, g->count, 0.99);
    out->p999 = bench_percentile(g->latencies, g->count, 0.999);
    out->cpu_ns_per_msg = (double)(g->cpu_long - g->cpu_short) / (double)(ROUNDS * (n - SHORT_RUN));
}

/* ROUNDS rounds of every transport in turn. */
static int run_scenario(latency_bench *b, const scenario *s, uint64_t n, scenario_result *res)
{
    gathered g[TRANSPORT_COUNT] = {{0}};
    int rc = 0;
    for (int t = 0; rc == 0 && t < TRANSPORT_COUNT; t++) {
        g[t].latencies = malloc(ROUNDS * n * sizeof *g[t].latencies);
        rc = g[t].latencies ? 0 : -ENOMEM;
    }
    for (int r = 0; rc == 0 && r < ROUNDS; r++)
        for (int t = 0; rc == 0 && t < TRANSPORT_COUNT; t++)
            rc = gather_round(b, &transports[t], s, n, &g[t]);
    for (int t = 0; t < TRANSPORT_COUNT; t++) {
        if (rc == 0)
            summarize(&g[t], n, &res->r[t]);
        free(g[t].latencies);
    }
    return rc;
}

static int run_all(latency_bench *b, double scale, scenario_result *res)
{
    for (size_t i = 0; i < SCENARIO_COUNT; i++) {
        res[i].messages = messages_for(&scenarios[i], scale);
        int rc = run_scenario(b, &scenarios[i], res[i].messages, &res[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- output ---- */

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* The target: hybrid's p99 below the pipe's, at no more CPU per message. */
static bool target_met(const scenario_result *sr, double *p99_ratio, double *cpu_ratio)
{
    const result *h = &sr->r[T_HYBRID], *p = &sr->r[T_PIPE];
    *p99_ratio = ratio((double)h->p99, (double)p->p99);
    *cpu_ratio = ratio(h->cpu_ns_per_msg, p->cpu_ns_per_msg);
    return h->p99 < p->p99 && h->cpu_ns_per_msg <= p->cpu_ns_per_msg;
}

static void print_json(const scenario_result *res)
{
    printf("{\"bench\":\"latency\",\"scenarios\":[");
    for (size_t i = 0; i < SCENARIO_COUNT; i++) {
        const scenario *s = &scenarios[i];
        printf("%s{\"name\":\"%s\",\"rate_hz\":%g,\"bytes\":%llu,\"messages\":%llu,\"rounds\":%d,\"results\":[",
               i ? "," : "", s->name, s->rate_hz, (unsigned long long)s->bytes,
               (unsigned long long)res[i].messages * ROUNDS, ROUNDS);
        for (int t = 0; t < TRANSPORT_COUNT; t++) {
            const result *r = &res[i].r[t];
            printf("%s{\"name\":\"%s\",\"lat_ns_p50\":%lld,\"lat_ns_p99\":%lld,\"lat_ns_p999\":%lld,"
                   "\"cpu_ns_per_msg\":%.0f}", t ? "," : "", transports[t].name, (long long)r->p50,
                   (long long)r->p99, (long long)r->p999, r->cpu_ns_per_msg);
        }
        double lat, cpu;
        bool pass = target_met(&res[i], &lat, &cpu);
        printf("],\"target\":{\"p99_vs_pipe\":%.3f,\"cpu_vs_pipe\":%.3f,\"pass\":%s}}", lat, cpu,
               pass ? "true" : "false");
    }
    printf("]}\n");
}

static void print_scenario(const scenario *s, const scenario_result *sr)
{
    printf("\n%s: %d rounds of %llu messages of %llu bytes\n", s->name, ROUNDS, (unsigned long long)sr->messages,
           (unsigned long long)s->bytes);
    printf("%-22s %10s %10s %10s %11s\n", "transport", "p50 us", "p99 us", "p99.9 us", "CPU us/msg");
    for (int t = 0; t < TRANSPORT_COUNT; t++) {
        const result *r = &sr->r[t];
        printf("%-22s %10.1f %10.1f %10.1f %11.2f\n", transports[t].label, (double)r->p50 / 1e3,
               (double)r->p99 / 1e3, (double)r->p999 / 1e3, r->cpu_ns_per_msg / 1e3);
    }
    double lat, cpu;
    bool pass = target_met(sr, &lat, &cpu);
    printf("target: mqs_hybrid (default) p99 < pipe p99 at <= pipe CPU/message: p99 %.2fx, CPU %.2fx  %s\n", lat,
           cpu, pass ? "PASS" : "MISS");
    const result *h = &sr->r[T_HYBRID], *spin = &sr->r[T_SPIN];
    printf("what spin costs: mqs_spin CPU/message %.1fx mqs_hybrid (default)'s (%.2f vs %.2f us)\n",
           ratio(spin->cpu_ns_per_msg, h->cpu_ns_per_msg), spin->cpu_ns_per_msg / 1e3, h->cpu_ns_per_msg / 1e3);
}

static void print_table(const scenario_result *res)
{
    printf("source -> passthrough -> sink as three processes at real rates, nothing pinned: mqrun (msg_source,\n"
           "passthrough, latency_sink) per wait mode, and three processes joined by pipes or Unix sockets (each\n"
           "message copied twice), every transport once a round, %d rounds in turn. Latency is one way, send to\n"
           "arrival, of all rounds together without the first %d messages of each; CPU is user + system of every\n"
           "process, (cpu(N) - cpu(%d)) / (N - %d) from runs at the same rate (start-up excluded), summed over\n"
           "the rounds.\n", ROUNDS, WARMUP_SAMPLES, SHORT_RUN, SHORT_RUN);
    for (size_t i = 0; i < SCENARIO_COUNT; i++)
        print_scenario(&scenarios[i], &res[i]);
}

/* ---- setup ---- */

static void latency_usage(FILE *out)
{
    fprintf(out,
            "usage: mqbench latency [--json] [--scale X]\n"
            "  One-way latency (p50, p99, p99.9, send to arrival) and CPU per message of source -> passthrough ->\n"
            "  sink as three processes at real rates: 64-byte messages at 1 kHz, 1080p rgb24 frames at 30 and at\n"
            "  60 fps. Through mqrun (msg_source, passthrough, latency_sink) with wait: hybrid (the default), sleep\n"
            "  and spin, and through three forked processes joined by pipes and by Unix sockets, all in one run,\n"
            "  nothing pinned, every transport once a round, %d rounds in turn. CPU is user + system of every\n"
            "  process of a run, a run of %d messages at the same rate subtracted (start-up), summed over the\n"
            "  rounds; the first %d latencies of a run are left out. About 2 minutes.\n"
            "  --json     print {\"bench\":\"latency\",\"scenarios\":[...]} instead of the tables\n"
            "  --scale X  X times as many messages in every round (default 1: 1000, 60 and 120; at least %d)\n",
            ROUNDS, SHORT_RUN, WARMUP_SAMPLES, MIN_MESSAGES);
}

/* -1 to go on, else the exit status to return now. */
static int parse_options(int argc, char **argv, bool *json, double *scale)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"scale", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            *json = true;
        else if (c == 's' && (*scale = strtod(optarg, &end)) > 0 && *scale <= MAX_SCALE && *end == '\0')
            continue;
        else {
            latency_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind < argc) {
        latency_usage(stderr);
        return 2;
    }
    return -1;
}

static void close_bench(latency_bench *b)
{
    if (b->samples && b->samples != MAP_FAILED)
        munmap(b->samples, b->capacity * sizeof *b->samples);
    unlink(b->lat_file);
    bench_env_cleanup(&b->env);
}

static int open_bench(latency_bench *b, double scale)
{
    memset(b, 0, sizeof *b);
    int rc = bench_env_setup(&b->env, "latency");
    if (rc < 0) {
        fprintf(stderr, "mqbench latency: cannot make a temporary directory: %s\n", strerror(-rc));
        return rc;
    }
    snprintf(b->lat_file, sizeof b->lat_file, "%s/lat.bin", b->env.dir);
    bench_use_bench_blocks(&b->env);
    for (size_t i = 0; i < SCENARIO_COUNT; i++)
        if (messages_for(&scenarios[i], scale) > b->capacity)
            b->capacity = messages_for(&scenarios[i], scale);
    b->samples = mmap(NULL, b->capacity * sizeof *b->samples, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
    if (b->samples == MAP_FAILED) {
        fprintf(stderr, "mqbench latency: no memory for %zu samples\n", b->capacity);
        return -ENOMEM;
    }
    if (!bench_has_block(&b->env, "msg_source") || !bench_has_block(&b->env, "latency_sink")) {
        fprintf(stderr, "mqbench latency: mqrun finds no msg_source or latency_sink (looked in "
                        "%s/../bench/blocks)\n", b->env.bin);
        return -ENOENT;
    }
    mqs_domain_remove_stale(GRAPH_NAME);
    return 0;
}

int bench_latency_main(int argc, char **argv)
{
    bool json = false;
    double scale = 1;
    int rc = parse_options(argc, argv, &json, &scale);
    if (rc >= 0)
        return rc;
    latency_bench b;
    scenario_result res[SCENARIO_COUNT];
    rc = open_bench(&b, scale);
    if (rc == 0)
        rc = run_all(&b, scale, res);
    close_bench(&b);
    if (rc != 0)
        return 1;
    if (json)
        print_json(res);
    else
        print_table(res);
    return 0;
}
