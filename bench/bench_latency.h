/* mqbench latency: one-way latency and CPU per message at real rates, per
 * wait mode, vs pipe and socket chains. */
#ifndef MQS_BENCH_LATENCY_H
#define MQS_BENCH_LATENCY_H

int bench_latency_main(int argc, char **argv);

#endif
