/* Taps: consumers that attach to an output of a running domain and leave.
 *
 * The domain keeps tap_count spare process slots and queues (the last of
 * each). A tap takes a slot, makes the slot's queue new, and sets its bit in
 * the output's `taps` word; the output's owner reads that word once per send
 * and delivers to the tap's queue after its own queues, with the tap's full
 * policy. Leaving runs the other way: clear the bit, tell the producer nobody
 * consumes (a `block` send waiting for room drops instead), wait until no
 * send that may have seen the bit is still under way, and release what is
 * queued and held. The launcher does the same for a tap whose process died
 * (mqs_taps_reclaim).
 *
 * "A send that may have seen the bit": the sender notes its output in its
 * journal before it reads the word, with only a compiler barrier between;
 * the leaving side clears the bit, then runs a system-wide memory barrier
 * (membarrier), then reads the sender's journal. So either the send read the
 * cleared word, or its journal shows it under way, and we wait for it to end.
 * The send path pays no fence for this. */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "mqs/tap.h"

#define QUIET_WAIT_NS (5LL * 1000000000) /* a send still under way after this is a dead sender's */

struct mqs_tap {
    mqs_domain *domain;
    uint32_t slot;  /* tap index */
    uint32_t queue;
    uint32_t output;
    bool stopped;
};

mqs_tap_config mqs_tap_config_default(void)
{
    return (mqs_tap_config){.depth = 4, .policy = MQS_POLICY_DROP_OLDEST, .name = NULL};
}

uint32_t mqs_domain_tap_count(const mqs_domain *d) { return d->ctl->tap_count; }

bool mqs_process_is_tap(const mqs_domain *d, uint32_t process)
{
    return process < d->ctl->process_count && process >= mqsi_first_tap_process(d);
}

bool mqs_queue_is_tap(const mqs_domain *d, uint32_t queue)
{
    return queue < d->ctl->queue_count && queue >= mqsi_first_tap_queue(d);
}

bool mqs_queue_attached(const mqs_domain *d, uint32_t queue)
{
    return queue < d->ctl->queue_count && d->queues[queue].output < d->ctl->output_count;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Every CPU passes a full barrier: our clearing of the bit is seen by any
 * send that starts after this, and a send that started before shows in its
 * journal. Without membarrier (an old kernel, a seccomp filter), sleep well
 * past any store buffer instead. */
static void barrier_everywhere(void)
{
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
        sleep_ms(10);
}

/* Is the producer in the middle of a send on `output`? */
static bool sending_on(const mqs_domain *d, uint32_t producer, uint32_t output)
{
    const mqs_journal *j = &d->procs[producer].journal;
    return atomic_load_explicit(&j->op, memory_order_acquire) == MQS_OP_SEND &&
           atomic_load_explicit(&j->output, memory_order_acquire) == output;
}

/* Stop sends to tap queue `queue` and return what it held: after this no
 * producer touches it. Both the tap and the launcher (for a dead tap) run it. */
static uint32_t disconnect(mqs_domain *d, uint32_t queue)
{
    mqs_queue_shared *q = &d->queues[queue];
    uint32_t output = q->output, producer = q->producer;
    if (output >= d->ctl->output_count)
        return 0;
    uint32_t bit = 1u << (queue - mqsi_first_tap_queue(d));
    atomic_fetch_and_explicit(&d->outputs[output].taps, ~bit, memory_order_seq_cst);
    atomic_store_explicit(&q->consumer_gone, 1, memory_order_seq_cst);
    mqsi_wake_if_sleeping(d, &q->producer_sleeping, producer);
    barrier_everywhere();
    uint32_t released = mqsi_queue_drain(d, q); /* room for a send waiting on it */
    int64_t until = mqs_now_ns() + QUIET_WAIT_NS;
    while (sending_on(d, producer, output) && mqs_now_ns() < until)
        sleep_ms(1);
    released += mqsi_queue_drain(d, q); /* what such a send left */
    q->output = q->producer = UINT32_MAX;
    return released;
}

/* ---- opening ---- */

static int find_output(const mqs_domain *d, const char *name)
{
    for (uint32_t o = 0; o < d->ctl->output_count; o++)
        if (strcmp(d->outputs[o].name, name) == 0)
            return (int)o;
    return -1;
}

static int no_such_output(const mqs_domain *d, const char *name)
{
    char list[512] = "";
    size_t used = 0;
    for (uint32_t o = 0; o < d->ctl->output_count && used < sizeof list - 64; o++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", o ? ", " : "", d->outputs[o].name);
    return mqsi_fail(-ENOENT, "%s: no output '%s' (the outputs: %s)", d->name, name, list);
}

/* The first free tap slot, attached. */
static int take_slot(const char *domain, mqs_domain **out)
{
    mqs_domain *probe;
    int rc = mqs_domain_observe(domain, &probe);
    if (rc)
        return rc;
    uint32_t first = mqsi_first_tap_process(probe), count = probe->ctl->tap_count;
    mqs_domain_detach(probe);
    if (count == 0)
        return mqsi_fail(-EBUSY, "%s: the graph was started without tap slots", domain);
    for (uint32_t i = 0; i < count; i++) {
        rc = mqs_domain_attach(domain, first + i, out);
        if (rc != -EBUSY)
            return rc;
    }
    return mqsi_fail(-EBUSY, "%s: all %u tap slots are in use (hint: close a tap, or wait a moment for the "
                     "launcher to free the slot of a tap that died)", domain, count);
}

static int check_config(const mqs_tap_config *c)
{
    if (c->depth > MQS_TAP_DEPTH_MAX)
        return mqsi_fail(-EINVAL, "tap depth %u is out of range 1..%u", c->depth, MQS_TAP_DEPTH_MAX);
    if ((unsigned)c->policy > MQS_POLICY_DROP_NEWEST)
        return mqsi_fail(-EINVAL, "unknown tap policy %d (block, drop_oldest, drop_newest)", (int)c->policy);
    return 0;
}

/* Our queue, made new and joined to `output`; then the bit that makes sends reach it. */
static void join(mqs_tap *t, const mqs_tap_config *c)
{
    mqs_domain *d = t->domain;
    mqs_queue_shared *q = &d->queues[t->queue];
    mqsi_queue_drain(d, q); /* a previous tap's leftovers, should any be there */
    mqsi_queue_reset(d, q, mqsi_ring_depth(c->depth ? c->depth : 4), c->policy);
    snprintf(q->name, sizeof q->name, "%s", c->name && *c->name ? c->name : "tap");
    q->producer = d->outputs[t->output].owner;
    atomic_store_explicit(&q->output, t->output, memory_order_release);
    mqs_output_shared *o = &d->outputs[t->output];
    atomic_fetch_or_explicit(&o->taps, 1u << t->slot, memory_order_seq_cst);
    /* Ended already? Its close ran before our bit was in: end ours too. */
    for (uint32_t k = 0; k < o->queue_count; k++)
        if (atomic_load_explicit(&d->queues[d->output_queues[o->queue_first + k]].closed, memory_order_seq_cst))
            atomic_store_explicit(&q->closed, 1, memory_order_release);
}

int mqs_tap_open(const char *domain, const char *output, const mqs_tap_config *config, mqs_tap **out)
{
    mqsi_clear_error();
    mqs_tap_config c = config ? *config : mqs_tap_config_default();
    if (!domain || !output || !out)
        return mqsi_fail(-EINVAL, "mqs_tap_open: domain, output and out are required");
    int rc = check_config(&c);
    if (rc)
        return rc;
    mqs_tap *t = calloc(1, sizeof *t);
    if (!t)
        return mqsi_fail(-ENOMEM, "out of memory");
    rc = take_slot(domain, &t->domain);
    if (rc == 0) {
        int o = find_output(t->domain, output);
        rc = o < 0 ? no_such_output(t->domain, output) : 0;
        t->output = (uint32_t)o;
    }
    if (rc) {
        mqs_domain_detach(t->domain);
        free(t);
        return rc;
    }
    t->slot = mqs_domain_process(t->domain) - mqsi_first_tap_process(t->domain);
    t->queue = mqsi_first_tap_queue(t->domain) + t->slot;
    join(t, &c);
    *out = t;
    return 0;
}

/* ---- using and leaving ---- */

int mqs_tap_receive(mqs_tap *t, mqs_buffer_id *out, int64_t timeout_ns)
{
    if (t->stopped)
        return -EPIPE;
    int rc = mqs_queue_receive(t->domain, t->queue, out, timeout_ns);
    return rc == -EAGAIN ? -ETIMEDOUT : rc; /* nothing there, and we were not to wait */
}

void mqs_tap_stop(mqs_tap *t)
{
    if (!t || t->stopped)
        return;
    disconnect(t->domain, t->queue);
    t->stopped = true;
}

uint32_t mqs_tap_length(const mqs_tap *t) { return mqs_queue_length(t->domain, t->queue); }

mqs_domain *mqs_tap_domain(mqs_tap *t) { return t->domain; }

uint32_t mqs_tap_queue(const mqs_tap *t) { return t->queue; }

void mqs_tap_close(mqs_tap *t)
{
    if (!t)
        return;
    mqs_tap_stop(t);
    mqs_domain_detach(t->domain); /* returns what we still hold, frees the slot */
    free(t);
}

/* A taken tap slot whose process is gone. A slot taken a moment ago has
 * no pid yet: only one that stays so for a second died while attaching. */
static bool tap_dead(mqs_domain *d, uint32_t i)
{
    mqs_process_shared *p = &d->procs[mqsi_first_tap_process(d) + i];
    if (atomic_load_explicit(&p->state, memory_order_acquire) != MQS_PROCESS_ATTACHED) {
        d->tap_pidless_since[i] = 0;
        return false;
    }
    uint32_t pid = atomic_load_explicit(&p->pid, memory_order_acquire);
    if (pid == 0) {
        int64_t now = mqs_now_ns();
        if (!d->tap_pidless_since[i])
            d->tap_pidless_since[i] = now;
        return now - d->tap_pidless_since[i] > 1000000000LL;
    }
    d->tap_pidless_since[i] = 0;
    return !mqs_pid_alive(pid, atomic_load_explicit(&p->start_time, memory_order_relaxed));
}

int mqs_taps_reclaim(mqs_domain *d)
{
    if (d->process != 0 || mqsi_is_observer(d))
        return -EPERM;
    int cleaned = 0;
    for (uint32_t i = 0; i < d->ctl->tap_count && i < MQS_MAX_TAPS; i++) {
        uint32_t process = mqsi_first_tap_process(d) + i;
        if (!tap_dead(d, i))
            continue;
        d->tap_pidless_since[i] = 0;
        /* Its last receive settled first, then the queue drained, then the slot free. */
        mqsi_reclaim_references(d, process);
        disconnect(d, mqsi_first_tap_queue(d) + i);
        mqsi_free_process_slot(d, process);
        cleaned++;
    }
    return cleaned;
}
