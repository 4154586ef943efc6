/* plugin.c - the "plugin" adapter: a user's executable that speaks a small
 * JSON protocol, so a CI system promo does not know needs no C.
 *
 * Every operation runs `PLUGIN <verb>` (verb trigger, status or cancel; argv
 * holds nothing else, never a secret) with execve, writes one JSON request
 * on its stdin and closes it, and reads one JSON response of at most
 * PLUGIN_MAX_RESPONSE bytes from its stdout, all through the stage loop
 * (non-blocking pipes, loop_watch_fd). A plugin that does not answer
 * within the timeout (30 s, $PROMO_PLUGIN_TIMEOUT_MS) is killed with its
 * process group and the operation is a temporary error; one that exits
 * nonzero is a temporary error with its stderr tail; one that answers
 * something outside the protocol is a permanent error. Never a pass.
 * find is the status verb with only the key. Protocol: docs/providers.md.
 *
 * The plugin's exit status is read with waitpid(pid, WNOHANG) once its
 * stdout closes; a stage using this adapter must not reap children blindly
 * (stage.c's default SIGCHLD handling does waitpid(-1)): set ops->child to
 * a handler that leaves them alone. If the status was taken anyway, an
 * answer that does not decode is a temporary error, never a pass. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "adapter.h"
#include "plugin.h"
#include "util/proc.h"
#include "util/log.h"
#include "util/util.h"
#include "util/loop.h"

#define PLUGIN_REAP_MAX_MS   100      /* longest wait between looks for the exit */
#define PLUGIN_REAP_GIVEUP   100      /* looks after a kill before leaving it to the stage */
#define PLUGIN_MAX_TIMEOUT_MS 600000

/* One plugin process in flight. */
struct plugin_op {
    struct loop *loop;
    adapter_done_fn done;
    void *arg;
    enum plugin_verb verb;
    char job[1024];
    char want_id[128];               /* status/cancel: the run asked about */
    pid_t pid;
    int in_fd, out_fd, err_fd;
    char *req;                       /* request line, written to in_fd */
    size_t req_len, req_off;
    char *out;                       /* response bytes */
    size_t out_len;
    int out_over;                    /* more than PLUGIN_MAX_RESPONSE: killed */
    char err[PLUGIN_MAX_STDERR];     /* the last bytes of stderr */
    size_t err_len;
    int64_t timeout_ms;
    struct loop_timer *deadline_tmr, *reap_tmr;
    int64_t reap_wait;
    int reap_tries;
    int timed_out, finished, reaped, exit_known, wstatus;
    struct adapter_result res;
};

/* The status words of the protocol. */
static const struct { const char *word; enum run_status status; } plugin_statuses[] = {
    { "queued", RUN_QUEUED },
    { "running", RUN_RUNNING },
    { "passed", RUN_PASSED },
    { "failed", RUN_FAILED },
    { "cancelled", RUN_CANCELLED },
    { "timed-out", RUN_TIMED_OUT },
};

/* plugin_verb_name - argv word of verb. */
const char *plugin_verb_name(enum plugin_verb verb)
{
    switch (verb) {
    case PLUGIN_TRIGGER: return "trigger";
    case PLUGIN_CANCEL: return "cancel";
    case PLUGIN_STATUS:
    case PLUGIN_FIND:
    default: return "status";
    }
}

/* plugin_map_status - protocol word to status, -1 when not one. */
int plugin_map_status(const char *s)
{
    size_t i;

    for (i = 0; s && i < ARRAY_LEN(plugin_statuses); i++)
        if (strcmp(s, plugin_statuses[i].word) == 0)
            return (int)plugin_statuses[i].status;
    return -1;
}

/* plugin_utf8_len - the length of the valid UTF-8 sequence at s (n bytes
 * left), or 0 when it is not one. */
static size_t plugin_utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        if (s[0] == 0xe0) lo = 0xa0;
        if (s[0] == 0xed) hi = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        if (s[0] == 0xf0) lo = 0x90;
        if (s[0] == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* plugin_clean - copy n bytes of src into dst (size len, terminated) as
 * valid UTF-8 without control bytes: controls become ' ', invalid bytes
 * '?'; a sequence that does not fit whole is left out. Returns dst. */
static char *plugin_clean(char *dst, size_t len, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = 0, o = 0;

    if (len == 0)
        return dst;
    while (i < n) {
        size_t k = plugin_utf8_len(s + i, n - i);

        if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            if (o + 1 >= len)
                break;
            dst[o++] = k == 0 ? '?' : ' ';
            i++;
            continue;
        }
        if (o + k >= len)
            break;
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
    return dst;
}

/* plugin_decode_fail - a protocol violation: EPERM with the reason; -1. */
static int plugin_decode_fail(struct adapter_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int plugin_decode_fail(struct adapter_result *res, const char *fmt, ...)
{
    char why[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    res->error = ADAPTER_EPERM;
    res->found = 0;
    snprintf(res->errmsg, sizeof(res->errmsg), "plugin protocol error: %s", why);
    memset(&res->run, 0, sizeof(res->run));
    return -1;
}

/* plugin_token_ok - 1 when s is 1..max-1 printable ASCII bytes without
 * spaces (a run id). */
static int plugin_token_ok(const char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (i + 1 >= max || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return i > 0;
}

/* plugin_url_ok - "" or an http(s)/file URL of printable ASCII that fits max. */
static int plugin_url_ok(const char *s, size_t max)
{
    if (!s[0])
        return 1;
    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0 &&
        strncmp(s, "file://", 7) != 0)
        return 0;
    return plugin_token_ok(s, max);
}

/* plugin_decode_run - the "run" object into r; 0, or -1 with res set. */
static int plugin_decode_run(const cJSON *run, struct adapter_run *r, struct adapter_result *res)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(run, "id");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(run, "url");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(run, "status");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(run, "detail");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(run, "duration_ms");
    int s;

    if (!cJSON_IsString(id))
        return plugin_decode_fail(res, "run.id: %s", id ? "not a string" : "missing");
    if (!plugin_token_ok(id->valuestring, sizeof(r->id)))
        return plugin_decode_fail(res, "run.id: not 1..%zu printable characters without spaces",
                                  sizeof(r->id) - 1);
    if (url && !cJSON_IsNull(url)) {
        if (!cJSON_IsString(url))
            return plugin_decode_fail(res, "run.url: not a string");
        if (!plugin_url_ok(url->valuestring, sizeof(r->url)))
            return plugin_decode_fail(res, "run.url: not an http, https or file URL of at most %zu bytes",
                                      sizeof(r->url) - 1);
    }
    if (!cJSON_IsString(status))
        return plugin_decode_fail(res, "run.status: %s", status ? "not a string" : "missing");
    if ((s = plugin_map_status(status->valuestring)) < 0) {
        char word[40];

        return plugin_decode_fail(res, "run.status: unknown status \"%s\"",
                                  plugin_clean(word, sizeof(word), status->valuestring,
                                               strlen(status->valuestring)));
    }
    if (detail && !cJSON_IsNull(detail) && !cJSON_IsString(detail))
        return plugin_decode_fail(res, "run.detail: not a string");
    if (dur && !cJSON_IsNull(dur) &&
        (!cJSON_IsNumber(dur) || dur->valuedouble < 0 || dur->valuedouble > 1e13 ||
         dur->valuedouble != (double)(int64_t)dur->valuedouble))
        return plugin_decode_fail(res, "run.duration_ms: not a whole number of milliseconds");

    memset(r, 0, sizeof(*r));
    str_copy(r->id, id->valuestring, sizeof(r->id));
    if (cJSON_IsString(url))
        str_copy(r->url, url->valuestring, sizeof(r->url));
    r->status = (enum run_status)s;
    if (cJSON_IsString(detail))
        plugin_clean(r->detail, sizeof(r->detail), detail->valuestring, strlen(detail->valuestring));
    else
        str_copy(r->detail, status->valuestring, sizeof(r->detail));
    if (cJSON_IsNumber(dur))
        r->duration_ms = (int64_t)dur->valuedouble;
    return 0;
}

/* plugin_decode_response - one response to verb into res (plugin.h). */
int plugin_decode_response(enum plugin_verb verb, const char *buf, size_t len,
                           struct adapter_result *res)
{
    const cJSON *ok, *run, *v, *error, *temp;
    const char *end = NULL;
    cJSON *root;
    size_t i;
    int rc = 0;

    res->error = 0;
    res->errmsg[0] = '\0';
    res->found = 0;
    memset(&res->run, 0, sizeof(res->run));
    if (len == 0)
        return plugin_decode_fail(res, "empty response");
    if (len > PLUGIN_MAX_RESPONSE)
        return plugin_decode_fail(res, "response larger than %d bytes", PLUGIN_MAX_RESPONSE);
    if (memchr(buf, '\0', len))
        return plugin_decode_fail(res, "NUL byte in the response");
    for (i = 0; i < len; i++) {
        size_t k = plugin_utf8_len((const unsigned char *)buf + i, len - i);

        if (k == 0)
            return plugin_decode_fail(res, "invalid UTF-8 at byte %zu", i);
        i += k - 1;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root) {
        size_t at = end && end >= buf ? (size_t)(end - buf) : 0;
        const char *e = cJSON_GetErrorPtr();

        if (e && e >= buf && e <= buf + len)
            at = (size_t)(e - buf);
        return plugin_decode_fail(res, "not JSON (at byte %zu of %zu)", at, len);
    }
    for (; end && end < buf + len; end++) {
        if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t') {
            cJSON_Delete(root);
            return plugin_decode_fail(res, "data after the JSON object (at byte %zu)",
                                      (size_t)(end - buf));
        }
    }
    if (!cJSON_IsObject(root)) {
        rc = plugin_decode_fail(res, "the response is not a JSON object");
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "v");
    if (v && (!cJSON_IsNumber(v) || v->valuedouble != 1)) {
        rc = plugin_decode_fail(res, "v: not 1");
        goto out;
    }
    ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
    if (!cJSON_IsBool(ok)) {
        rc = plugin_decode_fail(res, "ok: %s", ok ? "not true or false" : "missing");
        goto out;
    }
    if (cJSON_IsFalse(ok)) {
        char msg[200];

        error = cJSON_GetObjectItemCaseSensitive(root, "error");
        temp = cJSON_GetObjectItemCaseSensitive(root, "temporary");
        if (!cJSON_IsString(error)) {
            rc = plugin_decode_fail(res, "error: %s", error ? "not a string" : "missing");
            goto out;
        }
        if (temp && !cJSON_IsBool(temp)) {
            rc = plugin_decode_fail(res, "temporary: not true or false");
            goto out;
        }
        res->error = cJSON_IsTrue(temp) ? ADAPTER_ETEMP : ADAPTER_EPERM;
        plugin_clean(msg, sizeof(msg), error->valuestring, strlen(error->valuestring));
        snprintf(res->errmsg, sizeof(res->errmsg), "plugin: %s", msg[0] ? msg : "(no reason)");
        goto out;
    }
    run = cJSON_GetObjectItemCaseSensitive(root, "run");
    if (!run || cJSON_IsNull(run)) {
        if (verb == PLUGIN_TRIGGER || verb == PLUGIN_STATUS)
            rc = plugin_decode_fail(res, "run: missing in an ok answer to %s", plugin_verb_name(verb));
        goto out;                       /* find: not found; cancel: nothing to say */
    }
    if (!cJSON_IsObject(run)) {
        rc = plugin_decode_fail(res, "run: not an object");
        goto out;
    }
    if (plugin_decode_run(run, &res->run, res) < 0) {
        rc = -1;
        goto out;
    }
    if (verb == PLUGIN_FIND)
        res->found = 1;
out:
    cJSON_Delete(root);
    return rc;
}

/* plugin_res_error - set res->error and a message (truncated to fit). */
static void plugin_res_error(struct adapter_result *res, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plugin_res_error(struct adapter_result *res, int error, const char *fmt, ...)
{
    va_list ap;

    res->error = error;
    va_start(ap, fmt);
    vsnprintf(res->errmsg, sizeof(res->errmsg), fmt, ap);
    va_end(ap);
}

/* plugin_timeout - the answer timeout: $PROMO_PLUGIN_TIMEOUT_MS when a
 * number in 1..600000, else PLUGIN_TIMEOUT_MS. */
static int64_t plugin_timeout(void)
{
    const char *s = getenv("PROMO_PLUGIN_TIMEOUT_MS");
    char *end;
    long v;

    if (!s || !*s)
        return PLUGIN_TIMEOUT_MS;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > PLUGIN_MAX_TIMEOUT_MS)
        return PLUGIN_TIMEOUT_MS;
    return v;
}

/* plugin_close - unwatch and close *fd (if open). */
static void plugin_close(struct plugin_op *op, int *fd)
{
    if (*fd >= 0) {
        loop_unwatch_fd(op->loop, *fd);
        close(*fd);
        *fd = -1;
    }
}

/* plugin_op_free - release op: fds, timers, buffers. */
static void plugin_op_free(struct plugin_op *op)
{
    plugin_close(op, &op->in_fd);
    plugin_close(op, &op->out_fd);
    plugin_close(op, &op->err_fd);
    loop_cancel(op->loop, op->deadline_tmr);
    loop_cancel(op->loop, op->reap_tmr);
    free(op->req);
    free(op->out);
    free(op);
}

/* plugin_deliver_cb - a result decided at start: deliver it and free op. */
static void plugin_deliver_cb(struct loop *l, void *arg)
{
    struct plugin_op *op = arg;

    op->done(op->arg, &op->res);
    plugin_op_free(op);
}

/* plugin_err_add - keep the last PLUGIN_MAX_STDERR bytes of stderr. */
static void plugin_err_add(struct plugin_op *op, const char *buf, size_t n)
{
    if (n >= sizeof(op->err)) {
        memcpy(op->err, buf + n - sizeof(op->err), sizeof(op->err));
        op->err_len = sizeof(op->err);
        return;
    }
    if (op->err_len + n > sizeof(op->err)) {
        size_t drop = op->err_len + n - sizeof(op->err);

        memmove(op->err, op->err + drop, op->err_len - drop);
        op->err_len -= drop;
    }
    memcpy(op->err + op->err_len, buf, n);
    op->err_len += n;
}

/* plugin_err_read - read stderr until it would block; close it at EOF. */
static void plugin_err_read(struct plugin_op *op)
{
    char buf[4096];
    int i;

    for (i = 0; op->err_fd >= 0 && i < 64; i++) {
        ssize_t n = read(op->err_fd, buf, sizeof(buf));

        if (n > 0) {
            plugin_err_add(op, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        plugin_close(op, &op->err_fd);
    }
}

/* plugin_err_tail - the stderr tail, cleaned, trimmed, its end kept to
 * fit len. */
static char *plugin_err_tail(const struct plugin_op *op, char *dst, size_t len)
{
    char clean[PLUGIN_MAX_STDERR + 1];
    size_t n, start = 0;

    plugin_clean(clean, sizeof(clean), op->err, op->err_len);
    n = strlen(clean);
    while (n > 0 && clean[n - 1] == ' ')
        clean[--n] = '\0';
    while (clean[start] == ' ')
        start++;
    if (n - start >= len) {
        start = n - (len - 1);
        while (start < n && ((unsigned char)clean[start] & 0xc0) == 0x80)
            start++;                    /* not in the middle of a character */
    }
    str_copy(dst, clean + start, len);
    return dst;
}

/* plugin_errmsg - "plugin JOB VERB: what[: stderr tail]" into res->errmsg. */
static void plugin_errmsg(struct plugin_op *op, int error, const char *what)
{
    char tail[200];
    const char *base = strrchr(op->job, '/');

    plugin_err_tail(op, tail, sizeof(tail));
    plugin_res_error(&op->res, error, "plugin %s %s: %s%s%s", base ? base + 1 : op->job,
                     plugin_verb_name(op->verb), what, tail[0] ? ": " : "", tail);
}

static void plugin_reap_cb(struct loop *l, void *arg);

/* plugin_reap_later - look for the exit again a little later. */
static void plugin_reap_later(struct plugin_op *op)
{
    op->reap_wait = op->reap_wait ? op->reap_wait * 2 : 2;
    if (op->reap_wait > PLUGIN_REAP_MAX_MS)
        op->reap_wait = PLUGIN_REAP_MAX_MS;
    op->reap_tmr = loop_after(op->loop, op->reap_wait, plugin_reap_cb, op);
}

/* plugin_reap - waitpid(WNOHANG); 1 when the process is gone (exit
 * status known, or reaped by someone else), 0 while it runs. */
static int plugin_reap(struct plugin_op *op)
{
    pid_t w;

    if (op->reaped)
        return 1;
    do
        w = waitpid(op->pid, &op->wstatus, WNOHANG);
    while (w < 0 && errno == EINTR);
    if (w == op->pid) {
        op->reaped = op->exit_known = 1;
        return 1;
    }
    if (w < 0) {                        /* ECHILD: the stage's reaper took it */
        op->reaped = 1;
        log_debug("plugin_reaped_elsewhere", "pid=%ld", (long)op->pid);
        return 1;
    }
    return 0;
}

/* plugin_complete - decide the result, call done once, and free op once
 * its process is reaped. */
static void plugin_complete(struct plugin_op *op)
{
    char what[200];

    loop_cancel(op->loop, op->deadline_tmr);
    op->deadline_tmr = NULL;
    plugin_err_read(op);
    plugin_close(op, &op->in_fd);
    plugin_close(op, &op->out_fd);
    plugin_close(op, &op->err_fd);

    if (op->timed_out) {
        snprintf(what, sizeof(what), "no answer within %lld ms (killed)", (long long)op->timeout_ms);
        plugin_errmsg(op, ADAPTER_ETEMP, what);
    } else if (op->out_over) {
        snprintf(what, sizeof(what), "response larger than %d bytes (killed)", PLUGIN_MAX_RESPONSE);
        plugin_errmsg(op, ADAPTER_EPERM, what);
    } else if (op->exit_known && !(WIFEXITED(op->wstatus) && WEXITSTATUS(op->wstatus) == 0)) {
        if (WIFEXITED(op->wstatus))
            snprintf(what, sizeof(what), "exited %d", WEXITSTATUS(op->wstatus));
        else
            snprintf(what, sizeof(what), "killed by signal %d",
                     WIFSIGNALED(op->wstatus) ? WTERMSIG(op->wstatus) : 0);
        plugin_errmsg(op, ADAPTER_ETEMP, what);
    } else if (plugin_decode_response(op->verb, op->out ? op->out : "", op->out_len, &op->res) < 0) {
        /* With the exit status lost (the stage reaped it), a crash cannot
         * be told from garbage: temporary, so it is asked again. */
        str_copy(what, op->res.errmsg, sizeof(what));
        plugin_errmsg(op, op->exit_known ? ADAPTER_EPERM : ADAPTER_ETEMP, what);
    } else if (!op->res.error && op->want_id[0] && op->res.run.id[0] &&
               strcmp(op->res.run.id, op->want_id) != 0) {
        memset(&op->res.run, 0, sizeof(op->res.run));
        plugin_errmsg(op, ADAPTER_EPERM, "plugin protocol error: run.id is not the run asked about");
    }
    if (op->res.error)
        log_warn("plugin_error", "job=%s verb=%s error=%s", log_q(op->job),
                 plugin_verb_name(op->verb), log_q(op->res.errmsg));

    op->finished = 1;
    op->done(op->arg, &op->res);
    if (op->reaped || plugin_reap(op)) {
        plugin_op_free(op);
        return;
    }
    if (!op->reap_tmr) {
        op->reap_tries = 0;
        plugin_reap_later(op);
    }
}

/* plugin_stdout_closed - the response is complete: reap, then complete
 * (or look again on a timer while the process lingers). */
static void plugin_stdout_closed(struct plugin_op *op)
{
    if (plugin_reap(op))
        plugin_complete(op);
    else if (!op->reap_tmr)
        plugin_reap_later(op);
}

/* plugin_reap_cb - look for the exit again. */
static void plugin_reap_cb(struct loop *l, void *arg)
{
    struct plugin_op *op = arg;

    op->reap_tmr = NULL;
    if (!op->finished) {
        plugin_stdout_closed(op);
        return;
    }
    if (plugin_reap(op) || ++op->reap_tries >= PLUGIN_REAP_GIVEUP) {
        if (!op->reaped)
            log_warn("plugin_not_reaped", "pid=%ld job=%s", (long)op->pid, log_q(op->job));
        plugin_op_free(op);
        return;
    }
    plugin_reap_later(op);
}

/* plugin_kill - SIGKILL the plugin's process group (and the plugin). */
static void plugin_kill(struct plugin_op *op)
{
    if (!op->reaped) {
        (void)kill(-op->pid, SIGKILL);
        (void)kill(op->pid, SIGKILL);
    }
}

/* plugin_deadline_cb - no answer in time: kill, temporary error. */
static void plugin_deadline_cb(struct loop *l, void *arg)
{
    struct plugin_op *op = arg;

    op->deadline_tmr = NULL;
    plugin_kill(op);
    op->timed_out = 1;
    loop_cancel(l, op->reap_tmr);
    op->reap_tmr = NULL;
    plugin_complete(op);
}

/* plugin_in_cb - write the request; close stdin when written (or when the
 * plugin does not read it). */
static void plugin_in_cb(struct loop *l, int fd, short revents, void *arg)
{
    struct plugin_op *op = arg;

    while (op->req_off < op->req_len) {
        ssize_t n = write(op->in_fd, op->req + op->req_off, op->req_len - op->req_off);

        if (n > 0) {
            op->req_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break;                          /* EPIPE: it did not read the request */
    }
    plugin_close(op, &op->in_fd);
}

/* plugin_out_cb - read the response; at EOF the answer is complete. */
static void plugin_out_cb(struct loop *l, int fd, short revents, void *arg)
{
    struct plugin_op *op = arg;
    int i;

    for (i = 0; i < 64; i++) {
        ssize_t n;

        if (!op->out)
            op->out = xmalloc(PLUGIN_MAX_RESPONSE + 1);
        n = read(op->out_fd, op->out + op->out_len, PLUGIN_MAX_RESPONSE + 1 - op->out_len);
        if (n > 0) {
            op->out_len += (size_t)n;
            if (op->out_len > PLUGIN_MAX_RESPONSE) {
                op->out_over = 1;
                plugin_kill(op);
                plugin_close(op, &op->out_fd);
                plugin_stdout_closed(op);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        plugin_close(op, &op->out_fd);  /* EOF (or a read error): the answer is what we have */
        plugin_stdout_closed(op);
        return;
    }
}

/* plugin_err_cb - collect the stderr tail. */
static void plugin_err_cb(struct loop *l, int fd, short revents, void *arg)
{
    plugin_err_read(arg);
}

/* plugin_request - the request line for verb (heap, "\n"-ended). */
static char *plugin_request(enum plugin_verb verb, const struct adapter_test *t,
                            const struct adapter_run *run, size_t *len)
{
    cJSON *o = cJSON_CreateObject(), *r;
    char *text, *line;

    if (!o)
        log_fatal(EXIT_TEMP, "out_of_memory", "where=plugin_request");
    cJSON_AddNumberToObject(o, "v", 1);
    cJSON_AddStringToObject(o, "verb", plugin_verb_name(verb));
    cJSON_AddStringToObject(o, "key", t->key ? t->key : "");
    cJSON_AddStringToObject(o, "tracker", t->tracker ? t->tracker : "");
    cJSON_AddStringToObject(o, "test", t->name ? t->name : "");
    cJSON_AddStringToObject(o, "job", t->job ? t->job : "");
    cJSON_AddStringToObject(o, "repository", t->repository ? t->repository : "");
    cJSON_AddStringToObject(o, "ref", t->ref ? t->ref : "");
    cJSON_AddStringToObject(o, "sha", t->sha ? t->sha : "");
    cJSON_AddNumberToObject(o, "timeout_ms", (double)(t->timeout_ms > 0 ? t->timeout_ms : 0));
    cJSON_AddItemToObject(o, "parameters", t->params ? cJSON_Duplicate(t->params, 1)
                                                     : cJSON_CreateObject());
    if (run && verb != PLUGIN_TRIGGER && verb != PLUGIN_FIND) {
        r = cJSON_AddObjectToObject(o, "run");
        if (r) {
            cJSON_AddStringToObject(r, "id", run->id);
            cJSON_AddStringToObject(r, "url", run->url);
        }
    }
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        log_fatal(EXIT_TEMP, "out_of_memory", "where=plugin_request");
    line = xasprintf("%s\n", text);
    cJSON_free(text);
    *len = strlen(line);
    return line;
}

/* plugin_nonblock - O_NONBLOCK on fd. */
static void plugin_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* plugin_start - run `job verb` for one operation (see the file comment).
 * Returns 0 started, or -1 with done called later with the error. */
static int plugin_start(struct adapter_ctx *ctx, const struct adapter_test *t,
                        const struct adapter_run *run, enum plugin_verb verb,
                        adapter_done_fn done, void *arg)
{
    struct plugin_op *op = xcalloc(1, sizeof(*op));
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, e;
    char why[256], *argv[3];
    struct proc_env env;

    op->loop = ctx->loop;
    op->done = done;
    op->arg = arg;
    op->verb = verb;
    op->in_fd = op->out_fd = op->err_fd = -1;
    op->res.rate_remaining = -1;
    op->timeout_ms = plugin_timeout();
    str_copy(op->job, t->job ? t->job : "", sizeof(op->job));
    if (run && (verb == PLUGIN_STATUS || verb == PLUGIN_CANCEL))
        str_copy(op->want_id, run->id, sizeof(op->want_id));

    if (!proc_exec_path_ok(t->job, why, sizeof(why))) {
        plugin_res_error(&op->res, ADAPTER_EPERM, "plugin: %s", why);
        goto later;
    }
    if (!t->key || !t->key[0]) {
        op->res.error = ADAPTER_EPERM;
        str_copy(op->res.errmsg, "plugin: no idempotency key", sizeof(op->res.errmsg));
        goto later;
    }
    if ((verb == PLUGIN_STATUS || verb == PLUGIN_CANCEL) && (!run || !run->id[0])) {
        op->res.error = ADAPTER_EPERM;
        str_copy(op->res.errmsg, "plugin: no run id to ask about", sizeof(op->res.errmsg));
        goto later;
    }
    if (t->params && !cJSON_IsObject(t->params)) {
        op->res.error = ADAPTER_EPERM;
        str_copy(op->res.errmsg, "plugin: parameters are not an object", sizeof(op->res.errmsg));
        goto later;
    }
    op->req = plugin_request(verb, t, run, &op->req_len);

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        e = errno;
        goto fail;
    }
    proc_env_init(&env);
    proc_env_pass_prefix(&env, "PROMO_PLUGIN_");
    argv[0] = op->job;
    argv[1] = (char *)plugin_verb_name(verb);
    argv[2] = NULL;
    op->pid = fork();
    if (op->pid == 0) {
        static const char msg[] = "promo: cannot execute the plugin\n";

        (void)setpgid(0, 0);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(127);
        proc_close_from(3);
        proc_child_reset();
        execve(argv[0], argv, env.v);
        (void)proc_write_all(2, msg, sizeof(msg) - 1);
        _exit(127);
    }
    e = errno;
    proc_env_free(&env);
    if (op->pid < 0)
        goto fail;
    (void)setpgid(op->pid, op->pid);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    op->in_fd = in[1];
    op->out_fd = out[0];
    op->err_fd = err[0];
    plugin_nonblock(op->in_fd);
    plugin_nonblock(op->out_fd);
    plugin_nonblock(op->err_fd);
    loop_watch_fd(op->loop, op->in_fd, LOOP_WRITE, plugin_in_cb, op);
    loop_watch_fd(op->loop, op->out_fd, LOOP_READ, plugin_out_cb, op);
    loop_watch_fd(op->loop, op->err_fd, LOOP_READ, plugin_err_cb, op);
    op->deadline_tmr = loop_after(op->loop, op->timeout_ms, plugin_deadline_cb, op);
    log_debug("plugin_start", "job=%s verb=%s pid=%ld key=%s", log_q(op->job),
              plugin_verb_name(verb), (long)op->pid, log_q(t->key));
    return 0;

fail:
    {
        int *fds[] = { &in[0], &in[1], &out[0], &out[1], &err[0], &err[1] };
        size_t i;

        for (i = 0; i < ARRAY_LEN(fds); i++)
            if (*fds[i] >= 0)
                close(*fds[i]);
    }
    plugin_res_error(&op->res, ADAPTER_ETEMP, "plugin %s: cannot start: %s", op->job, strerror(e));
later:
    loop_after(op->loop, 0, plugin_deliver_cb, op);
    return -1;
}

/* plugin_trigger - `PLUGIN trigger`: the plugin returns the existing run
 * for a key it has seen. */
static int plugin_trigger(struct adapter_ctx *ctx, const struct adapter_test *t,
                          adapter_done_fn done, void *arg)
{
    return plugin_start(ctx, t, NULL, PLUGIN_TRIGGER, done, arg);
}

/* plugin_find - `PLUGIN status` with only the key: found when it answers a run. */
static int plugin_find(struct adapter_ctx *ctx, const struct adapter_test *t,
                       adapter_done_fn done, void *arg)
{
    return plugin_start(ctx, t, NULL, PLUGIN_FIND, done, arg);
}

/* plugin_status - `PLUGIN status` with the run. */
static int plugin_status(struct adapter_ctx *ctx, const struct adapter_test *t,
                         const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    return plugin_start(ctx, t, run, PLUGIN_STATUS, done, arg);
}

/* plugin_cancel - `PLUGIN cancel` with the run. */
static int plugin_cancel(struct adapter_ctx *ctx, const struct adapter_test *t,
                         const struct adapter_run *run, adapter_done_fn done, void *arg)
{
    return plugin_start(ctx, t, run, PLUGIN_CANCEL, done, arg);
}

const struct adapter adapter_plugin = {
    .provider = "plugin",
    .trigger = plugin_trigger,
    .find = plugin_find,
    .status = plugin_status,
    .cancel = plugin_cancel,
};
