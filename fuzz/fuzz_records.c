/* fuzz_records.c - libFuzzer harness of the record decoders that read back
 * what stages persisted: the decoders of the state dir's records
 * (domain/rec_*.h: trigger, monitor, promoter, approvals, watcher, policy),
 * adapter_run_from_json (adapters/adapter.h, the runs in them) and
 * aggregate_from_json (domain/aggregate.h, the monitor's decision).
 *
 * Invariants: each decoder either fails with an empty result and an error
 * naming a member, or succeeds with every string non-NULL and within its
 * limit; where there is an encoder, encode(decode(x)) decodes again to the
 * same value. */
#include <string.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"
#include "domain/aggregate.h"
#include "domain/rec_approvals.h"
#include "domain/rec_monitor.h"
#include "domain/rec_policy.h"
#include "domain/rec_promoter.h"
#include "domain/rec_trigger.h"
#include "domain/rec_watcher.h"
#include "fuzz/fuzz.h"

/* RECFUZZ_STR - a decoded string: never NULL, within max. */
#define RECFUZZ_STR(s, max) FUZZ_CHECK((s) != NULL && strlen(s) <= (max))

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

/* recfuzz_trigger - rec_trigger_decode. */
static void recfuzz_trigger(const cJSON *o)
{
    struct rec_trigger r;
    char err[256];
    int i, j;

    if (rec_trigger_decode(o, NULL, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(r.nhops == 0 && r.hops == NULL && err[0]);
        return;
    }
    RECFUZZ_STR(r.name, REC_MAX_NAME);
    FUZZ_CHECK(r.nhops <= REC_TRIGGER_MAX_HOPS && r.nsuperseded <= REC_TRIGGER_MAX_SUPERSEDED);
    for (i = 0; i < r.nhops; i++) {
        FUZZ_CHECK(rec_trigger_hop(&r, r.hops[i].source) != NULL && r.hops[i].ntests <= REC_TRIGGER_MAX_TESTS);
        for (j = 0; j < r.hops[i].ntests; j++) {
            const struct rec_trigger_test *t = &r.hops[i].tests[j];
            FUZZ_CHECK(t->name[0] && t->phase < TP_COUNT && t->attempt >= 1);
            RECFUZZ_STR(t->error, REC_MAX_TEXT);
            RECFUZZ_STR(t->run.url, REC_MAX_URL);
        }
    }
    rec_trigger_free(&r);
}

/* recfuzz_monitor - rec_monitor_decode. */
static void recfuzz_monitor(const cJSON *o)
{
    struct rec_monitor r;
    char err[256];
    int i, j;

    if (rec_monitor_decode(o, NULL, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(r.nhops == 0 && r.hops == NULL && err[0]);
        return;
    }
    for (i = 0; i < r.nhops; i++) {
        const struct rec_monitor_hop *h = &r.hops[i];
        FUZZ_CHECK(h->ntests <= REC_MONITOR_MAX_TESTS);
        for (j = 0; j < h->ntests; j++) {
            RECFUZZ_STR(h->tests[j].detail, REC_MAX_TEXT);
            FUZZ_CHECK(h->tests[j].duration_ms >= -1);
        }
        for (j = 0; j < h->aggregate.nreasons; j++)
            FUZZ_CHECK(strlen(h->aggregate.reasons[j]) < AGGREGATE_MAX_REASON);
    }
    rec_monitor_free(&r);
}

/* recfuzz_promoter - rec_promoter_decode. */
static void recfuzz_promoter(const cJSON *o)
{
    struct rec_promoter r;
    char err[256];
    int i;

    if (rec_promoter_decode(o, NULL, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(r.nhops == 0 && r.hops == NULL && err[0]);
        return;
    }
    for (i = 0; i < r.nhops; i++) {
        FUZZ_CHECK(r.hops[i].phase > PH_NONE && r.hops[i].phase < PH_COUNT);
        RECFUZZ_STR(r.hops[i].last_error, REC_MAX_TEXT);
        RECFUZZ_STR(r.hops[i].application, REC_MAX_NAME);
    }
    for (i = 0; i < r.npromotions; i++)
        RECFUZZ_STR(r.promotions[i].target, REC_MAX_NAME);
    rec_promoter_free(&r);
}

/* recfuzz_approvals - rec_approvals_decode and its round trip. */
static void recfuzz_approvals(const cJSON *o)
{
    struct rec_approvals r, r2;
    char err[256];
    cJSON *back;
    int i;

    if (rec_approvals_decode(o, NULL, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(r.nhops == 0 && r.hops == NULL && err[0]);
        return;
    }
    back = rec_approvals_encode(&r);
    FUZZ_CHECK(rec_approvals_decode(back, NULL, &r2, err, sizeof(err)) == 0 && r2.nhops == r.nhops);
    for (i = 0; i < r.nhops; i++) {
        const struct rec_approval *a = &r.hops[i], *b = rec_approvals_hop(&r2, a->source);
        FUZZ_CHECK(b != NULL && strcmp(a->approved_by, b->approved_by) == 0);
        FUZZ_CHECK(a->retry_attempt == b->retry_attempt);
    }
    rec_approvals_free(&r);
    rec_approvals_free(&r2);
    cJSON_Delete(back);
}

/* recfuzz_watcher - rec_watcher_decode and its round trip. */
static void recfuzz_watcher(const cJSON *o)
{
    struct rec_watcher r, r2;
    char err[256];
    cJSON *back;

    if (rec_watcher_decode(o, NULL, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(r.nconditions == 0 && err[0]);
        return;
    }
    back = rec_watcher_encode(&r);
    FUZZ_CHECK(rec_watcher_decode(back, NULL, &r2, err, sizeof(err)) == 0);
    FUZZ_CHECK(strcmp(r.state, r2.state) == 0 && r.nconditions == r2.nconditions &&
               (rec_watcher_timeout(&r) == NULL) == (rec_watcher_timeout(&r2) == NULL));
    rec_watcher_free(&r);
    rec_watcher_free(&r2);
    cJSON_Delete(back);
}

/* recfuzz_policy - rec_policy_decode and its round trip. */
static void recfuzz_policy(const cJSON *o)
{
    struct rec_policy r, r2;
    char err[256];
    cJSON *back;

    if (rec_policy_decode(o, NULL, &r, err, sizeof(err)) < 0) {
        FUZZ_CHECK(r.nconditions == 0 && err[0]);
        return;
    }
    FUZZ_CHECK(r.state < RPS_COUNT);
    back = rec_policy_encode(&r);
    FUZZ_CHECK(rec_policy_decode(back, NULL, &r2, err, sizeof(err)) == 0);
    FUZZ_CHECK(r.state == r2.state && strcmp(r.environment, r2.environment) == 0);
    rec_policy_free(&r);
    rec_policy_free(&r2);
    cJSON_Delete(back);
}

/* recfuzz_all - every decoder on o. */
static void recfuzz_all(const cJSON *o)
{
    recfuzz_run(o);
    recfuzz_aggregate(o);
    recfuzz_trigger(o);
    recfuzz_monitor(o);
    recfuzz_promoter(o);
    recfuzz_approvals(o);
    recfuzz_watcher(o);
    recfuzz_policy(o);
}

/* LLVMFuzzerTestOneInput - parse JSON, decode as every record, and each
 * member as a run and an aggregate. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size);
    cJSON *o = cJSON_ParseWithLengthOpts(buf, size, NULL, 0);
    const cJSON *it;

    if (o) {
        recfuzz_all(o);
        cJSON_ArrayForEach(it, o) {
            recfuzz_run(it);
            recfuzz_aggregate(it);
        }
        cJSON_Delete(o);
    }
    free(buf);
    return 0;
}
