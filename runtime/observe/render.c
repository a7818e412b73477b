/* Graph statistics snapshots and their two renderings. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

struct mqs_stats_snapshot {
    const mqs_domain *domain;
    int64_t t_ns;
    uint32_t processes, queues, pools;
    mqs_process_stats *proc;
    mqs_queue_stats *queue;
    mqs_pool_stats *pool;
    mqs_align_stats **align; /* per process; NULL where it does not align */
    mqs_input_stats *input;  /* per queue */
};

static const char *const state_names[] = {"free", "running", "exited"};

/* The counters of every aligning process and of every input. */
static int take_align(mqs_stats_snapshot *s, const mqs_domain *d)
{
    for (uint32_t p = 0; p < s->processes; p++) {
        mqs_align_stats a;
        if (mqs_align_stats_get(d, p, &a) != 0)
            continue;
        if (!(s->align[p] = malloc(sizeof a)))
            return -ENOMEM;
        *s->align[p] = a;
    }
    for (uint32_t q = 0; q < s->queues; q++)
        mqs_input_stats_get(d, q, &s->input[q]);
    return 0;
}

mqs_stats_snapshot *mqs_stats_take(const mqs_domain *d)
{
    mqs_stats_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->domain = d;
    s->t_ns = mqs_now_ns();
    s->processes = mqs_domain_process_count(d);
    s->queues = mqs_domain_queue_count(d);
    s->pools = mqs_domain_pool_count(d);
    s->proc = calloc(s->processes, sizeof *s->proc);
    s->queue = calloc(s->queues ? s->queues : 1, sizeof *s->queue);
    s->pool = calloc(s->pools ? s->pools : 1, sizeof *s->pool);
    s->align = calloc(s->processes, sizeof *s->align);
    s->input = calloc(s->queues ? s->queues : 1, sizeof *s->input);
    if (!s->proc || !s->queue || !s->pool || !s->align || !s->input || take_align(s, d) != 0) {
        mqs_stats_free(s);
        return NULL;
    }
    for (uint32_t i = 0; i < s->processes; i++)
        mqs_process_stats_get(d, i, &s->proc[i]);
    for (uint32_t i = 0; i < s->queues; i++)
        mqs_queue_stats_get(d, i, &s->queue[i]);
    for (uint32_t i = 0; i < s->pools; i++)
        mqs_pool_stats_get(d, i, &s->pool[i]);
    return s;
}

void mqs_stats_free(mqs_stats_snapshot *s)
{
    if (!s)
        return;
    free(s->proc);
    free(s->queue);
    free(s->pool);
    for (uint32_t p = 0; s->align && p < s->processes; p++)
        free(s->align[p]);
    free(s->align);
    free(s->input);
    free(s);
}

static double rate(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint64_t b, uint64_t n)
{
    if (!before || now->t_ns <= before->t_ns)
        return 0;
    return (double)(n - b) * 1e9 / (double)(now->t_ns - before->t_ns);
}

static const char *state_name(mqs_process_state st)
{
    return (unsigned)st < sizeof state_names / sizeof state_names[0] ? state_names[st] : "?";
}

static uint64_t sets_before(const mqs_stats_snapshot *before, uint32_t p)
{
    return before && before->align[p] ? before->align[p]->sets : 0;
}

static void print_align_inputs(FILE *out, const mqs_stats_snapshot *now, uint32_t p)
{
    const mqs_domain *d = now->domain;
    for (uint32_t q = 0; q < now->queues; q++) {
        if (mqs_queue_consumer(d, q) != p)
            continue;
        const mqs_input_stats *in = &now->input[q];
        fprintf(out, "    %-22s %10llu", mqs_queue_name(d, q), (unsigned long long)in->delivered);
        for (uint32_t r = 0; r < MQS_DROP_REASONS; r++)
            fprintf(out, " %12llu", (unsigned long long)in->dropped[r]);
        fputc('\n', out);
    }
}

/* Per aligned block: sets, their rate, partial ones, spread and latency
 * percentiles (ms); per input: delivered and dropped by reason. */
static void print_align_table(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    bool header = false;
    for (uint32_t p = 1; p < now->processes; p++) {
        const mqs_align_stats *a = now->align[p];
        if (!a)
            continue;
        if (!header) {
            fprintf(out, "  %-24s %-11s %8s %8s %8s  %-22s %s\n", "aligned block", "policy", "sets", "rate/s",
                    "partial", "spread p50/p99/max ms", "latency p50/p99/max ms");
            header = true;
        }
        fprintf(out, "  %-24s %-11s %8llu %8.1f %8llu  %6.2f/%6.2f/%6.2f  %6.2f/%6.2f/%6.2f\n",
                mqs_process_name(now->domain, p), mqs_sync_policy_name(a->config.policy),
                (unsigned long long)a->sets, rate(before, now, sets_before(before, p), a->sets),
                (unsigned long long)a->partial, mqs_histogram_percentile(&a->spread, 50) / 1e6,
                mqs_histogram_percentile(&a->spread, 99) / 1e6, mqs_histogram_percentile(&a->spread, 100) / 1e6,
                mqs_histogram_percentile(&a->latency, 50) / 1e6, mqs_histogram_percentile(&a->latency, 99) / 1e6,
                mqs_histogram_percentile(&a->latency, 100) / 1e6);
        fprintf(out, "    %-22s %10s", "input", "delivered");
        for (uint32_t r = 0; r < MQS_DROP_REASONS; r++)
            fprintf(out, " %12s", mqs_drop_reason_name((mqs_drop_reason)r));
        fputc('\n', out);
        print_align_inputs(out, now, p);
    }
}

void mqs_stats_print_table(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final)
{
    const mqs_domain *d = now->domain;
    fprintf(out, "-- %s stats: %s\n", final ? "final" : "graph", mqs_domain_name(d));
    fprintf(out, "  %-24s %-8s %8s %6s %8s\n", "block", "state", "pid", "held", "restarts");
    for (uint32_t p = 1; p < now->processes; p++)
        fprintf(out, "  %-24s %-8s %8u %6u %8u\n", mqs_process_name(d, p), state_name(now->proc[p].state),
                now->proc[p].pid, now->proc[p].held, now->proc[p].restarts);
    fprintf(out, "  %-40s %10s %10s %9s %7s %9s\n", "connection", "rate/s", "total", "dropped", "queued", "high");
    for (uint32_t q = 0; q < now->queues; q++) {
        const mqs_queue_stats *n = &now->queue[q];
        char name[128];
        snprintf(name, sizeof name, "%s -> %s", mqs_output_name(d, mqs_queue_output(d, q)), mqs_queue_name(d, q));
        fprintf(out, "  %-40s %10.1f %10llu %9llu %3u/%-3u %9llu\n", name,
                rate(before, now, before ? before->queue[q].popped : 0, n->popped), (unsigned long long)n->popped,
                (unsigned long long)(n->dropped + n->drained), n->length, n->depth, (unsigned long long)n->high_water);
    }
    print_align_table(out, before, now);
    fprintf(out, "  %-40s %10s %10s %9s\n", "pool", "in use", "allocs", "waits");
    for (uint32_t i = 0; i < now->pools; i++)
        fprintf(out, "  %-40s %4u/%-5u %10llu %9llu\n", mqs_pool_name(d, i), now->pool[i].in_use,
                now->pool[i].slot_count, (unsigned long long)now->pool[i].allocs,
                (unsigned long long)now->pool[i].alloc_failures);
    fflush(out);
}

static json_t *blocks_json(const mqs_stats_snapshot *now)
{
    json_t *a = json_array();
    for (uint32_t p = 1; p < now->processes; p++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", mqs_process_name(now->domain, p),
                                           "state", state_name(now->proc[p].state), "pid",
                                           (json_int_t)now->proc[p].pid, "held", (json_int_t)now->proc[p].held,
                                           "restarts", (json_int_t)now->proc[p].restarts, "reclaimed",
                                           (json_int_t)now->proc[p].reclaimed));
    return a;
}

static json_t *connections_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    const mqs_domain *d = now->domain;
    json_t *a = json_array();
    for (uint32_t q = 0; q < now->queues; q++) {
        const mqs_queue_stats *n = &now->queue[q];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "from",
                         mqs_output_name(d, mqs_queue_output(d, q)), "to", mqs_queue_name(d, q), "pushed",
                         (json_int_t)n->pushed, "popped", (json_int_t)n->popped, "dropped", (json_int_t)n->dropped,
                         "drained", (json_int_t)n->drained, "queued", (json_int_t)n->length, "depth",
                         (json_int_t)n->depth, "high_water", (json_int_t)n->high_water, "rate",
                         rate(before, now, before ? before->queue[q].popped : 0, n->popped)));
    }
    return a;
}

static json_t *pools_json(const mqs_stats_snapshot *now)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < now->pools; i++) {
        const mqs_pool_stats *p = &now->pool[i];
        json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name", mqs_pool_name(now->domain, i),
                                           "slots", (json_int_t)p->slot_count, "in_use", (json_int_t)p->in_use,
                                           "allocs", (json_int_t)p->allocs, "alloc_waits",
                                           (json_int_t)p->alloc_failures, "rejected_ids",
                                           (json_int_t)p->rejected_ids));
    }
    return a;
}

static json_t *percentiles_json(const mqs_histogram *h)
{
    return json_pack("{s:I, s:I, s:I}", "p50", (json_int_t)mqs_histogram_percentile(h, 50), "p99",
                     (json_int_t)mqs_histogram_percentile(h, 99), "max", (json_int_t)mqs_histogram_percentile(h, 100));
}

static json_t *align_inputs_json(const mqs_stats_snapshot *now, uint32_t p)
{
    const mqs_domain *d = now->domain;
    json_t *a = json_array();
    for (uint32_t q = 0; q < now->queues; q++) {
        if (mqs_queue_consumer(d, q) != p)
            continue;
        const mqs_input_stats *in = &now->input[q];
        json_t *dropped = json_object();
        for (uint32_t r = 0; r < MQS_DROP_REASONS; r++)
            json_object_set_new(dropped, mqs_drop_reason_name((mqs_drop_reason)r), json_integer((json_int_t)in->dropped[r]));
        json_array_append_new(a, json_pack("{s:s, s:I, s:b, s:I, s:o}", "input", mqs_queue_name(d, q), "period_ns",
                                           (json_int_t)in->period_ns, "optional", in->optional, "delivered",
                                           (json_int_t)in->delivered, "dropped", dropped));
    }
    return a;
}

static json_t *aligned_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    json_t *a = json_array();
    for (uint32_t p = 1; p < now->processes; p++) {
        const mqs_align_stats *s = now->align[p];
        if (!s)
            continue;
        const mqs_sync_config *c = &s->config;
        json_t *reference = c->reference < now->queues ? json_string(mqs_queue_name(now->domain, c->reference)) : json_null();
        json_t *tolerance = c->tolerance_ns == MQS_TOLERANCE_UNLIMITED ? json_null() : json_integer((json_int_t)c->tolerance_ns);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:o, s:I, s:s, s:o, s:I, s:I, s:f, s:o, s:o, s:o}", "block",
                         mqs_process_name(now->domain, p), "policy", mqs_sync_policy_name(c->policy), "tolerance_ns",
                         tolerance, "timeout_ns", (json_int_t)c->timeout_ns, "on_missing", c->partial ? "partial" : "drop",
                         "reference", reference, "sets", (json_int_t)s->sets, "partial", (json_int_t)s->partial, "rate",
                         rate(before, now, sets_before(before, p), s->sets), "spread_ns", percentiles_json(&s->spread),
                         "latency_ns", percentiles_json(&s->latency), "inputs", align_inputs_json(now, p)));
    }
    return a;
}

void mqs_stats_print_json(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final)
{
    json_t *o = json_pack("{s:s, s:I, s:b, s:o, s:o, s:o, s:o}", "domain", mqs_domain_name(now->domain), "t_ns",
                          (json_int_t)now->t_ns, "final", final, "blocks", blocks_json(now), "connections",
                          connections_json(before, now), "pools", pools_json(now), "aligned",
                          aligned_json(before, now));
    char *text = json_dumps(o, JSON_COMPACT);
    if (text) {
        fprintf(out, "%s\n", text);
        fflush(out);
        free(text);
    }
    json_decref(o);
}
