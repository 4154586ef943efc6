/* log.h - one line per event on stderr, logfmt (key=value), never a secret.
 *
 * A line looks like:
 *   ts=2026-11-28T04:30:00.123Z level=info prog=promo-watcher event=emit tracker=acme-shop-42 gen=2
 * The caller gives the event name and printf-style key=value pairs; values that
 * may hold spaces or quotes go through log_q(). Every registered secret is
 * replaced by [REDACTED] before the line is written. */
#ifndef PROMO_LOG_H
#define PROMO_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* log_init - set the program name and the lowest level written. */
void log_init(const char *prog, enum log_level min);
void log_set_level(enum log_level min);
const char *log_prog(void);
/* log_secret - register a secret (copied) that must never appear in a line. */
void log_secret(const char *secret);

void log_write(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(enum log_level lvl, const char *event, const char *fmt, va_list ap);

#define log_debug(ev, ...) log_write(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

/* log_fatal - log at level fatal and exit with code. */
void log_fatal(int code, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* log_q - quote a value for logfmt ("a b" -> "\"a b\""); control bytes escaped,
 * at most 200 bytes kept. Returns one of 8 rotating static buffers. */
const char *log_q(const char *s);

#endif
