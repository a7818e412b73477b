/* mqbench queue: library queue vs bare ring, pipe and Unix socket. */
#ifndef MQS_BENCH_QUEUE_H
#define MQS_BENCH_QUEUE_H

int bench_queue_main(int argc, char **argv);

#endif
