/* A block as the 1.0 SDK built it: ports and params in the 1.0 layouts
 * (before flags and spare room), a descriptor without flags and transform.
 * It declares those layouts itself, as <mqs/block.h> 1.0 did, so the host's
 * conversion of 1.0 specs is tested against the real strides. Test-only. */
#include <stddef.h>
#include <stdint.h>

typedef struct legacy_port_spec {
    const char *name;
    int direction;        /* 1 input, 2 output */
    uint32_t header_type; /* 1 video */
    uint32_t format;      /* 2 gray8 */
    const char *help;
} legacy_port_spec;

typedef struct legacy_param_spec {
    const char *key;
    int type; /* 1 int, 2 double, 7 enum */
    const char *default_value;
    double min, max; /* 1.0: no range when min > max */
    const char *choices;
    const char *help;
} legacy_param_spec;

typedef struct legacy_descriptor {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t size;
    uint32_t reserved;
    const char *name;
    const char *summary;
    int kind; /* 2 filter */
    const legacy_port_spec *ports;
    uint32_t port_count;
    const legacy_param_spec *params;
    uint32_t param_count;
    size_t state_size;
    int (*negotiate)(const void *params, const void *inputs, uint32_t input_count, void *outputs,
                     uint32_t output_count);
    int (*init)(void *ctx);
    int (*process)(void *ctx, const void *const *in);
    int (*produce)(void *ctx);
    int (*flush)(void *ctx);
    void (*fini)(void *ctx);
} legacy_descriptor;

_Static_assert(sizeof(void *) != 8 || sizeof(legacy_port_spec) == 32, "1.0 port spec layout (LP64)");
_Static_assert(sizeof(void *) != 8 || sizeof(legacy_param_spec) == 56, "1.0 param spec layout (LP64)");

static int process(void *ctx, const void *const *in)
{
    (void)ctx, (void)in;
    return 0;
}

static const legacy_port_spec ports[] = {
    {"in", 1, 1, 2, "gray8 frames"},
    {"out", 2, 0, 0, "the same frames"},
    {"side", 2, 0, 0, NULL},
};

static const legacy_param_spec params[] = {
    {"gain", 2, "1.5", 0.5, 10, NULL, "how much"},
    {"mode", 7, "fast", 1, 0, "fast|slow", "which way"},
    {"count", 1, NULL, -3, 100, NULL, "how many"},
};

static const legacy_descriptor descriptor = {
    .abi_major = 1,
    .abi_minor = 0,
    .size = sizeof(legacy_descriptor),
    .reserved = 0x5a5a, /* not flags: the host must not read it as such */
    .name = "legacy_v1_0",
    .summary = "a 1.0 block",
    .kind = 2,
    .ports = ports,
    .port_count = 3,
    .params = params,
    .param_count = 3,
    .state_size = 24,
    .process = process,
};

__attribute__((visibility("default"))) const legacy_descriptor *mqs_block_descriptor_v1(void);
const legacy_descriptor *mqs_block_descriptor_v1(void) { return &descriptor; }
