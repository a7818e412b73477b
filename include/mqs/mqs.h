/* multiqueue-shm core API: domains, pools, buffers, queues.
 * Block authors include <mqs/block.h> instead. */
#ifndef MQS_MQS_H
#define MQS_MQS_H

#include "align.h"
#include "buffer.h"
#include "clock.h"
#include "command.h"
#include "counters.h"
#include "domain.h"
#include "error.h"
#include "pid.h"
#include "queue.h"
#include "tap.h"
#include "types.h"

#define MQS_VERSION_MAJOR 0
#define MQS_VERSION_MINOR 1
#define MQS_VERSION_PATCH 0
#define MQS_VERSION_STRING "0.1.0"

#endif
