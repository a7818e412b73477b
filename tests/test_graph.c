/* Graph files: every bad file in tests/graphs/bad gives exactly its message,
 * with file:line:column; the example graphs load; --set and the worker's
 * JSON params are checked against the block's specs; units parse. */
#include <criterion/criterion.h>
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
    {"bad_block_name.yaml", "3:3: error: block name 'my camera' must be 1..31 characters of A-Z a-z 0-9 _ -"},
    {"bad_duration.yaml", "5:23: error: block 'cam': param 'jitter': '10 parsecs' is not a duration (write a number with ns, us, ms or s, e.g. 10ms)"},
    {"bad_from_syntax.yaml", "6:19: error: 'cam' is not BLOCK.PORT (hint: e.g. camera.out)"},
    {"bad_graph_name.yaml", "1:7: error: graph name 'my graph' must be 1..47 characters of A-Z a-z 0-9 _ -"},
    {"bad_number.yaml", "5:22: error: block 'cam': param 'width' = 'wide' is not an integer"},
    {"bad_restart.yaml", "5:14: error: unknown restart policy 'sometimes' (hint: never, on-failure or always)"},
    {"bad_size.yaml", "5:34: error: slot_size: '4 megabytes' is not a size (write a number with B, KiB, MiB or GiB, e.g. 4MiB)"},
    {"cycle.yaml", "3:3: error: the graph has a cycle: a -> b -> a (hint: data must flow one way)"},
    {"depth_out_of_range.yaml", "6:43: error: depth '0' is out of range 1..65536"},
    {"duplicate_block.yaml", "4:3: error: 'cam' appears twice in `blocks` (hint: each key may be given once)"},
    {"empty_blocks.yaml", "2:9: error: `blocks` is empty (hint: a graph needs at least one block)"},
    {"format_mismatch.yaml", "4:3: error: block 'rec' (y4m_sink): input 'in' carries rgb24 video: YUV4MPEG2 has no RGB; insert a grayscale block before y4m_sink, or produce i420"},
    {"incompatible_ports.yaml", "6:19: error: block 'gray' input 'in' takes video, but imu.out carries sensor samples"},
    {"input_fed_twice.yaml", "9:7: error: 'in' appears twice in inputs (hint: each key may be given once)"},
    {"input_not_fed.yaml", "4:3: error: block 'gray' (grayscale): input 'in' is not connected (hint: inputs: { in: BLOCK.PORT })"},
    {"missing_blocks.yaml", "1:1: error: no `blocks` (hint: a graph lists its blocks under `blocks:`)"},
    {"missing_plugin_path.yaml", "5:11: error: block plugin {dir}/./no_such_block.so: No such file or directory (hint: `path:` is relative to the graph file's directory)"},
    {"missing_required_param.yaml", "7:13: error: block 'small': missing required param 'height' (output height in pixels)"},
    {"missing_type.yaml", "4:5: error: block 'cam' has no `type` (hint: e.g. type: pattern_source)"},
    {"param_not_a_choice.yaml", "5:23: error: block 'cam': param 'format' = 'yuyv' is not one of rgb24|gray8|i420"},
    {"param_out_of_range.yaml", "5:20: error: block 'cam': param 'fps' = 5000 is out of range 0..1000"},
    {"param_wrong_type.yaml", "5:20: error: block 'cam': param 'fps' must be a single value"},
    {"sync_bad_reference.yaml", "8:5: error: block 'm': sync reference 'c' is not one of its inputs"},
    {"sync_single_input.yaml", "7:5: error: block 'gray' has 1 input: `sync` aligns two or more (hint: remove it)"},
    {"syntax_error.yaml", "4:7: error: YAML syntax: did not find expected ',' or '}' while parsing a flow mapping"},
    {"top_not_mapping.yaml", "1:1: error: the top level must be a mapping with `name` and `blocks`"},
    {"unknown_block_key.yaml", "5:5: error: unknown key 'param' in block 'cam' (hint: type, params, inputs, outputs, sync, restart, path)"},
    {"unknown_from_block.yaml", "6:19: error: block 'sink' input 'in': the graph has no block 'camra' (hint: did you mean 'camera'?)"},
    {"unknown_input_port.yaml", "6:15: error: block 'sink' (null_sink) has no input 'input' (hint: its inputs are: in)"},
    {"unknown_output_port.yaml", "6:19: error: block 'cam' (pattern_source) has no output 'video' (hint: its outputs are: out)"},
    {"unknown_param.yaml", "5:15: error: block 'cam': unknown param 'widht' (hint: did you mean 'width'?)"},
    {"unknown_policy.yaml", "6:44: error: unknown policy 'drop_all' (hint: block, drop_oldest or drop_newest)"},
    {"unknown_sync_policy.yaml", "8:21: error: unknown sync policy 'closest' (hint: none, exact, approximate, nearest, latest or interpolate)"},
    {"unknown_top_key.yaml", "2:1: error: unknown top-level key 'block' (hint: name, wait, clock, blocks)"},
    {"unknown_type.yaml", "4:11: error: unknown block type 'patern_source' (hint: did you mean 'pattern_source'? `mqrun --list-blocks` lists them)"},
};

static mqs_graph *load(const char *path, const char *const *sets, size_t n, int *rc, char *err, size_t errlen)
{
    mqs_graph *g = NULL;
    *rc = mqs_graph_load(path, sets, n, &g, err, errlen);
    return g;
}

Test(graph, every_bad_graph_gives_its_exact_message)
{
    cr_assert_geq(sizeof bad_graphs / sizeof bad_graphs[0], 20);
    for (size_t i = 0; i < sizeof bad_graphs / sizeof bad_graphs[0]; i++) {
        char dir[512], path[600], message[1024], expected[1700], err[2048];
        snprintf(dir, sizeof dir, "%s/tests/graphs/bad", MQS_SOURCE_DIR);
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
