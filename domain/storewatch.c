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

/* The record cache: STORE_CACHE_SLOTS documents, direct-mapped by the hash
 * of "area/name", each valid while the version of its tracker's records is
 * the one taken before it was read (store_version). It serves the reads of
 * one message, which read the same records more than once (the tracker by
 * the message discipline and again by the view, a stage's own record by the
 * view and again by the stage), and a record unchanged since the last
 * message about the tracker. Bounded: a few MB per stage, whatever the
 * number of trackers. */
#define STORE_CACHE_SLOTS 512

struct store_cache_slot {
    char key[NAME_MAX + 16];     /* "area/name", "" when empty */
    uint64_t version;
    store_check_fn check;        /* the check it passed (NULL: none) */
    cJSON *doc;
};


/* cache_slot - the slot of area/name; key filled. NULL when it cannot be
 * cached (versions unknown, or an area not watched). */
static struct store_cache_slot *cache_slot(struct store *s, const char *area, const char *name, char *key,
                                           size_t keylen)
{
    struct store_watch *w = watch_of(s);
    size_t i;

    if (!w)
        return NULL;
    for (i = 0; i < WATCH_NAREAS && strcmp(area, watch_areas[i]) != 0; i++)
        ;
    if (i == WATCH_NAREAS || (size_t)snprintf(key, keylen, "%s/%s", area, name) >= keylen)
        return NULL;
    if (!w->cache)
        w->cache = xcalloc(STORE_CACHE_SLOTS, sizeof(*w->cache));
    return &w->cache[strmap_hash(key) % STORE_CACHE_SLOTS];
}

/* store_cache_get - see store.h. */
int store_cache_get(struct store *s, const char *area, const char *name, uint64_t version, store_check_fn check,
                    cJSON **out)
{
    char key[NAME_MAX + 16];
    struct store_cache_slot *c = cache_slot(s, area, name, key, sizeof(key));

    if (!c)
        return 0;
    if (!c->doc || c->version != version || strcmp(c->key, key) != 0 || (check && c->check != check)) {
        watch_of(s)->misses++;
        return 0;
    }
    *out = cJSON_Duplicate(c->doc, 1);
    watch_of(s)->hits += *out != NULL;
    return *out != NULL;
}

/* store_cache_put - see store.h. */
void store_cache_put(struct store *s, const char *area, const char *name, uint64_t version, store_check_fn check,
                     const cJSON *doc)
{
    char key[NAME_MAX + 16];
    struct store_cache_slot *c = cache_slot(s, area, name, key, sizeof(key));

    if (!c)
        return;
    cJSON_Delete(c->doc);
    c->doc = cJSON_Duplicate(doc, 1);
    c->version = version;
    c->check = check;
    snprintf(c->key, sizeof(c->key), "%s", c->doc ? key : "");
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
