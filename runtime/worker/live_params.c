/* Live params. A change is checked as the graph's own values are at start:
 * the value against its spec (type, units, range, choices), then every param
 * together through the block's negotiate(), whose caps must be those the
 * graph runs with (a running output cannot change its format or outgrow its
 * slots). Only then does the block's set_param() see it; if it refuses, the
 * old params stay. Nothing is half-applied. */
#include <stdio.h>
#include <string.h>

#include "graph/params.h"
#include "live_params.h"

/* What negotiate() says the outputs carry with `p`, compared to what they
 * carry now. 0, or -EINVAL with why in `why`. */
static int check_caps(mqs_host *h, const mqs_params *p, char *why, size_t len)
{
    const mqs_block_descriptor *d = h->desc;
    if (!d->negotiate)
        return 0; /* outputs copy the inputs' caps, whatever the params */
    mqs_caps outputs[MQS_HOST_MAX_PORTS] = {0};
    int rc = d->negotiate(p, h->input_caps, h->ctx.input_count, outputs, h->ctx.output_count);
    if (rc < 0) {
        snprintf(why, len, "%s", mqs_params_failure(p)[0] ? mqs_params_failure(p) : mqs_strerror(rc));
        return -EINVAL;
    }
    for (uint32_t o = 0; o < h->ctx.output_count; o++) {
        const mqs_caps *now = &h->output_caps[o], *want = &outputs[o];
        if (want->header_type != now->header_type || want->format != now->format || want->width != now->width ||
            want->height != now->height || want->sample_type != now->sample_type) {
            snprintf(why, len, "it would change what output %u carries; stop the graph and edit the graph file", o);
            return -EINVAL;
        }
        uint64_t slot = mqs_pool_slot_size(h->domain, h->pools[o]);
        if (want->slot_size > slot) {
            snprintf(why, len, "output %u would need %llu-byte slots, its pool has %llu", o,
                     (unsigned long long)want->slot_size, (unsigned long long)slot);
            return -EINVAL;
        }
    }
    return 0;
}

/* 0 and the new params in effect, or -errno with why. */
static int set_param(mqs_host *h, const char *key, const char *text, char *why, size_t len)
{
    const mqs_param_spec *spec = mqs_param_find(h->desc, key);
    if (!spec) {
        mqs_param_unknown(h->desc, key, why, len);
        return -ENOENT;
    }
    if (!(spec->flags & MQS_PARAM_LIVE) || !h->desc->set_param) {
        snprintf(why, len, "param '%s' of %s cannot change while the graph runs (mqctl blocks %s shows which can)",
                 key, h->desc->name, h->desc->name);
        return -EPERM;
    }
    mqs_params *next = mqs_params_with(h->params, key, text, why, len);
    if (!next)
        return -EINVAL;
    int rc = check_caps(h, next, why, len);
    if (rc == 0) {
        mqs_host_mark(h, MQS_ACTIVITY_CALL, 0);
        rc = h->desc->set_param(&h->ctx, next, key);
        mqs_host_mark(h, MQS_ACTIVITY_IDLE, 0);
        if (rc < 0)
            snprintf(why, len, "%s", mqs_params_failure(next)[0] ? mqs_params_failure(next) : mqs_strerror(rc));
    }
    if (rc < 0) {
        mqs_params_free(next);
        return rc;
    }
    mqs_params_free(h->params);
    h->params = next;
    snprintf(why, len, "%.100s.%.64s = %.300s", h->instance, key, text);
    return 0;
}

void mqs_live_params_poll(mqs_host *h)
{
    mqs_command cmd;
    if (!mqs_command_take(h->domain, &cmd))
        return;
    char reply[MQS_COMMAND_REPLY_MAX];
    int rc = -ENOTSUP;
    if (cmd.kind == MQS_COMMAND_SET_PARAM)
        rc = set_param(h, cmd.key, cmd.value, reply, sizeof reply);
    else
        snprintf(reply, sizeof reply, "unknown command %d", (int)cmd.kind);
    mqs_host_logf(h, rc == 0 ? MQS_LOG_INFO : MQS_LOG_WARN, "%s%s", rc == 0 ? "set " : "refused a change: ", reply);
    mqs_command_finish(h->domain, rc, reply);
}
