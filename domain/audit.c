/* audit.c - the append-only audit log (see audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic.h"
#include "domain/audit.h"
#include "util/log.h"
#include "domain/store.h"
#include "util/strmap.h"
#include "util/util.h"

#define AUDIT_SCAN_MAX (4 << 20)

/* audit_path - STATE/audit.log. */
static char *audit_path(struct store *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", store_dir(s), AUDIT_FILE);
    return buf;
}

/* audit_str - v, or "" for NULL, cut to max bytes (at a UTF-8 boundary). */
static char *audit_str(const char *v, size_t max)
{
    size_t n;

    if (!v)
        v = "";
    n = strlen(v);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
    }
    return xstrndup(v, n);
}

/* audit_append - one JSON line, one write(2) with O_APPEND. */
int audit_append(struct store *s, const char *tracker, const char *type,
                 const char *reason, const char *message, const char *key)
{
    char path[4096], ts[40], *line, *m;
    cJSON *o = cJSON_CreateObject();
    size_t len;
    ssize_t w;
    int fd, err = 0;

    cJSON_AddStringToObject(o, "time", time_format_iso(wall_ms(), ts, sizeof(ts)));
    cJSON_AddStringToObject(o, "tracker", tracker ? tracker : "");
    cJSON_AddStringToObject(o, "type", type ? type : "Normal");
    cJSON_AddStringToObject(o, "reason", reason ? reason : "");
    m = audit_str(message, AUDIT_LINE_MAX / 2);
    cJSON_AddStringToObject(o, "message", m);
    free(m);
    cJSON_AddStringToObject(o, "key", key ? key : "");
    line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        return -ENOMEM;
    len = strlen(line);
    line = xrealloc(line, len + 2);
    line[len++] = '\n';
    line[len] = 0;

    fd = open(audit_path(s, path, sizeof(path)), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        err = -errno;
    } else {
        w = write(fd, line, len);
        if (w < 0)
            err = -errno;
        else if ((size_t)w != len)
            err = -EIO;
        if (!err && atomic_is_durable() && fsync(fd) < 0)
            err = -errno;
        close(fd);
    }
    if (err)
        log_error("audit_failed", "path=%s reason=%s", log_q(path), log_q(strerror(-err)));
    free(line);
    return err;
}

/* What audit_has_key knows of the log: the key and "reason\x1fkey" of
 * every event read so far, and where reading stopped. The log only grows
 * (one writer per event, whole lines by O_APPEND), so each lookup reads just
 * the bytes appended since the last one, by this process or another; a log
 * that shrank or was replaced is read again from its last AUDIT_SCAN_MAX
 * bytes, as is one whose index would pass AUDIT_INDEX_MAX entries. */
#define AUDIT_INDEX_MAX 500000
static struct {
    char path[4096];
    dev_t dev;
    ino_t ino;
    off_t off;                   /* bytes of the log read into keys */
    struct strmap *keys;
} audit_ix;

/* audit_index_line - put the key (and reason) of one log line in the index. */
static void audit_index_line(const char *p, size_t n)
{
    cJSON *o, *k, *r;
    char *rk;

    if (!memmem(p, n, "\"key\"", 5))
        return;
    o = cJSON_ParseWithLength(p, n);
    k = cJSON_GetObjectItemCaseSensitive(o, "key");
    r = cJSON_GetObjectItemCaseSensitive(o, "reason");
    if (cJSON_IsString(k) && k->valuestring[0]) {
        strmap_put(audit_ix.keys, k->valuestring, NULL);       /* a set: again changes nothing */
        if (cJSON_IsString(r)) {
            rk = xasprintf("%s\x1f%s", r->valuestring, k->valuestring);
            strmap_put(audit_ix.keys, rk, NULL);
            free(rk);
        }
    }
    cJSON_Delete(o);
}

/* audit_index_update - read what was appended to the log since the last
 * call into the index. Returns 0 or -errno. */
static int audit_index_update(struct store *s)
{
    char path[4096], *buf, *p, *end;
    struct stat sb;
    size_t len, got = 0;
    int fd;

    audit_path(s, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return -errno;
    if (fd >= 0 && fstat(fd, &sb) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (fd < 0)
        memset(&sb, 0, sizeof(sb));
    if (!audit_ix.keys || strcmp(audit_ix.path, path) != 0 || sb.st_dev != audit_ix.dev ||
        sb.st_ino != audit_ix.ino || sb.st_size < audit_ix.off || strmap_count(audit_ix.keys) > AUDIT_INDEX_MAX) {
        strmap_free(audit_ix.keys, NULL);
        audit_ix.keys = strmap_new();
        str_copy(audit_ix.path, path, sizeof(audit_ix.path));
        audit_ix.dev = sb.st_dev;
        audit_ix.ino = sb.st_ino;
        audit_ix.off = sb.st_size > AUDIT_SCAN_MAX ? sb.st_size - AUDIT_SCAN_MAX : 0;
    }
    if (fd < 0)
        return 0;
    len = (size_t)(sb.st_size - audit_ix.off);
    buf = xmalloc(len + 1);
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, audit_ix.off + (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    /* only whole lines: the rest is read once its newline is there; a first
     * line cut by AUDIT_SCAN_MAX fails to parse and is skipped */
    for (p = buf; p < buf + got && (end = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p = end + 1)
        audit_index_line(p, (size_t)(end - p));
    audit_ix.off += (off_t)(p - buf);
    free(buf);
    return 0;
}

/* audit_has_key - see audit.h. */
int audit_has_key(struct store *s, const char *key, const char *reason)
{
    char *rk;
    int rc = audit_index_update(s), found;

    if (rc < 0)
        return rc;
    if (!reason)
        return strmap_has(audit_ix.keys, key);
    rk = xasprintf("%s\x1f%s", reason, key);
    found = strmap_has(audit_ix.keys, rk);
    free(rk);
    return found;
}

/* audit_decode - strict check of one audit line. */
cJSON *audit_decode(const char *line, size_t len, char *err, size_t errlen)
{
    static const char *fields[] = { "time", "tracker", "type", "reason", "message", "key" };
    const char *endp = NULL;
    cJSON *o;
    size_t i;

    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    o = cJSON_ParseWithLengthOpts(line, len, &endp, 0);
    if (!cJSON_IsObject(o) || (endp && endp != line + len)) {
        snprintf(err, errlen, "not a JSON object");
        cJSON_Delete(o);
        return NULL;
    }
    for (i = 0; i < ARRAY_LEN(fields); i++) {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, fields[i]))) {
            snprintf(err, errlen, "%s: expected a string", fields[i]);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}
