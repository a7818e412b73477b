/* The graph model: blocks, their params, and the connections between their
 * ports. graph_load.c fills it from a YAML file (graph_yaml.c reads,
 * graph_check.c resolves and checks). Every element remembers where it was
 * written, so every error can say FILE:LINE:COLUMN. Internal to the runtime. */
#ifndef MQS_GRAPH_H
#define MQS_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mqs/mqs.h"
#include "registry.h"

#define MQS_GRAPH_MAX_BLOCKS 256
#define MQS_GRAPH_MAX_PORTS 64
#define MQS_DEFAULT_DEPTH 8
#define MQS_DEFAULT_SLOTS 8

/* What the launcher does when a block's process ends. */
typedef enum mqs_restart_policy {
    MQS_RESTART_NEVER = 0,
    MQS_RESTART_ON_FAILURE = 1,
    MQS_RESTART_ALWAYS = 2,
} mqs_restart_policy;

typedef struct mqs_loc {
    int line, column; /* 1-based; 0 when not from the file */
} mqs_loc;

typedef struct mqs_graph_input {
    char *port;                 /* input port name */
    char *from_block, *from_port;
    uint32_t from;              /* index of the feeding block */
    uint32_t from_output;       /* index among that block's outputs */
    uint32_t depth;
    mqs_queue_policy policy;
    mqs_loc loc, from_loc;
} mqs_graph_input;

typedef struct mqs_graph_output {
    char *port;
    mqs_caps caps;              /* negotiated, overrides applied */
    uint32_t slots;             /* override, 0: none */
    int64_t slot_size;          /* override, 0: none */
    bool huge_pages;
    mqs_loc loc;
} mqs_graph_output;

typedef struct mqs_graph_sync {
    mqs_sync_policy policy;
    int64_t tolerance_ns;
    int64_t timeout_ns;
    bool partial;               /* on_missing: partial (else drop) */
    char *reference;            /* input name, or NULL */
    mqs_loc loc;
} mqs_graph_sync;

typedef struct mqs_graph_block {
    char *name;
    char *type;
    char *path;                 /* `path:` as written, or NULL */
    mqs_plugin plugin;
    json_t *params;             /* typed, checked, defaults applied */
    mqs_restart_policy restart;
    mqs_graph_sync sync;
    /* In the descriptor's port order: inputs[i] feeds input port i. */
    mqs_graph_input inputs[MQS_GRAPH_MAX_PORTS];
    uint32_t input_count;
    mqs_graph_output outputs[MQS_GRAPH_MAX_PORTS];
    uint32_t output_count;
    mqs_loc loc, type_loc, params_loc;
} mqs_graph_block;

typedef struct mqs_graph {
    char *file;                 /* as given */
    char *dir;                  /* its directory, for `path:` */
    char *name;
    mqs_wait_mode wait;
    mqs_graph_block *blocks;
    uint32_t block_count;
    uint32_t order[MQS_GRAPH_MAX_BLOCKS]; /* topological: producers first */
} mqs_graph;

void mqs_graph_free(mqs_graph *g);

/* The resolved graph, readable, for mqrun --validate. */
void mqs_graph_print(const mqs_graph *g, FILE *out);

/* Format "FILE:LINE:COLUMN: error: ..." into err; returns -EINVAL. */
int mqs_graph_error(const mqs_graph *g, mqs_loc loc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "rgb24", "video", ... for messages. */
const char *mqs_graph_format_name(uint32_t format);
const char *mqs_graph_header_name(uint32_t header_type);

#endif
