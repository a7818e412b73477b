/* mqctl status: the figures of a running graph over a short interval, as a
 * table or as one JSON line of the schema mqrun --stats-json writes. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "observe/render.h"

#define DEFAULT_INTERVAL_NS (500LL * 1000000)

int mqctl_status(int argc, char **argv)
{
    const char *which = NULL;
    bool json = false;
    int64_t interval = DEFAULT_INTERVAL_NS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--interval") == 0) {
            if (!mqctl_parse_duration("mqctl status", "--interval", i + 1 < argc ? argv[++i] : NULL, &interval))
                return MQCTL_USAGE;
        } else if (argv[i][0] == '-' || which) {
            fprintf(stderr, "mqctl status: unexpected argument '%s' (usage: mqctl status GRAPH [--json] "
                            "[--interval DURATION])\n", argv[i]);
            return MQCTL_USAGE;
        } else
            which = argv[i];
    }
    if (!which) {
        fprintf(stderr, "mqctl status: which graph? (usage: mqctl status GRAPH [--json]; mqctl ls lists them)\n");
        return MQCTL_USAGE;
    }
    mqs_domain *d = mqctl_open_run("mqctl status", which);
    if (!d)
        return MQCTL_FAILED;
    mqs_stats_snapshot *before = mqs_stats_take(d);
    mqs_sleep_ns(interval);
    mqs_stats_snapshot *now = before ? mqs_stats_take(d) : NULL;
    int rc = MQCTL_OK;
    if (!now) {
        fprintf(stderr, "mqctl status: out of memory\n");
        rc = MQCTL_FAILED;
    } else if (json)
        mqs_stats_print_json(stdout, before, now, false);
    else
        mqs_stats_print_table(stdout, before, now, false);
    mqs_stats_free(before);
    mqs_stats_free(now);
    mqs_domain_detach(d);
    return rc;
}
