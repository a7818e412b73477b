/* test_join: a test-only filter with two required inputs (a, b), one
 * optional input (c) and one output, flagged MQS_BLOCK_ALIGNED. It consumes
 * whatever it is given and sends nothing. Its `c` param makes negotiate()
 * check what the host says about input c, so tests can see MQS_CAPS_ABSENT. */
#include <mqs/block.h>

static int negotiate(const mqs_params *p, const mqs_caps *in, uint32_t n_in, mqs_caps *out, uint32_t n_out)
{
    if (n_in != 3 || n_out != 1)
        return mqs_params_fail(p, "expected 3 inputs and 1 output, got %u and %u", n_in, n_out);
    const char *want = mqs_param_string(p, "c");
    bool absent = in[2].flags & MQS_CAPS_ABSENT;
    if ((strcmp(want, "absent") == 0 && !absent) || (strcmp(want, "connected") == 0 && absent))
        return mqs_params_fail(p, "input c is %s, expected %s", absent ? "absent" : "connected", want);
    out[0] = in[0];
    return 0;
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    (void)ctx;
    (void)in;
    return 0;
}

static const mqs_port_spec ports[] = {
    {.name = "a", .direction = MQS_PORT_INPUT, .help = "anything"},
    {.name = "b", .direction = MQS_PORT_INPUT, .help = "anything"},
    {.name = "c", .direction = MQS_PORT_INPUT, .flags = MQS_PORT_OPTIONAL, .help = "anything, may be left out"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "nothing is ever sent"},
};

static const mqs_param_spec params[] = {
    {.key = "c", .type = MQS_PARAM_ENUM, .default_value = "any", .choices = "any|connected|absent",
     .help = "what negotiate() must see on input c"},
};

MQS_BLOCK_EXPORT(test_join) = {
    MQS_BLOCK_HEADER,
    .name = "test_join",
    .summary = "test only: joins a, b and optional c, aligned; sends nothing",
    .kind = MQS_BLOCK_FILTER,
    .flags = MQS_BLOCK_ALIGNED,
    .ports = ports,
    .port_count = 4,
    .params = params,
    .param_count = 1,
    .negotiate = negotiate,
    .process = process,
};
