/* gst_sink: the graph's video into a GStreamer description (an encoder and
 * a file, a display, a network stream).
 *
 * The block puts an appsrc in front of the description,
 *     appsrc (caps of the input) ! PIPELINE
 * and pushes every input frame with GStreamer pts = pts - mqs_start_time():
 * the running time, on a pipeline whose clock has running time 0 at the
 * graph's start (gst_source does the reverse, so timestamps survive a round
 * trip). At end of stream it sends EOS and waits, at most eos_timeout, for
 * the pipeline's EOS, so a muxer finalizes its file.
 *
 * Zero copy where possible: a frame whose packed layout is GStreamer's own
 * (widths that keep rows 4-byte aligned) is lent to GStreamer as it lies in
 * the upstream pool, read-only, while the block keeps a reference to its
 * slot (lease.h). At most max_wrapped frames are lent at once (default:
 * half the input pool's slots): an encoder that keeps dozens of frames must
 * not take every slot, or the upstream producer can never allocate again and
 * the graph deadlocks. Beyond that, and for other layouts, the frame is
 * copied into a buffer of the block's own GstBufferPool. Reports `frames`,
 * `zero_copy` and `copied`. */
#include <stdio.h>
#include <string.h>

#include <gst/app/gstappsrc.h>

#include "../common/video.h"
#include "../common/gst_bridge.h"
#include "../common/gst_probe.h"
#include "lease.h"

#define DESC_MAX 5120             /* the user's description (at most 4096 bytes) and the appsrc */
#define QUEUE_MAX 2               /* frames waiting in the appsrc: enough to keep its thread busy */
#define WAIT_SLICE_NS 50000000LL  /* how often a waiting block looks at its stop flag and the bus */
#define PARSE_TIMEOUT_NS 10000000000LL

typedef struct gst_sink_state {
    GstElement *pipeline, *src;
    GstBus *bus;
    GstBufferPool *pool; /* buffers for the frames that are copied */
    GstVideoInfo info;   /* GStreamer's layout of the input's caps */
    lease_table *leases;
    uint32_t max_wrapped; /* 0: copy every frame */
    int64_t start_ns, eos_timeout;
    uint64_t frames, zero_copy, copied;
    bool started, eos_sent, failed, warned_early;
} gst_sink_state;

static const gstb_joint joint = {GSTB_APPSRC, "gst_sink feeds the first element of `pipeline`: start it with an "
                                              "element that takes raw video, e.g. `videoconvert ! ...`, not with a "
                                              "source"};

static void describe(char *out, size_t cap, const char *user)
{
    snprintf(out, cap, "appsrc name=" GSTB_APPSRC " ! %s", user);
}

/* -1: half the input pool's slots. Never all of them. */
static uint32_t wrap_limit(int64_t param, uint32_t slot_count)
{
    return param >= 0 ? (uint32_t)param : slot_count / 2;
}

/* negotiate(): the probe's failure as a graph error. */
static int probe_failed(const mqs_params *p, const gstb_probe *r, const char *caps)
{
    if (!r->caps_error)
        return mqs_params_fail(p, "%s", r->message);
    return mqs_params_fail(p,
                           "the pipeline does not take the block's input, %s; it takes %s (hint: start `pipeline` "
                           "with `videoconvert ! ` to convert)",
                           caps, r->offered[0] ? r->offered : "something else");
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)out, (void)n_out;
    if (n_in < 1)
        return 0;
    int rc = video_accept(p, &in[0], "in",
                          VIDEO_BIT(MQS_FORMAT_RGB24) | VIDEO_BIT(MQS_FORMAT_GRAY8) | VIDEO_BIT(MQS_FORMAT_I420),
                          "gst_sink takes rgb24, gray8 or i420");
    if (rc < 0)
        return rc;
    const char *user = mqs_param_string(p, "pipeline");
    if (strspn(user, " \t\n") == strlen(user))
        return mqs_params_fail(p, "`pipeline` is empty (hint: a gst-launch-1.0 description that takes video, e.g. "
                                  "`videoconvert ! x264enc ! mp4mux ! filesink location=out.mp4`)");
    uint32_t wrapped = wrap_limit(mqs_param_int(p, "max_wrapped"), in[0].slot_count);
    if (wrapped >= in[0].slot_count && wrapped > 0)
        return mqs_params_fail(p,
                               "max_wrapped %u leaves the upstream pool (%u slots) nothing to allocate once GStreamer "
                               "holds that many frames, and the graph would stop (hint: at most %u, or raise the "
                               "upstream output's slots)",
                               wrapped, in[0].slot_count, in[0].slot_count - 1);
    char desc[DESC_MAX], caps[256];
    describe(desc, sizeof desc, user);
    gstb_caps_text(caps, sizeof caps, in[0].format, in[0].width, in[0].height, in[0].rate);
    static gstb_probe r; /* 2 KiB: not on the launcher's stack */
    gstb_probe_request req = {.desc = desc, .joint = joint, .accepts = caps, .timeout_ns = PARSE_TIMEOUT_NS};
    return gstb_probe_run(&req, &r) < 0 ? probe_failed(p, &r, caps) : 0;
}

/* A buffer left the appsrc's queue: room for the next frame. */
static GstPadProbeReturn on_buffer_out(GstPad *pad, GstPadProbeInfo *info, gpointer table)
{
    (void)pad, (void)info;
    lease_signal(table);
    return GST_PAD_PROBE_OK;
}

/* The appsrc: our caps, time format, and a probe that says when its queue goes down. */
static int setup_appsrc(mqs_block_ctx *ctx, GstCaps *caps)
{
    gst_sink_state *s = ctx->state;
    s->src = gst_bin_get_by_name(GST_BIN(s->pipeline), GSTB_APPSRC);
    g_object_set(s->src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE, "block", FALSE, "max-bytes",
                 (guint64)0, "emit-signals", FALSE, NULL);
    GstPad *pad = gst_element_get_static_pad(s->src, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer_out, s->leases, NULL);
    gst_object_unref(pad);
    s->pool = gst_buffer_pool_new();
    GstStructure *config = gst_buffer_pool_get_config(s->pool);
    gst_buffer_pool_config_set_params(config, caps, (guint)GST_VIDEO_INFO_SIZE(&s->info), QUEUE_MAX, 0);
    if (!gst_buffer_pool_set_config(s->pool, config) || !gst_buffer_pool_set_active(s->pool, TRUE)) {
        mqs_log(ctx, MQS_LOG_ERROR, "cannot set up a GStreamer buffer pool for %zu-byte frames",
                (size_t)GST_VIDEO_INFO_SIZE(&s->info));
        return -ENOMEM;
    }
    return 0;
}

/* GStreamer's view of the input (info), whether we can lend frames, the table. */
static int setup_layout(mqs_block_ctx *ctx, GstCaps **caps)
{
    gst_sink_state *s = ctx->state;
    const mqs_caps *c = &ctx->input_caps[0];
    char text[256];
    gstb_caps_text(text, sizeof text, c->format, c->width, c->height, c->rate);
    *caps = gst_caps_from_string(text);
    if (!*caps || !gst_video_info_from_caps(&s->info, *caps)) {
        mqs_log(ctx, MQS_LOG_ERROR, "GStreamer does not read the input's caps %s", text);
        return -EINVAL;
    }
    s->max_wrapped = wrap_limit(mqs_param_int(ctx->params, "max_wrapped"), c->slot_count);
    if (!gstb_info_is_packed(&s->info) && s->max_wrapped > 0) {
        mqs_log(ctx, MQS_LOG_INFO, "%ux%u %s: GStreamer pads the rows, every frame is copied", c->width, c->height,
                video_format_name(c->format));
        s->max_wrapped = 0;
    }
    s->leases = lease_table_create(s->max_wrapped);
    return s->leases ? 0 : -ENOMEM;
}

static int init(mqs_block_ctx *ctx)
{
    gst_sink_state *s = ctx->state;
    char err[GSTB_ERR_MAX], desc[DESC_MAX];
    GstCaps *caps = NULL;
    s->eos_timeout = mqs_param_int(ctx->params, "eos_timeout");
    describe(desc, sizeof desc, mqs_param_string(ctx->params, "pipeline"));
    int rc = gstb_init(err, sizeof err);
    if (rc == 0 && !(s->pipeline = gstb_parse(desc, &joint, err, sizeof err)))
        rc = -EINVAL;
    if (rc < 0) {
        mqs_log(ctx, MQS_LOG_ERROR, "%s", err);
        return rc;
    }
    s->bus = gst_element_get_bus(s->pipeline);
    if ((rc = setup_layout(ctx, &caps)) == 0)
        rc = setup_appsrc(ctx, caps);
    if (caps)
        gst_caps_unref(caps);
    return rc;
}

/* A GStreamer error: its message and debug string, and what the pipeline takes when caps did not fit. */
static int pipeline_failed(mqs_block_ctx *ctx, const char *text)
{
    gst_sink_state *s = ctx->state;
    char takes[512];
    s->failed = true; /* no EOS will come out of it: fini() does not wait for one */
    if (gstb_is_caps_error(text)) {
        gstb_offered(s->pipeline, GSTB_APPSRC, takes, sizeof takes);
        mqs_log(ctx, MQS_LOG_ERROR,
                "the pipeline does not take the input's %s frames; it takes %s (hint: start `pipeline` with "
                "`videoconvert ! `); GStreamer error from %s",
                video_format_name(ctx->input_caps[0].format), takes[0] ? takes : "something else", text);
    } else {
        mqs_log(ctx, MQS_LOG_ERROR, "GStreamer error from %s", text);
    }
    return -EIO;
}

/* The first frame (or the end): run the pipeline on the graph's timeline. */
static int start(mqs_block_ctx *ctx, int64_t first_pts)
{
    gst_sink_state *s = ctx->state;
    int64_t start = mqs_start_time(ctx), now = mqs_now(ctx);
    s->start_ns = start > 0 ? start : first_pts; /* an older host: the first frame is time 0 */
    gstb_clock_from_start(s->pipeline, s->start_ns, now);
    s->started = true;
    if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
        return 0;
    char err[GSTB_ERR_MAX] = "the pipeline does not start (no error message)";
    gstb_bus_poll(ctx, s->bus, GST_SECOND, err, sizeof err);
    return pipeline_failed(ctx, err);
}

/* Wait until the appsrc's queue has room, releasing what GStreamer gave back meanwhile. */
static int wait_for_room(mqs_block_ctx *ctx)
{
    gst_sink_state *s = ctx->state;
    char err[GSTB_ERR_MAX];
    for (;;) {
        uint64_t seen = lease_events(s->leases);
        lease_collect(s->leases, ctx);
        if (gstb_bus_poll(ctx, s->bus, 0, err, sizeof err) < 0)
            return pipeline_failed(ctx, err);
        if (gst_app_src_get_current_level_buffers(GST_APP_SRC(s->src)) < QUEUE_MAX)
            return 0;
        if (mqs_stopping(ctx))
            return -ECANCELED;
        lease_wait(s->leases, seen, WAIT_SLICE_NS);
    }
}

/* The frame lent to GStreamer as it lies in shared memory, or NULL (copy it). */
static GstBuffer *lend(mqs_block_ctx *ctx, const mqs_buffer *in)
{
    gst_sink_state *s = ctx->state;
    if (s->max_wrapped == 0)
        return NULL;
    lease *l = lease_take(s->leases, ctx, in);
    if (!l)
        return NULL;
    gsize size = GST_VIDEO_INFO_SIZE(&s->info);
    s->zero_copy++;
    return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, l->buf.data, size, 0, size, l, lease_return);
}

/* The frame copied into a buffer of our pool, in GStreamer's layout. */
static GstBuffer *copy_in(mqs_block_ctx *ctx, const mqs_buffer *in)
{
    gst_sink_state *s = ctx->state;
    GstBuffer *gb = NULL;
    GstVideoFrame frame;
    if (gst_buffer_pool_acquire_buffer(s->pool, &gb, NULL) != GST_FLOW_OK)
        return NULL;
    if (!gst_video_frame_map(&frame, &s->info, gb, GST_MAP_WRITE)) {
        gst_buffer_unref(gb);
        return NULL;
    }
    gstb_frame_copy(&frame, in->data, false);
    gst_video_frame_unmap(&frame);
    s->copied++;
    return gb;
}

/* GStreamer's pts is the running time: ours minus the graph's start. */
static void stamp(mqs_block_ctx *ctx, const mqs_buffer *in, GstBuffer *gb)
{
    gst_sink_state *s = ctx->state;
    int64_t rt = in->meta->pts - s->start_ns;
    if (rt < 0) {
        if (!s->warned_early)
            mqs_log(ctx, MQS_LOG_WARN, "frame seq %llu has a pts %.3f ms before the graph started: given to "
                    "GStreamer as 0 (and so are later ones like it)",
                    (unsigned long long)in->meta->seq, (double)-rt / 1e6);
        s->warned_early = true;
        rt = 0;
    }
    GST_BUFFER_PTS(gb) = (GstClockTime)rt;
    GST_BUFFER_DURATION(gb) = in->meta->duration > 0 ? (GstClockTime)in->meta->duration : GST_CLOCK_TIME_NONE;
    GST_BUFFER_OFFSET(gb) = s->frames;
    if (in->meta->flags & MQS_BUFFER_GAP)
        GST_BUFFER_FLAG_SET(gb, GST_BUFFER_FLAG_DISCONT);
}

static void report(mqs_block_ctx *ctx)
{
    gst_sink_state *s = ctx->state;
    mqs_report(ctx, "frames", (double)s->frames);
    mqs_report(ctx, "zero_copy", (double)s->zero_copy);
    mqs_report(ctx, "copied", (double)s->copied);
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    gst_sink_state *s = ctx->state;
    int rc;
    if (!in[0])
        return 0;
    if ((rc = video_check(ctx, in[0], 0, "in")) < 0)
        return rc;
    if (!s->started && (rc = start(ctx, in[0]->meta->pts)) < 0)
        return rc;
    if ((rc = wait_for_room(ctx)) < 0)
        return rc;
    GstBuffer *gb = lend(ctx, in[0]);
    if (!gb && !(gb = copy_in(ctx, in[0]))) {
        mqs_log(ctx, MQS_LOG_ERROR, "no GStreamer buffer for frame seq %llu", (unsigned long long)in[0]->meta->seq);
        return -ENOMEM;
    }
    stamp(ctx, in[0], gb);
    GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(s->src), gb); /* takes gb */
    if (flow != GST_FLOW_OK) {
        char err[GSTB_ERR_MAX];
        snprintf(err, sizeof err, "%s: push returned %s", GSTB_APPSRC, gst_flow_get_name(flow));
        gstb_bus_poll(ctx, s->bus, GST_SECOND / 10, err, sizeof err);
        return pipeline_failed(ctx, err);
    }
    s->frames++;
    report(ctx);
    return 0;
}

/* EOS in, then wait (bounded) for the pipeline's EOS: the file is complete. */
static int finish(mqs_block_ctx *ctx)
{
    gst_sink_state *s = ctx->state;
    char err[GSTB_ERR_MAX];
    int rc;
    if (!s->started && (rc = start(ctx, 0)) < 0)
        return rc;
    s->eos_sent = true;
    gst_app_src_end_of_stream(GST_APP_SRC(s->src));
    int64_t deadline = mqs_now(ctx) + s->eos_timeout;
    while ((rc = gstb_bus_poll(ctx, s->bus, WAIT_SLICE_NS, err, sizeof err)) == 0) {
        lease_collect(s->leases, ctx);
        if (mqs_now(ctx) >= deadline) {
            mqs_log(ctx, MQS_LOG_ERROR,
                    "the pipeline did not finish within %.1f s of the end of stream: what it writes may be "
                    "incomplete (hint: raise eos_timeout)", (double)s->eos_timeout / 1e9);
            return -ETIMEDOUT;
        }
    }
    lease_collect(s->leases, ctx);
    return rc == GSTB_EOS ? 0 : pipeline_failed(ctx, err);
}

static int flush(mqs_block_ctx *ctx)
{
    return finish(ctx);
}

static void fini(mqs_block_ctx *ctx)
{
    gst_sink_state *s = ctx->state;
    if (s->pipeline && s->started && !s->eos_sent && !s->failed && s->frames > 0)
        finish(ctx); /* stopped before the end of stream: still finalize what was written */
    if (s->pipeline) {
        gst_element_set_state(s->pipeline, GST_STATE_NULL); /* GStreamer gives back every frame */
        gst_object_unref(s->pipeline);
    }
    if (s->src)
        gst_object_unref(s->src);
    if (s->bus)
        gst_object_unref(s->bus);
    if (s->pool) {
        gst_buffer_pool_set_active(s->pool, FALSE);
        gst_object_unref(s->pool);
    }
    s->pipeline = s->src = NULL, s->bus = NULL, s->pool = NULL;
    if (s->leases) {
        lease_collect(s->leases, ctx);
        if (!lease_table_destroy(s->leases))
            mqs_log(ctx, MQS_LOG_WARN, "GStreamer still holds %u frames after the pipeline stopped",
                    s->leases->lent);
        s->leases = NULL;
    }
    report(ctx);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_VIDEO, .help = "rgb24, gray8 or i420"},
};

static const mqs_param_spec params[] = {
    {.key = "pipeline", .type = MQS_PARAM_STRING,
     .help = "gst-launch-1.0 description taking video, e.g. `videoconvert ! x264enc ! mp4mux ! filesink "
             "location=out.mp4`; the block puts its appsrc in front"},
    {.key = "max_wrapped", .type = MQS_PARAM_INT, .default_value = "-1", .min = -1, .max = 65535,
     .help = "frames lent to GStreamer without a copy at once; -1: half the input pool's slots; 0: copy every "
             "frame"},
    {.key = "eos_timeout", .type = MQS_PARAM_DURATION, .default_value = "10s", .min = 1e8, .max = 6e11,
     .help = "how long the pipeline may take to finish (e.g. an encoder draining, a muxer writing its index) "
             "after the end of stream"},
};

MQS_BLOCK_EXPORT(gst_sink) = {
    MQS_BLOCK_HEADER,
    .name = "gst_sink",
    .summary = "video into a GStreamer description (appsrc): encoders, files, displays, streams",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = sizeof ports / sizeof ports[0],
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(gst_sink_state),
    .negotiate = negotiate,
    .init = init,
    .process = process,
    .flush = flush,
    .fini = fini,
};
