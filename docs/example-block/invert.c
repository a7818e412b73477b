/* invert: an out-of-tree multiqueue-shm block. Inverts every byte of a video
 * frame. Built with:  cc -shared $(pkg-config --cflags mqs) -o mqs_block_invert.so invert.c */
#include <mqs/block.h>

/* The host allocated `out`, sized it and copied in's meta; write the payload. */
static int invert(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    (void)ctx;
    const uint8_t *src = in->data;
    uint8_t *dst = out->data;
    for (uint64_t i = 0; i < out->meta->length; i++)
        dst[i] = (uint8_t)(255 - src[i]);
    return 0;
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
    .transform = invert,
};
