/* multiqueue-shm: time. Timestamps are ns on CLOCK_MONOTONIC unless a graph
 * picks another clock. */
#ifndef MQS_CLOCK_H
#define MQS_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC in ns (vDSO: no syscall). */
int64_t mqs_now_ns(void);

/* Sleep for ns (interrupted sleeps are resumed). */
void mqs_sleep_ns(int64_t ns);

#ifdef __cplusplus
}
#endif
#endif
