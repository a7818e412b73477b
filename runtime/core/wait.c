/* Waiting: spin (adaptively), then sleep on the waiting process's doorbell
 * futex. A waker only makes a syscall when the waiter announced that it
 * sleeps, so a busy pipeline runs without syscalls. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Hybrid spin budget, in pause iterations: doubled when data came while
 * spinning, halved when the wait ended in sleep. Bounded, because graphs have
 * more processes than cores and a spinner can starve the one it waits for. */
#define SPIN_MIN 64u
#define SPIN_MAX 8192u
/* A hybrid sleep this short would have been a spin worth its CPU. */
#define SPIN_WORTH_NS (50 * 1000)
/* Spin mode still yields now and then so an oversubscribed machine moves on. */
#define SPIN_YIELD_EVERY 16384u
/* A sleeper wakes this often anyway, to notice a peer that died mid-wake. */
#define SLEEP_SLICE_NS (100 * 1000 * 1000)

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    /* Not FUTEX_PRIVATE: the word lives in memory shared between processes. */
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

void mqsi_wake_if_sleeping(mqs_domain *d, _Atomic uint32_t *sleeping, uint32_t process)
{
    /* Pairs with the waiter's fence: either it sees our data, or we see its flag. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(sleeping, memory_order_relaxed))
        mqsi_wake_sleeper(d, sleeping, process);
}

void mqsi_wake_sleeper(mqs_domain *d, _Atomic uint32_t *sleeping, uint32_t process)
{
    if (!atomic_exchange_explicit(sleeping, 0, memory_order_relaxed))
        return;
    _Atomic uint32_t *bell = &d->procs[process].doorbell;
    atomic_fetch_add_explicit(bell, 1, memory_order_release);
    futex(bell, FUTEX_WAKE, INT_MAX, NULL);
}

int64_t mqsi_deadline_at(mqsi_deadline *dl)
{
    if (dl->at == 0) {
        int64_t now = mqs_now_ns();
        dl->at = dl->timeout_ns < 0 || dl->timeout_ns > INT64_MAX - now ? INT64_MAX : now + dl->timeout_ns;
    }
    return dl->at;
}

static int spin(mqs_domain *d, mqsi_ready_fn ready, const void *arg, uint32_t budget, mqsi_deadline *deadline)
{
    for (uint32_t i = 1; i <= budget; i++) {
        if (ready(d, arg))
            return 0;
        mqsi_cpu_relax();
        if ((i & 1023) == 0) {
            if (atomic_load_explicit(&d->ctl->stop, memory_order_relaxed))
                return -ECANCELED;
            if (mqs_now_ns() >= mqsi_deadline_at(deadline))
                return -ETIMEDOUT;
        }
        if (i % SPIN_YIELD_EVERY == 0)
            sched_yield();
    }
    return -EAGAIN;
}

static void announce_all(_Atomic uint32_t *const *flags, uint32_t n, uint32_t value)
{
    for (uint32_t i = 0; i < n; i++)
        atomic_store_explicit(flags[i], value, memory_order_relaxed);
}

static int sleep_until(mqs_domain *d, mqsi_ready_fn ready, const void *arg, _Atomic uint32_t *const *flags,
                       uint32_t n, mqsi_deadline *dl)
{
    int64_t deadline = mqsi_deadline_at(dl);
    _Atomic uint32_t *bell = &d->self->doorbell;
    for (;;) {
        uint32_t seen = atomic_load_explicit(bell, memory_order_acquire);
        announce_all(flags, n, 1);
        atomic_thread_fence(memory_order_seq_cst);
        int rc = -EAGAIN;
        if (ready(d, arg))
            rc = 0;
        else if (atomic_load_explicit(&d->ctl->stop, memory_order_relaxed))
            rc = -ECANCELED;
        int64_t left = deadline - mqs_now_ns();
        if (rc == -EAGAIN && left <= 0)
            rc = -ETIMEDOUT;
        if (rc != -EAGAIN) {
            announce_all(flags, n, 0);
            return rc;
        }
        if (left > SLEEP_SLICE_NS)
            left = SLEEP_SLICE_NS;
        struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        futex(bell, FUTEX_WAIT, seen, &ts);
    }
}

/* A hybrid wait that spun its budget out sleeps, and learns from how long:
 * data that came within SPIN_WORTH_NS would have been caught by a longer
 * spin, so the budget doubles; a longer sleep halves it. Learning only from
 * spins that succeeded would never grow a budget that is too short: a
 * stream with a frame every 30 us and a 1 us budget sleeps every time. */
static int sleep_and_learn(mqs_domain *d, mqsi_ready_fn ready, const void *arg, _Atomic uint32_t *const *announce,
                           uint32_t announce_count, mqsi_deadline *deadline)
{
    int64_t began = mqs_now_ns();
    int rc = sleep_until(d, ready, arg, announce, announce_count, deadline);
    if (rc == 0 && mqs_now_ns() - began < SPIN_WORTH_NS) {
        if (d->spin_limit < SPIN_MAX)
            d->spin_limit *= 2;
    } else if (d->spin_limit > SPIN_MIN) {
        d->spin_limit /= 2;
    }
    return rc;
}

static int wait_by_mode(mqs_domain *d, mqsi_ready_fn ready, const void *arg, _Atomic uint32_t *const *announce,
                        uint32_t announce_count, mqsi_deadline *deadline)
{
    uint32_t mode = d->ctl->wait_mode;
    if (mode == MQS_WAIT_SPIN) {
        int rc;
        while ((rc = spin(d, ready, arg, UINT32_MAX, deadline)) == -EAGAIN) {
        }
        return rc;
    }
    if (mode == MQS_WAIT_HYBRID && d->crowded) {
        /* More processes than CPUs: spinning would hold a CPU the process we
         * wait for may need. Give it the CPU once; it usually leaves several
         * entries behind, and only then do we pay for a sleep and a wake. */
        sched_yield();
        if (ready(d, arg))
            return 0;
    } else if (mode == MQS_WAIT_HYBRID) {
        int rc = spin(d, ready, arg, d->spin_limit, deadline);
        if (rc != -EAGAIN) {
            if (rc == 0 && d->spin_limit < SPIN_MAX)
                d->spin_limit *= 2;
            return rc;
        }
        return sleep_and_learn(d, ready, arg, announce, announce_count, deadline);
    }
    return sleep_until(d, ready, arg, announce, announce_count, deadline);
}

/* Before a wait is counted (two clock reads, counters), look a few times:
 * a consumer a little faster than its producer finds the ring empty on most
 * pops, and the next entry is usually a few hundred ns away. Not in sleep
 * mode, which promises not to spin at all. */
#define QUICK_POLLS 64u

static bool ready_soon(mqs_domain *d, mqsi_ready_fn ready, const void *arg)
{
    if (d->ctl->wait_mode == MQS_WAIT_SLEEP)
        return false;
    for (uint32_t i = 0; i < QUICK_POLLS; i++) {
        mqsi_cpu_relax();
        if (ready(d, arg))
            return true;
    }
    return false;
}

int mqsi_wait(mqs_domain *d, mqs_wait_kind kind, mqsi_ready_fn ready, const void *arg,
              _Atomic uint32_t *const *announce, uint32_t announce_count, mqsi_deadline *deadline)
{
    if (ready_soon(d, ready, arg)) {
        if (kind == MQS_WAIT_FOR_INPUT)
            mqsi_input_arrived(d);
        return 0;
    }
    int64_t began = mqs_process_wait_begin(d, kind);
    /* Starved since the first wait that found no input, until input comes. */
    if (kind == MQS_WAIT_FOR_INPUT && !atomic_load_explicit(&d->own->input_wait_since_ns, memory_order_relaxed))
        atomic_store_explicit(&d->own->input_wait_since_ns, began, memory_order_relaxed);
    int rc = wait_by_mode(d, ready, arg, announce, announce_count, deadline);
    mqs_process_wait_end(d, kind, began);
    if (rc == 0 && kind == MQS_WAIT_FOR_INPUT)
        mqsi_input_arrived(d);
    return rc;
}

void mqsi_ring_every_doorbell(mqs_domain *d)
{
    for (uint32_t p = 0; p < d->ctl->process_count; p++) {
        atomic_fetch_add_explicit(&d->procs[p].doorbell, 1, memory_order_release);
        futex(&d->procs[p].doorbell, FUTEX_WAKE, INT_MAX, NULL);
    }
}

int mqsi_sleep_until_ready(mqs_domain *d, mqsi_ready_fn ready, const void *arg, mqsi_deadline *deadline)
{
    return sleep_until(d, ready, arg, NULL, 0, deadline);
}
