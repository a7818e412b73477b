/* multiqueue-shm: pools and reference-counted buffers.
 *
 * Ownership: mqs_buffer_alloc gives the caller one reference. Every reference
 * is returned with exactly one mqs_buffer_unref, or handed on with mqs_output_send
 * (which always consumes it, even when it fails). mqs_buffer_ref adds one.
 * The domain records every reference a process holds, so a process that dies
 * can be cleaned up with mqs_reclaim.
 *
 * Every function checks the ID's pool, slot and generation before touching
 * anything: a stale, freed or made-up ID gives -ESTALE (or -EINVAL for an
 * impossible pool/slot), is counted, and is never dereferenced.
 *
 * Hot paths: no syscalls, no locks, no allocation.
 */
#ifndef MQS_BUFFER_H
#define MQS_BUFFER_H

#include <stdint.h>

#include "domain.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Take a free slot of `pool` (which the caller's process must own).
 * Returns 0 and one reference, -EAGAIN (pool exhausted), -EPERM (not the
 * owner), -ERANGE (no such pool), -ENOSPC (the held-reference table is full).
 * The metadata is zeroed except `port`. */
int mqs_buffer_alloc(mqs_domain *d, uint32_t pool, mqs_buffer_id *out);

/* The same, waiting (per the domain's wait mode) up to timeout_ns for a slot
 * while the pool is exhausted: a release that frees a slot wakes the owner
 * only when it sleeps. Also -ETIMEDOUT, -ECANCELED (mqs_domain_request_stop);
 * timeout 0 is mqs_buffer_alloc. */
int mqs_buffer_alloc_wait(mqs_domain *d, uint32_t pool, mqs_buffer_id *out, int64_t timeout_ns);

/* Add a reference to a buffer the caller holds. 0, -ESTALE, -EINVAL,
 * -EPERM (the caller holds no reference to it), -ENOSPC (held_capacity
 * references held already: the capacity counts references, not buffers). */
int mqs_buffer_ref(mqs_domain *d, mqs_buffer_id id);

/* Drop one reference the caller holds; at zero the slot returns to its pool
 * and its generation changes. 0, -ESTALE, -EINVAL, or -EPERM when the caller
 * holds no reference to it. */
int mqs_buffer_unref(mqs_domain *d, mqs_buffer_id id);

/* Payload of a buffer the caller holds: writable for the pool's owner,
 * read-only (mapped PROT_READ) for everyone else. NULL for a bad ID. */
void *mqs_buffer_data(mqs_domain *d, mqs_buffer_id id);

/* Metadata of a buffer the caller holds. NULL for a bad ID. */
mqs_buffer_meta *mqs_buffer_meta_of(mqs_domain *d, mqs_buffer_id id);

/* Payload capacity of a pool's slots, in bytes; 0 for a bad pool. */
uint64_t mqs_pool_slot_size(const mqs_domain *d, uint32_t pool);

/* A snapshot of a pool's use, read without disturbing it. */
typedef struct mqs_pool_stats {
    uint32_t slot_count;
    uint32_t in_use;          /* slots with a reference right now */
    uint64_t allocs;          /* successful allocations */
    uint64_t alloc_failures;  /* alloc found the pool exhausted */
    uint64_t rejected_ids;    /* stale or corrupt IDs presented to it */
    uint32_t high_water;      /* most slots in use at once, as sampled (mqs_pools_sample) */
} mqs_pool_stats;

int mqs_pool_stats_get(const mqs_domain *d, uint32_t pool, mqs_pool_stats *out);

/* Launcher only (slot 0): note how many slots of each pool are in use, for
 * the pools' high water (a scan of the slot states; mqrun does it every
 * 100 ms). The owner also looks right after an alloc, once every
 * max(16, slots) allocs, and an exhausted alloc notes a full pool. */
void mqs_pools_sample(mqs_domain *d);

/* References the caller's process holds right now (all buffers). */
uint32_t mqs_held_count(const mqs_domain *d);

#ifdef __cplusplus
}
#endif
#endif
