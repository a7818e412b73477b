/* Loading a graph file: the entry point of the graph layer. */
#ifndef MQS_GRAPH_LOAD_H
#define MQS_GRAPH_LOAD_H

#include "graph.h"

/* Limits of a graph file and of what it may ask for (docs/graph-files.md,
 * "Limits"). Each is checked before anything is made for what it bounds, and
 * its error names the limit. Blocks (MQS_GRAPH_MAX_BLOCKS) and ports per
 * block (MQS_GRAPH_MAX_PORTS) are in graph.h, param strings in params.h. */
#define MQS_GRAPH_MAX_FILE_SIZE (1u << 20)        /* bytes of a graph file */
#define MQS_GRAPH_MAX_DEPTH 16                    /* YAML nesting; a graph needs 5 */
#define MQS_GRAPH_MAX_VALUE 4096                  /* bytes of any one value */
#define MQS_GRAPH_MAX_BLOCK_NAME 31               /* bytes of a block name */
#define MQS_GRAPH_MAX_TYPE 63                     /* bytes of a block type */
#define MQS_GRAPH_MAX_SLOT_SIZE (UINT64_C(1) << 30) /* bytes per pool slot */
#define MQS_GRAPH_MAX_POOLS_SIZE (UINT64_C(64) << 30) /* bytes of every pool's slots together */

/* Load, resolve and check a graph file, applying `sets` ("block.param=value")
 * before checking params. 0, or -EINVAL/-ENOENT with one line in err:
 * "FILE:LINE:COLUMN: error: WHAT (hint: HOW)". */
int mqs_graph_load(const char *path, const char *const *sets, size_t set_count, mqs_graph **out, char *err,
                   size_t errlen);

#endif
