/* test_target.c - unit tests of the target record (domain/rec_target.c):
 * the key of an application (stable, distinct for cluster, namespace and
 * name, always a valid record name), the decoder on a good record as
 * promo-promoter writes it and on one hostile change per case, the
 * encoder's round trip, the waiting line, and what a tracker in line is
 * told (target_table_note). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec_target.h"
#include "util/util.h"
#include "unit.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"

static const char good[] =
    "{\"key\":\"shop-staging-0123456789ab\",\"target\":{\"cluster\":\"default\",\"appNamespace\":\"\","
    "\"application\":\"shop-staging\"},\"environment\":\"staging\",\"holder\":{\"tracker\":\"acme-shop-41\","
    "\"generation\":1,\"headSHA\":\"" SHA "\",\"source\":\"dev\",\"key\":\"pk-5f0c3a9e1b2d4c6f8a7e9d1c\","
    "\"at\":\"2020-01-02T12:03:10.120Z\"},\"progressAt\":\"2026-12-07T12:05:41.002Z\","
    "\"observed\":\"staging/testing\",\"timeoutMs\":720000,\"waiting\":[{\"tracker\":\"acme-shop-42\","
    "\"generation\":3,\"headSHA\":\"" SHA "\",\"source\":\"dev\",\"key\":\"pk-5f0c3a9e1b2d4c6f8a7e9d1d\","
    "\"at\":\"2026-12-07T12:04:00.981Z\"},{\"tracker\":\"acme-shop-43\",\"generation\":1,\"headSHA\":\"" SHA
    "\",\"source\":\"dev\",\"key\":\"\",\"at\":\"2026-12-07T12:04:01.000Z\"}]}";

/* One hostile change: replace from with to in the good record. */
struct bad {
    const char *from, *to, *want;     /* want: a piece of the error */
};

static const struct bad bads[] = {
    { "\"key\":\"shop-staging-0123456789ab\"", "\"key\":7", "key" },
    { "\"key\":\"shop-staging-0123456789ab\"", "\"key\":\"other\"", "not the name of its file" },
    { "\"target\":{", "\"target\":[],\"x\":{", "target" },
    { "\"application\":\"shop-staging\"", "\"application\":null", "target.application" },
    { "\"environment\":\"staging\"", "\"environment\":\"" "0123456789012345678901234567890123456789"
      "012345678901234567890123456789\"", "environment" },
    { "\"tracker\":\"acme-shop-41\"", "\"tracker\":\"Not A Name\"", "holder" },
    { "\"generation\":1,", "\"generation\":-1,", "holder.generation" },
    { "\"generation\":3,", "\"generation\":\"3\",", "waiting[0].generation" },
    { "\"tracker\":\"acme-shop-43\"", "\"tracker\":\"acme-shop-42\"", "waits twice" },
    { "\"timeoutMs\":720000", "\"timeoutMs\":1.5", "timeoutMs" },
    { "\"waiting\":[", "\"waiting\":{\"a\":1},\"w\":[", "waiting" },
    { "\"holder\":{", "\"holder\":\"x\",\"h\":{", "holder" },
};

/* replace - good with the first from replaced by to (heap). */
static char *replace(const char *from, const char *to)
{
    const char *p = strstr(good, from);
    size_t n = strlen(good) - strlen(from) + strlen(to) + 1;
    char *out;

    if (!p)
        return NULL;
    out = xmalloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(p - good), good, to, p + strlen(from));
    return out;
}

int main(void)
{
    struct target_rec r, r2;
    struct target_table tt;
    struct target_entry e;
    char k1[254], k2[254], k3[254], k4[254], err[512], note[1024];
    cJSON *o, *enc;
    size_t i;

    /* keys */
    unit_ok(target_key("default", "", "shop-staging", k1, sizeof(k1)) == 0 && name_valid(k1) &&
            strncmp(k1, "shop-staging-", 13) == 0 && strlen(k1) == 13 + 12, "key of shop-staging: %s", k1);
    unit_ok(target_key("default", "", "shop-staging", k2, sizeof(k2)) == 0 && strcmp(k1, k2) == 0,
            "the same application, the same key");
    unit_ok(target_key("other", "", "shop-staging", k2, sizeof(k2)) == 0 && strcmp(k1, k2) != 0,
            "another cluster, another key");
    unit_ok(target_key("default", "apps", "shop-staging", k3, sizeof(k3)) == 0 && strcmp(k1, k3) != 0 &&
            strcmp(k2, k3) != 0, "another appNamespace, another key");
    unit_ok(target_key("default", "", "Shop_Staging--X.", k4, sizeof(k4)) == 0 && name_valid(k4) &&
            strncmp(k4, "shop-staging-x-", 15) == 0, "a name cleaned to a valid record name: %s", k4);
    unit_ok(target_key("default", "", "___", k4, sizeof(k4)) == 0 && name_valid(k4) &&
            strncmp(k4, "app-", 4) == 0, "nothing left of the name: app-DIGEST (%s)", k4);
    unit_ok(target_key("default", "", "shop", k4, 8) < 0, "a key that does not fit is refused");

    /* the good record, and its round trip */
    o = cJSON_Parse(good);
    unit_ok(target_decode(o, "shop-staging-0123456789ab", &r, err, sizeof(err)) == 0, "good record decodes (%s)",
            err);
    unit_ok(r.held && strcmp(r.holder.tracker, "acme-shop-41") == 0 && r.nwaiting == 2 &&
            strcmp(r.waiting[1].tracker, "acme-shop-43") == 0 && r.timeout_ms == 720000 &&
            strcmp(r.application, "shop-staging") == 0, "its fields");
    enc = target_encode(&r);
    {
        cJSON *again = NULL;

        unit_ok(target_decode(enc, NULL, &r2, err, sizeof(err)) == 0 && (again = target_encode(&r2)) &&
                cJSON_Compare(enc, again, 1) == 1, "the encoding decodes to the same record");
        cJSON_Delete(again);
    }
    target_free(&r2);
    cJSON_Delete(enc);
    cJSON_Delete(o);

    /* one hostile change each */
    for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        char *s = replace(bads[i].from, bads[i].to);

        o = s ? cJSON_Parse(s) : NULL;
        err[0] = '\0';
        unit_ok(o && target_decode(o, "shop-staging-0123456789ab", &r2, err, sizeof(err)) < 0 &&
                strstr(err, bads[i].want) != NULL, "refused: %s -> %s (%s)", bads[i].from, bads[i].to, err);
        target_free(&r2);
        cJSON_Delete(o);
        free(s);
    }

    /* the line */
    target_entry_set(&e, "acme-shop-44", 1, SHA, "dev", "", "2026-12-07T12:05:00.000Z");
    target_waiting_add(&r, &e);
    unit_ok(r.nwaiting == 3 && target_waiting_find(&r, "acme-shop-44") == 2, "a waiter joins at the end");
    target_waiting_remove(&r, 0);
    unit_ok(r.nwaiting == 2 && target_waiting_find(&r, "acme-shop-42") < 0 &&
            target_waiting_find(&r, "acme-shop-43") == 0, "the first leaves, the next is first");

    /* what promoctl says */
    tt.v = &r;
    tt.n = 1;
    unit_ok(target_table_note(&tt, "acme-shop-44", 1, note, sizeof(note)) == 1 &&
            strstr(note, "waiting for shop-staging (position 2 of 2), held by acme-shop-41 since 2020-01-02 12:03 UTC"),
            "a waiter is told for what and whom: %s", note);
    unit_ok(target_table_note(&tt, "acme-shop-44", 2, note, sizeof(note)) == 0 && !note[0],
            "another generation of it is not in line");
    unit_ok(target_table_note(&tt, "acme-shop-41", 1, note, sizeof(note)) == 2 &&
            strncmp(note, "holds shop-staging since", 24) == 0, "the holder: %s", note);
    unit_ok(target_table_note(&tt, "acme-shop-9", 1, note, sizeof(note)) == 0, "anyone else: nothing");
    target_free(&r);
    return unit_done();
}
