/* Looking at a GStreamer description from negotiate(), which runs in the
 * launcher: GStreamer is initialized only in a forked child, which parses
 * the description and, when asked, runs it up to its first frame; the
 * result comes back through a pipe, and the child is killed when it takes
 * too long. The launcher itself never loads GStreamer. */
#ifndef MQS_BLOCKS_GST_PROBE_H
#define MQS_BLOCKS_GST_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "gst_bridge.h"

typedef struct gstb_probe {
    int32_t status;  /* 0, or -errno: then `message` says why */
    uint32_t width;  /* preroll: the first frame's size and frame rate (0: unknown) */
    uint32_t height;
    double rate;
    bool caps_error; /* the caps did not fit: `offered` says what GStreamer offered (or accepts) */
    char message[GSTB_ERR_MAX];
    char offered[512];
} gstb_probe;

typedef struct gstb_probe_request {
    const char *desc;    /* the whole description, the block's elements included */
    gstb_joint joint;    /* as for gstb_parse */
    bool preroll;        /* play it up to its first frame at GSTB_APPSINK */
    const char *accepts; /* caps (text) GSTB_APPSRC will push: must the pipeline take them? NULL: no check */
    int64_t timeout_ns;  /* for the preroll; GStreamer's start-up has a grace period of its own */
} gstb_probe_request;

/* Parse the description and do what `req` asks, in a child. Returns out->status. */
int gstb_probe_run(const gstb_probe_request *req, gstb_probe *out);

#endif
