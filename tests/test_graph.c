/* Graph files: every bad file in tests/graphs/bad gives exactly its message,
 * with file:line:column; the example graphs and tests/graphs/good load into
 * the model they describe; --set and the worker's JSON params are checked
 * against the block's specs; units parse. Test graphs are read from their
 * copy in the build tree (MQS_TEST_GRAPHS), beside the test-only blocks. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_load.h"
#include "graph/params.h"
#include "graph/units.h"

typedef struct bad_graph {
    const char *file;
    const char *message; /* everything after "FILE:"; {dir} stands for the file's directory */
} bad_graph;

static void expand_dir(char *out, size_t size, const char *message, const char *dir)
{
    const char *at = strstr(message, "{dir}");
    if (at)
        snprintf(out, size, "%.*s%s%s", (int)(at - message), message, dir, at + 5);
    else
        snprintf(out, size, "%s", message);
}

static const bad_graph bad_graphs[] = {
    {"aligned_sync_none.yaml", "9:13: error: block 'join' (test_join) must align its 2 connected inputs, but its sync policy is none (hint: pick a policy, e.g. sync: { policy: approximate, tolerance: 10ms } (see docs/alignment.md))"},
    {"aligned_without_sync.yaml", "5:3: error: block 'join' (test_join) must align its 2 connected inputs, but has no sync policy (hint: add sync: { policy: approximate, tolerance: 10ms } (see docs/alignment.md))"},
    {"bad_block_name.yaml", "3:3: error: block name 'my camera' must be 1..31 characters of A-Z a-z 0-9 _ -"},
    {"bad_clock.yaml", "2:8: error: unknown clock 'realtime' (hint: monotonic)"},
    {"bad_duration.yaml", "5:23: error: block 'cam': param 'jitter': '10 parsecs' is not a duration (write a number with ns, us, ms or s, e.g. 10ms)"},
    {"bad_from_syntax.yaml", "6:19: error: 'cam' is not BLOCK.PORT (hint: e.g. camera.out)"},
    {"bad_graph_name.yaml", "1:7: error: graph name 'my graph' must be 1..47 characters of A-Z a-z 0-9 _ -"},
    {"bad_huge_pages.yaml", "5:35: error: huge_pages must be true or false"},
    {"bad_number.yaml", "5:22: error: block 'cam': param 'width' = 'wide' is not an integer"},
    {"bad_restart.yaml", "5:14: error: unknown restart policy 'sometimes' (hint: never, on-failure or always)"},
    {"bad_size.yaml", "5:34: error: slot_size: '4 megabytes' is not a size (write a number with B, KiB, MiB or GiB, e.g. 4MiB)"},
    {"bad_wait.yaml", "2:7: error: unknown wait mode 'busy' (hint: spin, hybrid or sleep)"},
    {"block_name_too_long.yaml", "4:3: error: block name 'camera_on_the_left_side_of_the_...' is 34 bytes long, more than the limit of 31 (hint: a shorter name)"},
    {"block_not_mapping.yaml", "3:8: error: block 'cam' must be a mapping with at least `type`"},
    {"cycle.yaml", "3:3: error: the graph has a cycle: a -> b -> a (hint: data must flow one way)"},
    {"depth_not_a_number.yaml", "6:43: error: depth 'deep' is not a number (hint: queue entries, 1..65536, e.g. 8)"},
    {"depth_out_of_range.yaml", "6:43: error: depth '0' is out of range 1..65536"},
    {"duplicate_block.yaml", "4:3: error: 'cam' appears twice in `blocks` (hint: each key may be given once)"},
    {"empty_blocks.yaml", "2:9: error: `blocks` is empty (hint: a graph needs at least one block)"},
    {"empty_file.yaml", "1:1: error: the graph file is empty"},
    {"format_mismatch.yaml", "4:3: error: block 'rec' (y4m_sink): input 'in' carries rgb24 video: YUV4MPEG2 has no RGB; insert a grayscale block before y4m_sink, or produce i420"},
    {"incompatible_ports.yaml", "6:19: error: block 'gray' input 'in' takes video, but imu.out carries sensor samples"},
    {"input_fed_twice.yaml", "9:7: error: 'in' appears twice in inputs (hint: each key may be given once)"},
    {"input_not_fed.yaml", "4:3: error: block 'gray' (grayscale): input 'in' is not connected (hint: inputs: { in: BLOCK.PORT })"},
    {"input_not_mapping.yaml", "6:19: error: an input must be a mapping (key: value lines)"},
    {"input_optional_not_bool.yaml", "7:43: error: optional 'maybe' must be true or false"},
    {"input_period_not_duration.yaml", "7:41: error: period: '30fps' is not a duration (write a number with ns, us, ms or s, e.g. 10ms)"},
    {"input_period_zero.yaml", "7:41: error: period '0ms' must be more than 0 (hint: the least time between two buffers' pts, e.g. 33ms)"},
    {"input_without_from.yaml", "6:19: error: input 'in' of block 'sink' has no `from`"},
    {"missing_blocks.yaml", "1:1: error: no `blocks` (hint: a graph lists its blocks under `blocks:`)"},
    {"missing_plugin_path.yaml", "5:11: error: block plugin {dir}/./no_such_block.so: No such file or directory (hint: `path:` is relative to the graph file's directory)"},
    {"missing_required_param.yaml", "7:13: error: block 'small': missing required param 'height' (output height in pixels)"},
    {"missing_type.yaml", "4:5: error: block 'cam' has no `type` (hint: e.g. type: pattern_source)"},
    {"negotiate_sees_absent.yaml", "5:3: error: block 'join' (test_join): input c is absent, expected connected"},
    {"optional_without_sync.yaml", "6:36: error: block 'sink' input 'in': `optional` without a sync policy (hint: `optional` and `period` only matter to `sync`: remove them or add a sync policy)"},
    {"param_not_a_choice.yaml", "5:23: error: block 'cam': param 'format' = 'yuyv' is not one of rgb24|gray8|i420"},
    {"param_out_of_range.yaml", "5:20: error: block 'cam': param 'fps' = 5000 is out of range 0..1000"},
    {"param_string_too_long.yaml", "7:23: error: block 'sink': param 'report' is 5000 bytes long, more than the limit of 4096 (hint: put large data in a file and name the file)"},
    {"param_wrong_type.yaml", "5:20: error: block 'cam': param 'fps' must be a single value"},
    {"path_too_long.yaml", "6:11: error: `path` is 4227 bytes long, more than the limit of 4095 (hint: a path relative to the graph file's directory is shorter)"},
    {"period_without_sync.yaml", "7:39: error: block 'sink' input 'in': `period` without a sync policy (hint: `optional` and `period` only matter to `sync`: remove them or add a sync policy)"},
    {"plugin_path_not_a_file.yaml", "5:11: error: block plugin {dir}/. is not a regular file (hint: `path:` names a shared object, e.g. build/blocks/invert/invert.so)"},
    {"pools_too_big.yaml", "9:7: error: the graph's pools need 65.0 GiB of shared memory, more than the limit of 64 GiB; the biggest is block 'big' output 'out', 65 slots of 1 GiB (hint: lower its `slots` or `slot_size`)"},
    {"required_port_not_connected.yaml", "4:3: error: block 'join' (test_join): input 'b' is not connected (hint: inputs: { b: BLOCK.PORT })"},
    {"self_loop.yaml", "4:3: error: the graph has a cycle: echo -> echo (hint: data must flow one way)"},
    {"slot_size_too_big.yaml", "6:34: error: slot_size '2GiB' is more than the limit of 1 GiB (hint: a slot holds one buffer; an 8K rgb24 frame needs 95 MiB)"},
    {"slot_size_zero.yaml", "5:34: error: slot_size '0' must be more than 0 (hint: the bytes one buffer needs, e.g. 8MiB)"},
    {"slots_out_of_range.yaml", "5:30: error: slots '100000' is out of range 1..65535"},
    {"sync_bad_on_missing.yaml", "8:40: error: on_missing 'wait' must be drop or partial"},
    {"sync_bad_reference.yaml", "9:41: error: block 'm': sync reference 'd' is not one of its inputs (hint: its inputs are: a, b, c)"},
    {"sync_bad_timeout.yaml", "8:43: error: timeout '0s' must be more than 0 (hint: e.g. 100ms)"},
    {"sync_bad_tolerance.yaml", "8:45: error: tolerance '-5ms' must be 0 or more (hint: e.g. 10ms)"},
    {"sync_no_policy.yaml", "8:11: error: `sync` of block 'm' has no `policy` (hint: e.g. sync: { policy: approximate, tolerance: 10ms })"},
    {"sync_not_mapping.yaml", "8:11: error: sync must be a mapping (key: value lines)"},
    {"sync_reference_absent.yaml", "9:45: error: block 'm': sync reference 'c' is not connected (hint: connect it, or name a connected input)"},
    {"sync_reference_missing.yaml", "9:13: error: block 'm': sync policy latest needs `reference: INPUT` (hint: name the input that drives the sets, e.g. reference: a)"},
    {"sync_reference_optional.yaml", "11:57: error: block 'm': sync reference 'b' is `optional` (hint: the reference drives every set, so it cannot be left out: make it required or name another input)"},
    {"sync_reference_with_approximate.yaml", "8:62: error: block 'm': sync policy approximate takes no `reference` (hint: reference drives nearest, latest and interpolate; remove it)"},
    {"sync_reference_with_exact.yaml", "9:39: error: block 'm': sync policy exact takes no `reference` (hint: reference drives nearest, latest and interpolate; remove it)"},
    {"sync_single_input.yaml", "7:5: error: block 'gray' has 1 input: `sync` aligns two or more (hint: remove it)"},
    {"syntax_error.yaml", "4:7: error: YAML syntax: did not find expected ',' or '}' while parsing a flow mapping"},
    {"too_deep.yaml", "4:61: error: nesting deeper than the limit of 16 levels (hint: a graph needs 5: the top level, blocks, a block, its inputs, an input)"},
    {"too_many_blocks.yaml", "260:3: error: block 'b257' is one more than the limit of 256 blocks in a graph (hint: merge blocks that do little, or split the work over several graphs)"},
    {"top_not_mapping.yaml", "1:1: error: the top level must be a mapping with `name` and `blocks`"},
    {"two_documents.yaml", "4:1: error: a second YAML document starts here (hint: a graph file holds one; remove the `---` and what follows)"},
    {"type_too_long.yaml", "4:16: error: block type 'pattern_source_pattern_source_pattern_source_pattern_source_pat...' is 75 bytes long, more than the limit of 63 (hint: `mqrun --list-blocks` lists the types)"},
    {"unknown_block_key.yaml", "5:5: error: unknown key 'param' in block 'cam' (hint: type, params, inputs, outputs, sync, path, restart, max_restarts, restart_window, backoff, max_backoff, watchdog, init_timeout)"},
    {"unknown_from_block.yaml", "6:19: error: block 'sink' input 'in': the graph has no block 'camra' (hint: did you mean 'camera'?)"},
    {"unknown_input_key.yaml", "6:36: error: unknown key 'size' in an input (hint: from, depth, policy, optional, period)"},
    {"unknown_input_port.yaml", "6:15: error: block 'sink' (null_sink) has no input 'input' (hint: its inputs are: in)"},
    {"unknown_output_override.yaml", "5:16: error: block 'cam' (pattern_source) has no output 'video' (hint: its outputs are: out)"},
    {"unknown_output_port.yaml", "6:19: error: block 'cam' (pattern_source) has no output 'video' (hint: its outputs are: out)"},
    {"unknown_param.yaml", "5:15: error: block 'cam': unknown param 'widht' (hint: did you mean 'width'?)"},
    {"unknown_policy.yaml", "6:44: error: unknown policy 'drop_all' (hint: block, drop_oldest or drop_newest)"},
    {"unknown_sync_policy.yaml", "8:21: error: unknown sync policy 'closest' (hint: none, exact, approximate, nearest, latest or interpolate)"},
    {"unknown_top_key.yaml", "2:1: error: unknown top-level key 'block' (hint: name, wait, clock, blocks)"},
    {"unknown_type.yaml", "4:11: error: unknown block type 'patern_source' (hint: did you mean 'pattern_source'? `mqrun --list-blocks` lists them)"},
    {"value_too_long.yaml", "7:27: error: `from` is 5007 bytes long, more than the limit of 4096 (hint: graph values are names, numbers and short strings)"},
};

static mqs_graph *load(const char *path, const char *const *sets, size_t n, int *rc, char *err, size_t errlen)
{
    mqs_graph *g = NULL;
    *rc = mqs_graph_load(path, sets, n, &g, err, errlen);
    return g;
}

/* *.yaml files in MQS_TEST_GRAPHS/sub. */
static size_t yaml_files_in(const char *sub)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", MQS_TEST_GRAPHS, sub);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        n += len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0;
    }
    closedir(d);
    return n;
}

Test(graph, every_bad_graph_gives_its_exact_message)
{
    cr_assert_geq(sizeof bad_graphs / sizeof bad_graphs[0], 20);
    cr_expect_eq(yaml_files_in("bad"), sizeof bad_graphs / sizeof bad_graphs[0], "a bad graph without its message");
    for (size_t i = 0; i < sizeof bad_graphs / sizeof bad_graphs[0]; i++) {
        char dir[512], path[600], message[1024], expected[1700], err[2048];
        snprintf(dir, sizeof dir, "%s/bad", MQS_TEST_GRAPHS);
        snprintf(path, sizeof path, "%s/%s", dir, bad_graphs[i].file);
        expand_dir(message, sizeof message, bad_graphs[i].message, dir);
        snprintf(expected, sizeof expected, "%s:%s", path, message);
        int rc;
        mqs_graph *g = load(path, NULL, 0, &rc, err, sizeof err);
        cr_expect_lt(rc, 0, "%s loaded", bad_graphs[i].file);
        cr_expect_null(g);
        cr_expect_str_eq(err, expected);
    }
}

Test(graph, example_graphs_load_in_topological_order)
{
    static const char *const files[] = {"graphs/hello.yaml", "graphs/video_pipeline.yaml", "graphs/sensors.yaml"};
    static const uint32_t blocks[] = {2, 5, 6};
    for (int i = 0; i < 3; i++) {
        char path[512], err[2048];
        snprintf(path, sizeof path, "%s/%s", MQS_SOURCE_DIR, files[i]);
        int rc;
        mqs_graph *g = load(path, NULL, 0, &rc, err, sizeof err);
        cr_assert_eq(rc, 0, "%s: %s", files[i], err);
        cr_expect_eq(g->block_count, blocks[i]);
        bool placed[MQS_GRAPH_MAX_BLOCKS] = {false};
        for (uint32_t k = 0; k < g->block_count; k++) {
            const mqs_graph_block *b = &g->blocks[g->order[k]];
            for (uint32_t in = 0; in < b->input_count; in++)
                cr_expect(placed[b->inputs[in].from], "%s before its producer", b->name);
            placed[g->order[k]] = true;
        }
        mqs_graph_free(g);
    }
}

Test(graph, video_pipeline_caps_and_connections)
{
    char path[512], err[2048];
    snprintf(path, sizeof path, "%s/graphs/video_pipeline.yaml", MQS_SOURCE_DIR);
    int rc;
    mqs_graph *g = load(path, NULL, 0, &rc, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    const mqs_graph_block *scale = &g->blocks[2], *stats = &g->blocks[4];
    cr_assert_str_eq(scale->name, "scale");
    cr_expect_eq(scale->outputs[0].caps.width, 1280);
    cr_expect_eq(scale->outputs[0].caps.height, 720);
    cr_expect_eq(scale->outputs[0].caps.format, MQS_FORMAT_GRAY8);
    cr_expect_eq(scale->outputs[0].caps.slot_size, 1280 * 720);
    cr_expect_eq(stats->inputs[0].depth, 4);
    cr_expect_eq(stats->inputs[0].policy, MQS_POLICY_DROP_OLDEST);
    cr_expect_eq(stats->inputs[0].from, 2);
    mqs_graph_free(g);
}

/* ---- aligned inputs: tests/graphs/good ---- */

static mqs_graph *load_good(const char *file)
{
    char path[512], err[2048];
    snprintf(path, sizeof path, "%s/good/%s", MQS_TEST_GRAPHS, file);
    int rc;
    mqs_graph *g = load(path, NULL, 0, &rc, err, sizeof err);
    cr_assert_eq(rc, 0, "%s: %s", file, err);
    return g;
}

static const mqs_graph_block *block_named(const mqs_graph *g, const char *name)
{
    for (uint32_t i = 0; i < g->block_count; i++)
        if (strcmp(g->blocks[i].name, name) == 0)
            return &g->blocks[i];
    cr_assert_fail("no block '%s'", name);
    return NULL;
}

/* A queue is a quarter of its producer's pool deep (8 to 256, a power of
 * two), through a passthrough too, whose buffers come from upstream; a
 * depth in the file wins. */
Test(graph, default_depth_follows_the_producers_pool)
{
    mqs_graph *g = load_good("default_sizes.yaml");
    cr_expect_eq(block_named(g, "fast")->outputs[0].caps.slot_count, 1000);
    cr_expect_eq(block_named(g, "fwd")->outputs[0].caps.slot_count, 1000);
    cr_expect_eq(block_named(g, "fwd")->inputs[0].depth, 128);
    cr_expect_eq(block_named(g, "s1")->inputs[0].depth, 128);
    cr_expect_eq(block_named(g, "s2")->inputs[0].depth, 8);
    cr_expect_eq(block_named(g, "s3")->inputs[0].depth, 8);
    cr_expect_eq(block_named(g, "s4")->inputs[0].depth, 2);
    mqs_graph_free(g);
}

static void expect_connected_input(const mqs_graph_input *in, const char *port, const char *from, uint32_t depth,
                                   bool optional, int64_t period_ns)
{
    cr_expect_str_eq(in->port, port);
    cr_expect(in->connected, "input %s is connected", port);
    cr_expect_str_eq(in->from_block, from);
    cr_expect_eq(in->depth, depth, "input %s depth", port);
    cr_expect_eq(in->optional, optional, "input %s optional", port);
    cr_expect_eq(in->period_ns, period_ns, "input %s period", port);
}

/* The whole of `mqrun --validate` for g, as one string (caller frees). */
static char *printed(const mqs_graph *g)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    cr_assert_not_null(f);
    mqs_graph_print(g, f);
    fclose(f);
    return text;
}

Test(aligned, approximate_with_every_sync_key)
{
    mqs_graph *g = load_good("sync_approximate.yaml");
    const mqs_graph_block *m = block_named(g, "stereo"), *sink = block_named(g, "sink");
    cr_expect_eq(m->sync.policy, MQS_SYNC_APPROXIMATE);
    cr_expect_eq(m->sync.tolerance_ns, 8000000);
    cr_expect_eq(m->sync.timeout_ns, 100000000);
    cr_expect(m->sync.partial);
    cr_expect_null(m->sync.reference);
    cr_expect_eq(m->sync.reference_input, UINT32_MAX);
    cr_expect_eq(m->sync.loc.line, 11);
    cr_expect_eq(m->sync.loc.column, 5);
    expect_connected_input(&m->inputs[0], "a", "left", 8, false, 33000000);
    expect_connected_input(&m->inputs[1], "b", "right", 4, true, 0);
    cr_expect_eq(m->inputs[0].period_loc.line, 9);
    cr_expect_eq(m->inputs[1].optional_loc.line, 10);
    /* No `sync:`: policy none with the defaults. */
    cr_expect_eq(sink->sync.policy, MQS_SYNC_NONE);
    cr_expect_eq(sink->sync.loc.line, 0);
    cr_expect_eq(sink->sync.tolerance_ns, MQS_TOLERANCE_UNLIMITED);
    cr_expect_eq(sink->sync.timeout_ns, 1000000000);
    cr_expect_not(sink->sync.partial);
    cr_expect_eq(sink->sync.reference_input, UINT32_MAX);
    expect_connected_input(&sink->inputs[0], "in", "stereo", 8, false, 0);
    char *text = printed(g);
    cr_expect(strstr(text, "  input a <- left.out (depth 8, block, period 33ms)\n"), "%s", text);
    cr_expect(strstr(text, "  input b <- right.out (depth 4, block, optional)\n"), "%s", text);
    cr_expect(strstr(text, "  sync: approximate, tolerance 8ms, timeout 100ms, on_missing partial\n"), "%s", text);
    free(text);
    mqs_graph_free(g);
}

Test(aligned, nearest_with_an_absent_optional_port)
{
    mqs_graph *g = load_good("sync_nearest.yaml");
    const mqs_graph_block *j = block_named(g, "join");
    cr_expect_eq(j->plugin.desc->flags, MQS_BLOCK_ALIGNED);
    cr_expect_eq(j->sync.policy, MQS_SYNC_NEAREST);
    cr_expect_eq(j->sync.tolerance_ns, MQS_TOLERANCE_UNLIMITED);
    cr_expect_eq(j->sync.timeout_ns, 1000000000);
    cr_expect_not(j->sync.partial);
    cr_expect_str_eq(j->sync.reference, "b");
    cr_expect_eq(j->sync.reference_input, 1);
    cr_assert_eq(j->input_count, 3);
    cr_expect_eq(mqs_graph_connected_inputs(j), 2);
    expect_connected_input(&j->inputs[0], "a", "imu", 16, true, 5000000);
    expect_connected_input(&j->inputs[1], "b", "cam", 8, false, 0);
    /* c is absent: named, not connected, nothing else set. */
    cr_expect_str_eq(j->inputs[2].port, "c");
    cr_expect_not(j->inputs[2].connected);
    cr_expect_null(j->inputs[2].from_block);
    cr_expect_not(j->inputs[2].optional);
    cr_expect_eq(j->inputs[2].period_ns, 0);
    /* test_join's negotiate() (params c: absent) fails unless input c has
     * MQS_CAPS_ABSENT; it copies input a's caps to its output. */
    cr_expect_eq(j->outputs[0].caps.header_type, MQS_HEADER_SENSOR);
    cr_expect_eq(j->outputs[0].caps.flags, 0);
    char *text = printed(g);
    cr_expect(strstr(text, "  input a <- imu.out (depth 16, block, period 5ms, optional)\n"
                           "  input b <- cam.out (depth 8, block)\n"
                           "  input c: not connected (optional port: absent)\n"),
              "%s", text);
    cr_expect(strstr(text, "  sync: nearest, tolerance unlimited, timeout 1s, on_missing drop, reference b\n"), "%s",
              text);
    free(text);
    mqs_graph_free(g);
}

Test(aligned, latest_with_all_three_inputs)
{
    mqs_graph *g = load_good("sync_latest_three.yaml");
    const mqs_graph_block *j = block_named(g, "join");
    cr_expect_eq(j->sync.policy, MQS_SYNC_LATEST);
    cr_expect_eq(j->sync.tolerance_ns, 0);
    cr_expect_eq(j->sync.timeout_ns, 2000000000);
    cr_expect_not(j->sync.partial);
    cr_expect_str_eq(j->sync.reference, "a");
    cr_expect_eq(j->sync.reference_input, 0);
    cr_expect_eq(mqs_graph_connected_inputs(j), 3);
    expect_connected_input(&j->inputs[0], "a", "cam", 8, false, 0);
    expect_connected_input(&j->inputs[1], "b", "imu", 32, false, 5000000);
    expect_connected_input(&j->inputs[2], "c", "gps", 8, true, 100000000);
    cr_expect_eq(j->outputs[0].caps.header_type, MQS_HEADER_VIDEO);
    char *text = printed(g);
    cr_expect(strstr(text, "  input c <- gps.out (depth 8, block, period 100ms, optional)\n"), "%s", text);
    cr_expect(strstr(text, "  sync: latest, tolerance 0, timeout 2s, on_missing drop, reference a\n"), "%s", text);
    free(text);
    mqs_graph_free(g);
}

static void expect_set_error(const char *set, const char *message)
{
    char path[512], err[2048];
    snprintf(path, sizeof path, "%s/graphs/hello.yaml", MQS_SOURCE_DIR);
    int rc;
    const char *sets[] = {set};
    mqs_graph *g = load(path, sets, 1, &rc, err, sizeof err);
    cr_expect_lt(rc, 0);
    cr_expect_null(g);
    cr_expect_str_eq(err, message);
}

Test(params, set_errors_name_block_and_param)
{
    expect_set_error("camera.fps=fast", "--set camera.fps=fast: block 'camera': param 'fps' = 'fast' is not a number");
    expect_set_error("camera.fsp=10", "--set camera.fsp=10: block 'camera': unknown param 'fsp' (hint: did you mean 'fps'?)");
    expect_set_error("camera.width=8", "--set camera.width=8: block 'camera': param 'width' = 8 is out of range 16..7680");
    expect_set_error("camera.pattern=stripes",
                     "--set camera.pattern=stripes: block 'camera': param 'pattern' = 'stripes' is not one of bars|box|noise");
    expect_set_error("camra.fps=10", "--set camra.fps=10: the graph has no block 'camra' (hint: did you mean 'camera'?)");
    expect_set_error("camera-fps", "--set camera-fps: expected BLOCK.PARAM=VALUE");
}

Test(params, set_overrides_the_file)
{
    char path[512], err[2048];
    snprintf(path, sizeof path, "%s/graphs/hello.yaml", MQS_SOURCE_DIR);
    const char *sets[] = {"camera.count=7", "camera.jitter=2ms", "check.expect=7"};
    int rc;
    mqs_graph *g = load(path, sets, 3, &rc, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_eq(json_integer_value(json_object_get(g->blocks[0].params, "count")), 7);
    cr_expect_eq(json_integer_value(json_object_get(g->blocks[0].params, "jitter")), 2000000);
    /* Defaults are filled in: */
    cr_expect_str_eq(json_string_value(json_object_get(g->blocks[0].params, "format")), "rgb24");
    mqs_graph_free(g);
}

static const mqs_param_spec specs[] = {
    {.key = "fps", .type = MQS_PARAM_DOUBLE, .default_value = "30", .min = 0, .max = 240, .help = "frames per second"},
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 1e9, .help = "frames"},
    {.key = "mode", .type = MQS_PARAM_ENUM, .default_value = "fast", .choices = "fast|slow", .help = "mode"},
    {.key = "file", .type = MQS_PARAM_STRING, .help = "where to write"},
    {.key = "period", .type = MQS_PARAM_DURATION, .default_value = "10ms", .help = "period"},
};
static const mqs_block_descriptor desc = {MQS_BLOCK_HEADER, .name = "demo", .params = specs, .param_count = 5};

static void expect_json_error(const char *json, const char *message)
{
    char err[1024];
    mqs_params *p = mqs_params_from_json_text(&desc, "cam", json, err, sizeof err);
    cr_expect_null(p, "%s accepted", json);
    cr_expect_str_eq(err, message);
    mqs_params_free(p);
}

Test(params, worker_json_is_checked_before_init)
{
    expect_json_error("{\"file\":\"x\",\"fsp\":10}", "block 'cam': unknown param 'fsp' (hint: did you mean 'fps'?)");
    expect_json_error("{\"file\":\"x\",\"fps\":\"ten\"}", "block 'cam': param 'fps' must be a number");
    expect_json_error("{\"file\":\"x\",\"fps\":500}", "block 'cam': param 'fps' = 500 is out of range 0..240");
    expect_json_error("{\"file\":\"x\",\"count\":1.5}", "block 'cam': param 'count' must be an integer");
    expect_json_error("{\"file\":\"x\",\"mode\":\"medium\"}", "block 'cam': param 'mode' = 'medium' is not one of fast|slow");
    expect_json_error("{}", "block 'cam': missing required param 'file' (where to write)");
    expect_json_error("[1]", "block 'cam': params are not a JSON object: ");
}

/* One limit on both sides: a graph file and --set (text), the worker's params (JSON). */
Test(params, strings_longer_than_the_limit_are_refused)
{
    static char value[MQS_PARAM_STRING_MAX + 2], set[MQS_PARAM_STRING_MAX + 32], json[MQS_PARAM_STRING_MAX + 32];
    memset(value, 'r', MQS_PARAM_STRING_MAX + 1);
    char path[512], err[3 * MQS_PARAM_STRING_MAX], expected[3 * MQS_PARAM_STRING_MAX];
    snprintf(path, sizeof path, "%s/graphs/hello.yaml", MQS_SOURCE_DIR);
    snprintf(set, sizeof set, "check.report=%s", value);
    const char *sets[] = {set};
    int rc;
    cr_expect_null(load(path, sets, 1, &rc, err, sizeof err));
    snprintf(expected, sizeof expected,
             "--set %s: block 'check': param 'report' is 4097 bytes long, more than the limit of 4096 (hint: put "
             "large data in a file and name the file)",
             set);
    cr_expect_str_eq(err, expected);
    snprintf(json, sizeof json, "{\"file\":\"%s\"}", value);
    expect_json_error(json, "block 'cam': param 'file' is 4097 bytes long, more than the limit of 4096 (hint: put "
                            "large data in a file and name the file)");
    /* At the limit: accepted. */
    value[MQS_PARAM_STRING_MAX] = '\0';
    snprintf(set, sizeof set, "check.report=%s", value);
    mqs_graph *g = load(path, sets, 1, &rc, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_eq(strlen(json_string_value(json_object_get(g->blocks[1].params, "report"))), MQS_PARAM_STRING_MAX);
    mqs_graph_free(g);
}

Test(params, worker_json_gets_defaults_and_typed_accessors)
{
    char err[1024];
    mqs_params *p = mqs_params_from_json_text(&desc, "cam", "{\"file\":\"out.y4m\",\"count\":12}", err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    cr_expect_eq(mqs_param_int(p, "count"), 12);
    cr_expect_float_eq(mqs_param_double(p, "fps"), 30.0, 1e-9);
    cr_expect_str_eq(mqs_param_string(p, "mode"), "fast");
    cr_expect_str_eq(mqs_param_string(p, "file"), "out.y4m");
    cr_expect_eq(mqs_param_int(p, "period"), 10000000);
    cr_expect_eq(mqs_params_fail(p, "width %d is odd", 3), -EINVAL);
    cr_expect_str_eq(mqs_params_failure(p), "width 3 is odd");
    mqs_params_free(p);
}

Test(units, durations_and_sizes)
{
    int64_t v;
    char err[256];
    cr_expect_eq(mqs_parse_duration("250ms", &v, err, sizeof err), 0);
    cr_expect_eq(v, 250000000);
    cr_expect_eq(mqs_parse_duration("1.5us", &v, err, sizeof err), 0);
    cr_expect_eq(v, 1500);
    cr_expect_eq(mqs_parse_duration("-3ms", &v, err, sizeof err), 0);
    cr_expect_eq(v, -3000000);
    cr_expect_eq(mqs_parse_duration("42", &v, err, sizeof err), 0);
    cr_expect_eq(v, 42);
    cr_expect_eq(mqs_parse_duration("2s", &v, err, sizeof err), 0);
    cr_expect_eq(v, 2000000000);
    cr_expect_eq(mqs_parse_duration("10 parsecs", &v, err, sizeof err), -EINVAL);
    cr_expect_str_eq(err, "'10 parsecs' is not a duration (write a number with ns, us, ms or s, e.g. 10ms)");
    cr_expect_eq(mqs_parse_duration("1.5", &v, err, sizeof err), -EINVAL);
    cr_expect_eq(mqs_parse_size("8MiB", &v, err, sizeof err), 0);
    cr_expect_eq(v, 8 * 1048576);
    cr_expect_eq(mqs_parse_size("64KiB", &v, err, sizeof err), 0);
    cr_expect_eq(v, 65536);
    cr_expect_eq(mqs_parse_size("512B", &v, err, sizeof err), 0);
    cr_expect_eq(v, 512);
    cr_expect_eq(mqs_parse_size("-1KiB", &v, err, sizeof err), -EINVAL);
    cr_expect_eq(mqs_parse_size("4 megabytes", &v, err, sizeof err), -EINVAL);
}
