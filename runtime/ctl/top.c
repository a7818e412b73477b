/* mqctl top: not yet. */
#include <stdio.h>

#include "ctl.h"

int mqctl_top(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "mqctl top: not built yet\n");
    return MQCTL_FAILED;
}
