/* scale: resizes video (gray8, rgb24, i420) with bilinear interpolation in
 * 8-bit fixed point. Sample positions are centre-aligned (pixel centres of
 * the two grids line up) and computed once in init; a big downscale aliases,
 * as bilinear does. */
#include <stdlib.h>

#include <mqs/block.h>

#include "../common/vectorize.h"
#include "../common/video.h"

/* SSE2 (x86-64's baseline) runs both passes vectorised, loading the
 * horizontal pass's scattered samples one by one; their VECTOR_CLONES AVX2
 * copies double the width where there is one. */

/* For each output row: the first source row and the weight of the next
 * one, in 1/256. For each output byte (column and channel): the byte of
 * the source row its first sample is, and the weight of the next sample. */
typedef struct axis_map {
    uint32_t *idx;
    uint16_t *frac;
} axis_map;

typedef struct plane_map {
    uint32_t sw, sh, dw, dh, ch;
    axis_map x, y; /* x: dw * ch entries, y: dh */
} plane_map;

typedef struct scale_state {
    uint32_t format;
    plane_map plane[2]; /* luma (or rgb/gray) and i420 chroma */
    void *tables;
    uint32_t *pairs; /* a source row blended vertically, sw * ch entries */
} scale_state;

static void map_axis(axis_map *m, uint32_t dst, uint32_t src, uint32_t ch)
{
    for (uint32_t d = 0; d < dst; d++) {
        double x = (d + 0.5) * src / dst - 0.5;
        x = x < 0 ? 0 : x > src - 1 ? src - 1 : x;
        uint32_t i = (uint32_t)x, f = (uint32_t)((x - i) * 256 + 0.5);
        if (f == 256)
            i++, f = 0;
        for (uint32_t c = 0; c < ch; c++) {
            m->idx[d * ch + c] = i * ch + c;
            m->frac[d * ch + c] = (uint16_t)f;
        }
    }
}

/* Byte k of source rows r0 and r1 blended: exact in 16 bits (at most 255 * 256).
 * No restrict here: on an inlined helper's parameters it hides blend_rows'
 * own from GCC, which then leaves the SSE2 loop scalar. */
static inline uint32_t blend_row_byte(const uint8_t *r0, const uint8_t *r1, size_t k, uint16_t w0, uint16_t w1)
{
    return (uint16_t)(r0[k] * w0 + r1[k] * w1);
}

/* Source rows r0 and r1 (n bytes) blended with weights 256 - fy and fy.
 * Entry i holds byte i blended (low half) and the next sample's byte i + ch
 * blended (high half), or byte i again at the right edge, where the next
 * sample's weight is 0: the horizontal pass then makes one load per output
 * byte. */
VECTOR_CLONES static void blend_rows(const uint8_t *restrict r0, const uint8_t *restrict r1, uint32_t fy,
                                     uint32_t *restrict pairs, size_t n, uint32_t ch)
{
    uint16_t w0 = (uint16_t)(256 - fy), w1 = (uint16_t)fy;
    size_t i = 0, inner = n - ch; /* entries whose next sample is in the row */
    for (; i + VECTOR_CHUNK <= inner; i += VECTOR_CHUNK)
        for (size_t k = i; k < i + VECTOR_CHUNK; k++)
            pairs[k] = blend_row_byte(r0, r1, k, w0, w1) | blend_row_byte(r0, r1, k + ch, w0, w1) << 16;
    for (; i < inner; i++)
        pairs[i] = blend_row_byte(r0, r1, i, w0, w1) | blend_row_byte(r0, r1, i + ch, w0, w1) << 16;
    for (; i < n; i++)
        pairs[i] = blend_row_byte(r0, r1, i, w0, w1) * 0x10001u;
}

static inline uint8_t blend_pair(uint32_t pair, uint32_t fx)
{
    return (uint8_t)(((pair & 0xffff) * (256 - fx) + (pair >> 16) * fx + 32768) >> 16);
}

/* An output row of `n` bytes from a row of pairs (blend_rows). */
VECTOR_CLONES static void blend_columns(const uint32_t *restrict pairs, const axis_map *x, uint8_t *restrict dst,
                                        size_t n)
{
    const uint32_t *restrict idx = x->idx;
    const uint16_t *restrict frac = x->frac;
    size_t i = 0;
    for (; i + VECTOR_CHUNK <= n; i += VECTOR_CHUNK)
        for (size_t k = i; k < i + VECTOR_CHUNK; k++)
            dst[k] = blend_pair(pairs[idx[k]], frac[k]);
    for (; i < n; i++)
        dst[i] = blend_pair(pairs[idx[i]], frac[i]);
}

/* Vertical pass into a row of pairs, then horizontal: the same sum of the
 * four weighted samples, rounded once, as one bilinear step would. */
static void scale_plane(const plane_map *m, const uint8_t *src, uint8_t *dst, uint32_t *pairs)
{
    size_t stride = (size_t)m->sw * m->ch, out = (size_t)m->dw * m->ch;
    for (uint32_t y = 0; y < m->dh; y++, dst += out) {
        const uint8_t *r0 = src + m->y.idx[y] * stride;
        const uint8_t *r1 = m->y.idx[y] + 1 < m->sh ? r0 + stride : r0;
        blend_rows(r0, r1, m->y.frac[y], pairs, stride, m->ch);
        blend_columns(pairs, &m->x, dst, out);
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
    uint32_t ch = in->format == MQS_FORMAT_RGB24 ? 3 : 1;
    s->format = in->format;
    s->plane[0] = (plane_map){.sw = in->width, .sh = in->height, .dw = out->width, .dh = out->height, .ch = ch};
    s->plane[1] = (plane_map){.sw = (in->width + 1) / 2, .sh = (in->height + 1) / 2,
                              .dw = (out->width + 1) / 2, .dh = (out->height + 1) / 2, .ch = 1};
    size_t n = 0, row = (size_t)in->width * ch; /* the widest source row, plane 0's */
    for (int i = 0; i < 2; i++)
        n += (size_t)s->plane[i].dw * s->plane[i].ch + s->plane[i].dh;
    uint32_t *t = s->tables = malloc((row + n) * sizeof(uint32_t) + n * sizeof(uint16_t));
    if (!t) {
        mqs_log(ctx, MQS_LOG_ERROR, "no memory for the %ux%u sample tables", out->width, out->height);
        return -ENOMEM;
    }
    s->pairs = t;
    uint32_t *idx = t + row;
    uint16_t *frac = (uint16_t *)(idx + n);
    for (int i = 0; i < 2; i++) {
        plane_map *m = &s->plane[i];
        size_t xs = (size_t)m->dw * m->ch;
        m->x = (axis_map){idx, frac};
        m->y = (axis_map){idx + xs, frac + xs};
        map_axis(&m->x, m->dw, m->sw, m->ch);
        map_axis(&m->y, m->dh, m->sh, 1);
        idx += xs + m->dh, frac += xs + m->dh;
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
    scale_plane(l, sp, dp, s->pairs);
    if (s->format == MQS_FORMAT_I420) { /* then U and V, each a quarter-size plane */
        sp += (size_t)l->sw * l->sh, dp += (size_t)l->dw * l->dh;
        scale_plane(c, sp, dp, s->pairs);
        scale_plane(c, sp + (size_t)c->sw * c->sh, dp + (size_t)c->dw * c->dh, s->pairs);
    }
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    scale_state *s = ctx->state;
    free(s->tables);
    s->tables = NULL;
    s->pairs = NULL;
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
