/* Queues and ports in one process: raw push/pop, depth rounding, the three
 * full policies with exact counts, timeouts in every wait mode, end of
 * stream, stop requests, wait_any, and send/receive with reference counts,
 * fan-out and every error path. Multi-process behaviour is in
 * test_multiprocess.c. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <string.h>

#include "test_util.h"

TestSuite(queue, .fini = mqst_teardown, .timeout = 60);

/* Slot 0 owns pool 0 (`slots` slots) and output 0, which feeds one queue of
 * the given depth and policy consumed by slot 0 itself. Slot 1 exists but is
 * not attached. */
static mqs_domain *one_queue(uint32_t depth, mqs_queue_policy policy, mqs_wait_mode mode, uint32_t slots)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 2);
    t.cfg.wait_mode = mode;
    mqst_add_pool(&t, 0, 64, slots);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, depth, policy);
    return mqst_create(&t);
}

static mqs_buffer_id alloc_seq(mqs_domain *d, uint64_t seq)
{
    mqs_buffer_id id;
    int rc = mqs_buffer_alloc(d, 0, &id);
    cr_assert(eq(int, rc, 0), "alloc: %s", mqs_strerror(rc));
    mqs_buffer_meta_of(d, id)->seq = seq;
    *(uint64_t *)mqs_buffer_data(d, id) = seq;
    return id;
}

/* Receive one buffer (no waiting), check its seq, release it. */
static void receive_seq(mqs_domain *d, uint32_t queue, uint64_t seq)
{
    mqs_buffer_id id;
    int rc = mqs_queue_receive(d, queue, &id, 0);
    cr_assert(eq(int, rc, 0), "receive seq %llu: %s", (unsigned long long)seq, mqs_strerror(rc));
    cr_assert(eq(u64, mqs_buffer_meta_of(d, id)->seq, seq));
    cr_assert(eq(u64, *(const uint64_t *)mqs_buffer_data(d, id), seq));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
}

static void pop_expect(mqs_domain *d, uint32_t queue, uint64_t value)
{
    uint64_t got = 0;
    int rc = mqs_queue_pop(d, queue, &got, 0);
    cr_assert(eq(int, rc, 0), "pop (want %llu): %s", (unsigned long long)value, mqs_strerror(rc));
    cr_assert(eq(u64, got, value));
}

/* ---- raw level ---- */

Test(queue, push_many_fills_to_depth_then_pop_many_takes_in_order)
{
    mqs_domain *d = one_queue(8, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
    uint64_t in[12], out[12] = {0};
    for (uint64_t i = 0; i < 12; i++)
        in[i] = 100 + i;
    /* 12 into a ring of 8, not waiting: the first 8 go in, in order. */
    cr_assert(eq(int, mqs_queue_push_many(d, 0, in, 12, 0), 8));
    cr_assert(eq(int, mqs_queue_push_many(d, 0, in + 8, 4, 0), -EAGAIN), "full: nothing goes in");
    cr_assert(eq(u32, mqs_queue_length(d, 0), 8));
    cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 3, 0), 3));
    cr_assert(eq(u64, out[0], 100));
    cr_assert(eq(u64, out[2], 102));
    cr_assert(eq(int, mqs_queue_push_many(d, 0, in + 8, 4, 0), 3), "room for three");
    /* Up to max: the five left of the first batch and the three after. */
    cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 12, 0), 8));
    for (uint64_t i = 0; i < 8; i++)
        cr_assert(eq(u64, out[i], 103 + i));
    cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 12, 0), -EAGAIN));
    cr_assert(eq(int, mqs_queue_push_many(d, 0, in, 0, 0), 0), "nothing to push is not an error");
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, 11));
    cr_assert(eq(u64, s.popped, 11));
    cr_assert(eq(u64, s.high_water, 8));
    mqst_release(d);
}

Test(queue, batches_wrap_the_ring_at_every_offset)
{
    mqs_domain *d = one_queue(16, MQS_POLICY_BLOCK, MQS_WAIT_SPIN, 1);
    uint64_t next_push = 0, next_pop = 0, buf[16];
    for (int round = 0; round < 3000; round++) {
        uint32_t want = 1 + (uint32_t)round % 13;
        for (uint32_t i = 0; i < want; i++)
            buf[i] = next_push + i;
        int pushed = mqs_queue_push_many(d, 0, buf, want, 0);
        uint64_t room = 16 - (next_push - next_pop);
        cr_assert(eq(int, pushed, room == 0 ? -EAGAIN : (int)(want < room ? want : room)), "round %d", round);
        next_push += pushed > 0 ? (uint64_t)pushed : 0;
        int got = mqs_queue_pop_many(d, 0, buf, 1 + (uint32_t)round % 7, 0);
        cr_assert(gt(int, got, 0));
        for (int i = 0; i < got; i++)
            cr_assert(eq(u64, buf[i], next_pop++), "round %d", round);
    }
    mqst_release(d);
}

Test(queue, pop_many_reports_end_of_stream_after_the_last_entry)
{
    mqs_domain *d = one_queue(8, MQS_POLICY_BLOCK, MQS_WAIT_SLEEP, 1);
    uint64_t v[4] = {7, 8, 9, 10}, out[4];
    cr_assert(eq(int, mqs_queue_push_many(d, 0, v, 4, 0), 4));
    cr_assert(eq(int, mqs_output_close(d, 0), 0));
    cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 4, MQS_FOREVER), 4));
    cr_assert(eq(u64, out[3], 10));
    cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 4, MQS_FOREVER), -EPIPE));
    mqst_release(d);
}

Test(queue, push_many_meets_a_drop_policy_one_value_at_a_time)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_DROP_NEWEST, MQS_WAIT_HYBRID, 1);
    uint64_t v[6] = {1, 2, 3, 4, 5, 6}, out[6];
    cr_assert(eq(int, mqs_queue_push_many(d, 0, v, 6, 0), 6), "dropped values count as handled");
    cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 6, 0), 4));
    cr_assert(eq(u64, out[0], 1));
    cr_assert(eq(u64, out[3], 4));
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.dropped, 2));
    mqst_release(d);

    d = one_queue(4, MQS_POLICY_DROP_OLDEST, MQS_WAIT_HYBRID, 1);
    cr_assert(eq(int, mqs_queue_push_many(d, 0, v, 6, 0), 6));
    for (uint64_t want = 3; want <= 6; want++) {
        cr_assert(eq(int, mqs_queue_pop_many(d, 0, out, 6, 0), 1), "one entry per call");
        cr_assert(eq(u64, out[0], want));
    }
    cr_assert(eq(u64, mqst_queue_stats(d, 0).dropped, 2));
    mqst_release(d);
}

Test(queue, batch_calls_check_roles)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
    uint64_t v = 1;
    cr_assert(eq(int, mqs_queue_push_many(d, 5, &v, 1, 0), -ERANGE));
    cr_assert(eq(int, mqs_queue_pop_many(d, 5, &v, 1, 0), -ERANGE));
    mqst_release(d);
}

Test(queue, depth_is_rounded_up_to_a_power_of_two_and_holds_exactly_that)
{
    static const uint32_t asked[] = {1, 2, 3, 5, 8, 1000};
    static const uint32_t real[] = {2, 2, 4, 8, 8, 1024};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        mqs_domain *d = one_queue(asked[i], MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
        cr_assert(eq(u32, mqst_queue_stats(d, 0).depth, real[i]), "depth %u", asked[i]);
        for (uint64_t v = 0; v < real[i]; v++)
            cr_assert(eq(int, mqs_queue_push(d, 0, v * 3 + 1, 0), 0), "depth %u: push %llu", asked[i],
                      (unsigned long long)v);
        cr_assert(eq(int, mqs_queue_push(d, 0, 999, 0), -EAGAIN), "depth %u: push into a full queue", asked[i]);
        cr_assert(eq(u32, mqs_queue_length(d, 0), real[i]));
        for (uint64_t v = 0; v < real[i]; v++)
            pop_expect(d, 0, v * 3 + 1);
        uint64_t x;
        cr_assert(eq(int, mqs_queue_pop(d, 0, &x, 0), -EAGAIN));
        mqs_queue_stats s = mqst_queue_stats(d, 0);
        cr_assert(eq(u64, s.pushed, real[i]));
        cr_assert(eq(u64, s.popped, real[i]));
        cr_assert(eq(u64, s.dropped, 0));
        cr_assert(eq(u64, s.high_water, real[i]));
        cr_assert(eq(u32, s.length, 0));
        mqst_release(d);
    }
}

Test(queue, raw_values_keep_order_across_many_wraps)
{
    mqs_domain *d = one_queue(8, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
    uint64_t next_push = 0, next_pop = 0;
    /* Uneven bursts and partial drains, so head and tail wrap at every
     * offset and the ring is often exactly full. */
    for (int round = 0; round < 5000; round++) {
        uint64_t burst = 1 + (uint64_t)round % 5;
        while (next_push - next_pop + burst > 8)
            pop_expect(d, 0, UINT64_MAX - next_pop++);
        for (uint64_t i = 0; i < burst; i++)
            cr_assert(eq(int, mqs_queue_push(d, 0, UINT64_MAX - next_push++, 0), 0));
        cr_assert(eq(u32, mqs_queue_length(d, 0), (uint32_t)(next_push - next_pop)));
        uint64_t take = (uint64_t)round * 7 % (next_push - next_pop + 1);
        for (uint64_t i = 0; i < take; i++)
            pop_expect(d, 0, UINT64_MAX - next_pop++);
    }
    while (next_pop < next_push)
        pop_expect(d, 0, UINT64_MAX - next_pop++);
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, next_push));
    cr_assert(eq(u64, s.popped, next_pop));
    cr_assert(eq(u64, s.high_water, 8));
}

Test(queue, raw_zero_and_all_ones_are_ordinary_values)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
    cr_assert(eq(int, mqs_queue_push(d, 0, 0, 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, UINT64_MAX, 0), 0));
    pop_expect(d, 0, 0);
    pop_expect(d, 0, UINT64_MAX);
}

Test(queue, raw_errors)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 2);
    mqst_add_pool(&t, 1, 64, 1);
    mqst_add_output(&t, 1, 0); /* produced by slot 1 */
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 1, 4, MQS_POLICY_BLOCK); /* consumed by slot 1 */
    mqs_domain *d = mqst_create(&t);
    uint64_t v;
    cr_assert(eq(int, mqs_queue_push(d, 0, 1, 0), -EPERM), "slot 0 does not produce queue 0");
    cr_assert(eq(int, mqs_queue_pop(d, 1, &v, 0), -EPERM), "slot 0 does not consume queue 1");
    cr_assert(eq(int, mqs_queue_push(d, 2, 1, 0), -ERANGE));
    cr_assert(eq(int, mqs_queue_pop(d, 2, &v, 0), -ERANGE));
    mqs_queue_stats s;
    cr_assert(eq(int, mqs_queue_stats_get(d, 2, &s), -ERANGE));
    cr_assert(eq(u32, mqs_queue_length(d, 2), 0));
    cr_assert(eq(int, mqs_queue_is_closed(d, 2), 0));
    cr_assert(eq(u64, mqst_queue_stats(d, 0).pushed, 0));

    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqs_queue_push(peer, 0, 5, 0), 0));
    cr_assert(eq(int, mqs_queue_pop(peer, 0, &v, 0), -EPERM));
    pop_expect(d, 0, 5);
}

/* ---- full policies, raw level (deterministic in one process) ---- */

Test(queue, drop_newest_keeps_the_first_values)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_DROP_NEWEST, MQS_WAIT_HYBRID, 1);
    for (uint64_t v = 1; v <= 10; v++)
        cr_assert(eq(int, mqs_queue_push(d, 0, v, MQS_FOREVER), 0), "a dropped push still returns 0");
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, 4));
    cr_assert(eq(u64, s.dropped, 6));
    cr_assert(eq(u32, s.length, 4));
    for (uint64_t v = 1; v <= 4; v++)
        pop_expect(d, 0, v);
    /* After draining, the next four go in again. */
    for (uint64_t v = 11; v <= 16; v++)
        cr_assert(eq(int, mqs_queue_push(d, 0, v, 0), 0));
    for (uint64_t v = 11; v <= 14; v++)
        pop_expect(d, 0, v);
    uint64_t x;
    cr_assert(eq(int, mqs_queue_pop(d, 0, &x, 0), -EAGAIN));
    s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, 8));
    cr_assert(eq(u64, s.popped, 8));
    cr_assert(eq(u64, s.dropped, 8));
    cr_assert(eq(u64, s.high_water, 4));
}

Test(queue, drop_oldest_keeps_the_last_values)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_DROP_OLDEST, MQS_WAIT_HYBRID, 1);
    for (uint64_t v = 1; v <= 10; v++)
        cr_assert(eq(int, mqs_queue_push(d, 0, v, MQS_FOREVER), 0));
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.pushed, 10), "every value entered the ring");
    cr_assert(eq(u64, s.dropped, 6));
    cr_assert(eq(u32, s.length, 4));
    cr_assert(eq(u64, s.popped, 0), "drops are not pops");
    for (uint64_t v = 7; v <= 10; v++)
        pop_expect(d, 0, v);
}

Test(queue, drop_oldest_interleaved_schedule)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_DROP_OLDEST, MQS_WAIT_HYBRID, 1);
    for (uint64_t v = 1; v <= 6; v++) /* drops 1, 2 */
        cr_assert(eq(int, mqs_queue_push(d, 0, v, 0), 0));
    pop_expect(d, 0, 3);
    for (uint64_t v = 7; v <= 8; v++) /* 7 fits, 8 drops 4 */
        cr_assert(eq(int, mqs_queue_push(d, 0, v, 0), 0));
    for (uint64_t v = 5; v <= 8; v++)
        pop_expect(d, 0, v);
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.dropped, 3));
    cr_assert(eq(u64, s.pushed, 8));
    cr_assert(eq(u64, s.popped, 5));
}

Test(queue, block_policy_never_drops)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
    for (uint64_t v = 1; v <= 4; v++)
        cr_assert(eq(int, mqs_queue_push(d, 0, v, 0), 0));
    for (int i = 0; i < 3; i++)
        cr_assert(eq(int, mqs_queue_push(d, 0, 100 + i, 0), -EAGAIN));
    cr_assert(eq(int, mqs_queue_push(d, 0, 200, 5 * MQST_MS), -ETIMEDOUT));
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.dropped, 0), "a refused raw push is not a drop");
    cr_assert(eq(u64, s.pushed, 4));
    for (uint64_t v = 1; v <= 4; v++)
        pop_expect(d, 0, v);
}

/* ---- timeouts in every wait mode ---- */

static void check_elapsed(int64_t t0, int64_t timeout, const char *what)
{
    int64_t waited = mqs_now_ns() - t0;
    cr_assert(ge(i64, waited, timeout), "%s returned after %lld ns, before its %lld ns timeout", what,
              (long long)waited, (long long)timeout);
    cr_assert(lt(i64, waited, timeout + 2 * MQST_SEC), "%s returned %lld ns late", what,
              (long long)(waited - timeout));
}

static void check_timeouts(mqs_wait_mode mode)
{
    mqs_domain *d = one_queue(2, MQS_POLICY_BLOCK, mode, 2);
    const int64_t timeout = 40 * MQST_MS;
    uint64_t v;
    int64_t t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_queue_pop(d, 0, &v, timeout), -ETIMEDOUT));
    check_elapsed(t0, timeout, "pop");

    mqs_buffer_id id;
    t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, timeout), -ETIMEDOUT));
    check_elapsed(t0, timeout, "receive");

    uint32_t q = 0;
    t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_wait_any(d, &q, 1, timeout), -ETIMEDOUT));
    check_elapsed(t0, timeout, "wait_any");

    cr_assert(eq(int, mqs_queue_push(d, 0, 1, 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, 2, 0), 0));
    t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_queue_push(d, 0, 3, timeout), -ETIMEDOUT));
    check_elapsed(t0, timeout, "push");
    pop_expect(d, 0, 1);
    pop_expect(d, 0, 2);
}

Test(queue, timeouts_hybrid) { check_timeouts(MQS_WAIT_HYBRID); }
Test(queue, timeouts_sleep) { check_timeouts(MQS_WAIT_SLEEP); }
Test(queue, timeouts_spin) { check_timeouts(MQS_WAIT_SPIN); }

Test(queue, send_to_a_full_block_queue_times_out_and_counts_a_drop)
{
    mqs_domain *d = one_queue(2, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 8);
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 0), 0), 1));
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 1), 0), 1));
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 2), 0), -ETIMEDOUT), "full block queue, timeout 0");
    cr_assert(eq(u64, mqst_queue_stats(d, 0).dropped, 1));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 2), "a failed send must consume the reference");
    cr_assert(eq(u32, mqs_held_count(d), 0));

    const int64_t timeout = 40 * MQST_MS;
    int64_t t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 3), timeout), -ETIMEDOUT));
    check_elapsed(t0, timeout, "send");
    mqs_queue_stats s = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, s.dropped, 2));
    cr_assert(eq(u64, s.pushed, 2));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 2));
    receive_seq(d, 0, 0);
    receive_seq(d, 0, 1);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

/* ---- end of stream ---- */

Test(queue, close_drains_then_gives_epipe_and_reopen_undoes_it)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 1);
    for (uint64_t v = 1; v <= 3; v++)
        cr_assert(eq(int, mqs_queue_push(d, 0, v, 0), 0));
    cr_assert(eq(int, mqs_queue_is_closed(d, 0), 0));
    cr_assert(eq(int, mqs_output_close(d, 0), 0));
    cr_assert(ne(int, mqs_queue_is_closed(d, 0), 0));
    for (uint64_t v = 1; v <= 3; v++)
        pop_expect(d, 0, v);
    uint64_t x;
    cr_assert(eq(int, mqs_queue_pop(d, 0, &x, 0), -EPIPE));
    int64_t t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_queue_pop(d, 0, &x, 5 * MQST_SEC), -EPIPE), "a closed queue must not make us wait");
    cr_assert(lt(i64, mqs_now_ns() - t0, MQST_SEC));
    uint32_t q = 0;
    cr_assert(eq(int, mqs_wait_any(d, &q, 1, 0), 0), "a closed queue is ready for wait_any");

    cr_assert(eq(int, mqs_output_reopen(d, 0), 0));
    cr_assert(eq(int, mqs_queue_is_closed(d, 0), 0));
    cr_assert(eq(int, mqs_queue_pop(d, 0, &x, 0), -EAGAIN));
    cr_assert(eq(int, mqs_queue_push(d, 0, 9, 0), 0));
    pop_expect(d, 0, 9);
}

Test(queue, receive_after_close_gives_every_buffer_then_epipe)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 4);
    for (uint64_t s = 0; s < 3; s++)
        cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, s), 0), 1));
    cr_assert(eq(int, mqs_output_close(d, 0), 0));
    for (uint64_t s = 0; s < 3; s++)
        receive_seq(d, 0, s);
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), -EPIPE));
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, MQST_SEC), -EPIPE));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, close_and_reopen_permissions)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 3);
    mqst_add_pool(&t, 1, 64, 1);
    mqst_add_output(&t, 1, 0); /* owned by slot 1 */
    mqst_add_queue(&t, 0, 2, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    mqs_domain *owner = mqst_attach(mqs_domain_name(d), 1);
    mqs_domain *other = mqst_attach(mqs_domain_name(d), 2);
    cr_assert(eq(int, mqs_output_close(other, 0), -EPERM), "slot 2 neither owns output 0 nor launches");
    cr_assert(eq(int, mqs_queue_is_closed(d, 0), 0));
    cr_assert(eq(int, mqs_output_close(d, 1), -ERANGE));
    cr_assert(eq(int, mqs_output_reopen(d, 1), -ERANGE));

    cr_assert(eq(int, mqs_output_close(owner, 0), 0));
    cr_assert(eq(int, mqs_output_reopen(owner, 0), -EPERM), "reopen is for the launcher (slot 0) only");
    cr_assert(ne(int, mqs_queue_is_closed(other, 0), 0));
    cr_assert(eq(int, mqs_output_reopen(d, 0), 0));
    cr_assert(eq(int, mqs_queue_is_closed(other, 0), 0));
    cr_assert(eq(int, mqs_output_close(d, 0), 0), "the launcher may close a producer's output");
    cr_assert(ne(int, mqs_queue_is_closed(other, 0), 0));
}

/* ---- stop ---- */

Test(queue, stop_request_cancels_every_wait)
{
    mqs_domain *d = one_queue(2, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 4);
    mqs_domain_request_stop(d);
    uint64_t v;
    mqs_buffer_id id;
    uint32_t q = 0;
    int64_t t0 = mqs_now_ns();
    cr_assert(eq(int, mqs_queue_pop(d, 0, &v, 5 * MQST_SEC), -ECANCELED));
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 5 * MQST_SEC), -ECANCELED));
    cr_assert(eq(int, mqs_wait_any(d, &q, 1, 5 * MQST_SEC), -ECANCELED));
    cr_assert(eq(int, mqs_queue_push(d, 0, 1, 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, 2, 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, 3, 5 * MQST_SEC), -ECANCELED));
    cr_assert(lt(i64, mqs_now_ns() - t0, 2 * MQST_SEC), "the waits did not notice the stop");
    /* Data already queued is still delivered. */
    pop_expect(d, 0, 1);
}

/* ---- wait_any ---- */

Test(queue, wait_any_reports_the_ready_queue_without_taking_it)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 2);
    mqst_add_pool(&t, 0, 64, 1);
    mqst_add_output(&t, 0, 0);
    mqst_add_output(&t, 0, 0);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 1, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 2, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 1, 4, MQS_POLICY_BLOCK); /* consumed by slot 1 */
    mqs_domain *d = mqst_create(&t);
    uint32_t qs[] = {2, 0, 1};
    cr_assert(eq(int, mqs_wait_any(d, qs, 3, 0), -ETIMEDOUT));
    cr_assert(eq(int, mqs_queue_push(d, 1, 11, 0), 0));
    cr_assert(eq(int, mqs_wait_any(d, qs, 3, 0), 2), "queue 1 is at index 2 of the set");
    cr_assert(eq(int, mqs_wait_any(d, qs, 3, MQST_SEC), 2));
    cr_assert(eq(u32, mqs_queue_length(d, 1), 1), "wait_any must not take the entry");
    pop_expect(d, 1, 11);
    cr_assert(eq(int, mqs_wait_any(d, qs, 3, 0), -ETIMEDOUT));
    cr_assert(eq(int, mqs_output_close(d, 2), 0));
    cr_assert(eq(int, mqs_wait_any(d, qs, 3, 0), 0), "closed queue 2 is at index 0");

    uint32_t foreign[] = {0, 3};
    cr_assert(lt(int, mqs_wait_any(d, foreign, 2, 0), 0), "queue 3 is consumed by slot 1");
    uint32_t missing[] = {0, 4};
    cr_assert(lt(int, mqs_wait_any(d, missing, 2, 0), 0), "queue 4 does not exist");
    cr_assert(lt(int, mqs_wait_any(d, qs, 0, 0), 0), "empty set");
    cr_assert(lt(int, mqs_wait_any(d, NULL, 1, 0), 0), "NULL set");
    uint32_t many[65];
    for (int i = 0; i < 65; i++)
        many[i] = (uint32_t)(i % 3);
    cr_assert(lt(int, mqs_wait_any(d, many, 65, 0), 0), "at most 64 queues");
    cr_assert(eq(int, mqs_wait_any(d, many, 64, 0), 2), "64 queues are allowed; queue 2 (closed) first at index 2");
}

/* ---- send / receive ---- */

Test(queue, send_fans_out_one_reference_per_queue)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 1);
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_output(&t, 0, 0);
    for (int i = 0; i < 3; i++)
        mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    mqs_buffer_id id = alloc_seq(d, 5);
    cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 3));
    cr_assert(eq(u32, mqs_held_count(d), 0), "send consumed our reference");
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 1));
    mqs_buffer_id got[3];
    for (uint32_t q = 0; q < 3; q++) {
        cr_assert(eq(int, mqs_queue_receive(d, q, &got[q], 0), 0));
        cr_assert(eq(u64, got[q], id), "fan-out is zero-copy: the same buffer");
        cr_assert(eq(u32, mqs_held_count(d), q + 1));
    }
    for (uint32_t q = 0; q < 3; q++) {
        cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 1), "freed while %u references remain", 3 - q);
        cr_assert(eq(int, mqs_buffer_unref(d, got[q]), 0));
    }
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
    cr_assert(eq(int, mqs_buffer_unref(d, id), -ESTALE));
}

Test(queue, passthrough_ref_then_send_keeps_the_buffer_alive)
{
    /* A filter forwards an input buffer unchanged: ref it, send it on. */
    mqst_topo t;
    mqst_topo_init(&t, "queue", 1);
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_output(&t, 0, 0);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 1, 0, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 9), 0), 1));
    mqs_buffer_id in;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &in, 0), 0));
    cr_assert(eq(int, mqs_buffer_ref(d, in), 0));
    cr_assert(eq(int, mqs_output_send(d, 1, in, 0), 1));
    cr_assert(eq(int, mqs_buffer_unref(d, in), 0)); /* done with the input */
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 1));
    receive_seq(d, 1, 9);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, send_to_an_output_without_queues_just_releases)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 1);
    mqst_add_pool(&t, 0, 64, 1);
    mqst_add_output(&t, 0, 0);
    mqs_domain *d = mqst_create(&t);
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 0), 0), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));
}

Test(queue, send_errors_still_consume_the_reference)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 2);
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_output(&t, 0, 0);
    mqst_add_output(&t, 1, 0); /* owned by slot 1 */
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 1, 0, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);

    cr_assert(eq(int, mqs_output_send(d, 2, alloc_seq(d, 0), 0), -ERANGE));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0), "-ERANGE leaked the buffer");
    cr_assert(eq(int, mqs_output_send(d, 1, alloc_seq(d, 0), 0), -EPERM));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0), "-EPERM leaked the buffer");
    cr_assert(eq(u32, mqs_queue_length(d, 1), 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));

    /* A live buffer we hold no reference to (it sits in queue 0). */
    mqs_buffer_id id = alloc_seq(d, 1);
    cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 1));
    cr_assert(eq(int, mqs_output_send(d, 0, id, 0), -EPERM), "sending a reference we do not hold");
    cr_assert(eq(u32, mqs_queue_length(d, 0), 1));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 1));
    receive_seq(d, 0, 1);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, send_drop_newest_exact_counts)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_DROP_NEWEST, MQS_WAIT_HYBRID, 16);
    for (uint64_t s = 0; s < 10; s++)
        cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, s), MQS_FOREVER), s < 4 ? 1 : 0), "send %llu",
                  (unsigned long long)s);
    mqs_queue_stats st = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, st.dropped, 6));
    cr_assert(eq(u64, st.pushed, 4));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 4), "dropped buffers must be released");
    for (uint64_t s = 0; s < 4; s++)
        receive_seq(d, 0, s);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, send_drop_oldest_exact_counts)
{
    mqs_domain *d = one_queue(4, MQS_POLICY_DROP_OLDEST, MQS_WAIT_HYBRID, 16);
    for (uint64_t s = 0; s < 10; s++)
        cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, s), MQS_FOREVER), 1), "send %llu", (unsigned long long)s);
    mqs_queue_stats st = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, st.dropped, 6));
    cr_assert(eq(u64, st.pushed, 10));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 4), "pushed-out buffers must be released");
    for (uint64_t s = 6; s < 10; s++)
        receive_seq(d, 0, s);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, send_fan_out_applies_each_queue_policy)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 1);
    mqst_add_pool(&t, 0, 64, 8);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 0, 2, MQS_POLICY_DROP_NEWEST);
    mqst_add_queue(&t, 0, 0, 2, MQS_POLICY_DROP_OLDEST);
    mqs_domain *d = mqst_create(&t);
    static const int expect[] = {3, 3, 2, 2};
    for (uint64_t s = 0; s < 4; s++)
        cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, s), 0), expect[s]), "send %llu", (unsigned long long)s);
    cr_assert(eq(u64, mqst_queue_stats(d, 0).dropped, 0));
    cr_assert(eq(u64, mqst_queue_stats(d, 1).dropped, 2));
    cr_assert(eq(u64, mqst_queue_stats(d, 2).dropped, 2));
    /* Queue 0 has 0..3, queue 1 has 0..1 (newest dropped), queue 2 has 2..3. */
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 4));
    for (uint64_t s = 0; s < 4; s++)
        receive_seq(d, 0, s);
    receive_seq(d, 1, 0);
    receive_seq(d, 1, 1);
    receive_seq(d, 2, 2);
    receive_seq(d, 2, 3);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, send_timeout_on_one_queue_still_delivers_to_the_others)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 1);
    mqst_add_pool(&t, 0, 64, 8);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, 2, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 0), 0), 2));
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 1), 0), 2));
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 2), 0), -ETIMEDOUT));
    cr_assert(eq(u64, mqst_queue_stats(d, 0).dropped, 1));
    cr_assert(eq(u64, mqst_queue_stats(d, 1).dropped, 0));
    cr_assert(eq(u32, mqs_queue_length(d, 1), 3), "the queue with room got buffer 2");
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 3));
    for (uint64_t s = 0; s < 2; s++)
        receive_seq(d, 0, s);
    for (uint64_t s = 0; s < 3; s++)
        receive_seq(d, 1, s);
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, receive_errors)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 2);
    mqst_add_pool(&t, 0, 64, 2);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, 4, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 1, 4, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    mqs_buffer_id id = 77;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), -EAGAIN));
    cr_assert(eq(int, mqs_queue_receive(d, 1, &id, 0), -EPERM));
    cr_assert(eq(int, mqs_queue_receive(d, 2, &id, 0), -ERANGE));
    cr_assert(eq(u64, id, 77), "a failed receive must not write out");
    cr_assert(eq(u32, mqs_held_count(d), 0));
}

Test(queue, receive_with_a_full_held_table_is_enospc_and_keeps_the_entry)
{
    mqst_topo t;
    mqst_topo_init(&t, "queue", 1);
    t.cfg.held_capacity = 8;
    mqst_add_pool(&t, 0, 64, 32);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 0, 16, MQS_POLICY_BLOCK);
    mqs_domain *d = mqst_create(&t);
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 100), 0), 1));
    /* Fill the table with other buffers. */
    mqs_buffer_id held[32];
    int n = 0, rc;
    while ((rc = mqs_buffer_alloc(d, 0, &held[n])) == 0)
        n++;
    cr_assert(eq(int, rc, -ENOSPC));
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), -ENOSPC));
    cr_assert(eq(u32, mqs_queue_length(d, 0), 1), "the entry must stay queued");
    cr_assert(eq(int, mqs_buffer_unref(d, held[--n]), 0));
    receive_seq(d, 0, 100);
    while (n > 0)
        cr_assert(eq(int, mqs_buffer_unref(d, held[--n]), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

/* The header promises a corrupt ID found in a queue is counted and skipped.
 * The only way to plant one is the raw level, which the header otherwise
 * says not to mix with send/receive on one queue. */
Test(queue, receive_skips_and_counts_corrupt_ids)
{
    mqs_domain *d = one_queue(8, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 4);
    mqs_buffer_id stale = alloc_seq(d, 0);
    cr_assert(eq(int, mqs_buffer_unref(d, stale), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, stale, 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, mqs_buffer_id_make(0, 999, 1), 0), 0));
    cr_assert(eq(int, mqs_queue_push(d, 0, MQS_BUFFER_ID_NONE, 0), 0));
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 42), 0), 1));
    uint64_t before = mqst_pool_stats(d, 0).rejected_ids;
    receive_seq(d, 0, 42);
    cr_assert(eq(u64, mqst_pool_stats(d, 0).rejected_ids - before, 3), "stale, bad slot and 0: all pool 0");
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_queue_receive(d, 0, &id, 0), -EAGAIN));
    cr_assert(eq(u32, mqs_held_count(d), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
}

Test(queue, stats_track_length_and_high_water)
{
    mqs_domain *d = one_queue(8, MQS_POLICY_BLOCK, MQS_WAIT_HYBRID, 8);
    for (uint64_t s = 0; s < 5; s++)
        cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, s), 0), 1));
    for (uint64_t s = 0; s < 3; s++)
        receive_seq(d, 0, s);
    cr_assert(eq(int, mqs_output_send(d, 0, alloc_seq(d, 5), 0), 1));
    mqs_queue_stats st = mqst_queue_stats(d, 0);
    cr_assert(eq(u32, st.depth, 8));
    cr_assert(eq(u32, st.length, 3));
    cr_assert(eq(u32, mqs_queue_length(d, 0), 3));
    cr_assert(eq(u64, st.pushed, 6));
    cr_assert(eq(u64, st.popped, 3));
    cr_assert(eq(u64, st.dropped, 0));
    cr_assert(eq(u64, st.high_water, 5));
    cr_assert(lt(int, mqs_queue_stats_get(d, 0, NULL), 0));
}
