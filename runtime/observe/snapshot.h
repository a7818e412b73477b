/* Graph statistics: snapshots of every queue, pool and process counter of a
 * domain, printed as a readable table or as JSON lines (docs/stats.md).
 * Snapshots read shared counters relaxed and never disturb the hot path. */
#ifndef MQS_STATS_H
#define MQS_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "mqs/mqs.h"

typedef struct mqs_stats_snapshot mqs_stats_snapshot;

mqs_stats_snapshot *mqs_stats_take(const mqs_domain *d);
void mqs_stats_free(mqs_stats_snapshot *s);

/* Rates are computed against `before` (NULL: since the start). */
void mqs_stats_print_table(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final);
void mqs_stats_print_json(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final);

#endif
