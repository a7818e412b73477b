/* Queues: bounded single-producer single-consumer rings of 64-bit entries.
 *
 * Two kinds of ring, by the queue's full policy:
 *  - block and drop_newest: a plain ring. head is written by the producer,
 *    tail by the consumer, each on its own cache line; each side caches its
 *    last view of the other's index so a steady stream touches the other
 *    side's line only when it must. One writer per index also means a side
 *    killed mid-push or mid-pop leaves an index that says what it did.
 *  - drop_oldest: both ends take entries (the producer takes the oldest when
 *    the ring is full), so each cell holds its position and value together,
 *    changed only by 16-byte compare-and-swap: the consumer claims a value by
 *    swapping in MQS_CELL_TAKEN, the producer replaces the oldest value by
 *    swapping in the new one, and whoever swapped owns what was there. The
 *    consumer retires its claim (MQS_CELL_RETIRED) only after its journal says
 *    the buffer is its own, and the producer reuses only retired cells, so a
 *    claim survives its claimer's crash for reclaim to read. tail is the
 *    consumer's read position.
 * docs/memory-model.md gives every field's writer and ordering. */
#include <errno.h>

#include "journal.h"

/* A drop_oldest producer waits this long (pause loops) for a consumer that
 * is in the middle of taking the oldest entry before it drops the new one. */
#define CELL_SPINS 4096u

static inline bool has_cells(const mqs_queue_shared *q) { return q->policy == MQS_POLICY_DROP_OLDEST; }

static inline mqs_ring_cell *cell_at(const mqs_domain *d, const mqs_queue_shared *q, uint64_t pos)
{
    return (mqs_ring_cell *)((uint8_t *)d->ctl + q->entries_offset) + (pos & (q->depth - 1));
}

/* ---- what either side may ask ---- */

bool mqsi_queue_has_data(const mqs_queue_shared *q)
{
    mqs_queue_shared *m = (mqs_queue_shared *)q;
    return atomic_load_explicit(&m->head, memory_order_acquire) > atomic_load_explicit(&m->tail, memory_order_relaxed);
}

bool mqsi_queue_has_space(const mqs_queue_shared *q)
{
    mqs_queue_shared *m = (mqs_queue_shared *)q;
    return atomic_load_explicit(&m->head, memory_order_relaxed) - atomic_load_explicit(&m->tail, memory_order_acquire) <
           q->depth;
}

bool mqsi_queue_readable(const mqs_queue_shared *q)
{
    return mqsi_queue_has_data(q) || atomic_load_explicit(&((mqs_queue_shared *)q)->closed, memory_order_acquire);
}

/* Empty, and no more will come? Read closed before re-checking emptiness:
 * the producer's last push happens before its release of closed. */
bool mqsi_queue_ended(const mqs_queue_shared *q)
{
    mqs_queue_shared *m = (mqs_queue_shared *)q;
    return atomic_load_explicit(&m->closed, memory_order_acquire) && !mqsi_queue_has_data(q);
}

int mqsi_queue_check_consumer(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return -ERANGE;
    return d->queues[queue].consumer == d->process ? 0 : -EPERM;
}

int mqsi_queue_check_producer(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return -ERANGE;
    return d->queues[queue].producer == d->process ? 0 : -EPERM;
}

/* ---- publishing (both kinds) ---- */

/* Raise a single-writer high-water mark to `length` (at most depth). */
static inline void raise_high(_Atomic uint64_t *mark, uint64_t length, uint32_t depth)
{
    if (length > depth)
        length = depth;
    if (length > atomic_load_explicit(mark, memory_order_relaxed))
        atomic_store_explicit(mark, length, memory_order_relaxed);
}

/* ---- plain rings (block, drop_newest) ---- */

/* Put as many of values[0..n) as fit behind one move of head: how many. */
static uint32_t plain_push_some(mqs_domain *d, mqs_queue_shared *q, const uint64_t *values, uint32_t n)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    bool looked = head - q->cached_tail + n > q->depth;
    if (looked)
        /* acquire: the consumer is done reading the entries we will overwrite. */
        q->cached_tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint64_t room = q->depth - (head - q->cached_tail);
    uint32_t k = n < room ? n : (uint32_t)room;
    /* The length is known exactly only when we looked: the high-water mark
     * is raised then (and by the consumer when it looks at head), so a
     * steady stream never reads the consumer's line for it. */
    if (looked)
        raise_high(&q->high_water, head + k - q->cached_tail, q->depth);
    if (k == 0)
        return 0;
    _Atomic uint64_t *entries = mqsi_entries(d, q);
    for (uint32_t i = 0; i < k; i++)
        atomic_store_explicit(&entries[(head + i) & (q->depth - 1)], values[i], memory_order_relaxed);
    mqsi_count(&q->pushed, k);
    /* release (at least): the entries (and the buffers they name) are visible before head moves. */
    mqsi_publish_index(d, &q->head, head + k, &q->consumer_sleeping, q->consumer);
    return k;
}

static int plain_try_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value)
{
    return plain_push_some(d, q, &value, 1) == 1 ? 0 : -EAGAIN;
}

/* Entries waiting from tail on, as far as the cached head tells (looking
 * at the real head only when the cache says there are fewer than `want`). */
static uint64_t plain_available(mqs_queue_shared *q, uint64_t tail, uint32_t want)
{
    if (tail + want > q->cached_head) {
        /* acquire: pairs with the producer's release of head. */
        q->cached_head = atomic_load_explicit(&q->head, memory_order_acquire);
        if (q->cached_head > tail)
            raise_high(&q->high_seen, q->cached_head - tail, q->depth);
    }
    return q->cached_head > tail ? q->cached_head - tail : 0;
}

/* The entry at tail, if any: 0 and its position, or -EAGAIN. */
static int plain_peek(mqs_queue_shared *q, const mqs_domain *d, uint64_t *pos, uint64_t *value)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (plain_available(q, tail, 1) == 0)
        return -EAGAIN;
    *value = atomic_load_explicit(&mqsi_entries(d, q)[tail & (q->depth - 1)], memory_order_relaxed);
    *pos = tail;
    return 0;
}

/* The consumer is done with the entries before `end`: one move of tail. */
static void plain_commit_to(mqs_domain *d, mqs_queue_shared *q, uint64_t end, uint32_t n)
{
    mqsi_count(&q->popped, n);
    /* release (at least): we finished reading the entries before the producer reuses them.
     * Only a `block` queue's producer ever sleeps on it. */
    if (q->policy == MQS_POLICY_BLOCK)
        mqsi_publish_index(d, &q->tail, end, &q->producer_sleeping, q->producer);
    else
        atomic_store_explicit(&q->tail, end, memory_order_release);
}

static void plain_commit(mqs_domain *d, mqs_queue_shared *q, uint64_t pos)
{
    plain_commit_to(d, q, pos + 1, 1);
}

/* Take up to n raw values behind one move of tail: how many. */
static uint32_t plain_pop_some(mqs_domain *d, mqs_queue_shared *q, uint64_t *out, uint32_t n)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t avail = plain_available(q, tail, n);
    uint32_t k = n < avail ? n : (uint32_t)avail;
    if (k == 0)
        return 0;
    _Atomic uint64_t *entries = mqsi_entries(d, q);
    for (uint32_t i = 0; i < k; i++)
        out[i] = atomic_load_explicit(&entries[(tail + i) & (q->depth - 1)], memory_order_relaxed);
    plain_commit_to(d, q, tail + k, k);
    return k;
}

/* ---- cell rings (drop_oldest) ---- */

/* Put value at head, replacing the oldest entry if the ring is full (its
 * value goes to *stolen, 0 if none). 0, or MQSI_DROPPED when the consumer is
 * taking that oldest entry for longer than we wait: then value is dropped. */
static int cell_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value, bool refs, uint64_t *stolen)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    mqs_ring_cell *c = cell_at(d, q, head);
    *stolen = 0;
    for (uint32_t spins = 0;; spins++) {
        mqsi_pair seen = mqsi_pair_of(atomic_load_explicit(&c->seq, memory_order_acquire),
                                      atomic_load_explicit(&c->value, memory_order_acquire));
        uint64_t old = mqsi_pair_second(seen);
        if (old == MQS_CELL_TAKEN) {
            if (spins == CELL_SPINS)
                return MQSI_DROPPED;
            mqsi_cpu_relax();
            continue;
        }
        bool steal = old != MQS_CELL_RETIRED;
        if (steal && refs)
            mqsi_journal_stolen(d, old);
        if (mqsi_cas16(c, &seen, mqsi_pair_of(head, value))) {
            *stolen = steal ? old : 0;
            break;
        }
        if (steal && refs)
            mqsi_journal_stolen(d, 0);
    }
    if (*stolen)
        mqsi_count(&q->dropped, 1);
    /* No cached tail here: a cell ring's producer reads tail for the mark. */
    raise_high(&q->high_water, head + 1 - atomic_load_explicit(&q->tail, memory_order_relaxed), q->depth);
    atomic_store_explicit(&q->head, head + 1, memory_order_release);
    mqsi_count(&q->pushed, 1);
    if (d->ctl->wait_mode != MQS_WAIT_SPIN)
        mqsi_wake_if_sleeping(d, &q->consumer_sleeping, q->consumer);
    return 0;
}

/* The entry at the read position, claimed: 0 and the value; -EAGAIN when
 * there is none. When `refs`, the value becomes a held reference under a
 * RECEIVE journal; when `corrupt` says so, the value is not taken at all. */
typedef bool (*entry_check)(const mqs_domain *d, uint64_t value);

static int cell_take(mqs_domain *d, uint32_t queue, uint64_t *out, bool refs, entry_check usable)
{
    mqs_queue_shared *q = &d->queues[queue];
    uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
    for (;;) {
        if (pos >= atomic_load_explicit(&q->head, memory_order_acquire))
            return -EAGAIN;
        mqs_ring_cell *c = cell_at(d, q, pos);
        mqsi_pair seen = mqsi_pair_of(atomic_load_explicit(&c->seq, memory_order_acquire),
                                      atomic_load_explicit(&c->value, memory_order_acquire));
        uint64_t value = mqsi_pair_second(seen);
        /* Replaced by a newer entry (the producer took this one), or retired by reclaim: skip. */
        if (mqsi_pair_first(seen) != pos || MQS_CELL_IS_MARKER(value)) {
            atomic_store_explicit(&q->tail, ++pos, memory_order_release);
            continue;
        }
        bool keep = !usable || usable(d, value);
        if (keep && refs) {
            mqsi_journal_begin(d, MQS_OP_RECEIVE, value, mqsi_held_count_of(d, value));
            mqsi_journal_queue(d, queue, pos);
            if (mqsi_held_add(d, value) != 0) {
                mqsi_journal_end(d);
                return -ENOSPC;
            }
        }
        if (!mqsi_cas16(c, &seen, mqsi_pair_of(pos, keep ? MQS_CELL_TAKEN : MQS_CELL_RETIRED))) {
            if (keep && refs) { /* the producer took it first */
                mqsi_held_remove(d, value);
                mqsi_journal_end(d);
            }
            continue;
        }
        atomic_store_explicit(&q->tail, pos + 1, memory_order_release);
        mqsi_count(&q->popped, 1);
        if (!keep) {
            mqsi_count_rejected(d, value);
            continue;
        }
        if (refs)
            mqsi_journal_stage(d, MQS_STAGE_RECEIVED);
        atomic_store_explicit(&c->value, MQS_CELL_RETIRED, memory_order_release); /* now the producer may reuse it */
        if (refs)
            mqsi_journal_end(d);
        *out = value;
        return 0;
    }
}

/* ---- pushing with the full policy ---- */

/* Room, or no one to make room: a consumer gone (a tap that left) ends the wait. */
static bool has_space_fn(const mqs_domain *d, const void *arg)
{
    (void)d;
    const mqs_queue_shared *q = arg;
    return mqsi_queue_has_space(q) || atomic_load_explicit(&((mqs_queue_shared *)q)->consumer_gone, memory_order_acquire);
}

/* Producer side of a full `block` queue: wait for room until the deadline. */
static int wait_space(mqs_domain *d, mqs_queue_shared *q, mqsi_deadline *deadline)
{
    _Atomic uint32_t *flag = &q->producer_sleeping;
    return mqsi_wait(d, MQS_WAIT_FOR_OUTPUT, has_space_fn, q, &flag, 1, deadline);
}

int mqsi_queue_push(mqs_domain *d, mqs_queue_shared *q, uint64_t value, mqsi_deadline *deadline, bool refs,
                    uint64_t *stolen)
{
    *stolen = 0;
    /* Nobody will ever take it: drop it now, not once the ring has filled,
     * or a producer whose pool is no deeper than the ring would wait for a
     * free slot forever. A push that raced with the flag being set leaves
     * one entry, which the launcher's next sweep of the queue releases. */
    if (atomic_load_explicit(&q->consumer_gone, memory_order_acquire)) {
        mqsi_count(&q->dropped, 1);
        return MQSI_DROPPED;
    }
    if (has_cells(q)) {
        int rc = cell_push(d, q, value, refs, stolen);
        if (rc == MQSI_DROPPED)
            mqsi_count(&q->dropped, 1);
        return rc;
    }
    for (;;) {
        if (plain_try_push(d, q, value) == 0)
            return 0;
        /* drop_newest, or the consumer went while we waited: drop rather than wait. */
        if (q->policy == MQS_POLICY_DROP_NEWEST || atomic_load_explicit(&q->consumer_gone, memory_order_acquire)) {
            mqsi_count(&q->dropped, 1);
            return MQSI_DROPPED;
        }
        if (deadline->timeout_ns == 0)
            return -EAGAIN;
        int rc = wait_space(d, q, deadline);
        if (rc)
            return rc;
    }
}

int mqs_queue_push(mqs_domain *d, uint32_t queue, uint64_t value, int64_t timeout_ns)
{
    int rc = mqsi_queue_check_producer(d, queue);
    if (rc)
        return rc;
    if (has_cells(&d->queues[queue]) && MQS_CELL_IS_MARKER(value))
        return -EINVAL; /* a drop_oldest ring's own markers */
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    uint64_t stolen;
    rc = mqsi_queue_push(d, &d->queues[queue], value, &deadline, false, &stolen);
    return rc == MQSI_DROPPED ? 0 : rc;
}

/* ---- taking, with or without references ---- */

/* Does a queue entry name a live buffer? Not counted here: a corrupt entry
 * is counted once, by the taker that discards it. */
static bool live_entry(const mqs_domain *d, uint64_t id)
{
    uint32_t pool = mqs_buffer_id_pool(id), slot = mqs_buffer_id_slot(id);
    if (pool >= d->ctl->pool_count || slot >= d->pools[pool].slot_count)
        return false;
    const mqs_slot_shared *rec = (const mqs_slot_shared *)((uint8_t *)d->ctl + d->pools[pool].slots_offset) + slot;
    uint64_t st = atomic_load_explicit(&((mqs_slot_shared *)rec)->state, memory_order_relaxed);
    return MQS_STATE_GEN(st) == mqs_buffer_id_generation(id) && MQS_STATE_RC(st) != 0;
}

/* Take the entry at the tail of a plain ring as a held reference (or a raw
 * value): 0, -EAGAIN (empty), -ENOSPC. A corrupt entry is counted and skipped. */
static int plain_take(mqs_domain *d, uint32_t queue, uint64_t *out, bool refs)
{
    mqs_queue_shared *q = &d->queues[queue];
    uint64_t pos, value;
    for (;;) {
        if (plain_peek(q, d, &pos, &value) != 0)
            return -EAGAIN;
        if (!refs || live_entry(d, value))
            break;
        plain_commit(d, q, pos);
        mqsi_count_rejected(d, value);
    }
    if (refs) {
        mqsi_journal_begin(d, MQS_OP_RECEIVE, value, mqsi_held_count_of(d, value));
        mqsi_journal_queue(d, queue, pos);
        if (mqsi_held_add(d, value) != 0) {
            mqsi_journal_end(d);
            return -ENOSPC;
        }
    }
    plain_commit(d, q, pos); /* the tail moving is what makes it ours */
    if (refs)
        mqsi_journal_end(d);
    *out = value;
    return 0;
}

static bool readable_fn(const mqs_domain *d, const void *arg)
{
    (void)d;
    return mqsi_queue_readable(arg);
}

int mqsi_queue_wait_readable(mqs_domain *d, mqs_queue_shared *q, mqsi_deadline *deadline)
{
    _Atomic uint32_t *flag = &q->consumer_sleeping;
    return mqsi_wait(d, MQS_WAIT_FOR_INPUT, readable_fn, q, &flag, 1, deadline);
}

int mqsi_queue_take(mqs_domain *d, uint32_t queue, uint64_t *out, int64_t timeout_ns, bool refs)
{
    int rc = mqsi_queue_check_consumer(d, queue);
    if (rc)
        return rc;
    mqs_queue_shared *q = &d->queues[queue];
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    for (;;) {
        rc = has_cells(q) ? cell_take(d, queue, out, refs, refs ? live_entry : NULL) : plain_take(d, queue, out, refs);
        if (rc == 0)
            mqsi_input_arrived(d);
        if (rc != -EAGAIN)
            return rc;
        if (mqsi_queue_has_data(q))
            continue;
        if (mqsi_queue_ended(q))
            return -EPIPE;
        if (timeout_ns == 0)
            return -EAGAIN;
        rc = mqsi_queue_wait_readable(d, q, &deadline);
        if (rc)
            return rc;
    }
}

int mqs_queue_pop(mqs_domain *d, uint32_t queue, uint64_t *out, int64_t timeout_ns)
{
    return mqsi_queue_take(d, queue, out, timeout_ns, false);
}

/* ---- raw values, many at once ---- */

int mqs_queue_push_many(mqs_domain *d, uint32_t queue, const uint64_t *values, uint32_t n, int64_t timeout_ns)
{
    int rc = mqsi_queue_check_producer(d, queue);
    if (rc)
        return rc;
    mqs_queue_shared *q = &d->queues[queue];
    if (q->policy != MQS_POLICY_BLOCK || atomic_load_explicit(&q->consumer_gone, memory_order_acquire)) {
        /* Each value meets the drop policy on its own. */
        for (uint32_t i = 0; i < n; i++)
            if ((rc = mqs_queue_push(d, queue, values[i], timeout_ns)) != 0)
                return i ? (int)i : rc;
        return (int)n;
    }
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    uint32_t done = 0;
    while (done < n) {
        uint32_t k = plain_push_some(d, q, values + done, n - done);
        done += k;
        if (k || done == n)
            continue;
        if (atomic_load_explicit(&q->consumer_gone, memory_order_acquire)) {
            mqsi_count(&q->dropped, n - done); /* as mqs_queue_push would: dropped, not failed */
            return (int)n;
        }
        if (timeout_ns == 0)
            break;
        if ((rc = wait_space(d, q, &deadline)) != 0)
            return done ? (int)done : rc;
    }
    return done || n == 0 ? (int)done : -EAGAIN;
}

int mqs_queue_pop_many(mqs_domain *d, uint32_t queue, uint64_t *out, uint32_t max, int64_t timeout_ns)
{
    int rc = mqsi_queue_check_consumer(d, queue);
    if (rc)
        return rc;
    mqs_queue_shared *q = &d->queues[queue];
    if (max == 0)
        return 0;
    if (has_cells(q)) { /* drop_oldest: one claim per entry */
        rc = mqs_queue_pop(d, queue, out, timeout_ns);
        return rc ? rc : 1;
    }
    mqsi_deadline deadline = mqsi_deadline_in(timeout_ns);
    for (;;) {
        uint32_t k = plain_pop_some(d, q, out, max);
        if (k) {
            mqsi_input_arrived(d);
            return (int)k;
        }
        if (mqsi_queue_ended(q))
            return -EPIPE;
        if (timeout_ns == 0)
            return -EAGAIN;
        if ((rc = mqsi_queue_wait_readable(d, q, &deadline)) != 0)
            return rc;
    }
}

/* ---- state for tools ---- */

int mqs_queue_is_closed(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return 0;
    return (int)atomic_load_explicit(&d->queues[queue].closed, memory_order_acquire);
}

uint32_t mqs_queue_length(const mqs_domain *d, uint32_t queue)
{
    if (queue >= d->ctl->queue_count)
        return 0;
    mqs_queue_shared *q = &d->queues[queue];
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    uint64_t n = head >= tail ? head - tail : 0;
    /* A drop_oldest ring's reader has not yet skipped what the producer replaced. */
    return (uint32_t)(n > q->depth ? q->depth : n);
}

const char *mqs_queue_policy_name(mqs_queue_policy policy)
{
    static const char *const names[] = {"block", "drop_oldest", "drop_newest"};
    return (unsigned)policy < sizeof names / sizeof names[0] ? names[policy] : "?";
}

int mqs_queue_stats_get(const mqs_domain *d, uint32_t queue, mqs_queue_stats *out)
{
    if (queue >= d->ctl->queue_count || !out)
        return -ERANGE;
    mqs_queue_shared *q = &d->queues[queue];
    *out = (mqs_queue_stats){
        .depth = q->depth,
        .length = mqs_queue_length(d, queue),
        .pushed = atomic_load_explicit(&q->pushed, memory_order_relaxed),
        .popped = atomic_load_explicit(&q->popped, memory_order_relaxed),
        .dropped = atomic_load_explicit(&q->dropped, memory_order_relaxed),
        .drained = atomic_load_explicit(&q->drained, memory_order_relaxed),
        .policy = (mqs_queue_policy)q->policy,
    };
    /* Each side raises its own mark when it looks at the other's index;
     * the length right now may be above both. */
    uint64_t high = atomic_load_explicit(&q->high_water, memory_order_relaxed);
    uint64_t seen = atomic_load_explicit(&q->high_seen, memory_order_relaxed);
    out->high_water = high > seen ? high : seen;
    if (out->high_water < out->length)
        out->high_water = out->length;
    return 0;
}

/* ---- emptying the queue of a consumer that is gone ---- */

/* Both return the references released; q->drained counts the entries (the
 * launcher, the one writer of a gone consumer's line). */
static uint32_t drain_plain(mqs_domain *d, mqs_queue_shared *q)
{
    uint32_t released = 0;
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    for (; tail < head; tail++) {
        uint64_t value = atomic_load_explicit(&mqsi_entries(d, q)[tail & (q->depth - 1)], memory_order_relaxed);
        atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
        q->cached_head = tail + 1;
        mqsi_count(&q->drained, 1);
        released += mqsi_slot_change(d, value, -1) == 0;
    }
    return released;
}

/* The consumer's claim, if it left one, was settled by reclaim before. */
static uint32_t drain_cells(mqs_domain *d, mqs_queue_shared *q)
{
    uint32_t released = 0;
    uint64_t pos = atomic_load_explicit(&q->tail, memory_order_acquire);
    for (; pos < atomic_load_explicit(&q->head, memory_order_acquire); pos++) {
        mqs_ring_cell *c = cell_at(d, q, pos);
        mqsi_pair seen = mqsi_pair_of(atomic_load_explicit(&c->seq, memory_order_acquire),
                                      atomic_load_explicit(&c->value, memory_order_acquire));
        uint64_t value = mqsi_pair_second(seen);
        /* CAS: the producer may be replacing the same entry right now. */
        if (mqsi_pair_first(seen) == pos && !MQS_CELL_IS_MARKER(value) &&
            mqsi_cas16(c, &seen, mqsi_pair_of(pos, MQS_CELL_RETIRED))) {
            mqsi_count(&q->drained, 1);
            released += mqsi_slot_change(d, value, -1) == 0;
        }
        atomic_store_explicit(&q->tail, pos + 1, memory_order_release);
    }
    return released;
}

uint32_t mqsi_queue_drain(mqs_domain *d, mqs_queue_shared *q)
{
    uint32_t released = has_cells(q) ? drain_cells(d, q) : drain_plain(d, q);
    if (q->policy == MQS_POLICY_BLOCK)
        mqsi_wake_if_sleeping(d, &q->producer_sleeping, q->producer);
    return released;
}

void mqsi_queue_settle_claim(mqs_domain *d, uint32_t queue, uint64_t pos)
{
    mqs_queue_shared *q = &d->queues[queue];
    if (!has_cells(q))
        return;
    mqs_ring_cell *c = cell_at(d, q, pos);
    if (atomic_load_explicit(&c->seq, memory_order_acquire) == pos &&
        atomic_load_explicit(&c->value, memory_order_acquire) == MQS_CELL_TAKEN)
        atomic_store_explicit(&c->value, MQS_CELL_RETIRED, memory_order_release);
}

bool mqsi_queue_took(const mqs_domain *d, uint32_t queue, uint64_t pos, bool received)
{
    mqs_queue_shared *q = &d->queues[queue];
    if (!has_cells(q))
        return atomic_load_explicit(&q->tail, memory_order_acquire) > pos;
    if (received)
        return true;
    mqs_ring_cell *c = cell_at(d, q, pos);
    return atomic_load_explicit(&c->seq, memory_order_acquire) == pos &&
           atomic_load_explicit(&c->value, memory_order_acquire) == MQS_CELL_TAKEN;
}

bool mqsi_queue_finish_push(mqs_domain *d, uint32_t queue, uint64_t pos)
{
    mqs_queue_shared *q = &d->queues[queue];
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (!has_cells(q) || head > pos)
        return head > pos; /* a plain ring's entry counts once head moved past it */
    /* Before the swap the cell held position pos - depth (or nothing); after it, pos. */
    if (atomic_load_explicit(&cell_at(d, q, pos)->seq, memory_order_acquire) != pos)
        return false;
    /* Swapped in but not yet published: publish it, as its dead producer would have. */
    atomic_store_explicit(&q->head, pos + 1, memory_order_release);
    mqsi_count(&q->pushed, 1);
    mqsi_wake_if_sleeping(d, &q->consumer_sleeping, q->consumer);
    return true;
}

/* A tap's queue made new for its next user: empty, open, `depth` deep with
 * `policy`. Only while no producer can reach it (core/tap.c). */
void mqsi_queue_reset(mqs_domain *d, mqs_queue_shared *q, uint32_t depth, mqs_queue_policy policy)
{
    q->depth = depth;
    q->policy = (uint32_t)policy;
    atomic_store_explicit(&q->head, 0, memory_order_relaxed);
    atomic_store_explicit(&q->tail, 0, memory_order_relaxed);
    q->cached_tail = q->cached_head = 0;
    atomic_store_explicit(&q->pushed, 0, memory_order_relaxed);
    atomic_store_explicit(&q->popped, 0, memory_order_relaxed);
    atomic_store_explicit(&q->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&q->drained, 0, memory_order_relaxed);
    atomic_store_explicit(&q->high_water, 0, memory_order_relaxed);
    atomic_store_explicit(&q->high_seen, 0, memory_order_relaxed);
    atomic_store_explicit(&q->producer_sleeping, 0, memory_order_relaxed);
    atomic_store_explicit(&q->consumer_sleeping, 0, memory_order_relaxed);
    atomic_store_explicit(&q->closed, 0, memory_order_relaxed);
    if (has_cells(q))
        for (uint32_t k = 0; k < depth; k++) {
            mqs_ring_cell *c = cell_at(d, q, k);
            atomic_store_explicit(&c->seq, UINT64_MAX, memory_order_relaxed);
            atomic_store_explicit(&c->value, MQS_CELL_RETIRED, memory_order_relaxed);
        }
    atomic_store_explicit(&q->consumer_gone, 0, memory_order_release);
}
