/* fuse: sensor fusion of an IMU (~200 Hz), wheel odometry (~50 Hz) and GPS
 * (~10 Hz) into a pose track, one pose per IMU sample with the IMU's pts.
 *
 * Meant for `sync: { policy: latest, reference: imu }`: every IMU sample comes
 * with the newest odometry and GPS sample at or before it, so the same one
 * may come again in later sets; a new one is told by its seq.
 *
 * An extended Kalman filter over (x, y, heading) (ekf.h):
 *  - start: at the first odometry pose (wheel odometry starts at a known
 *    pose), standard deviation 1 m and 0.1 rad; no pose goes out before;
 *  - predict, at every IMU sample, over dt = IMU pts minus the previous IMU
 *    pts, with the IMU's yaw rate gz and the speed from the last odometry
 *    displacement: v = (dx cos m + dy sin m) / dt_odom, m the mean heading
 *    of the two odometry samples, dt_odom the difference of their pts;
 *  - correct, at every new GPS fix, with its position in local metres
 *    (geo.h: x = (lon - lon0) * 111320 cos(lat0), y = (lat - lat0) * 111320
 *    around params origin_lat, origin_lon, sensor_source's origin by default).
 * Input gps is optional: without it the track is dead reckoning.
 * The output (MQS_SENSOR_POSE) is x, y (m east, north of the origin) and
 * heading (rad from east, counter-clockwise). */
#include <math.h>
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/geo.h"
#include "ekf.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define INIT_POS_SD 1.0      /* m */
#define INIT_HEADING_SD 0.1  /* rad */
#define MAX_STEP_S 1.0       /* longer IMU gaps are not predicted across in one step */

enum { IN_IMU, IN_ODOM, IN_GPS };

typedef struct held {
    bool seen;      /* a sample came on this input */
    uint64_t seq;   /* of the last one */
    int64_t pts;
    double v[6];
} held;

typedef struct fuse_state {
    ekf filter;
    ekf_noise noise;
    bool ready; /* the filter has its first pose */
    double lat0, lon0;
    double speed; /* m/s, from the last two odometry samples */
    held imu, odom, gps;
    uint64_t seq, poses, fixes;
} fuse_state;

static const char *const names[3] = {"imu", "odom", "gps"};
static const uint32_t types[3] = {MQS_SENSOR_IMU, MQS_SENSOR_ODOM, MQS_SENSOR_GPS};

/* A one-sample sensor buffer of input i, its `n` doubles in v; -EPROTO if it is not one. */
static int read_sample(mqs_block_ctx *ctx, const mqs_buffer *b, uint32_t i, double *v, uint32_t n)
{
    const mqs_buffer_meta *m = b->meta;
    if (m->header_type != MQS_HEADER_SENSOR || m->header.sensor.sample_type != types[i] ||
        m->length < n * sizeof(double)) {
        mqs_log(ctx, MQS_LOG_ERROR, "input '%s': buffer seq %llu is not a %u-value sample of sensor type %u "
                "(header type %u, sample type %u, %llu bytes)", names[i], (unsigned long long)m->seq, n, types[i],
                m->header_type, m->header.sensor.sample_type, (unsigned long long)m->length);
        return -EPROTO;
    }
    memcpy(v, b->data, n * sizeof(double));
    return 0;
}

/* 1 if b is a sample of input i the block has not seen yet (then in h), 0 if it is the held one again. */
static int take_new(mqs_block_ctx *ctx, const mqs_buffer *b, uint32_t i, held *h)
{
    if (!b || (h->seen && b->meta->seq == h->seq))
        return 0;
    int rc = read_sample(ctx, b, i, h->v, i == IN_IMU ? 6 : 3);
    if (rc < 0)
        return rc;
    h->seen = true, h->seq = b->meta->seq, h->pts = b->meta->pts;
    return 1;
}

/* A new odometry pose: the speed from the displacement since the previous one. */
static void odom_speed(fuse_state *s, const held *prev)
{
    double dt = (double)(s->odom.pts - prev->pts) * 1e-9;
    if (!prev->seen || !(dt > 0))
        return;
    double dx = s->odom.v[0] - prev->v[0], dy = s->odom.v[1] - prev->v[1];
    double m = prev->v[2] + remainder(s->odom.v[2] - prev->v[2], 2 * M_PI) / 2;
    s->speed = (dx * cos(m) + dy * sin(m)) / dt;
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    for (uint32_t i = 0; i < n_in && i < 3; i++) {
        if (in[i].flags & MQS_CAPS_ABSENT)
            continue;
        if (in[i].header_type != MQS_HEADER_SENSOR || in[i].sample_type != types[i])
            return mqs_params_fail(p, "input '%s' must carry %s samples (sensor_source kind: %s)", names[i],
                                   names[i], names[i]);
    }
    if (n_out < 1 || n_in < 1)
        return 0;
    double rate = in[IN_IMU].rate, quarter = rate / 4; /* a quarter second of poses */
    out[0] = (mqs_caps){.header_type = MQS_HEADER_SENSOR, .sample_type = MQS_SENSOR_POSE, .rate = rate,
                        .slot_size = 3 * sizeof(double),
                        .slot_count = quarter < 16 ? 16 : quarter > 1024 ? 1024 : (uint32_t)quarter};
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    fuse_state *s = ctx->state;
    const mqs_params *p = ctx->params;
    s->lat0 = mqs_param_double(p, "origin_lat");
    s->lon0 = mqs_param_double(p, "origin_lon");
    s->noise = (ekf_noise){.speed = mqs_param_double(p, "speed_noise"),
                           .yaw_rate = mqs_param_double(p, "yaw_rate_noise"),
                           .position = mqs_param_double(p, "gps_noise")};
    return 0;
}

/* Feed the set's samples to the filter: odometry, then predict to the IMU
 * sample, then a GPS fix. 0 or -EPROTO. */
static int update(mqs_block_ctx *ctx, const mqs_buffer *const *in, uint32_t n_in)
{
    fuse_state *s = ctx->state;
    held prev_imu = s->imu, prev_odom = s->odom;
    int rc = take_new(ctx, in[IN_IMU], IN_IMU, &s->imu);
    if (rc <= 0)
        return rc;
    if ((rc = take_new(ctx, n_in > IN_ODOM ? in[IN_ODOM] : NULL, IN_ODOM, &s->odom)) < 0)
        return rc;
    if (rc > 0)
        odom_speed(s, &prev_odom);
    if (rc > 0 && !s->ready) {
        ekf_init(&s->filter, s->odom.v, INIT_POS_SD, INIT_HEADING_SD, s->noise);
        s->ready = true;
    } else if (s->ready && prev_imu.seen) {
        double dt = (double)(s->imu.pts - prev_imu.pts) * 1e-9;
        ekf_predict(&s->filter, s->speed, s->imu.v[5], dt < 0 ? 0 : dt > MAX_STEP_S ? MAX_STEP_S : dt);
    }
    if ((rc = take_new(ctx, n_in > IN_GPS ? in[IN_GPS] : NULL, IN_GPS, &s->gps)) < 0)
        return rc;
    if (rc > 0 && s->ready) {
        double x, y;
        geo_to_local(s->lat0, s->lon0, s->gps.v[0], s->gps.v[1], &x, &y);
        ekf_correct_position(&s->filter, x, y);
        s->fixes++;
    }
    return 1;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    fuse_state *s = ctx->state;
    int rc = update(ctx, in, ctx->input_count);
    if (rc <= 0 || !s->ready)
        return rc;
    mqs_buffer out;
    if ((rc = out_alloc(ctx, 0, &out)) < 0 || (rc = out_fits(ctx, &out, 3 * sizeof(double))) < 0)
        return rc;
    memcpy(out.data, s->filter.s, 3 * sizeof(double));
    out.meta->length = 3 * sizeof(double);
    out.meta->pts = in[IN_IMU]->meta->pts;
    out.meta->duration = in[IN_IMU]->meta->duration;
    out.meta->flags = in[IN_IMU]->meta->flags & ~(uint32_t)MQS_BUFFER_EOS;
    out.meta->seq = s->seq++;
    out.meta->header_type = MQS_HEADER_SENSOR;
    out.meta->header.sensor =
        (mqs_sensor_header){.sample_type = MQS_SENSOR_POSE, .count = 1, .sample_size = 3 * sizeof(double)};
    s->poses++;
    return out_send(ctx, 0, &out);
}

static void fini(mqs_block_ctx *ctx)
{
    fuse_state *s = ctx->state;
    mqs_report(ctx, "poses", (double)s->poses);
    mqs_report(ctx, "fixes", (double)s->fixes);
}

static const mqs_port_spec ports[] = {
    {.name = "imu", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_SENSOR,
     .help = "IMU samples: the reference, one pose each"},
    {.name = "odom", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_SENSOR,
     .help = "wheel odometry: the speed, and the first pose"},
    {.name = "gps", .direction = MQS_PORT_INPUT, .header_type = MQS_HEADER_SENSOR, .flags = MQS_PORT_OPTIONAL,
     .help = "GPS fixes: position corrections"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "poses: x, y (m), heading (rad)"},
};

static const mqs_param_spec params[] = {
    {.key = "origin_lat", .type = MQS_PARAM_DOUBLE, .default_value = STR(GEO_LAT0), .min = -90, .max = 90,
     .help = "latitude of the local origin (deg): x, y are metres east and north of it"},
    {.key = "origin_lon", .type = MQS_PARAM_DOUBLE, .default_value = STR(GEO_LON0), .min = -180, .max = 180,
     .help = "longitude of the local origin (deg)"},
    {.key = "gps_noise", .type = MQS_PARAM_DOUBLE, .default_value = "0.5", .min = 0.001, .max = 1e4,
     .help = "standard deviation of a GPS position per axis (m)"},
    {.key = "speed_noise", .type = MQS_PARAM_DOUBLE, .default_value = "0.15", .min = 0.0001, .max = 100,
     .help = "noise density of the odometry speed (m/s/sqrt(Hz)); covers its scale error too"},
    {.key = "yaw_rate_noise", .type = MQS_PARAM_DOUBLE, .default_value = "0.003", .min = 0.0001, .max = 10,
     .help = "noise density of the IMU yaw rate (rad/s/sqrt(Hz))"},
};

MQS_BLOCK_EXPORT(fuse) = {
    MQS_BLOCK_HEADER,
    .name = "fuse",
    .summary = "IMU + wheel odometry + GPS into a pose track (extended Kalman filter)",
    .kind = MQS_BLOCK_FILTER,
    .flags = MQS_BLOCK_ALIGNED,
    .ports = ports,
    .port_count = sizeof ports / sizeof ports[0],
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(fuse_state),
    .negotiate = negotiate,
    .init = init,
    .process = process,
    .fini = fini,
};
