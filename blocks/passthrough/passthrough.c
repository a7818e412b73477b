/* passthrough: forwards every input buffer unchanged, zero copy. The buffer
 * stays in its upstream pool; this block only takes a reference and sends
 * it, so it never touches a payload and never allocates from its own pool. */
#include <mqs/block.h>

#include "../common/io.h"

/* Output caps are the input's, but the pool is never used: its slots are
 * tiny. It keeps the input's slot count, which is what the buffers flowing
 * out really come from, so the next queue's default depth (a quarter of the
 * producer's pool) fits them. */
static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)p;
    if (n_in > 0 && n_out > 0) {
        out[0] = in[0];
        out[0].slot_size = 64;
    }
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    mqs_buffer fwd;
    if (!in[0])
        return 0;
    int rc = in_ref(ctx, in[0], &fwd);
    return rc < 0 ? rc : out_send(ctx, 0, &fwd);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .help = "anything"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "the same buffers, not copied"},
};

MQS_BLOCK_EXPORT(passthrough) = {
    MQS_BLOCK_HEADER,
    .name = "passthrough",
    .summary = "forwards every buffer unchanged (zero copy)",
    .kind = MQS_BLOCK_FILTER,
    .ports = ports,
    .port_count = 2,
    .negotiate = negotiate,
    .process = process,
};
