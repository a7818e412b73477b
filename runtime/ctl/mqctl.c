/* mqctl: see and steer the running graphs of this user. `ls` lists them
 * (live and dead runs), `status`, `top` and `dot` show one, `set` changes a
 * live param, `stop` ends a run, `clean` removes what dead runs left,
 * `blocks` describes the block types. It reads a run as an observer (the
 * control segment mapped read-only, no process slot): it never takes a
 * block's place nor slows one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "graph/catalogue.h"
#include "observe/render.h"

#define MAX_RUNS 1024

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
} command;

static int cmd_ls(int argc, char **argv);
static int cmd_clean(int argc, char **argv);
static int cmd_blocks(int argc, char **argv);

static const command commands[] = {
    {"ls", cmd_ls, "mqctl ls [GRAPH] [--json]",
     "list the running graphs of this user (and dead runs, which the next mqrun or `mqctl clean` removes)"},
    {"status", mqctl_status, "mqctl status GRAPH [--json] [--interval DURATION]",
     "every block, connection, pool and aligned block of a running graph, over an interval (default 500ms)"},
    {"top", mqctl_top, "mqctl top GRAPH [--interval DURATION] [--sort COLUMN] [--iterations N]",
     "the same, refreshed in place; keys: q quits, s/S change the sort column"},
    {"dot", mqctl_dot, "mqctl dot GRAPH|FILE.yaml [--svg|--png] [-o FILE] [--interval DURATION]",
     "the graph in Graphviz dot, with live rates, fill and BUSY % for a running graph"},
    {"set", mqctl_set, "mqctl set GRAPH BLOCK.PARAM=VALUE [--timeout DURATION]",
     "change a live param of a running block (mqctl blocks TYPE shows which are live)"},
    {"stop", mqctl_stop, "mqctl stop GRAPH [--no-wait] [--timeout DURATION]",
     "stop a run as Ctrl-C on its mqrun would: sources stop, the graph drains, every block ends"},
    {"clean", cmd_clean, "mqctl clean [GRAPH]", "remove the shared-memory objects dead runs left behind"},
    {"blocks", cmd_blocks, "mqctl blocks [TYPE]",
     "list the block types found (MQS_BLOCK_PATH, then the built-in ones), or show one: its ports and params"},
};
#define COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: mqctl COMMAND [options]   (mqctl COMMAND --help for its options)\n"
                 "See and steer the multiqueue-shm graphs of this user.\n\n");
    for (size_t i = 0; i < COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nExit status: 0 done, 1 it failed (the message says why), 2 bad usage. See docs/mqctl.md.\n");
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

/* ---- ls ---- */

static const char *run_state(const mqs_run_info *r)
{
    if (!r->alive)
        return "dead";
    return r->uptime_ns < 0 ? "starting" : "running";
}

static void print_table(const mqs_run_info *runs, int n)
{
    printf("%-24s %-20s %8s %10s %7s  %s\n", "GRAPH", "RUN", "LAUNCHER", "UPTIME", "BLOCKS", "STATE");
    for (int i = 0; i < n; i++) {
        const mqs_run_info *r = &runs[i];
        char up[32], blocks[32];
        mqs_format_uptime(r->alive ? r->uptime_ns : -1, up, sizeof up);
        snprintf(blocks, sizeof blocks, "%u/%u", r->running, r->blocks);
        printf("%-24s %-20s %8u %10s %7s  %s\n", r->graph, r->run_id, r->launcher_pid, up, blocks, run_state(r));
    }
    for (int i = 0; i < n; i++)
        if (!runs[i].alive) {
            printf("\ndead runs: their mqrun is gone; `mqctl clean` (or the next mqrun of the graph) removes them\n");
            break;
        }
}

static void print_json(const mqs_run_info *runs, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        const mqs_run_info *r = &runs[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "graph", r->graph, "run",
                                           r->run_id, "domain", r->domain, "launcher_pid",
                                           (json_int_t)r->launcher_pid, "state", run_state(r), "blocks",
                                           (json_int_t)r->blocks, "running", (json_int_t)r->running, "uptime_ns",
                                           (json_int_t)(r->alive ? r->uptime_ns : -1)));
    }
    json_dumpf(a, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(a);
}

static int cmd_ls(int argc, char **argv)
{
    const char *graph = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' || graph) {
            fprintf(stderr, "mqctl ls: unexpected argument '%s' (usage: mqctl ls [GRAPH] [--json])\n", argv[i]);
            return 2;
        } else
            graph = argv[i];
    }
    static mqs_run_info runs[MAX_RUNS];
    int n = mqs_runs_list(graph, runs, MAX_RUNS);
    if (n < 0) {
        fprintf(stderr, "mqctl ls: cannot read /dev/shm: %s\n", strerror(-n));
        return 1;
    }
    n = n < MAX_RUNS ? n : MAX_RUNS;
    if (json)
        print_json(runs, n);
    else if (n == 0 && graph)
        printf("no run of graph '%s'\n", graph);
    else if (n == 0)
        printf("no graphs running\n");
    else
        print_table(runs, n);
    return 0;
}

/* ---- clean ---- */

static int cmd_clean(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "mqctl clean: unexpected argument '%s' (usage: %s)\n", argv[argc - 1], "mqctl clean [GRAPH]");
        return 2;
    }
    const char *graph = argc == 2 ? argv[1] : NULL;
    int removed = mqs_domain_remove_stale(graph);
    printf("removed %d dead run%s%s%s\n", removed, removed == 1 ? "" : "s", graph ? " of graph " : "",
           graph ? graph : "");
    return 0;
}

/* ---- blocks ---- */

static int cmd_blocks(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "mqctl blocks: unexpected argument '%s' (usage: %s)\n", argv[argc - 1], "mqctl blocks [TYPE]");
        return 2;
    }
    if (argc == 1) {
        mqs_catalogue_list(stdout, false);
        return 0;
    }
    char err[1024];
    if (mqs_catalogue_show(stdout, argv[1], err, sizeof err) != 0) {
        fprintf(stderr, "mqctl blocks: %s\n", err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mqctl (multiqueue-shm) %s\n", MQS_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (wants_help(argc - 1, argv + 1)) {
            printf("usage: %s\n%s\n", commands[i].usage, commands[i].summary);
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "mqctl: unknown command '%s' (commands:", argv[1]);
    for (size_t i = 0; i < COMMANDS; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "; mqctl --help)\n");
    return 2;
}
