/* sim_http.c - promo-sim's HTTP front: libmicrohttpd glue, request decoding,
 * dispatch by path prefix to each system, the request log and the /_sim
 * control endpoints.
 *
 * The URL is taken raw (no unescaping by libmicrohttpd) so that a GitLab
 * project path "group%2Fproject" stays one segment; segments and query
 * arguments are decoded here. Each request is handled whole under sim->lock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "util/log.h"
#include "util/util.h"
#include "sim/sim.h"

/* Request headers copied into the log; the secret ones are redacted. */
static const char *const sim_http_logged[] = {
    "Authorization", "PRIVATE-TOKEN", "Cookie", "Jenkins-Crumb", "User-Agent", "Accept",
    "X-GitHub-Api-Version", "Content-Type", "If-None-Match",
};
static const char *const sim_http_secret[] = { "Authorization", "PRIVATE-TOKEN", "Cookie" };

/* sim_system_name - the name of a system as written in the log. */
const char *sim_system_name(enum sim_system sys)
{
    switch (sys) {
    case SIM_SYS_JENKINS: return "jenkins";
    case SIM_SYS_GITHUB: return "github";
    case SIM_SYS_GITLAB: return "gitlab";
    case SIM_SYS_ARGOCD: return "argocd";
    default: return "sim";
    }
}

/* sim_http_hex - the value of a hex digit, or -1. */
static int sim_http_hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* sim_url_decode - percent-decode n bytes of s into a fresh string ('+' is a
 * space when plus_is_space). Invalid escapes are kept as they are; NUL bytes
 * are dropped. */
char *sim_url_decode(const char *s, size_t n, int plus_is_space)
{
    char *out = xmalloc(n + 1);
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && sim_http_hex(s[i + 1]) >= 0 && sim_http_hex(s[i + 2]) >= 0) {
            c = sim_http_hex(s[i + 1]) * 16 + sim_http_hex(s[i + 2]);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c)
            out[o++] = (char)c;
    }
    out[o] = 0;
    return out;
}

/* sim_url_encode - percent-encode everything but unreserved characters. */
char *sim_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(s) * 3 + 1);
    size_t o = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
    return out;
}

/* sim_http_parse_pairs - decode "a=1&b=2" into obj (later duplicates win). */
static void sim_http_parse_pairs(cJSON *obj, const char *s, size_t n)
{
    const char *p = s, *end = s + n;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (stop > p) {
            char *k = sim_url_decode(p, (size_t)((eq ? eq : stop) - p), 1);
            char *v = eq ? sim_url_decode(eq + 1, (size_t)(stop - eq - 1), 1) : xstrdup("");
            if (*k) {
                cJSON_DeleteItemFromObjectCaseSensitive(obj, k);
                cJSON_AddStringToObject(obj, k, v);
            }
            free(k);
            free(v);
        }
        p = stop + 1;
    }
}

/* sim_req_header - a request header by name (case-insensitive), or NULL. */
const char *sim_req_header(const struct sim_req *rq, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)rq->conn, MHD_HEADER_KIND, name);
}

/* sim_req_arg - a decoded query argument, or NULL. */
const char *sim_req_arg(const struct sim_req *rq, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rq->query, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* sim_resp_header - add a response header (at most SIM_MAX_HDRS; extra ones are dropped). */
void sim_resp_header(struct sim_resp *rp, const char *name, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    if (rp->nhdr >= SIM_MAX_HDRS)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rp->hname[rp->nhdr] = xstrdup(name);
    rp->hval[rp->nhdr] = xstrdup(buf);
    rp->nhdr++;
}

/* sim_resp_json - answer status with body (consumed; NULL = empty body). */
void sim_resp_json(struct sim_resp *rp, int status, cJSON *body)
{
    free(rp->body);
    rp->body = NULL;
    rp->len = 0;
    rp->status = status;
    str_copy(rp->ctype, "application/json; charset=utf-8", sizeof rp->ctype);
    if (body) {
        rp->body = cJSON_PrintUnformatted(body);
        rp->len = rp->body ? strlen(rp->body) : 0;
        cJSON_Delete(body);
    }
}

/* sim_resp_text - answer status with a text body of the given content type. */
void sim_resp_text(struct sim_resp *rp, int status, const char *ctype, const char *text)
{
    free(rp->body);
    rp->status = status;
    str_copy(rp->ctype, ctype, sizeof rp->ctype);
    rp->body = xstrdup(text ? text : "");
    rp->len = strlen(rp->body);
}

/* sim_http_split - decode path (below its system prefix) into rq->seg. */
static void sim_http_split(struct sim_req *rq, const char *path)
{
    const char *p = path;
    int cap = 8;

    rq->seg = xcalloc((size_t)cap, sizeof *rq->seg);
    while (*p) {
        const char *slash;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        slash = strchr(p, '/');
        if (rq->nseg == cap) {
            cap *= 2;
            rq->seg = xrealloc(rq->seg, (size_t)cap * sizeof *rq->seg);
        }
        rq->seg[rq->nseg++] = sim_url_decode(p, slash ? (size_t)(slash - p) : strlen(p), 0);
        p = slash ? slash : p + strlen(p);
    }
}

/* sim_http_prefix - if path starts with prefix at a segment boundary, the rest; else NULL. */
static const char *sim_http_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(path, prefix, n) != 0)
        return NULL;
    if (path[n] == 0 || path[n] == '/')
        return path + n;
    return NULL;
}

/* sim_http_log_entry - build the log entry of a served request. */
static cJSON *sim_http_log_entry(struct sim *s, const struct sim_req *rq, const struct sim_resp *rp)
{
    cJSON *e = cJSON_CreateObject(), *h = cJSON_AddObjectToObject(e, "headers");
    char ts[40];
    size_t i, j;

    cJSON_AddNumberToObject(e, "seq", (double)++s->seq);
    cJSON_AddStringToObject(e, "time", time_format_iso(rq->now, ts, sizeof ts));
    cJSON_AddStringToObject(e, "system", sim_system_name(rq->sys));
    cJSON_AddStringToObject(e, "method", rq->method);
    cJSON_AddStringToObject(e, "path", rq->path);
    cJSON_AddItemToObject(e, "query", cJSON_Duplicate(rq->query, 1));
    for (i = 0; i < ARRAY_LEN(sim_http_logged); i++) {
        const char *v = sim_req_header(rq, sim_http_logged[i]);
        int secret = 0;
        char lname[64];
        if (!v)
            continue;
        for (j = 0; j < ARRAY_LEN(sim_http_secret); j++)
            if (strcasecmp(sim_http_secret[j], sim_http_logged[i]) == 0)
                secret = 1;
        for (j = 0; sim_http_logged[i][j] && j + 1 < sizeof lname; j++)
            lname[j] = (char)(sim_http_logged[i][j] >= 'A' && sim_http_logged[i][j] <= 'Z'
                              ? sim_http_logged[i][j] + 32 : sim_http_logged[i][j]);
        lname[j] = 0;
        cJSON_AddStringToObject(h, lname, secret ? (rq->auth == 1 ? "<redacted:ok>" : "<redacted:bad>") : v);
    }
    if (rq->json)
        cJSON_AddItemToObject(e, "body", cJSON_Duplicate(rq->json, 1));
    else if (rq->form)
        cJSON_AddItemToObject(e, "body", cJSON_Duplicate(rq->form, 1));
    else if (rq->body_len && !rq->too_large) {
        char *t = xstrndup(rq->body, rq->body_len > 4096 ? 4096 : rq->body_len);
        cJSON_AddStringToObject(e, "body", t);
        free(t);
    } else
        cJSON_AddNullToObject(e, "body");
    if (rq->too_large)
        cJSON_AddNumberToObject(e, "bodyBytes", (double)rq->body_len);
    cJSON_AddNumberToObject(e, "status", rp->status);
    return e;
}

/* sim_http_log_add - see sim.h. */
void sim_http_log_add(struct sim *s, cJSON *e)
{
    if (s->logf) {
        char *line = cJSON_PrintUnformatted(e);
        if (line) {
            fprintf(s->logf, "%s\n", line);
            fflush(s->logf);
            free(line);
        }
    }
    if (s->nlog >= SIM_LOG_MAX)
        cJSON_DeleteItemFromArray(s->log, 0);
    else
        s->nlog++;
    cJSON_AddItemToArray(s->log, e);
}

/* sim_http_log - append the entry of this request to the log (memory and --log file). */
static void sim_http_log(struct sim *s, const struct sim_req *rq, const struct sim_resp *rp)
{
    sim_http_log_add(s, sim_http_log_entry(s, rq, rp));
    if (s->verbose)
        log_info("request", "system=%s method=%s path=%s status=%d", sim_system_name(rq->sys),
                 rq->method, log_q(rq->path), rp->status);
}

/* sim_http_control - the /_sim endpoints. */
static void sim_http_control(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *what = rq->nseg == 1 ? rq->seg[0] : "";
    int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;

    if (strcmp(what, "requests") == 0 && get) {
        const char *sys = sim_req_arg(rq, "system"), *m = sim_req_arg(rq, "method");
        const char *pp = sim_req_arg(rq, "path_prefix");
        cJSON *out = cJSON_CreateArray(), *e;
        cJSON_ArrayForEach(e, s->log) {
            const char *es = cJSON_GetStringValue(cJSON_GetObjectItem(e, "system"));
            const char *em = cJSON_GetStringValue(cJSON_GetObjectItem(e, "method"));
            const char *ep = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
            if (sys && *sys && (!es || strcmp(es, sys) != 0))
                continue;
            if (m && *m && (!em || strcasecmp(em, m) != 0))
                continue;
            if (pp && *pp && (!ep || strncmp(ep, pp, strlen(pp)) != 0))
                continue;
            cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
        }
        sim_resp_json(rp, 200, out);
    } else if (strcmp(what, "reset") == 0 && post) {
        sim_state_reset(s);
        sim_resp_json(rp, 200, cJSON_Parse("{\"reset\":true}"));
    } else if (strcmp(what, "complete") == 0 && post) {
        char err[256];
        int st = sim_complete(s, sim_req_arg(rq, "system"), sim_req_arg(rq, "id"),
                              sim_req_arg(rq, "result"), rq->now, err, sizeof err);
        cJSON *o = cJSON_CreateObject();
        if (st == 200)
            cJSON_AddBoolToObject(o, "completed", 1);
        else
            cJSON_AddStringToObject(o, "error", err);
        sim_resp_json(rp, st, o);
    } else if (strcmp(what, "deploy") == 0 && post) {
        char err[256];
        cJSON *o = cJSON_CreateObject();
        if (sim_argocd_deploy(s, sim_req_arg(rq, "app"), sim_req_arg(rq, "revision"), rq->now, err, sizeof err) == 0) {
            cJSON_AddBoolToObject(o, "deployed", 1);
            sim_resp_json(rp, 200, o);
        } else {
            cJSON_AddStringToObject(o, "error", err);
            sim_resp_json(rp, 400, o);
        }
    } else if (strcmp(what, "state") == 0 && get) {
        sim_resp_json(rp, 200, sim_state_json(s, rq->now));
    } else if (strcmp(what, "health") == 0 && get) {
        sim_resp_json(rp, 200, cJSON_Parse("{\"ok\":true}"));
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", "no such promo-sim endpoint");
        sim_resp_json(rp, 404, o);
    }
}

/* sim_http_too_large - the 413 answer in the system's own shape. */
static void sim_http_too_large(struct sim_req *rq, struct sim_resp *rp)
{
    switch (rq->sys) {
    case SIM_SYS_JENKINS: sim_jenkins_error(rp, 413, "Request body too large"); break;
    case SIM_SYS_GITHUB: sim_github_error(rp, 413, "Payload too big"); break;
    case SIM_SYS_GITLAB: sim_gitlab_error(rp, 413, "413 Request Entity Too Large"); break;
    case SIM_SYS_ARGOCD: sim_argocd_error(rp, 413, 8, "request body too large"); break;
    default: sim_resp_json(rp, 413, cJSON_Parse("{\"error\":\"request body too large\"}"));
    }
}

/* sim_http_decode_body - parse the body as JSON or as a form, as it looks. */
static void sim_http_decode_body(struct sim_req *rq)
{
    const char *ct = sim_req_header(rq, "Content-Type");
    size_t i = 0;

    if (!rq->body_len || rq->too_large)
        return;
    while (i < rq->body_len && (rq->body[i] == ' ' || rq->body[i] == '\n' || rq->body[i] == '\r'
                                || rq->body[i] == '\t'))
        i++;
    /* the JSON APIs read JSON whatever the Content-Type says (curl -d sends a
     * form type); Jenkins reads forms unless told JSON */
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0
        && (rq->sys == SIM_SYS_JENKINS || rq->sys == SIM_SYS_SIM
            || (i < rq->body_len && rq->body[i] != '{' && rq->body[i] != '['))) {
        rq->form = cJSON_CreateObject();
        sim_http_parse_pairs(rq->form, rq->body, rq->body_len);
        return;
    }
    if ((ct && strstr(ct, "json")) || rq->sys != SIM_SYS_JENKINS) {
        rq->json = cJSON_ParseWithLength(rq->body, rq->body_len);
        if (!rq->json)
            rq->json_bad = 1;
        return;
    }
    rq->form = cJSON_CreateObject();
    sim_http_parse_pairs(rq->form, rq->body, rq->body_len);
}

/* sim_http_arg - libmicrohttpd's iterator over query arguments: decode into an object. */
static enum MHD_Result sim_http_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    cJSON *obj = cls;
    char *k = sim_url_decode(key, strlen(key), 1);
    char *v = value ? sim_url_decode(value, strlen(value), 1) : xstrdup("");

    if (*k) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, k);
        cJSON_AddStringToObject(obj, k, v);
    }
    free(k);
    free(v);
    return MHD_YES;
}

/* sim_http_handle - decode, dispatch, log: the whole life of one request, under the lock. */
static void sim_http_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *rest, *host = sim_req_header(rq, "Host");
    char *q = strchr(rq->path, '?');

    rq->now = wall_ms();
    rq->auth = -1;
    rq->query = cJSON_CreateObject();
    MHD_get_connection_values((struct MHD_Connection *)rq->conn, MHD_GET_ARGUMENT_KIND,
                              sim_http_arg, rq->query);
    if (q) {  /* libmicrohttpd gives the path alone; be safe if it does not */
        sim_http_parse_pairs(rq->query, q + 1, strlen(q + 1));
        *q = 0;
    }
    if (host && strlen(host) < 100 && !strpbrk(host, " \r\n\"<>"))
        snprintf(rq->base, sizeof rq->base, "http://%s", host);
    else
        snprintf(rq->base, sizeof rq->base, "http://%s:%d", s->listen_host, s->port);
    if ((rest = sim_http_prefix(rq->path, "/jenkins")))
        rq->sys = SIM_SYS_JENKINS;
    else if ((rest = sim_http_prefix(rq->path, "/github")))
        rq->sys = SIM_SYS_GITHUB;
    else if ((rest = sim_http_prefix(rq->path, "/gitlab/api/v4")))
        rq->sys = SIM_SYS_GITLAB;
    else if ((rest = sim_http_prefix(rq->path, "/argocd")))
        rq->sys = SIM_SYS_ARGOCD;
    else if ((rest = sim_http_prefix(rq->path, "/_sim")))
        rq->sys = SIM_SYS_SIM;
    else {
        rest = "";
        rq->sys = SIM_SYS_SIM;
    }
    sim_http_split(rq, rest);
    sim_http_decode_body(rq);
    rp->status = 500;
    if (rq->too_large)
        sim_http_too_large(rq, rp);
    else if (rq->sys == SIM_SYS_JENKINS)
        sim_jenkins_handle(s, rq, rp);
    else if (rq->sys == SIM_SYS_GITHUB)
        sim_github_handle(s, rq, rp);
    else if (rq->sys == SIM_SYS_GITLAB)
        sim_gitlab_handle(s, rq, rp);
    else if (rq->sys == SIM_SYS_ARGOCD)
        sim_argocd_handle(s, rq, rp);
    else if (sim_http_prefix(rq->path, "/_sim"))
        sim_http_control(s, rq, rp);
    else
        sim_resp_json(rp, 404, cJSON_Parse("{\"error\":\"unknown prefix: use /jenkins, /github, "
                                           "/gitlab/api/v4, /argocd or /_sim\"}"));
    sim_http_log(s, rq, rp);
}

/* sim_http_req_free - release one request and its answer. */
static void sim_http_req_free(struct sim_req *rq)
{
    int i;

    if (!rq)
        return;
    for (i = 0; i < rq->nseg; i++)
        free(rq->seg[i]);
    free(rq->seg);
    free(rq->path);
    free(rq->body);
    cJSON_Delete(rq->query);
    cJSON_Delete(rq->json);
    cJSON_Delete(rq->form);
    free(rq);
}

/* sim_http_send - queue the answer on the connection. */
static enum MHD_Result sim_http_send(struct MHD_Connection *c, struct sim_resp *rp)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    int i;

    r = MHD_create_response_from_buffer(rp->len, rp->body ? rp->body : (char *)"",
                                        MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    if (rp->len || rp->status != 204)
        if (rp->ctype[0] && rp->status != 304 && rp->status != 204)
            MHD_add_response_header(r, "Content-Type", rp->ctype);
    for (i = 0; i < rp->nhdr; i++)
        MHD_add_response_header(r, rp->hname[i], rp->hval[i]);
    ret = MHD_queue_response(c, (unsigned)rp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* sim_http_resp_free - release the buffers of an answer. */
static void sim_http_resp_free(struct sim_resp *rp)
{
    int i;

    free(rp->body);
    for (i = 0; i < rp->nhdr; i++) {
        free(rp->hname[i]);
        free(rp->hval[i]);
    }
}

/* sim_http_access - libmicrohttpd's access handler: gather the body, then answer. */
static enum MHD_Result sim_http_access(void *cls, struct MHD_Connection *c, const char *url,
                                       const char *method, const char *version,
                                       const char *upload, size_t *upload_size, void **ctx)
{
    struct sim *s = cls;
    struct sim_req *rq = *ctx;
    struct sim_resp rp;
    enum MHD_Result ret;

    if (!rq) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        rq = xcalloc(1, sizeof *rq);
        rq->conn = c;
        rq->method = method;
        rq->path = xstrdup(url);
        if (cl && strtoull(cl, NULL, 10) > SIM_BODY_MAX) {
            rq->too_large = 1;
            rq->body_len = (size_t)strtoull(cl, NULL, 10);
        }
        *ctx = rq;
        if (!rq->too_large)
            return MHD_YES;
        /* answer at once; libmicrohttpd closes the connection after it */
    }
    if (*upload_size && !rq->too_large) {
        if (rq->body_len + *upload_size > SIM_BODY_MAX) {
            rq->too_large = 1;
            rq->body_len += *upload_size;
        } else {
            rq->body = xrealloc(rq->body, rq->body_len + *upload_size + 1);
            memcpy(rq->body + rq->body_len, upload, *upload_size);
            rq->body_len += *upload_size;
            rq->body[rq->body_len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        rq->body_len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    memset(&rp, 0, sizeof rp);
    pthread_mutex_lock(&s->lock);
    sim_http_handle(s, rq, &rp);
    pthread_mutex_unlock(&s->lock);
    ret = sim_http_send(c, &rp);
    sim_http_resp_free(&rp);
    return ret;
}

/* sim_http_done - libmicrohttpd's completion callback: free the request. */
static void sim_http_done(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_RequestTerminationCode toe)
{
    sim_http_req_free(*ctx);
    *ctx = NULL;
}

/* sim_http_no_unescape - keep the URL and arguments raw; sim_http decodes them. */
static size_t sim_http_no_unescape(void *cls, struct MHD_Connection *c, char *uri)
{
    return strlen(uri);
}

/* sim_http_port_file - write the port to path atomically (temp file, rename). */
static int sim_http_port_file(const char *path, int port)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok;

    if (!f) {
        free(tmp);
        return -1;
    }
    ok = fprintf(f, "%d\n", port) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* sim_http_run - listen, signal readiness, serve until SIGTERM or SIGINT.
 * Returns an exit code (0 after a clean stop, 111 when it cannot listen). */
int sim_http_run(struct sim *s, int notify_fd, const char *port_file)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int sig = 0;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->port);
    if (inet_pton(AF_INET, s->listen_host, &sa.sin_addr) != 1) {
        log_error("listen", "error=%s", log_q("not an IPv4 address"));
        return EXIT_PERM;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);  /* the server's threads inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
                         | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, sim_http_access, s,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_COMPLETED, sim_http_done, s,
                         MHD_OPTION_UNESCAPE_CALLBACK, sim_http_no_unescape, s,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                         MHD_OPTION_END);
    if (!d) {
        log_error("listen", "addr=%s port=%d error=%s", s->listen_host, s->port,
                  log_q("cannot start the HTTP server (address in use?)"));
        return EXIT_TEMP;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port)
        s->port = info->port;
    if (port_file && sim_http_port_file(port_file, s->port) != 0) {
        log_error("port-file", "path=%s error=%s", log_q(port_file), log_q(strerror(errno)));
        MHD_stop_daemon(d);
        return EXIT_TEMP;
    }
    log_info("start", "listen=%s:%d scenario=%s", s->listen_host, s->port,
             log_q(s->scenario_path ? s->scenario_path : "-"));
    if (notify_fd >= 0) {
        if (write(notify_fd, "\n", 1) < 0)
            log_warn("notify", "fd=%d error=%s", notify_fd, log_q(strerror(errno)));
        close(notify_fd);
    }
    while (sigwait(&set, &sig) != 0)
        ;
    log_info("stop", "signal=%d", sig);
    MHD_stop_daemon(d);
    return EXIT_OK;
}
