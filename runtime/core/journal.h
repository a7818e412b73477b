/* The journal: the reference operation a process is in the middle of.
 *
 * One record per process (mqs_journal in layout.h), written by that process
 * alone and read by reclaim only after it died. Every operation that moves
 * references (alloc, ref, unref, send, receive) brackets itself with
 * begin/end and notes each step in between, so that reclaim can tell exactly
 * what a process killed at any instruction had done (docs/memory-model.md,
 * "Crash safety"). Every change of a buffer's count is noted just before it
 * is made, with the value the process's holder bit will have once it is.
 *
 * Stores are relaxed: the reader looks only after the writer's death, which
 * waitpid orders before it (a tap leaving reads op and output of a live
 * sender after a system-wide barrier, core/tap.c). A compiler barrier after each note keeps them in
 * program order, which is the order a kill can cut them in. */
#ifndef MQS_CORE_JOURNAL_H
#define MQS_CORE_JOURNAL_H

#include "internal.h"

enum {
    MQS_OP_NONE = 0,
    MQS_OP_ALLOC = 1,   /* id: the slot being claimed */
    MQS_OP_REF = 2,     /* id, held */
    MQS_OP_UNREF = 3,   /* id, held */
    MQS_OP_RECEIVE = 4, /* id, held, queue, position; stage MQS_STAGE_RECEIVED once it is the process's */
    MQS_OP_SEND = 5,    /* id, held, output; stage: 0 before the count was raised, 1 + k once k
                           queues are settled; queue, position: the push under way (queue is
                           UINT32_MAX before the first); stolen: a drop_oldest entry it replaced;
                           taps: the taps it sends to after the output's queues (mqsi_send_target) */
};
enum { MQS_STAGE_RECEIVED = 1 };

#define mqsi_note(field, value) atomic_store_explicit(&d->self->journal.field, (value), memory_order_relaxed)
#define mqsi_after_note() atomic_signal_fence(memory_order_seq_cst)

static inline void mqsi_journal_begin(mqs_domain *d, uint32_t op, mqs_buffer_id id, uint32_t held)
{
    mqsi_note(id, id);
    mqsi_note(held, held);
    mqsi_note(stage, 0);
    mqsi_note(stolen, 0);
    mqsi_note(change_id, 0);
    mqsi_note(queue, UINT32_MAX);
    mqsi_note(output, UINT32_MAX);
    mqsi_note(taps, 0);
    mqsi_after_note();
    mqsi_note(op, op); /* last: the fields above belong to it */
    mqsi_after_note();
}

static inline void mqsi_journal_stage(mqs_domain *d, uint32_t stage)
{
    mqsi_note(stage, stage);
    mqsi_after_note();
}

/* queue is written last and vouches for position and stolen: a kill between
 * the stores must not pair a new queue with an earlier push's position. The
 * count changes of earlier queues are settled by the stage: forgotten, so
 * that a drop or steal of the same buffer on an earlier queue of a fan-out
 * is not taken for this queue's. */
static inline void mqsi_journal_queue(mqs_domain *d, uint32_t queue, uint64_t position)
{
    mqsi_note(queue, UINT32_MAX);
    mqsi_note(change_id, 0);
    mqsi_after_note();
    mqsi_note(position, position);
    mqsi_note(stolen, 0);
    mqsi_after_note();
    mqsi_note(queue, queue);
    mqsi_after_note();
}

static inline void mqsi_journal_output(mqs_domain *d, uint32_t output)
{
    mqsi_note(output, output);
    mqsi_after_note();
}

/* The taps a send goes to besides the output's queues, noted before the
 * count is raised for them. */
static inline void mqsi_journal_taps(mqs_domain *d, uint32_t taps)
{
    mqsi_note(taps, taps);
    mqsi_after_note();
}

static inline void mqsi_journal_stolen(mqs_domain *d, mqs_buffer_id id)
{
    mqsi_note(stolen, id);
    mqsi_after_note();
}

/* About to change id's count by delta; the holder bit will then read bit_after.
 * id is cleared first and written last: it vouches for delta and bit, which
 * an earlier change of the same buffer must not lend it. */
static inline void mqsi_journal_change(mqs_domain *d, mqs_buffer_id id, int32_t delta, uint32_t bit_after)
{
    mqsi_note(change_id, 0);
    mqsi_after_note();
    mqsi_note(change_delta, delta);
    mqsi_note(change_bit, bit_after);
    mqsi_after_note();
    mqsi_note(change_id, id);
    mqsi_after_note();
}

static inline void mqsi_journal_end(mqs_domain *d)
{
    mqsi_after_note();
    mqsi_note(op, MQS_OP_NONE);
    mqsi_after_note();
}

#undef mqsi_note

#endif
