/* rec_monitor.h - STATE/monitor/NAME.json, promo-monitor's record of the
 * results of each hop's tests and their aggregate (docs/state.md, "The
 * monitor record"): its decoder, for every reader (domain/view.c,
 * promo-trigger, promo-promoter, and promo-monitor after a restart). */
#ifndef PROMO_REC_MONITOR_H
#define PROMO_REC_MONITOR_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/aggregate.h"
#include "domain/rec.h"
#include "domain/store.h"
#include "domain/tracker.h"

#define REC_MONITOR_MAX_HOPS   256
#define REC_MONITOR_MAX_TESTS  256     /* per hop (MONITOR_MAX_TESTS) */

/* One test's result (keyed by its name). */
struct rec_monitor_test {
    const char *name, *key, *provider;
    const char *status;          /* run_status_name() or "error" ("" when absent) */
    const char *ci_status, *detail, *url, *run_id, *error;
    const char *deadline, *deadline_reason, *finished_at, *last_polled_at;
    int required, timed_out, cancelled;
    int64_t duration_ms;         /* -1 when unknown */
};

/* A hop's "revisionCheck": promo-monitor asked Argo CD whether the source
 * application still runs the head SHA before the passed tests count
 * (docs/state.md, "The monitor record"). */
enum rec_monitor_rev {
    RMR_NONE = 0,                /* no check recorded */
    RMR_PENDING,                 /* asked, not decided (temporary errors) */
    RMR_CONFIRMED,               /* Synced and Healthy at the SHA */
    RMR_CHANGED,                 /* another revision: DeployedRevisionChanged */
    RMR_UNVERIFIED,              /* could not be asked for good: DeployedRevisionUnverified */
};

struct rec_monitor_check {
    enum rec_monitor_rev outcome;
    const char *cluster, *application, *expected, *revision, *sync, *health, *checked_at, *error, *reason;
    int64_t attempts;
};

/* One hop (keyed by its source environment). */
struct rec_monitor_hop {
    const char *source, *target, *policy, *started_at, *policy_deadline;
    struct rec_monitor_test *tests;
    int ntests;
    int has_tests;               /* "tests" is there (it may be empty) */
    int has_aggregate;
    struct aggregate aggregate;  /* with has_aggregate */
    const char *decided_at;      /* the aggregate's decidedAt, "" while undecided */
    struct rec_monitor_check check;   /* outcome RMR_NONE when absent */
};

struct rec_monitor {
    const char *name, *head_sha;
    int64_t generation;
    struct rec_monitor_hop *hops;
    int nhops;
    struct rec_pool pool;
};

/* rec_monitor_decode - strict decoder (rec.h) of tracker name's record
 * (NULL: any). Returns 0, or -1 with err set. Free with rec_monitor_free
 * either way. */
int rec_monitor_decode(const cJSON *o, const char *name, struct rec_monitor *r, char *err, size_t errlen);
/* rec_monitor_free - release r. */
void rec_monitor_free(struct rec_monitor *r);
/* rec_monitor_hop - the hop from source, or NULL. */
const struct rec_monitor_hop *rec_monitor_hop(const struct rec_monitor *r, const char *source);
/* rec_monitor_hop_test - the test named name of hop h (may be NULL), or NULL. */
const struct rec_monitor_test *rec_monitor_hop_test(const struct rec_monitor_hop *h, const char *name);
/* rec_monitor_rev_name - "pending", "confirmed", "changed", "unverified" ("" for none). */
const char *rec_monitor_rev_name(enum rec_monitor_rev r);
/* rec_monitor_voided - 1 when h's results were voided by its revision
 * check (changed or unverified): the reason is h->check.reason. */
int rec_monitor_voided(const struct rec_monitor_hop *h);
/* rec_monitor_decided - 1 when h has a decided aggregate. */
int rec_monitor_decided(const struct rec_monitor_hop *h);

/* rec_monitor_load - read STATE/monitor/NAME.json from s and decode it: 0;
 * -ENOENT when absent; -EBADMSG when corrupt (quarantined by the store) or
 * invalid (err says why); -ESTALE when t is given and the record is about
 * another generation or head SHA; another -errno when it cannot be read.
 * r is empty unless 0. Free with rec_monitor_free either way. */
int rec_monitor_load(struct store *s, const char *name, const struct tracker *t, struct rec_monitor *r,
                   char *err, size_t errlen);

#endif
