/* test_duration.c - duration_parse and duration_format, table-driven. */
#include <stdio.h>
#include <string.h>

#include "util/duration.h"
#include "util/util.h"
#include "unit.h"

#define S 1000LL
#define M (60 * S)
#define H (60 * M)
#define D (24 * H)

/* Inputs that parse, their value, and the canonical form duration_format gives back. */
static const struct {
    const char *in;
    int64_t ms;
    const char *canon;
} good[] = {
    { "0s", 0, "0s" },
    { "0ms", 0, "0s" },
    { "250ms", 250, "250ms" },
    { "1s", S, "1s" },
    { "30s", 30 * S, "30s" },
    { "90s", 90 * S, "1m30s" },
    { "10m", 10 * M, "10m" },
    { "1h30m", H + 30 * M, "1h30m" },
    { "1h0m", H, "1h" },
    { "1d", D, "1d" },
    { "2d3h4m5s6ms", 2 * D + 3 * H + 4 * M + 5 * S + 6, "2d3h4m5s6ms" },
    { "1m500ms", M + 500, "1m500ms" },
    { "007s", 7 * S, "7s" },
    { "366d", 366 * D, "366d" },
    { "8784h", 366 * D, "366d" },
};

/* Inputs that must fail, and a piece of the reason. */
static const struct {
    const char *in, *why;
} bad[] = {
    { "", "empty" },
    { "10", "missing unit" },
    { "-5s", "expected <number><unit>" },
    { "+5s", "expected <number><unit>" },
    { "1h30m ", "expected <number><unit> at \" \"" },
    { " 1s", "expected <number><unit>" },
    { "1 s", "unknown unit" },
    { "30m1h", "biggest first" },
    { "1s1s", "biggest first" },
    { "1ms1s", "biggest first" },
    { "5x", "unknown unit" },
    { "5sec", "expected <number><unit>" },
    { "1.5h", "unknown unit" },
    { "h", "expected <number><unit>" },
    { "1h30", "missing unit" },
    { "367d", "longer than 366d" },
    { "366d1ms", "longer than 366d" },
    { "99999999999999999999999s", "longer than 366d" },
    { "9223372036854775807ms", "longer than 366d" },
    { "1M", "unknown unit" },
};

int main(void)
{
    char err[256], buf[64];
    int64_t ms;
    size_t i;

    for (i = 0; i < ARRAY_LEN(good); i++) {
        int rc = duration_parse(good[i].in, &ms, err, sizeof(err));
        if (!unit_ok(rc == 0 && ms == good[i].ms, "parse \"%s\"", good[i].in))
            unit_note("rc=%d ms=%lld err=%s", rc, (long long)ms, rc ? err : "");
        unit_ok(strcmp(duration_format(good[i].ms, buf, sizeof(buf)), good[i].canon) == 0,
                "format %lld = %s", (long long)good[i].ms, good[i].canon);
    }
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        int rc;
        ms = -42;
        rc = duration_parse(bad[i].in, &ms, err, sizeof(err));
        if (!unit_ok(rc < 0 && ms == -42 && strstr(err, bad[i].why), "refuse \"%s\"", bad[i].in))
            unit_note("rc=%d err=%s", rc, err);
    }
    unit_ok(strcmp(duration_format(-1500, buf, sizeof(buf)), "-1s500ms") == 0, "format negative");
    unit_ok(strcmp(duration_format(2 * D + 3 * H + 4 * M + 5 * S + 6, buf, 5), "2d3h") == 0,
            "format truncates to the buffer");
    return unit_done();
}
