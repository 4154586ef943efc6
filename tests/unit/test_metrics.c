/* test_metrics.c - util/metrics.c: series, kinds, escaping, histogram
 * buckets, the rendered text and the atomic write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "util/metrics.h"
#include "util/util.h"

/* has - 1 when text holds line as a whole line. */
static int has(const char *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = text;

    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
        p += n;
    }
    return 0;
}

int main(void)
{
    static const struct { const char *line; } want[] = {
        { "# TYPE promo_triggers_total counter" },
        { "promo_triggers_total{stage=\"trigger\",provider=\"jenkins\"} 2" },
        { "promo_triggers_total{stage=\"trigger\",provider=\"gitlab\"} 1" },
        { "promo_http_requests_total{stage=\"trigger\",system=\"github\",code=\"200\"} 1" },
        { "# TYPE promo_ratelimit_remaining gauge" },
        { "promo_ratelimit_remaining{stage=\"trigger\",system=\"github\"} 4999" },
        { "promo_messages_in_total{stage=\"trigger\"} 7" },
        { "odd_total{stage=\"trigger\",k=\"a\\\"b\\\\c\\nd\"} 1" },
        { "# TYPE promo_handle_seconds histogram" },
        { "promo_handle_seconds_bucket{stage=\"trigger\",le=\"0.0001\"} 1" },
        { "promo_handle_seconds_bucket{stage=\"trigger\",le=\"0.001\"} 2" },
        { "promo_handle_seconds_bucket{stage=\"trigger\",le=\"10\"} 2" },
        { "promo_handle_seconds_bucket{stage=\"trigger\",le=\"+Inf\"} 3" },
        { "promo_handle_seconds_count{stage=\"trigger\"} 3" },
        { "promo_handle_seconds_sum{stage=\"trigger\"} 20.00055" },
    };
    const char *dir = unit_tmpdir();
    char *mdir = xasprintf("%s/metrics", dir), *path, *text, *file;
    size_t len, i, flen;

    metrics_init("trigger", mdir);
    metrics_inc("promo_triggers_total", "provider", "jenkins");
    metrics_inc("promo_triggers_total", "provider", "jenkins");
    metrics_inc("promo_triggers_total", "provider", "gitlab");
    metrics_inc2("promo_http_requests_total", "system", "github", "code", "200");
    metrics_set("promo_ratelimit_remaining", "system", "github", 5000);
    metrics_set("promo_ratelimit_remaining", "system", "github", 4999);
    metrics_counter_set("promo_messages_in_total", NULL, NULL, 7);
    metrics_counter_set("promo_messages_in_total", NULL, NULL, 3);       /* a counter never goes down */
    metrics_inc("odd_total", "k", "a\"b\\c\nd");
    metrics_observe("promo_handle_seconds", NULL, NULL, 0.00005);
    metrics_observe("promo_handle_seconds", NULL, NULL, 0.0005);
    metrics_observe("promo_handle_seconds", NULL, NULL, 20);            /* past the last bound: +Inf only */
    metrics_set("promo_triggers_total", "provider", "jenkins", 99);       /* another kind: ignored */
    metrics_add("promo_triggers_total", "provider", "gitlab", -5);        /* negative: ignored */

    text = metrics_render(&len);
    unit_ok(len == strlen(text) && len > 0 && text[len - 1] == '\n', "render: length and final newline");
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        unit_ok(has(text, want[i].line), "render has: %s", want[i].line);
    unit_ok(!has(text, "promo_triggers_total{stage=\"trigger\",provider=\"jenkins\"} 99"),
            "a gauge call on a counter name is ignored");
    unit_ok(strstr(text, "# TYPE promo_process_cpu_seconds_total counter") != NULL, "process CPU is there");

    unit_ok(metrics_write() == 0, "write");
    path = xasprintf("%s/promo_trigger.prom", mdir);
    unit_ok(metrics_path() && strcmp(metrics_path(), path) == 0, "path is DIR/promo_<stage>.prom");
    unit_ok(read_file(path, 1 << 20, &file, &flen) == 0 && flen > 0 && strstr(file, want[1].line) != NULL,
            "the file holds the text");
    free(file);
    free(text);
    free(path);

    metrics_free();
    metrics_init("policy", NULL);
    metrics_inc("promo_x_total", NULL, NULL);
    unit_ok(metrics_write() < 0, "no directory: nothing written");
    text = metrics_render(NULL);
    unit_ok(has(text, "promo_x_total{stage=\"policy\"} 1"), "after free: a fresh set");
    free(text);
    metrics_free();
    free(mdir);
    return unit_done();
}
