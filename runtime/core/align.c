/* The aligner (align.h): one ring of waiting buffers per input, and one
 * decision step per policy. mqs_align_next repeats the policy's step: each
 * step either hands out a set, drops one buffer (progress), or says which
 * inputs it waits for; a wait that outlasts the timeout marks those inputs
 * late, and the step is taken again without them.
 *
 * A step decides from pts alone: an input's next buffer is known to come
 * after its last one (plus its `period` hint), never at all once it ended or
 * is late, and no sooner than its ring has room. So the sets and drops depend
 * on the timestamps, not on the order in which inputs arrived, unless a
 * timeout fires or a ring fills. docs/alignment.md states each policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "internal.h"

#define NEVER INT64_MAX       /* "no such time": no deadline, no next buffer */
#define BEFORE_ALL INT64_MIN  /* a lower bound that proves nothing */

typedef uint64_t mask; /* one bit per input */
#define BIT(i) ((mask)1 << (i))

typedef struct entry {
    int64_t pts;
    int64_t arrival;
    mqs_buffer_id id;
    uint32_t uses; /* sets it was handed out in */
    uint32_t reserved;
} entry;

typedef struct input {
    entry *ring;
    uint32_t mask, first, count, depth;
    int64_t period;
    int64_t last_pts;  /* newest accepted pts (valid when have_last) */
    int64_t floor;     /* exact, approximate, nearest: a set went without this input up to here */
    bool have_last, ended, late, optional;
    mqs_input_shared *counters;
} input;

typedef enum { STEP_WAIT, STEP_PROGRESS, STEP_SET } step;

struct mqs_aligner {
    mqs_sync_policy policy;
    uint32_t reference, count;
    int64_t tolerance, timeout;
    bool partial, set_out;
    mqs_align_shared *counters;
    void (*release)(void *arg, mqs_buffer_id id);
    void *release_arg;
    uint32_t held;
    int64_t deadline;
    mask waiting;       /* inputs the last step waited for */
    int64_t wait_since; /* arrival of the oldest buffer that step kept waiting */
    mask owned;         /* set members that the set alone holds (released at done) */
    int64_t last_arrival; /* of the members of the set being built */
    input in[MQS_ALIGN_MAX_INPUTS];
    mqs_align_set set; /* next[] and weight[] stay NONE and 0 but for interpolate */
    /* Scratch of the approximate search, per input: the window's position
     * and value, and the narrowest window's position. */
    uint32_t cursor[MQS_ALIGN_MAX_INPUTS], best[MQS_ALIGN_MAX_INPUTS];
    int64_t value[MQS_ALIGN_MAX_INPUTS];
};

/* ---- names ---- */

const char *mqs_sync_policy_name(mqs_sync_policy policy)
{
    static const char *const names[] = {"none", "exact", "approximate", "nearest", "latest", "interpolate"};
    return (unsigned)policy < sizeof names / sizeof names[0] ? names[policy] : "?";
}

const char *mqs_drop_reason_name(mqs_drop_reason reason)
{
    static const char *const names[] = {"no_match", "superseded", "timeout", "out_of_order", "overflow"};
    return (unsigned)reason < MQS_DROP_REASONS ? names[reason] : "?";
}

/* ---- small helpers ---- */

static bool reference_policy(mqs_sync_policy p)
{
    return p == MQS_SYNC_NEAREST || p == MQS_SYNC_LATEST || p == MQS_SYNC_INTERPOLATE;
}

/* hi - lo, saturating (either may be NEVER or BEFORE_ALL). */
static int64_t span(int64_t hi, int64_t lo)
{
    if (hi == NEVER || lo == BEFORE_ALL)
        return NEVER;
    if (lo > 0 && hi < BEFORE_ALL + lo)
        return BEFORE_ALL;
    if (lo < 0 && hi > NEVER + lo)
        return NEVER;
    return hi - lo;
}

static entry *at(const input *in, uint32_t k) { return &in->ring[(in->first + k) & in->mask]; }

/* Ended, or late: no buffer is expected from it for now. */
static bool gone(const input *in) { return in->ended || in->late; }

/* Every buffer still to come on this input has pts >= this. */
static int64_t next_lower_bound(const input *in)
{
    if (gone(in))
        return NEVER;
    if (!in->have_last)
        return BEFORE_ALL;
    int64_t gap = in->period > 0 ? in->period : 1;
    return in->last_pts > NEVER - gap ? NEVER : in->last_pts + gap;
}

static void give_back(mqs_aligner *a, mqs_buffer_id id)
{
    a->held--;
    a->release(a->release_arg, id);
}

static void drop_id(mqs_aligner *a, uint32_t i, mqs_buffer_id id, mqs_drop_reason why)
{
    mqsi_count(&a->in[i].counters->dropped[why], 1);
    give_back(a, id);
}

static entry pop_front(input *in)
{
    entry e = *at(in, 0);
    in->first++;
    in->count--;
    return e;
}

/* Drop the oldest buffer of input i. */
static void drop_front(mqs_aligner *a, uint32_t i, mqs_drop_reason why)
{
    entry e = pop_front(&a->in[i]);
    drop_id(a, i, e.id, why);
}

/* The oldest buffer of input i is no longer needed: released if a set used
 * it, else dropped for `why`. */
static void retire_front(mqs_aligner *a, uint32_t i, mqs_drop_reason why)
{
    entry e = pop_front(&a->in[i]);
    if (e.uses)
        give_back(a, e.id);
    else
        drop_id(a, i, e.id, why);
}

static step wait_for(mqs_aligner *a, mask inputs, int64_t since)
{
    a->waiting = inputs;
    a->wait_since = since;
    return STEP_WAIT;
}

/* May a set go out without these inputs? */
static bool deliverable(const mqs_aligner *a, mask missing)
{
    if (a->partial)
        return true;
    for (uint32_t i = 0; i < a->count; i++)
        if ((missing & BIT(i)) && !a->in[i].optional)
            return false;
    return true;
}

static mqs_drop_reason missing_reason(const mqs_aligner *a, mask missing)
{
    for (uint32_t i = 0; i < a->count; i++)
        if ((missing & BIT(i)) && a->in[i].late)
            return MQS_DROP_TIMEOUT;
    return MQS_DROP_NO_MATCH;
}

/* ---- building a set ---- */

static void set_begin(mqs_aligner *a, int64_t pts)
{
    mqs_align_set *s = &a->set;
    s->input_count = a->count;
    s->pts = pts;
    s->partial = false;
    for (uint32_t i = 0; i < a->count; i++)
        s->id[i] = MQS_BUFFER_ID_NONE; /* member_pts is set with id */
    if (a->policy == MQS_SYNC_INTERPOLATE)
        for (uint32_t i = 0; i < a->count; i++)
            s->next[i] = MQS_BUFFER_ID_NONE, s->weight[i] = 0;
    a->owned = 0;
    a->last_arrival = BEFORE_ALL;
}

static void note_use(mqs_aligner *a, uint32_t i, entry *e)
{
    if (e->uses++ == 0)
        mqsi_count(&a->in[i].counters->delivered, 1);
    if (e->arrival > a->last_arrival)
        a->last_arrival = e->arrival;
}

/* Member of input i that stays in its ring (latest, interpolate). */
static void set_keep(mqs_aligner *a, uint32_t i, entry *e)
{
    note_use(a, i, e);
    a->set.id[i] = e->id;
    a->set.member_pts[i] = e->pts;
}

/* Member of input i taken out of its ring: the set alone holds it now. */
static void set_take(mqs_aligner *a, uint32_t i)
{
    note_use(a, i, at(&a->in[i], 0));
    entry e = pop_front(&a->in[i]);
    a->set.id[i] = e.id;
    a->set.member_pts[i] = e.pts;
    a->owned |= BIT(i);
}

/* Spread, partial flag, and for the policies that use a buffer once the
 * floor of inputs the set went without: what of theirs comes later, at or
 * before the set's latest member, came too late. (latest and interpolate
 * hold values: a late buffer may still be the newest value for what comes.) */
static void set_finish(mqs_aligner *a)
{
    mqs_align_set *s = &a->set;
    int64_t lo = NEVER, hi = BEFORE_ALL;
    for (uint32_t i = 0; i < a->count; i++) {
        if (s->id[i] == MQS_BUFFER_ID_NONE) {
            s->partial = true;
            continue;
        }
        lo = s->member_pts[i] < lo ? s->member_pts[i] : lo;
        hi = s->member_pts[i] > hi ? s->member_pts[i] : hi;
    }
    s->spread = hi >= lo ? hi - lo : 0;
    if (a->policy == MQS_SYNC_LATEST || a->policy == MQS_SYNC_INTERPOLATE)
        return;
    for (uint32_t i = 0; i < a->count; i++)
        if (s->id[i] == MQS_BUFFER_ID_NONE && hi > a->in[i].floor)
            a->in[i].floor = hi;
}

/* ---- exact ---- */

typedef struct heads {
    mask present, missing, unknown; /* has a buffer; empty and gone; empty and may still send */
    uint32_t first;                 /* input of the earliest head (lowest index on ties) */
    int64_t low, high;              /* earliest and latest head pts */
    int64_t since;                  /* earliest arrival among the heads */
} heads;

static heads look_at_heads(const mqs_aligner *a)
{
    heads h = {.low = NEVER, .high = BEFORE_ALL, .since = NEVER};
    for (uint32_t i = 0; i < a->count; i++) {
        const input *in = &a->in[i];
        if (in->count == 0) {
            if (gone(in))
                h.missing |= BIT(i);
            else
                h.unknown |= BIT(i);
            continue;
        }
        const entry *e = at(in, 0);
        h.present |= BIT(i);
        if (e->pts < h.low)
            h.low = e->pts, h.first = i;
        if (e->pts > h.high)
            h.high = e->pts;
        if (e->arrival < h.since)
            h.since = e->arrival;
    }
    return h;
}

/* The inputs that may still send, but whose next buffer comes later than
 * `reach` after the earliest head: it cannot be in a set with them. */
static mask out_of_reach(const mqs_aligner *a, const heads *h, int64_t reach)
{
    mask far = 0;
    for (uint32_t i = 0; i < a->count; i++)
        if ((h->unknown & BIT(i)) && span(next_lower_bound(&a->in[i]), h->low) > reach)
            far |= BIT(i);
    return far;
}

/* The earliest head has no partner on some input: drop it now if no set
 * could go without that input. If one could (partial, optional), wait: the
 * input may still end, and then the set goes out without it. */
static bool hopeless(const mqs_aligner *a, const heads *h, mask far)
{
    return far && !deliverable(a, h->missing | far);
}

/* A set that lacks inputs it may not go without: its members are dropped
 * for the reason they are missing. */
static void drop_members(mqs_aligner *a, mask members, const uint32_t *skip, mqs_drop_reason why)
{
    for (uint32_t i = 0; i < a->count; i++) {
        if (!(members & BIT(i)))
            continue;
        for (uint32_t k = 0; skip && k < skip[i]; k++)
            drop_front(a, i, MQS_DROP_SUPERSEDED);
        drop_front(a, i, why);
    }
}

static step exact_step(mqs_aligner *a)
{
    heads h = look_at_heads(a);
    if (!h.present)
        return wait_for(a, 0, NEVER);
    /* Every later buffer of the latest head's input comes after the earliest head. */
    if (h.high > h.low || hopeless(a, &h, out_of_reach(a, &h, 0))) {
        drop_front(a, h.first, MQS_DROP_NO_MATCH);
        return STEP_PROGRESS;
    }
    if (h.unknown)
        return wait_for(a, h.unknown, h.since);
    if (h.missing && !deliverable(a, h.missing)) {
        drop_members(a, h.present, NULL, missing_reason(a, h.missing));
        return STEP_PROGRESS;
    }
    set_begin(a, h.low);
    for (uint32_t i = 0; i < a->count; i++)
        if (h.present & BIT(i))
            set_take(a, i);
    return STEP_SET;
}

/* ---- approximate ---- */

/* The search's window: a position in each present input's ring (a->cursor,
 * value = its pts), or, for an input the window ran past (virtual), a lower
 * bound on the pts of the buffer it still lacks. */
typedef struct window {
    uint32_t members[MQS_ALIGN_MAX_INPUTS]; /* the present inputs */
    uint32_t count;
    mask virtual_inputs;
    uint32_t start;     /* input of the earliest value (lowest index on ties) */
    int64_t low, high;  /* earliest and latest value */
} window;

static void measure_window(const mqs_aligner *a, window *w)
{
    w->low = NEVER, w->high = BEFORE_ALL;
    for (uint32_t m = 0; m < w->count; m++) {
        uint32_t i = w->members[m];
        int64_t v = a->value[i];
        if (v < w->low)
            w->low = v, w->start = i;
        if (v > w->high)
            w->high = v;
    }
}

/* Move input s of the window one buffer later: 1 if it moved to a real
 * buffer, 0 if past its ring (now virtual), -1 if nothing later can come. */
static int advance(mqs_aligner *a, window *w, uint32_t s, int64_t pivot_time)
{
    const input *in = &a->in[s];
    if (a->cursor[s] + 1 < in->count) {
        a->value[s] = at(in, ++a->cursor[s])->pts;
        return 1;
    }
    /* A full ring takes nothing more until this decision is made. */
    int64_t bound = in->count >= in->depth ? NEVER : next_lower_bound(in);
    if (bound == NEVER)
        return -1;
    a->value[s] = bound > pivot_time ? bound : pivot_time;
    w->virtual_inputs |= BIT(s);
    return 0;
}

/* ROS ApproximateTime's search: the pivot is the input with the latest head
 * (highest index on ties); every window that still holds the pivot's head
 * is a candidate, found by moving the earliest member on; the narrowest
 * wins (the first, on ties) and ends up in a->best. The candidate is final
 * once the earliest member is the pivot's head, or once even the most
 * optimistic later window is no narrower. */
static step approximate_search(mqs_aligner *a, const heads *h)
{
    window w; /* filled below: zeroing all 64 members would cost more than the search */
    w.count = w.start = 0;
    w.virtual_inputs = 0;
    uint32_t pivot = 0;
    for (uint32_t i = 0; i < a->count; i++)
        if (h->present & BIT(i)) {
            a->cursor[i] = a->best[i] = 0;
            a->value[i] = at(&a->in[i], 0)->pts;
            w.members[w.count++] = i;
            pivot = a->value[i] == h->high ? i : pivot;
        }
    int64_t pivot_time = h->high, best_spread = span(h->high, h->low);
    measure_window(a, &w);
    for (;;) {
        if (w.start == pivot || (w.virtual_inputs & BIT(w.start)) || span(w.high, pivot_time) >= best_spread)
            return STEP_SET;
        if (advance(a, &w, w.start, pivot_time) < 0)
            return STEP_SET;
        /* The usual end: the input moved on lies `best_spread` or more past
         * the pivot, so this and every later window is no narrower. */
        if (span(a->value[w.start], pivot_time) >= best_spread)
            return STEP_SET;
        measure_window(a, &w);
        int64_t spread = span(w.high, w.low);
        if (!w.virtual_inputs) {
            if (spread < best_spread) {
                best_spread = spread;
                for (uint32_t m = 0; m < w.count; m++)
                    a->best[w.members[m]] = a->cursor[w.members[m]];
            }
            continue;
        }
        if (span(w.high, pivot_time) >= best_spread)
            return STEP_SET;
        if (spread < best_spread) /* a narrower window may still come: wait for the inputs it needs */
            return wait_for(a, w.virtual_inputs, h->since);
    }
}

static step approximate_step(mqs_aligner *a)
{
    heads h = look_at_heads(a);
    if (!h.present)
        return wait_for(a, 0, NEVER);
    if (span(h.high, h.low) > a->tolerance || hopeless(a, &h, out_of_reach(a, &h, a->tolerance))) {
        drop_front(a, h.first, MQS_DROP_NO_MATCH);
        return STEP_PROGRESS;
    }
    if (h.unknown)
        return wait_for(a, h.unknown, h.since);
    if (approximate_search(a, &h) == STEP_WAIT)
        return STEP_WAIT;
    if (h.missing && !deliverable(a, h.missing)) {
        drop_members(a, h.present, a->best, missing_reason(a, h.missing));
        return STEP_PROGRESS;
    }
    int64_t earliest = NEVER;
    for (uint32_t i = 0; i < a->count; i++)
        if ((h.present & BIT(i)) && at(&a->in[i], a->best[i])->pts < earliest)
            earliest = at(&a->in[i], a->best[i])->pts;
    set_begin(a, earliest);
    for (uint32_t i = 0; i < a->count; i++) {
        if (!(h.present & BIT(i)))
            continue;
        for (uint32_t k = 0; k < a->best[i]; k++)
            drop_front(a, i, MQS_DROP_SUPERSEDED);
        set_take(a, i);
    }
    return STEP_SET;
}

/* ---- reference policies: nearest, latest, interpolate ---- */

/* The reference ended with nothing left: no set will come, so the other
 * inputs' buffers are of no use. */
static step reference_gone(mqs_aligner *a)
{
    bool dropped = false;
    for (uint32_t i = 0; i < a->count; i++)
        while (i != a->reference && a->in[i].count) {
            retire_front(a, i, MQS_DROP_NO_MATCH);
            dropped = true;
        }
    return dropped ? STEP_PROGRESS : wait_for(a, 0, NEVER);
}

/* What one non-reference input gives the set. */
typedef struct pick {
    int32_t member, next; /* ring positions, -1: none */
    double weight;
    bool final;           /* no later buffer can change it */
} pick;

static pick pick_nearest(mqs_aligner *a, uint32_t j, int64_t r)
{
    input *in = &a->in[j];
    /* Too early for this reference, so for every later one. */
    while (in->count && span(r, at(in, 0)->pts) > a->tolerance)
        drop_front(a, j, MQS_DROP_NO_MATCH);
    pick p = {.member = -1, .next = -1};
    int64_t best = NEVER;
    bool passed = false; /* saw a buffer at or after r: later ones are farther */
    for (uint32_t k = 0; k < in->count && !passed; k++) {
        int64_t t = at(in, k)->pts, d = t >= r ? span(t, r) : span(r, t);
        passed = t >= r;
        if (d <= a->tolerance && d < best)
            best = d, p.member = (int32_t)k;
    }
    /* Later buffers come at or after the bound: final once none of them
     * could be nearer (on a tie the earlier buffer stays), or none could be
     * within tolerance at all. */
    int64_t ahead = span(next_lower_bound(in), r);
    p.final = passed || (best != NEVER ? ahead >= best : ahead > a->tolerance);
    return p;
}

/* Index of the newest buffer at or before r (-1: none), after retiring
 * the ones it supersedes. */
static int32_t newest_at_or_before(mqs_aligner *a, uint32_t j, int64_t r)
{
    input *in = &a->in[j];
    int32_t k = -1;
    while ((uint32_t)(k + 1) < in->count && at(in, (uint32_t)(k + 1))->pts <= r)
        k++;
    for (; k > 0; k--)
        retire_front(a, j, MQS_DROP_SUPERSEDED);
    return k;
}

static pick pick_latest(mqs_aligner *a, uint32_t j, int64_t r)
{
    input *in = &a->in[j];
    int32_t k = newest_at_or_before(a, j, r);
    pick p = {.member = -1, .next = -1};
    if (k >= 0 && span(r, at(in, (uint32_t)k)->pts) <= a->tolerance)
        p.member = k;
    p.final = (uint32_t)(k + 1) < in->count || next_lower_bound(in) > r;
    return p;
}

static pick pick_interpolate(mqs_aligner *a, uint32_t j, int64_t r)
{
    input *in = &a->in[j];
    int32_t k = newest_at_or_before(a, j, r);
    pick p = {.member = -1, .next = -1};
    bool has_after = (uint32_t)(k + 1) < in->count;
    bool a_ok = k >= 0 && span(r, at(in, (uint32_t)k)->pts) <= a->tolerance;
    if (k >= 0 && at(in, (uint32_t)k)->pts == r) {
        p.member = p.next = k; /* exactly on the reference: no need to wait for the next */
        p.final = true;
        return p;
    }
    p.final = has_after || (k < 0 && next_lower_bound(in) > r) || gone(in);
    if (!a_ok)
        return p;
    p.member = k;
    if (has_after && span(at(in, (uint32_t)k + 1)->pts, r) <= a->tolerance) {
        int64_t lo = at(in, (uint32_t)k)->pts, hi = at(in, (uint32_t)k + 1)->pts;
        p.next = k + 1;
        p.weight = (double)(r - lo) / (double)(hi - lo);
    }
    return p;
}

static pick pick_for(mqs_aligner *a, uint32_t j, int64_t r)
{
    switch (a->policy) {
    case MQS_SYNC_NEAREST: return pick_nearest(a, j, r);
    case MQS_SYNC_LATEST: return pick_latest(a, j, r);
    default: return pick_interpolate(a, j, r);
    }
}

static void take_picks(mqs_aligner *a, const pick *picks, int64_t r)
{
    set_begin(a, r);
    set_take(a, a->reference);
    for (uint32_t j = 0; j < a->count; j++) {
        const pick *p = &picks[j];
        if (j == a->reference || p->member < 0)
            continue;
        if (a->policy == MQS_SYNC_NEAREST) { /* used once: what it passed over is superseded */
            for (int32_t k = 0; k < p->member; k++)
                drop_front(a, j, MQS_DROP_SUPERSEDED);
            set_take(a, j);
            continue;
        }
        set_keep(a, j, at(&a->in[j], (uint32_t)p->member));
        if (p->next >= 0) {
            entry *n = at(&a->in[j], (uint32_t)p->next);
            note_use(a, j, n);
            a->set.next[j] = n->id;
            a->set.weight[j] = p->weight;
        }
    }
}

static step reference_step(mqs_aligner *a)
{
    input *ref = &a->in[a->reference];
    if (ref->count == 0)
        return ref->ended ? reference_gone(a) : wait_for(a, 0, NEVER);
    const entry *r = at(ref, 0);
    pick picks[MQS_ALIGN_MAX_INPUTS];
    mask waiting = 0, missing = 0;
    for (uint32_t j = 0; j < a->count; j++) {
        if (j == a->reference)
            continue;
        picks[j] = pick_for(a, j, r->pts);
        if (!picks[j].final)
            waiting |= BIT(j);
        else if (picks[j].member < 0)
            missing |= BIT(j);
    }
    if (waiting)
        return wait_for(a, waiting, r->arrival);
    if (missing && !deliverable(a, missing)) {
        drop_front(a, a->reference, missing_reason(a, missing));
        return STEP_PROGRESS;
    }
    take_picks(a, picks, r->pts);
    return STEP_SET;
}

/* ---- the public face ---- */

static step policy_step(mqs_aligner *a)
{
    switch (a->policy) {
    case MQS_SYNC_EXACT: return exact_step(a);
    case MQS_SYNC_APPROXIMATE: return approximate_step(a);
    default: return reference_step(a);
    }
}

static void count_set(mqs_aligner *a, int64_t now)
{
    mqs_align_shared *c = a->counters;
    mqsi_count(&c->sets, 1);
    if (a->set.partial)
        mqsi_count(&c->partial_sets, 1);
    mqsi_histogram_add(&c->spread, (uint64_t)a->set.spread);
    int64_t latency = now > a->last_arrival ? now - a->last_arrival : 0;
    mqsi_histogram_add(&c->latency, (uint64_t)latency);
}

const mqs_align_set *mqs_align_next(mqs_aligner *a, int64_t now)
{
    if (a->set_out)
        mqs_align_done(a);
    a->deadline = NEVER;
    for (;;) {
        a->waiting = 0;
        a->wait_since = NEVER;
        step s = policy_step(a);
        if (s == STEP_SET) {
            set_finish(a);
            count_set(a, now);
            a->set_out = true;
            return &a->set;
        }
        if (s == STEP_PROGRESS)
            continue;
        if (!a->waiting || a->wait_since == NEVER)
            return NULL;
        int64_t due = a->wait_since > NEVER - a->timeout ? NEVER : a->wait_since + a->timeout;
        if (now < due) {
            a->deadline = due;
            return NULL;
        }
        /* Waited long enough: decide without them until they send again. */
        for (uint32_t i = 0; i < a->count; i++)
            if (a->waiting & BIT(i))
                a->in[i].late = true;
    }
}

void mqs_align_done(mqs_aligner *a)
{
    if (!a->set_out)
        return;
    a->set_out = false;
    for (uint32_t i = 0; i < a->count; i++)
        if (a->owned & BIT(i))
            give_back(a, a->set.id[i]);
    a->owned = 0;
}

bool mqs_align_has_room(const mqs_aligner *a, uint32_t i)
{
    if (i >= a->count)
        return false;
    bool spills = reference_policy(a->policy) && i != a->reference;
    return spills || a->in[i].count < a->in[i].depth;
}

void mqs_align_push(mqs_aligner *a, uint32_t i, int64_t pts, mqs_buffer_id id, int64_t now)
{
    input *in = &a->in[i];
    a->held++;
    if (in->have_last && pts <= in->last_pts) {
        drop_id(a, i, id, MQS_DROP_OUT_OF_ORDER);
        return;
    }
    in->last_pts = pts;
    in->have_last = true;
    in->late = false; /* it sends again: wait for it again */
    if (pts <= in->floor) { /* but this one's set already went without it */
        drop_id(a, i, id, MQS_DROP_TIMEOUT);
        return;
    }
    if (in->count >= in->depth)
        retire_front(a, i, MQS_DROP_OVERFLOW);
    *at(in, in->count++) = (entry){.pts = pts, .arrival = now, .id = id};
}

void mqs_align_end(mqs_aligner *a, uint32_t i)
{
    if (i < a->count)
        a->in[i].ended = true;
}

int64_t mqs_align_deadline(const mqs_aligner *a) { return a->deadline; }

uint32_t mqs_align_held(const mqs_aligner *a) { return a->held; }

bool mqs_align_finished(const mqs_aligner *a)
{
    for (uint32_t i = 0; i < a->count; i++)
        if (!a->in[i].ended)
            return false;
    return a->held == 0 && !a->set_out;
}

/* ---- creation ---- */

static int check_config(const mqs_align_config *c)
{
    if (!c || !c->release || !c->counters)
        return mqsi_fail(-EINVAL, "aligner: no config, release callback or counters");
    if (c->policy <= MQS_SYNC_NONE || c->policy > MQS_SYNC_INTERPOLATE)
        return mqsi_fail(-EINVAL, "aligner: unknown policy %d", (int)c->policy);
    if (c->input_count == 0 || c->input_count > MQS_ALIGN_MAX_INPUTS)
        return mqsi_fail(-EINVAL, "aligner: %u inputs, 1..%d allowed", c->input_count, MQS_ALIGN_MAX_INPUTS);
    if (reference_policy(c->policy) && c->reference >= c->input_count)
        return mqsi_fail(-EINVAL, "aligner: reference input %u does not exist", c->reference);
    if (c->timeout_ns <= 0 || c->tolerance_ns < 0)
        return mqsi_fail(-EINVAL, "aligner: timeout must be > 0 and tolerance >= 0");
    for (uint32_t i = 0; i < c->input_count; i++)
        if (c->inputs[i].depth == 0 || c->inputs[i].depth > 65536 || !c->inputs[i].counters ||
            c->inputs[i].period_ns < 0)
            return mqsi_fail(-EINVAL, "aligner: input %u needs depth 1..65536, counters, period >= 0", i);
    return 0;
}

mqs_aligner *mqs_align_create(const mqs_align_config *c)
{
    mqsi_clear_error();
    if (check_config(c) != 0)
        return NULL;
    size_t entries = 0;
    for (uint32_t i = 0; i < c->input_count; i++)
        entries += mqsi_round_pow2(c->inputs[i].depth);
    mqs_aligner *a = calloc(1, sizeof *a + entries * sizeof(entry));
    if (!a) {
        mqsi_fail(-ENOMEM, "aligner: out of memory");
        return NULL;
    }
    *a = (mqs_aligner){.policy = c->policy, .reference = c->reference, .count = c->input_count,
                       .tolerance = c->tolerance_ns, .timeout = c->timeout_ns, .partial = c->partial,
                       .counters = c->counters, .release = c->release, .release_arg = c->release_arg,
                       .deadline = NEVER};
    entry *storage = (entry *)(a + 1);
    for (uint32_t i = 0; i < c->input_count; i++) {
        const mqs_align_input_config *ic = &c->inputs[i];
        a->in[i] = (input){.ring = storage, .mask = mqsi_round_pow2(ic->depth) - 1, .depth = ic->depth,
                           .period = ic->period_ns, .floor = BEFORE_ALL, .optional = ic->optional,
                           .counters = ic->counters};
        storage += mqsi_round_pow2(ic->depth);
    }
    return a;
}

void mqs_align_destroy(mqs_aligner *a)
{
    if (!a)
        return;
    mqs_align_done(a);
    for (uint32_t i = 0; i < a->count; i++)
        while (a->in[i].count)
            give_back(a, pop_front(&a->in[i]).id);
    free(a);
}
