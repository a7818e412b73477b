/* The picture mqctl dot draws, from a graph file (types, kinds, every
 * declared port) or from a running graph's domain and two snapshots (state,
 * BUSY %, calls/s, rates, fill, drops, the bottleneck). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dot_picture.h"
#include "observe/figures.h"

/* ---- of a graph file ---- */

static const char *kind_name(mqs_block_kind k)
{
    return k == MQS_BLOCK_SOURCE ? "source" : k == MQS_BLOCK_FILTER ? "filter" : k == MQS_BLOCK_SINK ? "sink" : "?";
}

/* Absent inputs after the last connected one share one greyed row ("e ...
 * p"): a block with many optional ports (a mosaic takes 16) is drawn as
 * large as what is connected, plus one row that says the rest exist. */
static void fold_trailing_absent(mqctl_dot_block *b)
{
    uint32_t first = b->input_count;
    while (first > 0 && b->absent[first - 1])
        first--;
    if (b->input_count - first < 2)
        return;
    snprintf(b->folded, sizeof b->folded, "%s ... %s", b->inputs[first], b->inputs[b->input_count - 1]);
    b->inputs[first] = b->folded;
    b->input_count = first + 1;
}

static void file_block(const mqs_graph_block *b, mqctl_dot_block *out)
{
    const mqs_graph_sync *s = &b->sync;
    *out = (mqctl_dot_block){.name = b->name, .type = b->type, .kind = kind_name(b->plugin.desc->kind),
                             .input_count = b->input_count, .output_count = b->output_count,
                             .sync = {.policy = s->policy, .reference = UINT32_MAX, .tolerance_ns = s->tolerance_ns,
                                      .timeout_ns = s->timeout_ns, .partial = s->partial},
                             .reference = s->reference};
    for (uint32_t k = 0; k < b->input_count; k++) {
        out->inputs[k] = b->inputs[k].port;
        out->absent[k] = !b->inputs[k].connected;
    }
    for (uint32_t k = 0; k < b->output_count; k++)
        out->outputs[k] = b->outputs[k].port;
    fold_trailing_absent(out);
}

/* One edge per connected input, in block then port order. */
static uint32_t file_edges(const mqs_graph *g, mqctl_dot_edge *edges)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < g->block_count; i++)
        for (uint32_t k = 0; k < g->blocks[i].input_count; k++) {
            const mqs_graph_input *in = &g->blocks[i].inputs[k];
            if (!in->connected)
                continue;
            edges[n++] = (mqctl_dot_edge){.from = in->from, .from_port = in->from_output, .to = i, .to_port = k,
                                          .policy = mqs_queue_policy_name(in->policy), .depth = in->depth,
                                          .period_ns = in->period_ns, .optional = in->optional};
        }
    return n;
}

int mqctl_dot_picture_of_file(const mqs_graph *g, mqctl_dot_graph *m)
{
    uint32_t connections = 0;
    for (uint32_t i = 0; i < g->block_count; i++)
        connections += mqs_graph_connected_inputs(&g->blocks[i]);
    *m = (mqctl_dot_graph){.name = g->name, .block_count = g->block_count};
    m->blocks = calloc(g->block_count + 1, sizeof *m->blocks);
    m->edges = calloc(connections + 1, sizeof *m->edges);
    if (!m->blocks || !m->edges)
        return -ENOMEM;
    for (uint32_t i = 0; i < g->block_count; i++)
        file_block(&g->blocks[i], &m->blocks[i]);
    m->edge_count = file_edges(g, m->edges);
    return 0;
}

/* ---- of a running graph ---- */

/* "gray.in" of block "gray" -> "in": domain names are BLOCK.PORT. */
static const char *port_of(const char *name, const char *block)
{
    size_t n = strlen(block);
    return strncmp(name, block, n) == 0 && name[n] == '.' ? name + n + 1 : name;
}

static void live_block(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t p,
                       mqctl_dot_block *out)
{
    mqs_block_figures f;
    mqs_figures_block(before, now, p, &f);
    *out = (mqctl_dot_block){.name = f.name, .state = f.state, .measured = f.measured,
                             .busy_percent = f.busy_percent, .calls_per_s = f.calls_per_s};
    if (mqs_process_sync(now->domain, p, &out->sync) != 0)
        out->sync.policy = MQS_SYNC_NONE;
    if (out->sync.policy != MQS_SYNC_NONE && out->sync.reference < now->queues)
        out->reference = port_of(mqs_queue_name(now->domain, out->sync.reference), f.name);
}

/* Adds output `o` to its block's ports; its index there, or UINT32_MAX
 * when no block of the picture owns it. */
static uint32_t live_output(const mqs_domain *d, uint32_t o, mqctl_dot_graph *m)
{
    uint32_t owner = mqs_output_owner(d, o);
    if (owner == 0 || owner > m->block_count || m->blocks[owner - 1].output_count >= MQCTL_DOT_MAX_PORTS)
        return UINT32_MAX;
    mqctl_dot_block *b = &m->blocks[owner - 1];
    b->outputs[b->output_count] = port_of(mqs_output_name(d, o), b->name);
    return b->output_count++;
}

/* Adds queue q as an input of its consumer and an edge from its output. */
static void live_edge(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, uint32_t q,
                      const uint32_t *port_of_output, mqctl_dot_graph *m)
{
    mqs_connection_figures c;
    mqs_figures_connection(before, now, q, &c);
    uint32_t output = mqs_queue_output(now->domain, q);
    if (c.consumer == 0 || c.consumer > m->block_count || output >= mqs_domain_output_count(now->domain) ||
        port_of_output[output] == UINT32_MAX || m->blocks[c.consumer - 1].input_count >= MQCTL_DOT_MAX_PORTS)
        return;
    mqctl_dot_block *to = &m->blocks[c.consumer - 1];
    to->inputs[to->input_count] = port_of(c.to, to->name);
    m->edges[m->edge_count++] = (mqctl_dot_edge){
        .from = c.producer - 1, .from_port = port_of_output[output], .to = c.consumer - 1,
        .to_port = to->input_count++, .policy = c.policy, .depth = c.depth, .period_ns = now->input[q].period_ns,
        .optional = now->input[q].optional, .live = true, .rate = c.rate, .queued = c.queued,
        .drops = c.dropped + c.drained};
}

int mqctl_dot_picture_of_run(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, mqctl_dot_graph *m)
{
    const mqs_domain *d = now->domain;
    uint32_t outputs = mqs_domain_output_count(d), block = UINT32_MAX, queue = UINT32_MAX;
    *m = (mqctl_dot_graph){.block_count = now->processes ? now->processes - 1 : 0};
    m->blocks = calloc(m->block_count + 1, sizeof *m->blocks);
    m->edges = calloc(now->queues + 1, sizeof *m->edges);
    uint32_t *port_of_output = calloc(outputs + 1, sizeof *port_of_output);
    if (!m->blocks || !m->edges || !port_of_output) {
        free(port_of_output);
        return -ENOMEM;
    }
    mqs_figures_bottleneck(before, now, &block, &queue);
    for (uint32_t p = 1; p <= m->block_count; p++) {
        live_block(before, now, p, &m->blocks[p - 1]);
        m->blocks[p - 1].bottleneck = p == block;
    }
    for (uint32_t o = 0; o < outputs; o++)
        port_of_output[o] = live_output(d, o, m);
    for (uint32_t q = 0; q < now->queues; q++) {
        uint32_t before_count = m->edge_count;
        live_edge(before, now, q, port_of_output, m);
        if (m->edge_count > before_count)
            m->edges[before_count].bottleneck = q == queue;
    }
    free(port_of_output);
    return 0;
}

void mqctl_dot_picture_free(mqctl_dot_graph *g)
{
    free(g->blocks);
    free(g->edges);
    g->blocks = NULL;
    g->edges = NULL;
    g->block_count = g->edge_count = 0;
}
