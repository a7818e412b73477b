/* stats_sink: measures what arrives. Rate is buffers per second between the
 * first and the last arrival; latency is arrival time (mqs_now) minus pts,
 * so it includes any clock_offset the source applies. Latencies of the last
 * `window` buffers are kept in a ring allocated in init (process() does not
 * allocate) and sorted at fini for p50 and p99 (nearest rank).
 *
 * At fini: one line on stderr, mqs_report() of each figure, and with param
 * `report` one JSON line appended to that file:
 *   {"block":"<instance>","frames":N,"rate":R,"lat_ns_p50":P50,"lat_ns_p99":P99} */
#include <stdio.h>
#include <stdlib.h>

#include <mqs/block.h>

#include "../common/report.h"

typedef struct stats_state {
    uint64_t frames;
    int64_t first_ns, last_ns;
    int64_t *lat; /* ring of the last `window` latencies */
    uint64_t window;
    char report[REPORT_PATH_MAX];
} stats_state;

static int init(mqs_block_ctx *ctx)
{
    stats_state *s = ctx->state;
    s->window = (uint64_t)mqs_param_int(ctx->params, "window");
    snprintf(s->report, sizeof s->report, "%s", mqs_param_string(ctx->params, "report"));
    s->lat = malloc(s->window * sizeof *s->lat);
    if (!s->lat) {
        mqs_log(ctx, MQS_LOG_ERROR, "no memory for %llu latency samples: lower param `window`",
                (unsigned long long)s->window);
        return -ENOMEM;
    }
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    stats_state *s = ctx->state;
    if (!in[0])
        return 0;
    int64_t now = mqs_now(ctx);
    if (s->frames == 0)
        s->first_ns = now;
    s->last_ns = now;
    s->lat[s->frames++ % s->window] = now - in[0]->meta->pts;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted samples. */
static int64_t percentile(const int64_t *sorted, uint64_t n, unsigned pct)
{
    uint64_t rank = (n * pct + 99) / 100;
    return n ? sorted[rank ? rank - 1 : 0] : 0;
}

static void fini(mqs_block_ctx *ctx)
{
    stats_state *s = ctx->state;
    if (!s->lat)
        return; /* init failed */
    uint64_t n = s->frames < s->window ? s->frames : s->window;
    qsort(s->lat, n, sizeof *s->lat, cmp_i64);
    double rate = s->frames > 1 && s->last_ns > s->first_ns ? (s->frames - 1) * 1e9 / (s->last_ns - s->first_ns) : 0;
    int64_t p50 = percentile(s->lat, n, 50), p99 = percentile(s->lat, n, 99);
    free(s->lat);
    s->lat = NULL;
    fprintf(stderr, "%s: %llu frames, %.2f/s, latency p50 %.3f ms, p99 %.3f ms\n", ctx->instance,
            (unsigned long long)s->frames, rate, p50 / 1e6, p99 / 1e6);
    mqs_report(ctx, "frames", (double)s->frames);
    mqs_report(ctx, "rate", rate);
    mqs_report(ctx, "lat_ns_p50", (double)p50);
    mqs_report(ctx, "lat_ns_p99", (double)p99);
    if (!s->report[0])
        return;
    char name[256], line[512];
    report_json_string(name, sizeof name, ctx->instance);
    snprintf(line, sizeof line,
             "{\"block\":%s,\"frames\":%llu,\"rate\":%.3f,\"lat_ns_p50\":%lld,\"lat_ns_p99\":%lld}\n", name,
             (unsigned long long)s->frames, rate, (long long)p50, (long long)p99);
    report_append(ctx, s->report, line);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .help = "anything with a pts"},
};

static const mqs_param_spec params[] = {
    {.key = "report", .type = MQS_PARAM_STRING, .default_value = "",
     .help = "file to append one JSON line of figures to at the end; empty: none"},
    {.key = "window", .type = MQS_PARAM_INT, .default_value = "65536", .min = 16, .max = 1e8,
     .help = "latency percentiles cover the last `window` buffers (8 bytes each)"},
};

MQS_BLOCK_EXPORT(stats_sink) = {
    MQS_BLOCK_HEADER,
    .name = "stats_sink",
    .summary = "measures rate and latency (pts to arrival): p50, p99",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(stats_state),
    .init = init,
    .process = process,
    .fini = fini,
};
