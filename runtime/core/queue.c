/* Queues: bounded single-producer single-consumer rings of 64-bit entries.
 *
 * head is written by the producer, tail by the consumer, each on its own
 * cache line; each side caches its last view of the other's index so that a
 * steady stream touches the other side's line only when it must. The one
 * exception to single-writer indices is drop_oldest: when the ring is full the
 * producer takes the oldest entry by CAS on tail, and the consumer of such a
 * ring commits its pops by CAS too, so each entry is taken exactly once. */
#include <errno.h>

#include "internal.h"

bool mqsi_queue_has_data(const mqs_queue_shared *q)
{
    mqs_queue_shared *m = (mqs_queue_shared *)q;
    return atomic_load_explicit(&m->head, memory_order_acquire) > atomic_load_explicit(&m->tail, memory_order_relaxed);
}

bool mqsi_queue_has_space(const mqs_queue_shared *q)
{
    mqs_queue_shared *m = (mqs_queue_shared *)q;
    return atomic_load_explicit(&m->head, memory_order_relaxed) - atomic_load_explicit(&m->tail, memory_order_acquire) <
           q->depth;
}

int mqsi_ring_try_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (head - q->cached_tail >= q->depth) {
        /* acquire: the consumer is done reading the entry we will overwrite. */
        q->cached_tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (head - q->cached_tail >= q->depth)
            return -EAGAIN;
    }
    atomic_store_explicit(&mqsi_entries(d, q)[head & (q->depth - 1)], value, memory_order_relaxed);
    /* release: the entry (and the buffer it names) is visible before head moves. */
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    mqsi_count(&q->pushed, 1);
    /* The cached tail may be old and overstate the length: look at the real
     * tail only when the estimate would set a new high-water mark. */
    uint64_t high = atomic_load_explicit(&q->high_water, memory_order_relaxed);
    if (head + 1 - q->cached_tail > high) {
        q->cached_tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (head + 1 - q->cached_tail > high)
            atomic_store_explicit(&q->high_water, head + 1 - q->cached_tail, memory_order_relaxed);
    }
    if (d->ctl->wait_mode != MQS_WAIT_SPIN)
        mqsi_wake_if_sleeping(d, &q->consumer_sleeping, q->consumer);
    return 0;
}

int mqsi_ring_steal_oldest(mqs_domain *d, mqs_queue_shared *q, uint64_t *out)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (tail == atomic_load_explicit(&q->head, memory_order_relaxed))
        return -EAGAIN;
    uint64_t value = atomic_load_explicit(&mqsi_entries(d, q)[tail & (q->depth - 1)], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&q->tail, &tail, tail + 1, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return -EAGAIN; /* the consumer took it: there is room now */
    *out = value;
    return 0;
}

int mqsi_ring_peek(const mqs_domain *d, mqs_queue_shared *q, uint64_t *pos, uint64_t *value)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (q->policy == MQS_POLICY_DROP_OLDEST)
        tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    /* >=, not ==: a drop_oldest producer can move tail past our cached head. */
    if (tail >= q->cached_head) {
        /* acquire: pairs with the producer's release of head. */
        q->cached_head = atomic_load_explicit(&q->head, memory_order_acquire);
        if (tail >= q->cached_head)
            return -EAGAIN;
    }
    *value = atomic_load_explicit(&mqsi_entries(d, q)[tail & (q->depth - 1)], memory_order_relaxed);
    *pos = tail;
    return 0;
}

int mqsi_ring_commit_pop(mqs_domain *d, mqs_queue_shared *q, uint64_t pos)
{
    if (q->policy == MQS_POLICY_DROP_OLDEST) {
        if (!atomic_compare_exchange_strong_explicit(&q->tail, &pos, pos + 1, memory_order_acq_rel,
                                                     memory_order_relaxed))
            return -EAGAIN;
    } else {
        /* release: we finished reading the entry before the producer reuses it. */
        atomic_store_explicit(&q->tail, pos + 1, memory_order_release);
    }
    mqsi_count(&q->popped, 1);
    if (d->ctl->wait_mode != MQS_WAIT_SPIN && q->policy == MQS_POLICY_BLOCK)
        mqsi_wake_if_sleeping(d, &q->producer_sleeping, q->producer);
    return 0;
}

int mqsi_queue_check_consumer(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return -ERANGE;
    return d->queues[queue].consumer == d->process ? 0 : -EPERM;
}

int mqsi_queue_check_producer(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return -ERANGE;
    return d->queues[queue].producer == d->process ? 0 : -EPERM;
}

bool mqsi_queue_readable(const mqs_queue_shared *q)
{
    return mqsi_queue_has_data(q) || atomic_load_explicit(&((mqs_queue_shared *)q)->closed, memory_order_acquire);
}

static bool readable_fn(const mqs_domain *d, const void *arg)
{
    (void)d;
    return mqsi_queue_readable(arg);
}

int mqsi_queue_wait_readable(mqs_domain *d, mqs_queue_shared *q, mqsi_deadline *deadline)
{
    _Atomic uint32_t *flag = &q->consumer_sleeping;
    return mqsi_wait(d, readable_fn, q, &flag, 1, deadline);
}

/* Empty, and no more will come? Read closed before re-checking emptiness:
 * the producer's last push happens before its release of closed. */
bool mqsi_queue_ended(const mqs_queue_shared *q)
{
    mqs_queue_shared *m = (mqs_queue_shared *)q;
    return atomic_load_explicit(&m->closed, memory_order_acquire) && !mqsi_queue_has_data(q);
}

int mqs_output_close(mqs_domain *d, uint32_t output)
{
    if (output >= d->ctl->output_count)
        return -ERANGE;
    const mqs_output_shared *o = &d->outputs[output];
    if (o->owner != d->process && d->process != 0)
        return -EPERM;
    for (uint32_t k = 0; k < o->queue_count; k++) {
        mqs_queue_shared *q = &d->queues[d->output_queues[o->queue_first + k]];
        atomic_store_explicit(&q->closed, 1, memory_order_release);
        /* Wake unconditionally (cold path): even a spin-mode consumer may sleep in a timed wait. */
        atomic_store_explicit(&q->consumer_sleeping, 1, memory_order_relaxed);
        mqsi_wake_if_sleeping(d, &q->consumer_sleeping, q->consumer);
    }
    return 0;
}

int mqs_output_reopen(mqs_domain *d, uint32_t output)
{
    if (output >= d->ctl->output_count)
        return -ERANGE;
    if (d->process != 0)
        return -EPERM;
    const mqs_output_shared *o = &d->outputs[output];
    for (uint32_t k = 0; k < o->queue_count; k++)
        atomic_store_explicit(&d->queues[d->output_queues[o->queue_first + k]].closed, 0, memory_order_release);
    return 0;
}

int mqs_queue_is_closed(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return 0;
    return (int)atomic_load_explicit(&d->queues[queue].closed, memory_order_acquire);
}

static bool has_space_fn(const mqs_domain *d, const void *arg)
{
    (void)d;
    return mqsi_queue_has_space(arg);
}

/* Producer side of a full `block` queue: wait for room until the deadline. */
static int mqsi_queue_wait_space(mqs_domain *d, mqs_queue_shared *q, mqsi_deadline *deadline)
{
    _Atomic uint32_t *flag = &q->producer_sleeping;
    return mqsi_wait(d, has_space_fn, q, &flag, 1, deadline);
}

int mqsi_queue_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value, mqsi_deadline *deadline, bool refs)
{
    for (;;) {
        if (mqsi_ring_try_push(d, q, value) == 0)
            return 0;
        uint64_t oldest;
        switch (q->policy) {
        case MQS_POLICY_DROP_NEWEST:
            mqsi_count(&q->dropped, 1);
            return MQSI_DROPPED;
        case MQS_POLICY_DROP_OLDEST:
            if (mqsi_ring_steal_oldest(d, q, &oldest) == 0) {
                mqsi_count(&q->dropped, 1);
                if (refs)
                    mqsi_slot_drop_ref(d, oldest);
            }
            continue;
        default:
            if (atomic_load_explicit(&q->consumer_gone, memory_order_acquire)) {
                /* Nobody will ever make room: drop rather than wait for ever. */
                mqsi_count(&q->dropped, 1);
                return MQSI_DROPPED;
            }
            if (deadline->timeout_ns == 0)
                return -EAGAIN;
            int rc = mqsi_queue_wait_space(d, q, deadline);
            if (rc)
                return rc;
        }
    }
}

int mqs_queue_push(mqs_domain *d, uint32_t queue, uint64_t value, int64_t timeout_ns)
{
    int rc = mqsi_queue_check_producer(d, queue);
    if (rc)
        return rc;
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    rc = mqsi_queue_push(d, &d->queues[queue], value, &deadline, false);
    return rc == MQSI_DROPPED ? 0 : rc;
}

int mqs_queue_pop(mqs_domain *d, uint32_t queue, uint64_t *out, int64_t timeout_ns)
{
    int rc = mqsi_queue_check_consumer(d, queue);
    if (rc)
        return rc;
    mqs_queue_shared *q = &d->queues[queue];
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    for (;;) {
        uint64_t pos, value;
        if (mqsi_ring_peek(d, q, &pos, &value) == 0) {
            if (mqsi_ring_commit_pop(d, q, pos) == 0) {
                *out = value;
                return 0;
            }
            continue;
        }
        if (mqsi_queue_ended(q))
            return -EPIPE;
        if (timeout_ns == 0)
            return -EAGAIN;
        rc = mqsi_queue_wait_readable(d, q, &deadline);
        if (rc)
            return rc;
    }
}

uint32_t mqs_queue_length(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return 0;
    mqs_queue_shared *q = &d->queues[queue];
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    return head >= tail ? (uint32_t)(head - tail) : 0;
}

int mqs_queue_stats_get(const mqs_domain *d, uint32_t queue, mqs_queue_stats *out)
{
    if (queue >= d->ctl->queue_count || !out)
        return -ERANGE;
    mqs_queue_shared *q = &d->queues[queue];
    *out = (mqs_queue_stats){
        .depth = q->depth,
        .length = mqs_queue_length(d, queue),
        .pushed = atomic_load_explicit(&q->pushed, memory_order_relaxed),
        .popped = atomic_load_explicit(&q->popped, memory_order_relaxed),
        .dropped = atomic_load_explicit(&q->dropped, memory_order_relaxed),
        .high_water = atomic_load_explicit(&q->high_water, memory_order_relaxed),
    };
    return 0;
}

uint32_t mqsi_queue_drain(mqs_domain *d, mqs_queue_shared *q)
{
    uint32_t dropped = 0;
    for (;;) {
        uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (tail == atomic_load_explicit(&q->head, memory_order_acquire))
            break;
        uint64_t value = atomic_load_explicit(&mqsi_entries(d, q)[tail & (q->depth - 1)], memory_order_relaxed);
        /* CAS: a drop_oldest producer may be taking entries at the same time. */
        if (!atomic_compare_exchange_strong_explicit(&q->tail, &tail, tail + 1, memory_order_acq_rel,
                                                     memory_order_relaxed))
            continue;
        q->cached_head = tail + 1;
        mqsi_slot_drop_ref(d, value);
        dropped++;
    }
    if (q->policy == MQS_POLICY_BLOCK)
        mqsi_wake_if_sleeping(d, &q->producer_sleeping, q->producer);
    return dropped;
}
