/* Counters in shared memory: histograms of ns values, the alignment
 * counters' readers, and each process's waits, reports and exits. Every
 * counter has one writer; tools read them relaxed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* 0..15 exactly; then 8 buckets per power of two 2^e (e = 4..39), so a
 * bucket spans at most 1/8 of its values; everything above 2^40 ns (18
 * minutes) lands in the last bucket. */
uint32_t mqsi_histogram_bucket(uint64_t value)
{
    if (value < 16)
        return (uint32_t)value;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(value);
    uint32_t bucket = 16 + (e - 4) * 8 + (uint32_t)((value >> (e - 3)) & 7);
    return bucket < MQS_HISTOGRAM_BUCKETS ? bucket : MQS_HISTOGRAM_BUCKETS - 1;
}

static uint64_t bucket_middle(uint32_t bucket)
{
    if (bucket < 16)
        return bucket;
    uint32_t e = 4 + (bucket - 16) / 8, sub = (bucket - 16) % 8;
    uint64_t width = UINT64_C(1) << (e - 3);
    return ((8 + (uint64_t)sub) << (e - 3)) + width / 2;
}

void mqsi_histogram_add(mqs_histogram_shared *h, uint64_t value)
{
    mqsi_count(&h->count[mqsi_histogram_bucket(value)], 1);
    mqsi_count(&h->samples, 1);
    if (value > atomic_load_explicit(&h->max, memory_order_relaxed))
        atomic_store_explicit(&h->max, value, memory_order_relaxed);
}

int64_t mqs_histogram_percentile(const mqs_histogram *h, double percent)
{
    if (!h || h->samples == 0)
        return 0;
    if (percent >= 100)
        return (int64_t)h->max;
    /* Nearest rank: the smallest value with at least percent % of the samples at or below it. */
    double want = percent / 100 * (double)h->samples;
    uint64_t rank = (uint64_t)want + ((double)(uint64_t)want < want);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < MQS_HISTOGRAM_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= rank) {
            uint64_t v = bucket_middle(b);
            return (int64_t)(v < h->max ? v : h->max);
        }
    }
    return (int64_t)h->max;
}

static void read_histogram(const mqs_histogram_shared *from, mqs_histogram *to)
{
    mqs_histogram_shared *h = (mqs_histogram_shared *)from;
    for (uint32_t b = 0; b < MQS_HISTOGRAM_BUCKETS; b++)
        to->count[b] = atomic_load_explicit(&h->count[b], memory_order_relaxed);
    to->samples = atomic_load_explicit(&h->samples, memory_order_relaxed);
    to->max = atomic_load_explicit(&h->max, memory_order_relaxed);
}

int mqs_process_sync(const mqs_domain *d, uint32_t process, mqs_sync_config *out)
{
    if (!out || process >= d->ctl->process_count)
        return -ERANGE;
    const mqs_align_shared *a = &d->aligns[process];
    *out = (mqs_sync_config){
        .policy = (mqs_sync_policy)a->policy,
        .reference = a->reference,
        .tolerance_ns = a->tolerance_ns,
        .timeout_ns = a->timeout_ns,
        .partial = a->partial != 0,
    };
    return 0;
}

int mqs_align_stats_get(const mqs_domain *d, uint32_t process, mqs_align_stats *out)
{
    if (!out || process >= d->ctl->process_count)
        return -ERANGE;
    mqs_align_shared *a = &d->aligns[process];
    if (a->policy == MQS_SYNC_NONE)
        return -ENOENT;
    mqs_process_sync(d, process, &out->config);
    out->sets = atomic_load_explicit(&a->sets, memory_order_relaxed);
    out->partial = atomic_load_explicit(&a->partial_sets, memory_order_relaxed);
    read_histogram(&a->spread, &out->spread);
    read_histogram(&a->latency, &out->latency);
    return 0;
}

int mqs_input_stats_get(const mqs_domain *d, uint32_t queue, mqs_input_stats *out)
{
    if (!out || queue >= d->ctl->queue_count)
        return -ERANGE;
    const mqs_queue_shared *q = &d->queues[queue];
    mqs_input_shared *c = &d->inputs[queue];
    memset(out, 0, sizeof *out);
    out->period_ns = q->period_ns;
    out->optional = (q->input_flags & MQS_INPUT_OPTIONAL) != 0;
    out->delivered = atomic_load_explicit(&c->delivered, memory_order_relaxed);
    for (uint32_t r = 0; r < MQS_DROP_REASONS; r++)
        out->dropped[r] = atomic_load_explicit(&c->dropped[r], memory_order_relaxed);
    return 0;
}

/* ---- a process's own counters ---- */

int mqs_process_counters_get(const mqs_domain *d, uint32_t process, mqs_process_counters_info *out)
{
    if (!out || process >= d->ctl->process_count)
        return -ERANGE;
    mqs_process_counters *c = &d->counters[process];
    memset(out, 0, sizeof *out);
    for (uint32_t k = 0; k < MQS_WAIT_KINDS; k++)
        out->waited_ns[k] = atomic_load_explicit(&c->waited_ns[k], memory_order_relaxed);
    out->input_wait_since_ns = atomic_load_explicit(&c->input_wait_since_ns, memory_order_relaxed);
    out->attached_ns = atomic_load_explicit(&c->attached_ns, memory_order_relaxed);
    out->wait_began_ns = atomic_load_explicit(&c->wait_began_ns, memory_order_relaxed);
    out->wait_kind = (mqs_wait_kind)atomic_load_explicit(&c->wait_kind, memory_order_relaxed);
    out->exit_code = atomic_load_explicit(&c->exit_code, memory_order_relaxed);
    out->exit_signal = atomic_load_explicit(&c->exit_signal, memory_order_relaxed);
    out->exits = atomic_load_explicit(&c->exits, memory_order_relaxed);
    uint32_t n = atomic_load_explicit(&c->report_count, memory_order_acquire);
    out->report_count = n < MQS_REPORTS_MAX ? n : MQS_REPORTS_MAX;
    for (uint32_t i = 0; i < out->report_count; i++) {
        /* The key was written before the count published it; NUL-ended whatever a corrupt segment holds. */
        memcpy(out->reports[i].key, c->reports[i].key, MQS_REPORT_KEY_MAX - 1);
        uint64_t bits = atomic_load_explicit(&c->reports[i].value, memory_order_relaxed);
        memcpy(&out->reports[i].value, &bits, sizeof bits);
    }
    read_histogram(&c->call_ns, &out->call_ns);
    return 0;
}

int64_t mqs_process_wait_begin(mqs_domain *d, mqs_wait_kind kind)
{
    int64_t now = mqs_now_ns();
    if (!d->own || (unsigned)kind >= MQS_WAIT_KINDS)
        return now;
    atomic_store_explicit(&d->own->wait_kind, (uint32_t)kind, memory_order_relaxed);
    atomic_store_explicit(&d->own->wait_began_ns, now, memory_order_relaxed);
    return now;
}

/* Counted first, then no longer in progress: a reader may count the end of
 * a wait twice (its figures clamp), never lose a whole one. */
int64_t mqs_process_wait_end(mqs_domain *d, mqs_wait_kind kind, int64_t began)
{
    int64_t took = mqs_now_ns() - began;
    if (!d->own || (unsigned)kind >= MQS_WAIT_KINDS)
        return took;
    mqsi_count(&d->own->waited_ns[kind], (uint64_t)(took > 0 ? took : 0));
    atomic_store_explicit(&d->own->wait_began_ns, 0, memory_order_relaxed);
    return took;
}

uint64_t mqs_process_waited_total(const mqs_domain *d)
{
    uint64_t sum = 0;
    for (uint32_t k = 0; d->own && k < MQS_WAIT_KINDS; k++)
        sum += atomic_load_explicit(&d->own->waited_ns[k], memory_order_relaxed);
    return sum;
}

void mqs_process_call_time(mqs_domain *d, int64_t ns)
{
    if (d->own && ns >= 0)
        mqsi_histogram_add(&d->own->call_ns, (uint64_t)ns);
}

int mqs_process_report(mqs_domain *d, const char *key, double value)
{
    if (!d->own || !key || !*key || strlen(key) >= MQS_REPORT_KEY_MAX)
        return -EINVAL;
    mqs_process_counters *c = d->own;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    /* A restarted process finds its predecessor's keys and goes on with them. */
    uint32_t n = atomic_load_explicit(&c->report_count, memory_order_relaxed);
    for (uint32_t i = 0; i < n && i < MQS_REPORTS_MAX; i++)
        if (strncmp(c->reports[i].key, key, MQS_REPORT_KEY_MAX) == 0) {
            atomic_store_explicit(&c->reports[i].value, bits, memory_order_relaxed);
            return 0;
        }
    if (n >= MQS_REPORTS_MAX)
        return -ENOSPC;
    snprintf(c->reports[n].key, sizeof c->reports[n].key, "%s", key);
    atomic_store_explicit(&c->reports[n].value, bits, memory_order_relaxed);
    atomic_store_explicit(&c->report_count, n + 1, memory_order_release);
    return 0;
}

void mqs_process_set_exit(mqs_domain *d, uint32_t process, int32_t exit_code, int32_t exit_signal)
{
    if (d->process != 0 || process >= d->ctl->process_count)
        return;
    mqs_process_counters *c = &d->counters[process];
    atomic_store_explicit(&c->exit_code, exit_code, memory_order_relaxed);
    atomic_store_explicit(&c->exit_signal, exit_signal, memory_order_relaxed);
    atomic_store_explicit(&c->exits, atomic_load_explicit(&c->exits, memory_order_relaxed) + 1, memory_order_relaxed);
}
