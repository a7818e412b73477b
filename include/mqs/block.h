/* multiqueue-shm block SDK: the only header a block includes.
 *
 * A block is a shared object exporting one symbol, MQS_BLOCK_ENTRY, which
 * returns the block's descriptor: static data naming its ports and params, the
 * size of its instance state, and its callbacks. The host (a worker process)
 * allocates and zeroes the state, validates params against the specs, and
 * calls the block on one thread: blocks need no locks.
 *
 * Ownership, once and for all:
 *  - Input buffers passed to process() are borrowed for that call only. To
 *    keep one, or to forward it unchanged to an output (zero-copy
 *    passthrough), take a reference with mqs_ref() first.
 *  - mqs_alloc() gives the block one reference to a new buffer of an output.
 *  - mqs_send() always consumes the reference it is given, even on error.
 *  - Every reference a block took and did not send is returned with
 *    mqs_unref(); whatever a block still holds when it stops is released by
 *    the host, and a crashed block's references are reclaimed.
 *  - Params (mqs_params) are valid during negotiate() and init() only: copy
 *    what you need into the state.
 *
 * Return values: 0 (or a positive status) on success, negative errno codes
 * on failure, as everywhere in multiqueue-shm.
 *
 * A minimal filter:
 *
 *     #include <mqs/block.h>
 *     static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in) {
 *         mqs_buffer out;
 *         int rc = mqs_alloc(ctx, 0, &out);
 *         if (rc < 0) return rc;
 *         const uint8_t *src = in[0]->data;
 *         uint8_t *dst = out.data;
 *         for (uint64_t i = 0; i < in[0]->meta->length; i++) dst[i] = 255 - src[i];
 *         mqs_copy_meta(&out, in[0]);
 *         return mqs_send(ctx, 0, &out);
 *     }
 *     static const mqs_port_spec ports[] = {
 *         {.name = "in", .direction = MQS_PORT_INPUT},
 *         {.name = "out", .direction = MQS_PORT_OUTPUT},
 *     };
 *     MQS_BLOCK_EXPORT(invert) = {
 *         MQS_BLOCK_HEADER,
 *         .name = "invert", .summary = "invert every byte",
 *         .kind = MQS_BLOCK_FILTER,
 *         .ports = ports, .port_count = 2,
 *         .process = process,
 *     };
 */
#ifndef MQS_BLOCK_H
#define MQS_BLOCK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h> /* blocks return negative errno codes */

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQS_BLOCK_ABI_MAJOR 1 /* the host refuses a block with another major */
#define MQS_BLOCK_ABI_MINOR 0 /* grows when fields are appended */

typedef struct mqs_block_ctx mqs_block_ctx;
typedef struct mqs_params mqs_params;

typedef enum mqs_block_kind {
    MQS_BLOCK_SOURCE = 1, /* no inputs; produce() is called until it returns MQS_EOS */
    MQS_BLOCK_FILTER = 2, /* inputs and outputs */
    MQS_BLOCK_SINK = 3,   /* inputs only */
} mqs_block_kind;

/* Status a block may return besides 0 and negative errors. */
#define MQS_EOS 1 /* produce(): no more data; the host closes the outputs */

typedef enum mqs_port_direction {
    MQS_PORT_INPUT = 1,
    MQS_PORT_OUTPUT = 2,
} mqs_port_direction;

typedef struct mqs_port_spec {
    const char *name;
    mqs_port_direction direction;
    uint32_t header_type; /* input: required MQS_HEADER_* (NONE: anything) */
    uint32_t format;      /* input: required video format (MQS_FORMAT_ANY: any) */
    const char *help;
} mqs_port_spec;

typedef enum mqs_param_type {
    MQS_PARAM_INT = 1,      /* int64 */
    MQS_PARAM_DOUBLE = 2,
    MQS_PARAM_BOOL = 3,
    MQS_PARAM_STRING = 4,
    MQS_PARAM_DURATION = 5, /* int64 ns; graph files write 10ms, 2s ... */
    MQS_PARAM_SIZE = 6,     /* int64 bytes; graph files write 4KiB, 2MiB ... */
    MQS_PARAM_ENUM = 7,     /* a string, one of `choices` */
} mqs_param_type;

typedef struct mqs_param_spec {
    const char *key;
    mqs_param_type type;
    const char *default_value; /* as written in a graph file; NULL: required */
    double min, max;           /* numeric range, inclusive; ignored when min > max */
    const char *choices;       /* MQS_PARAM_ENUM: "bars|box|noise" */
    const char *help;
} mqs_param_spec;

/* A buffer as a block sees it. Process-local view: never store it in shared
 * memory; the ID is what travels. */
typedef struct mqs_buffer {
    mqs_buffer_id id;
    mqs_buffer_meta *meta; /* writable between alloc and send; read-only otherwise */
    void *data;            /* writable for buffers the block allocated; inputs are read-only */
    uint64_t capacity;     /* bytes available at data */
} mqs_buffer;

/* Host services, reached through the context (blocks do not link against
 * the host). Use the inline wrappers below. The table only grows at the end;
 * `size` says how much of it this host has. */
typedef struct mqs_host_api {
    uint32_t size;
    int (*alloc)(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *out);
    int (*send)(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf);
    int (*ref)(mqs_block_ctx *ctx, const mqs_buffer *buf, mqs_buffer *out);
    void (*unref)(mqs_block_ctx *ctx, mqs_buffer *buf);
    void (*log)(mqs_block_ctx *ctx, int level, const char *fmt, va_list ap);
    int64_t (*now)(mqs_block_ctx *ctx);
    bool (*stopping)(mqs_block_ctx *ctx);
    /* Report a named statistic (e.g. "frames", "corrupt") for mqrun --stats. */
    void (*report)(mqs_block_ctx *ctx, const char *key, double value);
} mqs_host_api;

/* Param accessors; the host has validated every value and applied defaults,
 * so a declared key always has a value of its declared type. */
typedef struct mqs_param_api {
    uint32_t size;
    int64_t (*get_int)(const mqs_params *p, const char *key);  /* INT, DURATION, SIZE, BOOL */
    double (*get_double)(const mqs_params *p, const char *key); /* DOUBLE, INT */
    const char *(*get_string)(const mqs_params *p, const char *key); /* STRING, ENUM */
    /* Make negotiate() or init() fail with a message naming the block. */
    int (*fail)(const mqs_params *p, const char *fmt, va_list ap);
} mqs_param_api;

struct mqs_params {
    const mqs_param_api *api;
    const void *impl;
};

struct mqs_block_ctx {
    const mqs_host_api *host;
    void *state;                /* descriptor.state_size bytes, zeroed */
    const mqs_params *params;   /* valid during init() only */
    const char *instance;       /* the block's name in the graph */
    uint32_t input_count;
    uint32_t output_count;
    const mqs_caps *input_caps;  /* [input_count]: what each input carries */
    const mqs_caps *output_caps; /* [output_count]: as negotiated */
    void *host_data;             /* the host's; do not touch */
};

/* Log levels. */
enum { MQS_LOG_ERROR = 0, MQS_LOG_WARN = 1, MQS_LOG_INFO = 2, MQS_LOG_DEBUG = 3 };

typedef struct mqs_block_descriptor {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t size;          /* sizeof(mqs_block_descriptor) the block was built with */
    uint32_t reserved;
    const char *name;       /* = the plugin's basename: mqs_block_<name>.so */
    const char *summary;
    mqs_block_kind kind;
    const mqs_port_spec *ports; /* inputs and outputs, each in index order */
    uint32_t port_count;
    const mqs_param_spec *params;
    uint32_t param_count;
    size_t state_size;

    /* Called before the graph starts, in the launcher, with no state: say
     * what each output carries (caps, slot size and count) from the params
     * and the inputs' caps. Defaults: every output copies input 0's caps;
     * a source without negotiate gets 4 KiB x 8 opaque slots. Fail with
     * mqs_params_fail() to reject a connection or a param combination. */
    int (*negotiate)(const mqs_params *params, const mqs_caps *inputs, uint32_t input_count, mqs_caps *outputs,
                     uint32_t output_count);
    int (*init)(mqs_block_ctx *ctx);
    /* Filters and sinks: one input set. in[i] is the buffer of input i, or
     * NULL when the sync policy delivers a set without it. */
    int (*process)(mqs_block_ctx *ctx, const mqs_buffer *const *in);
    /* Sources: make and send some data; 0 to be called again, MQS_EOS when done. */
    int (*produce)(mqs_block_ctx *ctx);
    /* All inputs ended (filters, sinks): last chance to send. Optional. */
    int (*flush)(mqs_block_ctx *ctx);
    void (*fini)(mqs_block_ctx *ctx);
} mqs_block_descriptor;

#define MQS_BLOCK_ENTRY "mqs_block_descriptor_v1"
typedef const mqs_block_descriptor *(*mqs_block_entry_fn)(void);

/* Fills the version fields of a descriptor initializer. */
#define MQS_BLOCK_HEADER                                                                                        \
    .abi_major = MQS_BLOCK_ABI_MAJOR, .abi_minor = MQS_BLOCK_ABI_MINOR, .size = sizeof(mqs_block_descriptor)

/* Defines the descriptor and exports the entry symbol (the only one: build
 * plugins with -fvisibility=hidden). Follow it with `= { ... };`. */
#define MQS_BLOCK_EXPORT(ident)                                                                                 \
    static const mqs_block_descriptor mqs_block_##ident;                                                        \
    __attribute__((visibility("default"))) const mqs_block_descriptor *mqs_block_descriptor_v1(void);           \
    const mqs_block_descriptor *mqs_block_descriptor_v1(void) { return &mqs_block_##ident; }                    \
    static const mqs_block_descriptor mqs_block_##ident

/* ---- host services ---- */

/* A new buffer of `output`'s pool: one reference. Waits while the pool is
 * exhausted (downstream still holds every slot). 0, -ECANCELED (stopping),
 * -ERANGE (no such output). */
static inline int mqs_alloc(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *out)
{
    return ctx->host->alloc(ctx, output, out);
}

/* Send the reference in `buf` on `output` to every connected input; always
 * consumes it (buf->id is cleared). Returns the number of inputs reached. */
static inline int mqs_send(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf)
{
    return ctx->host->send(ctx, output, buf);
}

/* Take another reference to `buf` (e.g. an input to keep or forward). */
static inline int mqs_ref(mqs_block_ctx *ctx, const mqs_buffer *buf, mqs_buffer *out)
{
    return ctx->host->ref(ctx, buf, out);
}

static inline void mqs_unref(mqs_block_ctx *ctx, mqs_buffer *buf)
{
    ctx->host->unref(ctx, buf);
}

static inline int64_t mqs_now(mqs_block_ctx *ctx)
{
    return ctx->host->now(ctx);
}

/* True once the graph is stopping: a source in a long loop should return. */
static inline bool mqs_stopping(mqs_block_ctx *ctx)
{
    return ctx->host->stopping(ctx);
}

static inline void mqs_report(mqs_block_ctx *ctx, const char *key, double value)
{
    ctx->host->report(ctx, key, value);
}

__attribute__((format(printf, 3, 4))) static inline void mqs_log(mqs_block_ctx *ctx, int level, const char *fmt,
                                                                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx->host->log(ctx, level, fmt, ap);
    va_end(ap);
}

static inline int64_t mqs_param_int(const mqs_params *p, const char *key)
{
    return p->api->get_int(p, key);
}

static inline double mqs_param_double(const mqs_params *p, const char *key)
{
    return p->api->get_double(p, key);
}

static inline bool mqs_param_bool(const mqs_params *p, const char *key)
{
    return p->api->get_int(p, key) != 0;
}

static inline const char *mqs_param_string(const mqs_params *p, const char *key)
{
    return p->api->get_string(p, key);
}

/* Returns -EINVAL after recording the message; use as `return mqs_params_fail(...)`. */
__attribute__((format(printf, 2, 3))) static inline int mqs_params_fail(const mqs_params *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = p->api->fail(p, fmt, ap);
    va_end(ap);
    return rc;
}

/* Copy timing, flags and typed header from `from` to a buffer being
 * produced. Not `seq` or `length`: a sequence number belongs to the port
 * that produces the buffer, and the length to its payload. */
static inline void mqs_copy_meta(mqs_buffer *to, const mqs_buffer *from)
{
    to->meta->pts = from->meta->pts;
    to->meta->duration = from->meta->duration;
    to->meta->flags = from->meta->flags;
    to->meta->header_type = from->meta->header_type;
    to->meta->header = from->meta->header;
}

/* Bytes of one video frame. */
static inline uint64_t mqs_video_frame_size(uint32_t format, uint32_t width, uint32_t height)
{
    uint64_t px = (uint64_t)width * height;
    switch (format) {
    case MQS_FORMAT_RGB24: return px * 3;
    case MQS_FORMAT_GRAY8: return px;
    case MQS_FORMAT_I420: return px + 2 * ((uint64_t)((width + 1) / 2) * ((height + 1) / 2));
    default: return 0;
    }
}

#ifdef __cplusplus
}
#endif
#endif
