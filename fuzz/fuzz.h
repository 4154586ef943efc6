/* fuzz.h - what every promo fuzz harness shares: exact-size copies of the
 * input (so AddressSanitizer sees a read one byte past the end), a
 * NUL-terminated copy for decoders that take C strings, and FUZZ_CHECK for
 * the invariants a harness asserts.
 *
 * A harness defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize). It is linked two ways: with libFuzzer (clang,
 * make fuzz) and with fuzz/replay.c (gcc, make test), which feeds it every
 * file of its corpus. See docs/fuzzing.md. */
#ifndef PROMO_FUZZ_H
#define PROMO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* FUZZ_CHECK - abort (a crash libFuzzer records, a failed replay) when an
 * invariant of the decoder does not hold. */
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                         \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* fuzz_copy - data in a heap buffer of exactly size bytes (at least one
 * byte is allocated, never readable when size is 0). Never NULL. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);

    if (!p)
        abort();
    if (size)
        memcpy(p, data, size);
    return p;
}

/* fuzz_cstr - data as a NUL-terminated heap string of size + 1 bytes (an
 * embedded NUL ends the string early, as it would for any C caller). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);

    if (!p)
        abort();
    if (size)
        memcpy(p, data, size);
    p[size] = '\0';
    return p;
}

/* fuzz_split - cut data at the first byte sep: *rest and *restlen get what
 * follows it; returns the length before it (all of size when absent). */
static inline size_t fuzz_split(const uint8_t *data, size_t size, uint8_t sep,
                                const uint8_t **rest, size_t *restlen)
{
    const uint8_t *p = size ? memchr(data, sep, size) : NULL;

    if (!p) {
        *rest = data + size;
        *restlen = 0;
        return size;
    }
    *rest = p + 1;
    *restlen = size - (size_t)(p - data) - 1;
    return (size_t)(p - data);
}

#endif
