/* The picture mqctl dot draws: a graph's blocks, their ports and the
 * connections between them, made from a graph file or from a running graph
 * (dot_picture.c) and written as Graphviz dot (dot_render.c). */
#ifndef MQS_CTL_DOT_PICTURE_H
#define MQS_CTL_DOT_PICTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "graph/graph.h"
#include "mqs/mqs.h"
#include "observe/snapshot.h"

#define MQCTL_DOT_MAX_PORTS 64 /* per block and direction, as graph files allow */

/* Strings are borrowed from the graph or the domain they came from. */
typedef struct mqctl_dot_block {
    const char *name;
    const char *type, *kind;    /* from a graph file; NULL for a running graph */
    const char *inputs[MQCTL_DOT_MAX_PORTS];
    bool absent[MQCTL_DOT_MAX_PORTS]; /* an optional input left unconnected */
    uint32_t input_count;
    char folded[2 * MQS_NAME_MAX + 8]; /* "e ... p": the name of one row for the absent inputs after the last connected */
    const char *outputs[MQCTL_DOT_MAX_PORTS];
    uint32_t output_count;
    mqs_sync_config sync;       /* policy none: not aligned (reference unused) */
    const char *reference;      /* the driving input's name, or NULL */
    /* A running graph's figures over the interval. */
    const char *state;          /* NULL for a graph file */
    bool measured;              /* ran through the interval: busy and calls mean something */
    double busy_percent, calls_per_s;
    bool bottleneck;
} mqctl_dot_block;

typedef struct mqctl_dot_edge {
    uint32_t from, from_port;   /* block index, output index of that block */
    uint32_t to, to_port;       /* block index, input index of that block */
    const char *policy;
    uint32_t depth;
    int64_t period_ns;          /* `period:` hint, 0: none */
    bool optional;
    /* A running graph's figures over the interval. */
    bool live;
    double rate;                /* entries popped per second */
    uint32_t queued;
    uint64_t drops;             /* dropped by the policy, or drained unread */
    bool bottleneck;
} mqctl_dot_edge;

typedef struct mqctl_dot_graph {
    const char *name;
    const char *caption;        /* under the name, or NULL */
    mqctl_dot_block *blocks;
    uint32_t block_count;
    mqctl_dot_edge *edges;
    uint32_t edge_count;
} mqctl_dot_graph;

/* The picture of a loaded graph file: blocks in file order, an edge per
 * connected input in block then port order. It borrows g's strings: free
 * it before g. 0 or -ENOMEM. */
int mqctl_dot_picture_of_file(const mqs_graph *g, mqctl_dot_graph *out);

/* The picture of a running graph with its figures over before..now, the
 * bottleneck marked; blocks in process slot order, edges in queue order (the
 * order of its graph file). It borrows the domain's names: free it before
 * detaching. The caller sets name and caption. 0 or -ENOMEM. */
int mqctl_dot_picture_of_run(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, mqctl_dot_graph *out);

void mqctl_dot_picture_free(mqctl_dot_graph *g);

/* Write g as a Graphviz digraph: one line per block (an HTML-like table
 * with its ports), one line per connection. Same graph, same text. */
void mqctl_dot_write(FILE *out, const mqctl_dot_graph *g);

#endif
