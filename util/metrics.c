/* metrics.c - counters, gauges and histograms of one stage, rendered in the
 * Prometheus text exposition format (version 0.0.4) and written atomically
 * to STATE/metrics/promo_<stage>.prom (see metrics.h, docs/operations.md).
 *
 * A handful of families with a handful of series each: lookups are linear. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include "util/metrics.h"
#include "util/atomic.h"
#include "util/log.h"
#include "util/util.h"

enum metrics_kind { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* Histogram buckets (seconds): 100 us .. 10 s. */
static const double metrics_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define METRICS_NBOUNDS (sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

struct metrics_series {
    char *labels;                    /* k="v",k="v" (escaped), or "" */
    double value;                    /* counter, gauge */
    uint64_t *buckets;               /* histogram: METRICS_NBOUNDS counts (not cumulative) */
    uint64_t count;
    double sum;
};

struct metrics_family {
    char *name;
    enum metrics_kind kind;
    struct metrics_series *series;
    size_t n, cap;
};

static struct {
    char *stage;                     /* escaped label value */
    char *dir, *file, *path;
    struct metrics_family *fam;
    size_t n, cap;
    double start;                    /* wall clock, seconds */
} metrics;

/* The HELP line of the names promo uses; others get a generic one. */
static const struct { const char *name, *help; } metrics_helps[] = {
    { "promo_messages_in_total", "Input lines read (blank lines excepted)." },
    { "promo_messages_out_total", "Messages sent to the output." },
    { "promo_messages_bad_total", "Input lines rejected (not a valid message) and quarantined." },
    { "promo_messages_dropped_total", "Messages not sent: no output, or too large to encode." },
    { "promo_quarantined_total", "Inputs and records moved to STATE/quarantine, by kind." },
    { "promo_handle_seconds", "Time the stage spent handling one input message (its own CPU work; "
      "HTTP calls it starts run on)." },
    { "promo_output_queue", "Encoded messages waiting for the output (backpressure when full)." },
    { "promo_http_requests_total", "HTTP attempts by system and status code (or error: connect, "
      "timeout, too_big, redirect, bad_url, internal)." },
    { "promo_http_request_seconds", "Duration of one HTTP attempt, by system." },
    { "promo_http_retries_total", "HTTP attempts retried, by system." },
    { "promo_ratelimit_remaining", "The last x-ratelimit-remaining seen, by system." },
    { "promo_ci_requests_total", "HTTP attempts by system and kind (poll, batch, promotion, other)." },
    { "promo_batch_reads_total", "Status reads answered from a list, sent alone, or put off until the next list." },
    { "promo_requests_per_test_per_minute", "HTTP attempts of promo-monitor per polled test and minute, "
      "over the last minute." },
    { "promo_triggers_total", "CI runs triggered, by provider." },
    { "promo_trigger_errors_total", "Triggers that failed (after retries), by provider." },
    { "promo_test_results_total", "Final test results seen, by provider and status." },
    { "promo_decisions_total", "Hops decided by the monitor, by outcome (passed, failed, timeout)." },
    { "promo_promotions_total", "Hops promoted, by target environment." },
    { "promo_promotion_failures_total", "Promotions that failed, by reason." },
    { "promo_process_cpu_seconds_total", "User and system CPU time of the stage process." },
    { "promo_process_max_resident_bytes", "Peak resident memory of the stage process." },
    { "promo_process_start_time_seconds", "When the stage process started (Unix time)." },
    { "promo_metrics_written_timestamp_seconds", "When this file was written (Unix time)." },
};

/* metrics_escape - a label value escaped as the format says (\\, \", \n). Heap. */
static char *metrics_escape(const char *v)
{
    size_t n = 0, i;
    char *o, *p;

    for (i = 0; v[i]; i++)
        n += (v[i] == '\\' || v[i] == '"' || v[i] == '\n') ? 2 : 1;
    o = p = xmalloc(n + 1);
    for (i = 0; v[i]; i++) {
        if (v[i] == '\\' || v[i] == '"') {
            *p++ = '\\';
            *p++ = v[i];
        } else if (v[i] == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else {
            *p++ = v[i];
        }
    }
    *p = '\0';
    return o;
}

/* metrics_labels - k1="v1"[,k2="v2"] in buf (keys NULL: none). */
static void metrics_labels(char *buf, size_t len, const char *k1, const char *v1,
                           const char *k2, const char *v2)
{
    char *e1 = NULL, *e2 = NULL;

    buf[0] = '\0';
    if (k1)
        e1 = metrics_escape(v1 ? v1 : "");
    if (k2)
        e2 = metrics_escape(v2 ? v2 : "");
    if (k1 && k2)
        snprintf(buf, len, "%s=\"%s\",%s=\"%s\"", k1, e1, k2, e2);
    else if (k1)
        snprintf(buf, len, "%s=\"%s\"", k1, e1);
    free(e1);
    free(e2);
}

/* metrics_series_get - the series of name{labels}, created as kind; NULL
 * when name exists as another kind. */
static struct metrics_series *metrics_series_get(const char *name, enum metrics_kind kind,
                                                 const char *labels)
{
    struct metrics_family *f = NULL;
    struct metrics_series *s;
    size_t i;

    for (i = 0; i < metrics.n; i++) {
        if (strcmp(metrics.fam[i].name, name) == 0) {
            f = &metrics.fam[i];
            break;
        }
    }
    if (!f) {
        if (metrics.n == metrics.cap) {
            metrics.cap = metrics.cap ? metrics.cap * 2 : 16;
            metrics.fam = xrealloc(metrics.fam, metrics.cap * sizeof(*metrics.fam));
        }
        f = &metrics.fam[metrics.n++];
        memset(f, 0, sizeof(*f));
        f->name = xstrdup(name);
        f->kind = kind;
    }
    if (f->kind != kind)
        return NULL;
    for (i = 0; i < f->n; i++)
        if (strcmp(f->series[i].labels, labels) == 0)
            return &f->series[i];
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->series = xrealloc(f->series, f->cap * sizeof(*f->series));
    }
    s = &f->series[f->n++];
    memset(s, 0, sizeof(*s));
    s->labels = xstrdup(labels);
    if (kind == METRICS_HISTOGRAM)
        s->buckets = xcalloc(METRICS_NBOUNDS, sizeof(*s->buckets));
    return s;
}

/* metrics_init - see metrics.h. */
void metrics_init(const char *stage, const char *dir)
{
    free(metrics.stage);
    free(metrics.dir);
    free(metrics.file);
    free(metrics.path);
    metrics.stage = metrics_escape(stage);
    metrics.dir = dir ? xstrdup(dir) : NULL;
    metrics.file = xasprintf("promo_%s.prom", stage);
    metrics.path = dir ? xasprintf("%s/%s", dir, metrics.file) : NULL;
    if (metrics.start == 0)
        metrics.start = (double)wall_ms() / 1000.0;
    if (dir && mkdir(dir, 0755) < 0 && errno != EEXIST)
        log_warn("metrics_dir_failed", "dir=%s error=%s", log_q(dir), log_q(strerror(errno)));
}

/* metrics_add - see metrics.h. */
void metrics_add(const char *name, const char *key, const char *val, double n)
{
    char lab[512];
    struct metrics_series *s;

    metrics_labels(lab, sizeof(lab), key, val, NULL, NULL);
    if ((s = metrics_series_get(name, METRICS_COUNTER, lab)) != NULL && n > 0)
        s->value += n;
}

/* metrics_inc - see metrics.h. */
void metrics_inc(const char *name, const char *key, const char *val)
{
    metrics_add(name, key, val, 1);
}

/* metrics_inc2 - see metrics.h. */
void metrics_inc2(const char *name, const char *k1, const char *v1, const char *k2, const char *v2)
{
    char lab[512];
    struct metrics_series *s;

    metrics_labels(lab, sizeof(lab), k1, v1, k2, v2);
    if ((s = metrics_series_get(name, METRICS_COUNTER, lab)) != NULL)
        s->value += 1;
}

/* metrics_counter_set - see metrics.h. */
void metrics_counter_set(const char *name, const char *key, const char *val, double total)
{
    char lab[512];
    struct metrics_series *s;

    metrics_labels(lab, sizeof(lab), key, val, NULL, NULL);
    if ((s = metrics_series_get(name, METRICS_COUNTER, lab)) != NULL && total >= s->value)
        s->value = total;
}

/* metrics_set - see metrics.h. */
void metrics_set(const char *name, const char *key, const char *val, double v)
{
    char lab[512];
    struct metrics_series *s;

    metrics_labels(lab, sizeof(lab), key, val, NULL, NULL);
    if ((s = metrics_series_get(name, METRICS_GAUGE, lab)) != NULL)
        s->value = v;
}

/* metrics_observe - see metrics.h. */
void metrics_observe(const char *name, const char *key, const char *val, double seconds)
{
    char lab[512];
    struct metrics_series *s;
    size_t i;

    metrics_labels(lab, sizeof(lab), key, val, NULL, NULL);
    if ((s = metrics_series_get(name, METRICS_HISTOGRAM, lab)) == NULL)
        return;
    if (!(seconds >= 0))
        seconds = 0;
    for (i = 0; i < METRICS_NBOUNDS && seconds > metrics_bounds[i]; i++)
        ;
    if (i < METRICS_NBOUNDS)
        s->buckets[i]++;
    s->count++;
    s->sum += seconds;
}

/* metrics_now - monotonic seconds. */
double metrics_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- rendering ---- */

struct metrics_buf {
    char *p;
    size_t len, cap;
};

/* metrics_printf - append to b. */
static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
}

/* metrics_num - a sample value as the format writes it. */
static const char *metrics_num(double v, char *buf, size_t len)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.15g", v);
    return buf;
}

/* metrics_help - the HELP text of name. */
static const char *metrics_help(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(metrics_helps) / sizeof(metrics_helps[0]); i++)
        if (strcmp(metrics_helps[i].name, name) == 0)
            return metrics_helps[i].help;
    return "A promo metric.";
}

/* metrics_process - the process figures, refreshed before each render. */
static void metrics_process(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        metrics_counter_set("promo_process_cpu_seconds_total", NULL, NULL,
                            (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
        metrics_set("promo_process_max_resident_bytes", NULL, NULL, (double)ru.ru_maxrss * 1024.0);
    }
    metrics_set("promo_process_start_time_seconds", NULL, NULL, metrics.start);
    metrics_set("promo_metrics_written_timestamp_seconds", NULL, NULL, (double)wall_ms() / 1000.0);
}

/* metrics_render - see metrics.h. */
char *metrics_render(size_t *len)
{
    struct metrics_buf b = { xmalloc(4096), 0, 4096 };
    const char *stage = metrics.stage ? metrics.stage : "unknown";
    char n1[64], n2[64];
    size_t i, j, k;

    b.p[0] = '\0';
    metrics_process();
    for (i = 0; i < metrics.n; i++) {
        const struct metrics_family *f = &metrics.fam[i];

        metrics_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, metrics_help(f->name), f->name,
                       f->kind == METRICS_COUNTER ? "counter" :
                       f->kind == METRICS_GAUGE ? "gauge" : "histogram");
        for (j = 0; j < f->n; j++) {
            const struct metrics_series *s = &f->series[j];
            const char *sep = s->labels[0] ? "," : "";
            uint64_t cum = 0;

            if (f->kind != METRICS_HISTOGRAM) {
                metrics_printf(&b, "%s{stage=\"%s\"%s%s} %s\n", f->name, stage, sep, s->labels,
                               metrics_num(s->value, n1, sizeof(n1)));
                continue;
            }
            for (k = 0; k < METRICS_NBOUNDS; k++) {
                cum += s->buckets[k];
                metrics_printf(&b, "%s_bucket{stage=\"%s\"%s%s,le=\"%s\"} %llu\n", f->name, stage, sep,
                               s->labels, metrics_num(metrics_bounds[k], n1, sizeof(n1)),
                               (unsigned long long)cum);
            }
            metrics_printf(&b, "%s_bucket{stage=\"%s\"%s%s,le=\"+Inf\"} %llu\n", f->name, stage, sep,
                           s->labels, (unsigned long long)s->count);
            metrics_printf(&b, "%s_sum{stage=\"%s\"%s%s} %s\n%s_count{stage=\"%s\"%s%s} %s\n",
                           f->name, stage, sep, s->labels, metrics_num(s->sum, n1, sizeof(n1)),
                           f->name, stage, sep, s->labels,
                           metrics_num((double)s->count, n2, sizeof(n2)));
        }
    }
    if (len)
        *len = b.len;
    return b.p;
}

/* metrics_write - see metrics.h. */
int metrics_write(void)
{
    size_t len;
    char *text;
    int rc;

    if (!metrics.dir)
        return -ENOENT;
    text = metrics_render(&len);
    rc = atomic_write(metrics.dir, metrics.file, text, len, 0644);
    free(text);
    if (rc < 0)
        log_warn("metrics_write_failed", "file=%s error=%s", log_q(metrics.path), log_q(strerror(-rc)));
    return rc;
}

/* metrics_path - see metrics.h. */
const char *metrics_path(void)
{
    return metrics.path;
}

/* metrics_free - see metrics.h. */
void metrics_free(void)
{
    size_t i, j;

    for (i = 0; i < metrics.n; i++) {
        for (j = 0; j < metrics.fam[i].n; j++) {
            free(metrics.fam[i].series[j].labels);
            free(metrics.fam[i].series[j].buckets);
        }
        free(metrics.fam[i].series);
        free(metrics.fam[i].name);
    }
    free(metrics.fam);
    free(metrics.stage);
    free(metrics.dir);
    free(metrics.file);
    free(metrics.path);
    memset(&metrics, 0, sizeof(metrics));
}
