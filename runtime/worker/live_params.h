/* Live params: commands (mqctl set) carried out between two block calls. */
#ifndef MQS_LIVE_PARAMS_H
#define MQS_LIVE_PARAMS_H

#include "host.h"

/* Carry out a command waiting for this worker, if any: one relaxed load
 * when there is none. Call it between block calls only. */
void mqs_live_params_poll(mqs_host *h);

#endif
