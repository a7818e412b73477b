/* csv_sink: writes a sensor stream (imu, gps, odom or pose samples) to a CSV
 * file: a header line, then one row per sample (our sources send one per
 * buffer):
 *   pts_ns,seq,<values>
 * with the values named by the sample type: imu ax,ay,az,gx,gy,gz; gps
 * lat,lon,alt; odom and pose x,y,heading. Values are written with %.17g, so
 * strtod gives back the very same double. The file is written through a
 * buffer and flushed when the stream ends; a write error (a full disk) is an
 * error of the block naming the file. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <mqs/block.h>

#define CSV_BUFFER (64 * 1024)

typedef struct csv_kind {
    uint32_t sample_type;
    uint32_t values;
    const char *name, *columns;
} csv_kind;

static const csv_kind kinds[] = {
    {MQS_SENSOR_IMU, 6, "imu", "ax,ay,az,gx,gy,gz"},
    {MQS_SENSOR_GPS, 3, "gps", "lat,lon,alt"},
    {MQS_SENSOR_ODOM, 3, "odom", "x,y,heading"},
    {MQS_SENSOR_POSE, 3, "pose", "x,y,heading"},
};

typedef struct csv_state {
    FILE *f;
    const csv_kind *kind;
    uint64_t frames;
    char file[PATH_MAX];
    char buffer[CSV_BUFFER]; /* stdio's, so rows reach the file in large writes */
} csv_state;

static const csv_kind *kind_of(uint32_t sample_type)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].sample_type == sample_type)
            return &kinds[i];
    return NULL;
}

/* Logs a failed write or flush of the file; returns -errno. */
static int write_failed(mqs_block_ctx *ctx, int err)
{
    csv_state *s = ctx->state;
    int rc = err ? -err : -EIO;
    mqs_log(ctx, MQS_LOG_ERROR, "cannot write '%s' after %llu rows: %s%s", s->file, (unsigned long long)s->frames,
            strerror(-rc),
            rc == -ENOSPC || rc == -EDQUOT ? " (disk full: free space or point param `file` elsewhere)" : "");
    return rc;
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)out, (void)n_out;
    if (!mqs_param_string(p, "file")[0])
        return mqs_params_fail(p, "param `file` is empty: name the CSV file to write");
    if (n_in < 1 || (in[0].flags & MQS_CAPS_ABSENT))
        return 0;
    if (in[0].header_type != MQS_HEADER_SENSOR)
        return mqs_params_fail(p, "input 'in' must carry sensor samples (its upstream sends header type %u); "
                               "csv_sink writes imu, gps, odom or pose streams", in[0].header_type);
    if (!kind_of(in[0].sample_type))
        return mqs_params_fail(p, "input 'in' carries sensor samples of unknown type %u; csv_sink writes imu, "
                               "gps, odom or pose streams", in[0].sample_type);
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    csv_state *s = ctx->state;
    snprintf(s->file, sizeof s->file, "%s", mqs_param_string(ctx->params, "file"));
    s->kind = ctx->input_count ? kind_of(ctx->input_caps[0].sample_type) : NULL;
    if (!s->kind) { /* in case negotiate was not asked */
        mqs_log(ctx, MQS_LOG_ERROR, "input 'in' is not an imu, gps, odom or pose stream; csv_sink cannot write it");
        return -EINVAL;
    }
    s->f = fopen(s->file, "we");
    if (!s->f) {
        int rc = -errno;
        mqs_log(ctx, MQS_LOG_ERROR, "cannot create '%s': %s (check param `file` and its directory)", s->file,
                strerror(-rc));
        return rc;
    }
    setvbuf(s->f, s->buffer, _IOFBF, sizeof s->buffer);
    if (fprintf(s->f, "pts_ns,seq,%s\n", s->kind->columns) < 0)
        return write_failed(ctx, errno);
    return 0;
}

/* One row per sample of b; 0, -EPROTO (not the negotiated kind) or -errno. */
static int write_rows(mqs_block_ctx *ctx, const mqs_buffer *b)
{
    csv_state *s = ctx->state;
    const mqs_buffer_meta *m = b->meta;
    uint32_t count = m->header.sensor.count ? m->header.sensor.count : 1;
    uint64_t need = s->kind->values * sizeof(double);
    uint64_t size = m->header.sensor.sample_size ? m->header.sensor.sample_size : need;
    if (m->header_type != MQS_HEADER_SENSOR || m->header.sensor.sample_type != s->kind->sample_type ||
        size < need || m->length < count * size) {
        mqs_log(ctx, MQS_LOG_ERROR, "buffer seq %llu is not %u %s samples of %llu bytes (header type %u, "
                "sample type %u, %llu bytes); upstream must not change what it sends mid-stream",
                (unsigned long long)m->seq, count, s->kind->name, (unsigned long long)need, m->header_type,
                m->header.sensor.sample_type, (unsigned long long)m->length);
        return -EPROTO;
    }
    for (uint32_t k = 0; k < count; k++) {
        double v[6];
        memcpy(v, (const uint8_t *)b->data + k * size, need);
        int ok = fprintf(s->f, "%lld,%llu", (long long)m->pts, (unsigned long long)m->seq) >= 0;
        for (uint32_t i = 0; ok && i < s->kind->values; i++)
            ok = fprintf(s->f, ",%.17g", v[i]) >= 0;
        if (!ok || fputc('\n', s->f) == EOF)
            return write_failed(ctx, errno);
    }
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    csv_state *s = ctx->state;
    if (!in[0])
        return 0;
    int rc = write_rows(ctx, in[0]);
    if (rc == 0)
        s->frames++;
    return rc;
}

/* The stream ended: everything reaches the file now, where an error can still fail the block. */
static int flush(mqs_block_ctx *ctx)
{
    csv_state *s = ctx->state;
    return s->f && fflush(s->f) != 0 ? write_failed(ctx, errno) : 0;
}

static void fini(mqs_block_ctx *ctx)
{
    csv_state *s = ctx->state;
    if (s->f && fclose(s->f) != 0)
        write_failed(ctx, errno);
    s->f = NULL;
    mqs_report(ctx, "frames", (double)s->frames);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_SENSOR,
     .help = "imu, gps, odom or pose samples"},
};

static const mqs_param_spec params[] = {
    {.key = "file", .type = MQS_PARAM_STRING, .default_value = NULL, .help = "CSV file to write (replaced)"},
};

MQS_BLOCK_EXPORT(csv_sink) = {
    MQS_BLOCK_HEADER,
    .name = "csv_sink",
    .summary = "writes sensor samples (imu, gps, odom, pose) to a CSV file",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = 1,
    .state_size = sizeof(csv_state),
    .negotiate = negotiate,
    .init = init,
    .process = process,
    .flush = flush,
    .fini = fini,
};
