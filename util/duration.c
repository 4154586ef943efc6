/* duration.c - durations as written in promo.yaml and policies: "30s", "10m", "1h30m".
 *
 * A strict decoder: groups of <digits><unit>, units d h m s ms, each at most
 * once and biggest first, nothing else (no sign, no spaces, no fractions). */
#include <stdio.h>
#include <string.h>

#include "util/duration.h"

#define DURATION_MAX_MS (366LL * 24 * 3600 * 1000)

/* The units, biggest first: a group's unit must come after the previous one's. */
static const struct {
    const char *name;
    int64_t ms;
} duration_units[] = {
    { "d", 24LL * 3600 * 1000 },
    { "h", 3600LL * 1000 },
    { "m", 60LL * 1000 },
    { "s", 1000 },
    { "ms", 1 },
};
#define DURATION_NUNITS ((int)(sizeof(duration_units) / sizeof(duration_units[0])))

/* duration_unit - index of the unit at p (longest match, so "ms" is not "m"),
 * setting *len; -1 when there is none. */
static int duration_unit(const char *p, size_t *len)
{
    int i, best = -1;
    size_t bl = 0;

    for (i = 0; i < DURATION_NUNITS; i++) {
        size_t l = strlen(duration_units[i].name);
        if (strncmp(p, duration_units[i].name, l) == 0 && l > bl) {
            best = i;
            bl = l;
        }
    }
    *len = bl;
    return best;
}

/* duration_parse - see duration.h. */
int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
    const char *p = s;
    int64_t total = 0;
    int last = -1;

    if (!s || !*s) {
        snprintf(err, errlen, "empty duration (write e.g. \"30s\")");
        return -1;
    }
    while (*p) {
        int64_t n = 0;
        size_t ulen;
        int u;

        if (*p < '0' || *p > '9') {
            snprintf(err, errlen, "invalid duration \"%.40s\": expected <number><unit> at \"%.20s\"", s, p);
            return -1;
        }
        for (; *p >= '0' && *p <= '9'; p++) {
            n = n * 10 + (*p - '0');
            if (n > DURATION_MAX_MS) {
                snprintf(err, errlen, "invalid duration \"%.40s\": longer than 366d", s);
                return -1;
            }
        }
        u = duration_unit(p, &ulen);
        if (u < 0) {
            if (!*p)
                snprintf(err, errlen, "invalid duration \"%.40s\": missing unit (ms, s, m, h or d)", s);
            else
                snprintf(err, errlen, "invalid duration \"%.40s\": unknown unit at \"%.20s\" (ms, s, m, h or d)", s, p);
            return -1;
        }
        if (u <= last) {
            snprintf(err, errlen, "invalid duration \"%.40s\": units must appear once each, biggest first (e.g. \"1h30m\")", s);
            return -1;
        }
        last = u;
        p += ulen;
        if (n > (DURATION_MAX_MS - total) / duration_units[u].ms) {
            snprintf(err, errlen, "invalid duration \"%.40s\": longer than 366d", s);
            return -1;
        }
        total += n * duration_units[u].ms;
    }
    *ms = total;
    return 0;
}

/* duration_format - see duration.h; a negative ms is written with a leading '-'. */
char *duration_format(int64_t ms, char *buf, size_t len)
{
    uint64_t left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    size_t o = 0;
    int i;

    if (!len)
        return buf;
    buf[0] = 0;
    if (ms == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    if (ms < 0)
        o += (size_t)snprintf(buf, len, "-");
    for (i = 0; i < DURATION_NUNITS && o < len; i++) {
        uint64_t unit = (uint64_t)duration_units[i].ms, n = left / unit;
        if (!n)
            continue;
        o += (size_t)snprintf(buf + o, len - o, "%llu%s", (unsigned long long)n,
                              duration_units[i].name);
        left -= n * unit;
    }
    return buf;
}
