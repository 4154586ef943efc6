/* fuzz_records.c - libFuzzer harness of the record decoders that read back
 * what stages persisted: adapter_run_from_json (adapters/adapter.h, the
 * trigger and monitor records' runs) and aggregate_from_json
 * (domain/aggregate.h, the monitor's decision).
 *
 * Invariants: each decoder either fails with a zeroed result or succeeds,
 * and then to_json(from_json(x)) decodes again to the same value. */
#include <string.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"
#include "domain/aggregate.h"
#include "fuzz/fuzz.h"

/* recfuzz_run - adapter_run_from_json and its round trip. */
static void recfuzz_run(const cJSON *o)
{
    struct adapter_run r, r2, zero;
    cJSON *back;

    memset(&zero, 0, sizeof(zero));
    if (adapter_run_from_json(o, &r) < 0) {
        FUZZ_CHECK(memcmp(&r, &zero, sizeof(r)) == 0);
        return;
    }
    FUZZ_CHECK(memchr(r.id, 0, sizeof(r.id)) && memchr(r.url, 0, sizeof(r.url)));
    FUZZ_CHECK(memchr(r.api, 0, sizeof(r.api)) && memchr(r.etag, 0, sizeof(r.etag)));
    FUZZ_CHECK(memchr(r.detail, 0, sizeof(r.detail)));
    FUZZ_CHECK(r.duration_ms >= 0 && r.status <= RUN_TIMED_OUT);
    back = adapter_run_to_json(&r);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(adapter_run_from_json(back, &r2) == 0);
    FUZZ_CHECK(strcmp(r.id, r2.id) == 0 && strcmp(r.url, r2.url) == 0);
    FUZZ_CHECK(strcmp(r.api, r2.api) == 0 && strcmp(r.etag, r2.etag) == 0);
    FUZZ_CHECK(strcmp(r.detail, r2.detail) == 0 && r.status == r2.status);
    FUZZ_CHECK(r.duration_ms == r2.duration_ms);
    cJSON_Delete(back);
}

/* recfuzz_aggregate - aggregate_from_json and its round trip. */
static void recfuzz_aggregate(const cJSON *o)
{
    struct aggregate a, b;
    cJSON *back;
    int i;

    if (aggregate_from_json(o, &a) < 0) {
        FUZZ_CHECK(a.reasons == NULL && a.nreasons == 0 && a.decided == 0);
        return;
    }
    back = aggregate_to_json(&a);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(aggregate_from_json(back, &b) == 0);
    FUZZ_CHECK(a.nreasons == b.nreasons && a.decided == b.decided);
    FUZZ_CHECK(a.all_passed == b.all_passed && a.any_failed == b.any_failed);
    for (i = 0; i < a.nreasons; i++)
        FUZZ_CHECK(strcmp(a.reasons[i], b.reasons[i]) == 0 &&
                   strlen(a.reasons[i]) < AGGREGATE_MAX_REASON);
    aggregate_free(&a);
    aggregate_free(&b);
    cJSON_Delete(back);
}

/* LLVMFuzzerTestOneInput - parse JSON, decode as a run and as an aggregate. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    cJSON *o = cJSON_ParseWithLengthOpts(buf, size, NULL, 0);
    const cJSON *it;

    if (o) {
        recfuzz_run(o);
        recfuzz_aggregate(o);
        cJSON_ArrayForEach(it, o) {
            recfuzz_run(it);
            recfuzz_aggregate(it);
        }
        cJSON_Delete(o);
    }
    free(buf);
    return 0;
}
