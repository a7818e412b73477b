/* Domains: lay out, create, attach to, detach from and destroy the segments
 * of one run of a graph. */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PAGE 4096u
#define DEFAULT_HELD_CAPACITY 1024u
#define MAX_HELD_CAPACITY (1u << 20)
#define MAX_QUEUE_DEPTH (1u << 20)
#define MAX_PROCESSES 4096u

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static bool valid_word(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return n > 0 && n < max;
}

static void copy_name(char *dst, size_t size, const char *src, const char *fallback, uint32_t index)
{
    if (src && *src)
        snprintf(dst, size, "%s", src);
    else
        snprintf(dst, size, "%s%u", fallback, index);
}

static void payload_name(char *out, size_t size, const char *prefix, uint32_t pool)
{
    snprintf(out, size, "%s.pool%u", prefix, pool);
}

static void control_name(char *out, size_t size, const char *prefix)
{
    snprintf(out, size, "%s.ctl", prefix);
}

/* ---- configuration checks ---- */

static int check_pools(const mqs_domain_config *c)
{
    if (c->pool_count > MQS_MAX_POOLS || (c->pool_count && !c->pools))
        return mqsi_fail(-EINVAL, "domain config: %u pools given, at most %u", c->pool_count, MQS_MAX_POOLS);
    for (uint32_t i = 0; i < c->pool_count; i++) {
        const mqs_pool_config *p = &c->pools[i];
        if (p->slot_count == 0 || p->slot_count > MQS_MAX_SLOTS)
            return mqsi_fail(-EINVAL, "pool %u: slot_count %u is out of range 1..%u", i, p->slot_count,
                             MQS_MAX_SLOTS);
        if (p->slot_size == 0 || p->slot_size > (UINT64_C(1) << 40))
            return mqsi_fail(-EINVAL, "pool %u: slot_size %llu is out of range 1..1 TiB", i,
                             (unsigned long long)p->slot_size);
        if (p->owner >= c->process_count)
            return mqsi_fail(-EINVAL, "pool %u: owner %u is not a process slot (0..%u)", i, p->owner,
                             c->process_count - 1);
    }
    return 0;
}

static int check_ports(const mqs_domain_config *c)
{
    if (c->output_count && !c->outputs)
        return mqsi_fail(-EINVAL, "domain config: outputs missing");
    for (uint32_t i = 0; i < c->output_count; i++) {
        const mqs_output_config *o = &c->outputs[i];
        if (o->owner >= c->process_count || o->pool >= c->pool_count)
            return mqsi_fail(-EINVAL, "output %u: owner %u or pool %u does not exist", i, o->owner, o->pool);
    }
    if (c->queue_count && !c->queues)
        return mqsi_fail(-EINVAL, "domain config: queues missing");
    for (uint32_t i = 0; i < c->queue_count; i++) {
        const mqs_queue_config *q = &c->queues[i];
        if (q->output >= c->output_count || q->consumer >= c->process_count)
            return mqsi_fail(-EINVAL, "queue %u: output %u or consumer %u does not exist", i, q->output,
                             q->consumer);
        if (q->depth == 0 || q->depth > MAX_QUEUE_DEPTH)
            return mqsi_fail(-EINVAL, "queue %u: depth %u is out of range 1..%u", i, q->depth, MAX_QUEUE_DEPTH);
        if ((unsigned)q->policy > MQS_POLICY_DROP_NEWEST)
            return mqsi_fail(-EINVAL, "queue %u: unknown full policy %d", i, (int)q->policy);
    }
    return 0;
}

static bool is_reference_policy(mqs_sync_policy p)
{
    return p == MQS_SYNC_NEAREST || p == MQS_SYNC_LATEST || p == MQS_SYNC_INTERPOLATE;
}

static int check_sync(const mqs_domain_config *c)
{
    for (uint32_t i = 0; c->processes && i < c->process_count; i++) {
        const mqs_sync_config *s = &c->processes[i].sync;
        if (s->policy == MQS_SYNC_NONE)
            continue;
        if ((unsigned)s->policy > MQS_SYNC_INTERPOLATE)
            return mqsi_fail(-EINVAL, "process %u: unknown sync policy %d", i, (int)s->policy);
        if (s->timeout_ns <= 0 || s->tolerance_ns < 0)
            return mqsi_fail(-EINVAL, "process %u: sync timeout must be > 0 and tolerance >= 0", i);
        if (is_reference_policy(s->policy) &&
            (s->reference >= c->queue_count || c->queues[s->reference].consumer != i))
            return mqsi_fail(-EINVAL, "process %u: sync reference %u is not one of its input queues", i,
                             s->reference);
    }
    for (uint32_t q = 0; q < c->queue_count; q++)
        if (c->queues[q].period_ns < 0)
            return mqsi_fail(-EINVAL, "queue %u: period must not be negative", q);
    return 0;
}

static int check_config(const mqs_domain_config *c)
{
    if (!c)
        return mqsi_fail(-EINVAL, "domain config is NULL");
    if (!c->graph || !valid_word(c->graph, MQS_NAME_MAX))
        return mqsi_fail(-EINVAL, "graph name \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ -",
                         c->graph ? c->graph : "(null)", MQS_NAME_MAX - 1);
    if (c->run_id && !valid_word(c->run_id, MQS_RUN_ID_MAX))
        return mqsi_fail(-EINVAL, "run id \"%s\" must be 1..%d characters of A-Z a-z 0-9 _ -", c->run_id,
                         MQS_RUN_ID_MAX - 1);
    if (c->process_count == 0 || c->process_count > MAX_PROCESSES)
        return mqsi_fail(-EINVAL, "process_count %u is out of range 1..%u", c->process_count, MAX_PROCESSES);
    if (c->held_capacity > MAX_HELD_CAPACITY)
        return mqsi_fail(-EINVAL, "held_capacity %u is above %u", c->held_capacity, MAX_HELD_CAPACITY);
    if ((unsigned)c->wait_mode > MQS_WAIT_SLEEP)
        return mqsi_fail(-EINVAL, "unknown wait mode %d", (int)c->wait_mode);
    if (c->tap_count > MQS_MAX_TAPS || c->process_count + c->tap_count > MAX_PROCESSES)
        return mqsi_fail(-EINVAL, "tap_count %u is out of range 0..%u", c->tap_count, MQS_MAX_TAPS);
    int rc = check_pools(c);
    if (rc == 0)
        rc = check_ports(c);
    return rc ? rc : check_sync(c);
}

/* ---- layout ---- */

/* A drop_oldest ring has cells (position and value), others plain entries. */
static uint64_t ring_bytes(uint32_t depth, mqs_queue_policy policy)
{
    uint64_t entry = policy == MQS_POLICY_DROP_OLDEST ? sizeof(mqs_ring_cell) : sizeof(uint64_t);
    return align_up((uint64_t)depth * entry, MQS_CACHE_LINE);
}

typedef struct layout {
    uint64_t processes, pools, outputs, output_queues, queues, aligns, inputs, counters, holder_bits, slots, entries,
        held, commands, size;
    uint32_t held_capacity, held_table_size;
} layout;

static void compute_layout(const mqs_domain_config *c, layout *l)
{
    uint64_t off = sizeof(mqs_control);
    l->held_capacity = c->held_capacity ? c->held_capacity : DEFAULT_HELD_CAPACITY;
    /* Half full at most: linear probing stays short, and an empty entry always ends a probe. */
    l->held_table_size = mqsi_round_pow2(2 * l->held_capacity);
    l->processes = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->process_count * sizeof(mqs_process_shared);
    l->pools = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->pool_count * sizeof(mqs_pool_shared);
    l->outputs = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->output_count * sizeof(mqs_output_shared);
    l->output_queues = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->queue_count * sizeof(uint32_t);
    l->queues = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->queue_count * sizeof(mqs_queue_shared);
    l->aligns = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->process_count * sizeof(mqs_align_shared);
    l->inputs = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->queue_count * sizeof(mqs_input_shared);
    l->counters = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->process_count * sizeof(mqs_process_counters);
    l->holder_bits = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->pool_count * c->process_count;
    l->slots = off = align_up(off, MQS_CACHE_LINE);
    for (uint32_t i = 0; i < c->pool_count; i++)
        off += (uint64_t)c->pools[i].slot_count * sizeof(mqs_slot_shared);
    l->entries = off = align_up(off, MQS_CACHE_LINE);
    for (uint32_t i = 0; i < c->queue_count; i++)
        off += ring_bytes(mqsi_ring_depth(c->queues[i].depth), c->queues[i].policy);
    l->held = off = align_up(off, MQS_CACHE_LINE);
    off += (uint64_t)c->process_count * l->held_table_size * sizeof(mqs_held_entry);
    /* Last, on pages of their own: an observer maps just these writable. */
    l->commands = off = align_up(off, PAGE);
    off += (uint64_t)c->process_count * sizeof(mqs_command_shared);
    l->size = align_up(off, PAGE);
}

/* More processes than CPUs this one may run on? Then a waiter that spins
 * holds a CPU the process it waits for may need. Slot 0 (the launcher)
 * mostly sleeps, and tap slots are mostly empty: neither counts. */
static bool crowded(const mqs_control *ctl)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return false;
    return ctl->process_count - ctl->tap_count - 1 > (uint32_t)CPU_COUNT(&set);
}

static void bind_views(mqs_domain *d)
{
    uint8_t *base = (uint8_t *)d->ctl;
    d->procs = (mqs_process_shared *)(base + d->ctl->processes_offset);
    d->pools = (mqs_pool_shared *)(base + d->ctl->pools_offset);
    d->outputs = (mqs_output_shared *)(base + d->ctl->outputs_offset);
    d->output_queues = (uint32_t *)(base + d->ctl->output_queues_offset);
    d->queues = (mqs_queue_shared *)(base + d->ctl->queues_offset);
    d->aligns = (mqs_align_shared *)(base + d->ctl->align_offset);
    d->inputs = (mqs_input_shared *)(base + d->ctl->inputs_offset);
    d->holder_bits = base + d->ctl->holder_bits_offset;
    d->counters = (mqs_process_counters *)(base + d->ctl->counters_offset);
    d->commands = (mqs_command_shared *)(base + d->ctl->commands_offset);
    d->held_mask = d->ctl->held_table_size - 1;
    if (d->process != MQS_OBSERVER) {
        d->self = &d->procs[d->process];
        d->own = &d->counters[d->process];
        d->held = mqsi_held_table_of(d, d->process);
    }
    d->spin_limit = 256;
    d->crowded = crowded(d->ctl);
}

static void fill_control(mqs_control *ctl, const mqs_domain_config *c, const layout *l, const char *run_id)
{
    snprintf(ctl->graph, sizeof ctl->graph, "%s", c->graph);
    snprintf(ctl->run_id, sizeof ctl->run_id, "%s", run_id);
    ctl->wait_mode = (uint32_t)c->wait_mode;
    ctl->held_capacity = l->held_capacity;
    ctl->held_table_size = l->held_table_size;
    ctl->process_count = c->process_count;
    ctl->pool_count = c->pool_count;
    ctl->output_count = c->output_count;
    ctl->queue_count = c->queue_count;
    ctl->processes_offset = l->processes;
    ctl->pools_offset = l->pools;
    ctl->outputs_offset = l->outputs;
    ctl->output_queues_offset = l->output_queues;
    ctl->queues_offset = l->queues;
    ctl->align_offset = l->aligns;
    ctl->inputs_offset = l->inputs;
    ctl->holder_bits_offset = l->holder_bits;
    ctl->counters_offset = l->counters;
    ctl->commands_offset = l->commands;
    ctl->tap_count = c->tap_count;
}

static void fill_processes(mqs_domain *d, const mqs_domain_config *c, const layout *l)
{
    for (uint32_t i = 0; i < c->process_count; i++) {
        mqs_process_shared *p = &d->procs[i];
        uint32_t first_tap = c->process_count - c->tap_count;
        if (i >= first_tap)
            snprintf(p->name, sizeof p->name, "tap.%u", i - first_tap);
        else
            copy_name(p->name, sizeof p->name, c->processes ? c->processes[i].name : NULL, "process", i);
        p->held_offset = l->held + (uint64_t)i * l->held_table_size * sizeof(mqs_held_entry);
        const mqs_sync_config *sc = c->processes ? &c->processes[i].sync : NULL;
        mqs_align_shared *a = &d->aligns[i];
        a->policy = sc ? (uint32_t)sc->policy : MQS_SYNC_NONE;
        a->reference = sc && is_reference_policy(sc->policy) ? sc->reference : UINT32_MAX;
        a->tolerance_ns = sc ? sc->tolerance_ns : 0;
        a->timeout_ns = sc ? sc->timeout_ns : 0;
        a->partial = sc && sc->partial;
        atomic_init(&d->counters[i].exit_code, -1);
    }
}

static void fill_pools(mqs_domain *d, const mqs_domain_config *c, const layout *l)
{
    uint64_t slots = l->slots;
    for (uint32_t i = 0; i < c->pool_count; i++) {
        const mqs_pool_config *pc = &c->pools[i];
        mqs_pool_shared *p = &d->pools[i];
        copy_name(p->name, sizeof p->name, pc->name, "pool", i);
        p->slot_size = align_up(pc->slot_size, MQS_CACHE_LINE);
        p->slot_count = pc->slot_count;
        p->owner = pc->owner;
        p->flags = pc->flags;
        p->payload_size = align_up(MQSI_PAYLOAD_OFFSET + p->slot_size * pc->slot_count, PAGE);
        p->slots_offset = slots;
        mqs_slot_shared *rec = (mqs_slot_shared *)((uint8_t *)d->ctl + slots);
        for (uint32_t s = 0; s < pc->slot_count; s++)
            atomic_init(&rec[s].state, MQS_STATE(1, 0));
        slots += (uint64_t)pc->slot_count * sizeof(mqs_slot_shared);
    }
}

static void fill_ports(mqs_domain *d, const mqs_domain_config *c, const layout *l)
{
    uint32_t next = 0, regular = c->queue_count - c->tap_count;
    uint64_t entries = l->entries;
    for (uint32_t o = 0; o < c->output_count; o++) {
        mqs_output_shared *out = &d->outputs[o];
        copy_name(out->name, sizeof out->name, c->outputs[o].name, "output", o);
        out->owner = c->outputs[o].owner;
        out->pool = c->outputs[o].pool;
        out->caps = c->outputs[o].caps;
        out->queue_first = next;
        for (uint32_t q = 0; q < regular; q++)
            if (c->queues[q].output == o)
                d->output_queues[next++] = q;
        out->queue_count = next - out->queue_first;
    }
    for (uint32_t i = 0; i < c->queue_count; i++) {
        const mqs_queue_config *qc = &c->queues[i];
        mqs_queue_shared *q = &d->queues[i];
        copy_name(q->name, sizeof q->name, qc->name, "queue", i);
        q->depth = mqsi_ring_depth(qc->depth);
        q->policy = (uint32_t)qc->policy;
        q->output = qc->output;
        q->consumer = qc->consumer;
        q->producer = c->outputs[qc->output].owner;
        q->period_ns = qc->period_ns;
        q->input_flags = qc->optional ? MQS_INPUT_OPTIONAL : 0;
        q->entries_offset = entries;
        entries += ring_bytes(q->depth, qc->policy);
        if (qc->policy == MQS_POLICY_DROP_OLDEST) {
            mqs_ring_cell *cell = (mqs_ring_cell *)((uint8_t *)d->ctl + q->entries_offset);
            for (uint32_t k = 0; k < q->depth; k++) /* free, belonging to no position yet */
                cell[k] = (mqs_ring_cell){.seq = UINT64_MAX, .value = MQS_CELL_RETIRED};
        }
        if (i >= regular) /* a tap: attached to no output until one attaches (core/tap.c) */
            q->output = q->producer = UINT32_MAX;
    }
}

/* Each process that may ever hold a buffer of a pool gets a holder bit in
 * it: the pool's owner and, transitively, every consumer of a queue fed by a
 * process that may hold one (a block may forward what it received). Bits
 * run out after 64 such processes; the rest get none (reclaim then guesses
 * the safe way for them). */
static void fill_holder_bits(mqs_domain *d, const mqs_domain_config *c)
{
    uint8_t *bits = (uint8_t *)d->holder_bits;
    uint32_t n = c->process_count, taps_from = n - c->tap_count, regular = c->queue_count - c->tap_count;
    memset(bits, MQS_NO_HOLDER_BIT, (size_t)c->pool_count * n);
    for (uint32_t pool = 0; pool < c->pool_count; pool++) {
        uint8_t *reach = bits + (uint64_t)pool * n; /* 0: reached, MQS_NO_HOLDER_BIT: not (yet) */
        reach[c->pools[pool].owner] = 0;
        for (bool grew = true; grew;) {
            grew = false;
            for (uint32_t q = 0; q < regular; q++)
                if (reach[c->outputs[c->queues[q].output].owner] == 0 && reach[c->queues[q].consumer] != 0)
                    reach[c->queues[q].consumer] = 0, grew = true;
        }
        for (uint32_t p = taps_from; p < n; p++) /* a tap may attach to any output */
            reach[p] = 0;
        uint32_t next = 0;
        for (uint32_t p = 0; p < n; p++)
            if (reach[p] == 0)
                reach[p] = next < 64 ? (uint8_t)next++ : MQS_NO_HOLDER_BIT;
    }
}

/* ---- mapping payloads ---- */

static void unmap_payloads(mqs_domain *d)
{
    if (!d->payload)
        return;
    for (uint32_t i = 0; i < d->ctl->pool_count; i++)
        mqsi_shm_unmap(d->payload[i], d->payload_size[i]);
    free(d->payload);
    free(d->payload_size);
    d->payload = NULL;
    d->payload_size = NULL;
}

static int create_payload(mqs_domain *d, uint32_t i)
{
    char name[MQS_DOMAIN_NAME_MAX + 16];
    payload_name(name, sizeof name, d->name, i);
    mqs_pool_shared *p = &d->pools[i];
    void *base;
    int rc = mqsi_shm_create(name, p->payload_size, &base);
    if (rc)
        return rc;
    if (p->flags & MQS_POOL_HUGE_PAGES)
        madvise((uint8_t *)base + MQSI_PAYLOAD_OFFSET, p->payload_size - MQSI_PAYLOAD_OFFSET, MADV_HUGEPAGE);
    mqs_segment_header *h = base;
    mqsi_segment_header_init(h, MQS_SEGMENT_PAYLOAD, p->payload_size);
    atomic_store_explicit(&h->ready, 1, memory_order_release);
    /* The creator (slot 0) maps payloads read-write only if it owns the pool. */
    if (p->owner != d->process)
        mprotect(base, p->payload_size, PROT_READ);
    d->payload[i] = base;
    d->payload_size[i] = p->payload_size;
    return 0;
}

static int map_payload(mqs_domain *d, uint32_t i)
{
    char name[MQS_DOMAIN_NAME_MAX + 16];
    payload_name(name, sizeof name, d->name, i);
    mqs_pool_shared *p = &d->pools[i];
    void *base;
    size_t size;
    /* Consumers map read-only: a block cannot scribble on a buffer it was lent. */
    int rc = mqsi_shm_map(name, p->owner == d->process, &base, &size);
    if (rc)
        return rc;
    rc = mqsi_segment_header_check(name, base, MQS_SEGMENT_PAYLOAD, size);
    if (rc == 0 && size != p->payload_size)
        rc = mqsi_fail(-EBADMSG, "%s is %zu bytes, the control segment expects %llu", name, size,
                       (unsigned long long)p->payload_size);
    if (rc) {
        mqsi_shm_unmap(base, size);
        return rc;
    }
    d->payload[i] = base;
    d->payload_size[i] = size;
    return 0;
}

static int alloc_payload_table(mqs_domain *d, uint32_t pools)
{
    d->payload = calloc(pools ? pools : 1, sizeof *d->payload);
    d->payload_size = calloc(pools ? pools : 1, sizeof *d->payload_size);
    if (!d->payload || !d->payload_size)
        return mqsi_fail(-ENOMEM, "out of memory");
    return 0;
}

/* ---- naming ---- */

static int make_prefix(char *out, size_t size, const char *graph, const char *run_id)
{
    int n = snprintf(out, size, "/mqs.%u.%s.%s", (unsigned)getuid(), graph, run_id);
    return n > 0 && (size_t)n < size ? 0 : mqsi_fail(-ENAMETOOLONG, "domain name too long");
}

static void default_run_id(char *out, size_t size)
{
    static _Atomic uint32_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, size, "%x-%x-%x", (unsigned)getpid(), (unsigned)(ts.tv_nsec & 0xfffff),
             atomic_fetch_add(&counter, 1));
}

/* ---- create / attach ---- */

static void claim_slot(mqs_domain *d)
{
    mqs_process_shared *p = d->self;
    /* start_time before pid: whoever reads the pid (acquire) reads its start time. */
    atomic_store_explicit(&p->start_time, mqs_pid_start_time(getpid()), memory_order_relaxed);
    atomic_store_explicit(&p->pid, (uint32_t)getpid(), memory_order_release);
    atomic_store_explicit(&p->heartbeat_ns, (uint64_t)mqs_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&d->own->attached_ns, mqs_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&d->own->input_wait_since_ns, 0, memory_order_relaxed);
}

/* Unlink the control object and the first `pools` payload objects: on a
 * failed create only the ones it made, never another run's. */
static void unlink_all(const char *prefix, uint32_t pools)
{
    char name[MQS_DOMAIN_NAME_MAX + 16];
    for (uint32_t i = 0; i < pools; i++) {
        payload_name(name, sizeof name, prefix, i);
        shm_unlink(name);
    }
    control_name(name, sizeof name, prefix);
    shm_unlink(name);
}

/* The config with its tap slots appended: a process named tap.N and a
 * queue as deep as a tap may ask for, fed (for now) by output 0. */
typedef struct with_taps {
    mqs_domain_config config;
    mqs_process_config *processes;
    mqs_queue_config *queues;
} with_taps;

static int add_taps(const mqs_domain_config *c, with_taps *w)
{
    uint32_t p = c->process_count, q = c->queue_count, t = c->tap_count;
    w->config = *c;
    w->processes = calloc(p + t, sizeof *w->processes);
    w->queues = calloc(q + t + 1, sizeof *w->queues);
    if (!w->processes || !w->queues)
        return mqsi_fail(-ENOMEM, "out of memory");
    for (uint32_t i = 0; i < p; i++)
        w->processes[i] = c->processes ? c->processes[i] : (mqs_process_config){0};
    if (q)
        memcpy(w->queues, c->queues, q * sizeof *w->queues);
    for (uint32_t i = 0; i < t; i++) {
        w->processes[p + i].name = "tap";
        w->queues[q + i] = (mqs_queue_config){.name = "tap", .consumer = p + i, .depth = MQS_TAP_DEPTH_MAX,
                                              .policy = MQS_POLICY_DROP_OLDEST};
    }
    w->config.processes = w->processes;
    w->config.process_count = p + t;
    w->config.queues = w->queues;
    w->config.queue_count = q + t;
    return 0;
}

static int create_checked(const mqs_domain_config *config, mqs_domain **out);

int mqs_domain_create(const mqs_domain_config *config, mqs_domain **out)
{
    mqsi_clear_error();
    if (!out)
        return mqsi_fail(-EINVAL, "mqs_domain_create: out is NULL");
    int rc = check_config(config);
    if (rc)
        return rc;
    with_taps w = {0};
    rc = add_taps(config, &w);
    if (rc == 0)
        rc = create_checked(&w.config, out);
    free(w.processes);
    free(w.queues);
    return rc;
}

static int create_checked(const mqs_domain_config *config, mqs_domain **out)
{
    int rc;
    char run_id[MQS_RUN_ID_MAX];
    if (config->run_id)
        snprintf(run_id, sizeof run_id, "%s", config->run_id);
    else
        default_run_id(run_id, sizeof run_id);
    mqs_domain *d = calloc(1, sizeof *d);
    if (!d)
        return mqsi_fail(-ENOMEM, "out of memory");
    rc = make_prefix(d->name, sizeof d->name, config->graph, run_id);
    layout l;
    compute_layout(config, &l);
    char name[MQS_DOMAIN_NAME_MAX + 16];
    control_name(name, sizeof name, d->name);
    if (rc == 0)
        rc = mqsi_shm_create(name, l.size, (void **)&d->ctl);
    if (rc) {
        free(d);
        return rc;
    }
    d->ctl_size = l.size;
    d->creator = true;
    mqsi_segment_header_init(&d->ctl->header, MQS_SEGMENT_CONTROL, l.size);
    fill_control(d->ctl, config, &l, run_id);
    bind_views(d);
    fill_processes(d, config, &l);
    d->held = mqsi_held_table_of(d, 0);
    fill_pools(d, config, &l);
    fill_ports(d, config, &l);
    fill_holder_bits(d, config);
    rc = alloc_payload_table(d, config->pool_count);
    uint32_t made = 0; /* payload objects this call created */
    while (rc == 0 && made < config->pool_count)
        if ((rc = create_payload(d, made)) == 0)
            made++;
    if (rc) {
        unlink_all(d->name, made);
        unmap_payloads(d);
        mqsi_shm_unmap(d->ctl, d->ctl_size);
        free(d);
        return rc;
    }
    atomic_store_explicit(&d->self->state, MQS_PROCESS_ATTACHED, memory_order_relaxed);
    claim_slot(d);
    atomic_store_explicit(&d->ctl->header.ready, 1, memory_order_release);
    *out = d;
    return 0;
}

/* Offsets in a control segment come from another process: check them before
 * use, so a corrupt segment gives -EBADMSG instead of a wild pointer. */
int mqsi_control_bounds_check(const char *name, const mqs_control *c, size_t size)
{
    uint64_t ends[] = {
        c->processes_offset + (uint64_t)c->process_count * sizeof(mqs_process_shared),
        c->pools_offset + (uint64_t)c->pool_count * sizeof(mqs_pool_shared),
        c->outputs_offset + (uint64_t)c->output_count * sizeof(mqs_output_shared),
        c->queues_offset + (uint64_t)c->queue_count * sizeof(mqs_queue_shared),
        c->output_queues_offset + (uint64_t)c->queue_count * sizeof(uint32_t),
        c->align_offset + (uint64_t)c->process_count * sizeof(mqs_align_shared),
        c->inputs_offset + (uint64_t)c->queue_count * sizeof(mqs_input_shared),
        c->holder_bits_offset + (uint64_t)c->pool_count * c->process_count,
        c->counters_offset + (uint64_t)c->process_count * sizeof(mqs_process_counters),
        c->commands_offset + (uint64_t)c->process_count * sizeof(mqs_command_shared),
    };
    uint32_t t = c->held_table_size;
    bool ok = c->process_count <= MAX_PROCESSES && c->pool_count <= MQS_MAX_POOLS && c->held_capacity &&
              c->tap_count <= MQS_MAX_TAPS && c->tap_count < c->process_count && c->tap_count <= c->queue_count &&
              c->held_capacity <= MAX_HELD_CAPACITY && t >= 2 * c->held_capacity && (t & (t - 1)) == 0;
    for (size_t i = 0; ok && i < sizeof ends / sizeof ends[0]; i++)
        ok = ends[i] <= size;
    ok = ok && c->commands_offset % PAGE == 0;
    return ok ? 0 : mqsi_fail(-EBADMSG, "%s: counts or offsets point outside the segment (corrupt)", name);
}

static int check_arrays(const mqs_domain *d, const char *name)
{
    const mqs_control *c = d->ctl;
    for (uint32_t i = 0; i < c->pool_count; i++) {
        const mqs_pool_shared *p = &d->pools[i];
        if (p->slot_count > MQS_MAX_SLOTS || p->slots_offset + (uint64_t)p->slot_count * sizeof(mqs_slot_shared) > d->ctl_size)
            return mqsi_fail(-EBADMSG, "%s: pool %u lies outside the segment (corrupt)", name, i);
    }
    for (uint32_t i = 0; i < c->queue_count; i++) {
        const mqs_queue_shared *q = &d->queues[i];
        bool tap = i >= c->queue_count - c->tap_count;
        if (!q->depth || (q->depth & (q->depth - 1)) || q->entries_offset + ring_bytes(q->depth, q->policy) > d->ctl_size ||
            q->consumer >= c->process_count || (q->output >= c->output_count && !tap))
            return mqsi_fail(-EBADMSG, "%s: queue %u is inconsistent (corrupt)", name, i);
    }
    for (uint32_t i = 0; i < c->process_count; i++)
        if (d->procs[i].held_offset + (uint64_t)c->held_table_size * sizeof(mqs_held_entry) > d->ctl_size)
            return mqsi_fail(-EBADMSG, "%s: process %u's table lies outside the segment (corrupt)", name, i);
    return 0;
}

static int take_process_slot(mqs_domain *d, uint32_t process)
{
    mqs_process_shared *p = &d->procs[process];
    for (;;) {
        uint32_t s = atomic_load_explicit(&p->state, memory_order_acquire);
        if (s == MQS_PROCESS_ATTACHED) {
            uint32_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
            if (mqs_pid_alive(pid, atomic_load_explicit(&p->start_time, memory_order_relaxed)))
                return mqsi_fail(-EBUSY, "%s: process slot %u (%s) is in use by live pid %u", d->name, process,
                                 p->name, pid);
            return mqsi_fail(-EBUSY,
                             "%s: process slot %u (%s) was held by pid %u, which died; "
                             "reclaim it first (mqs_reclaim)",
                             d->name, process, p->name, pid);
        }
        if (atomic_compare_exchange_weak_explicit(&p->state, &s, MQS_PROCESS_ATTACHED, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 0;
    }
}

/* A run is listed as soon as its control object exists, a moment before its
 * creator has filled it in: a reader that finds it then waits this long
 * (in steps of CREATION_STEP_NS) before "still being created" is its answer. */
#define CREATION_PATIENCE_NS (1000LL * 1000000)
#define CREATION_STEP_NS (5LL * 1000000)

/* Map the control object and check its header, waiting out its creation. */
static int map_control(mqs_domain *d, const char *ctl_name, bool writable)
{
    for (int64_t waited = 0;; waited += CREATION_STEP_NS) {
        int rc = mqsi_shm_map(ctl_name, writable, (void **)&d->ctl, &d->ctl_size);
        if (rc)
            return rc;
        rc = mqsi_segment_header_check(ctl_name, &d->ctl->header, MQS_SEGMENT_CONTROL, d->ctl_size);
        if (rc != -EAGAIN || waited >= CREATION_PATIENCE_NS)
            return rc;
        mqsi_shm_unmap(d->ctl, d->ctl_size);
        d->ctl = NULL;
        mqs_sleep_ns(CREATION_STEP_NS);
    }
}

static int attach_control(mqs_domain *d, const char *name, uint32_t process)
{
    char ctl_name[MQS_DOMAIN_NAME_MAX + 16];
    control_name(ctl_name, sizeof ctl_name, name);
    int rc = map_control(d, ctl_name, process != MQS_OBSERVER);
    if (rc)
        return rc;
    if (rc == 0 && d->ctl_size < sizeof(mqs_control))
        rc = mqsi_fail(-EBADMSG, "%s is truncated", ctl_name);
    if (rc == 0)
        rc = mqsi_control_bounds_check(ctl_name, d->ctl, d->ctl_size);
    if (rc == 0 && process >= d->ctl->process_count && process != MQS_OBSERVER)
        rc = mqsi_fail(-ERANGE, "%s: process slot %u does not exist (the domain has %u)", name, process,
                       d->ctl->process_count);
    if (rc == 0) {
        bind_views(d);
        rc = check_arrays(d, ctl_name);
    }
    return rc;
}

int mqs_domain_attach(const char *name, uint32_t process, mqs_domain **out)
{
    mqsi_clear_error();
    if (!name || !out || strlen(name) >= MQS_DOMAIN_NAME_MAX)
        return mqsi_fail(-EINVAL, "mqs_domain_attach: bad name or out pointer");
    if (process == MQS_OBSERVER)
        return mqsi_fail(-ERANGE, "mqs_domain_attach: to look without a slot, use mqs_domain_observe");
    mqs_domain *d = calloc(1, sizeof *d);
    if (!d)
        return mqsi_fail(-ENOMEM, "out of memory");
    snprintf(d->name, sizeof d->name, "%s", name);
    d->process = process;
    int rc = attach_control(d, name, process);
    if (rc == 0)
        rc = alloc_payload_table(d, d->ctl->pool_count);
    for (uint32_t i = 0; rc == 0 && i < d->ctl->pool_count; i++)
        rc = map_payload(d, i);
    if (rc == 0)
        rc = take_process_slot(d, process);
    if (rc) {
        if (d->ctl)
            unmap_payloads(d);
        mqsi_shm_unmap(d->ctl, d->ctl_size);
        free(d);
        return rc;
    }
    claim_slot(d);
    *out = d;
    return 0;
}

/* The commands, on pages of their own at the end of the segment: the one
 * part of a domain an observer writes (mqctl set). */
static int map_commands_writable(mqs_domain *d, const char *name)
{
    char ctl_name[MQS_DOMAIN_NAME_MAX + 16];
    control_name(ctl_name, sizeof ctl_name, name);
    int fd = shm_open(ctl_name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return mqsi_fail(-errno, "cannot open %s to post commands: %s", ctl_name, strerror(errno));
    size_t size = d->ctl_size - d->ctl->commands_offset;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)d->ctl->commands_offset);
    int err = p == MAP_FAILED ? -errno : 0;
    close(fd);
    if (err)
        return mqsi_fail(err, "cannot map the commands of %s: %s", ctl_name, strerror(-err));
    d->commands_map = p;
    d->commands_map_size = size;
    d->commands = p;
    return 0;
}

int mqs_domain_observe(const char *name, mqs_domain **out)
{
    mqsi_clear_error();
    if (!name || !out || strlen(name) >= MQS_DOMAIN_NAME_MAX)
        return mqsi_fail(-EINVAL, "mqs_domain_observe: bad name or out pointer");
    mqs_domain *d = calloc(1, sizeof *d);
    if (!d)
        return mqsi_fail(-ENOMEM, "out of memory");
    snprintf(d->name, sizeof d->name, "%s", name);
    d->process = MQS_OBSERVER;
    int rc = attach_control(d, name, MQS_OBSERVER);
    if (rc == 0)
        rc = map_commands_writable(d, name);
    if (rc) {
        mqsi_shm_unmap(d->ctl, d->ctl_size);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* Give back every reference this process still holds: a clean exit leaks
 * nothing. */
static void release_all_held(mqs_domain *d)
{
    for (uint32_t i = 0; i <= d->held_mask; i++) {
        mqs_buffer_id id = atomic_load_explicit(&d->held[i].id, memory_order_relaxed);
        while (id && atomic_load_explicit(&d->held[i].id, memory_order_relaxed) == id)
            if (mqs_buffer_unref(d, id) != 0)
                break;
    }
}

void mqs_domain_detach(mqs_domain *d)
{
    if (!d)
        return;
    if (mqsi_is_observer(d)) {
        mqsi_shm_unmap(d->commands_map, d->commands_map_size);
        mqsi_shm_unmap(d->ctl, d->ctl_size);
        free(d);
        return;
    }
    release_all_held(d);
    atomic_store_explicit(&d->self->pid, 0, memory_order_relaxed);
    atomic_store_explicit(&d->self->state, MQS_PROCESS_EXITED, memory_order_release);
    unmap_payloads(d);
    mqsi_shm_unmap(d->ctl, d->ctl_size);
    free(d);
}

void mqs_domain_destroy(mqs_domain *d)
{
    if (!d)
        return;
    if (mqsi_is_observer(d)) { /* an observer only looks */
        mqs_domain_detach(d);
        return;
    }
    unlink_all(d->name, d->ctl->pool_count);
    mqs_domain_detach(d);
}

const char *mqs_domain_name(const mqs_domain *d) { return d->name; }
uint32_t mqs_domain_process(const mqs_domain *d) { return d->process; }
uint32_t mqs_domain_pool_count(const mqs_domain *d) { return d->ctl->pool_count; }
uint32_t mqs_domain_output_count(const mqs_domain *d) { return d->ctl->output_count; }
uint32_t mqs_domain_queue_count(const mqs_domain *d) { return d->ctl->queue_count; }
uint32_t mqs_domain_process_count(const mqs_domain *d) { return d->ctl->process_count; }

const mqs_caps *mqs_output_caps(const mqs_domain *d, uint32_t output)
{
    return output < d->ctl->output_count ? &d->outputs[output].caps : NULL;
}

const char *mqs_output_name(const mqs_domain *d, uint32_t output)
{
    return output < d->ctl->output_count ? d->outputs[output].name : NULL;
}

const char *mqs_queue_name(const mqs_domain *d, uint32_t queue)
{
    return queue < d->ctl->queue_count ? d->queues[queue].name : NULL;
}

const char *mqs_process_name(const mqs_domain *d, uint32_t process)
{
    return process < d->ctl->process_count ? d->procs[process].name : NULL;
}

const char *mqs_pool_name(const mqs_domain *d, uint32_t pool)
{
    return pool < d->ctl->pool_count ? d->pools[pool].name : NULL;
}

uint32_t mqs_output_pool(const mqs_domain *d, uint32_t output)
{
    return output < d->ctl->output_count ? d->outputs[output].pool : UINT32_MAX;
}

uint32_t mqs_output_owner(const mqs_domain *d, uint32_t output)
{
    return output < d->ctl->output_count ? d->outputs[output].owner : UINT32_MAX;
}

uint32_t mqs_queue_output(const mqs_domain *d, uint32_t queue)
{
    return queue < d->ctl->queue_count ? d->queues[queue].output : UINT32_MAX;
}

uint32_t mqs_queue_consumer(const mqs_domain *d, uint32_t queue)
{
    return queue < d->ctl->queue_count ? d->queues[queue].consumer : UINT32_MAX;
}

int mqs_process_stats_get(const mqs_domain *d, uint32_t process, mqs_process_stats *out)
{
    if (process >= d->ctl->process_count || !out)
        return -ERANGE;
    mqs_process_shared *p = &d->procs[process];
    *out = (mqs_process_stats){
        .state = (mqs_process_state)atomic_load_explicit(&p->state, memory_order_acquire),
        .pid = atomic_load_explicit(&p->pid, memory_order_relaxed),
        .held = atomic_load_explicit(&p->held_total, memory_order_relaxed),
        .heartbeat_ns = (int64_t)atomic_load_explicit(&p->heartbeat_ns, memory_order_relaxed),
        .reclaimed = atomic_load_explicit(&p->reclaimed, memory_order_relaxed),
        .activity = (mqs_activity)atomic_load_explicit(&p->activity, memory_order_relaxed),
        .waiting_on = atomic_load_explicit(&p->waiting_on, memory_order_relaxed),
        .calls = atomic_load_explicit(&p->calls, memory_order_relaxed),
        .restarts = atomic_load_explicit(&p->restarts, memory_order_relaxed),
    };
    return 0;
}

void mqs_process_activity(mqs_domain *d, mqs_activity activity, uint32_t waiting_on)
{
    mqs_process_shared *p = d->self;
    if (!p)
        return;
    /* Back in a call from a wait inside it (a send, an alloc) is not a new call. */
    uint32_t was = atomic_load_explicit(&p->activity, memory_order_relaxed);
    if (activity == MQS_ACTIVITY_CALL && was != MQS_ACTIVITY_WAIT_SEND && was != MQS_ACTIVITY_WAIT_ALLOC)
        mqsi_count(&p->calls, 1);
    atomic_store_explicit(&p->waiting_on, waiting_on, memory_order_relaxed);
    atomic_store_explicit(&p->activity, (uint32_t)activity, memory_order_relaxed);
}

void mqs_process_set_restarts(mqs_domain *d, uint32_t process, uint32_t restarts)
{
    if (d->process == 0 && process < d->ctl->process_count)
        atomic_store_explicit(&d->procs[process].restarts, restarts, memory_order_relaxed);
}

int64_t mqs_domain_start_time(const mqs_domain *d)
{
    return atomic_load_explicit(&d->ctl->start_ns, memory_order_acquire);
}

/* ---- the start gate and the stop request ---- */

void mqs_domain_request_stop(mqs_domain *d)
{
    if (mqsi_is_observer(d))
        return;
    atomic_store_explicit(&d->ctl->stop, 1, memory_order_seq_cst);
    mqsi_ring_every_doorbell(d);
}

int mqs_domain_stop_requested(const mqs_domain *d)
{
    return (int)atomic_load_explicit(&d->ctl->stop, memory_order_relaxed);
}

static bool started_fn(const mqs_domain *d, const void *arg)
{
    (void)arg;
    return atomic_load_explicit(&d->ctl->started, memory_order_acquire) != 0;
}

void mqs_domain_start(mqs_domain *d)
{
    if (mqsi_is_observer(d))
        return;
    atomic_store_explicit(&d->ctl->start_ns, mqs_now_ns(), memory_order_release);
    atomic_store_explicit(&d->ctl->started, 1, memory_order_seq_cst);
    mqsi_ring_every_doorbell(d);
}

int mqs_domain_wait_started(mqs_domain *d, int64_t timeout_ns)
{
    if (started_fn(d, NULL))
        return 0;
    if (mqsi_is_observer(d))
        return -EPERM;
    /* A rare, one-off wait: sleep at once whatever the wait mode. */
    mqsi_deadline dl = mqsi_deadline_in(timeout_ns);
    return mqsi_sleep_until_ready(d, started_fn, NULL, &dl);
}

void mqs_domain_heartbeat(mqs_domain *d)
{
    if (mqsi_is_observer(d))
        return;
    atomic_store_explicit(&d->self->heartbeat_ns, (uint64_t)mqs_now_ns(), memory_order_relaxed);
}
