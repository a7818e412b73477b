/* mqbench scale: not written yet. */
#include <stdio.h>

#include "bench_scale.h"

int bench_scale_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "mqbench scale: not available yet\n");
    return 2;
}
