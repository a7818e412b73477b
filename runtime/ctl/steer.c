/* mqctl set and mqctl stop: turn a knob of a running graph, or end it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

#define SET_TIMEOUT_NS (5LL * 1000000000)
#define STOP_TIMEOUT_NS (60LL * 1000000000)
#define POLL_NS (20LL * 1000000)

/* BLOCK.PARAM=VALUE into its three parts (block names hold no dot). */
static bool split_assignment(char *text, char **block, char **param, char **value)
{
    char *eq = strchr(text, '='), *dot = strchr(text, '.');
    if (!eq || !dot || dot > eq || dot == text || dot + 1 == eq)
        return false;
    *eq = *dot = '\0';
    *block = text, *param = dot + 1, *value = eq + 1;
    return true;
}

static void say_refusal(const char *block, const char *param, int rc, const char *reply, int64_t timeout)
{
    switch (rc) {
    case -ETIMEDOUT:
        fprintf(stderr, "mqctl set: block '%s' did not take the change within %.1fs (is it stuck in a call?); "
                        "nothing changed\n", block, timeout / 1e9);
        break;
    case -EINPROGRESS:
        fprintf(stderr, "mqctl set: block '%s' took the change but did not answer within %.1fs; it may still apply\n",
                block, timeout / 1e9);
        break;
    case -EBUSY:
        fprintf(stderr, "mqctl set: another change to block '%s' is pending; try again\n", block);
        break;
    case -ESRCH:
        fprintf(stderr, "mqctl set: block '%s' is not running now (mqctl status shows its state)\n", block);
        break;
    case -ENAMETOOLONG:
        fprintf(stderr, "mqctl set: param name or value too long (at most %d and %d bytes)\n",
                MQS_COMMAND_KEY_MAX - 1, MQS_COMMAND_VALUE_MAX - 1);
        break;
    default:
        fprintf(stderr, "mqctl set: %s.%s: %s\n", block, param, reply[0] ? reply : mqs_strerror(rc));
    }
}

int mqctl_set(int argc, char **argv)
{
    const char *which = NULL;
    char *assignment = NULL;
    int64_t timeout = SET_TIMEOUT_NS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--timeout") == 0) {
            if (!mqctl_parse_duration("mqctl set", "--timeout", i + 1 < argc ? argv[++i] : NULL, &timeout))
                return MQCTL_USAGE;
        } else if (argv[i][0] == '-' || (which && assignment)) {
            fprintf(stderr, "mqctl set: unexpected argument '%s' (usage: mqctl set GRAPH BLOCK.PARAM=VALUE)\n",
                    argv[i]);
            return MQCTL_USAGE;
        } else if (!which)
            which = argv[i];
        else
            assignment = argv[i];
    }
    char *block, *param, *value;
    if (!assignment || !split_assignment(assignment, &block, &param, &value)) {
        fprintf(stderr, "mqctl set: give GRAPH and BLOCK.PARAM=VALUE, e.g. mqctl set demo camera.pattern=box\n");
        return MQCTL_USAGE;
    }
    mqs_domain *d = mqctl_open_run("mqctl set", which);
    if (!d)
        return MQCTL_FAILED;
    uint32_t process = mqctl_find_block("mqctl set", d, block);
    int rc = -ENOENT;
    char reply[MQS_COMMAND_REPLY_MAX] = "";
    if (process)
        rc = mqs_command_set_param(d, process, param, value, timeout, reply, sizeof reply);
    if (rc == 0)
        printf("%s\n", reply);
    else if (process)
        say_refusal(block, param, rc, reply, timeout);
    mqs_domain_detach(d);
    return rc == 0 ? MQCTL_OK : MQCTL_FAILED;
}

/* ---- stop ---- */

static bool run_gone(const mqs_run_info *run)
{
    static mqs_run_info now[64];
    int n = mqs_runs_list(run->graph, now, 64);
    for (int i = 0; i < n && i < 64; i++)
        if (strcmp(now[i].run_id, run->run_id) == 0 && now[i].alive)
            return false;
    return true;
}

int mqctl_stop(int argc, char **argv)
{
    const char *which = NULL;
    bool wait = true;
    int64_t timeout = STOP_TIMEOUT_NS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-wait") == 0)
            wait = false;
        else if (strcmp(argv[i], "--timeout") == 0) {
            if (!mqctl_parse_duration("mqctl stop", "--timeout", i + 1 < argc ? argv[++i] : NULL, &timeout))
                return MQCTL_USAGE;
        } else if (argv[i][0] == '-' || which) {
            fprintf(stderr, "mqctl stop: unexpected argument '%s' (usage: mqctl stop GRAPH [--no-wait] "
                            "[--timeout DURATION])\n", argv[i]);
            return MQCTL_USAGE;
        } else
            which = argv[i];
    }
    if (!which) {
        fprintf(stderr, "mqctl stop: which graph? (usage: mqctl stop GRAPH; mqctl ls lists them)\n");
        return MQCTL_USAGE;
    }
    mqs_run_info run;
    if (mqctl_find_run("mqctl stop", which, &run) != 0)
        return MQCTL_FAILED;
    /* What Ctrl-C on mqrun does: sources stop, the graph drains, every block ends. */
    if (kill((pid_t)run.launcher_pid, SIGINT) != 0) {
        fprintf(stderr, "mqctl stop: cannot signal mqrun (pid %u): %s\n", run.launcher_pid, strerror(errno));
        return MQCTL_FAILED;
    }
    if (!wait) {
        printf("asked %s/%s (mqrun pid %u) to stop\n", run.graph, run.run_id, run.launcher_pid);
        return MQCTL_OK;
    }
    for (int64_t deadline = mqs_now_ns() + timeout; !run_gone(&run); mqs_sleep_ns(POLL_NS))
        if (mqs_now_ns() >= deadline) {
            fprintf(stderr, "mqctl stop: %s/%s (mqrun pid %u) still runs after %.0fs; it may be draining a slow "
                            "block (mqctl status %s)\n", run.graph, run.run_id, run.launcher_pid, timeout / 1e9,
                    run.graph);
            return MQCTL_FAILED;
        }
    printf("stopped %s/%s (mqrun pid %u)\n", run.graph, run.run_id, run.launcher_pid);
    return MQCTL_OK;
}
