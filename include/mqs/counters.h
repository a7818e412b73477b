/* multiqueue-shm: what each process of a domain spends its time on, the
 * figures its block reports, and how it last ended.
 *
 * Each counter has one writer: the process itself, where it waits (never per
 * buffer), or the launcher for exits. Any process of the user may read them,
 * an observer too (mqs_domain_observe); readers never slow the writers. */
#ifndef MQS_COUNTERS_H
#define MQS_COUNTERS_H

#include <stdint.h>

#include "align.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqs_domain mqs_domain;

/* What a process waited for. Whatever is not waiting is busy: BUSY % is 1
 * minus the waits' share of the time. */
typedef enum mqs_wait_kind {
    MQS_WAIT_FOR_INPUT = 0,    /* nothing to read on its inputs */
    MQS_WAIT_FOR_OUTPUT = 1,   /* no room on a full `block` queue downstream */
    MQS_WAIT_FOR_SLOT = 2,     /* no free slot in its pool: downstream holds them all */
    MQS_WAIT_FOR_SCHEDULE = 3, /* a source waiting for its next frame's time */
    MQS_WAIT_KINDS = 4
} mqs_wait_kind;

#define MQS_REPORTS_MAX 16 /* figures one block may report */
#define MQS_REPORT_KEY_MAX 40

typedef struct mqs_report_value {
    char key[MQS_REPORT_KEY_MAX];
    double value;
} mqs_report_value;

typedef struct mqs_process_counters_info {
    uint64_t waited_ns[MQS_WAIT_KINDS]; /* all time of the slot, by mqs_wait_kind */
    int64_t input_wait_since_ns;        /* mqs_now_ns() its current wait for input began; 0: it has input */
    int64_t attached_ns;                /* when the process now in the slot attached; 0: none yet */
    int64_t wait_began_ns;              /* when the wait it is in now began (not yet in waited_ns); 0: none */
    mqs_wait_kind wait_kind;            /* of that wait */
    int32_t exit_code;                  /* of the last exit: its code, or -1 (none, or a signal) */
    int32_t exit_signal;                /* the signal that ended the last one, or 0 */
    uint32_t exits;                     /* processes of this slot that ended */
    uint32_t report_count;
    mqs_report_value reports[MQS_REPORTS_MAX];
    mqs_histogram call_ns;              /* time in block calls, sampled (docs/stats.md) */
} mqs_process_counters_info;

/* 0, or -ERANGE (no such process, NULL out). */
int mqs_process_counters_get(const mqs_domain *d, uint32_t process, mqs_process_counters_info *out);

/* The calling process begins and ends a wait for `kind` outside the core's
 * own waits (which count themselves), e.g. a source sleeping until its next
 * frame. Begin returns the time it began, for end; end returns how long it
 * was. A wait in progress shows to readers as it goes. */
int64_t mqs_process_wait_begin(mqs_domain *d, mqs_wait_kind kind);
int64_t mqs_process_wait_end(mqs_domain *d, mqs_wait_kind kind, int64_t began);

/* The calling process's waits so far, all kinds together (a few loads), e.g.
 * to take them out of a call's time. */
uint64_t mqs_process_waited_total(const mqs_domain *d);

/* The calling process spent `ns` in one block call (a sample). */
void mqs_process_call_time(mqs_domain *d, int64_t ns);

/* Set the calling process's report `key` (e.g. "frames") to value. 0, or
 * -ENOSPC when MQS_REPORTS_MAX keys are taken, -EINVAL (empty or too long). */
int mqs_process_report(mqs_domain *d, const char *key, double value);

/* Launcher only (slot 0): how the process of slot `process` ended: an exit
 * code (signal 0) or a signal (code -1). */
void mqs_process_set_exit(mqs_domain *d, uint32_t process, int32_t exit_code, int32_t exit_signal);

#ifdef __cplusplus
}
#endif
#endif
