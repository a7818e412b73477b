/* Fuzz harness of the param validator. The input, as JSON text, is checked
 * against real descriptors (pattern_source and sensor_source from the
 * build's blocks) and a synthetic one with every param type; as plain text
 * it is converted by each of their specs, and parsed as a duration and a
 * size. Each gives values of the spec's type within the spec's range and
 * choices, or a message saying why not; never a crash, a leak or a hang. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "graph/params.h"
#include "graph/registry.h"
#include "graph/units.h"

/* Every type, ranged and not; the last one is required (no default). */
static const mqs_param_spec every_type[] = {
    {.key = "count", .type = MQS_PARAM_INT, .default_value = "3", .min = -5, .max = 1e6},
    {.key = "seed", .type = MQS_PARAM_INT, .default_value = "-9223372036854775808"},
    {.key = "gain", .type = MQS_PARAM_DOUBLE, .default_value = "0.5", .min = -1e300, .max = 1e300},
    {.key = "ratio", .type = MQS_PARAM_DOUBLE, .default_value = "1e-3"},
    {.key = "enabled", .type = MQS_PARAM_BOOL, .default_value = "yes"},
    {.key = "label", .type = MQS_PARAM_STRING, .default_value = ""},
    {.key = "period", .type = MQS_PARAM_DURATION, .default_value = "1.5ms", .min = 0, .max = 1e10},
    {.key = "offset", .type = MQS_PARAM_DURATION, .default_value = "-3ms"},
    {.key = "slot", .type = MQS_PARAM_SIZE, .default_value = "64KiB", .min = 1, .max = 1073741824.0},
    {.key = "limit", .type = MQS_PARAM_SIZE, .default_value = "0"},
    {.key = "mode", .type = MQS_PARAM_ENUM, .default_value = "fast", .choices = "fast|slow|off"},
    {.key = "path", .type = MQS_PARAM_STRING, .help = "required"},
};
#define EVERY_TYPE_COUNT (sizeof every_type / sizeof every_type[0])

/* The same specs with and without the required one. */
static const mqs_block_descriptor synthetic[2] = {
    {.abi_major = MQS_BLOCK_ABI_MAJOR, .abi_minor = MQS_BLOCK_ABI_MINOR, .size = sizeof(mqs_block_descriptor),
     .name = "fuzz_every_type", .kind = MQS_BLOCK_SINK, .params = every_type, .param_count = EVERY_TYPE_COUNT},
    {.abi_major = MQS_BLOCK_ABI_MAJOR, .abi_minor = MQS_BLOCK_ABI_MINOR, .size = sizeof(mqs_block_descriptor),
     .name = "fuzz_defaults", .kind = MQS_BLOCK_SINK, .params = every_type, .param_count = EVERY_TYPE_COUNT - 1},
};

static const char *const real_types[] = {"pattern_source", "sensor_source"};
#define REAL_COUNT (sizeof real_types / sizeof real_types[0])
static mqs_plugin plugins[REAL_COUNT];
static const mqs_block_descriptor *descriptors[REAL_COUNT + 2];

static void close_plugins(void)
{
    for (size_t i = 0; i < REAL_COUNT; i++)
        mqs_registry_close(&plugins[i]);
}

static void set_up(void)
{
    char err[1024];
    setenv("MQS_BLOCK_PATH", MQS_FUZZ_BLOCK_DIR, 1);
    for (size_t i = 0; i < REAL_COUNT; i++) {
        FUZZ_REQUIRE(mqs_registry_find(real_types[i], NULL, NULL, &plugins[i], err, sizeof err) == 0,
                     "load a real block", err);
        descriptors[i] = plugins[i].desc;
    }
    descriptors[REAL_COUNT] = &synthetic[0];
    descriptors[REAL_COUNT + 1] = &synthetic[1];
    atexit(close_plugins);
}

static bool is_choice(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; p && *p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
        if (strncmp(p, value, n) == 0 && (p[n] == '|' || p[n] == '\0'))
            return true;
    return false;
}

static bool in_range(const mqs_param_spec *s, double x)
{
    return !mqs_param_has_range(s) || (x >= s->min && x <= s->max);
}

/* What a block reads through the accessor table obeys the spec. */
static void check_accessors(const mqs_params *p, const mqs_param_spec *s)
{
    switch (s->type) {
    case MQS_PARAM_INT:
    case MQS_PARAM_DURATION:
    case MQS_PARAM_SIZE:
        FUZZ_REQUIRE(in_range(s, (double)mqs_param_int(p, s->key)), "an integer param is in range", s->key);
        FUZZ_REQUIRE(s->type != MQS_PARAM_SIZE || mqs_param_int(p, s->key) >= 0, "a size is not negative", s->key);
        break;
    case MQS_PARAM_BOOL: {
        int64_t v = mqs_param_int(p, s->key);
        FUZZ_REQUIRE(v == 0 || v == 1, "a bool param reads as 0 or 1", s->key);
        break;
    }
    case MQS_PARAM_DOUBLE: {
        double x = mqs_param_double(p, s->key);
        FUZZ_REQUIRE(isfinite(x) && in_range(s, x), "a number param is finite and in range", s->key);
        break;
    }
    case MQS_PARAM_ENUM:
        FUZZ_REQUIRE(is_choice(s->choices, mqs_param_string(p, s->key)), "an enum param is a choice", s->key);
        break;
    default: FUZZ_REQUIRE(mqs_param_string(p, s->key) != NULL, "a string param reads", s->key);
    }
}

static void check_json(const mqs_block_descriptor *d, const char *text)
{
    char err[1024] = "";
    mqs_params *p = mqs_params_from_json_text(d, "fuzz", text, err, sizeof err);
    if (!p) {
        FUZZ_REQUIRE(strncmp(err, "block 'fuzz': ", 14) == 0 && err[14], "a refusal names the block", err);
        return;
    }
    for (uint32_t i = 0; i < d->param_count; i++)
        check_accessors(p, &d->params[i]);
    FUZZ_REQUIRE(mqs_params_failure(p)[0] == '\0', "no failure recorded yet", mqs_params_failure(p));
    mqs_params_free(p);
}

/* The JSON type a spec's values have. */
static bool has_type(const mqs_param_spec *s, const json_t *v)
{
    switch (s->type) {
    case MQS_PARAM_DOUBLE: return json_is_real(v);
    case MQS_PARAM_BOOL: return json_is_boolean(v);
    case MQS_PARAM_STRING:
    case MQS_PARAM_ENUM: return json_is_string(v);
    default: return json_is_integer(v);
    }
}

static void check_text(const mqs_param_spec *s, const char *text)
{
    char err[1024] = "";
    json_t *v = NULL;
    if (mqs_param_from_text(s, text, &v, err, sizeof err) != 0) {
        FUZZ_REQUIRE(strncmp(err, "param '", 7) == 0, "a refusal names the param", err);
        return;
    }
    FUZZ_REQUIRE(v && has_type(s, v), "text converts to the spec's type", text);
    FUZZ_REQUIRE(!json_is_number(v) || in_range(s, json_number_value(v)), "a converted number is in range", text);
    FUZZ_REQUIRE(!json_is_real(v) || isfinite(json_real_value(v)), "a converted number is finite", text);
    FUZZ_REQUIRE(s->type != MQS_PARAM_ENUM || is_choice(s->choices, json_string_value(v)), "an enum is a choice",
                 text);
    json_decref(v);
}

static void check_units(const char *text)
{
    char err[512] = "";
    int64_t v = -1;
    if (mqs_parse_duration(text, &v, err, sizeof err) != 0)
        FUZZ_REQUIRE(err[0] == '\'', "a refused duration quotes the text", err);
    err[0] = '\0';
    if (mqs_parse_size(text, &v, err, sizeof err) == 0)
        FUZZ_REQUIRE(v >= 0, "a size is not negative", text);
    else
        FUZZ_REQUIRE(err[0] == '\'', "a refused size quotes the text", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        set_up();
        ready = true;
    }
    char *text = malloc(size + 1);
    FUZZ_REQUIRE(text, "allocate the input", "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t d = 0; d < REAL_COUNT + 2; d++) {
        check_json(descriptors[d], text);
        for (uint32_t i = 0; i < descriptors[d]->param_count; i++)
            check_text(&descriptors[d]->params[i], text);
    }
    check_units(text);
    free(text);
    return 0;
}
