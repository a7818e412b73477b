/* The worker's input loop: rings -> process(). Waits on every input that
 * has not ended, takes a batch from a ready one, hands each buffer to the
 * block, and calls flush() once every input has ended. */
#include <errno.h>

#include "input_loop.h"

#define WAIT_SLICE_NS (100LL * 1000000) /* how often an idle worker looks at its stop flag */
#define BATCH 64                          /* buffers taken from one input before looking at the others */

/* Hand one buffer of input `port` to the block, alone (sync policy none). */
static int deliver(mqs_host *h, uint32_t port, mqs_buffer_id id)
{
    mqs_buffer view;
    const mqs_buffer *in[MQS_HOST_MAX_PORTS] = {0};
    mqs_host_view(h, id, &view);
    in[port] = &view;
    int rc = h->desc->process(&h->ctx, in);
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
        rc = deliver(h, port, id);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int mqs_input_loop_run(mqs_host *h)
{
    uint32_t live[MQS_HOST_MAX_PORTS], queues[MQS_HOST_MAX_PORTS];
    uint32_t n = h->ctx.input_count;
    for (uint32_t i = 0; i < n; i++)
        live[i] = i;
    while (n > 0 && !*h->stop_flag) {
        mqs_domain_heartbeat(h->domain);
        for (uint32_t i = 0; i < n; i++)
            queues[i] = h->inputs[live[i]];
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
    if (n == 0 && h->desc->flush)
        return h->desc->flush(&h->ctx);
    return 0;
}
