/* promoter.h - promo-promoter's own state, shared by the files of promoter/.
 *
 *   promo_promoter.c   main(), the message handler: re-read the tracker, the
 *                      monitor, trigger, approvals and promoter records, and
 *                      decide what the hop needs (promote, report a failure,
 *                      wait for approval, nothing); --dry-run
 *   promoter_job.c     one hop's side effects as an asynchronous sequence of
 *                      idempotent steps, each recorded once done; retries
 *   promoter_record.c  STATE/promoter/NAME.json and the pure helpers around
 *                      it (test runs, approvals, PromotionRecord, messages)
 *
 * Nothing that matters lives only in memory: the promoter record says which
 * steps are done, so a restart followed by the next message resumes a hop
 * after its last recorded step (docs/state.md, "The promoter record"). */
#ifndef PROMO_PROMOTER_H
#define PROMO_PROMOTER_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"
#include "adapters/argocd.h"
#include "domain/promokey.h"
#include "domain/rec_approvals.h"
#include "domain/rec_monitor.h"
#include "domain/rec_promoter.h"
#include "domain/rec_trigger.h"
#include "util/strmap.h"
#include "domain/tracker.h"
#include "ipc/stage.h"

#define PROMOTER_AREA         "promoter"  /* STATE/promoter/: this stage's records */
#define PROMOTER_MAX_ATTEMPTS 8           /* tries of a hop before it fails */
#define PROMOTER_BACKOFF_BASE 1000        /* ms: first delay after a temporary error */
#define PROMOTER_BACKOFF_CAP  60000       /* ms: longest delay */
#define PROMOTER_BY           "promo-promoter"
#define PROMOTER_WRITERS      4           /* threads writing the records of steps (domain/wasync.h) */

/* What a hop needs done. */
enum prom_mode {
    PM_PROMOTE = 0,              /* Argo CD, GitHub, record, audit */
    PM_REPORT_FAILURE,           /* a required test failed: status, comment, audit */
    PM_AWAIT                     /* autoPromote false, no approval: audit, pending status */
};

/* Everything decided from the state dir for one hop (all strings owned). */
struct prom_plan {
    struct tracker t;
    enum prom_mode mode;
    char *source, *target, *policy;
    char key[PROMO_KEY_SIZE];
    char *cluster;               /* "default" when the policy names none */
    char *app;                   /* the target application, variables substituted */
    char *project;               /* spec.promotion.argocd.project, expanded, or NULL */
    char *app_namespace;         /* spec.promotion.argocd.appNamespace, expanded, or NULL */
    struct argocd_change change; /* how the application is changed; its strings are
                                  * change_name and change_value (owned: the plan
                                  * is moved by copy, so none points into it) */
    char *change_name, *change_value;
    int exclusive;               /* spec.promotion.exclusive: one tracker at a time */
    int64_t timeout_ms;          /* the policy's spec.timeout */
    char *context;               /* commit status context */
    cJSON *add_labels;           /* array of strings, substituted */
    cJSON *remove_labels;        /* array of strings, substituted */
    char *comment_extra;         /* the policy's comment, substituted, or NULL */
    char *approved_by;           /* who approved, or NULL (promoted automatically) */
    cJSON *runs;                 /* the test runs: [{name, provider, required, status,
                                  * url, durationMs, key}] in policy order */
    cJSON *aggregate;            /* the monitor's aggregate (aggregate_to_json), or NULL */
    char *reasons;               /* the monitor's failure reasons joined by "; " */
    int fresh;                   /* this process wrote the hop's intent just now:
                                  * no step of it can have been done before */
};

/* One hop being worked on (at most one per tracker). */
struct prom_job {
    struct stage *st;
    struct prom_plan plan;
    cJSON *rec;                  /* the promoter record, as last written */
    int step;                    /* enum prom_step (domain/rec_promoter.h) */
    int label_i;                 /* next label to remove */
    int inflight;                /* an adapter request is outstanding */
    int done;                    /* finished: free it when nothing is in flight */
    int look;                    /* the current GitHub step may have been done
                                  * (resumed after a crash, or its last try
                                  * failed): look before sending it again */
    struct loop_timer *tmr;       /* the retry timer, or NULL */
};

/* The stage's state. */
struct promoter_stage {
    struct adapter_ctx actx;     /* st, http, config, store: what adapters use */
    struct strmap *jobs;         /* tracker name -> struct prom_job (in flight) */
    struct wasync *wa;           /* the record writes of the jobs' steps */
    int stopping;
    uint64_t promoted, failed, stale, awaiting;
    struct strmap *targets;      /* target key -> struct target_rec (promoter_hold.c) */
    struct strmap *hold_msgs;    /* tracker -> its last message while it waits */
    struct loop_timer *hold_tmr; /* the sweep of the holders */
    int64_t hold_period;
    struct view *hold_view;      /* one view, for judging holders and waiters */
    const cJSON *cur_msg;        /* the message being handled */
};

/* ---- promoter_record.c ---- */


/* promoter_record_current - 1 when rec (a record of any stage with name,
 * generation and headSHA) is about tracker t's generation and head SHA. */
int promoter_record_current(const cJSON *rec, const struct tracker *t);

/* promoter_record_for - rec (consumed; NULL for none) made current for t: a
 * record of another generation or SHA keeps only its "promotions" (history)
 * and gets empty "hops"; before that, each of its hops still unfinished
 * (promoter_hop_unfinished) gets a Superseded record naming t's head SHA
 * and generation (promoter_record_outcome). Returns the record (never NULL). */
cJSON *promoter_record_for(cJSON *rec, const struct tracker *t);

/* promoter_hop - rec.hops[source], or NULL. */
cJSON *promoter_hop(const cJSON *rec, const char *source);

/* promoter_plan_argocd - the target of p as the hop entry's "argocd"
 * object: {cluster, application, project, appNamespace, update, source}
 * (new object; --dry-run adds name, value or mergePatch, and revision). */
cJSON *promoter_plan_argocd(const struct prom_plan *p);

/* promoter_hop_new - a fresh hop entry for plan in phase (replacing any
 * other entry of that source in rec). Returns it. */
cJSON *promoter_hop_new(cJSON *rec, const struct prom_plan *p, enum prom_phase phase);

/* promoter_phase - the phase of hop (PH_NONE for NULL, -1 for a word that
 * is not a phase). */
int promoter_phase(const cJSON *hop);

/* promoter_phase_move - hop.phase = the phase after ev (prom_phase_next).
 * Returns 0, or -1 when ev cannot happen in hop's phase (logged; nothing
 * changes). */
int promoter_phase_move(cJSON *hop, enum prom_event ev);

/* promoter_step_done - 1 when hop.steps[step] is true. */
int promoter_step_done(const cJSON *hop, const char *step);
/* promoter_step_set - hop.steps[step] = true. */
void promoter_step_set(cJSON *hop, const char *step);
/* promoter_set - hop[key] = value (replacing it; value is consumed). */
void promoter_set(cJSON *hop, const char *key, cJSON *value);

/* promoter_test_runs - the hop's tests joined from the trigger record's hop
 * (order, provider, required, key) and the monitor record's hop (status,
 * url, durationMs). A trigger test without a monitor entry of the same key
 * is an error: the monitor's verdict is about other runs. trigger_hop may be
 * NULL (then the monitor's tests alone, in their order). *attempt gets the
 * highest test attempt (1 when none says). Returns the array, or NULL with
 * the reason in err. */
cJSON *promoter_test_runs(const struct rec_trigger_hop *trigger_hop, const struct rec_monitor_hop *monitor_hop,
                          int *attempt, char *err, size_t errlen);

/* promoter_test_keys - the keys of runs, as a new array. */
cJSON *promoter_test_keys(const cJSON *runs);

/* promoter_first_url - the URL for the commit status: the first required
 * run's (failed_only: the first required run that did not pass) that is an
 * http(s) URL GitHub takes (ghpr_url_linkable); without failed_only, else
 * the first such URL of any run; else NULL (a status without target_url). */
const char *promoter_first_url(const cJSON *runs, int failed_only);

/* promoter_approval - 1 when approvals (STATE/approvals/NAME.json, may be
 * NULL) approves t's generation and head SHA for the hop from source: hops
 * [source].approvedBy a non-empty string (and hops[source].target, when
 * present, equal to target); by gets the approver. Else 0. */
int promoter_approval(const struct rec_approvals *approvals, const struct tracker *t, const char *source,
                      const char *target, char *by, size_t bylen);

/* promoter_retry_requested - 1 when approvals (written by promoctl retry)
 * asks to retry the failed hop from source: hops[source].retry.requestedAt
 * later than failed_at (ISO; absent counts as earlier). */
int promoter_retry_requested(const struct rec_approvals *approvals, const struct tracker *t, const char *source,
                             const char *failed_at);

/* promoter_promoted_message - the audit message of a promotion: "promoted
 * SOURCE -> TARGET at SHORTSHA (policy P, N tests passed[, optional tests
 * failed: a, b])". Heap string. */
char *promoter_promoted_message(const char *source, const char *target, const char *sha,
                                const char *policy, const cJSON *runs);

/* promoter_failed_description - the commit status description of a required
 * failure: "required tests failed: a, b" (ghpr cuts it to 140). Heap. */
char *promoter_failed_description(const cJSON *runs);

/* ---- PromotionRecords: one per hop outcome (docs/state.md, "The
 * PromotionRecord"), appended to "promotions" of the record, never removed.
 * Every function below only edits rec in memory: the caller writes it, in
 * the same write as the change of the hop the outcome is about. */

/* promoter_promotion_json - the Promoted PromotionRecord of plan p at now_ms. */
cJSON *promoter_promotion_json(const struct prom_plan *p, int64_t now_ms);

/* promoter_outcome_json - the PromotionRecord of plan p with outcome (any),
 * failure ("tests", "promotion" or NULL) and error (NULL: none): the hop,
 * promoted/promotedAt/promotedBy (Promoted only, else false and null),
 * recordedAt/recordedBy, testResults (promoter_test_results) and testRuns. */
cJSON *promoter_outcome_json(const struct prom_plan *p, enum prom_outcome outcome, const char *failure,
                             const char *error, int64_t now_ms);

/* promoter_test_results - "testResults": the flags and failureReasons of
 * agg (aggregate_to_json's shape; NULL: all false, none) and, from runs, the
 * names of the required tests failed (failed, cancelled, error), the
 * required tests timed out, and the optional tests not passed. */
cJSON *promoter_test_results(const cJSON *agg, const cJSON *runs);

/* promoter_failed_error - the error of a Failed (tests) record from its
 * testResults: "required test failed: a", "required tests failed: a, b;
 * timed out: c", "required test timed out: c". Heap. */
char *promoter_failed_error(const cJSON *results);

/* promoter_record_has - 1 when rec's history has a record with key and
 * outcome (a record without outcome counts as Promoted), and, unless
 * failure is NULL, that failure. */
int promoter_record_has(const cJSON *rec, const char *key, enum prom_outcome outcome, const char *failure);

/* promoter_record_append - pr (consumed) appended to rec's "promotions". */
void promoter_record_append(cJSON *rec, cJSON *pr);

/* promoter_record_failed - append the Failed record of p: failure "tests"
 * (why NULL: promoter_failed_error names the tests; once per hop key: 0
 * when the history has it already) or "promotion" (why: lastError; one
 * per failure, since each is written with the phase change to failed).
 * Returns 1 when appended. */
int promoter_record_failed(cJSON *rec, const struct prom_plan *p, const char *failure, const char *why,
                           int64_t now_ms);

/* promoter_hop_unfinished - 1 when hop is still open at the promoter:
 * phase intent (promotion under way) or awaiting-approval. done and failed
 * hops have their outcome recorded already (Promoted, Failed). */
int promoter_hop_unfinished(const cJSON *hop);

/* promoter_record_outcome - append to rec (a promoter record as read or
 * being edited: name, generation, headSHA, hops, promotions) the
 * PromotionRecord saying that the hop rec.hops[source] ends unfinished with
 * outcome:
 *
 *   PO_SUPERSEDED  a new generation or head SHA of the tracker came while
 *                  the hop was unfinished; successor is the tracker as it is
 *                  now (required): recorded as supersededBy {headSHA,
 *                  generation}. promoter_record_for() calls it for every
 *                  unfinished hop when it resets a record.
 *   PO_ABORTED     the tracker is removed or aborted (promoctl abort, to
 *                  come) while the hop was unfinished; successor may be NULL.
 *
 * promoter_hold.c calls it for both when it releases a held target
 * application because its holder was removed or superseded
 * (hold_record_outcome), before the release is written.
 *
 * The record carries rec's generation and headSHA (the hop's, not the
 * successor's), the hop's source, target, policy and key, the runs the hop
 * was decided on (its "testRuns"), recordedAt now_ms, recordedBy by (NULL:
 * promo-promoter) and error why (NULL: "superseded by SHORTSHA (generation
 * N)" or "aborted while the promotion S -> T was PHASE").
 *
 * Idempotent: 0 and nothing appended when the hop is finished (not
 * promoter_hop_unfinished) or the history already has a record of that
 * outcome with the hop's key; so a caller that releases a held environment
 * may call it at every message. Returns 1 when appended, -1 (nothing
 * changed) when rec has no hop from source, outcome is neither, or
 * PO_SUPERSEDED comes without successor. It does not change the hop entry
 * (the caller resets or removes it) and writes nothing: the caller writes
 * rec, in the same write as what released the hop. */
int promoter_record_outcome(cJSON *rec, const char *source, enum prom_outcome outcome, const char *by,
                            const char *why, const struct tracker *successor, int64_t now_ms);

/* promoter_plan_free - release what p owns (p is zeroed). */
void promoter_plan_free(struct prom_plan *p);

/* promoter_message_again - handle msg as if it had just come in (a waiter
 * granted its target; promo_promoter.c). msg is not consumed. */
void promoter_message_again(struct stage *st, cJSON *msg);

/* ---- promoter_hold.c ---- */

/* promoter_hold_init - read STATE/targets back and arm the sweep. 0 or -1. */
int promoter_hold_init(struct stage *st);
/* promoter_hold_free - at exit. */
void promoter_hold_free(struct stage *st);
/* promoter_hold_acquire - before plan p promotes into its target: 1 when it
 * holds the target application (or it is not exclusive, or --dry-run): go
 * on; 0 when it waits in line (recorded, Queued; why says for what and
 * whom; msg is kept to be handled again when its turn comes); -1 when the
 * record cannot be written (why says so; the next message tries again). */
int promoter_hold_acquire(struct stage *st, const struct prom_plan *p, const cJSON *msg, char *why, size_t whylen);
/* promoter_hold_leave - tracker leaves env (reason: PromotedOnward,
 * TestsFailed, ...): what it holds there is released and granted on. */
void promoter_hold_leave(struct stage *st, const char *tracker, const char *env, const char *reason,
                         const char *why);

/* ---- promoter_job.c ---- */

/* promoter_job_start - take over plan (moved into the job) and rec (consumed)
 * and run the hop's remaining steps. The hop entry for plan->source must be
 * in rec and on disk. Unless plan->fresh, the first GitHub step not marked
 * done may have been done by an earlier process: it is looked up first. */
void promoter_job_start(struct stage *st, struct prom_plan *plan, cJSON *rec);

/* promoter_job_busy - jobs in flight. */
int promoter_job_busy(struct stage *st);

/* promoter_job_free_all - at exit (after http_free: no callback comes). */
void promoter_job_free_all(struct stage *st);

/* promoter_job_steps - the names of the steps mode still needs according to
 * hop (NULL: all), as an array (for --dry-run). */
cJSON *promoter_job_steps(enum prom_mode mode, const cJSON *hop);

#endif
