/* End-to-end tests: real mqrun runs of real graph files, with real worker
 * processes. Exact counts come from the sinks' report files and from the
 * final line of --stats-json; after every run, nothing may be left in
 * /dev/shm and no worker process may survive. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
    cr_expect_eq(y4m_frames(tmp_path("video.y4m"), 1280 * 720 * 3 / 2), 90); /* gray8 as C420jpeg */
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

/* ---- pattern_source's verify, checksum_sink without records, y4m_sink's chroma ---- */

#define PY_W 65 /* tests/graphs/e2e/pattern_y4m.yaml: 3 gray8 bars frames */
#define PY_H 49
#define PY_FRAMES 3
#define PY_LUMA (PY_W * PY_H)
#define PY_CHROMA (2 * ((PY_W + 1) / 2) * ((PY_H + 1) / 2)) /* both planes, 33 x 25 each */

/* Runs pattern_y4m.yaml with `sets` (NULL-terminated --set values) and returns
 * the file it wrote (free it), its size in *size. */
static unsigned char *record_pattern(const char *const *sets, long *size)
{
    char file[400];
    snprintf(file, sizeof file, "rec.file=%s", tmp_path("pattern.y4m"));
    const char *args[16] = {"-q", "--set", file};
    int n = 3;
    for (int i = 0; sets[i]; i++) {
        args[n++] = "--set";
        args[n++] = sets[i];
    }
    args[n++] = source_path("tests/graphs/e2e/pattern_y4m.yaml");
    args[n] = NULL;
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    assert_nothing_left("mqstest_pattern_y4m");
    FILE *f = fopen(tmp_path("pattern.y4m"), "rb");
    cr_assert(f, "no y4m file");
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    rewind(f);
    unsigned char *data = malloc((size_t)*size + 1);
    cr_assert(data && fread(data, 1, (size_t)*size, f) == (size_t)*size);
    data[*size] = '\0';
    fclose(f);
    return data;
}

/* Frame k's planes (after its "FRAME\n") in a file of `header` then frames of `frame_bytes` each. */
static const unsigned char *y4m_frame(const unsigned char *file, const char *header, long frame_bytes, int k)
{
    const unsigned char *frame = file + strlen(header) + (long)k * (6 + frame_bytes);
    cr_assert_eq(memcmp(frame, "FRAME\n", 6), 0, "frame %d has no FRAME tag", k);
    return frame + 6;
}

/* Row 0 of gray8 bars 65 wide starts with four bars 8 pixels wide: white,
 * yellow, cyan, green in full-range BT.601 luma (blocks/README.md). */
static const unsigned char plain_corner[32] = {
    255, 255, 255, 255, 255, 255, 255, 255, 226, 226, 226, 226, 226, 226, 226, 226,
    178, 178, 178, 178, 178, 178, 178, 178, 149, 149, 149, 149, 149, 149, 149, 149,
};

Test(e2e, pattern_source_without_verify_sends_the_plain_pattern)
{
    static const char *const plain[] = {"rec.chroma=mono", NULL};
    static const char *const verified[] = {"rec.chroma=mono", "camera.verify=true", NULL};
    const char *header = "YUV4MPEG2 W65 H49 F30:1 Ip A1:1 Cmono\n";
    long size, vsize;
    unsigned char *file = record_pattern(plain, &size);
    unsigned char *vfile = record_pattern(verified, &vsize);
    cr_assert_eq(size, (long)strlen(header) + PY_FRAMES * (6 + PY_LUMA));
    cr_assert_eq(vsize, size);
    for (int k = 0; k < PY_FRAMES; k++) {
        const unsigned char *y = y4m_frame(file, header, PY_LUMA, k), *vy = y4m_frame(vfile, header, PY_LUMA, k);
        cr_expect_arr_eq(y, plain_corner, 32, "frame %d: the top-left corner is not the plain pattern", k);
        cr_expect_arr_eq(y + PY_W, plain_corner, 32, "frame %d: row 1 is not row 0", k);
        /* verify: true: the record over bytes 0-31 (magic "MSV1", reserved 0, seq, length), the rest as is */
        unsigned char record[24] = {'M', 'S', 'V', '1', 0, 0, 0, 0, (unsigned char)k, 0, 0, 0, 0, 0, 0, 0,
                                    PY_LUMA & 0xff, PY_LUMA >> 8};
        cr_expect_arr_eq(vy, record, sizeof record, "frame %d: no record with verify: true", k);
        cr_expect_arr_eq(vy + 32, y + 32, PY_LUMA - 32, "frame %d: verify changed more than the record", k);
    }
    free(file);
    free(vfile);
}

Test(e2e, checksum_sink_without_records_fails_saying_how_to_fix_it)
{
    char report[400];
    snprintf(report, sizeof report, "check.report=%s", tmp_path("report.json"));
    const char *args[] = {"--set", "camera.verify=false", "--set", "camera.fps=0", "--set", "camera.count=20",
                          "--set", report, source_path("graphs/hello.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_expect_eq(r.status, 4, "the sink is given up on: status %d\n%s", r.status, r.err);
    cr_expect(strstr(r.err, "check: error: input 'in': frame seq 0 carries no verification record (magic ffffffff, "
                            "reserved ffffffff), so there is nothing to check (hint: set `verify: true` on the "
                            "pattern_source feeding it)\n"),
              "%s", r.err);
    /* Refused, not counted as corrupt: the sink's last run counted nothing. */
    json_t *rep = report_of(tmp_path("report.json"), "check");
    cr_expect_eq(field(rep, "frames"), 0);
    cr_expect_eq(field(rep, "corrupt"), 0);
    json_decref(rep);
    assert_nothing_left("hello");
}

Test(e2e, y4m_sink_writes_grey_as_420_with_neutral_chroma_by_default)
{
    static const char *const none[] = {NULL};
    static const char *const mono[] = {"rec.chroma=mono", NULL};
    const char *header = "YUV4MPEG2 W65 H49 F30:1 Ip A1:1 C420jpeg\n";
    long size, msize;
    unsigned char *file = record_pattern(none, &size);
    unsigned char *mfile = record_pattern(mono, &msize);
    cr_assert_eq(strncmp((const char *)file, header, strlen(header)), 0, "header: %.60s", file);
    cr_assert_eq(size, (long)strlen(header) + PY_FRAMES * (6 + PY_LUMA + PY_CHROMA));
    static unsigned char neutral[PY_CHROMA];
    memset(neutral, 128, sizeof neutral);
    const char *mheader = "YUV4MPEG2 W65 H49 F30:1 Ip A1:1 Cmono\n";
    for (int k = 0; k < PY_FRAMES; k++) {
        const unsigned char *y = y4m_frame(file, header, PY_LUMA + PY_CHROMA, k);
        cr_expect_arr_eq(y + PY_LUMA, neutral, PY_CHROMA, "frame %d: chroma bytes are not all 128", k);
        cr_expect_arr_eq(y, y4m_frame(mfile, mheader, PY_LUMA, k), PY_LUMA, "frame %d: luma differs from mono", k);
    }
    free(file);
    free(mfile);
}

Test(e2e, y4m_sink_writes_mono_when_asked_and_i420_as_it_is)
{
    static const char *const mono[] = {"rec.chroma=mono", NULL};
    static const char *const i420_mono[] = {"rec.chroma=mono", "camera.format=i420", NULL};
    static const char *const i420[] = {"camera.format=i420", NULL};
    const char *mheader = "YUV4MPEG2 W65 H49 F30:1 Ip A1:1 Cmono\n";
    const char *header = "YUV4MPEG2 W65 H49 F30:1 Ip A1:1 C420jpeg\n";
    long size, isize, csize;
    unsigned char *file = record_pattern(mono, &size);
    cr_assert_eq(strncmp((const char *)file, mheader, strlen(mheader)), 0, "header: %.60s", file);
    cr_assert_eq(size, (long)strlen(mheader) + PY_FRAMES * (6 + PY_LUMA));
    /* i420 as mono: its Y plane alone, the same luma as gray8's */
    unsigned char *ifile = record_pattern(i420_mono, &isize);
    cr_assert_eq(isize, size);
    cr_expect_arr_eq(ifile, file, size);
    /* i420 as 420: the frame as it is, colour kept: U of the white bar 128, of the yellow one 1 */
    unsigned char *cfile = record_pattern(i420, &csize);
    cr_assert_eq(strncmp((const char *)cfile, header, strlen(header)), 0, "header: %.60s", cfile);
    cr_assert_eq(csize, (long)strlen(header) + PY_FRAMES * (6 + PY_LUMA + PY_CHROMA));
    const unsigned char *u = y4m_frame(cfile, header, PY_LUMA + PY_CHROMA, 0) + PY_LUMA;
    cr_expect_eq(u[0], 128);
    cr_expect_eq(u[4], 1);
    cr_expect_arr_eq(u - PY_LUMA, y4m_frame(file, mheader, PY_LUMA, 0), PY_LUMA);
    free(file);
    free(ifile);
    free(cfile);
}

/* y4m_source reads both back: 4:2:0 as i420 (grey with neutral chroma), mono as gray8. */
Test(e2e, y4m_source_reads_back_what_y4m_sink_wrote)
{
    static const char *const chroma[2] = {"rec.chroma=420", "rec.chroma=mono"};
    static const char *const caps[2] = {"output out: video i420 65x49 @ 30/s", "output out: video gray8 65x49 @ 30/s"};
    for (int m = 0; m < 2; m++) {
        const char *const sets[] = {chroma[m], NULL};
        long size, copy_size;
        unsigned char *file = record_pattern(sets, &size);
        char in[400], out[400];
        snprintf(in, sizeof in, "play.file=%s", tmp_path("pattern.y4m"));
        snprintf(out, sizeof out, "rec.file=%s", tmp_path("copy.y4m"));
        const char *validate[] = {"--validate", "--set", in, source_path("tests/graphs/e2e/y4m_copy.yaml"), NULL};
        const char *args[] = {"-q", "--set", in, "--set", out, "--set", chroma[m],
                              source_path("tests/graphs/e2e/y4m_copy.yaml"), NULL};
        run_result r;
        run_mqrun(validate, 0, &r);
        cr_assert_eq(r.status, 0, "%s", r.err);
        cr_expect(strstr(r.out, caps[m]), "%s: %s", chroma[m], r.out);
        run_mqrun(args, 0, &r);
        cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
        assert_nothing_left("mqstest_y4m_copy");
        FILE *f = fopen(tmp_path("copy.y4m"), "rb");
        cr_assert(f);
        unsigned char *copy = malloc((size_t)size + 1);
        copy_size = (long)fread(copy, 1, (size_t)size + 1, f);
        fclose(f);
        cr_expect_eq(copy_size, size, "%s: copy of %ld bytes, file %ld", chroma[m], copy_size, size);
        cr_expect_arr_eq(copy, file, (size_t)size, "%s: the copy differs", chroma[m]);
        free(copy);
        free(file);
    }
}
