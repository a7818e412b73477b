/* Figures from two snapshots. Shares of time come from the waits each
 * process counts itself (a wait in progress included): what is not waiting
 * is busy. Counters are read without a lock, so a wait ending between two
 * loads may count twice; shares are clamped to 0..100. */
#include <string.h>

#include "figures.h"

static const char *const state_names[] = {"free", "running", "exited"};
static const char *const activity_names[] = {"idle", "init", "busy", "input", "slot", "output"};
static const char *const wait_names[] = {"input", "output", "slot", "schedule"};

static double clamp_percent(double x)
{
    return x < 0 ? 0 : x > 100 ? 100 : x;
}

static double per_second(uint64_t delta, int64_t window_ns)
{
    return window_ns > 0 ? (double)delta * 1e9 / (double)window_ns : 0;
}

/* Per second from `before` (NULL: from the start) to `now`, of a counter
 * that was `earlier` then and is `count` now. */
static double rate_since(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint64_t earlier,
                         uint64_t count)
{
    int64_t from = before ? before->t_ns : now->start_ns;
    return from > 0 && count >= earlier ? per_second(count - earlier, now->t_ns - from) : 0;
}

/* Waits of process p up to the snapshot, in progress included: [0] waiting
 * (input, schedule), [1] blocked (output, slot). */
static void waits_of(const mqs_stats_snapshot *s, uint32_t p, uint64_t out[2])
{
    const mqs_process_counters_info *c = &s->counters[p];
    out[0] = c->waited_ns[MQS_WAIT_FOR_INPUT] + c->waited_ns[MQS_WAIT_FOR_SCHEDULE];
    out[1] = c->waited_ns[MQS_WAIT_FOR_OUTPUT] + c->waited_ns[MQS_WAIT_FOR_SLOT];
    if (c->wait_began_ns > 0 && c->wait_began_ns < s->t_ns && (unsigned)c->wait_kind < MQS_WAIT_KINDS) {
        bool blocked = c->wait_kind == MQS_WAIT_FOR_OUTPUT || c->wait_kind == MQS_WAIT_FOR_SLOT;
        out[blocked] += (uint64_t)(s->t_ns - c->wait_began_ns);
    }
}

static const char *doing(const mqs_stats_snapshot *s, uint32_t p)
{
    const mqs_process_counters_info *c = &s->counters[p];
    if (s->proc[p].state != MQS_PROCESS_ATTACHED)
        return "-";
    if (c->wait_began_ns > 0 && (unsigned)c->wait_kind < MQS_WAIT_KINDS)
        return wait_names[c->wait_kind];
    unsigned a = (unsigned)s->proc[p].activity;
    return a < sizeof activity_names / sizeof activity_names[0] ? activity_names[a] : "?";
}

static void shares(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p, int64_t window,
                   mqs_block_figures *f)
{
    uint64_t w_now[2], w_before[2] = {0, 0};
    waits_of(now, p, w_now);
    if (before)
        waits_of(before, p, w_before);
    double waiting = (double)(w_now[0] - (w_now[0] >= w_before[0] ? w_before[0] : w_now[0]));
    double blocked = (double)(w_now[1] - (w_now[1] >= w_before[1] ? w_before[1] : w_now[1]));
    f->wait_percent = clamp_percent(100 * waiting / (double)window);
    f->blocked_percent = clamp_percent(100 * blocked / (double)window);
    f->busy_percent = clamp_percent(100 - f->wait_percent - f->blocked_percent);
}

static void usage(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p, int64_t window,
                  mqs_block_figures *f)
{
    const mqs_proc_usage *u = &now->usage[p];
    f->cpu_percent = -1;
    f->rss_bytes = u->known ? u->rss_bytes : 0;
    if (!u->known)
        return;
    bool same = before && before->usage[p].known && before->proc[p].pid == now->proc[p].pid;
    uint64_t cpu = u->cpu_ns - (same && before->usage[p].cpu_ns <= u->cpu_ns ? before->usage[p].cpu_ns : 0);
    f->cpu_percent = window > 0 ? 100.0 * (double)cpu / (double)window : 0;
}

void mqs_figures_block(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p,
                       mqs_block_figures *f)
{
    const mqs_process_stats *ps = &now->proc[p];
    const mqs_process_counters_info *c = &now->counters[p];
    memset(f, 0, sizeof *f);
    f->name = mqs_process_name(now->domain, p);
    f->state = (unsigned)ps->state < 3 ? state_names[ps->state] : "?";
    f->doing = doing(now, p);
    f->pid = ps->pid;
    f->restarts = ps->restarts;
    f->held = ps->held;
    f->calls = ps->calls;
    f->exit_code = c->exit_code;
    f->exit_signal = c->exit_signal;
    f->exits = c->exits;
    f->report_count = c->report_count;
    f->reports = c->reports;
    f->call_p50_ns = mqs_histogram_percentile(&c->call_ns, 50);
    f->call_p99_ns = mqs_histogram_percentile(&c->call_ns, 99);
    f->call_max_ns = mqs_histogram_percentile(&c->call_ns, 100);
    f->call_samples = c->call_ns.samples;
    f->cpu_percent = -1;
    if (ps->state != MQS_PROCESS_ATTACHED || c->attached_ns <= 0)
        return;
    f->input_age_ns = c->input_wait_since_ns > 0 && c->input_wait_since_ns < now->t_ns
                          ? now->t_ns - c->input_wait_since_ns : 0;
    int64_t from = before && before->t_ns > c->attached_ns ? before->t_ns : c->attached_ns;
    int64_t window = now->t_ns - from;
    if (window <= 0)
        return;
    f->measured = true;
    uint64_t calls_before = before && before->t_ns > c->attached_ns ? before->proc[p].calls : 0;
    f->calls_per_s = ps->calls >= calls_before ? per_second(ps->calls - calls_before, window) : 0;
    shares(before, now, p, window, f);
    usage(before, now, p, window, f);
}

void mqs_figures_connection(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t q,
                            mqs_connection_figures *f)
{
    const mqs_domain *d = now->domain;
    const mqs_queue_stats *n = &now->queue[q];
    uint32_t output = mqs_queue_output(d, q);
    *f = (mqs_connection_figures){
        .from = mqs_output_name(d, output), .to = mqs_queue_name(d, q), .producer = mqs_output_owner(d, output),
        .consumer = mqs_queue_consumer(d, q), .policy = mqs_queue_policy_name(n->policy), .depth = n->depth,
        .queued = n->length, .pushed = n->pushed, .popped = n->popped, .dropped = n->dropped,
        .drained = n->drained, .high_water = n->high_water,
    };
    f->fill_percent = n->depth ? 100.0 * n->length / n->depth : 0;
    f->rate = rate_since(before, now, before ? before->queue[q].popped : 0, n->popped);
}

void mqs_figures_pool(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t i,
                      mqs_pool_figures *f)
{
    const mqs_pool_stats *p = &now->pool[i];
    *f = (mqs_pool_figures){
        .name = mqs_pool_name(now->domain, i), .slots = p->slot_count, .in_use = p->in_use,
        .high_water = p->high_water, .allocs = p->allocs, .alloc_waits = p->alloc_failures,
        .rejected_ids = p->rejected_ids,
    };
    f->allocs_per_s = rate_since(before, now, before ? before->pool[i].allocs : 0, p->allocs);
}

double mqs_figures_sets_per_s(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p)
{
    if (!now->align[p])
        return 0;
    return rate_since(before, now, before && before->align[p] ? before->align[p]->sets : 0, now->align[p]->sets);
}

uint64_t mqs_figures_align_drops(const mqs_stats_snapshot *now, uint32_t p)
{
    uint64_t drops = 0;
    for (uint32_t q = 0; q < now->queues; q++)
        if (mqs_queue_consumer(now->domain, q) == p)
            for (uint32_t r = 0; r < MQS_DROP_REASONS; r++)
                drops += now->input[q].dropped[r];
    return drops;
}

void mqs_figures_bottleneck(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t *block,
                            uint32_t *queue)
{
    double busiest = 50, fullest = 50;
    *block = *queue = UINT32_MAX;
    for (uint32_t p = 1; p < now->processes; p++) {
        mqs_block_figures f;
        mqs_figures_block(before, now, p, &f);
        if (f.measured && f.busy_percent > busiest)
            busiest = f.busy_percent, *block = p;
    }
    for (uint32_t q = 0; q < now->queues; q++) {
        const mqs_queue_stats *n = &now->queue[q];
        double fill = n->depth ? 100.0 * n->length / n->depth : 0;
        if (fill > fullest)
            fullest = fill, *queue = q;
    }
}
