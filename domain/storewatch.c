/* storewatch.c - record versions by inotify (store.h, "Record versions").
 *
 * One inotify instance watches the tracker areas of STATE. Each event on
 * "NAME.json" (written by rename, written in place, removed) gives NAME a
 * new number from one counter; store_version returns it, or the counter's
 * value when the watch started for a name never changed since. An overflow
 * of the inotify queue, or an area directory removed or moved, starts a
 * new epoch (the epoch is part of every version): every version changes.
 *
 * The table holds one number per tracker name ever changed (a strmap value,
 * no allocation besides the map's own key). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "domain/store.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/util.h"

/* The areas whose records say something about a tracker, by its name. */
static const char *const watch_areas[] = {
    "trackers", "watcher", "policy", "trigger", "monitor", "promoter", "approvals",
};

#define WATCH_NAREAS (sizeof(watch_areas) / sizeof(watch_areas[0]))

struct store_watch {
    int fd;
    int wd[WATCH_NAREAS];
    uint64_t counter;            /* the last number given */
    uint64_t epoch;              /* overflows and lost watches so far */
    uint64_t base;               /* the counter when the epoch began */
    struct strmap *seq;          /* name -> number (as a pointer) */
    struct store_cache_slot *cache;   /* the record cache (below), NULL until used */
    uint64_t hits, misses;
};

static void store_cache_free(struct store_watch *w);
static void cache_changed(struct store_watch *w, const char *area, const char *name);

static struct store_watch *watch_of(const struct store *s)
{
    return *store_watch_slot((struct store *)s);
}

/* watch_epoch - everything may have changed: forget every number. */
static void watch_epoch(struct store_watch *w, const char *why)
{
    w->epoch++;
    w->base = ++w->counter;
    strmap_free(w->seq, NULL);
    w->seq = strmap_new();
    store_cache_free(w);
    log_info("versions_reset", "reason=%s epoch=%llu", log_q(why), (unsigned long long)w->epoch);
}

/* watch_name - the tracker name of a record file name into buf; 0 when the
 * file is no record (a temp file, a lock, a hidden file). */
static int watch_name(const char *file, char *buf, size_t len)
{
    size_t n = strlen(file);

    if (file[0] == '.' || n <= 5 || strcmp(file + n - 5, ".json") != 0 || n - 5 >= len)
        return 0;
    memcpy(buf, file, n - 5);
    buf[n - 5] = '\0';
    return 1;
}

/* watch_event - one event. */
static void watch_event(struct store_watch *w, const struct inotify_event *ev)
{
    char name[NAME_MAX + 1];
    size_t i;

    if (ev->mask & IN_Q_OVERFLOW) {
        watch_epoch(w, "inotify queue overflow");
        return;
    }
    if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        watch_epoch(w, "an area directory was removed or moved");
        return;
    }
    if (ev->len == 0 || !watch_name(ev->name, name, sizeof(name)))
        return;
    strmap_put(w->seq, name, (void *)(uintptr_t)++w->counter);
    for (i = 0; i < WATCH_NAREAS; i++)
        if (w->wd[i] == ev->wd)
            cache_changed(w, watch_areas[i], name);
}

/* store_watch_drain - see store.h. */
void store_watch_drain(struct store *s)
{
    struct store_watch *w = s ? watch_of(s) : NULL;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    if (!w)
        return;
    while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
        char *p = buf;

        while (p < buf + n) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            watch_event(w, ev);
            p += sizeof(*ev) + ev->len;
        }
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        watch_epoch(w, strerror(errno));
}

/* store_version - see store.h. */
uint64_t store_version(struct store *s, const char *name)
{
    struct store_watch *w = s ? watch_of(s) : NULL;
    uintptr_t v;

    if (!w)
        return 0;
    store_watch_drain(s);
    v = (uintptr_t)strmap_get(w->seq, name);
    return (w->epoch << 48) ^ (v ? (uint64_t)v : w->base);
}

/* store_version_known - see store.h. */
int store_version_known(const struct store *s)
{
    return s && watch_of(s) != NULL;
}

/* store_watch_fd - see store.h. */
int store_watch_fd(const struct store *s)
{
    struct store_watch *w = s ? watch_of(s) : NULL;

    return w ? w->fd : -1;
}

/* store_watch_start - see store.h. */
int store_watch_start(struct store *s)
{
    struct store_watch *w;
    char path[PATH_MAX];
    size_t i;
    int rc;

    if (!s || watch_of(s))
        return 0;
    w = xcalloc(1, sizeof(*w));
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        rc = -errno;
        free(w);
        log_warn("versions_off", "error=%s effect=%s", log_q(strerror(-rc)), log_q("nothing is skipped"));
        return rc;
    }
    for (i = 0; i < WATCH_NAREAS; i++) {
        store_area_path(s, watch_areas[i], path, sizeof(path));
        w->wd[i] = inotify_add_watch(w->fd, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                     IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
        if (w->wd[i] < 0) {
            rc = -errno;
            close(w->fd);
            free(w);
            log_warn("versions_off", "area=%s error=%s effect=%s", watch_areas[i], log_q(strerror(-rc)),
                     log_q("nothing is skipped"));
            return rc;
        }
    }
    w->seq = strmap_new();
    w->base = ++w->counter;
    *store_watch_slot(s) = w;
    return 0;
}

/* store_watch_stop - see store.h. */
void store_watch_stop(struct store *s)
{
    struct store_watch *w = s ? watch_of(s) : NULL;

    if (!w)
        return;
    close(w->fd);
    strmap_free(w->seq, NULL);
    store_cache_free(w);
    free(w);
    *store_watch_slot(s) = NULL;
}

/* The record cache: STORE_CACHE_SLOTS records, direct-mapped by the hash
 * of "area/name": a document, or the knowledge that the file is absent. An
 * inotify event on the file empties its slot (watch_event), so a slot is
 * right as long as the events are drained before it is used, and a change
 * racing a read leaves its event queued for the next drain: never a stale
 * answer. It serves the reads of one message, which read the same records
 * more than once (the tracker by the message discipline and again by the
 * view), and every record unchanged since the last message about the
 * tracker (the policy record, the approvals that do not exist, ...).
 * Bounded: a few MB per stage, whatever the number of trackers. */
#define STORE_CACHE_SLOTS 1024

struct store_cache_slot {
    char key[NAME_MAX + 16];     /* "area/name", "" when empty */
    int absent;                  /* the file is not there (doc NULL) */
    store_check_fn check;        /* the check the document passed (NULL: none) */
    cJSON *doc;
};

/* cache_key - "area/name" into key; 0 when it does not fit. */
static int cache_key(const char *area, const char *name, char *key, size_t keylen)
{
    return (size_t)snprintf(key, keylen, "%s/%s", area, name) < keylen;
}

/* cache_find - the slot of key (w->cache allocated on first use). */
static struct store_cache_slot *cache_find(struct store_watch *w, const char *key)
{
    if (!w->cache)
        w->cache = xcalloc(STORE_CACHE_SLOTS, sizeof(*w->cache));
    return &w->cache[strmap_hash(key) % STORE_CACHE_SLOTS];
}

/* cache_empty - forget what slot c holds. */
static void cache_empty(struct store_cache_slot *c)
{
    cJSON_Delete(c->doc);
    c->doc = NULL;
    c->absent = 0;
    c->key[0] = '\0';
}

/* cache_changed - inotify says area/name changed: its slot is emptied. */
static void cache_changed(struct store_watch *w, const char *area, const char *name)
{
    char key[NAME_MAX + 16];
    struct store_cache_slot *c;

    if (!w->cache || !cache_key(area, name, key, sizeof(key)))
        return;
    c = cache_find(w, key);
    if (strcmp(c->key, key) == 0)
        cache_empty(c);
}

/* cache_slot - the slot of area/name (after a drain, with drain); key
 * filled. NULL when it cannot be cached (no watch, or an area not watched).
 * A put never drains: an event that came after the read it stores must
 * stay queued, to empty the slot at the next get. */
static struct store_cache_slot *cache_slot(struct store *s, const char *area, const char *name, char *key,
                                           size_t keylen, int drain)
{
    struct store_watch *w = watch_of(s);
    size_t i;

    if (!w)
        return NULL;
    for (i = 0; i < WATCH_NAREAS && strcmp(area, watch_areas[i]) != 0; i++)
        ;
    if (i == WATCH_NAREAS || !cache_key(area, name, key, keylen))
        return NULL;
    if (drain)
        store_watch_drain(s);
    return cache_find(w, key);
}

/* store_cache_peek - see store.h. */
int store_cache_peek(struct store *s, const char *area, const char *name, store_check_fn check, const cJSON **out)
{
    char key[NAME_MAX + 16];
    struct store_cache_slot *c = cache_slot(s, area, name, key, sizeof(key), 1);

    if (!c)
        return 0;
    if (strcmp(c->key, key) != 0 || (!c->absent && check && c->check != check)) {
        watch_of(s)->misses++;
        return 0;
    }
    watch_of(s)->hits++;
    if (c->absent)
        return -ENOENT;
    *out = c->doc;
    return 1;
}

/* store_cache_keep - see store.h. */
int store_cache_keep(struct store *s, const char *area, const char *name, store_check_fn check, cJSON *doc)
{
    char key[NAME_MAX + 16];
    struct store_cache_slot *c = cache_slot(s, area, name, key, sizeof(key), 0);

    if (!c)
        return 0;
    cache_empty(c);
    c->doc = doc;
    c->absent = doc == NULL;
    c->check = check;
    snprintf(c->key, sizeof(c->key), "%s", key);
    return 1;
}

/* store_cache_free - drop every cached document. */
static void store_cache_free(struct store_watch *w)
{
    size_t i;

    for (i = 0; w->cache && i < STORE_CACHE_SLOTS; i++)
        cJSON_Delete(w->cache[i].doc);
    free(w->cache);
    w->cache = NULL;
}

/* store_cache_stats - see store.h. */
void store_cache_stats(const struct store *s, uint64_t *hits, uint64_t *misses)
{
    const struct store_watch *w = s ? watch_of(s) : NULL;

    *hits = w ? w->hits : 0;
    *misses = w ? w->misses : 0;
}
