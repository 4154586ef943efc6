/* promo_monitor.c - promo-monitor: polls the CI runs of each hop's promotion
 * tests, applies their deadlines, aggregates their results and forwards the
 * tracker once the outcome is decided.
 *
 *   promo-trigger ──tracker + "runs"──▶ promo-monitor ──tracker + "aggregate"──▶ promo-promoter
 *
 * For each "tracker" message with "runs" the tracker is re-read from the
 * state dir (a message for another generation or head SHA is stale and
 * dropped) and so is the trigger record, the truth for the runs (the
 * message's "runs" are only a hint, used alone only with --dry-run or
 * without a state dir). Each test with a run enters the poll table
 * (monitor_poll.c); each result change is persisted (monitor_record.c). Once
 * decided (aggregate.h) the aggregate is frozen, persisted and the message
 * forwarded with "aggregate" added, and again each time the tracker message
 * comes back (level-triggered; the promoter is idempotent).
 *
 * End of input (--once, or --in - reaching EOF) ends the stage only when
 * every hop it received is decided, persisted and forwarded and no request
 * is in flight: `promo-monitor --in - --out - < msgs.ndjson` polls until it
 * can say what happened. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/duration.h"
#include "util/budget.h"
#include "util/http.h"
#include "util/log.h"
#include "util/memtrim.h"
#include "util/metrics.h"
#include "domain/policy.h"
#include "domain/rec_trigger.h"
#include "util/util.h"
#include "domain/wasync.h"
#include "domain/view.h"
#include "monitor/monitor.h"
#include "util/json.h"

static struct monitor_stage promo_monitor_state;

/* promo_monitor_hop_free - free hop and its tests. */
static void promo_monitor_hop_free(struct stage *st, struct mon_hop *hop)
{
    int i;

    for (i = 0; i < hop->ntests; i++)
        monitor_test_free(st, hop->tests[i]);
    monitor_revision_reset(st, hop);          /* a read still out finds no hop */
    free(hop->tests);
    monitor_str_put(st, hop->source);
    monitor_str_put(st, hop->target);
    monitor_str_put(st, hop->policy);
    monitor_str_put(st, hop->fwd_fields);
    monitor_str_put(st, hop->fwd_policy);
    aggregate_free(&hop->agg);
    free(hop);
}

/* promo_monitor_tracker_reset - drop every hop of tr (a new generation or
 * head SHA, or a record to re-read). */
static void promo_monitor_tracker_reset(struct stage *st, struct mon_tracker *tr)
{
    while (tr->hops) {
        struct mon_hop *h = tr->hops;
        tr->hops = h->next;
        promo_monitor_hop_free(st, h);
    }
}

/* promo_monitor_tracker_free - free tr and its hops (a strmap value
 * destructor: at stop, and for a tracker with nothing left to do). */
static void promo_monitor_tracker_free(void *v)
{
    struct mon_tracker *tr = v;
    struct stage *st = loop_owner(promo_monitor_state.actx.loop);

    promo_monitor_tracker_reset(st, tr);
    cJSON_Delete(tr->writing);
    monitor_str_put(st, tr->name);
    monitor_str_put(st, tr->sha);
    free(tr);
}

/* promo_monitor_tracker - the entry of t, created or reset when its
 * generation or head SHA changed (its record is read when a hop is made). */
static struct mon_tracker *promo_monitor_tracker(struct stage *st, const struct tracker *t)
{
    struct monitor_stage *ms = st->data;
    struct mon_tracker *tr = strmap_get(ms->trackers, t->name);

    if (tr && tr->generation == t->generation && strcmp(tr->sha, t->head_sha) == 0)
        return tr;
    if (!tr) {
        tr = xcalloc(1, sizeof(*tr));
        tr->name = monitor_str(st, t->name);
        strmap_put(ms->trackers, t->name, tr);
    } else {
        log_info("superseded", "tracker=%s old_gen=%lld gen=%lld old_sha=%.12s sha=%.12s", t->name,
                 (long long)tr->generation, (long long)t->generation, tr->sha, t->head_sha);
        promo_monitor_tracker_reset(st, tr);
        cJSON_Delete(tr->writing);    /* an older generation's: not a base for this one */
        tr->writing = NULL;
    }
    tr->generation = t->generation;
    monitor_set(st, &tr->sha, t->head_sha);
    return tr;
}

/* promo_monitor_read_tracker - the tracker named by msg, re-read from the
 * store (or, with no store or in --dry-run when the store has none, the
 * message's snapshot), checked against the message. Returns the document
 * (caller frees) with t filled, or NULL when the message is dropped (logged). */
static cJSON *promo_monitor_read_tracker(struct stage *st, const cJSON *msg, struct tracker *t)
{
    cJSON *doc = stage_tracker(st, msg, t, 0);

    if (!doc)
        return NULL;
    if (st->store)
        view_apply(st->store, t, doc, NULL);    /* where the chain has taken it */
    return doc;
}

/* promo_monitor_hint_hop - a hop built from the message alone (no trigger
 * record to read): its "runs" as the tests, the policy's target, name and
 * timeout. Returns a new object, or NULL when the message has no runs. */
static cJSON *promo_monitor_hint_hop(const cJSON *msg, const struct tracker *t)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(msg, "runs");
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(msg, "policy");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pol, "spec");
    const cJSON *tmo = cJSON_GetObjectItemCaseSensitive(spec, "timeout"), *te;
    int64_t timeout = POLICY_DEFAULT_TIMEOUT, started = 0;
    char err[128], ts[40];
    cJSON *hop;

    if (cJSON_IsObject(runs))
        runs = cJSON_GetObjectItemCaseSensitive(runs, "tests");
    if (!cJSON_IsArray(runs))
        return NULL;
    if (cJSON_IsString(tmo) && duration_parse(tmo->valuestring, &timeout, err, sizeof(err)) < 0)
        timeout = POLICY_DEFAULT_TIMEOUT;
    cJSON_ArrayForEach(te, runs) {
        int64_t at = monitor_time(te, "triggeredAt");
        if (!at)
            at = monitor_time(te, "intentAt");
        if (at && (!started || at < started))
            started = at;
    }
    hop = cJSON_CreateObject();
    cJSON_AddStringToObject(hop, "source", t->status_env);
    if (json_str(spec, "targetEnvironment", NULL))
        cJSON_AddStringToObject(hop, "target", json_str(spec, "targetEnvironment", NULL));
    if (json_str(cJSON_GetObjectItemCaseSensitive(pol, "metadata"), "name", NULL))
        cJSON_AddStringToObject(hop, "policy",
                                json_str(cJSON_GetObjectItemCaseSensitive(pol, "metadata"), "name", NULL));
    cJSON_AddNumberToObject(hop, "policyTimeoutMs", (double)timeout);
    cJSON_AddStringToObject(hop, "startedAt", time_format_iso(started ? started : wall_ms(), ts, sizeof(ts)));
    cJSON_AddItemToObject(hop, "tests", cJSON_Duplicate(runs, 1));
    return hop;
}

/* promo_monitor_trigger_hop - the hop out of env (t's current environment
 * when NULL) in the trigger record (a copy), or from the message with no
 * record to read. NULL when there is nothing to monitor yet (logged). */
static cJSON *promo_monitor_trigger_hop(struct stage *st, const cJSON *msg, const struct tracker *t,
                                        const char *env)
{
    struct monitor_stage *ms = st->data;
    cJSON *rec = NULL, *hop = NULL;
    int rc = st->store ? store_read(st->store, "trigger", t->name, &rec) : -ENOENT;

    if (!env)
        env = t->status_env;
    if (rc == -ENOENT && (!st->store || st->dry_run))
        return promo_monitor_hint_hop(msg, t);
    if (rc < 0) {
        log_info("no_trigger_record", "tracker=%s error=%s effect=%s", t->name, log_q(strerror(-rc)),
                 log_q("waiting for promo-trigger"));
        return NULL;
    }
    {
        /* the record's decoder (domain/rec_trigger.h) says it is one, and
         * of which generation */
        struct rec_trigger tr;
        char err[256];
        int ok = rec_trigger_decode(rec, t->name, &tr, err, sizeof(err)) == 0, cur;

        cur = ok && tr.head_sha[0] && rec_current(tr.generation, tr.head_sha, t->generation, t->head_sha);
        if (!ok)
            log_info("bad_trigger_record", "tracker=%s error=%s effect=%s", t->name, log_q(err),
                     log_q("waiting for promo-trigger"));
        else if (!cur)
            log_info("stale_trigger_record", "tracker=%s gen=%lld record_gen=%lld effect=%s", t->name,
                     (long long)t->generation, (long long)tr.generation, log_q("waiting for promo-trigger"));
        rec_trigger_free(&tr);
        if (!cur) {
            ms->stale += ok;
            cJSON_Delete(rec);
            return NULL;
        }
    }
    hop = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "hops"), env);
    if (!cJSON_IsObject(hop) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(hop, "tests"))) {
        log_info("no_trigger_hop", "tracker=%s env=%s effect=%s", t->name, env,
                 log_q("waiting for promo-trigger"));
        cJSON_Delete(rec);
        return NULL;
    }
    hop = cJSON_DetachItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "hops"), env);
    cJSON_Delete(rec);
    if (!json_str(hop, "source", NULL))
        cJSON_AddStringToObject(hop, "source", env);
    return hop;
}

/* promo_monitor_test_deadline - (re)compute t's deadline from its start,
 * its timeout and the hop's policy deadline. */
static void promo_monitor_test_deadline(struct mon_test *t)
{
    struct mon_hop *hop = t->hop;
    int64_t pol = hop->started_ms + hop->policy_timeout_ms;
    int64_t own = t->start_ms + t->timeout_ms;
    char d[32];

    if (t->timeout_ms > 0 && (own <= pol || hop->policy_timeout_ms <= 0)) {
        t->deadline_ms = own;
        monitor_setf(t->st, &t->deadline_why, "test timeout %s", duration_format(t->timeout_ms, d, sizeof(d)));
    } else {
        t->deadline_ms = pol;
        monitor_setf(t->st, &t->deadline_why, "policy timeout %s",
                     duration_format(hop->policy_timeout_ms, d, sizeof(d)));
    }
}

/* promo_monitor_test_update - what the trigger record now says of mt:
 * its error, or its run (taken once). */
static void promo_monitor_test_update(struct stage *st, struct mon_test *mt, const cJSON *te)
{
    const char *phase = json_str(te, "phase", NULL);
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(te, "run");

    if (phase && strcmp(phase, "error") == 0) {
        if (!mt->error) {
            const char *e = json_str(te, "error", NULL);
            mt->error = 1;
            monitor_set(st, &mt->detail, e ? e : "could not be triggered");
            mt->finished_ms = wall_ms();
        }
        return;
    }
    if (!mt->has_run && cJSON_IsObject(run)) {
        struct adapter_run r;
        int64_t trig = monitor_time(te, "triggeredAt");

        if (adapter_run_from_json(run, &r) < 0) {
            log_warn("bad_run", "tracker=%s test=%s reason=%s", mt->tracker, mt->name,
                     log_q("the trigger record's run does not decode"));
            return;
        }
        if (trig)
            mt->start_ms = trig;
        mt->has_run = 1;
        monitor_test_take_run(st, mt, &r);
        if (mt->status == RUN_UNKNOWN && !mt->timed_out) {
            mt->status = r.status;
            if (run_status_final(r.status)) {
                monitor_set(st, &mt->detail, r.detail);
                mt->finished_ms = wall_ms();
            }
        } else {
            /* restored from this stage's record: keep its status, take the run */
            mt->run.status = mt->status;
        }
        log_debug("adopt", "tracker=%s test=%s key=%s run=%s status=%s", mt->tracker, mt->name, mt->key,
                  mt->run.id, run_status_name(mt->status));
    }
}

/* promo_monitor_hop_sync - bring hop in line with the trigger hop th. */
static void promo_monitor_hop_sync(struct stage *st, struct mon_tracker *tr, struct mon_hop *hop,
                                   const struct tracker *t, const cJSON *th)
{
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(th, "tests"), *te;
    struct mon_test **keep;
    cJSON *rec = NULL;           /* this stage's record, read when a test is new */
    int nkeep = 0, i, n = cJSON_GetArraySize(tests);

    if (n > MONITOR_MAX_TESTS)
        n = MONITOR_MAX_TESTS;
    keep = xcalloc((size_t)n + 1, sizeof(*keep));
    cJSON_ArrayForEach(te, tests) {
        const char *name = json_str(te, "name", NULL), *key = json_str(te, "key", NULL);
        struct mon_test *mt = NULL;

        if (nkeep >= n)
            break;
        if (!name || !*name) {
            log_warn("bad_trigger_test", "tracker=%s reason=%s", t->name, log_q("a test without a name"));
            continue;
        }
        for (i = 0; i < hop->ntests; i++) {
            if (hop->tests[i] && strcmp(hop->tests[i]->name, name) == 0) {
                mt = hop->tests[i];
                hop->tests[i] = NULL;
                break;
            }
        }
        if (mt && strcmp(mt->key, key ? key : "") != 0) {
            log_info("new_attempt", "tracker=%s test=%s old_key=%s key=%s", t->name, name, mt->key,
                     key ? key : "");
            monitor_test_free(st, mt);
            mt = NULL;
            /* a retry: the decision about the old attempt no longer holds */
            monitor_hop_move(hop, MHE_RESET);
            aggregate_free(&hop->agg);
            hop->has_agg = 0;
            monitor_revision_reset(st, hop);
        }
        if (!mt) {
            if (!rec) {
                rec = monitor_record_base(st, tr);
                if (!hop->ntests)     /* a new hop: what is on disk is what was written */
                    hop->saved = monitor_record_hash(monitor_record_entry(rec, hop->source));
            }
            mt = monitor_test_new(st, hop, t, te);
            monitor_record_restore(st, rec, hop->source, mt);
        }
        promo_monitor_test_update(st, mt, te);
        promo_monitor_test_deadline(mt);
        keep[nkeep++] = mt;
    }
    for (i = 0; i < hop->ntests; i++)
        monitor_test_free(st, hop->tests[i]);     /* no longer in the policy */
    free(hop->tests);
    hop->tests = keep;
    hop->ntests = nkeep;
    /* only a hop with a new test can find its decision on disk: one known
     * here was decided here */
    if (rec && hop->state == MH_OPEN && !hop->has_agg && monitor_record_restore_agg(rec, hop)) {
        monitor_revision_restore(hop, cJSON_GetObjectItemCaseSensitive(monitor_record_entry(rec, hop->source),
                                                                       "revisionCheck"));
        monitor_hop_move(hop, MHE_RESTORE);
        log_info("restored", "tracker=%s env=%s decided=true", t->name, hop->source);
    }
    cJSON_Delete(rec);
    for (i = 0; i < hop->ntests; i++)
        monitor_poll_schedule(st, hop->tests[i], 0);
}

/* promo_monitor_hop_idle - 1 when hop has nothing left to do: decided,
 * recorded and forwarded, no test to poll, no request or check out. */
static int promo_monitor_hop_idle(const struct mon_hop *hop)
{
    int i;

    if (hop->state != MH_RECORDED || (hop->rv && (hop->rv->inflight || hop->rv->tmr)))
        return 0;
    for (i = 0; i < hop->ntests; i++)
        if (monitor_poll_wanted(hop->tests[i]) || hop->tests[i]->nreq)
            return 0;
    return 1;
}

/* monitor_tracker_gc - see monitor.h. A hop whose last write failed
 * (saved 0) is kept: the next message writes it again. */
void monitor_tracker_gc(struct stage *st, struct mon_tracker *tr)
{
    struct monitor_stage *ms = st->data;
    struct mon_hop *hop, **pp;

    if (!st->store || st->dry_run || ms->stopping || tr->nwrites > 0)
        return;
    for (pp = &tr->hops; (hop = *pp) != NULL;) {
        if (hop->saved && promo_monitor_hop_idle(hop)) {
            *pp = hop->next;
            promo_monitor_hop_free(st, hop);
        } else {
            pp = &hop->next;
        }
    }
    if (!tr->hops && strmap_del(ms->trackers, tr->name) == tr)
        promo_monitor_tracker_free(tr);
}

/* promo_monitor_hop - the hop of tr for trigger hop th, created when absent;
 * other hops of tr that have nothing left to do are freed (their record
 * stays on disk). */
static struct mon_hop *promo_monitor_hop(struct stage *st, struct mon_tracker *tr, const cJSON *th)
{
    const char *source = json_str(th, "source", NULL);
    struct mon_hop *hop, **pp;

    for (pp = &tr->hops; (hop = *pp) != NULL;) {
        if (strcmp(hop->source, source) == 0)
            return hop;
        if (promo_monitor_hop_idle(hop)) {
            *pp = hop->next;
            promo_monitor_hop_free(st, hop);
        } else {
            pp = &hop->next;
        }
    }
    hop = xcalloc(1, sizeof(*hop));
    hop->tr = tr;
    hop->source = monitor_str(st, source);
    hop->target = monitor_str(st, json_str(th, "target", NULL));
    hop->policy = monitor_str(st, json_str(th, "policy", NULL));
    hop->started_ms = monitor_time(th, "startedAt");
    if (!hop->started_ms)
        hop->started_ms = wall_ms();
    hop->policy_timeout_ms = monitor_num(th, "policyTimeoutMs", POLICY_DEFAULT_TIMEOUT);
    hop->next = tr->hops;
    tr->hops = hop;
    return hop;
}

/* promo_monitor_assemble - the message to forward for msg: its fields,
 * with the tracker from disk and the runs from the trigger record, without
 * an aggregate (a new object). */
static cJSON *promo_monitor_assemble(const cJSON *msg, const cJSON *doc, const cJSON *th)
{
    cJSON *m = cJSON_Duplicate(msg, 1);

    cJSON_DeleteItemFromObjectCaseSensitive(m, "tracker");
    cJSON_AddItemToObject(m, "tracker", cJSON_Duplicate(doc, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(m, "runs");
    cJSON_AddItemToObject(m, "runs", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(th, "tests"), 1));
    cJSON_DeleteItemFromObjectCaseSensitive(m, "aggregate");
    return m;
}

/* promo_monitor_rereads - 1 when a later forward reads the tracker and the
 * runs again from the state dir (else they are kept with the message). */
static int promo_monitor_rereads(const struct stage *st)
{
    return st->store && !st->dry_run;
}

/* promo_monitor_keep - keep what a later forward of hop needs of message m,
 * compact: its fields printed (not the envelope, which stage_forward
 * replaces; "tracker" and "runs" left out when they can be read again), its
 * policy printed apart (one copy for all the hops under it). */
static void promo_monitor_keep(struct stage *st, struct mon_hop *hop, const cJSON *m)
{
    static const char *const skip[] = { "v", "kind", "from", "sent", "tracker", "runs" };
    size_t nskip = promo_monitor_rereads(st) ? ARRAY_LEN(skip) : ARRAY_LEN(skip) - 2, i;
    cJSON *fields = cJSON_CreateObject(), *it;
    char *text, *policy = NULL;

    cJSON_ArrayForEach(it, m) {
        for (i = 0; i < nskip && strcmp(it->string, skip[i]) != 0; i++)
            ;
        if (strcmp(it->string, "policy") == 0) {
            cJSON_free(policy);
            policy = cJSON_PrintUnformatted(it);
        } else if (i == nskip) {
            cJSON_AddItemReferenceToObject(fields, it->string, it);
        }
    }
    text = cJSON_PrintUnformatted(fields);
    cJSON_Delete(fields);             /* references only: m is untouched */
    monitor_set(st, &hop->fwd_fields, text);
    monitor_set(st, &hop->fwd_policy, policy);
    cJSON_free(text);
    cJSON_free(policy);
}

/* promo_monitor_outgoing - the message to forward for hop after the one it
 * came with was handled: its kept fields and policy, with the tracker and
 * the trigger record's runs as the state dir has them now. NULL when it
 * cannot be built (the tracker moved on, a record cannot be read: logged);
 * the next message for the tracker brings what is needed again. */
static cJSON *promo_monitor_outgoing(struct stage *st, struct mon_hop *hop)
{
    cJSON *m = hop->fwd_fields[0] ? cJSON_Parse(hop->fwd_fields) : NULL, *doc, *th;
    struct tracker t;

    if (!m)
        return NULL;
    if (hop->fwd_policy[0])
        cJSON_AddItemToObject(m, "policy", cJSON_Parse(hop->fwd_policy));
    if (!promo_monitor_rereads(st))
        return m;
    doc = promo_monitor_read_tracker(st, m, &t);
    if (doc && (t.generation != hop->tr->generation || strcmp(t.head_sha, hop->tr->sha) != 0)) {
        log_info("not_forwarded", "tracker=%s env=%s gen=%lld reason=%s", hop->tr->name, hop->source,
                 (long long)hop->tr->generation, log_q("the tracker has moved on"));
        cJSON_Delete(doc);
        doc = NULL;
    }
    th = doc ? promo_monitor_trigger_hop(st, m, &t, hop->source) : NULL;
    if (!th) {
        cJSON_Delete(doc);
        cJSON_Delete(m);
        return NULL;
    }
    cJSON_AddItemToObject(m, "tracker", doc);
    cJSON_AddItemToObject(m, "runs", cJSON_DetachItemFromObjectCaseSensitive(th, "tests"));
    cJSON_Delete(th);
    return m;
}

/* promo_monitor_results - the hop's tests as the message's "results". */
static cJSON *promo_monitor_results(const struct mon_hop *hop)
{
    struct agg_test *at = monitor_agg_tests(hop);
    cJSON *arr = cJSON_CreateArray();
    int i;

    for (i = 0; i < hop->ntests; i++) {
        cJSON *o = cJSON_CreateObject();
        enum agg_outcome out = aggregate_outcome(&at[i]);

        cJSON_AddStringToObject(o, "name", hop->tests[i]->name);
        cJSON_AddBoolToObject(o, "required", hop->tests[i]->required);
        cJSON_AddStringToObject(o, "outcome", aggregate_outcome_name(out));
        cJSON_AddStringToObject(o, "key", hop->tests[i]->key);
        cJSON_AddStringToObject(o, "provider", hop->tests[i]->provider);
        if (hop->tests[i]->run.id[0])
            cJSON_AddStringToObject(o, "runId", hop->tests[i]->run.id);
        cJSON_AddStringToObject(o, "url", hop->tests[i]->run.url);
        cJSON_AddStringToObject(o, "detail", hop->tests[i]->detail);
        cJSON_AddItemToArray(arr, o);
    }
    free(at);
    return arr;
}

/* promo_monitor_forward - queue hop's message with "aggregate"; the hop
 * stays MH_TO_FORWARD when the output is full (ops->fill tries again). */
static void promo_monitor_forward(struct stage *st, struct mon_hop *hop)
{
    struct monitor_stage *ms = st->data;
    cJSON *out, *agg, *check, *m = NULL;
    int rc;

    if (!hop->fwd_fields || !hop->has_agg || (hop->state != MH_RECORDED && hop->state != MH_TO_FORWARD)) {
        ms->want_fill |= hop->state == MH_TO_FORWARD;
        return;
    }
    if (monitor_revision_audit(st, hop) < 0)
        return;                   /* forwarded once the audit event is in the log */
    if (ms->live_hop != hop && !(m = promo_monitor_outgoing(st, hop))) {
        monitor_hop_move(hop, MHE_EMITTED);
        return;
    }
    out = stage_forward(st, m ? m : ms->live_msg);
    cJSON_Delete(m);
    agg = monitor_record_agg_json(hop);
    if ((check = monitor_revision_json(hop)) != NULL)
        cJSON_AddItemToObject(agg, "revisionCheck", check);
    cJSON_AddStringToObject(agg, "source", hop->source);
    cJSON_AddStringToObject(agg, "target", hop->target);
    cJSON_AddStringToObject(agg, "policy", hop->policy);
    cJSON_AddNumberToObject(agg, "generation", (double)hop->tr->generation);
    cJSON_AddStringToObject(agg, "headSHA", hop->tr->sha);
    cJSON_AddItemToObject(agg, "results", promo_monitor_results(hop));
    stage_msg_set(out, "aggregate", agg);
    crash_point("monitor.before_forward");
    rc = stage_send(st, hop->tr->name, out);
    if (rc != 0) {
        monitor_hop_move(hop, MHE_EMITTED);
        if (rc > 0) {
            ms->forwarded++;
            log_info("forward", "tracker=%s env=%s gen=%lld allPassed=%s anyFailed=%s", hop->tr->name,
                     hop->source, (long long)hop->tr->generation, hop->agg.all_passed ? "true" : "false",
                     hop->agg.any_failed ? "true" : "false");
        }
    }
}

/* promo_monitor_dry_print - --dry-run: the decision as one JSON line on stdout. */
static void promo_monitor_dry_print(struct stage *st, const struct mon_hop *hop)
{
    cJSON *o = cJSON_CreateObject();
    char *line;

    cJSON_AddBoolToObject(o, "dryRun", 1);
    cJSON_AddStringToObject(o, "tracker", hop->tr->name);
    cJSON_AddNumberToObject(o, "generation", (double)hop->tr->generation);
    cJSON_AddStringToObject(o, "source", hop->source);
    cJSON_AddStringToObject(o, "target", hop->target);
    cJSON_AddItemToObject(o, "aggregate", monitor_record_agg_json(hop));
    cJSON_AddItemToObject(o, "results", promo_monitor_results(hop));
    line = cJSON_PrintUnformatted(o);
    if (line) {
        printf("%s\n", line);
        fflush(stdout);
    }
    cJSON_free(line);
    cJSON_Delete(o);
}

/* monitor_evaluate - aggregate, persist, decide, forward. */
void monitor_evaluate(struct stage *st, struct mon_hop *hop)
{
    struct monitor_stage *ms = st->data;
    struct agg_test *at = monitor_agg_tests(hop);
    struct aggregate a;
    int i;

    aggregate_compute(at, (size_t)hop->ntests, &a);
    free(at);
    if (hop->state == MH_OPEN && a.decided && a.all_passed && !a.any_failed &&
        !monitor_revision_settled(st, hop)) {
        /* the tests passed: they count once Argo CD confirms the source
         * application still runs the SHA (monitor_revision.c). Until then
         * the recorded aggregate is not decided, nor passed: nobody (the
         * promoter, the view, this stage after a restart) may act on it. */
        a.decided = 0;
        a.all_passed = 0;
        monitor_record_save(st, hop, &a, 0);
        aggregate_free(&a);
        return;
    }
    if (hop->state == MH_OPEN && a.decided)
        monitor_revision_void(hop, &a);          /* another revision ran: the pass is void */
    if (hop->state == MH_OPEN && a.decided) {
        monitor_hop_move(hop, MHE_DECIDE);
        aggregate_free(&hop->agg);
        aggregate_copy(&hop->agg, &a);
        hop->has_agg = 1;
        hop->decided_ms = wall_ms();
        ms->decided++;
        metrics_inc("promo_decisions_total", "outcome", a.all_passed ? "passed" :
                    a.any_timeout ? "timeout" : a.any_failed ? "failed" : "undecided");
        log_info("decided", "tracker=%s env=%s gen=%lld allPassed=%s anyFailed=%s anyTimeout=%s "
                 "optionalTestsFailed=%s reasons=%d", hop->tr->name, hop->source,
                 (long long)hop->tr->generation, a.all_passed ? "true" : "false",
                 a.any_failed ? "true" : "false", a.any_timeout ? "true" : "false",
                 a.optional_failed ? "true" : "false", a.nreasons);
        for (i = 0; i < a.nreasons; i++)
            log_info("failure_reason", "tracker=%s env=%s reason=%s", hop->tr->name, hop->source,
                     log_q(a.reasons[i]));
        for (i = 0; i < hop->ntests; i++)
            monitor_poll_schedule(st, hop->tests[i], -1);    /* required ones stop */
    }
    if (hop->state == MH_DECIDED || hop->state == MH_WRITING) {
        if (st->dry_run) {
            promo_monitor_dry_print(st, hop);
            monitor_hop_move(hop, MHE_WRITTEN);
        } else if (hop->state == MH_DECIDED) {
            crash_point("monitor.before_persist");
            switch (monitor_record_save(st, hop, &a, 1)) {
            case 0:               /* on disk already */
                crash_point("monitor.after_persist");
                monitor_hop_move(hop, MHE_WRITTEN);
                break;
            case 1:               /* monitor_persisted() goes on */
                monitor_hop_move(hop, MHE_WRITE_QUEUED);
                break;
            default:
                break;
            }
        } else {
            monitor_record_save(st, hop, &a, 0);   /* a later change (a cancel): written after it */
        }
        if (hop->state == MH_RECORDED) {
            monitor_hop_move(hop, MHE_FORWARD_DUE);
            promo_monitor_forward(st, hop);
        }
    } else {
        monitor_record_save(st, hop, &a, 0);
    }
    aggregate_free(&a);
}

/* monitor_persisted - see monitor.h. */
void monitor_persisted(struct stage *st, const char *name, int64_t gen, const char *source, int rc)
{
    struct monitor_stage *ms = st->data;
    struct mon_tracker *tr = ms->trackers ? strmap_get(ms->trackers, name) : NULL;
    struct mon_hop *hop;

    if (!tr || tr->generation != gen)
        return;                   /* superseded: the record says what was decided */
    for (hop = tr->hops; hop && strcmp(hop->source, source) != 0; hop = hop->next)
        ;
    if (!hop || hop->state != MH_WRITING)
        return;                   /* a write from before a reset */
    if (rc < 0) {
        monitor_hop_move(hop, MHE_WRITE_FAILED);
        return;                   /* the next evaluation writes it again */
    }
    crash_point("monitor.after_persist");
    monitor_hop_move(hop, MHE_WRITTEN);
    if (ms->stopping)
        return;                   /* on disk: the next start forwards it */
    monitor_hop_move(hop, MHE_FORWARD_DUE);
    promo_monitor_forward(st, hop);
}

/* promo_monitor_hint - a "hint" from promo-webhook: the run of the test
 * with that key (or run id) of that tracker changed; poll it now. Only a
 * poll is brought forward: what it finds decides, as ever. */
static void promo_monitor_hint(struct stage *st, const cJSON *msg)
{
    struct monitor_stage *ms = st->data;
    const char *name = json_str(msg, "name", NULL), *key = json_str(msg, "key", NULL);
    const char *run = json_str(msg, "runId", NULL);
    struct mon_tracker *tr = name ? strmap_get(ms->trackers, name) : NULL;
    struct mon_hop *hop;
    int i, found = 0, polled = 0;

    ms->hints++;
    ms->hint_ms = now_ms();
    for (hop = tr ? tr->hops : NULL; hop; hop = hop->next) {
        for (i = 0; i < hop->ntests; i++) {
            struct mon_test *t = hop->tests[i];
            if ((key && *key && strcmp(t->key, key) == 0) || (!(key && *key) && run && *run && strcmp(t->run.id, run) == 0)) {
                found = 1;
                polled += monitor_poll_hint(st, t);
            }
        }
    }
    log_info("hint", "tracker=%s key=%s run=%s source=%s effect=%s", name ? name : "-", key ? key : "-",
             run ? run : "-", json_str(msg, "source", NULL) ? json_str(msg, "source", NULL) : "-",
             log_q(polled ? "poll now" : found ? "nothing to poll (known or in flight)" : "not monitored here"));
}

/* promo_monitor_message - one tracker message with runs, or a hint. */
static void promo_monitor_message(struct stage *st, cJSON *msg)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
    struct monitor_stage *ms = st->data;
    struct mon_tracker *tr;
    struct mon_hop *hop;
    struct tracker t;
    cJSON *doc, *th, *m;

    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "hint") == 0) {
        promo_monitor_hint(st, msg);
        return;
    }
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "tracker") != 0)
        return;                   /* other kinds are not for this stage */
    if (!cJSON_GetObjectItemCaseSensitive(msg, "runs")) {
        log_debug("no_runs", "effect=%s", log_q("ignored: nothing triggered yet"));
        return;
    }
    doc = promo_monitor_read_tracker(st, msg, &t);
    if (!doc)
        return;
    th = promo_monitor_trigger_hop(st, msg, &t, NULL);
    if (!th) {
        cJSON_Delete(doc);
        return;
    }
    tr = promo_monitor_tracker(st, &t);
    hop = promo_monitor_hop(st, tr, th);
    m = promo_monitor_assemble(msg, doc, th);
    promo_monitor_keep(st, hop, m);
    ms->live_hop = hop;                       /* forwarded now: with m as it is */
    ms->live_msg = m;
    promo_monitor_hop_sync(st, tr, hop, &t, th);
    monitor_hop_move(hop, MHE_FORWARD_DUE);   /* level-triggered: forward again, once recorded */
    monitor_evaluate(st, hop);
    if (hop->state == MH_TO_FORWARD)
        promo_monitor_forward(st, hop);
    if (hop->state != MH_TO_FORWARD)
        stage_memo(st, t.name, t.generation);     /* its runs are watched: a resync adds nothing */
    ms->live_hop = NULL;
    ms->live_msg = NULL;
    cJSON_Delete(m);
    cJSON_Delete(th);
    cJSON_Delete(doc);
    monitor_tracker_gc(st, tr);
    memtrim_note(st->loop);           /* after a burst, what it used goes back */
}

/* What a walk of fill did: the trackers it forwarded hops of, freed once
 * the walk is over when they have nothing left to do. */
struct promo_monitor_fill_walk {
    struct stage *st;
    struct mon_tracker **done;
    size_t ndone, cap;
};

/* promo_monitor_fill_one - forward one hop waiting for room. */
static void promo_monitor_fill_one(const char *key, void *val, void *arg)
{
    struct promo_monitor_fill_walk *w = arg;
    struct mon_tracker *tr = val;
    struct mon_hop *hop;
    int sent = 0;

    for (hop = tr->hops; hop; hop = hop->next) {
        if (hop->state == MH_TO_FORWARD && stage_out_room(w->st) > 0) {
            promo_monitor_forward(w->st, hop);
            sent = 1;
        }
    }
    if (sent) {
        if (w->ndone == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 16;
            w->done = xrealloc(w->done, w->cap * sizeof(*w->done));
        }
        w->done[w->ndone++] = tr;
    }
}

/* promo_monitor_fill - there is room: forward what waits. */
static void promo_monitor_fill(struct stage *st)
{
    struct monitor_stage *ms = st->data;
    struct promo_monitor_fill_walk w = { st, NULL, 0, 0 };
    size_t i;

    if (!ms->want_fill)
        return;                 /* nothing waits: no walk over every tracker */
    ms->want_fill = 0;          /* a hop that still waits sets it again */
    strmap_each(ms->trackers, promo_monitor_fill_one, &w);
    for (i = 0; i < w.ndone; i++)
        monitor_tracker_gc(st, w.done[i]);
    free(w.done);
}

/* promo_monitor_busy_one - count hops that still have work. */
static void promo_monitor_busy_one(const char *key, void *val, void *arg)
{
    struct mon_tracker *tr = val;
    struct mon_hop *hop;

    for (hop = tr->hops; hop; hop = hop->next)
        if (hop->state != MH_RECORDED)
            (*(int *)arg)++;
}

/* promo_monitor_busy - in flight: requests, or received hops not yet
 * decided, persisted and forwarded (keeps --once and stdin EOF waiting). */
static int promo_monitor_busy(struct stage *st)
{
    struct monitor_stage *ms = st->data;
    int n = 0;

    if (ms->nreq > 0 || (ms->wa && wasync_pending(ms->wa) > 0))
        return 1;
    strmap_each(ms->trackers, promo_monitor_busy_one, &n);
    return n > 0;
}

/* promo_monitor_start - the adapter context and the poll table. */
static int promo_monitor_start(struct stage *st)
{
    struct monitor_stage *ms = &promo_monitor_state;

    st->data = ms;
    ms->actx.loop = st->loop;
    ms->actx.http = http_new(st->loop);
    ms->actx.cfg = &st->cfg;
    ms->actx.store = st->store;
    ms->actx.budget = budget_open(st->cfg.run_dir);     /* shared with the promoter */
    ms->trackers = strmap_new();
    ms->strs = intern_new();
    ms->hint_ms = now_ms();       /* webhooks are expected from the start */
    ms->wa = st->store ? wasync_new_loop(st->store, st->loop, MONITOR_WRITERS) : NULL;
    if (st->store && !ms->wa) {
        log_error("writer_init_failed", "effect=%s", log_q("cannot record results"));
        return EXIT_TEMP;
    }
    if (!ms->actx.http) {
        log_error("http_init_failed", "effect=%s", log_q("cannot poll"));
        return EXIT_TEMP;
    }
    return 0;
}

/* promo_monitor_stop - cancel requests, free the table. */
static void promo_monitor_stop(struct stage *st)
{
    struct monitor_stage *ms = st->data;

    if (!ms)
        return;
    log_info("stop", "polls=%llu changes=%llu decided=%llu forwarded=%llu timeouts=%llu stale=%llu hints=%llu",
             (unsigned long long)ms->polls, (unsigned long long)ms->changes,
             (unsigned long long)ms->decided, (unsigned long long)ms->forwarded,
             (unsigned long long)ms->timeouts, (unsigned long long)(ms->stale + st->msgs_stale), (unsigned long long)ms->hints);
    ms->stopping = 1;
    if (ms->wa)
        wasync_free(ms->wa);          /* every record asked for is on disk */
    ms->wa = NULL;
    if (ms->actx.http)
        http_free(ms->actx.http);     /* no callback runs after this */
    ms->actx.http = NULL;
    monitor_revision_stop(st);        /* reads of Argo CD that never answered */
    budget_close(ms->actx.budget);
    ms->actx.budget = NULL;
    ms->nreq = 0;
    strmap_free(ms->trackers, promo_monitor_tracker_free);
    ms->trackers = NULL;
    while (ms->orphans) {
        struct mon_test *t = ms->orphans;
        ms->orphans = t->orphan_next;
        monitor_test_free(st, t);
    }
    intern_free(ms->strs);
    ms->strs = NULL;
}

/* main - the stage's options and handlers, run by the shared skeleton. */
int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-monitor",
        .summary = "poll the CI runs of promotion tests, apply their deadlines, and forward\n"
                   "each tracker with the aggregate of its tests once the outcome is decided",
        .in_default = "monitor.sock",
        .out_default = "promoter.sock",
        .extra_usage =
            "\nWith --once, or --in - at the end of its input, promo-monitor exits only once\n"
            "every hop it received is decided, recorded and forwarded. --dry-run polls but\n"
            "writes nothing, cancels nothing, and prints each decision as a JSON line.\n",
        .start = promo_monitor_start,
        .message = promo_monitor_message,
        .fill = promo_monitor_fill,
        .busy = promo_monitor_busy,
        .stop = promo_monitor_stop,
    };

    return stage_main(argc, argv, &ops);
}
