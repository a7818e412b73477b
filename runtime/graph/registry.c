/* Finding and loading block plugins. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry.h"

#define PREFIX "mqs_block_"
#define SUFFIX ".so"
#define MAX_DIRS 32

size_t mqs_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The search path: MQS_BLOCK_PATH, then built-in blocks next to the running
 * program (build tree: <bin>/../blocks; installed: <bin>/../<libdir>/multiqueue-shm/blocks). */
static size_t search_dirs(char dirs[MAX_DIRS][PATH_MAX])
{
    size_t n = 0;
    const char *env = getenv("MQS_BLOCK_PATH");
    if (env) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", env);
        for (char *save, *tok = strtok_r(copy, ":", &save); tok && n < MAX_DIRS - 2; tok = strtok_r(NULL, ":", &save))
            snprintf(dirs[n++], PATH_MAX, "%s", tok);
    }
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        char *bin = dirname(self);
        snprintf(dirs[n++], PATH_MAX, "%s/../blocks", bin);
        snprintf(dirs[n++], PATH_MAX, "%s/../%s", bin, MQS_INSTALL_BLOCK_DIR);
    }
    return n;
}

/* ---- 1.0 blocks ---- */

/* The 1.0 layouts of the specs, before flags and spare room: a 1.0 block's
 * arrays have this stride. */
typedef struct port_spec_v1_0 {
    const char *name;
    mqs_port_direction direction;
    uint32_t header_type;
    uint32_t format;
    const char *help;
} port_spec_v1_0;

typedef struct param_spec_v1_0 {
    const char *key;
    mqs_param_type type;
    const char *default_value;
    double min, max;
    const char *choices;
    const char *help;
} param_spec_v1_0;

_Static_assert(sizeof(void *) != 8 || sizeof(port_spec_v1_0) == 32, "1.0 port spec layout (LP64)");
_Static_assert(sizeof(void *) != 8 || sizeof(param_spec_v1_0) == 56, "1.0 param spec layout (LP64)");

static mqs_port_spec port_from_v1_0(const port_spec_v1_0 *s)
{
    return (mqs_port_spec){.name = s->name, .direction = s->direction, .header_type = s->header_type,
                           .format = s->format, .help = s->help};
}

/* 1.0 said "no range" with min > max; 1.1 says it with 0 and 0. */
static mqs_param_spec param_from_v1_0(const param_spec_v1_0 *s)
{
    bool ranged = s->min <= s->max;
    return (mqs_param_spec){.key = s->key, .type = s->type, .default_value = s->default_value,
                            .min = ranged ? s->min : 0, .max = ranged ? s->max : 0, .choices = s->choices,
                            .help = s->help};
}

/* Point p->copy at host-owned 1.1 copies of a 1.0 block's specs. */
static int convert_v1_0(mqs_plugin *p)
{
    mqs_block_descriptor *d = &p->copy;
    const port_spec_v1_0 *ports = (const port_spec_v1_0 *)(const void *)d->ports;
    const param_spec_v1_0 *params = (const param_spec_v1_0 *)(const void *)d->params;
    d->flags = 0; /* 1.0's reserved word, not flags */
    if (d->port_count && !(p->owned_ports = calloc(d->port_count, sizeof *p->owned_ports)))
        return -ENOMEM;
    if (d->param_count && !(p->owned_params = calloc(d->param_count, sizeof *p->owned_params)))
        return -ENOMEM;
    for (uint32_t i = 0; i < d->port_count; i++)
        p->owned_ports[i] = port_from_v1_0(&ports[i]);
    for (uint32_t i = 0; i < d->param_count; i++)
        p->owned_params[i] = param_from_v1_0(&params[i]);
    d->ports = p->owned_ports;
    d->params = p->owned_params;
    return 0;
}

/* ---- the SDK's rules for a descriptor ---- */

/* NULL, or what is wrong with the header of the descriptor `d` (read no
 * further than its size). */
static const char *header_problem(const mqs_block_descriptor *d, const char *type)
{
    if (!d)
        return "exports no " MQS_BLOCK_ENTRY " (build it with MQS_BLOCK_EXPORT from <mqs/block.h>)";
    if (d->abi_major != MQS_BLOCK_ABI_MAJOR)
        return "was built for another block ABI major version (rebuild it against this SDK)";
    if (d->size < offsetof(mqs_block_descriptor, negotiate) || !d->name)
        return "has a truncated descriptor (rebuild it against this SDK)";
    if (type && strcmp(d->name, type) != 0)
        return "names itself differently from its file (the file must be mqs_block_<name>.so)";
    if ((d->port_count && !d->ports) || (d->param_count && !d->params))
        return "declares ports or params without their array (hint: set .ports and .params)";
    return NULL;
}

/* Record why the descriptor is refused in `why`; returns -EPROTO. */
__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -EPROTO;
}

/* 0, or -EPROTO with what is wrong with the port and param specs in `why`. */
static int check_specs(const mqs_block_descriptor *d, char *why, size_t len)
{
    for (uint32_t i = 0; i < d->port_count; i++) {
        const mqs_port_spec *s = &d->ports[i];
        if (!s->name)
            return refuse(why, len, "has port %u without a name", i);
        if (s->direction != MQS_PORT_INPUT && s->direction != MQS_PORT_OUTPUT)
            return refuse(why, len, "has port '%s' with direction %d (hint: MQS_PORT_INPUT or MQS_PORT_OUTPUT)",
                          s->name, (int)s->direction);
    }
    for (uint32_t i = 0; i < d->param_count; i++) {
        const mqs_param_spec *s = &d->params[i];
        if (!s->key)
            return refuse(why, len, "has param %u without a key", i);
        if (s->min > s->max)
            return refuse(why, len,
                          "has param '%s' with min %g > max %g (hint: leave both out, or 0 and 0, for no range)",
                          s->key, s->min, s->max);
    }
    return 0;
}

uint32_t mqs_port_count(const mqs_block_descriptor *d, mqs_port_direction dir)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->port_count; i++)
        n += d->ports[i].direction == dir;
    return n;
}

/* 0, or -EPROTO with why the callbacks do not fit the block's kind and ports. */
static int check_callbacks(const mqs_block_descriptor *d, char *why, size_t len)
{
    uint32_t ins = mqs_port_count(d, MQS_PORT_INPUT), outs = mqs_port_count(d, MQS_PORT_OUTPUT);
    if (d->kind != MQS_BLOCK_SOURCE && d->kind != MQS_BLOCK_FILTER && d->kind != MQS_BLOCK_SINK)
        return refuse(why, len, "has kind %d (hint: MQS_BLOCK_SOURCE, MQS_BLOCK_FILTER or MQS_BLOCK_SINK)",
                      (int)d->kind);
    if (d->process && d->transform)
        return refuse(why, len, "has both process() and transform() (hint: implement one of them)");
    if (d->transform && (ins != 1 || outs != 1))
        return refuse(why, len,
                      "has transform() but %u input%s and %u output%s (hint: transform() is for one input and one "
                      "output; implement process() instead)",
                      ins, ins == 1 ? "" : "s", outs, outs == 1 ? "" : "s");
    if (d->kind == MQS_BLOCK_SOURCE && !d->produce)
        return refuse(why, len, "is a source without produce() (hint: set .produce)");
    if (d->kind == MQS_BLOCK_FILTER && !d->process && !d->transform)
        return refuse(why, len, "is a filter without process() or transform() (hint: set one of them)");
    if (d->kind == MQS_BLOCK_SINK && !d->process)
        return refuse(why, len, "is a sink without process() (hint: set .process)");
    for (uint32_t i = 0; i < d->param_count; i++)
        if ((d->params[i].flags & MQS_PARAM_LIVE) && !d->set_param)
            return refuse(why, len, "declares param '%s' live without set_param() (hint: set .set_param, or drop "
                          "MQS_PARAM_LIVE)", d->params[i].key);
    return 0;
}

/* ---- loading ---- */

/* Copy what the block's descriptor holds (no more than its size) into
 * out->copy, convert a 1.0 block's specs, check the rules. */
static int adopt_descriptor(const mqs_block_descriptor *d, mqs_plugin *out, char *why, size_t len)
{
    memcpy(&out->copy, d, d->size < sizeof out->copy ? d->size : sizeof out->copy);
    out->desc = &out->copy;
    if (out->copy.abi_minor == 0 && convert_v1_0(out) != 0) {
        snprintf(why, len, "cannot be loaded: out of memory");
        return -ENOMEM;
    }
    return mqs_registry_check(&out->copy, why, len);
}

int mqs_registry_check(const mqs_block_descriptor *d, char *why, size_t len)
{
    int rc = check_specs(d, why, len);
    return rc ? rc : check_callbacks(d, why, len);
}

static void release(mqs_plugin *p)
{
    free(p->owned_ports);
    free(p->owned_params);
    json_decref(p->module_declaration);
    if (p->handle)
        dlclose(p->handle);
    memset(p, 0, sizeof *p);
}

int mqs_registry_open_file(const char *path, const char *type, mqs_plugin *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "block plugin %s: %s (hint: `path:` is relative to the graph file's directory)", path,
                 strerror(errno));
        return -ENOENT;
    }
    /* dlopen of a FIFO or a device would wait for a writer: never start one. */
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "block plugin %s is not a regular file (hint: `path:` names a shared object, e.g. "
                 "build/blocks/invert/invert.so)", path);
        return -EINVAL;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load block plugin %s: %s", path, dlerror());
        return -EINVAL;
    }
    out->handle = h;
    mqs_block_entry_fn entry = (mqs_block_entry_fn)dlsym(h, MQS_BLOCK_ENTRY);
    const mqs_block_descriptor *d = entry ? entry() : NULL;
    const char *problem = header_problem(d, type);
    char why[512];
    int rc = problem ? -EPROTO : adopt_descriptor(d, out, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "block plugin %s %s", path, problem ? problem : why);
        release(out);
        return rc;
    }
    if (!realpath(path, out->path))
        snprintf(out->path, sizeof out->path, "%s", path);
    return 0;
}

void mqs_registry_close(mqs_plugin *p)
{
    if (p)
        release(p);
}

typedef struct nearest {
    const char *want;
    char best[64];
    size_t distance;
} nearest;

static void consider(const char *type, const char *path, void *arg)
{
    (void)path;
    nearest *n = arg;
    size_t dist = mqs_edit_distance(n->want, type);
    if (dist < n->distance) {
        n->distance = dist;
        snprintf(n->best, sizeof n->best, "%s", type);
    }
}

static int not_found(const char *type, char *err, size_t errlen)
{
    nearest n = {.want = type, .distance = SIZE_MAX};
    mqs_registry_each(consider, &n);
    if (n.distance <= 3 || (n.distance < SIZE_MAX && n.distance * 2 <= strlen(type)))
        snprintf(err, errlen, "unknown block type '%s' (hint: did you mean '%s'? `mqrun --list-blocks` lists them)",
                 type, n.best);
    else
        snprintf(err, errlen,
                 "unknown block type '%s' (hint: `mqrun --list-blocks` lists the types; out-of-tree blocks need "
                 "`path:` or MQS_BLOCK_PATH)",
                 type);
    return -ENOENT;
}

int mqs_registry_find(const char *type, const char *explicit_path, const char *base_dir, mqs_plugin *out, char *err,
                      size_t errlen)
{
    char path[PATH_MAX + 128]; /* a search directory plus mqs_block_<type>.so */
    if (explicit_path) {
        if (explicit_path[0] == '/' || !base_dir || strcmp(base_dir, ".") == 0)
            snprintf(path, sizeof path, "%s", explicit_path);
        else
            snprintf(path, sizeof path, "%s/%s", base_dir, explicit_path);
        return mqs_registry_open_file(path, type, out, err, errlen);
    }
    char dirs[MAX_DIRS][PATH_MAX];
    size_t n = search_dirs(dirs);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/" PREFIX "%s" SUFFIX, dirs[i], type);
        if (access(path, R_OK) == 0)
            return mqs_registry_open_file(path, type, out, err, errlen);
    }
    return not_found(type, err, errlen);
}

static bool seen_before(char seen[][64], size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(seen[i], name) == 0)
            return true;
    return false;
}

void mqs_registry_each(void (*fn)(const char *type, const char *path, void *arg), void *arg)
{
    char dirs[MAX_DIRS][PATH_MAX];
    static char seen[256][64];
    size_t n = search_dirs(dirs), seen_count = 0;
    for (size_t i = 0; i < n; i++) {
        DIR *dir = opendir(dirs[i]);
        struct dirent *e;
        while (dir && (e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name), pre = strlen(PREFIX), suf = strlen(SUFFIX);
            if (len <= pre + suf || strncmp(e->d_name, PREFIX, pre) != 0 || strcmp(e->d_name + len - suf, SUFFIX) != 0)
                continue;
            char type[64];
            snprintf(type, sizeof type, "%.*s", (int)(len - pre - suf), e->d_name + pre);
            if (seen_before(seen, seen_count, type) || seen_count == 256)
                continue;
            snprintf(seen[seen_count++], sizeof seen[0], "%s", type);
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", dirs[i], e->d_name);
            fn(type, path, arg);
        }
        if (dir)
            closedir(dir);
    }
}
