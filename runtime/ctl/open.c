/* Finding and opening the run a user names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "graph/units.h"

#define MAX_RUNS 1024

static void list_runs(FILE *out, const mqs_run_info *runs, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++)
        if (runs[i].alive) {
            fprintf(out, "%s %s/%s", any ? "," : " running:", runs[i].graph, runs[i].run_id);
            any = true;
        }
    fprintf(out, "%s\n", any ? " (mqctl ls)" : " no graph is running (mqctl ls)");
}

int mqctl_find_run(const char *cmd, const char *which, mqs_run_info *out)
{
    static mqs_run_info runs[MAX_RUNS];
    int n = mqs_runs_list(NULL, runs, MAX_RUNS);
    if (n < 0) {
        fprintf(stderr, "%s: cannot read /dev/shm: %s\n", cmd, strerror(-n));
        return -1;
    }
    n = n < MAX_RUNS ? n : MAX_RUNS;
    const char *slash = strchr(which, '/');
    int found = -1, matches = 0;
    for (int i = 0; i < n; i++) {
        const mqs_run_info *r = &runs[i];
        bool named = which[0] == '/' ? strcmp(which, r->domain) == 0
                     : slash ? (size_t)(slash - which) == strlen(r->graph) &&
                                 strncmp(which, r->graph, (size_t)(slash - which)) == 0 && strcmp(slash + 1, r->run_id) == 0
                           : strcmp(which, r->graph) == 0;
        if (named && r->alive)
            found = i, matches++;
    }
    if (matches == 1) {
        *out = runs[found];
        return 0;
    }
    if (matches > 1)
        fprintf(stderr, "%s: graph '%s' has %d runs; name one as GRAPH/RUN:", cmd, which, matches);
    else
        fprintf(stderr, "%s: no running graph '%s';", cmd, which);
    list_runs(stderr, runs, n);
    return -1;
}

mqs_domain *mqctl_open_run(const char *cmd, const char *which)
{
    mqs_run_info run;
    if (mqctl_find_run(cmd, which, &run) != 0)
        return NULL;
    mqs_domain *d;
    int rc = mqs_domain_observe(run.domain, &d);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read %s: %s\n", cmd, run.domain, mqs_last_error());
        return NULL;
    }
    return d;
}

uint32_t mqctl_find_block(const char *cmd, const mqs_domain *d, const char *name)
{
    uint32_t n = mqs_domain_process_count(d) - mqs_domain_tap_count(d); /* taps are no blocks */
    for (uint32_t p = 1; p < n; p++)
        if (strcmp(mqs_process_name(d, p), name) == 0)
            return p;
    fprintf(stderr, "%s: graph has no block '%s'; its blocks:", cmd, name);
    for (uint32_t p = 1; p < n; p++)
        fprintf(stderr, "%s %s", p > 1 ? "," : "", mqs_process_name(d, p));
    fputc('\n', stderr);
    return 0;
}

bool mqctl_parse_duration(const char *cmd, const char *option, const char *text, int64_t *out)
{
    char err[256];
    if (!text) {
        fprintf(stderr, "%s: %s needs a duration (e.g. 500ms, 2s)\n", cmd, option);
        return false;
    }
    if (mqs_parse_duration(text, out, err, sizeof err) != 0 || *out <= 0) {
        fprintf(stderr, "%s: %s '%s': %s\n", cmd, option, text, err[0] ? err : "must be above 0");
        return false;
    }
    return true;
}
