/* audit.c - the append-only audit log (see audit.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "audit.h"
#include "log.h"
#include "store.h"
#include "util.h"

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

/* audit_has_key - scan the tail of the log for key (and reason). */
int audit_has_key(struct store *s, const char *key, const char *reason)
{
    char path[4096], *buf, *p, *end;
    struct stat sb;
    off_t from;
    size_t len, got = 0;
    int fd, found = 0;

    fd = open(audit_path(s, path, sizeof(path)), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &sb) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    from = sb.st_size > AUDIT_SCAN_MAX ? sb.st_size - AUDIT_SCAN_MAX : 0;
    len = (size_t)(sb.st_size - from);
    buf = xmalloc(len + 1);
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, from + (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    for (p = buf; p < buf + got; p = end + 1) {
        cJSON *o, *k, *r;
        end = memchr(p, '\n', (size_t)(buf + got - p));
        if (!end)
            end = buf + got;
        if (!memmem(p, (size_t)(end - p), key, strlen(key)))
            continue;
        o = cJSON_ParseWithLength(p, (size_t)(end - p));
        k = cJSON_GetObjectItemCaseSensitive(o, "key");
        r = cJSON_GetObjectItemCaseSensitive(o, "reason");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0 &&
            (!reason || (cJSON_IsString(r) && strcmp(r->valuestring, reason) == 0)))
            found = 1;
        cJSON_Delete(o);
        if (found)
            break;
    }
    free(buf);
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
