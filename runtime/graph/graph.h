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
/* Defaults, when neither the graph file nor the block's negotiate() says:
 * a pool holds MQS_DEFAULT_POOL_BYTES of slots, at least 8 and at most 1024
 * (small messages then move in long bursts, as through a pipe's buffer,
 * while a video pool keeps 8 frames); an input's queue is a quarter of its
 * producer's pool deep, rounded down to a power of two, at least 8 and at
 * most 256. */
#define MQS_DEFAULT_POOL_BYTES (256u * 1024)
#define MQS_DEFAULT_SLOTS_MIN 8u
#define MQS_DEFAULT_SLOTS_MAX 1024u
#define MQS_DEFAULT_DEPTH_MIN 8u
#define MQS_DEFAULT_DEPTH_MAX 256u

/* What the launcher does when a block's process ends. */
typedef enum mqs_restart_policy {
    MQS_RESTART_NEVER = 0,
    MQS_RESTART_ON_FAILURE = 1,
    MQS_RESTART_ALWAYS = 2,
} mqs_restart_policy;

typedef struct mqs_loc {
    int line, column; /* 1-based; 0 when not from the file */
} mqs_loc;

/* Defaults of a block's supervision keys (docs/running.md): a block that
 * fails at once every time is given up on after 5 restarts (about 3 s of
 * backoff); one that runs 1 s between failures is restarted for ever. */
#define MQS_DEFAULT_MAX_RESTARTS 5
#define MQS_DEFAULT_RESTART_WINDOW_NS 1000000000LL
#define MQS_DEFAULT_BACKOFF_NS 100000000LL
#define MQS_DEFAULT_MAX_BACKOFF_NS 5000000000LL
#define MQS_DEFAULT_INIT_TIMEOUT_NS 10000000000LL
#define MQS_MAX_RESTARTS_LIMIT 1000000

/* How the launcher supervises a block: when it restarts it, when it gives
 * up, and when it calls it hung. */
typedef struct mqs_graph_supervision {
    mqs_restart_policy restart;  /* default on-failure */
    uint32_t max_restarts;       /* restarts in a row before giving up; 0: no limit */
    int64_t restart_window_ns;   /* > 0: running this long without failing clears the count */
    int64_t backoff_ns;          /* >= 0: delay of the first restart in a row, doubling after */
    int64_t max_backoff_ns;      /* > 0, >= backoff_ns */
    int64_t watchdog_ns;         /* a block call making no progress this long is hung; 0: off (default) */
    int64_t init_timeout_ns;     /* init() running longer than this is hung; 0: off */
    mqs_loc max_backoff_loc;     /* the `max_backoff` key; line 0 when not given */
} mqs_graph_supervision;

/* The defaults above. */
mqs_graph_supervision mqs_graph_supervision_default(void);

typedef struct mqs_graph_input {
    char *port;                 /* input port name */
    /* false: an optional port (MQS_PORT_OPTIONAL) left unconnected. It is
     * absent: no queue, and `from*` mean nothing. Every user checks it. */
    bool connected;
    char *from_block, *from_port;
    uint32_t from;              /* index of the feeding block */
    uint32_t from_output;       /* index among that block's outputs */
    uint32_t depth;           /* 0 until checked: then the graph file's, or the default */
    mqs_queue_policy policy;
    bool optional;              /* `optional: true`: aligned sets may go without it once it is late */
    int64_t period_ns;          /* `period:` (> 0), 0 when not given */
    mqs_loc loc, from_loc, optional_loc, period_loc;
} mqs_graph_input;

typedef struct mqs_graph_output {
    char *port;
    mqs_caps caps;              /* negotiated, overrides applied */
    uint32_t slots;             /* override, 0: none */
    int64_t slot_size;          /* override, 0: none */
    bool huge_pages;
    mqs_loc loc;
} mqs_graph_output;

#define MQS_DEFAULT_SYNC_TIMEOUT_NS 1000000000LL

/* A block's `sync:` (docs/alignment.md). Without one: policy none and the
 * defaults below. */
typedef struct mqs_graph_sync {
    mqs_sync_policy policy;
    int64_t tolerance_ns;       /* >= 0; default MQS_TOLERANCE_UNLIMITED */
    int64_t timeout_ns;         /* > 0; default MQS_DEFAULT_SYNC_TIMEOUT_NS */
    bool partial;               /* on_missing: partial (default: drop) */
    char *reference;            /* input name, or NULL */
    uint32_t reference_input;   /* its index among the block's inputs; UINT32_MAX when none */
    mqs_loc loc;                /* the `sync` key; line 0 when there is no `sync:` */
    mqs_loc policy_loc, tolerance_loc, timeout_loc, on_missing_loc, reference_loc;
} mqs_graph_sync;

typedef struct mqs_graph_block {
    char *name;
    char *type;
    char *path;                 /* `path:` as written, or NULL */
    mqs_plugin plugin;
    json_t *params;             /* typed, checked, defaults applied */
    mqs_graph_supervision supervision; /* restart, max_restarts, ..., watchdog, init_timeout */
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

/* Inputs of b that are connected (absent optional ports left out). */
uint32_t mqs_graph_connected_inputs(const mqs_graph_block *b);

/* nearest, latest and interpolate: policies driven by a `reference` input. */
bool mqs_graph_sync_has_reference(mqs_sync_policy policy);

/* "rgb24", "video", ... for messages. */
const char *mqs_graph_format_name(uint32_t format);
const char *mqs_graph_header_name(uint32_t header_type);

#endif
