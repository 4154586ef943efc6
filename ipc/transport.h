/* transport.h - where messages come from and go to: a ZeroMQ pipe or stdio.
 *
 * Endpoints: "-" is stdin (for --in) or stdout (for --out); anything else is a
 * ZeroMQ endpoint ("ipc:///run/promo/trigger.sock", "tcp://127.0.0.1:5601").
 * The receiving side binds a PULL socket, the sending side connects a PUSH
 * socket. Sockets get bounded high-water marks, ZMQ_IMMEDIATE (no queueing to
 * a peer that is not there) and ZMQ_MAXMSGSIZE. For ipc endpoints, the parent
 * directory is created with mode 0700, and a bind on a socket path that a live
 * process still answers on is refused (another instance is running); a stale
 * socket file left by a crash is removed first. */
#ifndef PROMO_TRANSPORT_H
#define PROMO_TRANSPORT_H

#include <stddef.h>

#define TRANSPORT_HWM 1000

struct transport;

/* transport_in_open/transport_out_open - NULL with a logged reason on failure
 * (errno EADDRINUSE when another live process holds the endpoint). */
struct transport *transport_in_open(void *zctx, const char *endpoint);
struct transport *transport_out_open(void *zctx, const char *endpoint);
void transport_close(struct transport *t);

/* transport_fd_open - read lines from fd as from stdin (a child's stdout
 * pipe, in promo-pipe); name is for the logs. fd is made non-blocking;
 * transport_close restores its flags and leaves it open. */
struct transport *transport_fd_open(const char *name, int fd);

int transport_is_zmq(const struct transport *t);
/* transport_socket - the zmq socket (for zmq_poll items), or NULL for stdio. */
void *transport_socket(struct transport *t);
/* transport_fd - the file descriptor for stdio transports, or -1. */
int transport_fd(const struct transport *t);

/* transport_recv - fetch the next message without blocking.
 * Returns 1 with *line, *len set (valid until the next call on t; *len
 * excludes the newline; a line over FRAME_MAX is returned with *len
 * FRAME_MAX+1 and *line pointing at its first FRAME_MAX bytes, so the caller
 * can quarantine it), 0 when nothing more is available now, -1 at end of
 * input (stdin closed), or -2 on a transport error (logged). */
int transport_recv(struct transport *t, const char **line, size_t *len);

/* transport_send - send one encoded line (with its "\n") without blocking.
 * Returns 1 when sent, 0 when the peer cannot take it now (no peer, or at
 * its high-water mark: poll for ZMQ_POLLOUT and try again), -1 on error. */
int transport_send(struct transport *t, const char *line, size_t len);

#endif
