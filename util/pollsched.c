/* pollsched.c - adaptive poll intervals (see pollsched.h for the rules). */
#include "util/pollsched.h"

/* pollsched_interval - the delay before the next poll. */
int64_t pollsched_interval(int64_t elapsed_ms, int64_t max_ms, long rate_remaining,
                           int64_t retry_after_ms)
{
    int64_t ms, lo = POLLSCHED_FIRST_MS;

    if (max_ms <= 0)
        max_ms = POLLSCHED_FIRST_MS;
    if (max_ms < lo)
        lo = max_ms;
    if (elapsed_ms < POLLSCHED_YOUNG_MS)
        ms = lo;
    else
        ms = elapsed_ms / 10;
    if (ms < lo)
        ms = lo;
    if (ms > max_ms)
        ms = max_ms;
    if (rate_remaining == 0 && retry_after_ms <= 0) {
        ms *= 4;
        if (ms < POLLSCHED_EMPTY_MS)
            ms = POLLSCHED_EMPTY_MS;
    } else if (rate_remaining == 0) {
        /* used up, and the provider said until when (its reset): trust it */
    } else if (rate_remaining > 0 && rate_remaining < POLLSCHED_VLOW_RATE) {
        ms *= 4;
    } else if (rate_remaining > 0 && rate_remaining < POLLSCHED_LOW_RATE) {
        ms *= 2;
    }
    if (retry_after_ms > ms)
        ms = retry_after_ms;
    if (ms > POLLSCHED_MAX_MS)
        ms = POLLSCHED_MAX_MS;
    return ms;
}
