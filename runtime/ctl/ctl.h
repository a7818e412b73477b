/* What mqctl's commands share: finding the run a user names and opening it
 * as an observer, and finding a block of it by name. */
#ifndef MQS_CTL_H
#define MQS_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "mqs/mqs.h"

/* Exit statuses of every mqctl command. */
enum { MQCTL_OK = 0, MQCTL_FAILED = 1, MQCTL_USAGE = 2 };

/* The live run `which` names: a graph name (its one live run), GRAPH/RUN,
 * or a domain name (/mqs.UID.GRAPH.RUN). 0, or -1 after printing to stderr
 * what went wrong and which runs exist, as `cmd`. */
int mqctl_find_run(const char *cmd, const char *which, mqs_run_info *out);

/* Open the live run `which` names as an observer: a graph name (its one
 * live run), GRAPH/RUN, or a domain name (/mqs.UID.GRAPH.RUN). On failure
 * prints to stderr what went wrong and which runs exist, as `cmd`, and
 * returns NULL. */
mqs_domain *mqctl_open_run(const char *cmd, const char *which);

/* The process slot of block `name` (1..), or 0 after printing to stderr
 * which blocks the graph has. */
uint32_t mqctl_find_block(const char *cmd, const mqs_domain *d, const char *name);

/* Parse a duration option's value ("500ms", "2s"): false after a message. */
bool mqctl_parse_duration(const char *cmd, const char *option, const char *text, int64_t *out);

/* The commands, each run with argv[0] = the command's name. */
int mqctl_status(int argc, char **argv);
int mqctl_top(int argc, char **argv);
int mqctl_dot(int argc, char **argv);
int mqctl_set(int argc, char **argv);
int mqctl_stop(int argc, char **argv);

#endif
