/* rec_approvals.c - the approvals record: decoder and encoder (rec_approvals.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec_approvals.h"
#include "util/util.h"

/* rec_approvals_hop_decode - one hop: approval and retry. */
static int rec_approvals_hop_decode(const cJSON *o, struct rec_approval *h, struct rec_pool *p, char *err,
                                    size_t errlen)
{
    char path[REC_MAX_NAME + 16];
    const cJSON *retry;

    if (strlen(o->string) > REC_MAX_NAME)
        return rec_err(err, errlen, "hops", "a key longer than %d bytes", REC_MAX_NAME);
    snprintf(path, sizeof(path), "hops.%s", o->string);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    h->source = rec_pool_add(p, o->string);
    if (rec_str(o, path, "target", 0, REC_MAX_NAME, p, &h->target, err, errlen) < 0 ||
        rec_str(o, path, "approvedBy", 0, REC_MAX_ID, p, &h->approved_by, err, errlen) < 0 ||
        rec_str(o, path, "approvedAt", 0, REC_MAX_ID, p, &h->approved_at, err, errlen) < 0 ||
        rec_member(o, path, "retry", cJSON_Object, 16, &retry, err, errlen) < 0)
        return -1;
    h->retry_by = h->retry_at = "";
    if (!retry)
        return 0;
    snprintf(path, sizeof(path), "hops.%s.retry", o->string);
    if (rec_int(retry, path, "attempt", 0, 0, 1000000, 0, &h->retry_attempt, err, errlen) < 0 ||
        rec_str(retry, path, "requestedBy", 0, REC_MAX_ID, p, &h->retry_by, err, errlen) < 0 ||
        rec_str(retry, path, "requestedAt", 0, REC_MAX_ID, p, &h->retry_at, err, errlen) < 0)
        return -1;
    return 0;
}

/* rec_approvals_decode - name, generation, headSHA, hops. */
int rec_approvals_decode(const cJSON *o, const char *name, struct rec_approvals *r, char *err, size_t errlen)
{
    const cJSON *hops, *it;

    memset(r, 0, sizeof(*r));
    if (rec_head(o, "name", name, 0, &r->pool, &r->name, &r->generation, &r->head_sha, err, errlen) < 0 ||
        rec_member(o, "", "hops", cJSON_Object, REC_APPROVALS_MAX_HOPS, &hops, err, errlen) < 0)
        goto fail;
    if (!hops) {
        rec_err(err, errlen, "hops", "required");
        goto fail;
    }
    r->cap = cJSON_GetArraySize(hops) + 1;
    r->hops = xcalloc((size_t)r->cap, sizeof(*r->hops));
    cJSON_ArrayForEach(it, hops)
        if (rec_approvals_hop_decode(it, &r->hops[r->nhops++], &r->pool, err, errlen) < 0)
            goto fail;
    return 0;
fail:
    rec_approvals_free(r);
    return -1;
}

/* rec_approvals_encode - members only when set. */
cJSON *rec_approvals_encode(const struct rec_approvals *r)
{
    cJSON *o = cJSON_CreateObject(), *hops;
    int i;

    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddNumberToObject(o, "generation", (double)r->generation);
    cJSON_AddStringToObject(o, "headSHA", r->head_sha);
    hops = cJSON_AddObjectToObject(o, "hops");
    for (i = 0; i < r->nhops; i++) {
        const struct rec_approval *h = &r->hops[i];
        cJSON *j = cJSON_AddObjectToObject(hops, h->source);

        if (h->target && h->target[0])
            cJSON_AddStringToObject(j, "target", h->target);
        if (h->approved_by && h->approved_by[0]) {
            cJSON_AddStringToObject(j, "approvedBy", h->approved_by);
            cJSON_AddStringToObject(j, "approvedAt", h->approved_at ? h->approved_at : "");
        }
        if (h->retry_attempt > 0) {
            cJSON *rt = cJSON_AddObjectToObject(j, "retry");
            cJSON_AddNumberToObject(rt, "attempt", (double)h->retry_attempt);
            cJSON_AddStringToObject(rt, "requestedBy", h->retry_by ? h->retry_by : "");
            cJSON_AddStringToObject(rt, "requestedAt", h->retry_at ? h->retry_at : "");
        }
    }
    return o;
}

/* rec_approvals_free - release r. */
void rec_approvals_free(struct rec_approvals *r)
{
    free(r->hops);
    rec_pool_free(&r->pool);
    memset(r, 0, sizeof(*r));
}

/* rec_approvals_hop - by source. */
const struct rec_approval *rec_approvals_hop(const struct rec_approvals *r, const char *source)
{
    int i;

    for (i = 0; i < r->nhops; i++)
        if (strcmp(r->hops[i].source, source) == 0)
            return &r->hops[i];
    return NULL;
}

/* rec_approvals_hop_add - find or append. */
struct rec_approval *rec_approvals_hop_add(struct rec_approvals *r, const char *source)
{
    struct rec_approval *h = (struct rec_approval *)rec_approvals_hop(r, source);

    if (h)
        return h;
    if (r->nhops == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 4;
        r->hops = xrealloc(r->hops, (size_t)r->cap * sizeof(*r->hops));
    }
    h = &r->hops[r->nhops++];
    memset(h, 0, sizeof(*h));
    h->source = rec_pool_add(&r->pool, source);
    h->target = h->approved_by = h->approved_at = h->retry_by = h->retry_at = "";
    return h;
}

/* rec_approvals_load - store_read, decode, check the head. */
int rec_approvals_load(struct store *s, const char *name, const struct tracker *t, struct rec_approvals *r,
                   char *err, size_t errlen)
{
    cJSON *o;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = rec_read(s, "approvals", name, &o, err, errlen);
    if (rc < 0)
        return rc;
    rc = rec_approvals_decode(o, name, r, err, errlen) < 0 ? -EBADMSG : 0;
    cJSON_Delete(o);
    if (rc == 0 && (rc = rec_stale(t, r->generation, r->head_sha, err, errlen)) < 0)
        rec_approvals_free(r);
    return rc;
}
