/* scale: resizes video (gray8, rgb24, i420) with bilinear interpolation in
 * 8-bit fixed point. Sample positions are centre-aligned (pixel centres of
 * the two grids line up) and computed once in init; a big downscale aliases,
 * as bilinear does. */
#include <stdlib.h>

#include <mqs/block.h>

#include "../common/video.h"

/* For each output row or column: the first source sample and the weight of
 * the next one, in 1/256. */
typedef struct axis_map {
    uint32_t *idx;
    uint16_t *frac;
} axis_map;

typedef struct plane_map {
    uint32_t sw, sh, dw, dh;
    axis_map x, y;
} plane_map;

typedef struct scale_state {
    uint32_t format;
    plane_map plane[2]; /* luma (or rgb/gray) and i420 chroma */
    void *tables;
} scale_state;

static void map_axis(axis_map *m, uint32_t dst, uint32_t src)
{
    for (uint32_t d = 0; d < dst; d++) {
        double x = (d + 0.5) * src / dst - 0.5;
        x = x < 0 ? 0 : x > src - 1 ? src - 1 : x;
        uint32_t i = (uint32_t)x, f = (uint32_t)((x - i) * 256 + 0.5);
        if (f == 256)
            i++, f = 0;
        m->idx[d] = i;
        m->frac[d] = (uint16_t)f;
    }
}

static void scale_plane(const plane_map *m, const uint8_t *src, uint8_t *dst, unsigned ch)
{
    size_t stride = (size_t)m->sw * ch;
    for (uint32_t y = 0; y < m->dh; y++) {
        const uint8_t *r0 = src + m->y.idx[y] * stride;
        const uint8_t *r1 = m->y.idx[y] + 1 < m->sh ? r0 + stride : r0;
        uint32_t fy = m->y.frac[y];
        for (uint32_t x = 0; x < m->dw; x++) {
            size_t a = (size_t)m->x.idx[x] * ch, b = m->x.idx[x] + 1 < m->sw ? a + ch : a;
            uint32_t fx = m->x.frac[x];
            for (unsigned c = 0; c < ch; c++) {
                uint32_t top = r0[a + c] * (256 - fx) + r0[b + c] * fx;
                uint32_t bottom = r1[a + c] * (256 - fx) + r1[b + c] * fx;
                *dst++ = (uint8_t)((top * (256 - fy) + bottom * fy + 32768) >> 16);
            }
        }
    }
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    if (n_in < 1 || n_out < 1)
        return 0;
    int rc = video_accept(p, &in[0], "in",
                          VIDEO_BIT(MQS_FORMAT_RGB24) | VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420),
                          "scale takes rgb24, gray8 or i420");
    if (rc == 0)
        video_caps(&out[0], in[0].format, (uint32_t)mqs_param_int(p, "width"), (uint32_t)mqs_param_int(p, "height"),
                   in[0].rate);
    return rc;
}

static int init(mqs_block_ctx *ctx)
{
    scale_state *s = ctx->state;
    const mqs_caps *in = &ctx->input_caps[0], *out = &ctx->output_caps[0];
    s->format = in->format;
    s->plane[0] = (plane_map){.sw = in->width, .sh = in->height, .dw = out->width, .dh = out->height};
    s->plane[1] = (plane_map){.sw = (in->width + 1) / 2, .sh = (in->height + 1) / 2,
                              .dw = (out->width + 1) / 2, .dh = (out->height + 1) / 2};
    size_t n = 0;
    for (int i = 0; i < 2; i++)
        n += s->plane[i].dw + s->plane[i].dh;
    uint8_t *t = s->tables = malloc(n * (sizeof(uint32_t) + sizeof(uint16_t)));
    if (!t) {
        mqs_log(ctx, MQS_LOG_ERROR, "no memory for the %ux%u sample tables", out->width, out->height);
        return -ENOMEM;
    }
    uint32_t *idx = (uint32_t *)t;
    uint16_t *frac = (uint16_t *)(idx + n);
    for (int i = 0; i < 2; i++) {
        plane_map *m = &s->plane[i];
        m->x = (axis_map){idx, frac};
        m->y = (axis_map){idx + m->dw, frac + m->dw};
        map_axis(&m->x, m->dw, m->sw);
        map_axis(&m->y, m->dh, m->sh);
        idx += m->dw + m->dh, frac += m->dw + m->dh;
    }
    return 0;
}

/* The host has sized `out` for a frame of the output's caps and set its meta. */
static int transform(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    const scale_state *s = ctx->state;
    const plane_map *l = &s->plane[0], *c = &s->plane[1];
    int rc = video_check(ctx, in, 0, "in");
    if (rc < 0)
        return rc;
    const uint8_t *sp = in->data;
    uint8_t *dp = out->data;
    scale_plane(l, sp, dp, s->format == MQS_FORMAT_RGB24 ? 3 : 1);
    if (s->format == MQS_FORMAT_I420) { /* then U and V, each a quarter-size plane */
        sp += (size_t)l->sw * l->sh, dp += (size_t)l->dw * l->dh;
        scale_plane(c, sp, dp, 1);
        scale_plane(c, sp + (size_t)c->sw * c->sh, dp + (size_t)c->dw * c->dh, 1);
    }
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    scale_state *s = ctx->state;
    free(s->tables);
    s->tables = NULL;
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "gray8, rgb24 or i420"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "the same format at width x height"},
};

static const mqs_param_spec params[] = {
    {.key = "width", .type = MQS_PARAM_INT, .min = 1, .max = 7680, .help = "output width in pixels"},
    {.key = "height", .type = MQS_PARAM_INT, .min = 1, .max = 4320, .help = "output height in pixels"},
};

MQS_BLOCK_EXPORT(scale) = {
    MQS_BLOCK_HEADER,
    .name = "scale",
    .summary = "resizes video (bilinear)",
    .kind = MQS_BLOCK_FILTER,
    .ports = ports,
    .port_count = 2,
    .params = params,
    .param_count = 2,
    .state_size = sizeof(scale_state),
    .negotiate = negotiate,
    .init = init,
    .transform = transform,
    .fini = fini,
};
