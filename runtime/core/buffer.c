/* Buffers: reference counting with a generation check on every use.
 *
 * A slot's count and its holder bits change together in one 16-byte
 * compare-and-swap, and every change is noted in the changer's journal just
 * before it is made, with the value the changer's own holder bit will have
 * afterwards: reclaim compares the two to tell whether a process killed
 * around the swap had made it (docs/memory-model.md). */
#include <errno.h>

#include "journal.h"

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

static inline uint32_t next_generation(uint32_t gen)
{
    return gen == UINT32_MAX ? 1 : gen + 1;
}

/* The count after a change of delta: 0 frees the slot and moves the generation on. */
static uint64_t changed_state(uint64_t st, int32_t delta)
{
    uint32_t rc = MQS_STATE_RC(st) + (uint32_t)delta;
    return rc == 0 ? MQS_STATE(next_generation(MQS_STATE_GEN(st)), 0) : MQS_STATE(MQS_STATE_GEN(st), rc);
}

/* Note the change in the journal; returns the holder-bit mask to flip. */
static uint64_t note_change(mqs_domain *d, mqs_slot_shared *rec, mqs_buffer_id id, int32_t delta)
{
    uint32_t bit = d->holder_bits[(uint64_t)mqs_buffer_id_pool(id) * d->ctl->process_count + d->process];
    if (bit == MQS_NO_HOLDER_BIT) {
        mqsi_journal_change(d, id, delta, MQS_NO_HOLDER_BIT);
        return 0;
    }
    /* Only this process flips its bit, so its value now is its value until the swap. */
    uint64_t mine = atomic_load_explicit(&rec->holders, memory_order_relaxed) >> bit & 1;
    mqsi_journal_change(d, id, delta, (uint32_t)(mine ^ 1));
    return UINT64_C(1) << bit;
}

/* A slot went back to its pool: wake the owner if it waits for one. The
 * swap before is a full barrier (a locked instruction, seq_cst), so with
 * the owner's flag, fence and second look this is a Dekker handshake:
 * either the owner sees the free slot, or we see its flag. */
static void slot_freed(mqs_domain *d, uint32_t pool)
{
    mqs_pool_shared *p = &d->pools[pool];
    if (atomic_load_explicit(&p->owner_waiting, memory_order_seq_cst))
        mqsi_wake_sleeper(d, &p->owner_waiting, p->owner);
}

/* The swap is a full barrier: the payload reads of a releaser happen before
 * the slot can be reused, and a claimer sees every earlier user's writes. */
int mqsi_slot_change(mqs_domain *d, mqs_buffer_id id, int32_t delta)
{
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec)
        return -EINVAL;
    uint64_t flip = note_change(d, rec, id, delta);
    mqsi_pair seen = mqsi_pair_of(atomic_load_explicit(&rec->state, memory_order_relaxed),
                                  atomic_load_explicit(&rec->holders, memory_order_relaxed));
    for (;;) {
        uint64_t st = mqsi_pair_first(seen), holders = mqsi_pair_second(seen);
        int rc = live_state(d, id, st);
        if (rc)
            return rc;
        if (delta > 0 && MQS_STATE_RC(st) > UINT32_MAX - (uint32_t)delta)
            return -EOVERFLOW;
        if (mqsi_cas16(rec, &seen, mqsi_pair_of(changed_state(st, delta), holders ^ flip))) {
            if (MQS_STATE_RC(st) + (uint32_t)delta == 0)
                slot_freed(d, mqs_buffer_id_pool(id));
            return 0;
        }
    }
}

int mqsi_slot_claim(mqs_domain *d, mqs_slot_shared *rec, mqs_buffer_id id)
{
    uint64_t free_state = MQS_STATE(mqs_buffer_id_generation(id), 0);
    mqsi_pair seen = mqsi_pair_of(free_state, atomic_load_explicit(&rec->holders, memory_order_relaxed));
    uint64_t flip = note_change(d, rec, id, 1);
    for (;;) {
        if (mqsi_pair_first(seen) != free_state)
            return -EAGAIN;
        if (mqsi_cas16(rec, &seen, mqsi_pair_of(MQS_STATE(mqs_buffer_id_generation(id), 1), mqsi_pair_second(seen) ^ flip)))
            return 0;
    }
}

int mqsi_change_made(const mqs_domain *d, uint32_t process)
{
    const mqs_journal *j = &d->procs[process].journal;
    mqs_buffer_id id = atomic_load_explicit(&j->change_id, memory_order_relaxed);
    uint32_t bit = atomic_load_explicit(&j->change_bit, memory_order_relaxed);
    if (id == MQS_BUFFER_ID_NONE)
        return 0;
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec)
        return 0;
    uint32_t pool = mqs_buffer_id_pool(id);
    uint8_t mine = ((const uint8_t *)d->ctl + d->ctl->holder_bits_offset)[(uint64_t)pool * d->ctl->process_count + process];
    if (mine == MQS_NO_HOLDER_BIT || bit == MQS_NO_HOLDER_BIT)
        return -1;
    return (int)((atomic_load_explicit(&rec->holders, memory_order_acquire) >> mine & 1) == bit);
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

/* Table first, count second: the journal tells reclaim which of the two happened. */
int mqs_buffer_ref(mqs_domain *d, mqs_buffer_id id)
{
    if (mqsi_is_observer(d))
        return -EPERM;
    uint32_t held = mqsi_held_count_of(d, id);
    if (held == 0)
        return not_held(d, id);
    mqsi_journal_begin(d, MQS_OP_REF, id, held);
    int rc = mqsi_held_add(d, id);
    if (rc == 0 && (rc = mqsi_slot_change(d, id, 1)) != 0)
        mqsi_held_remove(d, id);
    mqsi_journal_end(d);
    return rc;
}

int mqs_buffer_unref(mqs_domain *d, mqs_buffer_id id)
{
    if (mqsi_is_observer(d))
        return -EPERM;
    uint32_t held = mqsi_held_count_of(d, id);
    if (held == 0)
        return not_held(d, id);
    mqsi_journal_begin(d, MQS_OP_UNREF, id, held);
    int rc = mqsi_slot_change(d, id, -1);
    /* Even a stale ID leaves the table: the reference is gone either way. */
    mqsi_held_remove(d, id);
    mqsi_journal_end(d);
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
    if (mqsi_is_observer(d) || !live_slot(d, id)) /* an observer maps no payload */
        return NULL;
    uint32_t pool = mqs_buffer_id_pool(id);
    return d->payload[pool] + MQSI_PAYLOAD_OFFSET + (uint64_t)mqs_buffer_id_slot(id) * d->pools[pool].slot_size;
}

mqs_buffer_meta *mqs_buffer_meta_of(mqs_domain *d, mqs_buffer_id id)
{
    if (mqsi_is_observer(d)) /* it holds no buffer, and cannot count a bad ID */
        return NULL;
    mqs_slot_shared *rec = live_slot(d, id);
    return rec ? &rec->meta : NULL;
}
