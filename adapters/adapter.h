/* adapter.h - one interface to every CI system that runs promotion tests.
 *
 * An adapter knows one provider (jenkins, github-actions, gitlab, exec,
 * plugin) and offers four asynchronous operations: trigger a run carrying the
 * idempotency key, find a run by that key (after a crash between intent and
 * answer), read a run's status, and cancel a run. Each operation runs inside
 * the stage's event loop (HTTP through util/http.h, child processes through
 * loop_watch_fd) and ends with exactly one call of the done callback,
 * never from inside the call that started it.
 *
 * Status mapping is deliberate and lives in each adapter's *_map_status()
 * function, unit-tested by table. The rule for anything not clearly a pass:
 * it is not a pass (DESIGN.md: never promote what was not tested). */
#ifndef PROMO_ADAPTER_H
#define PROMO_ADAPTER_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "domain/runstatus.h"

struct loop;
struct http;
struct config;
struct store;
struct budget;

/* A test to run, as promo-trigger built it from the policy. */
struct adapter_test {
    const char *tracker;        /* tracker name */
    const char *name;           /* test name in the policy */
    const char *provider;
    const char *job;            /* Jenkins job path "a/b", workflow file or id, GitLab project id or path, exec program path, plugin executable */
    const cJSON *params;        /* object of substituted string parameters (may be NULL) */
    const char *key;            /* idempotency key: passed to the CI, used by find */
    const char *repository;     /* owner/name: the default GitHub repository */
    const char *ref;            /* git ref to run on (head ref, else head SHA) */
    const char *sha;            /* head SHA */
    int64_t timeout_ms;         /* the test's own timeout (exec/plugin enforce it locally) */
    int fresh;                  /* status: ask the CI about this run itself, now (a webhook
                                 * said it changed): not from a list kept or shared */
};

/* A run in a CI system: what must be persisted to find it again. */
struct adapter_run {
    char id[128];               /* provider id: Jenkins build number, GitHub run id, GitLab pipeline id, exec pid, plugin id */
    char url[512];              /* a link for people */
    char api[512];              /* where to ask for status: Jenkins build or queue item URL, API URL... */
    char etag[128];             /* last ETag (GitHub conditional requests) */
    enum run_status status;
    char detail[128];           /* the provider's own words: "FAILURE", "completed/failure" */
    int64_t duration_ms;        /* when the CI reports it, else 0 */
};

/* The outcome of one operation. */
struct adapter_result {
    int error;                  /* 0 ok; ADAPTER_ETEMP retry later; ADAPTER_EPERM give up */
    char errmsg[256];           /* why, for people and logs (no secrets) */
    int found;                  /* find: 1 when a run with the key exists */
    int not_modified;           /* status: 304, nothing changed */
    int deferred;               /* status: not asked, the request budget said wait
                                 * retry_after_ms (not_modified is set too) */
    int64_t retry_after_ms;     /* the CI asked us to wait this long (429, rate limit), or 0 */
    long rate_remaining;        /* remaining rate limit when the CI says, else -1 */
    struct adapter_run run;     /* trigger/find/status: the run as now known */
};
#define ADAPTER_ETEMP 1
#define ADAPTER_EPERM 2

typedef void (*adapter_done_fn)(void *arg, const struct adapter_result *res);

/* What an adapter may use: the loop, the HTTP client, the config (URLs,
 * tokens), the state dir (exec keeps its output there). */
struct adapter_ctx {
    struct loop *loop;
    struct http *http;
    const struct config *cfg;
    struct store *store;
    struct budget *budget;      /* the request budgets (util/budget.h), or NULL: none */
};

struct adapter {
    const char *provider;
    /* Each returns 0 when started (done will be called later), -1 when it
     * could not start (done is then still called, later, with the error). */
    int (*trigger)(struct adapter_ctx *, const struct adapter_test *, adapter_done_fn, void *);
    int (*find)(struct adapter_ctx *, const struct adapter_test *, adapter_done_fn, void *);
    int (*status)(struct adapter_ctx *, const struct adapter_test *, const struct adapter_run *,
                  adapter_done_fn, void *);
    int (*cancel)(struct adapter_ctx *, const struct adapter_test *, const struct adapter_run *,
                  adapter_done_fn, void *);
};

/* adapter_find - the adapter of a provider name, or NULL. */
const struct adapter *adapter_find(const char *provider);

/* adapter_run_to_json / adapter_run_from_json - persist a run (for the
 * trigger and monitor records). from_json returns 0 or -1 on a bad shape. */
cJSON *adapter_run_to_json(const struct adapter_run *r);
int adapter_run_from_json(const cJSON *o, struct adapter_run *r);

extern const struct adapter adapter_jenkins, adapter_github, adapter_gitlab,
    adapter_exec, adapter_plugin;

#endif
