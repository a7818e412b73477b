/* null_sink: takes everything and drops it; counts buffers and bytes. */
#include <mqs/block.h>

typedef struct null_state {
    uint64_t frames, bytes;
} null_state;

static void report_counts(mqs_block_ctx *ctx, const null_state *s)
{
    mqs_report(ctx, "frames", (double)s->frames);
    mqs_report(ctx, "bytes", (double)s->bytes);
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    null_state *s = ctx->state;
    if (in[0]) {
        s->frames++;
        s->bytes += in[0]->meta->length;
        if ((s->frames & 1023) == 0) /* live for tools, at no cost per buffer worth naming */
            report_counts(ctx, s);
    }
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    report_counts(ctx, ctx->state);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .help = "anything"},
};

MQS_BLOCK_EXPORT(null_sink) = {
    MQS_BLOCK_HEADER,
    .name = "null_sink",
    .summary = "drops every buffer, counting them",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .state_size = sizeof(null_state),
    .process = process,
    .fini = fini,
};
