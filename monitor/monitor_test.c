/* monitor_test.c - one test of promo-monitor's poll table, kept compact.
 *
 * A test is a fixed struct whose strings are interned in the stage's table
 * (util/intern.h): the names, provider and job its hop's tests share, the
 * provider's words and errors many tests repeat, and its run's id, URLs and
 * ETag. What the adapter interface wants (a struct adapter_run of fixed
 * buffers, the parameters as a JSON object) is made only while a request of
 * the test is out, and freed when the last one ends (monitor_test_lend). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"
#include "monitor/monitor.h"
#include "util/json.h"

/* monitor_time - the ISO time member key of o as wall ms, or 0. */
int64_t monitor_time(const cJSON *o, const char *key)
{
    const char *s = json_str(o, key, NULL);
    int64_t ms = s ? time_parse_iso(s) : -1;

    return ms > 0 ? ms : 0;
}

/* monitor_num - the number member key of o, or dflt. */
int64_t monitor_num(const cJSON *o, const char *key, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 ? (int64_t)v->valuedouble : dflt;
}

/* monitor_str - the stage's copy of s (NULL: ""), one more holder. */
const char *monitor_str(struct stage *st, const char *s)
{
    struct monitor_stage *ms = st->data;

    return intern_get(ms->strs, s ? s : "");
}

/* monitor_str_put - let go of s (from monitor_str or monitor_set). */
void monitor_str_put(struct stage *st, const char *s)
{
    struct monitor_stage *ms = st->data;

    intern_put(ms->strs, s);
}

/* monitor_set - *slot = the stage's copy of s (NULL: ""). Returns 1 when
 * it changed. */
int monitor_set(struct stage *st, const char **slot, const char *s)
{
    struct monitor_stage *ms = st->data;

    return intern_set(ms->strs, slot, s ? s : "");
}

/* monitor_setf - monitor_set of a formatted string (at most 1 KiB). */
void monitor_setf(struct stage *st, const char **slot, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    monitor_set(st, slot, buf);
}

/* monitor_test_new - a poll table entry for trigger test te of tracker t
 * in hop (its strings interned; no run yet). */
struct mon_test *monitor_test_new(struct stage *st, struct mon_hop *hop, const struct tracker *t,
                                  const cJSON *te)
{
    struct mon_test *mt = xcalloc(1, sizeof(*mt));
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(te, "params");
    char *ptext = cJSON_IsObject(params) && params->child ? cJSON_PrintUnformatted(params) : NULL;

    mt->st = st;
    mt->hop = hop;
    mt->name = monitor_str(st, json_str(te, "name", NULL));
    mt->key = monitor_str(st, json_str(te, "key", NULL));
    mt->provider = monitor_str(st, json_str(te, "provider", NULL));
    mt->job = monitor_str(st, json_str(te, "job", NULL));
    mt->repository = monitor_str(st, t->repository);
    mt->ref = monitor_str(st, t->head_ref[0] ? t->head_ref : t->head_sha);
    mt->sha = monitor_str(st, hop->tr->sha);
    mt->tracker = monitor_str(st, hop->tr->name);
    mt->params = monitor_str(st, ptext);
    cJSON_free(ptext);
    mt->deadline_why = monitor_str(st, NULL);
    mt->run.id = mt->run.url = mt->run.api = mt->run.etag = monitor_str(st, NULL);
    mt->detail = mt->lasterr = monitor_str(st, NULL);
    mt->required = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(te, "required"));
    mt->timeout_ms = monitor_num(te, "timeoutMs", 0);
    mt->rate_remaining = -1;
    mt->start_ms = monitor_time(te, "triggeredAt");
    if (!mt->start_ms)
        mt->start_ms = monitor_time(te, "intentAt");
    if (!mt->start_ms)
        mt->start_ms = hop->started_ms;
    return mt;
}

/* monitor_test_strings_put - let go of every string of t. */
static void monitor_test_strings_put(struct stage *st, struct mon_test *t)
{
    const char **s[] = { &t->name, &t->key, &t->provider, &t->job, &t->repository, &t->ref, &t->sha,
                         &t->tracker, &t->params, &t->deadline_why, &t->run.id, &t->run.url, &t->run.api,
                         &t->run.etag, &t->detail, &t->lasterr };
    size_t i;

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        monitor_str_put(st, *s[i]);
        *s[i] = NULL;
    }
}

/* monitor_test_free - free t, or orphan it while a request is in flight. */
void monitor_test_free(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;

    if (!t)
        return;
    monitor_poll_stop(st, t);
    monitor_gate_forget(st, t);
    if (t->nreq > 0 && !ms->stopping) {
        if (t->hop) {             /* the last callback frees it */
            t->hop = NULL;
            t->orphan_next = ms->orphans;
            ms->orphans = t;
        }
        return;
    }
    t->hop = NULL;
    monitor_test_strings_put(st, t);
    if (t->lent) {
        cJSON_Delete(t->lent->params);
        free(t->lent);
    }
    free(t);
}

/* monitor_orphan_release - unlink orphaned t and free it. */
void monitor_orphan_release(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;
    struct mon_test **pp;

    for (pp = &ms->orphans; *pp; pp = &(*pp)->orphan_next) {
        if (*pp == t) {
            *pp = t->orphan_next;
            break;
        }
    }
    monitor_test_free(st, t);
}

/* monitor_test_take_run - t's run as r says now; an id, API URL or URL r
 * leaves blank keeps the one known. Returns 1 when the URL changed. */
int monitor_test_take_run(struct stage *st, struct mon_test *t, const struct adapter_run *r)
{
    int url = 0;

    if (r->id[0])
        monitor_set(st, &t->run.id, r->id);
    if (r->api[0])
        monitor_set(st, &t->run.api, r->api);
    if (r->url[0])
        url = monitor_set(st, &t->run.url, r->url);
    monitor_set(st, &t->run.etag, r->etag);
    t->run.status = r->status;
    t->run.duration_ms = r->duration_ms;
    return url;
}

/* monitor_test_lend - what an adapter is handed for a request of t: the
 * test (its strings), its parameters parsed and its run made from t->run;
 * they stay alive until monitor_test_unlend sees no request out. */
const struct mon_lent *monitor_test_lend(struct stage *st, struct mon_test *t)
{
    struct adapter_test *at;
    struct adapter_run *r;

    if (!t->lent) {
        t->lent = xcalloc(1, sizeof(*t->lent));
        t->lent->params = t->params[0] ? cJSON_Parse(t->params) : NULL;
        at = &t->lent->at;
        at->tracker = t->tracker;
        at->name = t->name;
        at->provider = t->provider;
        at->job = t->job;
        at->params = t->lent->params;
        at->key = t->key;
        at->repository = t->repository;
        at->ref = t->ref;
        at->sha = t->sha;
        at->timeout_ms = t->timeout_ms;
    }
    r = &t->lent->run;
    str_copy(r->id, t->run.id, sizeof(r->id));
    str_copy(r->url, t->run.url, sizeof(r->url));
    str_copy(r->api, t->run.api, sizeof(r->api));
    str_copy(r->etag, t->run.etag, sizeof(r->etag));
    str_copy(r->detail, t->detail, sizeof(r->detail));
    r->status = t->run.status;
    r->duration_ms = t->run.duration_ms;
    return t->lent;
}

/* monitor_test_unlend - free what was lent once no request of t is out. */
void monitor_test_unlend(struct stage *st, struct mon_test *t)
{
    if (t->nreq > 0 || !t->lent)
        return;
    cJSON_Delete(t->lent->params);
    free(t->lent);
    t->lent = NULL;
}
