/* mqctl top's view: the figures of two snapshots (observe/figures.h) as
 * lines, blocks sorted by a column, the bottleneck's rows marked '*'. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "observe/render.h"
#include "top_view.h"

#define NAME_WIDTH_MAX 40
#define CONNECTION_WIDTH_MAX 80

static const char *const sort_names[TOP_SORTS] = {"name", "cpu", "busy", "wait", "calls", "rss", "restarts"};

const char *top_sort_name(top_sort sort)
{
    return (unsigned)sort < TOP_SORTS ? sort_names[sort] : "?";
}

bool top_sort_parse(const char *text, top_sort *out)
{
    for (int s = 0; s < TOP_SORTS; s++)
        if (strcmp(text, sort_names[s]) == 0) {
            *out = (top_sort)s;
            return true;
        }
    return false;
}

const char *top_sort_list(void)
{
    return "name, cpu, busy, wait, calls, rss, restarts";
}

/* ---- the frame ---- */

void top_frame_add(top_frame *frame, bool marked, const char *format, ...)
{
    if (frame->count == frame->cap) {
        size_t cap = frame->cap ? 2 * frame->cap : 64;
        top_line *lines = realloc(frame->lines, cap * sizeof *lines);
        if (!lines)
            return;
        frame->lines = lines, frame->cap = cap;
    }
    top_line *line = &frame->lines[frame->count++];
    line->marked = marked;
    va_list ap;
    va_start(ap, format);
    vsnprintf(line->text, sizeof line->text, format, ap);
    va_end(ap);
}

void top_frame_free(top_frame *frame)
{
    free(frame->lines);
    *frame = (top_frame){0};
}

static void add_blank(top_frame *frame)
{
    top_frame_add(frame, false, "%s", "");
}

/* ---- blocks ---- */

typedef struct block_row {
    top_sort sort;
    uint32_t process;
    mqs_block_figures f;
} block_row;

/* The row's value in the sort column; -1 where it is unknown, so it sorts last. */
static double sort_value(const block_row *r)
{
    const mqs_block_figures *f = &r->f;
    switch (r->sort) {
    case TOP_SORT_CPU:
        return f->measured && f->cpu_percent >= 0 ? f->cpu_percent : -1;
    case TOP_SORT_BUSY:
        return f->measured ? f->busy_percent : -1;
    case TOP_SORT_WAIT:
        return f->measured ? f->wait_percent : -1;
    case TOP_SORT_CALLS:
        return f->measured ? f->calls_per_s : -1;
    case TOP_SORT_RSS:
        return (double)f->rss_bytes;
    case TOP_SORT_RESTARTS:
        return f->restarts;
    default:
        return 0;
    }
}

/* Descending by the column, then by name: the order never depends on qsort. */
static int compare_rows(const void *a, const void *b)
{
    const block_row *x = a, *y = b;
    if (x->sort != TOP_SORT_NAME) {
        double vx = sort_value(x), vy = sort_value(y);
        if (vx != vy)
            return vx > vy ? -1 : 1;
    }
    return strcmp(x->f.name, y->f.name);
}

static const char *percent(char *buf, size_t size, bool known, double v)
{
    if (known)
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "-");
    return buf;
}

static const char *starved(const mqs_block_figures *f, char *buf, size_t size)
{
    if (f->input_age_ns >= 10000000000LL)
        snprintf(buf, size, "%.1fs", f->input_age_ns / 1e9);
    else if (f->input_age_ns >= 1000000)
        snprintf(buf, size, "%lldms", (long long)(f->input_age_ns / 1000000));
    else
        snprintf(buf, size, "-");
    return buf;
}

static void add_block_row(top_frame *frame, const mqs_block_figures *f, int width, bool marked)
{
    char ex[16], rss[16], cpu[16], calls[24], busy[16], wait[16], blkd[16], age[24];
    if (f->measured)
        snprintf(calls, sizeof calls, "%.1f", f->calls_per_s);
    else
        snprintf(calls, sizeof calls, "-");
    top_frame_add(frame, marked, "%c %-*s %-8s %-8s %7u %8u %7s %6s %6s %9s %6s %6s %6s %8.3f %8.3f %7s",
                  marked ? '*' : ' ', width, f->name, f->state, f->doing, f->pid, f->restarts,
                  mqs_format_exit(f, ex, sizeof ex), percent(cpu, sizeof cpu, f->measured && f->cpu_percent >= 0,
                                                             f->cpu_percent),
                  f->rss_bytes ? mqs_format_bytes(f->rss_bytes, rss, sizeof rss) : "-", calls,
                  percent(busy, sizeof busy, f->measured, f->busy_percent),
                  percent(wait, sizeof wait, f->measured, f->wait_percent),
                  percent(blkd, sizeof blkd, f->measured, f->blocked_percent), f->call_p50_ns / 1e6,
                  f->call_p99_ns / 1e6, starved(f, age, sizeof age));
}

static int width_of(size_t length, size_t least, size_t most)
{
    return (int)(length < least ? least : length > most ? most : length);
}

static void add_blocks(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                       top_sort sort, uint32_t mark)
{
    uint32_t n = now->processes > 1 ? now->processes - 1 : 0;
    block_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return;
    size_t longest = 0;
    for (uint32_t i = 0; i < n; i++) {
        rows[i].sort = sort, rows[i].process = i + 1;
        mqs_figures_block(before, now, i + 1, &rows[i].f);
        longest = strlen(rows[i].f.name) > longest ? strlen(rows[i].f.name) : longest;
    }
    qsort(rows, n, sizeof *rows, compare_rows);
    int width = width_of(longest, 5, NAME_WIDTH_MAX);
    top_frame_add(frame, false, "  %-*s %-8s %-8s %7s %8s %7s %6s %6s %9s %6s %6s %6s %8s %8s %7s", width, "BLOCK",
                  "STATE", "DOING", "PID", "RESTARTS", "EXIT", "CPU%", "RSS", "CALLS/S", "BUSY%", "WAIT%", "BLKD%",
                  "P50 MS", "P99 MS", "STARVED");
    for (uint32_t i = 0; i < n; i++)
        add_block_row(frame, &rows[i].f, width, rows[i].process == mark);
    free(rows);
}

/* ---- connections, aligned blocks, pools ---- */

static void add_connections(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                            uint32_t mark)
{
    size_t longest = 0;
    for (uint32_t q = 0; q < now->queues; q++) {
        mqs_connection_figures f;
        mqs_figures_connection(before, now, q, &f);
        size_t length = strlen(f.from) + strlen(" -> ") + strlen(f.to);
        longest = length > longest ? length : longest;
    }
    int width = width_of(longest, 10, CONNECTION_WIDTH_MAX);
    top_frame_add(frame, false, "  %-*s %-11s %10s %16s %9s %6s", width, "CONNECTION", "POLICY", "RATE/S",
                  "QUEUED (FILL)", "DROPS", "HIGH");
    for (uint32_t q = 0; q < now->queues; q++) {
        mqs_connection_figures f;
        mqs_figures_connection(before, now, q, &f);
        char name[CONNECTION_WIDTH_MAX + 64], queued[48];
        snprintf(name, sizeof name, "%s -> %s", f.from, f.to);
        snprintf(queued, sizeof queued, "%u/%u (%.0f%%)", f.queued, f.depth, f.fill_percent);
        top_frame_add(frame, q == mark, "%c %-*s %-11s %10.1f %16s %9llu %6llu", q == mark ? '*' : ' ', width, name,
                      f.policy, f.rate, queued, (unsigned long long)(f.dropped + f.drained),
                      (unsigned long long)f.high_water);
    }
}

static void add_aligned(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    bool header = false;
    for (uint32_t p = 1; p < now->processes; p++) {
        const mqs_align_stats *a = now->align[p];
        if (!a)
            continue;
        if (!header) {
            add_blank(frame);
            top_frame_add(frame, false, "  %-24s %-11s %8s %9s %9s %14s", "ALIGNED BLOCK", "POLICY", "SETS/S",
                          "PARTIAL", "DROPS", "SPREAD P99 MS");
            header = true;
        }
        top_frame_add(frame, false, "  %-24s %-11s %8.1f %9llu %9llu %14.2f", mqs_process_name(now->domain, p),
                      mqs_sync_policy_name(a->config.policy), mqs_figures_sets_per_s(before, now, p),
                      (unsigned long long)a->partial, (unsigned long long)mqs_figures_align_drops(now, p),
                      mqs_histogram_percentile(&a->spread, 99) / 1e6);
    }
}

static void add_pools(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now)
{
    size_t longest = 0;
    for (uint32_t i = 0; i < now->pools; i++)
        longest = strlen(mqs_pool_name(now->domain, i)) > longest ? strlen(mqs_pool_name(now->domain, i)) : longest;
    int width = width_of(longest, 4, CONNECTION_WIDTH_MAX);
    top_frame_add(frame, false, "  %-*s %11s %6s %10s %9s", width, "POOL", "IN USE", "HIGH", "ALLOCS/S", "WAITS");
    for (uint32_t i = 0; i < now->pools; i++) {
        mqs_pool_figures f;
        mqs_figures_pool(before, now, i, &f);
        char in_use[32];
        snprintf(in_use, sizeof in_use, "%u/%u", f.in_use, f.slots);
        top_frame_add(frame, false, "  %-*s %11s %6u %10.1f %9llu", width, f.name, in_use, f.high_water,
                      f.allocs_per_s, (unsigned long long)f.alloc_waits);
    }
}

/* ---- the header ---- */

static const char *uptime(const mqs_stats_snapshot *now, char *buf, size_t size)
{
    if (now->start_ns <= 0 || now->t_ns < now->start_ns) {
        snprintf(buf, size, "not started");
        return buf;
    }
    char span[32];
    snprintf(buf, size, "up %s", mqs_format_uptime(now->t_ns - now->start_ns, span, sizeof span));
    return buf;
}

static void add_title(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                      const top_view_options *o)
{
    char clock[16] = "", up[32], window[32];
    time_t t = time(NULL);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    if (before)
        snprintf(window, sizeof window, "over %.2fs", (now->t_ns - before->t_ns) / 1e9);
    else
        snprintf(window, sizeof window, "since the start");
    top_frame_add(frame, false, "-- %s graph %s (run %s), %s, %u blocks, figures %s, sorted by %s%s", clock, o->graph,
                  o->run, uptime(now, up, sizeof up), now->processes ? now->processes - 1 : 0, window,
                  top_sort_name(o->sort), o->keys_hint ? "   (q quits, s/S sort)" : "");
}

static void add_bottleneck(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                           uint32_t block, uint32_t queue)
{
    char busiest[128] = "no block above 50% busy", fullest[192] = "no connection above half full";
    if (block != UINT32_MAX) {
        mqs_block_figures f;
        mqs_figures_block(before, now, block, &f);
        snprintf(busiest, sizeof busiest, "block %s (busy %.1f%%)", f.name, f.busy_percent);
    }
    if (queue != UINT32_MAX) {
        mqs_connection_figures f;
        mqs_figures_connection(before, now, queue, &f);
        snprintf(fullest, sizeof fullest, "connection %s -> %s (%u/%u queued)", f.from, f.to, f.queued, f.depth);
    }
    bool any = block != UINT32_MAX || queue != UINT32_MAX;
    top_frame_add(frame, false, "bottleneck: %s; %s%s", busiest, fullest, any ? " (rows marked *)" : "");
}

void top_view_build(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                    const top_view_options *options)
{
    uint32_t busiest, fullest;
    mqs_figures_bottleneck(before, now, &busiest, &fullest);
    frame->count = 0;
    add_title(frame, before, now, options);
    add_bottleneck(frame, before, now, busiest, fullest);
    add_blank(frame);
    add_blocks(frame, before, now, options->sort, busiest);
    add_blank(frame);
    add_connections(frame, before, now, fullest);
    add_aligned(frame, before, now);
    add_blank(frame);
    add_pools(frame, before, now);
}
