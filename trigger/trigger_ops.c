/* trigger_ops.c - promo-trigger's asynchronous CI operations: trigger, find by key, cancel.
 *
 * Every operation runs through an adapter (adapters/adapter.h) inside the
 * stage's event loop, so the tests of every pending tracker run in parallel.
 * At most one operation per test key is in flight (the in-flight set; only an
 * optimisation: the record is the truth). Each result is persisted in the
 * trigger record before anything else happens:
 *
 *   trigger  the intent is on disk; crash_point("trigger.before_request"),
 *            adapter->trigger; in the callback crash_point("trigger.after_request"),
 *            then run + phase "triggered" (crash_point("trigger.after_persist")).
 *   adopt    an intent found on disk (a crash, or a retry): adapter->find by
 *            key; found: record the run; not found: trigger. For
 *            github-actions a dispatched run can take seconds to be listed, so
 *            while the intent is younger than TRIGGER_GH_LIST_MS the find is
 *            repeated every TRIGGER_GH_FIND_MS before triggering.
 *   cancel   a superseded run (found by key first when it has none): cancel,
 *            best effort, the outcome kept in the "superseded" entry.
 *
 * ADAPTER_ETEMP is retried with backoff (the adapter's retry_after_ms, else
 * http_backoff_ms) up to TRIGGER_MAX_RETRIES, after which the operation waits
 * for the next message; a failed trigger is always retried as an adopt, since
 * the CI may have received it. ADAPTER_EPERM ends the test in phase "error". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/http.h"
#include "util/log.h"
#include "util/memtrim.h"
#include "util/metrics.h"
#include "util/util.h"
#include "trigger/trigger.h"
#include "util/json.h"

struct trigger_op {
    struct stage *st;
    enum trigger_op_kind kind;
    struct trigger_test_spec *spec;
    const struct adapter *ad;
    struct adapter_test test;
    struct adapter_run run;          /* TOP_CANCEL: the run to cancel */
    int have_run;
    int attempts;                    /* ETEMP retries so far */
    struct loop_timer *tmr;           /* a retry or a delayed find, or NULL */
    char opkey[64];                  /* key, or "cancel:" key */
};

static void trigger_ops_step(struct trigger_op *op);

/* trigger_ops_init - the adapter context (no HTTP client in --dry-run) and the sets. */
void trigger_ops_init(struct stage *st)
{
    struct trigger_stage *ts = st->data;

    ts->actx.loop = st->loop;
    ts->actx.http = st->dry_run ? NULL : http_new(st->loop);
    ts->actx.cfg = &st->cfg;
    ts->actx.store = st->store;
    ts->inflight = strmap_new();
    ts->per_tracker = strmap_new();
}

/* trigger_ops_free_op - release one operation (its timer cancelled). */
static void trigger_ops_free_op(void *p)
{
    struct trigger_op *op = p;

    if (!op)
        return;
    loop_cancel(op->st->loop, op->tmr);
    trigger_ops_spec_free(op->spec);
    free(op);
}

/* trigger_ops_stop - drop what is in flight: the HTTP client first, so no
 * callback can reach a freed operation. */
void trigger_ops_stop(struct stage *st)
{
    struct trigger_stage *ts = st->data;

    if (ts->actx.http)
        http_free(ts->actx.http);
    ts->actx.http = NULL;
    if (ts->nops)
        log_info("ops_dropped", "count=%d effect=\"intents stay on disk; the next start adopts them\"",
                 ts->nops);
    strmap_free(ts->inflight, trigger_ops_free_op);
    strmap_free(ts->per_tracker, NULL);
    ts->inflight = ts->per_tracker = NULL;
    ts->nops = ts->nwait = 0;
}

/* trigger_ops_busy - operations in flight. */
int trigger_ops_busy(const struct stage *st)
{
    const struct trigger_stage *ts = st->data;

    return ts && ts->nops > 0;
}

/* trigger_ops_full - see trigger.h. */
int trigger_ops_full(const struct stage *st)
{
    const struct trigger_stage *ts = st->data;

    return ts && ts->nops - ts->nwait >= TRIGGER_MAX_AT_WORK;
}

/* trigger_ops_inflight - by operation key (a test key, or "cancel:" key). */
int trigger_ops_inflight(const struct stage *st, const char *key)
{
    const struct trigger_stage *ts = st->data;

    return ts && ts->inflight && strmap_has(ts->inflight, key);
}

/* trigger_ops_tracker_busy - operations of one tracker in flight. */
int trigger_ops_tracker_busy(const struct stage *st, const char *name)
{
    const struct trigger_stage *ts = st->data;

    return ts && ts->per_tracker && strmap_get(ts->per_tracker, name) != NULL;
}

/* trigger_ops_spec - copy what an operation needs out of a record entry. */
struct trigger_test_spec *trigger_ops_spec(const struct tracker *t, const char *hop,
                                           const cJSON *test)
{
    struct trigger_test_spec *s = xcalloc(1, sizeof(*s));
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(test, "params");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(test, "run");
    const cJSON *tmo = cJSON_GetObjectItemCaseSensitive(test, "timeoutMs");
    const char *sha = json_str(test, "headSHA", "");
    int64_t at = time_parse_iso(json_str(test, "intentAt", ""));

    s->tracker = xstrdup(t->name);
    s->hop = xstrdup(hop ? hop : json_str(test, "hop", ""));
    s->name = xstrdup(json_str(test, "name", ""));
    s->provider = xstrdup(json_str(test, "provider", ""));
    s->job = xstrdup(json_str(test, "job", ""));
    s->key = xstrdup(json_str(test, "key", ""));
    s->repository = xstrdup(t->repository);
    s->sha = xstrdup(sha[0] ? sha : t->head_sha);
    s->ref = xstrdup(sha[0] ? s->sha : (t->head_ref[0] ? t->head_ref : t->head_sha));
    s->params = cJSON_IsObject(params) ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
    s->timeout_ms = cJSON_IsNumber(tmo) ? (int64_t)tmo->valuedouble : 0;
    s->intent_ms = at > 0 ? at : 0;
    s->run = cJSON_IsObject(run) ? cJSON_Duplicate(run, 1) : NULL;
    return s;
}

/* trigger_ops_spec_free - release a spec. */
void trigger_ops_spec_free(struct trigger_test_spec *s)
{
    if (!s)
        return;
    free(s->tracker);
    free(s->hop);
    free(s->name);
    free(s->provider);
    free(s->job);
    free(s->key);
    free(s->repository);
    free(s->ref);
    free(s->sha);
    cJSON_Delete(s->params);
    cJSON_Delete(s->run);
    free(s);
}

/* trigger_ops_count - add delta to the tracker's count of operations. */
static void trigger_ops_count(struct trigger_stage *ts, const char *name, int delta)
{
    intptr_t n = (intptr_t)strmap_get(ts->per_tracker, name) + delta;

    if (n > 0)
        strmap_put(ts->per_tracker, name, (void *)n);
    else
        strmap_del(ts->per_tracker, name);
}

/* trigger_ops_end - the operation is over: out of the set; when it was the
 * tracker's last one and reprocess is set, its last message runs again (so
 * a hop whose tests all have runs is forwarded without waiting for a resync). */
static void trigger_ops_end(struct trigger_op *op, int reprocess)
{
    struct stage *st = op->st;
    struct trigger_stage *ts = st->data;
    char *name = xstrdup(op->spec->tracker);

    strmap_del(ts->inflight, op->opkey);
    ts->nops--;
    trigger_ops_count(ts, name, -1);
    op->tmr = NULL;
    trigger_ops_free_op(op);
    memtrim_note(st->loop);       /* after a burst, what it used goes back */
    if (reprocess && !trigger_ops_tracker_busy(st, name))
        promo_trigger_reprocess(st, name);
    free(name);
}

/* trigger_ops_timer - a retry or a delayed find is due. */
static void trigger_ops_timer(struct loop *l, void *arg)
{
    struct trigger_op *op = arg;
    struct trigger_stage *ts = op->st->data;

    op->tmr = NULL;
    ts->nwait--;
    trigger_ops_step(op);
}

/* trigger_ops_wait - op waits ms (a retry, a delayed find) before its next
 * step; counted apart from the operations at work (trigger_ops_full). */
static void trigger_ops_wait(struct trigger_op *op, int64_t ms)
{
    struct trigger_stage *ts = op->st->data;

    ts->nwait++;
    op->tmr = loop_after(op->st->loop, ms, trigger_ops_timer, op);
}

/* trigger_ops_retry - ETEMP: again after the CI's Retry-After or a backoff;
 * past TRIGGER_MAX_RETRIES, wait for the next message instead. */
static void trigger_ops_retry(struct trigger_op *op, const struct adapter_result *res, const char *what)
{
    long delay;

    op->attempts++;
    if (op->attempts > TRIGGER_MAX_RETRIES) {
        log_warn("retry_exhausted", "tracker=%s test=%s key=%s op=%s attempts=%d error=%s "
                 "effect=\"left as is; retried at the next message\"", op->spec->tracker,
                 log_q(op->spec->name), op->spec->key, what, op->attempts, log_q(res->errmsg));
        trigger_ops_end(op, 0);
        return;
    }
    delay = res->retry_after_ms > 0 ? (long)res->retry_after_ms
                                     : http_backoff_ms(op->attempts, TRIGGER_BACKOFF_BASE, TRIGGER_BACKOFF_CAP);
    if (op->kind == TOP_TRIGGER)
        op->kind = TOP_ADOPT;       /* the CI may have it: look before triggering again */
    log_warn("retry", "tracker=%s test=%s key=%s op=%s attempt=%d delay_ms=%ld error=%s",
             op->spec->tracker, log_q(op->spec->name), op->spec->key, what, op->attempts, delay,
             log_q(res->errmsg));
    trigger_ops_wait(op, delay);
}

/* trigger_ops_update - load the record, let fn change the entry of op's key
 * (the test, or with superseded set the "superseded" entry), save. fn
 * returns 1 when it changed something. Returns what fn returned, or -1 when
 * the entry is not in the record (or the record cannot be read). */
static int trigger_ops_update(struct trigger_op *op, int superseded,
                              int (*fn)(struct trigger_op *, cJSON *, const struct adapter_result *),
                              const struct adapter_result *res)
{
    struct stage *st = op->st;
    cJSON *rec = NULL, *e;
    int rc;

    rc = trigger_record_load(st, op->spec->tracker, &rec);
    if (rc < 0) {
        if (rc != -ENOENT)
            log_warn("record_read_failed", "tracker=%s error=%s", op->spec->tracker, log_q(strerror(-rc)));
        return -1;
    }
    e = superseded ? trigger_record_find_superseded(rec, op->spec->key)
                   : trigger_record_find_key(rec, op->spec->key, NULL);
    if (!e) {
        cJSON_Delete(rec);
        return -1;
    }
    rc = fn(op, e, res);
    if (rc > 0 && trigger_record_save(st, op->spec->tracker, rec, NULL) < 0)
        rc = -1;
    cJSON_Delete(rec);
    return rc;
}

/* trigger_ops_set_run - phase "triggered" with the run the CI gave. */
static int trigger_ops_set_run(struct trigger_op *op, cJSON *te, const struct adapter_result *res)
{
    char ts[40];

    if (strcmp(json_str(te, "phase", ""), "triggered") == 0)
        return 0;
    time_format_iso(wall_ms(), ts, sizeof(ts));
    cJSON_ReplaceItemInObjectCaseSensitive(te, "phase", cJSON_CreateString("triggered"));
    cJSON_DeleteItemFromObjectCaseSensitive(te, "triggeredAt");
    cJSON_AddStringToObject(te, "triggeredAt", ts);
    cJSON_DeleteItemFromObjectCaseSensitive(te, "run");
    cJSON_AddItemToObject(te, "run", adapter_run_to_json(&res->run));
    cJSON_DeleteItemFromObjectCaseSensitive(te, "error");
    cJSON_AddNullToObject(te, "error");
    return 1;
}

/* trigger_ops_set_error - phase "error" with the CI's reason. */
static int trigger_ops_set_error(struct trigger_op *op, cJSON *te, const struct adapter_result *res)
{
    char ts[40], why[400];

    if (strcmp(json_str(te, "phase", ""), "intent") != 0)
        return 0;
    snprintf(why, sizeof(why), "%s%s", op->kind == TOP_ADOPT ? "unable to look the run up by key: " : "",
             res->errmsg[0] ? res->errmsg : "refused by the CI");
    cJSON_ReplaceItemInObjectCaseSensitive(te, "phase", cJSON_CreateString("error"));
    cJSON_DeleteItemFromObjectCaseSensitive(te, "erroredAt");
    cJSON_AddStringToObject(te, "erroredAt", time_format_iso(wall_ms(), ts, sizeof(ts)));
    cJSON_DeleteItemFromObjectCaseSensitive(te, "error");
    cJSON_AddStringToObject(te, "error", why);
    return 1;
}

/* trigger_ops_set_orphan_run - a run started for a key that was superseded
 * meanwhile: keep it in its "superseded" entry, to be cancelled. */
static int trigger_ops_set_orphan_run(struct trigger_op *op, cJSON *e, const struct adapter_result *res)
{
    cJSON_DeleteItemFromObjectCaseSensitive(e, "run");
    cJSON_AddItemToObject(e, "run", adapter_run_to_json(&res->run));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "cancel", cJSON_CreateString("pending"));
    return 1;
}

/* trigger_ops_set_cancel - the outcome of a cancellation in its entry. */
static int trigger_ops_set_cancel(struct trigger_op *op, cJSON *e, const struct adapter_result *res)
{
    const char *outcome = res->error ? "failed" : res->found ? "cancelled" : "not-found";
    char ts[40];

    cJSON_ReplaceItemInObjectCaseSensitive(e, "cancel", cJSON_CreateString(outcome));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "cancelled", cJSON_CreateBool(!res->error && res->found));
    cJSON_DeleteItemFromObjectCaseSensitive(e, "cancelAt");
    cJSON_AddStringToObject(e, "cancelAt", time_format_iso(wall_ms(), ts, sizeof(ts)));
    if (res->error) {
        cJSON_DeleteItemFromObjectCaseSensitive(e, "cancelError");
        cJSON_AddStringToObject(e, "cancelError", res->errmsg);
    }
    if (op->have_run && !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "run"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(e, "run");
        cJSON_AddItemToObject(e, "run", adapter_run_to_json(&op->run));
    }
    return 1;
}

/* trigger_ops_record_run - persist the run of a trigger or a find. */
static void trigger_ops_record_run(struct trigger_op *op, const struct adapter_result *res,
                                   const char *how)
{
    struct trigger_stage *ts = op->st->data;
    int rc = trigger_ops_update(op, 0, trigger_ops_set_run, res);

    if (rc < 0) {
        /* superseded while in flight: the run belongs to an old SHA */
        rc = trigger_ops_update(op, 1, trigger_ops_set_orphan_run, res);
        log_warn("orphan_run", "tracker=%s test=%s key=%s run=%s url=%s effect=%s", op->spec->tracker,
                 log_q(op->spec->name), op->spec->key, log_q(res->run.id), log_q(res->run.url),
                 rc < 0 ? log_q("not in the record any more; left running")
                        : log_q("superseded meanwhile; to be cancelled"));
        trigger_ops_end(op, 1);
        return;
    }
    if (strcmp(how, "adopted") == 0)
        ts->adopted++;
    else
        ts->triggered++;
    metrics_inc(strcmp(how, "adopted") == 0 ? "promo_adopted_total" : "promo_triggers_total",
                "provider", op->spec->provider);
    log_info(how, "tracker=%s hop=%s test=%s provider=%s key=%s run=%s url=%s status=%s",
             op->spec->tracker, op->spec->hop, log_q(op->spec->name), op->spec->provider,
             op->spec->key, log_q(res->run.id), log_q(res->run.url), run_status_name(res->run.status));
    if (strcmp(how, "triggered") == 0)
        crash_point("trigger.after_persist");
    trigger_ops_end(op, 1);
}

/* trigger_ops_record_error - persist a permanent refusal. */
static void trigger_ops_record_error(struct trigger_op *op, const struct adapter_result *res)
{
    struct trigger_stage *ts = op->st->data;

    ts->errors++;
    metrics_inc("promo_trigger_errors_total", "provider", op->spec->provider);
    log_error("trigger_refused", "tracker=%s hop=%s test=%s provider=%s key=%s op=%s error=%s "
              "effect=\"test failed\"", op->spec->tracker, op->spec->hop, log_q(op->spec->name),
              op->spec->provider, op->spec->key, op->kind == TOP_ADOPT ? "find" : "trigger",
              log_q(res->errmsg));
    trigger_ops_update(op, 0, trigger_ops_set_error, res);
    trigger_ops_end(op, 1);
}

/* trigger_ops_trigger_done - the CI answered a trigger. */
static void trigger_ops_trigger_done(void *arg, const struct adapter_result *res)
{
    struct trigger_op *op = arg;

    crash_point("trigger.after_request");
    if (res->error == ADAPTER_ETEMP)
        trigger_ops_retry(op, res, "trigger");
    else if (res->error)
        trigger_ops_record_error(op, res);
    else
        trigger_ops_record_run(op, res, "triggered");
}

/* trigger_ops_gh_wait - ms to wait before looking again for a young
 * github-actions intent (a dispatched run may not be listed yet), or 0. */
static int64_t trigger_ops_gh_wait(const struct trigger_op *op)
{
    int64_t age;

    if (strcmp(op->spec->provider, "github-actions") != 0 || op->spec->intent_ms <= 0)
        return 0;
    age = wall_ms() - op->spec->intent_ms;
    if (age < 0 || age >= TRIGGER_GH_LIST_MS)
        return 0;
    return TRIGGER_GH_LIST_MS - age < TRIGGER_GH_FIND_MS ? TRIGGER_GH_LIST_MS - age : TRIGGER_GH_FIND_MS;
}

/* trigger_ops_cancel_outcome - persist how a cancellation ended. */
static void trigger_ops_cancel_outcome(struct trigger_op *op, const struct adapter_result *res)
{
    struct trigger_stage *ts = op->st->data;

    if (!res->error && res->found)
        ts->cancelled++;
    log_info("cancel", "tracker=%s hop=%s test=%s provider=%s key=%s run=%s outcome=%s%s%s",
             op->spec->tracker, op->spec->hop, log_q(op->spec->name), op->spec->provider,
             op->spec->key, log_q(op->run.id),
             res->error ? "failed" : res->found ? "cancelled" : "not-found",
             res->error ? " error=" : "", res->error ? log_q(res->errmsg) : "");
    trigger_ops_update(op, 1, trigger_ops_set_cancel, res);
    trigger_ops_end(op, 1);
}

/* trigger_ops_find_done - the CI answered a find by key. */
static void trigger_ops_find_done(void *arg, const struct adapter_result *res)
{
    struct trigger_op *op = arg;
    int64_t wait;

    if (res->error == ADAPTER_ETEMP) {
        trigger_ops_retry(op, res, "find");
        return;
    }
    if (op->kind == TOP_CANCEL) {
        if (res->error || !res->found) {
            if (!res->error && (wait = trigger_ops_gh_wait(op)) > 0) {
                trigger_ops_wait(op, wait);
                return;
            }
            trigger_ops_cancel_outcome(op, res);
            return;
        }
        op->run = res->run;
        op->have_run = 1;
        trigger_ops_step(op);
        return;
    }
    if (res->error) {
        trigger_ops_record_error(op, res);
        return;
    }
    if (res->found) {
        trigger_ops_record_run(op, res, "adopted");
        return;
    }
    wait = trigger_ops_gh_wait(op);
    if (wait > 0) {
        log_debug("find_again", "tracker=%s test=%s key=%s delay_ms=%lld reason=%s", op->spec->tracker,
                  log_q(op->spec->name), op->spec->key, (long long)wait,
                  log_q("a dispatched GitHub run can take seconds to be listed"));
        trigger_ops_wait(op, wait);
        return;
    }
    log_info("not_found", "tracker=%s test=%s key=%s effect=trigger", op->spec->tracker,
             log_q(op->spec->name), op->spec->key);
    op->kind = TOP_TRIGGER;
    trigger_ops_step(op);
}

/* trigger_ops_cancel_done - the CI answered a cancel. */
static void trigger_ops_cancel_done(void *arg, const struct adapter_result *res)
{
    struct trigger_op *op = arg;
    struct adapter_result r;

    if (res->error == ADAPTER_ETEMP) {
        trigger_ops_retry(op, res, "cancel");
        return;
    }
    r = *res;
    r.found = 1;               /* there was a run to cancel */
    trigger_ops_cancel_outcome(op, &r);
}

/* trigger_ops_no_adapter - deliver "no adapter" as a permanent error, from the loop. */
static void trigger_ops_no_adapter(struct loop *l, void *arg)
{
    struct trigger_op *op = arg;
    struct adapter_result res;

    op->tmr = NULL;
    memset(&res, 0, sizeof(res));
    res.error = ADAPTER_EPERM;
    res.rate_remaining = -1;
    snprintf(res.errmsg, sizeof(res.errmsg), "no adapter for provider \"%s\"", op->spec->provider);
    if (op->kind == TOP_CANCEL)
        trigger_ops_cancel_outcome(op, &res);
    else
        trigger_ops_record_error(op, &res);
}

/* trigger_ops_step - start the adapter call the operation needs now. */
static void trigger_ops_step(struct trigger_op *op)
{
    struct trigger_stage *ts = op->st->data;

    switch (op->kind) {
    case TOP_TRIGGER:
        crash_point("trigger.before_request");
        log_debug("request", "tracker=%s test=%s key=%s", op->spec->tracker, log_q(op->spec->name),
                  op->spec->key);
        op->ad->trigger(&ts->actx, &op->test, trigger_ops_trigger_done, op);
        break;
    case TOP_ADOPT:
        op->ad->find(&ts->actx, &op->test, trigger_ops_find_done, op);
        break;
    case TOP_CANCEL:
        if (op->have_run)
            op->ad->cancel(&ts->actx, &op->test, &op->run, trigger_ops_cancel_done, op);
        else
            op->ad->find(&ts->actx, &op->test, trigger_ops_find_done, op);
        break;
    }
}

/* trigger_ops_begin - start an operation unless its key is in flight. */
int trigger_ops_begin(struct stage *st, enum trigger_op_kind kind, struct trigger_test_spec *spec)
{
    struct trigger_stage *ts = st->data;
    struct trigger_op *op;
    char opkey[64];

    snprintf(opkey, sizeof(opkey), "%s%s", kind == TOP_CANCEL ? "cancel:" : "", spec->key);
    if (strmap_has(ts->inflight, opkey)) {
        trigger_ops_spec_free(spec);
        return 0;
    }
    op = xcalloc(1, sizeof(*op));
    op->st = st;
    op->kind = kind;
    op->spec = spec;
    str_copy(op->opkey, opkey, sizeof(op->opkey));
    op->ad = adapter_find(spec->provider);
    op->test.tracker = spec->tracker;
    op->test.name = spec->name;
    op->test.provider = spec->provider;
    op->test.job = spec->job;
    op->test.params = spec->params;
    op->test.key = spec->key;
    op->test.repository = spec->repository;
    op->test.ref = spec->ref;
    op->test.sha = spec->sha;
    op->test.timeout_ms = spec->timeout_ms;
    if (spec->run && adapter_run_from_json(spec->run, &op->run) == 0 && op->run.id[0])
        op->have_run = 1;
    strmap_put(ts->inflight, opkey, op);
    ts->nops++;
    trigger_ops_count(ts, spec->tracker, +1);
    if (!op->ad) {
        op->tmr = loop_after(st->loop, 0, trigger_ops_no_adapter, op);
        return -1;
    }
    trigger_ops_step(op);
    return 1;
}
