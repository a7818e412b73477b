/* y4m_sink: writes video to a YUV4MPEG2 file (or stdout) that ffplay, mpv
 * and ffmpeg read. YUV4MPEG2 has no RGB: gray8 is written as C mono, i420
 * as C420jpeg (full range, as our blocks produce it). The header comes from
 * the first frame and the input's nominal rate; a stream that ends without
 * a frame still gets a header, so the file is always valid. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mqs/block.h>

#include "../common/video.h"

typedef struct y4m_sink_state {
    int fd;
    bool own_fd; /* opened here (not stdout): close at fini */
    bool header_done;
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

static int write_header(mqs_block_ctx *ctx, uint32_t width, uint32_t height, uint32_t format)
{
    y4m_sink_state *s = ctx->state;
    uint32_t num, den;
    char line[128];
    rate_fraction(ctx->input_caps[0].rate, &num, &den);
    int n = snprintf(line, sizeof line, "YUV4MPEG2 W%u H%u F%u:%u Ip A1:1 C%s\n", width, height, num, den,
                     format == MQS_FORMAT_GRAY8 ? "mono" : "420jpeg");
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

static int init(mqs_block_ctx *ctx)
{
    y4m_sink_state *s = ctx->state;
    uint32_t format = ctx->input_count ? ctx->input_caps[0].format : MQS_FORMAT_ANY;
    if (format != MQS_FORMAT_GRAY8 && format != MQS_FORMAT_I420) { /* in case negotiate was not asked */
        mqs_log(ctx, MQS_LOG_ERROR, "input carries %s video; YUV4MPEG2 needs gray8 or i420 (insert grayscale)",
                video_format_name(format));
        return -EINVAL;
    }
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
    if (!s->header_done && (rc = write_header(ctx, c->width, c->height, c->format)) < 0)
        return rc;
    if ((rc = write_all(ctx, "FRAME\n", 6)) < 0 ||
        (rc = write_all(ctx, b->data, mqs_video_frame_size(c->format, c->width, c->height))) < 0)
        return rc;
    s->frames++;
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    y4m_sink_state *s = ctx->state;
    const mqs_caps *c = &ctx->input_caps[0];
    if (!s->header_done && ctx->input_count > 0)
        write_header(ctx, c->width, c->height, c->format);
    if (s->own_fd && close(s->fd) != 0) /* NFS and friends report late errors here */
        mqs_log(ctx, MQS_LOG_ERROR, "closing '%s' failed: %s; the file may be incomplete", s->file, strerror(errno));
    s->own_fd = false;
    mqs_report(ctx, "frames", (double)s->frames);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "gray8 or i420"},
};

static const mqs_param_spec params[] = {
    {.key = "file", .type = MQS_PARAM_STRING, .default_value = "-", .help = "file to write; -: standard output"},
};

MQS_BLOCK_EXPORT(y4m_sink) = {
    MQS_BLOCK_HEADER,
    .name = "y4m_sink",
    .summary = "writes video to a YUV4MPEG2 file (gray8 as C mono, i420 as C420jpeg)",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = 1,
    .state_size = sizeof(y4m_sink_state),
    .negotiate = negotiate,
    .init = init,
    .process = process,
    .fini = fini,
};
