/* Reading a graph file: libyaml's document tree, walked node by node, each
 * error reported at the node's line and column. Block types are loaded as
 * soon as they are named, so params are converted with their specs here. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "graph_load.h"
#include "graph_yaml.h"
#include "module_block.h"
#include "params.h"
#include "units.h"

typedef struct reader {
    mqs_graph *g;
    yaml_document_t doc;
    char *err;
    size_t errlen;
} reader;

static mqs_loc loc_of(const yaml_node_t *n)
{
    return (mqs_loc){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

#define FAIL(r, node, ...) mqs_graph_error((r)->g, loc_of(node), (r)->err, (r)->errlen, __VA_ARGS__)

static yaml_node_t *node(reader *r, int id) { return yaml_document_get_node(&r->doc, id); }

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool valid_name(const char *s, size_t max)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    return n > 0 && s[n] == '\0' && n <= max;
}

/* Walk a mapping: every key must be a scalar and appear once; fn gets each pair. */
typedef int (*pair_fn)(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v);

static int each_pair(reader *r, yaml_node_t *map, const char *what, void *ctx, pair_fn fn)
{
    if (map->type != YAML_MAPPING_NODE)
        return FAIL(r, map, "%s must be a mapping (key: value lines)", what);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(r, p->key), *v = node(r, p->value);
        const char *key = scalar(k);
        if (!key)
            return FAIL(r, k, "keys of %s must be plain names", what);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++)
            if (strcmp(scalar(node(r, q->key)) ? scalar(node(r, q->key)) : "", key) == 0)
                return FAIL(r, k, "'%s' appears twice in %s (hint: each key may be given once)", key, what);
        int rc = fn(r, ctx, key, k, v);
        if (rc)
            return rc;
    }
    return 0;
}

static int need_scalar(reader *r, yaml_node_t *v, const char *what, const char **out)
{
    *out = scalar(v);
    if (!*out)
        return FAIL(r, v, "%s must be a single value", what);
    if (v->data.scalar.length > MQS_GRAPH_MAX_VALUE)
        return FAIL(r, v, "%s is %zu bytes long, more than the limit of %d (hint: graph values are names, numbers "
                    "and short strings)", what, v->data.scalar.length, MQS_GRAPH_MAX_VALUE);
    return 0;
}

/* ---- params ---- */

/* A module's path, relative to the graph file's directory, made absolute. */
static int resolve_module(reader *r, const mqs_graph_block *b, yaml_node_t *v, char out[PATH_MAX])
{
    const char *text = scalar(v);
    char joined[2 * PATH_MAX];
    bool relative = text[0] != '/' && r->g->dir && strcmp(r->g->dir, ".") != 0;
    snprintf(joined, sizeof joined, "%s%s%s", relative ? r->g->dir : "", relative ? "/" : "", text);
    if (!realpath(joined, out))
        return FAIL(r, v, "block '%s': module %s: %s (hint: `module:` is relative to the graph file's directory)",
                    b->name, joined, strerror(errno));
    return 0;
}

/* "black, white": what a module declares besides `module`, for hints. */
static const char *declared_params(const mqs_graph_block *b)
{
    static char list[512];
    size_t n = 0;
    list[0] = '\0';
    const mqs_block_descriptor *d = b->plugin.desc;
    for (uint32_t i = 1; i < d->param_count && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i > 1 ? ", " : "", d->params[i].key);
    return d->param_count > 1 ? list : "no params";
}

static int on_param(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_block *b = ctx;
    const mqs_param_spec *spec = mqs_param_find(b->plugin.desc, key);
    char why[512];
    if (!spec && mqs_plugin_wants_module(&b->plugin))
        return FAIL(r, k, "block '%s': unknown param '%s' (hint: its module declares %s, and `module`)", b->name, key,
                    declared_params(b));
    if (!spec) {
        mqs_param_unknown(b->plugin.desc, key, why, sizeof why);
        return FAIL(r, k, "block '%s': %s", b->name, why);
    }
    const char *text = scalar(v);
    if (!text)
        return FAIL(r, v, "block '%s': param '%s' must be a single value", b->name, key);
    char module[PATH_MAX];
    if (strcmp(key, "module") == 0 && mqs_plugin_wants_module(&b->plugin)) {
        int rc = resolve_module(r, b, v, module);
        if (rc)
            return rc;
        text = module; /* the worker runs elsewhere: it gets the absolute path */
    }
    json_t *value;
    if (mqs_param_from_text(spec, text, &value, why, sizeof why) != 0)
        return FAIL(r, v, "block '%s': %s", b->name, why);
    json_object_set_new(b->params, key, value);
    return 0;
}

/* ---- inputs ---- */

static const mqs_port_spec *port_named(const mqs_block_descriptor *d, mqs_port_direction dir, const char *name,
                                       uint32_t *index)
{
    uint32_t i = 0;
    for (uint32_t p = 0; p < d->port_count; p++) {
        if (d->ports[p].direction != dir)
            continue;
        if (strcmp(d->ports[p].name, name) == 0) {
            *index = i;
            return &d->ports[p];
        }
        i++;
    }
    return NULL;
}

static void list_ports(const mqs_block_descriptor *d, mqs_port_direction dir, char *out, size_t size)
{
    out[0] = '\0';
    for (uint32_t p = 0; p < d->port_count; p++)
        if (d->ports[p].direction == dir)
            snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? ", " : "", d->ports[p].name);
    if (!out[0])
        snprintf(out, size, "none");
}

static int parse_from(reader *r, yaml_node_t *v, mqs_graph_input *in)
{
    const char *text;
    int rc = need_scalar(r, v, "`from`", &text);
    if (rc)
        return rc;
    const char *dot = strchr(text, '.');
    if (!dot || dot == text || !dot[1] || strchr(dot + 1, '.'))
        return FAIL(r, v, "'%s' is not BLOCK.PORT (hint: e.g. camera.out)", text);
    in->from_block = strndup(text, (size_t)(dot - text));
    in->from_port = strdup(dot + 1);
    in->from_loc = loc_of(v);
    return 0;
}

/* A value that must be one of `names`; its index goes to *out. */
static int parse_choice(reader *r, yaml_node_t *v, const char *what, const char *const *names, int count,
                        const char *hint, int *out)
{
    const char *text;
    int rc = need_scalar(r, v, what, &text);
    for (int i = 0; rc == 0 && i < count; i++)
        if (strcmp(text, names[i]) == 0)
            return *out = i, 0;
    return rc ? rc : FAIL(r, v, "unknown %s '%s' (hint: %s)", what, text, hint);
}

static int parse_policy(reader *r, yaml_node_t *v, mqs_queue_policy *out)
{
    static const char *const names[] = {"block", "drop_oldest", "drop_newest"};
    int i = 0, rc = parse_choice(r, v, "policy", names, 3, "block, drop_oldest or drop_newest", &i);
    *out = (mqs_queue_policy)i;
    return rc;
}

/* true|false (also yes/no, on/off), as params take booleans. */
static int parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(text, yes[i]) == 0)
            return *out = true, 0;
        if (strcmp(text, no[i]) == 0)
            return *out = false, 0;
    }
    return -EINVAL;
}

static int parse_depth(reader *r, yaml_node_t *v, uint32_t *out)
{
    const char *text;
    int rc = need_scalar(r, v, "`depth`", &text);
    char *end;
    long depth = rc ? 0 : strtol(text, &end, 10);
    if (rc == 0 && (!*text || *end))
        return FAIL(r, v, "depth '%s' is not a number (hint: queue entries, 1..65536, e.g. 8)", text);
    if (rc == 0 && (depth < 1 || depth > 65536))
        return FAIL(r, v, "depth '%s' is out of range 1..65536", text);
    *out = (uint32_t)depth;
    return rc;
}

static int parse_period(reader *r, yaml_node_t *k, yaml_node_t *v, mqs_graph_input *in)
{
    const char *text;
    char why[256];
    int rc = need_scalar(r, v, "`period`", &text);
    if (rc)
        return rc;
    if (mqs_parse_duration(text, &in->period_ns, why, sizeof why) != 0)
        return FAIL(r, v, "period: %s", why);
    if (in->period_ns <= 0)
        return FAIL(r, v, "period '%s' must be more than 0 (hint: the least time between two buffers' pts, e.g. 33ms)",
                    text);
    in->period_loc = loc_of(k);
    return 0;
}

static int on_input_field(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_input *in = ctx;
    const char *text;
    if (strcmp(key, "from") == 0)
        return parse_from(r, v, in);
    if (strcmp(key, "policy") == 0)
        return parse_policy(r, v, &in->policy);
    if (strcmp(key, "depth") == 0)
        return parse_depth(r, v, &in->depth);
    if (strcmp(key, "period") == 0)
        return parse_period(r, k, v, in);
    if (strcmp(key, "optional") == 0) {
        int rc = need_scalar(r, v, "`optional`", &text);
        if (rc == 0 && parse_bool(text, &in->optional) != 0)
            return FAIL(r, v, "optional '%s' must be true or false", text);
        in->optional_loc = loc_of(k);
        return rc;
    }
    return FAIL(r, k, "unknown key '%s' in an input (hint: from, depth, policy, optional, period)", key);
}

static int on_input(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_block *b = ctx;
    uint32_t index;
    char ports[256];
    if (!port_named(b->plugin.desc, MQS_PORT_INPUT, key, &index)) {
        list_ports(b->plugin.desc, MQS_PORT_INPUT, ports, sizeof ports);
        return FAIL(r, k, "block '%s' (%s) has no input '%s' (hint: its inputs are: %s)", b->name, b->type, key, ports);
    }
    mqs_graph_input *in = &b->inputs[index];
    in->port = strdup(key);
    in->connected = true; /* `from` is required below */
    in->loc = loc_of(k);
    in->depth = 0; /* the default depends on the producer's pool: set once it is negotiated */
    if (v->type == YAML_SCALAR_NODE)
        return parse_from(r, v, in);
    int rc = each_pair(r, v, "an input", in, on_input_field);
    if (rc == 0 && !in->from_block)
        return FAIL(r, v, "input '%s' of block '%s' has no `from`", key, b->name);
    return rc;
}

/* ---- outputs (pool overrides) ---- */

static int on_output_field(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_output *o = ctx;
    const char *text;
    int rc = need_scalar(r, v, key, &text);
    char why[256];
    if (rc)
        return rc;
    if (strcmp(key, "slots") == 0) {
        char *end;
        long n = strtol(text, &end, 10);
        if (!*text || *end || n < 1 || n > (long)MQS_MAX_SLOTS)
            return FAIL(r, v, "slots '%s' is out of range 1..%u", text, MQS_MAX_SLOTS);
        o->slots = (uint32_t)n;
        return 0;
    }
    if (strcmp(key, "slot_size") == 0) {
        if (mqs_parse_size(text, &o->slot_size, why, sizeof why) != 0)
            return FAIL(r, v, "slot_size: %s", why);
        if (o->slot_size <= 0)
            return FAIL(r, v, "slot_size '%s' must be more than 0 (hint: the bytes one buffer needs, e.g. 8MiB)", text);
        if ((uint64_t)o->slot_size > MQS_GRAPH_MAX_SLOT_SIZE)
            return FAIL(r, v, "slot_size '%s' is more than the limit of 1 GiB (hint: a slot holds one buffer; an 8K "
                        "rgb24 frame needs 95 MiB)", text);
        return 0;
    }
    if (strcmp(key, "huge_pages") == 0) {
        if (parse_bool(text, &o->huge_pages) != 0)
            return FAIL(r, v, "huge_pages must be true or false");
        return 0;
    }
    return FAIL(r, k, "unknown key '%s' in an output (hint: slots, slot_size, huge_pages)", key);
}

static int on_output(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_block *b = ctx;
    uint32_t index;
    char ports[256];
    if (!port_named(b->plugin.desc, MQS_PORT_OUTPUT, key, &index)) {
        list_ports(b->plugin.desc, MQS_PORT_OUTPUT, ports, sizeof ports);
        return FAIL(r, k, "block '%s' (%s) has no output '%s' (hint: its outputs are: %s)", b->name, b->type, key,
                    ports);
    }
    b->outputs[index].loc = loc_of(k);
    return each_pair(r, v, "an output", &b->outputs[index], on_output_field);
}

/* ---- sync ---- */

static int parse_sync_policy(reader *r, yaml_node_t *v, mqs_sync_policy *out)
{
    static const char *const names[] = {"none", "exact", "approximate", "nearest", "latest", "interpolate"};
    int i = 0, rc = parse_choice(r, v, "sync policy", names, 6, "none, exact, approximate, nearest, latest or interpolate",
                                 &i);
    *out = (mqs_sync_policy)i;
    return rc;
}

static int parse_sync_duration(reader *r, yaml_node_t *v, const char *key, int64_t min, int64_t *out)
{
    const char *text;
    char why[256];
    int rc = need_scalar(r, v, key, &text);
    if (rc)
        return rc;
    if (mqs_parse_duration(text, out, why, sizeof why) != 0)
        return FAIL(r, v, "%s: %s", key, why);
    if (*out < min)
        return FAIL(r, v, "%s '%s' must be %s (hint: e.g. %s)", key, text, min ? "more than 0" : "0 or more",
                    min ? "100ms" : "10ms");
    return 0;
}

static int on_sync_field(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_sync *s = ctx;
    const char *text;
    if (strcmp(key, "policy") == 0) {
        s->policy_loc = loc_of(k);
        return parse_sync_policy(r, v, &s->policy);
    }
    if (strcmp(key, "tolerance") == 0) {
        s->tolerance_loc = loc_of(k);
        return parse_sync_duration(r, v, key, 0, &s->tolerance_ns);
    }
    if (strcmp(key, "timeout") == 0) {
        s->timeout_loc = loc_of(k);
        return parse_sync_duration(r, v, key, 1, &s->timeout_ns);
    }
    int rc = need_scalar(r, v, key, &text);
    if (rc)
        return rc;
    if (strcmp(key, "on_missing") == 0) {
        if (strcmp(text, "drop") != 0 && strcmp(text, "partial") != 0)
            return FAIL(r, v, "on_missing '%s' must be drop or partial", text);
        s->partial = text[0] == 'p';
        s->on_missing_loc = loc_of(k);
        return 0;
    }
    if (strcmp(key, "reference") == 0) {
        s->reference = strdup(text);
        s->reference_loc = loc_of(v);
        return 0;
    }
    return FAIL(r, k, "unknown key '%s' in sync (hint: policy, tolerance, timeout, on_missing, reference)", key);
}

static int parse_sync(reader *r, mqs_graph_block *b, yaml_node_t *k, yaml_node_t *v)
{
    b->sync.loc = loc_of(k);
    int rc = each_pair(r, v, "sync", &b->sync, on_sync_field);
    if (rc == 0 && b->sync.policy_loc.line == 0)
        return FAIL(r, v, "`sync` of block '%s' has no `policy` (hint: e.g. sync: { policy: approximate, tolerance: "
                    "10ms })", b->name);
    return rc;
}

/* ---- a block ---- */

/* ---- supervision: restart policy, its limits, watchdog ---- */

static int parse_restart(reader *r, yaml_node_t *v, mqs_restart_policy *out)
{
    static const char *const names[] = {"never", "on-failure", "always"};
    int i = 0, rc = parse_choice(r, v, "restart policy", names, 3, "never, on-failure or always", &i);
    *out = (mqs_restart_policy)i;
    return rc;
}

static int parse_max_restarts(reader *r, yaml_node_t *v, uint32_t *out)
{
    const char *text;
    int rc = need_scalar(r, v, "`max_restarts`", &text);
    char *end;
    long long n = rc ? 0 : strtoll(text, &end, 10);
    if (rc == 0 && (!*text || *end))
        return FAIL(r, v, "max_restarts '%s' is not a number (hint: restarts in a row before the block is given up "
                    "on, 0 for no limit, e.g. 5)", text);
    if (rc == 0 && (n < 0 || n > MQS_MAX_RESTARTS_LIMIT))
        return FAIL(r, v, "max_restarts '%s' is out of range 0..%d", text, MQS_MAX_RESTARTS_LIMIT);
    *out = (uint32_t)n;
    return rc;
}

/* A duration of at least min_ns; `off` gives 0 where off_allowed. */
static int parse_limit(reader *r, yaml_node_t *v, const char *key, int64_t min_ns, bool off_allowed, const char *hint,
                       int64_t *out)
{
    const char *text;
    char why[256];
    int rc = need_scalar(r, v, key, &text);
    if (rc)
        return rc;
    if (off_allowed && strcmp(text, "off") == 0)
        return *out = 0, 0;
    if (mqs_parse_duration(text, out, why, sizeof why) != 0)
        return FAIL(r, v, "%s: %s", key, why);
    if (*out < min_ns)
        return FAIL(r, v, "%s '%s' must be %s (hint: %s)", key, text, min_ns ? "more than 0" : "0 or more", hint);
    return 0;
}

/* 1 when `key` is not a supervision key, else 0 or the error. */
static int on_supervision_key(reader *r, mqs_graph_supervision *s, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    if (strcmp(key, "restart") == 0)
        return parse_restart(r, v, &s->restart);
    if (strcmp(key, "max_restarts") == 0)
        return parse_max_restarts(r, v, &s->max_restarts);
    if (strcmp(key, "restart_window") == 0)
        return parse_limit(r, v, key, 1, false, "how long a block must run without failing to clear its restart "
                           "count, e.g. 1s", &s->restart_window_ns);
    if (strcmp(key, "backoff") == 0)
        return parse_limit(r, v, key, 0, false, "the delay before the first restart in a row, e.g. 100ms",
                           &s->backoff_ns);
    if (strcmp(key, "max_backoff") == 0) {
        s->max_backoff_loc = loc_of(k);
        return parse_limit(r, v, key, 1, false, "the longest delay between two restarts, e.g. 5s", &s->max_backoff_ns);
    }
    if (strcmp(key, "watchdog") == 0)
        return parse_limit(r, v, key, 1, true, "how long one block call may go without progress, e.g. 2s, or off",
                           &s->watchdog_ns);
    if (strcmp(key, "init_timeout") == 0)
        return parse_limit(r, v, key, 1, true, "how long the block's init() may take, e.g. 10s, or off",
                           &s->init_timeout_ns);
    return 1;
}

static yaml_node_t *lookup(reader *r, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(node(r, p->key));
        if (k && strcmp(k, key) == 0)
            return node(r, p->value);
    }
    return NULL;
}

/* A type and a path become file names: both bounded before the registry
 * builds any from them. */
static int check_type_and_path(reader *r, yaml_node_t *t, yaml_node_t *p)
{
    if (t->data.scalar.length > MQS_GRAPH_MAX_TYPE)
        return FAIL(r, t, "block type '%.*s...' is %zu bytes long, more than the limit of %d (hint: `mqrun "
                    "--list-blocks` lists the types)", MQS_GRAPH_MAX_TYPE, scalar(t), t->data.scalar.length,
                    MQS_GRAPH_MAX_TYPE);
    if (scalar(p) && p->data.scalar.length >= PATH_MAX)
        return FAIL(r, p, "`path` is %zu bytes long, more than the limit of %d (hint: a path relative to the graph "
                    "file's directory is shorter)", p->data.scalar.length, PATH_MAX - 1);
    return 0;
}

/* The model holds MQS_GRAPH_MAX_PORTS inputs and as many outputs per block:
 * a type with more is refused before its inputs are read into them. */
static int check_port_counts(reader *r, const mqs_graph_block *b, yaml_node_t *t)
{
    const mqs_block_descriptor *d = b->plugin.desc;
    uint32_t ins = mqs_port_count(d, MQS_PORT_INPUT), outs = mqs_port_count(d, MQS_PORT_OUTPUT);
    if (ins > MQS_GRAPH_MAX_PORTS || outs > MQS_GRAPH_MAX_PORTS)
        return FAIL(r, t, "block type '%s' has %u inputs and %u outputs, more than the limit of %d of each (hint: the "
                    "block must declare fewer ports)", b->type, ins, outs, MQS_GRAPH_MAX_PORTS);
    return 0;
}

/* A block declared by a module (type: python): its ports and params come
 * from params.module, read before the rest of the block. */
static int load_module(reader *r, mqs_graph_block *b, yaml_node_t *t, yaml_node_t *map)
{
    yaml_node_t *params = lookup(r, map, "params");
    yaml_node_t *m = params && params->type == YAML_MAPPING_NODE ? lookup(r, params, "module") : NULL;
    if (!m || !scalar(m))
        return FAIL(r, params ? params : t, "block '%s' of type %s needs its module (hint: params: { module: "
                    "path/to/block.py }, relative to the graph file's directory)", b->name, b->type);
    char path[PATH_MAX], why[8192];
    int rc = resolve_module(r, b, m, path);
    if (rc == 0 && mqs_registry_specialize(&b->plugin, path, why, sizeof why) != 0)
        rc = FAIL(r, m, "block '%s': %s", b->name, why);
    return rc;
}

/* type and path first: the plugin's specs are needed to read the rest. */
static int load_type(reader *r, mqs_graph_block *b, yaml_node_t *map)
{
    yaml_node_t *t = lookup(r, map, "type"), *p = lookup(r, map, "path");
    const char *text;
    if (!t)
        return FAIL(r, map, "block '%s' has no `type` (hint: e.g. type: pattern_source)", b->name);
    int rc = need_scalar(r, t, "`type`", &text);
    if (rc == 0)
        rc = check_type_and_path(r, t, p);
    if (rc == 0 && p)
        rc = need_scalar(r, p, "`path`", (const char **)&b->path);
    if (rc)
        return rc;
    b->path = b->path ? strdup(b->path) : NULL;
    b->type = strdup(text);
    b->type_loc = loc_of(t);
    char why[1024];
    if (mqs_registry_find(text, b->path, r->g->dir, &b->plugin, why, sizeof why) != 0)
        return FAIL(r, p ? p : t, "%s", why);
    rc = mqs_plugin_wants_module(&b->plugin) ? load_module(r, b, t, map) : 0;
    return rc ? rc : check_port_counts(r, b, t);
}

static int on_block_field(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    mqs_graph_block *b = ctx;
    if (strcmp(key, "type") == 0 || strcmp(key, "path") == 0)
        return 0; /* read first, by load_type */
    if (strcmp(key, "params") == 0) {
        b->params_loc = loc_of(v);
        return v->type == YAML_SCALAR_NODE && !*scalar(v) ? 0 : each_pair(r, v, "params", b, on_param);
    }
    if (strcmp(key, "inputs") == 0)
        return each_pair(r, v, "inputs", b, on_input);
    if (strcmp(key, "outputs") == 0)
        return each_pair(r, v, "outputs", b, on_output);
    if (strcmp(key, "sync") == 0)
        return parse_sync(r, b, k, v);
    int rc = on_supervision_key(r, &b->supervision, key, k, v);
    if (rc <= 0)
        return rc;
    return FAIL(r, k,
                "unknown key '%s' in block '%s' (hint: type, params, inputs, outputs, sync, path, restart, "
                "max_restarts, restart_window, backoff, max_backoff, watchdog, init_timeout)",
                key, b->name);
}

static int on_block(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    (void)ctx;
    mqs_graph *g = r->g;
    if (k->data.scalar.length > MQS_GRAPH_MAX_BLOCK_NAME)
        return FAIL(r, k, "block name '%.*s...' is %zu bytes long, more than the limit of %d (hint: a shorter name)",
                    MQS_GRAPH_MAX_BLOCK_NAME, key, k->data.scalar.length, MQS_GRAPH_MAX_BLOCK_NAME);
    if (!valid_name(key, MQS_GRAPH_MAX_BLOCK_NAME))
        return FAIL(r, k, "block name '%s' must be 1..%d characters of A-Z a-z 0-9 _ -", key, MQS_GRAPH_MAX_BLOCK_NAME);
    if (g->block_count == MQS_GRAPH_MAX_BLOCKS)
        return FAIL(r, k, "block '%s' is one more than the limit of %d blocks in a graph (hint: merge blocks that do "
                    "little, or split the work over several graphs)", key, MQS_GRAPH_MAX_BLOCKS);
    if (v->type != YAML_MAPPING_NODE)
        return FAIL(r, v, "block '%s' must be a mapping with at least `type`", key);
    mqs_graph_block *b = &g->blocks[g->block_count++];
    b->name = strdup(key);
    b->loc = loc_of(k);
    b->params = json_object();
    b->params_loc = b->loc;
    b->supervision = mqs_graph_supervision_default();
    b->sync = (mqs_graph_sync){.policy = MQS_SYNC_NONE, .tolerance_ns = MQS_TOLERANCE_UNLIMITED,
                               .timeout_ns = MQS_DEFAULT_SYNC_TIMEOUT_NS, .reference_input = UINT32_MAX};
    int rc = load_type(r, b, v);
    return rc ? rc : each_pair(r, v, "a block", b, on_block_field);
}

/* ---- top level ---- */

static int on_top(reader *r, void *ctx, const char *key, yaml_node_t *k, yaml_node_t *v)
{
    (void)ctx;
    mqs_graph *g = r->g;
    const char *text;
    static const char *const known[] = {"name", "wait", "clock", "blocks"};
    bool is_known = false;
    for (size_t i = 0; i < 4; i++)
        is_known = is_known || strcmp(key, known[i]) == 0;
    if (!is_known)
        return FAIL(r, k, "unknown top-level key '%s' (hint: name, wait, clock, blocks)", key);
    if (strcmp(key, "blocks") == 0) {
        if (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.start == v->data.mapping.pairs.top)
            return FAIL(r, v, "`blocks` is empty (hint: a graph needs at least one block)");
        return each_pair(r, v, "`blocks`", NULL, on_block);
    }
    int rc = need_scalar(r, v, key, &text);
    if (rc)
        return rc;
    if (strcmp(key, "name") == 0) {
        if (!valid_name(text, MQS_NAME_MAX - 1))
            return FAIL(r, v, "graph name '%s' must be 1..%d characters of A-Z a-z 0-9 _ -", text, MQS_NAME_MAX - 1);
        free(g->name);
        g->name = strdup(text);
        return 0;
    }
    if (strcmp(key, "wait") == 0) {
        static const char *const modes[] = {"hybrid", "spin", "sleep"};
        int i = 0;
        rc = parse_choice(r, v, "wait mode", modes, 3, "spin, hybrid or sleep", &i);
        g->wait = (mqs_wait_mode)i;
        return rc;
    }
    return strcmp(text, "monotonic") == 0 ? 0 : FAIL(r, v, "unknown clock '%s' (hint: monotonic)", text);
}

static int syntax_error(reader *r, const yaml_parser_t *parser)
{
    mqs_loc at = {(int)parser->problem_mark.line + 1, (int)parser->problem_mark.column + 1};
    return mqs_graph_error(r->g, at, r->err, r->errlen, "YAML syntax: %s%s%s", parser->problem,
                           parser->context ? " " : "", parser->context ? parser->context : "");
}

static int read_error(reader *r, int errnum)
{
    snprintf(r->err, r->errlen, "%s: error: cannot read the graph file: %s", r->g->file, strerror(errnum));
    return -ENOENT;
}

/* size < 0: not known (a pipe). */
static int too_big(reader *r, long long size)
{
    char bytes[32] = "";
    if (size >= 0)
        snprintf(bytes, sizeof bytes, "%lld bytes, ", size);
    return mqs_graph_error(r->g, (mqs_loc){0, 0}, r->err, r->errlen,
                           "the graph file is %smore than the limit of 1 MiB (hint: a graph file holds blocks, params "
                           "and connections; keep data in files that params name)",
                           bytes);
}

/* The whole file into *text (caller frees), refused beyond
 * MQS_GRAPH_MAX_FILE_SIZE: a regular file by its size before anything is
 * read, anything else (a pipe) after reading one byte past the limit. */
static int read_text(reader *r, unsigned char **text, size_t *len)
{
    FILE *f = fopen(r->g->file, "r");
    if (!f)
        return read_error(r, errno);
    struct stat st;
    bool sized = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (sized && st.st_size > MQS_GRAPH_MAX_FILE_SIZE) {
        fclose(f);
        return too_big(r, (long long)st.st_size);
    }
    size_t cap = sized ? (size_t)st.st_size : MQS_GRAPH_MAX_FILE_SIZE;
    *text = malloc(cap + 1);
    *len = *text ? fread(*text, 1, cap + 1, f) : 0;
    int rc = !*text ? -ENOMEM : ferror(f) ? read_error(r, errno) : 0;
    fclose(f);
    if (rc == 0 && *len > MQS_GRAPH_MAX_FILE_SIZE)
        rc = too_big(r, -1);
    if (rc) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

/* Nesting depth, measured on the parser's events before any node is built:
 * a hostile file of a million `[` stops at the seventeenth, and nothing
 * recurses. A syntax error is left to the loader, which reports it alike. */
static int check_depth(reader *r, const unsigned char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, rc = 0;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, text, len);
    for (bool end = false; !end && rc == 0 && yaml_parser_parse(&parser, &ev);) {
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        if (depth > MQS_GRAPH_MAX_DEPTH)
            rc = mqs_graph_error(r->g, (mqs_loc){(int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1}, r->err,
                                 r->errlen,
                                 "nesting deeper than the limit of %d levels (hint: a graph needs 5: the top level, "
                                 "blocks, a block, its inputs, an input)",
                                 MQS_GRAPH_MAX_DEPTH);
        end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* The first document into r->doc; a second one is an error, not ignored. */
static int load_document(reader *r, const unsigned char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t next;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, text, len);
    int rc = yaml_parser_load(&parser, &r->doc) ? 0 : syntax_error(r, &parser);
    if (rc == 0 && yaml_document_get_root_node(&r->doc)) {
        if (!yaml_parser_load(&parser, &next))
            rc = syntax_error(r, &parser);
        else if (yaml_document_get_root_node(&next))
            rc = mqs_graph_error(r->g, (mqs_loc){(int)next.start_mark.line + 1, (int)next.start_mark.column + 1},
                                 r->err, r->errlen,
                                 "a second YAML document starts here (hint: a graph file holds one; remove the `---` and what "
                                 "follows)");
        yaml_document_delete(&next); /* libyaml leaves it empty when loading failed */
        if (rc)
            yaml_document_delete(&r->doc);
    }
    yaml_parser_delete(&parser);
    return rc;
}

int mqs_graph_parse_yaml(mqs_graph *g, char *err, size_t errlen)
{
    reader r = {.g = g, .err = err, .errlen = errlen};
    unsigned char *text = NULL;
    size_t len = 0;
    int rc = read_text(&r, &text, &len);
    if (rc)
        return rc;
    rc = check_depth(&r, text, len);
    if (rc == 0)
        rc = load_document(&r, text, len);
    free(text);
    if (rc)
        return rc;
    yaml_node_t *root = yaml_document_get_root_node(&r.doc);
    if (!root)
        rc = mqs_graph_error(g, (mqs_loc){1, 1}, err, errlen, "the graph file is empty");
    else if (root->type != YAML_MAPPING_NODE)
        rc = FAIL(&r, root, "the top level must be a mapping with `name` and `blocks`");
    else if ((rc = each_pair(&r, root, "the top level", NULL, on_top)) == 0 && !lookup(&r, root, "blocks"))
        rc = FAIL(&r, root, "no `blocks` (hint: a graph lists its blocks under `blocks:`)");
    yaml_document_delete(&r.doc);
    return rc;
}
