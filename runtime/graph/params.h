/* Block params: typed values in a JSON object, checked against the block's
 * param specs. mqrun converts the graph file's text to typed JSON (units
 * included) and passes the JSON to the worker, which checks it again before
 * init; both sides use the same functions. */
#ifndef MQS_PARAMS_H
#define MQS_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "mqs/block.h"

/* Bytes of one param value, as text (graph file, --set) or as a JSON string
 * (the worker's params): the limit is the same on both sides. */
#define MQS_PARAM_STRING_MAX 4096

const mqs_param_spec *mqs_param_find(const mqs_block_descriptor *desc, const char *key);

/* Whether numeric values of the param must lie in min..max (inclusive):
 * every spec but min = max = 0 (both left out). The registry refuses
 * min > max. */
bool mqs_param_has_range(const mqs_param_spec *spec);

/* Text as written in a graph file or --set -> a JSON value of the spec's type,
 * length-, range- and choice-checked. 0 or -EINVAL with "param 'k' ..." in err. */
int mqs_param_from_text(const mqs_param_spec *spec, const char *text, json_t **out, char *err, size_t errlen);

/* "unknown param 'k'" plus a did-you-mean hint, into err; returns -EINVAL. */
int mqs_param_unknown(const mqs_block_descriptor *desc, const char *key, char *err, size_t errlen);

/* Check every key of obj (known, type, range) and add defaults; a required
 * param that is missing is an error. 0 or -EINVAL with the message in err. */
int mqs_params_check(const mqs_block_descriptor *desc, json_t *obj, char *err, size_t errlen);

/* The mqs_params handed to negotiate() and init(). `obj` is borrowed. */
mqs_params *mqs_params_wrap(const mqs_block_descriptor *desc, json_t *obj);
/* Parse and check JSON text (the worker's --params). NULL with err set. */
mqs_params *mqs_params_from_json_text(const mqs_block_descriptor *desc, const char *instance, const char *text,
                                      char *err, size_t errlen);
/* A copy of `p` with param `key` set to `text`, converted and checked as a
 * graph file's value would be: NULL with "param 'k' ..." in err. */
mqs_params *mqs_params_with(const mqs_params *p, const char *key, const char *text, char *err, size_t errlen);
/* The message a block gave with mqs_params_fail(), or "". */
const char *mqs_params_failure(const mqs_params *p);
void mqs_params_free(mqs_params *p);

#endif
