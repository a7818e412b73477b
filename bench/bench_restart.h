/* mqbench restart: how fast a killed block is seen, reclaimed and flowing again. */
#ifndef MQS_BENCH_RESTART_H
#define MQS_BENCH_RESTART_H

int bench_restart_main(int argc, char **argv);

#endif
