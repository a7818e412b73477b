/* mosaic: tiles two video inputs side by side, a left and b right, in one
 * frame of (wa + wb) x max(ha, hb). Both inputs carry the same format. A tile
 * whose input is missing from the set (sync `on_missing: partial`), and the
 * area below the shorter input, are black. The output takes the earliest pts
 * of the set, so latency measured downstream is that of the oldest capture. */
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/video.h"

typedef struct mosaic_state {
    uint64_t seq; /* the output numbers its own sets */
} mosaic_state;

typedef struct tile {
    const uint8_t *data; /* NULL: black */
    size_t row;          /* bytes per row */
    uint32_t rows;
} tile;

static const char *const names[2] = {"a", "b"};

/* One plane: each output row is tile a's row then tile b's row. */
static uint8_t *compose(uint8_t *dst, const tile t[2], uint32_t rows, uint8_t black)
{
    for (uint32_t y = 0; y < rows; y++)
        for (int i = 0; i < 2; i++) {
            if (t[i].data && y < t[i].rows)
                memcpy(dst, t[i].data + y * t[i].row, t[i].row);
            else
                memset(dst, black, t[i].row);
            dst += t[i].row;
        }
    return dst;
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    if (n_in < 2 || n_out < 1)
        return 0;
    unsigned formats = VIDEO_BIT(MQS_FORMAT_RGB24) | VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420);
    for (int i = 0; i < 2; i++) {
        int rc = video_accept(p, &in[i], names[i], formats, "mosaic takes rgb24, gray8 or i420");
        if (rc < 0)
            return rc;
    }
    if (in[0].format != in[1].format)
        return mqs_params_fail(p, "inputs a (%s) and b (%s) differ in format; convert one (e.g. with grayscale)",
                               video_format_name(in[0].format), video_format_name(in[1].format));
    if (in[0].format == MQS_FORMAT_I420 && in[0].width % 2)
        return mqs_params_fail(p, "input a is i420 %u pixels wide: tile b's chroma would straddle two samples; "
                               "scale a to an even width", in[0].width);
    uint32_t h = in[0].height > in[1].height ? in[0].height : in[1].height;
    video_caps(&out[0], in[0].format, in[0].width + in[1].width, h,
               in[0].rate > in[1].rate ? in[0].rate : in[1].rate);
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    mosaic_state *s = ctx->state;
    const mqs_caps *c = ctx->input_caps, *oc = &ctx->output_caps[0];
    const mqs_buffer *first = NULL;
    mqs_buffer out;
    int rc;
    for (uint32_t i = 0; i < 2; i++) {
        if (!in[i])
            continue;
        if ((rc = video_check(ctx, in[i], i, names[i])) < 0)
            return rc;
        if (!first || in[i]->meta->pts < first->meta->pts)
            first = in[i];
    }
    if (!first)
        return 0;
    if ((rc = out_alloc(ctx, 0, &out)) < 0 ||
        (rc = out_fits(ctx, &out, mqs_video_frame_size(oc->format, oc->width, oc->height))) < 0)
        return rc;
    unsigned bpp = c[0].format == MQS_FORMAT_RGB24 ? 3 : 1;
    tile t[2];
    for (int i = 0; i < 2; i++)
        t[i] = (tile){in[i] ? in[i]->data : NULL, (size_t)c[i].width * bpp, c[i].height};
    uint8_t *dst = compose(out.data, t, oc->height, 0);
    if (c[0].format == MQS_FORMAT_I420) { /* U then V: half-size planes after Y, black is 128 */
        tile u[2], v[2];
        for (int i = 0; i < 2; i++) {
            size_t y_size = (size_t)c[i].width * c[i].height, cw = (c[i].width + 1) / 2, ch = (c[i].height + 1) / 2;
            u[i] = (tile){t[i].data ? t[i].data + y_size : NULL, cw, (uint32_t)ch};
            v[i] = (tile){t[i].data ? t[i].data + y_size + cw * ch : NULL, cw, (uint32_t)ch};
        }
        dst = compose(dst, u, (oc->height + 1) / 2, 128);
        compose(dst, v, (oc->height + 1) / 2, 128);
    }
    mqs_copy_meta(&out, first);
    out.meta->flags |= (in[0] ? in[0]->meta->flags : 0) | (in[1] ? in[1]->meta->flags : 0);
    out.meta->flags &= ~(uint32_t)MQS_BUFFER_EOS;
    out.meta->seq = s->seq++;
    video_meta(&out, oc->format, oc->width, oc->height);
    return out_send(ctx, 0, &out);
}

static const mqs_port_spec ports[] = {
    {.name = "a", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "left tile"},
    {.name = "b", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "right tile, same format"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "a and b side by side"},
};

MQS_BLOCK_EXPORT(mosaic) = {
    MQS_BLOCK_HEADER,
    .name = "mosaic",
    .summary = "two videos side by side (use a sync policy to pair frames)",
    .kind = MQS_BLOCK_FILTER,
    .ports = ports,
    .port_count = 3,
    .state_size = sizeof(mosaic_state),
    .negotiate = negotiate,
    .process = process,
};
