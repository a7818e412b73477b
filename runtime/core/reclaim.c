/* Reclaim: give back exactly what a dead process held.
 *
 * Its held-reference table says which references it had, apart from the
 * operation it was in the middle of; its journal (core/journal.h) says which
 * operation that was and how far it got. Every step the journal cannot
 * record in the same instruction leaves its outcome where reclaim can read
 * it: a count change flipped the process's own holder bit in the slot, a
 * push moved the ring's head (or wrote its position into a drop_oldest
 * cell), a take moved the tail (or left a claim in the cell). So reclaim
 * works out the true number of references for the journal's buffer, gives
 * back exactly that many, and frees its slot: nothing leaks, nothing is freed
 * early. What was queued for it stays queued for the process that takes its
 * place; a consumer that will not come back is disconnected, which drains
 * its queues (docs/memory-model.md,
 * "Crash safety"). Where a process has no holder bit in a pool (more than
 * 64 processes can reach it) the outcome of a count change cannot be read,
 * and reclaim takes the choice that can only leak. */
#include <errno.h>

#include "journal.h"

/* How the journal's operation leaves the table wrong: the true number of
 * references to `id` the process held, and a reference to `extra` (a
 * drop_oldest entry its push replaced) that the table does not show. */
typedef struct recovery {
    mqs_buffer_id id;
    uint32_t truth;
    bool known;
    mqs_buffer_id extra;
} recovery;

/* Was the count change of `id` by `delta` made? The journal notes the last
 * change; an older one, or none, was not in flight. Without a holder bit,
 * take the outcome that can only leak: a decrease made, an increase not. */
static bool made(const mqs_domain *d, uint32_t process, mqs_buffer_id id, int32_t delta)
{
    const mqs_journal *j = &d->procs[process].journal;
    if (atomic_load_explicit(&j->change_id, memory_order_relaxed) != id ||
        atomic_load_explicit(&j->change_delta, memory_order_relaxed) != delta)
        return false;
    int m = mqsi_change_made(d, process);
    return m < 0 ? delta < 0 : m == 1;
}

/* send: how many of the n references made for the queues the process still
 * answers for, with k queues settled and maybe the k-th push under way. */
static uint32_t send_unsettled(mqs_domain *d, uint32_t process, const mqs_output_shared *out, uint32_t taps,
                               recovery *r)
{
    const mqs_journal *j = &d->procs[process].journal;
    uint32_t settled = atomic_load_explicit(&j->stage, memory_order_relaxed) - 1;
    uint32_t n = out->queue_count + (uint32_t)__builtin_popcount(taps);
    if (settled >= n)
        return 0;
    uint32_t unsettled = n - settled;
    uint32_t queue = mqsi_send_target(d, out, taps, settled);
    if (atomic_load_explicit(&j->queue, memory_order_relaxed) != queue)
        return unsettled; /* that push had not begun */
    if (mqsi_queue_finish_push(d, queue, atomic_load_explicit(&j->position, memory_order_relaxed))) {
        mqs_buffer_id stolen = atomic_load_explicit(&j->stolen, memory_order_relaxed);
        if (stolen && !made(d, process, stolen, -1))
            r->extra = stolen; /* it replaced that entry and had not yet let it go */
        return unsettled - 1;
    }
    return unsettled - (made(d, process, r->id, -1) ? 1 : 0); /* dropped, and maybe released already */
}

static void recover_send(mqs_domain *d, uint32_t process, const mqs_journal *j, recovery *r)
{
    uint32_t held = atomic_load_explicit(&j->held, memory_order_relaxed);
    uint32_t stage = atomic_load_explicit(&j->stage, memory_order_relaxed);
    uint32_t output = atomic_load_explicit(&j->output, memory_order_relaxed);
    r->truth = held;
    if (output >= d->ctl->output_count)
        return; /* before the output was noted: nothing happened yet */
    const mqs_output_shared *out = &d->outputs[output];
    uint32_t taps = atomic_load_explicit(&j->taps, memory_order_relaxed);
    uint32_t n = out->queue_count + (uint32_t)__builtin_popcount(taps);
    if (stage == 0) /* the count may have been raised by n - 1, nothing pushed */
        r->truth = n > 1 && made(d, process, r->id, (int32_t)(n - 1)) ? held - 1 + n : held;
    else
        r->truth = held - 1 + send_unsettled(d, process, out, taps, r);
}

static void recover_journal(mqs_domain *d, uint32_t process, recovery *r)
{
    const mqs_journal *j = &d->procs[process].journal;
    r->id = atomic_load_explicit(&j->id, memory_order_relaxed);
    uint32_t held = atomic_load_explicit(&j->held, memory_order_relaxed);
    uint32_t queue = atomic_load_explicit(&j->queue, memory_order_relaxed);
    uint64_t pos = atomic_load_explicit(&j->position, memory_order_relaxed);
    r->known = true;
    switch (atomic_load_explicit(&j->op, memory_order_acquire)) {
    case MQS_OP_ALLOC:
        r->truth = made(d, process, r->id, 1) ? 1 : 0;
        break;
    case MQS_OP_REF:
        r->truth = held + (made(d, process, r->id, 1) ? 1 : 0);
        break;
    case MQS_OP_UNREF:
        r->truth = held - (made(d, process, r->id, -1) ? 1 : 0);
        break;
    case MQS_OP_RECEIVE:
        if (queue < d->ctl->queue_count) {
            bool received = atomic_load_explicit(&j->stage, memory_order_relaxed) >= MQS_STAGE_RECEIVED;
            r->truth = held + (mqsi_queue_took(d, queue, pos, received) ? 1 : 0);
            mqsi_queue_settle_claim(d, queue, pos); /* the producer may reuse the cell again */
        } else {
            r->truth = held;
        }
        break;
    case MQS_OP_SEND:
        recover_send(d, process, j, r);
        break;
    default:
        r->known = false;
        break;
    }
}

static uint32_t release_n(mqs_domain *d, mqs_buffer_id id, uint32_t n)
{
    uint32_t released = 0;
    for (uint32_t i = 0; i < n; i++)
        released += mqsi_slot_change(d, id, -1) == 0;
    return released;
}

/* Every reference the table lists, but for the journal's buffer its true count. */
static uint32_t release_table(mqs_domain *d, uint32_t process, const recovery *r)
{
    mqs_held_entry *t = mqsi_held_table_of(d, process);
    uint32_t released = 0;
    bool seen = false;
    for (uint32_t i = 0; i < d->ctl->held_table_size; i++) {
        mqs_buffer_id id = atomic_load_explicit(&t[i].id, memory_order_relaxed);
        if (id == MQS_BUFFER_ID_NONE)
            continue;
        uint32_t count = atomic_load_explicit(&t[i].count, memory_order_relaxed);
        if (r->known && id == r->id) {
            count = r->truth;
            seen = true;
        }
        released += release_n(d, id, count);
        atomic_store_explicit(&t[i].count, 0, memory_order_relaxed);
        atomic_store_explicit(&t[i].id, MQS_BUFFER_ID_NONE, memory_order_relaxed);
    }
    if (r->known && !seen) /* claimed or raised, but not yet in the table */
        released += release_n(d, r->id, r->truth);
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

/* Give back what dead `process` held, and leave its slot taken. */
uint32_t mqsi_reclaim_references(mqs_domain *d, uint32_t process)
{
    mqs_process_shared *p = &d->procs[process];
    recovery r = {0};
    recover_journal(d, process, &r);
    uint32_t released = release_table(d, process, &r);
    if (r.extra)
        released += release_n(d, r.extra, 1);
    atomic_store_explicit(&p->journal.op, MQS_OP_NONE, memory_order_relaxed);
    atomic_store_explicit(&p->held_total, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->reclaimed, released, memory_order_relaxed);
    return released;
}

void mqsi_free_process_slot(mqs_domain *d, uint32_t process)
{
    mqs_process_shared *p = &d->procs[process];
    atomic_store_explicit(&p->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&p->state, MQS_PROCESS_FREE, memory_order_release);
}

int mqs_reclaim(mqs_domain *d, uint32_t process)
{
    mqsi_clear_error();
    if (process >= d->ctl->process_count)
        return mqsi_fail(-ERANGE, "reclaim: process slot %u does not exist", process);
    if (process == d->process)
        return mqsi_fail(-EINVAL, "reclaim: slot %u is the caller's own", process);
    if (mqsi_is_observer(d))
        return mqsi_fail(-EPERM, "reclaim: an observer only looks; the launcher reclaims");
    mqs_process_shared *p = &d->procs[process];
    uint32_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
    if (atomic_load_explicit(&p->state, memory_order_acquire) == MQS_PROCESS_ATTACHED &&
        mqs_pid_alive(pid, atomic_load_explicit(&p->start_time, memory_order_relaxed)))
        return mqsi_fail(-EBUSY, "reclaim: process slot %u (%s) is held by live pid %u", process, p->name, pid);
    uint32_t released = mqsi_reclaim_references(d, process);
    mqsi_free_process_slot(d, process);
    return (int)released;
}
