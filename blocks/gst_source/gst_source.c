/* gst_source: video from a GStreamer description (a file, a camera, a
 * network stream: anything gst-launch-1.0 can play) into the graph.
 *
 * The block appends its own tail to the description,
 *     PIPELINE ! videoscale ! videoconvert ! capsfilter ! appsink
 * (without videoscale and videoconvert when `convert` is false), with the
 * caps of the block's output: rgb24 = RGB, gray8 = GRAY8, i420 = I420, at
 * `width` x `height`. Those caps must be known in negotiate(), before the
 * graph starts, in the launcher: when width or height is 0 a forked child
 * plays the description up to its first frame to learn them (gst_probe.c);
 * the launcher never initializes GStreamer.
 *
 * The one copy: each frame goes from appsink's memory into a slot of the
 * output's pool (gstb_frame_copy: one memcpy per plane, row by row when
 * GStreamer pads its rows); report `copy_us` is its mean time once every
 * slot was written once (a slot's first write also faults its pages in).
 * pts = mqs_start_time() + the buffer's running time: the block runs the
 * pipeline on the system clock with running time 0 at the graph's start, so
 * a live source's frames carry their capture time on the graph's clock. */
#include <stdio.h>
#include <string.h>

#include <gst/app/gstappsink.h>

#include "../common/io.h"
#include "../common/video.h"
#include "../common/gst_bridge.h"
#include "../common/gst_probe.h"

#define DESC_MAX 5120                     /* the user's description (at most 4096 bytes) and the block's tail */
#define PULL_SLICE (100 * GST_MSECOND)    /* produce() returns this often without a frame: the host looks at its stop flag */
#define MAX_SIDE 16384

typedef struct gst_source_state {
    GstElement *pipeline;
    GstElement *sink; /* the appsink */
    GstBus *bus;
    GstCaps *caps;    /* of the last sample, and `info` read from them */
    GstVideoInfo info;
    uint32_t format, width, height;
    uint64_t frame_size, seq;
    int64_t start_ns, default_duration;
    int64_t copy_ns;      /* total after the first warm_frames, for report copy_us */
    uint64_t warm_frames; /* the pool's slot count: every slot written once */
    bool convert, started;
} gst_source_state;

/* The user's description with the block's tail: conversion (if asked), our caps, the appsink. */
static void describe(char *out, size_t cap, const char *user, uint32_t format, uint32_t width, uint32_t height,
                     bool convert, bool sync)
{
    char caps[256];
    gstb_caps_text(caps, sizeof caps, format, width, height, -1);
    snprintf(out, cap,
             "%s ! %scapsfilter name=" GSTB_CAPS " caps=\"%s\" ! appsink name=" GSTB_APPSINK
             " sync=%s max-buffers=2 drop=false enable-last-sample=false",
             user, convert ? "videoscale name=" GSTB_SCALE " ! videoconvert ! " : "", caps, sync ? "true" : "false");
}

/* Where the user's part meets ours, and how to fix a link that fails there. */
static gstb_joint joint_of(bool convert)
{
    if (convert)
        return (gstb_joint){GSTB_SCALE, "gst_source takes raw video from the last element of `pipeline`: end it with "
                                        "an element that gives video, e.g. `! decodebin` for a file, not with a "
                                        "sink or an audio element"};
    return (gstb_joint){GSTB_CAPS, "with convert: false the last element of `pipeline` must give exactly the "
                                   "output's format and size (RGB, GRAY8 or I420): set convert: true, or end it "
                                   "with `! videoscale ! videoconvert`"};
}

/* The explanation of caps that did not fit, from what GStreamer offered. */
static void explain_caps(char *out, size_t cap, const char *offered, uint32_t format, bool convert)
{
    const char *what = offered[0] ? offered : "something the block cannot take";
    if (convert && strncmp(what, "video/x-raw", 11) == 0) /* raw video, stuck inside the user's part */
        snprintf(out, cap,
                 "GStreamer offers %s, and it does not get through to gst_source's %s (hint: check the caps "
                 "written in `pipeline`; try it with gst-launch-1.0 ending in `! videoconvert ! fakesink`)",
                 what, gstb_format_name(format));
    else if (convert)
        snprintf(out, cap,
                 "GStreamer offers %s: not raw video, which gst_source cannot convert to %s (hint: decode it in "
                 "`pipeline`, e.g. end it with `! decodebin`, and for a file with several streams take its video)",
                 what, gstb_format_name(format));
    else
        snprintf(out, cap,
                 "GStreamer offers %s, and with convert: false gst_source takes exactly video/x-raw, format=%s at "
                 "the negotiated size (its formats: RGB, GRAY8, I420) (hint: set convert: true, or end `pipeline` "
                 "with `! videoscale ! videoconvert`)",
                 what, gstb_format_name(format));
}

/* negotiate(): the probe's failure as a graph error. */
static int probe_failed(const mqs_params *p, const gstb_probe *r, const char *user, uint32_t format, bool convert)
{
    char why[GSTB_ERR_MAX + 512];
    if (r->caps_error)
        explain_caps(why, sizeof why, r->offered, format, convert);
    else if (r->status == -ETIMEDOUT)
        snprintf(why, sizeof why,
                 "%s (hint: a source that starts slowly needs a longer probe_timeout; or set width and height, and "
                 "the pipeline does not run before the graph starts)", r->message);
    else if (r->status == -ENODATA)
        snprintf(why, sizeof why, "%s (hint: check its input, e.g. the file's location)", r->message);
    else if (r->status == -EIO)
        snprintf(why, sizeof why, "the pipeline fails: %s (hint: try `gst-launch-1.0 %.200s ! fakesink`)", r->message,
                 user);
    else
        snprintf(why, sizeof why, "%s", r->message);
    return mqs_params_fail(p, "%s", why);
}

/* The size to use: the params', a 0 taken from the pipeline (one 0 alone:
 * from the other by the pipeline's aspect ratio, rounded to even). */
static void fill_size(uint32_t *w, uint32_t *h, const gstb_probe *r)
{
    if (!*w && !*h) {
        *w = r->width, *h = r->height;
    } else if (!*w) {
        *w = (uint32_t)((double)*h * r->width / r->height / 2 + 0.5) * 2;
    } else if (!*h) {
        *h = (uint32_t)((double)*w * r->height / r->width / 2 + 0.5) * 2;
    }
    *w = *w ? *w : 2, *h = *h ? *h : 2; /* a sliver rounds to 0 */
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)in, (void)n_in;
    const char *user = mqs_param_string(p, "pipeline");
    uint32_t format = video_format_from_name(mqs_param_string(p, "format"));
    uint32_t w = (uint32_t)mqs_param_int(p, "width"), h = (uint32_t)mqs_param_int(p, "height");
    bool convert = mqs_param_bool(p, "convert"), probe = !w || !h;
    if (strspn(user, " \t\n") == strlen(user))
        return mqs_params_fail(p, "`pipeline` is empty (hint: a gst-launch-1.0 description that gives video, "
                                  "e.g. `filesrc location=in.mp4 ! decodebin`)");
    char desc[DESC_MAX];
    describe(desc, sizeof desc, user, format, probe ? 0 : w, probe ? 0 : h, convert, false);
    static gstb_probe r; /* 2 KiB: not on the launcher's stack */
    gstb_probe_request req = {.desc = desc, .joint = joint_of(convert), .preroll = probe,
                              .timeout_ns = mqs_param_int(p, "probe_timeout")};
    if (gstb_probe_run(&req, &r) < 0)
        return probe_failed(p, &r, user, format, convert);
    if (probe && (r.width == 0 || r.height == 0 || r.width > MAX_SIDE || r.height > MAX_SIDE))
        return mqs_params_fail(p, "the pipeline gives frames of %ux%u: not a usable size (hint: set width and height)",
                               r.width, r.height);
    if (probe)
        fill_size(&w, &h, &r);
    if (n_out > 0)
        video_caps(&out[0], format, w, h, probe ? r.rate : 0);
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    gst_source_state *s = ctx->state;
    const mqs_caps *c = &ctx->output_caps[0];
    char err[GSTB_ERR_MAX], desc[DESC_MAX];
    s->format = c->format, s->width = c->width, s->height = c->height;
    s->frame_size = mqs_video_frame_size(c->format, c->width, c->height);
    s->default_duration = c->rate > 0 ? (int64_t)(1e9 / c->rate + 0.5) : 0;
    s->warm_frames = c->slot_count;
    s->convert = mqs_param_bool(ctx->params, "convert");
    describe(desc, sizeof desc, mqs_param_string(ctx->params, "pipeline"), c->format, c->width, c->height, s->convert,
             mqs_param_bool(ctx->params, "sync"));
    gstb_joint joint = joint_of(s->convert);
    int rc = gstb_init(err, sizeof err);
    if (rc == 0 && !(s->pipeline = gstb_parse(desc, &joint, err, sizeof err)))
        rc = -EINVAL;
    if (rc < 0) {
        mqs_log(ctx, MQS_LOG_ERROR, "%s", err);
        return rc;
    }
    s->sink = gst_bin_get_by_name(GST_BIN(s->pipeline), GSTB_APPSINK);
    s->bus = gst_element_get_bus(s->pipeline);
    return 0;
}

/* A GStreamer error: its message and debug string, and what was offered when caps did not fit. */
static int pipeline_failed(mqs_block_ctx *ctx, const char *text)
{
    gst_source_state *s = ctx->state;
    char offered[512], why[GSTB_ERR_MAX];
    if (gstb_is_caps_error(text)) {
        gstb_offered(s->pipeline, s->convert ? GSTB_SCALE : GSTB_CAPS, offered, sizeof offered);
        explain_caps(why, sizeof why, offered, s->format, s->convert);
        mqs_log(ctx, MQS_LOG_ERROR, "%s; GStreamer error from %s", why, text);
    } else {
        mqs_log(ctx, MQS_LOG_ERROR, "GStreamer error from %s", text);
    }
    return -EIO;
}

/* First produce(): the graph has started, so its start time is known. */
static int start(mqs_block_ctx *ctx)
{
    gst_source_state *s = ctx->state;
    int64_t start = mqs_start_time(ctx), now = mqs_now(ctx);
    s->start_ns = start > 0 ? start : now; /* an older host: the first produce() is the origin */
    gstb_clock_from_start(s->pipeline, s->start_ns, now);
    s->started = true;
    if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
        return 0;
    char err[GSTB_ERR_MAX] = "the pipeline does not start (no error message)";
    gstb_bus_poll(ctx, s->bus, GST_SECOND, err, sizeof err);
    return pipeline_failed(ctx, err);
}

/* Timing and flags of the frame in `sample` onto `b`. */
static void stamp(mqs_block_ctx *ctx, GstSample *sample, GstBuffer *gb, mqs_buffer *b)
{
    gst_source_state *s = ctx->state;
    const GstSegment *seg = gst_sample_get_segment(sample);
    GstClockTime pts = GST_BUFFER_PTS(gb), rt = GST_CLOCK_TIME_NONE;
    if (seg && seg->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts))
        rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, pts);
    /* No timestamp (or outside the segment): its arrival is the best we know. */
    b->meta->pts = GST_CLOCK_TIME_IS_VALID(rt) ? s->start_ns + (int64_t)rt : mqs_now(ctx);
    b->meta->duration = GST_BUFFER_DURATION_IS_VALID(gb) ? (int64_t)GST_BUFFER_DURATION(gb) : s->default_duration;
    b->meta->seq = s->seq;
    b->meta->flags = (GST_BUFFER_FLAG_IS_SET(gb, GST_BUFFER_FLAG_DELTA_UNIT) ? 0 : MQS_BUFFER_KEYFRAME) |
                     (s->seq > 0 && GST_BUFFER_FLAG_IS_SET(gb, GST_BUFFER_FLAG_DISCONT) ? MQS_BUFFER_GAP : 0);
}

/* The sample's frame mapped, checked against the negotiated caps. */
static int map_frame(mqs_block_ctx *ctx, GstSample *sample, GstVideoFrame *frame)
{
    gst_source_state *s = ctx->state;
    GstCaps *caps = gst_sample_get_caps(sample);
    if (caps != s->caps) { /* read once per caps, not per frame */
        if (!caps || !gst_video_info_from_caps(&s->info, caps)) {
            mqs_log(ctx, MQS_LOG_ERROR, "appsink gave a frame without video caps");
            return -EPROTO;
        }
        gst_caps_replace(&s->caps, caps);
    }
    if (GST_VIDEO_INFO_WIDTH(&s->info) != (gint)s->width || GST_VIDEO_INFO_HEIGHT(&s->info) != (gint)s->height) {
        mqs_log(ctx, MQS_LOG_ERROR, "appsink gave a %dx%d frame, the output carries %ux%u",
                GST_VIDEO_INFO_WIDTH(&s->info), GST_VIDEO_INFO_HEIGHT(&s->info), s->width, s->height);
        return -EPROTO;
    }
    if (!gst_video_frame_map(frame, &s->info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
        mqs_log(ctx, MQS_LOG_ERROR, "cannot map frame %llu of appsink", (unsigned long long)s->seq);
        return -EIO;
    }
    return 0;
}

/* The copy: appsink's memory -> a slot of our pool, then send. */
static int send_sample(mqs_block_ctx *ctx, GstSample *sample)
{
    gst_source_state *s = ctx->state;
    mqs_buffer b;
    GstVideoFrame frame;
    int rc = out_alloc(ctx, 0, &b);
    if (rc < 0 || (rc = out_fits(ctx, &b, s->frame_size)) < 0)
        return rc;
    if ((rc = map_frame(ctx, sample, &frame)) < 0) {
        mqs_unref(ctx, &b);
        return rc;
    }
    int64_t t0 = mqs_now(ctx);
    gstb_frame_copy(&frame, b.data, true);
    if (s->seq >= s->warm_frames) { /* steady state: a slot's first write also faults its pages in */
        s->copy_ns += mqs_now(ctx) - t0;
        mqs_report(ctx, "copy_us", (double)s->copy_ns / 1e3 / (double)(s->seq + 1 - s->warm_frames));
    }
    gst_video_frame_unmap(&frame);
    video_meta(&b, s->format, s->width, s->height);
    stamp(ctx, sample, gst_sample_get_buffer(sample), &b);
    s->seq++;
    mqs_report(ctx, "frames", (double)s->seq);
    return out_send(ctx, 0, &b);
}

static int produce(mqs_block_ctx *ctx)
{
    gst_source_state *s = ctx->state;
    char err[GSTB_ERR_MAX];
    int rc;
    if (!s->started && (rc = start(ctx)) < 0)
        return rc;
    if (mqs_stopping(ctx))
        return 0;
    /* End of stream is appsink's to say, once its last frame is taken. */
    if (gstb_bus_poll(ctx, s->bus, 0, err, sizeof err) < 0)
        return pipeline_failed(ctx, err);
    GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(s->sink), PULL_SLICE);
    if (!sample)
        return gst_app_sink_is_eos(GST_APP_SINK(s->sink)) ? MQS_EOS : 0;
    rc = send_sample(ctx, sample);
    gst_sample_unref(sample);
    return rc < 0 ? rc : 0;
}

static void fini(mqs_block_ctx *ctx)
{
    gst_source_state *s = ctx->state;
    mqs_report(ctx, "frames", (double)s->seq);
    if (s->pipeline) {
        gst_element_set_state(s->pipeline, GST_STATE_NULL);
        gst_object_unref(s->pipeline);
    }
    if (s->sink)
        gst_object_unref(s->sink);
    if (s->bus)
        gst_object_unref(s->bus);
    gst_caps_replace(&s->caps, NULL);
    s->pipeline = s->sink = NULL, s->bus = NULL;
}

static const mqs_port_spec ports[] = {
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "video frames, packed, in `format`"},
};

static const mqs_param_spec params[] = {
    {.key = "pipeline", .type = MQS_PARAM_STRING,
     .help = "gst-launch-1.0 description giving video, e.g. `filesrc location=in.mp4 ! decodebin`; the block "
             "appends its conversion, caps and appsink"},
    {.key = "format", .type = MQS_PARAM_ENUM, .default_value = "rgb24", .choices = VIDEO_FORMAT_CHOICES,
     .help = "pixel format of the output (GStreamer RGB, GRAY8, I420)"},
    {.key = "width", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 7680,
     .help = "frame width; 0: the pipeline's (learnt by playing it to its first frame before the graph starts)"},
    {.key = "height", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 4320,
     .help = "frame height; 0: the pipeline's (with width set: by its aspect ratio)"},
    {.key = "convert", .type = MQS_PARAM_BOOL, .default_value = "true",
     .help = "append videoscale ! videoconvert, so any raw video fits; false: the pipeline must give exactly "
             "the output's caps"},
    {.key = "sync", .type = MQS_PARAM_BOOL, .default_value = "false",
     .help = "true: deliver frames at their timestamps (a file plays in real time); false: as fast as the "
             "graph takes them"},
    {.key = "probe_timeout", .type = MQS_PARAM_DURATION, .default_value = "10s", .min = 1e8, .max = 6e11,
     .help = "how long the pipeline may take to its first frame when width or height is 0"},
};

MQS_BLOCK_EXPORT(gst_source) = {
    MQS_BLOCK_HEADER,
    .name = "gst_source",
    .summary = "video from a GStreamer description (appsink): files, cameras, streams",
    .kind = MQS_BLOCK_SOURCE,
    .ports = ports,
    .port_count = sizeof ports / sizeof ports[0],
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(gst_source_state),
    .negotiate = negotiate,
    .init = init,
    .produce = produce,
    .fini = fini,
};
