/* wasync.c - record writes done by writer threads (see wasync.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/atomic.h"
#include "domain/store.h"
#include "util/strmap.h"
#include "util/util.h"
#include "domain/wasync.h"
#include "util/loop.h"

#define WASYNC_THREADS_MAX 16

struct wasync_req {
    struct wasync_req *next;
    char dir[PATH_MAX], file[NAME_MAX + 1];
    char *buf;
    size_t len;
    int rc;
    wasync_done done;
    void *arg;
};

/* One writer thread and its queue, in order. */
struct wasync_thread {
    struct wasync *w;
    pthread_t tid;
    int started;
    struct wasync_req *head, *tail;
};

struct wasync {
    struct store *store;
    struct loop *loop;               /* watching efd, or NULL */
    int nthreads, stopping, pending, efd;
    pthread_mutex_t mu;
    pthread_cond_t work;             /* a queue got a request, or stopping */
    pthread_cond_t idle;             /* a request finished */
    struct wasync_thread th[WASYNC_THREADS_MAX];
    struct wasync_req *done_head, *done_tail;   /* finished, callbacks to run */
};

/* wasync_main - a writer thread: its queue's requests, one after another. */
static void *wasync_main(void *arg)
{
    struct wasync_thread *t = arg;
    struct wasync *w = t->w;
    struct wasync_req *r;
    uint64_t one = 1;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!t->head && !w->stopping)
            pthread_cond_wait(&w->work, &w->mu);
        if (!t->head)
            break;
        r = t->head;                 /* stays at the head while written: order */
        pthread_mutex_unlock(&w->mu);
        r->rc = atomic_write(r->dir, r->file, r->buf, r->len, 0600);
        free(r->buf);
        r->buf = NULL;
        pthread_mutex_lock(&w->mu);
        t->head = r->next;
        if (!t->head)
            t->tail = NULL;
        r->next = NULL;
        if (w->done_tail)
            w->done_tail->next = r;
        else
            w->done_head = r;
        w->done_tail = r;
        pthread_cond_broadcast(&w->idle);
        if (write(w->efd, &one, sizeof(one)) < 0) {
            /* the counter is far from full: a reap empties it */
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* wasync_new - see wasync.h. */
struct wasync *wasync_new(struct store *s, int nthreads)
{
    struct wasync *w = xcalloc(1, sizeof(*w));

    w->store = s;
    w->nthreads = nthreads < 1 ? 1 : nthreads > WASYNC_THREADS_MAX ? WASYNC_THREADS_MAX : nthreads;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->idle, NULL);
    for (int i = 0; i < w->nthreads; i++)
        w->th[i].w = w;
    return w;
}

/* wasync_fd - see wasync.h. */
int wasync_fd(const struct wasync *w)
{
    return w->efd;
}

/* wasync_loop_reap - the loop: writes finished, run their callbacks. */
static void wasync_loop_reap(struct loop *l, int fd, short revents, void *arg)
{
    wasync_reap(arg);
}

/* wasync_new_loop - see wasync.h. */
struct wasync *wasync_new_loop(struct store *s, struct loop *l, int nthreads)
{
    struct wasync *w = wasync_new(s, nthreads);

    if (w && loop_watch_fd(l, w->efd, LOOP_READ, wasync_loop_reap, w) < 0) {
        wasync_free(w);
        return NULL;
    }
    if (w)
        w->loop = l;
    return w;
}

/* wasync_write - see wasync.h. */
int wasync_write(struct wasync *w, const char *area, const char *name, const cJSON *doc, wasync_done done,
                 void *arg)
{
    struct wasync_req *r = xcalloc(1, sizeof(*r));
    struct wasync_thread *t;
    int rc;

    rc = store_encode(w->store, area, name, doc, r->dir, sizeof(r->dir), r->file, sizeof(r->file), &r->buf,
                      &r->len);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->done = done;
    r->arg = arg;
    t = &w->th[strmap_hash(name) % (unsigned)w->nthreads];     /* a record: one thread */
    pthread_mutex_lock(&w->mu);
    if (!t->started) {
        if ((rc = pthread_create(&t->tid, NULL, wasync_main, t)) != 0) {
            pthread_mutex_unlock(&w->mu);
            free(r->buf);
            free(r);
            return -rc;
        }
        t->started = 1;
    }
    if (t->tail)
        t->tail->next = r;
    else
        t->head = r;
    t->tail = r;
    w->pending++;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* wasync_reap - see wasync.h. */
int wasync_reap(struct wasync *w)
{
    struct wasync_req *r, *next;
    uint64_t n;
    int count = 0;

    if (read(w->efd, &n, sizeof(n)) < 0) {
        /* nothing signalled: the list may still hold what a drain left */
    }
    pthread_mutex_lock(&w->mu);
    r = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    for (; r; r = next) {            /* callbacks may ask for more writes */
        next = r->next;
        w->pending--;
        if (r->done)
            r->done(r->arg, r->rc);
        free(r);
        count++;
    }
    return count;
}

/* wasync_pending - see wasync.h. */
int wasync_pending(const struct wasync *w)
{
    return w->pending;
}

/* wasync_drain - see wasync.h. */
void wasync_drain(struct wasync *w)
{
    while (w->pending > 0) {
        pthread_mutex_lock(&w->mu);
        while (!w->done_head)
            pthread_cond_wait(&w->idle, &w->mu);
        pthread_mutex_unlock(&w->mu);
        wasync_reap(w);
    }
}

/* wasync_free - see wasync.h. */
void wasync_free(struct wasync *w)
{
    int i;

    if (!w)
        return;
    wasync_drain(w);
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < w->nthreads; i++)
        if (w->th[i].started)
            pthread_join(w->th[i].tid, NULL);
    if (w->loop)
        loop_unwatch_fd(w->loop, w->efd);
    close(w->efd);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
