/* mqbench pipeline: source -> passthrough -> sink as three processes, for
 * frames of 64 B up to 4K rgb24, through multiqueue-shm (zero copy: the
 * passthrough forwards the buffer ID, no payload byte is touched) and, in the
 * same run, through a pipe chain and a Unix-socket chain of three processes,
 * which must copy every frame twice. multiqueue-shm runs again while
 * `mqctl status --json` reads the chain every 100 ms, and while a process
 * that reads nothing (`sleep 0.1`) is started as often: the cost of a
 * process starting every 100 ms apart from what it reads. The three
 * alternate (medians of TRIALS each). Reports frames/s and the ratios the
 * design promises: 4K at >= 0.8x the 64 B rate, >= 100x the pipe's 4K rate,
 * and observed at >= 0.98x unobserved. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_chains.h"
#include "bench_io.h"
#include "bench_pipeline.h"
#include "bench_stats.h"

/* The same pool and queues at every frame size, so the sizes compare the
 * cost of the frame alone (the graph chains below use mqrun's defaults). */
#define SLOTS 32
#define DEPTH 8
#define TIMEOUT_NS (10LL * 1000000000)
#define WARMUP_FRAMES 20 /* excluded from the timing: process start, first page faults */
#define TRIALS 3         /* observed and unobserved runs, alternating: the medians are compared */
#define POLL "100ms"     /* how often the observer reads */

/* Written by the sink of each chain: the steady-state timing window. Lives in
 * a MAP_SHARED page created before the stages are forked. */
typedef struct sink_timing {
    int64_t start_ns; /* arrival of frame WARMUP_FRAMES */
    int64_t end_ns;   /* arrival of the last frame */
} sink_timing;

static sink_timing *timing;

static void sink_mark(uint64_t i, uint64_t frames)
{
    if (i == WARMUP_FRAMES)
        timing->start_ns = mqs_now_ns();
    if (i + 1 == frames)
        timing->end_ns = mqs_now_ns();
}

static double steady_rate(uint64_t frames)
{
    int64_t span = timing->end_ns - timing->start_ns;
    return span > 0 ? (double)(frames - 1 - WARMUP_FRAMES) * 1e9 / (double)span : 0;
}

static const uint64_t frame_sizes[] = {64, 65536, 6220800, 24883200};
#define SIZE_COUNT (sizeof frame_sizes / sizeof frame_sizes[0])

typedef struct pipeline_result {
    const char *transport;
    uint64_t frame_size;
    uint64_t frames;
    double frames_per_s;
} pipeline_result;

/* ---- multiqueue-shm chain ---- */

enum { P_PARENT, P_SOURCE, P_PASS, P_SINK, P_COUNT };

static int create_chain(uint64_t size, mqs_domain **out)
{
    static const mqs_process_config procs[P_COUNT] = {{.name = "bench"}, {.name = "source"}, {.name = "pass"}, {.name = "sink"}};
    /* The passthrough never allocates: its pool is a token one. */
    const mqs_pool_config pools[] = {{"source.out", size, SLOTS, P_SOURCE, 0}, {"pass.out", 64, 1, P_PASS, 0}};
    const mqs_output_config outputs[] = {{"source.out", P_SOURCE, 0, {0}}, {"pass.out", P_PASS, 1, {0}}};
    const mqs_queue_config queues[] = {
        {.name = "pass.in", .output = 0, .consumer = P_PASS, .depth = DEPTH, .policy = MQS_POLICY_BLOCK},
        {.name = "sink.in", .output = 1, .consumer = P_SINK, .depth = DEPTH, .policy = MQS_POLICY_BLOCK}};
    mqs_domain_config c = {
        .graph = "mqbench-pipeline", .wait_mode = MQS_WAIT_HYBRID, .processes = procs, .process_count = P_COUNT,
        .pools = pools, .pool_count = 2, .outputs = outputs, .output_count = 2, .queues = queues, .queue_count = 2,
    };
    return mqs_domain_create(&c, out);
}

static int alloc_waiting(mqs_domain *d, mqs_buffer_id *id)
{
    return mqs_buffer_alloc_wait(d, 0, id, TIMEOUT_NS); /* every slot is downstream: wait for a release */
}

static int run_source(mqs_domain *d, uint64_t frames)
{
    for (uint64_t i = 0; i < frames; i++) {
        mqs_buffer_id id;
        if (alloc_waiting(d, &id) != 0)
            return 1;
        mqs_buffer_meta *m = mqs_buffer_meta_of(d, id);
        m->seq = i;
        m->length = mqs_pool_slot_size(d, 0);
        if (mqs_output_send(d, 0, id, TIMEOUT_NS) != 1)
            return 2;
    }
    return mqs_output_close(d, 0) == 0 ? 0 : 3;
}

static int run_pass(mqs_domain *d)
{
    for (;;) {
        mqs_buffer_id id;
        int rc = mqs_queue_receive(d, 0, &id, TIMEOUT_NS);
        if (rc == -EPIPE)
            return mqs_output_close(d, 1) == 0 ? 0 : 3;
        if (rc != 0 || mqs_output_send(d, 1, id, TIMEOUT_NS) != 1) /* forward the ID: zero copy */
            return 4;
    }
}

static int run_sink(mqs_domain *d, uint64_t frames)
{
    for (uint64_t i = 0;; i++) {
        mqs_buffer_id id;
        int rc = mqs_queue_receive(d, 1, &id, TIMEOUT_NS);
        if (rc == -EPIPE)
            return i == frames ? 0 : 5;
        if (rc != 0 || mqs_buffer_meta_of(d, id)->seq != i)
            return 6;
        sink_mark(i, frames);
        mqs_buffer_unref(d, id);
    }
}

static pid_t start_role(const char *domain_name, int role, uint64_t frames)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    mqs_domain *d;
    if (mqs_domain_attach(domain_name, (uint32_t)role, &d) != 0)
        _exit(10);
    int rc = role == P_SOURCE ? run_source(d, frames) : role == P_PASS ? run_pass(d) : run_sink(d, frames);
    mqs_domain_detach(d);
    _exit(rc);
}

/* Wait for all children; returns 0 if every one exited 0. */
static int wait_all(const pid_t *pids, int n)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "mqbench pipeline: stage %d failed (status 0x%x)\n", i, status);
            failed = 1;
        }
    }
    return failed;
}

/* ---- an observer: mqctl status --json, again and again ---- */

static char mqctl_path[4096];

/* mqctl next to this mqbench (both in the build's or the install's bin). */
static void find_mqctl(void)
{
    ssize_t n = readlink("/proc/self/exe", mqctl_path, sizeof mqctl_path - 16);
    mqctl_path[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(mqctl_path, '/');
    snprintf(slash ? slash + 1 : mqctl_path, 16, "mqctl");
}

enum observer { NOBODY, MQCTL, SPAWN_ONLY };

/* Runs `mqctl status DOMAIN --json --interval 100ms` back to back (each
 * reads twice, 100 ms apart), or `sleep 0.1` (SPAWN_ONLY), until killed;
 * the output is thrown away. */
static pid_t start_observer(const char *domain, enum observer who)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    for (;;) {
        pid_t c = fork();
        if (c == 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            if (who == MQCTL)
                execl(mqctl_path, "mqctl", "status", domain, "--json", "--interval", POLL, (char *)NULL);
            else
                execlp("sleep", "sleep", "0.1", (char *)NULL);
            _exit(127);
        }
        int status;
        if (c < 0 || waitpid(c, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            _exit(30); /* mqctl failed: the run is reported as failed */
    }
}

/* The observer must still be reading when the chain ends: gone early is a failure. */
static int stop_observer(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, WNOHANG) != 0)
        return -EIO;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 0;
}

static int measure_mqs(uint64_t size, uint64_t frames, enum observer observed, double *fps)
{
    mqs_domain *d;
    int rc = create_chain(size, &d);
    if (rc != 0) {
        fprintf(stderr, "mqbench pipeline: %s\n", mqs_last_error());
        return rc;
    }
    pid_t observer = observed != NOBODY ? start_observer(mqs_domain_name(d), observed) : 0;
    pid_t pids[3];
    pids[0] = start_role(mqs_domain_name(d), P_SINK, frames);
    pids[1] = start_role(mqs_domain_name(d), P_PASS, frames);
    pids[2] = start_role(mqs_domain_name(d), P_SOURCE, frames);
    rc = wait_all(pids, 3);
    if (observer && stop_observer(observer) != 0) {
        fprintf(stderr, "mqbench pipeline: the observer (%s status) failed\n", mqctl_path);
        rc = 1;
    }
    mqs_domain_destroy(d);
    *fps = steady_rate(frames);
    return rc ? -EIO : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* TRIALS runs with each observer (none, mqctl, spawn only), alternating so
 * that all see the same machine; the median of each into fps[]. */
static int measure_mqs_trio(uint64_t size, uint64_t frames, double fps[3])
{
    double runs[3][TRIALS];
    for (int t = 0; t < TRIALS; t++)
        for (int who = NOBODY; who <= SPAWN_ONLY; who++) {
            int rc = measure_mqs(size, frames, (enum observer)who, &runs[who][t]);
            if (rc != 0)
                return rc;
        }
    for (int who = NOBODY; who <= SPAWN_ONLY; who++) {
        qsort(runs[who], TRIALS, sizeof runs[who][0], cmp_double);
        fps[who] = runs[who][TRIALS / 2];
    }
    return 0;
}

/* ---- copying chains (pipe, Unix socket) ---- */

/* Stage of a copying chain: in < 0 means source, out < 0 means sink. */
static void copy_stage(int in, int out, uint64_t size, uint64_t frames)
{
    uint8_t *frame = malloc(size);
    if (!frame)
        _exit(20);
    memset(frame, 0xab, size);
    for (uint64_t i = 0; i < frames; i++) {
        if (in >= 0 && bench_full_io(in, frame, size, false) != 0)
            _exit(21);
        if (in < 0)
            memcpy(frame, &i, sizeof i);
        else if (memcmp(frame, &i, sizeof i) != 0)
            _exit(22);
        if (out < 0)
            sink_mark(i, frames);
        if (out >= 0 && bench_full_io(out, frame, size, true) != 0)
            _exit(23);
    }
    _exit(0);
}

static pid_t fork_stage(int in, int out, uint64_t size, uint64_t frames, int *close_fds, int nclose)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (int i = 0; i < nclose; i++)
            if (close_fds[i] != in && close_fds[i] != out)
                close(close_fds[i]);
        copy_stage(in, out, size, frames);
    }
    return pid;
}

static int measure_copy(bool socket, uint64_t size, uint64_t frames, double *fps)
{
    int a[2], b[2];
    if (bench_make_link(socket, a) != 0 || bench_make_link(socket, b) != 0)
        return -errno;
    /* pipes: [0] read end, [1] write end; sockets: either end both ways. */
    int all[4] = {a[0], a[1], b[0], b[1]};
    pid_t pids[3];
    pids[0] = fork_stage(b[0], -1, size, frames, all, 4);
    pids[1] = fork_stage(a[0], b[1], size, frames, all, 4);
    pids[2] = fork_stage(-1, a[1], size, frames, all, 4);
    for (int i = 0; i < 4; i++)
        close(all[i]);
    int rc = wait_all(pids, 3);
    *fps = steady_rate(frames);
    return rc ? -EIO : 0;
}

/* ---- driver ---- */

/* Enough frames for ~1 s at the expected rate, never fewer than 50. */
static uint64_t frames_for(const char *transport, uint64_t size, double scale)
{
    bool mqs = strncmp(transport, "mqs", 3) == 0;
    double rate = mqs ? 300000 : 2e9 / (double)(size + 64);
    if (rate > 300000)
        rate = 300000;
    uint64_t n = (uint64_t)(rate * scale);
    return n < 10 * WARMUP_FRAMES ? 10 * WARMUP_FRAMES : n;
}

static double rate_of(const pipeline_result *r, int n, const char *transport, uint64_t size)
{
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].transport, transport) == 0 && r[i].frame_size == size)
            return r[i].frames_per_s;
    return 0;
}

/* The worst observed / unobserved ratio over the sizes (and observed / spawn-only into *spawn). */
static double worst_observed(const pipeline_result *r, int n, double *spawn)
{
    double worst = 1e9;
    *spawn = 1e9;
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        double m = rate_of(r, n, "mqs", frame_sizes[s]), o = rate_of(r, n, "mqs_observed", frame_sizes[s]);
        double sp = rate_of(r, n, "mqs_spawn", frame_sizes[s]);
        if (m > 0 && o / m < worst)
            worst = o / m;
        if (sp > 0 && o / sp < *spawn)
            *spawn = o / sp;
    }
    return worst;
}

/* Observed vs not, 4K vs 64 B, 4K vs the pipe, and the two graph chains vs pipe chains. */
static size_t pipeline_targets(const pipeline_result *r, int n, const chain_result *chains, bench_target *t)
{
    double spawn, worst = worst_observed(r, n, &spawn);
    double small = rate_of(r, n, "mqs", frame_sizes[0]), big = rate_of(r, n, "mqs", frame_sizes[SIZE_COUNT - 1]);
    double pipe_big = rate_of(r, n, "pipe", frame_sizes[SIZE_COUNT - 1]);
    bench_target_set(&t[0], "mqs_observed >= 0.98x mqs at every size (worst)", "%.3fx", worst, worst >= 0.98);
    bench_target_set(&t[1], "mqs 4K rate >= 0.8x mqs 64 B rate", "%.2fx", big / small, big >= 0.8 * small);
    bench_target_set(&t[2], "mqs 4K rate >= 100x pipe 4K rate", "%.1fx", big / pipe_big, big >= 100 * pipe_big);
    for (int c = 0; c < 2; c++) {
        char text[96];
        snprintf(text, sizeof text, "a graph of %d processes >= a pipe chain of %d (64 B)", chains[c].processes,
                 chains[c].processes);
        double ratio = chains[c].mqrun_per_s / chains[c].pipe_per_s;
        bench_target_set(&t[3 + c], text, "%.2fx", ratio, ratio >= 1);
    }
    return 5;
}

static void print_json(const pipeline_result *r, int n, const chain_result *chains)
{
    printf("{\"bench\":\"pipeline\",\"results\":[");
    for (int i = 0; i < n; i++)
        printf("%s{\"transport\":\"%s\",\"frame_bytes\":%llu,\"frames\":%llu,\"frames_per_s\":%.1f}", i ? "," : "",
               r[i].transport, (unsigned long long)r[i].frame_size, (unsigned long long)r[i].frames,
               r[i].frames_per_s);
    printf("],\"graph_chains\":[");
    for (int c = 0; c < 2; c++)
        printf("%s{\"processes\":%d,\"message_bytes\":%d,\"mqrun_per_s\":%.1f,\"pipe_per_s\":%.1f}", c ? "," : "",
               chains[c].processes, CHAIN_MESSAGE_BYTES, chains[c].mqrun_per_s, chains[c].pipe_per_s);
    bench_target t[5];
    printf("]");
    bench_json_targets(t, pipeline_targets(r, n, chains, t));
    printf("}\n");
}

static void print_chains(const chain_result *chains)
{
    printf("\n%d-byte messages through whole graphs (mqrun, no depth, slots or wait mode set: the defaults) and\n"
           "through as many processes joined by pipes; messages/s, start-up excluded, medians of 3:\n\n",
           CHAIN_MESSAGE_BYTES);
    printf("%10s %14s %14s %9s\n", "processes", "mqrun graph", "pipe chain", "mqrun/pipe");
    for (int c = 0; c < 2; c++)
        printf("%10d %14.0f %14.0f %8.2fx\n", chains[c].processes, chains[c].mqrun_per_s, chains[c].pipe_per_s,
               chains[c].mqrun_per_s / chains[c].pipe_per_s);
}


static void print_table(const pipeline_result *r, int n)
{
    printf("source -> passthrough -> sink, three processes, frames/s (higher is better)\n\n");
    printf("%12s %12s %12s %12s %9s %13s %10s %9s %10s\n", "frame bytes", "mqs", "pipe", "unix_socket", "mqs/pipe",
           "mqs_observed", "mqs_spawn", "obs/mqs", "obs/spawn");
    for (size_t s = 0; s < SIZE_COUNT; s++) {
        uint64_t size = frame_sizes[s];
        double m = rate_of(r, n, "mqs", size), p = rate_of(r, n, "pipe", size), u = rate_of(r, n, "unix_socket", size);
        double o = rate_of(r, n, "mqs_observed", size), sp = rate_of(r, n, "mqs_spawn", size);
        printf("%12llu %12.0f %12.0f %12.0f %8.1fx %13.0f %10.0f %8.3fx %9.3fx\n", (unsigned long long)size, m, p, u,
               p > 0 ? m / p : 0, o, sp, m > 0 ? o / m : 0, sp > 0 ? o / sp : 0);
    }
    printf("\nmqs, mqs_observed, mqs_spawn: medians of %d alternating runs each; mqs_observed runs `mqctl status "
           "--json --interval " POLL "` back to back, mqs_spawn `sleep 0.1` back to back\n", TRIALS);
    double spawn;
    worst_observed(r, n, &spawn);
    printf("what reading costs beyond a process starting every 100 ms: mqs_observed / mqs_spawn, worst %.3fx\n",
           spawn);
}

static void pipeline_usage(FILE *out)
{
    fputs("usage: mqbench pipeline [--json] [--scale X]\n"
          "  source -> passthrough -> sink as three processes, frames of 64 B, 64 KiB, 1080p and 4K rgb24,\n"
          "  through multiqueue-shm (zero copy) and, in the same run, pipe and Unix-socket chains (copying),\n"
          "  and multiqueue-shm again while `mqctl status --json` reads it every 100 ms (mqs_observed).\n"
          "  --json     print {\"bench\":\"pipeline\",\"results\":[...]} instead of the table\n"
          "  --scale X  run each measurement X times longer (default 1: about a second each)\n",
          out);
}

int bench_pipeline_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"scale", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool json = false;
    double scale = 1.0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 's')
            scale = atof(optarg);
        else {
            pipeline_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    mqs_domain_remove_stale("mqbench-pipeline");
    timing = mmap(NULL, sizeof *timing, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (timing == MAP_FAILED)
        return 1;
    find_mqctl();
    static const char *const transports[] = {"mqs", "mqs_observed", "mqs_spawn", "pipe", "unix_socket"};
    pipeline_result results[5 * SIZE_COUNT];
    int n = 0;
    for (size_t s = 0; s < SIZE_COUNT; s++)
        for (int t = 0; t < 5; t++) {
            pipeline_result *r = &results[n++];
            r->transport = transports[t];
            r->frame_size = frame_sizes[s];
            r->frames = frames_for(transports[t], frame_sizes[s], scale);
            int rc = 0;
            if (t == 0) { /* fills in the mqs_observed and mqs_spawn entries that come next, too */
                double fps[3];
                rc = measure_mqs_trio(r->frame_size, r->frames, fps);
                r->frames_per_s = fps[NOBODY];
                results[n].frames_per_s = fps[MQCTL];
                results[n + 1].frames_per_s = fps[SPAWN_ONLY];
            } else if (t >= 3) {
                rc = measure_copy(t == 4, r->frame_size, r->frames, &r->frames_per_s);
            }
            if (rc != 0) {
                fprintf(stderr, "mqbench pipeline: %s with %llu-byte frames failed: %s\n", r->transport,
                        (unsigned long long)r->frame_size, mqs_strerror(rc));
                return 1;
            }
        }
    chain_result chains[2];
    bench_env env;
    int rc = bench_env_setup(&env, "pipeline");
    if (rc != 0) {
        fprintf(stderr, "mqbench pipeline: cannot make a temporary directory: %s\n", strerror(-rc));
        return 1;
    }
    bench_use_bench_blocks(&env);
    rc = bench_chains_run(&env, (uint64_t)(300000 * scale), chains);
    bench_env_cleanup(&env);
    if (rc != 0)
        return 1;
    if (json) {
        print_json(results, n, chains);
    } else {
        print_table(results, n);
        print_chains(chains);
        bench_target t[5];
        bench_print_targets(t, pipeline_targets(results, n, chains, t));
    }
    return 0;
}
