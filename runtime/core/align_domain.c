/* The aligner of one process's inputs, configured from what the domain
 * says about them (align.h). Kept apart from align.c, which knows nothing of
 * domains, so the aligner itself stays a pure module. */
#include <errno.h>

#include "align.h"
#include "internal.h"

static void release_reference(void *domain, mqs_buffer_id id)
{
    mqs_buffer_unref(domain, id);
}

mqs_aligner *mqs_align_create_for(mqs_domain *d, const uint32_t *queues, uint32_t count)
{
    mqsi_clear_error();
    const mqs_align_shared *s = &d->aligns[d->process];
    if (s->policy == MQS_SYNC_NONE || count == 0 || count > MQS_ALIGN_MAX_INPUTS) {
        mqsi_fail(-EINVAL, "process %u does not align %u inputs", d->process, count);
        return NULL;
    }
    mqs_align_config c = {
        .policy = (mqs_sync_policy)s->policy, .reference = UINT32_MAX, .tolerance_ns = s->tolerance_ns,
        .timeout_ns = s->timeout_ns, .partial = s->partial != 0, .input_count = count,
        .counters = &d->aligns[d->process], .release = release_reference, .release_arg = d,
    };
    for (uint32_t k = 0; k < count; k++) {
        if (mqsi_queue_check_consumer(d, queues[k]) != 0) {
            mqsi_fail(-EPERM, "queue %u is not an input of process %u", queues[k], d->process);
            return NULL;
        }
        const mqs_queue_shared *q = &d->queues[queues[k]];
        c.inputs[k] = (mqs_align_input_config){.depth = q->depth, .period_ns = q->period_ns,
                                               .optional = (q->input_flags & MQS_INPUT_OPTIONAL) != 0,
                                               .counters = &d->inputs[queues[k]]};
        if (queues[k] == s->reference)
            c.reference = k;
    }
    return mqs_align_create(&c); /* refuses a reference policy whose reference is not among them */
}
