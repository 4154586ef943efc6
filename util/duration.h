/* duration.h - durations as written in promo.yaml and policies: "30s", "10m", "1h30m". */
#ifndef PROMO_DURATION_H
#define PROMO_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* duration_parse - parse one or more <integer><unit> groups, units ms, s, m, h, d,
 * each unit at most once and in decreasing order ("1h30m", not "30m1h").
 * No sign, no spaces, no bare number, at most 366 days in all.
 * Returns 0 and sets *ms, or -1 with a reason in err. */
int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);

/* duration_format - the shortest canonical form of ms ("1h30m", "250ms", "0s"). */
char *duration_format(int64_t ms, char *buf, size_t len);

#endif
