/* Resolving and checking a graph: --set overrides, params, connections,
 * cycles, sync settings, caps negotiation and port compatibility. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph_check.h"
#include "module_block.h"
#include "params.h"

static int find_block(const mqs_graph *g, const char *name)
{
    for (uint32_t i = 0; i < g->block_count; i++)
        if (strcmp(g->blocks[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const char *nearest_block(const mqs_graph *g, const char *name)
{
    const char *best = NULL;
    size_t best_distance = 3;
    for (uint32_t i = 0; i < g->block_count; i++) {
        size_t dist = mqs_edit_distance(name, g->blocks[i].name);
        if (dist < best_distance) {
            best_distance = dist;
            best = g->blocks[i].name;
        }
    }
    return best;
}

/* ---- --set ---- */

static int apply_set(mqs_graph *g, const char *set, char *err, size_t errlen)
{
    const char *dot = strchr(set, '.'), *eq = strchr(set, '=');
    if (!dot || !eq || eq < dot || dot == set) {
        snprintf(err, errlen, "--set %s: expected BLOCK.PARAM=VALUE", set);
        return -EINVAL;
    }
    char block[64], key[128], why[512];
    snprintf(block, sizeof block, "%.*s", (int)(dot - set), set);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    int b = find_block(g, block);
    if (b < 0) {
        const char *near = nearest_block(g, block);
        snprintf(err, errlen, "--set %s: the graph has no block '%s'%s%s%s", set, block, near ? " (hint: did you mean '" : "",
                 near ? near : "", near ? "'?)" : "");
        return -EINVAL;
    }
    mqs_graph_block *blk = &g->blocks[b];
    if (strcmp(key, "module") == 0 && mqs_plugin_wants_module(&blk->plugin)) {
        snprintf(err, errlen, "--set %s: block '%s' takes its ports and params from its module: change `module` in "
                 "the graph file", set, block);
        return -EINVAL;
    }
    const mqs_param_spec *spec = mqs_param_find(blk->plugin.desc, key);
    json_t *value;
    int rc = spec ? mqs_param_from_text(spec, eq + 1, &value, why, sizeof why)
                  : mqs_param_unknown(blk->plugin.desc, key, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "--set %s: block '%s': %s", set, block, why);
        return rc;
    }
    json_object_set_new(blk->params, key, value);
    return 0;
}

/* ---- connections ---- */

static const mqs_port_spec *nth_port(const mqs_block_descriptor *d, mqs_port_direction dir, uint32_t n)
{
    for (uint32_t p = 0; p < d->port_count; p++)
        if (d->ports[p].direction == dir && n-- == 0)
            return &d->ports[p];
    return NULL;
}

static int resolve_input(mqs_graph *g, mqs_graph_block *b, mqs_graph_input *in, char *err, size_t errlen)
{
    int from = find_block(g, in->from_block);
    if (from < 0) {
        const char *near = nearest_block(g, in->from_block);
        return mqs_graph_error(g, in->from_loc, err, errlen, "block '%s' input '%s': the graph has no block '%s'%s%s%s",
                               b->name, in->port, in->from_block, near ? " (hint: did you mean '" : "",
                               near ? near : "", near ? "'?)" : "");
    }
    const mqs_block_descriptor *d = g->blocks[from].plugin.desc;
    for (uint32_t o = 0; o < mqs_port_count(d, MQS_PORT_OUTPUT); o++)
        if (strcmp(nth_port(d, MQS_PORT_OUTPUT, o)->name, in->from_port) == 0) {
            in->from = (uint32_t)from;
            in->from_output = o;
            return 0;
        }
    char ports[256] = "";
    for (uint32_t o = 0; o < mqs_port_count(d, MQS_PORT_OUTPUT); o++)
        snprintf(ports + strlen(ports), sizeof ports - strlen(ports), "%s%s", o ? ", " : "",
                 nth_port(d, MQS_PORT_OUTPUT, o)->name);
    return mqs_graph_error(g, in->from_loc, err, errlen, "block '%s' (%s) has no output '%s' (hint: its outputs are: %s)",
                           in->from_block, g->blocks[from].type, in->from_port, ports[0] ? ports : "none");
}

static int resolve_block(mqs_graph *g, mqs_graph_block *b, char *err, size_t errlen)
{
    const mqs_block_descriptor *d = b->plugin.desc;
    b->input_count = mqs_port_count(d, MQS_PORT_INPUT);
    b->output_count = mqs_port_count(d, MQS_PORT_OUTPUT);
    if (b->input_count > MQS_GRAPH_MAX_PORTS || b->output_count > MQS_GRAPH_MAX_PORTS)
        return mqs_graph_error(g, b->type_loc, err, errlen, "block type '%s' has more than %d ports", b->type,
                               MQS_GRAPH_MAX_PORTS);
    for (uint32_t i = 0; i < b->output_count; i++)
        b->outputs[i].port = strdup(nth_port(d, MQS_PORT_OUTPUT, i)->name);
    for (uint32_t i = 0; i < b->input_count; i++) {
        mqs_graph_input *in = &b->inputs[i];
        const mqs_port_spec *spec = nth_port(d, MQS_PORT_INPUT, i);
        if (!in->port && !(spec->flags & MQS_PORT_OPTIONAL))
            return mqs_graph_error(g, b->loc, err, errlen,
                                   "block '%s' (%s): input '%s' is not connected (hint: inputs: { %s: BLOCK.PORT })",
                                   b->name, b->type, spec->name, spec->name);
        if (!in->port) { /* an optional port left out: absent, no queue */
            in->port = strdup(spec->name);
            in->connected = false;
            continue;
        }
        int rc = resolve_input(g, b, in, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- sync ---- */

static const mqs_graph_input *input_named(const mqs_graph_block *b, const char *name, uint32_t *index)
{
    for (uint32_t i = 0; i < b->input_count; i++)
        if (strcmp(b->inputs[i].port, name) == 0) {
            *index = i;
            return &b->inputs[i];
        }
    return NULL;
}

static void list_inputs(const mqs_graph_block *b, char *out, size_t size)
{
    out[0] = '\0';
    for (uint32_t i = 0; i < b->input_count; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? ", " : "", b->inputs[i].port);
}

/* nearest, latest and interpolate need a connected, required reference;
 * the other policies take none. Sets sync.reference_input. */
static int check_reference(mqs_graph *g, mqs_graph_block *b, char *err, size_t errlen)
{
    mqs_graph_sync *s = &b->sync;
    const char *policy = mqs_sync_policy_name(s->policy);
    char inputs[256];
    if (!mqs_graph_sync_has_reference(s->policy))
        return s->reference ? mqs_graph_error(g, s->reference_loc, err, errlen,
                                              "block '%s': sync policy %s takes no `reference` (hint: reference drives "
                                              "nearest, latest and interpolate; remove it)",
                                              b->name, policy)
                            : 0;
    if (!s->reference)
        return mqs_graph_error(g, s->policy_loc, err, errlen,
                               "block '%s': sync policy %s needs `reference: INPUT` (hint: name the input that drives "
                               "the sets, e.g. reference: %s)",
                               b->name, policy, b->inputs[0].port);
    uint32_t index;
    const mqs_graph_input *in = input_named(b, s->reference, &index);
    list_inputs(b, inputs, sizeof inputs);
    if (!in)
        return mqs_graph_error(g, s->reference_loc, err, errlen,
                               "block '%s': sync reference '%s' is not one of its inputs (hint: its inputs are: %s)",
                               b->name, s->reference, inputs);
    if (!in->connected)
        return mqs_graph_error(g, s->reference_loc, err, errlen,
                               "block '%s': sync reference '%s' is not connected (hint: connect it, or name a "
                               "connected input)",
                               b->name, s->reference);
    if (in->optional)
        return mqs_graph_error(g, s->reference_loc, err, errlen,
                               "block '%s': sync reference '%s' is `optional` (hint: the reference drives every set, "
                               "so it cannot be left out: make it required or name another input)",
                               b->name, s->reference);
    s->reference_input = index;
    return 0;
}

static bool before(mqs_loc a, mqs_loc b)
{
    return a.line < b.line || (a.line == b.line && a.column < b.column);
}

/* A block that does not align: `optional` and `period` would mean nothing. */
static int check_unaligned_inputs(mqs_graph *g, const mqs_graph_block *b, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < b->input_count; i++) {
        const mqs_graph_input *in = &b->inputs[i];
        if (!in->optional_loc.line && !in->period_loc.line)
            continue;
        bool optional_first =
            in->optional_loc.line && (!in->period_loc.line || before(in->optional_loc, in->period_loc));
        return mqs_graph_error(g, optional_first ? in->optional_loc : in->period_loc, err, errlen,
                               "block '%s' input '%s': `%s` without a sync policy (hint: `optional` and `period` only "
                               "matter to `sync`: remove them or add a sync policy)",
                               b->name, in->port, optional_first ? "optional" : "period");
    }
    return 0;
}

/* A block with MQS_BLOCK_ALIGNED and two or more connected inputs needs a policy. */
static int check_aligned_block(mqs_graph *g, const mqs_graph_block *b, uint32_t connected, char *err, size_t errlen)
{
    if (!(b->plugin.desc->flags & MQS_BLOCK_ALIGNED) || connected < 2)
        return 0;
    bool none_given = b->sync.loc.line != 0;
    return mqs_graph_error(g, none_given ? b->sync.policy_loc : b->loc, err, errlen,
                           "block '%s' (%s) must align its %u connected inputs, but %s (hint: %s sync: { policy: "
                           "approximate, tolerance: 10ms } (see docs/alignment.md))",
                           b->name, b->type, connected, none_given ? "its sync policy is none" : "has no sync policy",
                           none_given ? "pick a policy, e.g." : "add");
}

static int check_sync(mqs_graph *g, mqs_graph_block *b, char *err, size_t errlen)
{
    const mqs_graph_sync *s = &b->sync;
    uint32_t connected = mqs_graph_connected_inputs(b);
    if (s->loc.line && connected < 2)
        return mqs_graph_error(g, s->loc, err, errlen,
                               "block '%s' has %u %sinput%s: `sync` aligns two or more (hint: remove it)", b->name,
                               connected, connected < b->input_count ? "connected " : "", connected == 1 ? "" : "s");
    if (s->policy == MQS_SYNC_NONE) {
        int rc = check_aligned_block(g, b, connected, err, errlen);
        if (rc == 0)
            rc = check_unaligned_inputs(g, b, err, errlen);
        if (rc)
            return rc;
    }
    return check_reference(g, b, err, errlen);
}

/* ---- order ---- */

static void describe_cycle(const mqs_graph *g, const bool *done, uint32_t start, char *out, size_t size)
{
    uint32_t at = start;
    out[0] = '\0';
    for (uint32_t steps = 0; steps <= g->block_count; steps++) {
        snprintf(out + strlen(out), size - strlen(out), "%s%s", steps ? " -> " : "", g->blocks[at].name);
        if (steps && at == start)
            return;
        const mqs_graph_block *b = &g->blocks[at];
        for (uint32_t i = 0; i < b->input_count; i++)
            if (b->inputs[i].connected && !done[b->inputs[i].from]) {
                at = b->inputs[i].from;
                break;
            }
    }
}

static int sort_blocks(mqs_graph *g, char *err, size_t errlen)
{
    bool done[MQS_GRAPH_MAX_BLOCKS] = {false};
    uint32_t n = 0;
    for (bool progress = true; progress;) {
        progress = false;
        for (uint32_t i = 0; i < g->block_count; i++) {
            if (done[i])
                continue;
            bool ready = true;
            for (uint32_t k = 0; k < g->blocks[i].input_count; k++) {
                const mqs_graph_input *in = &g->blocks[i].inputs[k];
                ready = ready && (!in->connected || done[in->from]);
            }
            if (ready) {
                done[i] = progress = true;
                g->order[n++] = i;
            }
        }
    }
    for (uint32_t i = 0; i < g->block_count; i++)
        if (!done[i]) {
            char cycle[512];
            describe_cycle(g, done, i, cycle, sizeof cycle);
            return mqs_graph_error(g, g->blocks[i].loc, err, errlen,
                                   "the graph has a cycle: %s (hint: data must flow one way)", cycle);
        }
    return 0;
}

/* ---- negotiation ---- */

static uint32_t clamp_u32(uint64_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

static uint32_t default_slots(uint64_t slot_size)
{
    return clamp_u32(MQS_DEFAULT_POOL_BYTES / (slot_size ? slot_size : 1), MQS_DEFAULT_SLOTS_MIN, MQS_DEFAULT_SLOTS_MAX);
}

/* A power of two (what the ring would round it to anyway), at most a
 * quarter of the pool. */
static uint32_t default_depth(const mqs_caps *producer)
{
    uint32_t quarter = clamp_u32(producer->slot_count / 4, MQS_DEFAULT_DEPTH_MIN, MQS_DEFAULT_DEPTH_MAX);
    return 1u << (31 - __builtin_clz(quarter));
}

/* Without negotiate(): every output copies the first connected input's caps. */
static void default_caps(const mqs_graph_block *b, const mqs_caps *inputs, mqs_caps *outputs)
{
    uint32_t first = 0;
    while (first < b->input_count && !b->inputs[first].connected)
        first++;
    for (uint32_t o = 0; o < b->output_count; o++) {
        if (first < b->input_count)
            outputs[o] = inputs[first];
        else
            outputs[o] = (mqs_caps){.slot_size = 4096};
    }
}

static int negotiate(mqs_graph *g, mqs_graph_block *b, char *err, size_t errlen)
{
    mqs_caps inputs[MQS_GRAPH_MAX_PORTS] = {0}, outputs[MQS_GRAPH_MAX_PORTS] = {0};
    for (uint32_t i = 0; i < b->input_count; i++) {
        mqs_graph_input *in = &b->inputs[i];
        inputs[i] = in->connected ? g->blocks[in->from].outputs[in->from_output].caps
                                  : (mqs_caps){.flags = MQS_CAPS_ABSENT};
        if (in->connected && in->depth == 0)
            in->depth = default_depth(&inputs[i]);
    }
    const mqs_block_descriptor *d = b->plugin.desc;
    if (!d->negotiate) {
        default_caps(b, inputs, outputs);
    } else {
        mqs_params *p = mqs_params_wrap(d, b->params);
        int rc = p ? d->negotiate(p, inputs, b->input_count, outputs, b->output_count) : -ENOMEM;
        if (rc < 0) {
            const char *why = p && mqs_params_failure(p)[0] ? mqs_params_failure(p) : mqs_strerror(rc);
            rc = mqs_graph_error(g, b->loc, err, errlen, "block '%s' (%s): %s", b->name, b->type, why);
            mqs_params_free(p);
            return rc;
        }
        mqs_params_free(p);
    }
    for (uint32_t o = 0; o < b->output_count; o++) {
        mqs_graph_output *out = &b->outputs[o];
        out->caps = outputs[o];
        if (out->slots)
            out->caps.slot_count = out->slots;
        if (out->slot_size)
            out->caps.slot_size = (uint64_t)out->slot_size;
        if (!out->caps.slot_size)
            return mqs_graph_error(g, b->loc, err, errlen,
                                   "block '%s' output '%s' has no slot size (hint: set outputs: { %s: { slot_size: "
                                   "64KiB } })",
                                   b->name, out->port, out->port);
        if (!out->caps.slot_count)
            out->caps.slot_count = default_slots(out->caps.slot_size);
    }
    return 0;
}

static int check_compatible(mqs_graph *g, mqs_graph_block *b, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < b->input_count; i++) {
        const mqs_graph_input *in = &b->inputs[i];
        if (!in->connected)
            continue; /* absent: nothing arrives to check */
        const mqs_port_spec *spec = nth_port(b->plugin.desc, MQS_PORT_INPUT, i);
        const mqs_caps *c = &g->blocks[in->from].outputs[in->from_output].caps;
        if (spec->header_type != MQS_HEADER_NONE && c->header_type != spec->header_type)
            return mqs_graph_error(g, in->from_loc, err, errlen, "block '%s' input '%s' takes %s, but %s.%s carries %s",
                                   b->name, in->port, mqs_graph_header_name(spec->header_type), in->from_block, in->from_port,
                                   mqs_graph_header_name(c->header_type));
        if (spec->format != MQS_FORMAT_ANY && c->format != spec->format)
            return mqs_graph_error(g, in->from_loc, err, errlen,
                                   "block '%s' input '%s' takes %s frames, but %s.%s carries %s (hint: convert in "
                                   "between, e.g. with grayscale)",
                                   b->name, in->port, mqs_graph_format_name(spec->format), in->from_block, in->from_port,
                                   mqs_graph_format_name(c->format));
    }
    return 0;
}

/* ---- supervision ---- */

/* Keys checked one by one in graph_yaml.c; here what they say together. */
static int check_supervision(mqs_graph *g, const mqs_graph_block *b, char *err, size_t errlen)
{
    const mqs_graph_supervision *s = &b->supervision;
    if (s->max_backoff_ns >= s->backoff_ns)
        return 0;
    mqs_loc at = s->max_backoff_loc.line ? s->max_backoff_loc : b->loc;
    return mqs_graph_error(g, at, err, errlen,
                           "block '%s': max_backoff (%g ms) is less than backoff (%g ms) (hint: max_backoff caps "
                           "the doubling backoff: make it at least backoff)",
                           b->name, (double)s->max_backoff_ns / 1e6, (double)s->backoff_ns / 1e6);
}

/* ---- the whole check ---- */

int mqs_graph_check(mqs_graph *g, const char *const *sets, size_t set_count, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < set_count; i++)
        rc = apply_set(g, sets[i], err, errlen);
    for (uint32_t i = 0; rc == 0 && i < g->block_count; i++) {
        mqs_graph_block *b = &g->blocks[i];
        char why[512];
        if (mqs_params_check(b->plugin.desc, b->params, why, sizeof why) != 0)
            rc = mqs_graph_error(g, b->params_loc, err, errlen, "block '%s': %s", b->name, why);
    }
    for (uint32_t i = 0; rc == 0 && i < g->block_count; i++)
        rc = resolve_block(g, &g->blocks[i], err, errlen);
    for (uint32_t i = 0; rc == 0 && i < g->block_count; i++)
        rc = check_sync(g, &g->blocks[i], err, errlen);
    for (uint32_t i = 0; rc == 0 && i < g->block_count; i++)
        rc = check_supervision(g, &g->blocks[i], err, errlen);
    if (rc == 0)
        rc = sort_blocks(g, err, errlen);
    /* Producers first: a block's input caps are known before it negotiates,
     * and the runtime's own port check speaks before the block does. */
    for (uint32_t i = 0; rc == 0 && i < g->block_count; i++) {
        rc = check_compatible(g, &g->blocks[g->order[i]], err, errlen);
        if (rc == 0)
            rc = negotiate(g, &g->blocks[g->order[i]], err, errlen);
    }
    return rc;
}
