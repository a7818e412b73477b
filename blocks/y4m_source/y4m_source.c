/* y4m_source: plays a YUV4MPEG2 file (as written by y4m_sink or
 * `ffmpeg -i in.mp4 -pix_fmt yuv420p out.y4m`) at its frame rate, or at
 * param `fps`. C420jpeg, C420paldv, C420 and C420mpeg2 become i420 (they
 * differ only in chroma siting), Cmono becomes gray8. negotiate() reads the
 * header in the launcher, so a missing file or a bad header stops the graph
 * before it starts. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/pace.h"
#include "../common/video.h"

#define HEADER_MAX 1024 /* bytes of a header line; longer is not a y4m file we can use */
#define MAX_SIDE 16384

typedef struct y4m_info {
    uint32_t width, height, format;
    double rate; /* from the F tag; 0 if absent */
} y4m_info;

typedef struct y4m_source_state {
    FILE *f;
    long data_offset; /* first FRAME, for `loop` */
    y4m_info info;
    uint64_t frame_size, seq, in_pass; /* in_pass: frames read since the last rewind */
    bool loop, warned; /* warned: about a truncated end, once (not on every loop) */
    pacer pace;
    char file[PATH_MAX];
} y4m_source_state;

/* Reads the header line of `f`. 0, or -EINVAL with `err` saying what is wrong. */
static int parse_header(FILE *f, const char *path, y4m_info *info, char *err, size_t cap)
{
    char line[HEADER_MAX], *save = NULL;
    if (!fgets(line, sizeof line, f)) {
        snprintf(err, cap, "'%s' is empty or unreadable: not a YUV4MPEG2 file", path);
        return -EINVAL;
    }
    size_t n = strlen(line);
    if (strncmp(line, "YUV4MPEG2", 9) != 0 || (line[9] != ' ' && line[9] != '\n')) {
        snprintf(err, cap, "'%s' is not a YUV4MPEG2 file: it does not start with \"YUV4MPEG2 \"", path);
        return -EINVAL;
    }
    if (line[n - 1] != '\n') {
        snprintf(err, cap, "'%s': the YUV4MPEG2 header is longer than %d bytes or not terminated", path,
                 HEADER_MAX - 1);
        return -EINVAL;
    }
    line[n - 1] = '\0';
    *info = (y4m_info){.format = MQS_FORMAT_I420}; /* no C tag means 420jpeg */
    for (char *t = strtok_r(line + 9, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        unsigned num, den;
        if (t[0] == 'W')
            info->width = (uint32_t)strtoul(t + 1, NULL, 10);
        else if (t[0] == 'H')
            info->height = (uint32_t)strtoul(t + 1, NULL, 10);
        else if (t[0] == 'F' && sscanf(t + 1, "%u:%u", &num, &den) == 2 && num > 0 && den > 0)
            info->rate = (double)num / den;
        else if (t[0] == 'C') {
            if (strcmp(t, "Cmono") == 0)
                info->format = MQS_FORMAT_GRAY8;
            else if (strcmp(t, "C420jpeg") && strcmp(t, "C420paldv") && strcmp(t, "C420") && strcmp(t, "C420mpeg2")) {
                snprintf(err, cap,
                         "'%s': colour space %s is not supported (C420jpeg, C420paldv, C420, C420mpeg2, Cmono are); "
                         "convert with ffmpeg -i '%s' -pix_fmt yuv420p out.y4m",
                         path, t, path);
                return -EINVAL;
            }
        } /* I (interlacing), A (aspect), X (comments): nothing to do with them */
    }
    if (info->width == 0 || info->height == 0 || info->width > MAX_SIDE || info->height > MAX_SIDE) {
        snprintf(err, cap, "'%s': the header gives no usable size (W%u H%u; 1 to %d each)", path, info->width,
                 info->height, MAX_SIDE);
        return -EINVAL;
    }
    return 0;
}

/* Opens and parses `path`: the stream, or NULL with `err` set. */
static FILE *open_y4m(const char *path, y4m_info *info, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open '%s': %s (check param `file`; a relative path is from mqrun's directory)",
                 path, strerror(errno));
        return NULL;
    }
    if (parse_header(f, path, info, err, cap) < 0) {
        fclose(f);
        return NULL;
    }
    return f;
}

static double play_rate(const mqs_params *p, const y4m_info *info)
{
    double fps = mqs_param_double(p, "fps");
    return fps > 0 ? fps : info->rate;
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)in, (void)n_in;
    char err[512];
    y4m_info info;
    const char *path = mqs_param_string(p, "file");
    FILE *f = open_y4m(path, &info, err, sizeof err);
    if (!f)
        return mqs_params_fail(p, "%s", err);
    fclose(f);
    if (play_rate(p, &info) <= 0)
        return mqs_params_fail(p, "'%s' has no frame rate (F tag): set param `fps`", path);
    if (n_out > 0)
        video_caps(&out[0], info.format, info.width, info.height, play_rate(p, &info));
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    const mqs_caps *c = &ctx->output_caps[0];
    char err[512];
    snprintf(s->file, sizeof s->file, "%s", mqs_param_string(ctx->params, "file"));
    s->f = open_y4m(s->file, &s->info, err, sizeof err);
    if (!s->f) {
        mqs_log(ctx, MQS_LOG_ERROR, "%s", err);
        return -EINVAL;
    }
    if (s->info.width != c->width || s->info.height != c->height || s->info.format != c->format) {
        mqs_log(ctx, MQS_LOG_ERROR, "'%s' changed since the graph was negotiated (now %ux%u %s); restart the graph",
                s->file, s->info.width, s->info.height, video_format_name(s->info.format));
        fclose(s->f);
        s->f = NULL;
        return -ESTALE;
    }
    s->data_offset = ftell(s->f);
    s->frame_size = mqs_video_frame_size(s->info.format, s->info.width, s->info.height);
    s->loop = mqs_param_bool(ctx->params, "loop");
    pace_init(&s->pace, play_rate(ctx->params, &s->info));
    return 0;
}

/* The file ends inside a frame (a writer killed mid-frame leaves this):
 * treated as the end of the file. */
static int truncated(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    if (!s->warned)
        mqs_log(ctx, MQS_LOG_WARN, "'%s' ends inside frame %llu; taking that as its end", s->file,
                (unsigned long long)s->in_pass);
    s->warned = true;
    return 0;
}

static int read_error(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    int rc = errno ? -errno : -EIO;
    mqs_log(ctx, MQS_LOG_ERROR, "cannot read '%s': %s", s->file, strerror(-rc));
    return rc;
}

/* Consumes "FRAME[ params]\n": 1, 0 at the end of the file, or -errno (logged). */
static int frame_marker(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    char tag[5];
    size_t n = fread(tag, 1, sizeof tag, s->f);
    if (ferror(s->f))
        return read_error(ctx);
    if (n == 0)
        return 0;
    if (n < sizeof tag)
        return truncated(ctx);
    if (memcmp(tag, "FRAME", sizeof tag) != 0) {
        mqs_log(ctx, MQS_LOG_ERROR, "'%s': frame %llu does not start with FRAME (is the header's size right?)",
                s->file, (unsigned long long)s->in_pass);
        return -EINVAL;
    }
    for (int c, i = 0; (c = getc(s->f)) != '\n'; i++) /* frame params: none we use */
        if (c == EOF || i > HEADER_MAX)
            return ferror(s->f) ? read_error(ctx) : truncated(ctx);
    return 1;
}

/* Back to the first frame for `loop`. */
static int rewind_frames(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    clearerr(s->f);
    s->in_pass = 0;
    if (fseek(s->f, s->data_offset, SEEK_SET) == 0)
        return 0;
    int rc = -errno;
    mqs_log(ctx, MQS_LOG_ERROR, "cannot rewind '%s' to loop: %s", s->file, strerror(-rc));
    return rc;
}

static int produce(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    if (!pace_wait(ctx, &s->pace) || mqs_stopping(ctx)) /* a stop may have come while we slept */
        return 0;
    int rc = frame_marker(ctx);
    if (rc == 0 && s->loop && s->in_pass > 0 && (rc = rewind_frames(ctx)) == 0) /* an empty file ends */
        rc = frame_marker(ctx);
    if (rc <= 0)
        return rc < 0 ? rc : MQS_EOS;
    int64_t pts = mqs_now(ctx); /* capture time: when the frame is read */
    mqs_buffer b;
    if ((rc = out_alloc(ctx, 0, &b)) < 0 || (rc = out_fits(ctx, &b, s->frame_size)) < 0)
        return rc;
    if (fread(b.data, 1, s->frame_size, s->f) != s->frame_size) {
        mqs_unref(ctx, &b);
        if (ferror(s->f))
            return read_error(ctx);
        truncated(ctx);
        return s->loop && s->in_pass > 0 ? rewind_frames(ctx) : MQS_EOS;
    }
    s->in_pass++;
    video_meta(&b, s->info.format, s->info.width, s->info.height);
    b.meta->pts = pts;
    b.meta->duration = s->pace.period_ns;
    b.meta->seq = s->seq++;
    b.meta->flags = MQS_BUFFER_KEYFRAME;
    return out_send(ctx, 0, &b);
}

static void fini(mqs_block_ctx *ctx)
{
    y4m_source_state *s = ctx->state;
    if (s->f)
        fclose(s->f);
    s->f = NULL;
    mqs_report(ctx, "frames", (double)s->seq);
}

static const mqs_port_spec ports[] = {
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "i420 or gray8 frames"},
};

static const mqs_param_spec params[] = {
    {.key = "file", .type = MQS_PARAM_STRING, .help = "YUV4MPEG2 file to play"},
    {.key = "loop", .type = MQS_PARAM_BOOL, .default_value = "false", .help = "start over at the end"},
    {.key = "fps", .type = MQS_PARAM_DOUBLE, .default_value = "0", .min = 0, .max = 1000,
     .help = "frames per second; 0: the file's rate (F tag)"},
};

MQS_BLOCK_EXPORT(y4m_source) = {
    MQS_BLOCK_HEADER,
    .name = "y4m_source",
    .summary = "plays a YUV4MPEG2 file (i420 or gray8)",
    .kind = MQS_BLOCK_SOURCE,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(y4m_source_state),
    .negotiate = negotiate,
    .init = init,
    .produce = produce,
    .fini = fini,
};
