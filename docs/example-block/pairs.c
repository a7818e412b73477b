/* pairs: an out-of-tree block with aligned inputs. The graph aligns its two
 * inputs (`sync: { policy: exact }`); every process() call gets one input
 * set, which this block checks: both members present, equal pts, later than
 * the previous set's. At the end it writes one JSON line to `report`:
 *   {"sets":N,"bad":M,"partial":P}
 * Built with:  cc -shared $(pkg-config --cflags mqs) -o mqs_block_pairs.so pairs.c */
#include <stdio.h>

#include <mqs/block.h>

typedef struct pairs_state {
    long long sets, bad, partial;
    int64_t last_pts;
    char report[512];
} pairs_state;

static int init(mqs_block_ctx *ctx)
{
    pairs_state *s = ctx->state;
    snprintf(s->report, sizeof s->report, "%s", mqs_param_string(ctx->params, "report"));
    s->last_pts = INT64_MIN;
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    pairs_state *s = ctx->state;
    const mqs_input_set *set;
    int rc = mqs_input_set_get(ctx, &set);
    if (rc < 0)
        return rc; /* a host older than SDK 1.1 */
    s->sets++;
    if (set->flags & MQS_SET_PARTIAL) {
        s->partial++;
        return 0;
    }
    if (!in[0] || !in[1] || in[0]->meta->pts != in[1]->meta->pts || set->pts != in[0]->meta->pts ||
        set->spread != 0 || set->pts <= s->last_pts)
        s->bad++;
    s->last_pts = set->pts;
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    pairs_state *s = ctx->state;
    FILE *f = fopen(s->report, "a");
    if (!f) {
        mqs_log(ctx, MQS_LOG_ERROR, "cannot write report file '%s'", s->report);
        return;
    }
    fprintf(f, "{\"sets\":%lld,\"bad\":%lld,\"partial\":%lld}\n", s->sets, s->bad, s->partial);
    fclose(f);
}

static const mqs_port_spec ports[] = {
    {.name = "left", .direction = MQS_PORT_INPUT},
    {.name = "right", .direction = MQS_PORT_INPUT},
};

static const mqs_param_spec params[] = {
    {.key = "report", .type = MQS_PARAM_STRING, .default_value = "pairs.json", .help = "file to append the counts to"},
};

MQS_BLOCK_EXPORT(pairs) = {
    MQS_BLOCK_HEADER,
    .name = "pairs",
    .summary = "checks the aligned pairs it receives",
    .kind = MQS_BLOCK_SINK,
    .flags = MQS_BLOCK_ALIGNED,
    .ports = ports,
    .port_count = 2,
    .params = params,
    .param_count = 1,
    .state_size = sizeof(pairs_state),
    .init = init,
    .process = process,
    .fini = fini,
};
