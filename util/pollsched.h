/* pollsched.h - how long to wait before asking an external system again
 * about something that is still going on (a CI run, an Argo CD sync).
 *
 * Young things are polled often, old ones rarely: a run's result matters
 * most in its first seconds (quick failures) and polling a long run every
 * second wastes the provider's rate limit. The interval then stretches when
 * the provider says its rate limit runs low, and is never shorter than what
 * the provider asked for (Retry-After). A pure function, unit-tested. */
#ifndef PROMO_POLLSCHED_H
#define PROMO_POLLSCHED_H

#include <stdint.h>

#define POLLSCHED_FIRST_MS   1000      /* the interval while young */
#define POLLSCHED_YOUNG_MS   10000     /* young: run for less than this */
#define POLLSCHED_LOW_RATE   500       /* remaining requests below which the interval doubles */
#define POLLSCHED_VLOW_RATE  100       /* ... below which it is four times longer */
#define POLLSCHED_EMPTY_MS   60000     /* at least this long when none remain */
#define POLLSCHED_MAX_MS     3600000   /* never longer than this */

/* pollsched_interval - the delay in ms before the next poll:
 *  - POLLSCHED_FIRST_MS while elapsed_ms < POLLSCHED_YOUNG_MS, then a tenth
 *    of elapsed_ms, kept within [POLLSCHED_FIRST_MS, max_ms] (max_ms is the
 *    configured pollInterval; when it is below POLLSCHED_FIRST_MS it is
 *    used throughout);
 *  - doubled when 0 <= rate_remaining < POLLSCHED_LOW_RATE, four times when
 *    below POLLSCHED_VLOW_RATE; when 0, at least POLLSCHED_EMPTY_MS unless
 *    the provider said how long to wait (retry_after_ms > 0: its reset),
 *    which is then trusted (rate_remaining < 0: unknown, no stretch);
 *  - at least retry_after_ms when > 0;
 *  - at most POLLSCHED_MAX_MS. */
int64_t pollsched_interval(int64_t elapsed_ms, int64_t max_ms, long rate_remaining,
                           int64_t retry_after_ms);

#endif
