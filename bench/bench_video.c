/* mqbench video: not written yet. */
#include <stdio.h>

#include "bench_video.h"

int bench_video_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "mqbench video: not available yet\n");
    return 2;
}
