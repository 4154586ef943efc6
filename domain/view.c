/* view.c - a tracker's effective state from its records (see view.h).
 *
 * Read-only: it never writes, so promoctl can call it while every stage is
 * down, and promo-watcher on every resync. A record that belongs to another
 * generation or head SHA is ignored, as is one that cannot be read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "domain/rec_approvals.h"
#include "domain/rec_monitor.h"
#include "domain/rec_policy.h"
#include "domain/rec_promoter.h"
#include "domain/rec_trigger.h"
#include "domain/rec_watcher.h"
#include "domain/view.h"
#include "util/log.h"

/* The records of one tracker's current generation and head SHA, decoded
 * (domain/rec_*.h); has_X is 0 when X is absent, unreadable, invalid or
 * about another commit. */
struct view_recs {
    struct rec_policy pol;
    struct rec_trigger trig;
    struct rec_monitor mon;
    struct rec_promoter prom;
    struct rec_approvals appr;
    struct rec_watcher wat;
    int has_pol, has_trig, has_mon, has_prom, has_appr, has_wat;
};

/* view_read - area/NAME as JSON (borrowed, store_read_borrow: decoded at
 * once), or NULL when it cannot be read; *owned is what the caller frees. */
static const cJSON *view_read(struct store *s, const char *area, const char *name, cJSON **owned)
{
    const cJSON *r = NULL;
    char why[160];

    return store_read_borrow(s, area, name, NULL, NULL, &r, owned, why, sizeof(why)) < 0 ? NULL : r;
}

/* view_valid - log why a record is not used (rc < 0), and say whether it is
 * about t's generation and head SHA. */
static int view_valid(int rc, const char *area, const struct tracker *t, int64_t gen, const char *sha,
                      const char *err)
{
    if (rc < 0) {
        log_debug("record_invalid", "area=%s tracker=%s error=%s effect=%s", area, t->name, log_q(err),
                  log_q("ignored by the view"));
        return 0;
    }
    return rec_current(gen, sha, t->generation, t->head_sha);
}

/* view_outcome_text - one line for a PromotionRecord. */
void view_outcome_text(const struct rec_promotion *e, char *buf, size_t len)
{
    switch (e->kind) {
    case PO_PROMOTED:
        snprintf(buf, len, "promoted");
        break;
    case PO_FAILED:
        snprintf(buf, len, "failed: %s", e->error[0] ? e->error : e->failure);
        break;
    case PO_SUPERSEDED:
        if (e->superseded_by_gen > 0)
            snprintf(buf, len, "superseded by %.7s (generation %lld)", e->superseded_by_sha,
                     (long long)e->superseded_by_gen);
        else
            snprintf(buf, len, "superseded by %.7s", e->superseded_by_sha);
        break;
    default:
        snprintf(buf, len, "aborted%s%s", e->error[0] ? ": " : "", e->error);
        break;
    }
}

/* view_outcomes - the history of the promoter record p (any generation)
 * into v: its last VIEW_MAX_OUTCOMES records. */
static void view_outcomes(struct view *v, const struct rec_promoter *p)
{
    int i = p->npromotions > VIEW_MAX_OUTCOMES ? p->npromotions - VIEW_MAX_OUTCOMES : 0;

    v->outcomes_total = p->npromotions;
    for (v->noutcomes = 0; i < p->npromotions; i++) {
        const struct rec_promotion *e = &p->promotions[i];
        struct view_outcome *o = &v->outcomes[v->noutcomes++];

        str_copy(o->outcome, prom_outcome_name(e->kind), sizeof(o->outcome));
        str_copy(o->source, e->source, sizeof(o->source));
        str_copy(o->target, e->target, sizeof(o->target));
        str_copy(o->head_sha, e->head_sha, sizeof(o->head_sha));
        o->generation = e->generation;
        str_copy(o->at, e->promoted_at[0] ? e->promoted_at : e->recorded_at, sizeof(o->at));
        str_copy(o->by, e->promoted_by[0] ? e->promoted_by : e->recorded_by, sizeof(o->by));
        str_copy(o->key, e->key, sizeof(o->key));
        view_outcome_text(e, o->text, sizeof(o->text));
    }
}

/* view_records - decode the stages' records of t into r (and the promoter
 * record's history, whatever its generation, into v). */
static void view_records(struct store *s, const struct tracker *t, struct view_recs *r, struct view *v)
{
    char err[256];
    const cJSON *o;
    cJSON *owned = NULL;

    memset(r, 0, sizeof(*r));
#define VIEW_LOAD(area, field, decode, freef)                                                           \
    if ((o = view_read(s, area, t->name, &owned)) != NULL) {                                          \
        int rc_ = decode(o, t->name, &r->field, err, sizeof(err));                                    \
        r->has_##field = view_valid(rc_, area, t, r->field.generation, r->field.head_sha, err);       \
        if (!r->has_##field)                                                                          \
            freef(&r->field);                                                                         \
        cJSON_Delete(owned);                                                                          \
    }
    VIEW_LOAD("policy", pol, rec_policy_decode, rec_policy_free)
    VIEW_LOAD("trigger", trig, rec_trigger_decode, rec_trigger_free)
    VIEW_LOAD("monitor", mon, rec_monitor_decode, rec_monitor_free)
    if ((o = view_read(s, "promoter", t->name, &owned)) != NULL) {
        int rc_ = rec_promoter_decode(o, t->name, &r->prom, err, sizeof(err));
        if (rc_ == 0)
            view_outcomes(v, &r->prom);
        r->has_prom = view_valid(rc_, "promoter", t, r->prom.generation, r->prom.head_sha, err);
        if (!r->has_prom)
            rec_promoter_free(&r->prom);
        cJSON_Delete(owned);
    }
    VIEW_LOAD("approvals", appr, rec_approvals_decode, rec_approvals_free)
    VIEW_LOAD("watcher", wat, rec_watcher_decode, rec_watcher_free)
#undef VIEW_LOAD
}

/* view_records_free - release what view_records decoded. */
static void view_records_free(struct view_recs *r)
{
    rec_policy_free(&r->pol);
    rec_trigger_free(&r->trig);
    rec_monitor_free(&r->mon);
    rec_promoter_free(&r->prom);
    rec_approvals_free(&r->appr);
    rec_watcher_free(&r->wat);
}

/* The hop from env of each record, NULL when the record or the hop is absent. */
#define VIEW_THOP(r, env) ((r)->has_trig ? rec_trigger_hop(&(r)->trig, env) : NULL)
#define VIEW_MHOP(r, env) ((r)->has_mon ? rec_monitor_hop(&(r)->mon, env) : NULL)
#define VIEW_PHOP(r, env) ((r)->has_prom ? rec_promoter_hop(&(r)->prom, env) : NULL)
#define VIEW_AHOP(r, env) ((r)->has_appr ? rec_approvals_hop(&(r)->appr, env) : NULL)

/* view_test_row - the row of name in tests[0..*n), added when absent (NULL
 * when max rows are taken). */
static struct view_test *view_test_row(struct view_test *tests, int *n, int max, const char *name)
{
    int i;

    for (i = 0; i < *n; i++)
        if (strcmp(tests[i].name, name) == 0)
            return &tests[i];
    if (*n >= max)
        return NULL;
    memset(&tests[*n], 0, sizeof(tests[0]));
    str_copy(tests[*n].name, name, sizeof(tests[0].name));
    tests[*n].required = 1;
    tests[*n].attempt = 1;
    str_copy(tests[*n].status, "unknown", sizeof(tests[0].status));
    return &tests[(*n)++];
}

/* view_tests_from_trigger - rows from the trigger record's hop (may be NULL). */
static void view_tests_from_trigger(struct view_test *tests, int *n, int max, const struct rec_trigger_hop *hop)
{
    int i;

    for (i = 0; hop && i < hop->ntests; i++) {
        const struct rec_trigger_test *te = &hop->tests[i];
        struct view_test *r = view_test_row(tests, n, max, te->name);

        if (!r)
            break;
        str_copy(r->provider, te->provider, sizeof(r->provider));
        str_copy(r->key, te->key, sizeof(r->key));
        r->required = te->required;
        r->attempt = (int)te->attempt;
        if (te->phase == TP_INTENT) {
            str_copy(r->status, "starting", sizeof(r->status));
        } else if (te->phase == TP_ERROR) {
            str_copy(r->status, "error", sizeof(r->status));
            str_copy(r->detail, te->error, sizeof(r->detail));
        } else if (te->run.present) {
            str_copy(r->status, te->run.status[0] ? te->run.status : "queued", sizeof(r->status));
            str_copy(r->url, te->run.url, sizeof(r->url));
            str_copy(r->run_id, te->run.id, sizeof(r->run_id));
        }
        str_copy(r->started_at, te->triggered_at, sizeof(r->started_at));
    }
}

/* view_tests_from_monitor - what the monitor knows overrides the trigger's
 * first word (except an error: the monitor never had a run to poll), for
 * the same attempt only: a monitor entry with another key is about a
 * superseded attempt and is ignored. hop may be NULL. */
static void view_tests_from_monitor(struct view_test *tests, int *n, int max, const struct rec_monitor_hop *hop)
{
    int i;

    for (i = 0; hop && i < hop->ntests; i++) {
        const struct rec_monitor_test *te = &hop->tests[i];
        struct view_test *r = view_test_row(tests, n, max, te->name);

        if (!r)
            break;
        if (r->key[0] && te->key[0] && strcmp(r->key, te->key) != 0)
            continue;
        if (!r->key[0])
            str_copy(r->key, te->key, sizeof(r->key));
        if (te->status[0] && strcmp(r->status, "error") != 0)
            str_copy(r->status, te->status, sizeof(r->status));
        if (te->url[0])
            str_copy(r->url, te->url, sizeof(r->url));
        if (te->deadline[0])
            str_copy(r->deadline, te->deadline, sizeof(r->deadline));
        if (te->detail[0] && strcmp(r->status, "error") != 0)
            str_copy(r->detail, te->detail, sizeof(r->detail));
        if (te->duration_ms >= 0)
            r->duration_ms = te->duration_ms;
        if (te->run_id[0])
            str_copy(r->run_id, te->run_id, sizeof(r->run_id));
        if (te->finished_at[0])
            str_copy(r->completed_at, te->finished_at, sizeof(r->completed_at));
    }
}

/* view_final - a status that will not change. */
static int view_final(const char *st)
{
    return !strcmp(st, "passed") || !strcmp(st, "failed") || !strcmp(st, "cancelled") ||
           !strcmp(st, "timed-out") || !strcmp(st, "error");
}

/* view_test_failed - a final status that is not a pass. */
static int view_test_failed(const char *st)
{
    return view_final(st) && strcmp(st, "passed") != 0;
}

/* view_wait_tests - "test X (provider) at URL, deadline D" for the first
 * test not final (required ones first), and how many more wait. */
static void view_wait_tests(struct view *v)
{
    const struct view_test *first = NULL;
    int pass, i, n = 0;

    for (pass = 0; pass < 2; pass++)
        for (i = 0; i < v->ntests; i++) {
            const struct view_test *r = &v->tests[i];
            if (view_final(r->status) || r->required != !pass)
                continue;
            n++;
            if (!first)
                first = r;
        }
    if (!first) {
        snprintf(v->waiting, sizeof(v->waiting), "promo-monitor to decide the tests in %s", v->environment);
        return;
    }
    snprintf(v->waiting, sizeof(v->waiting), "%stest %s (%s%s%s)%s%s%s%s",
             first->required ? "" : "optional ", first->name, first->provider,
             strcmp(first->status, "starting") == 0 ? ", being triggered" : ", ",
             strcmp(first->status, "starting") == 0 ? "" : first->status,
             first->url[0] ? " at " : "", first->url,
             first->deadline[0] ? ", deadline " : "", first->deadline);
    if (n > 1) {
        size_t l = strlen(v->waiting);
        snprintf(v->waiting + l, sizeof(v->waiting) - l, " and %d more", n - 1);
    }
}

/* view_promotion - what the promoter recorded of a done promotion from env:
 * its promotions[] entry (outcome Promoted, same head SHA) or, when the
 * record has none yet, its hop in phase done. Fills target (and, when
 * known, when and by whom). Returns 1 when there is one, else 0. */
static int view_promotion(const struct view_recs *r, const char *env, const char *sha, struct view_hop *h)
{
    const struct rec_promoter_hop *hop = VIEW_PHOP(r, env);
    int i;

    for (i = 0; r->has_prom && i < r->prom.npromotions; i++) {
        const struct rec_promotion *p = &r->prom.promotions[i];

        if (strcmp(p->source, env) != 0 || !p->target[0] ||
            (p->outcome[0] && strcmp(p->outcome, "Promoted") != 0) ||
            (p->head_sha[0] && strcasecmp(p->head_sha, sha) != 0))
            continue;
        str_copy(h->target, p->target, sizeof(h->target));
        str_copy(h->promoted_at, p->promoted_at, sizeof(h->promoted_at));
        str_copy(h->promoted_by, p->promoted_by, sizeof(h->promoted_by));
        if (p->policy[0])
            str_copy(h->policy, p->policy, sizeof(h->policy));
        return 1;
    }
    if (hop && hop->phase == PH_DONE && hop->target[0]) {
        str_copy(h->target, hop->target, sizeof(h->target));
        str_copy(h->promoted_by, hop->approved_by[0] ? hop->approved_by : "promo-promoter", sizeof(h->promoted_by));
        return 1;
    }
    return 0;
}

static int view_agg_current(const struct rec_trigger_hop *thop, const struct rec_monitor_hop *mhop);

/* view_hop_outcome - the text of the last PromotionRecord of the hop from
 * env about this generation and head SHA, into h->outcome. */
static void view_hop_outcome(const struct view_recs *r, const char *env, struct view_hop *h)
{
    int i;

    h->outcome[0] = '\0';
    for (i = r->has_prom ? r->prom.npromotions - 1 : -1; i >= 0; i--) {
        const struct rec_promotion *e = &r->prom.promotions[i];

        if (strcmp(e->source, env) != 0 || (e->head_sha[0] && strcasecmp(e->head_sha, r->prom.head_sha) != 0) ||
            (e->generation && e->generation != r->prom.generation))
            continue;
        view_outcome_text(e, h->outcome, sizeof(h->outcome));
        return;
    }
}

/* view_hop_fill - what every record says of the hop from env into h. */
static void view_hop_fill(const struct view_recs *r, const char *env, struct view_hop *h)
{
    const struct rec_trigger_hop *thop = VIEW_THOP(r, env);
    const struct rec_monitor_hop *mhop = VIEW_MHOP(r, env);
    const struct rec_promoter_hop *phop = VIEW_PHOP(r, env);
    const struct rec_approval *ahop = VIEW_AHOP(r, env);

    str_copy(h->source, env, sizeof(h->source));
    if (r->has_pol && strcmp(r->pol.environment, env) == 0) {
        if (r->pol.policy[0])
            str_copy(h->policy, r->pol.policy, sizeof(h->policy));
        if (r->pol.target[0])
            str_copy(h->target, r->pol.target, sizeof(h->target));
    }
    if (thop) {
        if (thop->policy[0])
            str_copy(h->policy, thop->policy, sizeof(h->policy));
        if (thop->target[0])
            str_copy(h->target, thop->target, sizeof(h->target));
        str_copy(h->started_at, thop->started_at, sizeof(h->started_at));
        view_tests_from_trigger(h->tests, &h->ntests, VIEW_MAX_HOP_TESTS, thop);
    }
    if (mhop)
        view_tests_from_monitor(h->tests, &h->ntests, VIEW_MAX_HOP_TESTS, mhop);
    if (mhop && mhop->check.outcome != RMR_NONE && view_agg_current(thop, mhop)) {
        const struct rec_monitor_check *c = &mhop->check;
        if (c->outcome == RMR_CHANGED || c->outcome == RMR_UNVERIFIED)
            snprintf(h->revision_check, sizeof(h->revision_check), "%s: %s", rec_monitor_rev_name(c->outcome),
                     c->reason);
        else
            snprintf(h->revision_check, sizeof(h->revision_check), "%s: %s (Argo CD %s) %s and %s at %.7s%s%s%s%s",
                     rec_monitor_rev_name(c->outcome), c->application, c->cluster[0] ? c->cluster : "default",
                     c->sync[0] ? c->sync : "unknown", c->health[0] ? c->health : "unknown",
                     c->revision[0] ? c->revision : "no revision", c->checked_at[0] ? " at " : "", c->checked_at,
                     c->error[0] ? "; last error: " : "", c->error);
    }
    if (phop) {
        if (!h->target[0])
            str_copy(h->target, phop->target, sizeof(h->target));
        if (!h->policy[0])
            str_copy(h->policy, phop->policy, sizeof(h->policy));
        str_copy(h->approved_by, phop->approved_by, sizeof(h->approved_by));
        str_copy(h->last_error, phop->last_error, sizeof(h->last_error));
        str_copy(h->failed_at, phop->failed_at, sizeof(h->failed_at));
        str_copy(h->failure, phop->failure, sizeof(h->failure));
        str_copy(h->argocd_cluster, phop->cluster, sizeof(h->argocd_cluster));
        str_copy(h->argocd_app, phop->application, sizeof(h->argocd_app));
        str_copy(h->argocd_project, phop->project, sizeof(h->argocd_project));
        str_copy(h->argocd_namespace, phop->app_namespace, sizeof(h->argocd_namespace));
        str_copy(h->argocd_digest, phop->spec_digest, sizeof(h->argocd_digest));
    }
    view_hop_outcome(r, env, h);
    if (ahop && ahop->approved_by[0]) {
        if (!h->approved_by[0])
            str_copy(h->approved_by, ahop->approved_by, sizeof(h->approved_by));
        str_copy(h->approved_at, ahop->approved_at, sizeof(h->approved_at));
    }
    h->retry_attempt = ahop ? (int)ahop->retry_attempt : 0;
    str_copy(h->retry_at, ahop ? ahop->retry_at : "", sizeof(h->retry_at));
}

/* view_agg_current - 1 when the monitor's aggregate of the hop is about the
 * trigger record's current tests: no test the monitor knows has another
 * key than the trigger's (a retried test has a new key). */
static int view_agg_current(const struct rec_trigger_hop *thop, const struct rec_monitor_hop *mhop)
{
    int i;

    for (i = 0; thop && i < thop->ntests; i++) {
        const struct rec_monitor_test *m = rec_monitor_hop_test(mhop, thop->tests[i].name);

        if (m && m->key[0] && thop->tests[i].key[0] && strcmp(m->key, thop->tests[i].key) != 0)
            return 0;
    }
    return 1;
}

/* view_retry_pending - 1 when `promoctl retry` asked for attempt n of the
 * hop and a failed test still has an older attempt. */
static int view_retry_pending(const struct view_test *tests, int n, int attempt)
{
    int i;

    for (i = 0; attempt > 0 && i < n; i++)
        if (view_test_failed(tests[i].status) && tests[i].attempt < attempt)
            return 1;
    return 0;
}

/* view_retry_started - 1 when some test of the hop runs attempt n or later:
 * the retry superseded whatever the promoter had recorded of the hop. */
static int view_retry_started(const struct view_test *tests, int n, int attempt)
{
    int i;

    for (i = 0; attempt > 0 && i < n; i++)
        if (tests[i].attempt >= attempt)
            return 1;
    return 0;
}

/* view_decide - the effective state in v->environment, from base (what the
 * tracker, or the chain, says there) and the hop's records. */
static void view_decide(struct view *v, const struct view_recs *r, enum tracker_state base)
{
    const char *env = v->environment;
    const struct rec_trigger_hop *thop = VIEW_THOP(r, env);
    const struct rec_monitor_hop *mhop = VIEW_MHOP(r, env);
    const struct rec_promoter_hop *phop = VIEW_PHOP(r, env);
    const struct aggregate *agg = mhop && mhop->has_aggregate ? &mhop->aggregate : NULL;
    const struct view_hop *h = &v->hops[v->nhops - 1];
    int pstate = r->has_pol && strcmp(r->pol.environment, env) == 0 ? (int)r->pol.state : -1;
    int pphase = phop ? (int)phop->phase : PH_NONE;
    const char *tgt = v->target[0] ? v->target : "the next environment";
    int decided = agg && agg->decided && view_agg_current(thop, mhop);
    const char *why = decided && agg->nreasons > 0 ? agg->reasons[0] : NULL;

    if (view_retry_started(v->tests, v->ntests, h->retry_attempt) && pphase == PH_FAILED)
        pphase = PH_NONE;         /* the promoter's failure is of an earlier attempt */
    v->state = base;
    switch (base) {
    case TS_DEPLOYING:
        if (v->deploy_promoted)
            snprintf(v->waiting, sizeof(v->waiting),
                     "deployment of %s (Argo CD %s) in %s to be Synced and Healthy at %.12s",
                     v->argocd_app[0] ? v->argocd_app : v->t.application,
                     v->argocd_cluster[0] ? v->argocd_cluster : "default", env, v->t.head_sha);
        else
            snprintf(v->waiting, sizeof(v->waiting), "deployment of %s in %s to be synced and healthy",
                     v->t.application, env);
        return;
    case TS_FAILED:
        v->failure_reported = 1;
        if (!v->waiting[0])
            snprintf(v->waiting, sizeof(v->waiting), "an operator: it failed in %s", env);
        return;
    case TS_DONE:
        snprintf(v->waiting, sizeof(v->waiting), "nothing: it is done");
        return;
    default:
        break;
    }
    if (pstate == RPS_DONE) {
        v->state = TS_DONE;
        snprintf(v->waiting, sizeof(v->waiting), "nothing: %s is the end of its chain", env);
    } else if (pstate == RPS_BLOCKED) {
        v->state = TS_SYNCED;
        snprintf(v->waiting, sizeof(v->waiting), "no policy for environment %s", env);
    } else if (view_retry_pending(v->tests, v->ntests, h->retry_attempt)) {
        v->state = TS_TESTING;
        snprintf(v->waiting, sizeof(v->waiting), "promo-trigger to start attempt %d of the failed tests in %s",
                 h->retry_attempt, env);
    } else if (pphase == PH_FAILED && strcmp(h->failure, "tests") != 0 && h->retry_at[0] &&
               time_parse_iso(h->retry_at) > time_parse_iso(h->failed_at)) {
        v->state = TS_FAILED;     /* active again: the promoter retries it */
        snprintf(v->waiting, sizeof(v->waiting), "promo-promoter to retry the promotion from %s to %s "
                 "(promoctl retry, attempt %d)", env, tgt, h->retry_attempt);
    } else if (pphase == PH_FAILED && strcmp(h->failure, "tests") == 0 && decided && rec_monitor_voided(mhop)) {
        v->state = TS_FAILED;
        v->failure_reported = 1;
        snprintf(v->waiting, sizeof(v->waiting), "an operator: the test results in %s do not count: %s", env,
                 mhop->check.reason);
    } else if (pphase == PH_FAILED && strcmp(h->failure, "tests") == 0) {
        v->state = TS_FAILED;
        v->failure_reported = 1;
        snprintf(v->waiting, sizeof(v->waiting), "an operator: a required test failed in %s%s%s (promoctl retry)",
                 env, why ? ": " : "", why ? why : "");
    } else if (pphase == PH_FAILED) {
        v->state = TS_FAILED;
        v->failure_reported = 1;
        snprintf(v->waiting, sizeof(v->waiting), "an operator: the promotion from %s to %s failed%s%s", env, tgt,
                 h->last_error[0] ? ": " : "", h->last_error);
    } else if (pphase == PH_INTENT) {
        v->state = TS_PROMOTING;
        snprintf(v->waiting, sizeof(v->waiting), "promo-promoter to promote from %s to %s%s%s", env, tgt,
                 h->last_error[0] ? " (last error: " : "", h->last_error);
        if (h->last_error[0])
            strncat(v->waiting, ")", sizeof(v->waiting) - strlen(v->waiting) - 1);
    } else if (pphase == PH_AWAITING_APPROVAL && !h->approved_by[0]) {
        v->state = TS_AWAITING_APPROVAL;
        snprintf(v->waiting, sizeof(v->waiting), "approval: promoctl approve %s", v->t.name);
    } else if (decided && agg->any_failed && rec_monitor_voided(mhop)) {
        v->state = TS_FAILED;
        snprintf(v->waiting, sizeof(v->waiting), "an operator: the test results in %s do not count: %s", env,
                 mhop->check.reason);
    } else if (decided && agg->any_failed) {
        v->state = TS_FAILED;
        snprintf(v->waiting, sizeof(v->waiting), "an operator: a required test failed in %s%s%s", env,
                 why ? ": " : "", why ? why : "");
    } else if (decided && agg->all_passed) {
        if (h->approved_by[0]) {
            v->state = TS_PROMOTING;
            snprintf(v->waiting, sizeof(v->waiting), "promo-promoter to promote from %s to %s (approved by %s)",
                     env, tgt, h->approved_by);
        } else if ((thop && !thop->auto_promote) || pphase == PH_AWAITING_APPROVAL) {
            v->state = TS_AWAITING_APPROVAL;
            snprintf(v->waiting, sizeof(v->waiting), "approval: promoctl approve %s", v->t.name);
        } else {
            v->state = TS_PROMOTING;
            snprintf(v->waiting, sizeof(v->waiting), "promotion from %s to %s", env, tgt);
        }
    } else if (thop && (base == TS_SYNCED || base == TS_TESTING)) {
        v->state = TS_TESTING;
        view_wait_tests(v);
        if (!decided && mhop && mhop->check.outcome == RMR_PENDING && view_agg_current(thop, mhop))
            snprintf(v->waiting, sizeof(v->waiting), "Argo CD to confirm that %s (%s) in %s runs %.7s, "
                     "before the passed tests count%s%s%s", mhop->check.application[0] ? mhop->check.application
                     : "the source application", mhop->check.cluster[0] ? mhop->check.cluster : "default", env,
                     v->t.head_sha, mhop->check.error[0] ? " (last: " : "", mhop->check.error,
                     mhop->check.error[0] ? ")" : "");
    } else if (base == TS_SYNCED || base == TS_TESTING) {
        v->state = TS_SYNCED;
        if (v->policy[0])
            snprintf(v->waiting, sizeof(v->waiting), "promotion tests for %s to be started (policy %s)",
                     env, v->policy);
        else
            snprintf(v->waiting, sizeof(v->waiting), "promotion tests for %s to be started", env);
    } else if (base == TS_AWAITING_APPROVAL) {
        snprintf(v->waiting, sizeof(v->waiting), "approval: promoctl approve %s", v->t.name);
    } else {
        snprintf(v->waiting, sizeof(v->waiting), "promotion from %s", env);
    }
}

/* view_load - derive the view; see view.h. */
int view_load(struct store *s, const char *name, struct view *v, char *err, size_t errlen)
{
    struct view_recs r;
    struct view_hop probe;
    enum tracker_state base;
    const struct rec_condition *to;
    int rc, i;

    memset(v, 0, sizeof(*v));
    if (errlen)
        err[0] = '\0';
    rc = tracker_read(s, name, NULL, &v->t, err, errlen);
    if (rc < 0)
        return rc;
    str_copy(v->env, v->t.status_env, sizeof(v->env));
    v->environment = v->env;
    base = v->t.state;

    view_records(s, &v->t, &r, v);

    /* the chain: follow each done promotion from where the tracker is */
    for (;;) {
        struct view_hop *h = &v->hops[v->nhops++];

        view_hop_fill(&r, v->env, h);
        if (base == TS_DEPLOYING || base == TS_FAILED || base == TS_DONE || v->nhops == VIEW_MAX_HOPS ||
            !view_promotion(&r, v->env, v->t.head_sha, h))
            break;
        str_copy(h->state, "promoted", sizeof(h->state));
        for (i = 0; i < v->nhops; i++)
            if (strcmp(v->hops[i].source, h->target) == 0)
                break;
        if (i < v->nhops)
            break;                /* a cycle in the records: stop here */
        str_copy(v->argocd_cluster, h->argocd_cluster, sizeof(v->argocd_cluster));
        str_copy(v->argocd_app, h->argocd_app, sizeof(v->argocd_app));
        str_copy(v->argocd_project, h->argocd_project, sizeof(v->argocd_project));
        str_copy(v->argocd_namespace, h->argocd_namespace, sizeof(v->argocd_namespace));
        str_copy(v->argocd_digest, h->argocd_digest, sizeof(v->argocd_digest));
        str_copy(v->promoted_at, h->promoted_at, sizeof(v->promoted_at));
        str_copy(v->env, h->target, sizeof(v->env));
        v->deploy_promoted = 1;
        base = TS_DEPLOYING;
        memset(&probe, 0, sizeof(probe));
        if (r.has_wat && strcmp(r.wat.environment, v->env) == 0 && strcmp(r.wat.state, "synced") == 0) {
            str_copy(h->synced_at, r.wat.observed_at, sizeof(h->synced_at));
            v->deploy_promoted = 0;
            base = TS_SYNCED;
        } else if (view_promotion(&r, v->env, v->t.head_sha, &probe)) {
            /* promoted on from there: it was synced there (the watcher
             * record has moved on to a later environment) */
            v->deploy_promoted = 0;
            base = TS_SYNCED;
        } else if (r.has_wat && strcmp(r.wat.environment, v->env) == 0) {
            if ((to = rec_watcher_timeout(&r.wat)) != NULL) {
                base = TS_FAILED;
                snprintf(v->waiting, sizeof(v->waiting),
                         "an operator: the deployment of %s in %s was not Synced and Healthy in time "
                         "(DeployTimeout%s%s)", h->argocd_app[0] ? h->argocd_app : v->t.application,
                         v->env, to->message[0] ? ": " : "", to->message);
            }
        }
    }
    {
        const struct view_hop *cur = &v->hops[v->nhops - 1];

        if (strcmp(cur->source, v->env) != 0 && v->nhops < VIEW_MAX_HOPS) {
            view_hop_fill(&r, v->env, &v->hops[v->nhops]);
            v->nhops++;
            cur = &v->hops[v->nhops - 1];
        }
        str_copy(v->policy, cur->policy, sizeof(v->policy));
        str_copy(v->target, cur->target, sizeof(v->target));
    }
    view_tests_from_trigger(v->tests, &v->ntests, VIEW_MAX_TESTS, VIEW_THOP(&r, v->env));
    view_tests_from_monitor(v->tests, &v->ntests, VIEW_MAX_TESTS, VIEW_MHOP(&r, v->env));
    view_decide(v, &r, base);
    if (strcmp(v->hops[v->nhops - 1].state, "promoted") != 0)
        str_copy(v->hops[v->nhops - 1].state, tracker_state_name(v->state), sizeof(v->hops[0].state));
    view_records_free(&r);
    return 0;
}

/* view_tests_json - an array of test rows. */
static cJSON *view_tests_json(const struct view_test *tests, int n)
{
    cJSON *arr = cJSON_CreateArray();
    int i;

    for (i = 0; i < n; i++) {
        const struct view_test *r = &tests[i];
        cJSON *t = cJSON_CreateObject();

        cJSON_AddStringToObject(t, "name", r->name);
        cJSON_AddStringToObject(t, "provider", r->provider);
        cJSON_AddBoolToObject(t, "required", r->required);
        cJSON_AddNumberToObject(t, "attempt", r->attempt);
        cJSON_AddStringToObject(t, "key", r->key);
        cJSON_AddStringToObject(t, "status", r->status);
        cJSON_AddStringToObject(t, "url", r->url);
        cJSON_AddNumberToObject(t, "durationMs", (double)r->duration_ms);
        cJSON_AddStringToObject(t, "deadline", r->deadline);
        cJSON_AddStringToObject(t, "detail", r->detail);
        cJSON_AddItemToArray(arr, t);
    }
    return arr;
}

/* view_to_json - the view as an object. */
cJSON *view_to_json(const struct view *v)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    int i;

    cJSON_AddStringToObject(o, "environment", v->environment ? v->environment : "");
    cJSON_AddStringToObject(o, "state", tracker_state_name(v->state));
    cJSON_AddStringToObject(o, "waitingOn", v->waiting);
    cJSON_AddStringToObject(o, "policy", v->policy);
    cJSON_AddStringToObject(o, "target", v->target);
    cJSON_AddItemToObject(o, "tests", view_tests_json(v->tests, v->ntests));
    arr = cJSON_AddArrayToObject(o, "hops");
    for (i = 0; i < v->nhops; i++) {
        const struct view_hop *h = &v->hops[i];
        cJSON *j = cJSON_CreateObject(), *a;

        cJSON_AddStringToObject(j, "source", h->source);
        cJSON_AddStringToObject(j, "target", h->target);
        cJSON_AddStringToObject(j, "policy", h->policy);
        cJSON_AddStringToObject(j, "state", h->state);
        cJSON_AddStringToObject(j, "startedAt", h->started_at);
        cJSON_AddStringToObject(j, "promotedAt", h->promoted_at);
        cJSON_AddStringToObject(j, "promotedBy", h->promoted_by);
        cJSON_AddStringToObject(j, "approvedBy", h->approved_by);
        cJSON_AddStringToObject(j, "approvedAt", h->approved_at);
        cJSON_AddStringToObject(j, "syncedAt", h->synced_at);
        cJSON_AddStringToObject(j, "revisionCheck", h->revision_check);
        a = cJSON_AddObjectToObject(j, "argocd");
        cJSON_AddStringToObject(a, "cluster", h->argocd_cluster);
        cJSON_AddStringToObject(a, "application", h->argocd_app);
        if (h->argocd_project[0])
            cJSON_AddStringToObject(a, "project", h->argocd_project);
        if (h->argocd_namespace[0])
            cJSON_AddStringToObject(a, "appNamespace", h->argocd_namespace);
        cJSON_AddStringToObject(j, "lastError", h->last_error);
        cJSON_AddNumberToObject(j, "retryAttempt", h->retry_attempt);
        cJSON_AddStringToObject(j, "outcome", h->outcome);
        cJSON_AddItemToObject(j, "tests", view_tests_json(h->tests, h->ntests));
        cJSON_AddItemToArray(arr, j);
    }
    arr = cJSON_AddArrayToObject(o, "outcomes");
    for (i = 0; i < v->noutcomes; i++) {
        const struct view_outcome *e = &v->outcomes[i];
        cJSON *j = cJSON_CreateObject();

        cJSON_AddStringToObject(j, "outcome", e->outcome);
        cJSON_AddStringToObject(j, "source", e->source);
        cJSON_AddStringToObject(j, "target", e->target);
        cJSON_AddStringToObject(j, "headSHA", e->head_sha);
        cJSON_AddNumberToObject(j, "generation", (double)e->generation);
        cJSON_AddStringToObject(j, "at", e->at);
        cJSON_AddStringToObject(j, "by", e->by);
        cJSON_AddStringToObject(j, "key", e->key);
        cJSON_AddStringToObject(j, "text", e->text);
        cJSON_AddItemToArray(arr, j);
    }
    return o;
}

/* view_str_or_null - o[key] = s, or null for "". */
static void view_str_or_null(cJSON *o, const char *key, const char *s)
{
    if (s && s[0])
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

/* view_condition - one Kubernetes-style condition. */
static void view_condition(cJSON *arr, const char *type, const char *status, const char *reason, const char *msg,
                           const char *at)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", status);
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", msg ? msg : "");
    view_str_or_null(c, "lastTransitionTime", at);
    cJSON_AddItemToArray(arr, c);
}

/* view_camel - "awaiting-approval" -> "AwaitingApproval". */
static void view_camel(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    int up = 1;

    for (; *s && n + 1 < len; s++) {
        if (*s == '-') {
            up = 1;
            continue;
        }
        buf[n++] = up && *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
        up = 0;
    }
    buf[n] = '\0';
}

/* view_conditions - Ready, TestsPassed, AwaitingApproval, Promoted, Failed. */
static cJSON *view_conditions(const struct view *v)
{
    cJSON *arr = cJSON_CreateArray();
    const struct view_hop *cur = &v->hops[v->nhops > 0 ? v->nhops - 1 : 0];
    const struct view_hop *last_promoted = NULL;
    const char *state = tracker_state_name(v->state);
    char reason[40], msg[1200];
    int i, failed = 0, pending = 0, required = 0;

    view_camel(state, reason, sizeof(reason));
    view_condition(arr, "Ready", v->state == TS_DONE ? "True" : "False", reason, v->waiting, NULL);

    for (i = 0; i < v->ntests; i++) {
        if (!v->tests[i].required)
            continue;
        required++;
        if (view_test_failed(v->tests[i].status))
            failed++;
        else if (strcmp(v->tests[i].status, "passed") != 0)
            pending++;
    }
    if (!v->ntests)
        view_condition(arr, "TestsPassed", "Unknown", "NoTests", "no promotion tests started in this environment",
                       NULL);
    else if (failed)
        view_condition(arr, "TestsPassed", "False", "RequiredTestFailed", v->waiting, cur->failed_at);
    else if (pending)
        view_condition(arr, "TestsPassed", "Unknown", "TestsRunning", v->waiting, cur->started_at);
    else {
        snprintf(msg, sizeof(msg), "%d required test%s passed in %s", required, required == 1 ? "" : "s",
                 v->environment);
        view_condition(arr, "TestsPassed", "True", "AllRequiredPassed", msg, NULL);
    }

    if (v->state == TS_AWAITING_APPROVAL)
        view_condition(arr, "AwaitingApproval", "True", "AutoPromoteDisabled", v->waiting, NULL);
    else
        view_condition(arr, "AwaitingApproval", "False", cur->approved_by[0] ? "Approved" : "NotAwaiting",
                       cur->approved_by[0] ? cur->approved_by : "", cur->approved_at);

    for (i = 0; i < v->nhops; i++)
        if (strcmp(v->hops[i].state, "promoted") == 0)
            last_promoted = &v->hops[i];
    if (last_promoted) {
        snprintf(msg, sizeof(msg), "promoted %s -> %s at %.7s%s%s", last_promoted->source, last_promoted->target,
                 v->t.head_sha, last_promoted->promoted_by[0] ? " by " : "", last_promoted->promoted_by);
        view_condition(arr, "Promoted", "True", "Promoted", msg, last_promoted->promoted_at);
    } else {
        view_condition(arr, "Promoted", "False", "NotPromoted", "not promoted at this generation and head SHA",
                       NULL);
    }

    if (v->state == TS_FAILED)
        view_condition(arr, "Failed", "True",
                       strcmp(cur->failure, "tests") == 0 || failed ? "TestsFailed"
                       : strcmp(cur->failure, "promotion") == 0 ? "PromotionFailed" : "Failed",
                       v->waiting, cur->failed_at);
    else
        view_condition(arr, "Failed", "False", "NotFailed", "", NULL);
    return arr;
}

/* view_status_json - the original's status from the view and the history. */
cJSON *view_status_json(const struct view *v, const struct rec_promoter *prom)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    int i;

    cJSON_AddStringToObject(o, "environment", v->environment ? v->environment : "");
    cJSON_AddStringToObject(o, "state", tracker_state_name(v->state));
    arr = cJSON_AddArrayToObject(o, "testRuns");
    for (i = 0; i < v->ntests; i++) {
        const struct view_test *r = &v->tests[i];
        cJSON *t = cJSON_CreateObject();

        cJSON_AddStringToObject(t, "name", r->name);
        cJSON_AddStringToObject(t, "provider", r->provider);
        view_str_or_null(t, "runId", r->run_id);
        view_str_or_null(t, "url", r->url);
        cJSON_AddStringToObject(t, "status", r->status);
        if (view_final(r->status))
            cJSON_AddStringToObject(t, "result", r->status);
        else
            cJSON_AddNullToObject(t, "result");
        cJSON_AddBoolToObject(t, "required", r->required);
        cJSON_AddNumberToObject(t, "attempt", r->attempt);
        view_str_or_null(t, "key", r->key);
        view_str_or_null(t, "startedAt", r->started_at);
        view_str_or_null(t, "completedAt", r->completed_at);
        if (r->duration_ms > 0)
            cJSON_AddNumberToObject(t, "durationMs", (double)r->duration_ms);
        else
            cJSON_AddNullToObject(t, "durationMs");
        view_str_or_null(t, "detail", r->detail);
        cJSON_AddItemToArray(arr, t);
    }
    arr = cJSON_AddArrayToObject(o, "promotions");
    for (i = 0; prom && i < prom->npromotions; i++)
        cJSON_AddItemToArray(arr, rec_promotion_encode(&prom->promotions[i]));
    cJSON_AddItemToObject(o, "conditions", view_conditions(v));
    return o;
}

/* view_active - the states promo-watcher keeps sending downstream. */
int view_active(const struct view *v)
{
    return v->state == TS_SYNCED || v->state == TS_TESTING || v->state == TS_AWAITING_APPROVAL ||
           v->state == TS_PROMOTING || (v->state == TS_FAILED && !v->failure_reported);
}

/* view_overlay - status.environment and status.state of doc from v. */
void view_overlay(const struct view *v, cJSON *doc)
{
    cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");

    if (!cJSON_IsObject(st)) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "status");
        st = cJSON_AddObjectToObject(doc, "status");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(st, "environment");
    cJSON_AddStringToObject(st, "environment", v->environment);
    cJSON_DeleteItemFromObjectCaseSensitive(st, "state");
    cJSON_AddStringToObject(st, "state", tracker_state_name(v->state));
}

/* view_scratch - the view of view_apply and view_effective when the caller
 * keeps none: one buffer for the life of the process. A view is about 350
 * KB; allocating one per message made malloc move the heap's top up and
 * down (brk) and fault its pages in again each time, which cost a resync
 * of 3,000 trackers twice its time. The stages are single-threaded. */
static struct view *view_scratch(void)
{
    static struct view *v;

    if (!v)
        v = xmalloc(sizeof(*v));
    return v;
}

/* view_apply - see view.h. */
int view_apply(struct store *s, struct tracker *t, cJSON *doc, struct view *out)
{
    struct view *v = out ? out : view_scratch();
    char err[256];
    int rc = view_load(s, t->name, v, err, sizeof(err));

    if (rc < 0)
        return rc;
    if (v->t.generation != t->generation || strcmp(v->t.head_sha, t->head_sha) != 0)
        return 0;
    str_copy(t->status_env, v->environment, sizeof(t->status_env));
    t->state = v->state;
    if (doc)
        view_overlay(v, doc);
    return 1;
}

/* view_effective - t's environment (and deploying) from the view. */
int view_effective(struct store *s, struct tracker *t)
{
    struct view *v = view_scratch();
    char err[256];
    int rc = view_load(s, t->name, v, err, sizeof(err));

    if (rc == 0 && v->t.generation == t->generation && strcmp(v->t.head_sha, t->head_sha) == 0) {
        str_copy(t->status_env, v->environment, sizeof(t->status_env));
        if (v->state == TS_DEPLOYING)
            t->state = TS_DEPLOYING;
    }
    return rc;
}
