/* The two renderings of a graph's figures: a table for people and JSON
 * lines for programs (docs/stats.md), the same for mqrun --stats and
 * mqctl status. */
#ifndef MQS_OBSERVE_RENDER_H
#define MQS_OBSERVE_RENDER_H

#include <jansson.h>
#include <stdio.h>

#include "figures.h"

/* Figures over before..now (before NULL: since the start). */
void mqs_stats_print_table(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final);
void mqs_stats_print_json(FILE *out, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final);
/* The JSON object of one line (a new reference). */
json_t *mqs_stats_json(const mqs_stats_snapshot *before, const mqs_stats_snapshot *now, bool final);

/* "12.3M", "512K", "17": bytes in a few characters. */
const char *mqs_format_bytes(uint64_t bytes, char *buf, size_t size);
/* A span of time in a few characters: "12.3s", "4m05s", "2h17m"; "-" when negative. */
const char *mqs_format_uptime(int64_t ns, char *buf, size_t size);
/* "last exit": "-", "0", "1", "SIGKILL". */
const char *mqs_format_exit(const mqs_block_figures *f, char *buf, size_t size);

#endif
