/* mqs_reclaim in one process: its error paths, what is queued for a dead
 * consumer (kept for its restart, drained when it is disconnected). Reclaiming after a real SIGKILL is in
 * test_multiprocess.c. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>

#include "test_util.h"

TestSuite(reclaim, .fini = mqst_teardown, .timeout = 60);

/* Slot 0 owns pool 0 and output 0, which feeds queue 0 (consumed by slot 1)
 * and queue 1 (consumed by slot 0). Slot 2 consumes nothing. */
static mqs_domain *make(void)
{
    mqst_topo t;
    mqst_topo_init(&t, "reclaim", 3);
    mqst_add_pool(&t, 0, 64, 8);
    mqst_add_output(&t, 0, 0);
    mqst_add_queue(&t, 0, 1, 8, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, 0, 0, 8, MQS_POLICY_BLOCK);
    return mqst_create(&t);
}

static void send_one(mqs_domain *d)
{
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_buffer_alloc(d, 0, &id), 0));
    cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 2));
}

Test(reclaim, error_paths)
{
    mqs_domain *d = make();
    cr_assert(eq(int, mqs_reclaim(d, 3), -ERANGE));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    cr_assert(eq(int, mqs_reclaim(d, 0), -EINVAL), "reclaiming our own slot");
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    /* Slot 1 attached by a live process (us, through a second handle). */
    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 1);
    send_one(d);
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_queue_receive(peer, 0, &id, 0), 0));
    cr_assert(eq(int, mqs_reclaim(d, 1), -EBUSY));
    cr_assert(ne(str, (char *)mqs_last_error(), ""));
    cr_assert(eq(u32, mqs_held_count(peer), 1), "a refused reclaim must not touch the live process");
    cr_assert(eq(int, mqs_buffer_unref(peer, id), 0));
    cr_assert(eq(int, mqs_reclaim(peer, 1), -EINVAL));
}

Test(reclaim, keeps_what_is_queued_for_a_dead_slot_for_its_restart)
{
    mqs_domain *d = make();
    for (int i = 0; i < 3; i++)
        send_one(d);
    cr_assert(eq(int, mqs_reclaim(d, 1), 0), "slot 1 held nothing itself");
    cr_assert(eq(u32, mqs_queue_length(d, 0), 3), "its queue waits for the process restarted in its place");
    cr_assert(eq(int, mqst_process_stats(d, 1).state, MQS_PROCESS_FREE));
    mqs_domain *restarted = mqst_attach(mqs_domain_name(d), 1);
    for (int i = 0; i < 3; i++) {
        mqs_buffer_id id;
        cr_assert(eq(int, mqs_queue_receive(restarted, 0, &id, 0), 0));
        cr_assert(eq(int, mqs_buffer_unref(restarted, id), 0));
        cr_assert(eq(int, mqs_queue_receive(d, 1, &id, 0), 0));
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    }
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
    cr_assert(eq(u64, mqst_queue_stats(d, 0).drained, 0));
}

Test(reclaim, disconnecting_a_dead_consumer_drains_its_queues_and_makes_room)
{
    mqs_domain *d = make();
    for (int i = 0; i < 8; i++)
        send_one(d);
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_buffer_alloc(d, 0, &id), -EAGAIN), "pool of 8 is exhausted");
    /* Queue 1 is ours: empty it, so only dead slot 1's queue holds slots. */
    for (int i = 0; i < 8; i++) {
        cr_assert(eq(int, mqs_queue_receive(d, 1, &id, 0), 0));
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    }
    cr_assert(eq(int, mqs_reclaim(d, 1), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 8));
    cr_assert(eq(int, mqs_process_disconnect(d, 1), 8), "eight queued references released");
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
    cr_assert(eq(u32, mqs_queue_length(d, 0), 0));
    cr_assert(eq(u32, mqs_queue_length(d, 1), 0), "queues of other consumers are untouched");
    mqs_queue_stats q = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, q.pushed, 8));
    cr_assert(eq(u64, q.drained, 8));
    cr_assert(eq(u64, q.dropped, 0));
    /* From now on a send to the gone consumer drops at once, even with room in its ring. */
    cr_assert(eq(int, mqs_buffer_alloc(d, 0, &id), 0));
    cr_assert(eq(int, mqs_output_send(d, 0, id, 0), 1), "only our own queue took it");
    q = mqst_queue_stats(d, 0);
    cr_assert(eq(u64, q.pushed, 8));
    cr_assert(eq(u64, q.dropped, 1));
    cr_assert(eq(u32, q.length, 0));
    cr_assert(eq(int, mqs_queue_receive(d, 1, &id, 0), 0));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, 0).in_use, 0));
    cr_assert(eq(int, mqs_process_disconnect(d, 1), 0), "nothing left to release");
}

Test(reclaim, an_exited_slot_has_nothing_to_reclaim)
{
    mqs_domain *d = make();
    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 2);
    mqst_release(peer);
    cr_assert(eq(int, mqst_process_stats(d, 2).state, MQS_PROCESS_EXITED));
    cr_assert(eq(int, mqs_reclaim(d, 2), 0));
    cr_assert(eq(u64, mqst_process_stats(d, 2).reclaimed, 0));
    mqst_attach(mqs_domain_name(d), 2);
}
