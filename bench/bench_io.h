/* Blocking I/O helpers for the copying baselines (pipes, sockets). */
#ifndef MQS_BENCH_IO_H
#define MQS_BENCH_IO_H

#include <stdbool.h>
#include <stddef.h>

/* Read or write exactly n bytes (retrying short transfers and EINTR).
 * 0, or -1 on error or end of file. */
int bench_full_io(int fd, void *buf, size_t n, bool writing);

/* A link of a copying chain: a pipe (fds[0] reads, fds[1] writes; the
 * largest buffer an unprivileged process may ask for, fair to the
 * baseline) or a Unix stream socket pair (either end both ways); both
 * close on exec. 0, or -1 with errno. */
int bench_make_link(bool socket, int fds[2]);

#endif
