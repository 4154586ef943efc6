/* webhook_index.c - which tracker a webhook is about. The trigger records
 * (STATE/trigger/NAME.json: each test's idempotency key, provider and run)
 * and the promoter records (STATE/promoter/NAME.json: each hop's Argo CD
 * application) are read, never written, into an index by key, by run id
 * and by application. It is rebuilt when inotify reports a change to those
 * folders, and on a miss (at most every WEBHOOK_RESCAN_MS, so a flood of
 * unknown runs costs little). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "webhook/webhook.h"

#define WEBHOOK_RECORD_MAX (4 << 20)

/* webhook_index_str - the string member name of o, or "". */
static const char *webhook_index_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}

/* webhook_index_put - index t under key (a copy). */
static void webhook_index_put(struct strmap *m, const char *key, const struct webhook_target *t)
{
    struct webhook_target *c = xmalloc(sizeof(*c));

    *c = *t;
    free(strmap_put(m, key, c));
}

/* webhook_index_trigger - index the tests of one trigger record. */
static void webhook_index_trigger(struct strmap *m, const cJSON *rec)
{
    const cJSON *hop, *te;
    char k[400];

    cJSON_ArrayForEach(hop, cJSON_GetObjectItemCaseSensitive(rec, "hops")) {
        cJSON_ArrayForEach(te, cJSON_GetObjectItemCaseSensitive(hop, "tests")) {
            const cJSON *run = cJSON_GetObjectItemCaseSensitive(te, "run");
            const char *url = webhook_index_str(run, "url"), *q;
            struct webhook_target t;

            memset(&t, 0, sizeof(t));
            str_copy(t.tracker, webhook_index_str(rec, "name"), sizeof(t.tracker));
            str_copy(t.test, webhook_index_str(te, "name"), sizeof(t.test));
            str_copy(t.key, webhook_index_str(te, "key"), sizeof(t.key));
            str_copy(t.provider, webhook_index_str(te, "provider"), sizeof(t.provider));
            str_copy(t.run_id, webhook_index_str(run, "id"), sizeof(t.run_id));
            if (!t.tracker[0] || !t.test[0])
                continue;
            if (t.key[0]) {
                snprintf(k, sizeof(k), "key:%s", t.key);
                webhook_index_put(m, k, &t);
            }
            if (t.run_id[0]) {
                snprintf(k, sizeof(k), "run:%s:%s", t.provider, t.run_id);
                webhook_index_put(m, k, &t);
            }
            if (strcmp(t.provider, "jenkins") == 0 && (q = strstr(url, "/queue/item/")) != NULL) {
                long id = strtol(q + 12, NULL, 10);
                if (id > 0) {
                    snprintf(k, sizeof(k), "run:jenkins:%ld", id);
                    webhook_index_put(m, k, &t);
                }
            }
        }
    }
}

/* webhook_index_promoter - index the Argo CD applications of one promoter record. */
static void webhook_index_promoter(struct strmap *m, const cJSON *rec)
{
    const cJSON *hop;
    char k[400];

    cJSON_ArrayForEach(hop, cJSON_GetObjectItemCaseSensitive(rec, "hops")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(hop, "argocd");
        struct webhook_target t;

        memset(&t, 0, sizeof(t));
        str_copy(t.tracker, webhook_index_str(rec, "name"), sizeof(t.tracker));
        str_copy(t.application, webhook_index_str(a, "application"), sizeof(t.application));
        str_copy(t.cluster, webhook_index_str(a, "cluster"), sizeof(t.cluster));
        str_copy(t.provider, "argocd", sizeof(t.provider));
        if (!t.tracker[0] || !t.application[0])
            continue;
        snprintf(k, sizeof(k), "app:%s", t.application);
        webhook_index_put(m, k, &t);
    }
}

/* webhook_index_area - read every record of area into m with fn. */
static void webhook_index_area(struct stage *st, struct strmap *m, const char *area,
                               void (*fn)(struct strmap *, const cJSON *))
{
    char dir[4096], path[4400], *buf;
    struct dirent *de;
    size_t len, n;
    DIR *d;

    if (!st->store || !store_area_path(st->store, area, dir, sizeof(dir)) || !(d = opendir(dir)))
        return;
    while ((de = readdir(d)) != NULL) {
        n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (read_file(path, WEBHOOK_RECORD_MAX, &buf, &len) == 0) {
            cJSON *rec = cJSON_ParseWithLength(buf, len);
            if (cJSON_IsObject(rec))
                fn(m, rec);
            cJSON_Delete(rec);
            free(buf);
        }
    }
    closedir(d);
}

/* webhook_index_scan - rebuild the index from the records. */
static void webhook_index_scan(struct stage *st, struct webhook_index *ix)
{
    struct strmap *m = strmap_new();

    webhook_index_area(st, m, "trigger", webhook_index_trigger);
    webhook_index_area(st, m, "promoter", webhook_index_promoter);
    strmap_free(ix->map, free);
    ix->map = m;
    ix->dirty = 0;
    ix->scanned_ms = now_ms();
    ix->scans++;
    log_debug("index", "entries=%zu", strmap_count(m));
}

/* webhook_index_inotify - a record changed: rescan before the next lookup. */
static void webhook_index_inotify(struct stage *st, int fd, short revents, void *arg)
{
    struct webhook_index *ix = arg;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));

    while (read(fd, buf, sizeof(buf)) > 0)
        ix->dirty = 1;
}

/* webhook_index_open - watch the record folders and scan them once. */
int webhook_index_open(struct stage *st, struct webhook_index *ix)
{
    static const char *const areas[] = { "trigger", "promoter" };
    char dir[4096];
    size_t i;

    memset(ix, 0, sizeof(*ix));
    ix->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (i = 0; ix->inotify >= 0 && st->store && i < ARRAY_LEN(areas); i++) {
        if (store_area_path(st->store, areas[i], dir, sizeof(dir)) &&
            inotify_add_watch(ix->inotify, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0)
            log_info("inotify", "dir=%s error=%s effect=%s", log_q(dir), log_q(strerror(errno)),
                     log_q("rescanned on a miss only"));
    }
    if (ix->inotify >= 0)
        stage_watch_fd_cb(st, ix->inotify, ZMQ_POLLIN, webhook_index_inotify, ix);
    webhook_index_scan(st, ix);
    return 0;
}

/* webhook_index_close - free the index. */
void webhook_index_close(struct webhook_index *ix)
{
    if (ix->inotify >= 0)
        close(ix->inotify);
    ix->inotify = -1;
    strmap_free(ix->map, free);
    ix->map = NULL;
}

/* webhook_index_find - the entry for ev in the index as it is, or NULL. */
static const struct webhook_target *webhook_index_find(const struct webhook_index *ix,
                                                       const struct webhook_event *ev)
{
    static const char *const providers[] = { "github-actions", "gitlab", "jenkins", "argocd" };
    const struct webhook_target *t;
    char k[400];
    int i;

    if (ev->source == WH_ARGOCD) {
        snprintf(k, sizeof(k), "app:%s", ev->application);
        return strmap_get(ix->map, k);
    }
    for (i = 0; i < ev->nkeys; i++) {
        snprintf(k, sizeof(k), "key:%s", ev->keys[i]);
        if ((t = strmap_get(ix->map, k)) != NULL && strcmp(t->provider, providers[ev->source]) == 0)
            return t;
    }
    if (ev->run_id[0]) {
        snprintf(k, sizeof(k), "run:%s:%s", providers[ev->source], ev->run_id);
        return strmap_get(ix->map, k);
    }
    return NULL;
}

/* webhook_index_match - see webhook.h. */
const struct webhook_target *webhook_index_match(struct stage *st, struct webhook_index *ix,
                                                 const struct webhook_event *ev)
{
    const struct webhook_target *t;

    if (ix->dirty)
        webhook_index_scan(st, ix);
    t = webhook_index_find(ix, ev);
    if (!t && now_ms() - ix->scanned_ms >= WEBHOOK_RESCAN_MS) {
        webhook_index_scan(st, ix);
        t = webhook_index_find(ix, ev);
    }
    return t;
}
