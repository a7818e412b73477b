/* The GStreamer side of the bridge blocks; see gst_bridge.h. */
#include <stdio.h>
#include <string.h>

#include "gst_bridge.h"

#define CAPS_TEXT_MAX 200 /* bytes of caps quoted in a message: a source's caps can list every format */

const char *gstb_format_name(uint32_t format)
{
    switch (format) {
    case MQS_FORMAT_RGB24: return "RGB";
    case MQS_FORMAT_GRAY8: return "GRAY8";
    case MQS_FORMAT_I420: return "I420";
    default: return NULL;
    }
}

int gstb_init(char *err, size_t cap)
{
    GError *e = NULL;
    if (gst_init_check(NULL, NULL, &e))
        return 0;
    snprintf(err, cap, "GStreamer does not start: %s", e ? e->message : "gst_init failed");
    g_clear_error(&e);
    return -ENOTSUP;
}

/* The hint for a description that does not parse, by what went wrong. */
static void parse_hint(const GError *e, GstParseContext *pc, const gstb_joint *joint, char *out, size_t cap)
{
    if (e->domain == GST_PARSE_ERROR && e->code == GST_PARSE_ERROR_NO_SUCH_ELEMENT) {
        gchar **missing = gst_parse_context_get_missing_elements(pc);
        snprintf(out, cap,
                 "`gst-inspect-1.0 %s` says whether it is installed; install the GStreamer plugins package "
                 "that has it (gstreamer1.0-plugins-base, -good, -bad, -ugly or -libav), or check its spelling",
                 missing && missing[0] ? missing[0] : "ELEMENT");
        g_strfreev(missing);
    } else if (e->domain == GST_PARSE_ERROR && e->code == GST_PARSE_ERROR_LINK) {
        snprintf(out, cap, "%s", joint->link_hint);
    } else {
        snprintf(out, cap, "write it as for gst-launch-1.0, elements joined by `!`, and try it there");
    }
}

GstElement *gstb_parse(const char *desc, const gstb_joint *joint, char *err, size_t cap)
{
    GError *e = NULL;
    GstParseContext *pc = gst_parse_context_new();
    GstElement *p = gst_parse_launch_full(desc, pc, GST_PARSE_FLAG_NONE, &e);
    if (p && !e && GST_IS_PIPELINE(p)) {
        gst_parse_context_free(pc);
        return p;
    }
    char hint[512], offered[CAPS_TEXT_MAX + 64] = "";
    if (e) {
        parse_hint(e, pc, joint, hint, sizeof hint);
        /* A link refused for named caps says enough; else say what the user's part offers (an appsrc offers ANY). */
        if (p && e->domain == GST_PARSE_ERROR && e->code == GST_PARSE_ERROR_LINK &&
            !strstr(e->message, "can't handle caps") && strcmp(joint->bridge, GSTB_APPSRC) != 0)
            gstb_offered(p, joint->bridge, offered, sizeof offered);
    } else {
        snprintf(hint, sizeof hint, "the description must make one pipeline");
    }
    snprintf(err, cap, "cannot use `pipeline`: %s%s%s (hint: %s)", e ? e->message : "not a pipeline",
             offered[0] ? "; GStreamer offers " : "", offered, hint);
    g_clear_error(&e);
    if (p)
        gst_object_unref(p);
    gst_parse_context_free(pc);
    return NULL;
}

/* `caps` as text, cut to CAPS_TEXT_MAX bytes, " (from ELEMENT)" after it. */
static void caps_text(GstCaps *caps, GstPad *pad, char *out, size_t cap)
{
    gchar *s = gst_caps_to_string(caps);
    GstElement *owner = gst_pad_get_parent_element(pad);
    size_t n = strlen(s);
    snprintf(out, cap, "%.*s%s (from %s)", CAPS_TEXT_MAX, s, n > CAPS_TEXT_MAX ? "..." : "",
             owner ? GST_OBJECT_NAME(owner) : GST_OBJECT_NAME(pad));
    if (owner)
        gst_object_unref(owner);
    g_free(s);
}

/* What a pad carries, or failing that what it can carry. */
static GstCaps *pad_caps(GstPad *pad)
{
    GstCaps *caps = gst_pad_get_current_caps(pad);
    return caps ? caps : gst_pad_query_caps(pad, NULL);
}

/* The first source pad in `pipeline` that is linked to nothing. */
static GstPad *unlinked_src_pad(GstElement *pipeline)
{
    GstPad *found = NULL;
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pipeline));
    GValue v = G_VALUE_INIT;
    while (!found && gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *e = g_value_get_object(&v);
        GstIterator *pads = gst_element_iterate_src_pads(e);
        GValue pv = G_VALUE_INIT;
        while (!found && gst_iterator_next(pads, &pv) == GST_ITERATOR_OK) {
            GstPad *pad = g_value_get_object(&pv);
            if (!gst_pad_is_linked(pad) && GST_PAD_IS_SRC(pad))
                found = gst_object_ref(pad);
            g_value_reset(&pv);
        }
        g_value_unset(&pv);
        gst_iterator_free(pads);
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return found;
}

/* The pad across the link from bridge element `bridge` (its sink pad, or
 * the appsrc's source pad), or NULL. */
static GstPad *bridge_peer(GstElement *pipeline, const char *bridge)
{
    GstElement *b = gst_bin_get_by_name(GST_BIN(pipeline), bridge);
    if (!b)
        return NULL;
    GstPad *pad = gst_element_get_static_pad(b, strcmp(bridge, GSTB_APPSRC) == 0 ? "src" : "sink");
    GstPad *peer = pad ? gst_pad_get_peer(pad) : NULL;
    if (pad)
        gst_object_unref(pad);
    gst_object_unref(b);
    return peer;
}

void gstb_offered(GstElement *pipeline, const char *bridge, char *out, size_t cap)
{
    out[0] = '\0';
    GstPad *pad = bridge_peer(pipeline, bridge);
    if (!pad)
        pad = unlinked_src_pad(pipeline);
    if (!pad)
        return;
    GstCaps *caps = pad_caps(pad);
    if (caps) {
        caps_text(caps, pad, out, cap);
        gst_caps_unref(caps);
    }
    gst_object_unref(pad);
}

bool gstb_peer_accepts(GstElement *pipeline, const char *bridge, GstCaps *caps)
{
    GstPad *peer = bridge_peer(pipeline, bridge);
    if (!peer)
        return true;
    GstCaps *takes = gst_pad_query_caps(peer, NULL);
    bool ok = !takes || gst_caps_can_intersect(takes, caps);
    if (takes)
        gst_caps_unref(takes);
    gst_object_unref(peer);
    return ok;
}

void gstb_caps_text(char *out, size_t cap, uint32_t format, uint32_t width, uint32_t height, double rate)
{
    int n = snprintf(out, cap, "video/x-raw,format=%s", gstb_format_name(format));
    if (width && height && n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, ",width=%u,height=%u", width, height);
    if (format == MQS_FORMAT_I420 && n >= 0 && (size_t)n < cap) /* full range, BT.601 matrix: as our blocks make it */
        n += snprintf(out + n, cap - (size_t)n, ",colorimetry=1:4:0:0");
    if (rate >= 0 && n >= 0 && (size_t)n < cap) {
        gint num = 0, den = 1;
        if (rate > 0)
            gst_util_double_to_fraction(rate, &num, &den);
        snprintf(out + n, cap - (size_t)n, ",framerate=%d/%d", num, den);
    }
}

/* "ELEMENT: MESSAGE (debug: DEBUG)" of an error or a warning, on one line. */
static void message_text(GstMessage *m, char *out, size_t cap)
{
    GError *e = NULL;
    gchar *debug = NULL;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
        gst_message_parse_error(m, &e, &debug);
    else
        gst_message_parse_warning(m, &e, &debug);
    snprintf(out, cap, "%s: %s (debug: %s)", GST_MESSAGE_SRC(m) ? GST_MESSAGE_SRC_NAME(m) : "pipeline",
             e ? e->message : "unknown", debug ? debug : "none");
    for (char *c = out; *c; c++)
        if (*c == '\n')
            *c = ' ';
    g_clear_error(&e);
    g_free(debug);
}

/* A link gst-launch syntax asked for, to a pad that appeared while playing
 * (a demuxer's, a decoder's), could not be made: nothing will ever flow
 * through it, so the pipeline stalls; GStreamer only warns. */
static bool is_failed_delayed_link(GstMessage *m)
{
    GError *e = NULL;
    if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_WARNING)
        return false;
    gst_message_parse_warning(m, &e, NULL);
    bool failed = e && e->domain == GST_PARSE_ERROR && e->code == GST_PARSE_ERROR_DELAYED_LINK;
    g_clear_error(&e);
    return failed;
}

/* One message off the bus: GSTB_EOS, -EIO (error, text in err) or 0. */
static int take_message(mqs_block_ctx *ctx, GstMessage *m, char *err, size_t cap)
{
    int rc = 0;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR || is_failed_delayed_link(m)) {
        message_text(m, err, cap);
        rc = -EIO;
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
        rc = GSTB_EOS;
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_WARNING && ctx) {
        char text[1024];
        message_text(m, text, sizeof text);
        mqs_log(ctx, MQS_LOG_WARN, "GStreamer warning from %s", text);
    }
    gst_message_unref(m);
    return rc;
}

int gstb_bus_poll(mqs_block_ctx *ctx, GstBus *bus, GstClockTime wait, char *err, size_t cap)
{
    GstMessage *m;
    int rc = 0;
    gint64 deadline = g_get_monotonic_time() + (gint64)(wait / 1000);
    while (rc == 0 && wait > 0) { /* warnings do not end the wait */
        gint64 left = deadline - g_get_monotonic_time();
        if (left <= 0)
            break;
        m = gst_bus_timed_pop_filtered(bus, (GstClockTime)left * 1000,
                                       GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING);
        if (!m)
            break;
        rc = take_message(ctx, m, err, cap);
    }
    while (rc == 0 && (m = gst_bus_pop(bus)) != NULL)
        rc = take_message(ctx, m, err, cap);
    return rc;
}

bool gstb_is_caps_error(const char *text)
{
    return strstr(text, "not-negotiated") || strstr(text, "not-linked") || strstr(text, "delayed linking");
}

void gstb_clock_from_start(GstElement *pipeline, int64_t start_ns, int64_t now_ns)
{
    GstClock *clock = gst_system_clock_obtain(); /* CLOCK_MONOTONIC unless someone changed its type */
    gst_pipeline_use_clock(GST_PIPELINE(pipeline), clock);
    int64_t base = (int64_t)gst_clock_get_time(clock) - (now_ns - start_ns);
    gst_element_set_start_time(pipeline, GST_CLOCK_TIME_NONE); /* keep the base time given here */
    gst_element_set_base_time(pipeline, (GstClockTime)(base > 0 ? base : 0));
    gst_object_unref(clock);
}

/* For our three formats plane p holds component p (RGB: one plane, R first),
 * so a plane's row is the component's width times its pixel stride. */
bool gstb_info_is_packed(const GstVideoInfo *info)
{
    gsize offset = 0;
    for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(info); p++) {
        gsize row = (gsize)GST_VIDEO_INFO_COMP_WIDTH(info, p) * (gsize)GST_VIDEO_INFO_COMP_PSTRIDE(info, p);
        if ((gsize)GST_VIDEO_INFO_PLANE_STRIDE(info, p) != row || GST_VIDEO_INFO_PLANE_OFFSET(info, p) != offset)
            return false;
        offset += row * (gsize)GST_VIDEO_INFO_COMP_HEIGHT(info, p);
    }
    return true;
}

void gstb_frame_copy(GstVideoFrame *frame, uint8_t *packed, bool to_packed)
{
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(frame); p++) {
        size_t row = (size_t)GST_VIDEO_FRAME_COMP_WIDTH(frame, p) * (size_t)GST_VIDEO_FRAME_COMP_PSTRIDE(frame, p);
        size_t rows = (size_t)GST_VIDEO_FRAME_COMP_HEIGHT(frame, p);
        ptrdiff_t stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p);
        uint8_t *g = GST_VIDEO_FRAME_PLANE_DATA(frame, p);
        if (stride == (ptrdiff_t)row) { /* GStreamer's rows are packed too: the plane in one go */
            memcpy(to_packed ? packed : g, to_packed ? g : packed, row * rows);
        } else {
            for (size_t r = 0; r < rows; r++) {
                uint8_t *line = g + (ptrdiff_t)r * stride;
                memcpy(to_packed ? packed + r * row : line, to_packed ? line : packed + r * row, row);
            }
        }
        packed += row * rows;
    }
}
