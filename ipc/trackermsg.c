/* trackermsg.c - the one message discipline of ipc/stage.h: a tracker
 * message decoded into a struct, the tracker it names re-read and judged by
 * one staleness rule (docs/protocol.md, "Staleness"), and one forward that
 * carries unknown fields. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "ipc/stage.h"
#include "domain/store.h"
#include "domain/tracker.h"
#include "util/json.h"
#include "util/log.h"
#include "util/util.h"

/* tracker_msg_decode - see stage.h. */
int tracker_msg_decode(const cJSON *msg, struct tracker_msg *m, char *err, size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(msg, "generation");
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(msg, "tracker");
    const cJSON *sha;

    memset(m, 0, sizeof(*m));
    if (!cJSON_IsString(name) || !name_valid(name->valuestring)) {
        snprintf(err, errlen, "tracker message without a valid name");
        return -1;
    }
    if (!cJSON_IsNumber(gen) || gen->valuedouble < 0 || gen->valuedouble > TRACKER_GENERATION_MAX ||
        gen->valuedouble != (double)(int64_t)gen->valuedouble) {
        snprintf(err, errlen, "tracker message without a valid generation");
        return -1;
    }
    if (snap && !cJSON_IsObject(snap)) {
        snprintf(err, errlen, "field tracker: not an object");
        return -1;
    }
    m->name = name->valuestring;
    m->generation = (int64_t)gen->valuedouble;
    m->snapshot = snap;
    m->head_sha = json_str(cJSON_GetObjectItemCaseSensitive(snap, "spec"), "headSHA", NULL);
    if (!snap && (sha = cJSON_GetObjectItemCaseSensitive(msg, "headSHA")) != NULL) {
        /* a periodic resync's message without a snapshot names the head SHA */
        if (!cJSON_IsString(sha) || !tracker_sha_valid(sha->valuestring)) {
            snprintf(err, errlen, "field headSHA: not a commit SHA");
            return -1;
        }
        m->head_sha = sha->valuestring;
    }
    return 0;
}

/* stage_tracker - see stage.h. */
cJSON *stage_tracker(struct stage *st, const cJSON *msg, struct tracker *t, int flags)
{
    struct tracker_msg m;
    cJSON *doc = NULL;
    char err[256];
    int rc = -ENOENT;

    if (tracker_msg_decode(msg, &m, err, sizeof(err)) < 0) {
        log_warn("bad_message", "reason=%s", log_q(err));
        st->msgs_bad++;
        return NULL;
    }
    if (st->store) {
        rc = tracker_read(st->store, m.name, &doc, t, err, sizeof(err));
        if (rc == -EBADMSG) {
            log_warn("bad_tracker", "tracker=%s error=%s effect=dropped", m.name, log_q(err));
            return NULL;
        }
        if (rc < 0 && rc != -ENOENT) {
            log_warn("tracker_unreadable", "tracker=%s error=%s effect=dropped", m.name, log_q(strerror(-rc)));
            return NULL;
        }
    }
    if (rc == -ENOENT) {
        if (st->store && !st->dry_run) {
            log_info("tracker_gone", "tracker=%s reason=%s effect=dropped", m.name, log_q("not in the state dir"));
            return NULL;
        }
        if (!m.snapshot) {
            log_warn("bad_message", "tracker=%s reason=%s", m.name, log_q("no tracker snapshot"));
            st->msgs_bad++;
            return NULL;
        }
        doc = cJSON_Duplicate(m.snapshot, 1);
        if (tracker_decode(doc, t, err, sizeof(err)) < 0) {
            log_warn("bad_tracker", "tracker=%s error=%s effect=dropped", m.name, log_q(err));
            cJSON_Delete(doc);
            return NULL;
        }
        if (strcmp(t->name, m.name) != 0) {
            log_warn("bad_message", "tracker=%s reason=%s", m.name, log_q("name mismatch"));
            st->msgs_bad++;
            cJSON_Delete(doc);
            return NULL;
        }
    }
    if (t->generation != m.generation || (m.head_sha && strcasecmp(m.head_sha, t->head_sha) != 0) ||
        (!m.head_sha && (flags & STAGE_TRACKER_NEED_SHA))) {
        st->msgs_stale++;
        log_info("stale", "tracker=%s gen=%lld msg_gen=%lld sha=%.12s msg_sha=%.12s effect=dropped",
                 t->name, (long long)t->generation, (long long)m.generation, t->head_sha,
                 m.head_sha ? m.head_sha : "-");
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* stage_forward - see stage.h. */
cJSON *stage_forward(const struct stage *st, const cJSON *msg)
{
    /* "resync" too: a message this stage handled is news for the next one,
     * which must not pass it on unhandled (stage_memo) */
    static const char *const envelope[] = { "v", "kind", "from", "sent", "resync" };
    cJSON *out = stage_message_new(st, "tracker");
    const cJSON *it;
    size_t i;

    cJSON_ArrayForEach(it, msg) {
        for (i = 0; i < ARRAY_LEN(envelope) && strcmp(it->string, envelope[i]) != 0; i++)
            ;
        if (i == ARRAY_LEN(envelope) && !cJSON_HasObjectItem(out, it->string))
            cJSON_AddItemToObject(out, it->string, cJSON_Duplicate(it, 1));
    }
    return out;
}

/* stage_msg_set - see stage.h. */
void stage_msg_set(cJSON *msg, const char *key, cJSON *item)
{
    if (cJSON_HasObjectItem(msg, key))
        cJSON_ReplaceItemInObjectCaseSensitive(msg, key, item);
    else
        cJSON_AddItemToObject(msg, key, item);
}

