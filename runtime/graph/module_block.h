/* Blocks whose ports and params a module declares (`type: python`): one
 * plugin serves every module, and the registry specializes its descriptor
 * from what the module at params.module declares.
 *
 * Such a plugin exports MQS_BLOCK_DESCRIBE_ENTRY besides its descriptor. It
 * returns the module's declaration as JSON (the form mqs/_blockspec.py
 * writes: summary, kind, aligned, inputs, outputs, params), read without
 * starting an interpreter in the calling process. */
#ifndef MQS_MODULE_BLOCK_H
#define MQS_MODULE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

#define MQS_BLOCK_DESCRIBE_ENTRY "mqs_block_describe_module_v1"

/* The declaration of the module at `path` as JSON text, owned by the plugin
 * (valid while it stays loaded), or NULL with the module's own message (a
 * traceback for an exception) in err. */
typedef const char *(*mqs_block_describe_fn)(const char *path, char *err, size_t errlen);

/* Whether the plugin's ports and params come from a module. */
bool mqs_plugin_wants_module(const mqs_plugin *p);

/* Make p's descriptor the one the module at `path` (absolute) declares: its
 * summary, kind, ports and params, plus the required string param `module`.
 * 0, or -EINVAL/-EPROTO/-ENOMEM with a message naming the module in err. */
int mqs_registry_specialize(mqs_plugin *p, const char *path, char *err, size_t errlen);

#endif
