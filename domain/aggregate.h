/* aggregate.h - the outcome of a hop's promotion tests, exactly as the
 * original controller defined TestAggregateResult, plus "decided".
 *
 * A pure function over the tests of one hop (policy): no I/O, no clock.
 *
 *   allPassed            every required test passed (vacuously true when
 *                        there is no required test: optional tests never
 *                        block a promotion)
 *   anyFailed            a required test failed, was cancelled, timed out
 *                        (the CI's timeout or promo's deadline) or could not
 *                        be triggered (error)
 *   anyRunning           some test, required or optional, is not final
 *   anyTimeout           some test, required or optional, timed out
 *   optionalTestsFailed  an optional test failed, was cancelled, timed out
 *                        or could not be triggered
 *   failureReasons       one line per failed test, required and optional, in
 *                        input order: "NAME[ (optional)]: OUTCOME[ (DETAIL)][ URL]"
 *   decided              anyFailed or allPassed: the hop's outcome is known
 *                        and will not change (a failed required test decides
 *                        at once; optional tests are never waited for)
 *
 * One deliberate difference from the Go original's comments: failureReasons
 * also names failed optional tests when allPassed is true (marked
 * "(optional)"), as docs/state.md records them, so the audit shows them. */
#ifndef PROMO_AGGREGATE_H
#define PROMO_AGGREGATE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "domain/runstatus.h"

#define AGGREGATE_MAX_REASON 1024     /* bytes in one failure reason, NUL included */

/* One test as the aggregate sees it. */
struct agg_test {
    const char *name;
    int required;
    enum run_status status;       /* what the CI says (RUN_UNKNOWN before any answer) */
    int timed_out;                /* promo's deadline passed before a final status */
    int error;                    /* could not be triggered, or refused for good */
    const char *detail;           /* provider's words, promo's deadline, the error (may be NULL) */
    const char *url;              /* link to the run (may be NULL) */
};

/* What a test counts as; the order is the precedence: error, then promo's
 * timeout, then the CI's status. */
enum agg_outcome {
    AGG_RUNNING = 0,              /* not final: unknown, queued, running */
    AGG_PASSED,
    AGG_FAILED,
    AGG_CANCELLED,
    AGG_TIMED_OUT,                /* by the CI or by promo */
    AGG_ERROR,                    /* could not be triggered */
};

struct aggregate {
    int decided;
    int all_passed;
    int any_failed;
    int any_running;
    int any_timeout;
    int optional_failed;
    char **reasons;               /* heap strings */
    int nreasons;
};

/* aggregate_outcome - what t counts as. */
enum agg_outcome aggregate_outcome(const struct agg_test *t);
/* aggregate_outcome_name - "running", "passed", "failed", "cancelled",
 * "timed out", "error". */
const char *aggregate_outcome_name(enum agg_outcome o);

/* aggregate_compute - fill a from the n tests (tests may be NULL when n is
 * 0). a is overwritten: call aggregate_free on a previous result first. */
void aggregate_compute(const struct agg_test *tests, size_t n, struct aggregate *a);

/* aggregate_free - release the reasons; a is left zeroed. */
void aggregate_free(struct aggregate *a);

/* aggregate_copy - dst becomes a copy of src (dst is overwritten: call
 * aggregate_free on a previous result first). */
void aggregate_copy(struct aggregate *dst, const struct aggregate *src);

/* aggregate_to_json - {"decided","allPassed","anyFailed","anyRunning",
 * "anyTimeout","optionalTestsFailed","failureReasons":[...]} as a new object
 * (the caller adds "decidedAt" and the like). */
cJSON *aggregate_to_json(const struct aggregate *a);

/* aggregate_from_json - the inverse, strict: every member present with its
 * type. Returns 0, or -1 with a zeroed a. */
int aggregate_from_json(const cJSON *o, struct aggregate *a);

#endif
