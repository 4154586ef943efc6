/* util.c - memory, string and time helpers shared by every program. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

/* xmalloc - malloc or exit 111. */
void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        log_fatal(EXIT_TEMP, "nomem", "bytes=%zu", n);
    return p;
}

/* xcalloc - calloc or exit 111. */
void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);

    if (!p)
        log_fatal(EXIT_TEMP, "nomem", "count=%zu size=%zu", n, m);
    return p;
}

/* xrealloc - realloc or exit 111. */
void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        log_fatal(EXIT_TEMP, "nomem", "bytes=%zu", n);
    return q;
}

/* xstrdup - strdup or exit 111. */
char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* xstrndup - copy at most n bytes of s. */
char *xstrndup(const char *s, size_t n)
{
    size_t l = strnlen(s, n);
    char *p = xmalloc(l + 1);

    memcpy(p, s, l);
    p[l] = 0;
    return p;
}

/* xasprintf - formatted heap string or exit 111. */
char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        log_fatal(EXIT_TEMP, "nomem", "what=asprintf");
    return p;
}

/* str_copy - bounded copy that always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size)
{
    size_t l = strlen(src);

    if (size) {
        size_t n = l < size - 1 ? l : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return l;
}

/* str_uint - a bounded decimal number, or -1. */
int64_t str_uint(const char *s, const char *end, int64_t max)
{
    int64_t v = 0;

    if (s >= end)
        return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    return v;
}

/* now_ms - monotonic milliseconds. */
int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wall_ms - epoch milliseconds. */
int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* time_format_iso - "YYYY-MM-DDTHH:MM:SS.mmmZ". */
char *time_format_iso(int64_t epoch_ms, char *buf, size_t len)
{
    time_t t = (time_t)(epoch_ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(epoch_ms % 1000));
    return buf;
}

/* time_parse_iso - inverse of time_format_iso; fraction optional (1-9 digits). */
int64_t time_parse_iso(const char *s)
{
    struct tm tm;
    const char *p;
    int64_t ms = 0;
    int digits = 0;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0 || digits > 9)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (strcmp(p, "Z") != 0)
        return -1;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return (int64_t)t * 1000 + ms;
}

/* name_valid - Kubernetes DNS-subdomain-like name. */
int name_valid(const char *s)
{
    size_t i, n;

    if (!s)
        return 0;
    n = strlen(s);
    if (n < 1 || n > 253)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.')
            return 0;
        if ((i == 0 || i == n - 1) && !alnum)
            return 0;
    }
    return 1;
}

/* read_file - whole regular file, bounded by max. */
int read_file(const char *path, size_t max, char **out, size_t *len)
{
    struct stat sb;
    char *buf;
    size_t got = 0;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((size_t)sb.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    buf = xmalloc((size_t)sb.st_size + 1);
    for (;;) {
        ssize_t r;
        if (got == (size_t)sb.st_size) {
            char extra;
            r = read(fd, &extra, 1);    /* grew while we read: refuse */
            if (r > 0) {
                free(buf);
                close(fd);
                return -EFBIG;
            }
            break;
        }
        r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = -errno;
            free(buf);
            close(fd);
            return err;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    if (len)
        *len = got;
    return 0;
}

/* crash_point - deliberate crash for the crash-safety tests. */
void crash_point(const char *point)
{
    const char *want = getenv("PROMO_CRASH_AT");
    const char *once;

    if (!want || strcmp(want, point) != 0)
        return;
    once = getenv("PROMO_CRASH_ONCE");
    if (once && *once) {
        int fd = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return;             /* already crashed once */
        close(fd);
    }
    log_warn("crash_point", "point=%s", point);
    _exit(EXIT_TEMP);
}
