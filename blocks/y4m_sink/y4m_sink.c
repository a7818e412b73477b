/* y4m_sink: writes video to a YUV4MPEG2 file (or stdout). YUV4MPEG2 has no
 * RGB. Param `chroma` picks the file's colour space:
 *  - 420 (default): C420jpeg (full range, as our blocks produce it); i420 as
 *    it is, gray8 with neutral chroma planes (every byte 128), so that every
 *    reader takes it, GStreamer's y4mdec included;
 *  - mono: Cmono, the luma plane only (i420 loses its colour), a third smaller
 *    for grey video; ffmpeg reads it, GStreamer 1.22's y4mdec refuses it
 *    (blocks/README.md says which reader takes which).
 * The header comes from the first frame and the input's nominal rate; a
 * stream that ends without a frame still gets a header, so the file is
 * always valid. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mqs/block.h>

#include "../common/video.h"

typedef struct y4m_sink_state {
    int fd;
    bool own_fd; /* opened here (not stdout): close at fini */
    bool header_done;
    bool mono;            /* chroma: mono */
    uint64_t luma_size;   /* bytes of the Y plane */
    uint64_t chroma_size; /* bytes of both chroma planes in the file (0 for mono) */
    uint8_t *grey_chroma; /* gray8 as 420: chroma_size bytes of 128, written after each Y plane */
    uint64_t frames;
    char file[PATH_MAX];
} y4m_sink_state;

/* `rate` as a reduced fraction: NTSC-style rates as n/1001, the rest to a
 * millihertz (29.97 -> 2997:100). Unknown (0): 30, players need some rate. */
static void rate_fraction(double rate, uint32_t *num, uint32_t *den)
{
    if (!(rate > 0 && rate < 1e6))
        rate = 30;
    uint32_t d = fabs(rate * 1001 - round(rate * 1001)) < 1e-3 && fabs(rate - round(rate)) > 1e-6 ? 1001 : 1000;
    uint32_t n = (uint32_t)round(rate * d), a = n, b = d;
    while (b) { /* gcd */
        uint32_t t = a % b;
        a = b, b = t;
    }
    *num = n / a, *den = d / a;
}

/* All of it, or -errno with a message saying how to fix it. */
static int write_all(mqs_block_ctx *ctx, const void *p, size_t n)
{
    y4m_sink_state *s = ctx->state;
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = w < 0 ? -errno : -EIO;
            mqs_log(ctx, MQS_LOG_ERROR, "cannot write '%s' after %llu frames: %s%s", s->file,
                    (unsigned long long)s->frames, strerror(-rc),
                    rc == -ENOSPC || rc == -EDQUOT ? " (disk full: free space or point param `file` elsewhere)"
                    : rc == -EPIPE                 ? " (the reader went away)"
                                                   : "");
            return rc;
        }
        p = (const uint8_t *)p + w, n -= (size_t)w;
    }
    return 0;
}

static int write_header(mqs_block_ctx *ctx, uint32_t width, uint32_t height)
{
    y4m_sink_state *s = ctx->state;
    uint32_t num, den;
    char line[128];
    rate_fraction(ctx->input_caps[0].rate, &num, &den);
    int n = snprintf(line, sizeof line, "YUV4MPEG2 W%u H%u F%u:%u Ip A1:1 C%s\n", width, height, num, den,
                     s->mono ? "mono" : "420jpeg");
    s->header_done = true;
    return write_all(ctx, line, (size_t)n);
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)out, (void)n_out;
    if (n_in < 1)
        return 0;
    return video_accept(p, &in[0], "in", VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420),
                        "YUV4MPEG2 has no RGB; insert a grayscale block before y4m_sink, or produce i420");
}

/* Plane sizes of a file frame for input `c`, and the neutral chroma gray8 needs as 420. */
static int plan_planes(mqs_block_ctx *ctx, const mqs_caps *c)
{
    y4m_sink_state *s = ctx->state;
    s->mono = strcmp(mqs_param_string(ctx->params, "chroma"), "mono") == 0;
    s->luma_size = (uint64_t)c->width * c->height;
    s->chroma_size = s->mono ? 0 : mqs_video_frame_size(MQS_FORMAT_I420, c->width, c->height) - s->luma_size;
    if (c->format != MQS_FORMAT_GRAY8 || s->mono)
        return 0;
    s->grey_chroma = malloc(s->chroma_size);
    if (!s->grey_chroma) {
        mqs_log(ctx, MQS_LOG_ERROR, "no memory for the chroma planes of a %ux%u frame", c->width, c->height);
        return -ENOMEM;
    }
    memset(s->grey_chroma, 128, s->chroma_size);
    return 0;
}

/* Opens param `file` ("-": standard output). */
static int open_output(mqs_block_ctx *ctx)
{
    y4m_sink_state *s = ctx->state;
    snprintf(s->file, sizeof s->file, "%s", mqs_param_string(ctx->params, "file"));
    if (strcmp(s->file, "-") == 0) {
        s->fd = STDOUT_FILENO;
        return 0;
    }
    s->fd = open(s->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        int rc = -errno;
        mqs_log(ctx, MQS_LOG_ERROR, "cannot create '%s': %s (check param `file` and its directory)", s->file,
                strerror(-rc));
        return rc;
    }
    s->own_fd = true;
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    y4m_sink_state *s = ctx->state;
    uint32_t format = ctx->input_count ? ctx->input_caps[0].format : MQS_FORMAT_ANY;
    if (format != MQS_FORMAT_GRAY8 && format != MQS_FORMAT_I420) { /* in case negotiate was not asked */
        mqs_log(ctx, MQS_LOG_ERROR, "input carries %s video; YUV4MPEG2 needs gray8 or i420 (insert grayscale)",
                video_format_name(format));
        return -EINVAL;
    }
    int rc = plan_planes(ctx, &ctx->input_caps[0]);
    if (rc == 0 && (rc = open_output(ctx)) < 0) {
        free(s->grey_chroma); /* no fini after a failed init */
        s->grey_chroma = NULL;
    }
    return rc;
}

/* One frame: i420 as 420 is the frame as it is, mono its Y plane alone; gray8
 * as 420 gets the neutral chroma planes after its Y plane. */
static int write_frame(mqs_block_ctx *ctx, const mqs_buffer *b)
{
    y4m_sink_state *s = ctx->state;
    uint64_t from_frame = s->grey_chroma ? s->luma_size : s->luma_size + s->chroma_size;
    int rc;
    if ((rc = write_all(ctx, "FRAME\n", 6)) < 0 || (rc = write_all(ctx, b->data, from_frame)) < 0)
        return rc;
    return s->grey_chroma ? write_all(ctx, s->grey_chroma, s->chroma_size) : 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    y4m_sink_state *s = ctx->state;
    const mqs_caps *c = &ctx->input_caps[0];
    const mqs_buffer *b = in[0];
    int rc;
    if (!b)
        return 0;
    if ((rc = video_check(ctx, b, 0, "in")) < 0)
        return rc;
    if (!s->header_done && (rc = write_header(ctx, c->width, c->height)) < 0)
        return rc;
    if ((rc = write_frame(ctx, b)) < 0)
        return rc;
    s->frames++;
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    y4m_sink_state *s = ctx->state;
    const mqs_caps *c = &ctx->input_caps[0];
    if (!s->header_done && ctx->input_count > 0)
        write_header(ctx, c->width, c->height);
    if (s->own_fd && close(s->fd) != 0) /* NFS and friends report late errors here */
        mqs_log(ctx, MQS_LOG_ERROR, "closing '%s' failed: %s; the file may be incomplete", s->file, strerror(errno));
    s->own_fd = false;
    free(s->grey_chroma);
    s->grey_chroma = NULL;
    mqs_report(ctx, "frames", (double)s->frames);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "gray8 or i420"},
};

static const mqs_param_spec params[] = {
    {.key = "file", .type = MQS_PARAM_STRING, .default_value = "-", .help = "file to write; -: standard output"},
    {.key = "chroma", .type = MQS_PARAM_ENUM, .default_value = "420", .choices = "420|mono",
     .help = "420: C420jpeg, gray8 given neutral chroma (GStreamer, ffmpeg, mpv and VLC read it); mono: Cmono, "
             "the luma plane only (a third smaller; GStreamer 1.22's y4mdec refuses it)"},
};

MQS_BLOCK_EXPORT(y4m_sink) = {
    MQS_BLOCK_HEADER,
    .name = "y4m_sink",
    .summary = "writes video to a YUV4MPEG2 file (C420jpeg, or Cmono with chroma: mono)",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(y4m_sink_state),
    .negotiate = negotiate,
    .init = init,
    .process = process,
    .fini = fini,
};
