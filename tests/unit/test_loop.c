/* test_loop.c - the event loop of util/loop.h on its own: timers in
 * deadline order (and creation order among equals), cancelling (from a
 * callback too, its own timer included), 0 ms timers never run from inside
 * loop_after, pipe fds served in watch order, unwatching an fd from
 * another's callback, re-watching for no events, the before-sleep hook and
 * its limit on the sleep, a ZeroMQ socket next to a plain fd, loop_stop. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "util/loop.h"
#include "util/util.h"
#include "unit.h"

static char trail[256];              /* what ran, in order */

static void mark(const char *s)
{
    size_t n = strlen(trail);

    snprintf(trail + n, sizeof(trail) - n, "%s%s", n ? " " : "", s);
}

static void on_timer(struct loop *l, void *arg)
{
    mark(arg);
}

static void on_timer_stop(struct loop *l, void *arg)
{
    mark(arg);
    loop_stop(l);
}

static struct loop_timer *victim;

static void on_timer_cancel(struct loop *l, void *arg)
{
    mark(arg);
    loop_cancel(l, victim);
    loop_cancel(l, victim);          /* twice: still one cancellation */
}

static void on_timer_self(struct loop *l, void *arg)
{
    mark(arg);
    loop_after(l, 0, on_timer, "next-turn");
}

/* test_timers - order, cancel, 0 ms, stop. */
static void test_timers(void)
{
    struct loop *l = loop_new(NULL);
    int64_t t0 = now_ms();

    trail[0] = 0;
    loop_after(l, 30, on_timer, "c30");
    loop_after(l, 10, on_timer, "a10");
    loop_after(l, 10, on_timer, "b10");
    loop_after(l, 5, on_timer_cancel, "cancel");
    victim = loop_after(l, 20, on_timer, "never");
    loop_after(l, 0, on_timer_self, "zero");
    loop_after(l, 60, on_timer_stop, "stop");
    loop_after(l, 90, on_timer, "after-stop");
    unit_ok(trail[0] == 0, "loop: a 0 ms timer does not run inside loop_after");
    unit_ok(loop_timers(l) == 8, "loop: 8 live timers (%zu)", loop_timers(l));
    unit_ok(loop_run(l) == 0, "loop: loop_run returns 0 after loop_stop");
    unit_ok(strcmp(trail, "zero next-turn cancel a10 b10 c30 stop") == 0,
            "loop: timers by deadline, creation order among equals, a cancelled one never (%s)", trail);
    unit_ok(now_ms() - t0 >= 60, "loop: the stop timer waited its 60 ms");
    unit_ok(loop_timers(l) == 1, "loop: the timer after the stop is still live (%zu)", loop_timers(l));
    loop_free(l);
}

static int fds[2][2];

static void on_read(struct loop *l, int fd, short revents, void *arg)
{
    char c;

    mark(arg);
    if (read(fd, &c, 1) != 1)
        mark("read-failed");
    if (strcmp(arg, "first") == 0)
        loop_unwatch_fd(l, fds[1][0]);  /* the second is ready too: it must not run */
}

static long hook_calls;

static long hook(struct loop *l, void *arg)
{
    hook_calls++;
    return *(long *)arg;
}

/* test_fds - watch order, unwatch from a callback, idle events, the hook. */
static void test_fds(void)
{
    struct loop *l = loop_new(NULL);
    long cap = 20;
    int64_t t0;
    int rc;

    trail[0] = 0;
    if (pipe(fds[0]) < 0 || pipe(fds[1]) < 0) {
        unit_ok(0, "loop: pipes (%s)", strerror(errno));
        return;
    }
    unit_ok(loop_watch_fd(l, -1, LOOP_READ, on_read, "bad") < 0, "loop: a bad fd is refused");
    loop_watch_fd(l, fds[0][0], LOOP_READ, on_read, "first");
    loop_watch_fd(l, fds[1][0], LOOP_READ, on_read, "second");
    (void)!write(fds[1][1], "y", 1);
    (void)!write(fds[0][1], "x", 1);
    rc = loop_once(l, 1000);
    unit_ok(rc == 2 && strcmp(trail, "first") == 0,
            "loop: fds served in watch order; one unwatched by another's callback does not run (%d, %s)", rc,
            trail);

    trail[0] = 0;
    loop_watch_fd(l, fds[1][0], LOOP_READ, on_read, "second");
    loop_watch_fd(l, fds[1][0], 0, on_read, "second");      /* registered, idle */
    loop_before_sleep(l, hook, &cap);
    t0 = now_ms();
    rc = loop_once(l, -1);
    unit_ok(rc == 0 && trail[0] == 0, "loop: an fd watched for no events is not served (%d, %s)", rc, trail);
    unit_ok(hook_calls == 1 && now_ms() - t0 < 1000, "loop: the hook ran and its 20 ms limit ended the sleep");
    loop_watch_fd(l, fds[1][0], LOOP_READ, on_read, "second");
    rc = loop_once(l, 0);
    unit_ok(rc == 1 && strcmp(trail, "second") == 0, "loop: watched again, the waiting byte is read (%s)", trail);
    loop_free(l);
    close(fds[0][0]), close(fds[0][1]), close(fds[1][0]), close(fds[1][1]);
}

static void on_sock(struct loop *l, void *sock, short revents, void *arg)
{
    char buf[16];
    int n = zmq_recv(sock, buf, sizeof(buf) - 1, ZMQ_DONTWAIT);

    if (n >= 0) {
        buf[n] = 0;
        mark(buf);
    }
    loop_stop(l);
}

/* test_sock - a ZeroMQ socket is watched like an fd. */
static void test_sock(void)
{
    void *ctx = zmq_ctx_new(), *pull = zmq_socket(ctx, ZMQ_PULL), *push = zmq_socket(ctx, ZMQ_PUSH);
    struct loop *l = loop_new(&trail);
    int linger = 0;

    trail[0] = 0;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_bind(pull, "inproc://loop-test") < 0 || zmq_connect(push, "inproc://loop-test") < 0) {
        unit_ok(0, "loop: inproc sockets (%s)", zmq_strerror(errno));
        return;
    }
    unit_ok(loop_owner(l) == &trail, "loop: loop_owner gives the owner");
    loop_watch_sock(l, pull, LOOP_READ, on_sock, NULL);
    loop_after(l, 5000, on_timer_stop, "watchdog");
    zmq_send(push, "hello", 5, 0);
    loop_run(l);
    unit_ok(strcmp(trail, "hello") == 0, "loop: a ZeroMQ socket's message is served (%s)", trail);
    loop_unwatch_sock(l, pull);
    loop_free(l);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}

int main(void)
{
    test_timers();
    test_fds();
    test_sock();
    return unit_done();
}
