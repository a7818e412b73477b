/* mqbench scale: frames/s and CPU per frame as cameras, chains and sinks grow. */
#ifndef MQS_BENCH_SCALE_H
#define MQS_BENCH_SCALE_H

int bench_scale_main(int argc, char **argv);

#endif
