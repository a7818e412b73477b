/* The entry point every fuzz harness defines: libFuzzer calls it with each
 * input it makes, fuzz_replay.c with each file of a corpus. It returns 0 and
 * aborts (a crash the fuzzer reports) when the code under test breaks its
 * contract. */
#ifndef MQS_FUZZ_TARGET_H
#define MQS_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what,
                                                       const char *evidence)
{
    fprintf(stderr, "%s:%d: contract broken: %s\n  got: %s\n", file, line, what, evidence ? evidence : "(null)");
    abort();
}

/* Abort with the broken rule and the evidence when `cond` is false. */
#define FUZZ_REQUIRE(cond, what, evidence)                                                                        \
    do {                                                                                                          \
        if (!(cond))                                                                                              \
            fuzz_fail(__FILE__, __LINE__, what, evidence);                                                        \
    } while (0)

#endif
