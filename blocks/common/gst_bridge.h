/* The GStreamer side of the bridge blocks (gst_source, gst_sink), compiled
 * into both plugins: our pixel formats in GStreamer's names, copies between
 * GStreamer's frame layout and our packed one, descriptions parsed with
 * errors that say what to fix, the bus, and the clock. */
#ifndef MQS_BLOCKS_GST_BRIDGE_H
#define MQS_BLOCKS_GST_BRIDGE_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include <mqs/block.h>

#define GSTB_ERR_MAX 1536 /* bytes of an error text, hint included */

/* The names our elements get in a description; a user's description must not use them. */
#define GSTB_APPSINK "mqs_appsink"
#define GSTB_APPSRC "mqs_appsrc"
#define GSTB_CAPS "mqs_caps"
#define GSTB_SCALE "mqs_scale"

/* Status of gstb_bus_poll besides 0 (nothing of note). */
#define GSTB_EOS 1

/* GStreamer's name of our format MQS_FORMAT_* ("RGB", "GRAY8", "I420"); NULL for another. */
const char *gstb_format_name(uint32_t format);

/* gst_init once per process; 0, or -ENOTSUP with the reason in `err`. */
int gstb_init(char *err, size_t cap);

/* Where the user's description meets the block's elements: `bridge` names
 * the block's element there (GSTB_APPSRC before the user's part, or the
 * first element after it), `link_hint` tells how to fix a link that fails. */
typedef struct gstb_joint {
    const char *bridge;
    const char *link_hint;
} gstb_joint;

/* The pipeline of description `desc`, or NULL with the reason and a hint in
 * `err`: a syntax error, an unknown element, a link that cannot be made. */
GstElement *gstb_parse(const char *desc, const gstb_joint *joint, char *err, size_t cap);

/* What GStreamer offered where the user's part meets the bridge element
 * `bridge`: the caps upstream of it, or those of a source pad left unlinked
 * (a stream of a decoder nothing takes). "" when there is nothing to say. */
void gstb_offered(GstElement *pipeline, const char *bridge, char *out, size_t cap);

/* Whether what is across from bridge element `bridge` can take `caps`
 * (true when nothing is linked there yet: it cannot be told before playing). */
bool gstb_peer_accepts(GstElement *pipeline, const char *bridge, GstCaps *caps);

/* Caps text of our packed frames: "video/x-raw,format=RGB,width=W,height=H",
 * with framerate=N/D when rate >= 0 (0: 0/1, unknown), and the full-range
 * BT.601 colorimetry our YUV frames have. No GStreamer call: usable in the
 * launcher. */
void gstb_caps_text(char *out, size_t cap, uint32_t format, uint32_t width, uint32_t height, double rate);

/* Drains the bus: warnings go to the block's log (ctx may be NULL: dropped),
 * every other message is released so none piles up. Waits up to `wait` for
 * an error or end of stream. GSTB_EOS, 0, or -EIO with GStreamer's message
 * and debug string in `err`. A delayed link that failed (a demuxer's pad
 * nothing could take) is an error here: the pipeline would only stall. */
int gstb_bus_poll(mqs_block_ctx *ctx, GstBus *bus, GstClockTime wait, char *err, size_t cap);

/* Whether a streaming error means that caps did not fit (not-negotiated,
 * not-linked, a failed delayed link): then gstb_offered says more than
 * GStreamer's message. */
bool gstb_is_caps_error(const char *text);

/* Run `pipeline` on the system clock with running time 0 at the graph's
 * start instant `start_ns` (on the graph's clock, read as `now_ns`), so
 * running time + start = a time on the graph's clock. */
void gstb_clock_from_start(GstElement *pipeline, int64_t start_ns, int64_t now_ns);

/* Whether GStreamer's default layout of `info` is our packed layout (plane
 * after plane, rows without padding): then a packed frame can be handed to
 * GStreamer as it is. */
bool gstb_info_is_packed(const GstVideoInfo *info);

/* Copy between a mapped GStreamer frame and a packed frame of the same
 * format and size: one memcpy per plane when the strides agree, else row by
 * row. to_packed: frame -> packed, else packed -> frame. */
void gstb_frame_copy(GstVideoFrame *frame, uint8_t *packed, bool to_packed);

#endif
