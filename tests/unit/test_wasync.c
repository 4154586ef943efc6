/* test_wasync.c - record writes by writer threads: each one durable before
 * its callback, in order for one record, all done by a drain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"
#include "domain/store.h"
#include "util/util.h"
#include "domain/wasync.h"
#include "tests/unit/unit.h"

struct seen {
    struct store *s;
    int calls, bad, last_seq[8], out_of_order, on_disk_ok;
};

struct req {
    struct seen *seen;
    int rec, seq;
};

static void on_done(void *arg, int rc)
{
    struct req *r = arg;
    struct seen *sn = r->seen;
    char name[32];
    cJSON *doc = NULL;

    sn->calls++;
    if (rc != 0)
        sn->bad++;
    if (r->seq < sn->last_seq[r->rec])
        sn->out_of_order++;
    sn->last_seq[r->rec] = r->seq;
    /* the write is there when its callback runs (it may be a later one) */
    snprintf(name, sizeof(name), "rec-%d", r->rec);
    if (store_read(sn->s, "trigger", name, &doc) == 0 &&
        cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "seq")) >= r->seq)
        sn->on_disk_ok++;
    cJSON_Delete(doc);
    free(r);
}

int main(void)
{
    struct seen sn;
    struct wasync *w;
    int i, n = 400, reaped = 0;
    char name[32];
    cJSON *doc;

    log_init("test_wasync", LOG_FATAL);
    memset(&sn, 0, sizeof(sn));
    sn.s = store_open(unit_tmpdir(), 1);
    unit_ok(sn.s != NULL, "store opens");
    w = wasync_new(sn.s, 4);
    unit_ok(w != NULL && wasync_fd(w) >= 0, "writer pool made, with an fd to poll");
    for (i = 0; i < n; i++) {
        struct req *r = xcalloc(1, sizeof(*r));
        r->seen = &sn;
        r->rec = i % 8;
        r->seq = i;
        doc = cJSON_CreateObject();
        cJSON_AddNumberToObject(doc, "seq", i);
        snprintf(name, sizeof(name), "rec-%d", r->rec);
        if (wasync_write(w, "trigger", name, doc, on_done, r) != 0)
            sn.bad++;
        cJSON_Delete(doc);          /* the bytes were taken: the document may go */
        if (i % 50 == 0)
            reaped += wasync_reap(w);
    }
    doc = cJSON_CreateObject();
    unit_ok(wasync_write(w, "no-such-area", "x", doc, on_done, NULL) < 0, "an unknown area is refused at once");
    unit_ok(wasync_write(w, "trigger", "../x", doc, on_done, NULL) < 0, "a bad name is refused at once");
    cJSON_Delete(doc);
    wasync_drain(w);
    unit_ok(wasync_pending(w) == 0, "drained: nothing pending");
    unit_ok(sn.calls == n, "every callback ran once (%d of %d, %d by reaps before the drain)", sn.calls, n, reaped);
    unit_ok(sn.bad == 0, "every write succeeded");
    unit_ok(sn.out_of_order == 0, "writes of one record finished in the order asked");
    unit_ok(sn.on_disk_ok == n, "each write was on disk when its callback ran (%d)", sn.on_disk_ok);
    for (i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "rec-%d", i);
        doc = NULL;
        unit_ok(store_read(sn.s, "trigger", name, &doc) == 0 &&
                    (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "seq")) == n - 8 + i,
                "record %d holds its last write", i);
        cJSON_Delete(doc);
    }
    wasync_free(w);
    store_close(sn.s);
    return unit_done();
}
