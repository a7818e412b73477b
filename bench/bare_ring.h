/* The floor for the queue benchmark: the best SPSC ring of uint64_t we can
 * write without the library. Each side owns one cache line with its index
 * and its cached view of the other side's index, and reads the other side's
 * line only when its view says the ring is full (producer) or empty
 * (consumer); no counters, no policies, no waiting beyond a pause loop.
 * Lives in a MAP_SHARED mapping made before fork. */
#ifndef MQS_BENCH_BARE_RING_H
#define MQS_BENCH_BARE_RING_H

#include <stdatomic.h>
#include <stdint.h>

#define BARE_RING_SIZE 1024u

typedef struct bare_ring {
    _Alignas(64) _Atomic uint64_t head; /* producer's line */
    uint64_t cached_tail;
    _Alignas(64) _Atomic uint64_t tail; /* consumer's line */
    uint64_t cached_head;
    _Alignas(64) _Atomic uint64_t slots[BARE_RING_SIZE];
} bare_ring;

bare_ring *bare_ring_create(void);
void bare_ring_destroy(bare_ring *r);
void bare_ring_push(bare_ring *r, uint64_t v);
uint64_t bare_ring_pop(bare_ring *r);

#endif
