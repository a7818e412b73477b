/* End-to-end tests of aligned inputs: the example graphs multi_camera_sync,
 * stereo and sensor_fusion run by the real mqrun. Expected sets come from
 * the cameras' own seeded random draws (blocks/common/rng.h, in the order
 * pattern_source documents) fed to the test's independent model of the
 * policies (align_reference.c); the fusion's error is measured against the
 * ground truth sensor_source documents. mosaic's grid of 1 to 16 inputs is
 * checked byte for byte against each camera's own recording. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../blocks/common/geo.h"
#include "../blocks/common/rng.h"
#include "align_reference.h"
#include "e2e_util.h"
#include "mqs/mqs.h"

#define MS 1000000LL
#define CAMERAS 4

TestSuite(align_e2e, .init = make_workdir, .fini = remove_workdir, .timeout = 300);

static const char *const camera_names[CAMERAS] = {"front", "right", "rear", "left"}; /* grid inputs a b c d */

/* ---- reading what mqrun says ---- */

/* The params of block `name` as `mqrun --validate` prints them. */
static json_t *validated_params(const char *validate_out, const char *name)
{
    char header[64];
    snprintf(header, sizeof header, "\nblock %s: ", name);
    const char *at = strstr(validate_out, header);
    cr_assert(at, "--validate does not show block %s", name);
    at = strstr(at, "\n  params: ");
    cr_assert(at);
    at += strlen("\n  params: ");
    json_t *o = json_loadb(at, strcspn(at, "\n"), 0, NULL);
    cr_assert(json_is_object(o), "params of %s are not JSON", name);
    return o;
}

static json_t *aligned_entry(const char *stats_path, const char *block)
{
    return final_entry(stats_path, "aligned", "block", block);
}

static json_t *aligned_input(json_t *aligned, const char *input)
{
    size_t i;
    json_t *in;
    json_array_foreach(json_object_get(aligned, "inputs"), i, in) if (strcmp(json_string_value(json_object_get(in, "input")), input) == 0) return in;
    cr_assert_fail("no aligned input %s", input);
    return NULL;
}

static long long dropped(json_t *input, mqs_drop_reason r)
{
    return field(json_object_get(input, "dropped"), mqs_drop_reason_name(r));
}

/* Every --stats-json line of a file: its t_ns and the sets of `block`. */
typedef struct sample {
    int64_t t_ns;
    long long sets;
} sample;

static size_t set_samples(const char *stats_path, const char *block, sample *out, size_t max)
{
    FILE *f = fopen(stats_path, "r");
    cr_assert(f);
    static char line[1 << 16];
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        json_t *o = json_loads(line, 0, NULL), *a;
        size_t i;
        json_array_foreach(json_object_get(o, "aligned"), i, a) if (strcmp(json_string_value(json_object_get(a, "block")), block) == 0) out[n++] = (sample){json_integer_value(json_object_get(o, "t_ns")), field(a, "sets")};
        json_decref(o);
    }
    fclose(f);
    return n;
}

/* Sets `block` made between `from` and `to` (monotonic ns), read off the
 * nearest stats lines at or after each. */
static long long sets_between(const sample *s, size_t n, int64_t from, int64_t to)
{
    long long a = -1, b = -1;
    for (size_t i = 0; i < n; i++) {
        if (a < 0 && s[i].t_ns >= from)
            a = s[i].sets;
        if (b < 0 && s[i].t_ns >= to)
            b = s[i].sets;
    }
    cr_assert(a >= 0 && b >= 0, "no stats lines around the window");
    return b - a;
}

/* ---- multi_camera_sync with fixed seeds ---- */

/* The pts (relative to the shared trigger's start) of the frames a shared-
 * trigger pattern_source sends: its random draws per frame are the jitter,
 * then the drop decision (never for the last frame of a counted run). */
static void camera_stream(json_t *params, ref_stream *out)
{
    int64_t period = (int64_t)(1e9 / json_number_value(json_object_get(params, "fps")) + 0.5);
    int64_t offset = json_integer_value(json_object_get(params, "clock_offset"));
    int64_t jitter = json_integer_value(json_object_get(params, "jitter"));
    int64_t count = json_integer_value(json_object_get(params, "count"));
    double drop_rate = json_number_value(json_object_get(params, "drop_rate"));
    cr_assert_str_eq(json_string_value(json_object_get(params, "trigger")), "shared");
    rng r;
    rng_seed(&r, (uint64_t)json_integer_value(json_object_get(params, "seed")));
    out->count = 0;
    for (int64_t k = 0; k < count; k++) {
        int64_t pts = k * period + offset + rng_symmetric(&r, jitter);
        if (drop_rate > 0 && k + 1 < count && rng_uniform(&r) < drop_rate)
            continue;
        cr_assert_lt(out->count, REF_MAX_BUFFERS);
        out->pts[out->count++] = pts;
    }
}

/* A copy of the graph whose timeout cannot fire on a loaded machine: the
 * sets then depend on the timestamps alone, which the model predicts. */
static void graph_without_timeouts(char *path, size_t size)
{
    char text[8192];
    read_file(source_path("graphs/multi_camera_sync.yaml"), text, sizeof text);
    char *t = strstr(text, "timeout: 100ms");
    cr_assert(t, "multi_camera_sync.yaml no longer says timeout: 100ms");
    snprintf(path, size, "%s", tmp_path("multi_camera_sync.yaml"));
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "%.*stimeout: 30s%s", (int)(t - text), text, t + strlen("timeout: 100ms"));
    fclose(f);
}

static void expect_input(json_t *aligned, const char *input, const ref_result *ref, uint32_t i, long long sent)
{
    json_t *in = aligned_input(aligned, input);
    cr_expect_eq(field(in, "delivered"), (long long)ref->delivered[i], "%s delivered", input);
    long long total = field(in, "delivered");
    for (uint32_t r = 0; r < MQS_DROP_REASONS; r++) {
        cr_expect_eq(dropped(in, (mqs_drop_reason)r), (long long)ref->dropped[i][r], "%s %s", input,
                     mqs_drop_reason_name((mqs_drop_reason)r));
        total += dropped(in, (mqs_drop_reason)r);
    }
    cr_expect_eq(total, sent, "%s: every frame sent is delivered or dropped", input);
}

Test(align_e2e, multi_camera_sync_sets_and_drops_match_the_model)
{
    char graph[400], rec[400];
    graph_without_timeouts(graph, sizeof graph);
    snprintf(rec, sizeof rec, "recorder.file=%s", tmp_path("grid.y4m"));
    const char *args[] = {"-q", "--set", "front.count=90", "--set", "right.count=90", "--set", "rear.count=90",
                          "--set", "left.count=90", "--set", rec, "--stats-json", tmp_path("stats.jsonl"), graph,
                          NULL};
    const char *validate[] = {"--validate", "--set", "front.count=90", "--set", "right.count=90", "--set",
                              "rear.count=90", "--set", "left.count=90", graph, NULL};
    run_result v, r;
    run_mqrun(validate, 0, &v);
    cr_assert_eq(v.status, 0, "%s", v.err);
    static ref_stream streams[CAMERAS];
    for (uint32_t c = 0; c < CAMERAS; c++) {
        json_t *p = validated_params(v.out, camera_names[c]);
        camera_stream(p, &streams[c]);
        json_decref(p);
    }
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    json_t *grid = aligned_entry(tmp_path("stats.jsonl"), "grid");
    ref_config c = {.policy = MQS_SYNC_APPROXIMATE, .input_count = CAMERAS,
                    .tolerance = field(grid, "tolerance_ns"), .partial = true};
    static ref_result ref;
    ref_align(&c, streams, &ref);
    cr_assert_gt(ref.set_count, 60, "the model makes sets");
    cr_expect_eq(field(grid, "sets"), (long long)ref.set_count);
    cr_expect_eq(field(grid, "partial"), 0);
    static const char *const inputs[CAMERAS] = {"grid.a", "grid.b", "grid.c", "grid.d"};
    for (uint32_t i = 0; i < CAMERAS; i++)
        expect_input(grid, inputs[i], &ref, i, streams[i].count);
    json_decref(grid);
    json_t *rec_in = final_connection(tmp_path("stats.jsonl"), "recorder.in");
    cr_expect_eq(field(rec_in, "popped"), (long long)ref.set_count, "every set reached the recorder");
    json_decref(rec_in);
    assert_nothing_left("multi_camera_sync");
}

/* ---- a camera that stops or dies ---- */

/* Run multi_camera_sync as it is (timeout 100ms) for 150 frames, do
 * `signal` to camera `victim` after 1.5 s (SIGCONT 1.5 s later for SIGSTOP),
 * and check the mosaic kept going. Returns the final aligned entry. */
/* The example graph, with the victim camera kept down once it fails when
 * `stays_down` (restart: never) rather than restarted as by default. */
static const char *camera_graph(const char *victim, bool stays_down)
{
    if (!stays_down)
        return source_path("graphs/multi_camera_sync.yaml");
    static char text[8192], key[64], with[128];
    read_file(source_path("graphs/multi_camera_sync.yaml"), text, sizeof text);
    snprintf(key, sizeof key, "\n  %s:\n", victim);
    snprintf(with, sizeof with, "\n  %s:\n    restart: never\n", victim);
    char *at = strstr(text, key);
    cr_assert(at, "no block %s in the example graph", victim);
    FILE *f = fopen(tmp_path("cameras.yaml"), "w");
    cr_assert(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, with, at + strlen(key));
    fclose(f);
    return tmp_path("cameras.yaml");
}

static json_t *run_with_a_camera_lost(const char *victim, int signal, bool stays_down, int expect_status)
{
    const char *args[] = {"-q", "--stats=100ms", "--set", "front.count=150", "--set", "right.count=150", "--set",
                          "rear.count=150", "--set", "left.count=150", "--set", "recorder.file=/dev/null",
                          "--stats-json", tmp_path("stats.jsonl"), camera_graph(victim, stays_down), NULL};
    pid_t mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    usleep(1500 * 1000);
    pid_t pid = worker_pid("multi_camera_sync", victim);
    cr_assert_gt(pid, 0, "no worker for %s", victim);
    int64_t lost_at = mqs_now_ns();
    cr_assert_eq(kill(pid, signal), 0);
    if (signal == SIGSTOP) {
        usleep(1500 * 1000);
        kill(pid, SIGCONT);
    }
    run_result r;
    finish_mqrun(mqrun, &r);
    cr_assert_eq(r.status, expect_status, "mqrun status %d:\n%s", r.status, r.err);
    static sample s[512];
    size_t n = set_samples(tmp_path("stats.jsonl"), "grid", s, 512);
    /* 30 frames a second: in one second well after the loss, sets keep coming. */
    long long made = sets_between(s, n, lost_at + 300 * MS, lost_at + 1300 * MS);
    cr_expect_geq(made, 20, "%lld sets in the second after %s was lost", made, victim);
    json_t *grid = aligned_entry(tmp_path("stats.jsonl"), "grid");
    /* No set waited much longer than the 100 ms timeout (slack for a loaded machine). */
    long long latency_max = field(json_object_get(grid, "latency_ns"), "max");
    cr_expect_leq(latency_max, 350 * MS, "a set waited %lld ns", latency_max);
    assert_nothing_left("multi_camera_sync");
    return grid;
}

Test(align_e2e, a_frozen_camera_holds_the_mosaic_back_at_most_the_timeout)
{
    json_t *grid = run_with_a_camera_lost("left", SIGSTOP, false, 0);
    cr_expect_gt(field(grid, "partial"), 0, "sets went on without left");
    /* Thawed, it sends the frames it owed: too late for sets that went without them. */
    cr_expect_gt(dropped(aligned_input(grid, "grid.d"), MQS_DROP_TIMEOUT), 0);
    json_decref(grid);
}

Test(align_e2e, a_killed_camera_that_stays_down_does_not_stall_the_mosaic)
{
    json_t *grid = run_with_a_camera_lost("rear", SIGKILL, true, 1);
    cr_expect_gt(field(grid, "partial"), 0, "sets went on without rear");
    json_decref(grid);
}

/* Restarted 100 ms later (the default backoff) on the shared trigger, the
 * camera is back before most sets give up on it; the mosaic never stalls. */
Test(align_e2e, a_killed_camera_is_restarted_and_the_mosaic_goes_on)
{
    json_t *grid = run_with_a_camera_lost("rear", SIGKILL, false, 1);
    cr_expect_eq(final_field(tmp_path("stats.jsonl"), "blocks", "rear", "restarts"), 1);
    json_decref(grid);
}

/* ---- stereo ---- */

Test(align_e2e, stereo_pairs_every_frame_exactly)
{
    char st[400];
    snprintf(st, sizeof st, "stats.report=%s", tmp_path("report.json"));
    const char *args[] = {"-q", "--set", "left.count=60", "--set", "right.count=60", "--set", st,
                          "--stats-json", tmp_path("stats.jsonl"), source_path("graphs/stereo.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    json_t *pair = aligned_entry(tmp_path("stats.jsonl"), "pair");
    cr_expect_eq(field(pair, "sets"), 60);
    cr_expect_eq(field(pair, "partial"), 0);
    cr_expect_eq(field(json_object_get(pair, "spread_ns"), "max"), 0);
    json_decref(pair);
    json_t *rep = report_of(tmp_path("report.json"), "stats");
    cr_expect_eq(field(rep, "frames"), 60);
    json_decref(rep);
    assert_nothing_left("stereo");
}

/* realtime: false at 1 fps: 120 frames of each camera that would take two
 * minutes in real time come at once, still in exact pairs on the shared
 * one-second grid. */
Test(align_e2e, cameras_off_realtime_keep_the_shared_grid)
{
    char st[400];
    snprintf(st, sizeof st, "stats.report=%s", tmp_path("report.json"));
    const char *args[] = {"-q", "--set", "left.count=120", "--set", "right.count=120", "--set", "left.fps=1", "--set",
                          "right.fps=1", "--set", "left.realtime=false", "--set", "right.realtime=false", "--set", st,
                          "--stats-json", tmp_path("stats.jsonl"), source_path("graphs/stereo.yaml"), NULL};
    int64_t began = mqs_now_ns();
    run_result r;
    run_mqrun(args, 0, &r);
    int64_t took = mqs_now_ns() - began;
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    cr_expect_lt(took, 60 * INT64_C(1000000000), "it waited for the frame times: %lld ms", (long long)(took / 1000000));
    json_t *pair = aligned_entry(tmp_path("stats.jsonl"), "pair");
    cr_expect_eq(field(pair, "sets"), 120);
    cr_expect_eq(field(pair, "partial"), 0);
    cr_expect_eq(field(json_object_get(pair, "spread_ns"), "max"), 0);
    json_decref(pair);
    json_t *rep = report_of(tmp_path("report.json"), "stats");
    cr_expect_eq(field(rep, "frames"), 120);
    json_decref(rep);
    assert_nothing_left("stereo");
}

/* ---- mosaic's grid, 1 to 16 inputs ---- */

#define MOSAIC_GRAPH "mqstest_mosaic"
#define MOSAIC_FRAMES 3
#define TILES 16

/* Tile i's size: even (i420) and unlike its neighbours', so a cell is as
 * large as the largest tile only when the layout is right. */
static uint32_t tile_w(int i) { return 16 + 4 * (uint32_t)(i % 5); }
static uint32_t tile_h(int i) { return 16 + 2 * (uint32_t)(i % 3); }

/* One i420 noise camera per letter of `ports` (a..p), each recorded to
 * LETTER.y4m and tiled by a mosaic into grid.y4m; exact sets on a shared
 * trigger, so set k holds frame k of every camera. */
static void write_mosaic_graph(const char *ports, const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "name: " MOSAIC_GRAPH "\nblocks:\n");
    for (const char *p = ports; *p; p++) {
        int i = *p - 'a';
        fprintf(f, "  cam_%c: { type: pattern_source, params: { width: %u, height: %u, format: i420, fps: 100, "
                   "count: %d, pattern: noise, trigger: shared, seed: %d } }\n",
                *p, tile_w(i), tile_h(i), MOSAIC_FRAMES, i + 1);
        fprintf(f, "  rec_%c: { type: y4m_sink, inputs: { in: cam_%c.out }, params: { file: %s/%c.y4m } }\n", *p, *p,
                tmp_path(""), *p);
    }
    fprintf(f, "  grid:\n    type: mosaic\n    inputs: {");
    for (const char *p = ports; *p; p++)
        fprintf(f, " %c: cam_%c.out%s", *p, *p, p[1] ? "," : "");
    fprintf(f, " }\n%s", ports[1] ? "    sync: { policy: exact, timeout: 30s }\n" : "");
    fprintf(f, "  out: { type: y4m_sink, inputs: { in: grid.out }, params: { file: %s } }\n", tmp_path("grid.y4m"));
    fclose(f);
}

/* A y4m file's frames (i420), read whole: its size and its frames' planes. */
typedef struct y4m_video {
    uint32_t w, h;
    int frames;
    uint8_t *data; /* frame k at k * w * h * 3 / 2 */
} y4m_video;

static void read_y4m(const char *path, y4m_video *v)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "no y4m file %s", path);
    char header[256];
    cr_assert(fgets(header, sizeof header, f));
    cr_assert_eq(sscanf(header, "YUV4MPEG2 W%u H%u", &v->w, &v->h), 2, "%s: %s", path, header);
    size_t size = (size_t)v->w * v->h * 3 / 2;
    v->data = malloc(size * (MOSAIC_FRAMES + 1));
    cr_assert(v->data);
    char tag[8];
    for (v->frames = 0; v->frames <= MOSAIC_FRAMES && fread(tag, 1, 6, f) == 6; v->frames++) {
        cr_assert(memcmp(tag, "FRAME\n", 6) == 0, "%s: frame %d", path, v->frames);
        cr_assert_eq(fread(v->data + (size_t)v->frames * size, 1, size, f), size, "%s: short frame", path);
    }
    fclose(f);
}

/* Copies one plane of a tile (w x h) into a plane `stride` bytes wide at (x, y). */
static void place(uint8_t *dst, size_t stride, uint32_t x, uint32_t y, const uint8_t *src, uint32_t w, uint32_t h)
{
    for (uint32_t r = 0; r < h; r++)
        memcpy(dst + (y + r) * stride + x, src + (size_t)r * w, w);
}

/* What the mosaic must make of frame k of the tiles: tile i in cell i of a
 * grid `cols` wide, row by row, each cell as large as the largest tile, grey
 * (128) wherever no tile is, on the Y plane and on both chroma planes. */
static void expected_grid(const y4m_video *tiles, const char *ports, uint32_t cols, uint32_t cw, uint32_t ch,
                          uint32_t rows, int k, uint8_t *out)
{
    uint32_t W = cols * cw, H = rows * ch;
    memset(out, 128, (size_t)W * H * 3 / 2);
    for (const char *p = ports; *p; p++) {
        int i = *p - 'a';
        const y4m_video *t = &tiles[i];
        const uint8_t *src = t->data + (size_t)k * t->w * t->h * 3 / 2;
        uint32_t x = (uint32_t)i % cols * cw, y = (uint32_t)i / cols * ch;
        place(out, W, x, y, src, t->w, t->h);
        uint8_t *u = out + (size_t)W * H, *v = u + (size_t)(W / 2) * (H / 2);
        const uint8_t *su = src + (size_t)t->w * t->h, *sv = su + (size_t)(t->w / 2) * (t->h / 2);
        place(u, W / 2, x / 2, y / 2, su, t->w / 2, t->h / 2);
        place(v, W / 2, x / 2, y / 2, sv, t->w / 2, t->h / 2);
    }
}

/* Runs the graph for `ports` and checks every frame of the grid against
 * the cameras' own recordings, placed `cols` x `rows`. */
static void expect_mosaic(const char *ports, uint32_t cols, uint32_t rows)
{
    write_mosaic_graph(ports, tmp_path("mosaic.yaml"));
    const char *args[] = {"-q", tmp_path("mosaic.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "%s: mqrun failed (%d):\n%s", ports, r.status, r.err);
    static y4m_video tiles[TILES];
    uint32_t cw = 0, ch = 0;
    for (const char *p = ports; *p; p++) {
        char name[8] = {*p, '.', 'y', '4', 'm', '\0'};
        y4m_video *t = &tiles[*p - 'a'];
        read_y4m(tmp_path(name), t);
        cr_assert_eq(t->frames, MOSAIC_FRAMES, "camera %c", *p);
        cw = t->w > cw ? t->w : cw;
        ch = t->h > ch ? t->h : ch;
    }
    y4m_video grid;
    read_y4m(tmp_path("grid.y4m"), &grid);
    cr_expect_eq(grid.w, cols * cw, "%s: width", ports);
    cr_expect_eq(grid.h, rows * ch, "%s: height", ports);
    cr_expect_eq(grid.frames, MOSAIC_FRAMES, "%s: one grid per set", ports);
    size_t size = (size_t)cols * cw * rows * ch * 3 / 2;
    uint8_t *want = malloc(size);
    cr_assert(want);
    for (int k = 0; k < grid.frames && grid.w == cols * cw && grid.h == rows * ch; k++) {
        expected_grid(tiles, ports, cols, cw, ch, rows, k, want);
        cr_expect(memcmp(grid.data + (size_t)k * size, want, size) == 0, "%s: grid %d differs", ports, k);
    }
    free(want);
    free(grid.data);
    for (const char *p = ports; *p; p++)
        free(tiles[*p - 'a'].data);
    assert_nothing_left(MOSAIC_GRAPH);
}

Test(align_e2e, mosaic_copies_a_single_input)
{
    expect_mosaic("a", 1, 1);
}

/* Two to four inputs: a | b, then a b over c d, as before there were more. */
Test(align_e2e, mosaic_tiles_two_to_four_inputs_side_by_side_or_2x2)
{
    expect_mosaic("ab", 2, 1);
    expect_mosaic("abc", 2, 2);
    expect_mosaic("abd", 2, 2); /* c absent: its cell grey, d stays bottom right */
}

Test(align_e2e, mosaic_tiles_up_to_sixteen_inputs_row_by_row)
{
    expect_mosaic("ace", 3, 2);        /* b, d absent and the sixth cell empty: grey */
    expect_mosaic("abcdefghij", 4, 3); /* k, l: grey */
    expect_mosaic("abcdefghijklmnop", 4, 4);
}

/* ---- sensor fusion ---- */

/* sensor_source's ground truth at monotonic time t: a 20 m circle, one lap every 30 s. */
static void truth(int64_t t_ns, double *x, double *y)
{
    double a = 2 * M_PI * (double)(t_ns % 30000000000LL) / 30e9;
    *x = 20 * cos(a);
    *y = 20 * sin(a);
}

/* RMS distance to the truth of a CSV's positions: x,y columns (pose) or
 * lat,lon (gps), after pts_ns and seq. */
static double rms_error(const char *path, bool gps, long *rows)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "no csv %s", path);
    char line[512];
    cr_assert(fgets(line, sizeof line, f), "empty csv %s", path);
    cr_expect(strncmp(line, gps ? "pts_ns,seq,lat,lon" : "pts_ns,seq,x,y", gps ? 18 : 14) == 0, "header %s", line);
    double sum = 0;
    *rows = 0;
    long long pts, seq;
    double a, b;
    while (fscanf(f, "%lld,%lld,%lf,%lf%*[^\n]\n", &pts, &seq, &a, &b) == 4) {
        double x = a, y = b, tx, ty;
        if (gps)
            geo_to_local(GEO_LAT0, GEO_LON0, a, b, &x, &y);
        truth(pts, &tx, &ty);
        sum += (x - tx) * (x - tx) + (y - ty) * (y - ty);
        (*rows)++;
    }
    fclose(f);
    cr_assert_gt(*rows, 0);
    return sqrt(sum / (double)*rows);
}

Test(align_e2e, sensor_fusion_is_at_least_twice_as_close_to_the_truth_as_gps)
{
    char pose[400], gps[400];
    snprintf(pose, sizeof pose, "pose_csv.file=%s", tmp_path("pose.csv"));
    snprintf(gps, sizeof gps, "gps_csv.file=%s", tmp_path("gps.csv"));
    const char *args[] = {"-q", "--set", "imu.count=1600", "--set", "odom.count=400", "--set", "gps.count=80",
                          "--set", pose, "--set", gps, "--stats-json", tmp_path("stats.jsonl"),
                          source_path("graphs/sensor_fusion.yaml"), NULL};
    run_result r;
    run_mqrun(args, 0, &r);
    cr_assert_eq(r.status, 0, "mqrun failed (%d):\n%s", r.status, r.err);
    long poses, fixes;
    double fused = rms_error(tmp_path("pose.csv"), false, &poses), raw = rms_error(tmp_path("gps.csv"), true, &fixes);
    cr_expect_eq(fixes, 80);
    cr_expect_gt(poses, 1500, "one pose per IMU sample once odometry started");
    cr_expect_leq(fused, 0.5 * raw, "fused RMS %.3f m, raw GPS %.3f m", fused, raw);
    json_t *fuse = aligned_entry(tmp_path("stats.jsonl"), "fuse");
    cr_expect_eq(field(fuse, "sets"), 1600, "latest makes one set per IMU sample");
    json_decref(fuse);
    assert_nothing_left("sensor_fusion");
}
