/* rec_trigger.h - STATE/trigger/NAME.json, promo-trigger's record of the
 * tests it started for a tracker (docs/state.md, "The trigger record"): its
 * decoder, for every reader (domain/view.c, promo-monitor, promo-promoter,
 * promo-webhook). promo-trigger, its writer, edits the document in place
 * (trigger/trigger_record.c) so that members it does not know survive. */
#ifndef PROMO_REC_TRIGGER_H
#define PROMO_REC_TRIGGER_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/rec.h"
#include "domain/store.h"
#include "domain/tracker.h"

#define REC_TRIGGER_MAX_HOPS        256
#define REC_TRIGGER_MAX_TESTS       256     /* per hop (MONITOR_MAX_TESTS) */
#define REC_TRIGGER_MAX_SUPERSEDED  1024    /* TRIGGER_MAX_SUPERSEDED is lower */
#define REC_TRIGGER_MAX_PARAMS      256

/* The phase of a test ("phase"). */
enum trig_phase {
    TP_INTENT = 0,               /* persisted; the CI not yet known to have it */
    TP_TRIGGERED,                /* the CI has it: "run" says where */
    TP_ERROR,                    /* the CI refused it for good: "error" says why */
    TP_COUNT
};

/* A run as the CI answered ("run"; adapters/adapter.h writes it). */
struct rec_run {
    int present;                 /* 0: null or absent */
    const char *id, *url, *api, *status;
};

/* One test of a hop. */
struct rec_trigger_test {
    const char *name, *provider, *job, *key;
    enum trig_phase phase;
    int required;                /* default 1 */
    int64_t timeout_ms, attempt; /* attempt default 1 */
    const char *intent_at, *triggered_at, *errored_at, *error;
    struct rec_run run;
};

/* One hop (keyed by its source environment). */
struct rec_trigger_hop {
    const char *source, *target, *policy, *started_at;
    int64_t policy_timeout_ms;   /* 0 when absent */
    int auto_promote;            /* default 1 */
    struct rec_trigger_test *tests;
    int ntests;
};

/* A test of an older generation, attempt or SHA ("superseded"). */
struct rec_superseded {
    const char *hop, *name, *provider, *job, *key, *head_sha, *cancel;
    int64_t generation, attempt;
    struct rec_run run;
};

struct rec_trigger {
    const char *name, *head_sha;
    int64_t generation;
    struct rec_trigger_hop *hops;
    int nhops;
    struct rec_superseded *superseded;
    int nsuperseded;
    struct rec_pool pool;
};

/* trig_phase_name - "intent", "triggered", "error". */
const char *trig_phase_name(enum trig_phase p);
/* trig_phase_parse - -1 when unknown. */
int trig_phase_parse(const char *s);

/* rec_trigger_decode - strict decoder (rec.h) of tracker name's record
 * (NULL: any). Returns 0, or -1 with err set. Free with rec_trigger_free
 * either way. */
int rec_trigger_decode(const cJSON *o, const char *name, struct rec_trigger *r, char *err, size_t errlen);
/* rec_trigger_free - release r. */
void rec_trigger_free(struct rec_trigger *r);
/* rec_trigger_hop - the hop from source, or NULL. */
const struct rec_trigger_hop *rec_trigger_hop(const struct rec_trigger *r, const char *source);
/* rec_trigger_hop_test - the test named name of hop h (may be NULL), or NULL. */
const struct rec_trigger_test *rec_trigger_hop_test(const struct rec_trigger_hop *h, const char *name);

/* rec_trigger_load - read STATE/trigger/NAME.json from s and decode it: 0;
 * -ENOENT when absent; -EBADMSG when corrupt (quarantined by the store) or
 * invalid (err says why); -ESTALE when t is given and the record is about
 * another generation or head SHA; another -errno when it cannot be read.
 * r is empty unless 0. Free with rec_trigger_free either way. */
int rec_trigger_load(struct store *s, const char *name, const struct tracker *t, struct rec_trigger *r,
                   char *err, size_t errlen);

#endif
