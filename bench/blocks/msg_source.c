/* msg_source: a source for benchmarks. `count` messages of `size` bytes,
 * as fast as the graph takes them (rate 0) or `rate` per second on a fixed
 * schedule. Every payload byte is written (a camera or a sensor fills its
 * buffer too, and the copying baselines must fill theirs), the first eight
 * hold the sequence number, and pts is the time of the send, so a sink can
 * tell one-way latency from it. The output asks for no slot count: it gets
 * the default a graph gives. */
#include <string.h>

#include <mqs/block.h>

typedef struct msg_state {
    uint64_t size, count, seq;
    int64_t period_ns, next_ns;
} msg_state;

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)in, (void)n_in;
    if (n_out >= 1)
        out[0] = (mqs_caps){.slot_size = (uint64_t)mqs_param_int(p, "size")};
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    msg_state *s = ctx->state;
    s->size = (uint64_t)mqs_param_int(ctx->params, "size");
    s->count = (uint64_t)mqs_param_int(ctx->params, "count");
    double rate = mqs_param_double(ctx->params, "rate");
    s->period_ns = rate > 0 ? (int64_t)(1e9 / rate + 0.5) : 0;
    return 0;
}

/* 1 when the next message is due; 0 to return and be called again (the
 * host looks at its stop flag in between). */
static int due(mqs_block_ctx *ctx, msg_state *s)
{
    if (s->period_ns == 0)
        return 1;
    if (s->next_ns == 0)
        s->next_ns = mqs_now(ctx);
    if (mqs_wait_until(ctx, s->next_ns) != 0)
        return 0;
    s->next_ns += s->period_ns;
    return 1;
}

static int produce(mqs_block_ctx *ctx)
{
    msg_state *s = ctx->state;
    if (s->seq >= s->count)
        return MQS_EOS;
    if (!due(ctx, s))
        return 0;
    mqs_buffer b;
    int rc = mqs_alloc(ctx, 0, &b);
    if (rc < 0)
        return rc;
    memset(b.data, (int)(s->seq & 0xff), s->size);
    memcpy(b.data, &s->seq, s->size < 8 ? s->size : 8);
    b.meta->length = s->size;
    b.meta->seq = s->seq++;
    b.meta->pts = mqs_now(ctx);
    rc = mqs_send(ctx, 0, &b);
    if (rc < 0)
        return rc;
    return s->seq >= s->count ? MQS_EOS : 0;
}

static const mqs_port_spec ports[] = {
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "`size` bytes, the sequence number first"},
};

static const mqs_param_spec params[] = {
    {.key = "size", .type = MQS_PARAM_SIZE, .default_value = "64", .min = 8, .max = 1e9, .help = "bytes per message"},
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "1000", .min = 1, .max = 1e12, .help = "messages, then end of stream"},
    {.key = "rate", .type = MQS_PARAM_DOUBLE, .default_value = "0", .min = 0, .max = 1e7,
     .help = "messages per second; 0: as fast as the graph takes them"},
};

MQS_BLOCK_EXPORT(msg_source) = {
    MQS_BLOCK_HEADER,
    .name = "msg_source",
    .summary = "numbered messages of a given size, paced or as fast as possible (benchmarks)",
    .kind = MQS_BLOCK_SOURCE,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(msg_state),
    .negotiate = negotiate,
    .init = init,
    .produce = produce,
};
