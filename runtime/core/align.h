/* The aligner: turns buffers arriving on several inputs into input sets
 * aligned by pts (docs/alignment.md has each policy's rules and pictures).
 *
 * A pure module. It knows nothing of processes or rings: it is fed
 * (input, pts, buffer id) with the current monotonic time and hands out sets
 * and drops. It is deterministic (the same calls give the same sets and
 * drops), holds at most `depth` buffers per input, and never allocates, locks
 * or makes a syscall after mqs_align_create.
 *
 * Ownership: mqs_align_push hands the aligner one reference to the buffer.
 * The aligner gives every reference back through the `release` callback
 * exactly once: when it drops the buffer (after counting the drop with its
 * reason), when a delivered set no longer needs it (mqs_align_done), or at
 * mqs_align_destroy. A set's buffers stay held from mqs_align_next until
 * mqs_align_done.
 *
 * The aligner's rules in brief: pts must increase on each input (else the
 * buffer is dropped, `out_of_order`); a set never crosses an earlier one
 * (on every input its members come after the earlier set's); only latest and
 * interpolate may use a buffer in more than one set; a set goes out as soon as
 * it is provably final, or once its oldest member has waited `timeout` (then
 * the inputs it waited for count as late until they send something new, and
 * the set goes without them: partial, or dropped for on_missing drop). */
#ifndef MQS_CORE_ALIGN_H
#define MQS_CORE_ALIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "mqs/align.h"
#include "mqs/types.h"

#define MQS_ALIGN_MAX_INPUTS 64

typedef struct mqs_aligner mqs_aligner;

typedef struct mqs_align_input_config {
    uint32_t depth;            /* buffers the aligner may hold for this input, 1..65536 */
    int64_t period_ns;         /* least time between two of its pts; 0: unknown */
    bool optional;             /* a set may go without it once it is late, whatever on_missing says */
    mqs_input_shared *counters; /* where its counters go (shared memory, or a test's) */
} mqs_align_input_config;

typedef struct mqs_align_config {
    mqs_sync_policy policy;    /* not MQS_SYNC_NONE */
    uint32_t reference;        /* nearest/latest/interpolate: the driving input's index */
    int64_t tolerance_ns;      /* >= 0; MQS_TOLERANCE_UNLIMITED */
    int64_t timeout_ns;        /* > 0 */
    bool partial;              /* on_missing: partial */
    uint32_t input_count;      /* 1..MQS_ALIGN_MAX_INPUTS */
    mqs_align_input_config inputs[MQS_ALIGN_MAX_INPUTS];
    mqs_align_shared *counters; /* the block's counters */
    void (*release)(void *arg, mqs_buffer_id id);
    void *release_arg;
} mqs_align_config;

/* One input set. Members are by input index; a missing member is
 * MQS_BUFFER_ID_NONE. */
typedef struct mqs_align_set {
    uint32_t input_count;
    bool partial;              /* some member is missing */
    int64_t pts;               /* exact: the common pts; approximate: the earliest member's;
                                  nearest/latest/interpolate: the reference's */
    int64_t spread;            /* latest minus earliest member pts */
    mqs_buffer_id id[MQS_ALIGN_MAX_INPUTS];
    int64_t member_pts[MQS_ALIGN_MAX_INPUTS];
    /* interpolate: the buffer after pts (NONE if there is none yet: a held
     * value), and where pts lies between the two: (pts - id.pts) / (next.pts
     * - id.pts), in [0, 1). Other policies: NONE and 0. */
    mqs_buffer_id next[MQS_ALIGN_MAX_INPUTS];
    double weight[MQS_ALIGN_MAX_INPUTS];
} mqs_align_set;

/* NULL when the config is not valid or memory runs out (mqs_last_error says
 * which). The one allocation the aligner makes. */
mqs_aligner *mqs_align_create(const mqs_align_config *config);

/* Release every buffer still held (not counted as dropped) and free. */
void mqs_align_destroy(mqs_aligner *a);

/* Whether input `input` may be pushed now. An input that holds `depth`
 * buffers takes no more until a set or a drop frees room: leave its buffers
 * in its ring, where the ring's own full policy applies (block: lossless
 * backpressure). Always true for the non-reference inputs of nearest, latest
 * and interpolate, which drop their oldest buffer instead (`overflow`): they
 * must not stall their producers while the reference lags. */
bool mqs_align_has_room(const mqs_aligner *a, uint32_t input);

/* Hand over one reference to buffer `id` of input `input` with its pts,
 * arriving at `now` (monotonic ns). The caller checked mqs_align_has_room. */
void mqs_align_push(mqs_aligner *a, uint32_t input, int64_t pts, mqs_buffer_id id, int64_t now);

/* End of stream on `input`: nothing more will come. */
void mqs_align_end(mqs_aligner *a, uint32_t input);

/* The next set that is final at `now`, or NULL. Drops decided on the way are
 * counted and released. Call mqs_align_done before calling next again. */
const mqs_align_set *mqs_align_next(mqs_aligner *a, int64_t now);

/* The set from mqs_align_next was used: release what it alone held. */
void mqs_align_done(mqs_aligner *a);

/* When mqs_align_next may produce a set or a drop without any new push or
 * end (a timeout falling due), in monotonic ns; INT64_MAX if never. */
int64_t mqs_align_deadline(const mqs_aligner *a);

/* Buffers held right now (waiting, or kept for reuse). */
uint32_t mqs_align_held(const mqs_aligner *a);

/* Every input ended and everything was decided: no more sets will come. */
bool mqs_align_finished(const mqs_aligner *a);

/* ---- align_domain.c: the aligner of a process's inputs ---- */

/* An aligner for the calling process's input queues `queues` (aligner input
 * k is queues[k]), configured from the domain: the process's sync settings,
 * each queue's depth, period and optional flag, the counters in shared
 * memory, and releases by mqs_buffer_unref. NULL when the process does not
 * align (policy none), the reference is not among `queues`, or memory runs
 * out (mqs_last_error says which). */
mqs_aligner *mqs_align_create_for(mqs_domain *d, const uint32_t *queues, uint32_t count);

#endif
