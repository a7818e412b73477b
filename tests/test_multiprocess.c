/* Multi-process behaviour with real fork()ed processes: ordering over 10
 * million IDs, fan-out to three consumers, drop policies on a deterministic
 * lockstep schedule, wake-ups across processes in every wait mode, and
 * reclaim after SIGKILL.
 *
 * Children attach as their own process slot (never using the parent's
 * handle), report through exit codes and a shared page, and end with _exit.
 * Run with --jobs 1: on 2 cores, two of these tests side by side would spin
 * against each other. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(mp, .fini = mqst_teardown, .timeout = 120);

/* What a child needs: fork copies it, so plain fields are enough. */
typedef struct child_args {
    char name[200];
    uint32_t slot;
    uint64_t count;
    int variant;
    mqst_pipe to_parent, to_child;
    volatile int64_t *shared; /* a page shared with the parent */
} child_args;

static void args_init(child_args *a, const mqs_domain *d)
{
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", mqs_domain_name(d));
    mqst_pipe_open(&a->to_parent);
    mqst_pipe_open(&a->to_child);
    a->shared = mqst_shared(1 << 16);
}

static mqs_buffer_id alloc_retry(mqs_domain *d, uint32_t pool, int64_t timeout_ns)
{
    /* Allocation never waits: the producer retries while consumers free. */
    int64_t deadline = mqs_now_ns() + timeout_ns;
    mqs_buffer_id id;
    int rc;
    while ((rc = mqs_buffer_alloc(d, pool, &id)) == -EAGAIN && mqs_now_ns() < deadline)
        sched_yield();
    return rc == 0 ? id : MQS_BUFFER_ID_NONE;
}

/* ================= 1 -> 1, 10 million IDs, raw queue ================= */

#define SPSC_COUNT UINT64_C(10000000)

static int spsc_producer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'A') == 0, 11);
    MQST_REQUIRE(mqs_domain_wait_started(d, MQST_PATIENCE) == 0, 12);
    for (uint64_t v = 1; v <= a->count; v++) {
        int rc = mqs_queue_push(d, 0, v, MQST_PATIENCE);
        if (rc != 0) {
            fprintf(stderr, "producer: push %llu: %s\n", (unsigned long long)v, mqs_strerror(rc));
            return 13;
        }
    }
    MQST_REQUIRE(mqs_output_close(d, 0) == 0, 14);
    mqs_domain_detach(d);
    return 0;
}

Test(mp, spsc_ten_million_ids_in_order, .timeout = 180)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqst_add_pool(&t, 1, 64, 1);
    mqst_add_output(&t, 1, 0);
    mqst_add_queue(&t, 0, 0, 1024, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    a.count = SPSC_COUNT;
    pid_t pid = mqst_spawn(spsc_producer, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'A'), "the producer did not attach");
    mqs_domain_start(d);

    uint64_t expected = 1, got = 0;
    int rc = 0;
    for (; expected <= SPSC_COUNT; expected++) {
        rc = mqs_queue_pop(d, 0, &got, MQST_PATIENCE);
        if (rc != 0 || got != expected)
            break;
    }
    cr_assert(eq(int, rc, 0), "pop #%llu: %s", (unsigned long long)expected, mqs_strerror(rc));
    cr_assert(eq(u64, expected, SPSC_COUNT + 1), "value #%llu was %llu", (unsigned long long)expected,
              (unsigned long long)got);
    cr_assert(eq(int, mqs_queue_pop(d, 0, &got, MQST_PATIENCE), -EPIPE), "more than %llu values",
              (unsigned long long)SPSC_COUNT);
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));

    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, SPSC_COUNT));
    cr_assert(eq(u64, s.popped, SPSC_COUNT));
    cr_assert(eq(u64, s.dropped, 0));
    cr_assert(le(u64, s.high_water, 1024));
    cr_assert(ge(u64, s.high_water, 1));
    cr_assert(eq(u32, s.length, 0));
}

/* The batch calls across processes: uneven batches on both sides (so index
 * updates land at every offset of the ring), every value once, in order. */
#define BATCH_COUNT UINT64_C(2000000)

static int batch_producer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'A') == 0, 11);
    MQST_REQUIRE(mqs_domain_wait_started(d, MQST_PATIENCE) == 0, 12);
    uint64_t v[37];
    for (uint64_t next = 1, round = 0; next <= a->count; round++) {
        uint32_t n = 1 + (uint32_t)(round % 37);
        if (next + n - 1 > a->count)
            n = (uint32_t)(a->count - next + 1);
        for (uint32_t i = 0; i < n; i++)
            v[i] = next + i;
        int rc = mqs_queue_push_many(d, 0, v, n, MQST_PATIENCE);
        if (rc != (int)n) {
            fprintf(stderr, "producer: push_many of %u at %llu: %d\n", n, (unsigned long long)next, rc);
            return 13;
        }
        next += n;
    }
    MQST_REQUIRE(mqs_output_close(d, 0) == 0, 14);
    mqs_domain_detach(d);
    return 0;
}

static void check_batches(mqs_wait_mode mode)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    t.cfg.wait_mode = mode;
    mqst_add_pool(&t, 1, 64, 1);
    mqst_add_output(&t, 1, 0);
    mqst_add_queue(&t, 0, 0, 64, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    a.count = BATCH_COUNT;
    pid_t pid = mqst_spawn(batch_producer, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'A'), "the producer did not attach");
    mqs_domain_start(d);
    uint64_t expected = 1, v[23];
    int rc;
    for (uint32_t round = 0; (rc = mqs_queue_pop_many(d, 0, v, 1 + round % 23, MQST_PATIENCE)) > 0; round++)
        for (int i = 0; i < rc; i++, expected++)
            cr_assert(eq(u64, v[i], expected));
    cr_assert(eq(int, rc, -EPIPE), "the stream ended with %s", mqs_strerror(rc));
    cr_assert(eq(u64, expected, BATCH_COUNT + 1));
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, BATCH_COUNT));
    cr_assert(eq(u64, s.popped, BATCH_COUNT));
}

Test(mp, batches_in_order_across_processes_hybrid) { check_batches(MQS_WAIT_HYBRID); }
Test(mp, batches_in_order_across_processes_sleep) { check_batches(MQS_WAIT_SLEEP); }

/* ================= waiting for a free slot ================= */

/* Takes the two buffers the parent sent once told to, and releases them. */
static int slot_releaser(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'A') == 0, 11);
    MQST_REQUIRE(mqst_pipe_get(&a->to_child, MQST_PATIENCE) == 'R', 12);
    for (int i = 0; i < 2; i++) {
        mqs_buffer_id id;
        MQST_REQUIRE(mqs_queue_receive(d, 0, &id, MQST_PATIENCE) == 0, 13);
        MQST_REQUIRE(mqs_buffer_unref(d, id) == 0, 14);
    }
    mqs_domain_detach(d);
    return 0;
}

/* The owner of an exhausted pool sleeps in mqs_buffer_alloc_wait until a
 * release in another process wakes it: not before, and with the slot. */
static void check_alloc_wait(mqs_wait_mode mode)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    t.cfg.wait_mode = mode;
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 1, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    pid_t pid = mqst_spawn(slot_releaser, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'A'), "the consumer did not attach");
    mqs_buffer_id id;
    for (int i = 0; i < 2; i++) {
        cr_assert(eq(int, mqs_buffer_alloc(d, 0, &id), 0));
        cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 1));
    }
    cr_assert(eq(int, mqs_buffer_alloc_wait(d, 0, &id, MQST_SEC / 20), -ETIMEDOUT), "nobody released a slot");
    cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'R'), 0));
    int64_t asked = mqs_now_ns();
    int rc = mqs_buffer_alloc_wait(d, 0, &id, MQST_PATIENCE);
    int64_t waited = mqs_now_ns() - asked;
    cr_assert(eq(int, rc, 0), "alloc_wait: %s", mqs_strerror(rc));
    /* Woken by the release, not by the 100 ms slice every sleeper wakes after. */
    cr_expect(lt(i64, waited, 90 * MQST_SEC / 1000), "woke after %lld ms", (long long)(waited / 1000000));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
    mqs_pool_stats ps;
    cr_assert(eq(int, mqs_pool_stats_get(d, 0, &ps), 0));
    cr_assert(eq(u32, ps.in_use, 0));
    cr_assert(eq(u64, ps.allocs, 3));
}

Test(mp, alloc_wait_wakes_on_a_release_sleep) { check_alloc_wait(MQS_WAIT_SLEEP); }
Test(mp, alloc_wait_wakes_on_a_release_hybrid) { check_alloc_wait(MQS_WAIT_HYBRID); }

/* ================= 1 -> 3 fan-out ================= */

#define FAN_COUNT UINT64_C(20000)
#define FAN_CONSUMERS 3

static uint8_t pattern(uint64_t seq, uint64_t byte)
{
    return (uint8_t)(seq * 7 + byte * 13);
}

static int check_fanout_buffer(mqs_domain *d, mqs_buffer_id id, uint64_t seq)
{
    const mqs_buffer_meta *m = mqs_buffer_meta_of(d, id);
    MQST_REQUIRE(m != NULL, 20);
    MQST_REQUIRE(m->seq == seq, 21);
    MQST_REQUIRE(m->pts == (int64_t)seq * 1000, 22);
    MQST_REQUIRE(m->length == 256, 23);
    MQST_REQUIRE(m->port == 0, 24);
    MQST_REQUIRE(m->flags == (seq % 10 == 0 ? (uint32_t)MQS_BUFFER_KEYFRAME : 0u), 25);
    const uint8_t *p = mqs_buffer_data(d, id);
    MQST_REQUIRE(p != NULL, 26);
    for (uint64_t b = 0; b < 256; b++)
        MQST_REQUIRE(p[b] == pattern(seq, b), 27);
    return 0;
}

static int fanout_consumer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, a->slot);
    MQST_REQUIRE(d != NULL, 10);
    uint32_t queue = a->slot - 1;
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'A') == 0, 11);
    for (uint64_t seq = 0; seq < a->count; seq++) {
        mqs_buffer_id id;
        int rc = mqs_queue_receive(d, queue, &id, MQST_PATIENCE);
        if (rc != 0) {
            fprintf(stderr, "consumer %u: receive #%llu: %s\n", a->slot, (unsigned long long)seq, mqs_strerror(rc));
            return 12;
        }
        rc = check_fanout_buffer(d, id, seq);
        if (rc)
            return rc;
        MQST_REQUIRE(mqs_buffer_unref(d, id) == 0, 13);
        a->shared[a->slot]++;
    }
    mqs_buffer_id id;
    MQST_REQUIRE(mqs_queue_receive(d, queue, &id, MQST_PATIENCE) == -EPIPE, 14);
    MQST_REQUIRE(mqs_held_count(d) == 0, 15);
    mqs_domain_detach(d);
    return 0;
}

static void fanout_produce(mqs_domain *d, uint64_t seq)
{
    mqs_buffer_id id = alloc_retry(d, 0, MQST_PATIENCE);
    cr_assert(ne(u64, id, MQS_BUFFER_ID_NONE), "alloc #%llu never succeeded", (unsigned long long)seq);
    uint8_t *p = mqs_buffer_data(d, id);
    for (uint64_t b = 0; b < 256; b++)
        p[b] = pattern(seq, b);
    mqs_buffer_meta *m = mqs_buffer_meta_of(d, id);
    m->seq = seq;
    m->pts = (int64_t)seq * 1000;
    m->length = 256;
    m->flags = seq % 10 == 0 ? MQS_BUFFER_KEYFRAME : 0;
    int rc = mqs_output_send(d, 0, id, MQST_PATIENCE);
    cr_assert(eq(int, rc, FAN_CONSUMERS), "send #%llu: %d (%s)", (unsigned long long)seq, rc, mqs_strerror(rc));
}

Test(mp, fan_out_one_to_three_every_consumer_gets_every_buffer)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 1 + FAN_CONSUMERS);
    mqst_add_pool(&t, 0, 256, 8);
    mqst_add_output(&t, 0, 0);
    for (uint32_t k = 1; k <= FAN_CONSUMERS; k++)
        mqst_add_queue(&t, 0, k, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    child_args a[FAN_CONSUMERS + 1];
    args_init(&a[0], d);
    pid_t pids[FAN_CONSUMERS + 1];
    for (uint32_t k = 1; k <= FAN_CONSUMERS; k++) {
        a[k] = a[0];
        a[k].slot = k;
        a[k].count = FAN_COUNT;
        pids[k] = mqst_spawn(fanout_consumer, &a[k]);
    }
    for (uint32_t k = 1; k <= FAN_CONSUMERS; k++)
        cr_assert(eq(int, mqst_pipe_get(&a[0].to_parent, MQST_PATIENCE), 'A'), "a consumer did not attach");

    for (uint64_t seq = 0; seq < FAN_COUNT; seq++)
        fanout_produce(d, seq);
    cr_assert(eq(int, mqs_output_close(d, 0), 0));
    for (uint32_t k = 1; k <= FAN_CONSUMERS; k++)
        cr_assert(eq(int, mqst_join(pids[k], MQST_PATIENCE), 0), "consumer %u", k);

    for (uint32_t k = 1; k <= FAN_CONSUMERS; k++) {
        cr_assert(eq(i64, a[0].shared[k], (int64_t)FAN_COUNT), "consumer %u", k);
        mqs_queue_stats s = mqst_queue_stats(d, k - 1);
        cr_assert(eq(u64, s.pushed, FAN_COUNT));
        cr_assert(eq(u64, s.popped, FAN_COUNT));
        cr_assert(eq(u64, s.dropped, 0));
        cr_assert(le(u64, s.high_water, 4));
        mqs_process_stats ps = mqst_process_stats(d, k);
        cr_assert(eq(int, ps.state, MQS_PROCESS_EXITED));
        cr_assert(eq(u32, ps.held, 0));
    }
    mqs_pool_stats ps = mqst_pool_stats(d, 0);
    cr_assert(eq(u32, ps.in_use, 0), "the pool is not completely free");
    cr_assert(eq(u64, ps.allocs, FAN_COUNT));
    cr_assert(eq(u64, ps.rejected_ids, 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));
}

/* ================= drop policies on a lockstep schedule ================= */

/* Each round the producer (slot 1) sends DROP_BURST buffers into a queue of
 * depth DROP_DEPTH while the consumer (slot 0, the parent) waits; then the
 * consumer empties the queue while the producer waits. */
#define DROP_ROUNDS 50
#define DROP_BURST 10
#define DROP_DEPTH 4

/* What send returns for the j-th buffer of a burst under each policy. */
static int drop_send_result(int policy, int j)
{
    switch (policy) {
    case MQS_POLICY_DROP_NEWEST:
        return j < DROP_DEPTH ? 1 : 0;
    case MQS_POLICY_DROP_OLDEST:
        return 1;
    default: /* block, timeout 0 */
        return j < DROP_DEPTH ? 1 : -ETIMEDOUT;
    }
}

static int drop_producer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    for (int r = 0; r < DROP_ROUNDS; r++) {
        for (int j = 0; j < DROP_BURST; j++) {
            mqs_buffer_id id;
            MQST_REQUIRE(mqs_buffer_alloc(d, 0, &id) == 0, 11);
            mqs_buffer_meta_of(d, id)->seq = (uint64_t)(r * DROP_BURST + j);
            int rc = mqs_output_send(d, 0, id, 0);
            if (rc != drop_send_result(a->variant, j)) {
                fprintf(stderr, "producer: round %d send %d returned %d\n", r, j, rc);
                return 12;
            }
        }
        MQST_REQUIRE(mqs_held_count(d) == 0, 13);
        MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'R') == 0, 14);
        MQST_REQUIRE(mqst_pipe_get(&a->to_child, MQST_PATIENCE) == 'C', 15);
    }
    MQST_REQUIRE(mqs_output_close(d, 0) == 0, 16);
    mqs_domain_detach(d);
    return 0;
}

static void drop_consume_round(mqs_domain *d, int policy, int r)
{
    /* drop_oldest keeps the last DEPTH of the burst; the others the first. */
    int first = policy == MQS_POLICY_DROP_OLDEST ? DROP_BURST - DROP_DEPTH : 0;
    for (int j = first; j < first + DROP_DEPTH; j++) {
        mqs_buffer_id id;
        int rc = mqs_queue_receive(d, 0, &id, 0);
        cr_assert(eq(int, rc, 0), "round %d: receive: %s", r, mqs_strerror(rc));
        cr_assert(eq(u64, mqs_buffer_meta_of(d, id)->seq, (uint64_t)(r * DROP_BURST + j)), "round %d", r);
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    }
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), -EAGAIN), "round %d: more than the depth was queued", r);
}

static void check_drop_policy(mqs_queue_policy policy)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqst_add_pool(&t, 1, 64, 16);
    mqst_add_output(&t, 1, 0);
    mqst_add_queue(&t, 0, 0, DROP_DEPTH, policy);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    a.variant = (int)policy;
    pid_t pid = mqst_spawn(drop_producer, &a);
    for (int r = 0; r < DROP_ROUNDS; r++) {
        cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'R'), "round %d: producer stopped", r);
        cr_assert(eq(u64, mqst_queue_stats(d, 0).dropped, (uint64_t)(r + 1) * (DROP_BURST - DROP_DEPTH)));
        drop_consume_round(d, policy, r);
        cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'C'), 0));
    }
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, MQST_PATIENCE), -EPIPE));
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));

    mqs_queue_stats s = mqst_queue_stats(d, 0);
    uint64_t entered = policy == MQS_POLICY_DROP_OLDEST ? DROP_BURST : DROP_DEPTH;
    cr_assert(eq(u64, s.dropped, (uint64_t)DROP_ROUNDS * (DROP_BURST - DROP_DEPTH)));
    cr_assert(eq(u64, s.pushed, (uint64_t)DROP_ROUNDS * entered));
    cr_assert(eq(u64, s.popped, (uint64_t)DROP_ROUNDS * DROP_DEPTH));
    cr_assert(eq(u64, s.high_water, DROP_DEPTH));
    mqs_pool_stats ps = mqst_pool_stats(d, 0);
    cr_assert(eq(u32, ps.in_use, 0), "dropped buffers were not released");
    cr_assert(eq(u64, ps.allocs, (uint64_t)DROP_ROUNDS * DROP_BURST));
}

Test(mp, drop_newest_exact_counts_across_processes) { check_drop_policy(MQS_POLICY_DROP_NEWEST); }
Test(mp, drop_oldest_exact_counts_across_processes) { check_drop_policy(MQS_POLICY_DROP_OLDEST); }
Test(mp, block_send_timeouts_exact_counts_across_processes) { check_drop_policy(MQS_POLICY_BLOCK); }

/* ================= wake-ups across processes ================= */

#define WAKE_ROUNDS 11
#define WAKE_DELAY (20 * MQST_MS)
#define WAKE_TIMEOUT (5 * MQST_SEC)

/* Each round: wait for the parent's go, let it fall asleep, note the time,
 * push one value. */
static int wake_producer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    for (int r = 0; r < WAKE_ROUNDS; r++) {
        MQST_REQUIRE(mqst_pipe_get(&a->to_child, MQST_PATIENCE) == 'G', 11);
        mqs_sleep_ns(WAKE_DELAY);
        a->shared[r] = mqs_now_ns();
        MQST_REQUIRE(mqs_queue_push(d, 0, (uint64_t)r + 100, 0) == 0, 12);
    }
    mqs_domain_detach(d);
    return 0;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static mqs_domain *producer_to_parent(mqs_wait_mode mode, uint32_t depth)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    t.cfg.wait_mode = mode;
    mqst_add_pool(&t, 1, 64, 1);
    mqst_add_output(&t, 1, 0);
    mqst_add_queue(&t, 0, 0, depth, MQS_POLICY_BLOCK);
    return mqst_create(&t);
}

static void check_consumer_wakes(mqs_wait_mode mode)
{
    mqs_domain *d = producer_to_parent(mode, 4);
    child_args a;
    args_init(&a, d);
    pid_t pid = mqst_spawn(wake_producer, &a);
    int64_t latency[WAKE_ROUNDS];
    for (int r = 0; r < WAKE_ROUNDS; r++) {
        cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'G'), 0));
        int64_t t0 = mqs_now_ns();
        uint64_t v = 0;
        int rc = mqs_queue_pop(d, 0, &v, WAKE_TIMEOUT);
        int64_t t1 = mqs_now_ns();
        cr_assert(eq(int, rc, 0), "round %d: the blocked consumer was not woken (%s after %lld ms)", r,
                  mqs_strerror(rc), (long long)((t1 - t0) / MQST_MS));
        cr_assert(eq(u64, v, (uint64_t)r + 100));
        latency[r] = t1 - a.shared[r];
        cr_assert(ge(i64, latency[r], 0), "returned before the push");
        cr_assert(lt(i64, latency[r], MQST_SEC), "round %d: woke %lld ms after the push", r,
                  (long long)(latency[r] / MQST_MS));
    }
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
    /* A missed wake-up would still be rescued by the sleeper's periodic
     * recheck, but ~100 ms late: the typical wake must be much faster. */
    qsort(latency, WAKE_ROUNDS, sizeof latency[0], cmp_i64);
    cr_assert(lt(i64, latency[WAKE_ROUNDS / 2], 30 * MQST_MS), "median wake-up latency %lld us",
              (long long)(latency[WAKE_ROUNDS / 2] / 1000));
}

Test(mp, blocked_consumer_wakes_hybrid) { check_consumer_wakes(MQS_WAIT_HYBRID); }
Test(mp, blocked_consumer_wakes_sleep) { check_consumer_wakes(MQS_WAIT_SLEEP); }
Test(mp, blocked_consumer_wakes_spin) { check_consumer_wakes(MQS_WAIT_SPIN); }

/* The consumer (slot 1) frees room in a full queue after a delay. */
static int slow_consumer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_get(&a->to_child, MQST_PATIENCE) == 'G', 11);
    mqs_sleep_ns(WAKE_DELAY);
    a->shared[0] = mqs_now_ns();
    for (uint64_t v = 1; v <= 3; v++) {
        uint64_t got = 0;
        MQST_REQUIRE(mqs_queue_pop(d, 0, &got, MQST_PATIENCE) == 0, 12);
        MQST_REQUIRE(got == v, 13);
    }
    mqs_domain_detach(d);
    return 0;
}

static void check_producer_wakes(mqs_wait_mode mode)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    t.cfg.wait_mode = mode;
    mqst_add_pool(&t, 0, 64, 1);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 1, 2, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    cr_assert(eq(int, mqs_queue_push(d, 0, 1, 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, 2, 0), 0));
    pid_t pid = mqst_spawn(slow_consumer, &a);
    cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'G'), 0));
    int64_t t0 = mqs_now_ns();
    int rc = mqs_queue_push(d, 0, 3, WAKE_TIMEOUT);
    int64_t t1 = mqs_now_ns();
    cr_assert(eq(int, rc, 0), "the blocked producer was not woken (%s after %lld ms)", mqs_strerror(rc),
              (long long)((t1 - t0) / MQST_MS));
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
    cr_assert(ge(i64, t1, a.shared[0]), "the push finished before the consumer made room");
    cr_assert(lt(i64, t1 - a.shared[0], MQST_SEC));
    cr_assert(eq(u64, mqst_queue_stats(d, 0).popped, 3));
}

Test(mp, blocked_producer_wakes_hybrid) { check_producer_wakes(MQS_WAIT_HYBRID); }
Test(mp, blocked_producer_wakes_sleep) { check_producer_wakes(MQS_WAIT_SLEEP); }

/* variant 0: close the output; 1: request a stop. */
static int late_closer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_get(&a->to_child, MQST_PATIENCE) == 'G', 11);
    mqs_sleep_ns(WAKE_DELAY);
    a->shared[0] = mqs_now_ns();
    if (a->variant == 0)
        MQST_REQUIRE(mqs_output_close(d, 0) == 0, 12);
    else
        mqs_domain_request_stop(d);
    mqs_domain_detach(d);
    return 0;
}

static void check_consumer_released(mqs_wait_mode mode, int variant, int expected_rc)
{
    mqs_domain *d = producer_to_parent(mode, 4);
    child_args a;
    args_init(&a, d);
    a.variant = variant;
    pid_t pid = mqst_spawn(late_closer, &a);
    cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'G'), 0));
    mqs_buffer_id id;
    int rc = mqs_queue_receive(d, 0, &id, WAKE_TIMEOUT);
    int64_t t1 = mqs_now_ns();
    cr_assert(eq(int, rc, expected_rc), "got %s", mqs_strerror(rc));
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
    cr_assert(lt(i64, t1 - a.shared[0], MQST_SEC), "woke %lld ms late", (long long)((t1 - a.shared[0]) / MQST_MS));
}

Test(mp, close_wakes_a_sleeping_consumer) { check_consumer_released(MQS_WAIT_SLEEP, 0, -EPIPE); }
Test(mp, close_wakes_a_hybrid_consumer) { check_consumer_released(MQS_WAIT_HYBRID, 0, -EPIPE); }
Test(mp, stop_request_from_another_process_wakes_a_consumer)
{
    check_consumer_released(MQS_WAIT_SLEEP, 1, -ECANCELED);
}

/* ================= slots across processes ================= */

static int attach_and_hold(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, a->slot);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'A') == 0, 11);
    MQST_REQUIRE(mqst_pipe_get(&a->to_child, MQST_PATIENCE) == 'Q', 12);
    mqs_domain_detach(d);
    return 0;
}

static int attach_expect_ebusy(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = NULL;
    int rc = mqs_domain_attach(a->name, a->slot, &d);
    MQST_REQUIRE(rc == -EBUSY, 20);
    MQST_REQUIRE(mqs_last_error()[0] != '\0', 21);
    return 0;
}

Test(mp, a_slot_is_held_by_one_process_at_a_time)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    a.slot = 1;
    pid_t holder = mqst_spawn(attach_and_hold, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'A'));
    mqs_process_stats s = mqst_process_stats(d, 1);
    cr_assert(eq(int, s.state, MQS_PROCESS_ATTACHED));
    cr_assert(eq(u32, s.pid, (uint32_t)holder));
    cr_assert(eq(int, mqst_join(mqst_spawn(attach_expect_ebusy, &a), MQST_PATIENCE), 0));
    cr_assert(eq(int, mqs_reclaim(d, 1), -EBUSY), "slot 1's process is alive");

    cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'Q'), 0));
    cr_assert(eq(int, mqst_join(holder, MQST_PATIENCE), 0));
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_EXITED));
    /* Exited cleanly: the slot is free for the next process. */
    pid_t next = mqst_spawn(attach_and_hold, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'A'));
    cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'Q'), 0));
    cr_assert(eq(int, mqst_join(next, MQST_PATIENCE), 0));
}

/* ================= reclaim after SIGKILL ================= */

/* Consumer (slot 1): take RECV_HELD buffers, ref one of them once more, say
 * so, and wait to be killed. */
#define RECV_SENT 8
#define RECV_HELD 5

static int holding_consumer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    mqs_buffer_id ids[RECV_HELD];
    for (int i = 0; i < RECV_HELD; i++)
        MQST_REQUIRE(mqs_queue_receive(d, 0, &ids[i], MQST_PATIENCE) == 0, 11);
    MQST_REQUIRE(mqs_buffer_ref(d, ids[0]) == 0, 12);
    MQST_REQUIRE(mqs_held_count(d) == RECV_HELD + 1, 13);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'H') == 0, 14);
    for (;;)
        pause();
}

Test(mp, reclaim_after_sigkill_of_a_consumer_frees_the_pool)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqst_add_pool(&t, 0, 64, 16);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 1, 8, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    for (int i = 0; i < RECV_SENT; i++) {
        mqs_buffer_id id = alloc_retry(d, 0, 0);
        cr_assert(ne(u64, id, MQS_BUFFER_ID_NONE));
        cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 1));
    }
    child_args a;
    args_init(&a, d);
    pid_t pid = mqst_spawn(holding_consumer, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'H'), "the consumer did not get its buffers");
    cr_assert(eq(u32, mqst_process_stats(d, 1).held, RECV_HELD + 1));
    cr_assert(eq(int, mqs_reclaim(d, 1), -EBUSY), "the consumer is still alive");

    cr_assert(eq(int, mqst_kill(pid), MQST_SIGNALED(SIGKILL)));
    mqs_domain *again = NULL;
    cr_assert(eq(int, mqs_domain_attach(mqs_domain_name(d), 1, &again), -EBUSY),
              "a dead, unreclaimed slot must not be handed out");
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, RECV_SENT));

    int released = mqs_reclaim(d, 1);
    cr_assert(eq(int, released, RECV_HELD + 1), "the held references (%s)", mqs_last_error());
    cr_assert(eq(u32, mqs_queue_length(d, 0), RECV_SENT - RECV_HELD), "the queued entries wait for a restart");
    cr_assert(eq(int, mqs_process_disconnect(d, 1), RECV_SENT - RECV_HELD), "no restart: drained");
    mqs_pool_stats ps = mqst_pool_stats(d, 0);
    cr_assert(eq(u32, ps.in_use, 0), "the pool is not completely free");
    cr_assert(eq(u64, ps.rejected_ids, 0), "reclaim released something twice");
    cr_assert(eq(u32, mqs_queue_length(d, 0), 0));
    mqs_process_stats s = mqst_process_stats(d, 1);
    cr_assert(eq(int, s.state, MQS_PROCESS_FREE));
    cr_assert(eq(u32, s.held, 0));
    cr_assert(eq(u64, s.reclaimed, (uint64_t)released));
    cr_assert(eq(int, mqs_reclaim(d, 1), 0), "a second reclaim finds nothing");

    /* The slot can be taken by a restarted process. */
    a.slot = 1;
    pid = mqst_spawn(attach_and_hold, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'A'));
    cr_assert(eq(int, mqst_pipe_put(&a.to_child, 'Q'), 0));
    cr_assert(eq(int, mqst_join(pid, MQST_PATIENCE), 0));
}

/* Producer (slot 1, owns pool 0): send 3 buffers to the parent, hold 3 more
 * (one of them twice), say so, wait to be killed. */
static int holding_producer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    mqs_buffer_id held[3];
    for (uint64_t i = 0; i < 6; i++) {
        mqs_buffer_id id;
        MQST_REQUIRE(mqs_buffer_alloc(d, 0, &id) == 0, 11);
        mqs_buffer_meta_of(d, id)->seq = i;
        memset(mqs_buffer_data(d, id), (int)('a' + i), 64);
        if (i < 3)
            MQST_REQUIRE(mqs_output_send(d, 0, id, 0) == 1, 12);
        else
            held[i - 3] = id;
    }
    MQST_REQUIRE(mqs_buffer_ref(d, held[1]) == 0, 13);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'H') == 0, 14);
    for (;;)
        pause();
}

Test(mp, reclaim_after_sigkill_of_a_producer_keeps_what_it_sent)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqst_add_pool(&t, 1, 64, 8);
    mqst_add_output(&t, 1, 0);
    mqst_add_queue(&t, 0, 0, 8, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    child_args a;
    args_init(&a, d);
    pid_t pid = mqst_spawn(holding_producer, &a);
    cr_assert(eq(int, mqst_pipe_get(&a.to_parent, MQST_PATIENCE), 'H'));
    cr_assert(eq(int, mqst_kill(pid), MQST_SIGNALED(SIGKILL)));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 6));

    cr_assert(eq(int, mqs_reclaim(d, 1), 4), "3 held buffers, one of them twice");
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 3), "what the dead producer sent must stay valid");
    /* The consumer still gets every buffer the producer sent, intact. */
    for (uint64_t i = 0; i < 3; i++) {
        mqs_buffer_id id;
        cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), 0));
        cr_assert(eq(u64, mqs_buffer_meta_of(d, id)->seq, i));
        const uint8_t *p = mqs_buffer_data(d, id);
        for (int b = 0; b < 64; b++)
            cr_assert(eq(u8, p[b], (uint8_t)('a' + i)));
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    }
    mqs_pool_stats ps = mqst_pool_stats(d, 0);
    cr_assert(eq(u32, ps.in_use, 0), "the pool is not completely free");
    cr_assert(eq(u64, ps.rejected_ids, 0));
}

/* Consumer that writes into a payload it was lent (read-only for it). */
static int scribbling_consumer(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    mqs_buffer_id id;
    MQST_REQUIRE(mqs_queue_receive(d, 0, &id, MQST_PATIENCE) == 0, 11);
    volatile char *p = mqs_buffer_data(d, id);
    MQST_REQUIRE(p != NULL && p[0] == 'x', 12);
    /* Sanitizers catch SIGSEGV to print a report and exit(1); we want the
     * plain kernel verdict. */
    signal(SIGSEGV, SIG_DFL);
    p[0] = 'y';
    return 13; /* the write went through: the mapping is writable */
}

Test(mp, a_consumer_writing_a_lent_payload_gets_sigsegv)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 1, 2, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    mqs_buffer_id id = alloc_retry(d, 0, 0);
    cr_assert(ne(u64, id, MQS_BUFFER_ID_NONE));
    memset(mqs_buffer_data(d, id), 'x', 64);
    cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 1));
    child_args a;
    args_init(&a, d);
    cr_assert(eq(int, mqst_join(mqst_spawn(scribbling_consumer, &a), MQST_PATIENCE), MQST_SIGNALED(SIGSEGV)));
    cr_assert(eq(int, mqs_reclaim(d, 1), 1), "the crashed consumer held one reference");
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

/* ================= kills at random points ================= */

/* Slot 1 runs a busy loop over every operation: alloc, ref/unref, send to
 * the parent (drop_newest or drop_oldest, so it never waits), receive from
 * the parent and keep a window of up to 3 received buffers. The parent
 * kills it at a random time, reclaims, and checks that every slot came back
 * and none was freed while someone still held it. */
static int busy_worker(void *arg)
{
    child_args *a = arg;
    mqs_domain *d = mqst_child_attach(a->name, 1);
    MQST_REQUIRE(d != NULL, 10);
    MQST_REQUIRE(mqst_pipe_put(&a->to_parent, 'A') == 0, 11);
    mqs_buffer_id window[3] = {0, 0, 0};
    for (uint64_t seq = 0;; seq++) {
        mqs_buffer_id id;
        if (mqs_buffer_alloc(d, 0, &id) == 0) {
            mqs_buffer_meta_of(d, id)->seq = seq;
            *(uint64_t *)mqs_buffer_data(d, id) = seq;
            mqs_buffer_ref(d, id);
            mqs_buffer_unref(d, id);
            mqs_output_send(d, 0, id, 0);
        }
        if (mqs_queue_receive(d, 1, &id, 0) == 0) {
            if (window[seq % 3])
                mqs_buffer_unref(d, window[seq % 3]);
            window[seq % 3] = id;
        }
    }
}

static void parent_refill(mqs_domain *d)
{
    /* Keep the worker's input queue stocked from our own pool. */
    mqs_buffer_id id;
    while (mqs_queue_length(d, 1) < 8 && mqs_buffer_alloc(d, 1, &id) == 0)
        mqs_output_send(d, 1, id, 0);
}

static void drain_and_check(mqs_domain *d)
{
    mqs_buffer_id id;
    while (mqs_queue_receive(d, 0, &id, 0) == 0) {
        /* Nobody reused the slot: payload and metadata still agree. */
        cr_assert(eq(u64, *(const uint64_t *)mqs_buffer_data(d, id), mqs_buffer_meta_of(d, id)->seq));
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    }
}

#define KILL_ROUNDS 200

/* The fan-out queues 2 and 3 stay full until the end: every send drops on
 * both (drop_newest) or steals the same oldest buffer from both
 * (drop_oldest), the same buffer changing count on two queues of one send. */
static void drain_fanout(mqs_domain *d, int fanout)
{
    mqs_buffer_id id;
    for (int q = 2; q < 2 + fanout; q++)
        while (mqs_queue_receive(d, (uint32_t)q, &id, 0) == 0)
            cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
}

/* Returns how many buffers the worker allocated before it was killed. */
static uint64_t kill_once(child_args *a, unsigned *seed, int round, mqs_queue_policy policy, int fanout)
{
    mqst_topo t;
    mqst_topo_init(&t, "mp", 2);
    mqst_add_pool(&t, 1, 64, 16);
    mqst_add_pool(&t, 0, 64, 16);
    mqst_add_output(&t, 1, 0);
    mqst_add_output(&t, 0, 1);
    mqst_add_queue(&t, 0, 0, 8, policy);
    mqst_add_queue(&t, 1, 1, 8, MQS_POLICY_BLOCK);
    for (int k = 0; k < fanout; k++)
        mqst_add_queue(&t, 0, 0, 4, policy);
    mqs_domain *d = mqst_create(&t);
    snprintf(a->name, sizeof a->name, "%s", mqs_domain_name(d));
    parent_refill(d);
    pid_t pid = mqst_spawn(busy_worker, a);
    cr_assert(eq(int, mqst_pipe_get(&a->to_parent, MQST_PATIENCE), 'A'));
    int64_t until = mqs_now_ns() + (int64_t)(rand_r(seed) % 3000) * 1000;
    while (mqs_now_ns() < until) {
        parent_refill(d);
        drain_and_check(d);
    }
    cr_assert(eq(int, mqst_kill(pid), MQST_SIGNALED(SIGKILL)));
    int released = mqs_reclaim(d, 1);
    cr_assert(ge(int, released, 0), "round %d: reclaim: %s", round, mqs_strerror(released));
    drain_and_check(d);
    drain_fanout(d, fanout);
    /* What we queued for it waits for a restart that will not come. */
    cr_assert(ge(int, mqs_process_disconnect(d, 1), 0));
    uint32_t leaked = mqst_pool_stats(d, 0).in_use + mqst_pool_stats(d, 1).in_use;
    /* docs/memory-model.md: whatever instruction the kill hit, reclaim gives
     * back exactly what the worker held. */
    cr_assert(eq(u32, leaked, 0), "round %d: %u buffers leaked", round, leaked);
    cr_assert(eq(u64, mqst_pool_stats(d, 0).rejected_ids, 0), "round %d: a buffer was freed early", round);
    cr_assert(eq(u64, mqst_pool_stats(d, 1).rejected_ids, 0), "round %d: a buffer was freed early", round);
    uint64_t work = mqst_pool_stats(d, 0).allocs;
    mqst_release(d);
    return work;
}

static void kill_at_random_points(mqs_queue_policy policy, int fanout)
{
    /* MQST_SEED=<n> replays the kill times of a failed run. */
    const char *env = getenv("MQST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)getpid();
    cr_log_info("seed %u (set MQST_SEED to replay)", seed);
    mqst_topo t;
    mqst_topo_init(&t, "mp", 1);
    mqs_domain *first = mqst_create(&t);
    child_args a;
    args_init(&a, first); /* pipes and page shared by every round */
    mqst_release(first);
    uint64_t work = 0;
    for (int round = 0; round < KILL_ROUNDS; round++)
        work += kill_once(&a, &seed, round, policy, fanout);
    /* The kills must land in a busy worker, not before it started. */
    cr_assert(gt(u64, work, 100 * KILL_ROUNDS), "the worker hardly ran: %llu allocs", (unsigned long long)work);
}

Test(mp, kills_at_random_points_leak_nothing_drop_newest) { kill_at_random_points(MQS_POLICY_DROP_NEWEST, 0); }
Test(mp, kills_at_random_points_leak_nothing_drop_oldest) { kill_at_random_points(MQS_POLICY_DROP_OLDEST, 0); }

/* A send that drops, or steals, the same buffer on two queues in a row. */
Test(mp, kills_at_random_points_leak_nothing_fanout_drop_newest)
{
    kill_at_random_points(MQS_POLICY_DROP_NEWEST, 2);
}
Test(mp, kills_at_random_points_leak_nothing_fanout_drop_oldest)
{
    kill_at_random_points(MQS_POLICY_DROP_OLDEST, 2);
}
