/* A small, fast, seedable random generator (xorshift64*), so runs are
 * reproducible from a `seed` param. Private to the built-in blocks. */
#ifndef MQS_BLOCKS_RNG_H
#define MQS_BLOCKS_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s; /* never 0 */
} rng;

/* Any seed, 0 included: splitmix64 spreads it and never yields state 0 here. */
static inline void rng_seed(rng *r, uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    r->s = z ? z : 0x9e3779b97f4a7c15ull;
}

static inline uint64_t rng_next(rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, 1). */
static inline double rng_uniform(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [-amp, +amp] for a non-negative amplitude (e.g. pts jitter). */
static inline int64_t rng_symmetric(rng *r, int64_t amp)
{
    return amp > 0 ? (int64_t)(rng_next(r) % (2 * (uint64_t)amp + 1)) - amp : 0;
}

#endif
