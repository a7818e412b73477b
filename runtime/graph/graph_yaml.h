/* Reading a graph file's YAML into the model. */
#ifndef MQS_GRAPH_YAML_H
#define MQS_GRAPH_YAML_H

#include "graph.h"

/* Parse g->file into g: names, types (plugins loaded), inputs as written,
 * params converted by their specs. 0 or -EINVAL/-ENOENT with err set. */
int mqs_graph_parse_yaml(mqs_graph *g, char *err, size_t errlen);

#endif
