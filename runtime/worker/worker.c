/* mqs-worker: runs one block of a graph in its own process.
 *
 * Started by mqrun, one per block: loads the plugin, validates the params,
 * attaches to the domain as its process slot, resolves its ports once (by
 * name, here, so the loop never looks anything up), waits for the start
 * gate, then runs the block until end of stream or SIGTERM, closes its
 * outputs (end of stream downstream) and exits 0. Any failure exits non-zero
 * with one line on stderr saying what and where. It dies with mqrun, and
 * takes its process group (what the block forked) along: at once by its
 * parent-death signal, or within 200 ms by looking whether mqrun
 * (--launcher) still lives, which also holds when a wrapper started it. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "host.h"
#include "input_loop.h"
#include "live_params.h"
#include "graph/params.h"
#include "graph/module_block.h"
#include "graph/registry.h"

#define START_TIMEOUT_NS (30LL * 1000000000)

enum { EXIT_BLOCK_FAILED = 1, EXIT_SETUP_FAILED = 2 };

typedef struct worker_args {
    const char *domain;
    const char *plugin;
    const char *instance;
    const char *params_json;
    uint32_t process;
    uint32_t launcher_pid; /* 0: none given */
    uint64_t launcher_start_time;
    int verbosity;
} worker_args;

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fputs("usage: mqs-worker --domain NAME --process N --plugin FILE.so --instance NAME [--params JSON]\n"
          "                  [--launcher PID:START] [-v]\n"
          "Runs one block of a multiqueue-shm graph. Started by mqrun; not meant to be run by hand.\n"
          "  --domain NAME     shared-memory domain (/mqs.<uid>.<graph>.<run>)\n"
          "  --process N       process slot of this block in the domain\n"
          "  --plugin FILE     block plugin (mqs_block_<type>.so)\n"
          "  --instance NAME   the block's name in the graph\n"
          "  --params JSON     block params as a JSON object (validated against the block)\n"
          "  --launcher P:S    mqrun's pid and /proc starttime: the worker and its process group end when it is gone\n"
          "  -v, --verbose     more log output (repeat for debug)\n"
          "  -h, --help        this text\n",
          out);
}

/* PID:STARTTIME, both numbers, the pid not 0. */
static int parse_launcher(const char *text, worker_args *a)
{
    char *end;
    unsigned long pid = strtoul(text, &end, 10);
    if (pid == 0 || pid > UINT32_MAX || *end != ':')
        return -EINVAL;
    unsigned long long start = strtoull(end + 1, &end, 10);
    if (*end)
        return -EINVAL;
    a->launcher_pid = (uint32_t)pid;
    a->launcher_start_time = start;
    return 0;
}

static int parse_args(int argc, char **argv, worker_args *a)
{
    static const struct option opts[] = {
        {"domain", required_argument, 0, 'd'},  {"process", required_argument, 0, 'p'},
        {"plugin", required_argument, 0, 'l'},  {"instance", required_argument, 0, 'i'},
        {"params", required_argument, 0, 'j'},  {"launcher", required_argument, 0, 'L'},
        {"verbose", no_argument, 0, 'v'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    *a = (worker_args){.params_json = "{}", .verbosity = MQS_LOG_WARN};
    int c;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->domain = optarg; break;
        case 'p': a->process = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'l': a->plugin = optarg; break;
        case 'i': a->instance = optarg; break;
        case 'j': a->params_json = optarg; break;
        case 'L':
            if (parse_launcher(optarg, a) != 0) {
                fprintf(stderr, "mqs-worker: error: --launcher '%s' is not PID:STARTTIME\n", optarg);
                return -EINVAL;
            }
            break;
        case 'v': a->verbosity++; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -EINVAL;
        }
    }
    if (!a->domain || !a->plugin || !a->instance || a->process == 0) {
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* ---- port resolution: once, by name ---- */

static int find_queue(const mqs_domain *d, uint32_t process, const char *name)
{
    for (uint32_t q = 0; q < mqs_domain_queue_count(d); q++)
        if (mqs_queue_consumer(d, q) == process && strcmp(mqs_queue_name(d, q), name) == 0)
            return (int)q;
    return -1;
}

static int find_output(const mqs_domain *d, uint32_t process, const char *name)
{
    for (uint32_t o = 0; o < mqs_domain_output_count(d); o++)
        if (mqs_output_owner(d, o) == process && strcmp(mqs_output_name(d, o), name) == 0)
            return (int)o;
    return -1;
}

static int resolve_port(mqs_host *h, const mqs_port_spec *spec)
{
    char name[160];
    snprintf(name, sizeof name, "%s.%s", h->instance, spec->name);
    uint32_t self = mqs_domain_process(h->domain);
    mqs_block_ctx *ctx = &h->ctx;
    if (spec->direction == MQS_PORT_INPUT) {
        int q = find_queue(h->domain, self, name);
        if ((q < 0 && !(spec->flags & MQS_PORT_OPTIONAL)) || ctx->input_count == MQS_HOST_MAX_PORTS)
            return -ENOENT;
        if (q < 0) { /* an optional input left unconnected: absent */
            h->inputs[ctx->input_count] = MQS_HOST_ABSENT;
            h->input_caps[ctx->input_count++] = (mqs_caps){.flags = MQS_CAPS_ABSENT};
            return 0;
        }
        h->inputs[ctx->input_count] = (uint32_t)q;
        h->input_caps[ctx->input_count++] = *mqs_output_caps(h->domain, mqs_queue_output(h->domain, (uint32_t)q));
        return 0;
    }
    int o = find_output(h->domain, self, name);
    if (o < 0 || ctx->output_count == MQS_HOST_MAX_PORTS)
        return -ENOENT;
    h->outputs[ctx->output_count] = (uint32_t)o;
    h->pools[ctx->output_count] = mqs_output_pool(h->domain, (uint32_t)o);
    h->output_caps[ctx->output_count++] = *mqs_output_caps(h->domain, (uint32_t)o);
    return 0;
}

static int resolve_ports(mqs_host *h)
{
    for (uint32_t i = 0; i < h->desc->port_count; i++)
        if (resolve_port(h, &h->desc->ports[i]) != 0) {
            fprintf(stderr, "%s: error: port '%s' is not connected in domain %s (was the graph changed?)\n",
                    h->instance, h->desc->ports[i].name, mqs_domain_name(h->domain));
            return -ENOENT;
        }
    return 0;
}

/* ---- the block loop ---- */

static int run_source(mqs_host *h)
{
    while (!stop_flag && !mqs_domain_stop_requested(h->domain)) {
        mqs_domain_heartbeat(h->domain);
        mqs_host_watch_launcher(h);
        mqs_live_params_poll(h);
        int rc = mqs_host_produce(h);
        if (rc == MQS_EOS || rc == -ECANCELED)
            return 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void close_outputs(mqs_host *h)
{
    for (uint32_t o = 0; o < h->ctx.output_count; o++)
        mqs_output_close(h->domain, h->outputs[o]);
}

static void print_reports(mqs_host *h)
{
    mqs_process_counters_info c;
    if (mqs_process_counters_get(h->domain, mqs_domain_process(h->domain), &c) != 0)
        return;
    for (uint32_t i = 0; i < c.report_count; i++)
        mqs_host_logf(h, MQS_LOG_INFO, "%s = %g", c.reports[i].key, c.reports[i].value);
}

/* The start gate, looked at in slices so a gone launcher is noticed. */
static int wait_started(mqs_host *h)
{
    int64_t deadline = mqs_now_ns() + START_TIMEOUT_NS;
    for (;;) {
        int rc = mqs_domain_wait_started(h->domain, MQS_HOST_LAUNCHER_CHECK_NS);
        if (rc != -ETIMEDOUT || mqs_now_ns() >= deadline)
            return rc;
        mqs_host_watch_launcher(h);
    }
}

static int run_block(mqs_host *h)
{
    int rc = mqs_host_init_block(h);
    h->ctx.params = NULL; /* params are valid during init only */
    if (rc < 0) {
        fprintf(stderr, "%s: error: init failed: %s\n", h->instance, mqs_strerror(rc));
        return EXIT_BLOCK_FAILED;
    }
    rc = wait_started(h);
    if (rc == 0)
        rc = h->desc->kind == MQS_BLOCK_SOURCE ? run_source(h) : mqs_input_loop_run(h);
    if (rc < 0 && rc != -ECANCELED)
        fprintf(stderr, "%s: error: block stopped: %s\n", h->instance, mqs_strerror(rc));
    else
        close_outputs(h); /* end of stream downstream; a failed block may be restarted instead */
    mqs_host_fini_block(h);
    print_reports(h);
    return rc < 0 && rc != -ECANCELED ? EXIT_BLOCK_FAILED : 0;
}

/* A block declared by a module (type: python) gets its ports and params
 * from the module its params name, as in the launcher. */
static int specialize(mqs_plugin *plugin, const char *params_json, char *err, size_t errlen)
{
    if (!mqs_plugin_wants_module(plugin))
        return 0;
    json_t *params = json_loads(params_json, 0, NULL);
    const char *module = json_string_value(json_object_get(params, "module"));
    int rc = module ? mqs_registry_specialize(plugin, module, err, errlen) : -EINVAL;
    if (!module)
        snprintf(err, errlen, "block plugin %s needs the param `module`", plugin->path);
    json_decref(params);
    return rc;
}

/* ---- dying with the launcher ---- */

static const char *gone_instance = "mqs-worker";
static pid_t parent_at_start;

/* PR_SET_PDEATHSIG: the parent (mqrun, or a wrapper that died with it) is gone. */
static void on_parent_death(int sig)
{
    (void)sig;
    if (getppid() != parent_at_start)
        mqs_host_launcher_gone(gone_instance);
}

/* Die with the launcher, even if it is killed with SIGKILL, and take the
 * block's process group along: at once by the parent-death signal, else
 * (a wrapper outlives mqrun) when the loops look (mqs_host_watch_launcher).
 * Without --launcher, the parent-death signal alone. 0, or -ESRCH: gone. */
static int follow_launcher(const worker_args *a)
{
    if (!a->launcher_pid) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        return getppid() == 1 ? -ESRCH : 0;
    }
    gone_instance = a->instance;
    parent_at_start = getppid();
    struct sigaction sa = {.sa_handler = on_parent_death};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGHUP);
    /* A parent that died before prctl sends nothing: look once. */
    if (getppid() != parent_at_start || !mqs_pid_alive(a->launcher_pid, a->launcher_start_time))
        return -ESRCH;
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a sink writing to a closed pipe gets EPIPE instead */
}

int main(int argc, char **argv)
{
    worker_args a;
    if (parse_args(argc, argv, &a) != 0)
        return EXIT_SETUP_FAILED;
    if (follow_launcher(&a) != 0)
        return EXIT_SETUP_FAILED;
    install_signals();

    char err[8192]; /* a Python block's traceback fits */
    mqs_plugin plugin;
    if (mqs_registry_open_file(a.plugin, NULL, &plugin, err, sizeof err) != 0 ||
        specialize(&plugin, a.params_json, err, sizeof err) != 0) {
        fprintf(stderr, "%s: error: %s\n", a.instance, err);
        return EXIT_SETUP_FAILED;
    }
    mqs_host h = {.desc = plugin.desc, .instance = a.instance, .verbosity = a.verbosity, .stop_flag = &stop_flag,
                  .launcher_pid = a.launcher_pid, .launcher_start_time = a.launcher_start_time};
    mqs_params *params = mqs_params_from_json_text(plugin.desc, a.instance, a.params_json, err, sizeof err);
    if (!params) {
        fprintf(stderr, "%s: error: %s\n", a.instance, err);
        return EXIT_SETUP_FAILED;
    }
    int rc = mqs_domain_attach(a.domain, a.process, &h.domain);
    if (rc != 0) {
        fprintf(stderr, "%s: error: %s\n", a.instance, mqs_last_error());
        mqs_params_free(params);
        return EXIT_SETUP_FAILED;
    }
    int status = EXIT_SETUP_FAILED;
    if (resolve_ports(&h) == 0 && mqs_host_init(&h) == 0) {
        h.ctx.params = h.params = params;
        status = run_block(&h);
    }
    mqs_host_fini(&h);
    mqs_params_free(h.params ? h.params : params); /* live changes replace them */
    mqs_domain_detach(h.domain);
    mqs_registry_close(&plugin);
    return status;
}
