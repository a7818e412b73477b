/* Pacing for sources: a fixed schedule on CLOCK_MONOTONIC, slept to through
 * the host (mqs_wait_until: tools then count it as waiting, not busy) or,
 * with an older host, absolute clock_nanosleep (no drift from wake-up
 * latency). Private to the built-in blocks. */
#ifndef MQS_BLOCKS_PACE_H
#define MQS_BLOCKS_PACE_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <mqs/block.h>

/* Longest single sleep: the host checks for a stop request between produce()
 * calls, so a slow source (fps 0.1) must still return this often. */
#define PACE_SLICE_NS 50000000LL

typedef struct pacer {
    int64_t period_ns; /* 0: as fast as possible */
    int64_t next_ns;   /* CLOCK_MONOTONIC time the next buffer is due; 0: not started */
} pacer;

static inline int64_t pace_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void pace_init(pacer *p, double rate_hz)
{
    p->period_ns = rate_hz > 0 ? (int64_t)(1e9 / rate_hz + 0.5) : 0;
    p->next_ns = 0;
}

/* Sleep towards `due_ns` (CLOCK_MONOTONIC): 1 once it is due, 0 when a
 * slice (PACE_SLICE_NS) went by or a signal came first, so the caller can
 * return from produce() and let the host look at its stop flag. */
static inline int pace_sleep_until(mqs_block_ctx *ctx, int64_t due_ns)
{
    int rc = mqs_wait_until(ctx, due_ns);
    if (rc != -ENOTSUP)
        return rc == 0; /* the host slept in slices and looked at its stop flag */
    int64_t now = pace_clock_ns();
    if (now >= due_ns)
        return 1;
    int64_t until = due_ns - now > PACE_SLICE_NS ? now + PACE_SLICE_NS : due_ns;
    struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
    /* EINTR (e.g. SIGTERM): return so the host sees the stop at once. */
    return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0 && until >= due_ns;
}

/* 1: the next buffer is due now (and the one after is scheduled); 0: not yet,
 * return 0 from produce() so the host can look at its stop flag, and be
 * called again. Sleeps at most PACE_SLICE_NS. */
static inline int pace_wait(mqs_block_ctx *ctx, pacer *p)
{
    if (p->period_ns <= 0)
        return 1;
    if (p->next_ns == 0)
        p->next_ns = pace_clock_ns();
    if (!pace_sleep_until(ctx, p->next_ns))
        return 0;
    int64_t now = pace_clock_ns();
    /* Keep the schedule's phase; slots missed while stalled (backpressure,
     * a slow disk) are skipped rather than produced in a burst. */
    p->next_ns += p->period_ns;
    if (p->next_ns <= now)
        p->next_ns += ((now - p->next_ns) / p->period_ns + 1) * p->period_ns;
    return 1;
}

/* A trigger shared by several sources: slot k is due at start_ns + k *
 * period_ns, so sources with the same start and period capture on the same
 * instants. 1 once slot k is due (*due_ns is its instant), 0 not yet (as
 * pace_wait). Never skips: a source that fell behind gets its late slots at
 * once, in order, and catches up. */
static inline int pace_wait_slot(mqs_block_ctx *ctx, const pacer *p, int64_t start_ns, uint64_t k, int64_t *due_ns)
{
    *due_ns = start_ns + (int64_t)k * p->period_ns;
    return pace_sleep_until(ctx, *due_ns);
}

#endif
