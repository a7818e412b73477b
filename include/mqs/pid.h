/* multiqueue-shm: naming one process for good. A pid alone is reused once
 * its process is gone; a pid with the start time the kernel gives it is
 * not. Segments record their creator so, and the workers their launcher. */
#ifndef MQS_PID_H
#define MQS_PID_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The start time of process `pid` (clock ticks after boot, /proc/PID/stat
 * field 22); 0 when there is no such process. */
uint64_t mqs_pid_start_time(pid_t pid);

/* Does process `pid`, started at `start_time`, still run? A zombie does
 * not; start_time 0 accepts any process with that pid. */
bool mqs_pid_alive(uint32_t pid, uint64_t start_time);

#ifdef __cplusplus
}
#endif
#endif
