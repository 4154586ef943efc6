/* runstatus.c - the names of run statuses (runstatus.h). */
#include <string.h>
#include "domain/runstatus.h"
#include "util/util.h"

static const char *const run_status_names[] = {
    [RUN_UNKNOWN] = "unknown",
    [RUN_QUEUED] = "queued",
    [RUN_RUNNING] = "running",
    [RUN_PASSED] = "passed",
    [RUN_FAILED] = "failed",
    [RUN_CANCELLED] = "cancelled",
    [RUN_TIMED_OUT] = "timed-out",
};

/* run_status_name - the lowercase name of s ("passed"), "unknown" when out of range. */
const char *run_status_name(enum run_status s)
{
    if ((unsigned)s >= ARRAY_LEN(run_status_names))
        return "unknown";
    return run_status_names[s];
}

/* run_status_parse - the status named s (exactly as run_status_name spells it), or -1. */
int run_status_parse(const char *s)
{
    size_t i;

    if (!s)
        return -1;
    for (i = 0; i < ARRAY_LEN(run_status_names); i++)
        if (strcmp(s, run_status_names[i]) == 0)
            return (int)i;
    return -1;
}

/* run_status_final - 1 for passed, failed, cancelled, timed-out; else 0. */
int run_status_final(enum run_status s)
{
    return s == RUN_PASSED || s == RUN_FAILED || s == RUN_CANCELLED || s == RUN_TIMED_OUT;
}

