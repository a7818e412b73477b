/* The graph model's own functions: error messages with FILE:LINE:COLUMN,
 * names of formats and header types, freeing, and printing a resolved graph.
 * Loading (graph_load.c) reads the YAML (graph_yaml.c), then resolves and
 * checks it (graph_check.c); both build on this file. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* A message stays one line: control characters that user text brings (a
 * quoted key with "\n") become \n, \r, \t or \xNN, in place; what no
 * longer fits in `size` is cut. */
static void escape_controls(char *s, size_t size)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != 0x7f)
            continue;
        char esc[8];
        size_t n = (size_t)(c == '\n'   ? snprintf(esc, sizeof esc, "\\n")
                            : c == '\r' ? snprintf(esc, sizeof esc, "\\r")
                            : c == '\t' ? snprintf(esc, sizeof esc, "\\t")
                                        : snprintf(esc, sizeof esc, "\\x%02x", c));
        if (i + n >= size) {
            s[i] = '\0';
            return;
        }
        size_t rest = strlen(s + i + 1), room = size - 1 - i - n;
        rest = rest < room ? rest : room;
        memmove(s + i + n, s + i + 1, rest);
        s[i + n + rest] = '\0';
        memcpy(s + i, esc, n);
        i += n - 1;
    }
}

int mqs_graph_error(const mqs_graph *g, mqs_loc loc, char *err, size_t errlen, const char *fmt, ...)
{
    int n = loc.line > 0 ? snprintf(err, errlen, "%s:%d:%d: error: ", g->file, loc.line, loc.column)
                         : snprintf(err, errlen, "%s: error: ", g->file);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    if (errlen)
        escape_controls(err, errlen);
    return -EINVAL;
}

const char *mqs_graph_format_name(uint32_t f)
{
    static const char *const names[] = {"any", "rgb24", "gray8", "i420"};
    return f < 4 ? names[f] : "unknown";
}

const char *mqs_graph_header_name(uint32_t h)
{
    static const char *const names[] = {"opaque data", "video", "sensor samples"};
    return h < 3 ? names[h] : "unknown";
}

uint32_t mqs_graph_connected_inputs(const mqs_graph_block *b)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < b->input_count; i++)
        n += b->inputs[i].connected;
    return n;
}

mqs_graph_supervision mqs_graph_supervision_default(void)
{
    return (mqs_graph_supervision){.restart = MQS_RESTART_ON_FAILURE, .max_restarts = MQS_DEFAULT_MAX_RESTARTS,
                                   .restart_window_ns = MQS_DEFAULT_RESTART_WINDOW_NS,
                                   .backoff_ns = MQS_DEFAULT_BACKOFF_NS, .max_backoff_ns = MQS_DEFAULT_MAX_BACKOFF_NS,
                                   .init_timeout_ns = MQS_DEFAULT_INIT_TIMEOUT_NS};
}

bool mqs_graph_sync_has_reference(mqs_sync_policy policy)
{
    return policy == MQS_SYNC_NEAREST || policy == MQS_SYNC_LATEST || policy == MQS_SYNC_INTERPOLATE;
}

void mqs_graph_free(mqs_graph *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; g->blocks && i < g->block_count; i++) {
        mqs_graph_block *b = &g->blocks[i];
        free(b->name);
        free(b->type);
        free(b->path);
        free(b->sync.reference);
        json_decref(b->params);
        for (uint32_t p = 0; p < MQS_GRAPH_MAX_PORTS; p++) {
            free(b->inputs[p].port);
            free(b->inputs[p].from_block);
            free(b->inputs[p].from_port);
            free(b->outputs[p].port);
        }
        mqs_registry_close(&b->plugin);
    }
    free(g->blocks);
    free(g->file);
    free(g->dir);
    free(g->name);
    free(g);
}

/* ---- printing ---- */

static void print_caps(const mqs_caps *c, FILE *out)
{
    if (c->header_type == MQS_HEADER_VIDEO)
        fprintf(out, "video %s %ux%u", mqs_graph_format_name(c->format), c->width, c->height);
    else
        fprintf(out, "%s", mqs_graph_header_name(c->header_type));
    if (c->rate > 0)
        fprintf(out, " @ %g/s", c->rate);
    fprintf(out, ", pool %u x %llu B", c->slot_count, (unsigned long long)c->slot_size);
}

/* A duration in the largest unit that keeps it exact: 33ms, 1500us, 1s. */
static const char *format_duration(int64_t ns, char *out, size_t size)
{
    static const struct { int64_t scale; const char *unit; } units[] = {
        {1000000000LL, "s"}, {1000000LL, "ms"}, {1000LL, "us"}, {1, "ns"}};
    if (ns == MQS_TOLERANCE_UNLIMITED)
        return "unlimited";
    size_t u = 0;
    while (ns != 0 && ns % units[u].scale != 0)
        u++;
    snprintf(out, size, "%lld%s", (long long)(ns / units[u].scale), ns ? units[u].unit : "");
    return out;
}

static void print_input(const mqs_graph_input *in, FILE *out)
{
    char period[32];
    if (!in->connected) {
        fprintf(out, "  input %s: not connected (optional port: absent)\n", in->port);
        return;
    }
    fprintf(out, "  input %s <- %s.%s (depth %u, %s", in->port, in->from_block, in->from_port, in->depth,
            mqs_queue_policy_name(in->policy));
    if (in->period_ns)
        fprintf(out, ", period %s", format_duration(in->period_ns, period, sizeof period));
    fprintf(out, "%s)\n", in->optional ? ", optional" : "");
}

static void print_sync(const mqs_graph_sync *s, FILE *out)
{
    char tolerance[32], timeout[32];
    if (s->policy == MQS_SYNC_NONE) {
        fprintf(out, "  sync: none\n");
        return;
    }
    fprintf(out, "  sync: %s, tolerance %s, timeout %s, on_missing %s", mqs_sync_policy_name(s->policy),
            format_duration(s->tolerance_ns, tolerance, sizeof tolerance),
            format_duration(s->timeout_ns, timeout, sizeof timeout), s->partial ? "partial" : "drop");
    if (s->reference)
        fprintf(out, ", reference %s", s->reference);
    fputc('\n', out);
}

/* "off" for a zero limit, else the duration. */
static const char *format_limit(int64_t ns, char *out, size_t size)
{
    return ns ? format_duration(ns, out, size) : "off";
}

static void print_supervision(const mqs_graph_supervision *s, FILE *out)
{
    static const char *const restarts[] = {"never", "on-failure", "always"};
    char max[16] = "no limit", window[32], backoff[32], max_backoff[32], watchdog[32], init[32];
    if (s->max_restarts)
        snprintf(max, sizeof max, "%u", s->max_restarts);
    fprintf(out, "  restart: %s (max_restarts %s, restart_window %s, backoff %s, max_backoff %s)\n",
            restarts[s->restart], max, format_duration(s->restart_window_ns, window, sizeof window),
            format_duration(s->backoff_ns, backoff, sizeof backoff),
            format_duration(s->max_backoff_ns, max_backoff, sizeof max_backoff));
    fprintf(out, "  watchdog: %s, init_timeout: %s\n", format_limit(s->watchdog_ns, watchdog, sizeof watchdog),
            format_limit(s->init_timeout_ns, init, sizeof init));
}

void mqs_graph_print(const mqs_graph *g, FILE *out)
{
    static const char *const waits[] = {"hybrid", "spin", "sleep"};
    fprintf(out, "graph %s (%s, wait: %s, %u blocks)\n", g->name, g->file, waits[g->wait], g->block_count);
    for (uint32_t k = 0; k < g->block_count; k++) {
        const mqs_graph_block *b = &g->blocks[g->order[k]];
        char *params = json_dumps(b->params, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(out, "\nblock %s: %s (%s)\n  plugin: %s\n  params: %s\n", b->name, b->type,
                b->plugin.desc->summary ? b->plugin.desc->summary : "", b->plugin.path, params ? params : "{}");
        free(params);
        print_supervision(&b->supervision, out);
        for (uint32_t i = 0; i < b->input_count; i++)
            print_input(&b->inputs[i], out);
        for (uint32_t o = 0; o < b->output_count; o++) {
            fprintf(out, "  output %s: ", b->outputs[o].port);
            print_caps(&b->outputs[o].caps, out);
            fputc('\n', out);
        }
        if (b->sync.loc.line || b->sync.policy != MQS_SYNC_NONE)
            print_sync(&b->sync, out);
    }
}
