/* webhook_index.c - which tracker a webhook is about. The trigger records
 * (STATE/trigger/NAME.json: each test's idempotency key, provider and run)
 * and the promoter records (STATE/promoter/NAME.json: each hop's Argo CD
 * application) are read, never written, into an index by key, by run id
 * and by application. They are read as every other reader reads them, with
 * their one strict decoder (domain/rec_trigger.h, domain/rec_promoter.h):
 * a record its decoder refuses is absent here, as it is to the view, so a
 * webhook never hints about what the stages themselves would not act on.
 * Each record's entries are known by the record, so
 * when inotify names a record as changed only that record is read again,
 * before the next lookup. Everything is read at start, when inotify's queue
 * overflowed, and - without inotify - on a miss (at most every
 * WEBHOOK_RESCAN_MS, so a flood of unknown runs costs little). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zmq.h>

#include "util/log.h"
#include "util/util.h"
#include "domain/rec_promoter.h"
#include "domain/rec_trigger.h"
#include "domain/store.h"
#include "webhook/webhook.h"

#define WEBHOOK_CHANGED_MAX 4096      /* more changed records than this: read them all */

static const char *const webhook_areas[2] = { "trigger", "promoter" };

/* The keys one record put in the index. */
struct webhook_owned {
    char **keys;
    size_t n, cap;
};

/* webhook_owned_free - strmap value destructor. */
static void webhook_owned_free(void *v)
{
    struct webhook_owned *o = v;
    size_t i;

    if (!o)
        return;
    for (i = 0; i < o->n; i++)
        free(o->keys[i]);
    free(o->keys);
    free(o);
}

/* webhook_target_free - strmap value destructor: a target and its chain. */
static void webhook_target_free(void *v)
{
    struct webhook_target *t = v, *next;

    for (; t; t = next) {
        next = t->next;
        free(t);
    }
}

/* The fields of an entry, and the most bytes each keeps (longer is cut). */
enum { WT_OWNER, WT_TRACKER, WT_TEST, WT_KEY, WT_RUN_ID, WT_PROVIDER, WT_APPLICATION, WT_CLUSTER, WT_N };
static const size_t webhook_target_max[WT_N] = { 299, 253, 127, 63, 31, 31, 253, 63 };

/* webhook_target_new - an entry holding copies of the strings f[WT_N]
 * (NULL as ""), in one allocation. */
static struct webhook_target *webhook_target_new(const char *const *f)
{
    size_t len[WT_N], total = 0;
    const char **out[WT_N];
    struct webhook_target *t;
    char *p;
    int i;

    for (i = 0; i < WT_N; i++)
        total += (len[i] = f[i] ? strnlen(f[i], webhook_target_max[i]) : 0) + 1;
    t = xmalloc(sizeof(*t) + total);
    out[WT_OWNER] = &t->owner, out[WT_TRACKER] = &t->tracker, out[WT_TEST] = &t->test;
    out[WT_KEY] = &t->key, out[WT_RUN_ID] = &t->run_id, out[WT_PROVIDER] = &t->provider;
    out[WT_APPLICATION] = &t->application, out[WT_CLUSTER] = &t->cluster;
    t->next = NULL;
    for (p = t->buf, i = 0; i < WT_N; i++) {
        memcpy(p, f[i] ? f[i] : "", len[i]);
        p[len[i]] = '\0';
        *out[i] = p;
        p += len[i] + 1;
    }
    return t;
}

/* webhook_index_put - index an entry of fields f under key, and note that
 * its record (f[WT_OWNER]) put it there. An "app:" key chains one target
 * per tracker; any other key holds one. */
static void webhook_index_put(struct webhook_index *ix, struct webhook_owned *o, const char *key,
                              const char *const *f)
{
    struct webhook_target *c, *head = strmap_get(ix->map, key);

    if (strncmp(key, "app:", 4) == 0) {
        for (c = head; c; c = c->next)
            if (strcmp(c->owner, f[WT_OWNER]) == 0 && strcmp(c->tracker, f[WT_TRACKER]) == 0)
                return;          /* two hops of one record to the same application */
    }
    c = webhook_target_new(f);
    if (strncmp(key, "app:", 4) == 0)
        c->next = head;
    else
        free(head);
    strmap_put(ix->map, key, c);
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 8;
        o->keys = xrealloc(o->keys, o->cap * sizeof(*o->keys));
    }
    o->keys[o->n++] = xstrdup(key);
}

/* webhook_index_drop - take the entries of record owner out of the index. */
static void webhook_index_drop(struct webhook_index *ix, const char *owner)
{
    struct webhook_owned *o = strmap_del(ix->owned, owner);
    struct webhook_target *t, **pp;
    size_t i;

    for (i = 0; o && i < o->n; i++) {
        t = strmap_get(ix->map, o->keys[i]);
        if (!t)
            continue;
        if (strncmp(o->keys[i], "app:", 4) != 0) {
            if (strcmp(t->owner, owner) == 0)
                free(strmap_del(ix->map, o->keys[i]));
            continue;
        }
        for (pp = &t; *pp;) {
            if (strcmp((*pp)->owner, owner) == 0) {
                struct webhook_target *gone = *pp;
                *pp = gone->next;
                free(gone);
            } else {
                pp = &(*pp)->next;
            }
        }
        if (t)
            strmap_put(ix->map, o->keys[i], t);
        else
            strmap_del(ix->map, o->keys[i]);
    }
    webhook_owned_free(o);
}

/* webhook_index_trigger - index the tests of one decoded trigger record
 * (the tests of its hops; a superseded run no longer decides anything). */
static void webhook_index_trigger(struct webhook_index *ix, struct webhook_owned *o, const char *owner,
                                  const struct rec_trigger *rec)
{
    char k[400];
    int h, i;

    for (h = 0; h < rec->nhops; h++) {
        for (i = 0; i < rec->hops[h].ntests; i++) {
            const struct rec_trigger_test *te = &rec->hops[h].tests[i];
            const char *f[WT_N] = { owner, rec->name, te->name, te->key, te->run.id, te->provider, NULL, NULL };
            const char *q;

            if (f[WT_KEY][0]) {
                snprintf(k, sizeof(k), "key:%s", f[WT_KEY]);
                webhook_index_put(ix, o, k, f);
            }
            if (f[WT_RUN_ID][0]) {
                snprintf(k, sizeof(k), "run:%.*s:%.*s", (int)webhook_target_max[WT_PROVIDER], f[WT_PROVIDER],
                         (int)webhook_target_max[WT_RUN_ID], f[WT_RUN_ID]);
                webhook_index_put(ix, o, k, f);
            }
            /* a Jenkins run that is still a queue item is known by the
             * item's number until it has a build number */
            if (strcmp(f[WT_PROVIDER], "jenkins") == 0 && (q = strstr(te->run.url, "/queue/item/")) != NULL) {
                long id = strtol(q + 12, NULL, 10);
                if (id > 0) {
                    snprintf(k, sizeof(k), "run:jenkins:%ld", id);
                    webhook_index_put(ix, o, k, f);
                }
            }
        }
    }
}

/* webhook_index_promoter - index the Argo CD applications of one decoded
 * promoter record. */
static void webhook_index_promoter(struct webhook_index *ix, struct webhook_owned *o, const char *owner,
                                   const struct rec_promoter *rec)
{
    char k[400];
    int h;

    for (h = 0; h < rec->nhops; h++) {
        const struct rec_promoter_hop *hop = &rec->hops[h];
        const char *f[WT_N] = { owner, rec->name, NULL, NULL, NULL, "argocd", hop->application, hop->cluster };

        if (!hop->application[0])
            continue;
        snprintf(k, sizeof(k), "app:%.*s", (int)webhook_target_max[WT_APPLICATION], hop->application);
        webhook_index_put(ix, o, k, f);
    }
}

/* webhook_record_name - 1 when file is a record's name (NAME.json, not hidden). */
static int webhook_record_name(const char *file)
{
    size_t n = strlen(file);

    return file[0] != '.' && n >= 6 && strcmp(file + n - 5, ".json") == 0;
}

/* webhook_index_load - read record area/file (again): its old entries go,
 * its present ones come in; a record gone, unreadable, corrupt (the store
 * quarantines it) or refused by its decoder leaves none. */
static void webhook_index_load(struct stage *st, struct webhook_index *ix, int area, const char *file)
{
    char owner[300], name[REC_MAX_NAME + 1], err[256];
    struct webhook_owned *o;
    size_t n = strlen(file) - 5;      /* webhook_record_name: it ends in ".json" */
    cJSON *doc = NULL;
    int rc;

    if ((size_t)snprintf(owner, sizeof(owner), "%s/%s", webhook_areas[area], file) >= sizeof(owner))
        return;
    webhook_index_drop(ix, owner);
    if (n > REC_MAX_NAME || !st->store)
        return;
    memcpy(name, file, n);
    name[n] = '\0';
    if (store_read(st->store, webhook_areas[area], name, &doc) < 0)
        return;
    o = xcalloc(1, sizeof(*o));
    if (area == 0) {
        struct rec_trigger rec;

        if ((rc = rec_trigger_decode(doc, name, &rec, err, sizeof(err))) == 0)
            webhook_index_trigger(ix, o, owner, &rec);
        rec_trigger_free(&rec);
    } else {
        struct rec_promoter rec;

        if ((rc = rec_promoter_decode(doc, name, &rec, err, sizeof(err))) == 0)
            webhook_index_promoter(ix, o, owner, &rec);
        rec_promoter_free(&rec);
    }
    cJSON_Delete(doc);
    if (rc < 0) {
        /* as domain/view.c: the stages ignore it, so no webhook names it */
        log_debug("record_invalid", "area=%s tracker=%s error=%s effect=%s", webhook_areas[area], log_q(name),
                  log_q(err), log_q("not indexed"));
        webhook_owned_free(o);
        return;
    }
    strmap_put(ix->owned, owner, o);
}

/* webhook_index_scan - read every record into a new index. */
static void webhook_index_scan(struct stage *st, struct webhook_index *ix)
{
    char dir[4096];
    struct dirent *de;
    int area;
    DIR *d;

    strmap_free(ix->map, webhook_target_free);
    strmap_free(ix->owned, webhook_owned_free);
    strmap_free(ix->changed, NULL);
    ix->map = strmap_new();
    ix->owned = strmap_new();
    ix->changed = strmap_new();
    for (area = 0; area < 2; area++) {
        if (!st->store || !store_area_path(st->store, webhook_areas[area], dir, sizeof(dir)) ||
            !(d = opendir(dir)))
            continue;
        while ((de = readdir(d)) != NULL)
            if (webhook_record_name(de->d_name))
                webhook_index_load(st, ix, area, de->d_name);
        closedir(d);
    }
    ix->rescan = 0;
    ix->scanned_ms = now_ms();
    ix->scans++;
    log_debug("index", "entries=%zu records=%zu", strmap_count(ix->map), strmap_count(ix->owned));
}

/* webhook_index_drain - note the records inotify names as changed. */
static void webhook_index_drain(struct webhook_index *ix)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    const struct inotify_event *ev;
    char owner[300];
    ssize_t n;
    char *p;
    int area;

    while (ix->inotify >= 0 && (n = read(ix->inotify, buf, sizeof(buf))) > 0) {
        for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
            ev = (const struct inotify_event *)p;
            if (ev->mask & IN_Q_OVERFLOW) {
                ix->rescan = 1;
                continue;
            }
            area = ev->wd == ix->wd[0] ? 0 : ev->wd == ix->wd[1] ? 1 : -1;
            if (area < 0 || !ev->len || !webhook_record_name(ev->name))
                continue;
            snprintf(owner, sizeof(owner), "%d%s", area, ev->name);
            strmap_put(ix->changed, owner, NULL);           /* a set */
        }
    }
    if (strmap_count(ix->changed) > WEBHOOK_CHANGED_MAX)
        ix->rescan = 1;
}

/* webhook_index_inotify - the event loop's callback: note, read later. */
static void webhook_index_inotify(struct loop *l, int fd, short revents, void *arg)
{
    webhook_index_drain(arg);
}

struct webhook_reload {
    struct stage *st;
    struct webhook_index *ix;
};

/* webhook_index_reload_one - strmap_each callback: read one changed record. */
static void webhook_index_reload_one(const char *key, void *val, void *arg)
{
    struct webhook_reload *r = arg;

    webhook_index_load(r->st, r->ix, key[0] - '0', key + 1);
    r->ix->reloads++;
}

/* webhook_index_update - bring the index up to date with the records. */
static void webhook_index_update(struct stage *st, struct webhook_index *ix)
{
    struct webhook_reload r = { st, ix };
    struct strmap *changed;

    webhook_index_drain(ix);
    if (ix->rescan) {
        webhook_index_scan(st, ix);
        return;
    }
    if (!strmap_count(ix->changed))
        return;
    changed = ix->changed;
    ix->changed = strmap_new();
    strmap_each(changed, webhook_index_reload_one, &r);
    strmap_free(changed, NULL);
}

/* webhook_index_open - watch the record folders and scan them once. */
int webhook_index_open(struct stage *st, struct webhook_index *ix)
{
    char dir[4096];
    int i;

    memset(ix, 0, sizeof(*ix));
    ix->wd[0] = ix->wd[1] = -1;
    ix->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (i = 0; ix->inotify >= 0 && st->store && i < 2; i++) {
        if (store_area_path(st->store, webhook_areas[i], dir, sizeof(dir)) &&
            (ix->wd[i] = inotify_add_watch(ix->inotify, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
                                                                 IN_MOVED_FROM)) < 0) {
            log_info("inotify", "dir=%s error=%s effect=%s", log_q(dir), log_q(strerror(errno)),
                     log_q("rescanned on a miss only"));
            close(ix->inotify);
            ix->inotify = -1;
        }
    }
    if (ix->inotify >= 0)
        loop_watch_fd(st->loop, ix->inotify, LOOP_READ, webhook_index_inotify, ix);
    webhook_index_scan(st, ix);
    return 0;
}

/* webhook_index_close - free the index. */
void webhook_index_close(struct webhook_index *ix)
{
    if (ix->inotify >= 0)
        close(ix->inotify);
    ix->inotify = -1;
    strmap_free(ix->map, webhook_target_free);
    strmap_free(ix->owned, webhook_owned_free);
    strmap_free(ix->changed, NULL);
    ix->map = ix->owned = ix->changed = NULL;
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

    webhook_index_update(st, ix);
    t = webhook_index_find(ix, ev);
    if (!t && ix->inotify < 0 && now_ms() - ix->scanned_ms >= WEBHOOK_RESCAN_MS) {
        webhook_index_scan(st, ix);
        t = webhook_index_find(ix, ev);
    }
    return t;
}
