/* log.c - logfmt lines on stderr with secrets redacted (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/util.h"

#define LOG_LINE_MAX 4096
#define LOG_MAX_SECRETS 64

static const char *log_progname = "promo";
static enum log_level log_min = LOG_INFO;
static char *log_secrets[LOG_MAX_SECRETS];
static int log_nsecrets;
static const char *log_names[] = { "debug", "info", "warn", "error", "fatal" };

/* log_init - program name and threshold; PROMO_LOG_LEVEL overrides. */
void log_init(const char *prog, enum log_level min)
{
    const char *env = getenv("PROMO_LOG_LEVEL");
    size_t i;

    log_progname = prog;
    log_min = min;
    if (env)
        for (i = 0; i < ARRAY_LEN(log_names); i++)
            if (strcmp(env, log_names[i]) == 0)
                log_min = (enum log_level)i;
}

/* log_set_level - change the threshold. */
void log_set_level(enum log_level min)
{
    log_min = min;
}

/* log_prog - the program name given to log_init. */
const char *log_prog(void)
{
    return log_progname;
}

/* log_secret - remember a secret to redact; short ones (< 4 bytes) are
 * ignored, as redacting them would garble every line. */
void log_secret(const char *secret)
{
    int i;

    if (!secret || strlen(secret) < 4)
        return;
    for (i = 0; i < log_nsecrets; i++)
        if (strcmp(log_secrets[i], secret) == 0)
            return;
    if (log_nsecrets < LOG_MAX_SECRETS)
        log_secrets[log_nsecrets++] = xstrdup(secret);
}

/* log_redact - replace every registered secret in line (in place). */
static void log_redact(char *line, size_t cap)
{
    static const char mark[] = "[REDACTED]";
    int i;

    for (i = 0; i < log_nsecrets; i++) {
        const char *sec = log_secrets[i];
        size_t sl = strlen(sec), ml = sizeof(mark) - 1;
        char *p = line;

        while ((p = strstr(p, sec)) != NULL) {
            size_t tail = strlen(p + sl);
            if (ml > sl && (size_t)(p - line) + ml + tail + 1 > cap)
                tail = cap - (size_t)(p - line) - ml - 1;
            memmove(p + ml, p + sl, tail + 1);
            p[ml + tail] = 0;
            memcpy(p, mark, ml);
            p += ml;
        }
    }
}

/* log_vwrite - format, redact and write one line. */
void log_vwrite(enum log_level lvl, const char *event, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX + 64], ts[40];
    int n, saved = errno;
    size_t len;

    if (lvl < log_min)
        return;
    n = snprintf(line, LOG_LINE_MAX, "ts=%s level=%s prog=%s event=%s",
                 time_format_iso(wall_ms(), ts, sizeof(ts)), log_names[lvl],
                 log_progname, event);
    if (n < 0)
        n = 0;
    if (fmt && *fmt && n < LOG_LINE_MAX - 2) {
        line[n++] = ' ';
        vsnprintf(line + n, LOG_LINE_MAX - (size_t)n, fmt, ap);
    }
    line[LOG_LINE_MAX - 1] = 0;
    log_redact(line, LOG_LINE_MAX);
    len = strlen(line);
    for (size_t i = 0; i < len; i++)        /* one event, one line */
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nowhere left to report it */
    }
    errno = saved;
}

/* log_write - see log.h. */
void log_write(enum log_level lvl, const char *event, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(lvl, event, fmt, ap);
    va_end(ap);
}

/* log_fatal - log and exit. */
void log_fatal(int code, const char *event, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(LOG_FATAL, event, fmt, ap);
    va_end(ap);
    exit(code);
}

/* log_q - logfmt quoting into rotating buffers. */
const char *log_q(const char *s)
{
    static char bufs[8][420];
    static int next;
    char *b = bufs[next++ & 7], *o = b;
    int need = 0;
    size_t i;

    if (!s)
        return "\"\"";
    for (i = 0; s[i] && i < 200; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == '"' || s[i] == '=' || s[i] == '\\')
            need = 1;
    if (!need && s[0] && strlen(s) <= 200)
        return s;
    *o++ = '"';
    for (i = 0; s[i] && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < ' ' || c == 0x7f) {
            o += sprintf(o, "\\x%02x", c);
        } else {
            *o++ = (char)c;
        }
    }
    if (s[i])
        o += sprintf(o, "...");
    *o++ = '"';
    *o = 0;
    return b;
}
