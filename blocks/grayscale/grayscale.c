/* grayscale: video to gray8, luma by full-range BT.601 in integer math (the
 * luma pattern_source and y4m's C mono use). i420 gives its Y plane; gray8
 * input is copied as it is (a transform() block always writes a new buffer;
 * a graph that is already gray8 does not need this block). */
#include <string.h>

#include <mqs/block.h>

#include "../common/vectorize.h"
#include "../common/video.h"

/* x86-64's baseline (SSE2) has no byte shuffle to take rgb triplets apart,
 * so there the loop stays scalar; its VECTOR_CLONES AVX2 copy runs on CPUs
 * that have one. */

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    if (n_in < 1 || n_out < 1)
        return 0;
    int rc = video_accept(p, &in[0], "in",
                          VIDEO_BIT(MQS_FORMAT_RGB24) | VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420),
                          "grayscale takes rgb24, gray8 or i420");
    if (rc == 0)
        video_caps(&out[0], MQS_FORMAT_GRAY8, in[0].width, in[0].height, in[0].rate);
    return rc;
}

static inline uint8_t luma(const uint8_t *rgb)
{
    return (uint8_t)((77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) >> 8);
}

/* `n` rgb24 pixels to gray8. */
VECTOR_CLONES static void rgb_to_gray(const uint8_t *restrict s, uint8_t *restrict d, size_t n)
{
    for (; n >= VECTOR_CHUNK; n -= VECTOR_CHUNK, s += 3 * VECTOR_CHUNK, d += VECTOR_CHUNK)
        for (size_t k = 0; k < VECTOR_CHUNK; k++)
            d[k] = luma(s + 3 * k);
    for (size_t k = 0; k < n; k++)
        d[k] = luma(s + 3 * k);
}

/* The host has sized `out` for a gray8 frame and set its meta. */
static int transform(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    int rc = video_check(ctx, in, 0, "in");
    if (rc < 0)
        return rc;
    const uint8_t *s = in->data;
    uint8_t *d = out->data;
    size_t n = out->meta->length;
    if (ctx->input_caps[0].format == MQS_FORMAT_RGB24)
        rgb_to_gray(s, d, n);
    else
        memcpy(d, s, n); /* gray8, or i420 whose Y plane is the luma */
    return 0;
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
    .transform = transform,
};
