/* Resolving and checking a graph that graph_yaml.c has read. */
#ifndef MQS_GRAPH_CHECK_H
#define MQS_GRAPH_CHECK_H

#include "graph.h"

/* Apply `sets` ("block.param=value"), check params, resolve connections,
 * check sync settings, order the blocks (producers first), negotiate caps
 * and check every connection. 0 or -EINVAL with err set. */
int mqs_graph_check(mqs_graph *g, const char *const *sets, size_t set_count, char *err, size_t errlen);

#endif
