/* Pools: fixed-size slots per output port, and their lock-free allocator.
 *
 * A slot is free exactly when the reference count in its state word is 0; the
 * allocator claims it with one CAS (gen, 0) -> (gen, 1). There is no separate
 * free list to fall out of step with the state words, so a process killed at
 * any instruction cannot leave a slot both free and listed, or listed twice.
 * ABA cannot bite: every CAS compares the full word, generation included, and
 * the generation changes on every free. Only the pool's owner allocates, so
 * the search cursor is single-writer; frees never touch it. */
#include <errno.h>
#include <string.h>

#include "journal.h"

static inline mqs_slot_shared *pool_slots(const mqs_domain *d, const mqs_pool_shared *p)
{
    return (mqs_slot_shared *)((uint8_t *)d->ctl + p->slots_offset);
}

static int claim(mqs_domain *d, uint32_t pool_index, mqs_pool_shared *p, uint32_t s, mqs_buffer_id *out)
{
    mqs_slot_shared *rec = &pool_slots(d, p)[s];
    uint64_t st = atomic_load_explicit(&rec->state, memory_order_relaxed);
    if (MQS_STATE_RC(st) != 0)
        return -EAGAIN;
    mqs_buffer_id id = mqs_buffer_id_make(pool_index, s, MQS_STATE_GEN(st));
    mqsi_journal_begin(d, MQS_OP_ALLOC, id, 0);
    if (mqsi_slot_claim(d, rec, id) != 0) {
        mqsi_journal_end(d);
        return -EAGAIN;
    }
    mqsi_held_add(d, id); /* cannot fail: the caller checked for room */
    mqsi_journal_end(d);
    memset(&rec->meta, 0, sizeof rec->meta);
    rec->meta.port = UINT32_MAX; /* set by the first send */
    *out = id;
    return 0;
}

/* Two writers (the launcher, the owner), both rarely. */
static void raise_high_water(mqs_pool_shared *p, uint32_t in_use)
{
    uint32_t seen = atomic_load_explicit(&p->high_water, memory_order_relaxed);
    while (in_use > seen &&
           !atomic_compare_exchange_weak_explicit(&p->high_water, &seen, in_use, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

static uint32_t slots_in_use(const mqs_domain *d, const mqs_pool_shared *p)
{
    mqs_slot_shared *slots = (mqs_slot_shared *)pool_slots(d, p);
    uint32_t in_use = 0;
    for (uint32_t s = 0; s < p->slot_count; s++)
        in_use += MQS_STATE_RC(atomic_load_explicit(&slots[s].state, memory_order_relaxed)) != 0;
    return in_use;
}

/* Right after an alloc is when a pool is fullest: the owner looks then, once
 * every max(16, slots) allocs (rounded up to a power of two), so the scan
 * costs at most about one load per alloc. */
static void sample_now_and_then(const mqs_domain *d, mqs_pool_shared *p)
{
    uint32_t every = p->slot_count < 16 ? 16 : p->slot_count;
    uint64_t mask = (UINT64_C(1) << (64 - __builtin_clzll((uint64_t)every - 1))) - 1;
    if ((atomic_load_explicit(&p->allocs, memory_order_relaxed) & mask) == 0)
        raise_high_water(p, slots_in_use(d, p));
}

void mqs_pools_sample(mqs_domain *d)
{
    if (d->process != 0)
        return;
    for (uint32_t i = 0; i < d->ctl->pool_count; i++)
        raise_high_water(&d->pools[i], slots_in_use(d, &d->pools[i]));
}

int mqs_buffer_alloc(mqs_domain *d, uint32_t pool, mqs_buffer_id *out)
{
    if (pool >= d->ctl->pool_count)
        return -ERANGE;
    mqs_pool_shared *p = &d->pools[pool];
    if (p->owner != d->process || mqsi_is_observer(d))
        return -EPERM;
    if (atomic_load_explicit(&d->self->held_total, memory_order_relaxed) >= d->ctl->held_capacity)
        return -ENOSPC;
    uint32_t n = p->slot_count;
    uint32_t s = atomic_load_explicit(&p->alloc_cursor, memory_order_relaxed);
    for (uint32_t tried = 0; tried < n; tried++, s++) {
        if (s >= n)
            s = 0;
        if (claim(d, pool, p, s, out) == 0) {
            atomic_store_explicit(&p->alloc_cursor, s + 1, memory_order_relaxed);
            sample_now_and_then(d, p);
            mqsi_count(&p->allocs, 1);
            return 0;
        }
    }
    mqsi_count(&p->alloc_failures, 1);
    raise_high_water(p, n);
    return -EAGAIN;
}

/* A free slot, looking from the cursor (frees come back in about the order
 * they were taken, so the first look usually finds one). */
static bool has_free_slot(const mqs_domain *d, const void *arg)
{
    const mqs_pool_shared *p = arg;
    const mqs_slot_shared *slots = pool_slots(d, p);
    uint32_t n = p->slot_count, s = atomic_load_explicit(&((mqs_pool_shared *)p)->alloc_cursor, memory_order_relaxed);
    for (uint32_t tried = 0; tried < n; tried++, s++) {
        if (s >= n)
            s = 0;
        if (MQS_STATE_RC(atomic_load_explicit(&((mqs_slot_shared *)slots)[s].state, memory_order_relaxed)) == 0)
            return true;
    }
    return false;
}

int mqs_buffer_alloc_wait(mqs_domain *d, uint32_t pool, mqs_buffer_id *out, int64_t timeout_ns)
{
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    for (;;) {
        int rc = mqs_buffer_alloc(d, pool, out);
        if (rc != -EAGAIN || timeout_ns == 0)
            return rc;
        mqs_pool_shared *p = &d->pools[pool];
        _Atomic uint32_t *flag = &p->owner_waiting;
        rc = mqsi_wait(d, MQS_WAIT_FOR_SLOT, has_free_slot, p, &flag, 1, &deadline);
        if (rc)
            return rc;
    }
}

uint64_t mqs_pool_slot_size(const mqs_domain *d, uint32_t pool)
{
    return pool < d->ctl->pool_count ? d->pools[pool].slot_size : 0;
}

int mqs_pool_stats_get(const mqs_domain *d, uint32_t pool, mqs_pool_stats *out)
{
    if (pool >= d->ctl->pool_count || !out)
        return -ERANGE;
    const mqs_pool_shared *p = &d->pools[pool];
    uint32_t in_use = slots_in_use(d, p);
    *out = (mqs_pool_stats){
        .slot_count = p->slot_count,
        .in_use = in_use,
        .allocs = atomic_load_explicit(&((mqs_pool_shared *)p)->allocs, memory_order_relaxed),
        .alloc_failures = atomic_load_explicit(&((mqs_pool_shared *)p)->alloc_failures, memory_order_relaxed),
        .rejected_ids = atomic_load_explicit(&((mqs_pool_shared *)p)->rejected_ids, memory_order_relaxed),
        .high_water = atomic_load_explicit(&((mqs_pool_shared *)p)->high_water, memory_order_relaxed),
    };
    if (out->high_water < in_use) /* between two samples */
        out->high_water = in_use;
    return 0;
}
