/* The GStreamer bridge blocks end to end: real mqrun runs of the graphs in
 * tests/graphs/gst, each in the test's work directory (the graphs name their
 * files relative to it). Frames go videotestsrc -> gst_source -> our C
 * blocks -> gst_sink; the references come from gst-launch-1.0 running the
 * same description in one process, and gst-discoverer-1.0 reads what the
 * encoders wrote. Bad descriptions and formats must be clear errors, and no
 * run may leave shared memory or a worker behind. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_util.h"

static void enter_workdir(void)
{
    make_workdir();
    cr_assert_eq(chdir(tmp_path(".")), 0);
}

static void leave_workdir(void)
{
    cr_expect_eq(chdir("/"), 0);
    remove_workdir();
}

TestSuite(gst, .init = enter_workdir, .fini = leave_workdir, .timeout = 240);

/* mqrun on tests/graphs/gst/NAME.yaml with extra args (NULL-terminated list), stats to stats.jsonl. */
static void run_graph(const char *name, const char *const *extra, run_result *r)
{
    char graph[256];
    snprintf(graph, sizeof graph, "tests/graphs/gst/%s.yaml", name);
    const char *args[24] = {"-q", "--stats-json", tmp_path("stats.jsonl")};
    int n = 3;
    for (int i = 0; extra && extra[i] && n < 22; i++)
        args[n++] = extra[i];
    args[n++] = source_path(graph);
    args[n] = NULL;
    run_mqrun(args, 0, r);
}

/* Report `key` of block `block` in the run's final stats. */
static long long report_value(const char *block, const char *key)
{
    json_t *b = final_entry(tmp_path("stats.jsonl"), "blocks", "name", block);
    json_t *v = json_object_get(json_object_get(b, "reports"), key);
    cr_assert(json_is_number(v), "block %s has no report %s: %s", block, key, json_dumps(b, 0));
    long long value = (long long)json_number_value(v);
    json_decref(b);
    return value;
}

static long long file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "no file %s", path);
    return (long long)st.st_size;
}

/* The whole file (malloc'd; *size its length). */
static uint8_t *slurp(const char *path, long long *size)
{
    *size = file_size(path);
    uint8_t *data = malloc((size_t)*size + 1);
    FILE *f = fopen(path, "rb");
    cr_assert(data && f);
    cr_assert_eq(fread(data, 1, (size_t)*size, f), (size_t)*size);
    fclose(f);
    return data;
}

/* A command's standard output; asserts it exits 0. */
static void command_output(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    cr_assert_eq(status, 0, "%s: status %d\n%s", cmd, status, out);
}

/* gst-launch-1.0 DESC, quietly; asserts it succeeds. */
static void gst_launch(const char *desc)
{
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "gst-launch-1.0 -q %s 2>&1", desc);
    command_output(cmd, out, sizeof out);
}

/* Frames in an encoded file: decoded to GRAY8 at its size, counted by bytes. */
static long long decoded_frames(const char *file, long long width, long long height)
{
    char desc[512];
    snprintf(desc, sizeof desc,
             "filesrc location=%s ! decodebin ! videoconvert ! video/x-raw,format=GRAY8,width=%lld,height=%lld ! "
             "videoscale ! filesink location=decoded.raw", file, width, height);
    gst_launch(desc);
    long long size = file_size("decoded.raw");
    cr_assert_eq(size % (width * height), 0, "decoded %lld bytes: not whole %lldx%lld frames", size, width, height);
    return size / (width * height);
}

/* ---- the layouts: GStreamer's default (rows padded to 4 bytes, I420 planes apart) ---- */

typedef struct plane {
    size_t offset, stride, row, rows; /* in a GStreamer frame; row: the bytes of a row that are pixels */
} plane;

typedef struct layout {
    int planes;
    plane p[3];
    size_t size;   /* GStreamer's frame */
    size_t packed; /* ours */
} layout;

static size_t round4(size_t x) { return (x + 3) & ~(size_t)3; }

/* What GStreamer's video-info does for RGB and I420 (fill_planes). */
static layout gst_layout(bool i420, size_t w, size_t h)
{
    layout l = {.planes = 1};
    if (!i420) {
        l.p[0] = (plane){0, round4(3 * w), 3 * w, h};
        l.size = l.p[0].stride * h, l.packed = 3 * w * h;
        return l;
    }
    size_t cw = (w + 1) / 2, ch = (h + 1) / 2, h2 = (h + 1) & ~(size_t)1, cs = round4(cw);
    l.planes = 3;
    l.p[0] = (plane){0, round4(w), w, h};
    l.p[1] = (plane){l.p[0].stride * h2, cs, cw, ch};
    l.p[2] = (plane){l.p[1].offset + cs * (h2 / 2), cs, cw, ch};
    l.size = l.p[2].offset + cs * (h2 / 2), l.packed = w * h + 2 * cw * ch;
    return l;
}

/* Visible bytes of frame `f` of two GStreamer-layout files are equal. */
static void expect_same_frame(const uint8_t *a, const uint8_t *b, const layout *l, long long f)
{
    for (int p = 0; p < l->planes; p++)
        for (size_t r = 0; r < l->p[p].rows; r++) {
            size_t at = (size_t)f * l->size + l->p[p].offset + r * l->p[p].stride;
            cr_assert(memcmp(a + at, b + at, l->p[p].row) == 0, "frame %lld plane %d row %zu differs", f, p, r);
        }
}

/* Frame f of a y4m file of `frames` frames (a header, then "FRAME\n" and
 * the frame each) starts with `expect` (n bytes): a gray8 frame may be
 * written with neutral chroma planes after it. */
static void expect_y4m_frame(const uint8_t *y4m, long long y4m_size, long long frames, long long f, const uint8_t *expect,
                             size_t n)
{
    const uint8_t *body = memchr(y4m, '\n', (size_t)y4m_size);
    cr_assert(body, "no y4m header");
    body++;
    long long each = (y4m_size - (body - y4m)) / frames;
    cr_assert_eq(each * frames, y4m_size - (body - y4m), "the y4m file is not %lld whole frames", frames);
    cr_assert_geq(each, (long long)(6 + n));
    const uint8_t *at = body + f * each;
    cr_assert(memcmp(at, "FRAME\n", 6) == 0, "frame %lld has no FRAME marker", f);
    cr_assert(memcmp(at + 6, expect, n) == 0, "y4m frame %lld differs from GStreamer's", f);
}

/* Our packed frame f made from a GStreamer-layout file: planes without padding;
 * gray: RGB turned to luma as the grayscale block does. */
static size_t pack_frame(const uint8_t *g, const layout *l, long long f, bool gray, uint8_t *out)
{
    size_t n = 0;
    for (int p = 0; p < l->planes; p++)
        for (size_t r = 0; r < l->p[p].rows; r++) {
            const uint8_t *row = g + (size_t)f * l->size + l->p[p].offset + r * l->p[p].stride;
            if (!gray) {
                memcpy(out + n, row, l->p[p].row);
                n += l->p[p].row;
                continue;
            }
            for (size_t x = 0; x < l->p[p].row; x += 3)
                out[n++] = (uint8_t)((77 * row[x] + 150 * row[x + 1] + 29 * row[x + 2] + 128) >> 8);
        }
    return n;
}

/* ---- runs that go through ---- */

Test(gst, every_frame_arrives_exactly_once)
{
    const long long frames = 25, w = 160, h = 120;
    for (int copy = 0; copy < 2; copy++) { /* lent to GStreamer, then copied (max_wrapped 0) */
        const char *extra[] = {"--set", "sink.max_wrapped=0", NULL};
        run_result r;
        run_graph("raw", copy ? extra : NULL, &r);
        cr_assert_eq(r.status, 0, "mqrun (%d):\n%s", r.status, r.err);
        cr_expect_eq(report_value("src", "frames"), frames);
        cr_expect_eq(report_value("sink", "frames"), frames);
        cr_expect_eq(report_value("sink", "zero_copy"), copy ? 0 : frames);
        cr_expect_eq(report_value("sink", "copied"), copy ? frames : 0);
        cr_expect_eq(final_field(tmp_path("stats.jsonl"), "pools", "src.out", "in_use"), 0);
        cr_expect_eq(file_size("gray.raw"), frames * w * h, "gray8 %lldx%lld frames, no more, no less", w, h);
        assert_nothing_left("mqstest_gst_raw");
    }
    /* The content: GStreamer's RGB frames of the same description, to luma as grayscale does. */
    gst_launch("videotestsrc num-buffers=25 pattern=ball ! video/x-raw,framerate=30/1 ! videoscale ! videoconvert ! "
               "video/x-raw,format=RGB,width=160,height=120 ! filesink location=ref.raw");
    long long ref_size, gray_size;
    uint8_t *ref = slurp("ref.raw", &ref_size), *gray = slurp("gray.raw", &gray_size);
    layout l = gst_layout(false, (size_t)w, (size_t)h);
    cr_assert_eq(ref_size, frames * (long long)l.size);
    static uint8_t expect[160 * 120];
    for (long long f = 0; f < frames; f++) {
        cr_assert_eq(pack_frame(ref, &l, f, true, expect), sizeof expect);
        cr_assert(memcmp(gray + f * w * h, expect, sizeof expect) == 0, "frame %lld is not GStreamer's, in grey", f);
    }
    free(ref);
    free(gray);
}

/* The copy graphs: GStreamer's frames through our packed layout and back. */
static void check_copy(const char *graph, bool i420, size_t w, size_t h, const char *ref_caps)
{
    const long long frames = 12;
    run_result r;
    run_graph(graph, NULL, &r);
    cr_assert_eq(r.status, 0, "mqrun (%d):\n%s", r.status, r.err);
    cr_expect_eq(report_value("sink", "frames"), frames);
    cr_expect_eq(report_value("sink", "copied"), frames, "a padded layout cannot be lent");
    char desc[512];
    snprintf(desc, sizeof desc,
             "videotestsrc num-buffers=12 pattern=smpte ! video/x-raw,width=%zu,height=%zu ! videoscale ! "
             "videoconvert ! %s ! filesink location=ref.raw", w, h, ref_caps);
    gst_launch(desc);
    layout l = gst_layout(i420, w, h);
    long long ref_size, out_size, y4m_size;
    uint8_t *ref = slurp("ref.raw", &ref_size), *out = slurp("copy.raw", &out_size), *y4m = slurp("copy.y4m", &y4m_size);
    cr_assert_eq(ref_size, frames * (long long)l.size);
    cr_assert_eq(out_size, ref_size, "gst_sink wrote %lld bytes, GStreamer's own frames take %lld", out_size, ref_size);
    uint8_t *packed = malloc(l.packed);
    for (long long f = 0; f < frames; f++) {
        expect_same_frame(ref, out, &l, f);
        size_t n = pack_frame(ref, &l, f, !i420, packed);
        expect_y4m_frame(y4m, y4m_size, frames, f, packed, n);
    }
    free(packed);
    free(ref);
    free(out);
    free(y4m);
}

Test(gst, padded_rgb_rows_are_copied_row_by_row)
{
    check_copy("copy_rgb", false, 98, 50, "video/x-raw,format=RGB,width=98,height=50");
    assert_nothing_left("mqstest_gst_copy_rgb");
}

Test(gst, odd_i420_planes_are_repacked)
{
    check_copy("copy_i420", true, 97, 51, "video/x-raw,format=I420,width=97,height=51,colorimetry=1:4:0:0");
    assert_nothing_left("mqstest_gst_copy_i420");
}

/* gst-discoverer-1.0's line "KEY: VALUE" (the first one), as text. */
static void discovered(const char *text, const char *key, char *value, size_t cap)
{
    const char *at = strstr(text, key);
    cr_assert(at, "gst-discoverer-1.0 gives no %s:\n%s", key, text);
    at += strlen(key);
    size_t n = strcspn(at, "\n");
    snprintf(value, cap, "%.*s", (int)(n < cap ? n : cap - 1), at);
}

Test(gst, an_mp4_encode_is_a_file_gstreamer_reads)
{
    run_result r;
    run_graph("mp4", NULL, &r);
    cr_assert_eq(r.status, 0, "mqrun (%d):\n%s", r.status, r.err);
    cr_expect_eq(report_value("sink", "frames"), 30);
    char info[8192], v[64];
    command_output("gst-discoverer-1.0 out.mp4", info, sizeof info);
    discovered(info, "Duration: ", v, sizeof v);
    cr_expect_str_eq(v, "0:00:01.000000000", "30 frames at 30 fps, timestamps kept");
    discovered(info, "Width: ", v, sizeof v);
    cr_expect_str_eq(v, "320");
    discovered(info, "Height: ", v, sizeof v);
    cr_expect_str_eq(v, "240");
    discovered(info, "video #", v, sizeof v);
    cr_expect(strstr(v, "H.264"), "%s", v);
    cr_expect_eq(decoded_frames("out.mp4", 320, 240), 30);
    assert_nothing_left("mqstest_gst_mp4");
}

Test(gst, an_encoder_holding_frames_gets_copies_beyond_the_cap)
{
    run_result r;
    run_graph("held", NULL, &r);
    cr_assert_eq(r.status, 0, "mqrun (%d):\n%s", r.status, r.err);
    long long lent = report_value("sink", "zero_copy"), copied = report_value("sink", "copied");
    cr_expect_eq(report_value("sink", "frames"), 40);
    cr_expect_eq(lent + copied, 40);
    cr_expect_geq(lent, 4, "the first 4 frames (half of 8 slots) are lent");
    cr_expect_gt(copied, 0, "x264enc keeps more than 4 frames: the rest must be copied");
    cr_expect_eq(final_field(tmp_path("stats.jsonl"), "pools", "src.out", "in_use"), 0);
    cr_expect_eq(decoded_frames("held.mp4", 320, 240), 40);
    assert_nothing_left("mqstest_gst_held");
}

Test(gst, lending_every_upstream_slot_is_refused)
{
    const char *extra[] = {"--set", "sink.max_wrapped=8", NULL};
    run_result r;
    run_graph("held", extra, &r);
    cr_expect_eq(r.status, 2, "status %d:\n%s", r.status, r.err);
    cr_expect(strstr(r.err, "block 'sink' (gst_sink): max_wrapped 8 leaves the upstream pool (8 slots) nothing to "
                            "allocate") && strstr(r.err, "hint: at most 7"), "%s", r.err);
    assert_nothing_left("mqstest_gst_held");
}

Test(gst, a_stopped_live_source_still_gives_a_finished_file)
{
    const char *extra[] = {"--duration", "1500ms", NULL};
    run_result r;
    run_graph("live", extra, &r);
    cr_assert_eq(r.status, 0, "mqrun (%d):\n%s", r.status, r.err);
    long long frames = report_value("sink", "frames");
    cr_expect_eq(report_value("src", "frames"), frames);
    cr_expect(frames >= 15 && frames <= 60, "%lld frames in 1.5 s at 30 fps", frames);
    char info[8192], v[64];
    command_output("gst-discoverer-1.0 live.mp4", info, sizeof info);
    discovered(info, "Width: ", v, sizeof v);
    cr_expect_str_eq(v, "160");
    cr_expect_eq(decoded_frames("live.mp4", 160, 120), frames);
    /* pts = the graph's start + GStreamer's running time = the capture time. */
    json_t *stats = report_of("stats.json", "stats");
    long long p50 = field(stats, "lat_ns_p50"), p99 = field(stats, "lat_ns_p99");
    cr_expect(p50 >= 0 && p99 < 200 * 1000000LL, "arrival - pts: p50 %lld ns, p99 %lld ns", p50, p99);
    cr_expect_eq(field(stats, "frames"), frames);
    json_decref(stats);
    assert_nothing_left("mqstest_gst_live");
}

/* "H:MM:SS.NNNNNNNNN" after `key` in `line`, in ns; -1 when absent. */
static long long clock_after(const char *line, const char *key)
{
    const char *at = strstr(line, key);
    unsigned h, m, sec;
    unsigned long ns;
    if (!at || sscanf(at + strlen(key), "%u:%u:%u.%lu", &h, &m, &sec, &ns) != 4)
        return -1;
    return (((long long)h * 60 + m) * 60 + sec) * 1000000000LL + (long long)ns;
}

Test(gst, timestamps_survive_the_round_trip)
{
    run_result r;
    run_graph("timestamps", NULL, &r);
    cr_assert_eq(r.status, 0, "mqrun (%d):\n%s", r.status, r.err);
    static char out[65536];
    command_output("gst-launch-1.0 -v filesrc location=ts.gdp ! gdpdepay ! fakesink silent=false 2>&1 | grep chain",
                   out, sizeof out);
    long long k = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), k++) {
        cr_expect_eq(clock_after(line, "pts: "), k * 100000000LL, "frame %lld: %s", k, line);
        cr_expect_eq(clock_after(line, "duration: "), 100000000LL, "frame %lld: %s", k, line);
    }
    cr_expect_eq(k, 10, "frames in the GDP file");
    assert_nothing_left("mqstest_gst_timestamps");
}

/* ---- errors ---- */

/* mqrun on a graph that must fail with `status`, its stderr holding every one of `needles`. */
static void expect_failure(const char *graph, const char *domain, int status, const char *const *needles)
{
    run_result r;
    run_graph(graph, NULL, &r);
    cr_expect_eq(r.status, status, "%s: status %d:\n%s", graph, r.status, r.err);
    for (int i = 0; needles[i]; i++)
        cr_expect(strstr(r.err, needles[i]), "%s: no \"%s\" in:\n%s", graph, needles[i], r.err);
    assert_nothing_left(domain);
}

Test(gst, a_bad_description_is_refused_before_the_start)
{
    const char *syntax[] = {"bad_syntax.yaml:3:3", "block 'src' (gst_source)", "cannot use `pipeline`: syntax error",
                            "hint: ", NULL};
    expect_failure("bad_syntax", "mqstest_gst_bad_syntax", 2, syntax);
    const char *unknown[] = {"block 'sink' (gst_sink)", "no element \"nosuchencoder\"",
                             "gst-inspect-1.0 nosuchencoder", NULL};
    expect_failure("unknown_element", "mqstest_gst_unknown", 2, unknown);
}

Test(gst, what_is_not_our_video_is_refused_with_what_gstreamer_offered)
{
    const char *audio[] = {"block 'src' (gst_source)", "GStreamer offers audio/x-raw", "(from audiotestsrc0)",
                           "hint: gst_source takes raw video", NULL};
    expect_failure("not_video", "mqstest_gst_not_video", 2, audio);
    const char *nv12[] = {"block 'src' (gst_source)", "format=(string)NV12", "set convert: true", NULL};
    expect_failure("not_ours", "mqstest_gst_not_ours", 2, nv12);
    const char *sink_caps[] = {"block 'sink' (gst_sink)", "does not take the block's input",
                               "video/x-raw,format=RGB,width=64,height=48", "(from x264enc0)",
                               "start `pipeline` with `videoconvert ! `", NULL};
    expect_failure("sink_caps", "mqstest_gst_sink_caps", 2, sink_caps);
    const char *sensor[] = {"block 'sink' input 'in' takes video", NULL};
    expect_failure("sink_not_video", "mqstest_gst_sink_not_video", 2, sensor);
}

Test(gst, a_failure_while_playing_gives_gstreamer_message_and_debug)
{
    const char *not_raw[] = {"src: error: GStreamer offers video/x-h264", "not raw video",
                             "GStreamer error from matroskademux0: Delayed linking failed", "(debug: ", NULL};
    expect_failure("not_raw", "mqstest_gst_not_raw", 1, not_raw);
    const char *sink[] = {"sink: error: GStreamer error from filesink0: Could not open file \"no-such-dir/out.raw\"",
                          "(debug: ", "No such file or directory", NULL};
    expect_failure("sink_fails", "mqstest_gst_sink_fails", 1, sink);
}
