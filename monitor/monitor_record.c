/* monitor_record.c - STATE/monitor/NAME.json, promo-monitor's record (format
 * in docs/state.md, "The monitor record"): what each test of each hop came
 * to, its deadline and last error, and the hop's aggregate. Written only
 * when something other than lastPolledAt changed (a hash of each hop's entry
 * as last written is what is compared: the record itself is not kept in
 * memory); read back when a hop is created, after a restart or once a done
 * hop was freed, so results, timeouts and decisions already reached are
 * kept. While a write is out its record is the one the next change starts
 * from (what is on disk is older); else the record on disk is. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"
#include "domain/rec_monitor.h"
#include "domain/wasync.h"
#include "monitor/monitor.h"
#include "util/json.h"

/* monitor_record_load - read this stage's record of name; one its decoder
 * (domain/rec_monitor.h) refuses is not used (it is written afresh). */
int monitor_record_load(struct stage *st, const char *name, cJSON **rec)
{
    struct rec_monitor r;
    char err[256];
    int rc;

    *rec = NULL;
    memset(&r, 0, sizeof(r));
    if (!st->store)
        return -ENOENT;
    rc = store_read(st->store, MONITOR_AREA, name, rec);
    if (rc == 0 && rec_monitor_decode(*rec, name, &r, err, sizeof(err)) < 0) {
        log_warn("bad_record", "tracker=%s error=%s effect=%s", name, log_q(err), log_q("started afresh"));
        rc = -EBADMSG;
        cJSON_Delete(*rec);
        *rec = NULL;
    }
    rec_monitor_free(&r);
    return rc;
}

/* monitor_record_base - see monitor.h. */
cJSON *monitor_record_base(struct stage *st, const struct mon_tracker *tr)
{
    cJSON *rec = NULL;

    if (tr->writing)
        return cJSON_Duplicate(tr->writing, 1);
    if (monitor_record_load(st, tr->name, &rec) == 0) {
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(rec, "generation");
        const char *sha = json_str(rec, "headSHA", NULL);

        if (cJSON_IsNumber(g) && (int64_t)g->valuedouble == tr->generation && sha && strcmp(sha, tr->sha) == 0)
            return rec;
        cJSON_Delete(rec);        /* an older generation: started afresh */
    }
    rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "name", tr->name);
    cJSON_AddNumberToObject(rec, "generation", (double)tr->generation);
    cJSON_AddStringToObject(rec, "headSHA", tr->sha);
    cJSON_AddObjectToObject(rec, "hops");
    return rec;
}

/* monitor_record_strip - a copy of hop entry h without any lastPolledAt. */
static cJSON *monitor_record_strip(const cJSON *h)
{
    cJSON *c = cJSON_Duplicate(h, 1), *t;

    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c, "tests"))
        cJSON_DeleteItemFromObjectCaseSensitive(t, "lastPolledAt");
    return c;
}

/* monitor_record_hash - see monitor.h: FNV-1a (64 bits) of the entry
 * printed without lastPolledAt; never 0. */
uint64_t monitor_record_hash(const cJSON *entry)
{
    cJSON *c;
    char *text, *p;
    uint64_t h = 14695981039346656037ull;

    if (!cJSON_IsObject(entry))
        return 0;
    c = monitor_record_strip(entry);
    text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    if (!text)
        return 0;
    for (p = text; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    cJSON_free(text);
    return h ? h : 1;
}

/* monitor_record_entry - the entry of hop source in rec, or NULL. */
const cJSON *monitor_record_entry(const cJSON *rec, const char *source)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "hops"), source);

    return cJSON_IsObject(h) ? h : NULL;
}

/* monitor_record_tests - the "tests" object of hop source in rec, or NULL. */
static const cJSON *monitor_record_tests(const cJSON *rec, const char *source, const cJSON **hop)
{
    const cJSON *h = monitor_record_entry(rec, source);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(h, "tests");

    if (hop)
        *hop = h;
    return cJSON_IsObject(tests) ? tests : NULL;
}

/* monitor_record_restore - fill t from its entry (same key only). */
int monitor_record_restore(struct stage *st, const cJSON *rec, const char *source, struct mon_test *t)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(monitor_record_tests(rec, source, NULL), t->name);
    const char *key = json_str(e, "key", NULL), *status = json_str(e, "status", NULL);
    const char *ci = json_str(e, "ciStatus", NULL), *s;
    int rs;

    if (!cJSON_IsObject(e) || !key || strcmp(key, t->key) != 0 || !status)
        return 0;
    if (strcmp(status, "error") == 0) {
        t->error = 1;
    } else {
        rs = run_status_parse(ci ? ci : status);
        if (rs < 0)
            return 0;
        t->status = (enum run_status)rs;
    }
    t->timed_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "timedOut"));
    t->cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "cancelled"));
    if ((s = json_str(e, "detail", NULL)) != NULL)
        monitor_set(st, &t->detail, s);
    if ((s = json_str(e, "url", NULL)) != NULL)
        monitor_set(st, &t->run.url, s);
    if (run_status_final(t->status) || t->timed_out || t->error) {
        /* a result: its run as it was learnt (the trigger record may name
         * only a queue item); a run still going takes id and API URL
         * together from the trigger record, then from its polls */
        if ((s = json_str(e, "runId", NULL)) != NULL)
            monitor_set(st, &t->run.id, s);
        t->run.duration_ms = monitor_num(e, "durationMs", 0);
    }
    if (!t->error && (s = json_str(e, "error", NULL)) != NULL)
        monitor_set(st, &t->lasterr, s);
    if ((s = json_str(e, "finishedAt", NULL)) != NULL && time_parse_iso(s) > 0)
        t->finished_ms = time_parse_iso(s);
    if ((s = json_str(e, "lastPolledAt", NULL)) != NULL && time_parse_iso(s) > 0)
        t->polled_ms = time_parse_iso(s);
    return 1;
}

/* monitor_record_restore_agg - the recorded decided aggregate of hop when
 * the record is about exactly hop's tests (names and keys). */
int monitor_record_restore_agg(const cJSON *rec, struct mon_hop *hop)
{
    const cJSON *h, *tests = monitor_record_tests(rec, hop->source, &h), *agg;
    struct aggregate a;
    int i;

    agg = cJSON_GetObjectItemCaseSensitive(h, "aggregate");
    if (!tests || cJSON_GetArraySize(tests) != hop->ntests)
        return 0;
    if (aggregate_from_json(agg, &a) < 0)
        return 0;
    for (i = 0; a.decided && i < hop->ntests; i++) {
        const char *key = json_str(cJSON_GetObjectItemCaseSensitive(tests, hop->tests[i]->name), "key", NULL);
        if (!key || strcmp(key, hop->tests[i]->key) != 0)
            break;
    }
    if (!a.decided || i < hop->ntests) {
        aggregate_free(&a);
        return 0;
    }
    aggregate_free(&hop->agg);
    hop->agg = a;
    hop->has_agg = 1;
    hop->decided_ms = monitor_time(agg, "decidedAt");
    return 1;
}

/* monitor_record_agg_json - see monitor.h. */
cJSON *monitor_record_agg_json(const struct mon_hop *hop)
{
    cJSON *o = aggregate_to_json(&hop->agg);
    char ts[40];

    if (hop->decided_ms > 0)
        cJSON_AddStringToObject(o, "decidedAt", time_format_iso(hop->decided_ms, ts, sizeof(ts)));
    return o;
}

/* monitor_agg_tests - the hop's tests as the aggregate sees them. */
struct agg_test *monitor_agg_tests(const struct mon_hop *hop)
{
    struct agg_test *at = xcalloc((size_t)hop->ntests + 1, sizeof(*at));
    int i;

    for (i = 0; i < hop->ntests; i++) {
        const struct mon_test *t = hop->tests[i];

        at[i].name = t->name;
        at[i].required = t->required;
        at[i].status = t->status;
        at[i].timed_out = t->timed_out;
        at[i].error = t->error;
        at[i].detail = t->detail;
        at[i].url = t->run.url;
    }
    return at;
}

/* monitor_record_time - o.key = ISO time of ms, or null when 0. */
static void monitor_record_time(cJSON *o, const char *key, int64_t ms)
{
    char ts[40];

    if (ms > 0)
        cJSON_AddStringToObject(o, key, time_format_iso(ms, ts, sizeof(ts)));
    else
        cJSON_AddNullToObject(o, key);
}

/* monitor_record_test_json - one test's entry. */
static cJSON *monitor_record_test_json(const struct mon_test *t)
{
    cJSON *o = cJSON_CreateObject();
    const char *status = t->error ? "error" : t->timed_out ? run_status_name(RUN_TIMED_OUT)
                                                           : run_status_name(t->status);

    cJSON_AddStringToObject(o, "key", t->key);
    cJSON_AddBoolToObject(o, "required", t->required);
    cJSON_AddStringToObject(o, "provider", t->provider);
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddStringToObject(o, "ciStatus", run_status_name(t->status));
    cJSON_AddBoolToObject(o, "timedOut", t->timed_out);
    cJSON_AddStringToObject(o, "detail", t->detail);
    cJSON_AddStringToObject(o, "url", t->run.url);
    if (t->run.id[0])
        cJSON_AddStringToObject(o, "runId", t->run.id);
    else
        cJSON_AddNullToObject(o, "runId");
    monitor_record_time(o, "deadline", t->deadline_ms);
    cJSON_AddStringToObject(o, "deadlineReason", t->deadline_why);
    monitor_record_time(o, "finishedAt", t->finished_ms);
    if (t->run.duration_ms > 0)
        cJSON_AddNumberToObject(o, "durationMs", (double)t->run.duration_ms);
    else
        cJSON_AddNullToObject(o, "durationMs");
    monitor_record_time(o, "lastPolledAt", t->polled_ms);
    if (t->error)
        cJSON_AddStringToObject(o, "error", t->detail);
    else if (t->lasterr[0])
        cJSON_AddStringToObject(o, "error", t->lasterr);
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddBoolToObject(o, "cancelled", t->cancelled);
    return o;
}

/* monitor_record_waiting - "smoke at URL until D (last error: E)", one line
 * for each test not final: what the hop waits on. */
static cJSON *monitor_record_waiting(const struct mon_hop *hop)
{
    cJSON *arr = cJSON_CreateArray();
    struct agg_test *at = monitor_agg_tests(hop);
    char line[1400], when[40];
    int i;

    for (i = 0; i < hop->ntests; i++) {
        const struct mon_test *t = hop->tests[i];

        if (aggregate_outcome(&at[i]) != AGG_RUNNING)
            continue;
        time_format_iso(t->deadline_ms, when, sizeof(when));
        if (t->has_run)
            snprintf(line, sizeof(line), "%s%s (%s) at %s until %s%s%s%s", t->name,
                     t->required ? "" : " (optional)", run_status_name(t->status),
                     t->run.url[0] ? t->run.url : t->run.id, when, t->lasterr[0] ? " (last error: " : "",
                     t->lasterr, t->lasterr[0] ? ")" : "");
        else
            snprintf(line, sizeof(line), "%s%s: not triggered yet, until %s", t->name,
                     t->required ? "" : " (optional)", when);
        cJSON_AddItemToArray(arr, cJSON_CreateString(line));
    }
    free(at);
    return arr;
}

/* monitor_record_hop_json - the hop's entry in the record. */
cJSON *monitor_record_hop_json(const struct mon_hop *hop, const struct aggregate *a)
{
    cJSON *o = cJSON_CreateObject(), *tests = cJSON_CreateObject(), *rc;
    int i;

    cJSON_AddStringToObject(o, "source", hop->source);
    cJSON_AddStringToObject(o, "target", hop->target);
    cJSON_AddStringToObject(o, "policy", hop->policy);
    monitor_record_time(o, "startedAt", hop->started_ms);
    monitor_record_time(o, "policyDeadline", hop->policy_timeout_ms > 0 ?
                        hop->started_ms + hop->policy_timeout_ms : 0);
    for (i = 0; i < hop->ntests; i++)
        cJSON_AddItemToObject(tests, hop->tests[i]->name, monitor_record_test_json(hop->tests[i]));
    cJSON_AddItemToObject(o, "tests", tests);
    if (hop->has_agg)
        cJSON_AddItemToObject(o, "aggregate", monitor_record_agg_json(hop));
    else
        cJSON_AddItemToObject(o, "aggregate", aggregate_to_json(a));
    if ((rc = monitor_revision_json(hop)) != NULL)
        cJSON_AddItemToObject(o, "revisionCheck", rc);
    if (!monitor_hop_decided(hop)) {
        cJSON *w = monitor_record_waiting(hop), *r = monitor_revision_waiting(hop);
        if (r)
            cJSON_AddItemToArray(w, r);
        cJSON_AddItemToObject(o, "waitingOn", w);
    }
    return o;
}

/* What a record write was for, to find its hop again when it is done (the
 * hop may be gone by then: a new generation, or the tracker done). */
struct monitor_write {
    struct stage *st;
    int64_t gen;
    int decision;
    char *source;
    char name[];
};

/* monitor_record_written - a record write finished (wasync callback). The
 * record of the last write out is let go once none is; a failed write makes
 * its hop's next save write again; a written decision is forwarded; then
 * what is done is freed. */
static void monitor_record_written(void *arg, int rc)
{
    struct monitor_write *w = arg;
    struct monitor_stage *ms = w->st->data;
    struct mon_tracker *tr = ms->trackers ? strmap_get(ms->trackers, w->name) : NULL;
    struct mon_hop *hop;

    if (tr && --tr->nwrites <= 0) {
        tr->nwrites = 0;
        cJSON_Delete(tr->writing);
        tr->writing = NULL;
    }
    if (rc < 0) {
        log_error("record_write_failed", "tracker=%s env=%s error=%s effect=%s", w->name, w->source,
                  log_q(strerror(-rc)), log_q("retried at the next change or message"));
        for (hop = tr && tr->generation == w->gen ? tr->hops : NULL; hop; hop = hop->next)
            if (strcmp(hop->source, w->source) == 0)
                hop->saved = 0;
    }
    if (w->decision)
        monitor_persisted(w->st, w->name, w->gen, w->source, rc);
    if ((tr = ms->trackers ? strmap_get(ms->trackers, w->name) : NULL) != NULL)
        monitor_tracker_gc(w->st, tr);
    free(w->source);
    free(w);
}

/* monitor_record_save - see monitor.h. */
int monitor_record_save(struct stage *st, struct mon_hop *hop, const struct aggregate *a, int decision)
{
    struct monitor_stage *ms = st->data;
    struct mon_tracker *tr = hop->tr;
    struct monitor_write *w;
    cJSON *fresh, *rec, *hops;
    uint64_t h;
    size_t n;
    int rc;

    if (st->dry_run || !st->store)
        return 0;
    fresh = monitor_record_hop_json(hop, a);
    h = monitor_record_hash(fresh);
    if (h && h == hop->saved) {
        cJSON_Delete(fresh);
        return 0;
    }
    rec = monitor_record_base(st, tr);
    hops = cJSON_GetObjectItemCaseSensitive(rec, "hops");
    if (!cJSON_IsObject(hops)) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "hops");
        hops = cJSON_AddObjectToObject(rec, "hops");
    }
    if (cJSON_GetObjectItemCaseSensitive(hops, hop->source))
        cJSON_ReplaceItemInObjectCaseSensitive(hops, hop->source, fresh);
    else
        cJSON_AddItemToObject(hops, hop->source, fresh);
    n = strlen(tr->name) + 1;
    w = xmalloc(sizeof(*w) + n);
    w->st = st;
    w->gen = tr->generation;
    w->decision = decision;
    w->source = xstrdup(hop->source);
    memcpy(w->name, tr->name, n);
    rc = wasync_write(ms->wa, MONITOR_AREA, tr->name, rec, monitor_record_written, w);
    if (rc < 0) {
        log_error("record_write_failed", "tracker=%s error=%s effect=%s", tr->name, log_q(strerror(-rc)),
                  log_q("retried at the next change or message"));
        free(w->source);
        free(w);
        cJSON_Delete(rec);
        return -1;
    }
    log_debug("record", "tracker=%s env=%s", tr->name, hop->source);
    hop->saved = h;
    cJSON_Delete(tr->writing);
    tr->writing = rec;            /* the next change starts from it while it is out */
    tr->nwrites++;
    return 1;
}
