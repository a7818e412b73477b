/* multiqueue-shm: taps, consumers added to a running graph.
 *
 * A tap attaches to one output of a running domain and receives what the
 * output sends from then on, through a queue of its own with its own full
 * policy, without restarting anything: a notebook looking at frames, a
 * recorder started by hand, a test. It leaves cleanly: closing it returns
 * every reference it and its queue held, and when its process dies the
 * launcher does the same (docs/memory-model.md, "Taps").
 *
 * A tap takes one of the domain's tap slots (mqs_domain_config.tap_count;
 * mqrun makes MQS_DEFAULT_TAPS). Any process of the domain's user may open
 * one. A tap is one process's, used from one thread at a time.
 */
#ifndef MQS_TAP_H
#define MQS_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQS_MAX_TAPS 32u
#define MQS_DEFAULT_TAPS 4u
#define MQS_TAP_DEPTH_MAX 64u

typedef struct mqs_tap mqs_tap;

typedef struct mqs_tap_config {
    uint32_t depth;          /* entries, 1..MQS_TAP_DEPTH_MAX (rounded up to a power of two); 0: 4 */
    mqs_queue_policy policy; /* drop_oldest (the default, 0 is block: set it) keeps the graph's pace */
    const char *name;        /* for tools: "notebook"; NULL: "tap" */
} mqs_tap_config;

/* The defaults: depth 4, drop_oldest, so a slow tap never holds the graph up. */
mqs_tap_config mqs_tap_config_default(void);

/* Attach a tap to output `output` ("block.port") of the running domain
 * `domain` (a name as mqs_runs_list gives it). 0, or -ENOENT (no such domain
 * or output: mqs_last_error lists the outputs), -EBUSY (every tap slot is
 * taken), -EINVAL (bad depth or policy), or mqs_domain_attach's errors. */
int mqs_tap_open(const char *domain, const char *output, const mqs_tap_config *config, mqs_tap **out);

/* The next buffer the output sent: one reference, which the caller returns
 * with mqs_buffer_unref(mqs_tap_domain(t), id). 0, -ETIMEDOUT (nothing
 * within timeout_ns; 0 does not wait, MQS_FOREVER waits for ever), -EPIPE
 * (the output ended its stream: nothing more will come), -ECANCELED (the
 * graph is stopping). */
int mqs_tap_receive(mqs_tap *t, mqs_buffer_id *out, int64_t timeout_ns);

/* Buffers waiting in the tap's queue now. */
uint32_t mqs_tap_length(const mqs_tap *t);

/* The domain handle the tap holds its references through: mqs_buffer_data,
 * mqs_buffer_meta_of and mqs_buffer_unref take it. */
mqs_domain *mqs_tap_domain(mqs_tap *t);

/* The tap's queue, for mqs_queue_stats_get (pushed, dropped ...). */
uint32_t mqs_tap_queue(const mqs_tap *t);

/* Stop receiving: the output stops sending to the tap and what was queued
 * for it is returned; references the caller holds stay valid until it
 * returns them, and mqs_tap_receive says -EPIPE. */
void mqs_tap_stop(mqs_tap *t);

/* Leave: stop, return every reference still held, free the slot. */
void mqs_tap_close(mqs_tap *t);

/* The launcher: give back what taps whose process died held, and free
 * their slots. Returns the number of taps cleaned up, or -EPERM when the
 * caller is not the domain's creator. Cheap when nothing died. */
int mqs_taps_reclaim(mqs_domain *d);

/* Tap slots of the domain: the last this many process slots and queues. */
uint32_t mqs_domain_tap_count(const mqs_domain *d);

/* Whether process slot `process` / queue `queue` is a tap's, and whether
 * that tap is attached to an output now. */
bool mqs_process_is_tap(const mqs_domain *d, uint32_t process);
bool mqs_queue_is_tap(const mqs_domain *d, uint32_t queue);
bool mqs_queue_attached(const mqs_domain *d, uint32_t queue);

#ifdef __cplusplus
}
#endif
#endif
