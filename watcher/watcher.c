/* watcher.c - promo-watcher: finds trackers that need work and sends them down the pipeline.
 *
 * Level-triggered (DESIGN.md principle 2): at start and every resyncInterval
 * every active tracker is emitted again; between resyncs inotify on
 * STATE/trackers/ reports each change within milliseconds. Names wait in a
 * deduplicated FIFO and each tracker is read from disk only when its message
 * is about to go out, so a burst of writes costs one message and what is
 * sent is always the latest state. A full output queue simply leaves names
 * waiting (backpressure); nothing here exists only in memory and matters. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zmq.h>

#include "common/log.h"
#include "common/strmap.h"
#include "common/tracker.h"
#include "common/util.h"
#include "common/view.h"
#include "ipc/stage.h"

struct watcher {
    int inotify;
    struct strmap *queued;      /* names in the FIFO */
    char **fifo;                /* ring of names */
    size_t head, len, cap;
    uint64_t resyncs, emitted, skipped;
};

/* watcher_push - queue name unless it already waits. */
static void watcher_push(struct watcher *w, const char *name)
{
    if (strmap_has(w->queued, name))
        return;
    if (w->len == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 256, i;
        char **n = xcalloc(ncap, sizeof(*n));
        for (i = 0; i < w->len; i++)
            n[i] = w->fifo[(w->head + i) % w->cap];
        free(w->fifo);
        w->fifo = n;
        w->head = 0;
        w->cap = ncap;
    }
    w->fifo[(w->head + w->len) % w->cap] = xstrdup(name);
    w->len++;
    strmap_put(w->queued, name, NULL);
}

/* watcher_pop - the oldest queued name (caller frees), or NULL. */
static char *watcher_pop(struct watcher *w)
{
    char *name;

    if (!w->len)
        return NULL;
    name = w->fifo[w->head];
    w->head = (w->head + 1) % w->cap;
    w->len--;
    strmap_del(w->queued, name);
    return name;
}

/* watcher_resync - queue every tracker in the state dir. */
static void watcher_resync(struct stage *st, const char *why)
{
    struct watcher *w = st->data;
    char **names;
    int n, i;

    n = store_list(st->store, "trackers", &names);
    if (n < 0) {
        log_error("resync_failed", "reason=%s", log_q(strerror(-n)));
        return;
    }
    for (i = 0; i < n; i++)
        watcher_push(w, names[i]);
    store_list_free(names);
    w->resyncs++;
    log_debug("resync", "why=%s trackers=%d", why, n);
}

/* watcher_active - 1 when the tracker needs work downstream, by its effective
 * state (common/view.h): synced, testing (so the monitor adopts runs after a
 * restart), awaiting-approval, promoting. Deploying trackers wait for their
 * environment to sync; done and failed ones rest. When the stages' records
 * cannot be read, the tracker's own state decides. */
static int watcher_active(struct stage *st, const struct tracker *t)
{
    struct view *v;
    char err[256];
    int active;

    switch (t->state) {
    case TS_SYNCED:
    case TS_TESTING:
    case TS_AWAITING_APPROVAL:
    case TS_PROMOTING:
        break;
    default:
        return 0;
    }
    v = xmalloc(sizeof(*v));
    active = view_load(st->store, t->name, v, err, sizeof(err)) < 0 || view_active(v);
    free(v);
    return active;
}

/* watcher_emit - read one tracker and send it if it is active.
 * Returns 0 when handled (sent or skipped), -1 when the queue was full. */
static int watcher_emit(struct stage *st, const char *name)
{
    struct watcher *w = st->data;
    struct tracker t;
    char err[256];
    cJSON *doc, *msg;
    int rc;

    rc = store_read(st->store, "trackers", name, &doc);
    if (rc < 0) {
        if (rc != -ENOENT && rc != -EBADMSG)
            log_error("read_failed", "tracker=%s reason=%s", name, log_q(strerror(-rc)));
        return 0;
    }
    if (tracker_decode(doc, &t, err, sizeof(err)) < 0) {
        store_quarantine(st->store, "trackers", name, err);
        cJSON_Delete(doc);
        return 0;
    }
    if (!watcher_active(st, &t)) {
        w->skipped++;
        cJSON_Delete(doc);
        return 0;
    }
    msg = stage_message_new(st, "tracker");
    cJSON_AddStringToObject(msg, "name", t.name);
    cJSON_AddNumberToObject(msg, "generation", (double)t.generation);
    cJSON_AddItemToObject(msg, "tracker", doc);
    rc = stage_emit(st, msg);
    cJSON_Delete(msg);
    if (rc == 0)
        return -1;
    if (rc > 0) {
        w->emitted++;
        log_debug("emit", "tracker=%s gen=%lld env=%s state=%s", t.name,
                  (long long)t.generation, t.status_env, tracker_state_name(t.state));
    }
    return 0;
}

/* watcher_fill - emit queued trackers while the output has room. */
static void watcher_fill(struct stage *st)
{
    struct watcher *w = st->data;

    while (w->len && stage_out_room(st) > 0) {
        char *name = watcher_pop(w);
        if (watcher_emit(st, name) < 0)
            watcher_push(w, name);      /* raced with a full queue: later */
        free(name);
    }
}

/* watcher_inotify - turn inotify events on STATE/trackers into queued names. */
static void watcher_inotify(struct stage *st, int fd, short revents, void *arg)
{
    struct watcher *w = st->data;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        char *p;

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                watcher_resync(st, "inotify_overflow");
                continue;
            }
            if (ev->len && ev->name[0] != '.') {
                size_t l = strlen(ev->name);
                if (l > 5 && strcmp(ev->name + l - 5, ".json") == 0) {
                    ev->name[l - 5] = 0;
                    if (name_valid(ev->name))
                        watcher_push(w, ev->name);
                }
            }
        }
    }
}

/* watcher_start - inotify, the first resync, the resync timer. */
static int watcher_start(struct stage *st)
{
    struct watcher *w = xcalloc(1, sizeof(*w));
    char dir[PATH_MAX];

    if (!st->store) {
        log_error("no_state_dir", "dir=%s", log_q(st->cfg.state_dir));
        free(w);
        return EXIT_TEMP;
    }
    st->data = w;
    w->queued = strmap_new();
    w->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->inotify < 0) {
        log_error("inotify_failed", "reason=%s", log_q(strerror(errno)));
        return EXIT_TEMP;
    }
    store_area_path(st->store, "trackers", dir, sizeof(dir));
    if (inotify_add_watch(w->inotify, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM) < 0) {
        log_error("inotify_failed", "dir=%s reason=%s", log_q(dir), log_q(strerror(errno)));
        return EXIT_TEMP;
    }
    stage_watch_fd(st, w->inotify, ZMQ_POLLIN, NULL);
    watcher_resync(st, "start");
    stage_timer(st, st->cfg.resync_interval_ms);
    return 0;
}

/* watcher_tick - the periodic resync. */
static void watcher_tick(struct stage *st)
{
    watcher_resync(st, "timer");
    stage_timer(st, st->cfg.resync_interval_ms);
}

/* watcher_busy - names still waiting to be sent. */
static int watcher_busy(struct stage *st)
{
    struct watcher *w = st->data;

    return w && w->len > 0;
}

/* watcher_reload - SIGHUP: resync now. */
static void watcher_reload(struct stage *st)
{
    watcher_resync(st, "sighup");
}

/* watcher_stop - release everything. */
static void watcher_stop(struct stage *st)
{
    struct watcher *w = st->data;
    char *name;

    if (!w)
        return;
    log_info("stats", "resyncs=%llu emitted=%llu skipped=%llu", (unsigned long long)w->resyncs,
             (unsigned long long)w->emitted, (unsigned long long)w->skipped);
    while ((name = watcher_pop(w)) != NULL)
        free(name);
    free(w->fifo);
    strmap_free(w->queued, NULL);
    if (w->inotify >= 0)
        close(w->inotify);
    free(w);
    st->data = NULL;
}

int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-watcher",
        .summary = "find trackers that need work and send them to promo-policy",
        .in_default = NULL,
        .out_default = "policy.sock",
        .start = watcher_start,
        .fill = watcher_fill,
        .fd = watcher_inotify,
        .tick = watcher_tick,
        .busy = watcher_busy,
        .reload = watcher_reload,
        .stop = watcher_stop,
    };

    return stage_main(argc, argv, &ops);
}
