/* mqrun: run a graph. Parse and validate the graph file, create the domain,
 * start one worker per block, supervise until the graph ends, remove every
 * shared-memory object, and exit with a status that says how it went. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "graph/catalogue.h"
#include "graph/graph_load.h"
#include "supervisor.h"
#include "graph/units.h"

#define MAX_SETS 256

typedef struct run_args {
    const char *graph_file;
    const char *sets[MAX_SETS];
    size_t set_count;
    bool validate_only;
    bool list_blocks;
    int64_t duration_ns;
    int64_t grace_ns;
    int64_t stats_interval_ns;
    bool stats_table;
    const char *stats_json;
    int verbosity;
} run_args;

static void usage(FILE *out)
{
    fputs("usage: mqrun [options] GRAPH.yaml\n"
          "Run a multiqueue-shm graph: every block in its own process, buffers shared zero-copy.\n"
          "\n"
          "  --set BLOCK.PARAM=VALUE  override a block param (repeatable)\n"
          "  --duration T             stop after T (e.g. 10s, 500ms); default: until end of stream or Ctrl-C\n"
          "  --validate               check the graph, print it resolved (defaults, caps), start nothing\n"
          "  --stats[=INTERVAL]       print a stats table to stderr every INTERVAL (default 1s) and at the end\n"
          "  --stats-json FILE        write the stats as JSON lines to FILE ('-': stdout); see docs/stats.md\n"
          "  --grace T                after a stop, time blocks get to drain before being stopped hard (default 5s)\n"
          "  --list-blocks            list the block types found, then exit\n"
          "  -q, --quiet              only errors\n"
          "  -v, --verbose            more detail (repeat for block debug output)\n"
          "  -h, --help               this text\n"
          "      --version            print the version\n"
          "\n"
          "Blocks are found by `path:` in the graph, in MQS_BLOCK_PATH (colon-separated), then among the\n"
          "built-in blocks. Exit status: 0 clean, 1 a block failed, 2 bad graph or setup, 3 blocks had to be killed,\n"
          "4 a block was given up on (it failed max_restarts times in a row); see docs/running.md.\n",
          out);
}

static int parse_time(const char *opt, const char *text, int64_t *out)
{
    char err[256];
    if (mqs_parse_duration(text, out, err, sizeof err) == 0 && *out >= 0)
        return 0;
    fprintf(stderr, "mqrun: error: %s: %s\n", opt, *out < 0 ? "must not be negative" : err);
    return -1;
}

enum { OPT_SET = 256, OPT_DURATION, OPT_VALIDATE, OPT_STATS, OPT_STATS_JSON, OPT_GRACE, OPT_LIST, OPT_VERSION };

static int parse_option(int c, run_args *a)
{
    switch (c) {
    case OPT_SET:
        if (a->set_count == MAX_SETS) {
            fprintf(stderr, "mqrun: error: more than %d --set options\n", MAX_SETS);
            return -1;
        }
        a->sets[a->set_count++] = optarg;
        return 0;
    case OPT_DURATION: return parse_time("--duration", optarg, &a->duration_ns);
    case OPT_GRACE: return parse_time("--grace", optarg, &a->grace_ns);
    case OPT_VALIDATE: a->validate_only = true; return 0;
    case OPT_LIST: a->list_blocks = true; return 0;
    case OPT_STATS:
        a->stats_table = true;
        return optarg ? parse_time("--stats", optarg, &a->stats_interval_ns) : 0;
    case OPT_STATS_JSON: a->stats_json = optarg; return 0;
    case 'q': a->verbosity = 0; return 0;
    case 'v': a->verbosity++; return 0;
    case 'h': usage(stdout); exit(0);
    case OPT_VERSION: printf("mqrun (multiqueue-shm) %s\n", MQS_VERSION_STRING); exit(0);
    default: usage(stderr); return -1;
    }
}

static int parse_args(int argc, char **argv, run_args *a)
{
    static const struct option opts[] = {
        {"set", required_argument, 0, OPT_SET},        {"duration", required_argument, 0, OPT_DURATION},
        {"validate", no_argument, 0, OPT_VALIDATE},     {"stats", optional_argument, 0, OPT_STATS},
        {"stats-json", required_argument, 0, OPT_STATS_JSON}, {"grace", required_argument, 0, OPT_GRACE},
        {"list-blocks", no_argument, 0, OPT_LIST},      {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'},               {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, OPT_VERSION},      {0, 0, 0, 0},
    };
    *a = (run_args){.grace_ns = 5000000000LL, .stats_interval_ns = 1000000000LL, .verbosity = 1};
    int c;
    while ((c = getopt_long(argc, argv, "qvh", opts, NULL)) != -1)
        if (parse_option(c, a) != 0)
            return -1;
    if (a->list_blocks)
        return 0;
    if (optind != argc - 1) {
        fprintf(stderr, "mqrun: error: expected one graph file, got %d arguments (see mqrun --help)\n", argc - optind);
        return -1;
    }
    a->graph_file = argv[optind];
    return 0;
}

/* mqs-worker lives next to mqrun (build tree and install alike), unless
 * MQS_WORKER says otherwise. */
static void find_worker(char *out, size_t size)
{
    const char *env = getenv("MQS_WORKER");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, size, "mqs-worker");
        return;
    }
    self[n] = '\0';
    snprintf(out, size, "%s/mqs-worker", dirname(self));
}

/* ---- the domain of a graph ---- */

/* Arrays behind a mqs_domain_config, sized for the graph. */
typedef struct domain_plan {
    mqs_domain_config config;
    mqs_process_config *procs;
    mqs_pool_config *pools;
    mqs_output_config *outputs;
    mqs_queue_config *queues;
    char (*names)[MQS_NAME_MAX];
    uint32_t output_base[MQS_GRAPH_MAX_BLOCKS];
} domain_plan;

static void plan_free(domain_plan *p)
{
    free(p->procs);
    free(p->pools);
    free(p->outputs);
    free(p->queues);
    free(p->names);
}

static int plan_alloc(domain_plan *p, const mqs_graph *g)
{
    uint32_t outputs = 0, inputs = 0;
    for (uint32_t i = 0; i < g->block_count; i++) {
        p->output_base[i] = outputs;
        outputs += g->blocks[i].output_count;
        inputs += mqs_graph_connected_inputs(&g->blocks[i]);
    }
    p->procs = calloc(g->block_count + 1, sizeof *p->procs);
    p->pools = calloc(outputs + 1, sizeof *p->pools);
    p->outputs = calloc(outputs + 1, sizeof *p->outputs);
    p->queues = calloc(inputs + 1, sizeof *p->queues);
    p->names = calloc(outputs + inputs + 1, sizeof *p->names);
    p->config.pool_count = p->config.output_count = outputs;
    p->config.queue_count = inputs;
    return p->procs && p->pools && p->outputs && p->queues && p->names ? 0 : -ENOMEM;
}

static const char *port_name(domain_plan *p, uint32_t *next, const char *block, const char *port)
{
    snprintf(p->names[*next], MQS_NAME_MAX, "%s.%s", block, port);
    return p->names[(*next)++];
}

static uint32_t round_pow2(uint32_t n)
{
    uint32_t p = 2; /* a ring has at least two entries */
    while (p < n)
        p <<= 1;
    return p;
}

/* References one process may hold: an aligning worker may hold every entry
 * of its input rings at once (plus what the block itself keeps), so room for
 * twice the largest such sum, and never less than the domain's default. */
static uint32_t held_capacity(const mqs_graph *g)
{
    uint64_t largest = 0;
    for (uint32_t i = 0; i < g->block_count; i++) {
        uint64_t sum = 0;
        for (uint32_t k = 0; k < g->blocks[i].input_count; k++)
            if (g->blocks[i].inputs[k].connected)
                sum += round_pow2(g->blocks[i].inputs[k].depth);
        largest = sum > largest ? sum : largest;
    }
    uint64_t need = 2 * largest + 64;
    return need > 1024 ? (uint32_t)need : 1024;
}

/* The block's process slot: its name and how its inputs are aligned. The
 * reference becomes a queue index once the queues are numbered. */
static mqs_process_config plan_process(const mqs_graph_block *b)
{
    const mqs_graph_sync *s = &b->sync;
    return (mqs_process_config){.name = b->name,
                                .sync = {.policy = s->policy, .reference = UINT32_MAX,
                                         .tolerance_ns = s->tolerance_ns, .timeout_ns = s->timeout_ns,
                                         .partial = s->partial}};
}

/* One queue per connected input; absent optional inputs get none. */
static void plan_queues(domain_plan *p, const mqs_graph_block *b, uint32_t process, uint32_t *q, uint32_t *name)
{
    for (uint32_t k = 0; k < b->input_count; k++) {
        const mqs_graph_input *in = &b->inputs[k];
        if (!in->connected)
            continue;
        if (k == b->sync.reference_input)
            p->procs[process].sync.reference = *q;
        p->queues[(*q)++] = (mqs_queue_config){.name = port_name(p, name, b->name, in->port),
                                               .output = p->output_base[in->from] + in->from_output,
                                               .consumer = process, .depth = in->depth, .policy = in->policy,
                                               .period_ns = in->period_ns, .optional = in->optional};
    }
}

static int plan_domain(domain_plan *p, const mqs_graph *g)
{
    memset(p, 0, sizeof *p);
    if (plan_alloc(p, g) != 0)
        return -ENOMEM;
    uint32_t o = 0, q = 0, name = 0;
    p->procs[0] = (mqs_process_config){.name = "mqrun", .sync = {.reference = UINT32_MAX}};
    for (uint32_t i = 0; i < g->block_count; i++) {
        const mqs_graph_block *b = &g->blocks[i];
        p->procs[i + 1] = plan_process(b);
        for (uint32_t k = 0; k < b->output_count; k++, o++) {
            const mqs_caps *c = &b->outputs[k].caps;
            const char *n = port_name(p, &name, b->name, b->outputs[k].port);
            p->pools[o] = (mqs_pool_config){n, c->slot_size, c->slot_count, i + 1,
                                            b->outputs[k].huge_pages ? MQS_POOL_HUGE_PAGES : 0};
            p->outputs[o] = (mqs_output_config){n, i + 1, o, *c};
        }
        plan_queues(p, b, i + 1, &q, &name);
    }
    p->config.graph = g->name;
    p->config.wait_mode = g->wait;
    p->config.held_capacity = held_capacity(g);
    p->config.processes = p->procs;
    p->config.process_count = g->block_count + 1;
    p->config.tap_count = MQS_DEFAULT_TAPS;
    p->config.pools = p->pools;
    p->config.outputs = p->outputs;
    p->config.queues = p->queues;
    return 0;
}

/* ---- room in /dev/shm ---- */

#define SHM_PAGE 4096u

static uint64_t round_up(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

/* Bytes the domain will take in /dev/shm, erring high. Payload segments as
 * the core sizes them: a header page, slots rounded to 64 bytes, whole
 * pages. The control segment by a bound on each record of
 * runtime/core/layout.h (about twice each, as the core exports no size
 * function): process (held table of up to 4 x held_capacity entries, align
 * record), pool and slot, output, queue and ring entry. */
static uint64_t shm_needed(const mqs_domain_config *c, uint32_t *biggest)
{
    uint64_t control = 4 * SHM_PAGE, payload = 0, largest = 0;
    for (uint32_t i = 0; i < c->pool_count; i++) {
        const mqs_pool_config *p = &c->pools[i];
        uint64_t size = round_up(SHM_PAGE + round_up(p->slot_size, 64) * p->slot_count, SHM_PAGE);
        payload += size;
        if (size > largest) {
            largest = size;
            *biggest = i;
        }
        control += 512 + 256 * (uint64_t)p->slot_count;
    }
    control += (uint64_t)(c->process_count + c->tap_count) * (16384 + 64 * (uint64_t)c->held_capacity);
    control += (uint64_t)c->tap_count * (1024 + 16 * MQS_TAP_DEPTH_MAX);
    control += (uint64_t)c->output_count * 256;
    for (uint32_t q = 0; q < c->queue_count; q++)
        control += 1024 + 16 * (uint64_t)round_pow2(c->queues[q].depth);
    return payload + round_up(control, SHM_PAGE);
}

/* A domain bigger than /dev/shm's free space would reserve segment after
 * segment until /dev/shm is full, memory every other process needs, and
 * only then fail: so it is measured first, and nothing is created when it
 * cannot fit. 0, or -ENOSPC with the message printed. */
static int check_shm_room(const domain_plan *p)
{
    struct statvfs fs;
    if (statvfs("/dev/shm", &fs) != 0)
        return 0; /* nothing to measure against: creating the domain reports what fails */
    uint32_t biggest = 0;
    uint64_t need = shm_needed(&p->config, &biggest), mib = UINT64_C(1) << 20;
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize, total = (uint64_t)fs.f_blocks * fs.f_frsize;
    if (need <= avail)
        return 0;
    const mqs_pool_config *big = &p->pools[biggest];
    fprintf(stderr,
            "mqrun: error: the graph needs %llu MiB of shared memory, /dev/shm has %llu MiB free (hint: the biggest "
            "pool, %s, takes %llu MiB: lower its `slots` or `slot_size`; or stop other runs; or, as root, mount -o "
            "remount,size=%lluG /dev/shm)\n",
            (unsigned long long)((need + mib - 1) / mib), (unsigned long long)(avail / mib), big->name,
            (unsigned long long)((round_up(big->slot_size, 64) * big->slot_count + mib - 1) / mib),
            (unsigned long long)((total + need - avail + (mib << 10) - 1) / (mib << 10)));
    return -ENOSPC;
}

/* What to do when creating the domain failed for want of a resource. */
static const char *create_hint(int rc)
{
    if (rc == -EMFILE || rc == -ENFILE)
        return " (hint: raise the limit on open files, e.g. ulimit -n 1024)";
    if (rc == -ENOSPC || rc == -ENOMEM)
        return " (hint: /dev/shm is full: stop other runs, or enlarge it)";
    return "";
}

/* ---- running ---- */

static int launch_blocks(const mqs_graph *g, mqs_launch_block *blocks, char **params)
{
    for (uint32_t i = 0; i < g->block_count; i++) {
        const mqs_graph_block *b = &g->blocks[i];
        params[i] = json_dumps(b->params, JSON_COMPACT);
        if (!params[i])
            return -ENOMEM;
        blocks[i] = (mqs_launch_block){b->name, b->plugin.path, params[i], b->supervision,
                                       b->plugin.desc->kind == MQS_BLOCK_SOURCE};
    }
    return 0;
}

static int run_graph(const mqs_graph *g, const run_args *a)
{
    domain_plan plan = {0}; /* plan_free below runs even when plan_domain was never reached */
    mqs_launch_block *blocks = calloc(g->block_count, sizeof *blocks);
    char **params = calloc(g->block_count, sizeof *params);
    int status = MQS_RUN_SETUP_FAILED;
    FILE *stats_json = NULL;
    mqs_domain *d = NULL;
    if (!blocks || !params || plan_domain(&plan, g) != 0 || launch_blocks(g, blocks, params) != 0) {
        fprintf(stderr, "mqrun: error: out of memory\n");
        goto out;
    }
    if (a->stats_json) {
        stats_json = strcmp(a->stats_json, "-") == 0 ? stdout : fopen(a->stats_json, "we"); /* not the workers' */
        if (!stats_json) {
            fprintf(stderr, "mqrun: error: cannot write --stats-json file %s: %s\n", a->stats_json, strerror(errno));
            goto out;
        }
    }
    int stale = mqs_domain_remove_stale(g->name);
    if (stale > 0 && a->verbosity > 0)
        fprintf(stderr, "mqrun: removed %d stale run%s of graph '%s' left by a process that died\n", stale,
                stale == 1 ? "" : "s", g->name);
    if (check_shm_room(&plan) != 0)
        goto out;
    int rc = mqs_domain_create(&plan.config, &d);
    if (rc != 0) {
        fprintf(stderr, "mqrun: error: %s%s\n", mqs_last_error(), create_hint(rc));
        goto out;
    }
    char worker[PATH_MAX];
    find_worker(worker, sizeof worker);
    mqs_supervisor_options opt = {
        .worker_path = worker, .duration_ns = a->duration_ns, .grace_ns = a->grace_ns,
        .start_timeout_ns = 30000000000LL, .stats_interval_ns = a->stats_table || stats_json ? a->stats_interval_ns : 0,
        .stats_table = a->stats_table, .stats_json = stats_json, .verbosity = a->verbosity,
    };
    status = mqs_supervise(d, blocks, g->block_count, &opt);
    mqs_domain_destroy(d);
out:
    if (stats_json && stats_json != stdout)
        fclose(stats_json);
    for (uint32_t i = 0; params && i < g->block_count; i++)
        free(params[i]);
    free(params);
    free(blocks);
    plan_free(&plan);
    return status;
}

int main(int argc, char **argv)
{
    run_args a;
    if (parse_args(argc, argv, &a) != 0)
        return MQS_RUN_SETUP_FAILED;
    if (a.list_blocks) {
        mqs_catalogue_list(stdout, a.verbosity > 1);
        return 0;
    }
    /* From here on Ctrl-C is handled by the supervisor, never by dying with
     * shared memory still allocated. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    char err[8192]; /* a Python block's traceback fits */
    mqs_graph *g;
    if (mqs_graph_load(a.graph_file, a.sets, a.set_count, &g, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return MQS_RUN_SETUP_FAILED;
    }
    int status = 0;
    if (a.validate_only)
        mqs_graph_print(g, stdout);
    else
        status = run_graph(g, &a);
    mqs_graph_free(g);
    return status;
}
