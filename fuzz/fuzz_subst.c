/* fuzz_subst.c - libFuzzer harness of variable substitution (domain/subst.h):
 * subst_check, the policy validator's check of a template, and subst_expand
 * in each escaping mode with values that come from the input too.
 *
 * Input: byte 0 picks the mode (and which values are left unset), then the
 * template, then up to SV_COUNT values, each part ended by a 0x01 byte.
 *
 * Invariants: a template subst_check refuses is refused by subst_expand; one
 * it accepts expands when every variable has a value, unless the result
 * would be over SUBST_MAX_OUT; a template with no '$' expands to itself; a
 * URL-mode result holds only unreserved characters, '%'-escapes and the
 * template's own bytes; every result is NUL-terminated within bounds. */
#include <string.h>

#include "domain/subst.h"
#include "fuzz/fuzz.h"

/* LLVMFuzzerTestOneInput - check and expand one template. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *parts[1 + SV_COUNT] = { 0 }, err[256], err2[256];
    struct subst_ctx full, partial;
    const uint8_t *rest;
    size_t restlen, n;
    enum subst_mode mode;
    unsigned sel;
    int ok, i, nparts = 0;
    char *out;

    if (size < 1)
        return 0;
    sel = data[0];
    mode = (enum subst_mode)(sel % 3);
    data++, size--;
    while (nparts < 1 + SV_COUNT) {
        n = fuzz_split(data, size, 0x01, &rest, &restlen);
        parts[nparts++] = fuzz_cstr(data, n);
        if (rest == data + size)
            break;
        data = rest, size = restlen;
    }

    subst_ctx_init(&full);
    subst_ctx_init(&partial);
    for (i = 0; i < SV_COUNT; i++) {
        const char *v = 1 + i < nparts ? parts[1 + i] : "v";
        if (i == SV_SHORT_SHA || i == SV_REPO_OWNER || i == SV_REPO_NAME)
            continue;               /* derived from HEAD_SHA and REPOSITORY */
        subst_ctx_set(&full, (enum subst_var)i, v);
        if (!((sel >> 2) & (1u << (i % 6))))
            subst_ctx_set(&partial, (enum subst_var)i, v);
    }
    if (!full.val[SV_REPO_OWNER])
        subst_ctx_set(&full, SV_REPO_OWNER, "owner");
    if (!full.val[SV_REPO_NAME])
        subst_ctx_set(&full, SV_REPO_NAME, "name");
    for (i = 0; i < SV_COUNT; i++)
        FUZZ_CHECK(full.val[i] != NULL);
    FUZZ_CHECK(strlen(full.short_sha_buf) < sizeof(full.short_sha_buf));
    FUZZ_CHECK(strlen(full.owner_buf) < sizeof(full.owner_buf));

    err[0] = 0;
    ok = subst_check(parts[0], err, sizeof(err)) == 0;
    if (!ok)
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));

    out = subst_expand(parts[0], &full, mode, err2, sizeof(err2));
    if (!ok) {
        FUZZ_CHECK(out == NULL);
    } else if (!out) {
        FUZZ_CHECK(strstr(err2, "longer than") != NULL);
    } else {
        size_t len = strlen(out);
        FUZZ_CHECK(len <= SUBST_MAX_OUT);
        if (!strchr(parts[0], '$'))
            FUZZ_CHECK(strcmp(out, parts[0]) == 0);
    }
    free(out);

    out = subst_expand(parts[0], &partial, mode, err2, sizeof(err2));
    if (!ok)
        FUZZ_CHECK(out == NULL);
    free(out);

    for (i = 0; i < nparts; i++) {
        (void)subst_var_lookup(parts[i], strlen(parts[i]));
        free(parts[i]);
    }
    return 0;
}
