/* rec_trigger.c - the trigger record's decoder (rec_trigger.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec_trigger.h"
#include "util/util.h"

static const char *const trig_phases[TP_COUNT] = {
    [TP_INTENT] = "intent",
    [TP_TRIGGERED] = "triggered",
    [TP_ERROR] = "error",
};

/* trig_phase_name - the record's word. */
const char *trig_phase_name(enum trig_phase p)
{
    return (int)p >= 0 && p < TP_COUNT ? trig_phases[p] : "";
}

/* trig_phase_parse - word to phase. */
int trig_phase_parse(const char *s)
{
    int i;

    for (i = 0; s && i < TP_COUNT; i++)
        if (strcmp(s, trig_phases[i]) == 0)
            return i;
    return -1;
}

/* rec_trigger_run - o["run"]: an object or null. */
static int rec_trigger_run(const cJSON *o, const char *path, struct rec_run *run, struct rec_pool *p,
                           char *err, size_t errlen)
{
    const cJSON *r;
    char rp[REC_MAX_NAME + 300];

    run->id = run->url = run->api = run->status = "";
    if (rec_member(o, path, "run", cJSON_Object, 64, &r, err, errlen) < 0)
        return -1;
    if (!r)
        return 0;
    run->present = 1;
    snprintf(rp, sizeof(rp), "%s.run", path);
    if (rec_str(r, rp, "id", 0, REC_MAX_ID, p, &run->id, err, errlen) < 0 ||
        rec_str(r, rp, "url", 0, REC_MAX_URL, p, &run->url, err, errlen) < 0 ||
        rec_str(r, rp, "api", 0, REC_MAX_URL, p, &run->api, err, errlen) < 0 ||
        rec_str(r, rp, "status", 0, REC_MAX_ID, p, &run->status, err, errlen) < 0)
        return -1;
    return 0;
}

/* rec_trigger_params - "params": an object of strings. */
static int rec_trigger_params(const cJSON *o, const char *path, char *err, size_t errlen)
{
    const cJSON *params, *it;
    char pp[REC_MAX_NAME + 300];

    if (rec_member(o, path, "params", cJSON_Object, REC_TRIGGER_MAX_PARAMS, &params, err, errlen) < 0)
        return -1;
    snprintf(pp, sizeof(pp), "%s.params", path);
    cJSON_ArrayForEach(it, params)
        if (!cJSON_IsString(it) || strlen(it->valuestring) > REC_MAX_TEXT)
            return rec_err(err, errlen, pp, "%.64s must be a string of at most %d bytes", it->string,
                           REC_MAX_TEXT);
    return 0;
}

/* rec_trigger_test_decode - one entry of a hop's "tests". */
static int rec_trigger_test_decode(const cJSON *o, const char *path, struct rec_trigger_test *t,
                                   struct rec_pool *p, char *err, size_t errlen)
{
    const char *phase;
    int ph;

    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    if (rec_str(o, path, "name", 1, REC_MAX_ID, p, &t->name, err, errlen) < 0 ||
        rec_str(o, path, "provider", 0, REC_MAX_ID, p, &t->provider, err, errlen) < 0 ||
        rec_str(o, path, "job", 0, REC_MAX_URL, p, &t->job, err, errlen) < 0 ||
        rec_str(o, path, "key", 0, REC_MAX_ID, p, &t->key, err, errlen) < 0 ||
        rec_str(o, path, "phase", 1, REC_MAX_ID, p, &phase, err, errlen) < 0 ||
        rec_bool(o, path, "required", 1, &t->required, err, errlen) < 0 ||
        rec_int(o, path, "timeoutMs", 0, 0, INT64_MAX / 4, 0, &t->timeout_ms, err, errlen) < 0 ||
        rec_int(o, path, "attempt", 0, 1, 1000000, 1, &t->attempt, err, errlen) < 0 ||
        rec_str(o, path, "intentAt", 0, REC_MAX_ID, p, &t->intent_at, err, errlen) < 0 ||
        rec_str(o, path, "triggeredAt", 0, REC_MAX_ID, p, &t->triggered_at, err, errlen) < 0 ||
        rec_str(o, path, "erroredAt", 0, REC_MAX_ID, p, &t->errored_at, err, errlen) < 0 ||
        rec_str(o, path, "error", 0, REC_MAX_TEXT, p, &t->error, err, errlen) < 0 ||
        rec_trigger_params(o, path, err, errlen) < 0 ||
        rec_trigger_run(o, path, &t->run, p, err, errlen) < 0)
        return -1;
    if (!t->name[0])
        return rec_err(err, errlen, path, "name: must not be empty");
    if ((ph = trig_phase_parse(phase)) < 0)
        return rec_err(err, errlen, path, "phase \"%.64s\" is not one of intent, triggered, error", phase);
    t->phase = (enum trig_phase)ph;
    return 0;
}

/* rec_trigger_hop_decode - one entry of "hops". */
static int rec_trigger_hop_decode(const cJSON *o, struct rec_trigger_hop *h, struct rec_pool *p,
                                  char *err, size_t errlen)
{
    char path[REC_MAX_NAME + 16], tp[REC_MAX_NAME + 40];
    const cJSON *tests, *te;
    const char *src;

    if (strlen(o->string) > REC_MAX_NAME)
        return rec_err(err, errlen, "hops", "a key longer than %d bytes", REC_MAX_NAME);
    snprintf(path, sizeof(path), "hops.%s", o->string);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    h->source = rec_pool_add(p, o->string);     /* the key is the source environment */
    if (rec_str(o, path, "source", 0, REC_MAX_NAME, p, &src, err, errlen) < 0 ||
        rec_str(o, path, "target", 0, REC_MAX_NAME, p, &h->target, err, errlen) < 0 ||
        rec_str(o, path, "policy", 0, REC_MAX_NAME, p, &h->policy, err, errlen) < 0 ||
        rec_str(o, path, "startedAt", 0, REC_MAX_ID, p, &h->started_at, err, errlen) < 0 ||
        rec_int(o, path, "policyTimeoutMs", 0, 0, INT64_MAX / 4, 0, &h->policy_timeout_ms, err, errlen) < 0 ||
        rec_bool(o, path, "autoPromote", 1, &h->auto_promote, err, errlen) < 0 ||
        rec_member(o, path, "tests", cJSON_Array, REC_TRIGGER_MAX_TESTS, &tests, err, errlen) < 0)
        return -1;
    if (!tests)
        return rec_err(err, errlen, path, "tests: required");
    h->tests = xcalloc((size_t)cJSON_GetArraySize(tests) + 1, sizeof(*h->tests));
    cJSON_ArrayForEach(te, tests) {
        snprintf(tp, sizeof(tp), "%s.tests[%d]", path, h->ntests);
        if (rec_trigger_test_decode(te, tp, &h->tests[h->ntests++], p, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* rec_trigger_superseded_decode - one entry of "superseded". */
static int rec_trigger_superseded_decode(const cJSON *o, int i, struct rec_superseded *e, struct rec_pool *p,
                                         char *err, size_t errlen)
{
    char path[40];

    snprintf(path, sizeof(path), "superseded[%d]", i);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    if (rec_str(o, path, "hop", 0, REC_MAX_NAME, p, &e->hop, err, errlen) < 0 ||
        rec_str(o, path, "name", 0, REC_MAX_ID, p, &e->name, err, errlen) < 0 ||
        rec_str(o, path, "provider", 0, REC_MAX_ID, p, &e->provider, err, errlen) < 0 ||
        rec_str(o, path, "job", 0, REC_MAX_URL, p, &e->job, err, errlen) < 0 ||
        rec_str(o, path, "key", 0, REC_MAX_ID, p, &e->key, err, errlen) < 0 ||
        rec_str(o, path, "headSHA", 0, 64, p, &e->head_sha, err, errlen) < 0 ||
        rec_str(o, path, "cancel", 0, REC_MAX_ID, p, &e->cancel, err, errlen) < 0 ||
        rec_int(o, path, "generation", 0, 0, INT64_MAX / 4, 0, &e->generation, err, errlen) < 0 ||
        rec_int(o, path, "attempt", 0, 1, 1000000, 1, &e->attempt, err, errlen) < 0 ||
        rec_trigger_params(o, path, err, errlen) < 0 ||
        rec_trigger_run(o, path, &e->run, p, err, errlen) < 0)
        return -1;
    return 0;
}

/* rec_trigger_decode - name, generation, headSHA, hops, superseded. */
int rec_trigger_decode(const cJSON *o, const char *name, struct rec_trigger *r, char *err, size_t errlen)
{
    const cJSON *hops, *sup, *it;
    int i = 0;

    memset(r, 0, sizeof(*r));
    if (rec_head(o, "name", name, 0, &r->pool, &r->name, &r->generation, &r->head_sha, err, errlen) < 0 ||
        rec_member(o, "", "hops", cJSON_Object, REC_TRIGGER_MAX_HOPS, &hops, err, errlen) < 0 ||
        rec_member(o, "", "superseded", cJSON_Array, REC_TRIGGER_MAX_SUPERSEDED, &sup, err, errlen) < 0)
        goto fail;
    if (!hops) {
        rec_err(err, errlen, "hops", "required");
        goto fail;
    }
    r->hops = xcalloc((size_t)cJSON_GetArraySize(hops) + 1, sizeof(*r->hops));
    cJSON_ArrayForEach(it, hops)
        if (rec_trigger_hop_decode(it, &r->hops[r->nhops++], &r->pool, err, errlen) < 0)
            goto fail;
    r->superseded = xcalloc((size_t)cJSON_GetArraySize(sup) + 1, sizeof(*r->superseded));
    cJSON_ArrayForEach(it, sup)
        if (rec_trigger_superseded_decode(it, i++, &r->superseded[r->nsuperseded++], &r->pool, err, errlen) < 0)
            goto fail;
    return 0;
fail:
    rec_trigger_free(r);
    return -1;
}

/* rec_trigger_free - release r. */
void rec_trigger_free(struct rec_trigger *r)
{
    int i;

    for (i = 0; i < r->nhops; i++)
        free(r->hops[i].tests);
    free(r->hops);
    free(r->superseded);
    rec_pool_free(&r->pool);
    memset(r, 0, sizeof(*r));
}

/* rec_trigger_hop - by source. */
const struct rec_trigger_hop *rec_trigger_hop(const struct rec_trigger *r, const char *source)
{
    int i;

    for (i = 0; i < r->nhops; i++)
        if (strcmp(r->hops[i].source, source) == 0)
            return &r->hops[i];
    return NULL;
}

/* rec_trigger_hop_test - by name. */
const struct rec_trigger_test *rec_trigger_hop_test(const struct rec_trigger_hop *h, const char *name)
{
    int i;

    for (i = 0; h && i < h->ntests; i++)
        if (strcmp(h->tests[i].name, name) == 0)
            return &h->tests[i];
    return NULL;
}

/* rec_trigger_load - store_read, decode, check the head. */
int rec_trigger_load(struct store *s, const char *name, const struct tracker *t, struct rec_trigger *r,
                   char *err, size_t errlen)
{
    cJSON *o;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = rec_read(s, "trigger", name, &o, err, errlen);
    if (rc < 0)
        return rc;
    rc = rec_trigger_decode(o, name, r, err, errlen) < 0 ? -EBADMSG : 0;
    cJSON_Delete(o);
    if (rc == 0 && (rc = rec_stale(t, r->generation, r->head_sha, err, errlen)) < 0)
        rec_trigger_free(r);
    return rc;
}
