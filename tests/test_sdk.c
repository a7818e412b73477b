/* The block SDK (ABI 1.1): the layout of every SDK struct; wrappers that
 * return -ENOTSUP (or do nothing) for a method the host's table lacks or
 * leaves NULL; mqs_interpolate_doubles; the param range rule; the registry's
 * conversion of a 1.0 block (test plugin built with the 1.0 layouts), its
 * rules for descriptors and the descriptor size it never reads past; and
 * transform() as the host runs it, on a real domain. The test plugins are
 * in tests/blocks/legacy, built into MQS_TEST_SDK_BLOCKS. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "graph/params.h"
#include "graph/registry.h"
#include "test_util.h"
#include "worker/host.h"

/* ---- layouts (LP64) ---- */

typedef struct pinned {
    const char *what;
    size_t actual, expected;
} pinned;

#define AT(type, member, offset) {#type "." #member, offsetof(type, member), offset}
#define SIZE(type, size) {"sizeof " #type, sizeof(type), size}

static const pinned layout[] = {
    SIZE(mqs_port_spec, 64), AT(mqs_port_spec, direction, 8), AT(mqs_port_spec, header_type, 12),
    AT(mqs_port_spec, format, 16), AT(mqs_port_spec, flags, 20), AT(mqs_port_spec, help, 24),
    AT(mqs_port_spec, reserved, 32),

    SIZE(mqs_param_spec, 88), AT(mqs_param_spec, type, 8), AT(mqs_param_spec, flags, 12),
    AT(mqs_param_spec, default_value, 16), AT(mqs_param_spec, min, 24), AT(mqs_param_spec, max, 32),
    AT(mqs_param_spec, choices, 40), AT(mqs_param_spec, help, 48), AT(mqs_param_spec, reserved, 56),

    SIZE(mqs_block_descriptor, 144), AT(mqs_block_descriptor, abi_minor, 4), AT(mqs_block_descriptor, size, 8),
    AT(mqs_block_descriptor, flags, 12), AT(mqs_block_descriptor, name, 16), AT(mqs_block_descriptor, kind, 32),
    AT(mqs_block_descriptor, ports, 40), AT(mqs_block_descriptor, port_count, 48),
    AT(mqs_block_descriptor, params, 56), AT(mqs_block_descriptor, param_count, 64),
    AT(mqs_block_descriptor, state_size, 72), AT(mqs_block_descriptor, negotiate, 80),
    AT(mqs_block_descriptor, process, 96), AT(mqs_block_descriptor, produce, 104),
    AT(mqs_block_descriptor, fini, 120), AT(mqs_block_descriptor, transform, 128),
    AT(mqs_block_descriptor, set_param, 136),

    SIZE(mqs_host_api, 104), AT(mqs_host_api, alloc, 8), AT(mqs_host_api, send, 16), AT(mqs_host_api, ref, 24),
    AT(mqs_host_api, unref, 32), AT(mqs_host_api, log, 40), AT(mqs_host_api, now, 48),
    AT(mqs_host_api, stopping, 56), AT(mqs_host_api, report, 64), AT(mqs_host_api, input_set, 72),
    AT(mqs_host_api, start_time, 80), AT(mqs_host_api, input_restarts, 88), AT(mqs_host_api, wait_until, 96),

    SIZE(mqs_param_api, 40), AT(mqs_param_api, get_int, 8), AT(mqs_param_api, get_double, 16),
    AT(mqs_param_api, get_string, 24), AT(mqs_param_api, fail, 32),

    SIZE(mqs_input_set, 72), AT(mqs_input_set, flags, 4), AT(mqs_input_set, pts, 8), AT(mqs_input_set, spread, 16),
    AT(mqs_input_set, next, 24), AT(mqs_input_set, weight, 32), AT(mqs_input_set, reserved, 40),

    SIZE(mqs_buffer, 32), AT(mqs_buffer, meta, 8), AT(mqs_buffer, data, 16), AT(mqs_buffer, capacity, 24),

    SIZE(mqs_block_ctx, 64), AT(mqs_block_ctx, state, 8), AT(mqs_block_ctx, params, 16),
    AT(mqs_block_ctx, instance, 24), AT(mqs_block_ctx, input_count, 32), AT(mqs_block_ctx, output_count, 36),
    AT(mqs_block_ctx, input_caps, 40), AT(mqs_block_ctx, output_caps, 48), AT(mqs_block_ctx, host_data, 56),

    SIZE(mqs_caps, 64), AT(mqs_caps, format, 4), AT(mqs_caps, width, 8), AT(mqs_caps, height, 12),
    AT(mqs_caps, sample_type, 16), AT(mqs_caps, slot_count, 20), AT(mqs_caps, slot_size, 24),
    AT(mqs_caps, rate, 32), AT(mqs_caps, flags, 40), AT(mqs_caps, reserved, 44),
};

Test(layout, every_sdk_struct_is_pinned)
{
    if (sizeof(void *) != 8)
        cr_skip_test("the pinned layouts are LP64's");
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++)
        cr_expect(eq(sz, layout[i].actual, layout[i].expected), "%s", layout[i].what);
}

/* ---- host table: size and NULL checks in every wrapper ---- */

enum { M_ALLOC, M_SEND, M_REF, M_UNREF, M_LOG, M_NOW, M_STOPPING, M_REPORT, M_INPUT_SET, M_START_TIME, M_COUNT };
static unsigned reached; /* bit per M_* method the fake host ran */

static int fake_alloc(mqs_block_ctx *c, uint32_t o, mqs_buffer *b)
{
    (void)c, (void)o, (void)b;
    reached |= 1u << M_ALLOC;
    return 11;
}

static int fake_send(mqs_block_ctx *c, uint32_t o, mqs_buffer *b)
{
    (void)c, (void)o, (void)b;
    reached |= 1u << M_SEND;
    return 12;
}

static int fake_ref(mqs_block_ctx *c, const mqs_buffer *b, mqs_buffer *o)
{
    (void)c, (void)b, (void)o;
    reached |= 1u << M_REF;
    return 13;
}

static void fake_unref(mqs_block_ctx *c, mqs_buffer *b)
{
    (void)c, (void)b;
    reached |= 1u << M_UNREF;
}

static void fake_log(mqs_block_ctx *c, int l, const char *f, va_list ap)
{
    (void)c, (void)l, (void)f, (void)ap;
    reached |= 1u << M_LOG;
}

static int64_t fake_now(mqs_block_ctx *c)
{
    (void)c;
    reached |= 1u << M_NOW;
    return 14;
}

static bool fake_stopping(mqs_block_ctx *c)
{
    (void)c;
    reached |= 1u << M_STOPPING;
    return true;
}

static void fake_report(mqs_block_ctx *c, const char *k, double v)
{
    (void)c, (void)k, (void)v;
    reached |= 1u << M_REPORT;
}

static int fake_input_set(mqs_block_ctx *c, const mqs_input_set **o)
{
    (void)c, (void)o;
    reached |= 1u << M_INPUT_SET;
    return 15;
}

static int64_t fake_start_time(mqs_block_ctx *c)
{
    (void)c;
    reached |= 1u << M_START_TIME;
    return 16;
}

static const mqs_host_api full_host = {
    .size = sizeof(mqs_host_api), .alloc = fake_alloc, .send = fake_send, .ref = fake_ref, .unref = fake_unref,
    .log = fake_log, .now = fake_now, .stopping = fake_stopping, .report = fake_report,
    .input_set = fake_input_set, .start_time = fake_start_time,
};

/* Where each M_* method lives in the table. */
static const size_t method_offset[M_COUNT] = {
    offsetof(mqs_host_api, alloc), offsetof(mqs_host_api, send), offsetof(mqs_host_api, ref),
    offsetof(mqs_host_api, unref), offsetof(mqs_host_api, log), offsetof(mqs_host_api, now),
    offsetof(mqs_host_api, stopping), offsetof(mqs_host_api, report), offsetof(mqs_host_api, input_set),
    offsetof(mqs_host_api, start_time),
};

/* What each wrapper returned: the fake's value when the method was reached. */
static const int64_t fake_result[M_COUNT] = {11, 12, 13, 0, 0, 14, 1, 0, 15, 16};
static const int64_t missing_result[M_COUNT] = {-ENOTSUP, -ENOTSUP, -ENOTSUP, 0, 0, -ENOTSUP, 0, 0, -ENOTSUP, -ENOTSUP};

/* Call every wrapper through `api`; results[m] is what wrapper m returned. */
static void call_every_wrapper(const mqs_host_api *api, int64_t results[M_COUNT])
{
    mqs_block_ctx ctx = {.host = api};
    mqs_buffer buf = {0}, other = {0};
    const mqs_input_set *set = NULL;
    reached = 0;
    memset(results, 0, M_COUNT * sizeof results[0]);
    results[M_ALLOC] = mqs_alloc(&ctx, 0, &buf);
    results[M_SEND] = mqs_send(&ctx, 0, &buf);
    results[M_REF] = mqs_ref(&ctx, &buf, &other);
    mqs_unref(&ctx, &other);
    mqs_log(&ctx, MQS_LOG_INFO, "hello %d", 1);
    results[M_NOW] = mqs_now(&ctx);
    results[M_STOPPING] = mqs_stopping(&ctx);
    mqs_report(&ctx, "frames", 1);
    results[M_INPUT_SET] = mqs_input_set_get(&ctx, &set);
    results[M_START_TIME] = mqs_start_time(&ctx);
}

/* The table `api` reaches exactly the methods in `expect` (bits), and the
 * other wrappers give their fallback. */
static void expect_reached(const mqs_host_api *api, unsigned expect)
{
    int64_t results[M_COUNT];
    call_every_wrapper(api, results);
    cr_assert(eq(u32, reached, expect), "size %u", api->size);
    for (int m = 0; m < M_COUNT; m++)
        cr_assert(eq(i64, results[m], (expect >> m & 1u) ? fake_result[m] : missing_result[m]), "method %d, size %u",
                  m, api->size);
}

Test(host_table, a_full_table_reaches_every_method)
{
    expect_reached(&full_host, (1u << M_COUNT) - 1);
}

Test(host_table, a_1_0_host_has_no_input_set_or_start_time)
{
    mqs_host_api api = full_host;
    api.size = offsetof(mqs_host_api, input_set);
    expect_reached(&api, (1u << M_INPUT_SET) - 1);
}

Test(host_table, a_table_ending_before_each_method_makes_its_wrapper_fail)
{
    for (int m = 0; m < M_COUNT; m++) {
        mqs_host_api api = full_host;
        api.size = (uint32_t)method_offset[m];
        expect_reached(&api, (1u << m) - 1);
        api.size = (uint32_t)method_offset[m] + 4; /* ends inside the pointer */
        expect_reached(&api, (1u << m) - 1);
    }
}

Test(host_table, a_null_method_makes_its_wrapper_fail)
{
    for (int m = 0; m < M_COUNT; m++) {
        mqs_host_api api = full_host;
        memset((char *)&api + method_offset[m], 0, sizeof api.alloc);
        expect_reached(&api, ((1u << M_COUNT) - 1) & ~(1u << m));
    }
}

/* ---- param table ---- */

static int64_t fake_get_int(const mqs_params *p, const char *k)
{
    (void)p, (void)k;
    return 7;
}

static double fake_get_double(const mqs_params *p, const char *k)
{
    (void)p, (void)k;
    return 2.5;
}

static const char *fake_get_string(const mqs_params *p, const char *k)
{
    (void)p, (void)k;
    return "text";
}

static int fake_fail(const mqs_params *p, const char *f, va_list ap)
{
    (void)p, (void)f, (void)ap;
    return -E2BIG;
}

static const mqs_param_api full_params = {.size = sizeof(mqs_param_api), .get_int = fake_get_int,
                                          .get_double = fake_get_double, .get_string = fake_get_string,
                                          .fail = fake_fail};

Test(param_table, a_full_table_reaches_every_accessor)
{
    mqs_params p = {.api = &full_params};
    cr_assert(eq(i64, mqs_param_int(&p, "k"), 7));
    cr_assert(mqs_param_bool(&p, "k"));
    cr_assert(eq(dbl, mqs_param_double(&p, "k"), 2.5));
    cr_assert(eq(str, (char *)mqs_param_string(&p, "k"), "text"));
    cr_assert(eq(int, mqs_params_fail(&p, "bad %d", 1), -E2BIG));
}

Test(param_table, a_short_table_or_null_accessor_gives_the_fallbacks)
{
    mqs_param_api short_api = full_params, null_api = {.size = sizeof(mqs_param_api)};
    short_api.size = offsetof(mqs_param_api, get_int);
    const mqs_param_api *apis[] = {&short_api, &null_api};
    for (int i = 0; i < 2; i++) {
        mqs_params p = {.api = apis[i]};
        cr_assert(eq(i64, mqs_param_int(&p, "k"), 0));
        cr_assert(not(mqs_param_bool(&p, "k")));
        cr_assert(eq(dbl, mqs_param_double(&p, "k"), 0));
        cr_assert(eq(str, (char *)mqs_param_string(&p, "k"), ""));
        cr_assert(eq(int, mqs_params_fail(&p, "bad %d", 1), -EINVAL));
    }
}

/* ---- mqs_interpolate_doubles ---- */

static mqs_buffer doubles_buffer(mqs_buffer_meta *meta, double *values, uint64_t length)
{
    *meta = (mqs_buffer_meta){.length = length};
    return (mqs_buffer){.id = 1, .meta = meta, .data = values, .capacity = length};
}

Test(interpolate, blends_the_first_n_doubles)
{
    double a_values[3] = {1, 2, 10}, b_values[3] = {3, 6, -10}, out[3] = {0};
    mqs_buffer_meta am, bm;
    mqs_buffer a = doubles_buffer(&am, a_values, sizeof a_values), b = doubles_buffer(&bm, b_values, sizeof b_values);
    cr_assert(eq(int, mqs_interpolate_doubles(&a, &b, 0.25, out, 3), 3));
    cr_assert(eq(dbl, out[0], 1.5));
    cr_assert(eq(dbl, out[1], 3.0));
    cr_assert(eq(dbl, out[2], 5.0));
    cr_assert(eq(int, mqs_interpolate_doubles(&a, &b, 1.0, out, 2), 2));
    cr_assert(eq(dbl, out[0], 3.0));
    cr_assert(eq(dbl, out[1], 6.0));
    cr_assert(eq(dbl, out[2], 5.0), "only n values are written");
}

Test(interpolate, without_b_gives_a)
{
    double a_values[2] = {-4.5, 8}, out[2] = {0};
    mqs_buffer_meta am;
    mqs_buffer a = doubles_buffer(&am, a_values, sizeof a_values);
    cr_assert(eq(int, mqs_interpolate_doubles(&a, NULL, 0.75, out, 2), 2));
    cr_assert(eq(dbl, out[0], -4.5));
    cr_assert(eq(dbl, out[1], 8.0));
}

Test(interpolate, a_short_payload_is_einval)
{
    double a_values[3] = {1, 2, 3}, b_values[3] = {4, 5, 6}, out[3] = {0};
    mqs_buffer_meta am, bm;
    mqs_buffer a = doubles_buffer(&am, a_values, 2 * sizeof(double));
    mqs_buffer b = doubles_buffer(&bm, b_values, 3 * sizeof(double) - 1);
    cr_assert(eq(int, mqs_interpolate_doubles(&a, &b, 0.5, out, 3), -EINVAL), "a too short");
    am.length = 3 * sizeof(double);
    cr_assert(eq(int, mqs_interpolate_doubles(&a, &b, 0.5, out, 3), -EINVAL), "b too short");
    cr_assert(eq(int, mqs_interpolate_doubles(NULL, &b, 0.5, out, 2), -EINVAL), "no a");
    cr_assert(eq(dbl, out[0], 0.0), "nothing written on error");
    cr_assert(eq(int, mqs_interpolate_doubles(&a, &b, 0.5, out, 2), 2));
    cr_assert(eq(dbl, out[1], 3.5));
}

/* ---- params: the range rule ---- */

/* mqs_param_from_text's verdict on `text`: 0, or -EINVAL with its message in err. */
static int param_verdict(const mqs_param_spec *spec, const char *text, char *err, size_t errlen)
{
    json_t *v = NULL;
    int rc = mqs_param_from_text(spec, text, &v, err, errlen);
    json_decref(v);
    return rc;
}

Test(params, zero_and_zero_mean_no_range)
{
    const mqs_param_spec open = {.key = "n", .type = MQS_PARAM_INT};
    const mqs_param_spec ranged[] = {{.key = "a", .min = -1}, {.key = "b", .max = 5}, {.key = "c", .min = 2, .max = 2}};
    cr_assert(not(mqs_param_has_range(&open)));
    for (int i = 0; i < 3; i++)
        cr_assert(mqs_param_has_range(&ranged[i]), "%s", ranged[i].key);
}

Test(params, an_int_without_range_takes_any_value)
{
    const mqs_param_spec spec = {.key = "n", .type = MQS_PARAM_INT, .default_value = "0"};
    const char *values[] = {"0", "-1", "-9000000000", "9000000000000", "1"};
    char err[256] = "";
    for (int i = 0; i < 5; i++)
        cr_assert(eq(int, param_verdict(&spec, values[i], err, sizeof err), 0), "%s: %s", values[i], err);
}

Test(params, a_range_is_inclusive)
{
    const mqs_param_spec n = {.key = "n", .type = MQS_PARAM_INT, .min = 1, .max = 10};
    const mqs_param_spec x = {.key = "x", .type = MQS_PARAM_DOUBLE, .min = -0.5, .max = 2.5};
    char err[256] = "";
    cr_assert(eq(int, param_verdict(&n, "1", err, sizeof err), 0), "%s", err);
    cr_assert(eq(int, param_verdict(&n, "10", err, sizeof err), 0), "%s", err);
    cr_assert(eq(int, param_verdict(&x, "-0.5", err, sizeof err), 0), "%s", err);
    cr_assert(eq(int, param_verdict(&x, "2.5", err, sizeof err), 0), "%s", err);
    cr_assert(eq(int, param_verdict(&n, "0", err, sizeof err), -EINVAL));
    cr_assert(eq(str, err, "param 'n' = 0 is out of range 1..10"));
    cr_assert(eq(int, param_verdict(&n, "11", err, sizeof err), -EINVAL));
    cr_assert(eq(str, err, "param 'n' = 11 is out of range 1..10"));
    cr_assert(eq(int, param_verdict(&x, "2.501", err, sizeof err), -EINVAL));
    cr_assert(eq(str, err, "param 'x' = 2.501 is out of range -0.5..2.5"));
}

/* ---- registry: 1.0 blocks, rules, descriptor size ---- */

static char plugin_path[512];

static int open_test_block(const char *name, mqs_plugin *p, char *err, size_t errlen)
{
    snprintf(plugin_path, sizeof plugin_path, "%s/mqs_block_%s.so", MQS_TEST_SDK_BLOCKS, name);
    return mqs_registry_open_file(plugin_path, name, p, err, errlen);
}

static void expect_port(const mqs_port_spec *s, const char *name, mqs_port_direction dir, uint32_t header_type,
                        uint32_t format, const char *help)
{
    static const uint64_t zero[4] = {0};
    cr_assert(eq(str, (char *)s->name, (char *)name));
    cr_assert(eq(int, s->direction, dir), "%s", name);
    cr_assert(eq(u32, s->header_type, header_type), "%s", name);
    cr_assert(eq(u32, s->format, format), "%s", name);
    cr_assert(eq(u32, s->flags, 0), "%s", name);
    cr_assert(help ? s->help && strcmp(s->help, help) == 0 : s->help == NULL, "%s help", name);
    cr_assert(eq(int, memcmp(s->reserved, zero, sizeof zero), 0), "%s", name);
}

static void expect_param(const mqs_param_spec *s, const char *key, mqs_param_type type, const char *def, double min,
                         double max, const char *choices, const char *help)
{
    static const uint64_t zero[4] = {0};
    cr_assert(eq(str, (char *)s->key, (char *)key));
    cr_assert(eq(int, s->type, type), "%s", key);
    cr_assert(eq(u32, s->flags, 0), "%s", key);
    cr_assert(def ? s->default_value && strcmp(s->default_value, def) == 0 : s->default_value == NULL, "%s", key);
    cr_assert(eq(dbl, s->min, min), "%s", key);
    cr_assert(eq(dbl, s->max, max), "%s", key);
    cr_assert(choices ? s->choices && strcmp(s->choices, choices) == 0 : s->choices == NULL, "%s", key);
    cr_assert(eq(str, (char *)s->help, (char *)help), "%s", key);
    cr_assert(eq(int, memcmp(s->reserved, zero, sizeof zero), 0), "%s", key);
}

Test(registry, a_1_0_block_is_converted_to_1_1_specs)
{
    mqs_plugin p;
    char err[1024] = "";
    cr_assert(eq(int, open_test_block("legacy_v1_0", &p, err, sizeof err), 0), "%s", err);
    const mqs_block_descriptor *d = p.desc;
    cr_assert(eq(u32, d->abi_minor, 0));
    cr_assert(eq(u32, d->flags, 0), "1.0's reserved word is not flags");
    cr_assert(eq(str, (char *)d->summary, "a 1.0 block"));
    cr_assert(eq(int, d->kind, MQS_BLOCK_FILTER));
    cr_assert(eq(sz, d->state_size, 24));
    cr_assert(ne(ptr, (void *)d->process, NULL));
    cr_assert(eq(ptr, (void *)d->transform, NULL), "past a 1.0 descriptor's size");
    cr_assert(eq(ptr, (void *)d->ports, p.owned_ports), "host-owned");
    cr_assert(eq(ptr, (void *)d->params, p.owned_params), "host-owned");
    cr_assert(eq(u32, d->port_count, 3));
    expect_port(&d->ports[0], "in", MQS_PORT_INPUT, MQS_HEADER_VIDEO, MQS_FORMAT_GRAY8, "gray8 frames");
    expect_port(&d->ports[1], "out", MQS_PORT_OUTPUT, MQS_HEADER_NONE, MQS_FORMAT_ANY, "the same frames");
    expect_port(&d->ports[2], "side", MQS_PORT_OUTPUT, MQS_HEADER_NONE, MQS_FORMAT_ANY, NULL);
    cr_assert(eq(u32, d->param_count, 3));
    expect_param(&d->params[0], "gain", MQS_PARAM_DOUBLE, "1.5", 0.5, 10, NULL, "how much");
    /* 1.0's "no range" (min 1 > max 0) is 1.1's (0 and 0). */
    expect_param(&d->params[1], "mode", MQS_PARAM_ENUM, "fast", 0, 0, "fast|slow", "which way");
    expect_param(&d->params[2], "count", MQS_PARAM_INT, NULL, -3, 100, NULL, "how many");
    mqs_registry_close(&p);
    cr_assert(eq(ptr, p.owned_ports, NULL));
    cr_assert(eq(ptr, (void *)p.desc, NULL));
}

Test(registry, a_1_0_block_params_check_against_the_converted_specs)
{
    mqs_plugin p;
    char err[1024] = "";
    cr_assert(eq(int, open_test_block("legacy_v1_0", &p, err, sizeof err), 0), "%s", err);
    json_t *obj = json_pack("{s:i, s:s}", "count", 100, "mode", "slow");
    cr_assert(eq(int, mqs_params_check(p.desc, obj, err, sizeof err), 0), "%s", err);
    cr_assert(eq(dbl, json_real_value(json_object_get(obj, "gain")), 1.5), "default applied");
    json_object_set_new(obj, "count", json_integer(101));
    cr_assert(eq(int, mqs_params_check(p.desc, obj, err, sizeof err), -EINVAL));
    cr_assert(eq(str, err, "param 'count' = 101 is out of range -3..100"));
    json_decref(obj);
    mqs_registry_close(&p);
}

typedef struct refused {
    const char *block;
    const char *why; /* after "block plugin PATH " */
} refused;

static const refused refusals[] = {
    {"odd_range", "has param 'seed' with min 1 > max 0 (hint: leave both out, or 0 and 0, for no range)"},
    {"odd_both", "has both process() and transform() (hint: implement one of them)"},
    {"odd_transform_ports", "has transform() but 1 input and 2 outputs (hint: transform() is for one input and one "
                            "output; implement process() instead)"},
    {"odd_source", "is a source without produce() (hint: set .produce)"},
    {"odd_filter", "is a filter without process() or transform() (hint: set one of them)"},
};

Test(registry, bad_descriptors_are_refused_naming_the_file)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        mqs_plugin p;
        char err[1024] = "", expected[1024];
        cr_assert(eq(int, open_test_block(refusals[i].block, &p, err, sizeof err), -EPROTO), "%s", refusals[i].block);
        snprintf(expected, sizeof expected, "block plugin %s %s", plugin_path, refusals[i].why);
        cr_assert(eq(str, err, expected));
        cr_assert(eq(ptr, p.handle, NULL), "unloaded");
        cr_assert(eq(ptr, (void *)p.desc, NULL));
    }
}

Test(registry, nothing_past_the_descriptor_size_is_read)
{
    mqs_plugin p;
    char err[1024] = "";
    /* Its transform lies past its size: read, it would clash with process. */
    cr_assert(eq(int, open_test_block("odd_short", &p, err, sizeof err), 0), "%s", err);
    cr_assert(eq(u32, p.desc->size, offsetof(mqs_block_descriptor, transform)));
    cr_assert(ne(ptr, (void *)p.desc->process, NULL));
    cr_assert(eq(ptr, (void *)p.desc->transform, NULL));
    mqs_registry_close(&p);
}

Test(registry, a_newer_minor_is_accepted)
{
    mqs_plugin p;
    char err[1024] = "";
    cr_assert(eq(int, open_test_block("odd_future", &p, err, sizeof err), 0), "%s", err);
    cr_assert(eq(u32, p.desc->abi_minor, MQS_BLOCK_ABI_MINOR + 5));
    cr_assert(gt(u32, p.desc->size, sizeof(mqs_block_descriptor)));
    cr_assert(eq(u32, p.desc->flags, MQS_BLOCK_ALIGNED));
    cr_assert(ne(ptr, (void *)p.desc->transform, NULL));
    cr_assert(eq(ptr, p.owned_ports, NULL), "1.1 specs are used as they are");
    mqs_registry_close(&p);
}

Test(registry, grayscale_and_scale_are_transform_blocks)
{
    const char *names[] = {"grayscale", "scale"};
    for (int i = 0; i < 2; i++) {
        char path[512], err[1024] = "";
        mqs_plugin p;
        snprintf(path, sizeof path, "%s/mqs_block_%s.so", MQS_TEST_BUILTIN_BLOCKS, names[i]);
        cr_assert(eq(int, mqs_registry_open_file(path, names[i], &p, err, sizeof err), 0), "%s", err);
        cr_assert(ne(ptr, (void *)p.desc->transform, NULL), "%s", names[i]);
        cr_assert(eq(ptr, (void *)p.desc->process, NULL), "%s", names[i]);
        mqs_registry_close(&p);
    }
}

/* ---- transform() as the host runs it ---- */

/* What the test block does and saw. */
static struct {
    int status;          /* transform's return value */
    uint64_t lower_to;   /* nonzero: set out->meta->length to it */
    int calls;
    mqs_buffer_meta seen; /* out's meta when transform was called */
} block;

static int invert_transform(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    (void)ctx;
    block.calls++;
    block.seen = *out->meta;
    const uint8_t *src = in->data;
    uint8_t *dst = out->data;
    for (uint64_t i = 0; i < out->meta->length && i < in->meta->length; i++)
        dst[i] = (uint8_t)(255 - src[i]);
    if (block.lower_to)
        out->meta->length = block.lower_to;
    return block.status;
}

static const mqs_port_spec transform_ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT},
    {.name = "out", .direction = MQS_PORT_OUTPUT},
};

static const mqs_block_descriptor transform_block = {
    MQS_BLOCK_HEADER, .name = "invert", .kind = MQS_BLOCK_FILTER, .ports = transform_ports, .port_count = 2,
    .transform = invert_transform,
};

/* One process that is upstream (pool 0), the block (output 0 from pool 1)
 * and downstream (queue 0) at once. */
static struct {
    mqs_domain *d;
    mqs_host host;
    bool host_ready;
} rig;
static volatile sig_atomic_t never_stop;

static void rig_fini(void)
{
    if (rig.host_ready)
        mqs_host_fini(&rig.host);
    mqst_teardown();
}

static void rig_init(uint64_t out_slot_size, const mqs_caps *out_caps)
{
    mqst_topo t;
    mqst_topo_init(&t, "sdk", 1);
    mqst_add_pool(&t, 0, 256, 2);
    uint32_t out_pool = mqst_add_pool(&t, 0, out_slot_size, 2);
    uint32_t output = mqst_add_output(&t, 0, out_pool);
    mqst_add_queue(&t, output, 0, 4, MQS_POLICY_BLOCK);
    rig.d = mqst_create(&t);
    rig.host = (mqs_host){.domain = rig.d, .desc = &transform_block, .instance = "inv", .verbosity = MQS_LOG_ERROR,
                          .stop_flag = &never_stop};
    rig.host.ctx.input_count = 1;
    rig.host.ctx.output_count = 1;
    rig.host.outputs[0] = output;
    rig.host.pools[0] = out_pool;
    rig.host.output_caps[0] = *out_caps;
    cr_assert(eq(int, mqs_host_init(&rig.host), 0));
    rig.host_ready = true;
    memset(&block, 0, sizeof block);
}

/* An upstream buffer of `n` bytes 0, 1, 2 ... with every meta field set. */
static mqs_buffer rig_input(uint64_t n)
{
    mqs_buffer_id id;
    mqs_buffer in;
    cr_assert(eq(int, mqs_buffer_alloc(rig.d, 0, &id), 0));
    mqs_host_view(&rig.host, id, &in);
    for (uint64_t i = 0; i < n; i++)
        ((uint8_t *)in.data)[i] = (uint8_t)i;
    *in.meta = (mqs_buffer_meta){.length = n, .pts = 5000, .duration = 33, .seq = 41, .port = 7,
                                 .flags = MQS_BUFFER_KEYFRAME | MQS_BUFFER_GAP, .header_type = MQS_HEADER_SENSOR,
                                 .header.sensor = {.sample_type = MQS_SENSOR_IMU, .count = 2, .sample_size = 3}};
    return in;
}

/* What arrived downstream: 1 and the buffer (to unref), or 0 if nothing. */
static int rig_received(mqs_buffer *out)
{
    mqs_buffer_id id;
    int rc = mqs_queue_receive(rig.d, 0, &id, 0);
    if (rc == -EAGAIN)
        return 0;
    cr_assert(eq(int, rc, 0));
    mqs_host_view(&rig.host, id, out);
    return 1;
}

static uint32_t out_pool_in_use(void)
{
    return mqst_pool_stats(rig.d, 1).in_use;
}

static int rig_call(const mqs_buffer *in)
{
    const mqs_buffer *set[1] = {in};
    return mqs_host_call(&rig.host, set);
}

TestSuite(transform, .fini = rig_fini);

Test(transform, bytes_get_the_input_length_and_meta)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps);
    mqs_buffer in = rig_input(10), out;
    cr_assert(eq(int, rig_call(&in), 0));
    cr_assert(eq(int, block.calls, 1));
    cr_assert(eq(u64, block.seen.length, 10), "set before transform");
    cr_assert(eq(u32, block.seen.port, UINT32_MAX), "the port is send's to set");
    cr_assert(eq(int, rig_received(&out), 1));
    const mqs_buffer_meta *m = out.meta;
    cr_assert(eq(u64, m->length, 10));
    cr_assert(eq(i64, m->pts, 5000));
    cr_assert(eq(i64, m->duration, 33));
    cr_assert(eq(u64, m->seq, 41));
    cr_assert(eq(u32, m->port, 0));
    cr_assert(eq(u32, m->flags, MQS_BUFFER_KEYFRAME | MQS_BUFFER_GAP));
    cr_assert(eq(u32, m->header_type, MQS_HEADER_SENSOR));
    cr_assert(eq(int, memcmp(&m->header, &in.meta->header, sizeof m->header), 0));
    for (int i = 0; i < 10; i++)
        cr_assert(eq(u8, ((uint8_t *)out.data)[i], (uint8_t)(255 - i)), "byte %d", i);
    mqs_buffer_unref(rig.d, out.id);
    mqs_buffer_unref(rig.d, in.id);
    cr_assert(eq(u32, out_pool_in_use(), 0));
    cr_assert(eq(u32, mqs_held_count(rig.d), 0));
}

Test(transform, video_gets_a_frame_of_the_output_caps)
{
    const mqs_caps caps = {.header_type = MQS_HEADER_VIDEO, .format = MQS_FORMAT_RGB24, .width = 4, .height = 2,
                           .slot_size = 24, .slot_count = 2};
    rig_init(24, &caps);
    mqs_buffer in = rig_input(7), out;
    cr_assert(eq(int, rig_call(&in), 0));
    cr_assert(eq(int, rig_received(&out), 1));
    const mqs_buffer_meta *m = out.meta;
    cr_assert(eq(u64, m->length, 24), "4x2 rgb24, not the input's 7 bytes");
    cr_assert(eq(u32, m->header_type, MQS_HEADER_VIDEO));
    cr_assert(eq(u32, m->header.video.width, 4));
    cr_assert(eq(u32, m->header.video.height, 2));
    cr_assert(eq(u32, m->header.video.format, MQS_FORMAT_RGB24));
    cr_assert(eq(u32, m->header.video.stride, 12));
    cr_assert(eq(i64, m->pts, 5000));
    cr_assert(eq(u64, m->seq, 41));
    mqs_buffer_unref(rig.d, out.id);
    mqs_buffer_unref(rig.d, in.id);
}

Test(transform, the_block_may_lower_the_length)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps);
    block.lower_to = 3;
    mqs_buffer in = rig_input(10), out;
    cr_assert(eq(int, rig_call(&in), 0));
    cr_assert(eq(int, rig_received(&out), 1));
    cr_assert(eq(u64, out.meta->length, 3));
    mqs_buffer_unref(rig.d, out.id);
    mqs_buffer_unref(rig.d, in.id);
}

Test(transform, skip_sends_nothing_and_frees_the_buffer)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps);
    block.status = MQS_SKIP;
    mqs_buffer in = rig_input(10), out;
    cr_assert(eq(int, rig_call(&in), 0));
    cr_assert(eq(int, block.calls, 1));
    cr_assert(eq(int, rig_received(&out), 0));
    cr_assert(eq(u32, out_pool_in_use(), 0));
    mqs_buffer_unref(rig.d, in.id);
}

Test(transform, an_error_is_returned_and_the_buffer_freed)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps);
    block.status = -EIO;
    mqs_buffer in = rig_input(10), out;
    cr_assert(eq(int, rig_call(&in), -EIO));
    cr_assert(eq(int, rig_received(&out), 0));
    cr_assert(eq(u32, out_pool_in_use(), 0));
    mqs_buffer_unref(rig.d, in.id);
}

Test(transform, a_set_without_the_input_calls_nothing)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps);
    mqs_buffer out;
    cr_assert(eq(int, rig_call(NULL), 0));
    cr_assert(eq(int, block.calls, 0));
    cr_assert(eq(int, rig_received(&out), 0));
    cr_assert(eq(u64, mqst_pool_stats(rig.d, 1).allocs, 0));
}

Test(transform, an_unknown_status_is_eproto, .init = cr_redirect_stderr)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps);
    block.status = 5;
    mqs_buffer in = rig_input(10), out;
    cr_assert(eq(int, rig_call(&in), -EPROTO));
    cr_assert(eq(int, rig_received(&out), 0));
    cr_assert(eq(u32, out_pool_in_use(), 0));
    mqs_buffer_unref(rig.d, in.id);
    fflush(stderr);
    cr_assert_stderr_eq_str("inv: error: transform() returned 5 (expected 0, MQS_SKIP or a negative errno)\n");
}

Test(transform, small_slots_are_emsgsize_with_the_fix, .init = cr_redirect_stderr)
{
    const mqs_caps video = {.header_type = MQS_HEADER_VIDEO, .format = MQS_FORMAT_GRAY8, .width = 16, .height = 16,
                            .slot_size = 64, .slot_count = 2};
    rig_init(64, &video);
    mqs_buffer in = rig_input(10), out;
    cr_assert(eq(int, rig_call(&in), -EMSGSIZE));
    cr_assert(eq(int, block.calls, 0));
    cr_assert(eq(int, rig_received(&out), 0));
    cr_assert(eq(u32, out_pool_in_use(), 0));
    mqs_buffer_unref(rig.d, in.id);
    fflush(stderr);
    cr_assert_stderr_eq_str("inv: error: output slots hold 64 bytes, a buffer needs 256: raise the output's "
                            "slot_size\n");
}

Test(transform, bytes_longer_than_the_slots_are_emsgsize, .init = cr_redirect_stderr)
{
    const mqs_caps caps = {.slot_size = 64, .slot_count = 2};
    rig_init(64, &caps); /* slots are whole cache lines: 64 holds 64 */
    mqs_buffer in = rig_input(100), out;
    cr_assert(eq(int, rig_call(&in), -EMSGSIZE));
    cr_assert(eq(int, rig_received(&out), 0));
    mqs_buffer_unref(rig.d, in.id);
    fflush(stderr);
    cr_assert_stderr_eq_str("inv: error: output slots hold 64 bytes, a buffer needs 100: raise the output's "
                            "slot_size\n");
}
