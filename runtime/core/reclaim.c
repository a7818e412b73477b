/* Reclaim: give back everything a dead process held.
 *
 * The dead process's held-reference table says which references it had; its
 * journal says which operation it was in the middle of. Each half-done
 * operation is finished or undone from facts the dead process cannot change
 * any more (its own table, the head of the queues it produced, the tail of the
 * queues it consumed). Where a single CAS may or may not have happened, the
 * choice that can only leak is taken, never the one that could free a buffer
 * another process still uses (docs/memory-model.md, "Crash safety"). */
#include <errno.h>

#include "internal.h"

typedef struct recovery {
    mqs_buffer_id skip_id;  /* one table reference of this ID is not real */
    uint32_t skip_count;
    mqs_buffer_id extra_id; /* references the table does not show */
    uint32_t extra_count;
} recovery;

static uint32_t table_count(const mqs_domain *d, uint32_t process, mqs_buffer_id id)
{
    const mqs_held_entry *t = mqsi_held_table_of(d, process);
    uint32_t i = mqsi_held_find(t, d->ctl->held_table_size - 1, id);
    return i == UINT32_MAX ? 0 : atomic_load_explicit(&t[i].count, memory_order_relaxed);
}

static void recover_alloc(const mqs_domain *d, uint32_t process, mqs_buffer_id id, recovery *r)
{
    if (table_count(d, process, id) != 0)
        return; /* the table has it: released with the rest */
    mqs_slot_shared *rec = mqsi_slot_of(d, id);
    if (!rec)
        return;
    /* Only the owner allocates from a pool, so a live slot of this generation
     * that the table lacks is the one the dead process just claimed. */
    uint64_t st = atomic_load_explicit(&rec->state, memory_order_acquire);
    if (MQS_STATE_GEN(st) == mqs_buffer_id_generation(id) && MQS_STATE_RC(st) != 0) {
        r->extra_id = id;
        r->extra_count = 1;
    }
}

static void recover_receive(const mqs_domain *d, uint32_t process, const mqs_journal *j, recovery *r)
{
    mqs_buffer_id id = atomic_load_explicit(&j->id, memory_order_relaxed);
    uint32_t queue = atomic_load_explicit(&j->queue, memory_order_relaxed);
    if (queue >= d->ctl->queue_count)
        return;
    mqs_queue_shared *q = &d->queues[queue];
    bool added = table_count(d, process, id) == atomic_load_explicit(&j->aux, memory_order_relaxed) + 1;
    bool moved = atomic_load_explicit(&q->tail, memory_order_acquire) > atomic_load_explicit(&j->position, memory_order_relaxed);
    /* The entry is still queued (drained below), or a drop_oldest producer may
     * have taken it: either way the table's extra count is not ours. */
    if (added && (!moved || q->policy == MQS_POLICY_DROP_OLDEST)) {
        r->skip_id = id;
        r->skip_count = 1;
    }
}

static void recover_send(const mqs_domain *d, uint32_t process, const mqs_journal *j, recovery *r)
{
    mqs_buffer_id id = atomic_load_explicit(&j->id, memory_order_relaxed);
    if (atomic_load_explicit(&j->stage, memory_order_relaxed) == 0)
        return; /* extra references may not exist: keep only the table's */
    const mqs_output_shared *out = NULL;
    uint32_t queue = atomic_load_explicit(&j->queue, memory_order_relaxed);
    if (queue < d->ctl->queue_count)
        out = &d->outputs[d->queues[queue].output];
    uint32_t settled = atomic_load_explicit(&j->aux, memory_order_relaxed);
    if (!out || settled > out->queue_count)
        return;
    uint32_t unsettled = out->queue_count - settled;
    const mqs_queue_shared *q = &d->queues[queue];
    if (unsettled && atomic_load_explicit(&((mqs_queue_shared *)q)->head, memory_order_acquire) >
                         atomic_load_explicit(&j->position, memory_order_relaxed))
        unsettled--; /* pushed, not yet marked settled */
    /* The n references replace the table's one, which stays in the table
     * until the send ends. */
    if (table_count(d, process, id) != 0) {
        r->skip_id = id;
        r->skip_count = 1;
    }
    r->extra_id = id;
    r->extra_count = unsettled;
}

static void recover_journal(const mqs_domain *d, uint32_t process, recovery *r)
{
    const mqs_journal *j = &d->procs[process].journal;
    mqs_buffer_id id = atomic_load_explicit(&j->id, memory_order_relaxed);
    uint32_t aux = atomic_load_explicit(&j->aux, memory_order_relaxed);
    switch (atomic_load_explicit(&j->op, memory_order_acquire)) {
    case MQS_OP_ALLOC:
        recover_alloc(d, process, id, r);
        break;
    case MQS_OP_REF:
        /* Recorded, maybe not counted: drop the record (may leak one). */
        if (table_count(d, process, id) == aux + 1) {
            r->skip_id = id;
            r->skip_count = 1;
        }
        break;
    case MQS_OP_UNREF:
        /* Counted down, maybe not yet unrecorded: trust the count (may leak one). */
        if (table_count(d, process, id) == aux) {
            r->skip_id = id;
            r->skip_count = 1;
        }
        break;
    case MQS_OP_RECEIVE:
        recover_receive(d, process, j, r);
        break;
    case MQS_OP_SEND:
        recover_send(d, process, j, r);
        break;
    default:
        break;
    }
}

static uint32_t release_n(mqs_domain *d, mqs_buffer_id id, uint32_t n)
{
    uint32_t released = 0;
    for (uint32_t i = 0; i < n; i++)
        released += mqsi_slot_drop_ref(d, id) == 0;
    return released;
}

static uint32_t release_table(mqs_domain *d, uint32_t process, recovery *r)
{
    mqs_held_entry *t = mqsi_held_table_of(d, process);
    uint32_t released = 0;
    for (uint32_t i = 0; i < d->ctl->held_table_size; i++) {
        mqs_buffer_id id = atomic_load_explicit(&t[i].id, memory_order_relaxed);
        if (id == MQS_BUFFER_ID_NONE)
            continue;
        uint32_t count = atomic_load_explicit(&t[i].count, memory_order_relaxed);
        if (id == r->skip_id && count >= r->skip_count)
            count -= r->skip_count;
        released += release_n(d, id, count);
        atomic_store_explicit(&t[i].count, 0, memory_order_relaxed);
        atomic_store_explicit(&t[i].id, MQS_BUFFER_ID_NONE, memory_order_relaxed);
    }
    return released;
}

static uint32_t drain_inputs(mqs_domain *d, uint32_t process)
{
    uint32_t drained = 0;
    for (uint32_t i = 0; i < d->ctl->queue_count; i++)
        if (d->queues[i].consumer == process)
            drained += mqsi_queue_drain(d, &d->queues[i]);
    return drained;
}

int mqs_process_disconnect(mqs_domain *d, uint32_t process)
{
    if (process >= d->ctl->process_count || process == 0)
        return -ERANGE;
    if (d->process != 0)
        return -EPERM;
    for (uint32_t i = 0; i < d->ctl->queue_count; i++)
        if (d->queues[i].consumer == process)
            atomic_store_explicit(&d->queues[i].consumer_gone, 1, memory_order_release);
    /* After the flag: a producer that filled the ring again sees it and drops. */
    return (int)drain_inputs(d, process);
}

int mqs_reclaim(mqs_domain *d, uint32_t process)
{
    mqsi_clear_error();
    if (process >= d->ctl->process_count)
        return mqsi_fail(-ERANGE, "reclaim: process slot %u does not exist", process);
    if (process == d->process)
        return mqsi_fail(-EINVAL, "reclaim: slot %u is the caller's own", process);
    mqs_process_shared *p = &d->procs[process];
    uint32_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
    if (atomic_load_explicit(&p->state, memory_order_acquire) == MQS_PROCESS_ATTACHED &&
        mqsi_process_alive(pid, atomic_load_explicit(&p->start_time, memory_order_relaxed)))
        return mqsi_fail(-EBUSY, "reclaim: process slot %u (%s) is held by live pid %u", process, p->name, pid);
    recovery r = {0};
    recover_journal(d, process, &r);
    uint32_t released = release_table(d, process, &r);
    released += release_n(d, r.extra_id, r.extra_count);
    released += drain_inputs(d, process);
    atomic_store_explicit(&p->journal.op, MQS_OP_NONE, memory_order_relaxed);
    atomic_store_explicit(&p->held_total, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->reclaimed, released, memory_order_relaxed);
    atomic_store_explicit(&p->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&p->state, MQS_PROCESS_FREE, memory_order_release);
    return (int)released;
}
