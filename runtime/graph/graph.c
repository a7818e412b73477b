/* The graph model's own functions: error messages with FILE:LINE:COLUMN,
 * names of formats and header types, freeing, and printing a resolved graph.
 * Loading (graph_load.c) reads the YAML (graph_yaml.c), then resolves and
 * checks it (graph_check.c); both build on this file. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

int mqs_graph_error(const mqs_graph *g, mqs_loc loc, char *err, size_t errlen, const char *fmt, ...)
{
    int n = loc.line > 0 ? snprintf(err, errlen, "%s:%d:%d: error: ", g->file, loc.line, loc.column)
                         : snprintf(err, errlen, "%s: error: ", g->file);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
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

void mqs_graph_print(const mqs_graph *g, FILE *out)
{
    static const char *const waits[] = {"hybrid", "spin", "sleep"};
    static const char *const policies[] = {"block", "drop_oldest", "drop_newest"};
    static const char *const restarts[] = {"never", "on-failure", "always"};
    fprintf(out, "graph %s (%s, wait: %s, %u blocks)\n", g->name, g->file, waits[g->wait], g->block_count);
    for (uint32_t k = 0; k < g->block_count; k++) {
        const mqs_graph_block *b = &g->blocks[g->order[k]];
        char *params = json_dumps(b->params, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(out, "\nblock %s: %s (%s)\n  plugin: %s\n  params: %s\n  restart: %s\n", b->name, b->type,
                b->plugin.desc->summary ? b->plugin.desc->summary : "", b->plugin.path, params ? params : "{}",
                restarts[b->restart]);
        free(params);
        for (uint32_t i = 0; i < b->input_count; i++)
            fprintf(out, "  input %s <- %s.%s (depth %u, %s)\n", b->inputs[i].port, b->inputs[i].from_block,
                    b->inputs[i].from_port, b->inputs[i].depth, policies[b->inputs[i].policy]);
        for (uint32_t o = 0; o < b->output_count; o++) {
            fprintf(out, "  output %s: ", b->outputs[o].port);
            print_caps(&b->outputs[o].caps, out);
            fputc('\n', out);
        }
        if (b->sync.loc.line)
            fprintf(out, "  sync: %s, tolerance %lld ns, timeout %lld ns, on_missing %s%s%s\n", mqs_sync_policy_name(b->sync.policy),
                    (long long)b->sync.tolerance_ns, (long long)b->sync.timeout_ns, b->sync.partial ? "partial" : "drop",
                    b->sync.reference ? ", reference " : "", b->sync.reference ? b->sync.reference : "");
    }
}
