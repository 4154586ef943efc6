/* loop.h - a single-threaded event loop: file descriptors (ZeroMQ sockets
 * included), one-shot timers and a hook that runs before each sleep.
 *
 * Redis's ae.c is the model: the loop knows nothing of what its callbacks
 * do. A program makes one loop, registers what it waits for, and calls
 * loop_run() (or loop_once() from a loop of its own); every callback runs in
 * the loop's thread, one at a time, so nothing here needs a lock.
 *
 *     struct loop *l = loop_new();
 *     loop_watch_fd(l, fd, LOOP_READ, on_readable, conn);
 *     loop_after(l, 500, on_timeout, conn);
 *     loop_run(l);
 *
 * Events are ZeroMQ's poll bits (LOOP_READ == ZMQ_POLLIN and so on), so a
 * ZeroMQ socket and a plain fd are watched the same way. A watched fd or
 * socket may be unwatched, and a timer cancelled, from any callback,
 * including its own. */
#ifndef PROMO_LOOP_H
#define PROMO_LOOP_H

#include <stdint.h>

#define LOOP_READ   1          /* ZMQ_POLLIN */
#define LOOP_WRITE  2          /* ZMQ_POLLOUT */
#define LOOP_ERROR  4          /* ZMQ_POLLERR: only ever reported */

struct loop;
struct loop_timer;

/* loop_fd_fn - fd (or, for a socket, -1) is ready for revents. */
typedef void (*loop_fd_fn)(struct loop *l, int fd, short revents, void *arg);
/* loop_sock_fn - a ZeroMQ socket is ready for revents. */
typedef void (*loop_sock_fn)(struct loop *l, void *sock, short revents, void *arg);
/* loop_timer_fn - a timer is due. */
typedef void (*loop_timer_fn)(struct loop *l, void *arg);
/* loop_hook_fn - runs before the loop sleeps; returns the longest the loop
 * may sleep in ms (0: do not sleep, just look), or -1 for no limit. */
typedef long (*loop_hook_fn)(struct loop *l, void *arg);

/* loop_new - an empty loop; owner is whatever loop_owner() returns. */
struct loop *loop_new(void *owner);
/* loop_free - frees the loop and its timers (their callbacks do not run). */
void loop_free(struct loop *l);
/* loop_owner - the owner given to loop_new. */
void *loop_owner(const struct loop *l);

/* loop_watch_fd - call fn(l, fd, revents, arg) when fd is ready for events
 * (LOOP_READ, LOOP_WRITE or both; 0 keeps it registered but idle).
 * Watching an fd again replaces its events, callback and arg. Fds are served
 * in the order they were first watched. Returns 0, or -1 for a bad fd. */
int loop_watch_fd(struct loop *l, int fd, short events, loop_fd_fn fn, void *arg);
/* loop_unwatch_fd - stop watching fd (absent is fine). */
void loop_unwatch_fd(struct loop *l, int fd);
/* loop_watch_sock - the same for a ZeroMQ socket. */
int loop_watch_sock(struct loop *l, void *sock, short events, loop_sock_fn fn, void *arg);
void loop_unwatch_sock(struct loop *l, void *sock);

/* loop_after - call fn(l, arg) once, ms (>= 0) from now; a 0 ms timer runs
 * on the next turn, never from inside this call. Timers with the same
 * deadline run in the order they were set. The handle is valid until fn has
 * been called or loop_cancel. */
struct loop_timer *loop_after(struct loop *l, int64_t ms, loop_timer_fn fn, void *arg);
/* loop_cancel - the timer will not fire (NULL is fine). */
void loop_cancel(struct loop *l, struct loop_timer *t);
/* loop_timers - live timers (for tests and metrics). */
size_t loop_timers(const struct loop *l);

/* loop_before_sleep - fn runs at the start of every turn, before the loop
 * polls (one hook; NULL removes it). */
void loop_before_sleep(struct loop *l, loop_hook_fn fn, void *arg);

/* loop_once - one turn: the hook, then poll for at most max_ms (-1: until
 * an fd or timer is due), then the ready fds and sockets, then the timers
 * that are due. Returns the number of ready fds and sockets (0 when the poll
 * timed out), or -1 with errno when polling failed (EINTR is retried). */
int loop_once(struct loop *l, long max_ms);
/* loop_run - turns until loop_stop; returns 0, or -1 when polling failed. */
int loop_run(struct loop *l);
/* loop_stop - leave loop_run after the current callback: no further
 * callbacks of this turn run. */
void loop_stop(struct loop *l);
/* loop_stopping - 1 after loop_stop. */
int loop_stopping(const struct loop *l);

#endif
