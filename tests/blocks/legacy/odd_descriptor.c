/* Descriptors at the edges of the SDK's rules, one per build of this file
 * (tests/CMakeLists.txt defines which ODD_*): the registry must refuse the
 * first five with a clear message and accept the last two. Test-only. */
#include <stddef.h>

#include <mqs/block.h>

__attribute__((unused)) static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    (void)ctx, (void)in;
    return 0;
}

__attribute__((unused)) static int transform(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    (void)ctx, (void)in, (void)out;
    return 0;
}

__attribute__((unused)) static const mqs_port_spec one_in_one_out[] = {
    {.name = "in", .direction = MQS_PORT_INPUT},
    {.name = "out", .direction = MQS_PORT_OUTPUT},
};

__attribute__((unused)) static const mqs_port_spec one_in_two_out[] = {
    {.name = "in", .direction = MQS_PORT_INPUT},
    {.name = "a", .direction = MQS_PORT_OUTPUT},
    {.name = "b", .direction = MQS_PORT_OUTPUT},
};

#if defined(ODD_RANGE) /* min > max no longer means "no range" */
static const mqs_param_spec params[] = {
    {.key = "gain", .type = MQS_PARAM_DOUBLE, .default_value = "1", .min = 0, .max = 2},
    {.key = "seed", .type = MQS_PARAM_INT, .default_value = "1", .min = 1, .max = 0},
};
MQS_BLOCK_EXPORT(odd) = {MQS_BLOCK_HEADER, .name = "odd_range", .kind = MQS_BLOCK_FILTER, .ports = one_in_one_out,
                         .port_count = 2, .params = params, .param_count = 2, .process = process};

#elif defined(ODD_BOTH) /* process and transform */
MQS_BLOCK_EXPORT(odd) = {MQS_BLOCK_HEADER, .name = "odd_both", .kind = MQS_BLOCK_FILTER, .ports = one_in_one_out,
                         .port_count = 2, .process = process, .transform = transform};

#elif defined(ODD_TRANSFORM_PORTS) /* transform with two outputs */
MQS_BLOCK_EXPORT(odd) = {MQS_BLOCK_HEADER, .name = "odd_transform_ports", .kind = MQS_BLOCK_FILTER,
                         .ports = one_in_two_out, .port_count = 3, .transform = transform};

#elif defined(ODD_SOURCE) /* a source without produce */
MQS_BLOCK_EXPORT(odd) = {MQS_BLOCK_HEADER, .name = "odd_source", .kind = MQS_BLOCK_SOURCE,
                         .ports = one_in_one_out + 1, .port_count = 1};

#elif defined(ODD_FILTER) /* a filter without process or transform */
MQS_BLOCK_EXPORT(odd) = {MQS_BLOCK_HEADER, .name = "odd_filter", .kind = MQS_BLOCK_FILTER, .ports = one_in_one_out,
                         .port_count = 2};

#elif defined(ODD_SHORT) /* size ends before transform: what lies after it is not the block's */
MQS_BLOCK_EXPORT(odd) = {.abi_major = MQS_BLOCK_ABI_MAJOR, .abi_minor = MQS_BLOCK_ABI_MINOR,
                         .size = offsetof(mqs_block_descriptor, transform), .name = "odd_short",
                         .kind = MQS_BLOCK_FILTER, .ports = one_in_one_out, .port_count = 2, .process = process,
                         .transform = transform};

#elif defined(ODD_FUTURE) /* a newer minor with a field this host does not know */
typedef struct future_descriptor {
    mqs_block_descriptor base;
    void (*later)(void);
} future_descriptor;
static void later(void) {}
static const future_descriptor future = {
    .base = {.abi_major = MQS_BLOCK_ABI_MAJOR, .abi_minor = MQS_BLOCK_ABI_MINOR + 5,
             .size = sizeof(future_descriptor), .flags = MQS_BLOCK_ALIGNED, .name = "odd_future",
             .kind = MQS_BLOCK_FILTER, .ports = one_in_one_out, .port_count = 2, .transform = transform},
    .later = later,
};
__attribute__((visibility("default"))) const mqs_block_descriptor *mqs_block_descriptor_v1(void);
const mqs_block_descriptor *mqs_block_descriptor_v1(void) { return &future.base; }
#endif
