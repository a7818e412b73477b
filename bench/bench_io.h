/* Blocking I/O helpers for the copying baselines (pipes, sockets). */
#ifndef MQS_BENCH_IO_H
#define MQS_BENCH_IO_H

#include <stdbool.h>
#include <stddef.h>

/* Read or write exactly n bytes (retrying short transfers and EINTR).
 * 0, or -1 on error or end of file. */
int bench_full_io(int fd, void *buf, size_t n, bool writing);

#endif
