/* invert: an out-of-tree multiqueue-shm block. Inverts every byte of a video
 * frame. Built with:  cc -shared $(pkg-config --cflags mqs) -o mqs_block_invert.so invert.c */
#include <mqs/block.h>

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    mqs_buffer out;
    int rc = mqs_alloc(ctx, 0, &out);
    if (rc < 0)
        return rc;
    const uint8_t *src = in[0]->data;
    uint8_t *dst = out.data;
    uint64_t n = in[0]->meta->length;
    for (uint64_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(255 - src[i]);
    mqs_copy_meta(&out, in[0]);
    out.meta->length = n;
    return mqs_send(ctx, 0, &out);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO},
    {.name = "out", .direction = MQS_PORT_OUTPUT},
};

MQS_BLOCK_EXPORT(invert) = {
    MQS_BLOCK_HEADER,
    .name = "invert",
    .summary = "invert every byte of a video frame",
    .kind = MQS_BLOCK_FILTER,
    .ports = ports,
    .port_count = 2,
    .process = process,
};
