/* The worker's input loop, for filters and sinks. */
#ifndef MQS_INPUT_LOOP_H
#define MQS_INPUT_LOOP_H

#include "host.h"

/* Run the block until every input ended (then flush()), a stop, or an error.
 * 0 (ended or stopped) or the block's or the library's negative error. */
int mqs_input_loop_run(mqs_host *h);

#endif
