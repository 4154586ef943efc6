/* promo_trigger.c - promo-trigger: starts the promotion tests of each tracker in its CI
 * systems, exactly once per (head SHA, hop), and tells the monitor where they run.
 *
 *   promo-policy ──tracker + "policy"──▶ promo-trigger ──tracker + "policy" + "runs"──▶ promo-monitor
 *
 * For each "tracker" message: the tracker is re-read from the state dir (a
 * message whose generation or head SHA differs is stale and dropped), its
 * effective environment and state taken from domain/view.h (one not synced or
 * testing in the policy's source environment starts nothing; one awaiting
 * approval, promoting or failed there is only forwarded with its runs), the
 * attached policy decoded, and the trigger record (trigger_record.c) brought
 * up to date: superseded when it belongs to an older generation or SHA, each
 * new test planned (key, substituted parameters) and persisted as an intent
 * before any CI is asked; a failed test for which `promoctl retry` asked
 * attempt N (approvals record, hops[SOURCE].retry) is planned again with
 * attempt N and a new key, the old one moving to "superseded". Then every intent without an operation in flight
 * is triggered, or adopted by key when it was found on disk (trigger_ops.c).
 * When every test of the hop has a run or an error, the message goes on with
 * "runs" (docs/protocol.md) - every time it arrives: level-triggered.
 * --dry-run prints, for each test that would be triggered, one JSON line on
 * stdout and does nothing else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/memtrim.h"
#include "util/util.h"
#include "domain/view.h"
#include "trigger/trigger.h"
#include "util/json.h"

static struct trigger_stage promo_trigger_state;

/* promo_trigger_policy - decode the attached policy into p. Returns 0, or -1
 * (logged) when there is none or it is invalid. */
static int promo_trigger_policy(const cJSON *msg, const struct tracker *t, struct policy *p)
{
    const cJSON *doc = cJSON_GetObjectItemCaseSensitive(msg, "policy");
    struct policy_diag d;
    int rc;

    memset(&d, 0, sizeof(d));
    if (!cJSON_IsObject(doc)) {
        log_warn("no_policy", "tracker=%s reason=%s effect=dropped", t->name,
                 log_q("tracker message without \"policy\" (promo-policy attaches it)"));
        return -1;
    }
    rc = policy_decode(doc, NULL, "message.policy", p, &d);
    if (rc < 0)
        log_error("policy_invalid", "tracker=%s errors=%d first=%s effect=dropped", t->name, d.nerrors,
                  log_q(d.n > 0 ? d.msg[0].text : "unknown"));
    policy_diag_free(&d);
    return rc;
}

/* promo_trigger_dry_run - one line per test that would be triggered: those
 * of the hop without a run in the current record (every test when none). */
static void promo_trigger_dry_run(struct stage *st, const struct tracker *t, const struct policy *p)
{
    cJSON *rec = NULL, *hop = NULL;
    int i;

    if (trigger_record_load(st, t->name, &rec) == 0 && trigger_record_current(rec, t))
        hop = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "hops"), p->source);
    for (i = 0; i < p->ntests; i++) {
        const cJSON *have = trigger_record_test(hop, p->tests[i].name);
        cJSON *e, *line;
        char *s;

        if (have && strcmp(json_str(have, "phase", ""), "intent") != 0)
            continue;
        e = trigger_record_plan_test(t, p, &p->tests[i], 1);
        line = cJSON_CreateObject();
        cJSON_AddBoolToObject(line, "dryRun", 1);
        cJSON_AddStringToObject(line, "tracker", t->name);
        cJSON_AddStringToObject(line, "hop", p->source);
        cJSON_AddStringToObject(line, "target", p->target);
        cJSON_AddStringToObject(line, "test", p->tests[i].name);
        cJSON_AddStringToObject(line, "provider", json_str(e, "provider", ""));
        cJSON_AddStringToObject(line, "job", json_str(e, "job", ""));
        cJSON_AddStringToObject(line, "key", json_str(e, "key", ""));
        cJSON_AddItemToObject(line, "params", cJSON_DetachItemFromObjectCaseSensitive(e, "params"));
        cJSON_AddStringToObject(line, "action", have ? "adopt" : "trigger");
        if (strcmp(json_str(e, "phase", ""), "error") == 0)
            cJSON_AddStringToObject(line, "error", json_str(e, "error", ""));
        s = cJSON_PrintUnformatted(line);
        if (s)
            printf("%s\n", s);
        free(s);
        cJSON_Delete(line);
        cJSON_Delete(e);
    }
    fflush(stdout);
    cJSON_Delete(rec);
}

/* promo_trigger_forward - the message, with the tracker from disk and the
 * hop's tests as "runs", to the monitor. */
static void promo_trigger_forward(struct stage *st, const cJSON *msg, const cJSON *doc,
                                  const struct tracker *t, const cJSON *hop)
{
    struct trigger_stage *ts = st->data;
    cJSON *out = stage_forward(st, msg);

    stage_msg_set(out, "generation", cJSON_CreateNumber((double)t->generation));
    stage_msg_set(out, "tracker", cJSON_Duplicate(doc, 1));
    stage_msg_set(out, "runs", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(hop, "tests"), 1));
    if (stage_send(st, t->name, out) > 0) {
        ts->forwarded++;
        log_debug("forward", "tracker=%s gen=%lld hop=%s tests=%d", t->name, (long long)t->generation,
                  hop->string, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(hop, "tests")));
    }
}

/* promo_trigger_start_ops - an operation for every intent of hop and every
 * pending cancellation of rec that has none in flight. fresh[0..nfresh) are
 * the tests planned by this call (triggered directly; other intents were
 * found on disk and are adopted by key first). */
static void promo_trigger_start_ops(struct stage *st, const struct tracker *t, const cJSON *rec,
                                    const cJSON *hop, cJSON *const *fresh, int nfresh)
{
    const cJSON *te, *e;
    int i;

    cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(hop, "tests")) {
        enum trigger_op_kind kind = TOP_ADOPT;
        const char *key = json_str(te, "key", "");

        if (strcmp(json_str(te, "phase", ""), "intent") != 0 || trigger_ops_inflight(st, key))
            continue;
        for (i = 0; i < nfresh; i++)
            if (fresh[i] == te)
                kind = TOP_TRIGGER;
        if (kind == TOP_ADOPT)
            log_info("adopt", "tracker=%s hop=%s test=%s key=%s intent_at=%s", t->name, hop->string,
                     log_q(json_str(te, "name", "")), key, json_str(te, "intentAt", ""));
        trigger_ops_begin(st, kind, trigger_ops_spec(t, hop->string, te));
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "superseded")) {
        const char *key = json_str(e, "key", "");
        char ckey[64];

        snprintf(ckey, sizeof(ckey), "cancel:%s", key);
        if (strcmp(json_str(e, "cancel", ""), "pending") != 0 || !key[0] ||
            trigger_ops_inflight(st, key) || trigger_ops_inflight(st, ckey))
            continue;
        trigger_ops_begin(st, TOP_CANCEL, trigger_ops_spec(t, NULL, e));
    }
}

/* promo_trigger_retry_attempt - the attempt `promoctl retry` asked for in
 * hop source of t (approvals record, same generation and head SHA), or 0. */
static int promo_trigger_retry_attempt(struct stage *st, const struct tracker *t, const char *source)
{
    struct rec_approvals appr;
    const struct rec_approval *h;
    char err[256];
    int attempt = 0;

    if (rec_approvals_load(st->store, t->name, t, &appr, err, sizeof(err)) == 0 &&
        (h = rec_approvals_hop(&appr, source)) != NULL && h->retry_attempt >= 1 && h->retry_attempt < 1000)
        attempt = (int)h->retry_attempt;
    rec_approvals_free(&appr);
    return attempt;
}

/* promo_trigger_failed - 1 when test te of hop source has failed for good:
 * phase error, or a final status other than passed in the monitor record
 * (mon, of this generation; NULL when none) for the same key. */
static int promo_trigger_failed(const struct rec_monitor *mon, const char *source, const cJSON *te)
{
    const struct rec_monitor_test *m = mon ? rec_monitor_hop_test(rec_monitor_hop(mon, source),
                                                                  json_str(te, "name", "")) : NULL;
    const char *st = m ? m->status : "";

    if (strcmp(json_str(te, "phase", ""), trig_phase_name(TP_ERROR)) == 0)
        return 1;
    if (strcmp(m ? m->key : "", json_str(te, "key", "")) != 0)
        return 0;
    return !strcmp(st, "failed") || !strcmp(st, "timed-out") || !strcmp(st, "cancelled") || !strcmp(st, "error");
}

/* promo_trigger_retry - replace, for `promoctl retry` attempt n, each test
 * of hop that failed for good in an earlier attempt by a new intent of
 * attempt n (a new key); the old one moves to "superseded" (finished, so
 * nothing is cancelled). The new intents are added to fresh. */
static void promo_trigger_retry(struct stage *st, const struct tracker *t, const struct policy *p, cJSON *rec,
                                cJSON *hop, int n, cJSON **fresh, int *nfresh)
{
    cJSON *tests = cJSON_GetObjectItemCaseSensitive(hop, "tests"), *te;
    struct rec_monitor mrec;
    const struct rec_monitor *mon;
    char err[256];
    int i, idx = 0;

    if (n < 2)
        return;
    mon = rec_monitor_load(st->store, t->name, t, &mrec, err, sizeof(err)) == 0 ? &mrec : NULL;
    for (te = tests ? tests->child : NULL; te; idx++) {
        cJSON *next = te->next, *old, *e;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(te, "attempt");
        const struct policy_test *pt = NULL;
        static const char *const keep[] = { "name", "provider", "job", "key", "params", "attempt", "run" };
        size_t k;

        for (i = 0; i < p->ntests; i++)
            if (strcmp(p->tests[i].name, json_str(te, "name", "")) == 0)
                pt = &p->tests[i];
        if (!pt || (cJSON_IsNumber(a) ? (int)a->valuedouble : 1) >= n || !promo_trigger_failed(mon, p->source, te) ||
            *nfresh >= POLICY_MAX_TESTS) {
            te = next;
            continue;
        }
        e = trigger_record_plan_test(t, p, pt, n);
        old = cJSON_DetachItemViaPointer(tests, te);
        cJSON_InsertItemInArray(tests, idx, e);
        if (strcmp(json_str(e, "phase", ""), "intent") == 0)
            fresh[(*nfresh)++] = e;
        log_info("retry", "tracker=%s hop=%s test=%s attempt=%d old_key=%s key=%s", t->name, p->source,
                 log_q(pt->name), n, json_str(old, "key", ""), json_str(e, "key", ""));
        {
            cJSON *sup = cJSON_CreateObject();
            cJSON_AddNumberToObject(sup, "generation", (double)t->generation);
            cJSON_AddStringToObject(sup, "headSHA", t->head_sha);
            cJSON_AddStringToObject(sup, "hop", p->source);
            for (k = 0; k < ARRAY_LEN(keep); k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(old, keep[k]);
                if (v)
                    cJSON_AddItemToObject(sup, keep[k], cJSON_Duplicate(v, 1));
            }
            if (!cJSON_GetObjectItemCaseSensitive(sup, "run"))
                cJSON_AddNullToObject(sup, "run");
            cJSON_AddBoolToObject(sup, "cancelled", 0);
            cJSON_AddStringToObject(sup, "cancel", "finished");
            cJSON_AddStringToObject(sup, "supersededBy", "retry");
            trigger_record_add_superseded(rec, sup);
        }
        cJSON_Delete(old);
        te = next;
    }
    rec_monitor_free(&mrec);
}

/* promo_trigger_was_quarantined - 1 when quarantine/ holds a trigger record
 * of name: another reader (the monitor, a view) found it corrupt before this
 * stage did, so runs may exist for the intents about to be planned again;
 * they are looked up by key before anything is triggered. */
static int promo_trigger_was_quarantined(struct stage *st, const char *name)
{
    char **names, prefix[300];
    int n, i, found = 0;
    size_t len;

    snprintf(prefix, sizeof(prefix), "%s.%s.", TRIGGER_AREA, name);
    len = strlen(prefix);
    n = store_list(st->store, "quarantine", &names);
    if (n < 0)
        return 1;       /* cannot tell: look up first, it only costs a request */
    for (i = 0; i < n && !found; i++)
        found = strncmp(names[i], prefix, len) == 0;
    store_list_free(names);
    return found;
}

/* promo_trigger_process - one tracker message, start to end. */
static void promo_trigger_process(struct stage *st, const cJSON *msg)
{
    struct trigger_stage *ts = st->data;
    cJSON *doc, *rec = NULL, *old = NULL, *hop, *fresh[POLICY_MAX_TESTS];
    struct tracker t;
    struct policy p;
    int rc, i, nfresh = 0, quarantined, fresh_ok, handled = 0;

    doc = stage_tracker(st, msg, &t, 0);
    if (!doc)
        return;
    if (promo_trigger_policy(msg, &t, &p) < 0) {
        cJSON_Delete(doc);
        return;
    }
    /* where the chain has taken it, and its effective state there
     * (domain/view.h): the tracker document stays at its first environment */
    if (st->store)
        view_apply(st->store, &t, doc, NULL);
    /* new tests start only when synced or testing; a hop further on
     * (awaiting approval, promoting, failed) is still forwarded, so the
     * monitor hands its aggregate to the promoter again at every resync */
    if (strcmp(t.status_env, p.source) != 0 ||
        (t.state != TS_SYNCED && t.state != TS_TESTING && t.state != TS_AWAITING_APPROVAL &&
         t.state != TS_PROMOTING && t.state != TS_FAILED)) {
        log_info("not_pending", "tracker=%s env=%s state=%s policy_source=%s effect=dropped", t.name,
                 t.status_env, tracker_state_name(t.state), p.source);
        handled = 1;
        goto out;
    }
    fresh_ok = t.state == TS_SYNCED || t.state == TS_TESTING;
    if (st->dry_run) {
        if (!fresh_ok)
            goto out;
        promo_trigger_dry_run(st, &t, &p);
        goto out;
    }
    rc = trigger_record_load(st, t.name, &rec);
    quarantined = rc == -EBADMSG || (rc == -ENOENT && promo_trigger_was_quarantined(st, t.name));
    if (rc < 0 && rc != -ENOENT && rc != -EBADMSG) {
        log_warn("record_read_failed", "tracker=%s error=%s effect=\"retried at the next message\"",
                 t.name, log_q(strerror(-rc)));
        goto out;
    }
    if (!fresh_ok) {
        /* nothing new to start: forward the hop as recorded */
        hop = rec && trigger_record_current(rec, &t) ?
              cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "hops"), p.source) : NULL;
        handled = 1;
        if (cJSON_IsObject(hop) && trigger_record_hop_ready(hop))
            promo_trigger_forward(st, msg, doc, &t, hop);
        else
            log_info("not_pending", "tracker=%s env=%s state=%s effect=%s", t.name, t.status_env,
                     tracker_state_name(t.state), log_q("no tests recorded for the hop: nothing to forward"));
        goto out;
    }
    if (rec) {
        old = cJSON_Duplicate(rec, 1);
        if (!trigger_record_current(rec, &t))
            rec = trigger_record_supersede(st, rec, &t);
    } else {
        rec = trigger_record_new(&t);
    }
    hop = trigger_record_hop(rec, &p);
    promo_trigger_retry(st, &t, &p, rec, hop, promo_trigger_retry_attempt(st, &t, p.source), fresh, &nfresh);
    for (i = 0; i < p.ntests; i++) {
        cJSON *e;

        if (trigger_record_test(hop, p.tests[i].name))
            continue;
        e = trigger_record_plan_test(&t, &p, &p.tests[i], 1);
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(hop, "tests"), e);
        if (strcmp(json_str(e, "phase", ""), "intent") == 0)
            fresh[nfresh++] = e;
        else
            log_error("subst_failed", "tracker=%s hop=%s test=%s error=%s effect=\"test failed\"", t.name,
                      p.source, log_q(p.tests[i].name), log_q(json_str(e, "error", "")));
    }
    if (nfresh)
        crash_point("trigger.before_intent");
    rc = trigger_record_save(st, t.name, rec, old);
    if (rc < 0)
        goto out;           /* no intent on disk: no side effect */
    if (rc > 0)
        log_info("record", "tracker=%s gen=%lld hop=%s intents=%d", t.name, (long long)t.generation,
                 p.source, nfresh);
    if (nfresh)
        crash_point("trigger.after_intent");
    promo_trigger_start_ops(st, &t, rec, hop, fresh, quarantined ? 0 : nfresh);
    if (trigger_record_hop_ready(hop))
        promo_trigger_forward(st, msg, doc, &t, hop);
    if (trigger_ops_tracker_busy(st, t.name)) {
        free(strmap_put(ts->pending, t.name, cJSON_PrintUnformatted(msg)));
    } else {
        free(strmap_del(ts->pending, t.name));
        handled = nfresh == 0;
    }
out:
    if (handled)
        stage_memo(st, t.name, t.generation);     /* nothing in flight: a resync has nothing to add */
    cJSON_Delete(old);
    cJSON_Delete(rec);
    cJSON_Delete(doc);
    policy_free(&p);
}

/* promo_trigger_reprocess - the last message of a tracker whose operations ended. */
void promo_trigger_reprocess(struct stage *st, const char *name)
{
    struct trigger_stage *ts = st->data;
    char *text = strmap_del(ts->pending, name);
    cJSON *msg = text ? cJSON_Parse(text) : NULL;

    free(text);
    if (!msg)
        return;
    promo_trigger_process(st, msg);
    cJSON_Delete(msg);
}

/* promo_trigger_message - the handler: only "tracker" messages are for this stage. */
static void promo_trigger_message(struct stage *st, cJSON *msg)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");

    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "tracker") != 0)
        return;
    promo_trigger_process(st, msg);
    memtrim_note(st->loop);
}

/* promo_trigger_paused - no input while too many operations are at work. */
static int promo_trigger_paused(struct stage *st)
{
    return trigger_ops_full(st);
}

/* promo_trigger_start - the adapters' context; a store is needed unless --dry-run. */
static int promo_trigger_start(struct stage *st)
{
    st->data = &promo_trigger_state;
    if (!st->store && !st->dry_run) {
        log_error("no_state_dir", "dir=%s reason=%s", log_q(st->cfg.state_dir),
                  log_q("intents must be persisted before any CI is asked"));
        return EXIT_TEMP;
    }
    promo_trigger_state.pending = strmap_new();
    trigger_ops_init(st);
    return 0;
}

/* promo_trigger_busy - operations in flight keep --once and stdin EOF waiting. */
static int promo_trigger_busy(struct stage *st)
{
    return trigger_ops_busy(st);
}


/* promo_trigger_stop - counters, then release everything. */
static void promo_trigger_stop(struct stage *st)
{
    struct trigger_stage *ts = st->data;

    if (!ts)
        return;
    log_info("stats", "triggered=%llu adopted=%llu errors=%llu cancelled=%llu forwarded=%llu stale=%llu",
             (unsigned long long)ts->triggered, (unsigned long long)ts->adopted,
             (unsigned long long)ts->errors, (unsigned long long)ts->cancelled,
             (unsigned long long)ts->forwarded, (unsigned long long)st->msgs_stale);
    if (ts->inflight)
        trigger_ops_stop(st);
    strmap_free(ts->pending, free);
    ts->pending = NULL;
    st->data = NULL;
}

int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-trigger",
        .summary = "start each tracker's promotion tests in CI, exactly once, and tell promo-monitor",
        .in_default = "trigger.sock",
        .out_default = "monitor.sock",
        .extra_usage =
            "      with --dry-run: print one JSON line per test that would be triggered\n"
            "                      (tracker, test, provider, job, key, params); nothing is\n"
            "                      written, triggered or forwarded\n",
        .start = promo_trigger_start,
        .message = promo_trigger_message,
        .busy = promo_trigger_busy,
        .paused = promo_trigger_paused,
        .stop = promo_trigger_stop,
    };

    return stage_main(argc, argv, &ops);
}
