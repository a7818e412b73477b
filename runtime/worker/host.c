/* Host services for blocks: alloc, send, ref, unref, log, clock, stop, and
 * the call of process() or transform() for one input set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

static mqs_host *host_of(mqs_block_ctx *ctx) { return ctx->host_data; }

void mqs_host_view(mqs_host *host, mqs_buffer_id id, mqs_buffer *out)
{
    out->id = id;
    out->meta = mqs_buffer_meta_of(host->domain, id);
    out->data = mqs_buffer_data(host->domain, id);
    out->capacity = mqs_pool_slot_size(host->domain, mqs_buffer_id_pool(id));
}

static bool host_stopping(mqs_block_ctx *ctx)
{
    mqs_host *h = host_of(ctx);
    return *h->stop_flag || mqs_domain_stop_requested(h->domain);
}

/* The pool is exhausted only while downstream holds every slot; frees do not
 * ring a doorbell (that would put a fence on every release), so back off
 * with short sleeps, which only happen while the producer is stalled anyway. */
static int host_alloc(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *out)
{
    mqs_host *h = host_of(ctx);
    if (output >= ctx->output_count)
        return -ERANGE;
    int64_t pause_ns = 20000;
    for (;;) {
        mqs_buffer_id id;
        int rc = mqs_buffer_alloc(h->domain, h->pools[output], &id);
        if (rc == 0) {
            mqs_host_view(h, id, out);
            return 0;
        }
        if (rc != -EAGAIN)
            return rc;
        if (host_stopping(ctx))
            return -ECANCELED;
        mqs_sleep_ns(pause_ns);
        if (pause_ns < 2000000)
            pause_ns *= 2;
    }
}

static int host_send(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf)
{
    mqs_host *h = host_of(ctx);
    mqs_buffer_id id = buf->id;
    buf->id = MQS_BUFFER_ID_NONE;
    if (output >= ctx->output_count) {
        mqs_buffer_unref(h->domain, id);
        return -ERANGE;
    }
    /* `block` queues wait without limit; mqs_domain_request_stop ends the wait. */
    return mqs_output_send(h->domain, h->outputs[output], id, MQS_FOREVER);
}

static int host_ref(mqs_block_ctx *ctx, const mqs_buffer *buf, mqs_buffer *out)
{
    mqs_host *h = host_of(ctx);
    int rc = mqs_buffer_ref(h->domain, buf->id);
    if (rc == 0)
        *out = *buf;
    return rc;
}

static void host_unref(mqs_block_ctx *ctx, mqs_buffer *buf)
{
    mqs_host *h = host_of(ctx);
    if (buf->id != MQS_BUFFER_ID_NONE)
        mqs_buffer_unref(h->domain, buf->id);
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

static void host_report(mqs_block_ctx *ctx, const char *key, double value)
{
    mqs_host *h = host_of(ctx);
    for (uint32_t i = 0; i < h->report_count; i++)
        if (strcmp(h->reports[i].key, key) == 0) {
            h->reports[i].value = value;
            return;
        }
    if (h->report_count == MQS_HOST_MAX_REPORTS)
        return;
    mqs_host_report *r = &h->reports[h->report_count++];
    snprintf(r->key, sizeof r->key, "%s", key);
    r->value = value;
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

int mqs_host_call(mqs_host *h, const mqs_buffer *const *in)
{
    if (!h->desc->transform)
        return h->desc->process(&h->ctx, in);
    return in[0] ? host_transform(h, in[0]) : 0; /* a set without the input: nothing to turn */
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
    size_t size = h->desc->state_size ? h->desc->state_size : 1;
    ctx->state = calloc(1, size);
    return ctx->state ? 0 : -ENOMEM;
}

void mqs_host_fini(mqs_host *h)
{
    free(h->ctx.state);
    h->ctx.state = NULL;
}
