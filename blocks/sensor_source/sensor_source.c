/* sensor_source: a synthetic IMU, GPS or odometry sensor, one sample per
 * buffer (layouts in mqs/types.h). The vehicle drives a circle of radius
 * 20 m, one lap every 30 s, starting east of the centre heading north;
 * every value gets gaussian noise of standard deviation `noise` (in the
 * value's unit; metres for GPS positions). Time in the motion model is
 * seq / rate, so a run is reproducible from its seed. */
#include <math.h>
#include <string.h>

#include <mqs/block.h>

#include "../common/io.h"
#include "../common/pace.h"
#include "../common/rng.h"

#define RADIUS_M 20.0
#define OMEGA (2 * M_PI / 30.0) /* rad/s */
#define GRAVITY 9.80665
#define LAT0 48.8584 /* degrees; any fixed origin will do */
#define LON0 2.2945
#define ALT0 35.0
#define M_PER_DEG_LAT 111320.0

typedef struct sensor_state {
    uint32_t type, values;
    double rate, noise;
    int64_t count, clock_offset, jitter;
    pacer pace;
    rng rng;
    uint64_t seq;
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

/* The true value at time t, then noise. */
static void sample(sensor_state *s, double t, double *v)
{
    double a = OMEGA * t, x = RADIUS_M * cos(a), y = RADIUS_M * sin(a), n = s->noise;
    switch (s->type) {
    case MQS_SENSOR_IMU: /* body frame x forward, y left, z up; turning left */
        v[0] = 0, v[1] = RADIUS_M * OMEGA * OMEGA, v[2] = GRAVITY;
        v[3] = 0, v[4] = 0, v[5] = OMEGA;
        for (int i = 0; i < 6; i++)
            v[i] += n * gaussian(&s->rng);
        break;
    case MQS_SENSOR_GPS:
        v[0] = LAT0 + (y + n * gaussian(&s->rng)) / M_PER_DEG_LAT;
        v[1] = LON0 + (x + n * gaussian(&s->rng)) / (M_PER_DEG_LAT * cos(LAT0 * M_PI / 180));
        v[2] = ALT0 + n * gaussian(&s->rng);
        break;
    default: /* odometry */
        v[0] = x + n * gaussian(&s->rng);
        v[1] = y + n * gaussian(&s->rng);
        v[2] = remainder(a + M_PI / 2 + n * gaussian(&s->rng), 2 * M_PI); /* in [-pi, pi] */
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
    s->rate = mqs_param_double(p, "rate");
    s->noise = mqs_param_double(p, "noise");
    s->count = mqs_param_int(p, "count");
    s->clock_offset = mqs_param_int(p, "clock_offset");
    s->jitter = mqs_param_int(p, "jitter");
    pace_init(&s->pace, s->rate);
    rng_seed(&s->rng, (uint64_t)mqs_param_int(p, "seed"));
    return 0;
}

static int produce(mqs_block_ctx *ctx)
{
    sensor_state *s = ctx->state;
    uint32_t size = s->values * sizeof(double);
    if (s->count > 0 && s->seq >= (uint64_t)s->count)
        return MQS_EOS;
    if (!pace_wait(&s->pace) || mqs_stopping(ctx)) /* a stop may have come while we slept */
        return 0;
    int64_t pts = mqs_now(ctx) + s->clock_offset + rng_symmetric(&s->rng, s->jitter);
    mqs_buffer b;
    int rc = out_alloc(ctx, 0, &b);
    if (rc < 0 || (rc = out_fits(ctx, &b, size)) < 0)
        return rc;
    double v[6];
    sample(s, (double)s->seq / s->rate, v);
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
     .help = "standard deviation of the gaussian noise on every value (GPS: metres)"},
    {.key = "clock_offset", .type = MQS_PARAM_DURATION, .default_value = "0", .min = 1, .max = 0,
     .help = "added to every pts, may be negative: a sensor whose clock is off"},
    {.key = "jitter", .type = MQS_PARAM_DURATION, .default_value = "0", .min = 0, .max = 1e10,
     .help = "each pts moves by a random amount in [-jitter, +jitter]"},
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 1e15,
     .help = "samples to make, then end of stream; 0: unlimited"},
    {.key = "seed", .type = MQS_PARAM_INT, .default_value = "1", .min = 1, .max = 0,
     .help = "seed of the noise and jitter: runs are reproducible"},
};

MQS_BLOCK_EXPORT(sensor_source) = {
    MQS_BLOCK_HEADER,
    .name = "sensor_source",
    .summary = "synthetic IMU, GPS or odometry samples (a vehicle driving a circle)",
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
