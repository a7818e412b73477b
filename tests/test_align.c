/* The aligner (runtime/core/align.c), checked against a model of its rules
 * written independently (align_reference.c).
 *
 * Generated streams (30, 25 and 15 Hz, jitter, constant offsets, 5 % lost
 * buffers, a gap, a stream that stops, out-of-order pts) go through every
 * policy in arrival order and in random interleavings: the sets must be
 * exactly the model's, every buffer delivered or dropped for the model's
 * reason and released once, nothing held at the end. Hand-made timelines pin
 * what the model leaves out: timeouts and deadlines, ended inputs, full
 * rings, out-of-order buffers. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_reference.h"
#include "core/align.h"
#include "core/internal.h"

#define MS ((int64_t)1000000)
#define NEVER INT64_MAX
#define NO (-1)                     /* expected member pts (ms): missing */
#define DEPTH 1024                  /* no generated run fills a ring this deep */
#define LONG_TIMEOUT (1000000 * MS) /* never fires in the generated runs */
#define A 0
#define B 1
#define C 2

TestSuite(align, .timeout = 120);

/* ---- a harness around one aligner ---- */

/* A set as mqs_align_next gave it, members as indices into the pushed stream. */
typedef struct observed {
    int64_t pts, spread;
    bool partial;
    int32_t member[REF_MAX_INPUTS], next[REF_MAX_INPUTS];
    double weight[REF_MAX_INPUTS];
    uint32_t after_event; /* the event after which it came out */
} observed;

typedef struct harness {
    mqs_aligner *a;
    mqs_sync_policy policy;
    uint32_t input_count, reference;
    mqs_align_shared counters;
    mqs_input_shared inputs[REF_MAX_INPUTS];
    uint32_t pushed[REF_MAX_INPUTS];
    int64_t pts[REF_MAX_INPUTS][REF_MAX_BUFFERS];
    uint32_t released[REF_MAX_INPUTS][REF_MAX_BUFFERS];
    uint32_t set_count;
    observed sets[REF_MAX_SETS];
    uint32_t event;
} harness;

static harness H; /* one aligner at a time; too large for the stack */

typedef struct rig {
    mqs_sync_policy policy;
    uint32_t inputs, reference;
    int64_t tolerance, timeout; /* timeout 0: LONG_TIMEOUT */
    bool partial;
    uint32_t depth[REF_MAX_INPUTS]; /* 0: DEPTH */
    int64_t period[REF_MAX_INPUTS];
    bool optional[REF_MAX_INPUTS];
} rig;

static mqs_buffer_id id_of(uint32_t input, uint32_t k) { return mqs_buffer_id_make(input + 1, k, 1); }

static void on_release(void *arg, mqs_buffer_id id)
{
    harness *h = arg;
    uint32_t i = mqs_buffer_id_pool(id) - 1, k = mqs_buffer_id_slot(id);
    cr_assert(i < h->input_count && k < h->pushed[i] && id == id_of(i, k), "released %#llx, never pushed",
              (unsigned long long)id);
    cr_assert(eq(u32, ++h->released[i][k], 1), "input %u buffer %u released twice", i, k);
}

static bool keeps_members(mqs_sync_policy p) { return p == MQS_SYNC_LATEST || p == MQS_SYNC_INTERPOLATE; }
static bool reference_policy(mqs_sync_policy p) { return p >= MQS_SYNC_NEAREST; }

static harness *h_open(const rig *r)
{
    memset(&H, 0, sizeof H);
    H.policy = r->policy, H.input_count = r->inputs, H.reference = r->reference;
    mqs_align_config c = {.policy = r->policy, .reference = r->reference, .tolerance_ns = r->tolerance,
                          .timeout_ns = r->timeout ? r->timeout : LONG_TIMEOUT, .partial = r->partial,
                          .input_count = r->inputs, .counters = &H.counters, .release = on_release,
                          .release_arg = &H};
    for (uint32_t i = 0; i < r->inputs; i++)
        c.inputs[i] = (mqs_align_input_config){.depth = r->depth[i] ? r->depth[i] : DEPTH,
                                               .period_ns = r->period[i], .optional = r->optional[i],
                                               .counters = &H.inputs[i]};
    H.a = mqs_align_create(&c);
    cr_assert(H.a != NULL, "mqs_align_create: %s", mqs_last_error());
    return &H;
}

static void h_close(harness *h)
{
    mqs_align_destroy(h->a);
    h->a = NULL;
}

static void h_push(harness *h, uint32_t i, int64_t pts, int64_t now)
{
    cr_assert(mqs_align_has_room(h->a, i), "input %u has no room for its buffer %u", i, h->pushed[i]);
    uint32_t k = h->pushed[i]++;
    h->pts[i][k] = pts;
    mqs_align_push(h->a, i, pts, id_of(i, k), now);
}

/* The pushed index of a set's buffer of input i (-1 for NONE), checking it is still held. */
static int32_t index_of(const harness *h, uint32_t i, mqs_buffer_id id)
{
    if (id == MQS_BUFFER_ID_NONE)
        return -1;
    uint32_t k = mqs_buffer_id_slot(id);
    cr_assert(id == id_of(i, k) && k < h->pushed[i], "input %u: %#llx was never pushed on it", i,
              (unsigned long long)id);
    cr_assert(eq(u32, h->released[i][k], 0), "input %u: buffer %u was already released", i, k);
    return (int32_t)k;
}

/* After done: a set's members are released unless they stay for reuse. */
static void check_released_after_done(const harness *h, const observed *o)
{
    for (uint32_t i = 0; i < h->input_count; i++) {
        if (o->member[i] < 0)
            continue;
        bool kept = keeps_members(h->policy) && i != h->reference;
        cr_assert(eq(u32, h->released[i][o->member[i]], kept ? 0 : 1), "input %u member %d after done", i,
                  o->member[i]);
        if (o->next[i] >= 0)
            cr_assert(eq(u32, h->released[i][o->next[i]], 0), "input %u next after done", i);
    }
}

static const observed *h_next(harness *h, int64_t now)
{
    const mqs_align_set *s = mqs_align_next(h->a, now);
    if (!s)
        return NULL;
    cr_assert(h->set_count < REF_MAX_SETS);
    cr_assert(eq(u32, s->input_count, h->input_count));
    observed *o = &h->sets[h->set_count++];
    *o = (observed){.pts = s->pts, .spread = s->spread, .partial = s->partial, .after_event = h->event};
    for (uint32_t i = 0; i < h->input_count; i++) {
        o->member[i] = index_of(h, i, s->id[i]);
        if (o->member[i] >= 0)
            cr_assert(eq(i64, s->member_pts[i], h->pts[i][o->member[i]]), "input %u: member_pts", i);
        o->next[i] = index_of(h, i, s->next[i]);
        o->weight[i] = s->weight[i];
        if (h->policy != MQS_SYNC_INTERPOLATE)
            cr_assert(s->next[i] == MQS_BUFFER_ID_NONE && s->weight[i] == 0, "next/weight outside interpolate");
    }
    mqs_align_done(h->a);
    check_released_after_done(h, o);
    return o;
}

static uint32_t h_drain(harness *h, int64_t now)
{
    uint32_t n = 0;
    while (h_next(h, now))
        n++;
    return n;
}

static uint64_t delivered(const harness *h, uint32_t i) { return h->inputs[i].delivered; }
static uint64_t dropped(const harness *h, uint32_t i, mqs_drop_reason r) { return h->inputs[i].dropped[r]; }

/* ---- generated streams ---- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) /* splitmix64 */
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int64_t rng_between(rng *r, int64_t lo, int64_t hi) { return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1)); }

#define HZ30 (1000 * MS / 30)
#define HZ25 (1000 * MS / 25)
#define HZ15 (1000 * MS / 15) /* exactly two HZ30 ticks */
#define BASE (1000 * MS)
#define DURATION (4000 * MS)

typedef struct shape {
    int64_t period, offset, jitter;
    uint32_t drop_percent;
    int64_t gap_from, gap_to; /* no buffers in [from, to): stops, then restarts */
    int64_t stop_at;          /* 0: never; else nothing from here on, and the input ends */
    uint32_t disorder_every;  /* every n-th buffer is followed by one that goes back in time */
    int64_t quantum;          /* pts rounded down to a multiple of it (ties), 0: not */
} shape;

typedef struct scene {
    uint32_t inputs;
    shape shapes[REF_MAX_INPUTS];
    ref_stream streams[REF_MAX_INPUTS];
} scene;

static scene S;

static void make_stream(rng *r, const shape *sh, ref_stream *out)
{
    out->count = 0;
    for (int64_t k = 0, nominal = 0; nominal < DURATION; nominal = ++k * sh->period) {
        if (sh->stop_at && nominal >= sh->stop_at)
            break;
        if ((nominal >= sh->gap_from && nominal < sh->gap_to) || rng_between(r, 1, 100) <= sh->drop_percent)
            continue;
        int64_t pts = BASE + sh->offset + nominal + rng_between(r, -sh->jitter, sh->jitter);
        pts -= sh->quantum ? pts % sh->quantum : 0;
        if (out->count && pts <= out->pts[out->count - 1] && !sh->disorder_every)
            continue; /* rounding merged two ticks */
        cr_assert(out->count + 2 <= REF_MAX_BUFFERS, "stream too long for the model");
        out->pts[out->count++] = pts;
        if (sh->disorder_every && out->count % sh->disorder_every == 0)
            out->pts[out->count++] = pts - rng_between(r, 0, sh->period / 2); /* equal or earlier */
    }
}

static void make_scene(uint64_t seed, uint32_t inputs, const shape *shapes)
{
    rng r = {seed};
    S.inputs = inputs;
    for (uint32_t i = 0; i < inputs; i++) {
        S.shapes[i] = shapes[i];
        make_stream(&r, &shapes[i], &S.streams[i]);
    }
}

/* Free-running 30, 25 and 15 Hz streams: A goes back in time now and then,
 * B stops for 700 ms and restarts, C stops for good at 3 s. */
static void mixed_rates(uint64_t seed, bool disorder)
{
    shape sh[3] = {
        {.period = HZ30, .jitter = 2 * MS, .drop_percent = 5, .disorder_every = disorder ? 17 : 0},
        {.period = HZ25, .offset = 3 * MS, .jitter = 2 * MS, .drop_percent = 5, .gap_from = 1500 * MS,
         .gap_to = 2200 * MS},
        {.period = HZ15, .offset = -4 * MS, .jitter = 1 * MS, .drop_percent = 5, .stop_at = 3000 * MS},
    };
    make_scene(seed, 3, sh);
}

/* As mixed_rates, on a 5 ms grid: equal pts across inputs, equal spreads
 * and equal distances, so every tie rule matters. */
static void coarse_grid(uint64_t seed)
{
    mixed_rates(seed, true);
    shape sh[3];
    memcpy(sh, S.shapes, sizeof sh);
    for (uint32_t i = 0; i < 3; i++)
        sh[i].quantum = 5 * MS, sh[i].jitter = 5 * MS;
    make_scene(seed, 3, sh);
}

/* Cameras on one trigger: A and B at 30 Hz, C at 15 Hz on every other tick. */
static void shared_trigger(uint64_t seed)
{
    shape sh[3] = {
        {.period = HZ30, .drop_percent = 5},
        {.period = HZ30, .drop_percent = 5, .gap_from = 1500 * MS, .gap_to = 2200 * MS, .disorder_every = 13},
        {.period = HZ15, .drop_percent = 5, .stop_at = 3000 * MS},
    };
    make_scene(seed, 3, sh);
}

/* The true least spacing of a stream's in-order buffers. */
static int64_t least_spacing(const ref_stream *s)
{
    int64_t least = INT64_MAX, last = s->pts[0];
    for (uint32_t k = 1; k < s->count; k++) {
        if (s->pts[k] <= last)
            continue; /* out of order: dropped, never a neighbour */
        least = s->pts[k] - last < least ? s->pts[k] - last : least;
        last = s->pts[k];
    }
    return least;
}

/* ---- arrival orders ---- */

typedef struct order {
    uint32_t count;
    ref_event ev[REF_MAX_INPUTS * (REF_MAX_BUFFERS + 1)];
    int64_t now[REF_MAX_INPUTS * (REF_MAX_BUFFERS + 1)];
} order;

static order O;

static void add_event(uint32_t input, bool end, int64_t now)
{
    O.ev[O.count] = (ref_event){.input = input, .end = end};
    O.now[O.count++] = now;
}

/* Each buffer arrives at pts + the input's delay + up to 3 ms (never before
 * the previous one); an input that stops ends right after its last buffer,
 * the others after everything. */
static void order_by_arrival(rng *r)
{
    static const int64_t delay[REF_MAX_INPUTS] = {2 * MS, 9 * MS, 5 * MS, 1 * MS};
    int64_t arrival[REF_MAX_INPUTS][REF_MAX_BUFFERS];
    uint32_t next[REF_MAX_INPUTS] = {0};
    for (uint32_t i = 0; i < S.inputs; i++)
        for (uint32_t k = 0; k < S.streams[i].count; k++) {
            int64_t t = S.streams[i].pts[k] + delay[i] + rng_between(r, 0, 3 * MS);
            arrival[i][k] = k && t <= arrival[i][k - 1] ? arrival[i][k - 1] + 1 : t;
        }
    O.count = 0;
    int64_t last = 0;
    for (;;) {
        uint32_t pick = UINT32_MAX;
        for (uint32_t i = 0; i < S.inputs; i++)
            if (next[i] < S.streams[i].count && (pick == UINT32_MAX || arrival[i][next[i]] < arrival[pick][next[pick]]))
                pick = i;
        if (pick == UINT32_MAX)
            break;
        last = arrival[pick][next[pick]];
        add_event(pick, false, last);
        if (++next[pick] == S.streams[pick].count && S.shapes[pick].stop_at)
            add_event(pick, true, last);
    }
    for (uint32_t i = 0; i < S.inputs; i++)
        if (!S.shapes[i].stop_at)
            add_event(i, true, last + 1);
}

/* Any interleaving that keeps each input's own order (its end last). */
static void order_random(rng *r)
{
    uint32_t left[REF_MAX_INPUTS], total = 0;
    for (uint32_t i = 0; i < S.inputs; i++)
        total += left[i] = S.streams[i].count + 1;
    O.count = 0;
    for (int64_t now = MS; total; now += MS, total--) {
        int64_t x = rng_between(r, 0, total - 1);
        uint32_t i = 0;
        while (x >= left[i])
            x -= left[i++];
        add_event(i, --left[i] == 0, now);
    }
}

/* Feed the scene to the aligner in order O, taking every set as it comes. */
static void play(harness *h)
{
    uint32_t next[REF_MAX_INPUTS] = {0};
    for (uint32_t e = 0; e < O.count; e++) {
        uint32_t i = O.ev[e].input;
        h->event = e;
        if (O.ev[e].end)
            mqs_align_end(h->a, i);
        else
            h_push(h, i, S.streams[i].pts[next[i]++], O.now[e]);
        h_drain(h, O.now[e]);
    }
}

/* ---- checks ---- */

static ref_config config_of(const rig *r)
{
    ref_config c = {.policy = r->policy, .input_count = r->inputs, .reference = r->reference,
                    .tolerance = r->tolerance, .partial = r->partial};
    for (uint32_t i = 0; i < r->inputs; i++)
        c.optional[i] = r->optional[i], c.period[i] = r->period[i];
    return c;
}

/* The model decided every buffer, and the run is not trivial. */
static void check_model(const ref_config *c, const ref_result *ref, uint32_t least_sets)
{
    cr_assert(ge(u32, ref->set_count, least_sets), "the model makes only %u sets", ref->set_count);
    for (uint32_t i = 0; i < c->input_count; i++) {
        uint64_t sum = ref->delivered[i];
        for (uint32_t why = 0; why < MQS_DROP_REASONS; why++)
            sum += ref->dropped[i][why];
        cr_assert(eq(u64, sum, S.streams[i].count), "model: input %u", i);
        for (uint32_t k = 0; k < S.streams[i].count; k++)
            cr_assert(ne(i32, ref->fate[i][k], REF_UNDECIDED), "model left input %u buffer %u", i, k);
    }
}

static void check_set(const harness *h, uint32_t n, const ref_set *want, const char *run)
{
    const observed *o = &h->sets[n];
    for (uint32_t i = 0; i < h->input_count; i++) {
        cr_assert(eq(i32, o->member[i], want->member[i]),
                  "%s: set %u (pts %lld), input %u: member %d (pts %lld), model says %d (pts %lld)", run, n,
                  (long long)want->pts, i, o->member[i], o->member[i] < 0 ? -1LL : (long long)h->pts[i][o->member[i]],
                  want->member[i], want->member[i] < 0 ? -1LL : (long long)S.streams[i].pts[want->member[i]]);
        cr_assert(eq(i32, o->next[i], want->next[i]), "%s: set %u input %u: next", run, n, i);
        cr_assert(fabs(o->weight[i] - want->weight[i]) < 1e-12, "%s: set %u input %u: weight %f, model %f", run, n, i,
                  o->weight[i], want->weight[i]);
    }
    cr_assert(eq(i64, o->pts, want->pts), "%s: set %u: pts", run, n);
    cr_assert(eq(i64, o->spread, want->spread), "%s: set %u: spread", run, n);
    cr_assert(eq(int, o->partial, want->partial), "%s: set %u: partial", run, n);
}

static void check_sets(const harness *h, const ref_result *ref, const char *run)
{
    uint32_t n = h->set_count < ref->set_count ? h->set_count : ref->set_count;
    for (uint32_t k = 0; k < n; k++)
        check_set(h, k, &ref->sets[k], run);
    cr_assert(eq(u32, h->set_count, ref->set_count), "%s: number of sets", run);
}

/* Delivered and dropped per reason as the model says; each buffer released
 * once; nothing held; the aligner says it is finished. */
static void check_accounting(const harness *h, const ref_result *ref, const char *run)
{
    uint64_t partial = 0;
    for (uint32_t k = 0; k < h->set_count; k++)
        partial += h->sets[k].partial;
    cr_assert(eq(u64, h->counters.sets, h->set_count), "%s: sets counter", run);
    cr_assert(eq(u64, h->counters.partial_sets, partial), "%s: partial counter", run);
    for (uint32_t i = 0; i < h->input_count; i++) {
        uint64_t sum = delivered(h, i);
        cr_assert(eq(u64, delivered(h, i), ref->delivered[i]), "%s: input %u delivered", run, i);
        for (uint32_t why = 0; why < MQS_DROP_REASONS; why++) {
            sum += dropped(h, i, why);
            cr_assert(eq(u64, dropped(h, i, why), ref->dropped[i][why]), "%s: input %u dropped %s", run, i,
                      mqs_drop_reason_name(why));
        }
        cr_assert(eq(u64, sum, h->pushed[i]), "%s: input %u: delivered + dropped = received", run, i);
        for (uint32_t k = 0; k < h->pushed[i]; k++)
            cr_assert(eq(u32, h->released[i][k], 1), "%s: input %u buffer %u released", run, i, k);
    }
    int64_t widest = 0;
    for (uint32_t k = 0; k < h->set_count; k++)
        widest = h->sets[k].spread > widest ? h->sets[k].spread : widest;
    cr_assert(eq(u64, h->counters.spread.samples, h->set_count), "%s: spread samples", run);
    cr_assert(eq(u64, h->counters.spread.max, (uint64_t)widest), "%s: widest spread", run);
    cr_assert(eq(u64, h->counters.latency.samples, h->set_count), "%s: latency samples", run);
    cr_assert(eq(u32, mqs_align_held(h->a), 0), "%s: held at the end", run);
    cr_assert(mqs_align_finished(h->a), "%s: not finished", run);
}

/* One member's pts against the set's pts and the tolerance, per policy. */
static void check_member(const harness *h, const observed *o, uint32_t i, int64_t t, const char *run)
{
    int64_t p = h->pts[i][o->member[i]];
    switch (h->policy) {
    case MQS_SYNC_EXACT: cr_assert(eq(i64, p, o->pts), "%s: exact member off pts", run); break;
    case MQS_SYNC_APPROXIMATE: cr_assert(p >= o->pts && p - o->pts <= t, "%s: member out of window", run); break;
    case MQS_SYNC_NEAREST: cr_assert(llabs(p - o->pts) <= t, "%s: nearest member beyond tolerance", run); break;
    default: cr_assert(p <= o->pts && o->pts - p <= t, "%s: held member after pts or beyond tolerance", run);
    }
    if (o->next[i] < 0)
        return;
    int64_t q = h->pts[i][o->next[i]];
    if (o->next[i] == o->member[i])
        cr_assert(p == o->pts && o->weight[i] == 0, "%s: next = member only on the pts itself", run);
    else
        cr_assert(q > o->pts && q - o->pts <= t && o->weight[i] >= 0 && o->weight[i] < 1, "%s: next", run);
}

/* Spread within tolerance, partial iff a member is missing, sets never cross. */
static void check_properties(const harness *h, int64_t tolerance, const char *run)
{
    int32_t last[REF_MAX_INPUTS];
    memset(last, 0xff, sizeof last);
    bool once = !keeps_members(h->policy);
    for (uint32_t k = 0; k < h->set_count; k++) {
        const observed *o = &h->sets[k];
        bool missing = false;
        for (uint32_t i = 0; i < h->input_count; i++) {
            if (o->member[i] < 0) {
                missing = true;
                continue;
            }
            cr_assert(once ? o->member[i] > last[i] : o->member[i] >= last[i], "%s: set %u crosses on input %u", run,
                      k, i);
            last[i] = o->member[i];
            check_member(h, o, i, tolerance, run);
        }
        cr_assert(eq(int, o->partial, missing), "%s: set %u partial flag", run, k);
        if (h->policy != MQS_SYNC_NEAREST) /* nearest: each member within tolerance of the reference */
            cr_assert(le(i64, o->spread, tolerance), "%s: set %u spread", run, k);
        if (reference_policy(h->policy))
            cr_assert(o->member[h->reference] >= 0, "%s: set %u without its reference", run, k);
    }
}

/* The model's sets for scene S under rig r; then the aligner's, in arrival
 * order and in `shuffles` random orders, must be exactly those. */
static void expect_model_in_every_order(const rig *r, uint32_t shuffles, uint64_t seed, uint32_t least_sets)
{
    static ref_result ref;
    ref_config c = config_of(r);
    ref_align(&c, S.streams, &ref);
    check_model(&c, &ref, least_sets);
    rng g = {seed};
    for (uint32_t n = 0; n <= shuffles; n++) {
        char run[64];
        snprintf(run, sizeof run, "%s order %u", n ? "random" : "arrival", n);
        if (n == 0)
            order_by_arrival(&g);
        else
            order_random(&g);
        harness *h = h_open(r);
        play(h);
        check_sets(h, &ref, run);
        check_properties(h, r->tolerance, run);
        check_accounting(h, &ref, run);
        h_close(h);
    }
}

/* ---- every policy against the model ---- */

Test(align, exact_matches_the_model_in_every_order)
{
    shared_trigger(11);
    rig r = {.policy = MQS_SYNC_EXACT, .inputs = 3, .tolerance = 0};
    expect_model_in_every_order(&r, 20, 1, 25);
}

Test(align, exact_partial_goes_on_without_a_stopped_input)
{
    shared_trigger(12);
    rig r = {.policy = MQS_SYNC_EXACT, .inputs = 3, .tolerance = 0, .partial = true};
    expect_model_in_every_order(&r, 20, 2, 50);
}

Test(align, approximate_matches_the_model_in_every_order)
{
    mixed_rates(21, true);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 10 * MS};
    expect_model_in_every_order(&r, 20, 3, 12);
}

Test(align, approximate_partial_goes_on_without_a_stopped_input)
{
    mixed_rates(22, true);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 10 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 4, 25);
}

Test(align, approximate_sets_may_go_without_an_optional_input)
{
    mixed_rates(23, true);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 10 * MS, .optional = {false, false, true}};
    expect_model_in_every_order(&r, 20, 5, 25);
}

Test(align, approximate_with_unlimited_tolerance_matches_the_model)
{
    mixed_rates(24, true);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = MQS_TOLERANCE_UNLIMITED, .partial = true};
    expect_model_in_every_order(&r, 20, 6, 40);
}

Test(align, approximate_sets_are_the_same_under_200_interleavings)
{
    mixed_rates(25, true);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 12 * MS, .partial = true};
    expect_model_in_every_order(&r, 200, 7, 25);
}

Test(align, approximate_with_period_hints_sets_are_the_same_under_200_interleavings)
{
    mixed_rates(26, true);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 12 * MS, .partial = true};
    for (uint32_t i = 0; i < 3; i++)
        r.period[i] = least_spacing(&S.streams[i]);
    expect_model_in_every_order(&r, 200, 15, 25);
}

Test(align, approximate_ties_on_a_coarse_grid_match_the_model)
{
    coarse_grid(27);
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 10 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 16, 25);
}

Test(align, nearest_ties_on_a_coarse_grid_match_the_model)
{
    coarse_grid(33);
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 3, .reference = A, .tolerance = 20 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 17, 40);
}

Test(align, latest_and_interpolate_on_a_coarse_grid_match_the_model)
{
    coarse_grid(43);
    rig r = {.policy = MQS_SYNC_LATEST, .inputs = 3, .reference = B, .tolerance = 30 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 18, 40);
    r.policy = MQS_SYNC_INTERPOLATE;
    expect_model_in_every_order(&r, 20, 19, 40);
}

Test(align, nearest_matches_the_model_in_every_order)
{
    mixed_rates(31, true);
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 3, .reference = A, .tolerance = 20 * MS,
             .optional = {false, false, true}};
    expect_model_in_every_order(&r, 20, 8, 40);
}

Test(align, nearest_partial_matches_the_model_in_every_order)
{
    mixed_rates(32, true);
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 3, .reference = B, .tolerance = 15 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 9, 40);
}

Test(align, latest_matches_the_model_in_every_order)
{
    mixed_rates(41, true);
    rig r = {.policy = MQS_SYNC_LATEST, .inputs = 3, .reference = A, .tolerance = MQS_TOLERANCE_UNLIMITED};
    expect_model_in_every_order(&r, 20, 10, 40);
}

Test(align, latest_within_tolerance_matches_the_model_in_every_order)
{
    mixed_rates(42, true);
    rig r = {.policy = MQS_SYNC_LATEST, .inputs = 3, .reference = A, .tolerance = 50 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 11, 40);
}

Test(align, interpolate_matches_the_model_in_every_order)
{
    mixed_rates(51, true);
    rig r = {.policy = MQS_SYNC_INTERPOLATE, .inputs = 3, .reference = A, .tolerance = 100 * MS, .partial = true};
    expect_model_in_every_order(&r, 20, 12, 40);
}

Test(align, interpolate_drop_matches_the_model_in_every_order)
{
    mixed_rates(52, true);
    rig r = {.policy = MQS_SYNC_INTERPOLATE, .inputs = 3, .reference = A, .tolerance = 100 * MS};
    expect_model_in_every_order(&r, 20, 13, 40);
}

/* ---- approximate: each set goes out at the push that proves it final ---- */

/* Event index of each pushed buffer in order O. */
static void push_events(uint32_t at[REF_MAX_INPUTS][REF_MAX_BUFFERS])
{
    uint32_t next[REF_MAX_INPUTS] = {0};
    for (uint32_t e = 0; e < O.count; e++)
        if (!O.ev[e].end)
            at[O.ev[e].input][next[O.ev[e].input]++] = e;
}

/* The aligner in order O gives the model's online sets, each right after
 * the event the model names; returns how many came out at the push of
 * their last member. */
static uint32_t expect_sets_when_final(const rig *r, const ref_result *offline, const char *run)
{
    static ref_result online;
    static uint32_t at[REF_MAX_INPUTS][REF_MAX_BUFFERS];
    ref_config c = config_of(r);
    ref_approximate_online(&c, S.streams, O.ev, O.count, &online);
    cr_assert(eq(u32, online.set_count, offline->set_count), "%s: model online and offline disagree", run);
    for (uint32_t k = 0; k < online.set_count; k++)
        cr_assert(memcmp(online.sets[k].member, offline->sets[k].member, sizeof online.sets[k].member) == 0,
                  "%s: model online and offline disagree on set %u", run, k);
    harness *h = h_open(r);
    play(h);
    check_sets(h, &online, run);
    check_accounting(h, &online, run);
    push_events(at);
    uint32_t at_last_member = 0;
    for (uint32_t k = 0; k < h->set_count; k++) {
        cr_assert(eq(u32, h->sets[k].after_event, online.sets[k].decided_at),
                  "%s: set %u (pts %lld) came out after event %u, final after event %u", run, k,
                  (long long)h->sets[k].pts, h->sets[k].after_event, online.sets[k].decided_at);
        uint32_t last = 0;
        for (uint32_t i = 0; i < h->input_count; i++)
            if (h->sets[k].member[i] >= 0 && at[i][h->sets[k].member[i]] > last)
                last = at[i][h->sets[k].member[i]];
        at_last_member += online.sets[k].decided_at == last;
    }
    h_close(h);
    return at_last_member;
}

Test(align, approximate_sets_go_out_at_the_push_that_proves_them_final)
{
    mixed_rates(61, false);
    rig hinted = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 12 * MS};
    for (uint32_t i = 0; i < 3; i++)
        hinted.period[i] = least_spacing(&S.streams[i]);
    rig bare = hinted;
    memset(bare.period, 0, sizeof bare.period);
    static ref_result offline;
    ref_config c = config_of(&hinted);
    ref_align(&c, S.streams, &offline);
    check_model(&c, &offline, 12);
    rng g = {14};
    for (uint32_t n = 0; n <= 20; n++) {
        char run[64];
        snprintf(run, sizeof run, "%s order %u", n ? "random" : "arrival", n);
        if (n == 0)
            order_by_arrival(&g);
        else
            order_random(&g);
        uint32_t with_hints = expect_sets_when_final(&hinted, &offline, run);
        uint32_t without = expect_sets_when_final(&bare, &offline, run);
        if (n == 0) /* in arrival order, hints let most sets go with their last member */
            cr_assert(gt(u32, with_hints, without), "hints: %u sets at once, no hints: %u", with_hints, without);
        if (n == 0)
            cr_assert(ge(u32, with_hints * 10, offline.set_count * 9), "hints: %u of %u sets at once",
                      with_hints, offline.set_count);
    }
}

/* ---- timelines: timeouts, deadlines, ended inputs ---- */

static void push_ms(harness *h, uint32_t i, int64_t pts_ms, int64_t now_ms) { h_push(h, i, pts_ms * MS, now_ms * MS); }

/* No set at now; mqs_align_deadline then says deadline_ms (NEVER: none). */
static void expect_nothing(harness *h, int64_t now_ms, int64_t deadline_ms)
{
    const observed *o = h_next(h, now_ms * MS);
    cr_assert(o == NULL, "at %lld ms: a set of pts %lld ms came out", (long long)now_ms, o ? (long long)(o->pts / MS) : 0);
    int64_t want = deadline_ms == NEVER ? NEVER : deadline_ms * MS;
    cr_assert(eq(i64, mqs_align_deadline(h->a), want), "at %lld ms: deadline", (long long)now_ms);
}

/* The next set at now: its pts and each input's member pts (ms, NO: missing). */
static const observed *expect_set(harness *h, int64_t now_ms, int64_t pts_ms, const int64_t *members_ms)
{
    const observed *o = h_next(h, now_ms * MS);
    cr_assert(o != NULL, "at %lld ms: no set, expected the one of pts %lld ms", (long long)now_ms, (long long)pts_ms);
    bool partial = false;
    for (uint32_t i = 0; i < h->input_count; i++) {
        int64_t got = o->member[i] < 0 ? NO : h->pts[i][o->member[i]] / MS;
        partial |= members_ms[i] == NO;
        cr_assert(eq(i64, got, members_ms[i]), "at %lld ms, set of pts %lld ms: input %u member (ms)",
                  (long long)now_ms, (long long)pts_ms, i);
    }
    cr_assert(eq(i64, o->pts, pts_ms * MS), "at %lld ms: set pts", (long long)now_ms);
    cr_assert(eq(int, o->partial, partial), "at %lld ms: partial flag", (long long)now_ms);
    return o;
}

static void end_all(harness *h, int64_t now_ms)
{
    for (uint32_t i = 0; i < h->input_count; i++)
        mqs_align_end(h->a, i);
    expect_nothing(h, now_ms, NEVER);
    cr_assert(eq(u32, mqs_align_held(h->a), 0), "held after the end");
    cr_assert(mqs_align_finished(h->a));
}

/* Every input ends; the one set still to come is this one. */
static void end_all_after(harness *h, int64_t now_ms, int64_t pts_ms, const int64_t *members_ms)
{
    for (uint32_t i = 0; i < h->input_count; i++)
        mqs_align_end(h->a, i);
    expect_set(h, now_ms, pts_ms, members_ms);
    end_all(h, now_ms);
}

static void expect_counts(const harness *h, uint32_t i, uint64_t delivered_n, const uint64_t *drops)
{
    cr_assert(eq(u64, delivered(h, i), delivered_n), "input %u delivered", i);
    for (uint32_t why = 0; why < MQS_DROP_REASONS; why++)
        cr_assert(eq(u64, dropped(h, i, why), drops[why]), "input %u dropped %s", i, mqs_drop_reason_name(why));
}

#define DROPS(no_match, superseded, timeout, out_of_order, overflow) \
    ((const uint64_t[]){no_match, superseded, timeout, out_of_order, overflow})

/* Sets at 0, 40 and 80 ms with every input, each arriving 5 ms after its pts. */
static void three_full_sets(harness *h)
{
    for (int64_t t = 0; t <= 80; t += 40) {
        int64_t members[REF_MAX_INPUTS];
        for (uint32_t i = 0; i < h->input_count; i++) {
            expect_nothing(h, t + 5, i == 0 ? NEVER : t + 105); /* the first buffer waits from its arrival */
            push_ms(h, i, t, t + 5);
            members[i] = t;
        }
        expect_set(h, t + 5, t, members);
        expect_nothing(h, t + 5, NEVER);
    }
}

/* B stops after 80 ms. The set of 120 ms goes without it when A's 120 ms
 * buffer (arrived at 125) has waited 100 ms, and takes the ones queued
 * behind it along; the next set does not wait; a buffer B sends for a set
 * that went without it is dropped (timeout), and B is waited for again. */
static void stopped_input_partial(mqs_sync_policy policy)
{
    rig r = {.policy = policy, .inputs = 2, .tolerance = 10 * MS, .timeout = 100 * MS, .partial = true,
             .period = {40 * MS, 40 * MS}};
    harness *h = h_open(&r);
    three_full_sets(h);
    for (int64_t t = 120; t <= 200; t += 40) {
        push_ms(h, A, t, t + 5);
        expect_nothing(h, t + 5, 225);
    }
    expect_nothing(h, 224, 225);
    expect_set(h, 225, 120, (int64_t[]){120, NO});
    expect_set(h, 225, 160, (int64_t[]){160, NO});
    expect_set(h, 225, 200, (int64_t[]){200, NO});
    expect_nothing(h, 225, NEVER);
    push_ms(h, A, 240, 245);
    expect_set(h, 245, 240, (int64_t[]){240, NO});
    expect_nothing(h, 245, NEVER);
    push_ms(h, B, 240, 250);
    cr_assert(eq(u64, dropped(h, B, MQS_DROP_TIMEOUT), 1), "B's 240 ms buffer came after its set went");
    cr_assert(eq(u32, h->released[B][3], 1), "and was released at once");
    expect_nothing(h, 250, NEVER);
    push_ms(h, A, 280, 285);
    expect_nothing(h, 285, 385);
    push_ms(h, B, 280, 286);
    expect_set(h, 286, 280, (int64_t[]){280, 280});
    end_all(h, 290);
    cr_assert(eq(u64, h->counters.sets, 8));
    cr_assert(eq(u64, h->counters.partial_sets, 4));
    cr_assert(eq(u64, h->counters.latency.max, 100 * MS), "the set of 120 ms waited from 125 to 225 ms");
    expect_counts(h, A, 8, DROPS(0, 0, 0, 0, 0));
    expect_counts(h, B, 4, DROPS(0, 0, 1, 0, 0));
    h_close(h);
}

Test(align, exact_stopped_input_costs_one_timeout_then_sets_go_partial)
{
    stopped_input_partial(MQS_SYNC_EXACT);
}

Test(align, approximate_stopped_input_costs_one_timeout_then_sets_go_partial)
{
    stopped_input_partial(MQS_SYNC_APPROXIMATE);
}

/* As above with on_missing drop and three inputs: every member of a set
 * that gave up waiting for B is dropped (timeout), A's and C's alike. */
static void stopped_input_drop(mqs_sync_policy policy)
{
    rig r = {.policy = policy, .inputs = 3, .tolerance = 10 * MS, .timeout = 100 * MS,
             .period = {40 * MS, 40 * MS, 40 * MS}};
    harness *h = h_open(&r);
    three_full_sets(h);
    for (int64_t t = 120; t <= 200; t += 40) {
        push_ms(h, A, t, t + 5);
        push_ms(h, C, t, t + 5);
        expect_nothing(h, t + 5, 225);
    }
    expect_nothing(h, 224, 225);
    expect_nothing(h, 225, NEVER);
    for (uint32_t k = 3; k < 6; k++)
        cr_assert(h->released[A][k] == 1 && h->released[C][k] == 1, "buffer %u of A and C released at 225 ms", k);
    cr_assert(eq(u64, dropped(h, A, MQS_DROP_TIMEOUT), 3), "A's members of the three sets that gave up");
    cr_assert(eq(u64, dropped(h, C, MQS_DROP_TIMEOUT), 3), "C's members of the three sets that gave up");
    push_ms(h, A, 240, 245);
    expect_nothing(h, 245, 345); /* C may still send 240 ms: it is not late */
    push_ms(h, C, 240, 245);
    expect_nothing(h, 245, NEVER); /* B is: the set goes (dropped) at once */
    cr_assert(eq(u64, dropped(h, A, MQS_DROP_TIMEOUT), 4));
    cr_assert(eq(u64, dropped(h, C, MQS_DROP_TIMEOUT), 4));
    for (uint32_t i = 0; i < 3; i++)
        push_ms(h, i, 280, 285);
    expect_set(h, 285, 280, (int64_t[]){280, 280, 280});
    end_all(h, 290);
    expect_counts(h, A, 4, DROPS(0, 0, 4, 0, 0));
    expect_counts(h, B, 4, DROPS(0, 0, 0, 0, 0));
    expect_counts(h, C, 4, DROPS(0, 0, 4, 0, 0));
    h_close(h);
}

Test(align, exact_drop_gives_up_a_set_and_drops_all_its_members_as_timeout)
{
    stopped_input_drop(MQS_SYNC_EXACT);
}

Test(align, approximate_drop_gives_up_a_set_and_drops_all_its_members_as_timeout)
{
    stopped_input_drop(MQS_SYNC_APPROXIMATE);
}

/* Nearest: the reference's set waits for B from the reference buffer's arrival. */
static void nearest_stopped_input(bool partial)
{
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 2, .reference = A, .tolerance = 10 * MS,
             .timeout = 100 * MS, .partial = partial, .period = {40 * MS, 40 * MS}};
    harness *h = h_open(&r);
    three_full_sets(h);
    for (int64_t t = 120; t <= 200; t += 40) {
        push_ms(h, A, t, t + 5);
        expect_nothing(h, t + 5, 225);
    }
    expect_nothing(h, 224, 225);
    if (partial)
        for (int64_t t = 120; t <= 200; t += 40)
            expect_set(h, 225, t, (int64_t[]){t, NO});
    expect_nothing(h, 225, NEVER);
    push_ms(h, A, 240, 245);
    if (partial)
        expect_set(h, 245, 240, (int64_t[]){240, NO});
    expect_nothing(h, 245, NEVER);
    push_ms(h, B, 280, 283); /* B is back: waited for again */
    expect_nothing(h, 283, NEVER);
    push_ms(h, A, 280, 285);
    expect_set(h, 285, 280, (int64_t[]){280, 280});
    end_all(h, 290);
    expect_counts(h, A, partial ? 8 : 4, DROPS(0, 0, partial ? 0 : 4, 0, 0));
    expect_counts(h, B, 4, DROPS(0, 0, 0, 0, 0));
    h_close(h);
}

Test(align, nearest_stopped_input_costs_one_timeout_partial)
{
    nearest_stopped_input(true);
}

Test(align, nearest_stopped_input_costs_one_timeout_drop)
{
    nearest_stopped_input(false);
}

/* The rule that a buffer coming after its set went without it is dropped
 * (timeout) holds for nearest too. */
Test(align, nearest_buffer_sent_after_its_set_went_is_dropped_timeout)
{
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 2, .reference = A, .tolerance = 10 * MS,
             .timeout = 100 * MS, .partial = true, .period = {40 * MS, 40 * MS}};
    harness *h = h_open(&r);
    three_full_sets(h);
    push_ms(h, A, 120, 125);
    expect_nothing(h, 125, 225);
    expect_set(h, 225, 120, (int64_t[]){120, NO});
    push_ms(h, B, 118, 230); /* the set of 120 ms went without it */
    push_ms(h, B, 160, 231);
    push_ms(h, A, 160, 232);
    expect_set(h, 232, 160, (int64_t[]){160, 160});
    end_all(h, 240);
    expect_counts(h, B, 4, DROPS(0, 0, 1, 0, 0));
    h_close(h);
}

/* Latest: once B is late, its last buffer is held while within tolerance. */
Test(align, latest_holds_a_stopped_inputs_last_buffer_after_the_timeout)
{
    rig r = {.policy = MQS_SYNC_LATEST, .inputs = 2, .reference = A, .tolerance = 50 * MS,
             .timeout = 100 * MS, .partial = true, .period = {40 * MS, 40 * MS}};
    harness *h = h_open(&r);
    three_full_sets(h);
    for (int64_t t = 120; t <= 200; t += 40) {
        push_ms(h, A, t, t + 5);
        expect_nothing(h, t + 5, 225); /* B may still send something at or before 120 ms */
    }
    expect_set(h, 225, 120, (int64_t[]){120, 80});
    expect_set(h, 225, 160, (int64_t[]){160, NO}); /* 80 ms is beyond tolerance */
    expect_set(h, 225, 200, (int64_t[]){200, NO});
    expect_nothing(h, 225, NEVER);
    end_all(h, 230);
    expect_counts(h, A, 6, DROPS(0, 0, 0, 0, 0));
    expect_counts(h, B, 3, DROPS(0, 0, 0, 0, 0));
    h_close(h);
}

static void expect_interpolated(const harness *h, const observed *o, int64_t next_ms, double weight)
{
    int64_t got = o->next[B] < 0 ? NO : h->pts[B][o->next[B]] / MS;
    cr_assert(eq(i64, got, next_ms), "next (ms) of the set of %lld ms", (long long)(o->pts / MS));
    cr_assert(fabs(o->weight[B] - weight) < 1e-12, "weight %f, want %f", o->weight[B], weight);
}

Test(align, interpolate_weights_and_a_buffer_exactly_at_the_reference_is_both)
{
    rig r = {.policy = MQS_SYNC_INTERPOLATE, .inputs = 2, .reference = A, .tolerance = 100 * MS, .partial = true};
    harness *h = h_open(&r);
    push_ms(h, B, 0, 1);
    push_ms(h, B, 40, 2);
    push_ms(h, A, 10, 3);
    expect_interpolated(h, expect_set(h, 3, 10, (int64_t[]){10, 0}), 40, 0.25);
    push_ms(h, A, 40, 4);
    expect_interpolated(h, expect_set(h, 4, 40, (int64_t[]){40, 40}), 40, 0);
    push_ms(h, A, 50, 5);
    expect_nothing(h, 5, 5 + 1000000); /* waits for B's buffer after 50 ms */
    push_ms(h, B, 100, 6);
    expect_interpolated(h, expect_set(h, 6, 50, (int64_t[]){50, 40}), 100, 10.0 / 60.0);
    end_all(h, 7);
    expect_counts(h, B, 3, DROPS(0, 0, 0, 0, 0));
    h_close(h);
}

/* Interpolate: once B is late, its last buffer is held (no next), within tolerance. */
Test(align, interpolate_holds_a_stopped_inputs_last_buffer_after_the_timeout)
{
    rig r = {.policy = MQS_SYNC_INTERPOLATE, .inputs = 2, .reference = A, .tolerance = 100 * MS,
             .timeout = 100 * MS, .partial = true, .period = {40 * MS, 40 * MS}};
    harness *h = h_open(&r);
    push_ms(h, A, 0, 5);
    push_ms(h, B, 20, 25);
    expect_interpolated(h, expect_set(h, 25, 0, (int64_t[]){0, NO}), NO, 0); /* nothing at or before 0 */
    for (int64_t t = 40; t <= 80; t += 40) {
        push_ms(h, A, t, t + 5);
        expect_nothing(h, t + 5, t + 105);
        push_ms(h, B, t + 20, t + 25);
        expect_interpolated(h, expect_set(h, t + 25, t, (int64_t[]){t, t - 20}), t + 20, 0.5);
    }
    for (int64_t t = 120; t <= 200; t += 40) {
        push_ms(h, A, t, t + 5);
        expect_nothing(h, t + 5, 225);
    }
    for (int64_t t = 120; t <= 200; t += 40)
        expect_interpolated(h, expect_set(h, 225, t, (int64_t[]){t, 100}), NO, 0);
    push_ms(h, A, 240, 245); /* 140 ms after B's last: beyond tolerance */
    expect_set(h, 245, 240, (int64_t[]){240, NO});
    end_all(h, 250);
    expect_counts(h, A, 7, DROPS(0, 0, 0, 0, 0));
    expect_counts(h, B, 3, DROPS(0, 0, 0, 0, 0));
    h_close(h);
}

/* An input that ends is never waited for: the next set goes at once. */
static void ended_input(mqs_sync_policy policy, bool partial)
{
    rig r = {.policy = policy, .inputs = 2, .reference = A, .tolerance = 10 * MS, .timeout = 100 * MS,
             .partial = partial};
    harness *h = h_open(&r);
    push_ms(h, A, 0, 1);
    push_ms(h, B, 0, 2);
    expect_set(h, 2, 0, (int64_t[]){0, 0});
    mqs_align_end(h->a, B);
    expect_nothing(h, 3, NEVER);
    push_ms(h, A, 40, 45);
    if (partial)
        expect_set(h, 45, 40, (int64_t[]){40, NO});
    expect_nothing(h, 45, NEVER);
    cr_assert(eq(u32, h->released[A][1], 1));
    end_all(h, 50);
    expect_counts(h, A, partial ? 2 : 1, DROPS(partial ? 0 : 1, 0, 0, 0, 0));
    h_close(h);
}

Test(align, an_ended_input_never_holds_sets_back)
{
    mqs_sync_policy policies[] = {MQS_SYNC_EXACT, MQS_SYNC_APPROXIMATE, MQS_SYNC_NEAREST};
    for (uint32_t p = 0; p < 3; p++) {
        ended_input(policies[p], true);
        ended_input(policies[p], false);
    }
}

/* With on_missing partial, A's 20 ms buffer cannot pair with B's next
 * buffer (not before 40 ms by B's period), but goes partial if B ends
 * instead: the set must not depend on whether B's end comes before or after
 * A's buffer. */
static void partial_set_whatever_the_end_order(mqs_sync_policy policy)
{
    for (int end_first = 0; end_first < 2; end_first++) {
        rig r = {.policy = policy, .inputs = 2, .tolerance = 10 * MS, .timeout = 100 * MS, .partial = true,
                 .period = {40 * MS, 40 * MS}};
        harness *h = h_open(&r);
        push_ms(h, A, 0, 0);
        push_ms(h, B, 0, 1);
        expect_set(h, 1, 0, (int64_t[]){0, 0});
        if (end_first)
            mqs_align_end(h->a, B);
        push_ms(h, A, 20, 2);
        if (!end_first) {
            cr_assert(h_next(h, 2 * MS) == NULL, "B may still end: A's 20 ms buffer waits");
            mqs_align_end(h->a, B);
        }
        expect_set(h, 3, 20, (int64_t[]){20, NO});
        end_all(h, 4);
        expect_counts(h, A, 2, DROPS(0, 0, 0, 0, 0));
        h_close(h);
    }
}

Test(align, exact_partial_sets_do_not_depend_on_when_an_input_ends)
{
    partial_set_whatever_the_end_order(MQS_SYNC_EXACT);
}

Test(align, approximate_partial_sets_do_not_depend_on_when_an_input_ends)
{
    partial_set_whatever_the_end_order(MQS_SYNC_APPROXIMATE);
}

Test(align, after_the_reference_ends_the_other_inputs_are_dropped_no_match)
{
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 2, .reference = A, .tolerance = 10 * MS};
    harness *h = h_open(&r);
    push_ms(h, A, 0, 1);
    push_ms(h, B, 0, 2);
    expect_set(h, 2, 0, (int64_t[]){0, 0});
    mqs_align_end(h->a, A);
    push_ms(h, B, 40, 45);
    expect_nothing(h, 45, NEVER);
    cr_assert(eq(u32, h->released[B][1], 1));
    end_all(h, 50);
    expect_counts(h, B, 1, DROPS(1, 0, 0, 0, 0));
    h_close(h);
}

Test(align, a_late_optional_input_is_left_out_even_with_on_missing_drop)
{
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 2, .tolerance = 10 * MS, .timeout = 100 * MS,
             .period = {40 * MS, 40 * MS}, .optional = {false, true}};
    harness *h = h_open(&r);
    three_full_sets(h);
    push_ms(h, A, 120, 125);
    expect_nothing(h, 224, 225);
    expect_set(h, 225, 120, (int64_t[]){120, NO});
    push_ms(h, A, 160, 165 + 100);
    expect_set(h, 265, 160, (int64_t[]){160, NO});
    end_all(h, 270);
    expect_counts(h, A, 5, DROPS(0, 0, 0, 0, 0));
    h_close(h);
}

Test(align, deadline_is_never_on_a_fresh_aligner)
{
    rig r = {.policy = MQS_SYNC_EXACT, .inputs = 2};
    harness *h = h_open(&r);
    cr_assert(eq(i64, mqs_align_deadline(h->a), NEVER));
    expect_nothing(h, 0, NEVER);
    cr_assert(mqs_align_finished(h->a) == false, "inputs have not ended");
    end_all(h, 1);
    h_close(h);
}

/* ---- tie rules and finality of the reference policies ---- */

Test(align, approximate_equal_spreads_take_the_earlier_window)
{
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 2, .tolerance = 10 * MS, .partial = true};
    harness *h = h_open(&r);
    push_ms(h, A, 0, 0);
    push_ms(h, A, 10, 1);
    push_ms(h, B, 5, 2);
    expect_set(h, 2, 0, (int64_t[]){0, 5}); /* {10, 5} is as narrow, and ends later */
    end_all_after(h, 3, 10, (int64_t[]){10, NO});
    h_close(h);
}

Test(align, approximate_equal_windows_take_each_inputs_earlier_buffer)
{
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 3, .tolerance = 10 * MS, .partial = true,
             .period = {20 * MS}}; /* A's next is too late to make a narrower window */
    harness *h = h_open(&r);
    push_ms(h, C, 5, 0);
    push_ms(h, C, 6, 1);
    push_ms(h, A, 0, 2);
    push_ms(h, B, 10, 3);
    expect_set(h, 3, 0, (int64_t[]){0, 10, 5});
    end_all_after(h, 4, 6, (int64_t[]){NO, NO, 6});
    h_close(h);
}

Test(align, nearest_equal_distances_take_the_earlier_buffer)
{
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 2, .reference = A, .tolerance = 10 * MS,
             .period = {0, 20 * MS}}; /* B's next, at 130 or later, is not nearer to 120 than 110 */
    harness *h = h_open(&r);
    push_ms(h, B, 90, 0);
    push_ms(h, B, 110, 1);
    push_ms(h, A, 100, 2);
    expect_set(h, 2, 100, (int64_t[]){100, 90});
    push_ms(h, A, 120, 3);
    expect_set(h, 3, 120, (int64_t[]){120, 110});
    end_all(h, 4);
    h_close(h);
}

/* A reference policy's set goes out as soon as B's period proves that
 * nothing nearer (or newer at or before the reference) can come; without
 * the hint it waits for B's next buffer. */
static void reference_set_final_by_period(mqs_sync_policy policy, int64_t period_ms)
{
    rig r = {.policy = policy, .inputs = 2, .reference = A, .tolerance = 50 * MS, .timeout = 1000 * MS,
             .period = {0, period_ms * MS}};
    harness *h = h_open(&r);
    push_ms(h, B, 95, 0);
    push_ms(h, A, 100, 1);
    if (!period_ms) {
        expect_nothing(h, 1, 1001);
        push_ms(h, B, 105, 2); /* as near as 95: the earlier stays */
    }
    expect_set(h, 2, 100, (int64_t[]){100, 95});
    end_all(h, 3);
    h_close(h);
}

Test(align, nearest_and_latest_sets_go_out_once_the_period_proves_them_final)
{
    reference_set_final_by_period(MQS_SYNC_NEAREST, 10); /* next B >= 105: no nearer than 95 */
    reference_set_final_by_period(MQS_SYNC_NEAREST, 0);
    reference_set_final_by_period(MQS_SYNC_LATEST, 10); /* next B > 100 */
    reference_set_final_by_period(MQS_SYNC_LATEST, 0);
}

/* ---- full rings, out-of-order pts, destroy, bad configs ---- */

Test(align, a_full_non_reference_input_drops_its_oldest_as_overflow)
{
    rig r = {.policy = MQS_SYNC_NEAREST, .inputs = 2, .reference = A, .tolerance = 10 * MS, .depth = {4, 3}};
    harness *h = h_open(&r);
    for (int64_t t = 0; t <= 80; t += 40)
        push_ms(h, B, t, t);
    cr_assert(mqs_align_has_room(h->a, B), "a non-reference input never blocks");
    push_ms(h, B, 120, 120);
    cr_assert(eq(u64, dropped(h, B, MQS_DROP_OVERFLOW), 1));
    cr_assert(eq(u32, h->released[B][0], 1), "the oldest went at the push");
    cr_assert(mqs_align_has_room(h->a, B));
    push_ms(h, A, 120, 121);
    expect_set(h, 121, 120, (int64_t[]){120, 120});
    end_all(h, 122);
    expect_counts(h, B, 1, DROPS(2, 0, 0, 0, 1));
    h_close(h);
}

Test(align, latest_releases_a_used_buffer_from_a_full_input_without_counting_overflow)
{
    rig r = {.policy = MQS_SYNC_LATEST, .inputs = 2, .reference = A, .tolerance = MQS_TOLERANCE_UNLIMITED,
             .depth = {4, 2}};
    harness *h = h_open(&r);
    push_ms(h, B, 0, 0);
    push_ms(h, B, 10, 1);
    push_ms(h, A, 5, 2);
    expect_set(h, 2, 5, (int64_t[]){5, 0});
    push_ms(h, B, 20, 3);
    cr_assert(eq(u32, h->released[B][0], 1), "the used buffer made room");
    cr_assert(eq(u64, dropped(h, B, MQS_DROP_OVERFLOW), 0), "a used buffer is not dropped");
    push_ms(h, B, 30, 4);
    cr_assert(eq(u64, dropped(h, B, MQS_DROP_OVERFLOW), 1), "the unused 10 ms one is");
    end_all(h, 5);
    expect_counts(h, B, 1, DROPS(2, 0, 0, 0, 1));
    h_close(h);
}

Test(align, a_full_input_that_may_block_has_no_room)
{
    rig exact = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 2, .tolerance = 10 * MS, .depth = {2, 2}};
    harness *h = h_open(&exact);
    push_ms(h, A, 0, 0);
    push_ms(h, A, 40, 1);
    expect_nothing(h, 1, LONG_TIMEOUT / MS);
    cr_assert(mqs_align_has_room(h->a, A) == false, "A holds depth buffers");
    cr_assert(mqs_align_has_room(h->a, B));
    push_ms(h, B, 0, 2);
    expect_set(h, 2, 0, (int64_t[]){0, 0});
    cr_assert(mqs_align_has_room(h->a, A), "the set made room");
    end_all(h, 3);
    h_close(h);

    rig nearest = {.policy = MQS_SYNC_NEAREST, .inputs = 2, .reference = A, .tolerance = 10 * MS, .depth = {2, 2}};
    h = h_open(&nearest);
    push_ms(h, A, 0, 0);
    push_ms(h, A, 40, 1);
    cr_assert(mqs_align_has_room(h->a, A) == false, "the reference blocks when full");
    cr_assert(mqs_align_has_room(h->a, B));
    cr_assert(mqs_align_has_room(h->a, 2) == false, "no such input");
    end_all(h, 2);
    h_close(h);
}

Test(align, out_of_order_buffers_are_dropped_at_once)
{
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 2, .tolerance = 10 * MS};
    harness *h = h_open(&r);
    push_ms(h, A, 0, 0);
    push_ms(h, A, 40, 1);
    push_ms(h, A, 40, 2); /* equal */
    push_ms(h, A, 30, 3); /* earlier */
    cr_assert(h->released[A][2] == 1 && h->released[A][3] == 1, "released at the push");
    cr_assert(eq(u64, dropped(h, A, MQS_DROP_OUT_OF_ORDER), 2));
    push_ms(h, B, 0, 4);
    expect_set(h, 4, 0, (int64_t[]){0, 0});
    push_ms(h, B, 40, 5);
    expect_set(h, 5, 40, (int64_t[]){40, 40});
    push_ms(h, A, 100, 6);
    push_ms(h, A, 90, 7);
    push_ms(h, A, 95, 8); /* after the dropped 90, still before 100 */
    push_ms(h, B, 100, 9);
    expect_set(h, 9, 100, (int64_t[]){100, 100});
    end_all(h, 10);
    expect_counts(h, A, 3, DROPS(0, 0, 0, 4, 0));
    expect_counts(h, B, 3, DROPS(0, 0, 0, 0, 0));
    h_close(h);
}

Test(align, destroy_releases_what_is_held_without_counting_drops)
{
    rig r = {.policy = MQS_SYNC_APPROXIMATE, .inputs = 2, .tolerance = 10 * MS};
    harness *h = h_open(&r);
    push_ms(h, A, 0, 0);
    push_ms(h, A, 40, 1);
    push_ms(h, B, 0, 2);
    const mqs_align_set *s = mqs_align_next(h->a, 2 * MS);
    cr_assert(s != NULL && s->id[A] == id_of(A, 0) && s->id[B] == id_of(B, 0));
    cr_assert(eq(u32, mqs_align_held(h->a), 3), "a set's members stay held until done");
    h_close(h);
    for (uint32_t k = 0; k < 2; k++)
        cr_assert(eq(u32, h->released[A][k], 1));
    cr_assert(eq(u32, h->released[B][0], 1));
    expect_counts(h, A, 1, DROPS(0, 0, 0, 0, 0));
    expect_counts(h, B, 1, DROPS(0, 0, 0, 0, 0));
}

Test(align, create_refuses_bad_configs)
{
    mqs_align_shared counters;
    mqs_input_shared in[2];
    mqs_align_config good = {.policy = MQS_SYNC_NEAREST, .reference = 1, .tolerance_ns = 0, .timeout_ns = 1,
                             .input_count = 2, .counters = &counters, .release = on_release,
                             .inputs = {{.depth = 1, .counters = &in[0]}, {.depth = 65536, .counters = &in[1]}}};
    mqs_aligner *a = mqs_align_create(&good);
    cr_assert(a != NULL, "%s", mqs_last_error());
    mqs_align_destroy(a);
    mqs_align_config bad[9];
    for (uint32_t k = 0; k < 9; k++)
        bad[k] = good;
    bad[0].policy = MQS_SYNC_NONE;
    bad[1].release = NULL;
    bad[2].input_count = 0;
    bad[3].input_count = MQS_ALIGN_MAX_INPUTS + 1;
    bad[4].reference = 2;
    bad[5].timeout_ns = 0;
    bad[6].tolerance_ns = -1;
    bad[7].inputs[0].depth = 0;
    bad[8].inputs[1].depth = 65537;
    for (uint32_t k = 0; k < 9; k++) {
        cr_assert(mqs_align_create(&bad[k]) == NULL, "bad config %u accepted", k);
        cr_assert(ne(str, (char *)mqs_last_error(), ""), "bad config %u: no message", k);
    }
    cr_assert(mqs_align_create(NULL) == NULL);
}

/* ---- histogram percentiles ---- */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Percentiles of `n` samples read back from a histogram: max exact, p50 and
 * p99 within 1/16 of the true (nearest-rank) value. */
static mqs_histogram_shared shared;
static mqs_histogram h;

static void read_back(const mqs_histogram_shared *from, mqs_histogram *to)
{
    for (uint32_t b = 0; b < MQS_HISTOGRAM_BUCKETS; b++)
        to->count[b] = from->count[b];
    to->samples = from->samples, to->max = from->max;
}

static void check_percentiles(uint64_t *v, uint32_t n)
{
    memset(&shared, 0, sizeof shared);
    for (uint32_t k = 0; k < n; k++)
        mqsi_histogram_add(&shared, v[k]);
    read_back(&shared, &h);
    qsort(v, n, sizeof *v, cmp_u64);
    cr_assert(eq(i64, mqs_histogram_percentile(&h, 100), (int64_t)v[n - 1]), "max");
    const double percents[] = {50, 99};
    for (uint32_t p = 0; p < 2; p++) {
        uint64_t rank = (uint64_t)ceil(percents[p] / 100 * n);
        int64_t truth = (int64_t)v[rank - 1], got = mqs_histogram_percentile(&h, percents[p]);
        cr_assert(llabs(got - truth) * 16 <= truth, "p%.0f of %u samples: %lld, true %lld", percents[p], n,
                  (long long)got, (long long)truth);
    }
}

Test(align, histogram_percentiles_max_exact_p50_p99_within_a_sixteenth)
{
    static uint64_t v[10000];
    mqs_histogram empty = {0};
    cr_assert(eq(i64, mqs_histogram_percentile(&empty, 50), 0), "no samples");
    for (uint32_t k = 0; k < 1000; k++)
        v[k] = 1000 * (uint64_t)k + 37;
    check_percentiles(v, 1000);
    for (uint32_t k = 0; k < 16; k++)
        v[k] = k; /* exact buckets */
    check_percentiles(v, 16);
    rng g = {99};
    for (uint32_t k = 0; k < 10000; k++) /* spread over 20 octaves */
        v[k] = (uint64_t)1 << rng_between(&g, 4, 24) | (uint64_t)rng_between(&g, 0, 1 << 20);
    check_percentiles(v, 10000);
    v[0] = 5 * MS;
    check_percentiles(v, 1);
    v[0] = 7, v[1] = (uint64_t)1 << 45; /* past the last bucket: only the max is exact there */
    memset(&shared, 0, sizeof shared);
    mqsi_histogram_add(&shared, v[0]);
    mqsi_histogram_add(&shared, v[1]);
    read_back(&shared, &h);
    cr_assert(eq(i64, mqs_histogram_percentile(&h, 100), (int64_t)v[1]));
    cr_assert(eq(i64, mqs_histogram_percentile(&h, 50), 7));
}
