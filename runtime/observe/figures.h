/* Figures of a running graph over an interval (two snapshots): rates,
 * shares of time, fill, percentiles. mqrun --stats, mqctl status, top and
 * dot all show these, computed here once. */
#ifndef MQS_OBSERVE_FIGURES_H
#define MQS_OBSERVE_FIGURES_H

#include "snapshot.h"

typedef struct mqs_block_figures {
    const char *name;
    const char *state;          /* running, exited, free */
    const char *doing;          /* now: busy, input, output, slot, schedule, init, idle */
    uint32_t pid, restarts, held;
    bool measured;              /* ran through the interval: the shares below mean something */
    double cpu_percent;         /* of one CPU; -1: unknown */
    uint64_t rss_bytes;
    uint64_t calls;
    double calls_per_s;
    double busy_percent;        /* neither waiting nor blocked */
    double wait_percent;        /* waiting for input, or a source for its schedule */
    double blocked_percent;     /* waiting for room downstream or a free slot */
    int64_t call_p50_ns, call_p99_ns, call_max_ns; /* time in one block call (sampled) */
    uint64_t call_samples;
    int64_t input_age_ns;       /* how long it has been waiting for input; 0: it has input */
    int32_t exit_code, exit_signal;
    uint32_t exits;
    uint32_t report_count;
    const mqs_report_value *reports;
} mqs_block_figures;

typedef struct mqs_connection_figures {
    const char *from, *to;      /* block.output, block.input */
    uint32_t producer, consumer; /* process slots */
    const char *policy;
    uint32_t depth, queued;
    double fill_percent;
    double rate;                /* entries popped per second */
    uint64_t pushed, popped, dropped, drained, high_water;
} mqs_connection_figures;

typedef struct mqs_pool_figures {
    const char *name;
    uint32_t slots, in_use, high_water;
    uint64_t allocs, alloc_waits, rejected_ids;
    double allocs_per_s;
} mqs_pool_figures;

/* `before` may be NULL: then since each process attached (rates) or since
 * the start. `process` is a slot of 1.. (0 is the launcher). */
void mqs_figures_block(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t process,
                       mqs_block_figures *out);
void mqs_figures_connection(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t queue,
                            mqs_connection_figures *out);
void mqs_figures_pool(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t pool,
                      mqs_pool_figures *out);

/* Input sets per second an aligned block got over the interval (0 when
 * process p does not align), and the buffers its aligner dropped, all
 * reasons, all time. */
double mqs_figures_sets_per_s(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p);
uint64_t mqs_figures_align_drops(const mqs_stats_snapshot *now, uint32_t p);

/* The bottleneck: the busiest running block (process slot) and the fullest
 * connection (queue), or UINT32_MAX when nothing stands out (nothing above
 * 50 % busy, nothing above half full). */
void mqs_figures_bottleneck(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t *block,
                            uint32_t *queue);

#endif
