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
 * Growth: the descriptor, the host table and the input-set info carry their
 * own size and only grow at the end (the minor version goes up); the host
 * reads what an older block left out as zero (and converts a 1.0 block's
 * port and param specs, which had no spare room), and every wrapper below
 * checks the host's table before a call, so a block built against a newer
 * SDK gets -ENOTSUP from an older host instead of a jump through a missing
 * pointer.
 *
 * A minimal one-in, one-out filter (the host allocates, sizes, copies the
 * metadata and sends; the block writes the payload):
 *
 *     #include <mqs/block.h>
 *     static int invert(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out) {
 *         (void)ctx;
 *         const uint8_t *src = in->data;
 *         uint8_t *dst = out->data;
 *         for (uint64_t i = 0; i < out->meta->length; i++) dst[i] = (uint8_t)(255 - src[i]);
 *         return 0;
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
 *         .transform = invert,
 *     };
 *
 * A block that allocates and sends itself implements process() instead, and
 * sets the length of what it sends: out.meta->length = n.
 */
#ifndef MQS_BLOCK_H
#define MQS_BLOCK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <errno.h> /* blocks return negative errno codes */

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQS_BLOCK_ABI_MAJOR 1 /* the host refuses a block with another major */
#define MQS_BLOCK_ABI_MINOR 3 /* grows when fields are appended; 1: flags, input sets, transform; 2: input_restarts;
                                 3: live params (set_param), wait_until */

typedef struct mqs_block_ctx mqs_block_ctx;
typedef struct mqs_params mqs_params;

typedef enum mqs_block_kind {
    MQS_BLOCK_SOURCE = 1, /* no inputs; produce() is called until it returns MQS_EOS */
    MQS_BLOCK_FILTER = 2, /* inputs and outputs */
    MQS_BLOCK_SINK = 3,   /* inputs only */
} mqs_block_kind;

/* Status a block may return besides 0 and negative errors. */
#define MQS_EOS 1  /* produce(): no more data; the host closes the outputs */
#define MQS_SKIP 2 /* transform(): send nothing for this input */

/* Descriptor flags (mqs_block_descriptor.flags). */
enum {
    /* Its inputs must be aligned: when two or more are connected, the graph
     * must give the block a `sync` policy other than none. */
    MQS_BLOCK_ALIGNED = 1u << 0,
};

typedef enum mqs_port_direction {
    MQS_PORT_INPUT = 1,
    MQS_PORT_OUTPUT = 2,
} mqs_port_direction;

/* Port flags (mqs_port_spec.flags). */
enum {
    /* Input: may be left unconnected. It is then absent: in[i] is always
     * NULL and input_caps[i].flags has MQS_CAPS_ABSENT (mqs_input_connected). */
    MQS_PORT_OPTIONAL = 1u << 0,
};

typedef struct mqs_port_spec {
    const char *name;
    mqs_port_direction direction;
    uint32_t header_type; /* input: required MQS_HEADER_* (NONE: anything) */
    uint32_t format;      /* input: required video format (MQS_FORMAT_ANY: any) */
    uint32_t flags;       /* MQS_PORT_* (since 1.1) */
    const char *help;
    uint64_t reserved[4]; /* zero: room for later minor versions */
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

/* Param flags (mqs_param_spec.flags). */
enum {
    /* Since 1.3: may change while the graph runs (mqctl set). The block must
     * have set_param, which the host calls with the new value. */
    MQS_PARAM_LIVE = 1u << 0,
};

typedef struct mqs_param_spec {
    const char *key;
    mqs_param_type type;
    uint32_t flags;            /* MQS_PARAM_* (since 1.1; none before 1.3) */
    const char *default_value; /* as written in a graph file; NULL: required */
    double min, max;           /* numeric range, inclusive; both left out (0): no range; min > max is refused */
    const char *choices;       /* MQS_PARAM_ENUM: "bars|box|noise" */
    const char *help;
    uint64_t reserved[4];      /* zero: room for later minor versions */
} mqs_param_spec;

/* A buffer as a block sees it. Process-local view: never store it in shared
 * memory; the ID is what travels. */
typedef struct mqs_buffer {
    mqs_buffer_id id;
    mqs_buffer_meta *meta; /* writable between alloc and send; read-only otherwise */
    void *data;            /* writable for buffers the block allocated; inputs are read-only */
    uint64_t capacity;     /* bytes available at data */
} mqs_buffer;

/* Flags of an input set (mqs_input_set.flags). */
enum {
    MQS_SET_PARTIAL = 1u << 0, /* some connected input has no buffer in this set (in[i] NULL) */
};

/* What the host knows about the input set process() is called with, beyond
 * the buffers themselves (since 1.1; see docs/alignment.md). Valid during
 * that process() call only. */
typedef struct mqs_input_set {
    uint32_t size;   /* sizeof(mqs_input_set) of the host: fields only grow at the end */
    uint32_t flags;  /* MQS_SET_* */
    int64_t pts;     /* exact: the common pts; approximate: the earliest member's;
                        nearest/latest/interpolate: the reference's; no sync: the buffer's */
    int64_t spread;  /* latest minus earliest member pts */
    /* interpolate: per input, the buffer after pts (NULL when none: then in[i]
     * is held as it is), and where pts lies between in[i] and next[i]:
     * (pts - in[i].pts) / (next[i].pts - in[i].pts). Other policies: NULL, 0. */
    const mqs_buffer *const *next;
    const double *weight;
    uint64_t reserved[4];
} mqs_input_set;

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
    /* Since 1.1. */
    int (*input_set)(mqs_block_ctx *ctx, const mqs_input_set **out);
    int64_t (*start_time)(mqs_block_ctx *ctx);
    /* Since 1.2. */
    uint32_t (*input_restarts)(mqs_block_ctx *ctx, uint32_t input);
    /* Since 1.3. */
    int (*wait_until)(mqs_block_ctx *ctx, int64_t when_ns);
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
    uint32_t flags;         /* MQS_BLOCK_* (zero in 1.0 blocks) */
    const char *name;       /* = the plugin's basename: mqs_block_<name>.so */
    const char *summary;
    mqs_block_kind kind;
    const mqs_port_spec *ports; /* inputs and outputs, each in index order */
    uint32_t port_count;
    const mqs_param_spec *params;
    uint32_t param_count;
    size_t state_size;
    /* Since 1.1 the former reserved field holds MQS_BLOCK_* flags; see `flags`. */

    /* Called before the graph starts, in the launcher, with no state: say
     * what each output carries (caps, slot size and count) from the params
     * and the inputs' caps. Defaults: every output copies input 0's caps;
     * a source without negotiate gets 4 KiB x 8 opaque slots. Fail with
     * mqs_params_fail() to reject a connection or a param combination. An
     * optional input left unconnected has MQS_CAPS_ABSENT in its caps. */
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
    /* Since 1.1, instead of process() for a filter with one input and one
     * output: turn `in` into `out`. The host has allocated `out` on output
     * 0, made sure it holds what the output carries (a video frame of the
     * output's caps, else in's length), and set its meta: in's pts,
     * duration, flags, seq and typed header (a video output's header comes
     * from its caps), and that length. The block writes the payload (and may
     * lower meta->length). Return 0 to send it, MQS_SKIP to send nothing, or
     * a negative error. */
    int (*transform)(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out);
    /* Since 1.3, required when a param is MQS_PARAM_LIVE: param `key`
     * changed while the graph runs (mqctl set). `params` holds every param,
     * `key` with its new value, validated exactly as at start; valid during
     * this call only. Called between two process() (or produce()) calls.
     * Return 0 to take it, or refuse with mqs_params_fail(), and the old
     * value stays. */
    int (*set_param)(mqs_block_ctx *ctx, const mqs_params *params, const char *key);
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

/* Whether the host's table has method `m` (an older host's table is shorter). */
#define MQS_HOST_HAS(ctx, m)                                                                                     \
    ((ctx)->host->size >= offsetof(mqs_host_api, m) + sizeof((ctx)->host->m) && (ctx)->host->m != NULL)
#define MQS_PARAMS_HAVE(p, m)                                                                                    \
    ((p)->api->size >= offsetof(mqs_param_api, m) + sizeof((p)->api->m) && (p)->api->m != NULL)

/* A new buffer of `output`'s pool: one reference. Waits while the pool is
 * exhausted (downstream still holds every slot). 0, -ECANCELED (stopping),
 * -ERANGE (no such output). */
static inline int mqs_alloc(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *out)
{
    return MQS_HOST_HAS(ctx, alloc) ? ctx->host->alloc(ctx, output, out) : -ENOTSUP;
}

/* Send the reference in `buf` on `output` to every connected input; always
 * consumes it (buf->id is cleared). Returns the number of inputs reached. */
static inline int mqs_send(mqs_block_ctx *ctx, uint32_t output, mqs_buffer *buf)
{
    return MQS_HOST_HAS(ctx, send) ? ctx->host->send(ctx, output, buf) : -ENOTSUP;
}

/* Take another reference to `buf` (e.g. an input to keep or forward). */
static inline int mqs_ref(mqs_block_ctx *ctx, const mqs_buffer *buf, mqs_buffer *out)
{
    return MQS_HOST_HAS(ctx, ref) ? ctx->host->ref(ctx, buf, out) : -ENOTSUP;
}

static inline void mqs_unref(mqs_block_ctx *ctx, mqs_buffer *buf)
{
    if (MQS_HOST_HAS(ctx, unref))
        ctx->host->unref(ctx, buf);
}

/* CLOCK_MONOTONIC in ns (the graph's clock); -ENOTSUP without the method. */
static inline int64_t mqs_now(mqs_block_ctx *ctx)
{
    return MQS_HOST_HAS(ctx, now) ? ctx->host->now(ctx) : -ENOTSUP;
}

/* True once the graph is stopping: a source in a long loop should return. */
static inline bool mqs_stopping(mqs_block_ctx *ctx)
{
    return MQS_HOST_HAS(ctx, stopping) ? ctx->host->stopping(ctx) : false;
}

static inline void mqs_report(mqs_block_ctx *ctx, const char *key, double value)
{
    if (MQS_HOST_HAS(ctx, report))
        ctx->host->report(ctx, key, value);
}

__attribute__((format(printf, 3, 4))) static inline void mqs_log(mqs_block_ctx *ctx, int level, const char *fmt,
                                                                 ...)
{
    if (!MQS_HOST_HAS(ctx, log))
        return;
    va_list ap;
    va_start(ap, fmt);
    ctx->host->log(ctx, level, fmt, ap);
    va_end(ap);
}

/* The input set of the current process() call (since 1.1): 0, or -ENOTSUP
 * from an older host. */
static inline int mqs_input_set_get(mqs_block_ctx *ctx, const mqs_input_set **out)
{
    return MQS_HOST_HAS(ctx, input_set) ? ctx->host->input_set(ctx, out) : -ENOTSUP;
}

/* When the graph started (the same instant for every block, on the graph's
 * clock): an epoch blocks can share, e.g. cameras on one trigger. Since 1.1;
 * -ENOTSUP from an older host. */
static inline int64_t mqs_start_time(mqs_block_ctx *ctx)
{
    return MQS_HOST_HAS(ctx, start_time) ? ctx->host->start_time(ctx) : -ENOTSUP;
}

/* How many times the launcher restarted the block feeding input i so far,
 * e.g. to reset state that assumed an unbroken stream when it grows. 0 for
 * an absent input, a bad index, or a host older than 1.2. */
static inline uint32_t mqs_input_restarts(mqs_block_ctx *ctx, uint32_t input)
{
    return MQS_HOST_HAS(ctx, input_restarts) ? ctx->host->input_restarts(ctx, input) : 0;
}

/* Wait until `when_ns` on the graph's clock (mqs_now): a source pacing
 * itself. Tools count the time as waiting, not busy. Since 1.3: 0 once the
 * time came, -ECANCELED when the graph stops first, -EINTR when a signal
 * came, -ENOTSUP from an older host (then sleep yourself). */
static inline int mqs_wait_until(mqs_block_ctx *ctx, int64_t when_ns)
{
    return MQS_HOST_HAS(ctx, wait_until) ? ctx->host->wait_until(ctx, when_ns) : -ENOTSUP;
}

/* Whether input i is connected: an optional input may be left out. */
static inline bool mqs_input_connected(const mqs_block_ctx *ctx, uint32_t i)
{
    return i < ctx->input_count && !(ctx->input_caps[i].flags & MQS_CAPS_ABSENT);
}

/* Param accessors; a host without the method gives 0, false or "". */
static inline int64_t mqs_param_int(const mqs_params *p, const char *key)
{
    return MQS_PARAMS_HAVE(p, get_int) ? p->api->get_int(p, key) : 0;
}

static inline double mqs_param_double(const mqs_params *p, const char *key)
{
    return MQS_PARAMS_HAVE(p, get_double) ? p->api->get_double(p, key) : 0;
}

static inline bool mqs_param_bool(const mqs_params *p, const char *key)
{
    return mqs_param_int(p, key) != 0;
}

static inline const char *mqs_param_string(const mqs_params *p, const char *key)
{
    return MQS_PARAMS_HAVE(p, get_string) ? p->api->get_string(p, key) : "";
}

/* Returns -EINVAL after recording the message; use as `return mqs_params_fail(...)`. */
__attribute__((format(printf, 2, 3))) static inline int mqs_params_fail(const mqs_params *p, const char *fmt, ...)
{
    if (!MQS_PARAMS_HAVE(p, fail))
        return -EINVAL;
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

/* Numeric samples interpolated between the two buffers an `interpolate` set
 * gives for one input (in[i], and the set's next[i] with weight[i]):
 * out[k] = a[k] + weight * (b[k] - a[k]) for the first n doubles of each
 * payload; b NULL gives a's values. Returns n, or -EINVAL when a payload
 * holds fewer than n doubles. Angles that wrap need their own care. */
static inline int mqs_interpolate_doubles(const mqs_buffer *a, const mqs_buffer *b, double weight, double *out,
                                          uint32_t n)
{
    uint64_t need = (uint64_t)n * sizeof(double);
    if (!a || a->meta->length < need || (b && b->meta->length < need))
        return -EINVAL;
    for (uint32_t k = 0; k < n; k++) {
        double x, y;
        memcpy(&x, (const uint8_t *)a->data + k * sizeof(double), sizeof x);
        y = x;
        if (b)
            memcpy(&y, (const uint8_t *)b->data + k * sizeof(double), sizeof y);
        out[k] = x + weight * (y - x);
    }
    return (int)n;
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
