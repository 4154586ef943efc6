/* fuzz_github.c - libFuzzer harness of the GitHub Actions adapter's response
 * parsers (adapters/adapters_internal.h): a workflow run, a list of runs
 * searched for the key, the dispatch answer; and the rate-limit headers.
 *
 * Input: the JSON body, then optionally a 0x00 byte followed by three
 * header values (x-ratelimit-remaining, x-ratelimit-reset, retry-after)
 * separated by newlines.
 *
 * Invariants: RUN_PASSED only for a completed run whose conclusion is
 * success; strings stay within their buffers; retry_after_ms is never
 * negative. */
#include <string.h>
#include <cjson/cJSON.h>

#include "adapters/adapters_internal.h"
#include "util/http.h"
#include "fuzz/fuzz.h"

/* ghfuzz_run_ok - the strings of run are terminated within their buffers. */
static void ghfuzz_run_ok(const struct adapter_run *r)
{
    FUZZ_CHECK(memchr(r->id, 0, sizeof(r->id)) && memchr(r->url, 0, sizeof(r->url)));
    FUZZ_CHECK(memchr(r->api, 0, sizeof(r->api)) && memchr(r->detail, 0, sizeof(r->detail)));
    FUZZ_CHECK(r->status >= RUN_UNKNOWN && r->status <= RUN_TIMED_OUT);
    FUZZ_CHECK(r->duration_ms >= 0);
}

/* ghfuzz_passed_ok - a run parsed as passed said completed/success. */
static void ghfuzz_passed_ok(const cJSON *o)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "status");
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(o, "conclusion");

    FUZZ_CHECK(cJSON_IsString(st) && strcmp(st->valuestring, "completed") == 0);
    FUZZ_CHECK(cJSON_IsString(co) && strcmp(co->valuestring, "success") == 0);
}

/* LLVMFuzzerTestOneInput - one GitHub answer through every parser. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *hdr;
    size_t hdrlen, bodylen = fuzz_split(data, size, 0x00, &hdr, &hdrlen);
    struct http_resp resp;
    struct adapter_run run;
    struct adapter_result res;
    char err[256];
    cJSON *j;
    int r;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.body = fuzz_copy(data, bodylen);
    resp.len = bodylen;
    j = adapter_body_json(&resp, err, sizeof(err));
    if (j) {
        memset(&run, 0, sizeof(run));
        r = github_parse_run(j, &run, err, sizeof(err));
        ghfuzz_run_ok(&run);
        if (r == 0 && run.status == RUN_PASSED)
            ghfuzz_passed_ok(j);

        memset(&run, 0, sizeof(run));
        r = github_find_run(j, "pk-0123456789abcdef", &run, err, sizeof(err));
        FUZZ_CHECK(r >= -1 && r <= 1);
        ghfuzz_run_ok(&run);

        memset(&run, 0, sizeof(run));
        r = github_parse_dispatch(j, &run, err, sizeof(err));
        FUZZ_CHECK(run.status != RUN_PASSED);
        ghfuzz_run_ok(&run);
        cJSON_Delete(j);
    }
    if (hdrlen || bodylen < size) {
        const uint8_t *p = hdr, *rest;
        size_t plen = hdrlen, restlen, n;
        char *h[3] = { NULL, NULL, NULL };
        int i;

        for (i = 0; i < 3; i++) {
            n = fuzz_split(p, plen, '\n', &rest, &restlen);
            h[i] = fuzz_cstr(p, n);
            p = rest, plen = restlen;
        }
        adapter_res_init(&res);
        (void)github_rate(h[0][0] ? h[0] : NULL, h[1][0] ? h[1] : NULL, h[2][0] ? h[2] : NULL,
                          1764304200, &res);
        FUZZ_CHECK(res.retry_after_ms >= 0);
        (void)github_map_status(h[0], h[1]);
        (void)github_branch_filter(h[2]);
        for (i = 0; i < 3; i++)
            free(h[i]);
    }
    free(resp.body);
    return 0;
}
