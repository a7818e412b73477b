/* Writing mqctl dot's picture as Graphviz dot. Every block is a node with
 * an HTML-like table: its inputs in a column on the left, its name and
 * what it is (or how busy it is) in the middle, its outputs on the right;
 * connections go from an output's cell to an input's cell, left to right.
 * Names are escaped, so any port or block name makes valid dot. */
#include <string.h>

#include "dot_picture.h"

#define BOTTLENECK_COLOR "#d62728"
#define BOTTLENECK_FILL "#f8c8c8"

/* Text inside an HTML-like label: markup characters as entities, control
 * characters (which no label may hold) as spaces. */
static void put_html(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&')
            fputs("&amp;", out);
        else if (c == '<')
            fputs("&lt;", out);
        else if (c == '>')
            fputs("&gt;", out);
        else if (c == '"')
            fputs("&quot;", out);
        else if (c == '\'')
            fputs("&#39;", out);
        else
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
    }
}

/* A double-quoted dot string: quote and backslash escaped (a backslash
 * would start an escape such as \N in a label), a newline as dot's \n,
 * other control characters as spaces. */
static void put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (c == '"' || c == '\\')
            fputc('\\', out);
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
    }
    fputc('"', out);
}

/* A duration in the largest unit that keeps it exact: 33ms, 1500us, 1s. */
static const char *format_duration(int64_t ns, char *buf, size_t size)
{
    static const struct { int64_t scale; const char *unit; } units[] = {
        {1000000000LL, "s"}, {1000000LL, "ms"}, {1000LL, "us"}, {1, "ns"}};
    if (ns == MQS_TOLERANCE_UNLIMITED) {
        snprintf(buf, size, "unlimited");
        return buf;
    }
    size_t u = 0;
    while (ns != 0 && ns % units[u].scale != 0)
        u++;
    snprintf(buf, size, "%lld%s", (long long)(ns / units[u].scale), ns ? units[u].unit : "");
    return buf;
}

/* Fill colour by what the block does; a running graph's blocks by their ports. */
static const char *fill_of(const mqctl_dot_block *b)
{
    if (b->bottleneck)
        return BOTTLENECK_FILL;
    if (b->input_count == 0)
        return "#d9f2d9";
    if (b->output_count == 0)
        return "#fbeed0";
    return "#dce8f8";
}

/* An aligned block's settings: "sync approximate" and its limits. */
static void write_sync(FILE *out, const mqctl_dot_block *b)
{
    char tolerance[32], timeout[32];
    fputs("<br/><i>sync ", out);
    put_html(out, mqs_sync_policy_name(b->sync.policy));
    if (b->reference) {
        fputs(", reference ", out);
        put_html(out, b->reference);
    }
    fprintf(out, "<br/>tolerance %s, timeout %s<br/>on_missing %s</i>",
            format_duration(b->sync.tolerance_ns, tolerance, sizeof tolerance),
            format_duration(b->sync.timeout_ns, timeout, sizeof timeout), b->sync.partial ? "partial" : "drop");
}

/* The middle cell: name, then type and kind (a file) or state, BUSY % and
 * calls/s (a running graph), then the sync settings of an aligned block. */
static void write_middle(FILE *out, const mqctl_dot_block *b, uint32_t rows)
{
    fprintf(out, "<td rowspan=\"%u\" bgcolor=\"%s\"%s><b>", rows, fill_of(b),
            b->bottleneck ? " color=\"" BOTTLENECK_COLOR "\"" : "");
    put_html(out, b->name);
    fputs("</b>", out);
    if (b->type) {
        fputs("<br/>", out);
        put_html(out, b->type);
        fputs(" (", out);
        put_html(out, b->kind);
        fputs(")", out);
    }
    if (b->state) {
        fputs("<br/>", out);
        put_html(out, b->state);
        if (b->measured)
            fprintf(out, ", BUSY %.1f %%<br/>%.1f calls/s", b->busy_percent, b->calls_per_s);
        else
            fputs(", BUSY - %<br/>- calls/s", out);
    }
    if (b->bottleneck)
        fputs("<br/><b>bottleneck</b>", out);
    if (b->sync.policy != MQS_SYNC_NONE)
        write_sync(out, b);
    fputs("</td>", out);
}

/* The cell of port `k` of `count` in row `row` of `rows`: the last port
 * stretches down to the last row. Nothing when the column has no port there. */
static void write_port(FILE *out, char dir, const char *const *names, const bool *absent, uint32_t count,
                       uint32_t row, uint32_t rows)
{
    if (row >= count)
        return;
    bool missing = absent && absent[row];
    fprintf(out, "<td port=\"%c%u\" rowspan=\"%u\"%s>", dir, row, row + 1 == count ? rows - row : 1,
            missing ? " bgcolor=\"#eeeeee\"" : "");
    if (missing)
        fputs("<font color=\"#888888\">", out);
    put_html(out, names[row]);
    if (missing)
        fputs(" (absent)</font>", out);
    fputs("</td>", out);
}

static void write_block(FILE *out, const mqctl_dot_block *b)
{
    uint32_t rows = b->input_count > b->output_count ? b->input_count : b->output_count;
    rows = rows ? rows : 1;
    fputs("  ", out);
    put_quoted(out, b->name);
    fprintf(out, " [label=<<table border=\"%d\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"4\"%s>",
            b->bottleneck ? 2 : 0, b->bottleneck ? " color=\"" BOTTLENECK_COLOR "\"" : "");
    for (uint32_t r = 0; r < rows; r++) {
        fputs("<tr>", out);
        write_port(out, 'i', b->inputs, b->absent, b->input_count, r, rows);
        if (r == 0)
            write_middle(out, b, rows);
        write_port(out, 'o', b->outputs, NULL, b->output_count, r, rows);
        fputs("</tr>", out);
    }
    fputs("</table>>];\n", out);
}

/* "block, depth 8" (+ period, optional), and for a running graph the
 * rate, fill and drops over the interval. */
static void write_edge_label(FILE *out, const mqctl_dot_edge *e)
{
    char label[256], period[32];
    int n = snprintf(label, sizeof label, "%s, depth %u", e->policy, e->depth);
    if (e->period_ns > 0 && n >= 0 && (size_t)n < sizeof label)
        n += snprintf(label + n, sizeof label - (size_t)n, ", period %s",
                      format_duration(e->period_ns, period, sizeof period));
    if (e->optional && n >= 0 && (size_t)n < sizeof label)
        n += snprintf(label + n, sizeof label - (size_t)n, ", optional");
    if (e->live && n >= 0 && (size_t)n < sizeof label)
        snprintf(label + n, sizeof label - (size_t)n, "\n%.1f/s, fill %u/%u, drops %llu", e->rate, e->queued,
                 e->depth, (unsigned long long)e->drops);
    fputs(" [label=", out);
    put_quoted(out, label);
}

static void write_edge(FILE *out, const mqctl_dot_graph *g, const mqctl_dot_edge *e)
{
    fputs("  ", out);
    put_quoted(out, g->blocks[e->from].name);
    fprintf(out, ":\"o%u\":e -> ", e->from_port);
    put_quoted(out, g->blocks[e->to].name);
    fprintf(out, ":\"i%u\":w", e->to_port);
    write_edge_label(out, e);
    if (strcmp(e->policy, "block") != 0)
        fputs(", style=dashed", out); /* lossy: a full queue drops */
    if (e->bottleneck)
        fputs(", color=\"" BOTTLENECK_COLOR "\", fontcolor=\"" BOTTLENECK_COLOR "\", penwidth=2.5", out);
    fputs("];\n", out);
}

void mqctl_dot_write(FILE *out, const mqctl_dot_graph *g)
{
    fputs("digraph ", out);
    put_quoted(out, g->name);
    fputs(" {\n  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=<<b>", out);
    put_html(out, g->name);
    fputs("</b>", out);
    if (g->caption) {
        fputs("<br/>", out);
        put_html(out, g->caption);
    }
    fputs(">];\n  node [shape=none, margin=0, fontname=\"Helvetica\", fontsize=11];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n", out);
    for (uint32_t i = 0; i < g->block_count; i++)
        write_block(out, &g->blocks[i]);
    for (uint32_t i = 0; i < g->edge_count; i++)
        write_edge(out, g, &g->edges[i]);
    fputs("}\n", out);
}
