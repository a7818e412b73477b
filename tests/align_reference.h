/* A model of the aligner's policies for tests, written from their rules
 * (docs/alignment.md) and not from align.c: whole streams in, the expected
 * sets and the fate of every buffer out.
 *
 * Approximate is a brute force over every combination of one buffer per
 * input. The other policies walk the reference stream buffer by buffer.
 * Nothing here knows about time or timeouts: the model holds for runs in
 * which no timeout fires and no ring fills. */
#ifndef MQS_TEST_ALIGN_REFERENCE_H
#define MQS_TEST_ALIGN_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "mqs/align.h"

#define REF_MAX_INPUTS 4
#define REF_MAX_BUFFERS 512 /* per input */
#define REF_MAX_SETS 1024
#define REF_NONE (-1)       /* no member */
#define REF_DELIVERED (-1)  /* fate of a buffer handed out in a set */
#define REF_UNDECIDED (-2)  /* fate of a buffer nothing decided yet */

typedef struct ref_config {
    mqs_sync_policy policy;
    uint32_t input_count;
    uint32_t reference;              /* nearest, latest, interpolate */
    int64_t tolerance;               /* MQS_TOLERANCE_UNLIMITED */
    bool partial;                    /* on_missing: partial */
    bool optional[REF_MAX_INPUTS];
    int64_t period[REF_MAX_INPUTS];  /* ref_approximate_online: hint, 0 unknown */
} ref_config;

/* What was pushed on one input, in push order (out-of-order pts included). */
typedef struct ref_stream {
    uint32_t count;
    int64_t pts[REF_MAX_BUFFERS];
} ref_stream;

/* Members are indices into the input's ref_stream, REF_NONE when missing. */
typedef struct ref_set {
    int64_t pts;
    int64_t spread;
    bool partial;
    int32_t member[REF_MAX_INPUTS];
    int32_t next[REF_MAX_INPUTS];   /* interpolate, else REF_NONE */
    double weight[REF_MAX_INPUTS];  /* interpolate, else 0 */
    uint32_t decided_at;            /* ref_approximate_online: the event after which it is final */
} ref_set;

typedef struct ref_result {
    uint32_t set_count;
    ref_set sets[REF_MAX_SETS];
    int32_t fate[REF_MAX_INPUTS][REF_MAX_BUFFERS]; /* REF_DELIVERED or a mqs_drop_reason */
    uint64_t delivered[REF_MAX_INPUTS];
    uint64_t dropped[REF_MAX_INPUTS][MQS_DROP_REASONS];
} ref_result;

/* One step of a run: input `input` pushes its next buffer, or ends. */
typedef struct ref_event {
    uint32_t input;
    bool end;
} ref_event;

/* Every stream known and ended: the sets and fates of any run of these
 * streams in which no timeout fires and no ring fills. */
void ref_align(const ref_config *c, const ref_stream *streams, ref_result *out);

/* Approximate, run event by event: after each event, everything that is
 * provable from what arrived so far is decided (a set is final when no
 * buffer still to come could make a narrower window; every future buffer of
 * input i has pts >= its last pts + max(period, 1)). Each set's decided_at
 * is the index of the event after which it became final. */
void ref_approximate_online(const ref_config *c, const ref_stream *streams, const ref_event *events,
                            uint32_t event_count, ref_result *out);

#endif
