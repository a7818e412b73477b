/* probe_sink: a sink for benchmarks that says when a stream flows again.
 * It appends one line per buffer of interest to `file`:
 *   <arrival ns> <pts ns> <restarts of the producer>\n     (CLOCK_MONOTONIC)
 * for the first buffer of all, for a buffer arriving more than `gap` after
 * the one before, and for the `after_restart` buffers following a restart of
 * its producer (more than the input queue holds, so the first buffer the
 * restarted block sent is among them: the first with a pts after the kill).
 * One write(2) per line, unbuffered: a reader polling the file never waits
 * for a flush. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mqs/block.h>

typedef struct probe_state {
    int fd;
    int64_t gap_ns;
    int64_t last_ns;        /* arrival of the previous buffer; 0: none yet */
    uint32_t restarts;      /* of the producer, when the previous buffer arrived */
    int64_t after_restart;  /* lines per restart */
    int64_t lines_left;     /* of those, still to write */
    uint64_t buffers, lines;
} probe_state;

static int init(mqs_block_ctx *ctx)
{
    probe_state *s = ctx->state;
    const char *file = mqs_param_string(ctx->params, "file");
    s->gap_ns = mqs_param_int(ctx->params, "gap");
    s->after_restart = mqs_param_int(ctx->params, "after_restart");
    s->restarts = mqs_input_restarts(ctx, 0);
    s->fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        int err = errno;
        mqs_log(ctx, MQS_LOG_ERROR, "cannot open '%s': %s (hint: point param `file` at a writable place)", file,
                strerror(err));
        return -err;
    }
    return 0;
}

static int write_line(probe_state *s, int64_t now, const mqs_buffer *b)
{
    char line[80];
    int n = snprintf(line, sizeof line, "%lld %lld %u\n", (long long)now, (long long)b->meta->pts, s->restarts);
    if (write(s->fd, line, (size_t)n) != n)
        return errno ? -errno : -EIO;
    s->lines++;
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    probe_state *s = ctx->state;
    if (!in[0])
        return 0;
    int64_t now = mqs_now(ctx);
    uint32_t restarts = mqs_input_restarts(ctx, 0);
    if (restarts != s->restarts)
        s->lines_left = s->after_restart;
    s->restarts = restarts;
    bool gap = s->last_ns == 0 || now - s->last_ns > s->gap_ns;
    s->last_ns = now;
    s->buffers++;
    if (!gap && s->lines_left == 0)
        return 0;
    if (s->lines_left > 0)
        s->lines_left--;
    return write_line(s, now, in[0]);
}

static void fini(mqs_block_ctx *ctx)
{
    probe_state *s = ctx->state;
    close(s->fd); /* fini follows a successful init only */
    mqs_report(ctx, "frames", (double)s->buffers);
    mqs_report(ctx, "lines", (double)s->lines);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .help = "anything"},
};

static const mqs_param_spec params[] = {
    {.key = "file", .type = MQS_PARAM_STRING, .help = "where the lines go (appended)"},
    {.key = "gap", .type = MQS_PARAM_DURATION, .default_value = "2ms", .min = 1, .max = 1e11,
     .help = "a buffer arriving this long after the previous one gets a line"},
    {.key = "after_restart", .type = MQS_PARAM_INT, .default_value = "16", .min = 0, .max = 65536,
     .help = "buffers that get a line after each restart of the producer: more than the input queue's depth"},
};

MQS_BLOCK_EXPORT(probe_sink) = {
    MQS_BLOCK_HEADER,
    .name = "probe_sink",
    .summary = "writes when buffers arrive after a gap or a restart of their producer (benchmarks)",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = 3,
    .state_size = sizeof(probe_state),
    .init = init,
    .process = process,
    .fini = fini,
};
