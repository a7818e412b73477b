/* latency_sink: a sink for benchmarks. For each message it notes now - pts
 * (one-way latency, when the source stamps pts at its send) and checks that
 * sequence numbers come in order; at the end it writes the latencies to
 * `file` as raw int64 ns, in arrival order, and reports `frames` and
 * `out_of_order`. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mqs/block.h>

typedef struct latency_state {
    int64_t *samples;
    uint64_t capacity, frames, out_of_order, next_seq;
    char file[PATH_MAX]; /* copied in init: params are gone by fini */
} latency_state;

static int init(mqs_block_ctx *ctx)
{
    latency_state *s = ctx->state;
    s->capacity = (uint64_t)mqs_param_int(ctx->params, "count");
    snprintf(s->file, sizeof s->file, "%s", mqs_param_string(ctx->params, "file"));
    s->samples = malloc(s->capacity * sizeof *s->samples); /* once, before the stream */
    if (!s->samples) {
        mqs_log(ctx, MQS_LOG_ERROR, "no memory for %llu samples (hint: a smaller `count`)",
                (unsigned long long)s->capacity);
        return -ENOMEM;
    }
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    latency_state *s = ctx->state;
    if (!in[0])
        return 0;
    int64_t now = mqs_now(ctx);
    if (in[0]->meta->seq != s->next_seq)
        s->out_of_order++;
    s->next_seq = in[0]->meta->seq + 1;
    if (s->frames < s->capacity)
        s->samples[s->frames] = now - in[0]->meta->pts;
    s->frames++;
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    latency_state *s = ctx->state;
    const char *file = s->file;
    uint64_t n = s->frames < s->capacity ? s->frames : s->capacity;
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t bytes = n * sizeof *s->samples;
    if (fd < 0 || write(fd, s->samples, bytes) != (ssize_t)bytes)
        mqs_log(ctx, MQS_LOG_ERROR, "cannot write the latencies to '%s': %s", file, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(s->samples);
    mqs_report(ctx, "frames", (double)s->frames);
    mqs_report(ctx, "out_of_order", (double)s->out_of_order);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .help = "messages whose pts is their send time"},
};

static const mqs_param_spec params[] = {
    {.key = "file", .type = MQS_PARAM_STRING, .help = "where the latencies go (raw int64 ns)"},
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "100000", .min = 1, .max = 1e8,
     .help = "most latencies kept"},
};

MQS_BLOCK_EXPORT(latency_sink) = {
    MQS_BLOCK_HEADER,
    .name = "latency_sink",
    .summary = "one-way latency (arrival - pts) of every message, written at the end (benchmarks)",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(latency_state),
    .init = init,
    .process = process,
    .fini = fini,
};
