/* fuzz_tracker.c - libFuzzer harness of tracker_decode (domain/tracker.h),
 * run by every stage on the tracker a message or the state dir holds. The
 * text is parsed as the stages do (cJSON, whole input) and, when that
 * fails, as YAML (promoctl track reads YAML files), then decoded.
 *
 * Invariants: a decoded tracker has a valid repository and SHA (lowercase),
 * a positive number, NUL-terminated names within their buffers, a known
 * state; its default name is well formed. */
#include <string.h>
#include <cjson/cJSON.h>

#include "domain/tracker.h"
#include "util/yamljson.h"
#include "fuzz/fuzz.h"

/* trfuzz_check - the invariants of a decoded tracker. */
static void trfuzz_check(const struct tracker *t)
{
    char name[300];
    size_t i;

    FUZZ_CHECK(memchr(t->name, 0, sizeof(t->name)) && memchr(t->repository, 0, sizeof(t->repository)));
    FUZZ_CHECK(memchr(t->head_ref, 0, sizeof(t->head_ref)) && memchr(t->status_env, 0, sizeof(t->status_env)));
    FUZZ_CHECK(tracker_repo_valid(t->repository));
    FUZZ_CHECK(tracker_sha_valid(t->head_sha));
    for (i = 0; t->head_sha[i]; i++)
        FUZZ_CHECK(!(t->head_sha[i] >= 'A' && t->head_sha[i] <= 'F'));
    FUZZ_CHECK(t->number > 0 && t->generation >= 0);
    FUZZ_CHECK((int)t->state >= 0 && t->state < TS_COUNT);
    FUZZ_CHECK(tracker_state_parse(tracker_state_name(t->state)) == (int)t->state);
    FUZZ_CHECK(t->name[0] && t->application[0] && t->environment[0] && t->status_env[0]);
    FUZZ_CHECK(tracker_name_for(t->repository, t->number, name, sizeof(name)) != NULL);
    FUZZ_CHECK(strlen(name) < sizeof(name));
}

/* LLVMFuzzerTestOneInput - parse (JSON, else YAML) and decode a tracker. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yj_limits lim = YJ_LIMITS_DEFAULT;
    struct yj_doc yd = { 0 };
    char *buf = fuzz_copy(data, size), err[256];
    struct tracker t;
    cJSON *doc;

    doc = cJSON_ParseWithLengthOpts(buf, size, NULL, 0);
    if (doc) {
        if (tracker_decode(doc, &t, err, sizeof(err)) == 0)
            trfuzz_check(&t);
        else
            FUZZ_CHECK(err[0] != '\0');
        cJSON_Delete(doc);
    } else if (yj_parse(buf, size, "fuzz.yaml", &lim, &yd, err, sizeof(err)) == 0) {
        const cJSON *it;
        cJSON_ArrayForEach(it, yd.docs)
            if (tracker_decode(it, &t, err, sizeof(err)) == 0)
                trfuzz_check(&t);
    }
    yj_free(&yd);
    /* tracker_sha_valid and tracker_repo_valid on the raw text */
    {
        char *s = fuzz_cstr(data, size < 512 ? size : 512);
        (void)tracker_sha_valid(s);
        (void)tracker_repo_valid(s);
        (void)tracker_state_parse(s);
        free(s);
    }
    free(buf);
    return 0;
}
