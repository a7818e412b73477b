/* The held-reference table: every buffer reference a process holds, kept in
 * shared memory so that a supervisor can give them back if the process dies.
 *
 * An open-addressing hash of buffer IDs with linear probing, written only by
 * its own process (single writer), read by others only after it is dead.
 * Deletion shifts later entries back, so lookups never meet tombstones. */
#include <errno.h>

#include "internal.h"

#define NOT_FOUND UINT32_MAX

static inline uint32_t slot_hash(mqs_buffer_id id, uint32_t mask)
{
    return (uint32_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & mask;
}

uint32_t mqsi_held_find(const mqs_held_entry *table, uint32_t mask, mqs_buffer_id id)
{
    uint32_t i = slot_hash(id, mask);
    for (uint32_t probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
        mqs_buffer_id e = atomic_load_explicit(&table[i].id, memory_order_relaxed);
        if (e == id)
            return i;
        if (e == MQS_BUFFER_ID_NONE)
            return NOT_FOUND;
    }
    return NOT_FOUND;
}

uint32_t mqsi_held_count_of(const mqs_domain *d, mqs_buffer_id id)
{
    uint32_t i = mqsi_held_find(d->held, d->held_mask, id);
    return i == NOT_FOUND ? 0 : atomic_load_explicit(&d->held[i].count, memory_order_relaxed);
}

static void bump_total(mqs_domain *d, int delta)
{
    uint32_t t = atomic_load_explicit(&d->self->held_total, memory_order_relaxed);
    atomic_store_explicit(&d->self->held_total, t + (uint32_t)delta, memory_order_relaxed);
}

int mqsi_held_add(mqs_domain *d, mqs_buffer_id id)
{
    /* The capacity counts references, not distinct buffers. */
    if (atomic_load_explicit(&d->self->held_total, memory_order_relaxed) >= d->ctl->held_capacity)
        return -ENOSPC;
    mqs_held_entry *t = d->held;
    uint32_t i = slot_hash(id, d->held_mask);
    for (uint32_t probes = 0; probes <= d->held_mask; probes++, i = (i + 1) & d->held_mask) {
        mqs_buffer_id e = atomic_load_explicit(&t[i].id, memory_order_relaxed);
        if (e == id) {
            uint32_t c = atomic_load_explicit(&t[i].count, memory_order_relaxed);
            atomic_store_explicit(&t[i].count, c + 1, memory_order_relaxed);
            bump_total(d, 1);
            return 0;
        }
        if (e == MQS_BUFFER_ID_NONE) {
            atomic_store_explicit(&t[i].count, 1, memory_order_relaxed);
            atomic_store_explicit(&t[i].id, id, memory_order_relaxed);
            bump_total(d, 1);
            return 0;
        }
    }
    return -ENOSPC;
}

/* Backward-shift deletion: move later members of the probe run into the gap. */
static void delete_at(mqs_held_entry *t, uint32_t mask, uint32_t gap)
{
    uint32_t i = gap;
    for (;;) {
        i = (i + 1) & mask;
        mqs_buffer_id e = atomic_load_explicit(&t[i].id, memory_order_relaxed);
        if (e == MQS_BUFFER_ID_NONE)
            break;
        uint32_t home = slot_hash(e, mask);
        /* Entry i may move to gap if its home is not cyclically in (gap, i]. */
        bool stays = gap <= i ? (home > gap && home <= i) : (home > gap || home <= i);
        if (stays)
            continue;
        atomic_store_explicit(&t[gap].count, atomic_load_explicit(&t[i].count, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&t[gap].id, e, memory_order_relaxed);
        gap = i;
    }
    atomic_store_explicit(&t[gap].id, MQS_BUFFER_ID_NONE, memory_order_relaxed);
    atomic_store_explicit(&t[gap].count, 0, memory_order_relaxed);
}

int mqsi_held_remove(mqs_domain *d, mqs_buffer_id id)
{
    uint32_t i = mqsi_held_find(d->held, d->held_mask, id);
    if (i == NOT_FOUND)
        return -EPERM;
    uint32_t c = atomic_load_explicit(&d->held[i].count, memory_order_relaxed);
    if (c > 1)
        atomic_store_explicit(&d->held[i].count, c - 1, memory_order_relaxed);
    else
        delete_at(d->held, d->held_mask, i);
    bump_total(d, -1);
    return 0;
}

uint32_t mqs_held_count(const mqs_domain *d)
{
    if (mqsi_is_observer(d))
        return 0;
    return atomic_load_explicit(&d->self->held_total, memory_order_relaxed);
}
