/* Loops the compiler vectorises, for the built-in filters. Private to the
 * built-in blocks. */
#ifndef MQS_BLOCKS_VECTORIZE_H
#define MQS_BLOCKS_VECTORIZE_H

/* Elements per inner loop: a count the compiler knows, so GCC's -O2 (whose
 * cost model vectorises only loops that need no scalar remainder)
 * vectorises it. */
#define VECTOR_CHUNK 64

/* On x86-64 with glibc, a function marked VECTOR_CLONES is built twice, for
 * the baseline (SSE2) and for AVX2, and the copy the CPU can run is picked
 * when the plugin is loaded (ifunc). Elsewhere it is built once. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

#endif
