/* The block catalogue: every block type the registry finds, described from
 * its plugin's descriptor alone. One implementation for `mqrun
 * --list-blocks` and `mqctl blocks`. */
#include <stdio.h>

#include "catalogue.h"
#include "params.h"
#include "registry.h"

typedef struct list_args {
    FILE *out;
    bool params;
} list_args;

static void list_one(const char *type, const char *path, void *arg)
{
    const list_args *a = arg;
    char err[1024];
    mqs_plugin p;
    if (mqs_registry_open_file(path, type, &p, err, sizeof err) != 0) {
        fprintf(a->out, "%-16s (cannot load: %s)\n", type, err);
        return;
    }
    fprintf(a->out, "%-16s %s\n", type, p.desc->summary ? p.desc->summary : "");
    for (uint32_t i = 0; a->params && i < p.desc->param_count; i++) {
        const mqs_param_spec *s = &p.desc->params[i];
        fprintf(a->out, "    %-14s default %-10s %s\n", s->key, s->default_value ? s->default_value : "(required)",
                s->help ? s->help : "");
    }
    mqs_registry_close(&p);
}

void mqs_catalogue_list(FILE *out, bool params)
{
    list_args a = {.out = out, .params = params};
    mqs_registry_each(list_one, &a);
}

static const char *kind_name(mqs_block_kind k)
{
    return k == MQS_BLOCK_SOURCE ? "source" : k == MQS_BLOCK_FILTER ? "filter" : k == MQS_BLOCK_SINK ? "sink" : "?";
}

static const char *type_name(mqs_param_type t)
{
    static const char *const names[] = {"?", "int", "double", "bool", "string", "duration", "size", "enum"};
    return t >= MQS_PARAM_INT && t <= MQS_PARAM_ENUM ? names[t] : "?";
}

static void show_ports(FILE *out, const mqs_block_descriptor *d, mqs_port_direction dir, const char *title)
{
    bool any = false;
    for (uint32_t i = 0; i < d->port_count; i++) {
        const mqs_port_spec *p = &d->ports[i];
        if (p->direction != dir)
            continue;
        if (!any)
            fprintf(out, "\n%s:\n", title);
        any = true;
        fprintf(out, "  %-14s %s%s\n", p->name, p->flags & MQS_PORT_OPTIONAL ? "(optional) " : "",
                p->help ? p->help : "");
    }
}

static void show_param(FILE *out, const mqs_param_spec *s)
{
    fprintf(out, "  %-14s %-9s default %s", s->key, type_name(s->type), s->default_value ? s->default_value : "(required)");
    if (mqs_param_has_range(s))
        fprintf(out, ", %g to %g", s->min, s->max);
    if (s->type == MQS_PARAM_ENUM && s->choices)
        fprintf(out, ", one of %s", s->choices);
    if (s->flags & MQS_PARAM_LIVE)
        fprintf(out, ", live");
    fprintf(out, "\n  %-14s %s\n", "", s->help ? s->help : "");
}

int mqs_catalogue_show(FILE *out, const char *type, char *err, size_t errlen)
{
    mqs_plugin p;
    int rc = mqs_registry_find(type, NULL, NULL, &p, err, errlen);
    if (rc)
        return rc;
    const mqs_block_descriptor *d = p.desc;
    fprintf(out, "%s: %s\n  kind: %s, SDK %u.%u, plugin %s\n", type, d->summary ? d->summary : "", kind_name(d->kind),
            d->abi_major, d->abi_minor, p.path);
    show_ports(out, d, MQS_PORT_INPUT, "inputs");
    show_ports(out, d, MQS_PORT_OUTPUT, "outputs");
    if (d->param_count)
        fprintf(out, "\nparams (those marked live can change while the graph runs: mqctl set):\n");
    for (uint32_t i = 0; i < d->param_count; i++)
        show_param(out, &d->params[i]);
    mqs_registry_close(&p);
    return 0;
}
