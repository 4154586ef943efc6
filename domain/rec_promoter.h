/* rec_promoter.h - STATE/promoter/NAME.json, promo-promoter's record: the
 * phases of a hop, the steps of its job, and the record's decoder.
 *
 * The phase of a hop is the one word the rest of promo reads (domain/view.c
 * derives awaiting-approval, promoting and failed from it); its names and
 * its only transition function live here so the promoter and the view
 * cannot disagree. docs/state.md, "The promoter record", has the table. */
#ifndef PROMO_REC_PROMOTER_H
#define PROMO_REC_PROMOTER_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/rec.h"
#include "domain/store.h"
#include "domain/tracker.h"

#define REC_PROMOTER_MAX_HOPS        256
#define REC_PROMOTER_MAX_PROMOTIONS  10000   /* history across generations (the record is <= 4 MiB) */

/* The phase of a hop ("phase" in the record). */
enum prom_phase {
    PH_NONE = 0,                 /* no entry for the hop (or one about other tests) */
    PH_AWAITING_APPROVAL,        /* tests passed, autoPromote false, not approved yet */
    PH_INTENT,                   /* promotion under way: persisted before its first side effect */
    PH_DONE,                     /* promoted and recorded */
    PH_FAILED,                   /* a required test failed, or the promotion failed ("failure") */
    PH_COUNT
};

/* What moves a hop from one phase to another. */
enum prom_event {
    PHE_AWAIT = 0,               /* tests passed, autoPromote false, no approval */
    PHE_PROMOTE,                 /* tests passed, autoPromote true or approved already */
    PHE_APPROVED,                /* promoctl approve came while awaiting approval */
    PHE_RETRY,                   /* promoctl retry of a failed promotion */
    PHE_RECORDED,                /* the PromotionRecord is written: the last step */
    PHE_UNRECORDED,              /* ... its write failed: back as it was, retried */
    PHE_TESTS_FAILED,            /* the monitor decided a required test failed */
    PHE_GAVE_UP,                 /* an Argo CD step failed for good (or too often) */
    PHE_UNPLANNABLE,             /* the promotion cannot be planned (policy, variables) */
    PHE_COUNT
};

/* prom_phase_name - the record's word for p ("" for PH_NONE). */
const char *prom_phase_name(enum prom_phase p);
/* prom_phase_parse - the phase named s; PH_NONE for "" or NULL; -1 unknown. */
int prom_phase_parse(const char *s);
/* prom_event_name - for logs and errors. */
const char *prom_event_name(enum prom_event e);
/* prom_phase_next - the phase after ev in phase from, or -1 when ev cannot
 * happen there (a bug: the caller logs it and changes nothing). */
int prom_phase_next(enum prom_phase from, enum prom_event ev);

/* The steps of a hop's job ("steps" in the record: each true once done). */
enum prom_step {
    PS_ARGOCD_UPDATED = 0,       /* the target application points at the head SHA */
    PS_ARGOCD_SYNCED,            /* ... and is synced to it (or a sync of it is under way) */
    PS_LABELS,
    PS_STATUS,
    PS_COMMENT,
    PS_RECORD,                   /* "recorded" */
    PS_AUDIT,                    /* "audited" */
    PS_AWAIT_AUDIT,              /* "awaitAudited" */
    PS_STATUS_PENDING,           /* "statusPending" */
    PS_FAILURE_AUDITED,          /* "failureAudited" */
    PS_FINISH                    /* no step: the end of a sequence */
};

/* prom_step_name - the record's name of step s ("finish" for PS_FINISH). */
const char *prom_step_name(int s);

/* One hop of the record. */
struct rec_promoter_hop {
    const char *source, *target, *policy, *key;
    const char *cluster, *application;       /* "argocd" */
    const char *project, *app_namespace;     /* argocd.project, .appNamespace ("" when none) */
    const char *update;                      /* argocd.update: the strategy ("" = targetRevision) */
    int64_t argocd_source;                   /* argocd.source, -1 when absent */
    const char *spec_digest;                 /* argocd.specDigest ("" until the update of a
                                              * spec-tracked strategy is done) */
    enum prom_phase phase;
    const char *phase_at, *done_at;
    const char *failure;                     /* "tests", "promotion" or "" */
    const char *failed_at, *last_error, *approved_by, *next_retry_at;
    int64_t attempts;
    unsigned steps;                          /* bit (1u << prom_step) when done */
};

/* The outcome of a hop, one PromotionRecord each ("outcome" of an entry of
 * "promotions"). A record without "outcome" (written before outcomes
 * existed) decodes as Promoted. docs/state.md, "The PromotionRecord". */
enum prom_outcome {
    PO_PROMOTED = 0,             /* promoted and recorded (the last step) */
    PO_FAILED,                   /* "failure": "tests" (a required test failed, with the
                                  * aggregate) or "promotion" (Argo CD, the plan) */
    PO_SUPERSEDED,               /* a new generation or head SHA came while the hop was
                                  * unfinished at the promoter ("supersededBy") */
    PO_ABORTED,                  /* the tracker was removed or aborted while the hop was
                                  * unfinished (promoctl abort, a later issue) */
    PO_COUNT
};

#define REC_PROMOTION_MAX_RUNS   256     /* testRuns of one record */
#define REC_PROMOTION_MAX_NAMES  256     /* each list of testResults */

/* prom_outcome_name - "Promoted", "Failed", "Superseded", "Aborted" ("" out of range). */
const char *prom_outcome_name(enum prom_outcome o);
/* prom_outcome_parse - the outcome named s (exact case), or -1. */
int prom_outcome_parse(const char *s);

/* One element of a PromotionRecord's "testRuns": a test of the hop as it
 * stood when the outcome was recorded. */
struct rec_promotion_run {
    const char *name, *provider, *status, *url, *key;
    int required;
    int64_t duration_ms;                     /* -1 when unknown (null) */
};

/* A PromotionRecord's "testResults": the original's TestAggregateResult
 * (domain/aggregate.h) and the names behind it. */
struct rec_test_results {
    int all_passed, any_failed, any_running, any_timeout, optional_failed;
    const char **reasons;                    /* failureReasons */
    int nreasons;
    const char **required_failed;            /* required tests failed, cancelled or in error */
    int nrequired_failed;
    const char **required_timed_out;         /* required tests timed out */
    int nrequired_timed_out;
    const char **optional_failed_names;      /* optional tests not passed (any final failure) */
    int noptional_failed;
};

/* One PromotionRecord of "promotions" (the history, every outcome). */
struct rec_promotion {
    const char *outcome;                     /* the word as stored ("" for an old record) */
    enum prom_outcome kind;                  /* PO_PROMOTED for an old record without outcome */
    int promoted;                            /* "promoted": true only for Promoted */
    const char *source, *target, *head_sha, *promoted_at, *promoted_by, *policy, *key;
    int64_t generation;
    const char *recorded_at, *recorded_by;   /* when and by whom the outcome was recorded */
    const char *failure;                     /* Failed: "tests" or "promotion"; else "" */
    const char *error;                       /* why it is not Promoted; "" for Promoted */
    const char *superseded_by_sha;           /* Superseded: the head SHA that replaced it */
    int64_t superseded_by_gen;               /* ... and its generation (0 when unknown) */
    int has_results;                         /* "testResults" present */
    struct rec_test_results results;
    int has_runs;                            /* "testRuns" present (may be empty) */
    struct rec_promotion_run *runs;
    int nruns;
};

/* rec_promotion_encode - the JSON of e, exactly the members the decoder
 * reads (strings "" and unknown numbers as null); with e decoded from x,
 * decode(encode(e)) is e. A new object. */
cJSON *rec_promotion_encode(const struct rec_promotion *e);

struct rec_promoter {
    const char *name, *head_sha;
    int64_t generation;
    struct rec_promoter_hop *hops;
    int nhops;
    struct rec_promotion *promotions;
    int npromotions;
    struct rec_pool pool;
};

/* rec_promoter_decode - strict decoder (rec.h) of the record of tracker
 * name (NULL: any). Returns 0, or -1 with err set and r empty. Free with
 * rec_promoter_free either way. */
int rec_promoter_decode(const cJSON *o, const char *name, struct rec_promoter *r, char *err, size_t errlen);
/* rec_promoter_free - release r (left zeroed). */
void rec_promoter_free(struct rec_promoter *r);
/* rec_promoter_hop - the hop from source, or NULL. */
const struct rec_promoter_hop *rec_promoter_hop(const struct rec_promoter *r, const char *source);

/* rec_promoter_load - read STATE/promoter/NAME.json from s and decode it: 0;
 * -ENOENT when absent; -EBADMSG when corrupt (quarantined by the store) or
 * invalid (err says why); -ESTALE when t is given and the record is about
 * another generation or head SHA; another -errno when it cannot be read.
 * r is empty unless 0. Free with rec_promoter_free either way. */
int rec_promoter_load(struct store *s, const char *name, const struct tracker *t, struct rec_promoter *r,
                   char *err, size_t errlen);

#endif
