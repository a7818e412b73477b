/* sensor_source: a synthetic IMU, GPS or wheel-odometry sensor, one sample
 * per buffer (layouts in mqs/types.h).
 *
 * Ground truth, shared by every sensor_source of every graph: a vehicle
 * drives a circle of radius R = 20 m counter-clockwise around the local
 * origin (x east, y north, metres), one lap every T = 30 s. It is evaluated
 * at each sample's true capture time t, the monotonic time at which
 * produce() takes the sample (s), so all sources agree:
 *   a(t) = 2 pi (t mod T) / T,  w = 2 pi / T (yaw rate), v = R w (speed)
 *   x = R cos a,  y = R sin a,  heading = a + pi/2 (rad from east, [-pi, pi])
 * pts = t + clock_offset + a uniform jitter in [-jitter, +jitter].
 *
 * With n ~ N(0, 1) a fresh gaussian draw and sigma = param `noise`:
 *   imu:  ax = 0 + sigma n, ay = R w^2 + sigma n (centripetal, to the left),
 *         az = 9.80665 + sigma n (m/s^2, body frame x forward, y left, z up);
 *         gx = gyro_bias + sigma n, gy = gyro_bias + sigma n,
 *         gz = w + gyro_bias + sigma n (rad/s).
 *   gps:  lat, lon = geo_from_local(LAT0, LON0, x + sigma n, y + sigma n)
 *         (geo.h: lat = LAT0 + y'/111320, lon = LON0 + x'/(111320 cos LAT0),
 *         LAT0 = 48.8584, LON0 = 2.2945 deg), alt = 35 + sigma n (m).
 *   odom: dead reckoning, the way wheel odometry drifts. The first sample is
 *         the true pose; each next one, dt after the previous, advances by
 *         the wheel distance d = v dt (1 + scale_error) and the heading
 *         change dh = (w + sigma n) dt:
 *           x += d cos(h + dh/2), y += d sin(h + dh/2), h = wrap(h + dh).
 *
 * Random draws per sample, in this order (common/rng.h): the jitter
 * (rng_symmetric, only when jitter > 0), then the gaussians in the order
 * written above (imu: ax ay az gx gy gz; gps: east, north, alt; odom: one,
 * none for the first sample), each two rng_uniform (Box-Muller). */
#include <math.h>
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/pace.h"
#include "../common/rng.h"
#include "../common/geo.h"

#define RADIUS_M 20.0
#define LAP_NS 30000000000LL /* one lap every 30 s */
#define OMEGA (2 * M_PI * 1e9 / LAP_NS) /* rad/s */
#define GRAVITY 9.80665

typedef struct sensor_state {
    uint32_t type, values;
    double noise, scale_error, gyro_bias;
    int64_t count, clock_offset, jitter;
    pacer pace;
    rng rng;
    uint64_t seq;
    double odom[3];  /* odom: the dead-reckoned x, y, heading */
    int64_t odom_ns; /* capture time of the previous odom sample */
} sensor_state;

static uint32_t sensor_type(const char *kind)
{
    return kind[0] == 'g' ? MQS_SENSOR_GPS : kind[0] == 'o' ? MQS_SENSOR_ODOM : MQS_SENSOR_IMU;
}

static uint32_t sensor_values(uint32_t type) { return type == MQS_SENSOR_IMU ? 6 : 3; }

static double gaussian(rng *r)
{
    double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r); /* u1 in (0, 1]: log is finite */
    return sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
}

/* Angle of the vehicle on its circle at capture time t_ns (>= 0). */
static double truth_angle(int64_t t_ns) { return 2 * M_PI * (double)(t_ns % LAP_NS) / (double)LAP_NS; }

/* Advance the dead-reckoned pose to capture time t_ns. */
static void odom_step(sensor_state *s, int64_t t_ns, double *v)
{
    if (s->seq == 0) { /* wheel odometry starts at a known pose: the true one */
        double a = truth_angle(t_ns);
        s->odom[0] = RADIUS_M * cos(a), s->odom[1] = RADIUS_M * sin(a);
        s->odom[2] = remainder(a + M_PI / 2, 2 * M_PI);
    } else {
        double dt = (double)(t_ns - s->odom_ns) * 1e-9;
        double d = RADIUS_M * OMEGA * dt * (1 + s->scale_error);
        double dh = (OMEGA + s->noise * gaussian(&s->rng)) * dt, mid = s->odom[2] + dh / 2;
        s->odom[0] += d * cos(mid), s->odom[1] += d * sin(mid);
        s->odom[2] = remainder(s->odom[2] + dh, 2 * M_PI);
    }
    s->odom_ns = t_ns;
    memcpy(v, s->odom, sizeof s->odom);
}

/* The sample captured at t_ns: truth, then noise (see the top of the file). */
static void sample(sensor_state *s, int64_t t_ns, double *v)
{
    double a = truth_angle(t_ns), x = RADIUS_M * cos(a), y = RADIUS_M * sin(a), n = s->noise, b = s->gyro_bias;
    switch (s->type) {
    case MQS_SENSOR_IMU:
        v[0] = 0, v[1] = RADIUS_M * OMEGA * OMEGA, v[2] = GRAVITY;
        v[3] = b, v[4] = b, v[5] = OMEGA + b;
        for (int i = 0; i < 6; i++)
            v[i] += n * gaussian(&s->rng);
        break;
    case MQS_SENSOR_GPS: {
        double east = x + n * gaussian(&s->rng), north = y + n * gaussian(&s->rng);
        geo_from_local(GEO_LAT0, GEO_LON0, east, north, &v[0], &v[1]);
        v[2] = GEO_ALT0 + n * gaussian(&s->rng);
        break;
    }
    default:
        odom_step(s, t_ns, v);
        break;
    }
}

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    (void)in, (void)n_in;
    if (n_out < 1)
        return 0;
    uint32_t type = sensor_type(mqs_param_string(p, "kind"));
    double rate = mqs_param_double(p, "rate"), quarter = rate / 4; /* a quarter second of samples */
    out[0] = (mqs_caps){.header_type = MQS_HEADER_SENSOR, .sample_type = type, .rate = rate,
                        .slot_size = sensor_values(type) * sizeof(double),
                        .slot_count = quarter < 16 ? 16 : quarter > 1024 ? 1024 : (uint32_t)quarter};
    return 0;
}

static int init(mqs_block_ctx *ctx)
{
    sensor_state *s = ctx->state;
    const mqs_params *p = ctx->params;
    s->type = sensor_type(mqs_param_string(p, "kind"));
    s->values = sensor_values(s->type);
    s->noise = mqs_param_double(p, "noise");
    s->count = mqs_param_int(p, "count");
    s->clock_offset = mqs_param_int(p, "clock_offset");
    s->jitter = mqs_param_int(p, "jitter");
    s->scale_error = mqs_param_double(p, "scale_error");
    s->gyro_bias = mqs_param_double(p, "gyro_bias");
    pace_init(&s->pace, mqs_param_double(p, "rate"));
    rng_seed(&s->rng, (uint64_t)mqs_param_int(p, "seed"));
    return 0;
}

static int produce(mqs_block_ctx *ctx)
{
    sensor_state *s = ctx->state;
    uint32_t size = s->values * sizeof(double);
    if (s->count > 0 && s->seq >= (uint64_t)s->count)
        return MQS_EOS;
    if (!pace_wait(ctx, &s->pace) || mqs_stopping(ctx)) /* a stop may have come while we slept */
        return 0;
    int64_t capture = mqs_now(ctx);
    int64_t pts = capture + s->clock_offset + rng_symmetric(&s->rng, s->jitter);
    mqs_buffer b;
    int rc = out_alloc(ctx, 0, &b);
    if (rc < 0 || (rc = out_fits(ctx, &b, size)) < 0)
        return rc;
    double v[6];
    sample(s, capture, v);
    memcpy(b.data, v, size);
    b.meta->length = size;
    b.meta->pts = pts;
    b.meta->duration = s->pace.period_ns;
    b.meta->seq = s->seq++;
    b.meta->header_type = MQS_HEADER_SENSOR;
    b.meta->header.sensor = (mqs_sensor_header){.sample_type = s->type, .count = 1, .sample_size = size};
    rc = out_send(ctx, 0, &b);
    if (rc < 0)
        return rc;
    return s->count > 0 && s->seq >= (uint64_t)s->count ? MQS_EOS : 0;
}

static const mqs_port_spec ports[] = {
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "one sample of doubles per buffer"},
};

static const mqs_param_spec params[] = {
    {.key = "kind", .type = MQS_PARAM_ENUM, .default_value = "imu", .choices = "imu|gps|odom",
     .help = "imu: ax ay az (m/s^2) gx gy gz (rad/s); gps: lat lon (deg) alt (m); odom: x y (m) heading (rad)"},
    {.key = "rate", .type = MQS_PARAM_DOUBLE, .default_value = "100", .min = 0.1, .max = 10000,
     .help = "samples per second"},
    {.key = "noise", .type = MQS_PARAM_DOUBLE, .default_value = "0.01", .min = 0, .max = 1e6,
     .help = "standard deviation of the gaussian noise: imu on every value; gps on east, north and altitude (m); "
             "odom on the heading rate (rad/s)"},
    {.key = "scale_error", .type = MQS_PARAM_DOUBLE, .default_value = "0.02", .min = -0.5, .max = 0.5,
     .help = "odom: relative error of the wheel distance (0.02: 2 % too far), so the dead reckoning drifts"},
    {.key = "gyro_bias", .type = MQS_PARAM_DOUBLE, .default_value = "0", .min = -1, .max = 1,
     .help = "imu: constant offset added to gx, gy and gz (rad/s)"},
    {.key = "clock_offset", .type = MQS_PARAM_DURATION, .default_value = "0",
     .help = "added to every pts, may be negative: a sensor whose clock is off"},
    {.key = "jitter", .type = MQS_PARAM_DURATION, .default_value = "0", .min = 0, .max = 1e10,
     .help = "each pts moves by a random amount in [-jitter, +jitter]"},
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 1e15,
     .help = "samples to make, then end of stream; 0: unlimited"},
    {.key = "seed", .type = MQS_PARAM_INT, .default_value = "1",
     .help = "seed of the noise and jitter: runs are reproducible"},
};

MQS_BLOCK_EXPORT(sensor_source) = {
    MQS_BLOCK_HEADER,
    .name = "sensor_source",
    .summary = "synthetic IMU, GPS or wheel-odometry samples of a vehicle driving a circle",
    .kind = MQS_BLOCK_SOURCE,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(sensor_state),
    .negotiate = negotiate,
    .init = init,
    .produce = produce,
};
