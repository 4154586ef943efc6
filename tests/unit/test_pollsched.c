/* test_pollsched.c - pollsched_interval by table: age, pollInterval, rate
 * limit remaining and Retry-After. */
#include "util/pollsched.h"
#include "util/util.h"
#include "unit.h"

static const struct {
    int64_t elapsed, max;
    long remaining;
    int64_t retry_after, want;
    const char *desc;
} cases[] = {
    { 0, 10000, -1, 0, 1000, "a new run: 1 s" },
    { 9999, 10000, -1, 0, 1000, "still young at 9.999 s: 1 s" },
    { 10000, 10000, -1, 0, 1000, "at 10 s: a tenth, 1 s" },
    { 30000, 10000, -1, 0, 3000, "at 30 s: 3 s" },
    { 100000, 10000, -1, 0, 10000, "at 100 s: pollInterval" },
    { 3600000, 10000, -1, 0, 10000, "after an hour: still pollInterval" },
    { 30000, 2000, -1, 0, 2000, "capped by a short pollInterval" },
    { 0, 500, -1, 0, 500, "a pollInterval below 1 s is used throughout" },
    { 60000, 500, -1, 0, 500, "a pollInterval below 1 s, old run" },
    { 0, 0, -1, 0, 1000, "no pollInterval: 1 s" },
    { -5, 10000, -1, 0, 1000, "a clock step backwards: 1 s" },
    { 30000, 10000, 4999, 0, 3000, "plenty of rate limit left: no stretch" },
    { 30000, 10000, 499, 0, 6000, "rate limit low: doubled" },
    { 30000, 10000, 99, 0, 12000, "rate limit very low: four times" },
    { 30000, 10000, 1, 0, 12000, "one request left: four times" },
    { 0, 10000, 0, 0, 60000, "rate limit used up: at least a minute" },
    { 0, 10000, -1, 5000, 5000, "Retry-After 5 s is obeyed" },
    { 100000, 10000, -1, 2000, 10000, "a shorter Retry-After does not shorten" },
    { 0, 10000, 0, 120000, 120000, "Retry-After beyond the empty-rate minute" },
    { 0, 10000, 0, 2500, 2500, "used up with the reset 2.5 s away: wait for the reset, not a minute" },
    { 100000, 10000, 0, 2500, 10000, "used up, reset sooner than the interval: the interval" },
    { 0, 10000, -1, 86400000, 3600000, "never more than an hour" },
};

int main(void)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        int64_t got = pollsched_interval(cases[i].elapsed, cases[i].max, cases[i].remaining,
                                         cases[i].retry_after);
        unit_ok(got == cases[i].want, "%s (got %lld, want %lld)", cases[i].desc, (long long)got,
                (long long)cases[i].want);
    }
    return unit_done();
}
