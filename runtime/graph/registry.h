/* The block registry: finds block plugins (mqs_block_<type>.so), loads them
 * and checks their descriptors. */
#ifndef MQS_REGISTRY_H
#define MQS_REGISTRY_H

#include <limits.h>
#include <stddef.h>

#include <jansson.h>

#include "mqs/block.h"

typedef struct mqs_plugin {
    const mqs_block_descriptor *desc; /* points at `copy` */
    mqs_block_descriptor copy;        /* zero-extended: an older block's missing fields read as 0 */
    /* Specs the host made (copy.ports and copy.params point at them): a 1.0
     * block's converted to the 1.1 layout, or what a module declared
     * (module_block.h); NULL for a 1.1+ block's own. Host-owned. */
    mqs_port_spec *owned_ports;
    mqs_param_spec *owned_params;
    json_t *module_declaration; /* holds the strings of a module's specs */
    void *handle;
    char path[PATH_MAX];
} mqs_plugin;

/* Load the plugin at `path`; if `type` is given, its descriptor must be named
 * so. Reads no more of the descriptor than its `size`; a 1.0 block's port and
 * param specs are converted, so callers see 1.1 specs only. Refuses a
 * descriptor that breaks the SDK's rules (ranges, callbacks for its kind and
 * ports). 0, or -ENOENT/-EINVAL/-EPROTO/-ENOMEM with a message naming the
 * plugin file in err. */
int mqs_registry_open_file(const char *path, const char *type, mqs_plugin *out, char *err, size_t errlen);

/* Find and load block type `type`: from `explicit_path` (relative to
 * `base_dir`) if given, else in MQS_BLOCK_PATH, else among the built-in
 * blocks. -ENOENT with a "did you mean" message if there is no such type. */
int mqs_registry_find(const char *type, const char *explicit_path, const char *base_dir, mqs_plugin *out, char *err,
                      size_t errlen);

/* How many of the descriptor's ports go in direction `dir`. */
uint32_t mqs_port_count(const mqs_block_descriptor *d, mqs_port_direction dir);

/* 0, or -EPROTO with why the descriptor breaks the SDK's rules (specs,
 * callbacks for its kind and ports) in `why`. */
int mqs_registry_check(const mqs_block_descriptor *d, char *why, size_t len);

/* Unload the plugin and free what open made. */
void mqs_registry_close(mqs_plugin *p);

/* Call fn for every block type found on the search path (each name once). */
void mqs_registry_each(void (*fn)(const char *type, const char *path, void *arg), void *arg);

/* Levenshtein distance, for "did you mean" hints. */
size_t mqs_edit_distance(const char *a, const char *b);

#endif
