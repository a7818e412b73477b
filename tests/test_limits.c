/* Limits and resource exhaustion (docs/fault-tolerance.md, "Limits and
 * exhaustion"): a graph file beyond a limit fails before anything is made
 * for it (the one-line cases are in test_graph.c's table; here the ones a
 * file in tests/graphs/bad cannot hold); a graph that needs more shared
 * memory than /dev/shm has starts nothing; a full disk, an exhausted pool
 * and too few file descriptors each end in a clear message and a clean stop
 * with nothing leaked; a run's objects are its owner's alone. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "graph/graph_load.h"
#include "test_util.h"

#define GIB (UINT64_C(1) << 30)
#define HINT_FILE "(hint: a graph file holds blocks, params and connections; keep data in files that params name)"
#define HINT_DEPTH "(hint: a graph needs 5: the top level, blocks, a block, its inputs, an input)"

static void suite_fini(void)
{
    mqst_teardown();
    remove_workdir();
}

TestSuite(limits, .init = make_workdir, .fini = suite_fini, .timeout = 120);
TestSuite(exhaustion, .init = make_workdir, .fini = suite_fini, .timeout = 300);
TestSuite(security, .init = make_workdir, .fini = suite_fini, .timeout = 300);

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, 1, "writing %s", path);
}

/* Load `path`, expecting failure with exactly `expected` (NULL: success; the graph is returned). */
static mqs_graph *load_expecting(const char *path, const char *expected)
{
    static char err[8192];
    mqs_graph *g = NULL;
    int rc = mqs_graph_load(path, NULL, 0, &g, err, sizeof err);
    if (!expected) {
        cr_assert_eq(rc, 0, "%s", err);
        return g;
    }
    cr_expect_eq(rc, -EINVAL, "%s: rc %d", path, rc);
    cr_expect_null(g);
    cr_expect_str_eq(err, expected);
    return NULL;
}

/* ---- graph files: what tests/graphs/bad cannot hold ---- */

#define PADDED_HEAD "name: padded\nblocks:\n  cam: { type: pattern_source }\n"

/* A graph file of exactly `size` bytes: one source, then a comment line. */
static void write_padded(const char *path, size_t size)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(PADDED_HEAD "#", f);
    for (size_t n = strlen(PADDED_HEAD) + 2; n < size; n++)
        fputc('-', f);
    fputc('\n', f);
    cr_assert_eq(fclose(f), 0);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((size_t)st.st_size, size, "padded file is %lld bytes", (long long)st.st_size);
}

Test(limits, a_file_over_1_mib_is_refused_before_it_is_read)
{
    const char *big = tmp_path("big.yaml"), *at_limit = tmp_path("at_limit.yaml");
    char expected[1024];
    write_padded(at_limit, MQS_GRAPH_MAX_FILE_SIZE);
    mqs_graph_free(load_expecting(at_limit, NULL));
    write_padded(big, MQS_GRAPH_MAX_FILE_SIZE + 1);
    snprintf(expected, sizeof expected,
             "%s: error: the graph file is 1048577 bytes, more than the limit of 1 MiB " HINT_FILE, big);
    load_expecting(big, expected);
}

/* Writes 2 MiB of comment lines into the FIFO at arg; dies of SIGPIPE once the reader stops reading. */
static int write_fifo(void *arg)
{
    signal(SIGPIPE, SIG_DFL);
    int fd = open(arg, O_WRONLY);
    if (fd < 0)
        return 1;
    char line[64];
    memset(line, '#', sizeof line);
    line[63] = '\n';
    for (int i = 0; i < 2 * 1048576 / 64; i++)
        if (write(fd, line, sizeof line) != (ssize_t)sizeof line)
            return 2;
    return 0;
}

Test(limits, a_pipe_is_read_no_further_than_the_limit)
{
    const char *fifo = tmp_path("graph.fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    pid_t writer = mqst_spawn(write_fifo, (void *)fifo);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s: error: the graph file is more than the limit of 1 MiB " HINT_FILE, fifo);
    load_expecting(fifo, expected);
    /* The reader closed after one byte past 1 MiB: the writer, 1 MiB short, got SIGPIPE. */
    cr_expect_eq(mqst_join(writer, MQST_PATIENCE), MQST_SIGNALED(SIGPIPE));
}

/* `count` openers, then a 1, then the closers: one hostile line. */
static void write_nested(const char *path, const char *open, const char *close, size_t count)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < count; i++)
        fputs(open, f);
    fputs("1", f);
    for (size_t i = 0; i < count; i++)
        fputs(close, f);
    fputc('\n', f);
    cr_assert_eq(fclose(f), 0);
}

Test(limits, hostile_nesting_stops_at_the_seventeenth_level)
{
    char expected[1024];
    const char *flow = tmp_path("flow.yaml"), *maps = tmp_path("maps.yaml"), *block = tmp_path("block.yaml");
    /* Half a million `[` (1 MB): refused where level 17 opens, without a crash or deep recursion. */
    write_nested(flow, "[", "]", 500000);
    snprintf(expected, sizeof expected, "%s:1:17: error: nesting deeper than the limit of 16 levels " HINT_DEPTH, flow);
    load_expecting(flow, expected);
    write_nested(maps, "{a: ", "}", 200000);
    snprintf(expected, sizeof expected, "%s:1:65: error: nesting deeper than the limit of 16 levels " HINT_DEPTH, maps);
    load_expecting(maps, expected);
    /* Block style: level k is the mapping starting at line k, column k. */
    FILE *f = fopen(block, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 100; i++)
        fprintf(f, "%*sk%d:\n", i, "", i);
    cr_assert_eq(fclose(f), 0);
    snprintf(expected, sizeof expected, "%s:17:17: error: nesting deeper than the limit of 16 levels " HINT_DEPTH,
             block);
    load_expecting(block, expected);
}

/* tests/graphs/bad/too_many_blocks.yaml has 257 blocks; 256 is the limit, still loaded. */
Test(limits, a_graph_may_have_256_blocks)
{
    const char *path = tmp_path("many.yaml");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("name: many\nblocks:\n", f);
    for (int i = 0; i < MQS_GRAPH_MAX_BLOCKS; i++)
        fprintf(f, "  b%03d: { type: pattern_source }\n", i);
    cr_assert_eq(fclose(f), 0);
    mqs_graph *g = load_expecting(path, NULL);
    cr_expect_eq(g->block_count, 256);
    mqs_graph_free(g);
}

/* ---- /dev/shm too small ---- */

Test(exhaustion, a_graph_bigger_than_dev_shm_starts_nothing)
{
    struct statvfs fs;
    cr_assert_eq(statvfs("/dev/shm", &fs), 0);
    uint64_t avail = (uint64_t)fs.f_bavail * fs.f_frsize, slots = avail / GIB + 1;
    if (slots * GIB >= MQS_GRAPH_MAX_POOLS_SIZE)
        cr_skip_test("/dev/shm has %llu MiB free: no graph within the pool limit outgrows it",
                     (unsigned long long)(avail >> 20));
    char graph[512];
    snprintf(graph, sizeof graph,
             "name: mqstest_limits_shm\nblocks:\n"
             "  cam:\n    type: pattern_source\n    params: { width: 64, height: 48, format: gray8, count: 10 }\n"
             "    outputs: { out: { slot_size: 1GiB, slots: %llu } }\n"
             "  sink: { type: null_sink, inputs: { in: cam.out } }\n",
             (unsigned long long)slots);
    write_text(tmp_path("shm.yaml"), graph);
    const char *args[] = {tmp_path("shm.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_expect_eq(r.status, 2, "status %d:\n%s", r.status, r.err);
    unsigned long long need, free_mib, pool, size;
    int n = sscanf(r.err,
                   "mqrun: error: the graph needs %llu MiB of shared memory, /dev/shm has %llu MiB free (hint: the "
                   "biggest pool, cam.out, takes %llu MiB: lower its `slots` or `slot_size`; or stop other runs; or, "
                   "as root, mount -o remount,size=%lluG /dev/shm)",
                   &need, &free_mib, &pool, &size);
    cr_assert_eq(n, 4, "message: %s", r.err);
    char again[1024];
    snprintf(again, sizeof again,
             "mqrun: error: the graph needs %llu MiB of shared memory, /dev/shm has %llu MiB free (hint: the biggest "
             "pool, cam.out, takes %llu MiB: lower its `slots` or `slot_size`; or stop other runs; or, as root, mount "
             "-o remount,size=%lluG /dev/shm)\n",
             need, free_mib, pool, size);
    cr_expect_str_eq(r.err, again, "one line, nothing else said or started");
    cr_expect_eq(pool, slots * 1024);
    /* The payload plus a small control segment (two blocks, one queue). */
    cr_expect(need > pool && need < pool + 64, "needs %llu MiB for %llu MiB of pools", need, pool);
    cr_expect_lt(free_mib, need);
    assert_nothing_left("mqstest_limits_shm");
}

/* ---- a full disk ---- */

Test(exhaustion, a_full_disk_fails_the_block_naming_the_file)
{
    write_text(tmp_path("full.yaml"),
               "name: mqstest_limits_full\nblocks:\n"
               "  camera:\n    type: pattern_source\n    params: { width: 64, height: 48, format: gray8, fps: 0, "
               "count: 50 }\n"
               "  rec:\n    type: y4m_sink\n    restart: never\n    inputs: { in: camera.out }\n"
               "    params: { file: /dev/full }\n");
    /* --duration only bounds a run that would hang, and cleans up after it. */
    const char *args[] = {"--duration", "60s", "--stats-json", tmp_path("stats.jsonl"), tmp_path("full.yaml"), NULL};
    run_result r;
    int64_t t0 = mqs_now_ns();
    run_mqrun(args, 0, &r);
    int64_t took = mqs_now_ns() - t0;
    cr_expect_lt(took, 30 * MQST_SEC, "the run did not end by itself once the sink failed (%lld ms)",
                 (long long)(took / MQST_MS));
    cr_expect_eq(r.status, 1, "a failed block: status %d\n%s", r.status, r.err);
    cr_expect(strstr(r.err, "rec: error: cannot write '/dev/full' after 0 frames: No space left on device (disk full: "
                            "free space or point param `file` elsewhere)\n"),
              "%s", r.err);
    cr_expect(strstr(r.err, "mqrun: block 'rec' (pid "), "%s", r.err);
    json_t *all = final_stats(tmp_path("stats.jsonl"));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(all, "pools"), i, p) cr_expect_eq(field(p, "in_use"), 0, "a buffer leaked");
    json_decref(all);
    assert_nothing_left("mqstest_limits_full");
}

/* ---- an exhausted pool ---- */

typedef struct pool_line {
    long long in_use, allocs, alloc_waits, queued, pushed, popped, dropped;
} pool_line;

static pool_line pool_line_of(json_t *stats)
{
    json_t *p = json_array_get(json_object_get(stats, "pools"), 0);
    json_t *c = json_array_get(json_object_get(stats, "connections"), 0);
    cr_assert(p && c, "stats line without its pool and connection");
    return (pool_line){field(p, "in_use"), field(p, "allocs"), field(p, "alloc_waits"), field(c, "queued"),
                       field(c, "pushed"),  field(c, "popped"), field(c, "dropped")};
}

/* Two stats lines in a row where both slots were taken (queued for the sink,
 * or the one it was given when it stopped) and the source allocated nothing,
 * having waited for a slot: the producer waited. (One wait may span both
 * lines: the count need not grow between them.) */
static bool producer_waited(const char *stats_path)
{
    FILE *f = fopen(stats_path, "r");
    cr_assert_not_null(f);
    char line[65536];
    pool_line prev = {-1, -1, -1, -1, -1, -1, -1};
    bool waited = false;
    while (!waited && fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL);
        cr_assert_not_null(o, "bad stats line: %s", line);
        pool_line now = pool_line_of(o);
        waited = now.in_use == 2 && now.allocs == prev.allocs && prev.in_use == 2 && now.alloc_waits > 0;
        prev = now;
        json_decref(o);
    }
    fclose(f);
    return waited;
}

/* The sink stops (SIGSTOP: the slowest sink there is) holding both slots
 * of its source's pool in its queue; the source waits for a slot, counted
 * in alloc_waits; a stop arriving then ends the wait; the sink, resumed,
 * drains; nothing is lost and nothing stays allocated. */
Test(exhaustion, an_exhausted_pool_makes_the_producer_wait_without_loss)
{
    write_text(tmp_path("pool.yaml"),
               "name: mqstest_limits_pool\nblocks:\n"
               "  camera:\n    type: pattern_source\n"
               "    params: { width: 64, height: 48, format: gray8, fps: 0, verify: true }\n"
               "    outputs: { out: { slots: 2 } }\n"
               "  check: { type: checksum_sink, inputs: { in: { from: camera.out, depth: 8 } } }\n");
    char report[400];
    snprintf(report, sizeof report, "check.report=%s", tmp_path("report.json"));
    const char *args[] = {"--stats=100ms", "--stats-json", tmp_path("stats.jsonl"), "--set", report,
                          tmp_path("pool.yaml"), NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    pid_t sink = -1;
    for (int i = 0; i < 500 && sink < 0; i++, usleep(10000))
        sink = worker_pid("mqstest_limits_pool", "check");
    cr_assert_gt(sink, 0, "no worker for block check");
    usleep(300 * 1000);
    cr_assert_eq(kill(sink, SIGSTOP), 0);
    usleep(1000 * 1000);
    int64_t stop = mqs_now_ns();
    kill(mqrun, SIGINT);
    usleep(300 * 1000);
    kill(sink, SIGCONT);
    run_result r;
    finish_mqrun(mqrun, &r);
    int64_t took = mqs_now_ns() - stop;
    cr_expect_eq(r.status, 0, "a clean stop: status %d\n%s", r.status, r.err);
    cr_expect_lt(took, 5 * MQST_SEC, "the stop took %lld ms: the waiting source did not see it",
                 (long long)(took / MQST_MS));
    cr_expect(producer_waited(tmp_path("stats.jsonl")), "no stats line shows the source waiting for a slot");
    json_t *final = final_stats(tmp_path("stats.jsonl"));
    pool_line end = pool_line_of(final);
    json_decref(final);
    json_t *rep = report_of(tmp_path("report.json"), "check");
    cr_expect_eq(end.in_use, 0);
    cr_expect_eq(end.dropped, 0);
    cr_expect_eq(end.pushed, end.allocs, "every buffer allocated was sent");
    cr_expect_eq(end.popped, end.pushed, "every buffer sent was received");
    cr_expect_eq(field(rep, "frames"), end.popped);
    cr_expect_eq(field(rep, "gaps"), 0);
    cr_expect_eq(field(rep, "corrupt"), 0);
    json_decref(rep);
    assert_nothing_left("mqstest_limits_pool");
}

/* ---- too few file descriptors ---- */

/* Like start_mqrun, with no descriptor but 0, 1 and 2 and a limit of `nofile`. */
static pid_t start_mqrun_with_nofile(const char *const *args, rlim_t nofile)
{
    const char *err_path = tmp_path("stderr.txt"), *out_path = tmp_path("stdout.txt");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
        dup2(open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        struct rlimit lim = {nofile, nofile};
        const char *argv[16] = {MQS_TEST_MQRUN};
        for (int i = 0; args[i] && i < 14; i++)
            argv[i + 1] = args[i];
        if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
            execv(MQS_TEST_MQRUN, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* With 4 descriptors mqrun holds its stats file in the fourth: the domain's
 * first object cannot be created, and mqrun says so and why. */
Test(exhaustion, too_few_file_descriptors_is_a_clear_error)
{
    write_text(tmp_path("fd.yaml"), "name: mqstest_limits_nofile\nblocks:\n"
                                    "  camera: { type: pattern_source, params: { count: 10, fps: 0, verify: true } }\n"
                                    "  check: { type: checksum_sink, inputs: { in: camera.out } }\n");
    const char *args[] = {"-q", "--stats-json", tmp_path("stats.jsonl"), tmp_path("fd.yaml"), NULL};
    run_result r;
    finish_mqrun(start_mqrun_with_nofile(args, 4), &r);
    cr_expect_eq(r.status, 2, "status %d:\n%s", r.status, r.err);
    char start[128];
    snprintf(start, sizeof start, "mqrun: error: cannot create shared-memory object /mqs.%u.mqstest_limits_nofile.",
             (unsigned)getuid());
    const char *end = ".ctl: Too many open files (hint: raise the limit on open files, e.g. ulimit -n 1024)\n";
    cr_expect_eq(strncmp(r.err, start, strlen(start)), 0, "%s", r.err);
    cr_expect(strlen(r.err) > strlen(end) && strcmp(r.err + strlen(r.err) - strlen(end), end) == 0, "%s", r.err);
    cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    assert_nothing_left("mqstest_limits_nofile");
}

/* ---- objects are their owner's ---- */

/* Permissions ("r--s") of the mapping of `object` in process pid, or "". */
static void mapping_of(pid_t pid, const char *object, char *perms)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    perms[0] = '\0';
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof line, f))
        if (strstr(line, object))
            sscanf(line, "%*s %4s", perms);
    fclose(f);
}

/* A real run's objects: named with the uid, mode 0600, owned by the user;
 * the consumer maps its upstream's payload read-only. (Creation O_EXCL and
 * mode 0600 of a bare domain are in test_domain.c.) */
Test(security, a_runs_objects_are_private_and_payloads_read_only_downstream)
{
    write_text(tmp_path("private.yaml"), "name: mqstest_limits_private\nblocks:\n"
                                         "  camera: { type: pattern_source, params: { width: 64, height: 48, "
                                         "verify: true } }\n"
                                         "  check: { type: checksum_sink, inputs: { in: camera.out } }\n");
    const char *args[] = {"-q", tmp_path("private.yaml"), NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    pid_t sink = -1, source = -1;
    for (int i = 0; i < 500 && (sink < 0 || source < 0); i++, usleep(10000)) {
        sink = worker_pid("mqstest_limits_private", "check");
        source = worker_pid("mqstest_limits_private", "camera");
    }
    cr_assert(sink > 0 && source > 0, "workers did not start");
    usleep(300 * 1000);
    char prefix[128], ctl[200], pool[200], perms[8];
    snprintf(prefix, sizeof prefix, "mqs.%u.mqstest_limits_private.", (unsigned)getuid());
    cr_expect_eq(mqst_shm_count_containing(prefix), 2, "one control and one payload object");
    char run[64] = "";
    DIR *dir = opendir("/dev/shm");
    cr_assert_not_null(dir);
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && n > strlen(prefix) + 4 &&
            strcmp(e->d_name + n - 4, ".ctl") == 0)
            snprintf(run, sizeof run, "%.*s", (int)(n - strlen(prefix) - 4), e->d_name + strlen(prefix));
    }
    closedir(dir);
    cr_assert(run[0], "no control object of the run");
    snprintf(ctl, sizeof ctl, "/%s%s.ctl", prefix, run);
    snprintf(pool, sizeof pool, "/%s%s.pool0", prefix, run);
    const char *objects[] = {ctl, pool};
    for (int i = 0; i < 2; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "/dev/shm%s", objects[i]);
        cr_assert_eq(stat(path, &st), 0, "%s", path);
        cr_expect_eq(st.st_mode & 07777, 0600, "%s", path);
        cr_expect_eq(st.st_uid, getuid(), "%s", path);
    }
    mapping_of(sink, pool, perms);
    cr_expect_str_eq(perms, "r--s", "the consumer's view of the payload");
    mapping_of(source, pool, perms);
    cr_expect_str_eq(perms, "rw-s", "the producer's view of the payload");
    kill(mqrun, SIGINT);
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 0, "status %d:\n%s", r.status, r.err);
    assert_nothing_left("mqstest_limits_private");
}

/* Root can open anyone's object, so the core refuses a domain another user
 * owns, naming the owner. Needs root to hand the objects to someone else. */
Test(security, attaching_to_another_users_domain_is_refused)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to give a domain's objects to another user");
    mqst_topo t;
    mqst_topo_init(&t, "limits_owner", 2);
    mqst_add_pool(&t, 1, 64, 2);
    mqs_domain *d = mqst_create(&t);
    char object[256], expected[512];
    const char *whats[] = {"ctl", "pool0"};
    for (int i = 0; i < 2; i++) {
        snprintf(object, sizeof object, "/dev/shm%s.%s", mqs_domain_name(d), whats[i]);
        cr_assert_eq(chown(object, 65534, 65534), 0, "%s: %s", object, strerror(errno));
    }
    mqs_domain *other = NULL;
    cr_expect_eq(mqs_domain_attach(mqs_domain_name(d), 1, &other), -EACCES);
    cr_expect_null(other);
    snprintf(expected, sizeof expected,
             "%s.ctl belongs to user 65534, not to you (user 0): a domain is only used by its owner",
             mqs_domain_name(d));
    cr_expect_str_eq((char *)mqs_last_error(), expected);
}
