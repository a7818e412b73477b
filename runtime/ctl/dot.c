/* mqctl dot: not yet. */
#include <stdio.h>

#include "ctl.h"

int mqctl_dot(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "mqctl dot: not built yet\n");
    return MQCTL_FAILED;
}
