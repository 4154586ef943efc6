/* loop.c - the event loop of loop.h: zmq_poll over every watched fd and
 * ZeroMQ socket, a binary heap of one-shot timers, a before-sleep hook.
 *
 * zmq_poll is used even for plain fds because a ZeroMQ socket cannot be
 * waited for with poll(2) alone (its fd is an edge-triggered notification,
 * not the socket's readiness); zmq_poll takes both kinds in one call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "util/loop.h"
#include "util/util.h"

_Static_assert(LOOP_READ == ZMQ_POLLIN && LOOP_WRITE == ZMQ_POLLOUT && LOOP_ERROR == ZMQ_POLLERR,
               "loop events are zmq_poll's bits");

struct loop_item {
    void *sock;                      /* a ZeroMQ socket, or NULL: fd */
    int fd;
    short events;
    loop_fd_fn fd_fn;
    loop_sock_fn sock_fn;
    void *arg;
};

struct loop_timer {
    int64_t at;                      /* now_ms() deadline */
    uint64_t seq;                    /* FIFO order among equal deadlines */
    loop_timer_fn fn;                /* NULL once cancelled */
    void *arg;
};

struct loop {
    void *owner;
    struct loop_item *items;         /* in the order first watched */
    int nitems, capitems;
    zmq_pollitem_t *poll;            /* scratch for zmq_poll, capitems long */
    int *pollidx;                    /* poll[k] is items[pollidx[k]] */
    struct loop_timer **heap;        /* min-heap of one-shot timers */
    size_t nheap, capheap, live;
    uint64_t seq;
    loop_hook_fn hook;
    void *hook_arg;
    uint64_t gen;                    /* bumped by every unwatch: stale poll results */
    int stopping;
};

struct loop *loop_new(void *owner)
{
    struct loop *l = xcalloc(1, sizeof(*l));

    l->owner = owner;
    return l;
}

void loop_free(struct loop *l)
{
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->nheap; i++)
        free(l->heap[i]);
    free(l->heap);
    free(l->items);
    free(l->poll);
    free(l->pollidx);
    free(l);
}

void *loop_owner(const struct loop *l)
{
    return l->owner;
}

/* loop_find - the index of the item for sock (or fd when sock is NULL), or -1. */
static int loop_find(const struct loop *l, void *sock, int fd)
{
    int i;

    for (i = 0; i < l->nitems; i++)
        if (sock ? l->items[i].sock == sock : (!l->items[i].sock && l->items[i].fd == fd))
            return i;
    return -1;
}

/* loop_add - the item for sock/fd, added at the end when new. */
static struct loop_item *loop_add(struct loop *l, void *sock, int fd)
{
    int i = loop_find(l, sock, fd);

    if (i >= 0)
        return &l->items[i];
    if (l->nitems == l->capitems) {
        l->capitems = l->capitems ? l->capitems * 2 : 16;
        l->items = xrealloc(l->items, (size_t)l->capitems * sizeof(*l->items));
        l->poll = xrealloc(l->poll, (size_t)l->capitems * sizeof(*l->poll));
        l->pollidx = xrealloc(l->pollidx, (size_t)l->capitems * sizeof(*l->pollidx));
    }
    memset(&l->items[l->nitems], 0, sizeof(l->items[0]));
    l->items[l->nitems].sock = sock;
    l->items[l->nitems].fd = sock ? -1 : fd;
    return &l->items[l->nitems++];
}

/* loop_remove - drop item i, keeping the order of the others. */
static void loop_remove(struct loop *l, int i)
{
    if (i < 0)
        return;
    memmove(&l->items[i], &l->items[i + 1], (size_t)(l->nitems - i - 1) * sizeof(l->items[0]));
    l->nitems--;
    l->gen++;
}

int loop_watch_fd(struct loop *l, int fd, short events, loop_fd_fn fn, void *arg)
{
    struct loop_item *it;

    if (fd < 0 || !fn)
        return -1;
    it = loop_add(l, NULL, fd);
    it->events = events;
    it->fd_fn = fn;
    it->arg = arg;
    return 0;
}

void loop_unwatch_fd(struct loop *l, int fd)
{
    loop_remove(l, loop_find(l, NULL, fd));
}

int loop_watch_sock(struct loop *l, void *sock, short events, loop_sock_fn fn, void *arg)
{
    struct loop_item *it;

    if (!sock || !fn)
        return -1;
    it = loop_add(l, sock, -1);
    it->events = events;
    it->sock_fn = fn;
    it->arg = arg;
    return 0;
}

void loop_unwatch_sock(struct loop *l, void *sock)
{
    if (sock)
        loop_remove(l, loop_find(l, sock, -1));
}

/* loop_tmr_less - heap order: deadline, then creation order. */
static int loop_tmr_less(const struct loop_timer *a, const struct loop_timer *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void loop_heap_up(struct loop *l, size_t i)
{
    struct loop_timer **h = l->heap;

    while (i > 0) {
        size_t p = (i - 1) / 2;
        struct loop_timer *t;

        if (!loop_tmr_less(h[i], h[p]))
            break;
        t = h[i]; h[i] = h[p]; h[p] = t;
        i = p;
    }
}

/* loop_heap_pop - remove and return the earliest timer. */
static struct loop_timer *loop_heap_pop(struct loop *l)
{
    struct loop_timer **h = l->heap, *top = h[0];
    size_t i = 0;

    h[0] = h[--l->nheap];
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        struct loop_timer *t;

        if (a < l->nheap && loop_tmr_less(h[a], h[m]))
            m = a;
        if (b < l->nheap && loop_tmr_less(h[b], h[m]))
            m = b;
        if (m == i)
            break;
        t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
    return top;
}

struct loop_timer *loop_after(struct loop *l, int64_t ms, loop_timer_fn fn, void *arg)
{
    struct loop_timer *t = xcalloc(1, sizeof(*t));

    t->at = now_ms() + (ms > 0 ? ms : 0);
    t->seq = ++l->seq;
    t->fn = fn;
    t->arg = arg;
    if (l->nheap == l->capheap) {
        l->capheap = l->capheap ? l->capheap * 2 : 64;
        l->heap = xrealloc(l->heap, l->capheap * sizeof(*l->heap));
    }
    l->heap[l->nheap++] = t;
    l->live++;
    loop_heap_up(l, l->nheap - 1);
    return t;
}

/* loop_cancel - disarm; the node is freed when it reaches the top. */
void loop_cancel(struct loop *l, struct loop_timer *t)
{
    if (t && t->fn) {
        t->fn = NULL;
        l->live--;
    }
}

size_t loop_timers(const struct loop *l)
{
    return l->live;
}

void loop_before_sleep(struct loop *l, loop_hook_fn fn, void *arg)
{
    l->hook = fn;
    l->hook_arg = arg;
}

/* loop_timers_next - ms until the next live timer (-1: none), after
 * dropping cancelled ones from the top. */
static long loop_timers_next(struct loop *l)
{
    int64_t d;

    while (l->nheap && !l->heap[0]->fn)
        free(loop_heap_pop(l));
    if (!l->nheap)
        return -1;
    d = l->heap[0]->at - now_ms();
    return d > 0 ? (long)d : 0;
}

/* loop_timers_run - fire every timer due now, but not those the callbacks
 * add meanwhile (a 0 ms timer set by a callback waits for the next turn). */
static void loop_timers_run(struct loop *l)
{
    int64_t now = now_ms();
    uint64_t last = l->seq;

    while (l->nheap && !l->stopping && l->heap[0]->at <= now && l->heap[0]->seq <= last) {
        struct loop_timer *t = loop_heap_pop(l);

        if (t->fn) {
            loop_timer_fn fn = t->fn;

            l->live--;
            t->fn = NULL;
            fn(l, t->arg);
        }
        free(t);
    }
}

int loop_once(struct loop *l, long max_ms)
{
    long timeout = -1, tnext, hook_max = -1;
    int n = 0, i, rc, ready = 0;
    uint64_t gen;

    if (l->hook && !l->stopping)
        hook_max = l->hook(l, l->hook_arg);
    if (l->stopping)
        return 0;
    for (i = 0; i < l->nitems; i++) {
        if (!l->items[i].events)
            continue;
        memset(&l->poll[n], 0, sizeof(l->poll[n]));
        l->poll[n].socket = l->items[i].sock;
        l->poll[n].fd = l->items[i].sock ? 0 : l->items[i].fd;
        l->poll[n].events = l->items[i].events;
        l->pollidx[n++] = i;
    }
    tnext = loop_timers_next(l);
    timeout = tnext;
    if (max_ms >= 0 && (timeout < 0 || max_ms < timeout))
        timeout = max_ms;
    if (hook_max >= 0 && (timeout < 0 || hook_max < timeout))
        timeout = hook_max;
    do
        rc = zmq_poll(n ? l->poll : NULL, n, timeout);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -1;

    /* Serve in watch order. A callback may unwatch others (gen changes):
     * then each ready entry is looked up again by its fd or socket. */
    gen = l->gen;
    for (i = 0; i < n && !l->stopping; i++) {
        zmq_pollitem_t *p = &l->poll[i];
        struct loop_item *it;
        int j = l->pollidx[i];

        if (!p->revents)
            continue;
        ready++;
        if (gen != l->gen) {
            j = loop_find(l, p->socket, p->fd);
            if (j < 0)
                continue;               /* unwatched meanwhile */
        }
        it = &l->items[j];
        if (!(it->events & p->revents) && !(p->revents & LOOP_ERROR))
            continue;                   /* re-watched for other events meanwhile */
        if (it->sock)
            it->sock_fn(l, it->sock, p->revents, it->arg);
        else
            it->fd_fn(l, it->fd, p->revents, it->arg);
    }
    if (!l->stopping)
        loop_timers_run(l);
    return ready;
}

int loop_run(struct loop *l)
{
    while (!l->stopping)
        if (loop_once(l, -1) < 0)
            return -1;
    return 0;
}

void loop_stop(struct loop *l)
{
    l->stopping = 1;
}

int loop_stopping(const struct loop *l)
{
    return l->stopping;
}
