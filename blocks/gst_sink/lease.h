/* Leases: input frames lent to GStreamer without a copy.
 *
 * gst_sink wraps a slot of its upstream pool in a GstBuffer and keeps a
 * reference to the slot (mqs_ref) while GStreamer holds it. GStreamer frees
 * the GstBuffer on one of its own threads, but the SDK host is single
 * threaded: mqs_unref may only be called on the block's thread. So the
 * GstBuffer's destroy notify only queues the lease as returned (under a
 * mutex), and the block's thread releases the slot later (lease_collect).
 * The table is bounded: at most `capacity` frames are lent at once, so
 * GStreamer (an encoder keeps dozens of frames) can never hold every slot
 * of the upstream pool, which would leave its producer nothing to allocate.
 *
 * The same mutex and condition variable carry the appsrc's "a buffer left
 * the queue" events, so the block sleeps on one thing while it waits for
 * room (lease_wait). */
#ifndef MQS_BLOCKS_GST_LEASE_H
#define MQS_BLOCKS_GST_LEASE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <mqs/block.h>

typedef struct lease_table lease_table;

typedef struct lease {
    mqs_buffer buf;     /* our reference to the slot */
    lease_table *table;
    uint32_t index;
} lease;

struct lease_table {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t events;     /* lock: bumped by every return and lease_signal */
    uint32_t returned_n; /* lock: entries of `returned` */
    uint32_t *returned;  /* lock: indexes GStreamer gave back, not yet released */
    /* block thread only: */
    uint32_t capacity, lent;
    uint32_t free_n;
    uint32_t *free_list;
    lease leases[];
};

/* A table for up to `capacity` lent frames (0: none, for lease_wait alone); NULL without memory. */
lease_table *lease_table_create(uint32_t capacity);

/* Destroy it, unless frames are still lent: then it is left allocated for
 * their late returns (and false is returned); the host releases the slots. */
bool lease_table_destroy(lease_table *t);

/* Lend input `in`: takes a reference. NULL when the table is full or the
 * reference is refused. Block thread. */
lease *lease_take(lease_table *t, mqs_block_ctx *ctx, const mqs_buffer *in);

/* GStreamer is done with a lent frame (a GDestroyNotify). Any thread. */
void lease_return(void *lease_ptr);

/* Release the slots of every returned lease. Block thread. */
void lease_collect(lease_table *t, mqs_block_ctx *ctx);

/* Wake lease_wait (e.g. the appsrc's queue went down). Any thread. */
void lease_signal(lease_table *t);

/* The event count, to pass to lease_wait. */
uint64_t lease_events(lease_table *t);

/* Sleep until the event count differs from `seen` or timeout_ns went by. */
void lease_wait(lease_table *t, uint64_t seen, int64_t timeout_ns);

#endif
