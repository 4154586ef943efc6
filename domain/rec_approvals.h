/* rec_approvals.h - STATE/approvals/NAME.json, the operator's word on the
 * hops of a tracker (docs/state.md, "The approvals record"): decoder and
 * encoder. promoctl approve and promoctl retry write it; domain/view.c,
 * promo-trigger and promo-promoter read it. */
#ifndef PROMO_REC_APPROVALS_H
#define PROMO_REC_APPROVALS_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/rec.h"
#include "domain/store.h"
#include "domain/tracker.h"

#define REC_APPROVALS_MAX_HOPS 256

/* The word on one hop (keyed by its source environment). */
struct rec_approval {
    const char *source;
    const char *target;          /* when set, the approval holds only for this target */
    const char *approved_by, *approved_at;          /* "" when not approved */
    int64_t retry_attempt;       /* promoctl retry: the attempt asked for, 0 when none */
    const char *retry_by, *retry_at;
};

struct rec_approvals {
    const char *name, *head_sha;
    int64_t generation;
    struct rec_approval *hops;
    int nhops, cap;
    struct rec_pool pool;
};

/* rec_approvals_decode - strict decoder (rec.h) of tracker name's record
 * (NULL: any). Returns 0, or -1 with err set. Free with rec_approvals_free
 * either way. */
int rec_approvals_decode(const cJSON *o, const char *name, struct rec_approvals *r, char *err, size_t errlen);
/* rec_approvals_encode - {name, generation, headSHA, hops: {SOURCE:
 * {approvedBy, approvedAt, target, retry: {attempt, requestedBy,
 * requestedAt}}}}, each member only when set. */
cJSON *rec_approvals_encode(const struct rec_approvals *r);
/* rec_approvals_free - release r. */
void rec_approvals_free(struct rec_approvals *r);
/* rec_approvals_hop - the word on the hop from source, or NULL. */
const struct rec_approval *rec_approvals_hop(const struct rec_approvals *r, const char *source);
/* rec_approvals_hop_add - the hop from source, added (empty) when absent;
 * its strings are set with rec_pool_add(&r->pool, ...). */
struct rec_approval *rec_approvals_hop_add(struct rec_approvals *r, const char *source);

/* rec_approvals_load - read STATE/approvals/NAME.json from s and decode it: 0;
 * -ENOENT when absent; -EBADMSG when corrupt (quarantined by the store) or
 * invalid (err says why); -ESTALE when t is given and the record is about
 * another generation or head SHA; another -errno when it cannot be read.
 * r is empty unless 0. Free with rec_approvals_free either way. */
int rec_approvals_load(struct store *s, const char *name, const struct tracker *t, struct rec_approvals *r,
                   char *err, size_t errlen);

#endif
