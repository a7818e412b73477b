/* Where benchmark processes run and what CPU they use. */
#ifndef MQS_BENCH_CPU_H
#define MQS_BENCH_CPU_H

#include <stdint.h>

/* CPUs this process may run on. */
int bench_cpu_count(void);

/* Pin the calling process to the index-th CPU it may run on (modulo their
 * number), so the two sides of every transport sit on different CPUs when
 * there are two or more. Does nothing on one CPU. */
void bench_pin(int index);

/* CPU time (user + system, ns) this process's waited-for children used. */
int64_t bench_children_cpu_ns(void);

#endif
