/* mqbench sync: the cost and latency of aligning inputs, against bare pops. */
#ifndef MQS_BENCH_SYNC_H
#define MQS_BENCH_SYNC_H

int bench_sync_main(int argc, char **argv);

#endif
