/* util.h - small helpers shared by every program: memory, strings, time. */
#ifndef PROMO_UTIL_H
#define PROMO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define PROMO_VERSION "0.1.0"

/* Exit codes of every program (DESIGN.md). */
#define EXIT_OK        0
#define EXIT_PERM      100   /* usage, invalid config: do not restart blindly */
#define EXIT_TEMP      111   /* temporary: retry later */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* xmalloc/xcalloc/xrealloc/xstrdup - allocate or exit 111 with a log line. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf - printf into a fresh heap string; exits 111 on ENOMEM. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* strlcpy-like: copy at most size-1 bytes, always terminate; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);

/* str_uint - the decimal number of s..end (digits only, at least one) if
 * it is at most max, else -1. */
int64_t str_uint(const char *s, const char *end, int64_t max);

/* now_ms - CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);
/* wall_ms - CLOCK_REALTIME in milliseconds since the epoch. */
int64_t wall_ms(void);
/* time_format_iso - format epoch ms as "2026-11-28T04:30:00.123Z" into buf (>= 32 bytes). */
char *time_format_iso(int64_t epoch_ms, char *buf, size_t len);
/* time_parse_iso - parse the format above (milliseconds optional); -1 on error. */
int64_t time_parse_iso(const char *s);

/* name_valid - a tracker, environment or application name: 1..253 chars of
 * [a-z0-9.-], starting and ending with [a-z0-9] (Kubernetes DNS subdomain). */
int name_valid(const char *s);

/* read_file - read a whole regular file of at most max bytes into a
 * NUL-terminated heap buffer; returns 0, or -errno (-EFBIG when too large). */
int read_file(const char *path, size_t max, char **out, size_t *len);

/* crash_point - if $PROMO_CRASH_AT equals point (e.g. "trigger.after_request"),
 * log it and _exit(111): a deliberate crash for the crash-safety tests. With
 * $PROMO_CRASH_ONCE set to a file path, the crash happens only if that file
 * does not exist yet (it is created first), so a restarted stage goes on. */
void crash_point(const char *point);

#endif
