/* faulty: a test-only filter that misbehaves on purpose. It forwards every
 * input buffer unchanged (like passthrough) and, on input buffer number
 * `at` of its process, does what its `fault` param says:
 *   made_up_id      sends a forged mqs_buffer whose ID names no buffer
 *   stale_id        allocates, releases, then sends what it released
 *   foreign_id      sends a buffer, then sends it again: it holds it no more
 *   double_release  allocates, then releases the same buffer twice
 *   bad_output      sends on output 1 (the port index of its output; it has one output)
 *   write_input     writes into an input buffer (mapped read-only: SIGSEGV)
 *   segv, abort     crashes
 *   exit0           _exit(0) in process(): "clean", but without detaching
 *   hang            never returns from process()
 *   init_hang       never returns from init()
 *   init_fail       init() fails, every time
 *   fork_child      forks a child in init() that sleeps until killed
 * With `marker` set it misbehaves only while that file does not exist and
 * creates it when it does, so a restarted instance behaves. `keep` keeps
 * references to the first N input buffers until fini(); `watch_restarts`
 * logs (as a warning) each time mqs_input_restarts(0) grows. */
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <mqs/block.h>

#define MAX_KEEP 8

/* An unmapped address other than NULL (a null check of a sanitizer would
 * report it first), read at run time: the compiler cannot see the crash. */
static volatile uintptr_t unmapped = 8;

typedef struct state {
    char fault[32];
    char marker[512];
    int64_t at, seen, keep, kept;
    bool watch_restarts;
    uint32_t restarts_seen;
    mqs_buffer kept_buffers[MAX_KEEP];
} state;

static bool is(const state *s, const char *fault)
{
    return strcmp(s->fault, fault) == 0;
}

static void sleep_forever(void)
{
    for (;;) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
        nanosleep(&ts, NULL);
    }
}

/* Misbehave now? With a marker: only the first time, across restarts. */
static bool arm(state *s)
{
    if (!s->marker[0])
        return true;
    int fd = open(s->marker, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static int init(mqs_block_ctx *ctx)
{
    state *s = ctx->state;
    snprintf(s->fault, sizeof s->fault, "%s", mqs_param_string(ctx->params, "fault"));
    snprintf(s->marker, sizeof s->marker, "%s", mqs_param_string(ctx->params, "marker"));
    s->at = mqs_param_int(ctx->params, "at");
    s->keep = mqs_param_int(ctx->params, "keep");
    s->watch_restarts = mqs_param_bool(ctx->params, "watch_restarts");
    if (is(s, "init_fail"))
        return -EIO;
    if (is(s, "init_hang") && arm(s))
        sleep_forever();
    if (is(s, "fork_child") && fork() == 0)
        sleep_forever(); /* in the child: what a block might start and forget */
    return 0;
}

/* A buffer of our own output, allocated and stamped like `in`. */
static int alloc_like(mqs_block_ctx *ctx, const mqs_buffer *in, mqs_buffer *out)
{
    int rc = mqs_alloc(ctx, 0, out);
    if (rc == 0) {
        mqs_copy_meta(out, in);
        out->meta->length = 0;
    }
    return rc;
}

/* The refused calls: each misuse is tried once; the host refuses and logs it. */
static void misuse_ids(mqs_block_ctx *ctx, const state *s, const mqs_buffer *in)
{
    mqs_buffer b = {0}, copy;
    if (is(s, "made_up_id")) {
        copy = *in;
        copy.id = mqs_buffer_id_make(mqs_buffer_id_pool(in->id), 0xfffe, 1);
        mqs_send(ctx, 0, &copy);
    } else if (is(s, "bad_output") && mqs_ref(ctx, in, &b) == 0) {
        mqs_send(ctx, 1, &b);
    } else if (alloc_like(ctx, in, &b) == 0) {
        copy = b;
        if (is(s, "stale_id")) {
            mqs_unref(ctx, &b);
            mqs_send(ctx, 0, &copy);
        } else if (is(s, "foreign_id")) {
            mqs_send(ctx, 0, &b); /* now held downstream */
            mqs_send(ctx, 0, &copy);
        } else if (is(s, "double_release")) {
            mqs_unref(ctx, &b);
            mqs_unref(ctx, &copy);
        } else {
            mqs_unref(ctx, &b);
        }
    }
}

static void misbehave(mqs_block_ctx *ctx, state *s, const mqs_buffer *in)
{
    if (!arm(s))
        return;
    if (is(s, "write_input"))
        ((volatile uint8_t *)in->data)[0] = 0x5a;
    else if (is(s, "segv"))
        *(volatile int *)unmapped = 1;
    else if (is(s, "abort"))
        abort();
    else if (is(s, "hang"))
        sleep_forever();
    else if (is(s, "exit0"))
        _exit(0);
    else
        misuse_ids(ctx, s, in);
}

static void watch_restarts(mqs_block_ctx *ctx, state *s)
{
    uint32_t n = mqs_input_restarts(ctx, 0);
    if (!s->watch_restarts || n == s->restarts_seen)
        return;
    s->restarts_seen = n;
    mqs_log(ctx, MQS_LOG_WARN, "the producer of input 0 was restarted (%u so far)", n);
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    state *s = ctx->state;
    if (!in[0])
        return 0;
    s->seen++;
    watch_restarts(ctx, s);
    if (s->kept < s->keep && s->kept < MAX_KEEP && mqs_ref(ctx, in[0], &s->kept_buffers[s->kept]) == 0)
        s->kept++;
    if (s->seen == s->at && !is(s, "none"))
        misbehave(ctx, s, in[0]);
    mqs_buffer fwd;
    int rc = mqs_ref(ctx, in[0], &fwd);
    if (rc == 0)
        rc = mqs_send(ctx, 0, &fwd);
    return rc == -ECANCELED || rc >= 0 ? 0 : rc;
}

static void fini(mqs_block_ctx *ctx)
{
    state *s = ctx->state;
    for (int64_t i = 0; i < s->kept; i++)
        mqs_unref(ctx, &s->kept_buffers[i]);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT, .help = "anything"},
    {.name = "out", .direction = MQS_PORT_OUTPUT, .help = "the same buffers, not copied"},
};

static const mqs_param_spec params[] = {
    {.key = "fault", .type = MQS_PARAM_ENUM, .default_value = "none",
     .choices = "none|made_up_id|stale_id|foreign_id|double_release|bad_output|write_input|segv|abort|hang|"
                "init_hang|init_fail|fork_child|exit0",
     .help = "how to misbehave"},
    {.key = "at", .type = MQS_PARAM_INT, .default_value = "1", .min = 1, .max = 1e9,
     .help = "on which input buffer of the process (counted from 1)"},
    {.key = "marker", .type = MQS_PARAM_STRING, .default_value = "",
     .help = "misbehave only while this file does not exist (then create it)"},
    {.key = "keep", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = MAX_KEEP,
     .help = "input buffers to keep a reference to until fini"},
    {.key = "watch_restarts", .type = MQS_PARAM_BOOL, .default_value = "false",
     .help = "log when the producer of input 0 was restarted"},
};

MQS_BLOCK_EXPORT(faulty) = {
    MQS_BLOCK_HEADER,
    .name = "faulty",
    .summary = "test only: forwards buffers and misbehaves as `fault` says",
    .kind = MQS_BLOCK_FILTER,
    .ports = ports,
    .port_count = 2,
    .params = params,
    .param_count = 5,
    .state_size = sizeof(state),
    .init = init,
    .process = process,
    .fini = fini,
};
