/* store.c - the state dir: one JSON record per file, written atomically,
 * read strictly, and moved to quarantine/ (never deleted) when corrupt.
 *
 * Layout and ownership are in store.h and docs/state.md. Every area and
 * record name is checked before it becomes part of a path, so no input can
 * reach outside STATE. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"
#include "util/metrics.h"
#include "domain/store.h"
#include "util/util.h"

#define STORE_QUARANTINE "quarantine"
#define STORE_TEMP_MAX_AGE 3600       /* seconds; atomic_clean_temps at open */

struct store {
    char *dir;
    struct store_watch *watch;   /* store_watch_start; NULL when none */
};

/* The record areas; quarantine/ is apart (see store_area_ok). */
static const char *const store_areas[] = {
    "trackers", "watcher", "policy", "trigger", "monitor", "promoter", "approvals", "targets",
};

static unsigned long store_bytes_counter;

/* store_area_ok - is area one of store_areas (or quarantine, when allowed)? */
static int store_area_ok(const char *area, int allow_quarantine)
{
    size_t i;

    if (!area)
        return 0;
    for (i = 0; i < ARRAY_LEN(store_areas); i++)
        if (strcmp(area, store_areas[i]) == 0)
            return 1;
    return allow_quarantine && strcmp(area, STORE_QUARANTINE) == 0;
}

/* store_path - snprintf into a PATH_MAX buffer; -ENAMETOOLONG if it does not fit. */
static int store_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int store_path(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* store_mkdir_p - mkdir -p path with mode for the directories it creates.
 * Returns 0 or -errno (-ENOTDIR when a component is not a directory). */
static int store_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    struct stat sb;
    char *p;

    if (store_path(buf, sizeof(buf), "%s", path) < 0)
        return -ENAMETOOLONG;
    for (p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = c;
        if (c == '\0')
            break;
    }
    if (stat(path, &sb) < 0)
        return -errno;
    return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/* store_open - open (create: make) STATE, its areas and quarantine/; NULL
 * with errno set and a log line on failure. Stale temp files of dead
 * writers are removed from every area. */
struct store *store_open(const char *dir, int create)
{
    struct store *s;
    struct stat sb;
    char path[PATH_MAX];
    size_t i, n;
    int rc;

    if (!dir || !*dir) {
        errno = EINVAL;
        log_error("store_open", "dir=\"\" error=%s", log_q("empty state dir"));
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    s->dir = xstrdup(dir);
    n = strlen(s->dir);
    while (n > 1 && s->dir[n - 1] == '/')
        s->dir[--n] = '\0';

    if (create) {
        rc = store_mkdir_p(s->dir, 0700);
        for (i = 0; rc == 0 && i <= ARRAY_LEN(store_areas); i++) {
            const char *a = i < ARRAY_LEN(store_areas) ? store_areas[i] : STORE_QUARANTINE;
            rc = store_path(path, sizeof(path), "%s/%s", s->dir, a);
            if (rc == 0 && mkdir(path, 0700) < 0 && errno != EEXIST)
                rc = -errno;
        }
    } else if (stat(s->dir, &sb) < 0) {
        rc = -errno;
    } else {
        rc = S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
    }
    if (rc < 0) {
        log_error("store_open", "dir=%s error=%s", log_q(s->dir), log_q(strerror(-rc)));
        store_close(s);
        errno = -rc;
        return NULL;
    }
    for (i = 0; i < ARRAY_LEN(store_areas); i++)
        if (store_path(path, sizeof(path), "%s/%s", s->dir, store_areas[i]) == 0)
            atomic_clean_temps(path, STORE_TEMP_MAX_AGE);
    return s;
}

/* store_close - free s (NULL is fine). */
void store_close(struct store *s)
{
    if (!s)
        return;
    store_watch_stop(s);
    free(s->dir);
    free(s);
}

/* store_watch_slot - where store_watch.c keeps its state. */
struct store_watch **store_watch_slot(struct store *s)
{
    return &s->watch;
}

/* store_dir - the state dir as opened, without trailing '/'. */
const char *store_dir(const struct store *s)
{
    return s->dir;
}

/* store_area_path - "STATE/area" into buf; NULL if area is unknown or the
 * path does not fit. quarantine is accepted. */
char *store_area_path(const struct store *s, const char *area, char *buf, size_t len)
{
    if (!store_area_ok(area, 1) || store_path(buf, len, "%s/%s", s->dir, area) < 0)
        return NULL;
    return buf;
}

/* store_record_path - "STATE/area/name.json"; -EINVAL for an unknown area or
 * a name that is not name_valid. */
static int store_record_path(const struct store *s, const char *area, const char *name,
                             char *buf, size_t len)
{
    if (!store_area_ok(area, 0) || !name_valid(name))
        return -EINVAL;
    return store_path(buf, len, "%s/%s/%s.json", s->dir, area, name);
}

/* store_rename_noreplace - rename without replacing an existing to:
 * -EEXIST if it exists. Falls back to link+unlink where renameat2 is
 * unsupported. Returns 0 or -errno. */
static int store_rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(from, to) < 0)
        return -errno;
    if (unlink(from) < 0) {
        int e = errno;
        unlink(to);
        return -e;
    }
    return 0;
}

/* store_quarantine_as - move area/name.json into quarantine/ with its
 * reason. If expect is given and the file is no longer that inode (a writer
 * replaced it meanwhile), nothing is moved and -ESTALE is returned. */
static int store_quarantine_as(struct store *s, const char *area, const char *name,
                               const char *reason, const struct stat *expect)
{
    char src[PATH_MAX], qdir[PATH_MAX], dst[PATH_MAX], base[PATH_MAX], rname[PATH_MAX];
    struct stat sb;
    int64_t ms = wall_ms();
    int rc, tries;

    rc = store_record_path(s, area, name, src, sizeof(src));
    if (rc < 0)
        return rc;
    if (store_path(qdir, sizeof(qdir), "%s/" STORE_QUARANTINE, s->dir) < 0)
        return -ENAMETOOLONG;
    if (mkdir(qdir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (expect) {
        if (lstat(src, &sb) < 0)
            return -errno;
        if (sb.st_dev != expect->st_dev || sb.st_ino != expect->st_ino)
            return -ESTALE;
    }
    for (tries = 0; ; tries++, ms++) {
        if (store_path(base, sizeof(base), "%s.%s.%lld", area, name, (long long)ms) < 0
            || store_path(dst, sizeof(dst), "%s/%s.json", qdir, base) < 0)
            return -ENAMETOOLONG;
        rc = store_rename_noreplace(src, dst);
        if (rc != -EEXIST || tries >= 100)
            break;
    }
    if (rc < 0)
        return rc;
    log_warn("quarantine", "area=%s name=%s file=%s reason=%s", log_q(area), log_q(name),
             log_q(base), log_q(reason));
    metrics_inc("promo_quarantined_total", "what", area);
    if (store_path(rname, sizeof(rname), "%s.reason", base) < 0)
        return -ENAMETOOLONG;
    {
        char *text = xasprintf("%s\n", reason ? reason : "");
        rc = atomic_write(qdir, rname, text, strlen(text), 0600);
        free(text);
    }
    return rc;
}

/* store_quarantine - move area/name.json to quarantine/area.name.<ms>.json
 * and write area.name.<ms>.reason beside it; 0 or -errno. */
int store_quarantine(struct store *s, const char *area, const char *name, const char *reason)
{
    return store_quarantine_as(s, area, name, reason, NULL);
}

/* store_read_fd - read all of fd (at most STORE_MAX_RECORD + 1 bytes, so an
 * over-long file is seen) into a NUL-terminated heap buffer. 0 or -errno. */
static int store_read_fd(int fd, size_t hint, char **out, size_t *outlen)
{
    size_t cap = hint + 1 < (size_t)STORE_MAX_RECORD + 2 ? hint + 2 : (size_t)STORE_MAX_RECORD + 2;
    size_t len = 0;
    char *buf = xmalloc(cap);

    for (;;) {
        ssize_t n;
        if (len + 1 == cap) {
            if (cap >= (size_t)STORE_MAX_RECORD + 2)
                break;                  /* over the limit: caller rejects */
            cap = cap * 2 > (size_t)STORE_MAX_RECORD + 2 ? (size_t)STORE_MAX_RECORD + 2 : cap * 2;
            buf = xrealloc(buf, cap);
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* store_read_once - one attempt of store_read_checked. Returns as it, or
 * -ESTALE when the corrupt file was replaced before it could be quarantined
 * (the caller reads again). The reason of a quarantine goes to why. */
static int store_read_once(struct store *s, const char *area, const char *name, store_check_fn check,
                           void *arg, cJSON **out, char *why, size_t whylen)
{
    char path[PATH_MAX];
    struct stat sb;
    const char *end = NULL;
    char *buf = NULL;
    size_t len = 0;
    cJSON *doc;
    long long grown = 0;
    int fd, rc;

    rc = store_record_path(s, area, name, path, sizeof(path));
    if (rc < 0)
        return rc;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ELOOP)
            return -errno;
        if (lstat(path, &sb) < 0)
            return -errno;
        snprintf(why, whylen, "not a regular file (symbolic link)");
        rc = store_quarantine_as(s, area, name, why, &sb);
        return rc == 0 ? -EBADMSG : rc;
    }
    if (fstat(fd, &sb) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(why, whylen, "not a regular file");
        rc = store_quarantine_as(s, area, name, why, &sb);
        return rc == 0 ? -EBADMSG : rc;
    }
    if (sb.st_size > STORE_MAX_RECORD) {
        close(fd);
        snprintf(why, whylen, "too large: %lld bytes, limit %d",
                 (long long)sb.st_size, STORE_MAX_RECORD);
        rc = store_quarantine_as(s, area, name, why, &sb);
        return rc == 0 ? -EBADMSG : rc;
    }
    rc = store_read_fd(fd, (size_t)sb.st_size, &buf, &len);
    if (rc == 0 && len > (size_t)STORE_MAX_RECORD) {
        /* It grew after the fstat above (written in place, not renamed
         * over): the reason gives its size now, as for one that was too
         * large from the start; the read stopped at the limit + 1. */
        struct stat now;

        if (fstat(fd, &now) == 0)
            grown = (long long)now.st_size;
    }
    close(fd);
    if (rc < 0)
        return rc;

    why[0] = '\0';
    doc = NULL;
    if (len > (size_t)STORE_MAX_RECORD && grown > STORE_MAX_RECORD)
        snprintf(why, whylen, "too large: %lld bytes, limit %d", grown, STORE_MAX_RECORD);
    else if (len > (size_t)STORE_MAX_RECORD)        /* a size st_size does not tell */
        snprintf(why, whylen, "too large: over %d bytes read, limit %d", STORE_MAX_RECORD, STORE_MAX_RECORD);
    else if (len == 0)
        snprintf(why, whylen, "empty file");
    else if (memchr(buf, '\0', len))
        snprintf(why, whylen, "NUL byte at offset %zu",
                 (size_t)((char *)memchr(buf, '\0', len) - buf));
    else if (!(doc = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1)))
        snprintf(why, whylen, "invalid JSON at byte %zu of %zu",
                 end && end >= buf ? (size_t)(end - buf) : (size_t)0, len);
    else if (!cJSON_IsObject(doc))
        snprintf(why, whylen, "not a JSON object");
    else if (check && check(doc, name, why, whylen, arg) < 0 && why[0] == '\0')
        snprintf(why, whylen, "refused by its reader");
    free(buf);
    if (why[0] == '\0') {
        *out = doc;
        return 0;
    }
    cJSON_Delete(doc);
    rc = store_quarantine_as(s, area, name, why, &sb);
    return rc == 0 ? -EBADMSG : rc;
}

/* store_read - area/name.json as a cJSON object: 0 and *out (caller frees),
 * -ENOENT when absent, -EINVAL for a bad area or name, -EBADMSG when corrupt
 * (quarantined and logged), or another -errno. */
int store_read(struct store *s, const char *area, const char *name, cJSON **out)
{
    char why[160];

    return store_read_checked(s, area, name, NULL, NULL, out, why, sizeof(why));
}

/* store_read_disk - store_read_once until it does not meet a replaced file. */
static int store_read_disk(struct store *s, const char *area, const char *name, store_check_fn check, void *arg,
                           cJSON **out, char *why, size_t whylen)
{
    int rc = -ESTALE, tries;

    for (tries = 0; tries < 3 && rc == -ESTALE; tries++) {
        why[0] = '\0';
        rc = store_read_once(s, area, name, check, arg, out, why, whylen);
    }
    if (rc != -EBADMSG)
        why[0] = '\0';
    return rc;
}

/* store_read_borrow - see store.h. */
int store_read_borrow(struct store *s, const char *area, const char *name, store_check_fn check, void *arg,
                      const cJSON **doc, cJSON **owned, char *why, size_t whylen)
{
    int cached = store_version_known(s) && name_valid(name);
    cJSON *d = NULL;
    int rc;

    *doc = NULL;
    *owned = NULL;
    why[0] = '\0';
    if (cached && (rc = store_cache_peek(s, area, name, check, doc)) != 0) {
        if (rc < 0 || !check || check(*doc, name, why, whylen, arg) == 0)
            return rc < 0 ? rc : 0;
        *doc = NULL;                     /* not for this reader after all: read it */
    }
    rc = store_read_disk(s, area, name, check, arg, &d, why, whylen);
    if ((rc == 0 || rc == -ENOENT) && cached && store_cache_keep(s, area, name, check, d)) {
        *doc = d;                        /* the cache's now */
        return rc;
    }
    *doc = *owned = d;
    return rc;
}

/* store_read_checked - store_read, and a record check refuses is
 * quarantined like a corrupt one (see store.h). The reason of a quarantine
 * is in why (at least one byte); "" otherwise. */
int store_read_checked(struct store *s, const char *area, const char *name, store_check_fn check, void *arg,
                       cJSON **out, char *why, size_t whylen)
{
    const cJSON *doc;
    cJSON *owned;
    int rc = store_read_borrow(s, area, name, check, arg, &doc, &owned, why, whylen);

    *out = owned ? owned : rc == 0 ? cJSON_Duplicate(doc, 1) : NULL;
    if (rc == 0 && !*out)
        return -ENOMEM;
    return rc;
}

/* store_write - atomically replace area/name.json with doc (compact JSON and
 * "\n", mode 0600). 0, -EINVAL, -EFBIG over STORE_MAX_RECORD, or -errno. */
int store_write(struct store *s, const char *area, const char *name, const cJSON *doc)
{
    char dir[PATH_MAX], file[PATH_MAX], *buf;
    size_t len;
    int rc;

    rc = store_encode(s, area, name, doc, dir, sizeof(dir), file, sizeof(file), &buf, &len);
    if (rc < 0)
        return rc;
    rc = atomic_write(dir, file, buf, len, 0600);
    free(buf);
    return rc;
}

/* store_encode - see store.h. */
int store_encode(struct store *s, const char *area, const char *name, const cJSON *doc, char *dir, size_t dirlen,
                 char *file, size_t filelen, char **out, size_t *outlen)
{
    char path[PATH_MAX];
    char *text, *buf;
    size_t len;
    int rc;

    rc = store_record_path(s, area, name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (!cJSON_IsObject(doc))
        return -EINVAL;
    if (store_path(dir, dirlen, "%s/%s", s->dir, area) < 0 || store_path(file, filelen, "%s.json", name) < 0)
        return -ENAMETOOLONG;
    text = cJSON_PrintUnformatted(doc);
    if (!text)
        return -ENOMEM;
    len = strlen(text);
    if (len + 1 > (size_t)STORE_MAX_RECORD) {
        cJSON_free(text);
        return -EFBIG;
    }
    buf = xmalloc(len + 2);
    memcpy(buf, text, len);
    buf[len] = '\n';
    buf[len + 1] = '\0';
    cJSON_free(text);
    *out = buf;
    *outlen = len + 1;
    return 0;
}

/* store_remove - unlink area/name.json and fsync the area; absent is 0. */
int store_remove(struct store *s, const char *area, const char *name)
{
    char path[PATH_MAX], dir[PATH_MAX];
    int rc, fd;

    rc = store_record_path(s, area, name, path, sizeof(path));
    if (rc < 0)
        return rc;
    if (unlink(path) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (store_path(dir, sizeof(dir), "%s/%s", s->dir, area) == 0) {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
    }
    return 0;
}

/* store_list_cmp - qsort comparator on char *. */
static int store_list_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* store_list - sorted names of the "*.json" records in area whose stem is
 * name_valid; hidden and temp files skipped. quarantine may be listed. An
 * absent area is empty. Returns the count, or -errno. */
int store_list(struct store *s, const char *area, char ***names)
{
    char dir[PATH_MAX];
    struct dirent *de;
    DIR *d;
    char **v;
    size_t n = 0, cap = 16;

    *names = NULL;
    if (!store_area_ok(area, 1))
        return -EINVAL;
    if (store_path(dir, sizeof(dir), "%s/%s", s->dir, area) < 0)
        return -ENAMETOOLONG;
    v = xcalloc(cap, sizeof(*v));
    d = opendir(dir);
    if (!d) {
        int e = errno;
        if (e != ENOENT) {
            free(v);
            return -e;
        }
        *names = v;
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char *stem;

        if (de->d_name[0] == '.' || de->d_type == DT_DIR || len <= 5
            || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        stem = xstrndup(de->d_name, len - 5);
        if (!name_valid(stem)) {
            free(stem);
            continue;
        }
        if (n + 1 >= cap) {
            cap *= 2;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = stem;
    }
    closedir(d);
    v[n] = NULL;
    qsort(v, n, sizeof(*v), store_list_cmp);
    *names = v;
    return (int)n;
}

/* store_list_free - free a store_list result (NULL is fine). */
void store_list_free(char **names)
{
    char **p;

    if (!names)
        return;
    for (p = names; *p; p++)
        free(*p);
    free(names);
}

/* store_quarantine_bytes - keep data in quarantine/<what>.<ms>.<pid>.<n>.bad
 * with <what>.<ms>.<pid>.<n>.reason; what must be name_valid. 0 or -errno. */
int store_quarantine_bytes(struct store *s, const char *what, const void *data,
                           size_t len, const char *reason)
{
    char qdir[PATH_MAX], base[NAME_MAX + 1], file[NAME_MAX + 1];
    char *text;
    int rc;

    if (!name_valid(what) || strlen(what) > 180)
        return -EINVAL;
    if (store_path(qdir, sizeof(qdir), "%s/" STORE_QUARANTINE, s->dir) < 0)
        return -ENAMETOOLONG;
    if (mkdir(qdir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (store_path(base, sizeof(base), "%s.%lld.%ld.%lu", what, (long long)wall_ms(),
                   (long)getpid(), store_bytes_counter++) < 0
        || store_path(file, sizeof(file), "%s.bad", base) < 0)
        return -ENAMETOOLONG;
    rc = atomic_write(qdir, file, data, len, 0600);
    if (rc < 0)
        return rc;
    log_warn("quarantine", "what=%s file=%s bytes=%zu reason=%s", log_q(what), log_q(file),
             len, log_q(reason));
    metrics_inc("promo_quarantined_total", "what", what);
    if (store_path(file, sizeof(file), "%s.reason", base) < 0)
        return -ENAMETOOLONG;
    text = xasprintf("%s\n", reason ? reason : "");
    rc = atomic_write(qdir, file, text, strlen(text), 0600);
    free(text);
    return rc;
}

/* store_lock - exclusive flock on STATE/area/.lock (created 0600); the fd,
 * or -errno. Blocks until the lock is free. */
int store_lock(struct store *s, const char *area)
{
    char path[PATH_MAX];
    int fd;

    if (!store_area_ok(area, 0))
        return -EINVAL;
    if (store_path(path, sizeof(path), "%s/%s/.lock", s->dir, area) < 0)
        return -ENAMETOOLONG;
    fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    return fd;
}

/* store_unlock - release a store_lock fd (negative is ignored). */
void store_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
