/* The host side of the block SDK: the services a worker offers a block
 * (mqs_host_api) and the worker's per-block bookkeeping. */
#ifndef MQS_HOST_H
#define MQS_HOST_H

#include <stdbool.h>
#include <signal.h>

#include "mqs/block.h"
#include "mqs/mqs.h"

#define MQS_HOST_MAX_PORTS 64
#define MQS_HOST_ABSENT UINT32_MAX /* an optional input port left unconnected */
#define MQS_HOST_LAUNCHER_CHECK_NS (200LL * 1000000) /* how often a worker looks whether mqrun still lives */
#define MQS_HOST_REFUSALS_LOGGED 20 /* refused calls logged one by one; the rest only counted */
#define MQS_HOST_PACE_SLICE_NS (50LL * 1000000) /* longest sleep of a pacing source between looks at its stop flag */

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
    mqs_params *params;               /* the block's params now: live changes (mqctl set) included */
    int verbosity;
    volatile sig_atomic_t *stop_flag; /* set by SIGTERM/SIGINT */
    mqs_activity activity;            /* as last told to the domain */
    uint64_t refusals;                /* calls refused for a bad ID or port */
    bool reports_full_logged;
    /* Sampling of the time in block calls (mqs_process_call_time). */
    uint32_t call_tick, time_every;
    int64_t waited_in_call;           /* by the host's own waits during the timed call */
    uint64_t core_waits_before;       /* the core's wait counters when it began */
    /* The launcher (mqrun): pid 0 when run without one. */
    uint32_t launcher_pid;
    uint64_t launcher_start_time;     /* its /proc starttime, to tell a reused pid */
    int64_t launcher_next_check_ns;
} mqs_host;

/* Fill host->ctx for the block: the service table, caps, state. */
int mqs_host_init(mqs_host *host);
void mqs_host_fini(mqs_host *host);

/* Hand the block one input set (h->set describes it): process(), or for a
 * transform() block, allocate on output 0, call it and send (nothing when
 * in[0] is NULL). 0, or the block's or the host's negative error (-EMSGSIZE:
 * output slots too small for a buffer). Marked as a call (the watchdog's
 * progress), idle after. */
int mqs_host_call(mqs_host *h, const mqs_buffer *const *in);

/* The block's init(), produce(), flush() and fini(), marked like mqs_host_call
 * (init as MQS_ACTIVITY_INIT); a missing callback does nothing and gives 0. */
int mqs_host_init_block(mqs_host *h);
int mqs_host_produce(mqs_host *h);
int mqs_host_flush(mqs_host *h);
void mqs_host_fini_block(mqs_host *h);

/* Tell the domain what the worker does now (MQS_ACTIVITY_*). Waiting for
 * input also looks whether the launcher still lives (mqs_host_watch_launcher). */
void mqs_host_mark(mqs_host *h, mqs_activity activity, uint32_t waiting_on);

/* At most every MQS_HOST_LAUNCHER_CHECK_NS: if the launcher is gone, kill
 * this worker's process group (what the block started, too) and never
 * return. Nothing without a launcher pid. */
void mqs_host_watch_launcher(mqs_host *h);

/* The launcher is gone: say so, kill this worker's process group, this
 * worker included. Async-signal-safe. */
_Noreturn void mqs_host_launcher_gone(const char *instance);

/* A block-facing view of a buffer the worker holds. */
void mqs_host_view(mqs_host *host, mqs_buffer_id id, mqs_buffer *out);

void mqs_host_logf(mqs_host *host, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
