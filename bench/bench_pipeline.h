/* mqbench pipeline: zero-copy chain vs copying chains. */
#ifndef MQS_BENCH_PIPELINE_H
#define MQS_BENCH_PIPELINE_H

int bench_pipeline_main(int argc, char **argv);

#endif
