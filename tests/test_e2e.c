/* End-to-end tests: real mqrun runs of real graph files, with real worker
 * processes. Exact counts come from the sinks' report files and from the
 * final line of --stats-json; after every run, nothing may be left in
 * /dev/shm and no worker process may survive. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

static void check_clean_sink(const char *report, const char *block, long long frames)
{
    json_t *r = report_of(report, block);
    cr_expect_eq(field(r, "frames"), frames, "%s frames", block);
    cr_expect_eq(field(r, "gaps"), 0, "%s gaps", block);
    cr_expect_eq(field(r, "corrupt"), 0, "%s corrupt", block);
    json_decref(r);
}

TestSuite(e2e, .init = make_workdir, .fini = remove_workdir, .timeout = 300);

Test(e2e, hello_runs_to_end_of_stream)
{
    char set_report[400];
    snprintf(set_report, sizeof set_report, "check.report=%s", tmp_path("report.json"));
    const char *args[] = {"-q", "--set", set_report, source_path("graphs/hello.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    check_clean_sink(tmp_path("report.json"), "check", 300);
    assert_nothing_left("hello");
}

Test(e2e, fan_out_every_sink_gets_every_frame)
{
    char sets[3][400];
    const char *names[] = {"check_a", "check_b", "check_c"};
    const char *args[16] = {"-q"};
    int n = 1;
    for (int i = 0; i < 3; i++) {
        snprintf(sets[i], sizeof sets[i], "%s.report=%s", names[i], tmp_path("report.json"));
        args[n++] = "--set";
        args[n++] = sets[i];
    }
    args[n++] = source_path("tests/graphs/e2e/fanout.yaml");
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    for (int i = 0; i < 3; i++)
        check_clean_sink(tmp_path("report.json"), names[i], 200);
    assert_nothing_left("mqstest_fanout");
}

/* y4m: a 44-byte-or-so stream header, then per frame "FRAME\n" + the planes. */
static long long y4m_frames(const char *path, long long frame_bytes)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "no y4m file %s", path);
    char header[256];
    cr_assert(fgets(header, sizeof header, f));
    cr_expect(strncmp(header, "YUV4MPEG2 W1280 H720 ", 21) == 0, "y4m header: %s", header);
    long long header_len = (long long)strlen(header);
    fseek(f, 0, SEEK_END);
    long long size = ftell(f);
    fclose(f);
    cr_assert_eq((size - header_len) % (6 + frame_bytes), 0, "y4m file size %lld is not whole frames", size);
    return (size - header_len) / (6 + frame_bytes);
}

Test(e2e, video_pipeline_counts_are_exact)
{
    char rec[400], st[400];
    snprintf(rec, sizeof rec, "recorder.file=%s", tmp_path("video.y4m"));
    snprintf(st, sizeof st, "stats.report=%s", tmp_path("report.json"));
    const char *args[] = {"-q", "--set", "camera.count=90", "--set", "camera.fps=0", "--set", rec, "--set", st,
                          "--stats-json", tmp_path("stats.jsonl"), source_path("graphs/video_pipeline.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    cr_expect_eq(y4m_frames(tmp_path("video.y4m"), 1280 * 720), 90);
    /* The stats sink's input may drop (drop_oldest): what arrived plus what
     * was dropped is everything, and the sink saw exactly what arrived. */
    json_t *c = final_connection(tmp_path("stats.jsonl"), "stats.in");
    long long popped = field(c, "popped"), dropped = field(c, "dropped");
    cr_expect_eq(popped + dropped, 90);
    json_t *rep = report_of(tmp_path("report.json"), "stats");
    cr_expect_eq(field(rep, "frames"), popped);
    json_decref(rep);
    json_decref(c);
    c = final_connection(tmp_path("stats.jsonl"), "recorder.in");
    cr_expect_eq(field(c, "popped"), 90);
    cr_expect_eq(field(c, "dropped"), 0);
    json_decref(c);
    assert_nothing_left("video_pipeline");
}

Test(e2e, sensor_graph_counts_are_exact)
{
    char sets[3][400];
    const char *blocks[] = {"imu_stats", "gps_stats", "odom_stats"};
    for (int i = 0; i < 3; i++)
        snprintf(sets[i], sizeof sets[i], "%s.report=%s", blocks[i], tmp_path("report.json"));
    const char *args[] = {"-q", "--set", "imu.count=100", "--set", "imu.rate=2000", "--set", "gps.count=7",
                          "--set", "gps.rate=100", "--set", "odom.count=33", "--set", "odom.rate=1000", "--set",
                          sets[0], "--set", sets[1], "--set", sets[2], source_path("graphs/sensors.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    const long long expect[] = {100, 7, 33};
    for (int i = 0; i < 3; i++) {
        json_t *rep = report_of(tmp_path("report.json"), blocks[i]);
        cr_expect_eq(field(rep, "frames"), expect[i], "%s", blocks[i]);
        json_decref(rep);
    }
    assert_nothing_left("sensors");
}

Test(e2e, sigint_stops_cleanly)
{
    char st[400];
    snprintf(st, sizeof st, "check.report=%s", tmp_path("report.json"));
    const char *args[] = {"-q", "--set", st, source_path("tests/graphs/e2e/endless.yaml"), NULL};
    run_result r;
    run_mqrun(args, 1500, &r);
    cr_assert_eq(r.status, 0, "mqrun after SIGINT (%d):\n%s", r.status, r.err);
    /* Sources stop first and the rest drains: the sink saw an unbroken run. */
    json_t *rep = report_of(tmp_path("report.json"), "check");
    cr_expect_gt(field(rep, "frames"), 10);
    cr_expect_eq(field(rep, "gaps"), 0);
    cr_expect_eq(field(rep, "corrupt"), 0);
    json_decref(rep);
    assert_nothing_left("mqstest_endless");
}

Test(e2e, duration_ends_the_run)
{
    const char *args[] = {"-q", "--duration", "700ms", source_path("tests/graphs/e2e/endless.yaml"), NULL};
    run_result r;
    int64_t t0 = mqs_now_ns();
    run_mqrun(args, 0, &r);
    int64_t took = mqs_now_ns() - t0;
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    cr_expect(took >= 700 * 1000000LL && took < 20 * 1000000000LL, "took %lld ns", (long long)took);
    assert_nothing_left("mqstest_endless");
}

Test(e2e, bad_param_is_a_clear_error_and_starts_nothing)
{
    const char *args[] = {"--set", "camera.fps=fast", source_path("graphs/hello.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 2, "status %d:\n%s", r.status, r.err);
    cr_expect(strstr(r.err, "camera.fps=fast") && strstr(r.err, "fps"), "message: %s", r.err);
    assert_nothing_left("hello");
}

Test(e2e, validate_prints_the_resolved_graph_and_starts_nothing)
{
    const char *args[] = {"--validate", "--set", "scale.width=640", source_path("graphs/video_pipeline.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "status %d:\n%s", r.status, r.err);
    cr_expect(strstr(r.out, "graph video_pipeline ("), "%s", r.out);
    /* Negotiated caps flow downstream: 1080p rgb24 -> gray8 -> the --set size. */
    cr_expect(strstr(r.out, "output out: video rgb24 1920x1080 @ 30/s, pool 8 x 6220800 B"), "%s", r.out);
    cr_expect(strstr(r.out, "output out: video gray8 640x720 @ 30/s, pool 8 x 460800 B"), "%s", r.out);
    cr_expect(strstr(r.out, "input in <- scale.out (depth 4, drop_oldest)"), "%s", r.out);
    assert_nothing_left("video_pipeline");
}

Test(e2e, a_killed_block_is_reclaimed_and_restarted)
{
    const char *args[] = {"-q", "--stats-json", tmp_path("stats.jsonl"), source_path("tests/graphs/e2e/restart.yaml"),
                          NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    usleep(1000 * 1000);
    pid_t victim = worker_pid("mqstest_restart", "check");
    cr_assert_gt(victim, 0, "no worker for block check");
    cr_assert_eq(kill(victim, SIGKILL), 0);
    usleep(1500 * 1000); /* the restart backoff is 100 ms */
    pid_t again = worker_pid("mqstest_restart", "check");
    cr_expect(again > 0 && again != victim, "check was not restarted (%d, was %d)", again, victim);
    kill(mqrun, SIGINT);
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_expect_eq(r.status, 1, "a failed block makes the run unclean: status %d\n%s", r.status, r.err);
    json_t *b = final_entry(tmp_path("stats.jsonl"), "blocks", "name", "check");
    cr_expect_eq(field(b, "restarts"), 1);
    json_decref(b);
    /* Whatever the killed sink held was given back: every pool is free. */
    json_t *all = final_stats(tmp_path("stats.jsonl"));
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(all, "pools"), i, p) cr_expect_eq(field(p, "in_use"), 0);
    json_decref(all);
    assert_nothing_left("mqstest_restart");
}
