/* grayscale: video to gray8, luma by full-range BT.601 in integer math (the
 * luma pattern_source and y4m's C mono use). gray8 input is forwarded as it
 * is (zero copy); i420 gives its Y plane. */
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/video.h"

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    if (n_in < 1 || n_out < 1)
        return 0;
    int rc = video_accept(p, &in[0], "in",
                          VIDEO_BIT(MQS_FORMAT_RGB24) | VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420),
                          "grayscale takes rgb24, gray8 or i420");
    if (rc < 0)
        return rc;
    video_caps(&out[0], MQS_FORMAT_GRAY8, in[0].width, in[0].height, in[0].rate);
    if (in[0].format == MQS_FORMAT_GRAY8)
        out[0].slot_count = 1, out[0].slot_size = 64; /* forwards, never allocates */
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    const mqs_buffer *src = in[0];
    const mqs_caps *c = &ctx->input_caps[0];
    mqs_buffer out;
    int rc;
    if (!src)
        return 0;
    if ((rc = video_check(ctx, src, 0, "in")) < 0)
        return rc;
    if (c->format == MQS_FORMAT_GRAY8)
        return (rc = in_ref(ctx, src, &out)) < 0 ? rc : out_send(ctx, 0, &out);
    size_t n = (size_t)c->width * c->height;
    if ((rc = out_alloc(ctx, 0, &out)) < 0 || (rc = out_fits(ctx, &out, n)) < 0)
        return rc;
    const uint8_t *s = src->data;
    uint8_t *d = out.data;
    if (c->format == MQS_FORMAT_RGB24)
        for (size_t i = 0; i < n; i++, s += 3)
            d[i] = (uint8_t)((77 * s[0] + 150 * s[1] + 29 * s[2] + 128) >> 8);
    else
        memcpy(d, s, n); /* i420: the Y plane is the luma */
    mqs_copy_meta(&out, src);
    out.meta->seq = src->meta->seq; /* 1:1 filter: downstream still sees upstream gaps */
    video_meta(&out, MQS_FORMAT_GRAY8, c->width, c->height);
    return out_send(ctx, 0, &out);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "rgb24, gray8 or i420"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "gray8"},
};

MQS_BLOCK_EXPORT(grayscale) = {
    MQS_BLOCK_HEADER,
    .name = "grayscale",
    .summary = "video to gray8 (BT.601 luma)",
    .kind = MQS_BLOCK_FILTER,
    .ports = ports,
    .port_count = 2,
    .negotiate = negotiate,
    .process = process,
};
