/* Video helpers shared by the built-in blocks: format names, caps, pool
 * sizing and the check that a frame matches its negotiated caps. Private to
 * the built-in blocks. */
#ifndef MQS_BLOCKS_VIDEO_H
#define MQS_BLOCKS_VIDEO_H

#include <string.h>

#include <mqs/block.h>

#define VIDEO_FORMAT_CHOICES "rgb24|gray8|i420"

static inline uint32_t video_format_from_name(const char *name)
{
    if (strcmp(name, "rgb24") == 0)
        return MQS_FORMAT_RGB24;
    if (strcmp(name, "gray8") == 0)
        return MQS_FORMAT_GRAY8;
    if (strcmp(name, "i420") == 0)
        return MQS_FORMAT_I420;
    return MQS_FORMAT_ANY;
}

static inline const char *video_format_name(uint32_t format)
{
    switch (format) {
    case MQS_FORMAT_RGB24: return "rgb24";
    case MQS_FORMAT_GRAY8: return "gray8";
    case MQS_FORMAT_I420: return "i420";
    default: return "unknown";
    }
}

/* Bytes per row of the first plane of a packed frame. */
static inline uint32_t video_stride(uint32_t format, uint32_t width)
{
    return format == MQS_FORMAT_RGB24 ? width * 3 : width;
}

/* 8 slots (enough to keep a pipeline busy), but at most 256 MiB per pool
 * and at least 3 (one being filled, one in flight, one being read): an 8K
 * rgb24 pool of 8 would take 800 MiB of /dev/shm. A graph can override it. */
static inline uint32_t video_slot_count(uint64_t frame_size)
{
    uint64_t n = frame_size ? (256ull << 20) / frame_size : 8;
    return n > 8 ? 8 : n < 3 ? 3 : (uint32_t)n;
}

/* Caps of a packed video output. */
static inline void video_caps(mqs_caps *c, uint32_t format, uint32_t width, uint32_t height, double rate)
{
    uint64_t size = mqs_video_frame_size(format, width, height);
    *c = (mqs_caps){.header_type = MQS_HEADER_VIDEO, .format = format, .width = width, .height = height,
                    .slot_size = size, .slot_count = video_slot_count(size), .rate = rate};
}

/* Fill the typed header and length of a packed frame being produced. */
static inline void video_meta(mqs_buffer *b, uint32_t format, uint32_t width, uint32_t height)
{
    b->meta->header_type = MQS_HEADER_VIDEO;
    b->meta->header.video = (mqs_video_header){
        .width = width, .height = height, .format = format, .stride = video_stride(format, width)};
    b->meta->length = mqs_video_frame_size(format, width, height);
}

/* For negotiate(): 0 if input `name` carries video in one of the formats in
 * `accepted` (a bit per MQS_FORMAT_*), else fails naming what does fit. */
static inline int video_accept(const mqs_params *p, const mqs_caps *in, const char *name, unsigned accepted,
                               const char *hint)
{
    if (in->header_type == MQS_HEADER_VIDEO && in->format < 32 && (accepted >> in->format & 1u))
        return 0;
    if (in->header_type != MQS_HEADER_VIDEO)
        return mqs_params_fail(p, "input '%s' must carry video (its upstream sends header type %u)", name,
                               in->header_type);
    return mqs_params_fail(p, "input '%s' carries %s video: %s", name, video_format_name(in->format), hint);
}

#define VIDEO_BIT(format) (1u << (format))

/* 0 if input `port` (named `name`) is a packed frame as its caps say, so a
 * block can size everything from the caps once; else logs why, -EPROTO. */
static inline int video_check(mqs_block_ctx *ctx, const mqs_buffer *b, uint32_t port, const char *name)
{
    const mqs_caps *c = &ctx->input_caps[port];
    const mqs_buffer_meta *m = b->meta;
    const mqs_video_header *v = &m->header.video;
    uint64_t size = mqs_video_frame_size(c->format, c->width, c->height);
    if (m->header_type != MQS_HEADER_VIDEO || v->format != c->format || v->width != c->width ||
        v->height != c->height) {
        mqs_log(ctx, MQS_LOG_ERROR,
                "input '%s': frame seq %llu is not the negotiated %ux%u %s (header type %u, %ux%u %s); "
                "upstream must not change its caps mid-stream",
                name, (unsigned long long)m->seq, c->width, c->height, video_format_name(c->format),
                m->header_type, v->width, v->height, video_format_name(v->format));
        return -EPROTO;
    }
    if (v->stride != video_stride(c->format, c->width) || m->length < size) {
        mqs_log(ctx, MQS_LOG_ERROR,
                "input '%s': frame seq %llu has stride %u and %llu bytes; expected a packed frame "
                "(stride %u, %llu bytes)",
                name, (unsigned long long)m->seq, v->stride, (unsigned long long)m->length,
                video_stride(c->format, c->width), (unsigned long long)size);
        return -EPROTO;
    }
    return 0;
}

#endif
