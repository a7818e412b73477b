/* mqbench python: a Python passthrough block and a Python tap vs C. */
#ifndef MQS_BENCH_PYTHON_H
#define MQS_BENCH_PYTHON_H

int bench_python_main(int argc, char **argv);

#endif
