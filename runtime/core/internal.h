/* libmqs internals shared between the runtime's source files (not installed).
 * Internal functions are named mqsi_* and are hidden from the shared library. */
#ifndef MQS_INTERNAL_H
#define MQS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layout.h"
#include "mqs/mqs.h"
#include "mqs/tap.h"

#define MQS_DOMAIN_NAME_MAX 160
/* Payload slots start one page into their segment, after its header. */
#define MQSI_PAYLOAD_OFFSET 4096u

/* One process's view of a domain: process-local pointers into its mappings. */
struct mqs_domain {
    char name[MQS_DOMAIN_NAME_MAX];
    mqs_control *ctl;
    size_t ctl_size;
    uint8_t **payload;          /* per pool: base of the payload mapping */
    size_t *payload_size;
    mqs_process_shared *procs;
    mqs_pool_shared *pools;
    mqs_output_shared *outputs;
    uint32_t *output_queues;
    mqs_queue_shared *queues;
    mqs_align_shared *aligns;   /* per process slot */
    mqs_input_shared *inputs;   /* per queue */
    mqs_process_counters *counters; /* per process slot */
    mqs_command_shared *commands;   /* per process slot (an observer's own writable mapping) */
    void *commands_map;         /* an observer's mapping of the commands, else NULL */
    size_t commands_map_size;
    mqs_process_shared *self;   /* NULL for an observer */
    mqs_process_counters *own;  /* this process's counters; NULL for an observer */
    mqs_held_entry *held;       /* this process's held-reference table */
    const uint8_t *holder_bits; /* [pool][process]: each process's bit in the pool's holders words */
    uint32_t held_mask;
    uint32_t process;
    uint32_t spin_limit;        /* adaptive spin budget for hybrid waits */
    bool crowded;               /* more processes in the domain than CPUs to run them: hybrid yields, not spins */
    int64_t tap_pidless_since[MQS_MAX_TAPS]; /* launcher: when a tap slot was first seen taken without a pid */
    bool creator;
};

/* An observer (mqs_domain_observe) maps the control segment read-only and
 * has no process slot: every call that would write refuses it. */
static inline bool mqsi_is_observer(const mqs_domain *d)
{
    return d->self == NULL;
}

/* ---- error.c ---- */
/* Record a detailed message for mqs_last_error() and return err. */
int mqsi_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mqsi_clear_error(void);

/* ---- counters.c: single-writer counters ---- */
/* Add n to a counter only this process writes: a plain load and store, no
 * locked instruction; readers load it relaxed and never see it torn. */
static inline void mqsi_count(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n, memory_order_relaxed);
}
/* Record one value (single writer). */
void mqsi_histogram_add(mqs_histogram_shared *h, uint64_t value);
/* The bucket of a value, and a value in the middle of a bucket. */
uint32_t mqsi_histogram_bucket(uint64_t value);

/* ---- shm.c: named segments ---- */
int mqsi_shm_create(const char *name, size_t size, void **out);
int mqsi_shm_map(const char *name, bool writable, void **out, size_t *size_out);
void mqsi_shm_unmap(void *addr, size_t size);
void mqsi_segment_header_init(mqs_segment_header *h, uint32_t kind, uint64_t size);
int mqsi_segment_header_check(const char *name, const mqs_segment_header *h, uint32_t kind, size_t mapped);
/* A mapped control segment's counts and offsets stay inside its `size`. */
int mqsi_control_bounds_check(const char *name, const mqs_control *c, size_t size);

/* ---- held.c: this process's held-reference table ---- */
uint32_t mqsi_held_count_of(const mqs_domain *d, mqs_buffer_id id);
int mqsi_held_add(mqs_domain *d, mqs_buffer_id id);
int mqsi_held_remove(mqs_domain *d, mqs_buffer_id id);
uint32_t mqsi_held_find(const mqs_held_entry *table, uint32_t mask, mqs_buffer_id id);

/* ---- 16-byte compare-and-swap ---- */
#if !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_16)
#error "multiqueue-shm needs a lock-free 16-byte compare-and-swap (x86-64: build with -mcx16)"
#endif
typedef unsigned __int128 mqsi_pair; /* two 64-bit words, the first at the lower address */

static inline mqsi_pair mqsi_pair_of(uint64_t first, uint64_t second)
{
    return ((mqsi_pair)second << 64) | first;
}
static inline uint64_t mqsi_pair_first(mqsi_pair p) { return (uint64_t)p; }
static inline uint64_t mqsi_pair_second(mqsi_pair p) { return (uint64_t)(p >> 64); }

/* Swap the 16 bytes at `where` (16-aligned) from *expected to desired; on
 * failure *expected gets what is there. A full barrier either way. */
static inline bool mqsi_cas16(void *where, mqsi_pair *expected, mqsi_pair desired)
{
    mqsi_pair seen = __sync_val_compare_and_swap((mqsi_pair *)where, *expected, desired);
    if (seen == *expected)
        return true;
    *expected = seen;
    return false;
}

/* ---- pool.c / buffer.c: slot state ---- */
/* The slot record of an ID whose pool and slot are in range, else NULL
 * (and the ID is counted as rejected). */
mqs_slot_shared *mqsi_slot_of(const mqs_domain *d, mqs_buffer_id id);
/* Change the count of a live buffer by delta (> 0: from a reference the
 * caller holds; < 0: may free it), noted in the caller's journal first with
 * the value its holder bit will have (core/journal.h). 0, -EINVAL (no such
 * slot), -ESTALE (generation moved on; counted), -EOVERFLOW. */
int mqsi_slot_change(mqs_domain *d, mqs_buffer_id id, int32_t delta);
/* Claim the free slot rec as buffer id (count 0 -> 1), noted likewise.
 * 0, or -EAGAIN when the slot is not free at id's generation. */
int mqsi_slot_claim(mqs_domain *d, mqs_slot_shared *rec, mqs_buffer_id id);
/* Whether the count change noted in process p's journal was made: 1, 0, or
 * -1 when it cannot be told (p has no holder bit in that pool). */
int mqsi_change_made(const mqs_domain *d, uint32_t process);
void mqsi_count_rejected(const mqs_domain *d, mqs_buffer_id id);

/* ---- counters.c: the process's own counters ---- */
/* A wait for input ended with input at hand: the block is fed again. */
static inline void mqsi_input_arrived(mqs_domain *d)
{
    if (atomic_load_explicit(&d->own->input_wait_since_ns, memory_order_relaxed))
        atomic_store_explicit(&d->own->input_wait_since_ns, 0, memory_order_relaxed);
}

/* ---- wait.c: waiting ---- */
/* Wake process slot p if it announced sleep via *sleeping. */
void mqsi_wake_if_sleeping(mqs_domain *d, _Atomic uint32_t *sleeping, uint32_t process);
/* Wake it now: it announced sleep (the flag was seen set). */
void mqsi_wake_sleeper(mqs_domain *d, _Atomic uint32_t *sleeping, uint32_t process);

/* A ring side moves its index to `value` and wakes the other side if it
 * sleeps. Outside spin mode the store is seq_cst and so is the flag's load
 * (the waiter's side: flag set, fence, index read), so either the waiter sees
 * the new index or we see its flag. On x86 that is one locked exchange and a
 * plain load: cheaper than a release store and a separate fence. */
static inline void mqsi_publish_index(mqs_domain *d, _Atomic uint64_t *index, uint64_t value,
                                      _Atomic uint32_t *sleeping, uint32_t process)
{
    if (d->ctl->wait_mode == MQS_WAIT_SPIN) {
        atomic_store_explicit(index, value, memory_order_release);
        return;
    }
    atomic_store_explicit(index, value, memory_order_seq_cst);
    if (atomic_load_explicit(sleeping, memory_order_seq_cst))
        mqsi_wake_sleeper(d, sleeping, process);
}
typedef bool (*mqsi_ready_fn)(const mqs_domain *d, const void *arg);

/* A timeout whose deadline is computed on first need: a wait that ends while
 * spinning never reads the clock. */
typedef struct mqsi_deadline {
    int64_t timeout_ns; /* MQS_FOREVER, 0 (do not wait) or ns */
    int64_t at;         /* 0 until computed */
} mqsi_deadline;

static inline mqsi_deadline mqsi_deadline_in(int64_t timeout_ns)
{
    return (mqsi_deadline){timeout_ns, 0};
}
int64_t mqsi_deadline_at(mqsi_deadline *dl);

/* Wait until ready(arg), per the domain's wait mode. `announce` flags are set
 * to 1 before sleeping and cleared after. The time is counted as a wait of
 * `kind` (two clock reads: a wait is never the fast path). 0, -ETIMEDOUT or
 * -ECANCELED. */
int mqsi_wait(mqs_domain *d, mqs_wait_kind kind, mqsi_ready_fn ready, const void *arg,
              _Atomic uint32_t *const *announce, uint32_t announce_count, mqsi_deadline *deadline);
/* Sleep at once (whatever the wait mode) until ready(arg): for rare waits. */
int mqsi_sleep_until_ready(mqs_domain *d, mqsi_ready_fn ready, const void *arg, mqsi_deadline *deadline);
/* Wake every process of the domain to look again (stop, start). */
void mqsi_ring_every_doorbell(mqs_domain *d);

/* ---- queue.c: rings ---- */
bool mqsi_queue_has_data(const mqs_queue_shared *q);
bool mqsi_queue_has_space(const mqs_queue_shared *q);
/* Has data or is closed: a consumer should look. */
bool mqsi_queue_readable(const mqs_queue_shared *q);
/* Closed and empty: end of stream. */
bool mqsi_queue_ended(const mqs_queue_shared *q);
int mqsi_queue_wait_readable(mqs_domain *d, mqs_queue_shared *q, mqsi_deadline *deadline);
int mqsi_queue_check_consumer(const mqs_domain *d, uint32_t queue);
int mqsi_queue_check_producer(const mqs_domain *d, uint32_t queue);

/* Push with the queue's full policy until the deadline (timeout 0: do not
 * wait). Returns 0 (queued), MQSI_DROPPED (value dropped: drop_newest, or a
 * consumer that is gone or stuck), -EAGAIN, -ETIMEDOUT or -ECANCELED. Under
 * drop_oldest a full ring's oldest entry is replaced and handed to the caller
 * in *stolen (0 if none); with `refs` the push is noted in the SEND journal. */
#define MQSI_DROPPED 1
int mqsi_queue_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value, mqsi_deadline *deadline, bool refs,
                    uint64_t *stolen);
/* Take the next entry (waiting until the deadline): with `refs` it becomes a
 * held reference under a RECEIVE journal. 0, -EAGAIN, -ETIMEDOUT, -EPIPE,
 * -ECANCELED, -ENOSPC, -ERANGE, -EPERM. */
int mqsi_queue_take(mqs_domain *d, uint32_t queue, uint64_t *out, int64_t timeout_ns, bool refs);
/* Drain every entry of a queue whose consumer is gone, dropping each as a
 * buffer reference. Returns how many were dropped. */
uint32_t mqsi_queue_drain(mqs_domain *d, mqs_queue_shared *q);
uint32_t mqsi_reclaim_references(mqs_domain *d, uint32_t process);
void mqsi_free_process_slot(mqs_domain *d, uint32_t process);
void mqsi_queue_reset(mqs_domain *d, mqs_queue_shared *q, uint32_t depth, mqs_queue_policy policy);

/* The smallest power of two >= v (1 for 0). */
static inline uint32_t mqsi_round_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

/* The ring depth a queue asked for `depth` gets: a power of two, at least 2. */
static inline uint32_t mqsi_ring_depth(uint32_t depth)
{
    return mqsi_round_pow2(depth < 2 ? 2 : depth);
}

/* For reclaim, about a process that died: did its push at `pos` land (a
 * drop_oldest value swapped in but not yet published is published now); did
 * its take at `pos` (received: its journal says so) make the entry its own;
 * and retire the claim its take left in a drop_oldest cell. */
bool mqsi_queue_finish_push(mqs_domain *d, uint32_t queue, uint64_t pos);
bool mqsi_queue_took(const mqs_domain *d, uint32_t queue, uint64_t pos, bool received);
void mqsi_queue_settle_claim(mqs_domain *d, uint32_t queue, uint64_t pos);

/* Taps: the last tap_count process slots and queues (core/tap.c). */
static inline uint32_t mqsi_first_tap_queue(const mqs_domain *d) { return d->ctl->queue_count - d->ctl->tap_count; }
static inline uint32_t mqsi_first_tap_process(const mqs_domain *d)
{
    return d->ctl->process_count - d->ctl->tap_count;
}

/* The k-th queue a send of `out` goes to: its own queues first, then the
 * taps in `taps` in bit order. The sender and reclaim agree on it. */
static inline uint32_t mqsi_send_target(const mqs_domain *d, const mqs_output_shared *out, uint32_t taps, uint32_t k)
{
    if (k < out->queue_count)
        return d->output_queues[out->queue_first + k];
    for (k -= out->queue_count; k > 0; k--)
        taps &= taps - 1;
    return mqsi_first_tap_queue(d) + (uint32_t)__builtin_ctz(taps);
}

static inline _Atomic uint64_t *mqsi_entries(const mqs_domain *d, const mqs_queue_shared *q)
{
    return (_Atomic uint64_t *)((uint8_t *)d->ctl + q->entries_offset);
}

static inline mqs_held_entry *mqsi_held_table_of(const mqs_domain *d, uint32_t process)
{
    return (mqs_held_entry *)((uint8_t *)d->ctl + d->procs[process].held_offset);
}

static inline void mqsi_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
