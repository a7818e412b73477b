/* The block catalogue: the block types the registry finds and what each
 * declares (ports, params), for `mqrun --list-blocks` and `mqctl blocks`. */
#ifndef MQS_CATALOGUE_H
#define MQS_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One line per block type: its name and summary; with `params`, a line per
 * param under it. A plugin that cannot be loaded says why on its line. */
void mqs_catalogue_list(FILE *out, bool params);

/* Everything block type `type` declares: kind, SDK version, plugin file,
 * ports and params (type, default, range, choices, help). 0, or -ENOENT
 * with a "did you mean" message in err. */
int mqs_catalogue_show(FILE *out, const char *type, char *err, size_t errlen);

#endif
