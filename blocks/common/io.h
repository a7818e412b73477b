/* alloc and send with a log line on failure, so every block says where it
 * failed. -ECANCELED means the graph is stopping: passed up quietly (the host
 * treats it as a clean stop). Private to the built-in blocks. */
#ifndef MQS_BLOCKS_IO_H
#define MQS_BLOCKS_IO_H

#include <string.h>

#include <mqs/block.h>

static inline int out_alloc(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf)
{
    int rc = mqs_alloc(ctx, output, buf);
    if (rc < 0 && rc != -ECANCELED)
        mqs_log(ctx, MQS_LOG_ERROR, "cannot allocate a buffer on output %u: %s", output, strerror(-rc));
    return rc;
}

/* 0 if a buffer just allocated holds `size` bytes; else logs
 * the fix (the graph overrode slot_size too small), releases it, -EMSGSIZE.
 * The host makes the same check, in the same words, for transform(). */
static inline int out_fits(mqs_block_ctx *ctx, mqs_buffer *b, uint64_t size)
{
    if (b->capacity >= size)
        return 0;
    mqs_log(ctx, MQS_LOG_ERROR, "output slots hold %llu bytes, a buffer needs %llu: raise the output's slot_size",
            (unsigned long long)b->capacity, (unsigned long long)size);
    mqs_unref(ctx, b);
    return -EMSGSIZE;
}

/* Send and consume `buf`. 0 (however many inputs it reached) or -errno. */
static inline int out_send(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf)
{
    int rc = mqs_send(ctx, output, buf);
    if (rc < 0 && rc != -ECANCELED)
        mqs_log(ctx, MQS_LOG_ERROR, "cannot send on output %u: %s", output, strerror(-rc));
    return rc < 0 ? rc : 0;
}

/* Another reference to an input buffer, e.g. to forward it unchanged. */
static inline int in_ref(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    int rc = mqs_ref(ctx, in, out);
    if (rc < 0)
        mqs_log(ctx, MQS_LOG_ERROR, "cannot take a reference to input buffer seq %llu: %s",
                (unsigned long long)in->meta->seq, strerror(-rc));
    return rc;
}

#endif
