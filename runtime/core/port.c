/* Ports: moving buffer references through queues. send turns the caller's one
 * reference into one per queue of the output (fan-out); receive turns a queue
 * entry into a reference the caller holds. Both keep the held-reference table
 * and the journal exact, so reclaim can clean up after a crash at any point. */
#include <errno.h>

#include "internal.h"

#define MAX_WAIT_QUEUES 64

static mqs_journal *journal(mqs_domain *d) { return &d->self->journal; }

static void journal_done(mqs_domain *d)
{
    atomic_store_explicit(&journal(d)->op, MQS_OP_NONE, memory_order_relaxed);
}

/* Release the caller's reference (send always consumes it) and return err. */
static int consume(mqs_domain *d, mqs_buffer_id id, int err)
{
    mqs_buffer_unref(d, id);
    return err;
}

static void begin_send(mqs_domain *d, mqs_buffer_id id)
{
    mqs_journal *j = journal(d);
    atomic_store_explicit(&j->id, id, memory_order_relaxed);
    atomic_store_explicit(&j->stage, 0, memory_order_relaxed);
    atomic_store_explicit(&j->aux, 0, memory_order_relaxed);
    atomic_store_explicit(&j->op, MQS_OP_SEND, memory_order_relaxed);
}

/* Deliver one of our n references to queue q. Returns 1 if delivered, 0 if
 * the queue's policy dropped it, or -ETIMEDOUT/-ECANCELED (dropped too). */
static int deliver(mqs_domain *d, uint32_t queue, mqs_buffer_id id, mqsi_deadline *deadline, uint32_t settled)
{
    mqs_journal *j = journal(d);
    mqs_queue_shared *q = &d->queues[queue];
    atomic_store_explicit(&j->queue, queue, memory_order_relaxed);
    atomic_store_explicit(&j->position, atomic_load_explicit(&q->head, memory_order_relaxed), memory_order_relaxed);
    int rc = mqsi_queue_push(d, q, id, deadline, true);
    /* Settled before the release below: a crash in between leaks, never double-frees. */
    atomic_store_explicit(&j->aux, settled + 1, memory_order_relaxed);
    if (rc == 0)
        return 1;
    if (rc != MQSI_DROPPED)
        mqsi_count(&q->dropped, 1);
    mqsi_slot_drop_ref(d, id);
    if (rc == MQSI_DROPPED)
        return 0;
    return rc == -EAGAIN ? -ETIMEDOUT : rc; /* a `block` queue stayed full */
}

int mqs_output_send(mqs_domain *d, uint32_t output, mqs_buffer_id id, int64_t timeout_ns)
{
    uint32_t held = mqsi_held_count_of(d, id);
    if (held == 0)
        return mqs_buffer_unref(d, id); /* says why: -EINVAL, -ESTALE or -EPERM */
    if (output >= d->ctl->output_count)
        return consume(d, id, -ERANGE);
    const mqs_output_shared *out = &d->outputs[output];
    if (out->owner != d->process)
        return consume(d, id, -EPERM);
    mqs_buffer_meta *meta = mqs_buffer_meta_of(d, id);
    if (!meta)
        return consume(d, id, -ESTALE);
    if (meta->port == UINT32_MAX)
        meta->port = output;
    uint32_t n = out->queue_count;
    if (n == 0)
        return consume(d, id, 0);
    begin_send(d, id);
    int rc = n > 1 ? mqsi_slot_add_refs(d, id, n - 1) : 0;
    if (rc) {
        journal_done(d);
        return consume(d, id, rc);
    }
    atomic_store_explicit(&journal(d)->stage, 1, memory_order_relaxed);
    /* Our own reference becomes one of the n: it leaves our table now. */
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns), no_wait = mqsi_deadline_in(0);
    int delivered = 0, failure = 0;
    for (uint32_t k = 0; k < n; k++) {
        int r = deliver(d, d->output_queues[out->queue_first + k], id, failure ? &no_wait : &deadline, k);
        if (r > 0)
            delivered++;
        else if (r < 0)
            failure = r;
    }
    mqsi_held_remove(d, id);
    journal_done(d);
    return failure ? failure : delivered;
}

/* Does a queue entry name a live buffer? Not counted here: under drop_oldest
 * the producer may have taken and freed it meanwhile, which is no fault. */
static bool live_entry(const mqs_domain *d, mqs_buffer_id id)
{
    uint32_t pool = mqs_buffer_id_pool(id), slot = mqs_buffer_id_slot(id);
    if (pool >= d->ctl->pool_count || slot >= d->pools[pool].slot_count)
        return false;
    const mqs_slot_shared *rec = (const mqs_slot_shared *)((uint8_t *)d->ctl + d->pools[pool].slots_offset) + slot;
    uint64_t st = atomic_load_explicit(&((mqs_slot_shared *)rec)->state, memory_order_relaxed);
    return MQS_STATE_GEN(st) == mqs_buffer_id_generation(id) && MQS_STATE_RC(st) != 0;
}

/* Take the entry at the tail of q as a held reference: 0, -EAGAIN (empty or
 * lost a race), -ENOSPC. A corrupt entry is counted, skipped and reported as
 * -EAGAIN so the caller simply looks again. */
static int take(mqs_domain *d, uint32_t queue, mqs_buffer_id *out)
{
    mqs_queue_shared *q = &d->queues[queue];
    uint64_t pos, id;
    if (mqsi_ring_peek(d, q, &pos, &id) != 0)
        return -EAGAIN;
    if (!live_entry(d, id)) {
        /* Ours to discard only if we take it; then it really was corrupt. */
        if (mqsi_ring_commit_pop(d, q, pos) == 0)
            mqsi_count_rejected(d, id);
        return -EAGAIN;
    }
    mqs_journal *j = journal(d);
    atomic_store_explicit(&j->queue, queue, memory_order_relaxed);
    atomic_store_explicit(&j->position, pos, memory_order_relaxed);
    atomic_store_explicit(&j->id, id, memory_order_relaxed);
    atomic_store_explicit(&j->aux, mqsi_held_count_of(d, id), memory_order_relaxed);
    atomic_store_explicit(&j->op, MQS_OP_RECEIVE, memory_order_relaxed);
    int rc = mqsi_held_add(d, id);
    if (rc == 0 && mqsi_ring_commit_pop(d, q, pos) != 0) {
        mqsi_held_remove(d, id); /* a drop_oldest producer took it first */
        rc = -EAGAIN;
    }
    journal_done(d);
    if (rc == 0)
        *out = id;
    return rc;
}

int mqs_queue_receive(mqs_domain *d, uint32_t queue, mqs_buffer_id *out, int64_t timeout_ns)
{
    int rc = mqsi_queue_check_consumer(d, queue);
    if (rc)
        return rc;
    mqs_queue_shared *q = &d->queues[queue];
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    for (;;) {
        rc = take(d, queue, out);
        if (rc != -EAGAIN)
            return rc;
        if (mqsi_queue_has_data(q))
            continue;
        if (mqsi_queue_ended(q))
            return -EPIPE;
        if (timeout_ns == 0)
            return -EAGAIN;
        rc = mqsi_queue_wait_readable(d, q, &deadline);
        if (rc)
            return rc;
    }
}

typedef struct wait_set {
    const uint32_t *queues;
    uint32_t count;
    int found;
} wait_set;

static bool any_ready(const mqs_domain *d, const void *arg)
{
    wait_set *w = (wait_set *)arg;
    for (uint32_t i = 0; i < w->count; i++)
        if (mqsi_queue_readable(&d->queues[w->queues[i]])) {
            w->found = (int)i;
            return true;
        }
    return false;
}

int mqs_wait_any(mqs_domain *d, const uint32_t *queues, uint32_t count, int64_t timeout_ns)
{
    if (!queues || count == 0 || count > MAX_WAIT_QUEUES)
        return -EINVAL;
    _Atomic uint32_t *flags[MAX_WAIT_QUEUES];
    for (uint32_t i = 0; i < count; i++) {
        int rc = mqsi_queue_check_consumer(d, queues[i]);
        if (rc)
            return rc;
        flags[i] = &d->queues[queues[i]].consumer_sleeping;
    }
    wait_set w = {queues, count, -1};
    if (any_ready(d, &w))
        return w.found;
    if (timeout_ns == 0)
        return -ETIMEDOUT;
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    int rc = mqsi_wait(d, any_ready, &w, flags, count, &deadline);
    return rc ? rc : w.found;
}
