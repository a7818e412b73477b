/* Finding and loading block plugins. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int mqs_registry_open_file(const char *path, const char *type, mqs_plugin *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "block plugin %s: %s (hint: `path:` is relative to the graph file's directory)", path,
                 strerror(errno));
        return -ENOENT;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load block plugin %s: %s", path, dlerror());
        return -EINVAL;
    }
    mqs_block_entry_fn entry = (mqs_block_entry_fn)dlsym(h, MQS_BLOCK_ENTRY);
    const mqs_block_descriptor *d = entry ? entry() : NULL;
    const char *problem = NULL;
    if (!d)
        problem = "exports no " MQS_BLOCK_ENTRY " (build it with MQS_BLOCK_EXPORT from <mqs/block.h>)";
    else if (d->abi_major != MQS_BLOCK_ABI_MAJOR)
        problem = "was built for another block ABI major version (rebuild it against this SDK)";
    else if (d->size < offsetof(mqs_block_descriptor, negotiate) || !d->name)
        problem = "has a truncated descriptor (rebuild it against this SDK)";
    else if (type && strcmp(d->name, type) != 0)
        problem = "names itself differently from its file (the file must be mqs_block_<name>.so)";
    if (problem) {
        snprintf(err, errlen, "block plugin %s %s", path, problem);
        dlclose(h);
        return -EPROTO;
    }
    memcpy(&out->copy, d, d->size < sizeof out->copy ? d->size : sizeof out->copy);
    out->desc = &out->copy;
    out->handle = h;
    if (!realpath(path, out->path))
        snprintf(out->path, sizeof out->path, "%s", path);
    return 0;
}

void mqs_registry_close(mqs_plugin *p)
{
    if (p && p->handle)
        dlclose(p->handle);
    if (p)
        memset(p, 0, sizeof *p);
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
