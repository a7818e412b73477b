/* multiqueue-shm: types shared by the core API and the block SDK.
 *
 * Everything here is plain data with fixed-width fields: buffer IDs and buffer
 * metadata live in shared memory and are read by several processes, possibly
 * built by different compilers, so their layout is pinned by static asserts.
 */
#ifndef MQS_TYPES_H
#define MQS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A buffer ID names one use of one pool slot: pool index (16 bits), slot
 * index (16 bits) and the slot's generation (32 bits). Generations start at 1
 * and skip 0 on wrap, so 0 is never a valid ID. Every use of an ID compares
 * its generation with the slot's: a stale or made-up ID is rejected. */
typedef uint64_t mqs_buffer_id;

#define MQS_BUFFER_ID_NONE ((mqs_buffer_id)0)
#define MQS_MAX_POOLS 65535u
#define MQS_MAX_SLOTS 65535u

static inline mqs_buffer_id mqs_buffer_id_make(uint32_t pool, uint32_t slot, uint32_t generation)
{
    return ((uint64_t)(pool & 0xffffu) << 48) | ((uint64_t)(slot & 0xffffu) << 32) | generation;
}
static inline uint32_t mqs_buffer_id_pool(mqs_buffer_id id) { return (uint32_t)(id >> 48); }
static inline uint32_t mqs_buffer_id_slot(mqs_buffer_id id) { return (uint32_t)(id >> 32) & 0xffffu; }
static inline uint32_t mqs_buffer_id_generation(mqs_buffer_id id) { return (uint32_t)id; }

/* Buffer flags (mqs_buffer_meta.flags). */
enum {
    MQS_BUFFER_EOS = 1u << 0,      /* end of stream: no more buffers follow on this port */
    MQS_BUFFER_GAP = 1u << 1,      /* data before this buffer was lost (a drop upstream) */
    MQS_BUFFER_KEYFRAME = 1u << 2, /* decodable on its own */
};

/* What the typed header of a buffer describes (mqs_buffer_meta.header_type). */
enum {
    MQS_HEADER_NONE = 0,
    MQS_HEADER_VIDEO = 1,
    MQS_HEADER_SENSOR = 2,
};

/* Pixel formats (mqs_video_header.format). */
enum {
    MQS_FORMAT_ANY = 0, /* in a port spec: accepts every format */
    MQS_FORMAT_RGB24 = 1,
    MQS_FORMAT_GRAY8 = 2,
    MQS_FORMAT_I420 = 3,
};

/* Sensor sample kinds (mqs_sensor_header.sample_type). */
enum {
    MQS_SENSOR_IMU = 1,  /* 6 doubles: ax ay az (m/s^2) gx gy gz (rad/s) */
    MQS_SENSOR_GPS = 2,  /* 3 doubles: latitude, longitude (deg), altitude (m) */
    MQS_SENSOR_ODOM = 3, /* 3 doubles: x, y (m), heading (rad) */
    MQS_SENSOR_POSE = 4, /* 3 doubles: x, y (m, local east/north of the sensor origin), heading (rad) */
};

typedef struct mqs_video_header {
    uint32_t width;
    uint32_t height;
    uint32_t format;  /* MQS_FORMAT_* */
    uint32_t stride;  /* bytes per row of the first plane */
    uint32_t reserved[4];
} mqs_video_header;

typedef struct mqs_sensor_header {
    uint32_t sample_type; /* MQS_SENSOR_* */
    uint32_t count;       /* samples in the buffer */
    uint32_t sample_size; /* bytes per sample */
    uint32_t reserved[5];
} mqs_sensor_header;

/* Metadata of one buffer. Written by the producer between alloc and send,
 * read-only for everyone after send. */
typedef struct mqs_buffer_meta {
    uint64_t length;   /* bytes of payload in use */
    int64_t pts;       /* presentation time, ns on the graph's clock */
    int64_t duration;  /* ns, 0 if unknown */
    uint64_t seq;      /* sequence number on the producing port */
    uint32_t flags;    /* MQS_BUFFER_* */
    uint32_t port;     /* index of the producing output port in the domain */
    uint32_t header_type; /* MQS_HEADER_* */
    uint32_t reserved;
    union {
        mqs_video_header video;
        mqs_sensor_header sensor;
        uint8_t raw[32];
    } header;
} mqs_buffer_meta;

_Static_assert(sizeof(mqs_video_header) == 32, "video header layout");
_Static_assert(sizeof(mqs_sensor_header) == 32, "sensor header layout");
_Static_assert(sizeof(mqs_buffer_meta) == 80, "buffer meta layout");
_Static_assert(offsetof(mqs_buffer_meta, header) == 48, "buffer meta layout");

/* What an output port carries, negotiated before the graph starts and
 * stored with the output in shared memory. */
typedef struct mqs_caps {
    uint32_t header_type; /* MQS_HEADER_*; NONE: opaque bytes */
    uint32_t format;      /* video: MQS_FORMAT_* */
    uint32_t width;       /* video */
    uint32_t height;      /* video */
    uint32_t sample_type; /* sensor: MQS_SENSOR_* */
    uint32_t slot_count;  /* buffers in the output's pool; 0: the graph's default (256 KiB of slots, 8 to 1024) */
    uint64_t slot_size;   /* bytes per buffer */
    double rate;          /* nominal buffers per second, 0 if unknown */
    uint32_t flags;       /* MQS_CAPS_* */
    uint32_t reserved[5];
} mqs_caps;

/* Caps flags (mqs_caps.flags). */
enum {
    MQS_CAPS_ABSENT = 1u << 0, /* an optional input left unconnected: nothing arrives on it */
};
_Static_assert(sizeof(mqs_caps) == 64, "caps layout");

/* Full-queue policies of an input. */
typedef enum mqs_queue_policy {
    MQS_POLICY_BLOCK = 0,       /* producer waits: lossless backpressure */
    MQS_POLICY_DROP_OLDEST = 1, /* the oldest queued buffer is dropped: newest wins */
    MQS_POLICY_DROP_NEWEST = 2, /* the buffer being sent is dropped */
} mqs_queue_policy;

/* How a process waits for a queue. */
typedef enum mqs_wait_mode {
    MQS_WAIT_HYBRID = 0, /* spin briefly (adaptively), then sleep on a futex */
    MQS_WAIT_SPIN = 1,   /* never sleep: lowest latency, burns a core */
    MQS_WAIT_SLEEP = 2,  /* sleep at once: cheapest, slowest to wake */
} mqs_wait_mode;

/* Timeouts are in nanoseconds; MQS_FOREVER waits without limit, 0 does not wait. */
#define MQS_FOREVER ((int64_t)-1)

#ifdef __cplusplus
}
#endif
#endif
