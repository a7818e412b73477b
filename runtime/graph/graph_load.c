/* Loading a graph file: read the YAML into the model, then resolve and
 * check it. Data flows one way: text -> model -> checked model. Last, the
 * pools the blocks negotiated are held to the graph's limits. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_check.h"
#include "graph_load.h"
#include "graph_yaml.h"

static char *default_name(const char *file)
{
    char *copy = strdup(file), *base = basename(copy), *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    char *name = strdup(base);
    free(copy);
    return name;
}

/* "64 GiB", "1.5 GiB", "512 KiB", "100 B": the largest unit that leaves a number of at least 1. */
static const char *format_size(uint64_t bytes, char *out, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 3;
    while (u > 0 && bytes < (UINT64_C(1) << (10 * u)))
        u--;
    uint64_t scale = UINT64_C(1) << (10 * u);
    if (bytes % scale == 0)
        snprintf(out, size, "%" PRIu64 " %s", bytes / scale, units[u]);
    else
        snprintf(out, size, "%.1f %s", (double)bytes / (double)scale, units[u]);
    return out;
}

/* Where an output's pool is decided: its `outputs:` entry, else the block. */
static mqs_loc pool_loc(const mqs_graph_block *b, const mqs_graph_output *o)
{
    return o->loc.line ? o->loc : b->loc;
}

/* One negotiated pool within the limits. Overrides in the file were checked
 * as they were read; this catches what a block's negotiate() asked for. */
static int check_pool(mqs_graph *g, const mqs_graph_block *b, const mqs_graph_output *o, char *err, size_t errlen)
{
    char size[32];
    if (o->caps.slot_size > MQS_GRAPH_MAX_SLOT_SIZE)
        return mqs_graph_error(g, pool_loc(b, o), err, errlen,
                               "block '%s' output '%s' asks for slots of %s, more than the limit of 1 GiB (hint: "
                               "lower the block's params, or set outputs: { %s: { slot_size: ... } })",
                               b->name, o->port, format_size(o->caps.slot_size, size, sizeof size), o->port);
    if (o->caps.slot_count > MQS_MAX_SLOTS)
        return mqs_graph_error(g, pool_loc(b, o), err, errlen,
                               "block '%s' output '%s' asks for %u slots, more than the limit of %u (hint: set "
                               "outputs: { %s: { slots: 8 } })",
                               b->name, o->port, o->caps.slot_count, MQS_MAX_SLOTS, o->port);
    return 0;
}

/* Every pool within the limits, and all of them together at most
 * MQS_GRAPH_MAX_POOLS_SIZE, naming the biggest when they are not. */
static int check_pools(mqs_graph *g, char *err, size_t errlen)
{
    uint64_t total = 0, biggest_size = 0;
    const mqs_graph_block *biggest_block = NULL;
    const mqs_graph_output *biggest = NULL;
    for (uint32_t i = 0; i < g->block_count; i++) {
        const mqs_graph_block *b = &g->blocks[i];
        for (uint32_t k = 0; k < b->output_count; k++) {
            const mqs_graph_output *o = &b->outputs[k];
            int rc = check_pool(g, b, o, err, errlen);
            if (rc)
                return rc;
            uint64_t size = o->caps.slot_size * o->caps.slot_count; /* < 2^46: no overflow, nor in the sum */
            total += size;
            if (size > biggest_size) {
                biggest_size = size;
                biggest_block = b;
                biggest = o;
            }
        }
    }
    if (total <= MQS_GRAPH_MAX_POOLS_SIZE)
        return 0;
    char need[32], slot[32];
    return mqs_graph_error(g, pool_loc(biggest_block, biggest), err, errlen,
                           "the graph's pools need %s of shared memory, more than the limit of 64 GiB; the biggest "
                           "is block '%s' output '%s', %u slots of %s (hint: lower its `slots` or `slot_size`)",
                           format_size(total, need, sizeof need), biggest_block->name, biggest->port,
                           biggest->caps.slot_count, format_size(biggest->caps.slot_size, slot, sizeof slot));
}

int mqs_graph_load(const char *path, const char *const *sets, size_t set_count, mqs_graph **out, char *err,
                   size_t errlen)
{
    mqs_graph *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->file = strdup(path);
    char *copy = strdup(path);
    g->dir = strdup(dirname(copy));
    free(copy);
    g->blocks = calloc(MQS_GRAPH_MAX_BLOCKS, sizeof *g->blocks);
    if (!g->blocks) {
        mqs_graph_free(g);
        return -ENOMEM;
    }
    int rc = mqs_graph_parse_yaml(g, err, errlen);
    if (rc == 0 && !g->name)
        g->name = default_name(path);
    if (rc == 0)
        rc = mqs_graph_check(g, sets, set_count, err, errlen);
    if (rc == 0)
        rc = check_pools(g, err, errlen);
    if (rc) {
        mqs_graph_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
