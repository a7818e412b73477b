/* Probing a description in a forked child; see gst_probe.h. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gst/app/gstappsink.h>

#include "gst_probe.h"

/* GStreamer's own start-up (a registry rebuilt after a plugin package was
 * installed takes seconds) on top of the preroll timeout. */
#define STARTUP_GRACE_NS (30LL * 1000000000)
#define POLL_SLICE (20 * GST_MSECOND)

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Size and rate of the first sample's caps. */
static int read_caps(GstSample *sample, gstb_probe *r)
{
    GstVideoInfo info;
    GstCaps *caps = gst_sample_get_caps(sample);
    if (!caps || !gst_video_info_from_caps(&info, caps)) {
        snprintf(r->message, sizeof r->message, "the first frame carries no usable video caps");
        return -EPROTO;
    }
    r->width = (uint32_t)GST_VIDEO_INFO_WIDTH(&info);
    r->height = (uint32_t)GST_VIDEO_INFO_HEIGHT(&info);
    if (GST_VIDEO_INFO_FPS_N(&info) > 0 && GST_VIDEO_INFO_FPS_D(&info) > 0)
        r->rate = (double)GST_VIDEO_INFO_FPS_N(&info) / GST_VIDEO_INFO_FPS_D(&info);
    return 0;
}

/* An error on the bus: the text, and what was offered when caps did not fit. */
static int bus_failure(GstElement *p, const char *bridge, int rc, gstb_probe *r)
{
    if (rc == GSTB_EOS) {
        snprintf(r->message, sizeof r->message, "the pipeline ended before its first frame");
        return -ENODATA;
    }
    if (gstb_is_caps_error(r->message)) {
        r->caps_error = true;
        gstb_offered(p, bridge, r->offered, sizeof r->offered);
    }
    return -EIO;
}

/* Play `p` (paused for a file, playing for a live source) to its first frame. */
static int preroll(GstElement *p, const char *bridge, int64_t timeout_ns, gstb_probe *r)
{
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), GSTB_APPSINK);
    GstBus *bus = gst_element_get_bus(p);
    bool live = gst_element_set_state(p, GST_STATE_PAUSED) == GST_STATE_CHANGE_NO_PREROLL;
    if (live)
        gst_element_set_state(p, GST_STATE_PLAYING);
    int64_t deadline = monotonic_ns() + timeout_ns;
    GstSample *sample = NULL;
    int rc = 0;
    while (!sample && rc == 0) {
        int bus_rc = gstb_bus_poll(NULL, bus, POLL_SLICE, r->message, sizeof r->message);
        if (bus_rc != 0)
            rc = bus_failure(p, bridge, bus_rc, r);
        else if (!(sample = live ? gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 0)
                                 : gst_app_sink_try_pull_preroll(GST_APP_SINK(sink), 0)) &&
                 monotonic_ns() >= deadline) {
            snprintf(r->message, sizeof r->message, "no frame within %.1f s", (double)timeout_ns / 1e9);
            rc = -ETIMEDOUT;
        }
    }
    if (sample) {
        rc = read_caps(sample, r);
        gst_sample_unref(sample);
    }
    gst_object_unref(bus);
    gst_object_unref(sink);
    return rc;
}

/* Sink side: does what follows the appsrc take the caps it will push? */
static int check_accepts(GstElement *p, const gstb_probe_request *req, gstb_probe *r)
{
    GstCaps *caps = gst_caps_from_string(req->accepts);
    bool ok = caps && gstb_peer_accepts(p, req->joint.bridge, caps);
    if (caps)
        gst_caps_unref(caps);
    if (ok)
        return 0;
    r->caps_error = true;
    gstb_offered(p, req->joint.bridge, r->offered, sizeof r->offered);
    snprintf(r->message, sizeof r->message, "the pipeline does not take %s", req->accepts);
    return -EINVAL;
}

/* The child's work. No teardown: the child exits right after writing. */
static int probe_in_child(const gstb_probe_request *req, gstb_probe *r)
{
    int rc = gstb_init(r->message, sizeof r->message);
    if (rc < 0)
        return rc;
    GstElement *p = gstb_parse(req->desc, &req->joint, r->message, sizeof r->message);
    if (!p)
        return -EINVAL;
    if (req->accepts && (rc = check_accepts(p, req, r)) < 0)
        return rc;
    return req->preroll ? preroll(p, req->joint.bridge, req->timeout_ns, r) : 0;
}

static void child_main(int fd, const gstb_probe_request *req)
{
    /* Not the launcher's handlers: Ctrl-C ends the child too; so does the launcher's death. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    static gstb_probe r;
    r.status = probe_in_child(req, &r);
    const char *p = (const char *)&r;
    size_t left = sizeof r;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w, left -= (size_t)w;
    }
    _exit(0); /* not exit(): nothing of the launcher's (atexit, stdio buffers) runs twice */
}

/* The child's result, read until deadline_ns. 0, or -ETIMEDOUT / -EPIPE. */
static int read_result(int fd, int64_t deadline_ns, gstb_probe *out)
{
    char *p = (char *)out;
    size_t got = 0;
    while (got < sizeof *out) {
        int64_t left_ms = (deadline_ns - monotonic_ns()) / 1000000;
        if (left_ms <= 0)
            return -ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, left_ms > 1000 ? 1000 : (int)left_ms);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n <= 0)
            continue;
        ssize_t rd = read(fd, p + got, sizeof *out - got);
        if (rd < 0 && errno == EINTR)
            continue;
        if (rd <= 0)
            return -EPIPE; /* the child died before it answered */
        got += (size_t)rd;
    }
    return 0;
}

int gstb_probe_run(const gstb_probe_request *req, gstb_probe *out)
{
    memset(out, 0, sizeof *out);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return out->status = -errno;
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        out->status = -errno;
        close(fds[0]);
        close(fds[1]);
        return out->status;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], req);
    }
    close(fds[1]);
    int rc = read_result(fds[0], monotonic_ns() + req->timeout_ns + STARTUP_GRACE_NS, out);
    close(fds[0]);
    kill(pid, SIGKILL); /* done or late: it has nothing more to say */
    waitpid(pid, NULL, 0);
    if (rc == -ETIMEDOUT)
        snprintf(out->message, sizeof out->message, "GStreamer did not answer within %.0f s",
                 (double)(req->timeout_ns + STARTUP_GRACE_NS) / 1e9);
    else if (rc < 0)
        snprintf(out->message, sizeof out->message, "the GStreamer probe process died (%s)", strerror(-rc));
    if (rc < 0)
        out->status = rc;
    return out->status;
}
