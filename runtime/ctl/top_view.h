/* What mqctl top shows, as lines of text: a header, the blocks sorted by a
 * column, the connections, aligned blocks and pools, the bottleneck's rows
 * marked. No terminal here: top.c decides how the lines reach the screen. */
#ifndef MQS_CTL_TOP_VIEW_H
#define MQS_CTL_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/snapshot.h"

/* The columns blocks can be sorted by: name ascending, the others descending. */
typedef enum top_sort {
    TOP_SORT_NAME,
    TOP_SORT_CPU,
    TOP_SORT_BUSY,
    TOP_SORT_WAIT,
    TOP_SORT_CALLS,
    TOP_SORT_RSS,
    TOP_SORT_RESTARTS,
    TOP_SORTS
} top_sort;

/* "busy" for TOP_SORT_BUSY. */
const char *top_sort_name(top_sort sort);
/* The column named `text`: false when there is none. */
bool top_sort_parse(const char *text, top_sort *out);
/* "name, cpu, busy, ...": every column, for messages. */
const char *top_sort_list(void);

#define TOP_LINE_MAX 512

/* One line of a frame; `marked`: a bottleneck row (shown highlighted). */
typedef struct top_line {
    bool marked;
    char text[TOP_LINE_MAX];
} top_line;

/* A screenful, built anew every interval. */
typedef struct top_frame {
    top_line *lines;
    size_t count, cap;
} top_frame;

/* What the header says besides the figures. */
typedef struct top_view_options {
    const char *graph, *run;
    top_sort sort;
    bool keys_hint;     /* name the keys (on a terminal) */
} top_view_options;

/* Replace the frame's lines with the figures of before..now (before NULL:
 * since the start). */
void top_view_build(top_frame *frame, const mqs_stats_snapshot *before, const mqs_stats_snapshot *now,
                    const top_view_options *options);
/* Add one line (printf format); dropped when out of memory. */
void top_frame_add(top_frame *frame, bool marked, const char *format, ...) __attribute__((format(printf, 3, 4)));
void top_frame_free(top_frame *frame);

#endif
