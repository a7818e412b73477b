/* How the `python` block plugin drives a Python block module: the `mqs`
 * extension hands it these entry points in a capsule, so the buffers a
 * block sees are the module's own mqs.Buffer objects.
 *
 * Every call runs on the worker's one thread, holding the GIL. A Python
 * exception is logged with its traceback (mqs_log, error level) and comes
 * back as -ENOTRECOVERABLE: the block failed, and its restart policy
 * decides what happens next. */
#ifndef MQS_PYTHON_BLOCK_HOST_H
#define MQS_PYTHON_BLOCK_HOST_H

#include "mqs/block.h"

#define PYMQS_BLOCK_HOST_CAPSULE "mqs._mqs._block_host"

typedef struct pymqs_block_host {
    uint32_t size; /* sizeof(pymqs_block_host) of the module: grows at the end */
    /* Load the module at `path`, give it its params (init(params) when it
     * defines it) and make mqs.block this block's. */
    int (*init)(mqs_block_ctx *ctx, const char *path);
    int (*process)(mqs_block_ctx *ctx, const mqs_buffer *const *in);
    int (*produce)(mqs_block_ctx *ctx);
    int (*flush)(mqs_block_ctx *ctx);
    /* Drop the module and return every reference Python still holds. */
    void (*fini)(mqs_block_ctx *ctx);
    /* The exception now raised, as text, and cleared: a refused module
     * declaration by its message, anything else with its traceback. */
    void (*error_text)(char *out, size_t size);
} pymqs_block_host;

#endif
