/* multiqueue-shm: queues and ports.
 *
 * Every connection is a bounded single-producer single-consumer ring of buffer
 * IDs in the control segment: the output's owner pushes, the consumer process
 * pops. Head and tail sit on separate cache lines; waiting spins (adaptively,
 * per the domain's wait mode) and then sleeps on a futex. A side only makes a
 * syscall when the other side announced that it sleeps.
 *
 * Two levels:
 *  - mqs_output_send / mqs_queue_receive move buffer references: send consumes the caller's
 *    reference and gives one to each queue of the output (fan-out), applying
 *    each queue's full policy; receive hands the caller one reference.
 *  - mqs_queue_push / mqs_queue_pop move raw 64-bit values with no reference
 *    counting, for queues used as plain rings (tests, benchmarks).
 * Do not mix the two levels on one queue.
 *
 * Timeouts are ns (MQS_FOREVER: no limit, 0: do not wait).
 */
#ifndef MQS_QUEUE_H
#define MQS_QUEUE_H

#include <stdint.h>

#include "domain.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Send `id` (one reference the caller holds) on `output`. The reference is
 * always consumed. Returns the number of queues it was delivered to (all of
 * them unless some dropped it), or -ESTALE/-EINVAL (bad ID), -EPERM (not the
 * output's owner or not holding the ID), -ERANGE (no such output),
 * -ETIMEDOUT (a `block` queue stayed full for timeout_ns; counted as a drop). */
int mqs_output_send(mqs_domain *d, uint32_t output, mqs_buffer_id id, int64_t timeout_ns);

/* Take the next buffer from `queue` (which the caller must consume): the
 * caller gets one reference. 0, -EAGAIN (empty and timeout 0), -ETIMEDOUT,
 * -EPIPE (closed by its producer and empty: end of stream), -EPERM, -ERANGE,
 * -ENOSPC (held table full), -ECANCELED (mqs_domain_request_stop was called).
 * A corrupt ID found in the queue is counted and skipped. */
int mqs_queue_receive(mqs_domain *d, uint32_t queue, mqs_buffer_id *out, int64_t timeout_ns);

/* Wait until one of `queues` (all consumed by the caller, at most 64) has an
 * entry or is closed. Returns the index into `queues` of such a queue,
 * -ETIMEDOUT, -ECANCELED, -EINVAL (no queues, or more than 64), -ERANGE (no
 * such queue), -EPERM (a queue the caller does not consume). Does not take
 * the entry. */
int mqs_wait_any(mqs_domain *d, const uint32_t *queues, uint32_t count, int64_t timeout_ns);

/* Raw level: push/pop a 64-bit value (on a drop_oldest queue, values whose
 * top 16 bits are all ones are the ring's own: push refuses them with
 * -EINVAL). push: 0, -EAGAIN (full and timeout 0),
 * -ETIMEDOUT, -ECANCELED; drop policies apply (a dropped value returns 0 and
 * is counted). pop: 0, -EAGAIN (empty and timeout 0), -ETIMEDOUT, -EPIPE
 * (closed and empty), -ECANCELED. Both: -ERANGE (no such queue), -EPERM (not
 * the queue's producer, respectively consumer). */
int mqs_queue_push(mqs_domain *d, uint32_t queue, uint64_t value, int64_t timeout_ns);
int mqs_queue_pop(mqs_domain *d, uint32_t queue, uint64_t *out, int64_t timeout_ns);

/* Raw level, many values per index update (one release store of head or
 * tail and one wake check for the lot): for producers and consumers of many
 * small entries. push_many queues all n in order, waiting for room as push
 * does; it returns n, or how many went in before the timeout (a negative
 * error if none: -EAGAIN, -ETIMEDOUT, -ECANCELED). A drop policy meets each
 * value on its own, as n pushes would. pop_many waits (as pop does) until
 * at least one entry is there, then takes up to max without waiting more:
 * how many, or -EAGAIN, -ETIMEDOUT, -EPIPE, -ECANCELED. A drop_oldest queue
 * gives one entry per call. Both: -ERANGE, -EPERM as above. */
int mqs_queue_push_many(mqs_domain *d, uint32_t queue, const uint64_t *values, uint32_t n, int64_t timeout_ns);
int mqs_queue_pop_many(mqs_domain *d, uint32_t queue, uint64_t *out, uint32_t max, int64_t timeout_ns);

/* End of stream: the producer closes every queue of an output once it will
 * send no more; the consumer then drains what is queued and gets -EPIPE.
 * Closing wakes a sleeping consumer. The launcher (slot 0) may close the
 * outputs of a producer that died. 0, -ERANGE, -EPERM (not the owner). */
int mqs_output_close(mqs_domain *d, uint32_t output);
/* Undo a close before the producer is restarted (launcher only, slot 0). */
int mqs_output_reopen(mqs_domain *d, uint32_t output);
int mqs_queue_is_closed(const mqs_domain *d, uint32_t queue);

/* Entries waiting in a queue right now. */
uint32_t mqs_queue_length(const mqs_domain *d, uint32_t queue);

/* Counters of one queue, readable from any process without slowing it. */
typedef struct mqs_queue_stats {
    uint32_t depth;
    uint32_t length;
    uint64_t pushed;     /* entries that entered the ring */
    uint64_t popped;     /* entries the consumer took */
    uint64_t dropped;    /* entries lost to the full policy or a send timeout */
    uint64_t high_water; /* most entries ever queued at once */
    uint64_t drained;    /* entries released unread: the consumer was given up on */
    mqs_queue_policy policy; /* what a full queue does */
} mqs_queue_stats;

/* "block", "drop_oldest", "drop_newest"; "?" for anything else. */
const char *mqs_queue_policy_name(mqs_queue_policy policy);

/* 0, or -ERANGE for a bad queue or NULL out. */
int mqs_queue_stats_get(const mqs_domain *d, uint32_t queue, mqs_queue_stats *out);

/* Ask every waiting call of every process in the domain to return -ECANCELED
 * (used by the launcher to stop a graph). */
void mqs_domain_request_stop(mqs_domain *d);
int mqs_domain_stop_requested(const mqs_domain *d);

#ifdef __cplusplus
}
#endif
#endif
