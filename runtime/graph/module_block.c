/* Specializing a module-declared block's descriptor (module_block.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module_block.h"

static mqs_block_describe_fn describe_fn(const mqs_plugin *p)
{
    return p->handle ? (mqs_block_describe_fn)dlsym(p->handle, MQS_BLOCK_DESCRIBE_ENTRY) : NULL;
}

bool mqs_plugin_wants_module(const mqs_plugin *p)
{
    return describe_fn(p) != NULL;
}

static const char *text_of(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static mqs_param_type param_type(const char *name)
{
    static const char *const names[] = {"int", "double", "bool", "string", "duration", "size", "enum"};
    for (int i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0)
            return (mqs_param_type)(i + 1);
    return 0;
}

static void fill_ports(mqs_port_spec *ports, json_t *list, mqs_port_direction dir)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        mqs_port_spec *s = &ports[i];
        s->name = text_of(e, "name");
        s->direction = dir;
        s->help = text_of(e, "help");
        if (dir == MQS_PORT_INPUT) {
            s->header_type = (uint32_t)json_integer_value(json_object_get(e, "header"));
            s->format = (uint32_t)json_integer_value(json_object_get(e, "format"));
            s->flags = json_is_true(json_object_get(e, "optional")) ? MQS_PORT_OPTIONAL : 0;
        }
    }
}

static int fill_params(mqs_param_spec *params, json_t *list, char *why, size_t len)
{
    params[0] = (mqs_param_spec){.key = "module", .type = MQS_PARAM_STRING,
                                 .help = "the block's Python file, relative to the graph file's directory"};
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        mqs_param_spec *s = &params[i + 1];
        s->key = text_of(e, "key");
        s->type = param_type(text_of(e, "type"));
        s->default_value = json_string_value(json_object_get(e, "default"));
        s->min = json_number_value(json_object_get(e, "min"));
        s->max = json_number_value(json_object_get(e, "max"));
        s->choices = json_string_value(json_object_get(e, "choices"));
        s->help = text_of(e, "help");
        if (!*s->key || !s->type) {
            snprintf(why, len, "declares param %zu without a key or with an unknown type", i);
            return -EPROTO;
        }
    }
    return 0;
}

static mqs_block_kind kind_of(const char *name)
{
    return strcmp(name, "source") == 0 ? MQS_BLOCK_SOURCE : strcmp(name, "sink") == 0 ? MQS_BLOCK_SINK
                                                                                        : MQS_BLOCK_FILTER;
}

/* The declaration into host-owned specs on p->copy. */
static int adopt(mqs_plugin *p, json_t *decl, char *why, size_t len)
{
    json_t *ins = json_object_get(decl, "inputs"), *outs = json_object_get(decl, "outputs");
    json_t *params = json_object_get(decl, "params");
    if (!json_is_array(ins) || !json_is_array(outs) || !json_is_array(params)) {
        snprintf(why, len, "gave a declaration without inputs, outputs and params");
        return -EPROTO;
    }
    size_t n_in = json_array_size(ins), n_out = json_array_size(outs), n_params = json_array_size(params) + 1;
    free(p->owned_ports);
    free(p->owned_params);
    p->owned_ports = calloc(n_in + n_out + 1, sizeof *p->owned_ports);
    p->owned_params = calloc(n_params, sizeof *p->owned_params);
    if (!p->owned_ports || !p->owned_params) {
        snprintf(why, len, "cannot be loaded: out of memory");
        return -ENOMEM;
    }
    fill_ports(p->owned_ports, ins, MQS_PORT_INPUT);
    fill_ports(p->owned_ports + n_in, outs, MQS_PORT_OUTPUT);
    int rc = fill_params(p->owned_params, params, why, len);
    if (rc)
        return rc;
    mqs_block_descriptor *d = &p->copy;
    d->summary = text_of(decl, "summary");
    d->kind = kind_of(text_of(decl, "kind"));
    d->flags = json_is_true(json_object_get(decl, "aligned")) ? MQS_BLOCK_ALIGNED : 0;
    d->ports = p->owned_ports;
    d->port_count = (uint32_t)(n_in + n_out);
    d->params = p->owned_params;
    d->param_count = (uint32_t)n_params;
    json_decref(p->module_declaration);
    p->module_declaration = json_incref(decl);
    return mqs_registry_check(d, why, len);
}

int mqs_registry_specialize(mqs_plugin *p, const char *path, char *err, size_t errlen)
{
    mqs_block_describe_fn describe = describe_fn(p);
    if (!describe) {
        snprintf(err, errlen, "block plugin %s takes no module", p->path);
        return -EINVAL;
    }
    const char *text = describe(path, err, errlen);
    if (!text)
        return -EINVAL;
    json_error_t jerr;
    json_t *decl = json_loads(text, 0, &jerr);
    char why[512];
    int rc = decl ? adopt(p, decl, why, sizeof why) : -EPROTO;
    if (!decl)
        snprintf(why, sizeof why, "gave a declaration that is not JSON (%s)", jerr.text);
    json_decref(decl);
    if (rc)
        snprintf(err, errlen, "Python block %s %s", path, why);
    return rc;
}
