/* rec_policy.h - STATE/policy/NAME.json, promo-policy's record of which
 * policy governs a tracker in its environment (docs/policy.md): decoder
 * and encoder. promo-policy writes it; domain/view.c reads it. */
#ifndef PROMO_REC_POLICY_H
#define PROMO_REC_POLICY_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/rec.h"

/* What the record says of the tracker's environment ("state"). */
enum rec_policy_state {
    RPS_ATTACHED = 0,            /* "attached": a policy governs the hop */
    RPS_DONE,                    /* "done": the end of its chain */
    RPS_BLOCKED,                 /* "blocked": no policy (conditions say why) */
    RPS_COUNT
};

struct rec_policy {
    const char *tracker, *head_sha;
    int64_t generation;
    const char *environment;
    enum rec_policy_state state;
    const char *policy, *target, *policy_file;   /* "" unless attached */
    const char *reason;                          /* with done: why it is the end */
    struct rec_condition conditions[REC_MAX_CONDITIONS];
    int nconditions;
    const char *updated;                         /* when written ("" to leave it out) */
    struct rec_pool pool;
};

/* rec_policy_state_name - "attached", "done", "blocked". */
const char *rec_policy_state_name(enum rec_policy_state s);
/* rec_policy_decode - strict decoder (rec.h) of tracker name's record (NULL:
 * any). Returns 0, or -1 with err set. Free with rec_policy_free either way. */
int rec_policy_decode(const cJSON *o, const char *name, struct rec_policy *r, char *err, size_t errlen);
/* rec_policy_encode - the record as written (NULL strings count as ""). */
cJSON *rec_policy_encode(const struct rec_policy *r);
/* rec_policy_free - release what the decoder allocated. */
void rec_policy_free(struct rec_policy *r);

#endif
