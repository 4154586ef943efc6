/* fuzz_audit.c - libFuzzer harness of audit_decode (domain/audit.h), which
 * promoctl runs on every line of STATE/audit.log.
 *
 * Invariant: an accepted line is an object whose six fields are strings. */
#include <cjson/cJSON.h>

#include "domain/audit.h"
#include "fuzz/fuzz.h"

/* LLVMFuzzerTestOneInput - decode one audit line and check its fields. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fields[] = { "time", "tracker", "type", "reason", "message", "key" };
    char *buf = fuzz_copy(data, size), err[128];
    cJSON *o = audit_decode(buf, size, err, sizeof(err));
    size_t i;

    if (o) {
        FUZZ_CHECK(cJSON_IsObject(o));
        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
            FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, fields[i])));
        cJSON_Delete(o);
    }
    free(buf);
    return 0;
}
