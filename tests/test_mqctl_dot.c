/* mqctl dot end to end: the real mqctl on the example graph files and on
 * runs of the real mqrun. A graph file gives one node per block and one
 * edge per connection, each edge naming its policy and depth, aligned
 * blocks their sync settings, the same text every time; Graphviz's own dot
 * parses it (when installed) and --svg/--png go through it. A running
 * graph gives BUSY % and calls/s on blocks and rate, fill and drops on
 * edges, its bottleneck marked (a hung block makes one certain). A bad
 * graph file exits 1 with FILE:LINE:COLUMN, an unknown graph 1 with the
 * running ones, bad usage 2. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "mqs/mqs.h"

#define GRAPH "mqstest_dot"
#define HUNG_GRAPH "mqstest_dot_hung"
#define GRAPHVIZ "/usr/bin/dot"
#define BLOCKS 3

static pid_t mqrun = -1; /* the run under test, until stopped */

/* Whatever a failed test left: its mqrun and its run. */
static void teardown(void)
{
    if (mqrun > 0) {
        kill(mqrun, SIGKILL);
        waitpid(mqrun, NULL, 0);
        mqs_domain_remove_stale(GRAPH);
        mqs_domain_remove_stale(HUNG_GRAPH);
        mqrun = -1;
    }
    remove_workdir();
}

TestSuite(mqctl_dot, .init = make_workdir, .fini = teardown, .timeout = 120);

static void mqctl(const char *const *args, run_result *r)
{
    run_mqrun_env(args, 0, r, MQS_TEST_MQCTL);
}

static const char *graph_file(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", MQS_TEST_GRAPHS, name);
    return path;
}

/* Node lines: one per block, `  "NAME" [label=<...>];`. */
static int nodes(const char *text)
{
    return occurrences(text, "\" [label=<<table ");
}

/* Edge lines: one per connection. */
static int edges(const char *text)
{
    return occurrences(text, " -> ");
}

/* The line that starts with `start`, copied into line without its
 * newline ("" if none). */
static void line_starting(const char *text, const char *start, char *line, size_t size)
{
    size_t k = strlen(start);
    line[0] = '\0';
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, start, k) == 0) {
            size_t n = strchr(p, '\n') ? (size_t)(strchr(p, '\n') - p) : strlen(p);
            snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), p);
            return;
        }
}

/* The line of block `name`'s node ("" if none). */
static void node_line(const char *text, const char *name, char *line, size_t size)
{
    char start[80];
    snprintf(start, sizeof start, "  \"%s\" [label=<", name);
    line_starting(text, start, line, size);
}

/* ---- graph files ---- */

typedef struct expected_graph {
    const char *file;
    int blocks;
    const char *names[8];
    const char *edges[8];  /* every edge line, exactly */
    const char *sync;      /* an aligned block's settings, or NULL */
} expected_graph;

static const expected_graph examples[] = {
    {"hello.yaml", 2, {"camera", "check"},
     {"  \"camera\":\"o0\":e -> \"check\":\"i0\":w [label=\"block, depth 8\"];\n"}, NULL},
    {"video_pipeline.yaml", 5, {"camera", "gray", "scale", "recorder", "stats"},
     {"  \"camera\":\"o0\":e -> \"gray\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"gray\":\"o0\":e -> \"scale\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"scale\":\"o0\":e -> \"recorder\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"scale\":\"o0\":e -> \"stats\":\"i0\":w [label=\"drop_oldest, depth 4\", style=dashed];\n"}, NULL},
    {"multi_camera_sync.yaml", 7, {"front", "right", "rear", "left", "grid", "recorder", "stats"},
     {"  \"front\":\"o0\":e -> \"grid\":\"i0\":w [label=\"block, depth 8, period 31ms\"];\n",
      "  \"right\":\"o0\":e -> \"grid\":\"i1\":w [label=\"block, depth 8, period 29ms\"];\n",
      "  \"rear\":\"o0\":e -> \"grid\":\"i2\":w [label=\"block, depth 8, period 31ms\"];\n",
      "  \"left\":\"o0\":e -> \"grid\":\"i3\":w [label=\"block, depth 8, period 29ms\"];\n",
      "  \"grid\":\"o0\":e -> \"recorder\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"grid\":\"o0\":e -> \"stats\":\"i0\":w [label=\"drop_oldest, depth 4\", style=dashed];\n"},
     "<b>grid</b><br/>mosaic (filter)<br/><i>sync approximate<br/>tolerance 20ms, timeout 100ms<br/>"
     "on_missing partial</i></td><td port=\"o0\" rowspan=\"5\">out</td>"},
    {"sensor_fusion.yaml", 6, {"imu", "odom", "gps", "fuse", "pose_csv", "gps_csv"},
     {"  \"imu\":\"o0\":e -> \"fuse\":\"i0\":w [label=\"block, depth 64, period 3ms\"];\n",
      "  \"odom\":\"o0\":e -> \"fuse\":\"i1\":w [label=\"block, depth 8, period 15ms\"];\n",
      "  \"gps\":\"o0\":e -> \"fuse\":\"i2\":w [label=\"block, depth 8, period 80ms\"];\n",
      "  \"fuse\":\"o0\":e -> \"pose_csv\":\"i0\":w [label=\"block, depth 64\"];\n",
      "  \"gps\":\"o0\":e -> \"gps_csv\":\"i0\":w [label=\"block, depth 8\"];\n"},
     "<i>sync latest, reference imu<br/>tolerance unlimited, timeout 200ms<br/>on_missing partial</i>"},
    {"sensors.yaml", 6, {"imu", "gps", "odom", "imu_stats", "gps_stats", "odom_stats"},
     {"  \"imu\":\"o0\":e -> \"imu_stats\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"gps\":\"o0\":e -> \"gps_stats\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"odom\":\"o0\":e -> \"odom_stats\":\"i0\":w [label=\"block, depth 8\"];\n"}, NULL},
    {"stereo.yaml", 4, {"left", "right", "pair", "stats"},
     {"  \"left\":\"o0\":e -> \"pair\":\"i0\":w [label=\"block, depth 8\"];\n",
      "  \"right\":\"o0\":e -> \"pair\":\"i1\":w [label=\"block, depth 8\"];\n",
      "  \"pair\":\"o0\":e -> \"stats\":\"i0\":w [label=\"block, depth 8\"];\n"},
     "<i>sync exact<br/>tolerance unlimited, timeout 100ms<br/>on_missing drop</i>"},
};
#define EXAMPLES (sizeof examples / sizeof examples[0])

static void expect_picture_of(const expected_graph *g, const char *text)
{
    int want_edges = 0;
    while (want_edges < 8 && g->edges[want_edges])
        want_edges++;
    cr_expect_eq(nodes(text), g->blocks, "%s: nodes\n%s", g->file, text);
    cr_expect_eq(edges(text), want_edges, "%s: edges\n%s", g->file, text);
    for (int b = 0; b < g->blocks; b++) {
        char line[4096];
        node_line(text, g->names[b], line, sizeof line);
        cr_expect(line[0], "%s: no node %s\n%s", g->file, g->names[b], text);
    }
    for (int e = 0; e < want_edges; e++)
        cr_expect_eq(occurrences(text, g->edges[e]), 1, "%s: edge %s\n%s", g->file, g->edges[e], text);
    if (g->sync)
        cr_expect_eq(occurrences(text, g->sync), 1, "%s: sync settings\n%s", g->file, text);
    else
        cr_expect_eq(occurrences(text, "<i>sync "), 0, "%s: no block aligns\n%s", g->file, text);
    cr_expect(strncmp(text, "digraph \"", 9) == 0 && strcmp(text + strlen(text) - 2, "}\n") == 0, "%s", text);
}

Test(mqctl_dot, every_example_graph_has_a_node_per_block_and_an_edge_per_connection)
{
    for (size_t i = 0; i < EXAMPLES; i++) {
        const char *args[] = {"dot", graph_file(examples[i].file), NULL};
        run_result r;
        mqctl(args, &r);
        cr_assert_eq(r.status, 0, "%s: status %d\n%s", examples[i].file, r.status, r.err);
        cr_expect_str_eq(r.err, "");
        expect_picture_of(&examples[i], r.out);
    }
}

Test(mqctl_dot, a_graph_file_gives_the_same_text_every_time_and_to_a_file)
{
    static run_result first, again;
    const char *args[] = {"dot", graph_file("hello.yaml"), NULL};
    mqctl(args, &first);
    mqctl(args, &again);
    cr_assert_eq(first.status, 0, "%s", first.err);
    cr_expect_str_eq(first.out, again.out);
    cr_expect_str_eq(first.out,
                     "digraph \"hello\" {\n"
                     "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label=<<b>hello</b>>];\n"
                     "  node [shape=none, margin=0, fontname=\"Helvetica\", fontsize=11];\n"
                     "  edge [fontname=\"Helvetica\", fontsize=9];\n"
                     "  \"camera\" [label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"4\">"
                     "<tr><td rowspan=\"1\" bgcolor=\"#d9f2d9\"><b>camera</b><br/>pattern_source (source)</td>"
                     "<td port=\"o0\" rowspan=\"1\">out</td></tr></table>>];\n"
                     "  \"check\" [label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"4\">"
                     "<tr><td port=\"i0\" rowspan=\"1\">in</td><td rowspan=\"1\" bgcolor=\"#fbeed0\"><b>check</b>"
                     "<br/>checksum_sink (sink)</td></tr></table>>];\n"
                     "  \"camera\":\"o0\":e -> \"check\":\"i0\":w [label=\"block, depth 8\"];\n"
                     "}\n");
    const char *to_file[] = {"dot", graph_file("hello.yaml"), "-o", tmp_path("hello.dot"), NULL};
    mqctl(to_file, &again);
    cr_expect_eq(again.status, 0, "%s", again.err);
    cr_expect_str_eq(again.out, "");
    static char written[32768];
    read_file(tmp_path("hello.dot"), written, sizeof written);
    cr_expect_str_eq(written, first.out);
}

Test(mqctl_dot, every_port_has_its_own_cell_an_absent_one_greyed)
{
    const char *args[] = {"dot", graph_file("multi_camera_sync.yaml"), NULL};
    run_result r;
    mqctl(args, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char line[4096];
    node_line(r.out, "grid", line, sizeof line);
    cr_expect(strstr(line, "<tr><td port=\"i0\" rowspan=\"1\">a</td><td rowspan=\"5\" bgcolor=\"#dce8f8\"><b>grid"),
              "%s", line);
    /* mosaic takes a to p: e to p, not connected, share one greyed row. */
    cr_expect(strstr(line, "</tr><tr><td port=\"i1\" rowspan=\"1\">b</td></tr><tr><td port=\"i2\" rowspan=\"1\">c</td>"
                           "</tr><tr><td port=\"i3\" rowspan=\"1\">d</td></tr><tr><td port=\"i4\" rowspan=\"1\" "
                           "bgcolor=\"#eeeeee\"><font color=\"#888888\">e ... p (absent)</font></td></tr></table>>];"),
              "%s", line);

    /* stereo's mosaic has its optional inputs c to p unconnected: one greyed row, no edge. */
    const char *stereo[] = {"dot", graph_file("stereo.yaml"), NULL};
    mqctl(stereo, &r);
    cr_assert_eq(r.status, 0, "%s", r.err);
    node_line(r.out, "pair", line, sizeof line);
    cr_expect(strstr(line, "<td port=\"o0\" rowspan=\"3\">out</td></tr><tr><td port=\"i1\" rowspan=\"1\">b</td></tr>"
                           "<tr><td port=\"i2\" rowspan=\"1\" bgcolor=\"#eeeeee\"><font color=\"#888888\">c ... p (absent)"
                           "</font></td></tr></table>>];"), "%s", line);
    cr_expect_eq(occurrences(r.out, ":\"i2\":w"), 0, "%s", r.out);
}

static bool have_graphviz(void)
{
    return access(GRAPHVIZ, X_OK) == 0;
}

/* Graphviz's own dot reads `dot_file` and writes a non-empty SVG. */
static void expect_graphviz_parses(const char *dot_file)
{
    const char *svg = tmp_path("parsed.svg");
    const char *args[] = {"-Tsvg", "-o", svg, dot_file, NULL};
    run_result r;
    run_mqrun_env(args, 0, &r, GRAPHVIZ);
    cr_expect_eq(r.status, 0, "dot -Tsvg %s: status %d\n%s", dot_file, r.status, r.err);
    cr_expect_str_eq(r.err, "", "dot warns about %s", dot_file);
    static char text[65536];
    read_file(svg, text, sizeof text);
    cr_expect(strstr(text, "<svg ") && strstr(text, "</svg>"), "%s: no SVG\n%s", dot_file, text);
}

Test(mqctl_dot, graphviz_parses_every_example_and_svg_and_png_go_through_it)
{
    if (!have_graphviz())
        cr_skip_test("Graphviz is not installed (%s)", GRAPHVIZ);
    for (size_t i = 0; i < EXAMPLES; i++) {
        const char *dot_file = tmp_path("example.dot");
        const char *args[] = {"dot", graph_file(examples[i].file), "-o", dot_file, NULL};
        run_result r;
        mqctl(args, &r);
        cr_assert_eq(r.status, 0, "%s", r.err);
        expect_graphviz_parses(dot_file);
    }
    const char *svg[] = {"dot", graph_file("video_pipeline.yaml"), "--svg", NULL};
    static run_result r;
    mqctl(svg, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "<svg ") && strstr(r.out, "<title>gray</title>") && strstr(r.out, "</svg>"), "%s", r.out);
    const char *png_file = tmp_path("video.png");
    const char *png[] = {"dot", graph_file("video_pipeline.yaml"), "--png", "-o", png_file, NULL};
    mqctl(png, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "");
    FILE *f = fopen(png_file, "rb");
    cr_assert(f, "no %s", png_file);
    unsigned char magic[8] = {0};
    cr_expect_eq(fread(magic, 1, 8, f), 8);
    fclose(f);
    cr_expect(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0, "not a PNG");
}

Test(mqctl_dot, without_graphviz_svg_fails_naming_the_package)
{
    char *path = strdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", tmp_path("no-such-dir"), 1);
    const char *args[] = {"dot", graph_file("hello.yaml"), "--svg", "-o", tmp_path("hello.svg"), NULL};
    run_result r;
    mqctl(args, &r);
    setenv("PATH", path, 1);
    free(path);
    cr_expect_eq(r.status, 1);
    cr_expect_str_eq(r.err, "mqctl dot: --svg needs Graphviz's `dot` program, which is not on PATH (hint: install "
                            "the Debian package graphviz: apt-get install graphviz; or write dot text without --svg)\n");
    cr_expect_neq(access(tmp_path("hello.svg"), F_OK), 0, "a file was made all the same");
}

Test(mqctl_dot, a_bad_graph_file_exits_1_with_file_line_column)
{
    const char *path = tmp_path("bad.yaml");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "name: bad\nblocks:\n  cam: { type: pattern_source }\n"
               "  sink: { type: null_sink, inputs: { in: nowhere.out } }\n");
    fclose(f);
    const char *args[] = {"dot", path, "-o", tmp_path("bad.dot"), NULL};
    run_result r;
    mqctl(args, &r);
    cr_expect_eq(r.status, 1);
    char want[512];
    snprintf(want, sizeof want, "%s:4:42: error: block 'sink' input 'in': the graph has no block 'nowhere'", path);
    cr_expect(strncmp(r.err, want, strlen(want)) == 0, "%s", r.err);
    cr_expect_str_eq(r.out, "");
    cr_expect_neq(access(tmp_path("bad.dot"), F_OK), 0, "a file was made all the same");

    const char *missing[] = {"dot", tmp_path("missing.yaml"), NULL};
    mqctl(missing, &r);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "missing.yaml: error: cannot read the graph file"), "%s", r.err);
}

Test(mqctl_dot, bad_usage_exits_2)
{
    static const struct { const char *args[6]; const char *says; } cases[] = {
        {{"dot", NULL}, "mqctl dot: which graph? a graph file or a running graph (mqctl ls lists them) "},
        {{"dot", "a.yaml", "--svg", "--png", NULL}, "mqctl dot: give one of --svg and --png, once: --png "},
        {{"dot", "a.yaml", "b.yaml", NULL}, "mqctl dot: unexpected argument b.yaml "},
        {{"dot", "a.yaml", "--pdf", NULL}, "mqctl dot: unexpected argument --pdf "},
        {{"dot", "a.yaml", "-o", NULL}, "mqctl dot: -o needs a file name "},
        {{"dot", "a.yaml", "--interval", "1s", NULL}, "mqctl dot: --interval is for a running graph, not a graph "
                                                     "file: a.yaml "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r;
        mqctl(cases[i].args, &r);
        cr_expect_eq(r.status, 2, "%s", r.err);
        char want[512];
        snprintf(want, sizeof want, "%s(usage: mqctl dot GRAPH|FILE.yaml [--svg|--png] [-o FILE] "
                                    "[--interval DURATION])\n", cases[i].says);
        cr_expect_str_eq(r.err, want);
    }
    const char *interval[] = {"dot", GRAPH, "--interval", "0ms", NULL};
    run_result r;
    mqctl(interval, &r);
    cr_expect_eq(r.status, 2, "%s", r.err);
    cr_expect(strstr(r.err, "mqctl dot: --interval '0ms': "), "%s", r.err);
}

/* ---- running graphs ---- */

/* Start `mqrun -q` on cam (200 fps) -> `middle` -> sink and wait until all
 * three blocks run. */
static void start_graph(const char *graph, const char *middle)
{
    const char *path = tmp_path("live.yaml");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "name: %s\nblocks:\n"
               "  cam: { type: pattern_source, params: { width: 64, height: 48, fps: 200 } }\n"
               "  %s, inputs: { in: cam.out } }\n"
               "  sink: { type: null_sink, inputs: { in: { from: pass.out, depth: 4, policy: drop_oldest } } }\n",
            graph, middle);
    fclose(f);
    const char *args[] = {"-q", "--grace", "500ms", path, NULL};
    mqrun = start_mqrun(args, MQS_TEST_MQRUN);
    wait_until_running(graph, BLOCKS);
}

/* Stop the run under test as Ctrl-C would (stop_mqrun), and forget it. */
static void stop_graph(const char *graph, bool clean)
{
    stop_mqrun(mqrun, graph, clean);
    mqrun = -1;
}

typedef struct live_edge {
    double rate;
    unsigned queued, depth;
    unsigned long long drops;
} live_edge;

/* The figures of the edge whose line starts `start` (asserts there is one). */
static live_edge edge_figures(const char *text, const char *start)
{
    const char *p = strstr(text, start);
    cr_assert(p, "no edge %s\n%s", start, text);
    live_edge e;
    cr_assert_eq(sscanf(p + strlen(start), "%lf/s, fill %u/%u, drops %llu\"", &e.rate, &e.queued, &e.depth, &e.drops),
                 4, "%s", p);
    return e;
}

/* BUSY % and calls/s of block `name` (asserts it shows them). */
static void block_figures(const char *text, const char *name, double *busy, double *calls)
{
    char line[4096], want[128];
    node_line(text, name, line, sizeof line);
    snprintf(want, sizeof want, "<b>%s</b><br/>running, BUSY ", name);
    const char *p = strstr(line, want);
    cr_assert(p, "block %s not running with figures:\n%s", name, text);
    cr_assert_eq(sscanf(p + strlen(want), "%lf %%<br/>%lf calls/s</td>", busy, calls), 2, "%s", line);
}

Test(mqctl_dot, a_running_graph_shows_busy_on_blocks_and_rates_on_edges)
{
    start_graph(GRAPH, "pass: { type: passthrough");
    usleep(300 * 1000);
    const char *args[] = {"dot", GRAPH, NULL};
    static run_result r;
    mqctl(args, &r);
    cr_assert_eq(r.status, 0, "status %d\n%s", r.status, r.err);
    cr_expect_str_eq(r.err, "");
    cr_expect_eq(nodes(r.out), BLOCKS, "%s", r.out);
    cr_expect_eq(edges(r.out), 2, "%s", r.out);
    cr_expect(strstr(r.out, "label=<<b>" GRAPH "</b><br/>run "), "%s", r.out);
    cr_expect(strstr(r.out, ", over 0.5s; "), "%s", r.out);
    live_edge in = edge_figures(r.out, "  \"cam\":\"o0\":e -> \"pass\":\"i0\":w [label=\"block, depth 8\\n");
    live_edge out = edge_figures(r.out, "  \"pass\":\"o0\":e -> \"sink\":\"i0\":w [label=\"drop_oldest, depth 4\\n");
    cr_expect_gt(in.rate, 0);
    cr_expect_gt(out.rate, 0);
    cr_expect_eq(in.depth, 8);
    cr_expect_eq(out.depth, 4);
    cr_expect_leq(in.queued, in.depth);
    cr_expect_leq(out.queued, out.depth);
    const char *names[BLOCKS] = {"cam", "pass", "sink"};
    for (int b = 0; b < BLOCKS; b++) {
        double busy = -1, calls = -1;
        block_figures(r.out, names[b], &busy, &calls);
        cr_expect(busy >= 0 && busy <= 100, "%s: BUSY %f", names[b], busy);
        cr_expect_gt(calls, 0, "%s: calls/s", names[b]);
    }
    const char *faster[] = {"dot", GRAPH, "--interval", "200ms", "-o", tmp_path("live.dot"), NULL};
    mqctl(faster, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    static char text[32768];
    read_file(tmp_path("live.dot"), text, sizeof text);
    cr_expect(strstr(text, ", over 0.2s; "), "%s", text);
    cr_expect_eq(nodes(text), BLOCKS, "%s", text);
    if (have_graphviz())
        expect_graphviz_parses(tmp_path("live.dot"));
    stop_graph(GRAPH, true);
}

Test(mqctl_dot, an_unknown_graph_exits_1_and_lists_the_running_ones)
{
    start_graph(GRAPH, "pass: { type: passthrough");
    const char *args[] = {"dot", "mqstest_dot_none", NULL};
    run_result r;
    mqctl(args, &r);
    cr_expect_eq(r.status, 1);
    cr_expect_str_eq(r.out, "");
    cr_expect(strncmp(r.err, "mqctl dot: no running graph 'mqstest_dot_none'; running: ", 57) == 0, "%s", r.err);
    cr_expect(strstr(r.err, " " GRAPH "/") || strstr(r.err, "," GRAPH "/"), "%s", r.err);
    stop_graph(GRAPH, true);
}

Test(mqctl_dot, a_hung_block_is_marked_the_bottleneck)
{
    const char *blocks = MQS_TEST_FAULTY_BLOCKS, *plugin = MQS_TEST_FAULTY_BLOCKS "/mqs_block_faulty.so";
    if (access(plugin, R_OK) != 0)
        cr_skip_test("the test-only block faulty is not built (%s)", plugin);
    setenv("MQS_BLOCK_PATH", blocks, 1);
    /* `pass` never returns from its fifth call: busy all the time, its input full. */
    start_graph(HUNG_GRAPH, "pass: { type: faulty, params: { fault: hang, at: 5 }");
    usleep(500 * 1000);
    const char *args[] = {"dot", HUNG_GRAPH, "--interval", "200ms", NULL};
    static run_result r;
    mqctl(args, &r);
    unsetenv("MQS_BLOCK_PATH");
    cr_assert_eq(r.status, 0, "status %d\n%s", r.status, r.err);
    cr_expect(strstr(r.out, ", over 0.2s; bottleneck: pass>];\n"), "%s", r.out);
    char line[4096];
    node_line(r.out, "pass", line, sizeof line);
    cr_expect(strstr(line, "<table border=\"2\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"4\" "
                           "color=\"#d62728\">"), "%s", line);
    cr_expect(strstr(line, "running, BUSY 100.0 %<br/>0.0 calls/s<br/><b>bottleneck</b></td>"), "%s", line);
    cr_expect_eq(occurrences(r.out, "<b>bottleneck</b>"), 1, "only the bottleneck is marked:\n%s", r.out);
    const char *into = "  \"cam\":\"o0\":e -> \"pass\":\"i0\":w [label=\"block, depth 8\\n";
    live_edge e = edge_figures(r.out, into);
    cr_expect_gt(e.queued, 4, "its input is not full: %u", e.queued);
    cr_expect_eq(e.rate, 0);
    line_starting(r.out, into, line, sizeof line);
    const char *marked = "\", color=\"#d62728\", fontcolor=\"#d62728\", penwidth=2.5];";
    cr_expect(strlen(line) > strlen(marked) && strcmp(line + strlen(line) - strlen(marked), marked) == 0,
              "the full queue is not marked:\n%s", r.out);
    cr_expect_eq(occurrences(r.out, "penwidth=2.5"), 1, "only the fullest queue is marked:\n%s", r.out);
    stop_graph(HUNG_GRAPH, false);
}
