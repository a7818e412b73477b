/* The aligner's policies restated as simply as possible (align_reference.h).
 * Buffers are named by their index among their input's in-order buffers
 * ("kept"); results name them by their index in the pushed stream. */
#include "align_reference.h"

#include <string.h>

#define VIRTUAL (-2) /* a combination member that has not arrived yet */

typedef struct model {
    const ref_config *c;
    const ref_stream *s;
    ref_result *out;
    uint32_t kept[REF_MAX_INPUTS][REF_MAX_BUFFERS]; /* pushed index of each in-order buffer */
    uint32_t kept_count[REF_MAX_INPUTS];
    uint32_t head[REF_MAX_INPUTS];    /* first kept buffer still undecided */
    uint32_t arrived[REF_MAX_INPUTS]; /* kept buffers pushed so far */
    bool ended[REF_MAX_INPUTS];       /* nothing comes after `arrived` */
} model;

/* Out-of-order buffers are decided at once; everything arrived and ended. */
static void model_init(model *m, const ref_config *c, const ref_stream *s, ref_result *out)
{
    memset(m, 0, sizeof *m);
    memset(out, 0, sizeof *out);
    m->c = c, m->s = s, m->out = out;
    for (uint32_t i = 0; i < c->input_count; i++) {
        bool have = false;
        int64_t last = 0;
        for (uint32_t k = 0; k < s[i].count; k++) {
            out->fate[i][k] = REF_UNDECIDED;
            if (have && s[i].pts[k] <= last) {
                out->fate[i][k] = MQS_DROP_OUT_OF_ORDER;
                out->dropped[i][MQS_DROP_OUT_OF_ORDER]++;
                continue;
            }
            have = true, last = s[i].pts[k];
            m->kept[i][m->kept_count[i]++] = k;
        }
        m->arrived[i] = m->kept_count[i];
        m->ended[i] = true;
    }
}

static int64_t pts_at(const model *m, uint32_t i, uint32_t k) { return m->s[i].pts[m->kept[i][k]]; }

static void drop(model *m, uint32_t i, uint32_t k, mqs_drop_reason why)
{
    m->out->fate[i][m->kept[i][k]] = (int32_t)why;
    m->out->dropped[i][why]++;
}

/* Handed out in a set; counted once however many sets use it. */
static void use(model *m, uint32_t i, uint32_t k)
{
    int32_t *fate = &m->out->fate[i][m->kept[i][k]];
    if (*fate != REF_DELIVERED)
        m->out->delivered[i]++;
    *fate = REF_DELIVERED;
}

/* No longer needed: dropped for `why` unless a set used it. */
static void retire(model *m, uint32_t i, uint32_t k, mqs_drop_reason why)
{
    if (m->out->fate[i][m->kept[i][k]] != REF_DELIVERED)
        drop(m, i, k, why);
}

static bool deliverable(const model *m, uint32_t missing)
{
    if (m->c->partial)
        return true;
    for (uint32_t i = 0; i < m->c->input_count; i++)
        if ((missing & (1u << i)) && !m->c->optional[i])
            return false;
    return true;
}

static ref_set *new_set(model *m, int64_t pts)
{
    ref_set *s = &m->out->sets[m->out->set_count++];
    memset(s, 0, sizeof *s);
    s->pts = pts;
    for (uint32_t i = 0; i < REF_MAX_INPUTS; i++)
        s->member[i] = s->next[i] = REF_NONE;
    return s;
}

/* Members are set: spread (of the members, not of next) and partial. */
static void finish_set(const model *m, ref_set *s)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < m->c->input_count; i++) {
        if (s->member[i] == REF_NONE) {
            s->partial = true;
            continue;
        }
        int64_t p = m->s[i].pts[s->member[i]];
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
    }
    s->spread = hi - lo;
}

/* ---- approximate ---- */

typedef struct combo {
    int32_t pick[REF_MAX_INPUTS]; /* kept index, VIRTUAL, or REF_NONE (input not present) */
    int64_t value[REF_MAX_INPUTS];
    int64_t lo, hi;
    bool valid;
} combo;

typedef struct search {
    const model *m;
    uint32_t present, pivot;
    int64_t pivot_pts, limit; /* no real member later than limit can be in the best */
    bool with_virtual;        /* second pass: look for a not-yet-arrived buffer that wins */
    bool beaten;
    combo cur, best;
} search;

/* Narrower, then earlier end, then earlier members input by input. */
static bool ranks_before(const search *q, const combo *x, const combo *y)
{
    if (!y->valid)
        return true;
    if (x->hi - x->lo != y->hi - y->lo)
        return x->hi - x->lo < y->hi - y->lo;
    if (x->hi != y->hi)
        return x->hi < y->hi;
    for (uint32_t i = 0; i < q->m->c->input_count; i++)
        if ((q->present & (1u << i)) && x->value[i] != y->value[i])
            return x->value[i] < y->value[i];
    return false;
}

/* Lowest pts the input's next buffer can have: its last + max(period, 1). */
static int64_t next_bound(const model *m, uint32_t i)
{
    if (m->arrived[i] == 0)
        return INT64_MIN;
    int64_t gap = m->c->period[i] > 0 ? m->c->period[i] : 1;
    return pts_at(m, i, m->arrived[i] - 1) + gap;
}

static void leaf(search *q, bool any_virtual)
{
    combo *c = &q->cur;
    c->lo = INT64_MAX, c->hi = INT64_MIN;
    for (uint32_t i = 0; i < q->m->c->input_count; i++)
        if (q->present & (1u << i)) {
            c->lo = c->value[i] < c->lo ? c->value[i] : c->lo;
            c->hi = c->value[i] > c->hi ? c->value[i] : c->hi;
        }
    if (q->with_virtual) {
        if (any_virtual && ranks_before(q, c, &q->best))
            q->beaten = true;
    } else if (ranks_before(q, c, &q->best)) {
        q->best = *c;
        q->best.valid = true;
    }
}

/* Every combination of one buffer per present input holding the pivot's head. */
static void explore(search *q, uint32_t i, bool any_virtual)
{
    const model *m = q->m;
    if (i == m->c->input_count) {
        leaf(q, any_virtual);
        return;
    }
    q->cur.pick[i] = REF_NONE;
    if (!(q->present & (1u << i))) {
        explore(q, i + 1, any_virtual);
        return;
    }
    uint32_t end = i == q->pivot ? m->head[i] + 1 : m->arrived[i];
    for (uint32_t k = m->head[i]; k < end && pts_at(m, i, k) <= q->limit; k++) {
        q->cur.pick[i] = (int32_t)k;
        q->cur.value[i] = pts_at(m, i, k);
        explore(q, i + 1, any_virtual);
    }
    if (q->with_virtual && i != q->pivot && !m->ended[i]) {
        /* The most favourable buffer still to come: as early as allowed, not before the pivot. */
        int64_t bound = next_bound(m, i);
        q->cur.pick[i] = VIRTUAL;
        q->cur.value[i] = bound > q->pivot_pts ? bound : q->pivot_pts;
        explore(q, i + 1, true);
    }
}

static void emit_approximate(model *m, const combo *best, uint32_t present)
{
    ref_set *s = new_set(m, best->lo);
    for (uint32_t i = 0; i < m->c->input_count; i++) {
        if (!(present & (1u << i)))
            continue;
        uint32_t k = (uint32_t)best->pick[i];
        for (; m->head[i] < k; m->head[i]++)
            drop(m, i, m->head[i], MQS_DROP_SUPERSEDED);
        use(m, i, k);
        s->member[i] = (int32_t)m->kept[i][k];
        m->head[i] = k + 1;
    }
    finish_set(m, s);
}

typedef enum { WAIT, PROGRESS } outcome;

static outcome drop_head(model *m, uint32_t i)
{
    drop(m, i, m->head[i]++, MQS_DROP_NO_MATCH);
    return PROGRESS;
}

/* One decision, if what arrived proves it. */
static outcome approximate_step(model *m)
{
    const ref_config *c = m->c;
    uint32_t present = 0, unknown = 0, missing = 0, first = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t i = 0; i < c->input_count; i++) {
        if (m->head[i] < m->arrived[i]) {
            present |= 1u << i;
            int64_t p = pts_at(m, i, m->head[i]);
            if (p < lo)
                lo = p, first = i;
            hi = p > hi ? p : hi;
        } else if (m->ended[i]) {
            missing |= 1u << i;
        } else {
            unknown |= 1u << i;
        }
    }
    if (!present)
        return WAIT;
    if (hi - lo > c->tolerance)
        return drop_head(m, first);
    /* An empty input either sends a head too late for `first`, or ends:
     * `first` is lost either way only if a set may not go without it. */
    uint32_t too_late = 0;
    for (uint32_t i = 0; i < c->input_count; i++)
        if ((unknown & (1u << i)) && m->arrived[i] > 0 && next_bound(m, i) - lo > c->tolerance)
            too_late |= 1u << i;
    if (too_late && !deliverable(m, missing | too_late))
        return drop_head(m, first);
    if (unknown)
        return WAIT;
    if (missing && !deliverable(m, missing))
        return drop_head(m, first);
    search q = {.m = m, .present = present, .pivot_pts = hi, .limit = hi + (hi - lo)};
    for (uint32_t i = 0; i < c->input_count; i++)
        if ((present & (1u << i)) && pts_at(m, i, m->head[i]) == hi)
            q.pivot = i;
    explore(&q, 0, false);
    q.with_virtual = true;
    explore(&q, 0, false);
    if (q.beaten)
        return WAIT;
    emit_approximate(m, &q.best, present);
    return PROGRESS;
}

static void settle_approximate(model *m, uint32_t event)
{
    uint32_t before = m->out->set_count;
    while (approximate_step(m) == PROGRESS)
        ;
    for (uint32_t k = before; k < m->out->set_count; k++)
        m->out->sets[k].decided_at = event;
}

void ref_approximate_online(const ref_config *c, const ref_stream *streams, const ref_event *events,
                            uint32_t event_count, ref_result *out)
{
    static model m; /* large; tests are single-threaded */
    model_init(&m, c, streams, out);
    uint32_t pushed[REF_MAX_INPUTS] = {0};
    for (uint32_t i = 0; i < c->input_count; i++)
        m.arrived[i] = 0, m.ended[i] = false;
    for (uint32_t e = 0; e < event_count; e++) {
        uint32_t i = events[e].input;
        if (events[e].end)
            m.ended[i] = true;
        else if (out->fate[i][pushed[i]++] != MQS_DROP_OUT_OF_ORDER)
            m.arrived[i]++;
        settle_approximate(&m, e);
    }
}

/* ---- exact ---- */

static void exact_all(model *m)
{
    for (;;) {
        uint32_t present = 0, missing = 0, first = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (uint32_t i = 0; i < m->c->input_count; i++) {
            if (m->head[i] == m->kept_count[i]) {
                missing |= 1u << i;
                continue;
            }
            present |= 1u << i;
            int64_t p = pts_at(m, i, m->head[i]);
            if (p < lo)
                lo = p, first = i;
            hi = p > hi ? p : hi;
        }
        if (!present)
            return;
        if (hi > lo || (missing && !deliverable(m, missing))) {
            drop_head(m, first);
            continue;
        }
        ref_set *s = new_set(m, lo);
        for (uint32_t i = 0; i < m->c->input_count; i++)
            if (present & (1u << i)) {
                use(m, i, m->head[i]);
                s->member[i] = (int32_t)m->kept[i][m->head[i]++];
            }
        finish_set(m, s);
    }
}

/* ---- nearest, latest, interpolate ---- */

/* What a non-reference input gives the set for reference pts r. */
typedef struct pick {
    int32_t member, next; /* kept indices, REF_NONE */
    double weight;
} pick;

static int64_t distance(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

/* Nearest within tolerance among the undecided buffers, the earlier on a
 * tie; the ones too early for r (hence for every later r) go first. */
static pick pick_nearest(model *m, uint32_t j, int64_t r)
{
    while (m->head[j] < m->kept_count[j] && r - pts_at(m, j, m->head[j]) > m->c->tolerance)
        drop(m, j, m->head[j]++, MQS_DROP_NO_MATCH);
    pick p = {.member = REF_NONE, .next = REF_NONE};
    int64_t best = INT64_MAX;
    for (uint32_t k = m->head[j]; k < m->kept_count[j]; k++) {
        int64_t d = distance(pts_at(m, j, k), r);
        if (d <= m->c->tolerance && d < best)
            best = d, p.member = (int32_t)k;
    }
    return p;
}

/* The newest buffer at or before r (REF_NONE if none); older ones retire. */
static int32_t newest_at_or_before(model *m, uint32_t j, int64_t r)
{
    int32_t k = REF_NONE;
    for (uint32_t q = m->head[j]; q < m->kept_count[j] && pts_at(m, j, q) <= r; q++)
        k = (int32_t)q;
    for (; k != REF_NONE && m->head[j] < (uint32_t)k; m->head[j]++)
        retire(m, j, m->head[j], MQS_DROP_SUPERSEDED);
    return k;
}

static pick pick_latest(model *m, uint32_t j, int64_t r)
{
    int32_t k = newest_at_or_before(m, j, r);
    pick p = {.member = REF_NONE, .next = REF_NONE};
    if (k != REF_NONE && r - pts_at(m, j, (uint32_t)k) <= m->c->tolerance)
        p.member = k;
    return p;
}

static pick pick_interpolate(model *m, uint32_t j, int64_t r)
{
    pick p = pick_latest(m, j, r);
    if (p.member == REF_NONE)
        return p;
    int64_t a = pts_at(m, j, (uint32_t)p.member);
    uint32_t after = (uint32_t)p.member + 1;
    if (a == r)
        p.next = p.member;
    else if (after < m->kept_count[j] && pts_at(m, j, after) - r <= m->c->tolerance) {
        p.next = (int32_t)after;
        p.weight = (double)(r - a) / (double)(pts_at(m, j, after) - a);
    }
    return p;
}

static void emit_reference(model *m, uint32_t rk, const pick *picks)
{
    uint32_t ref = m->c->reference;
    ref_set *s = new_set(m, pts_at(m, ref, rk));
    use(m, ref, rk);
    s->member[ref] = (int32_t)m->kept[ref][rk];
    for (uint32_t j = 0; j < m->c->input_count; j++) {
        const pick *p = &picks[j];
        if (j == ref || p->member == REF_NONE)
            continue;
        if (m->c->policy == MQS_SYNC_NEAREST) { /* used once: what it passed over is superseded */
            for (; m->head[j] < (uint32_t)p->member; m->head[j]++)
                drop(m, j, m->head[j], MQS_DROP_SUPERSEDED);
            m->head[j]++;
        }
        use(m, j, (uint32_t)p->member);
        s->member[j] = (int32_t)m->kept[j][p->member];
        if (p->next != REF_NONE) {
            use(m, j, (uint32_t)p->next);
            s->next[j] = (int32_t)m->kept[j][p->next];
            s->weight[j] = p->weight;
        }
    }
    finish_set(m, s);
}

static void reference_all(model *m)
{
    uint32_t ref = m->c->reference;
    for (uint32_t rk = 0; rk < m->kept_count[ref]; rk++) {
        int64_t r = pts_at(m, ref, rk);
        pick picks[REF_MAX_INPUTS];
        uint32_t missing = 0;
        for (uint32_t j = 0; j < m->c->input_count; j++) {
            if (j == ref)
                continue;
            picks[j] = m->c->policy == MQS_SYNC_NEAREST ? pick_nearest(m, j, r)
                       : m->c->policy == MQS_SYNC_LATEST ? pick_latest(m, j, r)
                                                          : pick_interpolate(m, j, r);
            if (picks[j].member == REF_NONE)
                missing |= 1u << j;
        }
        if (missing && !deliverable(m, missing))
            drop(m, ref, rk, MQS_DROP_NO_MATCH);
        else
            emit_reference(m, rk, picks);
    }
    /* No reference buffer is left to use what the others still hold. */
    for (uint32_t j = 0; j < m->c->input_count; j++)
        for (; j != ref && m->head[j] < m->kept_count[j]; m->head[j]++)
            retire(m, j, m->head[j], MQS_DROP_NO_MATCH);
}

void ref_align(const ref_config *c, const ref_stream *streams, ref_result *out)
{
    static model m;
    model_init(&m, c, streams, out);
    if (c->policy == MQS_SYNC_EXACT)
        exact_all(&m);
    else if (c->policy == MQS_SYNC_APPROXIMATE)
        settle_approximate(&m, 0);
    else
        reference_all(&m);
}
