/* Pools and reference-counted buffers: alloc, ref, unref, data, metadata,
 * pool statistics, the held-reference table, and the rejection of stale,
 * forged and impossible buffer IDs. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

TestSuite(buffer, .fini = mqst_teardown, .timeout = 60);

enum { POOL = 0, OTHER_POOL = 1, OUT = 0, SELF_Q = 0, PEER_Q = 1 };

/* Slot 0 owns pool 0 (`slots` slots of 100 bytes) and output 0, which feeds
 * queue 0 (consumed by slot 0 itself) and queue 1 (consumed by slot 1).
 * Slot 1 owns pool 1 (2 slots). */
static mqs_domain *make(uint32_t slots, uint32_t held_capacity)
{
    mqst_topo t;
    mqst_topo_init(&t, "buffer", 2);
    t.cfg.held_capacity = held_capacity;
    mqst_add_pool(&t, 0, 100, slots);
    mqst_add_pool(&t, 1, 64, 2);
    mqst_add_output(&t, 0, POOL);
    mqst_add_queue(&t, OUT, 0, 16, MQS_POLICY_BLOCK);
    mqst_add_queue(&t, OUT, 1, 16, MQS_POLICY_BLOCK);
    return mqst_create(&t);
}

static mqs_buffer_id alloc_ok(mqs_domain *d, uint32_t pool)
{
    mqs_buffer_id id = MQS_BUFFER_ID_NONE;
    int rc = mqs_buffer_alloc(d, pool, &id);
    cr_assert(eq(int, rc, 0), "alloc from pool %u: %s", pool, mqs_strerror(rc));
    return id;
}

static uint64_t rejected(const mqs_domain *d, uint32_t pool)
{
    return mqst_pool_stats(d, pool).rejected_ids;
}

/* ---- alloc ---- */

Test(buffer, alloc_gives_one_reference_to_a_valid_id)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id id = alloc_ok(d, POOL);
    cr_assert(ne(u64, id, MQS_BUFFER_ID_NONE));
    cr_assert(eq(u32, mqs_buffer_id_pool(id), POOL));
    cr_assert(lt(u32, mqs_buffer_id_slot(id), 4));
    cr_assert(ge(u32, mqs_buffer_id_generation(id), 1));
    cr_assert(eq(u32, mqs_held_count(d), 1));
    cr_assert(eq(u32, mqst_process_stats(d, 0).held, 1));
    mqs_pool_stats s = mqst_pool_stats(d, POOL);
    cr_assert(eq(u32, s.slot_count, 4));
    cr_assert(eq(u32, s.in_use, 1));
    cr_assert(eq(u64, s.allocs, 1));
    cr_assert(eq(u64, s.alloc_failures, 0));
    cr_assert(eq(u64, s.rejected_ids, 0));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));
}

Test(buffer, id_helpers_pack_and_unpack)
{
    mqs_buffer_id id = mqs_buffer_id_make(0xbeef, 0x1234, 0xdeadbeef);
    cr_assert(eq(u32, mqs_buffer_id_pool(id), 0xbeef));
    cr_assert(eq(u32, mqs_buffer_id_slot(id), 0x1234));
    cr_assert(eq(u32, mqs_buffer_id_generation(id), 0xdeadbeef));
    cr_assert(eq(u64, mqs_buffer_id_make(0, 0, 0), MQS_BUFFER_ID_NONE));
}

/* Metadata must be zeroed on alloc even when the slot's previous user
 * scribbled over all of it. */
Test(buffer, alloc_zeroes_metadata_of_reused_slots)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = alloc_ok(d, POOL);
        mqs_buffer_meta *m = mqs_buffer_meta_of(d, ids[i]);
        cr_assert(ne(ptr, m, NULL));
        memset(m, 0xa5, sizeof *m);
    }
    for (int i = 0; i < 4; i++)
        cr_assert(eq(int, mqs_buffer_unref(d, ids[i]), 0));
    for (int i = 0; i < 4; i++) {
        mqs_buffer_id id = alloc_ok(d, POOL);
        mqs_buffer_meta *m = mqs_buffer_meta_of(d, id);
        cr_assert(ne(ptr, m, NULL));
        cr_assert(eq(u64, m->length, 0));
        cr_assert(eq(i64, m->pts, 0));
        cr_assert(eq(i64, m->duration, 0));
        cr_assert(eq(u64, m->seq, 0));
        cr_assert(eq(u32, m->flags, 0));
        cr_assert(eq(u32, m->header_type, 0));
        cr_assert(eq(u32, m->reserved, 0));
        static const uint8_t zero[32];
        cr_assert(eq(int, memcmp(m->header.raw, zero, sizeof zero), 0), "typed header not zeroed");
    }
}

Test(buffer, exhausted_pool_gives_eagain_until_a_slot_is_freed)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = alloc_ok(d, POOL);
        for (int j = 0; j < i; j++)
            cr_assert(ne(u32, mqs_buffer_id_slot(ids[i]), mqs_buffer_id_slot(ids[j])), "slot handed out twice");
    }
    mqs_buffer_id extra = 42;
    cr_assert(eq(int, mqs_buffer_alloc(d, POOL, &extra), -EAGAIN));
    cr_assert(eq(int, mqs_buffer_alloc(d, POOL, &extra), -EAGAIN));
    mqs_pool_stats s = mqst_pool_stats(d, POOL);
    cr_assert(eq(u32, s.in_use, 4));
    cr_assert(eq(u64, s.allocs, 4));
    cr_assert(eq(u64, s.alloc_failures, 2));
    cr_assert(eq(u32, mqs_held_count(d), 4));

    /* Freeing one makes exactly that slot available again, with a new ID. */
    cr_assert(eq(int, mqs_buffer_unref(d, ids[2]), 0));
    mqs_buffer_id again = alloc_ok(d, POOL);
    cr_assert(eq(u32, mqs_buffer_id_slot(again), mqs_buffer_id_slot(ids[2])));
    cr_assert(ne(u64, again, ids[2]), "a reused slot must get a new generation");
    cr_assert(eq(int, mqs_buffer_alloc(d, POOL, &extra), -EAGAIN));
    cr_assert(eq(u64, mqst_pool_stats(d, POOL).allocs, 5));
}

Test(buffer, alloc_errors)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id id;
    cr_assert(eq(int, mqs_buffer_alloc(d, 2, &id), -ERANGE), "no such pool");
    cr_assert(eq(int, mqs_buffer_alloc(d, UINT32_MAX, &id), -ERANGE));
    cr_assert(eq(int, mqs_buffer_alloc(d, OTHER_POOL, &id), -EPERM), "pool 1 is owned by slot 1");
    cr_assert(eq(u64, mqst_pool_stats(d, OTHER_POOL).allocs, 0));
    cr_assert(eq(u32, mqst_pool_stats(d, OTHER_POOL).in_use, 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));
    /* The owner of pool 1 may allocate from it. */
    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqs_buffer_alloc(peer, OTHER_POOL, &id), 0));
    cr_assert(eq(int, mqs_buffer_alloc(peer, POOL, &id), -EPERM));
}

/* held_capacity is "references one process may hold at once". */
Test(buffer, held_table_holds_exactly_held_capacity_references)
{
    mqs_domain *d = make(64, 8);
    mqs_buffer_id id;
    int n = 0;
    while (n < 64 && mqs_buffer_alloc(d, POOL, &id) == 0)
        n++;
    cr_assert(eq(int, n, 8), "allocated %d buffers with held_capacity 8", n);
    cr_assert(eq(int, mqs_buffer_alloc(d, POOL, &id), -ENOSPC));
    cr_assert(eq(u32, mqs_held_count(d), 8));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 8), "a refused alloc must not take a slot");
}

/* held_capacity counts references (mqs_held_count), and buffer.h lists
 * -ENOSPC for mqs_buffer_ref: a ref beyond the capacity must be refused
 * even when it names a buffer already held. */
Test(buffer, ref_beyond_held_capacity_is_enospc)
{
    mqs_domain *d = make(64, 8);
    mqs_buffer_id ids[8];
    for (int i = 0; i < 8; i++)
        ids[i] = alloc_ok(d, POOL);
    cr_assert(eq(int, mqs_buffer_ref(d, ids[3]), -ENOSPC));
    cr_assert(eq(u32, mqs_held_count(d), 8));
    cr_assert(eq(int, mqs_buffer_unref(d, ids[0]), 0));
    cr_assert(eq(int, mqs_buffer_ref(d, ids[3]), 0), "room for one more reference");
    cr_assert(eq(u32, mqs_held_count(d), 8));
}

Test(buffer, full_held_table_gives_enospc_not_eagain)
{
    mqs_domain *d = make(64, 8);
    mqs_buffer_id id;
    int rc;
    while ((rc = mqs_buffer_alloc(d, POOL, &id)) == 0) {
    }
    cr_assert(eq(int, rc, -ENOSPC));
    uint32_t held = mqs_held_count(d);
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, held));
    cr_assert(eq(u64, mqst_pool_stats(d, POOL).alloc_failures, 0), "the pool was not exhausted");
}

/* ---- ref / unref ---- */

Test(buffer, ref_and_unref_count_references)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id id = alloc_ok(d, POOL);
    cr_assert(eq(int, mqs_buffer_ref(d, id), 0));
    cr_assert(eq(int, mqs_buffer_ref(d, id), 0));
    cr_assert(eq(u32, mqs_held_count(d), 3));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 1));
    for (int left = 2; left >= 0; left--) {
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
        cr_assert(eq(u32, mqs_held_count(d), (uint32_t)left));
        cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, left ? 1 : 0), "freed too early or too late");
        if (left)
            cr_assert(ne(ptr, mqs_buffer_data(d, id), NULL));
    }
    cr_assert(eq(u64, rejected(d, POOL), 0));
}

Test(buffer, stale_id_after_last_unref_is_rejected_and_counted)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id id = alloc_ok(d, POOL);
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));

    cr_assert(eq(int, mqs_buffer_unref(d, id), -ESTALE));
    cr_assert(eq(u64, rejected(d, POOL), 1));
    cr_assert(eq(int, mqs_buffer_ref(d, id), -ESTALE));
    cr_assert(eq(u64, rejected(d, POOL), 2));
    cr_assert(eq(ptr, mqs_buffer_data(d, id), NULL));
    cr_assert(eq(u64, rejected(d, POOL), 3));
    cr_assert(eq(ptr, mqs_buffer_meta_of(d, id), NULL));
    cr_assert(eq(u64, rejected(d, POOL), 4));
    cr_assert(eq(int, mqs_output_send(d, OUT, id, 0), -ESTALE));
    cr_assert(eq(u64, rejected(d, POOL), 5));
    /* Nothing was touched: no queue got it, no slot is in use. */
    cr_assert(eq(u32, mqs_queue_length(d, SELF_Q), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));
    cr_assert(ne(str, (char *)mqs_strerror(-ESTALE), ""));
}

Test(buffer, stale_id_of_a_reused_slot_does_not_touch_the_new_buffer)
{
    mqs_domain *d = make(1, 0);
    mqs_buffer_id old = alloc_ok(d, POOL);
    cr_assert(eq(int, mqs_buffer_unref(d, old), 0));
    mqs_buffer_id cur = alloc_ok(d, POOL);
    cr_assert(eq(u32, mqs_buffer_id_slot(cur), mqs_buffer_id_slot(old)));
    cr_assert(ne(u32, mqs_buffer_id_generation(cur), mqs_buffer_id_generation(old)));

    cr_assert(eq(int, mqs_buffer_unref(d, old), -ESTALE));
    cr_assert(eq(int, mqs_buffer_ref(d, old), -ESTALE));
    cr_assert(eq(ptr, mqs_buffer_data(d, old), NULL));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 1), "the stale unref freed the new buffer");
    cr_assert(eq(u32, mqs_held_count(d), 1));
    cr_assert(ne(ptr, mqs_buffer_data(d, cur), NULL));
    cr_assert(eq(int, mqs_buffer_unref(d, cur), 0));
}

Test(buffer, forged_generation_of_a_live_buffer_is_stale)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id id = alloc_ok(d, POOL);
    mqs_buffer_id forged =
        mqs_buffer_id_make(mqs_buffer_id_pool(id), mqs_buffer_id_slot(id), mqs_buffer_id_generation(id) + 5);
    cr_assert(eq(int, mqs_buffer_unref(d, forged), -ESTALE));
    cr_assert(eq(int, mqs_buffer_ref(d, forged), -ESTALE));
    cr_assert(eq(ptr, mqs_buffer_data(d, forged), NULL));
    cr_assert(eq(ptr, mqs_buffer_meta_of(d, forged), NULL));
    cr_assert(eq(u64, rejected(d, POOL), 4));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 1));
    cr_assert(eq(u32, mqs_held_count(d), 1));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
}

Test(buffer, impossible_pool_or_slot_is_einval)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id bad_slot = mqs_buffer_id_make(POOL, 4, 1); /* slots are 0..3 */
    mqs_buffer_id bad_pool = mqs_buffer_id_make(7, 0, 1);
    mqs_buffer_id ids[] = {bad_slot, bad_pool, mqs_buffer_id_make(MQS_MAX_POOLS, MQS_MAX_SLOTS, UINT32_MAX)};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        cr_assert(eq(int, mqs_buffer_unref(d, ids[i]), -EINVAL), "id %#llx", (unsigned long long)ids[i]);
        cr_assert(eq(int, mqs_buffer_ref(d, ids[i]), -EINVAL), "id %#llx", (unsigned long long)ids[i]);
        cr_assert(eq(ptr, mqs_buffer_data(d, ids[i]), NULL));
        cr_assert(eq(ptr, mqs_buffer_meta_of(d, ids[i]), NULL));
        cr_assert(eq(int, mqs_output_send(d, OUT, ids[i], 0), -EINVAL));
    }
    /* A bad slot of a real pool is counted by that pool (5 uses above). */
    cr_assert(eq(u64, rejected(d, POOL), 5));
    cr_assert(eq(u32, mqs_held_count(d), 0));
    cr_assert(eq(u32, mqs_queue_length(d, SELF_Q), 0));
}

/* ID 0 is never valid: generation 0 is impossible. */
Test(buffer, id_none_is_rejected)
{
    mqs_domain *d = make(4, 0);
    int rc = mqs_buffer_unref(d, MQS_BUFFER_ID_NONE);
    cr_assert(rc == -EINVAL || rc == -ESTALE, "unref(0): %s", mqs_strerror(rc));
    rc = mqs_buffer_ref(d, MQS_BUFFER_ID_NONE);
    cr_assert(rc == -EINVAL || rc == -ESTALE, "ref(0): %s", mqs_strerror(rc));
    cr_assert(eq(ptr, mqs_buffer_data(d, MQS_BUFFER_ID_NONE), NULL));
    cr_assert(eq(ptr, mqs_buffer_meta_of(d, MQS_BUFFER_ID_NONE), NULL));
    rc = mqs_output_send(d, OUT, MQS_BUFFER_ID_NONE, 0);
    cr_assert(rc == -EINVAL || rc == -ESTALE, "send(0): %s", mqs_strerror(rc));
    cr_assert(eq(u32, mqs_queue_length(d, SELF_Q), 0));
}

/* A live buffer the caller does not hold (here: it sits in a queue). */
Test(buffer, unref_of_a_buffer_not_held_is_eperm)
{
    mqs_domain *d = make(4, 0);
    mqs_buffer_id id = alloc_ok(d, POOL);
    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 1);
    cr_assert(eq(int, mqs_buffer_unref(peer, id), -EPERM), "slot 1 holds no reference");
    cr_assert(eq(int, mqs_buffer_ref(peer, id), -EPERM), "slot 1 holds no reference");
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 1));
    cr_assert(eq(u32, mqs_held_count(d), 1));
    cr_assert(eq(u32, mqs_held_count(peer), 0));
    cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 0));
}

/* ---- payload and metadata ---- */

Test(buffer, payloads_are_writable_by_the_owner_and_do_not_overlap)
{
    mqs_domain *d = make(4, 0);
    uint64_t size = mqs_pool_slot_size(d, POOL);
    cr_assert(ge(u64, size, 100));
    cr_assert(eq(u64, mqs_pool_slot_size(d, 9), 0));
    mqs_buffer_id ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = alloc_ok(d, POOL);
        uint8_t *p = mqs_buffer_data(d, ids[i]);
        cr_assert(ne(ptr, p, NULL));
        memset(p, 0x10 + i, size);
    }
    for (int i = 0; i < 4; i++) {
        const uint8_t *p = mqs_buffer_data(d, ids[i]);
        for (uint64_t b = 0; b < size; b++)
            cr_assert(eq(u8, p[b], (uint8_t)(0x10 + i)), "buffer %d byte %llu overwritten", i, (unsigned long long)b);
    }
}

Test(buffer, metadata_and_payload_reach_another_process_slot_read_only)
{
    mqs_domain *d = make(4, 0);
    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 1);
    mqs_buffer_id id = alloc_ok(d, POOL);
    strcpy(mqs_buffer_data(d, id), "hello, consumer");
    mqs_buffer_meta *m = mqs_buffer_meta_of(d, id);
    m->length = 16;
    m->pts = 123456789;
    m->duration = 33000000;
    m->seq = 77;
    m->flags = MQS_BUFFER_KEYFRAME;
    m->header_type = MQS_HEADER_VIDEO;
    m->header.video = (mqs_video_header){.width = 4, .height = 2, .format = MQS_FORMAT_GRAY8, .stride = 4};
    cr_assert(eq(int, mqs_output_send(d, OUT, id, 0), 2));

    mqs_buffer_id got;
    cr_assert(eq(int, mqs_queue_receive(peer, PEER_Q, &got, 0), 0));
    cr_assert(eq(u64, got, id));
    const char *data = mqs_buffer_data(peer, got);
    cr_assert(ne(ptr, (void *)data, NULL));
    cr_assert(eq(str, (char *)data, "hello, consumer"));
    const mqs_buffer_meta *pm = mqs_buffer_meta_of(peer, got);
    cr_assert(eq(u64, pm->length, 16));
    cr_assert(eq(i64, pm->pts, 123456789));
    cr_assert(eq(i64, pm->duration, 33000000));
    cr_assert(eq(u64, pm->seq, 77));
    cr_assert(eq(u32, pm->flags, MQS_BUFFER_KEYFRAME));
    cr_assert(eq(u32, pm->port, OUT), "meta.port names the producing output");
    cr_assert(eq(u32, pm->header.video.width, 4));
    cr_assert(eq(u32, pm->header.video.format, MQS_FORMAT_GRAY8));

    /* The consumer's mapping is read-only: the kernel refuses to write into
     * it (EFAULT), where a store would be a SIGSEGV. */
    int fd = open("/dev/zero", O_RDONLY);
    cr_assert(ge(int, fd, 0));
    ssize_t n = read(fd, (void *)data, 1);
    int err = errno;
    close(fd);
    cr_assert(eq(sz, (size_t)n, (size_t)-1), "a consumer could write into a pool it does not own");
    cr_assert(eq(int, err, EFAULT));
    cr_assert(eq(str, (char *)data, "hello, consumer"));

    cr_assert(eq(int, mqs_buffer_unref(peer, got), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 1), "queue 0 still holds one reference");
    cr_assert(eq(int, mqs_queue_receive(d, SELF_Q, &got, 0), 0));
    cr_assert(eq(int, mqs_buffer_unref(d, got), 0));
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 0));
}

/* ---- stats, held count, detach ---- */

Test(buffer, pool_stats_errors)
{
    mqs_domain *d = make(4, 0);
    mqs_pool_stats s;
    cr_assert(eq(int, mqs_pool_stats_get(d, 2, &s), -ERANGE));
    cr_assert(lt(int, mqs_pool_stats_get(d, POOL, NULL), 0));
}

Test(buffer, detach_releases_every_reference_still_held)
{
    mqs_domain *d = make(8, 0);
    mqs_domain *peer = mqst_attach(mqs_domain_name(d), 1);
    for (int i = 0; i < 3; i++)
        cr_assert(eq(int, mqs_output_send(d, OUT, alloc_ok(d, POOL), 0), 2));
    mqs_buffer_id got[3];
    for (int i = 0; i < 3; i++)
        cr_assert(eq(int, mqs_queue_receive(peer, PEER_Q, &got[i], 0), 0));
    cr_assert(eq(int, mqs_buffer_ref(peer, got[0]), 0));
    mqs_buffer_id own;
    cr_assert(eq(int, mqs_buffer_alloc(peer, OTHER_POOL, &own), 0));
    cr_assert(eq(u32, mqs_held_count(peer), 5));
    cr_assert(eq(u32, mqst_process_stats(d, 1).held, 5));

    mqst_release(peer);
    cr_assert(eq(u32, mqst_pool_stats(d, OTHER_POOL).in_use, 0), "detach leaked the peer's own buffer");
    cr_assert(eq(u32, mqst_process_stats(d, 1).held, 0));
    /* Queue 0 still holds its three references; draining it frees the pool. */
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 3));
    for (int i = 0; i < 3; i++) {
        mqs_buffer_id id;
        cr_assert(eq(int, mqs_queue_receive(d, SELF_Q, &id, 0), 0));
        cr_assert(eq(int, mqs_buffer_unref(d, id), 0));
    }
    cr_assert(eq(u32, mqst_pool_stats(d, POOL).in_use, 0), "detach leaked references it received");
}

Test(buffer, many_cycles_keep_the_pool_exact)
{
    /* Generations move on with every free; the pool never loses a slot. */
    mqs_domain *d = make(3, 0);
    for (int round = 0; round < 10000; round++) {
        mqs_buffer_id a = alloc_ok(d, POOL), b = alloc_ok(d, POOL);
        cr_assert(eq(int, mqs_buffer_ref(d, a), 0));
        cr_assert(eq(int, mqs_buffer_unref(d, b), 0));
        cr_assert(eq(int, mqs_buffer_unref(d, a), 0));
        cr_assert(eq(int, mqs_buffer_unref(d, a), 0));
    }
    mqs_pool_stats s = mqst_pool_stats(d, POOL);
    cr_assert(eq(u32, s.in_use, 0));
    cr_assert(eq(u64, s.allocs, 20000));
    cr_assert(eq(u64, s.alloc_failures, 0));
    cr_assert(eq(u64, s.rejected_ids, 0));
    cr_assert(eq(u32, mqs_held_count(d), 0));
}
