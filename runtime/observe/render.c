/* Graph figures as a table and as JSON lines. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

const char *mqs_format_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "KMGT";
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 3)
        v /= 1024, u++;
    if (u < 0)
        snprintf(buf, size, "%llu", (unsigned long long)bytes);
    else
        snprintf(buf, size, "%.*f%c", v < 10 ? 1 : 0, v, units[u]);
    return buf;
}

const char *mqs_format_uptime(int64_t ns, char *buf, size_t size)
{
    long long s = ns / 1000000000LL;
    if (ns < 0)
        snprintf(buf, size, "-");
    else if (s < 60)
        snprintf(buf, size, "%.1fs", (double)ns / 1e9);
    else if (s < 3600)
        snprintf(buf, size, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
    return buf;
}

const char *mqs_format_exit(const mqs_block_figures *f, char *buf, size_t size)
{
    if (f->exits == 0)
        snprintf(buf, size, "-");
    else if (f->exit_signal > 0)
        snprintf(buf, size, "SIG%s", sigabbrev_np(f->exit_signal) ? sigabbrev_np(f->exit_signal) : "?");
    else
        snprintf(buf, size, "%d", f->exit_code);
    return buf;
}

/* ---- the table ---- */

static void print_percent(FILE *out, bool known, double v)
{
    if (known)
        fprintf(out, " %5.1f", v);
    else
        fprintf(out, " %5s", "-");
}

static void print_reports(FILE *out, const mqs_block_figures *f)
{
    if (!f->report_count)
        return;
    fprintf(out, "    reports:");
    for (uint32_t i = 0; i < f->report_count; i++)
        fprintf(out, " %s=%.6g", f->reports[i].key, f->reports[i].value);
    fputc('\n', out);
}

static void print_block_row(FILE *out, const mqs_block_figures *f, bool mark)
{
    char rss[16], ex[16], age[24];
    if (f->input_age_ns >= 10000000000LL)
        snprintf(age, sizeof age, "%.1fs", f->input_age_ns / 1e9);
    else if (f->input_age_ns >= 1000000)
        snprintf(age, sizeof age, "%lldms", (long long)(f->input_age_ns / 1000000));
    else
        snprintf(age, sizeof age, "-");
    fprintf(out, "%c %-22s %-8s %-8s %7u %4u %4s", mark ? '*' : ' ', f->name, f->state, f->doing, f->pid,
            f->restarts, mqs_format_exit(f, ex, sizeof ex));
    print_percent(out, f->measured && f->cpu_percent >= 0, f->cpu_percent);
    fprintf(out, " %6s", f->rss_bytes ? mqs_format_bytes(f->rss_bytes, rss, sizeof rss) : "-");
    if (f->measured)
        fprintf(out, " %8.1f", f->calls_per_s);
    else
        fprintf(out, " %8s", "-");
    print_percent(out, f->measured, f->busy_percent);
    print_percent(out, f->measured, f->wait_percent);
    print_percent(out, f->measured, f->blocked_percent);
    fprintf(out, " %8.3f %8.3f %7s %5u\n", f->call_p50_ns / 1e6, f->call_p99_ns / 1e6, age, f->held);
    print_reports(out, f);
}

static void print_blocks(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t mark)
{
    fprintf(out, "  %-22s %-8s %-8s %7s %4s %4s %5s %6s %8s %5s %5s %5s %8s %8s %7s %5s\n", "block", "state", "doing",
            "pid", "rst", "exit", "cpu%", "rss", "calls/s", "busy%", "wait%", "blkd%", "p50 ms", "p99 ms", "starved",
            "held");
    for (uint32_t p = 1; p < now->processes; p++) {
        mqs_block_figures f;
        mqs_figures_block(before, now, p, &f);
        print_block_row(out, &f, p == mark);
    }
}

static void print_connections(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                              uint32_t mark)
{
    fprintf(out, "  %-40s %-11s %10s %10s %9s %9s %6s\n", "connection", "policy", "rate/s", "total", "dropped",
            "queued", "high");
    for (uint32_t q = 0; q < now->queues; q++) {
        mqs_connection_figures f;
        mqs_figures_connection(before, now, q, &f);
        char name[128], queued[24];
        snprintf(name, sizeof name, "%s -> %s", f.from, f.to);
        snprintf(queued, sizeof queued, "%u/%u", f.queued, f.depth);
        fprintf(out, "%c %-40s %-11s %10.1f %10llu %9llu %9s %6llu\n", q == mark ? '*' : ' ', name, f.policy, f.rate,
                (unsigned long long)f.popped, (unsigned long long)(f.dropped + f.drained), queued,
                (unsigned long long)f.high_water);
    }
}

static void print_align_inputs(FILE *out, const mqs_stats_snapshot *now, uint32_t p)
{
    const mqs_domain *d = now->domain;
    fprintf(out, "    %-22s %10s", "input", "delivered");
    for (uint32_t r = 0; r < MQS_DROP_REASONS; r++)
        fprintf(out, " %12s", mqs_drop_reason_name((mqs_drop_reason)r));
    fputc('\n', out);
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
                (unsigned long long)a->sets, mqs_figures_sets_per_s(before, now, p), (unsigned long long)a->partial,
                mqs_histogram_percentile(&a->spread, 50) / 1e6, mqs_histogram_percentile(&a->spread, 99) / 1e6,
                mqs_histogram_percentile(&a->spread, 100) / 1e6, mqs_histogram_percentile(&a->latency, 50) / 1e6,
                mqs_histogram_percentile(&a->latency, 99) / 1e6, mqs_histogram_percentile(&a->latency, 100) / 1e6);
        print_align_inputs(out, now, p);
    }
}

static void print_pools(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    fprintf(out, "  %-40s %11s %6s %10s %9s %9s\n", "pool", "in use", "high", "allocs/s", "allocs", "waits");
    for (uint32_t i = 0; i < now->pools; i++) {
        mqs_pool_figures f;
        mqs_figures_pool(before, now, i, &f);
        char in_use[24];
        snprintf(in_use, sizeof in_use, "%u/%u", f.in_use, f.slots);
        fprintf(out, "  %-40s %11s %6u %10.1f %9llu %9llu\n", f.name, in_use, f.high_water, f.allocs_per_s,
                (unsigned long long)f.allocs, (unsigned long long)f.alloc_waits);
    }
}

void mqs_stats_print_table(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final)
{
    uint32_t busiest, fullest;
    mqs_figures_bottleneck(before, now, &busiest, &fullest);
    double up = now->start_ns > 0 ? (now->t_ns - now->start_ns) / 1e9 : 0;
    fprintf(out, "-- %s stats: %s, up %.1fs%s\n", final ? "final" : "graph", mqs_domain_name(now->domain), up,
            busiest != UINT32_MAX || fullest != UINT32_MAX ? " (* bottleneck: busiest block, fullest queue)" : "");
    print_blocks(out, before, now, busiest);
    print_connections(out, before, now, fullest);
    print_align_table(out, before, now);
    print_pools(out, before, now);
    fflush(out);
}

/* ---- JSON ---- */

static json_t *reports_json(const mqs_block_figures *f)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < f->report_count; i++)
        json_object_set_new(o, f->reports[i].key, json_real(f->reports[i].value));
    return o;
}

static json_t *share(const mqs_block_figures *f, double v)
{
    return f->measured ? json_real(v) : json_null();
}

static json_t *block_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p)
{
    mqs_block_figures f;
    mqs_figures_block(before, now, p, &f);
    json_t *exit = f.exits ? json_pack("{s:i, s:i}", "code", f.exit_code, "signal", f.exit_signal) : json_null();
    json_t *call = json_pack("{s:I, s:I, s:I, s:I}", "p50", (json_int_t)f.call_p50_ns, "p99", (json_int_t)f.call_p99_ns,
                             "max", (json_int_t)f.call_max_ns, "samples", (json_int_t)f.call_samples);
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o}",
                     "name", f.name, "state", f.state, "doing", f.doing, "pid", (json_int_t)f.pid, "held",
                     (json_int_t)f.held, "restarts", (json_int_t)f.restarts, "reclaimed",
                     (json_int_t)now->proc[p].reclaimed, "calls", (json_int_t)f.calls, "calls_per_s",
                     f.measured ? json_real(f.calls_per_s) : json_null(), "cpu_percent",
                     f.measured && f.cpu_percent >= 0 ? json_real(f.cpu_percent) : json_null(), "rss_bytes",
                     (json_int_t)f.rss_bytes, "busy_percent", share(&f, f.busy_percent), "wait_percent",
                     share(&f, f.wait_percent), "blocked_percent", share(&f, f.blocked_percent), "call_ns", call,
                     "last_exit", exit, "exits", (json_int_t)f.exits, "input_age_ns", (json_int_t)f.input_age_ns,
                     "reports", reports_json(&f));
}

static json_t *blocks_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    json_t *a = json_array();
    for (uint32_t p = 1; p < now->processes; p++)
        json_array_append_new(a, block_json(before, now, p));
    return a;
}

static json_t *connections_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    json_t *a = json_array();
    for (uint32_t q = 0; q < now->queues; q++) {
        mqs_connection_figures f;
        mqs_figures_connection(before, now, q, &f);
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "from", f.from, "to", f.to,
                         "policy", f.policy, "pushed", (json_int_t)f.pushed, "popped", (json_int_t)f.popped,
                         "dropped", (json_int_t)f.dropped, "drained", (json_int_t)f.drained, "queued",
                         (json_int_t)f.queued, "depth", (json_int_t)f.depth, "high_water", (json_int_t)f.high_water,
                         "rate", f.rate));
    }
    return a;
}

static json_t *pools_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < now->pools; i++) {
        mqs_pool_figures f;
        mqs_figures_pool(before, now, i, &f);
        json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", f.name, "slots",
                                           (json_int_t)f.slots, "in_use", (json_int_t)f.in_use, "high_water",
                                           (json_int_t)f.high_water, "allocs", (json_int_t)f.allocs, "alloc_waits",
                                           (json_int_t)f.alloc_waits, "rejected_ids", (json_int_t)f.rejected_ids));
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
                         mqs_figures_sets_per_s(before, now, p), "spread_ns", percentiles_json(&s->spread),
                         "latency_ns", percentiles_json(&s->latency), "inputs", align_inputs_json(now, p)));
    }
    return a;
}

static json_t *bottleneck_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    uint32_t block, queue;
    mqs_figures_bottleneck(before, now, &block, &queue);
    json_t *to = queue != UINT32_MAX ? json_string(mqs_queue_name(now->domain, queue)) : json_null();
    return json_pack("{s:o, s:o}", "block", block != UINT32_MAX ? json_string(mqs_process_name(now->domain, block))
                                                               : json_null(), "connection", to);
}

json_t *mqs_stats_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final)
{
    int64_t up = now->start_ns > 0 ? now->t_ns - now->start_ns : 0;
    return json_pack("{s:s, s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:o, s:o}", "domain", mqs_domain_name(now->domain),
                     "t_ns", (json_int_t)now->t_ns, "uptime_ns", (json_int_t)up, "interval_ns",
                     (json_int_t)(before ? now->t_ns - before->t_ns : up), "final", final, "blocks",
                     blocks_json(before, now), "connections", connections_json(before, now), "pools",
                     pools_json(before, now), "aligned", aligned_json(before, now), "bottleneck",
                     bottleneck_json(before, now));
}

void mqs_stats_print_json(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final)
{
    json_t *o = mqs_stats_json(before, now, final);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text) {
        fprintf(out, "%s\n", text);
        fflush(out);
        free(text);
    }
    json_decref(o);
}
