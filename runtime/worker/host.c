/* Host services for blocks: alloc, send, ref, unref, log, clock, stop, and
 * the call of process() or transform() for one input set. Every block call
 * and every wait is told to the domain (mqs_process_activity) for the
 * launcher's watchdog. A call with an ID the block does not hold, or a port
 * it does not have, is refused and logged naming the block; the core checks
 * every ID, so a refusal never touches another block's buffers. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

static mqs_host *host_of(mqs_block_ctx *ctx) { return ctx->host_data; }

/* ---- activity and the launcher ---- */

void mqs_host_mark(mqs_host *h, mqs_activity activity, uint32_t waiting_on)
{
    h->activity = activity;
    mqs_process_activity(h->domain, activity, waiting_on);
    if (activity == MQS_ACTIVITY_WAIT_INPUT)
        mqs_host_watch_launcher(h);
}

void mqs_host_watch_launcher(mqs_host *h)
{
    if (h->launcher_pid == 0)
        return;
    int64_t now = mqs_now_ns();
    if (now < h->launcher_next_check_ns)
        return;
    h->launcher_next_check_ns = now + MQS_HOST_LAUNCHER_CHECK_NS;
    if (!mqs_pid_alive(h->launcher_pid, h->launcher_start_time))
        mqs_host_launcher_gone(h->instance);
}

void mqs_host_launcher_gone(const char *instance)
{
    static const char why[] = ": error: the launcher (mqrun) is gone: stopping the block and what it started\n";
    /* One write, so that the lines of blocks dying at once do not interleave;
     * memcpy and write only: this may run in a signal handler. */
    char line[256];
    size_t n = strlen(instance);
    n = n < sizeof line - sizeof why ? n : sizeof line - sizeof why;
    memcpy(line, instance, n);
    memcpy(line + n, why, sizeof why - 1);
    ssize_t ignored = write(STDERR_FILENO, line, n + sizeof why - 1);
    (void)ignored;
    /* mqrun made this worker's process group; whatever the block forked is in it. */
    kill(0, SIGKILL);
    _exit(1);
}

/* ---- refusals ---- */

static void refuse(mqs_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(mqs_host *h, const char *fmt, ...)
{
    if (++h->refusals > MQS_HOST_REFUSALS_LOGGED)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    mqs_host_logf(h, MQS_LOG_ERROR, "%s%s", line,
                  h->refusals == MQS_HOST_REFUSALS_LOGGED ? " (further refusals are not logged)" : "");
}

/* Why the core refused an ID. */
static const char *bad_id_reason(int rc)
{
    switch (rc) {
    case -EINVAL: return "no such buffer (a made-up ID)";
    case -ESTALE: return "a stale ID (that buffer was released)";
    case -EPERM: return "the block holds no reference to it";
    default: return mqs_strerror(rc);
    }
}

static bool is_bad_id(int rc)
{
    return rc == -EINVAL || rc == -ESTALE || rc == -EPERM;
}

void mqs_host_view(mqs_host *host, mqs_buffer_id id, mqs_buffer *out)
{
    out->id = id;
    out->meta = mqs_buffer_meta_of(host->domain, id);
    out->data = mqs_buffer_data(host->domain, id);
    out->capacity = mqs_pool_slot_size(host->domain, mqs_buffer_id_pool(id));
}

/* Sources ask this while they sleep: a good time to look at the launcher too. */
static bool host_stopping(mqs_block_ctx *ctx)
{
    mqs_host *h = host_of(ctx);
    mqs_host_watch_launcher(h);
    return *h->stop_flag || mqs_domain_stop_requested(h->domain);
}

/* How long one wait for a free slot lasts before the host looks at its stop
 * flag and the launcher again. */
#define ALLOC_SLICE_NS (50 * 1000 * 1000)

/* The pool is exhausted only while downstream holds every slot: wait for a
 * release (it wakes us only when we sleep), a slice at a time. */
static int host_alloc(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *out)
{
    mqs_host *h = host_of(ctx);
    if (output >= ctx->output_count) {
        refuse(h, "refused to allocate on output %u: the block has %u output%s", output, ctx->output_count,
               ctx->output_count == 1 ? "" : "s");
        return -ERANGE;
    }
    mqs_buffer_id id;
    int rc = mqs_buffer_alloc(h->domain, h->pools[output], &id);
    if (rc == -EAGAIN) {
        mqs_activity before = h->activity;
        mqs_host_mark(h, MQS_ACTIVITY_WAIT_ALLOC, h->pools[output]);
        /* The core counts the wait (MQS_WAIT_FOR_SLOT) in our counters. */
        while ((rc = mqs_buffer_alloc_wait(h->domain, h->pools[output], &id, ALLOC_SLICE_NS)) == -ETIMEDOUT)
            if (host_stopping(ctx)) {
                rc = -ECANCELED;
                break;
            }
        mqs_host_mark(h, before, 0);
    }
    if (rc == 0)
        mqs_host_view(h, id, out);
    return rc;
}

static int host_send(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf)
{
    mqs_host *h = host_of(ctx);
    mqs_buffer_id id = buf->id;
    buf->id = MQS_BUFFER_ID_NONE;
    if (output >= ctx->output_count) {
        refuse(h, "refused to send on output %u: the block has %u output%s (hint: outputs are numbered from 0, "
               "inputs apart)", output, ctx->output_count, ctx->output_count == 1 ? "" : "s");
        int rc = id == MQS_BUFFER_ID_NONE ? 0 : mqs_buffer_unref(h->domain, id); /* send consumes it, even refused */
        if (is_bad_id(rc))
            refuse(h, "refused to release buffer %#llx: %s", (unsigned long long)id, bad_id_reason(rc));
        return -ERANGE;
    }
    /* `block` queues wait without limit; mqs_domain_request_stop ends the wait. */
    mqs_activity before = h->activity;
    mqs_host_mark(h, MQS_ACTIVITY_WAIT_SEND, h->outputs[output]);
    int rc = mqs_output_send(h->domain, h->outputs[output], id, MQS_FOREVER);
    mqs_host_mark(h, before, 0);
    if (is_bad_id(rc))
        refuse(h, "refused to send buffer %#llx on output %u: %s (hint: send what mqs_alloc or mqs_ref gave, once)",
               (unsigned long long)id, output, bad_id_reason(rc));
    return rc;
}

static int host_ref(mqs_block_ctx *ctx, const mqs_buffer *buf, mqs_buffer *out)
{
    mqs_host *h = host_of(ctx);
    int rc = mqs_buffer_ref(h->domain, buf->id);
    if (rc == 0)
        *out = *buf;
    else if (is_bad_id(rc))
        refuse(h, "refused to reference buffer %#llx: %s", (unsigned long long)buf->id, bad_id_reason(rc));
    return rc;
}

static void host_unref(mqs_block_ctx *ctx, mqs_buffer *buf)
{
    mqs_host *h = host_of(ctx);
    if (buf->id != MQS_BUFFER_ID_NONE) {
        int rc = mqs_buffer_unref(h->domain, buf->id);
        if (rc != 0)
            refuse(h, "refused to release buffer %#llx: %s (hint: release each reference once)",
                   (unsigned long long)buf->id, bad_id_reason(rc));
    }
    buf->id = MQS_BUFFER_ID_NONE;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

static void host_vlog(mqs_host *h, int level, const char *fmt, va_list ap)
{
    if (level < 0)
        level = 0;
    if (level > MQS_LOG_DEBUG)
        level = MQS_LOG_DEBUG;
    if (level > h->verbosity)
        return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "%s: %s: %s\n", h->instance, level_names[level], line);
}

void mqs_host_logf(mqs_host *host, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vlog(host, level, fmt, ap);
    va_end(ap);
}

static void host_log(mqs_block_ctx *ctx, int level, const char *fmt, va_list ap)
{
    host_vlog(host_of(ctx), level, fmt, ap);
}

static int64_t host_now(mqs_block_ctx *ctx)
{
    (void)ctx;
    return mqs_now_ns();
}

/* Reports live in the domain, where mqctl and mqrun --stats read them. */
static void host_report(mqs_block_ctx *ctx, const char *key, double value)
{
    mqs_host *h = host_of(ctx);
    int rc = mqs_process_report(h->domain, key ? key : "", value);
    if (rc != 0 && !h->reports_full_logged) {
        h->reports_full_logged = true;
        mqs_host_logf(h, MQS_LOG_WARN, "report '%s' not kept: %s", key ? key : "(null)",
                      rc == -ENOSPC ? "a block keeps at most 16 report keys" : "keys are 1..39 bytes");
    }
}

/* A source pacing itself: slices of at most 50 ms, so a stop request or a
 * gone launcher is seen; the time counts as waiting for the schedule. */
static int host_wait_until(mqs_block_ctx *ctx, int64_t when_ns)
{
    mqs_host *h = host_of(ctx);
    int64_t began = mqs_process_wait_begin(h->domain, MQS_WAIT_FOR_SCHEDULE), now = began;
    int rc = 0;
    while (now < when_ns) {
        if (host_stopping(ctx)) {
            rc = -ECANCELED;
            break;
        }
        int64_t until = when_ns - now > MQS_HOST_PACE_SLICE_NS ? now + MQS_HOST_PACE_SLICE_NS : when_ns;
        struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
        int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        now = mqs_now_ns();
        if (err == EINTR) {
            rc = -EINTR;
            break;
        }
    }
    h->waited_in_call += mqs_process_wait_end(h->domain, MQS_WAIT_FOR_SCHEDULE, began);
    return rc;
}

static int host_input_set(mqs_block_ctx *ctx, const mqs_input_set **out)
{
    *out = &host_of(ctx)->set;
    return 0;
}

static int64_t host_start_time(mqs_block_ctx *ctx)
{
    return mqs_domain_start_time(host_of(ctx)->domain);
}

/* The producer of input i's queue is the owner of the output feeding it;
 * the launcher writes its restart count into the domain. */
static uint32_t host_input_restarts(mqs_block_ctx *ctx, uint32_t input)
{
    mqs_host *h = host_of(ctx);
    if (input >= ctx->input_count || h->inputs[input] == MQS_HOST_ABSENT)
        return 0;
    uint32_t producer = mqs_output_owner(h->domain, mqs_queue_output(h->domain, h->inputs[input]));
    mqs_process_stats ps;
    return mqs_process_stats_get(h->domain, producer, &ps) == 0 ? ps.restarts : 0;
}

/* Bytes per row of the first plane of a packed frame (rgb24: 3 per pixel). */
static uint32_t packed_stride(uint32_t format, uint32_t width)
{
    return format == MQS_FORMAT_RGB24 ? width * 3 : width;
}

/* What transform() finds in `out`: in's timing, flags, seq and header, then
 * a video output's header from its caps, and the length it must fill. */
static void transform_meta(mqs_buffer *out, const mqs_buffer *in, const mqs_caps *caps, uint64_t length)
{
    mqs_buffer_meta *m = out->meta;
    m->pts = in->meta->pts;
    m->duration = in->meta->duration;
    m->flags = in->meta->flags;
    m->seq = in->meta->seq; /* 1:1: downstream still sees upstream's gaps */
    m->header_type = in->meta->header_type;
    m->header = in->meta->header;
    if (caps->header_type == MQS_HEADER_VIDEO) {
        m->header_type = MQS_HEADER_VIDEO;
        m->header.video = (mqs_video_header){.width = caps->width, .height = caps->height, .format = caps->format,
                                             .stride = packed_stride(caps->format, caps->width)};
    }
    m->length = length;
}

/* After transform() returned rc: send `out` on 0, else drop it. */
static int transform_done(mqs_host *h, mqs_buffer *out, int rc)
{
    if (rc == 0) {
        rc = host_send(&h->ctx, 0, out);
        if (rc < 0 && rc != -ECANCELED) /* -ECANCELED: stopping, quietly */
            mqs_host_logf(h, MQS_LOG_ERROR, "cannot send on output 0: %s", mqs_strerror(rc));
        return rc < 0 ? rc : 0;
    }
    host_unref(&h->ctx, out);
    if (rc == MQS_SKIP)
        return 0;
    if (rc > 0) {
        mqs_host_logf(h, MQS_LOG_ERROR, "transform() returned %d (expected 0, MQS_SKIP or a negative errno)", rc);
        return -EPROTO;
    }
    return rc;
}

/* One input through transform(): allocate on output 0 (waiting like
 * mqs_alloc), check the slot holds a buffer, fill the meta, let the block
 * write, send or drop. */
static int host_transform(mqs_host *h, const mqs_buffer *in)
{
    const mqs_caps *caps = &h->output_caps[0];
    uint64_t need = caps->header_type == MQS_HEADER_VIDEO
                        ? mqs_video_frame_size(caps->format, caps->width, caps->height)
                        : in->meta->length;
    mqs_buffer out;
    int rc = host_alloc(&h->ctx, 0, &out);
    if (rc < 0) {
        if (rc != -ECANCELED)
            mqs_host_logf(h, MQS_LOG_ERROR, "cannot allocate a buffer on output 0: %s", mqs_strerror(rc));
        return rc;
    }
    if (out.capacity < need) {
        mqs_host_logf(h, MQS_LOG_ERROR,
                      "output slots hold %llu bytes, a buffer needs %llu: raise the output's slot_size",
                      (unsigned long long)out.capacity, (unsigned long long)need);
        host_unref(&h->ctx, &out);
        return -EMSGSIZE;
    }
    transform_meta(&out, in, caps, need);
    return transform_done(h, &out, h->desc->transform(&h->ctx, in, &out));
}

/* ---- time in block calls ---- */

/* Every call is timed while calls are long; one in CALL_SAMPLE_EVERY while
 * they are short, so that two clock reads never weigh on a block making
 * many tiny calls. What the call spent waiting (for a slot, for room
 * downstream, for its schedule) is not time in the block. */
#define CALL_SAMPLE_EVERY 64u
#define CALL_LONG_NS 20000

static int64_t call_begin(mqs_host *h)
{
    if ((++h->call_tick & (h->time_every - 1)) != 0) /* time_every: 1 or a power of two */
        return 0;
    h->waited_in_call = 0;
    h->core_waits_before = mqs_process_waited_total(h->domain);
    return mqs_now_ns();
}

static void call_end(mqs_host *h, int64_t began)
{
    if (!began)
        return;
    int64_t waited = h->waited_in_call + (int64_t)(mqs_process_waited_total(h->domain) - h->core_waits_before);
    int64_t busy = mqs_now_ns() - began - waited;
    if (busy < 0)
        busy = 0;
    mqs_process_call_time(h->domain, busy);
    h->time_every = busy >= CALL_LONG_NS ? 1 : CALL_SAMPLE_EVERY;
}

int mqs_host_call(mqs_host *h, const mqs_buffer *const *in)
{
    int rc = 0;
    mqs_host_mark(h, MQS_ACTIVITY_CALL, 0);
    int64_t began = call_begin(h);
    if (!h->desc->transform)
        rc = h->desc->process(&h->ctx, in);
    else if (in[0]) /* a set without the input: nothing to turn */
        rc = host_transform(h, in[0]);
    call_end(h, began);
    mqs_host_mark(h, MQS_ACTIVITY_IDLE, 0);
    return rc;
}

int mqs_host_init_block(mqs_host *h)
{
    if (!h->desc->init)
        return 0;
    mqs_host_mark(h, MQS_ACTIVITY_INIT, 0);
    int rc = h->desc->init(&h->ctx);
    mqs_host_mark(h, MQS_ACTIVITY_IDLE, 0);
    return rc;
}

int mqs_host_produce(mqs_host *h)
{
    mqs_host_mark(h, MQS_ACTIVITY_CALL, 0);
    int64_t began = call_begin(h);
    int rc = h->desc->produce(&h->ctx);
    call_end(h, began);
    mqs_host_mark(h, MQS_ACTIVITY_IDLE, 0);
    return rc;
}

int mqs_host_flush(mqs_host *h)
{
    if (!h->desc->flush)
        return 0;
    mqs_host_mark(h, MQS_ACTIVITY_CALL, 0);
    int rc = h->desc->flush(&h->ctx);
    mqs_host_mark(h, MQS_ACTIVITY_IDLE, 0);
    return rc;
}

void mqs_host_fini_block(mqs_host *h)
{
    if (!h->desc->fini)
        return;
    mqs_host_mark(h, MQS_ACTIVITY_CALL, 0);
    h->desc->fini(&h->ctx);
    mqs_host_mark(h, MQS_ACTIVITY_IDLE, 0);
}

static const mqs_host_api host_api = {
    .size = sizeof(mqs_host_api),
    .alloc = host_alloc,
    .send = host_send,
    .ref = host_ref,
    .unref = host_unref,
    .log = host_log,
    .now = host_now,
    .stopping = host_stopping,
    .report = host_report,
    .input_set = host_input_set,
    .start_time = host_start_time,
    .input_restarts = host_input_restarts,
    .wait_until = host_wait_until,
};

int mqs_host_init(mqs_host *h)
{
    mqs_block_ctx *ctx = &h->ctx;
    ctx->host = &host_api;
    ctx->host_data = h;
    ctx->instance = h->instance;
    ctx->input_caps = h->input_caps;
    ctx->output_caps = h->output_caps;
    h->set = (mqs_input_set){.size = sizeof(mqs_input_set), .next = h->set_next, .weight = h->set_weight};
    h->time_every = 1;
    size_t size = h->desc->state_size ? h->desc->state_size : 1;
    ctx->state = calloc(1, size);
    return ctx->state ? 0 : -ENOMEM;
}

void mqs_host_fini(mqs_host *h)
{
    free(h->ctx.state);
    h->ctx.state = NULL;
}
