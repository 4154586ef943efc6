/* trigger.h - promo-trigger's own state, shared by the files of trigger/.
 *
 *   promo_trigger.c   main(), the message handler: re-read, check, plan, forward
 *   trigger_record.c  STATE/trigger/NAME.json: hops, tests, intents, supersede
 *   trigger_ops.c     the asynchronous CI operations (trigger, find, cancel),
 *                     the in-flight set, retries with backoff
 *
 * The record is the truth (docs/state.md, "The trigger record"); what is kept
 * in memory here only avoids doing the same thing twice at the same time. */
#ifndef PROMO_TRIGGER_H
#define PROMO_TRIGGER_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"
#include "domain/policy.h"
#include "domain/rec_approvals.h"
#include "domain/rec_monitor.h"
#include "domain/rec_trigger.h"
#include "util/strmap.h"
#include "domain/tracker.h"
#include "ipc/stage.h"

#define TRIGGER_AREA          "trigger"   /* STATE/trigger/: this stage's records */
#define TRIGGER_MAX_RETRIES   8           /* ETEMP retries of one operation before giving up until the next message */
#define TRIGGER_BACKOFF_BASE  500         /* ms: first retry delay */
#define TRIGGER_BACKOFF_CAP   30000       /* ms: longest retry delay */
#define TRIGGER_GH_LIST_MS    10000       /* ms: a dispatched GitHub run may take this long to be listed */
#define TRIGGER_GH_FIND_MS    2000        /* ms: delay between two finds of a young GitHub intent */
#define TRIGGER_MAX_SUPERSEDED 256        /* entries kept in "superseded" (oldest dropped) */
#define TRIGGER_MAX_AT_WORK   128         /* operations at work (not waiting to retry) before
                                           * the input is left unread (trigger_ops_full) */

/* The stage's state. */
struct trigger_stage {
    struct adapter_ctx actx;     /* st, http client, config, store: what adapters use */
    struct strmap *inflight;     /* operation key -> struct trigger_op: at most one per test */
    struct strmap *pending;      /* tracker name -> the last message, printed (char *): re-run
                                  * when its operations end */
    struct strmap *per_tracker;  /* tracker name -> operations in flight (intptr_t) */
    int nops;                    /* operations in flight, including those waiting to retry */
    int nwait;                   /* ... of which waiting for a timer (a retry, a delayed find) */
    uint64_t triggered, adopted, errors, forwarded, cancelled;
};

/* What an operation must do. */
enum trigger_op_kind {
    TOP_TRIGGER = 0,             /* a fresh intent of this process: trigger directly */
    TOP_ADOPT,                   /* an intent found on disk: find by key, trigger if absent */
    TOP_CANCEL                   /* a superseded run: (find by key if no run, then) cancel */
};

/* The test an operation works on, as read from the record (all owned). */
struct trigger_test_spec {
    char *tracker, *hop, *name, *provider, *job, *key;
    char *repository, *ref, *sha;
    cJSON *params;
    int64_t timeout_ms;
    int64_t intent_ms;           /* wall ms of intentAt, 0 when unknown */
    cJSON *run;                  /* TOP_CANCEL: the run to cancel, or NULL */
};

/* promo_trigger_reprocess - re-run the last message of tracker name, if any
 * (called when its last operation ended). */
void promo_trigger_reprocess(struct stage *st, const char *name);

/* trigger_record_load - the record of name: 0 and *rec (caller frees), or
 * -ENOENT (absent), -EBADMSG (was corrupt: quarantined), other -errno. */
int trigger_record_load(struct stage *st, const char *name, cJSON **rec);
/* trigger_record_new - an empty record for t. */
cJSON *trigger_record_new(const struct tracker *t);
/* trigger_record_current - 1 when rec is for t's generation and head SHA. */
int trigger_record_current(const cJSON *rec, const struct tracker *t);
/* trigger_record_supersede - a fresh record for t that keeps rec's
 * "superseded" list and adds every test of rec with a run or an intent to it
 * (marked for cancellation unless the monitor saw it finish). rec is freed. */
cJSON *trigger_record_supersede(struct stage *st, cJSON *rec, const struct tracker *t);
/* trigger_record_hop - the hop of policy p in rec, created when absent. */
cJSON *trigger_record_hop(cJSON *rec, const struct policy *p);
/* trigger_record_test - the test named name in hop's "tests", or NULL. */
cJSON *trigger_record_test(const cJSON *hop, const char *name);
/* trigger_record_find_key - the test with key in any hop of rec (*hop gets
 * its hop), or NULL. */
cJSON *trigger_record_find_key(const cJSON *rec, const char *key, cJSON **hop);
/* trigger_record_find_superseded - the superseded entry with key, or NULL. */
cJSON *trigger_record_find_superseded(const cJSON *rec, const char *key);
/* trigger_record_plan_test - a new test entry for pt, attempt (1, or N for
 * `promoctl retry`; the key depends on it) (phase "intent", or "error" when
 * its job or a parameter does not substitute). */
cJSON *trigger_record_plan_test(const struct tracker *t, const struct policy *p,
                                const struct policy_test *pt, int attempt);
/* trigger_record_hop_ready - 1 when every test of hop has a run or an error. */
int trigger_record_hop_ready(const cJSON *hop);
/* trigger_record_save - write rec unless it equals old (NULL: always).
 * Returns 1 written, 0 unchanged, -1 on error (logged). */
int trigger_record_save(struct stage *st, const char *name, const cJSON *rec, const cJSON *old);
/* trigger_record_add_superseded - append e to rec's "superseded" (kept at
 * most TRIGGER_MAX_SUPERSEDED entries). e is taken. */
void trigger_record_add_superseded(cJSON *rec, cJSON *e);

/* trigger_ops_start - the adapter context and the in-flight set. */
void trigger_ops_init(struct stage *st);
void trigger_ops_stop(struct stage *st);
/* trigger_ops_busy - 1 while operations are in flight. */
int trigger_ops_busy(const struct stage *st);
/* trigger_ops_full - 1 while TRIGGER_MAX_AT_WORK operations are at work
 * (requests out or queued, not waiting to retry): the stage reads no more
 * input meanwhile, so that a burst of trackers waits upstream, one message
 * each, instead of here with its operations and requests (ops->paused). */
int trigger_ops_full(const struct stage *st);
/* trigger_ops_inflight - 1 when an operation on key is in flight. */
int trigger_ops_inflight(const struct stage *st, const char *key);
/* trigger_ops_tracker_busy - 1 when operations of tracker name are in flight. */
int trigger_ops_tracker_busy(const struct stage *st, const char *name);
/* trigger_ops_spec - the spec of test (an entry of a hop or of
 * "superseded") of tracker t (repository and ref) under hop name hop
 * (NULL: the entry's own "hop"). Free with trigger_ops_spec_free. */
struct trigger_test_spec *trigger_ops_spec(const struct tracker *t, const char *hop,
                                           const cJSON *test);
void trigger_ops_spec_free(struct trigger_test_spec *s);
/* trigger_ops_begin - start an operation of kind on spec (taken) unless one
 * on its key is in flight. Returns 1 started, 0 already in flight, -1 no
 * adapter for the provider (spec freed, logged). */
int trigger_ops_begin(struct stage *st, enum trigger_op_kind kind, struct trigger_test_spec *spec);

#endif
