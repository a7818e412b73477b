/* multiqueue-shm: timestamp alignment of a block's inputs, as settings and
 * as counters.
 *
 * A block with several inputs may have them aligned by pts before it sees
 * them: the worker hands it one input set at a time (docs/alignment.md). The
 * settings live in the domain with the block's process slot (from the graph's
 * `sync:`) and with each input's queue (`period`, `optional`); the counters
 * live in the domain too, written by the aligning worker and readable by any
 * process of the same user without disturbing it.
 */
#ifndef MQS_ALIGN_H
#define MQS_ALIGN_H

#include <stdbool.h>
#include <stdint.h>


#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqs_domain mqs_domain; /* domain.h, which includes this header */

typedef enum mqs_sync_policy {
    MQS_SYNC_NONE = 0,        /* each buffer alone, as it arrives */
    MQS_SYNC_EXACT = 1,       /* one buffer per input, equal pts */
    MQS_SYNC_APPROXIMATE = 2, /* one buffer per input, minimal spread within tolerance */
    MQS_SYNC_NEAREST = 3,     /* the reference drives; each other input: its buffer nearest in pts */
    MQS_SYNC_LATEST = 4,      /* the reference drives; each other input: its newest buffer at or before */
    MQS_SYNC_INTERPOLATE = 5, /* the reference drives; each other input: the two buffers around it */
} mqs_sync_policy;

/* "none", "exact", ...; "?" for an unknown value. */
const char *mqs_sync_policy_name(mqs_sync_policy policy);

/* No limit on the spread of a set. */
#define MQS_TOLERANCE_UNLIMITED INT64_MAX

/* Alignment settings of one block (one process slot). */
typedef struct mqs_sync_config {
    mqs_sync_policy policy;
    uint32_t reference;   /* nearest/latest/interpolate: queue index of the driving input; else UINT32_MAX */
    int64_t tolerance_ns; /* largest spread of a set; MQS_TOLERANCE_UNLIMITED */
    int64_t timeout_ns;   /* longest wait for a lagging or stopped input (> 0 when policy != none) */
    bool partial;         /* on_missing: partial (deliver without it) rather than drop */
} mqs_sync_config;

/* Why an aligner dropped a buffer. */
typedef enum mqs_drop_reason {
    MQS_DROP_NO_MATCH = 0,     /* nothing within tolerance to pair it with (or an input it needs has ended) */
    MQS_DROP_SUPERSEDED = 1,   /* a closer or newer buffer of the same input was chosen instead */
    MQS_DROP_TIMEOUT = 2,      /* its set gave up waiting (on_missing: drop), or it came after its set went */
    MQS_DROP_OUT_OF_ORDER = 3, /* its pts was not after the previous buffer's on the same input */
    MQS_DROP_OVERFLOW = 4,     /* the input already held `depth` buffers waiting for the reference */
    MQS_DROP_REASONS = 5
} mqs_drop_reason;

/* "no_match", "superseded", "timeout", "out_of_order", "overflow"; "?" otherwise. */
const char *mqs_drop_reason_name(mqs_drop_reason reason);

/* A log-linear histogram of non-negative values (ns): 16 exact buckets for
 * 0..15, then 8 per power of two up to 2^40, the last bucket open-ended. A
 * percentile read from it is within 1/16 (6.25 %) of the true value. */
#define MQS_HISTOGRAM_BUCKETS 304
typedef struct mqs_histogram {
    uint64_t count[MQS_HISTOGRAM_BUCKETS];
    uint64_t samples; /* sum of count[] */
    uint64_t max;     /* exact */
} mqs_histogram;

/* The value below which `percent` (0..100) of the samples lie, as the middle
 * of its bucket (the exact max for 100); 0 when there are no samples. */
int64_t mqs_histogram_percentile(const mqs_histogram *h, double percent);

/* Counters of one aligned block. */
typedef struct mqs_align_stats {
    mqs_sync_config config;
    uint64_t sets;          /* input sets handed to the block */
    uint64_t partial;       /* of which some member was missing */
    mqs_histogram spread;   /* latest minus earliest member pts of each set, ns */
    mqs_histogram latency;  /* arrival of a set's last member to its delivery, ns */
} mqs_align_stats;

/* 0, -ERANGE (no such process or NULL out), -ENOENT (it does not align: policy none). */
int mqs_align_stats_get(const mqs_domain *d, uint32_t process, mqs_align_stats *out);

/* Alignment settings and counters of one input (one queue). */
typedef struct mqs_input_stats {
    int64_t period_ns;   /* the graph's `period` hint, 0 if none */
    bool optional;       /* sets may go without it once it is late */
    uint64_t delivered;  /* buffers handed to the block in at least one set */
    uint64_t dropped[MQS_DROP_REASONS];
} mqs_input_stats;

/* 0 or -ERANGE. Counters stay 0 for inputs of blocks that do not align. */
int mqs_input_stats_get(const mqs_domain *d, uint32_t queue, mqs_input_stats *out);

#ifdef __cplusplus
}
#endif
#endif
