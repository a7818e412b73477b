/* pattern_source: a synthetic camera. Test patterns (colour bars, a moving
 * box, noise) at a paced frame rate. With `verify: true` every frame starts
 * with a verification record (common/verify.h: magic, seq, length, checksum
 * of the rest) that checksum_sink checks; the record takes the first 32 bytes
 * of row 0, so a few pixels in the top-left corner look like noise. Without
 * it (the default) the frame is the plain pattern, fit to record or show.
 * clock_offset, jitter and drop_rate imitate real cameras for the
 * synchronisation and gap tests.
 *
 * Capture time of frame k (k = seq, dropped frames included):
 *  - trigger free: when produce() takes it, on a schedule of period
 *    P = round(1e9 / fps) ns that skips slots missed while stalled;
 *  - trigger shared: slot k of a grid every camera of the graph shares,
 *    start + k * P, where start = mqs_start_time() (the instant the graph
 *    started; the first produce() time on a host without it). No slot is
 *    skipped: a camera that runs late catches up. Two shared-trigger cameras
 *    with the same fps capture on the same instants.
 * With `realtime: false` nothing waits: frame k goes out as soon as the
 * graph takes it, its capture time still start + k * P (either trigger),
 * as if replayed from a recording: cameras on a shared trigger then keep
 * equal pts at any speed (benchmarks, offline runs).
 * pts = capture time + clock_offset + jitter draw.
 *
 * Random draws of frame k, in this order, from one xorshift64* generator
 * seeded with `seed` (common/rng.h):
 *  1. jitter > 0: one rng_symmetric(jitter), i.e. rng_next() % (2 jitter + 1)
 *     - jitter ns;
 *  2. drop_rate > 0 and not the last frame of a counted run: one
 *     rng_uniform(); the frame is dropped (seq used up, nothing sent) when it
 *     is below drop_rate;
 *  3. pattern noise, frame not dropped: one rng_next() per 8-byte word of the
 *     frame (little-endian bytes), then one per remaining byte (its low byte).
 * So a run's pts, drops and pixels depend on the seed and the start only. */
#include <stdlib.h>
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/pace.h"
#include "../common/rng.h"
#include "../common/verify.h"
#include "../common/video.h"

enum { PATTERN_BARS, PATTERN_BOX, PATTERN_NOISE };

typedef struct pattern_state {
    uint32_t width, height, format, pattern;
    uint64_t frame_size;
    int64_t count, clock_offset, jitter;
    double drop_rate;
    bool shared;      /* trigger: shared */
    bool realtime;    /* false: never wait, capture times on the grid all the same */
    bool verify;      /* write a verification record into every frame */
    int64_t start_ns; /* shared: slot 0's instant; 0 until the first produce() */
    pacer pace;
    rng rng;
    uint64_t seq, sent, dropped;
    bool gap;               /* a frame was dropped since the last one sent */
    uint8_t *bars;          /* the bars frame, drawn once in init */
    uint64_t bars_checksum; /* verify: its checksum, so a bars frame costs one memcpy */
} pattern_state;

typedef struct rgb {
    uint8_t r, g, b;
} rgb;

/* Full-range BT.601 (JPEG), the same luma as the grayscale block, and the
 * range y4m's C420jpeg and C mono expect. Offsets keep the shifts positive. */
static uint8_t luma(rgb c) { return (uint8_t)((77 * c.r + 150 * c.g + 29 * c.b + 128) >> 8); }

static uint8_t chroma(int kr, int kg, int kb, rgb c)
{
    int v = (kr * c.r + kg * c.g + kb * c.b + 32896) >> 8;
    return v > 255 ? 255 : (uint8_t)v;
}

static void fill_rect(const pattern_state *s, uint8_t *f, uint32_t x, uint32_t y, uint32_t w, uint32_t h, rgb c)
{
    size_t W = s->width;
    if (s->format == MQS_FORMAT_RGB24) {
        for (size_t j = y; j < y + h; j++)
            for (uint8_t *p = f + (j * W + x) * 3, *end = p + (size_t)w * 3; p < end; p += 3) {
                p[0] = c.r;
                p[1] = c.g;
                p[2] = c.b;
            }
        return;
    }
    for (size_t j = y; j < y + h; j++) /* gray8, and the Y plane of i420 */
        memset(f + j * W + x, luma(c), w);
    if (s->format == MQS_FORMAT_I420) {
        size_t cw = (W + 1) / 2, ch = (s->height + 1) / 2;
        uint8_t *u = f + W * s->height, *v = u + cw * ch;
        size_t x0 = x / 2, x1 = (x + w + 1) / 2;
        for (size_t j = y / 2; j < (y + h + 1) / 2; j++) {
            memset(u + j * cw + x0, chroma(-43, -85, 128, c), x1 - x0);
            memset(v + j * cw + x0, chroma(128, -107, -21, c), x1 - x0);
        }
    }
}

/* Eight colour bars over the top three quarters, a black-to-white ramp below. */
static void draw_bars(const pattern_state *s, uint8_t *f)
{
    static const rgb bars[8] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
                                {255, 0, 255},   {255, 0, 0},   {0, 0, 255},   {0, 0, 0}};
    uint32_t W = s->width, top = s->height * 3 / 4;
    for (uint32_t i = 0; i < 8; i++)
        fill_rect(s, f, i * W / 8, 0, (i + 1) * W / 8 - i * W / 8, top, bars[i]);
    for (uint32_t x = 0; x < W; x++) {
        uint8_t l = (uint8_t)(x * 255 / (W - 1));
        fill_rect(s, f, x, top, 1, s->height - top, (rgb){l, l, l});
    }
}

/* 0..range..0: a bouncing coordinate. */
static uint32_t bounce(uint64_t t, uint32_t range)
{
    if (range == 0)
        return 0;
    uint64_t m = t % (2 * (uint64_t)range);
    return (uint32_t)(m <= range ? m : 2 * (uint64_t)range - m);
}

/* Draws frame `seq`, the plain pattern. */
static void draw(pattern_state *s, uint8_t *f)
{
    uint64_t n = s->frame_size;
    if (s->pattern == PATTERN_NOISE) {
        uint64_t i = 0;
        for (uint64_t r; i + 8 <= n; i += 8) {
            r = rng_next(&s->rng);
            memcpy(f + i, &r, 8);
        }
        for (; i < n; i++)
            f[i] = (uint8_t)rng_next(&s->rng);
        return;
    }
    memcpy(f, s->bars, n);
    if (s->pattern == PATTERN_BARS)
        return;
    /* A black-framed white box moving diagonally, bouncing off the edges. */
    uint32_t b = (s->width < s->height ? s->width : s->height) / 4, e = b / 8;
    uint32_t x = bounce(s->seq * 4, s->width - b), y = bounce(s->seq * 3, s->height - b);
    fill_rect(s, f, x, y, b, b, (rgb){0, 0, 0});
    fill_rect(s, f, x + e, y + e, b - 2 * e, b - 2 * e, (rgb){255, 255, 255});
}

/* Overwrites the first VERIFY_SIZE bytes of drawn frame `f` with its record. */
static void write_record(const pattern_state *s, uint8_t *f)
{
    uint64_t n = s->frame_size;
    uint64_t sum = s->pattern == PATTERN_BARS ? s->bars_checksum : verify_checksum(f + VERIFY_SIZE, n - VERIFY_SIZE);
    verify_write(f, s->seq, n, sum);
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)in, (void)n_in;
    if (strcmp(mqs_param_string(p, "trigger"), "shared") == 0 && mqs_param_double(p, "fps") <= 0)
        return mqs_params_fail(p, "trigger: shared needs a frame rate: set fps above 0, or use trigger: free");
    if (n_out > 0)
        video_caps(&out[0], video_format_from_name(mqs_param_string(p, "format")),
                   (uint32_t)mqs_param_int(p, "width"), (uint32_t)mqs_param_int(p, "height"),
                   mqs_param_double(p, "fps"));
    return 0;
}

static uint32_t pattern_from_name(const char *name)
{
    return strcmp(name, "noise") == 0 ? PATTERN_NOISE : strcmp(name, "box") == 0 ? PATTERN_BOX : PATTERN_BARS;
}

static int init(mqs_block_ctx *ctx)
{
    pattern_state *s = ctx->state;
    const mqs_params *p = ctx->params;
    s->width = (uint32_t)mqs_param_int(p, "width");
    s->height = (uint32_t)mqs_param_int(p, "height");
    s->format = video_format_from_name(mqs_param_string(p, "format"));
    s->pattern = pattern_from_name(mqs_param_string(p, "pattern"));
    s->frame_size = mqs_video_frame_size(s->format, s->width, s->height);
    s->count = mqs_param_int(p, "count");
    s->clock_offset = mqs_param_int(p, "clock_offset");
    s->jitter = mqs_param_int(p, "jitter");
    s->drop_rate = mqs_param_double(p, "drop_rate");
    s->shared = strcmp(mqs_param_string(p, "trigger"), "shared") == 0;
    s->realtime = mqs_param_bool(p, "realtime");
    s->verify = mqs_param_bool(p, "verify");
    pace_init(&s->pace, mqs_param_double(p, "fps"));
    rng_seed(&s->rng, (uint64_t)mqs_param_int(p, "seed"));
    /* Drawn even for noise: the pattern may change while the graph runs. */
    s->bars = malloc(s->frame_size);
    if (!s->bars) {
        mqs_log(ctx, MQS_LOG_ERROR, "no memory for a %ux%u frame", s->width, s->height);
        return -ENOMEM;
    }
    draw_bars(s, s->bars);
    if (s->verify)
        s->bars_checksum = verify_checksum(s->bars + VERIFY_SIZE, s->frame_size - VERIFY_SIZE);
    return 0;
}

/* 1 once frame s->seq is due, with its capture time; 0 not yet. */
static int capture_due(mqs_block_ctx *ctx, pattern_state *s, int64_t *capture)
{
    bool grid = s->shared || (!s->realtime && s->pace.period_ns > 0);
    if (!grid) {
        if (!pace_wait(ctx, &s->pace))
            return 0;
        *capture = mqs_now(ctx);
        return 1;
    }
    if (s->start_ns == 0) {
        int64_t start = mqs_start_time(ctx); /* 0 before the start gate, -ENOTSUP on an older host */
        s->start_ns = start > 0 ? start : mqs_now(ctx);
    }
    if (!s->realtime) {
        *capture = s->start_ns + (int64_t)s->seq * s->pace.period_ns;
        return 1;
    }
    return pace_wait_slot(ctx, &s->pace, s->start_ns, s->seq, capture);
}

static int produce(mqs_block_ctx *ctx)
{
    pattern_state *s = ctx->state;
    int64_t capture;
    if (s->count > 0 && s->seq >= (uint64_t)s->count)
        return MQS_EOS;
    if (!capture_due(ctx, s, &capture) || mqs_stopping(ctx)) /* a stop may have come while we slept */
        return 0;
    int64_t pts = capture + s->clock_offset + rng_symmetric(&s->rng, s->jitter);
    /* Never drop the last frame of a counted run: a sink then knows how many
     * were made (last seq + 1), so frames + missing adds up exactly. */
    bool last = s->count > 0 && s->seq + 1 == (uint64_t)s->count;
    if (s->drop_rate > 0 && !last && rng_uniform(&s->rng) < s->drop_rate) {
        s->seq++, s->dropped++;
        s->gap = true;
        return 0;
    }
    mqs_buffer b;
    int rc = out_alloc(ctx, 0, &b);
    if (rc < 0 || (rc = out_fits(ctx, &b, s->frame_size)) < 0)
        return rc;
    draw(s, b.data);
    if (s->verify)
        write_record(s, b.data);
    video_meta(&b, s->format, s->width, s->height);
    b.meta->pts = pts;
    b.meta->duration = s->pace.period_ns;
    b.meta->seq = s->seq++;
    b.meta->flags = MQS_BUFFER_KEYFRAME | (s->gap ? MQS_BUFFER_GAP : 0);
    s->gap = false;
    s->sent++;
    mqs_report(ctx, "frames", (double)s->sent);
    mqs_report(ctx, "dropped", (double)s->dropped);
    rc = out_send(ctx, 0, &b);
    if (rc < 0)
        return rc;
    return s->count > 0 && s->seq >= (uint64_t)s->count ? MQS_EOS : 0;
}

/* The live params (mqctl set): each takes effect from the next frame. */
static int set_param(mqs_block_ctx *ctx, const mqs_params *p, const char *key)
{
    pattern_state *s = ctx->state;
    if (strcmp(key, "pattern") == 0) {
        s->pattern = pattern_from_name(mqs_param_string(p, "pattern"));
    } else if (strcmp(key, "fps") == 0) {
        if (s->shared)
            return mqs_params_fail(p, "fps cannot change with trigger: shared (it would move the grid the cameras "
                                      "share)");
        if (!s->realtime)
            return mqs_params_fail(p, "fps cannot change with realtime: false (the frame times are on its grid)");
        pace_init(&s->pace, mqs_param_double(p, "fps"));
    } else if (strcmp(key, "jitter") == 0) {
        s->jitter = mqs_param_int(p, "jitter");
    } else if (strcmp(key, "drop_rate") == 0) {
        s->drop_rate = mqs_param_double(p, "drop_rate");
    }
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    pattern_state *s = ctx->state;
    mqs_report(ctx, "frames", (double)s->sent);
    mqs_report(ctx, "dropped", (double)s->dropped);
    free(s->bars);
    s->bars = NULL;
}

static const mqs_port_spec ports[] = {
    {.name = "out", .direction = MQS_PORT_OUTPUT,
     .help = "video frames; with verify: true, each starts with a verification record"},
};

static const mqs_param_spec params[] = {
    {.key = "width", .type = MQS_PARAM_INT, .default_value = "640", .min = 16, .max = 7680,
     .help = "frame width in pixels"},
    {.key = "height", .type = MQS_PARAM_INT, .default_value = "480", .min = 16, .max = 4320,
     .help = "frame height in pixels"},
    {.key = "format", .type = MQS_PARAM_ENUM, .default_value = "rgb24", .choices = VIDEO_FORMAT_CHOICES,
     .help = "pixel format"},
    {.key = "fps", .type = MQS_PARAM_DOUBLE, .flags = MQS_PARAM_LIVE, .default_value = "30", .min = 0, .max = 1000,
     .help = "frames per second; 0: as fast as downstream takes them"},
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 1e15,
     .help = "frames to make (dropped ones included), then end of stream; 0: unlimited"},
    {.key = "pattern", .type = MQS_PARAM_ENUM, .flags = MQS_PARAM_LIVE, .default_value = "bars", .choices = "bars|box|noise",
     .help = "bars: colour bars over a grey ramp; box: bars with a moving box; noise: random bytes"},
    {.key = "clock_offset", .type = MQS_PARAM_DURATION, .default_value = "0",
     .help = "added to every pts, may be negative: a camera whose clock is off"},
    {.key = "jitter", .type = MQS_PARAM_DURATION, .flags = MQS_PARAM_LIVE, .default_value = "0", .min = 0, .max = 1e10,
     .help = "each pts moves by a random amount in [-jitter, +jitter]"},
    {.key = "drop_rate", .type = MQS_PARAM_DOUBLE, .flags = MQS_PARAM_LIVE, .default_value = "0", .min = 0, .max = 1,
     .help = "probability of skipping a frame (its seq is used up, so downstream sees a gap)"},
    {.key = "seed", .type = MQS_PARAM_INT, .default_value = "1",
     .help = "seed of the random jitter, drops and noise: runs are reproducible"},
    {.key = "trigger", .type = MQS_PARAM_ENUM, .default_value = "free", .choices = "free|shared",
     .help = "free: capture when paced; shared: on a grid from the graph's start, the same for every camera, "
             "no frame skipped"},
    {.key = "realtime", .type = MQS_PARAM_BOOL, .default_value = "true",
     .help = "false: do not wait for the frame times; frames go as fast as the graph takes them, with pts "
             "still one period apart (as if replayed)"},
    {.key = "verify", .type = MQS_PARAM_BOOL, .default_value = "false",
     .help = "write a verification record (for checksum_sink) over the first 32 bytes of every frame; "
             "false: the plain pattern"},
};

MQS_BLOCK_EXPORT(pattern_source) = {
    MQS_BLOCK_HEADER,
    .name = "pattern_source",
    .summary = "test-pattern camera (bars, moving box, noise), optionally with verification records",
    .kind = MQS_BLOCK_SOURCE,
    .ports = ports,
    .port_count = sizeof ports / sizeof ports[0],
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(pattern_state),
    .negotiate = negotiate,
    .init = init,
    .produce = produce,
    .fini = fini,
    .set_param = set_param,
};
