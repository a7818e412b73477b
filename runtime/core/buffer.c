/* Buffers: reference counting with a generation check on every use. */
#include <errno.h>

#include "internal.h"

void mqsi_count_rejected(const mqs_domain *d, mqs_buffer_id id)
{
    uint32_t pool = mqs_buffer_id_pool(id);
    _Atomic uint64_t *counter = pool < d->ctl->pool_count ? &d->pools[pool].rejected_ids : &d->ctl->rejected_ids;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

mqs_slot_shared *mqsi_slot_of(const mqs_domain *d, mqs_buffer_id id)
{
    uint32_t pool = mqs_buffer_id_pool(id), slot = mqs_buffer_id_slot(id);
    if (pool >= d->ctl->pool_count || slot >= d->pools[pool].slot_count || mqs_buffer_id_generation(id) == 0) {
        mqsi_count_rejected(d, id);
        return NULL;
    }
    return (mqs_slot_shared *)((uint8_t *)d->ctl + d->pools[pool].slots_offset) + slot;
}

/* A live state word for this ID, or -ESTALE (counted). */
static int live_state(const mqs_domain *d, mqs_buffer_id id, uint64_t st)
{
    if (MQS_STATE_GEN(st) == mqs_buffer_id_generation(id) && MQS_STATE_RC(st) != 0)
        return 0;
    mqsi_count_rejected(d, id);
    return -ESTALE;
}

int mqsi_slot_add_refs(const mqs_domain *d, mqs_buffer_id id, uint32_t n)
{
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec)
        return -EINVAL;
    uint64_t st = atomic_load_explicit(&rec->state, memory_order_relaxed);
    do {
        int rc = live_state(d, id, st);
        if (rc)
            return rc;
        if (MQS_STATE_RC(st) > UINT32_MAX - n)
            return -EOVERFLOW;
        /* relaxed: a new reference is made from one we hold; nothing to publish. */
    } while (!atomic_compare_exchange_weak_explicit(&rec->state, &st, st + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 0;
}

static inline uint32_t next_generation(uint32_t gen)
{
    return gen == UINT32_MAX ? 1 : gen + 1;
}

int mqsi_slot_drop_ref(const mqs_domain *d, mqs_buffer_id id)
{
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec)
        return -EINVAL;
    uint64_t st = atomic_load_explicit(&rec->state, memory_order_relaxed);
    uint64_t next;
    do {
        int rc = live_state(d, id, st);
        if (rc)
            return rc;
        next = MQS_STATE_RC(st) == 1 ? MQS_STATE(next_generation(MQS_STATE_GEN(st)), 0) : st - 1;
        /* release: our reads of the payload finish before the slot can be
         * reused; acquire: the last dropper sees every other holder's release. */
    } while (!atomic_compare_exchange_weak_explicit(&rec->state, &st, next, memory_order_acq_rel,
                                                    memory_order_relaxed));
    return 0;
}

/* Why the caller cannot use an ID it does not hold: bad, stale, or not held. */
static int not_held(const mqs_domain *d, mqs_buffer_id id)
{
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec)
        return -EINVAL;
    int rc = live_state(d, id, atomic_load_explicit(&rec->state, memory_order_relaxed));
    return rc ? rc : -EPERM;
}

static void journal_set(mqs_domain *d, uint32_t op, mqs_buffer_id id, uint32_t aux)
{
    mqs_journal *j = &d->self->journal;
    atomic_store_explicit(&j->id, id, memory_order_relaxed);
    atomic_store_explicit(&j->aux, aux, memory_order_relaxed);
    atomic_store_explicit(&j->op, op, memory_order_relaxed);
}

int mqs_buffer_ref(mqs_domain *d, mqs_buffer_id id)
{
    uint32_t held = mqsi_held_count_of(d, id);
    if (held == 0)
        return not_held(d, id);
    /* Record first, count second: a crash between them leaks, never frees early. */
    journal_set(d, MQS_OP_REF, id, held);
    int rc = mqsi_held_add(d, id);
    if (rc == 0 && (rc = mqsi_slot_add_refs(d, id, 1)) != 0)
        mqsi_held_remove(d, id);
    atomic_store_explicit(&d->self->journal.op, MQS_OP_NONE, memory_order_relaxed);
    return rc;
}

int mqs_buffer_unref(mqs_domain *d, mqs_buffer_id id)
{
    uint32_t held = mqsi_held_count_of(d, id);
    if (held == 0)
        return not_held(d, id);
    journal_set(d, MQS_OP_UNREF, id, held);
    int rc = mqsi_slot_drop_ref(d, id);
    /* Even a stale ID leaves the table: the reference is gone either way. */
    mqsi_held_remove(d, id);
    atomic_store_explicit(&d->self->journal.op, MQS_OP_NONE, memory_order_relaxed);
    return rc;
}

static mqs_slot_shared *live_slot(const mqs_domain *d, mqs_buffer_id id)
{
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec || live_state(d, id, atomic_load_explicit(&rec->state, memory_order_relaxed)) != 0)
        return NULL;
    return rec;
}

void *mqs_buffer_data(mqs_domain *d, mqs_buffer_id id)
{
    if (!live_slot(d, id))
        return NULL;
    uint32_t pool = mqs_buffer_id_pool(id);
    return d->payload[pool] + MQSI_PAYLOAD_OFFSET + (uint64_t)mqs_buffer_id_slot(id) * d->pools[pool].slot_size;
}

mqs_buffer_meta *mqs_buffer_meta_of(mqs_domain *d, mqs_buffer_id id)
{
    mqs_slot_shared *rec = live_slot(d, id);
    return rec ? &rec->meta : NULL;
}
