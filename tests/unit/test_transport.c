/* test_transport.c - ZeroMQ and stdin transports (ipc/transport.c): a line
 * over ipc, the endpoint guard (live owner refused, stale file replaced),
 * ZMQ_IMMEDIATE with no peer, and stdin line splitting with over-long lines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "unit.h"
#include "../../ipc/transport.h"
#include "../../ipc/frame.h"
#include "util/log.h"
#include "util/util.h"

/* tt_recv_wait - transport_recv, retrying for up to ms. */
static int tt_recv_wait(struct transport *t, const char **line, size_t *len, int ms)
{
    int64_t until = now_ms() + ms;
    int rc;

    for (;;) {
        rc = transport_recv(t, line, len);
        if (rc != 0 || now_ms() >= until)
            return rc;
        if (transport_is_zmq(t)) {
            zmq_pollitem_t it = { .socket = transport_socket(t), .events = ZMQ_POLLIN };
            zmq_poll(&it, 1, 50);
        } else {
            struct pollfd p = { .fd = transport_fd(t), .events = POLLIN };
            poll(&p, 1, 50);
        }
    }
}

/* tt_send_wait - transport_send, retrying for up to ms while it returns 0. */
static int tt_send_wait(struct transport *t, const char *line, size_t len, int ms)
{
    int64_t until = now_ms() + ms;
    int rc;

    while ((rc = transport_send(t, line, len)) == 0 && now_ms() < until)
        usleep(10000);
    return rc;
}

/* tt_ipc - PUSH/PULL over ipc, directory mode, double bind, stale file. */
static void tt_ipc(void *z)
{
    char dir[600], ep[800], path[700];
    struct transport *in, *in2, *out;
    const char *line = NULL;
    size_t len = 0;
    struct stat sb;
    int rc;

    snprintf(dir, sizeof(dir), "%s/run/sub", unit_tmpdir());
    snprintf(path, sizeof(path), "%s/test.sock", dir);
    snprintf(ep, sizeof(ep), "ipc://%s", path);

    in = transport_in_open(z, ep);
    unit_ok(in != NULL && transport_is_zmq(in) && transport_socket(in) && transport_fd(in) == -1,
            "bind PULL on ipc endpoint");
    unit_ok(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700,
            "socket directory created with mode 0700");
    out = transport_out_open(z, ep);
    unit_ok(out != NULL && transport_is_zmq(out), "connect PUSH on ipc endpoint");
    rc = out ? tt_send_wait(out, "{\"v\":1}\n", 8, 3000) : -1;
    unit_ok(rc == 1, "send a line");
    rc = in ? tt_recv_wait(in, &line, &len, 3000) : -1;
    unit_ok(rc == 1 && len == 7 && memcmp(line, "{\"v\":1}", 7) == 0,
            "receive it without its newline");
    rc = in ? transport_recv(in, &line, &len) : -1;
    unit_ok(rc == 0, "nothing more: 0");

    errno = 0;
    in2 = transport_in_open(z, ep);
    unit_ok(in2 == NULL && errno == EADDRINUSE, "second bind on a live endpoint refused with EADDRINUSE");
    transport_close(in2);
    rc = out ? tt_send_wait(out, "x\n", 2, 3000) : -1;
    rc = in ? tt_recv_wait(in, &line, &len, 3000) : -1;
    unit_ok(rc == 1 && len == 1 && line[0] == 'x', "first owner still receives after refused bind");
    transport_close(out);
    transport_close(in);

    /* a stale socket file: bound, closed, never unlinked */
    {
        struct sockaddr_un sa;
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        unlink(path);
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        str_copy(sa.sun_path, path, sizeof(sa.sun_path));
        rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        unit_ok(rc == 0 && stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode), "stale socket file made");
    }
    in = transport_in_open(z, ep);
    unit_ok(in != NULL, "stale socket file replaced by bind");
    out = transport_out_open(z, ep);
    rc = out ? tt_send_wait(out, "y\n", 2, 3000) : -1;
    rc = in ? tt_recv_wait(in, &line, &len, 3000) : -1;
    unit_ok(rc == 1 && len == 1 && line[0] == 'y', "the new socket receives");
    transport_close(out);
    transport_close(in);

    /* a regular file in the way */
    {
        int fd;

        unlink(path);
        fd = open(path, O_CREAT | O_WRONLY, 0600);
        close(fd);
        in = transport_in_open(z, ep);
        unit_ok(in == NULL && errno == EEXIST, "a regular file at the socket path is refused");
        transport_close(in);
        unlink(path);
    }
}

/* tt_no_peer - ZMQ_IMMEDIATE: with nobody bound, send returns 0. */
static void tt_no_peer(void *z)
{
    char ep[700];
    struct transport *out;

    snprintf(ep, sizeof(ep), "ipc://%s/nobody.sock", unit_tmpdir());
    out = transport_out_open(z, ep);
    unit_ok(out != NULL, "connect to an endpoint nobody binds");
    usleep(50000);
    unit_ok(out && transport_send(out, "{}\n", 3) == 0, "send with no peer returns 0");
    transport_close(out);
}

/* tt_tcp - a second bind on a tcp endpoint is EADDRINUSE too. */
static void tt_tcp(void *z)
{
    struct transport *a, *b;
    char ep[256];
    size_t n = sizeof(ep);

    a = transport_in_open(z, "tcp://127.0.0.1:*");
    unit_ok(a && zmq_getsockopt(transport_socket(a), ZMQ_LAST_ENDPOINT, ep, &n) == 0,
            "bind tcp on a free port");
    if (!a)
        return;
    errno = 0;
    b = transport_in_open(z, ep);
    unit_ok(b == NULL && errno == EADDRINUSE, "second tcp bind refused with EADDRINUSE");
    transport_close(b);
    transport_close(a);
}

/* tt_stdin - lines from fd 0: whole lines, a line of FRAME_MAX+10 bytes
 * reported once as FRAME_MAX+1 and skipped, CR kept for the decoder, a
 * final line without newline, then end of input. */
static void tt_stdin(void)
{
    int p[2], saved = dup(0), rc, i;
    pid_t pid;
    struct transport *in;
    const char *line;
    size_t len;
    const char *want[] = { "a", "bb", NULL /* long */, "c\r", "", "last" };

    if (pipe(p) < 0)
        return;
    pid = fork();
    if (pid == 0) {
        char *big = malloc(FRAME_MAX + 10);
        FILE *f;

        close(p[0]);
        f = fdopen(p[1], "w");
        memset(big, 'z', FRAME_MAX + 10);
        fputs("a\nbb\n", f);
        fwrite(big, 1, FRAME_MAX + 10, f);
        fputs("\nc\r\n\nlast", f);
        fclose(f);
        free(big);
        _exit(0);
    }
    close(p[1]);
    dup2(p[0], 0);
    close(p[0]);

    in = transport_in_open(NULL, "-");
    unit_ok(in && !transport_is_zmq(in) && transport_fd(in) == 0 && !transport_socket(in),
            "stdin transport");
    for (i = 0; in && i < (int)ARRAY_LEN(want); i++) {
        rc = tt_recv_wait(in, &line, &len, 5000);
        if (!want[i])
            unit_ok(rc == 1 && len == FRAME_MAX + 1 && line[0] == 'z' && line[FRAME_MAX - 1] == 'z',
                    "over-long line reported once with len FRAME_MAX+1");
        else
            unit_ok(rc == 1 && len == strlen(want[i]) && memcmp(line, want[i], len) == 0,
                    "stdin line %d is \"%s\"", i, want[i][0] == 'c' ? "c\\r" : want[i]);
    }
    rc = in ? tt_recv_wait(in, &line, &len, 5000) : 99;
    unit_ok(rc == -1, "end of input: -1");
    rc = in ? transport_recv(in, &line, &len) : 99;
    unit_ok(rc == -1, "still -1 after the end");
    transport_close(in);
    unit_ok((fcntl(0, F_GETFL) & O_NONBLOCK) == 0, "stdin flags restored on close");
    waitpid(pid, NULL, 0);
    dup2(saved, 0);
    close(saved);
}

/* tt_stdout - lines to fd 1 through a pipe, and EPIPE once the reader is gone. */
static void tt_stdout(void)
{
    int p[2], saved = dup(1), rc;
    struct transport *out;
    char buf[16];
    ssize_t n;

    fflush(stdout);
    if (pipe(p) < 0)
        return;
    dup2(p[1], 1);
    close(p[1]);
    out = transport_out_open(NULL, "-");
    rc = transport_send(out, "{}\n", 3);
    n = read(p[0], buf, sizeof(buf));
    close(p[0]);
    rc = rc * 10 + (transport_send(out, "{}\n", 3) == -1 && errno == EPIPE);
    transport_close(out);
    dup2(saved, 1);
    close(saved);
    unit_ok(rc == 11 && n == 3 && memcmp(buf, "{}\n", 3) == 0, "stdout: line written, then EPIPE -> -1");
}

/* main - run every check, print the TAP plan. */
int main(void)
{
    void *z = zmq_ctx_new();

    signal(SIGPIPE, SIG_IGN);
    log_init("test_transport", LOG_WARN);
    tt_ipc(z);
    tt_no_peer(z);
    tt_tcp(z);
    tt_stdin();
    tt_stdout();
    zmq_ctx_term(z);
    return unit_done();
}
