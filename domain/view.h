/* view.h - the effective state of a tracker, derived from the records of the state dir.
 *
 * The tracker document (STATE/trackers/, written by promoctl) says where a PR
 * is and whether it is deployed; what the pipeline did with it since lives in
 * the stages' records: policy/ (which policy, or end of chain, or none),
 * trigger/ (the tests started for this generation and hop), monitor/ (their
 * results and the aggregate), promoter/ (approval, promotion, its failure),
 * approvals/ (promoctl approve and retry) and watcher/ (the target of a
 * promotion seen synced, or its DeployTimeout). view_load() reads them all
 * and says, for people (promoctl get/list/show) and for the stages:
 *
 *   deploying          the tracker says so, or a promotion to the current
 *                      environment is done and not yet seen synced there
 *   synced             deployed; no tests started yet for this generation and hop
 *   testing            a trigger record for this generation and hop exists and
 *                      the monitor has not decided
 *   failed             the monitor's aggregate says a required test failed, the
 *                      promoter says the promotion failed, the watcher says
 *                      DeployTimeout (or the tracker says so)
 *   awaiting-approval  all required tests passed, the hop's autoPromote is false
 *                      (or the promoter's hop phase says so)
 *   promoting          all required tests passed, autoPromote is true (or the
 *                      promoter's hop phase is intent)
 *   done               the policy record says end of chain (or the tracker says so)
 *
 * and what it waits on, in plain words: which test, its URL, its deadline;
 * "no policy for environment E"; approval. Records of another generation or
 * head SHA are ignored: they describe a superseded commit. */
#ifndef PROMO_VIEW_H
#define PROMO_VIEW_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/store.h"
#include "domain/tracker.h"

#define VIEW_MAX_TESTS 64
#define VIEW_MAX_HOPS 8          /* hops kept for the timeline (a longer chain shows its last 8) */
#define VIEW_MAX_HOP_TESTS 32    /* tests per hop in the timeline */

/* One test of a hop. */
struct view_test {
    char name[128];
    char provider[32];
    int required;
    int attempt;             /* 1, then N after `promoctl retry` */
    char key[32];            /* the idempotency key of this attempt, "" when unknown */
    char status[32];         /* starting (intent), error, queued, running, passed, failed,
                              * cancelled, timed-out, unknown */
    char url[512];           /* "" when none yet */
    int64_t duration_ms;     /* 0 when unknown */
    char deadline[40];       /* ISO time, "" when unknown */
    char detail[256];        /* the CI's words or the error, "" when none */
    char run_id[64];         /* the CI's run id, "" when none yet */
    char started_at[40];     /* when the run was triggered (trigger record), "" */
    char completed_at[40];   /* when its final status was seen (monitor record), "" */
};

/* One hop of the chain, for the timeline (promoctl show). */
struct view_hop {
    char source[64];
    char target[64];         /* "" when no policy is known yet */
    char policy[128];
    char state[24];          /* "promoted", or the tracker's state in this hop (testing, ...) */
    char started_at[40];     /* when its tests started (trigger record), "" when not yet */
    char promoted_at[40];    /* "" when not promoted */
    char promoted_by[128];
    char approved_by[128];   /* "" when no approval was given */
    char approved_at[40];
    char synced_at[40];      /* when the target was seen Synced and Healthy (watcher), "" */
    char argocd_cluster[64]; /* the target's application, from the promoter */
    char argocd_app[254];
    char argocd_project[254];    /* its project and appNamespace ("" when none) */
    char argocd_namespace[254];
    char argocd_digest[32];      /* argocd.specDigest: "" when the hop is tracked by revision */
    char last_error[256];    /* the promoter's lastError, "" when none */
    int retry_attempt;       /* the attempt `promoctl retry` asked for, 0 when none */
    char retry_at[40];       /* when it was asked, "" when never */
    char failed_at[40];      /* when the promoter recorded the hop failed, "" */
    char failure[16];        /* what failed, per the promoter: "tests" or "promotion", "" */
    char revision_check[384];/* the monitor's Argo CD check of the source application before the
                              * passed tests counted, in words ("confirmed: shop (Argo CD default)
                              * Synced and Healthy at 0123456"), "" when none */
    char outcome[320];       /* the last PromotionRecord of this hop, generation and SHA
                              * (view_outcome_text), "" when none */
    struct view_test tests[VIEW_MAX_HOP_TESTS];
    int ntests;
};

#define VIEW_MAX_OUTCOMES 32 /* PromotionRecords kept for the history (the last 32) */

/* One PromotionRecord of the promoter record's history (any generation). */
struct view_outcome {
    char outcome[16];        /* Promoted, Failed, Superseded, Aborted */
    char source[64], target[64];
    char head_sha[65];
    int64_t generation;
    char at[40];             /* promotedAt, else recordedAt */
    char by[128];            /* promotedBy, else recordedBy */
    char key[40];
    char text[320];          /* view_outcome_text: "promoted", "failed: required test
                              * failed: smoke", "superseded by 1234567 (generation 3)" */
};

/* struct view is large (some hundreds of KiB): allocate it on the heap. */
struct view {
    struct tracker t;            /* the tracker document, decoded */
    const char *environment;     /* where it is now: t.status_env, or where the chain took it */
    enum tracker_state state;    /* the effective state (above) */
    char policy[128];            /* the policy of the hop, "" when none known */
    char target[64];             /* the hop's target environment, "" when none known */
    char waiting[1024];          /* what it waits on, in plain words */
    struct view_test tests[VIEW_MAX_TESTS];   /* the current hop's tests */
    int ntests;
    int failure_reported;        /* failed, and nothing left for the pipeline: the
                                  * promoter recorded the failure (hop phase failed),
                                  * or the tracker, or a DeployTimeout, says so */
    int deploy_promoted;         /* deploying in an environment it was promoted to:
                                  * promo-watcher reads argocd_cluster/argocd_app */
    char argocd_cluster[64];     /* with deploy_promoted: the target application */
    char argocd_app[254];
    char argocd_project[254];    /* sent on the watcher's reads ("" when none) */
    char argocd_namespace[254];
    char argocd_digest[32];      /* "": Synced and Healthy at the head SHA; else the
                                  * digest of the source(s) the promotion left
                                  * (adapters/argocd.h, argocd_app_reached) */
    char promoted_at[40];        /* with deploy_promoted: when the promotion was done */
    struct view_outcome outcomes[VIEW_MAX_OUTCOMES];   /* the promoter record's history
                                                        * (every generation), oldest first */
    int noutcomes;
    int outcomes_total;          /* records in the history (noutcomes keeps the last ones) */
    struct view_hop hops[VIEW_MAX_HOPS];   /* the timeline, oldest first; the last
                                            * one is the current environment's */
    int nhops;
    char env[64];                /* storage for environment */
};

/* view_load - read trackers/NAME and the stages' records of it from s and
 * derive v. Returns 0; -ENOENT when there is no such tracker; -EBADMSG when
 * the tracker is corrupt or invalid (then quarantined by tracker_read; err
 * says why); another -errno when it cannot be read. Unreadable stage records count as absent.
 *
 * The chain: the tracker document gives the first environment and state;
 * then, for each promotion of this generation and head SHA recorded by the
 * promoter (promotions[] or hops[ENV].phase done) from the current
 * environment, the tracker is deploying in the target, unless the watcher
 * record says synced there: then it is synced there and the same applies
 * again. A watcher record with a DeployTimeout condition makes it failed. */
int view_load(struct store *s, const char *name, struct view *v, char *err, size_t errlen);

/* view_outcome_text - one line for a PromotionRecord e (rec_promoter.h):
 * "promoted", "failed: ERROR", "superseded by SHORTSHA (generation N)",
 * "aborted: ERROR". */
struct rec_promotion;
void view_outcome_text(const struct rec_promotion *e, char *buf, size_t len);

/* view_to_json - {environment, state, waitingOn, policy, target, tests: [{name,
 * provider, required, attempt, key, status, url, durationMs, deadline, detail}],
 * hops: [{source, target, policy, state, startedAt, promotedAt, promotedBy,
 * approvedBy, approvedAt, syncedAt, argocd, lastError, retryAttempt, revisionCheck, outcome, tests}],
 * outcomes: [{outcome, source, target, headSHA, generation, at, by, key, text}]}. */
cJSON *view_to_json(const struct view *v);

/* view_status_json - the "status" of the PullRequestTracker as the original
 * controller's users know it (docs/protocol.md, "promoctl get -o"):
 * environment, state (the effective ones), testRuns (the current hop's
 * tests in the TestRun shape: name, provider, runId, url, status, result,
 * required, attempt, key, startedAt, completedAt, durationMs, detail),
 * promotions (prom's history, every outcome, as rec_promotion_encode
 * writes it; prom may be NULL: none) and conditions (Ready, TestsPassed,
 * AwaitingApproval, Promoted, Failed). A new object. */
struct rec_promoter;
cJSON *view_status_json(const struct view *v, const struct rec_promoter *prom);

/* view_active - 1 while the pipeline still has work for it: synced,
 * testing, awaiting-approval, promoting, and failed while the promoter has
 * not recorded the failure (so a lost message is sent again by the resync). */
int view_active(const struct view *v);

/* view_overlay - set doc's status.environment and status.state to the
 * view's (the tracker snapshot a stage sends or works on); other fields stay. */
void view_overlay(const struct view *v, cJSON *doc);

/* view_apply - for stages that act on where the chain has taken a tracker
 * (trigger, monitor, watcher): load t's view, and when it is about t's
 * generation and head SHA set t->status_env and t->state to the view's and
 * overlay doc (view_overlay; doc may be NULL). The view is loaded into
 * *out when out is not NULL (else into a buffer of the process's: a view
 * is large). Returns 1 when applied, 0 when the view is about
 * another generation or SHA (nothing changed), or the -errno of view_load. */
int view_apply(struct store *s, struct tracker *t, cJSON *doc, struct view *out);

/* view_effective - for stages that re-read the tracker document: set
 * t->status_env to where the chain has taken it (the view's environment),
 * and t->state to deploying when it is still deploying there (other states
 * stay the document's: such a stage's own decision, e.g. the policy's end
 * of chain, is made again, not read back). Nothing changes when the view
 * cannot be loaded or is about another generation or head SHA. Returns 0
 * or the -errno of view_load. */
int view_effective(struct store *s, struct tracker *t);

#endif
