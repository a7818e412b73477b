/* The baseline ring: the least an SPSC ring of IDs can do. */
#include <stddef.h>
#include <sys/mman.h>

#include "bare_ring.h"

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

bare_ring *bare_ring_create(void)
{
    void *p = mmap(NULL, sizeof(bare_ring), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void bare_ring_destroy(bare_ring *r)
{
    munmap(r, sizeof *r);
}

void bare_ring_push(bare_ring *r, uint64_t v)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    while (head - r->cached_tail >= BARE_RING_SIZE) {
        r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->cached_tail >= BARE_RING_SIZE)
            relax();
    }
    atomic_store_explicit(&r->slots[head % BARE_RING_SIZE], v, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

uint64_t bare_ring_pop(bare_ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    while (tail == r->cached_head) {
        r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == r->cached_head)
            relax();
    }
    uint64_t v = atomic_load_explicit(&r->slots[tail % BARE_RING_SIZE], memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    return v;
}
