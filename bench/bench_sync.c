/* mqbench sync: what aligning a block's inputs costs, next to popping the
 * same buffers without alignment, in the same run; and the latency each
 * policy adds, with and without `period` hints.
 *
 * Cost: one process owns 2, 4 or 8 outputs and consumes their queues. Each
 * round it sends a batch of buffers on every output (not timed), then takes
 * them all back, alternately bare (receive + unref) and aligned (receive,
 * push into the aligner, hand out every set, release), timing only that
 * part. Streams are 30 Hz with a constant offset and a seeded +-2 ms jitter
 * per input (equal pts for exact), input i captured 0.5 ms x i before input
 * 0, the reference; tolerance 10 ms (unlimited for latest and interpolate).
 *
 * Latency: the aligner alone, fed the same kind of streams in arrival order
 * with arrival = capture + 0.5..1.5 ms on a simulated clock, so the figure is
 * the aligner's own waiting (a set waits for the buffer that proves it
 * final), not the machine's scheduling. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mqs/mqs.h>

#include "bench_stats.h"
#include "bench_sync.h"
#include "core/align.h"

#define PERIOD_NS 33333333LL
#define JITTER_NS 2000000LL
#define TOLERANCE_NS 10000000LL
#define BATCH 16
#define DEPTH 32
#define MAX_INPUTS 8

static const mqs_sync_policy policies[] = {MQS_SYNC_EXACT, MQS_SYNC_APPROXIMATE, MQS_SYNC_NEAREST, MQS_SYNC_LATEST,
                                           MQS_SYNC_INTERPOLATE};
#define POLICY_COUNT (sizeof policies / sizeof policies[0])
static const uint32_t input_counts[] = {2, 4, 8};
#define SIZE_COUNT (sizeof input_counts / sizeof input_counts[0])

typedef struct result {
    double ns_per_set_aligned, ns_per_set_bare;
    uint64_t sets;
    int64_t latency_p50, latency_p99, hinted_p50, hinted_p99;
} result;

/* ---- streams ---- */

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* pts of buffer k of input i. */
static int64_t stream_pts(mqs_sync_policy p, uint32_t i, uint64_t k, uint64_t *rng)
{
    int64_t base = (int64_t)k * PERIOD_NS + 1000000000LL;
    if (p == MQS_SYNC_EXACT)
        return base;
    int64_t jitter = (int64_t)(next_random(rng) % (2 * JITTER_NS + 1)) - JITTER_NS;
    return base - (int64_t)i * 500000 + jitter; /* input 0, the reference, is captured last */
}

static mqs_align_config align_config(mqs_sync_policy p, uint32_t n, int64_t period, mqs_align_shared *counters,
                                     mqs_input_shared *inputs)
{
    /* Sample and hold is meant for slower inputs, so latest and interpolate
     * hold whatever came last, as they usually do; the others pair within 10 ms. */
    bool hold = p == MQS_SYNC_LATEST || p == MQS_SYNC_INTERPOLATE;
    mqs_align_config c = {.policy = p, .reference = 0, .tolerance_ns = hold ? MQS_TOLERANCE_UNLIMITED : TOLERANCE_NS,
                          .timeout_ns = 1000000000LL, .input_count = n, .counters = counters};
    for (uint32_t i = 0; i < n; i++)
        c.inputs[i] = (mqs_align_input_config){.depth = DEPTH, .period_ns = period, .counters = &inputs[i]};
    return c;
}

/* ---- cost ---- */

static int create_domain(uint32_t n, mqs_domain **out)
{
    mqs_pool_config pools[MAX_INPUTS];
    mqs_output_config outputs[MAX_INPUTS];
    mqs_queue_config queues[MAX_INPUTS];
    for (uint32_t i = 0; i < n; i++) {
        pools[i] = (mqs_pool_config){.name = "in", .slot_size = 64, .slot_count = 2 * DEPTH};
        outputs[i] = (mqs_output_config){.name = "out", .pool = i};
        queues[i] = (mqs_queue_config){.name = "in", .output = i, .depth = DEPTH, .policy = MQS_POLICY_BLOCK};
    }
    mqs_process_config proc = {.name = "bench"};
    mqs_domain_config c = {.graph = "mqbench-sync", .wait_mode = MQS_WAIT_SPIN, .held_capacity = 1024, /* what mqrun gives a worker */
                           .processes = &proc, .process_count = 1, .pools = pools, .pool_count = n,
                           .outputs = outputs, .output_count = n, .queues = queues, .queue_count = n};
    return mqs_domain_create(&c, out);
}

static int send_batch(mqs_domain *d, mqs_sync_policy p, uint32_t n, uint64_t *k, uint64_t *rng)
{
    for (uint32_t b = 0; b < BATCH; b++, (*k)++)
        for (uint32_t i = 0; i < n; i++) {
            mqs_buffer_id id;
            if (mqs_buffer_alloc(d, i, &id) != 0)
                return -1;
            mqs_buffer_meta_of(d, id)->pts = stream_pts(p, i, *k, rng);
            if (mqs_output_send(d, i, id, 0) != 1)
                return -1;
        }
    return 0;
}

static void release_buffer(void *d, mqs_buffer_id id) { mqs_buffer_unref(d, id); }

/* Take every queued buffer back, bare or through the aligner. Sets made. */
static uint64_t take_back(mqs_domain *d, uint32_t n, mqs_aligner *a)
{
    uint64_t sets = 0;
    int64_t now = mqs_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        mqs_buffer_id id;
        while (mqs_queue_receive(d, i, &id, 0) == 0) {
            if (a)
                mqs_align_push(a, i, mqs_buffer_meta_of(d, id)->pts, id, now);
            else
                mqs_buffer_unref(d, id);
        }
    }
    for (const mqs_align_set *s; a && (s = mqs_align_next(a, now)) != NULL; sets++)
        mqs_align_done(a);
    return a ? sets : BATCH;
}

static int measure_cost(mqs_sync_policy p, uint32_t n, uint64_t rounds, result *r)
{
    mqs_domain *d;
    if (create_domain(n, &d) != 0) {
        fprintf(stderr, "mqbench sync: %s\n", mqs_last_error());
        return -1;
    }
    static mqs_align_shared counters;
    static mqs_input_shared inputs[MAX_INPUTS];
    mqs_align_config c = align_config(p, n, 0, &counters, inputs);
    c.release = release_buffer, c.release_arg = d;
    mqs_aligner *a = mqs_align_create(&c);
    uint64_t k[2] = {0, 0}, rng[2] = {7, 7}, sets = 0;
    int64_t spent[2] = {0, 0};
    int rc = a ? 0 : -1;
    for (uint64_t round = 0; rc == 0 && round < 2 * rounds; round++) {
        int aligned = (int)(round & 1);
        rc = send_batch(d, p, n, &k[aligned], &rng[aligned]);
        int64_t t0 = mqs_now_ns();
        uint64_t made = take_back(d, n, aligned ? a : NULL);
        spent[aligned] += mqs_now_ns() - t0;
        sets += aligned ? made : 0;
    }
    mqs_align_destroy(a);
    mqs_domain_destroy(d);
    r->sets = sets;
    r->ns_per_set_aligned = sets ? (double)spent[1] / (double)sets : 0;
    r->ns_per_set_bare = (double)spent[0] / (double)(rounds * BATCH);
    return rc;
}

/* ---- latency ---- */

static void ignore(void *arg, mqs_buffer_id id) { (void)arg, (void)id; }

typedef struct arrival {
    int64_t at, pts;
    uint32_t input;
} arrival;

static int by_time(const void *x, const void *y)
{
    const arrival *a = x, *b = y;
    return (a->at > b->at) - (a->at < b->at);
}

/* The aligner's own latency (p50, p99) over `count` buffers per input. */
static void measure_latency(mqs_sync_policy p, uint32_t n, uint64_t count, int64_t period, int64_t *p50,
                            int64_t *p99)
{
    arrival *all = malloc(count * n * sizeof *all);
    static mqs_align_shared counters;
    static mqs_input_shared inputs[MAX_INPUTS];
    memset(&counters, 0, sizeof counters);
    uint64_t rng = 11, m = 0;
    for (uint64_t k = 0; all && k < count; k++)
        for (uint32_t i = 0; i < n; i++, m++) {
            int64_t pts = stream_pts(p, i, k, &rng);
            all[m] = (arrival){pts + 500000 + (int64_t)(next_random(&rng) % 1000000), pts, i};
        }
    mqs_align_config c = align_config(p, n, period, &counters, inputs);
    c.release = ignore;
    mqs_aligner *a = all ? mqs_align_create(&c) : NULL;
    qsort(all, m, sizeof *all, by_time);
    for (uint64_t j = 0; a && j < m; j++) {
        mqs_align_push(a, all[j].input, all[j].pts, j + 1, all[j].at);
        while (mqs_align_next(a, all[j].at))
            mqs_align_done(a);
    }
    mqs_histogram h = {.samples = counters.latency.samples, .max = counters.latency.max};
    for (uint32_t b = 0; b < MQS_HISTOGRAM_BUCKETS; b++)
        h.count[b] = counters.latency.count[b];
    *p50 = mqs_histogram_percentile(&h, 50);
    *p99 = mqs_histogram_percentile(&h, 99);
    mqs_align_destroy(a);
    free(all);
}

/* ---- driver ---- */

/* Aligning 4 inputs (r[1]) against as many bare pops, the worst policy. */
static void sync_target(const result r[SIZE_COUNT][POLICY_COUNT], bench_target *t)
{
    double worst = 0;
    for (size_t p = 0; p < POLICY_COUNT; p++) {
        double ratio = r[1][p].ns_per_set_aligned / r[1][p].ns_per_set_bare;
        worst = ratio > worst ? ratio : worst;
    }
    bench_target_set(t, "aligning 4 inputs costs <= 2x the bare pops (worst policy)", "%.2fx", worst, worst <= 2);
}

static void print_table(const result r[SIZE_COUNT][POLICY_COUNT])
{
    printf("aligning N inputs vs popping the same buffers bare, one process (ns per set of N buffers)\n");
    printf("latency: the aligner's own wait for a set (simulated clock, 30 Hz streams, +-2 ms jitter)\n\n");
    printf("%-12s %6s %8s %12s %12s %8s   %-22s %-22s\n", "policy", "inputs", "sets", "aligned ns", "bare ns", "ratio",
           "latency p50/p99 ms", "with period p50/p99 ms");
    for (size_t s = 0; s < SIZE_COUNT; s++)
        for (size_t p = 0; p < POLICY_COUNT; p++) {
            const result *x = &r[s][p];
            printf("%-12s %6u %8llu %12.0f %12.0f %7.2fx   %9.2f / %-10.2f %9.2f / %-10.2f\n",
                   mqs_sync_policy_name(policies[p]), input_counts[s], (unsigned long long)x->sets,
                   x->ns_per_set_aligned, x->ns_per_set_bare,
                   x->ns_per_set_aligned / x->ns_per_set_bare, x->latency_p50 / 1e6, x->latency_p99 / 1e6,
                   x->hinted_p50 / 1e6, x->hinted_p99 / 1e6);
        }
    bench_target t;
    sync_target(r, &t);
    bench_print_targets(&t, 1);
}

static void print_json(const result r[SIZE_COUNT][POLICY_COUNT])
{
    printf("{\"bench\":\"sync\",\"results\":[");
    for (size_t s = 0; s < SIZE_COUNT; s++)
        for (size_t p = 0; p < POLICY_COUNT; p++) {
            const result *x = &r[s][p];
            printf("%s{\"policy\":\"%s\",\"inputs\":%u,\"sets\":%llu,\"ns_per_set\":%.1f,\"bare_ns_per_set\":%.1f,"
                   "\"ratio\":%.3f,\"latency_ns_p50\":%lld,\"latency_ns_p99\":%lld,\"period_hint_latency_ns_p50\":%lld,"
                   "\"period_hint_latency_ns_p99\":%lld}",
                   s + p ? "," : "", mqs_sync_policy_name(policies[p]), input_counts[s], (unsigned long long)x->sets,
                   x->ns_per_set_aligned, x->ns_per_set_bare, x->ns_per_set_aligned / x->ns_per_set_bare,
                   (long long)x->latency_p50, (long long)x->latency_p99, (long long)x->hinted_p50,
                   (long long)x->hinted_p99);
        }
    bench_target t;
    sync_target(r, &t);
    printf("]");
    bench_json_targets(&t, 1);
    printf("}\n");
}

static void sync_usage(FILE *out)
{
    fputs("usage: mqbench sync [--json] [--rounds N]\n"
          "  For 2, 4 and 8 inputs and each policy: the cost of aligning per delivered set next to popping the\n"
          "  same buffers without alignment (same run, same process), and the latency the aligner adds, with and\n"
          "  without `period` hints.\n"
          "  --rounds N  batches of 16 buffers per input for each mode (default 2000)\n"
          "  --json      {\"bench\":\"sync\",\"results\":[{\"policy\":..,\"inputs\":..,\"ns_per_set\":..,\"ratio\":..},..]}\n",
          out);
}

int bench_sync_main(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {"rounds", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool json = false;
    uint64_t rounds = 2000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 'r')
            rounds = strtoull(optarg, NULL, 10);
        else {
            sync_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (rounds < 10) {
        fprintf(stderr, "mqbench sync: --rounds must be at least 10\n");
        return 2;
    }
    mqs_domain_remove_stale("mqbench-sync");
    static result r[SIZE_COUNT][POLICY_COUNT];
    for (size_t s = 0; s < SIZE_COUNT; s++)
        for (size_t p = 0; p < POLICY_COUNT; p++) {
            if (measure_cost(policies[p], input_counts[s], rounds, &r[s][p]) != 0)
                return 1;
            measure_latency(policies[p], input_counts[s], 2000, 0, &r[s][p].latency_p50, &r[s][p].latency_p99);
            measure_latency(policies[p], input_counts[s], 2000, PERIOD_NS - 2 * JITTER_NS, &r[s][p].hinted_p50,
                            &r[s][p].hinted_p99);
        }
    if (json)
        print_json(r);
    else
        print_table(r);
    return 0;
}
