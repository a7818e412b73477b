/* Fault tolerance end to end (docs/fault-tolerance.md): real mqrun runs of
 * tests/graphs/faults with the test-only block `faulty` (tests/blocks/faulty),
 * which crashes, hangs and misuses the SDK on purpose. Each fault gives its
 * exact log line and exit status; every run ends with each pool's in_use at
 * 0 and nothing left in /dev/shm; a killed mqrun takes every worker, and
 * what a block forked, with it within a second, and the next run starts
 * clean. Timing bounds are generous: a loaded 2-core machine, sanitizers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define MS 1000000LL

static void setup(void)
{
    make_workdir();
    setenv("MQS_BLOCK_PATH", MQS_TEST_FAULTY_BLOCKS, 1);
    /* Under AddressSanitizer a crash must still be the signal itself. */
    const char *asan = getenv("ASAN_OPTIONS");
    char options[1024];
    snprintf(options, sizeof options, "%s%shandle_segv=0", asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
}

TestSuite(faults, .init = setup, .fini = remove_workdir, .timeout = 120);

/* ---- reading what a run said ---- */

static const char *faults_graph(const char *file)
{
    static char path[600];
    snprintf(path, sizeof path, "%s", source_path("tests/graphs/faults"));
    snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", file);
    return path;
}

/* The first line of text that starts with `start` and contains `rest`
 * after it (e.g. past a pid), copied to out; false if none. */
static bool find_line(const char *text, const char *start, const char *rest, char *out, size_t size)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(out, size, "%.*s", (int)len, p);
        if (strncmp(out, start, strlen(start)) == 0 && strstr(out + strlen(start), rest))
            return true;
    }
    return false;
}

static void expect_line(const run_result *r, const char *start, const char *rest)
{
    char line[1024];
    cr_expect(find_line(r->err, start, rest, line, sizeof line), "no line '%s...%s' in:\n%s", start, rest, r->err);
}

static void expect_pools_free(const char *stats)
{
    json_t *all = final_stats(stats);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(all, "pools"), i, p)
        cr_expect_eq(field(p, "in_use"), 0, "pool %s in use at the end", json_string_value(json_object_get(p, "name")));
    json_decref(all);
}

static long long restarts_of(const char *stats, const char *block)
{
    return final_field(stats, "blocks", block, "restarts");
}

/* A checksum_sink's report: frames, gaps, missing, corrupt. */
static void sink_report(const char *report, const char *block, long long *frames, long long *missing,
                        long long *corrupt)
{
    json_t *r = report_of(report, block);
    *frames = field(r, "frames");
    *missing = field(r, "missing");
    *corrupt = field(r, "corrupt");
    json_decref(r);
}

/* "BLOCK.marker=WORKDIR/BLOCK.marker": the block misbehaves once. */
static const char *marker_set(const char *block)
{
    static char sets[4][400];
    static int next;
    char *s = sets[next++ % 4], file[64];
    snprintf(file, sizeof file, "%s.marker", block);
    snprintf(s, 400, "%s.marker=%s", block, tmp_path(file));
    return s;
}

/* The stats file's path, kept: tmp_path's buffers rotate. */
static const char *stats_path(void)
{
    static char path[400];
    snprintf(path, sizeof path, "%s", tmp_path("stats.jsonl"));
    return path;
}

static const char *report_set(const char *block)
{
    static char sets[2][400];
    static int next;
    char *s = sets[next++ % 2];
    snprintf(s, 400, "%s.report=%s", block, tmp_path("report.json"));
    return s;
}

/* ---- misbehaving blocks ---- */

Test(faults, misused_ids_and_ports_are_refused_and_harm_nothing)
{
    const char *args[] = {"--stats-json", stats_path(), "--set", report_set("check"),
                          faults_graph("refused.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "status %d:\n%s", r.status, r.err);
    static const char *const lines[] = {
        "made_up: error: refused to send buffer 0xfffe00000001 on output 0: no such buffer (a made-up ID) (hint: send "
        "what mqs_alloc or mqs_ref gave, once)\n",
        "stale: error: refused to send buffer 0x2000000000001 on output 0: a stale ID (that buffer was released) "
        "(hint: send what mqs_alloc or mqs_ref gave, once)\n",
        "twice: error: refused to release buffer 0x3000000000001: a stale ID (that buffer was released) (hint: "
        "release each reference once)\n",
        "port: error: refused to send on output 1: the block has 1 output (hint: outputs are numbered from 0, inputs "
        "apart)\n",
        "foreign: error: refused to send buffer 0x5000000000001 on output 0: the block holds no reference to it "
        "(hint: send what mqs_alloc or mqs_ref gave, once)\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        cr_expect_eq(occurrences(r.err, lines[i]), 1, "expected once: %s\nin:\n%s", lines[i], r.err);
    cr_expect_eq(occurrences(r.err, "refused"), 5, "%s", r.err);
    /* Stale and made-up IDs are counted by the pool they name. */
    const char *stats = stats_path();
    cr_expect_eq(final_field(stats, "pools", "src.out", "rejected_ids"), 1);
    cr_expect_eq(final_field(stats, "pools", "stale.out", "rejected_ids"), 1);
    cr_expect_eq(final_field(stats, "pools", "twice.out", "rejected_ids"), 1);
    cr_expect_eq(final_field(stats, "pools", "foreign.out", "rejected_ids"), 0);
    long long frames, missing, corrupt;
    sink_report(tmp_path("report.json"), "check", &frames, &missing, &corrupt);
    cr_expect_eq(frames, 60);
    cr_expect_eq(missing, 0);
    cr_expect_eq(corrupt, 0);
    expect_pools_free(stats);
    assert_nothing_left("mqstest_faults_refused");
}

/* ---- crashes ---- */

Test(faults, crashed_blocks_are_reclaimed_and_restarted)
{
    const char *args[] = {"--stats-json", stats_path(), "--set", report_set("check"),
                          "--set", marker_set("writer"), "--set", marker_set("segv"), "--set", marker_set("aborts"),
                          faults_graph("crashes.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 1, "a block failed: status %d:\n%s", r.status, r.err);
    /* Writing into a read-only input is a segfault like any other. */
    expect_line(&r, "mqrun: block 'writer' (pid ", ") was killed by signal 11 (Segmentation fault)");
    expect_line(&r, "mqrun: block 'segv' (pid ", ") was killed by signal 11 (Segmentation fault)");
    expect_line(&r, "mqrun: block 'aborts' (pid ", ") was killed by signal 6 (Aborted)");
    static const char *const blocks[] = {"writer", "segv", "aborts"};
    const char *stats = stats_path();
    for (int i = 0; i < 3; i++) {
        char line[200];
        snprintf(line, sizeof line, "mqrun: restarting block '%s' in 100 ms (restart 1; 1 in a row, at most 5)\n",
                 blocks[i]);
        cr_expect_eq(occurrences(r.err, line), 1, "%s in:\n%s", line, r.err);
        cr_expect_eq(restarts_of(stats, blocks[i]), 1, "%s", blocks[i]);
    }
    cr_expect_eq(restarts_of(stats, "src"), 0);
    cr_expect_eq(restarts_of(stats, "last"), 0);
    /* A block sees its producer's restarts (mqs_input_restarts). */
    cr_expect_eq(occurrences(r.err, "last: warning: the producer of input 0 was restarted (1 so far)\n"), 1, "%s",
                 r.err);
    long long frames, missing, corrupt;
    sink_report(tmp_path("report.json"), "check", &frames, &missing, &corrupt);
    cr_expect(frames > 0 && frames < 150, "frames %lld", frames);
    cr_expect_eq(frames + missing, 150, "every frame arrived intact or is counted missing");
    cr_expect_eq(corrupt, 0);
    expect_pools_free(stats);
    assert_nothing_left("mqstest_faults_crash");
}

/* A clean exit that never detached (a library's _exit(0)) still gives back
 * what the block held, and its slot is free for the restart. */
Test(faults, a_block_that_exits_without_detaching_gives_back_what_it_held)
{
    const char *args[] = {"--stats-json", stats_path(), "--set", report_set("check"),
                          "--set", marker_set("quits"), faults_graph("exit0.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "a clean exit is no failure: status %d:\n%s", r.status, r.err);
    const char *stats = stats_path();
    cr_expect_eq(restarts_of(stats, "quits"), 1, "%s", r.err);
    cr_expect_eq(final_field(stats, "blocks", "quits", "reclaimed"), 3, "the buffer in process() and the two kept");
    long long frames, missing, corrupt;
    sink_report(tmp_path("report.json"), "check", &frames, &missing, &corrupt);
    cr_expect_eq(frames + missing, 60);
    cr_expect_eq(corrupt, 0);
    expect_pools_free(stats);
    assert_nothing_left("mqstest_faults_exit0");
}

/* ---- hangs ---- */

/* A hung block killed after its limit (1000 ms), restarted, the run on. */
static void expect_hang_handled(const char *graph_file, const char *block, const char *start, const char *limit_text,
                                const char *name)
{
    const char *args[] = {"--stats-json", stats_path(), "--set", report_set("check"),
                          "--set", marker_set(block), faults_graph(graph_file), NULL};
    run_result r;
    int64_t t0 = mqs_now_ns();
    run_mqrun(args, 0, &r);
    int64_t took = mqs_now_ns() - t0;
    cr_assert_eq(r.status, 1, "status %d:\n%s", r.status, r.err);
    char line[1024];
    cr_assert(find_line(r.err, start, limit_text, line, sizeof line), "no '%s...%s' in:\n%s", start, limit_text, r.err);
    long long ms = 0;
    const char *after = strstr(line, " for ") ? strstr(line, " for ") : strstr(line, " after ");
    cr_assert(after && sscanf(strchr(after + 1, ' ') + 1, "%lld ms", &ms) == 1, "%s", line);
    cr_expect(ms >= 1000 && ms < 3000, "killed after %lld ms: %s", ms, line);
    cr_expect(took < 20000 * MS, "the run took %lld ms", (long long)(took / MS));
    const char *stats = stats_path();
    cr_expect_eq(restarts_of(stats, block), 1);
    long long frames, missing, corrupt;
    sink_report(tmp_path("report.json"), "check", &frames, &missing, &corrupt);
    cr_expect(frames > 0 && frames + missing == 100, "frames %lld, missing %lld", frames, missing);
    cr_expect_eq(corrupt, 0);
    expect_pools_free(stats);
    assert_nothing_left(name);
}

Test(faults, a_block_hung_in_process_is_killed_by_its_watchdog)
{
    expect_hang_handled("hang.yaml", "stuck", "mqrun: block 'stuck' (pid ",
                        ") is hung: a call made no progress for ", "mqstest_faults_hang");
    char line[1024];
    run_result r;
    read_file(tmp_path("stderr.txt"), r.err, sizeof r.err);
    cr_expect(find_line(r.err, "mqrun: block 'stuck' (pid ", " ms (watchdog 1000 ms); killing it", line, sizeof line),
              "%s", r.err);
}

Test(faults, a_block_hung_in_init_is_killed_by_its_init_timeout)
{
    expect_hang_handled("init_hang.yaml", "slow", "mqrun: block 'slow' (pid ",
                        ") is hung in init(): still in it after ", "mqstest_faults_init_hang");
    char line[1024];
    run_result r;
    read_file(tmp_path("stderr.txt"), r.err, sizeof r.err);
    cr_expect(find_line(r.err, "mqrun: block 'slow' (pid ", " ms (init_timeout 1000 ms); killing it", line,
                        sizeof line), "%s", r.err);
}

/* ---- restart policy ---- */

/* When each death of `block` was seen (mqrun -v), in order; how many. */
static int deaths_of(const char *err, const char *block, int64_t *seen, int max)
{
    char start[128];
    snprintf(start, sizeof start, "mqrun: death of block '%s' (pid ", block);
    int n = 0;
    for (const char *p = strstr(err, start); p && n < max; p = strstr(p + 1, start)) {
        const char *at = strstr(p, "(SIGCHLD seen at ");
        long long ns;
        if (at && sscanf(at, "(SIGCHLD seen at %lld ns", &ns) == 1)
            seen[n++] = ns;
    }
    return n;
}

Test(faults, a_block_failing_at_once_is_given_up_on_after_its_backoffs)
{
    const char *args[] = {"-v", "--stats-json", stats_path(), "--set", report_set("check"),
                          faults_graph("give_up.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 4, "a block was given up on: status %d:\n%s", r.status, r.err);
    static const char *const lines[] = {
        "mqrun: restarting block 'bad' in 50 ms (restart 1; 1 in a row, at most 3)\n",
        "mqrun: restarting block 'bad' in 80 ms (restart 2; 2 in a row, at most 3)\n",
        "mqrun: restarting block 'bad' in 80 ms (restart 3; 3 in a row, at most 3)\n",
        "mqrun: giving up on block 'bad' after 3 restarts in a row (max_restarts): its inputs are disconnected and "
        "its outputs closed\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        cr_expect_eq(occurrences(r.err, lines[i]), 1, "expected once: %s", lines[i]);
    cr_expect_eq(occurrences(r.err, "bad: error: init failed: Input/output error\n"), 4);
    /* Each restart waited its backoff (and not much more). */
    int64_t seen[8];
    cr_assert_eq(deaths_of(r.err, "bad", seen, 8), 4, "%s", r.err);
    static const int64_t backoff[] = {50 * MS, 80 * MS, 80 * MS};
    for (int i = 0; i < 3; i++) {
        int64_t gap = seen[i + 1] - seen[i];
        cr_expect(gap >= backoff[i] && gap < backoff[i] + 3000 * MS, "death %d to %d: %lld ms", i, i + 1,
                  (long long)(gap / MS));
    }
    const char *stats = stats_path();
    cr_expect_eq(restarts_of(stats, "bad"), 3);
    /* The sink after it ended; the source ran to its end, into the void. */
    long long frames, missing, corrupt;
    sink_report(tmp_path("report.json"), "check", &frames, &missing, &corrupt);
    cr_expect_eq(frames, 0);
    cr_expect_eq(final_field(stats, "pools", "src.out", "allocs"), 100);
    json_t *c = final_connection(stats, "bad.in");
    cr_expect_eq(field(c, "pushed") + field(c, "dropped"), 100, "every frame sent to it is queued or dropped");
    json_decref(c);
    expect_pools_free(stats);
    assert_nothing_left("mqstest_faults_give_up");
}

Test(faults, running_longer_than_the_restart_window_starts_the_count_over)
{
    const char *stats = stats_path();
    const char *args[] = {"--stats-json", stats, faults_graph("window_short.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 1, "restarted, never given up: status %d:\n%s", r.status, r.err);
    long long restarts = restarts_of(stats, "crashy");
    cr_expect(restarts >= 3, "restarts %lld", restarts);
    cr_expect_eq(occurrences(r.err, "(restart 3; 1 in a row, at most 1)\n"), 1, "%s", r.err);
    cr_expect_eq(occurrences(r.err, "giving up"), 0, "%s", r.err);
    expect_pools_free(stats);
    assert_nothing_left("mqstest_faults_window_short");

    args[2] = faults_graph("window_long.yaml");
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 4, "given up on: status %d:\n%s", r.status, r.err);
    cr_expect_eq(restarts_of(stats, "crashy"), 1, "%s", r.err);
    cr_expect_eq(occurrences(r.err, "mqrun: giving up on block 'crashy' after 1 restart in a row (max_restarts): its "
                                    "inputs are disconnected and its outputs closed\n"), 1, "%s", r.err);
    expect_pools_free(stats);
    assert_nothing_left("mqstest_faults_window_long");
}

/* Poll until `block` of the pass graph runs as a pid other than `not` (up to 5 s). */
static pid_t wait_for_worker(const char *graph, const char *block, pid_t not)
{
    for (int i = 0; i < 500; i++) {
        pid_t pid = worker_pid(graph, block);
        if (pid > 0 && pid != not)
            return pid;
        usleep(10000);
    }
    return -1;
}

Test(faults, a_passthrough_given_up_on_is_disconnected_and_the_source_goes_on)
{
    const char *graph = "mqstest_faults_pass", *stats = stats_path();
    const char *args[] = {"--stats-json", stats, faults_graph("give_up_pass.yaml"), NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    pid_t first = wait_for_worker(graph, "pass", 0);
    cr_assert_gt(first, 0, "no worker for pass");
    usleep(300 * 1000);
    cr_assert_eq(kill(first, SIGKILL), 0);
    pid_t second = wait_for_worker(graph, "pass", first);
    cr_assert_gt(second, 0, "pass was not restarted");
    usleep(200 * 1000);
    cr_assert_eq(kill(second, SIGKILL), 0);
    /* Given up on: the sink after it sees the end of its input and ends. */
    int waited = 0;
    while (worker_pid(graph, "check") > 0 && waited++ < 300)
        usleep(10000);
    cr_expect_eq(worker_pid(graph, "check"), -1, "the sink did not end");
    cr_expect_eq(worker_pid(graph, "pass"), -1, "pass was restarted again");
    /* The source goes on (100 frames a second): what it sends to the
     * disconnected block is dropped. */
    usleep(2000 * 1000);
    cr_expect_gt(worker_pid(graph, "src"), 0, "the source ended");
    kill(mqrun, SIGINT);
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 4, "status %d:\n%s", r.status, r.err);
    cr_expect_eq(occurrences(r.err, "mqrun: giving up on block 'pass' after 1 restart in a row (max_restarts): its "
                                    "inputs are disconnected and its outputs closed\n"), 1, "%s", r.err);
    cr_expect_eq(restarts_of(stats, "pass"), 1);
    json_t *c = final_connection(stats, "pass.in");
    cr_expect_gt(field(c, "dropped"), 100, "a second and more of sends to the disconnected block are dropped");
    json_decref(c);
    expect_pools_free(stats);
    assert_nothing_left(graph);
}

/* ---- a killed mqrun ---- */

/* Processes whose command line names the run's domain: workers, what their
 * blocks forked (a fork keeps the command line), wrapper shells. */
static int run_processes(const char *graph, const char *instance)
{
    char domain[160], inst[160];
    snprintf(domain, sizeof domain, "/mqs.%u.%s.", (unsigned)getuid(), graph);
    snprintf(inst, sizeof inst, " --instance %s ", instance ? instance : "");
    DIR *dir = opendir("/proc");
    cr_assert(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        char cmd[4096];
        read_cmdline(e->d_name, cmd, sizeof cmd);
        n += strstr(cmd, domain) && (!instance || strstr(cmd, inst));
    }
    closedir(dir);
    return n;
}

static const char *write_wrapper(const char *name, const char *body)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0700);
    return path;
}

/* Run forker.yaml (through `wrapper` as MQS_WORKER, or none), kill mqrun
 * with SIGKILL once the forker's child runs, and expect every process of the
 * run gone within 1 s; then a new run removes the stale objects and ends
 * clean. `forkers`: processes with --instance forker (worker, its child, a
 * wrapper shell). */
static void kill_mqrun_and_start_again(const char *wrapper, int forkers)
{
    const char *graph = "mqstest_faults_forker";
    if (wrapper) {
        setenv("MQS_WORKER", wrapper, 1);
        setenv("MQS_TEST_REAL_WORKER", MQS_TEST_WORKER, 1);
    }
    const char *args[] = {faults_graph("forker.yaml"), NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    int waited = 0;
    while ((run_processes(graph, "forker") < forkers || run_processes(graph, "check") < 1) && waited++ < 1000)
        usleep(10000);
    cr_assert_geq(run_processes(graph, "forker"), forkers, "the forker and its child are not running");
    usleep(300 * 1000); /* data flows */
    cr_assert_eq(kill(mqrun, SIGKILL), 0);
    int64_t t0 = mqs_now_ns();
    while (run_processes(graph, NULL) > 0 && mqs_now_ns() - t0 < 3000 * MS)
        usleep(5000);
    int64_t took = mqs_now_ns() - t0;
    cr_expect_eq(run_processes(graph, NULL), 0, "processes of the run outlived mqrun");
    cr_expect(took <= 1000 * MS, "the last process of the run died %lld ms after mqrun", (long long)(took / MS));
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 128 + SIGKILL);
    unsetenv("MQS_WORKER");
    cr_expect_eq(occurrences(r.err, "forker: error: the launcher (mqrun) is gone: stopping the block and what it "
                                    "started\n"), 1, "%s", r.err);

    const char *again[] = {"--duration", "300ms", faults_graph("forker.yaml"), NULL};
    run_mqrun(again, 0, &r);
    cr_expect_eq(r.status, 0, "status %d:\n%s", r.status, r.err);
    cr_expect_eq(occurrences(r.err, "mqrun: removed 1 stale run of graph 'mqstest_faults_forker' left by a process "
                                    "that died\n"), 1, "%s", r.err);
    assert_nothing_left(graph);
}

Test(faults, a_killed_mqrun_takes_its_workers_and_their_children_along)
{
    kill_mqrun_and_start_again(NULL, 2);
}

Test(faults, a_killed_mqrun_takes_workers_started_through_an_exec_wrapper_along)
{
    kill_mqrun_and_start_again(write_wrapper("worker.sh", "exec \"$MQS_TEST_REAL_WORKER\" \"$@\""), 2);
}

/* The worker's parent outlives mqrun: only the worker's own look at mqrun
 * (every 200 ms) notices, and it takes its process group along. */
Test(faults, a_killed_mqrun_takes_workers_whose_parent_outlives_it_along)
{
    if (system("setpriv --pdeathsig clear true >/dev/null 2>&1") != 0)
        cr_skip_test("setpriv --pdeathsig (util-linux 2.33 or later) is not available");
    const char *wrapper = write_wrapper("outliving.sh", "exec setpriv --pdeathsig clear sh -c '\"$0\" \"$@\"; exit $?' "
                                                        "\"$MQS_TEST_REAL_WORKER\" \"$@\"");
    kill_mqrun_and_start_again(wrapper, 3);
}

/* ---- the graph keys ---- */

Test(faults, supervision_keys_are_read_and_checked)
{
    const char *args[] = {"--validate", faults_graph("keys.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\nblock src: pattern_source (") &&
              strstr(r.out, "  restart: always (max_restarts no limit, restart_window 30s, backoff 250ms, "
                            "max_backoff 1s)\n  watchdog: 2s, init_timeout: off\n"), "%s", r.out);
    cr_expect(strstr(r.out, "  restart: on-failure (max_restarts 5, restart_window 1s, backoff 100ms, max_backoff "
                            "5s)\n  watchdog: off, init_timeout: 10s\n"), "defaults: %s", r.out);
    static const char *const bad[][2] = {
        {"bad_max_restarts.yaml", "3:46: error: max_restarts 'many' is not a number (hint: restarts in a row before "
                                  "the block is given up on, 0 for no limit, e.g. 5)"},
        {"bad_watchdog.yaml", "3:42: error: watchdog '0s' must be more than 0 (hint: how long one block call may go "
                              "without progress, e.g. 2s, or off)"},
        {"bad_window.yaml", "3:48: error: restart_window: 'soon' is not a duration (write a number with ns, us, ms or "
                            "s, e.g. 10ms)"},
        {"bad_backoff.yaml", "6:5: error: block 'src': max_backoff (500 ms) is less than backoff (2000 ms) (hint: "
                             "max_backoff caps the doubling backoff: make it at least backoff)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char expected[1024];
        const char *path = faults_graph(bad[i][0]);
        snprintf(expected, sizeof expected, "%s:%s\n", path, bad[i][1]);
        const char *check[] = {"--validate", path, NULL};
        run_mqrun(check, 0, &r);
        cr_expect_eq(r.status, 2, "%s", bad[i][0]);
        cr_expect_str_eq(r.err, expected);
    }
}
