/* mqbench restart: crash recovery of the real mqrun. A graph source (5000
 * samples/s) -> passthrough -> probe_sink runs with `restart: always`, no
 * limit and no backoff on the passthrough, whose worker is SIGKILLed N times,
 * each time once the graph has flowed again for 10 to 30 ms. Per kill, on
 * CLOCK_MONOTONIC, from the instant before kill(2):
 *  - detection: mqrun woke up for the SIGCHLD (its -v "death of block" line);
 *  - reclaim: mqrun gave back what the dead worker held (same line);
 *  - first buffer: the sink got the first buffer the restarted passthrough
 *    sent (bench/probe_sink: the first buffer with a pts after the kill and
 *    the new restart count).
 * Baseline, interleaved with the kills: fork + exec + wait of `mqs-worker
 * --help`, the same binary started with nothing to load or attach. At the end
 * the graph is stopped and drained; every pool must have 0 buffers in use. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mqs/mqs.h>

#include "bench_restart.h"
#include "bench_stats.h"

#define RATE_HZ 5000
#define EVENT_TIMEOUT_NS (10LL * 1000000000)  /* a death or first buffer later than this fails the run */
#define STOP_TIMEOUT_NS (30LL * 1000000000)   /* mqrun draining and ending */
#define SETTLE_NS (10LL * 1000000)            /* flowing at least this long before the next kill ... */
#define SETTLE_SPREAD_NS (20LL * 1000000)     /* ... plus up to this, so kills land anywhere */
#define TAIL_LINES 8                          /* of mqrun's stderr, shown when something fails */
#define DETECT_TARGET_NS (10LL * 1000000)
#define FIRST_TARGET_NS (100LL * 1000000)

enum { I_DETECT, I_RECLAIM, I_FIRST, I_FORK_EXEC, INTERVALS };

static const char *const interval_names[INTERVALS] = {"kill_to_detection", "kill_to_reclaim_done",
                                                      "kill_to_first_buffer", "fork_exec_wait"};
static const char *const interval_labels[INTERVALS] = {
    "kill -> SIGCHLD seen by mqrun", "kill -> reclaim done", "kill -> first buffer after restart",
    "fork+exec+wait, mqs-worker --help"};

typedef struct restart_run {
    char bin[PATH_MAX];       /* where mqrun and mqs-worker are */
    char probe_dir[PATH_MAX]; /* where mqs_block_probe_sink.so is */
    char dir[64];             /* the run's temporary directory */
    char graph[128], probe[128], stats[128];
    pid_t mqrun;
    bool mqrun_gone;          /* its stderr reached end of file */
    int err_fd, probe_fd;     /* mqrun's stderr (a pipe), the probe sink's file */
    char err_buf[8192], probe_buf[4096];
    size_t err_len, probe_len;
    char tail[TAIL_LINES][256];
    unsigned tail_next;
    pid_t pass_pid;           /* from mqrun's latest "started block 'pass' as pid P" */
    pid_t want_death;         /* the death waited for; what mqrun said of it: */
    int64_t seen_ns, done_ns;
    uint32_t want_restarts;   /* the first buffer waited for: this restart count or more ... */
    int64_t want_pts_after;   /* ... and a pts after this; its arrival: */
    int64_t first_ns;
} restart_run;

/* ---- setup ---- */

/* mqrun and mqs-worker next to mqbench; the probe sink in <bin>/../bench/probe_sink unless given. */
static int locate(restart_run *r, const char *probe_dir)
{
    ssize_t n = readlink("/proc/self/exe", r->bin, sizeof r->bin - 1);
    if (n <= 0)
        return -errno;
    r->bin[n] = '\0';
    *strrchr(r->bin, '/') = '\0';
    snprintf(r->probe_dir, sizeof r->probe_dir, "%s", probe_dir ? probe_dir : "");
    if (!probe_dir)
        snprintf(r->probe_dir, sizeof r->probe_dir, "%.*s/../bench/probe_sink", PATH_MAX - 32, r->bin);
    static const char *const needed[] = {"mqrun", "mqs-worker", "mqs_block_probe_sink.so"};
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", i < 2 ? r->bin : r->probe_dir, needed[i]);
        if (access(path, i < 2 ? X_OK : R_OK) != 0) {
            fprintf(stderr, "mqbench restart: cannot find %s: %s (hint: run the mqbench of a build tree, or give "
                    "the folder of mqs_block_probe_sink.so with --probe-dir)\n", path, strerror(errno));
            return -ENOENT;
        }
    }
    return 0;
}

static int write_graph(restart_run *r)
{
    FILE *f = fopen(r->graph, "w");
    if (!f)
        return -errno;
    fprintf(f,
            "name: mqbench-restart\n"
            "blocks:\n"
            "  src: { type: sensor_source, params: { rate: %d } }\n"
            "  pass:\n"
            "    type: passthrough\n"
            "    inputs: { in: src.out }\n"
            "    restart: always\n"
            "    max_restarts: 0\n"
            "    backoff: 0\n"
            "    max_backoff: 1ns\n"
            "  sink:\n"
            "    type: probe_sink\n"
            "    params: { file: \"%s\", gap: 2ms }\n"
            "    inputs: { in: pass.out }\n",
            RATE_HZ, r->probe);
    return fclose(f) == 0 ? 0 : -EIO;
}

static int make_workdir(restart_run *r)
{
    snprintf(r->dir, sizeof r->dir, "/tmp/mqbench-restart-XXXXXX");
    if (!mkdtemp(r->dir))
        return -errno;
    snprintf(r->graph, sizeof r->graph, "%s/graph.yaml", r->dir);
    snprintf(r->probe, sizeof r->probe, "%s/arrivals.txt", r->dir);
    snprintf(r->stats, sizeof r->stats, "%s/stats.jsonl", r->dir);
    int fd = open(r->probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    r->probe_fd = open(r->probe, O_RDONLY | O_CLOEXEC);
    return r->probe_fd < 0 ? -errno : write_graph(r);
}

static void remove_workdir(const restart_run *r)
{
    unlink(r->graph);
    unlink(r->probe);
    unlink(r->stats);
    rmdir(r->dir);
}

/* In the child: MQS_BLOCK_PATH gets the probe sink's folder first; mqrun
 * ends with us (SIGTERM: it stops the graph and cleans up). */
static void exec_mqrun(const restart_run *r, int err_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    const char *old = getenv("MQS_BLOCK_PATH");
    char path[2 * PATH_MAX + 2];
    snprintf(path, sizeof path, "%s%s%s", r->probe_dir, old && *old ? ":" : "", old ? old : "");
    setenv("MQS_BLOCK_PATH", path, 1);
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd < 0 || dup2(null_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    char mqrun[PATH_MAX + 8];
    snprintf(mqrun, sizeof mqrun, "%s/mqrun", r->bin);
    char *const argv[] = {mqrun, "-v", "--stats-json", (char *)r->stats, (char *)r->graph, NULL};
    execv(mqrun, argv);
    _exit(127);
}

static int start_mqrun(restart_run *r)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    pid_t parent = getpid();
    r->mqrun = fork();
    if (r->mqrun == 0)
        exec_mqrun(r, fds[1], parent);
    close(fds[1]);
    if (r->mqrun < 0) {
        close(fds[0]);
        return -errno;
    }
    r->err_fd = fds[0];
    fcntl(r->err_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

/* ---- what mqrun and the probe sink say ---- */

static void on_mqrun_line(restart_run *r, const char *line)
{
    snprintf(r->tail[r->tail_next++ % TAIL_LINES], sizeof r->tail[0], "%s", line);
    int pid;
    long long handled, seen, done;
    if (sscanf(line, "mqrun: started block 'pass' as pid %d", &pid) == 1)
        r->pass_pid = pid;
    else if (sscanf(line, "mqrun: death of block 'pass' (pid %d) handled in %lld us (SIGCHLD seen at %lld ns, "
                    "reclaim done at %lld ns", &pid, &handled, &seen, &done) == 4 && pid == r->want_death) {
        r->seen_ns = seen;
        r->done_ns = done;
    }
}

static void on_probe_line(restart_run *r, const char *line)
{
    long long arrival, pts;
    unsigned restarts;
    if (sscanf(line, "%lld %lld %u", &arrival, &pts, &restarts) == 3 && r->first_ns == 0 &&
        restarts >= r->want_restarts && pts > r->want_pts_after)
        r->first_ns = arrival;
}

/* Reads what fd has now and hands each complete line to `on_line`; a line
 * longer than the buffer is handed over in pieces. 0 at end of file. */
static ssize_t read_lines(restart_run *r, int fd, char *buf, size_t cap, size_t *len,
                          void (*on_line)(restart_run *, const char *))
{
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n <= 0)
        return n;
    *len += (size_t)n;
    buf[*len] = '\0';
    char *start = buf, *nl;
    while ((nl = strchr(start, '\n')) != NULL) {
        *nl = '\0';
        on_line(r, start);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    if (*len == cap - 1) {
        on_line(r, buf);
        *len = 0;
    }
    return n;
}

/* Waits up to timeout_ms for mqrun to say something, then reads it and the probe's new lines. */
static void pump(restart_run *r, int timeout_ms)
{
    struct pollfd p = {.fd = r->err_fd, .events = POLLIN};
    if (r->mqrun_gone)
        mqs_sleep_ns((int64_t)timeout_ms * 1000000);
    else if (poll(&p, 1, timeout_ms) > 0) {
        ssize_t n;
        while ((n = read_lines(r, r->err_fd, r->err_buf, sizeof r->err_buf, &r->err_len, on_mqrun_line)) > 0)
            ;
        r->mqrun_gone = n == 0; /* end of file: mqrun and every worker closed it */
    }
    while (read_lines(r, r->probe_fd, r->probe_buf, sizeof r->probe_buf, &r->probe_len, on_probe_line) > 0)
        ;
}

typedef bool (*run_condition)(const restart_run *r);

/* Pumps until `done` holds (true) or timeout_ns passed or mqrun is gone (false). */
static bool pump_until(restart_run *r, run_condition done, int64_t timeout_ns)
{
    int64_t deadline = mqs_now_ns() + timeout_ns;
    while (!(done && done(r))) {
        if (r->mqrun_gone || mqs_now_ns() >= deadline)
            return false;
        pump(r, 1);
    }
    return true;
}

static bool flowing(const restart_run *r) { return r->first_ns != 0 && r->pass_pid > 0; }
static bool death_seen(const restart_run *r) { return r->seen_ns != 0; }
static bool restarted(const restart_run *r) { return r->first_ns != 0 && r->pass_pid != r->want_death; }

/* ---- the measurements ---- */

/* fork + exec + wait of `mqs-worker --help` (output to /dev/null), in ns; negative on failure. */
static int64_t fork_exec_ns(const restart_run *r, int null_fd)
{
    char worker[PATH_MAX + 16];
    snprintf(worker, sizeof worker, "%s/mqs-worker", r->bin);
    char *const argv[] = {worker, "--help", NULL};
    int64_t t0 = mqs_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(null_fd, 1);
        execv(worker, argv);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return mqs_now_ns() - t0;
}

/* Whether pid is a child of `parent` (/proc/PID/stat), so a pid mqrun already
 * reaped and the system gave to someone else is never killed. */
static bool child_of(pid_t pid, pid_t parent)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    stat[n] = '\0';
    const char *after_name = strrchr(stat, ')'); /* the name may hold spaces and parentheses */
    int ppid;
    return after_name && sscanf(after_name, ") %*c %d", &ppid) == 1 && ppid == parent;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Kill k (1-based): samples of the three intervals into t[I_*][k - 1]. */
static int kill_once(restart_run *r, uint32_t k, uint64_t *rng, int64_t **t)
{
    pump_until(r, NULL, SETTLE_NS + (int64_t)(next_random(rng) % SETTLE_SPREAD_NS));
    pid_t pid = r->pass_pid;
    if (r->mqrun_gone || !child_of(pid, r->mqrun)) {
        fprintf(stderr, "mqbench restart: kill %u: the passthrough (pid %d) is not running under mqrun\n", k, (int)pid);
        return -ESRCH;
    }
    r->want_death = pid;
    r->seen_ns = r->first_ns = 0;
    r->want_restarts = k;
    int64_t kill_ns = mqs_now_ns();
    r->want_pts_after = kill_ns;
    if (kill(pid, SIGKILL) != 0)
        return -errno;
    if (!pump_until(r, death_seen, EVENT_TIMEOUT_NS)) {
        fprintf(stderr, "mqbench restart: kill %u: mqrun did not report the death of pid %d\n", k, (int)pid);
        return -ETIMEDOUT;
    }
    if (!pump_until(r, restarted, EVENT_TIMEOUT_NS)) {
        fprintf(stderr, "mqbench restart: kill %u: no buffer from the restarted passthrough reached the sink\n", k);
        return -ETIMEDOUT;
    }
    t[I_DETECT][k - 1] = r->seen_ns - kill_ns;
    t[I_RECLAIM][k - 1] = r->done_ns - kill_ns;
    t[I_FIRST][k - 1] = r->first_ns - kill_ns;
    return 0;
}

static int kill_all(restart_run *r, uint32_t kills, int64_t **t)
{
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0)
        return -errno;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int rc = 0;
    if (!pump_until(r, flowing, EVENT_TIMEOUT_NS)) {
        fprintf(stderr, "mqbench restart: the graph did not start flowing\n");
        rc = -ETIMEDOUT;
    }
    for (uint32_t k = 1; rc == 0 && k <= kills; k++) {
        t[I_FORK_EXEC][k - 1] = fork_exec_ns(r, null_fd);
        if (t[I_FORK_EXEC][k - 1] < 0) {
            fprintf(stderr, "mqbench restart: the baseline `%s/mqs-worker --help` failed\n", r->bin);
            rc = -EIO;
        }
        if (rc == 0)
            rc = kill_once(r, k, &rng, t);
    }
    close(null_fd);
    return rc;
}

/* SIGINT (SIGKILL if it does not end in time); mqrun's exit status, or -ETIMEDOUT. */
static int stop_mqrun(restart_run *r, int sig)
{
    kill(r->mqrun, sig);
    int64_t deadline = mqs_now_ns() + STOP_TIMEOUT_NS;
    for (;;) {
        int status;
        pid_t done = waitpid(r->mqrun, &status, WNOHANG);
        if (done == r->mqrun)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (done < 0)
            return -errno;
        if (mqs_now_ns() >= deadline) {
            kill(r->mqrun, SIGKILL);
            waitpid(r->mqrun, &status, 0);
            return -ETIMEDOUT;
        }
        pump(r, 10);
    }
}

/* ---- the end: pools, restarts ---- */

typedef struct final_counts {
    long long in_use, restarts, reclaimed;
} final_counts;

static json_t *last_stats_line(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *line = NULL, *last = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        free(last);
        last = strdup(line);
    }
    free(line);
    fclose(f);
    json_t *o = last ? json_loads(last, 0, NULL) : NULL;
    free(last);
    return o;
}

static long long sum_of(json_t *array, const char *key, const char *only_name)
{
    long long sum = 0;
    size_t i;
    json_t *e;
    json_array_foreach(array, i, e)
        if (!only_name || strcmp(json_string_value(json_object_get(e, "name")), only_name) == 0)
            sum += json_integer_value(json_object_get(e, key));
    return sum;
}

static int read_final(const char *path, final_counts *out)
{
    json_t *o = last_stats_line(path);
    if (!o || !json_is_true(json_object_get(o, "final"))) {
        fprintf(stderr, "mqbench restart: no final stats line in %s\n", path);
        json_decref(o);
        return -EIO;
    }
    out->in_use = sum_of(json_object_get(o, "pools"), "in_use", NULL);
    out->restarts = sum_of(json_object_get(o, "blocks"), "restarts", "pass");
    out->reclaimed = sum_of(json_object_get(o, "blocks"), "reclaimed", "pass");
    json_decref(o);
    return 0;
}

/* ---- report ---- */

typedef struct summary {
    int64_t p50[INTERVALS], p99[INTERVALS], max[INTERVALS];
} summary;

static void summarize(int64_t **t, uint32_t n, summary *s)
{
    for (int i = 0; i < INTERVALS; i++) {
        s->p50[i] = bench_percentile(t[i], n, 0.5);
        s->p99[i] = bench_percentile(t[i], n, 0.99);
        s->max[i] = bench_percentile(t[i], n, 1.0);
    }
}

static double ratio(const summary *s, int i)
{
    return s->p50[I_FORK_EXEC] > 0 ? (double)s->p50[i] / (double)s->p50[I_FORK_EXEC] : 0;
}

/* Detection and the first buffer after a restart, p99, in ms. */
static void restart_targets(const summary *s, bench_target t[2])
{
    bench_target_set(&t[0], "kill -> detection p99 < 10 ms", "%.3f ms", (double)s->p99[I_DETECT] / 1e6,
                     s->p99[I_DETECT] < DETECT_TARGET_NS);
    bench_target_set(&t[1], "kill -> first buffer after restart p99 < 100 ms", "%.3f ms", (double)s->p99[I_FIRST] / 1e6,
                     s->p99[I_FIRST] < FIRST_TARGET_NS);
}

static void print_table(const summary *s, uint32_t kills, const final_counts *fc)
{
    printf("source (%d samples/s) -> passthrough -> sink, three processes under mqrun; the passthrough\n"
           "SIGKILLed %u times (restart: always, max_restarts 0, backoff 0), microseconds (lower is better)\n\n",
           RATE_HZ, kills);
    printf("%-36s %10s %10s %10s %16s\n", "interval", "p50", "p99", "max", "p50/fork+exec");
    for (int i = 0; i < INTERVALS; i++)
        printf("%-36s %10.1f %10.1f %10.1f %15.2fx\n", interval_labels[i], (double)s->p50[i] / 1e3,
               (double)s->p99[i] / 1e3, (double)s->max[i] / 1e3, ratio(s, i));
    bench_target t[2];
    restart_targets(s, t);
    bench_print_targets(t, 2);
    printf("passthrough restarts: %lld, buffer references reclaimed: %lld\n", fc->restarts, fc->reclaimed);
    printf("pools in use at the end: %lld\n", fc->in_use);
}

static void print_json(const summary *s, uint32_t kills, const final_counts *fc)
{
    printf("{\"bench\":\"restart\",\"kills\":%u,\"rate_hz\":%d,\"results\":[", kills, RATE_HZ);
    for (int i = 0; i < INTERVALS; i++)
        printf("%s{\"interval\":\"%s\",\"p50_ns\":%lld,\"p99_ns\":%lld,\"max_ns\":%lld,\"p50_vs_fork_exec\":%.3f}",
               i ? "," : "", interval_names[i], (long long)s->p50[i], (long long)s->p99[i], (long long)s->max[i],
               ratio(s, i));
    printf("],\"restarts\":%lld,\"reclaimed\":%lld,\"pools_in_use_at_end\":%lld", fc->restarts, fc->reclaimed,
           fc->in_use);
    bench_target t[2];
    restart_targets(s, t);
    bench_json_targets(t, 2);
    printf("}\n");
}

/* ---- driver ---- */

static void restart_usage(FILE *out)
{
    fputs("usage: mqbench restart [--kills N] [--json] [--probe-dir DIR]\n"
          "  Runs source -> passthrough -> sink under mqrun (next to mqbench), SIGKILLs the passthrough N times\n"
          "  and times, per kill, mqrun's detection, the end of reclaim and the first buffer after the restart,\n"
          "  against fork+exec+wait of mqs-worker --help in the same run. Fails (exit 1) unless the passthrough\n"
          "  restarted once per kill and every pool has 0 buffers in use once the graph drained.\n"
          "  --kills N        kills (default 100)\n"
          "  --json           print {\"bench\":\"restart\",...} instead of the table\n"
          "  --probe-dir DIR  folder of mqs_block_probe_sink.so (default: <bin>/../bench/probe_sink)\n",
          out);
}

/* Start, kill, stop; then the final counts. 0, or a negative errno (said on stderr). */
static int run_bench(restart_run *r, uint32_t kills, int64_t **t, final_counts *fc)
{
    int rc = make_workdir(r);
    if (rc == 0)
        rc = start_mqrun(r);
    if (rc != 0) {
        fprintf(stderr, "mqbench restart: cannot start: %s\n", strerror(-rc));
        remove_workdir(r);
        return rc;
    }
    rc = kill_all(r, kills, t);
    int status = stop_mqrun(r, rc == 0 ? SIGINT : SIGTERM);
    if (rc == 0 && status != 0 && status != 1) { /* 1: a block failed, which the kills are */
        fprintf(stderr, "mqbench restart: mqrun ended with status %d\n", status);
        rc = -EIO;
    }
    if (rc == 0)
        rc = read_final(r->stats, fc);
    if (rc != 0)
        for (unsigned i = 0; i < TAIL_LINES; i++)
            if (r->tail[(r->tail_next + i) % TAIL_LINES][0])
                fprintf(stderr, "  %s\n", r->tail[(r->tail_next + i) % TAIL_LINES]);
    close(r->err_fd);
    close(r->probe_fd);
    remove_workdir(r);
    return rc;
}

typedef struct restart_options {
    long kills;
    bool json;
    const char *probe_dir; /* NULL: beside mqbench */
} restart_options;

/* 0, or the exit status to leave with (0 after --help, 2 for a bad option). */
static int parse_options(int argc, char **argv, restart_options *o, bool *leave)
{
    static const struct option opts[] = {{"kills", required_argument, 0, 'k'}, {"json", no_argument, 0, 'j'},
                                         {"probe-dir", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *o = (restart_options){.kills = 100};
    *leave = true;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'k')
            o->kills = strtol(optarg, NULL, 10);
        else if (c == 'j')
            o->json = true;
        else if (c == 'p')
            o->probe_dir = optarg;
        else {
            restart_usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (o->kills < 1 || o->kills > 1000000) {
        fprintf(stderr, "mqbench restart: --kills must be 1..1000000\n");
        return 2;
    }
    *leave = false;
    return 0;
}

/* Reports the run; 0 if it drained clean with one restart per kill, else 1. */
static int report(int64_t **t, uint32_t kills, bool json, const final_counts *fc)
{
    summary s;
    summarize(t, kills, &s);
    if (json)
        print_json(&s, kills, fc);
    else
        print_table(&s, kills, fc);
    if (fc->restarts != kills)
        fprintf(stderr, "mqbench restart: the passthrough was restarted %lld times for %u kills\n", fc->restarts,
                kills);
    if (fc->in_use != 0)
        fprintf(stderr, "mqbench restart: %lld buffers still in use after the graph drained\n", fc->in_use);
    return fc->in_use == 0 && fc->restarts == kills ? 0 : 1;
}

int bench_restart_main(int argc, char **argv)
{
    restart_options o;
    bool leave;
    int status = parse_options(argc, argv, &o, &leave);
    if (leave)
        return status;
    static restart_run run; /* large: keep it off the stack */
    if (locate(&run, o.probe_dir) != 0)
        return 1;
    uint32_t kills = (uint32_t)o.kills;
    int64_t *t[INTERVALS];
    bool allocated = true;
    for (int i = 0; i < INTERVALS; i++)
        allocated &= (t[i] = calloc(kills, sizeof(int64_t))) != NULL;
    final_counts fc = {0};
    status = allocated && run_bench(&run, kills, t, &fc) == 0 ? report(t, kills, o.json, &fc) : 1;
    for (int i = 0; i < INTERVALS; i++)
        free(t[i]);
    return status;
}
