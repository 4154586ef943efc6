/* adapter_batch.c - status reads of many runs answered by one list request.
 *
 * A provider that can list runs (GitHub: a workflow's runs; see its
 * batch_url) names, for a status read, the list that would show the run.
 * The reads of runs on one list share it: while its request is in flight
 * they wait for its answer; while its answer is fresh (younger than half
 * the poll interval, at most ADAPTER_BATCH_FRESH_MS) they are answered from
 * it without a request; else the read sends it again, conditionally (If-
 * None-Match the list's last ETag: a 304 costs no rate limit and the kept
 * list stays good). A run the list does not show, or a list that could not
 * be read, falls back to the provider's read of that run alone, and so
 * does the read of a test a webhook said changed (adapter_test.fresh).
 *
 * What a list keeps is compact: per run its id, status, the provider's
 * words and duration; the rest of a run (URLs, its own ETag) is the
 * caller's. Lists live as long as the process (one per workflow, job or
 * project polled). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/adapter_call.h"
#include "adapters/adapters_internal.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/metrics.h"
#include "util/util.h"

#define ADAPTER_BATCH_FRESH_MS 5000    /* a list answer answers reads for at most this long */
#define ADAPTER_BATCH_MIN_MS   200     /* ... and at least this long */

/* One run as a list showed it. */
struct batch_entry {
    char id[24];
    enum run_status status;
    char detail[64];
    int64_t duration_ms;
};

/* One list: its request, its last answer, the reads waiting for it. */
struct adapter_batch {
    char *url;                       /* the list request: the key */
    char etag[128];                  /* of the last 200 answer, or "" */
    struct batch_entry *e;           /* its runs */
    size_t n, cap;
    int64_t answered_ms;             /* now_ms() of the last good answer; 0: none */
    struct adapter_call *sender;     /* the read whose request is in flight, or NULL */
    struct adapter_call *waiting;    /* reads waiting for it (bnext) */
    struct adapter_batch *next;
};

static struct adapter_batch *adapter_batches;

/* adapter_batch_fresh_ms - how long an answer answers reads: half the poll
 * interval, within [ADAPTER_BATCH_MIN_MS, ADAPTER_BATCH_FRESH_MS]. */
static int64_t adapter_batch_fresh_ms(const struct adapter_call *c)
{
    int64_t ms = c->ctx.cfg ? c->ctx.cfg->poll_interval_ms / 2 : ADAPTER_BATCH_FRESH_MS;

    return ms < ADAPTER_BATCH_MIN_MS ? ADAPTER_BATCH_MIN_MS : ms > ADAPTER_BATCH_FRESH_MS ? ADAPTER_BATCH_FRESH_MS : ms;
}

/* adapter_batch_get - the list of url (made when new; url is taken). */
static struct adapter_batch *adapter_batch_get(char *url)
{
    struct adapter_batch *b;

    for (b = adapter_batches; b; b = b->next)
        if (strcmp(b->url, url) == 0) {
            free(url);
            return b;
        }
    b = xcalloc(1, sizeof(*b));
    b->url = url;
    b->next = adapter_batches;
    adapter_batches = b;
    return b;
}

/* adapter_batch_add - batch_list's callback: keep one run of the answer. */
static void adapter_batch_add(void *arg, const struct adapter_run *run)
{
    struct adapter_batch *b = arg;
    struct batch_entry *e;

    if (strlen(run->id) >= sizeof(e->id))
        return;                      /* not an id promo keeps: such a run is read alone */
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->e = xrealloc(b->e, b->cap * sizeof(*b->e));
    }
    e = &b->e[b->n++];
    str_copy(e->id, run->id, sizeof(e->id));
    e->status = run->status;
    str_copy(e->detail, run->detail, sizeof(e->detail));
    e->duration_ms = run->duration_ms;
}

/* adapter_batch_lookup - the entry of run id, or NULL. */
static const struct batch_entry *adapter_batch_lookup(const struct adapter_batch *b, const char *id)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        if (strcmp(b->e[i].id, id) == 0)
            return &b->e[i];
    return NULL;
}

/* adapter_batch_reply - answer c from b's list: the run as the list shows
 * it (ended now, or from the loop when cached: c is answered from a kept
 * list, maybe inside the call that started it), else c's run read alone.
 * A kept list that is not full and lacks the run is older than the run
 * (the dispatch came after it): the run as c knows it (a Jenkins build
 * just out of the queue) until the next list says more. */
static void adapter_batch_reply(struct adapter_batch *b, struct adapter_call *c, int cached)
{
    const struct batch_entry *e = adapter_batch_lookup(b, c->run.id);

    if (!e && cached && b->n < ADAPTER_BATCH_PAGE) {
        metrics_inc("promo_batch_reads_total", "answer", "later");
        c->res.found = 1;
        c->res.run = c->run;
        adapter_call_end_later(c);
        return;
    }
    if (!e) {
        metrics_inc("promo_batch_reads_total", "answer", "alone");
        c->prov->read(c);
        return;
    }
    metrics_inc("promo_batch_reads_total", "answer", "list");
    c->res.found = 1;
    c->res.run = c->run;
    c->res.run.status = e->status;
    str_copy(c->res.run.detail, e->detail, sizeof(c->res.run.detail));
    c->res.run.duration_ms = e->duration_ms;
    if (cached)
        adapter_call_end_later(c);
    else
        adapter_call_end(c);
}

/* adapter_batch_join - share a list with the other reads of its runs. */
int adapter_batch_join(struct adapter_call *c)
{
    const struct adapter_provider *p = c->prov;
    struct adapter_batch *b;
    char *url;

    if (c->fresh || !p->batch_url || !p->batch_list || !c->run.id[0] || !(url = p->batch_url(c)))
        return 0;
    b = adapter_batch_get(url);
    if (b->sender) {
        c->bnext = b->waiting;
        b->waiting = c;
        return 1;
    }
    if (b->answered_ms && now_ms() - b->answered_ms < adapter_batch_fresh_ms(c)) {
        adapter_batch_reply(b, c, 1);
        return 1;
    }
    b->sender = c;
    c->batch = b;
    c->header[0] = '\0';
    if (b->etag[0] && b->answered_ms)
        snprintf(c->header, sizeof(c->header), "If-None-Match: %s", b->etag);
    adapter_call_send(c, ADAPTER_STEP_BATCH, "GET", b->url, NULL, -1);
    return 1;
}

/* adapter_batch_take - the calls b's answer goes to (its sender first);
 * b is then free for the next request. */
static struct adapter_call *adapter_batch_take(struct adapter_batch *b)
{
    struct adapter_call *all = b->sender;

    if (all) {
        all->bnext = b->waiting;
        all->batch = NULL;
    } else {
        all = b->waiting;
    }
    b->sender = NULL;
    b->waiting = NULL;
    return all;
}

/* adapter_batch_read - a 200 answer into b's list: 0, or -1 (logged) when
 * it is not a list (b then keeps no list). */
static int adapter_batch_read(struct adapter_batch *b, const struct adapter_call *c,
                              const struct http_resp *resp)
{
    const char *etag = http_resp_header(resp, "etag");
    char err[200];
    cJSON *j = adapter_body_json(resp, err, sizeof(err));
    int r = -1;

    b->n = 0;
    b->etag[0] = '\0';
    b->answered_ms = 0;
    if (j)
        r = c->prov->batch_list(j, adapter_batch_add, b, err, sizeof(err));
    cJSON_Delete(j);
    if (r < 0) {
        b->n = 0;
        log_warn("batch_bad_answer", "system=%s url=%s reason=%s", c->prov->system, log_q(b->url), log_q(err));
        return -1;
    }
    if (etag && strlen(etag) < sizeof(b->etag) && !strpbrk(etag, "\r\n"))
        str_copy(b->etag, etag, sizeof(b->etag));
    b->answered_ms = now_ms();
    return 0;
}

/* adapter_batch_answer - the list's answer to every read that waited. */
void adapter_batch_answer(struct adapter_call *c, const struct http_resp *resp)
{
    struct adapter_batch *b = c->batch;
    struct adapter_call *x, *next;
    char what[sizeof(c->what) + 40];
    long s = resp->status;
    int ok;

    x = adapter_batch_take(b);
    if (resp->error == HTTP_OK && s == 304 && b->answered_ms) {
        b->answered_ms = now_ms();   /* unchanged: the kept list is good */
        ok = 1;
    } else {
        ok = resp->error == HTTP_OK && s == 200 && adapter_batch_read(b, c, resp) == 0;
    }
    for (; x; x = next) {
        next = x->bnext;
        x->bnext = NULL;
        if (ok) {
            adapter_batch_reply(b, x, 0);
        } else if (resp->error != HTTP_OK) {
            snprintf(what, sizeof(what), "%s: %s", x->prov->name, x->what);
            adapter_http_failed(resp, what, &x->res);
            x->res.run = x->run;
            adapter_call_end(x);
        } else if (s == 429 || s == 403 || s >= 500) {
            x->limited = c->limited;
            adapter_call_http_error(x, resp, x->what, NULL);
        } else {
            x->prov->read(x);        /* the list is not to be had: each run alone */
        }
    }
}

/* adapter_batch_release - c sent no list after all (the budget held it
 * back): the list is free again; the reads that joined it meanwhile are
 * returned (bnext), for the caller to end as it ends c. */
struct adapter_call *adapter_batch_release(struct adapter_call *c)
{
    struct adapter_call *x;

    if (!c->batch)
        return NULL;
    x = adapter_batch_take(c->batch)->bnext;
    c->bnext = NULL;
    return x;
}

/* adapter_batch_abandon - free the reads waiting for c's list. */
void adapter_batch_abandon(struct adapter_call *c)
{
    struct adapter_call *x, *next;

    for (x = adapter_batch_release(c); x; x = next) {
        next = x->bnext;
        adapter_call_free(x);
    }
}
