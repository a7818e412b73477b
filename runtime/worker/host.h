/* The host side of the block SDK: the services a worker offers a block
 * (mqs_host_api) and the worker's per-block bookkeeping. */
#ifndef MQS_HOST_H
#define MQS_HOST_H

#include <stdbool.h>
#include <signal.h>

#include "mqs/block.h"
#include "mqs/mqs.h"

#define MQS_HOST_MAX_PORTS 64
#define MQS_HOST_MAX_REPORTS 16
#define MQS_HOST_ABSENT UINT32_MAX /* an optional input port left unconnected */

typedef struct mqs_host_report {
    char key[32];
    double value;
} mqs_host_report;

/* Everything the worker knows about the block it runs. Process-local. */
typedef struct mqs_host {
    mqs_domain *domain;
    const mqs_block_descriptor *desc;
    mqs_block_ctx ctx;
    const char *instance;
    uint32_t inputs[MQS_HOST_MAX_PORTS];  /* domain queue of each input port, MQS_HOST_ABSENT */
    uint32_t outputs[MQS_HOST_MAX_PORTS]; /* domain output of each output port */
    uint32_t pools[MQS_HOST_MAX_PORTS];   /* pool of each output port */
    mqs_caps input_caps[MQS_HOST_MAX_PORTS];
    mqs_caps output_caps[MQS_HOST_MAX_PORTS];
    /* The input set of the current process() call (mqs_input_set_get). */
    mqs_input_set set;
    const mqs_buffer *set_next[MQS_HOST_MAX_PORTS];
    double set_weight[MQS_HOST_MAX_PORTS];
    mqs_host_report reports[MQS_HOST_MAX_REPORTS];
    uint32_t report_count;
    int verbosity;
    volatile sig_atomic_t *stop_flag; /* set by SIGTERM/SIGINT */
} mqs_host;

/* Fill host->ctx for the block: the service table, caps, state. */
int mqs_host_init(mqs_host *host);
void mqs_host_fini(mqs_host *host);

/* Hand the block one input set (h->set describes it): process(), or for a
 * transform() block, allocate on output 0, call it and send (nothing when
 * in[0] is NULL). 0, or the block's or the host's negative error (-EMSGSIZE:
 * output slots too small for a buffer). */
int mqs_host_call(mqs_host *h, const mqs_buffer *const *in);

/* A block-facing view of a buffer the worker holds. */
void mqs_host_view(mqs_host *host, mqs_buffer_id id, mqs_buffer *out);

void mqs_host_logf(mqs_host *host, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
