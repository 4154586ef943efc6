/* rec_watcher.h - STATE/watcher/NAME.json, promo-watcher's record of a
 * promoted deployment (docs/state.md, "The watcher record"): its decoder
 * and encoder. promo-watcher writes it; domain/view.c reads it. */
#ifndef PROMO_REC_WATCHER_H
#define PROMO_REC_WATCHER_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/rec.h"

struct rec_watcher {
    const char *name, *head_sha;
    int64_t generation;
    const char *environment;     /* where the promotion went */
    const char *state;           /* "deploying" or "synced" */
    const char *observed_at, *deploy_deadline;
    struct rec_condition conditions[REC_MAX_CONDITIONS];   /* DeployTimeout */
    int nconditions;
    struct rec_pool pool;
};

/* rec_watcher_decode - strict decoder (rec.h) of tracker name's record
 * (name NULL: any). Returns 0, or -1 with err set. Free with
 * rec_watcher_free either way. */
int rec_watcher_decode(const cJSON *o, const char *name, struct rec_watcher *r, char *err, size_t errlen);
/* rec_watcher_encode - the record as written (strings may be NULL for ""). */
cJSON *rec_watcher_encode(const struct rec_watcher *r);
/* rec_watcher_free - release what the decoder allocated. */
void rec_watcher_free(struct rec_watcher *r);
/* rec_watcher_timeout - its DeployTimeout condition (status not "False"), or NULL. */
const struct rec_condition *rec_watcher_timeout(const struct rec_watcher *r);

#endif
