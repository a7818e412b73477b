/* mqbench queue: one queue between two processes, in the same run for the
 * library (spin, futex and hybrid waiting) and three baselines: a bare SPSC
 * ring (the floor), a pipe and a Unix socket (64-byte messages). Measures
 * throughput (one way, in order, checked) and one-way latency from round
 * trips, and reports each against bare_ring and the targets. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bare_ring.h"
#include "bench_cpu.h"
#include "bench_io.h"
#include "bench_queue.h"
#include "bench_stats.h"

#define IO_TIMEOUT_NS (10LL * 1000000000)
#define MESSAGE_BYTES 64

typedef enum { KIND_MQS, KIND_BARE, KIND_PIPE, KIND_SOCKET } link_kind;

typedef struct transport {
    const char *name;
    link_kind kind;
    mqs_wait_mode mode;
    bool extra;     /* shown, but no target */
    uint32_t batch; /* throughput moves this many IDs per call (mqs_queue_push_many / pop_many); 0: one */
} transport;

#define BATCH 32

static const transport transports[] = {
    {"mqs_spin", KIND_MQS, MQS_WAIT_SPIN, false, 0},
    {"mqs_spin_batch", KIND_MQS, MQS_WAIT_SPIN, true, BATCH},
    {"mqs_futex", KIND_MQS, MQS_WAIT_SLEEP, false, 0},
    {"mqs_hybrid", KIND_MQS, MQS_WAIT_HYBRID, true, 0},
    {"bare_ring", KIND_BARE, 0, false, 0},
    {"pipe", KIND_PIPE, 0, false, 0},
    {"unix_socket", KIND_SOCKET, 0, false, 0},
};
#define TRANSPORT_COUNT (sizeof transports / sizeof transports[0])

/* Shared with both children: timing, errors, latency samples. */
typedef struct shared_result {
    int64_t start_ns, end_ns;
    uint64_t errors;
    int64_t samples[];
} shared_result;

/* Everything a side needs; set up before fork, completed after it. */
typedef struct channel {
    link_kind kind;
    uint32_t batch;
    mqs_domain *domain; /* parent: creator; child: its own attached handle */
    char domain_name[200];
    bare_ring *ab, *ba;
    int fds[4]; /* pipe: ab read, ab write, ba read, ba write; socket: A end, B end */
    int side;   /* 0 = A (sends first), 1 = B */
} channel;

typedef struct measurement {
    double msgs_per_s;
    int64_t p50, p99, p999;
} measurement;

/* ---- link setup ---- */

static int create_domain(channel *l, mqs_wait_mode mode)
{
    static const mqs_process_config procs[] = {{.name = "bench"}, {.name = "a"}, {.name = "b"}};
    const mqs_pool_config pools[] = {{"a.out", 64, 1, 1, 0}, {"b.out", 64, 1, 2, 0}};
    const mqs_output_config outputs[] = {{"a.out", 1, 0, {0}}, {"b.out", 2, 1, {0}}};
    const mqs_queue_config queues[] = {
        {.name = "b.in", .output = 0, .consumer = 2, .depth = BARE_RING_SIZE, .policy = MQS_POLICY_BLOCK},
        {.name = "a.in", .output = 1, .consumer = 1, .depth = BARE_RING_SIZE, .policy = MQS_POLICY_BLOCK}};
    mqs_domain_config c = {.graph = "mqbench-queue", .wait_mode = mode, .processes = procs, .process_count = 3,
                           .pools = pools, .pool_count = 2, .outputs = outputs, .output_count = 2,
                           .queues = queues, .queue_count = 2};
    int rc = mqs_domain_create(&c, &l->domain);
    if (rc == 0)
        snprintf(l->domain_name, sizeof l->domain_name, "%s", mqs_domain_name(l->domain));
    else
        fprintf(stderr, "mqbench queue: %s\n", mqs_last_error());
    return rc;
}

static int link_open(channel *l, const transport *t)
{
    memset(l, 0, sizeof *l);
    l->kind = t->kind;
    l->batch = t->batch;
    switch (t->kind) {
    case KIND_MQS: return create_domain(l, t->mode);
    case KIND_BARE:
        l->ab = bare_ring_create();
        l->ba = bare_ring_create();
        return l->ab && l->ba ? 0 : -ENOMEM;
    case KIND_PIPE: return pipe(l->fds) == 0 && pipe(l->fds + 2) == 0 ? 0 : -errno;
    default: return socketpair(AF_UNIX, SOCK_STREAM, 0, l->fds) == 0 ? 0 : -errno;
    }
}

static void link_close(channel *l)
{
    if (l->kind == KIND_MQS && l->domain)
        mqs_domain_destroy(l->domain);
    if (l->kind == KIND_BARE) {
        bare_ring_destroy(l->ab);
        bare_ring_destroy(l->ba);
    }
    for (int i = 0; i < 4; i++)
        if (l->fds[i] > 0)
            close(l->fds[i]);
}

/* In the child: take this side's end of the link. */
static int link_enter(channel *l, int side)
{
    l->side = side;
    if (l->kind == KIND_MQS)
        return mqs_domain_attach(l->domain_name, (uint32_t)side + 1, &l->domain);
    return 0;
}

/* ---- moving one value ---- */

static int fd_for(const channel *l, bool sending)
{
    if (l->kind == KIND_SOCKET)
        return l->fds[l->side];
    /* A writes ab (fds[1]) and reads ba (fds[2]); B reads ab (fds[0]) and writes ba (fds[3]). */
    if (l->side == 0)
        return sending ? l->fds[1] : l->fds[2];
    return sending ? l->fds[3] : l->fds[0];
}

static int link_send(channel *l, uint64_t v)
{
    uint8_t msg[MESSAGE_BYTES] = {0};
    switch (l->kind) {
    case KIND_MQS: return mqs_queue_push(l->domain, (uint32_t)l->side == 0 ? 0 : 1, v, IO_TIMEOUT_NS);
    case KIND_BARE: bare_ring_push(l->side == 0 ? l->ab : l->ba, v); return 0;
    default: memcpy(msg, &v, sizeof v); return bench_full_io(fd_for(l, true), msg, sizeof msg, true) ? -EIO : 0;
    }
}

static int link_recv(channel *l, uint64_t *v)
{
    uint8_t msg[MESSAGE_BYTES];
    switch (l->kind) {
    case KIND_MQS: return mqs_queue_pop(l->domain, l->side == 0 ? 1 : 0, v, IO_TIMEOUT_NS);
    case KIND_BARE: *v = bare_ring_pop(l->side == 0 ? l->ba : l->ab); return 0;
    default: {
        int rc = bench_full_io(fd_for(l, false), msg, sizeof msg, false);
        memcpy(v, msg, sizeof *v);
        return rc ? -EIO : 0;
    }
    }
}

/* ---- the two workloads ---- */

typedef void (*side_fn)(channel *l, shared_result *r, uint64_t n);

/* The batch API: BATCH IDs per call, in order. */
static void stream_a_batch(channel *l, shared_result *r, uint64_t n)
{
    uint64_t v[BATCH];
    r->start_ns = mqs_now_ns();
    for (uint64_t i = 0; i < n;) {
        uint32_t k = n - i < l->batch ? (uint32_t)(n - i) : l->batch;
        for (uint32_t j = 0; j < k; j++)
            v[j] = i + j;
        if (mqs_queue_push_many(l->domain, 0, v, k, IO_TIMEOUT_NS) != (int)k) {
            r->errors++;
            return;
        }
        i += k;
    }
}

static void stream_b_batch(channel *l, shared_result *r, uint64_t n)
{
    uint64_t v[BATCH];
    for (uint64_t i = 0; i < n;) {
        int k = mqs_queue_pop_many(l->domain, 0, v, l->batch, IO_TIMEOUT_NS);
        for (int j = 0; j < k; j++)
            if (v[j] != i++)
                k = -EPROTO;
        if (k <= 0) {
            r->errors++;
            return;
        }
    }
    r->end_ns = mqs_now_ns();
}

static void stream_a(channel *l, shared_result *r, uint64_t n)
{
    if (l->batch) {
        stream_a_batch(l, r, n);
        return;
    }
    r->start_ns = mqs_now_ns();
    for (uint64_t i = 0; i < n; i++)
        if (link_send(l, i) != 0) {
            r->errors++;
            return;
        }
}

static void stream_b(channel *l, shared_result *r, uint64_t n)
{
    if (l->batch) {
        stream_b_batch(l, r, n);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        if (link_recv(l, &v) != 0 || v != i) {
            r->errors++;
            return;
        }
    }
    r->end_ns = mqs_now_ns();
}

static void ping_a(channel *l, shared_result *r, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        int64_t t0 = mqs_now_ns();
        if (link_send(l, i) != 0 || link_recv(l, &v) != 0 || v != i) {
            r->errors++;
            return;
        }
        r->samples[i] = (mqs_now_ns() - t0) / 2;
    }
}

static void pong_b(channel *l, shared_result *r, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        if (link_recv(l, &v) != 0 || link_send(l, v) != 0) {
            r->errors++;
            return;
        }
    }
}

static pid_t start_side(channel *l, int side, side_fn fn, shared_result *r, uint64_t n)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    bench_pin(side);
    if (link_enter(l, side) != 0) {
        r->errors++;
        _exit(1);
    }
    fn(l, r, n);
    if (l->kind == KIND_MQS)
        mqs_domain_detach(l->domain);
    _exit(0);
}

/* Run A and B of one workload over a fresh channel; 0 if both went right. */
static int run_pair(const transport *t, side_fn a, side_fn b, shared_result *r, uint64_t n)
{
    channel l;
    int rc = link_open(&l, t);
    if (rc != 0)
        return rc;
    r->errors = 0;
    pid_t pb = start_side(&l, 1, b, r, n);
    pid_t pa = start_side(&l, 0, a, r, n);
    int sa, sb;
    waitpid(pa, &sa, 0);
    waitpid(pb, &sb, 0);
    link_close(&l);
    bool ok = WIFEXITED(sa) && WEXITSTATUS(sa) == 0 && WIFEXITED(sb) && WEXITSTATUS(sb) == 0 && r->errors == 0;
    return ok ? 0 : -EIO;
}

/* ---- driver ---- */

typedef struct queue_options {
    bool json;
    uint64_t messages; /* for the fast transports; others use a fifth */
    uint64_t samples;
} queue_options;

static bool fast(const transport *t)
{
    return t->kind == KIND_BARE || (t->kind == KIND_MQS && t->mode == MQS_WAIT_SPIN);
}

#define TRIALS 3 /* throughput is the median of these: one preempted trial does not decide */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int measure(const transport *t, const queue_options *o, shared_result *r, measurement *m)
{
    uint64_t n = (fast(t) ? o->messages : o->messages / 5) / TRIALS;
    double rates[TRIALS];
    for (int i = 0; i < TRIALS; i++) {
        int rc = run_pair(t, stream_a, stream_b, r, n);
        if (rc != 0)
            return rc;
        rates[i] = (double)n * 1e9 / (double)(r->end_ns - r->start_ns);
    }
    qsort(rates, TRIALS, sizeof rates[0], cmp_double);
    m->msgs_per_s = rates[TRIALS / 2];
    int rc;
    uint64_t s = fast(t) ? o->samples : o->samples / 4;
    rc = run_pair(t, ping_a, pong_b, r, s);
    if (rc != 0)
        return rc;
    m->p50 = bench_percentile(r->samples, s, 0.50);
    m->p99 = bench_percentile(r->samples, s, 0.99);
    m->p999 = bench_percentile(r->samples, s, 0.999);
    return 0;
}

static const measurement *by_name(const measurement *m, const char *name)
{
    for (size_t i = 0; i < TRANSPORT_COUNT; i++)
        if (strcmp(transports[i].name, name) == 0)
            return &m[i];
    return NULL;
}

/* The three targets, against bare_ring, the pipe and the socket of the same run. */
static size_t queue_targets(const measurement *m, bench_target *t)
{
    const measurement *bare = by_name(m, "bare_ring"), *spin = by_name(m, "mqs_spin");
    const measurement *futex = by_name(m, "mqs_futex"), *pipe_m = by_name(m, "pipe"), *sock = by_name(m, "unix_socket");
    double tput = spin->msgs_per_s / bare->msgs_per_s, lat = (double)spin->p50 / (double)bare->p50;
    int64_t other = pipe_m->p50 < sock->p50 ? pipe_m->p50 : sock->p50;
    bench_target_set(&t[0], "mqs_spin throughput >= 0.5x bare_ring", "%.2fx", tput, tput >= 0.5);
    bench_target_set(&t[1], "mqs_spin p50 <= 1.5x bare_ring", "%.2fx", lat, lat <= 1.5);
    bench_target_set(&t[2], "mqs_futex p50 below pipe's and unix_socket's", "%.2fx", (double)futex->p50 / (double)other,
                     futex->p50 < other);
    return 3;
}

static void print_json(const measurement *m)
{
    printf("{\"bench\":\"queue\",\"results\":[");
    for (size_t i = 0; i < TRANSPORT_COUNT; i++)
        printf("%s{\"name\":\"%s\",\"msgs_per_s\":%.0f,\"lat_ns_p50\":%lld,\"lat_ns_p99\":%lld,\"lat_ns_p999\":%lld}",
               i ? "," : "", transports[i].name, m[i].msgs_per_s, (long long)m[i].p50, (long long)m[i].p99,
               (long long)m[i].p999);
    bench_target t[3];
    printf("]");
    bench_json_targets(t, queue_targets(m, t));
    printf("}\n");
}


static void print_table(const measurement *m)
{
    const measurement *bare = by_name(m, "bare_ring");
    printf("one queue between two processes; latency is one way (half a round trip)\n\n");
    printf("%-14s %14s %9s %10s %10s %10s %9s\n", "transport", "msgs/s", "x bare", "p50 ns", "p99 ns", "p99.9 ns",
           "p50 x bare");
    for (size_t i = 0; i < TRANSPORT_COUNT; i++)
        printf("%-14s %14.0f %8.2fx %10lld %10lld %10lld %8.2fx%s\n", transports[i].name, m[i].msgs_per_s,
               m[i].msgs_per_s / bare->msgs_per_s, (long long)m[i].p50, (long long)m[i].p99, (long long)m[i].p999,
               (double)m[i].p50 / (double)bare->p50,
               transports[i].batch ? "  (32 IDs per call; latency: one)" : transports[i].extra ? "  (extra)" : "");
    bench_target t[3];
    bench_print_targets(t, queue_targets(m, t));
}

static void queue_usage(FILE *out)
{
    fputs("usage: mqbench queue [--json] [--messages N] [--samples N]\n"
          "  Producer and consumer in two processes. Throughput (IDs/s, in order, median of 3 runs), one-way latency\n"
          "  (half a round trip: p50, p99, p99.9) of multiqueue-shm queues in spin, futex (sleep) and hybrid\n"
          "  waiting, against a bare SPSC ring, a pipe and a Unix socket (64-byte messages), all in one run.\n"
          "  --messages N  throughput messages for spinning transports (default 5000000; others use N/5)\n"
          "  --samples N   round trips for spinning transports (default 200000; others use N/4)\n"
          "  --json        {\"bench\":\"queue\",\"results\":[{\"name\":..,\"msgs_per_s\":..,\"lat_ns_p50\":..},..]}\n",
          out);
}

static int parse(int argc, char **argv, queue_options *o)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"messages", required_argument, 0, 'm'},
                                         {"samples", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *o = (queue_options){.messages = 5000000, .samples = 200000};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            o->json = true;
        else if (c == 'm')
            o->messages = strtoull(optarg, NULL, 10);
        else if (c == 's')
            o->samples = strtoull(optarg, NULL, 10);
        else {
            queue_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 1 : -1;
        }
    }
    if (o->messages < 100 || o->samples < 100) {
        fprintf(stderr, "mqbench queue: --messages and --samples must be at least 100\n");
        return -1;
    }
    return 0;
}

int bench_queue_main(int argc, char **argv)
{
    queue_options o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    mqs_domain_remove_stale("mqbench-queue");
    size_t bytes = sizeof(shared_result) + o.samples * sizeof(int64_t);
    shared_result *r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        return 1;
    measurement m[TRANSPORT_COUNT];
    for (size_t i = 0; i < TRANSPORT_COUNT; i++)
        if (measure(&transports[i], &o, r, &m[i]) != 0) {
            fprintf(stderr, "mqbench queue: %s gave wrong results (lost, reordered or timed out)\n",
                    transports[i].name);
            munmap(r, bytes);
            return 1;
        }
    munmap(r, bytes);
    if (o.json)
        print_json(m);
    else
        print_table(m);
    return 0;
}
