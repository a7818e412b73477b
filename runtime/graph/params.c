/* Block params: conversion from text, checks against specs, defaults, and
 * the accessor table blocks use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "params.h"
#include "registry.h"
#include "units.h"

typedef struct params_impl {
    mqs_params pub;
    const mqs_block_descriptor *desc;
    json_t *obj;
    bool owns_obj;
    char failure[512];
} params_impl;

const mqs_param_spec *mqs_param_find(const mqs_block_descriptor *desc, const char *key)
{
    for (uint32_t i = 0; i < desc->param_count; i++)
        if (strcmp(desc->params[i].key, key) == 0)
            return &desc->params[i];
    return NULL;
}

int mqs_param_unknown(const mqs_block_descriptor *desc, const char *key, char *err, size_t errlen)
{
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (uint32_t i = 0; i < desc->param_count; i++) {
        size_t dist = mqs_edit_distance(key, desc->params[i].key);
        if (dist < best_distance) {
            best_distance = dist;
            best = desc->params[i].key;
        }
    }
    if (best && best_distance <= 2)
        snprintf(err, errlen, "unknown param '%s' (hint: did you mean '%s'?)", key, best);
    else if (desc->param_count == 0)
        snprintf(err, errlen, "unknown param '%s' (hint: block type '%s' takes no params)", key, desc->name);
    else
        snprintf(err, errlen, "unknown param '%s' (hint: `mqrun --list-blocks -v` shows the params of '%s')", key,
                 desc->name);
    return -EINVAL;
}

static bool in_choices(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static const char *type_name(mqs_param_type t)
{
    switch (t) {
    case MQS_PARAM_INT: return "an integer";
    case MQS_PARAM_DOUBLE: return "a number";
    case MQS_PARAM_BOOL: return "true or false";
    case MQS_PARAM_STRING: return "a string";
    case MQS_PARAM_DURATION: return "a duration (e.g. 10ms)";
    case MQS_PARAM_SIZE: return "a size (e.g. 4MiB)";
    default: return "one of the choices";
    }
}

bool mqs_param_has_range(const mqs_param_spec *spec)
{
    return !(spec->min == 0 && spec->max == 0);
}

static int too_long(const mqs_param_spec *spec, size_t length, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "param '%s' is %zu bytes long, more than the limit of %d (hint: put large data in a file and name the "
             "file)",
             spec->key, length, MQS_PARAM_STRING_MAX);
    return -EINVAL;
}

/* Is this JSON value of the spec's type, in range and among the choices? */
static int check_value(const mqs_param_spec *spec, json_t *v, char *err, size_t errlen)
{
    bool ok;
    switch (spec->type) {
    case MQS_PARAM_DOUBLE: ok = json_is_number(v); break;
    case MQS_PARAM_BOOL: ok = json_is_boolean(v); break;
    case MQS_PARAM_STRING:
    case MQS_PARAM_ENUM: ok = json_is_string(v); break;
    default: ok = json_is_integer(v); break;
    }
    if (!ok) {
        snprintf(err, errlen, "param '%s' must be %s", spec->key, type_name(spec->type));
        return -EINVAL;
    }
    if (spec->type == MQS_PARAM_SIZE && json_integer_value(v) < 0) { /* as mqs_parse_size refuses "-1KiB" */
        snprintf(err, errlen, "param '%s' = %lld is not a size (hint: sizes are 0 or more, e.g. 4MiB)", spec->key,
                 (long long)json_integer_value(v));
        return -EINVAL;
    }
    if (json_is_string(v) && json_string_length(v) > MQS_PARAM_STRING_MAX)
        return too_long(spec, json_string_length(v), err, errlen);
    if (spec->type == MQS_PARAM_ENUM && !in_choices(spec->choices, json_string_value(v))) {
        snprintf(err, errlen, "param '%s' = '%s' is not one of %s", spec->key, json_string_value(v), spec->choices);
        return -EINVAL;
    }
    if (json_is_number(v) && mqs_param_has_range(spec)) {
        double x = json_number_value(v);
        if (x < spec->min || x > spec->max) {
            snprintf(err, errlen, "param '%s' = %g is out of range %g..%g", spec->key, x, spec->min, spec->max);
            return -EINVAL;
        }
    }
    return 0;
}

static int parse_bool(const char *t, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(t, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(t, no[i]) == 0)
            return *out = false, 0;
    }
    return -EINVAL;
}

static json_t *convert(const mqs_param_spec *spec, const char *text, char *err, size_t errlen)
{
    char *end;
    int64_t n;
    bool b;
    char unit_err[256];
    switch (spec->type) {
    case MQS_PARAM_INT:
        errno = 0;
        n = strtoll(text, &end, 10);
        return *text && !*end && !errno ? json_integer(n) : NULL;
    case MQS_PARAM_DOUBLE: {
        double x = strtod(text, &end);
        return *text && !*end ? json_real(x) : NULL;
    }
    case MQS_PARAM_BOOL: return parse_bool(text, &b) == 0 ? json_boolean(b) : NULL;
    case MQS_PARAM_DURATION:
        if (mqs_parse_duration(text, &n, unit_err, sizeof unit_err) == 0)
            return json_integer(n);
        snprintf(err, errlen, "param '%s': %s", spec->key, unit_err);
        return NULL;
    case MQS_PARAM_SIZE:
        if (mqs_parse_size(text, &n, unit_err, sizeof unit_err) == 0)
            return json_integer(n);
        snprintf(err, errlen, "param '%s': %s", spec->key, unit_err);
        return NULL;
    default: return json_string(text);
    }
}

int mqs_param_from_text(const mqs_param_spec *spec, const char *text, json_t **out, char *err, size_t errlen)
{
    err[0] = '\0';
    size_t length = strlen(text);
    if (length > MQS_PARAM_STRING_MAX) /* before a copy is made */
        return too_long(spec, length, err, errlen);
    json_t *v = convert(spec, text, err, errlen);
    if (!v) {
        if (!err[0])
            snprintf(err, errlen, "param '%s' = '%s' is not %s", spec->key, text, type_name(spec->type));
        return -EINVAL;
    }
    int rc = check_value(spec, v, err, errlen);
    if (rc) {
        json_decref(v);
        return rc;
    }
    *out = v;
    return 0;
}

int mqs_params_check(const mqs_block_descriptor *desc, json_t *obj, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const mqs_param_spec *spec = mqs_param_find(desc, key);
        if (!spec)
            return mqs_param_unknown(desc, key, err, errlen);
        int rc = check_value(spec, v, err, errlen);
        if (rc)
            return rc;
    }
    for (uint32_t i = 0; i < desc->param_count; i++) {
        const mqs_param_spec *spec = &desc->params[i];
        if (json_object_get(obj, spec->key))
            continue;
        if (!spec->default_value) {
            snprintf(err, errlen, "missing required param '%s' (%s)", spec->key, spec->help ? spec->help : "no help");
            return -EINVAL;
        }
        json_t *def;
        if (mqs_param_from_text(spec, spec->default_value, &def, err, errlen) != 0)
            return -EINVAL; /* a block bug: its default does not fit its own spec */
        json_object_set_new(obj, spec->key, def);
    }
    return 0;
}

/* ---- the accessor table ---- */

static json_t *lookup(const mqs_params *p, const char *key)
{
    return json_object_get(((const params_impl *)p)->obj, key);
}

static int64_t get_int(const mqs_params *p, const char *key)
{
    json_t *v = lookup(p, key);
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v); /* exact: a double rounds int64 values past 2^53 */
    double x = json_is_real(v) ? json_real_value(v) : 0;
    return x >= 0x1p63 ? INT64_MAX : x < -0x1p63 ? INT64_MIN : (int64_t)x; /* the cast is undefined past int64 */
}

static double get_double(const mqs_params *p, const char *key)
{
    json_t *v = lookup(p, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *get_string(const mqs_params *p, const char *key)
{
    json_t *v = lookup(p, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int fail(const mqs_params *p, const char *fmt, va_list ap)
{
    params_impl *impl = (params_impl *)p;
    vsnprintf(impl->failure, sizeof impl->failure, fmt, ap);
    return -EINVAL;
}

static const mqs_param_api param_api = {
    .size = sizeof(mqs_param_api), .get_int = get_int, .get_double = get_double, .get_string = get_string, .fail = fail};

mqs_params *mqs_params_wrap(const mqs_block_descriptor *desc, json_t *obj)
{
    params_impl *impl = calloc(1, sizeof *impl);
    if (!impl)
        return NULL;
    impl->pub.api = &param_api;
    impl->pub.impl = impl;
    impl->desc = desc;
    impl->obj = obj;
    return &impl->pub;
}

/* Params that own `obj` (freed with them, or here on failure). */
static mqs_params *wrap_owned(const mqs_block_descriptor *desc, json_t *obj, char *err, size_t errlen)
{
    mqs_params *p = mqs_params_wrap(desc, obj);
    if (!p) {
        json_decref(obj);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ((params_impl *)p)->owns_obj = true;
    return p;
}

mqs_params *mqs_params_from_json_text(const mqs_block_descriptor *desc, const char *instance, const char *text,
                                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    char why[512];
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "block '%s': params are not a JSON object: %s", instance, jerr.text);
        json_decref(obj);
        return NULL;
    }
    if (mqs_params_check(desc, obj, why, sizeof why) != 0) {
        snprintf(err, errlen, "block '%s': %s", instance, why);
        json_decref(obj);
        return NULL;
    }
    return wrap_owned(desc, obj, err, errlen);
}

mqs_params *mqs_params_with(const mqs_params *p, const char *key, const char *text, char *err, size_t errlen)
{
    const params_impl *impl = (const params_impl *)p;
    const mqs_param_spec *spec = mqs_param_find(impl->desc, key);
    if (!spec) {
        mqs_param_unknown(impl->desc, key, err, errlen);
        return NULL;
    }
    json_t *value, *obj = json_deep_copy(impl->obj);
    if (!obj || mqs_param_from_text(spec, text, &value, err, errlen) != 0) {
        json_decref(obj);
        return NULL;
    }
    json_object_set_new(obj, key, value);
    return wrap_owned(impl->desc, obj, err, errlen);
}

const char *mqs_params_failure(const mqs_params *p)
{
    return ((const params_impl *)p)->failure;
}

void mqs_params_free(mqs_params *p)
{
    if (!p)
        return;
    params_impl *impl = (params_impl *)p;
    if (impl->owns_obj)
        json_decref(impl->obj);
    free(impl);
}
