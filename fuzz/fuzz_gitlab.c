/* fuzz_gitlab.c - libFuzzer harness of the GitLab CI adapter's response
 * parsers (adapters/adapters_internal.h): a pipeline, a list of pipelines,
 * a pipeline's variables.
 *
 * Invariants: RUN_PASSED only for status "success"; strings stay within
 * their buffers; at most max ids, each returned. */
#include <string.h>
#include <cjson/cJSON.h>

#include "adapters/adapters_internal.h"
#include "util/http.h"
#include "fuzz/fuzz.h"

/* LLVMFuzzerTestOneInput - one GitLab answer through every parser. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_resp resp;
    struct adapter_run run;
    int64_t ids[8];
    char err[256], *s;
    cJSON *j;
    int r;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.body = fuzz_copy(data, size);
    resp.len = size;
    j = adapter_body_json(&resp, err, sizeof(err));
    if (j) {
        memset(&run, 0, sizeof(run));
        r = gitlab_parse_pipeline(j, &run, err, sizeof(err));
        FUZZ_CHECK(memchr(run.id, 0, sizeof(run.id)) && memchr(run.url, 0, sizeof(run.url)));
        FUZZ_CHECK(memchr(run.detail, 0, sizeof(run.detail)));
        FUZZ_CHECK(run.duration_ms >= 0);
        if (r == 0 && run.status == RUN_PASSED) {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
            FUZZ_CHECK(cJSON_IsString(st) && strcmp(st->valuestring, "success") == 0);
        }
        r = gitlab_pipeline_ids(j, ids, 8, err, sizeof(err));
        FUZZ_CHECK(r >= -1 && r <= 8);
        r = gitlab_variables_have_key(j, "pk-0123456789abcdef", err, sizeof(err));
        FUZZ_CHECK(r >= -1 && r <= 1);
        cJSON_Delete(j);
    }
    s = fuzz_cstr(data, size < 4096 ? size : 4096);
    (void)gitlab_map_status(s);
    free(gitlab_project_id(s));
    free(s);
    free(resp.body);
    return 0;
}
