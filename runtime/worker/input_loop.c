/* The worker's input loop: rings -> aligner -> process().
 *
 * Without a sync policy each buffer goes to the block alone, as it arrives:
 * wait on every input that has not ended, take a batch from a ready one, hand
 * each buffer over. With one, every buffer goes through the aligner
 * (core/align.h), which holds it (its reference stays in this process's held
 * table, so a crash mid-set is reclaimed like any other) until it is part of
 * an input set or dropped; the loop pulls only from inputs the aligner has
 * room for, so a full input's ring applies its own policy (block: lossless
 * backpressure), and it sleeps no longer than the aligner's next deadline.
 * Once every input has ended (and the aligner has decided everything) the
 * block's flush() runs. */
#include <errno.h>

#include "core/align.h"
#include "input_loop.h"
#include "live_params.h"

#define WAIT_SLICE_NS (100LL * 1000000) /* how often an idle worker looks at its stop flag */
#define BATCH 64                          /* buffers taken from one input before looking at the others */

/* ---- without alignment ---- */

/* Hand one buffer of input `port` to the block, alone. */
static int deliver_one(mqs_host *h, uint32_t port, mqs_buffer_id id)
{
    mqs_buffer view;
    const mqs_buffer *in[MQS_HOST_MAX_PORTS] = {0};
    mqs_host_view(h, id, &view);
    in[port] = &view;
    h->set.flags = 0;
    h->set.pts = view.meta->pts;
    h->set.spread = 0;
    int rc = mqs_host_call(h, in);
    mqs_buffer_unref(h->domain, id); /* borrowed for the call only */
    return rc;
}

/* Take up to BATCH buffers from one input. Returns 1 if the input ended. */
static int drain_input(mqs_host *h, uint32_t port)
{
    for (int n = 0; n < BATCH; n++) {
        mqs_buffer_id id;
        int rc = mqs_queue_receive(h->domain, h->inputs[port], &id, 0);
        if (rc == -EAGAIN)
            return 0;
        if (rc == -EPIPE)
            return 1;
        if (rc < 0)
            return rc;
        rc = deliver_one(h, port, id);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int run_unaligned(mqs_host *h)
{
    uint32_t live[MQS_HOST_MAX_PORTS], queues[MQS_HOST_MAX_PORTS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < h->ctx.input_count; i++)
        if (h->inputs[i] != MQS_HOST_ABSENT)
            live[n++] = i;
    while (n > 0 && !*h->stop_flag) {
        mqs_domain_heartbeat(h->domain);
        mqs_live_params_poll(h);
        for (uint32_t i = 0; i < n; i++)
            queues[i] = h->inputs[live[i]];
        mqs_host_mark(h, MQS_ACTIVITY_WAIT_INPUT, 0);
        int r = mqs_wait_any(h->domain, queues, n, WAIT_SLICE_NS);
        if (r == -ETIMEDOUT)
            continue;
        if (r < 0)
            return r == -ECANCELED ? 0 : r;
        int ended = drain_input(h, live[r]);
        if (ended < 0)
            return ended;
        if (ended)
            live[r] = live[--n];
    }
    if (n == 0)
        return mqs_host_flush(h);
    return 0;
}

/* ---- with alignment ---- */

typedef struct aligned {
    mqs_host *h;
    mqs_aligner *aligner;
    uint32_t count;                        /* connected inputs = aligner inputs */
    uint32_t port[MQS_HOST_MAX_PORTS];     /* aligner input -> the block's input port */
    bool ended[MQS_HOST_MAX_PORTS];
    mqs_buffer view[MQS_HOST_MAX_PORTS];   /* per port: the set's buffers */
    mqs_buffer next_view[MQS_HOST_MAX_PORTS];
} aligned;

/* Move what is waiting in input k's ring into the aligner, while it has
 * room. Returns how many buffers moved, or a negative error. */
static int pull_input(aligned *l, uint32_t k, int64_t now)
{
    mqs_domain *d = l->h->domain;
    int moved = 0;
    while (moved < BATCH && !l->ended[k] && mqs_align_has_room(l->aligner, k)) {
        mqs_buffer_id id;
        int rc = mqs_queue_receive(d, l->h->inputs[l->port[k]], &id, 0);
        if (rc == -EAGAIN)
            break;
        if (rc == -EPIPE) {
            l->ended[k] = true;
            mqs_align_end(l->aligner, k);
            return moved + 1; /* an end is news for the aligner too */
        }
        if (rc < 0)
            return rc;
        mqs_align_push(l->aligner, k, mqs_buffer_meta_of(d, id)->pts, id, now);
        moved++;
    }
    return moved;
}

static int pull_all(aligned *l, int64_t now)
{
    int total = 0;
    for (uint32_t k = 0; k < l->count; k++) {
        int rc = pull_input(l, k, now);
        if (rc < 0)
            return rc;
        total += rc;
    }
    return total;
}

static void view_or_null(mqs_host *h, mqs_buffer_id id, mqs_buffer *view, const mqs_buffer **slot)
{
    *slot = NULL;
    if (id == MQS_BUFFER_ID_NONE)
        return;
    mqs_host_view(h, id, view);
    *slot = view;
}

/* Hand one aligned set to the block, described in h->set. */
static int deliver_set(aligned *l, const mqs_align_set *s)
{
    mqs_host *h = l->h;
    const mqs_buffer *in[MQS_HOST_MAX_PORTS] = {0};
    for (uint32_t i = 0; i < h->ctx.input_count; i++) {
        h->set_next[i] = NULL;
        h->set_weight[i] = 0;
    }
    for (uint32_t k = 0; k < l->count; k++) {
        uint32_t p = l->port[k];
        view_or_null(h, s->id[k], &l->view[p], &in[p]);
        view_or_null(h, s->next[k], &l->next_view[p], &h->set_next[p]);
        h->set_weight[p] = s->weight[k];
    }
    h->set.flags = s->partial ? MQS_SET_PARTIAL : 0;
    h->set.pts = s->pts;
    h->set.spread = s->spread;
    return mqs_host_call(h, in);
}

/* Every set that is final now. The clock is read for each: a set that
 * waited behind the block's work on earlier ones shows it in its latency. */
static int deliver_ready(aligned *l, bool *delivered)
{
    const mqs_align_set *s;
    while ((s = mqs_align_next(l->aligner, mqs_now_ns())) != NULL) {
        int rc = deliver_set(l, s);
        mqs_align_done(l->aligner);
        *delivered = true;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Sleep until an input with room has data, the aligner's deadline, or the
 * slice. 0, or -ECANCELED when the graph stops. */
static int wait_for_work(aligned *l, int64_t now)
{
    uint32_t queues[MQS_HOST_MAX_PORTS], n = 0;
    for (uint32_t k = 0; k < l->count; k++)
        if (!l->ended[k] && mqs_align_has_room(l->aligner, k))
            queues[n++] = l->h->inputs[l->port[k]];
    int64_t deadline = mqs_align_deadline(l->aligner), timeout = WAIT_SLICE_NS;
    if (deadline - now < timeout)
        timeout = deadline > now ? deadline - now : 0;
    mqs_host_mark(l->h, MQS_ACTIVITY_WAIT_INPUT, 0);
    if (n == 0) {
        mqs_sleep_ns(timeout);
        return mqs_domain_stop_requested(l->h->domain) ? -ECANCELED : 0;
    }
    int r = mqs_wait_any(l->h->domain, queues, n, timeout);
    return r == -ECANCELED ? r : 0;
}

static int align_loop(aligned *l)
{
    mqs_host *h = l->h;
    while (!*h->stop_flag && !mqs_align_finished(l->aligner)) {
        mqs_domain_heartbeat(h->domain);
        mqs_live_params_poll(h);
        int64_t now = mqs_now_ns();
        int pulled = pull_all(l, now);
        if (pulled < 0)
            return pulled;
        bool delivered = false;
        int rc = deliver_ready(l, &delivered);
        if (rc < 0)
            return rc;
        if (!pulled && !delivered && (rc = wait_for_work(l, now)) < 0)
            return rc == -ECANCELED ? 0 : rc;
    }
    if (mqs_align_finished(l->aligner))
        return mqs_host_flush(h);
    return 0;
}

static int run_aligned(mqs_host *h)
{
    aligned l = {.h = h};
    uint32_t queues[MQS_HOST_MAX_PORTS];
    for (uint32_t i = 0; i < h->ctx.input_count; i++)
        if (h->inputs[i] != MQS_HOST_ABSENT) {
            l.port[l.count] = i;
            queues[l.count++] = h->inputs[i];
        }
    l.aligner = mqs_align_create_for(h->domain, queues, l.count);
    if (!l.aligner) {
        mqs_host_logf(h, MQS_LOG_ERROR, "cannot align the inputs: %s", mqs_last_error());
        return -EINVAL;
    }
    int rc = align_loop(&l);
    mqs_align_destroy(l.aligner); /* gives back whatever it still held (a stop) */
    return rc;
}

int mqs_input_loop_run(mqs_host *h)
{
    mqs_sync_config sync;
    if (mqs_process_sync(h->domain, mqs_domain_process(h->domain), &sync) == 0 && sync.policy != MQS_SYNC_NONE)
        return run_aligned(h);
    return run_unaligned(h);
}
