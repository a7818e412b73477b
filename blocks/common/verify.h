/* Verification record: pattern_source with `verify: true` writes one into
 * the first 32 bytes of every frame, checksum_sink checks it. Private to the
 * built-in blocks.
 *
 * The checksum covers the whole payload after the record, bytes [32, length).
 * It runs four independent xor-multiply-rotate lanes over 8-byte words (the
 * lanes hide the multiply latency, so it runs at memory speed: a 1080p rgb24
 * frame takes about half a millisecond), then folds the lanes. Every step is a
 * bijection of the lane given the data word, so any change confined to one
 * 8-byte word - in particular any single flipped byte - always changes the
 * checksum; wider damage goes unnoticed with probability about 2^-64. */
#ifndef MQS_BLOCKS_VERIFY_H
#define MQS_BLOCKS_VERIFY_H

#include <stdint.h>
#include <string.h>

#define VERIFY_MAGIC 0x3156534dU /* "MSV1" in memory on little-endian hosts */
#define VERIFY_SIZE 32u

typedef struct verify_record {
    uint32_t magic;    /* VERIFY_MAGIC */
    uint32_t reserved; /* 0 */
    uint64_t seq;      /* = meta->seq of the buffer */
    uint64_t length;   /* = meta->length: payload bytes, the record included */
    uint64_t checksum; /* verify_checksum() of bytes [32, length) */
} verify_record;
_Static_assert(sizeof(verify_record) == VERIFY_SIZE, "verify record layout");

static inline uint64_t verify_step(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull; /* odd: invertible */
    return (h << 31) | (h >> 33);
}

static inline uint64_t verify_checksum(const uint8_t *p, uint64_t n)
{
    uint64_t h0 = 1, h1 = 2, h2 = 3, h3 = 4, w[4];
    uint64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        memcpy(w, p + i, sizeof w); /* unaligned-safe; compiles to plain loads */
        h0 = verify_step(h0, w[0]);
        h1 = verify_step(h1, w[1]);
        h2 = verify_step(h2, w[2]);
        h3 = verify_step(h3, w[3]);
    }
    for (; i < n; i++)
        h0 = verify_step(h0, p[i]);
    uint64_t h = verify_step(verify_step(verify_step(verify_step(n, h0), h1), h2), h3);
    h ^= h >> 33; /* final avalanche so every input bit reaches every output bit */
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* Write the record into the first VERIFY_SIZE bytes of a payload of `length`
 * bytes (length >= VERIFY_SIZE). `checksum` is verify_checksum(payload + 32,
 * length - 32), passed in so a producer can reuse a precomputed one. */
static inline void verify_write(uint8_t *payload, uint64_t seq, uint64_t length, uint64_t checksum)
{
    verify_record r = {.magic = VERIFY_MAGIC, .seq = seq, .length = length, .checksum = checksum};
    memcpy(payload, &r, sizeof r);
}

#endif
