/* checksum_sink: verifies the record pattern_source puts at the start of
 * every frame with `verify: true` (common/verify.h) and counts frames, gaps
 * and corrupt frames.
 *
 *   frames   buffers received
 *   gaps     discontinuities: a buffer whose seq is not the previous one + 1
 *            (the first buffer is expected to be seq 0)
 *   missing  seq numbers skipped over by forward gaps (drops upstream)
 *   corrupt  buffers whose record is absent or wrong (magic, seq, length)
 *            or whose payload does not match the record's checksum
 *
 * A stream whose first buffer carries no record at all is not a damaged
 * stream but one its source never verified (pattern_source without
 * `verify: true`, or another source): the block fails at once with a message
 * saying so, instead of counting every frame as corrupt.
 *
 * At fini: one line on stderr, mqs_report() of each count, and with param
 * `report` one JSON line appended to that file:
 *   {"block":"<instance>","frames":N,"gaps":G,"corrupt":C,"missing":M} */
#include <stdio.h>
#include <string.h>

#include <mqs/block.h>

#include "../common/report.h"
#include "../common/verify.h"

#define LOG_LIMIT 10 /* per kind of problem; a broken stream must not flood the log */

typedef struct checksum_state {
    uint64_t frames, gaps, missing, corrupt;
    uint64_t next_seq;
    int64_t expect;
    uint32_t gap_logs, corrupt_logs;
    bool seen_record; /* a buffer with a record came: from now on a missing one is damage */
    char report[REPORT_PATH_MAX];
} checksum_state;

typedef enum record_verdict { RECORD_OK, RECORD_ABSENT, RECORD_WRONG } record_verdict;

/* What the buffer's record says of it; `why` tells what is wrong unless OK. */
static record_verdict check_record(const mqs_buffer *b, char *why, size_t cap)
{
    const mqs_buffer_meta *m = b->meta;
    verify_record r;
    if (m->length < VERIFY_SIZE || m->length > b->capacity) {
        snprintf(why, cap, "length %llu cannot hold a record (slot holds %llu)", (unsigned long long)m->length,
                 (unsigned long long)b->capacity);
        return RECORD_ABSENT;
    }
    memcpy(&r, b->data, sizeof r);
    if (r.magic != VERIFY_MAGIC || r.reserved != 0) {
        snprintf(why, cap, "magic %08x, reserved %08x", r.magic, r.reserved);
        return RECORD_ABSENT;
    }
    if (r.seq != m->seq || r.length != m->length)
        snprintf(why, cap, "record says seq %llu length %llu, buffer has seq %llu length %llu",
                 (unsigned long long)r.seq, (unsigned long long)r.length, (unsigned long long)m->seq,
                 (unsigned long long)m->length);
    else if (r.checksum != verify_checksum((const uint8_t *)b->data + VERIFY_SIZE, m->length - VERIFY_SIZE))
        snprintf(why, cap, "payload does not match its checksum");
    else
        return RECORD_OK;
    return RECORD_WRONG;
}

/* The stream never carried records: counting its frames as corrupt would
 * hide a graph mistake behind a damage report. */
static int refuse_unverified(mqs_block_ctx *ctx, const mqs_buffer *b, const char *why)
{
    mqs_log(ctx, MQS_LOG_ERROR,
            "input 'in': frame seq %llu carries no verification record (%s), so there is nothing to check "
            "(hint: set `verify: true` on the pattern_source feeding it)",
            (unsigned long long)b->meta->seq, why);
    return -EINVAL;
}

static int init(mqs_block_ctx *ctx)
{
    checksum_state *s = ctx->state;
    s->expect = mqs_param_int(ctx->params, "expect");
    snprintf(s->report, sizeof s->report, "%s", mqs_param_string(ctx->params, "report"));
    return 0;
}

/* The counts as they stand, for mqctl status and mqrun --stats. */
static void report_counts(mqs_block_ctx *ctx, const checksum_state *s)
{
    mqs_report(ctx, "frames", (double)s->frames);
    mqs_report(ctx, "gaps", (double)s->gaps);
    mqs_report(ctx, "missing", (double)s->missing);
    mqs_report(ctx, "corrupt", (double)s->corrupt);
}

static int process(mqs_block_ctx *ctx, const mqs_buffer *const *in)
{
    checksum_state *s = ctx->state;
    const mqs_buffer *b = in[0];
    if (!b)
        return 0;
    char why[160];
    record_verdict verdict = check_record(b, why, sizeof why);
    if (verdict == RECORD_ABSENT && !s->seen_record)
        return refuse_unverified(ctx, b, why);
    s->seen_record = true;
    uint64_t seq = b->meta->seq;
    s->frames++;
    if (seq != s->next_seq) {
        s->gaps++;
        if (seq > s->next_seq)
            s->missing += seq - s->next_seq;
        if (s->gap_logs++ < LOG_LIMIT)
            mqs_log(ctx, MQS_LOG_INFO, "gap: seq %llu where %llu was due", (unsigned long long)seq,
                    (unsigned long long)s->next_seq);
    }
    s->next_seq = seq + 1;
    if (verdict != RECORD_OK) {
        s->corrupt++;
        if (s->corrupt_logs++ < LOG_LIMIT)
            mqs_log(ctx, MQS_LOG_WARN, "corrupt frame seq %llu: %s%s%s", (unsigned long long)seq,
                    verdict == RECORD_ABSENT ? "no verification record: " : "", why,
                    s->corrupt_logs == LOG_LIMIT ? " (further corrupt frames are counted, not logged)" : "");
    }
    report_counts(ctx, s);
    return 0;
}

static void fini(mqs_block_ctx *ctx)
{
    checksum_state *s = ctx->state;
    fprintf(stderr, "%s: %llu frames, %llu gaps (%llu missing), %llu corrupt\n", ctx->instance,
            (unsigned long long)s->frames, (unsigned long long)s->gaps, (unsigned long long)s->missing,
            (unsigned long long)s->corrupt);
    if (s->expect > 0 && s->frames != (uint64_t)s->expect)
        mqs_log(ctx, MQS_LOG_ERROR, "expected %lld frames, received %llu", (long long)s->expect,
                (unsigned long long)s->frames);
    report_counts(ctx, s);
    if (!s->report[0])
        return;
    char name[256], line[512];
    report_json_string(name, sizeof name, ctx->instance);
    snprintf(line, sizeof line, "{\"block\":%s,\"frames\":%llu,\"gaps\":%llu,\"corrupt\":%llu,\"missing\":%llu}\n",
             name, (unsigned long long)s->frames, (unsigned long long)s->gaps, (unsigned long long)s->corrupt,
             (unsigned long long)s->missing);
    report_append(ctx, s->report, line);
}

static const mqs_port_spec ports[] = {
    {.name = "in", .direction = MQS_PORT_INPUT,
     .help = "buffers carrying a verification record (pattern_source with verify: true)"},
};

static const mqs_param_spec params[] = {
    {.key = "expect", .type = MQS_PARAM_INT, .default_value = "0", .min = 0, .max = 1e15,
     .help = "frames expected; if > 0 and the count differs at the end, log an error"},
    {.key = "report", .type = MQS_PARAM_STRING, .default_value = "",
     .help = "file to append one JSON line of counts to at the end; empty: none"},
};

MQS_BLOCK_EXPORT(checksum_sink) = {
    MQS_BLOCK_HEADER,
    .name = "checksum_sink",
    .summary = "verifies pattern_source records (verify: true): counts frames, gaps and corrupt frames",
    .kind = MQS_BLOCK_SINK,
    .ports = ports,
    .port_count = 1,
    .params = params,
    .param_count = sizeof params / sizeof params[0],
    .state_size = sizeof(checksum_state),
    .init = init,
    .process = process,
    .fini = fini,
};
