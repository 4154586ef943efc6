/* trigger_record.c - STATE/trigger/NAME.json: the tests promo-trigger started for a tracker.
 *
 * One record per tracker, for its current generation and head SHA; each hop
 * (keyed by its source environment) lists the tests of its policy with their
 * idempotency key, phase (intent, triggered, error) and run. Runs of an older
 * generation or SHA move to "superseded", where their cancellation is
 * tracked. The format is docs/state.md's "The trigger record"; this stage is
 * its only writer, and writes it only when its content changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "domain/promokey.h"
#include "domain/subst.h"
#include "util/util.h"
#include "trigger/trigger.h"
#include "util/json.h"

/* trigger_record_load - read and check with the record's decoder
 * (domain/rec_trigger.h); a record it refuses is quarantined. */
int trigger_record_load(struct stage *st, const char *name, cJSON **rec)
{
    struct rec_trigger r;
    char err[256], why[320];
    int rc;

    *rec = NULL;
    if (!st->store)
        return -ENOENT;
    rc = store_read(st->store, TRIGGER_AREA, name, rec);
    if (rc < 0)
        return rc;
    rc = rec_trigger_decode(*rec, name, &r, err, sizeof(err));
    rec_trigger_free(&r);
    if (rc < 0) {
        cJSON_Delete(*rec);
        *rec = NULL;
        snprintf(why, sizeof(why), "not a trigger record (docs/state.md): %s", err);
        store_quarantine(st->store, TRIGGER_AREA, name, why);
        return -EBADMSG;
    }
    return 0;
}

/* trigger_record_new - {name, generation, headSHA, hops: {}, superseded: []}. */
cJSON *trigger_record_new(const struct tracker *t)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "name", t->name);
    cJSON_AddNumberToObject(r, "generation", (double)t->generation);
    cJSON_AddStringToObject(r, "headSHA", t->head_sha);
    cJSON_AddObjectToObject(r, "hops");
    cJSON_AddArrayToObject(r, "superseded");
    return r;
}

/* trigger_record_current - same generation and head SHA as the tracker. */
int trigger_record_current(const cJSON *rec, const struct tracker *t)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(rec, "generation");

    return cJSON_IsNumber(g) && (int64_t)g->valuedouble == t->generation &&
           strcmp(json_str(rec, "headSHA", ""), t->head_sha) == 0;
}

/* trigger_record_add_superseded - append, dropping the oldest beyond the cap. */
void trigger_record_add_superseded(cJSON *rec, cJSON *e)
{
    cJSON *sup = cJSON_GetObjectItemCaseSensitive(rec, "superseded");

    if (!cJSON_IsArray(sup)) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "superseded");
        sup = cJSON_AddArrayToObject(rec, "superseded");
    }
    cJSON_AddItemToArray(sup, e);
    while (cJSON_GetArraySize(sup) > TRIGGER_MAX_SUPERSEDED)
        cJSON_DeleteItemFromArray(sup, 0);
}

/* trigger_record_monitor_status - what the monitor record says of test name
 * in hop ("" when it says nothing). mon may be NULL. */
static const char *trigger_record_monitor_status(const struct rec_monitor *mon, const char *hop, const char *name)
{
    const struct rec_monitor_test *te = mon ? rec_monitor_hop_test(rec_monitor_hop(mon, hop), name) : NULL;

    return te ? te->status : "";
}

/* trigger_record_supersede - move the old record's runs to "superseded". */
cJSON *trigger_record_supersede(struct stage *st, cJSON *rec, const struct tracker *t)
{
    cJSON *fresh = trigger_record_new(t), *sup, *e, *hop;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(rec, "generation");
    int64_t oldgen = cJSON_IsNumber(g) ? (int64_t)g->valuedouble : 0;
    const char *oldsha = json_str(rec, "headSHA", "");
    struct rec_monitor mrec;
    const struct rec_monitor *mon = NULL;
    char err[256];
    int monok;

    /* the monitor record tells which old runs already finished: only if it is
     * about the same old generation */
    monok = rec_monitor_load(st->store, t->name, NULL, &mrec, err, sizeof(err)) == 0 &&
            mrec.generation == oldgen && strcmp(mrec.head_sha, oldsha) == 0;
    if (monok)
        mon = &mrec;
    sup = cJSON_DetachItemFromObjectCaseSensitive(rec, "superseded");
    if (cJSON_IsArray(sup)) {
        while ((e = cJSON_DetachItemFromArray(sup, 0)) != NULL)
            trigger_record_add_superseded(fresh, e);
    }
    cJSON_Delete(sup);
    cJSON_ArrayForEach(hop, cJSON_GetObjectItemCaseSensitive(rec, "hops")) {
        const cJSON *te;

        cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(hop, "tests")) {
            const char *phase = json_str(te, "phase", "");
            const cJSON *run = cJSON_GetObjectItemCaseSensitive(te, "run");
            const char *mst = monok ? trigger_record_monitor_status(mon, hop->string,
                                                                    json_str(te, "name", "")) : "";
            int rs = run_status_parse(cJSON_IsObject(run) ? json_str(run, "status", "") : "");
            int final = (mst[0] && run_status_parse(mst) >= 0 && run_status_final(run_status_parse(mst))) ||
                        (rs >= 0 && run_status_final((enum run_status)rs));
            static const char *const keep[] = { "name", "provider", "job", "key", "params", "attempt" };
            size_t i;

            if (strcmp(phase, "error") == 0)
                continue;          /* nothing ever ran */
            e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "generation", (double)oldgen);
            cJSON_AddStringToObject(e, "headSHA", oldsha);
            cJSON_AddStringToObject(e, "hop", hop->string);
            for (i = 0; i < ARRAY_LEN(keep); i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(te, keep[i]);
                if (v)
                    cJSON_AddItemToObject(e, keep[i], cJSON_Duplicate(v, 1));
            }
            cJSON_AddItemToObject(e, "run", cJSON_IsObject(run) ? cJSON_Duplicate(run, 1) : cJSON_CreateNull());
            cJSON_AddBoolToObject(e, "cancelled", 0);
            if (final) {
                cJSON_AddStringToObject(e, "cancel", "finished");
                if (mst[0])
                    cJSON_AddStringToObject(e, "status", mst);
            } else {
                cJSON_AddStringToObject(e, "cancel", "pending");
            }
            trigger_record_add_superseded(fresh, e);
            log_info("supersede", "tracker=%s old_gen=%lld old_sha=%.12s gen=%lld sha=%.12s hop=%s "
                     "test=%s key=%s cancel=%s", t->name, (long long)oldgen, oldsha,
                     (long long)t->generation, t->head_sha, hop->string,
                     log_q(json_str(te, "name", "")), json_str(te, "key", ""),
                     final ? "finished" : "pending");
        }
    }
    rec_monitor_free(&mrec);
    cJSON_Delete(rec);
    return fresh;
}

/* trigger_record_hop - find or create hops[p->source]; refresh what the
 * policy says of it (target, name, timeout, autoPromote). */
cJSON *trigger_record_hop(cJSON *rec, const struct policy *p)
{
    cJSON *hops = cJSON_GetObjectItemCaseSensitive(rec, "hops");
    cJSON *hop = cJSON_GetObjectItemCaseSensitive(hops, p->source);
    char ts[40];

    if (!hop) {
        hop = cJSON_AddObjectToObject(hops, p->source);
        cJSON_AddStringToObject(hop, "source", p->source);
        cJSON_AddStringToObject(hop, "target", p->target);
        cJSON_AddStringToObject(hop, "policy", p->name);
        cJSON_AddNumberToObject(hop, "policyTimeoutMs", (double)p->timeout_ms);
        cJSON_AddBoolToObject(hop, "autoPromote", p->auto_promote);
        cJSON_AddStringToObject(hop, "startedAt", time_format_iso(wall_ms(), ts, sizeof(ts)));
        cJSON_AddArrayToObject(hop, "tests");
        return hop;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(hop, "target", cJSON_CreateString(p->target));
    cJSON_ReplaceItemInObjectCaseSensitive(hop, "policy", cJSON_CreateString(p->name));
    if (cJSON_GetObjectItemCaseSensitive(hop, "policyTimeoutMs"))
        cJSON_ReplaceItemInObjectCaseSensitive(hop, "policyTimeoutMs", cJSON_CreateNumber((double)p->timeout_ms));
    else
        cJSON_AddNumberToObject(hop, "policyTimeoutMs", (double)p->timeout_ms);
    if (cJSON_GetObjectItemCaseSensitive(hop, "autoPromote"))
        cJSON_ReplaceItemInObjectCaseSensitive(hop, "autoPromote", cJSON_CreateBool(p->auto_promote));
    else
        cJSON_AddBoolToObject(hop, "autoPromote", p->auto_promote);
    return hop;
}

/* trigger_record_test - by name. */
cJSON *trigger_record_test(const cJSON *hop, const char *name)
{
    cJSON *te;

    cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(hop, "tests"))
        if (strcmp(json_str(te, "name", ""), name) == 0)
            return te;
    return NULL;
}

/* trigger_record_find_key - by key, across hops. */
cJSON *trigger_record_find_key(const cJSON *rec, const char *key, cJSON **hop)
{
    cJSON *h, *te;

    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(rec, "hops"))
        cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(h, "tests"))
            if (strcmp(json_str(te, "key", ""), key) == 0) {
                if (hop)
                    *hop = h;
                return te;
            }
    return NULL;
}

/* trigger_record_find_superseded - by key, in "superseded". */
cJSON *trigger_record_find_superseded(const cJSON *rec, const char *key)
{
    cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "superseded"))
        if (strcmp(json_str(e, "key", ""), key) == 0)
            return e;
    return NULL;
}

/* trigger_record_plan_test - key, substituted job and parameters, phase. */
cJSON *trigger_record_plan_test(const struct tracker *t, const struct policy *p,
                                const struct policy_test *pt, int attempt)
{
    cJSON *e = cJSON_CreateObject(), *params;
    char key[PROMO_KEY_SIZE], err[256], why[512], ts[40], *job;
    struct subst_ctx sc;
    const cJSON *pa;

    why[0] = '\0';
    if (!promo_key(t->name, t->head_sha, p->source, p->target, pt->name, attempt, key, sizeof(key)))
        snprintf(why, sizeof(why), "unable to compute the idempotency key");
    subst_ctx_from_tracker(&sc, t, p->source, p->target, key);
    cJSON_AddStringToObject(e, "name", pt->name);
    cJSON_AddStringToObject(e, "provider", policy_provider_name(pt->provider));
    job = why[0] ? NULL : subst_expand(pt->job, &sc, SUBST_RAW, err, sizeof(err));
    if (!job && !why[0])
        snprintf(why, sizeof(why), "job: %s", err);
    cJSON_AddStringToObject(e, "job", job ? job : pt->job);
    free(job);
    cJSON_AddBoolToObject(e, "required", pt->required);
    cJSON_AddNumberToObject(e, "timeoutMs", (double)pt->timeout_ms);
    cJSON_AddNumberToObject(e, "attempt", attempt);
    cJSON_AddStringToObject(e, "key", key);
    params = cJSON_AddObjectToObject(e, "params");
    cJSON_ArrayForEach(pa, pt->parameters) {
        char *v;

        if (!cJSON_IsString(pa))
            continue;
        v = why[0] ? NULL : subst_expand(pa->valuestring, &sc, SUBST_RAW, err, sizeof(err));
        if (!v && !why[0])
            snprintf(why, sizeof(why), "parameters.%s: %s", pa->string, err);
        cJSON_AddStringToObject(params, pa->string, v ? v : pa->valuestring);
        free(v);
    }
    time_format_iso(wall_ms(), ts, sizeof(ts));
    if (why[0]) {
        cJSON_AddStringToObject(e, "phase", "error");
        cJSON_AddStringToObject(e, "erroredAt", ts);
        cJSON_AddNullToObject(e, "run");
        cJSON_AddStringToObject(e, "error", why);
    } else {
        cJSON_AddStringToObject(e, "phase", "intent");
        cJSON_AddStringToObject(e, "intentAt", ts);
        cJSON_AddNullToObject(e, "run");
        cJSON_AddNullToObject(e, "error");
    }
    return e;
}

/* trigger_record_hop_ready - every test triggered or in error. */
int trigger_record_hop_ready(const cJSON *hop)
{
    const cJSON *te;

    cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(hop, "tests")) {
        const char *ph = json_str(te, "phase", "");
        if (strcmp(ph, "triggered") != 0 && strcmp(ph, "error") != 0)
            return 0;
    }
    return 1;
}

/* trigger_record_save - store_write when changed. */
int trigger_record_save(struct stage *st, const char *name, const cJSON *rec, const cJSON *old)
{
    int rc;

    if (!st->store || st->dry_run)
        return 0;
    if (old && cJSON_Compare(old, rec, 1))
        return 0;
    rc = store_write(st->store, TRIGGER_AREA, name, rec);
    if (rc < 0) {
        log_error("record_write_failed", "tracker=%s error=%s", name, log_q(strerror(-rc)));
        return -1;
    }
    return 1;
}
