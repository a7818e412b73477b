/* Loading a graph file: the entry point of the graph layer. */
#ifndef MQS_GRAPH_LOAD_H
#define MQS_GRAPH_LOAD_H

#include "graph.h"

/* Load, resolve and check a graph file, applying `sets` ("block.param=value")
 * before checking params. 0, or -EINVAL/-ENOENT with one line in err:
 * "FILE:LINE:COLUMN: error: WHAT (hint: HOW)". */
int mqs_graph_load(const char *path, const char *const *sets, size_t set_count, mqs_graph **out, char *err,
                   size_t errlen);

#endif
