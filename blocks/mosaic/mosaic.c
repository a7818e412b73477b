/* mosaic: tiles one to sixteen aligned video inputs (a..p) into one frame.
 * The tiles go row by row into a grid ceil(sqrt(n)) cells wide and as many
 * rows high as they fill, n the position of the last connected input (a: 1,
 * p: 16): a alone is copied; a | b side by side; up to d a 2x2 grid, a b over
 * c d; up to f 3x2, i 3x3, l 4x3, p 4x4. An absent input before the last
 * keeps its cell, so no tile moves when one is left out. Every cell is as
 * large as the largest connected input (max width x max height); each tile
 * sits at its cell's top left. All inputs carry one format (rgb24, gray8 or
 * i420; i420 inputs have even sizes so chroma planes tile cleanly). A member
 * missing from the set (partial sets), an absent input's cell, the cells
 * after the last tile and the rest of every cell are mid grey (128 on every
 * byte: rgb 128,128,128, Y 128, chroma 128).
 *
 * The output's pts is the set's (approximate: its earliest member), so latency
 * measured downstream is that of the oldest capture; seq numbers the sets;
 * flags are the members' (end of stream aside), plus GAP when a member is
 * missing. */
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/video.h"

#define TILES 16 /* inputs a..p; a 4x4 grid at most */
#define GREY 128

typedef struct mosaic_state {
    uint64_t seq; /* the output numbers its own sets */
} mosaic_state;

typedef struct tile {
    const uint8_t *data; /* NULL: grey */
    size_t row;          /* bytes per row */
    uint32_t rows;
} tile;

/* The cells: `cols` x `rows` of them, each `width` x `height` pixels. */
typedef struct grid {
    uint32_t cols, rows, width, height;
} grid;

static const char *const names[TILES] = {"a", "b", "c", "d", "e", "f", "g", "h",
                                         "i", "j", "k", "l", "m", "n", "o", "p"};

static bool connected(const mqs_caps *c) { return !(c->flags & MQS_CAPS_ABSENT); }

/* One plane of grid `g`, each cell `cell_row` bytes x `cell_rows` rows:
 * tile data where there is some, grey elsewhere. Returns the end of the
 * plane. */
static uint8_t *compose(uint8_t *dst, const tile t[TILES], const grid *g, size_t cell_row, uint32_t cell_rows)
{
    for (uint32_t r = 0; r < g->rows; r++)
        for (uint32_t y = 0; y < cell_rows; y++)
            for (uint32_t c = 0; c < g->cols; c++) {
                const tile *ti = &t[r * g->cols + c];
                size_t n = ti->data && y < ti->rows ? ti->row : 0;
                if (n)
                    memcpy(dst, ti->data + (size_t)y * ti->row, n);
                memset(dst + n, GREY, cell_row - n);
                dst += cell_row;
            }
    return dst;
}

/* ceil(sqrt(n)): the narrowest square-ish grid, so 2 tiles sit side by side
 * and 3 or 4 make a 2x2, as before there were more than four. */
static uint32_t columns_for(uint32_t n)
{
    uint32_t c = 1;
    while (c * c < n)
        c++;
    return c;
}

/* The grid for the connected inputs of `in`: laid out up to the last one. */
static void grid_of(const mqs_caps *in, uint32_t n_in, grid *g)
{
    uint32_t last = 1;
    g->width = g->height = 0;
    for (uint32_t i = 0; i < n_in && i < TILES; i++) {
        if (!connected(&in[i]))
            continue;
        g->width = in[i].width > g->width ? in[i].width : g->width;
        g->height = in[i].height > g->height ? in[i].height : g->height;
        last = i + 1;
    }
    g->cols = columns_for(last);
    g->rows = (last + g->cols - 1) / g->cols;
}

/* 0 if every connected input is video of one format mosaic can tile. */
static int check_inputs(const mqs_params *p, const mqs_caps *in, uint32_t n_in)
{
    unsigned formats = VIDEO_BIT(MQS_FORMAT_RGB24) | VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420);
    for (uint32_t i = 0; i < n_in && i < TILES; i++) {
        if (!connected(&in[i]))
            continue;
        int rc = video_accept(p, &in[i], names[i], formats, "mosaic takes rgb24, gray8 or i420");
        if (rc < 0)
            return rc;
        if (in[i].format != in[0].format)
            return mqs_params_fail(p, "inputs a (%s) and %s (%s) differ in format; convert one (e.g. with grayscale)",
                                   video_format_name(in[0].format), names[i], video_format_name(in[i].format));
        if (in[i].format == MQS_FORMAT_I420 && (in[i].width % 2 || in[i].height % 2))
            return mqs_params_fail(p, "input %s is i420 %ux%u: its chroma would straddle two cells; scale it to "
                                   "an even width and height", names[i], in[i].width, in[i].height);
    }
    return 0;
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    if (n_in < 1 || n_out < 1)
        return 0;
    int rc = check_inputs(p, in, n_in);
    if (rc < 0)
        return rc;
    grid g;
    double rate = 0;
    grid_of(in, n_in, &g);
    for (uint32_t i = 0; i < n_in && i < TILES; i++)
        if (connected(&in[i]) && in[i].rate > rate)
            rate = in[i].rate;
    video_caps(&out[0], in[0].format, g.cols * g.width, g.rows * g.height, rate);
    return 0;
}

/* Tiles of one plane: plane 0 (rgb, gray, Y) or an i420 chroma plane (1: U, 2: V). */
static void plane_tiles(const mqs_block_ctx *ctx, const mqs_buffer *const *in, int plane, tile t[TILES])
{
    for (uint32_t i = 0; i < TILES; i++) {
        const mqs_caps *c = &ctx->input_caps[i];
        bool have = i < ctx->input_count && mqs_input_connected(ctx, i) && in[i];
        size_t w = have ? c->width : 0, h = have ? c->height : 0;
        if (plane == 0) {
            t[i] = (tile){have ? in[i]->data : NULL, video_stride(c->format, (uint32_t)w), (uint32_t)h};
            continue;
        }
        size_t offset = w * h + (plane == 2 ? (w / 2) * (h / 2) : 0);
        t[i] = (tile){have ? (const uint8_t *)in[i]->data + offset : NULL, w / 2, (uint32_t)(h / 2)};
    }
}

/* Writes the whole output frame from the set's members. */
static void draw(const mqs_block_ctx *ctx, const mqs_buffer *const *in, uint8_t *dst)
{
    const mqs_caps *oc = &ctx->output_caps[0];
    grid g;
    tile t[TILES];
    grid_of(ctx->input_caps, ctx->input_count, &g);
    plane_tiles(ctx, in, 0, t);
    dst = compose(dst, t, &g, video_stride(oc->format, g.width), g.height);
    if (oc->format != MQS_FORMAT_I420)
        return;
    for (int plane = 1; plane <= 2; plane++) { /* U then V: even sizes, so half-size cells */
        plane_tiles(ctx, in, plane, t);
        dst = compose(dst, t, &g, g.width / 2, g.height / 2);
    }
}

/* The set's pts (approximate: its earliest member), or the earliest member's
 * on a host without input sets; flags of the members, GAP for a partial set. */
static void set_meta(mqs_block_ctx *ctx, const mqs_buffer *const *in, const mqs_buffer *first, mqs_buffer *out)
{
    const mqs_input_set *set;
    uint32_t flags = 0;
    bool partial = false;
    for (uint32_t i = 0; i < ctx->input_count && i < TILES; i++) {
        if (in[i])
            flags |= in[i]->meta->flags;
        else if (mqs_input_connected(ctx, i))
            partial = true;
    }
    mqs_copy_meta(out, first);
    if (mqs_input_set_get(ctx, &set) == 0)
        out->meta->pts = set->pts;
    out->meta->flags = (flags & ~(uint32_t)MQS_BUFFER_EOS) | (partial ? MQS_BUFFER_GAP : 0);
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    mosaic_state *s = ctx->state;
    const mqs_caps *oc = &ctx->output_caps[0];
    const mqs_buffer *first = NULL;
    mqs_buffer out;
    int rc;
    for (uint32_t i = 0; i < ctx->input_count && i < TILES; i++) {
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
    draw(ctx, in, out.data);
    set_meta(ctx, in, first, &out);
    out.meta->seq = s->seq++;
    video_meta(&out, oc->format, oc->width, oc->height);
    return out_send(ctx, 0, &out);
}

/* Input k is tile k + 1; every input but a may be left out. */
#define TILE(letter, where)                                                                                        \
    {.name = letter, .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .flags = MQS_PORT_OPTIONAL,     \
     .help = where}

static const mqs_port_spec ports[] = {
    {.name = "a", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "tile 1, top left"},
    TILE("b", "tile 2, right of a"),
    TILE("c", "tile 3 (from c or d on: a 2x2 grid)"),
    TILE("d", "tile 4"),
    TILE("e", "tile 5 (from e or f on: 3x2; from g on: 3x3)"),
    TILE("f", "tile 6"),
    TILE("g", "tile 7"),
    TILE("h", "tile 8"),
    TILE("i", "tile 9"),
    TILE("j", "tile 10 (from j on: 4x3; from m on: 4x4)"),
    TILE("k", "tile 11"),
    TILE("l", "tile 12"),
    TILE("m", "tile 13"),
    TILE("n", "tile 14"),
    TILE("o", "tile 15"),
    TILE("p", "tile 16"),
    {.name = "out", .direction = MQS_PORT_OUTPUT,
     .help = "the tiles row by row, ceil(sqrt(n)) to a row up to the last connected input (n: its tile): a; a | b; "
             "a b over c d; ...; grey where nothing is"},
};

MQS_BLOCK_EXPORT(mosaic) = {
    MQS_BLOCK_HEADER,
    .name = "mosaic",
    .summary = "one to sixteen aligned videos in a grid: a | b, 2x2, 3x2, 3x3, 4x3, 4x4",
    .kind = MQS_BLOCK_FILTER,
    .flags = MQS_BLOCK_ALIGNED,
    .ports = ports,
    .port_count = sizeof ports / sizeof ports[0],
    .state_size = sizeof(mosaic_state),
    .negotiate = negotiate,
    .process = process,
};
