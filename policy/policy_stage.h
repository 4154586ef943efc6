/* policy_stage.h - promo-policy's own state, shared by the files of policy/.
 *
 *   promo_policy.c   main(), options, the message handler: re-read, decide, attach
 *   policy_reload.c  the policy set in force: load, inotify, resync timer
 *   policy_record.c  STATE/policy/NAME.json, this stage's record of each tracker
 *   policy_lint.c    --validate FILE|DIR...: the linter for CI pipelines */
#ifndef PROMO_POLICY_STAGE_H
#define PROMO_POLICY_STAGE_H

#include <stdint.h>
#include "domain/policy.h"
#include "domain/tracker.h"
#include "ipc/stage.h"

#define POLICY_AREA          "policy"   /* STATE/policy/: this stage's records */
#define POLICY_DEBOUNCE_MS   100        /* quiet time after a change before reloading */
#define POLICY_REASON_MAX    1024

struct policy_stage {
    struct policy_set *cur;          /* the last valid set: in force; NULL before any */
    int invalid;                     /* the files on disk do not form a valid set */
    int loaded;                      /* a load was attempted */
    char reason[POLICY_REASON_MAX];  /* when invalid: the first errors */
    int nerrors;                     /* when invalid: how many */
    uint64_t disk_fp;                /* fingerprint of the last load attempt */
    int64_t loaded_at;               /* wall ms: when cur came into force */
    int inotify, wd;                 /* -1 when not watching */
    int64_t reload_at;               /* monotonic ms of a pending debounced reload, 0 none */
    int64_t resync_at;               /* monotonic ms of the next resync reload */
    struct loop_timer *tick;         /* the next wake-up (policy_reload_wake), or NULL */
    int64_t tick_at;                 /* its monotonic ms */
    uint64_t reloads, rejected;
};

/* What this stage decided for one tracker. */
enum policy_outcome {
    PO_ATTACHED = 0,                 /* policy found and attached */
    PO_DONE,                         /* end of chain */
    PO_NOT_FOUND,                    /* PolicyNotFound */
    PO_NO_SET                        /* no valid policy set has ever loaded */
};

/* policy_reload_start - first load, inotify watch, timers. Returns 0. */
int policy_reload_start(struct stage *st);
/* policy_reload_now - load the directory; a valid set replaces the one in
 * force, an invalid one is reported and the old set kept. Records of every
 * tracker are refreshed when the outcome changed. why is for the log. */
void policy_reload_now(struct stage *st, const char *why);
void policy_reload_stop(struct stage *st);

/* policy_record_decide - what to do with t under the set in force. *pol gets
 * the policy for PO_ATTACHED. */
enum policy_outcome policy_record_decide(const struct policy_stage *ps, const struct tracker *t,
                                         const struct policy **pol);
/* policy_record_write - write STATE/policy/NAME.json for t and outcome when
 * it changed (no-op in --dry-run or without a store). */
void policy_record_write(struct stage *st, const struct tracker *t, enum policy_outcome o,
                         const struct policy *pol);
/* policy_record_refresh_all - decide and record every active tracker of the
 * state dir (after the set in force or its validity changed). */
void policy_record_refresh_all(struct stage *st);
/* policy_record_active - 1 for the states the pipeline works on. */
int policy_record_active(const struct tracker *t);

/* policy_lint_main - promo-policy --validate PATH...: exit 0 valid, 100 not. */
int policy_lint_main(int argc, char **argv);

#endif
