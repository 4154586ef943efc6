/* transport.c - where messages come from and go to: a ZeroMQ PUSH/PULL pipe
 * (one zmq message per line) or stdin/stdout (newline-delimited lines).
 *
 * The receiving side binds, the sending side connects. Before binding an
 * ipc:// endpoint we make its directory (0700) and probe an existing socket
 * file with a plain connect(): someone answering means another instance is
 * running (EADDRINUSE, refused); ECONNREFUSED means a stale file left by a
 * crash, which is removed. (libzmq itself would unlink any existing file.) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>
#include "transport.h"
#include "frame.h"
#include "util/log.h"
#include "util/util.h"

#define TRANSPORT_LINGER_MS 500
#define TRANSPORT_READ_CHUNK 65536
#define TRANSPORT_BUF (FRAME_MAX + 1 + TRANSPORT_READ_CHUNK)

struct transport {
    char *endpoint;
    void *sock;          /* zmq socket, or NULL for stdio */
    int fd;              /* 0 or 1 for stdio, else -1 */
    int fd_flags;        /* the fd's flags before we set O_NONBLOCK, or -1 */
    /* zmq input: the last message received, kept until the next call */
    zmq_msg_t msg;
    int have_msg;
    /* stdin: buf[start..end) holds unread bytes; buf[start..scan) has no newline */
    char *buf;
    size_t start, end, scan;
    int skipping;        /* inside an over-long line: drop up to the next newline */
    int eof;
};

/* transport_new - a transport for endpoint with nothing open yet. */
static struct transport *transport_new(const char *endpoint)
{
    struct transport *t = xcalloc(1, sizeof(*t));

    t->endpoint = xstrdup(endpoint);
    t->fd = -1;
    t->fd_flags = -1;
    return t;
}

/* transport_mkdirs - mkdir -p the directory dir, mode 0700 for what we
 * create (chmod'ed, so the umask does not matter). Returns 0 or -1 (errno). */
static int transport_mkdirs(const char *dir)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
    size_t i, n = strlen(dir);

    if (n == 0 || n >= sizeof(path)) {
        errno = n ? ENAMETOOLONG : EINVAL;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0700) == 0) {
            if (chmod(path, 0700) < 0)
                return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
        path[i] = (i == n) ? '\0' : '/';
    }
    return 0;
}

/* transport_ipc_prepare - before binding ipc://path: make its directory and
 * deal with an existing socket file. Returns 0, or -1 with errno set and a
 * log line (EADDRINUSE: a live process answers on it). */
static int transport_ipc_prepare(const char *endpoint, const char *path)
{
    struct sockaddr_un sa;
    struct stat sb;
    char dir[sizeof(sa.sun_path)];
    char *slash;
    int fd, rc, e;

    if (path[0] == '@')
        return 0;       /* abstract namespace: no file */
    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_error("transport_error", "endpoint=%s error=%s", log_q(endpoint),
                  log_q("socket path too long"));
        errno = ENAMETOOLONG;
        return -1;
    }
    str_copy(dir, path, sizeof(dir));
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (transport_mkdirs(dir) < 0) {
            e = errno;
            log_error("transport_error", "endpoint=%s op=mkdir dir=%s error=%s",
                      log_q(endpoint), log_q(dir), log_q(strerror(e)));
            errno = e;
            return -1;
        }
    }
    if (lstat(path, &sb) < 0) {
        if (errno == ENOENT)
            return 0;
        e = errno;
        log_error("transport_error", "endpoint=%s error=%s", log_q(endpoint), log_q(strerror(e)));
        errno = e;
        return -1;
    }
    if (!S_ISSOCK(sb.st_mode)) {
        log_error("transport_error", "endpoint=%s error=%s", log_q(endpoint),
                  log_q("exists and is not a socket"));
        errno = EEXIST;
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    str_copy(sa.sun_path, path, sizeof(sa.sun_path));
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    e = errno;
    close(fd);
    if (rc == 0) {
        log_error("endpoint_in_use", "endpoint=%s error=%s", log_q(endpoint),
                  log_q("endpoint is in use by another process"));
        errno = EADDRINUSE;
        return -1;
    }
    if (e == ECONNREFUSED) {
        if (unlink(path) < 0 && errno != ENOENT) {
            e = errno;
            log_error("transport_error", "endpoint=%s error=%s", log_q(endpoint),
                      log_q(strerror(e)));
            errno = e;
            return -1;
        }
        log_info("stale_socket", "endpoint=%s action=removed", log_q(endpoint));
        return 0;
    }
    if (e == ENOENT)
        return 0;
    log_error("transport_error", "endpoint=%s op=probe error=%s", log_q(endpoint),
              log_q(strerror(e)));
    errno = e;
    return -1;
}

/* transport_zmq_opts - the options both directions share, plus those of
 * the type. Returns 0 or -1 (errno). */
static int transport_zmq_opts(void *sock, int type)
{
    int hwm = TRANSPORT_HWM, linger = TRANSPORT_LINGER_MS, one = 1;
    int64_t maxsize = FRAME_MAX + 2;

    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) < 0)
        return -1;
    if (type == ZMQ_PULL) {
        if (zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) < 0 ||
            zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof(maxsize)) < 0)
            return -1;
    } else {
        if (zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) < 0 ||
            zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof(one)) < 0)
            return -1;
    }
    return 0;
}

/* transport_fd_open - a line reader on fd (stdin, or a pipe from a child),
 * set non-blocking until transport_close, which restores its flags and does
 * not close it. NULL with a logged reason on failure. */
struct transport *transport_fd_open(const char *name, int fd)
{
    struct transport *t = transport_new(name);
    int e;

    t->fd = fd;
    t->fd_flags = fcntl(fd, F_GETFL);
    if (t->fd_flags < 0 || fcntl(fd, F_SETFL, t->fd_flags | O_NONBLOCK) < 0) {
        e = errno;
        log_error("transport_error", "endpoint=%s error=%s", log_q(name), log_q(strerror(e)));
        t->fd_flags = -1;
        transport_close(t);
        errno = e;
        return NULL;
    }
    t->buf = xmalloc(TRANSPORT_BUF);
    return t;
}

/* transport_in_open - a PULL socket bound on endpoint, or stdin for "-".
 * NULL with a logged reason on failure (errno EADDRINUSE when another live
 * process holds the endpoint). */
struct transport *transport_in_open(void *zctx, const char *endpoint)
{
    struct transport *t;
    int e;

    if (strcmp(endpoint, "-") == 0)
        return transport_fd_open("stdin", 0);
    if (strncmp(endpoint, "ipc://", 6) == 0 && transport_ipc_prepare(endpoint, endpoint + 6) < 0)
        return NULL;
    t = transport_new(endpoint);
    t->sock = zmq_socket(zctx, ZMQ_PULL);
    if (!t->sock || transport_zmq_opts(t->sock, ZMQ_PULL) < 0)
        goto fail;
    if (zmq_bind(t->sock, endpoint) < 0) {
        if (errno == EADDRINUSE) {
            log_error("endpoint_in_use", "endpoint=%s error=%s", log_q(endpoint),
                      log_q("endpoint is in use by another process"));
            transport_close(t);
            errno = EADDRINUSE;
            return NULL;
        }
        goto fail;
    }
    return t;
fail:
    e = errno;
    log_error("transport_error", "endpoint=%s op=bind error=%s", log_q(endpoint),
              log_q(zmq_strerror(e)));
    transport_close(t);
    errno = e;
    return NULL;
}

/* transport_out_open - a PUSH socket connected to endpoint, or stdout for
 * "-". NULL with a logged reason on failure. */
struct transport *transport_out_open(void *zctx, const char *endpoint)
{
    struct transport *t;
    int e;

    t = transport_new(endpoint);
    if (strcmp(endpoint, "-") == 0) {
        t->fd = 1;
        return t;
    }
    t->sock = zmq_socket(zctx, ZMQ_PUSH);
    if (!t->sock || transport_zmq_opts(t->sock, ZMQ_PUSH) < 0 ||
        zmq_connect(t->sock, endpoint) < 0) {
        e = errno;
        log_error("transport_error", "endpoint=%s op=connect error=%s", log_q(endpoint),
                  log_q(zmq_strerror(e)));
        transport_close(t);
        errno = e;
        return NULL;
    }
    return t;
}

/* transport_close - close the socket (with the short linger), restore the
 * flags of stdin, free t. NULL is allowed. */
void transport_close(struct transport *t)
{
    int linger = TRANSPORT_LINGER_MS;

    if (!t)
        return;
    if (t->have_msg)
        zmq_msg_close(&t->msg);
    if (t->sock) {
        zmq_setsockopt(t->sock, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_close(t->sock);
    }
    if (t->fd >= 0 && t->fd_flags >= 0)
        fcntl(t->fd, F_SETFL, t->fd_flags);
    free(t->buf);
    free(t->endpoint);
    free(t);
}

/* transport_is_zmq - 1 for a ZeroMQ transport, 0 for stdio. */
int transport_is_zmq(const struct transport *t)
{
    return t && t->sock != NULL;
}

/* transport_socket - the zmq socket, or NULL for stdio. */
void *transport_socket(struct transport *t)
{
    return t ? t->sock : NULL;
}

/* transport_fd - the fd of a stdio transport, or -1. */
int transport_fd(const struct transport *t)
{
    return t ? t->fd : -1;
}

/* transport_recv_zmq - one zmq message as a line (see transport_recv). */
static int transport_recv_zmq(struct transport *t, const char **line, size_t *len)
{
    size_t n;
    char *p;

    if (t->have_msg) {
        zmq_msg_close(&t->msg);
        t->have_msg = 0;
    }
    zmq_msg_init(&t->msg);
    if (zmq_msg_recv(&t->msg, t->sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;

        zmq_msg_close(&t->msg);
        if (e == EAGAIN || e == EINTR)
            return 0;
        log_error("transport_error", "endpoint=%s op=recv error=%s", log_q(t->endpoint),
                  log_q(zmq_strerror(e)));
        errno = e;
        return -2;
    }
    t->have_msg = 1;
    p = zmq_msg_data(&t->msg);
    n = zmq_msg_size(&t->msg);
    if (n > 0 && p[n - 1] == '\n')
        n--;
    *line = p ? p : "";
    *len = n > FRAME_MAX ? FRAME_MAX + 1 : n;
    return 1;
}

/* transport_recv_stdin - the next complete line from stdin (see
 * transport_recv). */
static int transport_recv_stdin(struct transport *t, const char **line, size_t *len)
{
    for (;;) {
        char *nl;
        ssize_t r;

        if (t->skipping) {
            nl = memchr(t->buf + t->start, '\n', t->end - t->start);
            if (nl) {
                t->start = t->scan = (size_t)(nl - t->buf) + 1;
                t->skipping = 0;
                continue;
            }
            t->start = t->end = t->scan = 0;
        } else {
            nl = memchr(t->buf + t->scan, '\n', t->end - t->scan);
            if (nl) {
                size_t n = (size_t)(nl - t->buf) - t->start;

                *line = t->buf + t->start;
                *len = n > FRAME_MAX ? FRAME_MAX + 1 : n;
                t->start = t->scan = (size_t)(nl - t->buf) + 1;
                return 1;
            }
            t->scan = t->end;
            if (t->end - t->start > FRAME_MAX) {
                /* over-long: report its head once, skip the rest */
                *line = t->buf + t->start;
                *len = FRAME_MAX + 1;
                t->start = t->scan = t->end;
                t->skipping = 1;
                return 1;
            }
            if (t->eof) {
                if (t->end > t->start) {
                    *line = t->buf + t->start;
                    *len = t->end - t->start;
                    t->start = t->scan = t->end;
                    return 1;
                }
                return -1;
            }
            if (t->start > 0) {
                memmove(t->buf, t->buf + t->start, t->end - t->start);
                t->end -= t->start;
                t->scan -= t->start;
                t->start = 0;
            }
        }
        if (t->eof)
            return -1;
        r = read(t->fd, t->buf + t->end, TRANSPORT_BUF - t->end);
        if (r > 0) {
            t->end += (size_t)r;
        } else if (r == 0) {
            t->eof = 1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else if (errno != EINTR) {
            int e = errno;

            log_error("transport_error", "endpoint=%s op=read error=%s", log_q(t->endpoint),
                      log_q(strerror(e)));
            errno = e;
            return -2;
        }
    }
}

/* transport_recv - fetch the next message without blocking: 1 with
 * *line and *len, 0 when nothing more now, -1 at end of input, -2 on error. */
int transport_recv(struct transport *t, const char **line, size_t *len)
{
    if (t->sock)
        return transport_recv_zmq(t, line, len);
    if (!t->buf)
        return -2;          /* stdout is not an input */
    return transport_recv_stdin(t, line, len);
}

/* transport_write_all - write line to the fd, waiting when it is
 * non-blocking and full. Returns 1, or -1 (EPIPE: the reader is gone). */
static int transport_write_all(struct transport *t, const char *line, size_t len)
{
    while (len > 0) {
        ssize_t w = write(t->fd, line, len);

        if (w > 0) {
            line += w;
            len -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = { .fd = t->fd, .events = POLLOUT };

            poll(&p, 1, 1000);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            int e = w < 0 ? errno : EIO;

            if (e != EPIPE)
                log_error("transport_error", "endpoint=stdout op=write error=%s",
                          log_q(strerror(e)));
            errno = e;
            return -1;
        }
    }
    return 1;
}

/* transport_send - send one encoded line without blocking: 1 when sent, 0
 * when the peer cannot take it now, -1 on error. */
int transport_send(struct transport *t, const char *line, size_t len)
{
    if (!t->sock)
        return transport_write_all(t, line, len);
    if (zmq_send(t->sock, line, len, ZMQ_DONTWAIT) < 0) {
        int e = errno;

        if (e == EAGAIN || e == EINTR)
            return 0;
        log_error("transport_error", "endpoint=%s op=send error=%s", log_q(t->endpoint),
                  log_q(zmq_strerror(e)));
        errno = e;
        return -1;
    }
    return 1;
}
