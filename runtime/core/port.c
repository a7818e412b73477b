/* Ports: moving buffer references through queues, and ending streams.
 * send turns the caller's one reference into one per queue of the output
 * (fan-out); receive turns a queue entry into a reference the caller holds;
 * close ends an output's streams. send and receive note every step in the
 * journal (core/journal.h), so reclaim can tell exactly what a process
 * killed in the middle had done. */
#include <errno.h>

#include "journal.h"

#define MAX_WAIT_QUEUES 64

/* Release the caller's reference (send always consumes it) and return err. */
static int consume(mqs_domain *d, mqs_buffer_id id, int err)
{
    mqs_buffer_unref(d, id);
    return err;
}

/* Hand one of our references to `queue`. Returns 1 if it was queued, 0 if
 * the queue's policy dropped it, or -ETIMEDOUT/-ECANCELED (dropped too). The
 * entry a drop_oldest push replaced is released here. */
static int deliver(mqs_domain *d, uint32_t queue, mqs_buffer_id id, mqsi_deadline *deadline)
{
    mqs_queue_shared *q = &d->queues[queue];
    mqsi_journal_queue(d, queue, atomic_load_explicit(&q->head, memory_order_relaxed));
    uint64_t stolen;
    int rc = mqsi_queue_push(d, q, id, deadline, true, &stolen);
    if (stolen)
        mqsi_slot_change(d, stolen, -1);
    if (rc == 0)
        return 1;
    if (rc != MQSI_DROPPED)
        mqsi_count(&q->dropped, 1); /* a `block` queue stayed full, or we are stopping */
    mqsi_slot_change(d, id, -1);
    if (rc == MQSI_DROPPED)
        return 0;
    return rc == -EAGAIN ? -ETIMEDOUT : rc;
}

/* Journal: SEND, stage 1 once the count is raised, 1 + k once k queues are settled. */
static int send_to_all(mqs_domain *d, const mqs_output_shared *out, uint32_t taps, mqs_buffer_id id,
                       int64_t timeout_ns)
{
    uint32_t n = out->queue_count + (uint32_t)__builtin_popcount(taps);
    int rc = n > 1 ? mqsi_slot_change(d, id, (int32_t)(n - 1)) : 0;
    if (rc)
        return rc;
    mqsi_journal_stage(d, 1);
    /* Our own reference becomes one of the n: it leaves our table at the end. */
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns), no_wait = mqsi_deadline_in(0);
    int delivered = 0, failure = 0;
    for (uint32_t k = 0; k < n; k++) {
        int r = deliver(d, mqsi_send_target(d, out, taps, k), id, failure ? &no_wait : &deadline);
        mqsi_journal_stage(d, 2 + k);
        if (r > 0)
            delivered++;
        else if (r < 0)
            failure = r;
    }
    mqsi_held_remove(d, id);
    return failure ? failure : delivered;
}

int mqs_output_send(mqs_domain *d, uint32_t output, mqs_buffer_id id, int64_t timeout_ns)
{
    if (mqsi_is_observer(d))
        return -EPERM;
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
    mqsi_journal_begin(d, MQS_OP_SEND, id, held);
    mqsi_journal_output(d, output);
    /* After the journal names the output: a tap leaving waits for a send it
     * may have missed (core/tap.c; its system-wide barrier orders the two). */
    uint32_t taps = atomic_load_explicit(&((mqs_output_shared *)out)->taps, memory_order_acquire);
    if (out->queue_count == 0 && taps == 0) {
        mqsi_journal_end(d);
        return consume(d, id, 0);
    }
    mqsi_journal_taps(d, taps);
    int rc = send_to_all(d, out, taps, id, timeout_ns);
    mqsi_journal_end(d);
    /* The count could not be raised (a stale ID): our reference is still ours. */
    return rc == -ESTALE || rc == -EINVAL || rc == -EOVERFLOW ? consume(d, id, rc) : rc;
}

int mqs_queue_receive(mqs_domain *d, uint32_t queue, mqs_buffer_id *out, int64_t timeout_ns)
{
    return mqsi_queue_take(d, queue, out, timeout_ns, true);
}

/* ---- waiting on several inputs ---- */

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
    if (any_ready(d, &w)) {
        mqsi_input_arrived(d);
        return w.found;
    }
    if (timeout_ns == 0)
        return -ETIMEDOUT;
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    int rc = mqsi_wait(d, MQS_WAIT_FOR_INPUT, any_ready, &w, flags, count, &deadline);
    return rc ? rc : w.found;
}

/* ---- end of stream ---- */

int mqs_output_close(mqs_domain *d, uint32_t output)
{
    if (output >= d->ctl->output_count)
        return -ERANGE;
    mqs_output_shared *o = &d->outputs[output];
    if (o->owner != d->process && d->process != 0)
        return -EPERM;
    /* A tap attaching now looks at the output's queues after it is in the
     * taps word (core/tap.c), so it is closed either here or by itself. */
    uint32_t taps = atomic_load_explicit(&o->taps, memory_order_seq_cst);
    uint32_t n = o->queue_count + (uint32_t)__builtin_popcount(taps);
    for (uint32_t k = 0; k < n; k++) {
        mqs_queue_shared *q = &d->queues[mqsi_send_target(d, o, taps, k)];
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
    mqs_output_shared *o = &d->outputs[output];
    uint32_t taps = atomic_load_explicit(&o->taps, memory_order_acquire);
    uint32_t n = o->queue_count + (uint32_t)__builtin_popcount(taps);
    for (uint32_t k = 0; k < n; k++)
        atomic_store_explicit(&d->queues[mqsi_send_target(d, o, taps, k)].closed, 0, memory_order_release);
    return 0;
}
