/* metrics.h - a stage's metrics in Prometheus text format, written to a file.
 *
 * Every stage keeps its counters, gauges and histograms here, in memory, and
 * the skeleton (ipc/stage.c) writes them every few seconds, atomically, to
 * STATE/metrics/promo_<stage>.prom: the node_exporter textfile collector
 * convention (docs/operations.md). Every series carries a stage="<stage>"
 * label, so the files of all stages can be collected together.
 *
 * Names follow Prometheus: counters end in _total, durations are seconds.
 * A series is a name and at most two label pairs:
 *
 *     metrics_inc("promo_triggers_total", "provider", "jenkins");
 *     metrics_inc2("promo_http_requests_total", "system", "github", "code", "200");
 *     metrics_set("promo_ratelimit_remaining", "system", "github", 4999);
 *     metrics_observe("promo_handle_seconds", NULL, NULL, 0.0004);
 *
 * A name is one kind for the life of the process: the first call decides
 * (inc/add/counter_set: counter; set: gauge; observe: histogram); a later
 * call of another kind is ignored. Label values are escaped; names and keys
 * must be valid Prometheus names (they are the caller's constants).
 * Not thread-safe: one stage loop per process. */
#ifndef PROMO_METRICS_H
#define PROMO_METRICS_H

#include <stddef.h>

#define METRICS_AREA "metrics"
#define METRICS_INTERVAL_MS 5000

/* metrics_init - name the stage ("trigger") and the directory to write to
 * (NULL: keep metrics in memory only, metrics_write does nothing). The
 * directory is created (0755) when missing. Calling it again renames. */
void metrics_init(const char *stage, const char *dir);

/* metrics_inc - add 1 to the counter name{key="val"} (key NULL: no label). */
void metrics_inc(const char *name, const char *key, const char *val);
/* metrics_inc2 - add 1 to the counter name{k1="v1",k2="v2"}. */
void metrics_inc2(const char *name, const char *k1, const char *v1, const char *k2, const char *v2);
/* metrics_add - add n (>= 0) to a counter. */
void metrics_add(const char *name, const char *key, const char *val, double n);
/* metrics_counter_set - set a counter that is counted elsewhere (it must
 * only grow, as any counter). */
void metrics_counter_set(const char *name, const char *key, const char *val, double total);
/* metrics_set - set the gauge name{key="val"} to v. */
void metrics_set(const char *name, const char *key, const char *val, double v);
/* metrics_observe - count one observation (seconds) in the histogram name. */
void metrics_observe(const char *name, const char *key, const char *val, double seconds);

/* metrics_now - a monotonic clock in seconds, for latencies. */
double metrics_now(void);

/* metrics_render - the whole exposition text (heap, NUL-terminated; *len
 * its length when len is not NULL). */
char *metrics_render(size_t *len);
/* metrics_write - render and atomically replace the file. Returns 0, or
 * -errno (nothing written; also when there is no directory: -ENOENT). */
int metrics_write(void);
/* metrics_path - the file written, or NULL. */
const char *metrics_path(void);
/* metrics_free - forget everything. */
void metrics_free(void);

#endif
