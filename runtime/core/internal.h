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
    mqs_process_shared *self;
    mqs_held_entry *held;       /* this process's held-reference table */
    uint32_t held_mask;
    uint32_t process;
    uint32_t spin_limit;        /* adaptive spin budget for hybrid waits */
    bool creator;
};

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
/* starttime of pid from /proc (0 if it does not exist). */
uint64_t mqsi_process_start_time(pid_t pid);
bool mqsi_process_alive(uint32_t pid, uint64_t start_time);

/* ---- held.c: this process's held-reference table ---- */
uint32_t mqsi_held_count_of(const mqs_domain *d, mqs_buffer_id id);
int mqsi_held_add(mqs_domain *d, mqs_buffer_id id);
int mqsi_held_remove(mqs_domain *d, mqs_buffer_id id);
uint32_t mqsi_held_find(const mqs_held_entry *table, uint32_t mask, mqs_buffer_id id);

/* ---- pool.c / buffer.c: slot state ---- */
/* The slot record of an ID whose pool and slot are in range, else NULL
 * (and the ID is counted as rejected). */
mqs_slot_shared *mqsi_slot_of(const mqs_domain *d, mqs_buffer_id id);
/* Add n references to a live buffer; -ESTALE if the generation moved on. */
int mqsi_slot_add_refs(const mqs_domain *d, mqs_buffer_id id, uint32_t n);
/* Drop one reference; frees the slot at zero. -ESTALE as above. */
int mqsi_slot_drop_ref(const mqs_domain *d, mqs_buffer_id id);
void mqsi_count_rejected(const mqs_domain *d, mqs_buffer_id id);

/* ---- wait.c: waiting ---- */
/* Wake process slot p if it announced sleep via *sleeping. */
void mqsi_wake_if_sleeping(mqs_domain *d, _Atomic uint32_t *sleeping, uint32_t process);
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
 * to 1 before sleeping and cleared after. 0, -ETIMEDOUT or -ECANCELED. */
int mqsi_wait(mqs_domain *d, mqsi_ready_fn ready, const void *arg, _Atomic uint32_t *const *announce,
              uint32_t announce_count, mqsi_deadline *deadline);

/* ---- queue.c: ring operations ---- */
bool mqsi_queue_has_data(const mqs_queue_shared *q);
bool mqsi_queue_has_space(const mqs_queue_shared *q);
/* Has data or is closed: a consumer should look. */
bool mqsi_queue_readable(const mqs_queue_shared *q);
/* Closed and empty: end of stream. */
bool mqsi_queue_ended(const mqs_queue_shared *q);
int mqsi_queue_wait_readable(mqs_domain *d, mqs_queue_shared *q, mqsi_deadline *deadline);
/* Drain every entry of a queue whose consumer is gone, dropping each as a
 * buffer reference. Returns how many were dropped. */
uint32_t mqsi_queue_drain(mqs_domain *d, mqs_queue_shared *q);

/* Push without waiting: 0 or -EAGAIN (full). Drop policies are the caller's. */
int mqsi_ring_try_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value);
/* Take the oldest entry from the producer side (drop_oldest): 0 and the value,
 * or -EAGAIN if the consumer emptied it first. */
int mqsi_ring_steal_oldest(mqs_domain *d, mqs_queue_shared *q, uint64_t *out);
/* Read the entry at tail (0 or -EAGAIN); mqsi_ring_commit_pop then takes it
 * (-EAGAIN if a drop_oldest producer took it first). */
int mqsi_ring_peek(const mqs_domain *d, mqs_queue_shared *q, uint64_t *pos, uint64_t *value);
int mqsi_ring_commit_pop(mqs_domain *d, mqs_queue_shared *q, uint64_t pos);
/* Push with the queue's full policy until the deadline (timeout 0: do not wait).
 * Returns 0 (queued), MQSI_DROPPED (drop_newest dropped `value`), -EAGAIN,
 * -ETIMEDOUT or -ECANCELED. Entries pushed out by drop_oldest are released as
 * buffer references when `refs`. */
#define MQSI_DROPPED 1
int mqsi_queue_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value, mqsi_deadline *deadline, bool refs);
int mqsi_queue_check_consumer(const mqs_domain *d, uint32_t queue);
int mqsi_queue_check_producer(const mqs_domain *d, uint32_t queue);

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
