/* Loading a graph file: read the YAML into the model, then resolve and
 * check it. Data flows one way: text -> model -> checked model. */
#include <errno.h>
#include <libgen.h>
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
    if (rc) {
        mqs_graph_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
