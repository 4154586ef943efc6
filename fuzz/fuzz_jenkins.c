/* fuzz_jenkins.c - libFuzzer harness of the Jenkins adapter's response
 * parsers (adapters/adapters_internal.h): the body goes through
 * adapter_body_json as an HTTP answer does, then to every Jenkins parser
 * (build, queue item, parameters, a job's builds, the queue, crumb).
 *
 * Invariants: no parser ever yields RUN_PASSED except jenkins_parse_build
 * on result "SUCCESS"; every string it fills stays NUL-terminated inside
 * its buffer; a failure says why. */
#include <string.h>
#include <cjson/cJSON.h>

#include "adapters/adapters_internal.h"
#include "util/http.h"
#include "fuzz/fuzz.h"

/* jfuzz_run_ok - the strings of run are terminated within their buffers. */
static void jfuzz_run_ok(const struct adapter_run *r)
{
    FUZZ_CHECK(memchr(r->id, 0, sizeof(r->id)) && memchr(r->url, 0, sizeof(r->url)));
    FUZZ_CHECK(memchr(r->api, 0, sizeof(r->api)) && memchr(r->detail, 0, sizeof(r->detail)));
    FUZZ_CHECK(memchr(r->etag, 0, sizeof(r->etag)));
    FUZZ_CHECK(r->status >= RUN_UNKNOWN && r->status <= RUN_TIMED_OUT);
}

/* LLVMFuzzerTestOneInput - one Jenkins answer through every parser. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_resp resp;
    struct adapter_run run;
    char err[256], header[512], *s;
    cJSON *j;
    int r;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.body = fuzz_copy(data, size);
    resp.len = size;
    j = adapter_body_json(&resp, err, sizeof(err));
    if (j) {
        memset(&run, 0, sizeof(run));
        r = jenkins_parse_build(j, &run, err, sizeof(err));
        jfuzz_run_ok(&run);
        if (r == 0 && run.status == RUN_PASSED) {
            const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
            FUZZ_CHECK(cJSON_IsString(res) && strcmp(res->valuestring, "SUCCESS") == 0);
        }

        memset(&run, 0, sizeof(run));
        r = jenkins_parse_queue_item(j, &run, err, sizeof(err));
        FUZZ_CHECK(r >= -1 && r <= 2);
        FUZZ_CHECK(run.status != RUN_PASSED);
        jfuzz_run_ok(&run);

        (void)jenkins_params_have_key(j, "pk-0123456789abcdef", err, sizeof(err));

        memset(&run, 0, sizeof(run));
        r = jenkins_find_build(j, "pk-0123456789abcdef", &run, err, sizeof(err));
        FUZZ_CHECK(r >= -1 && r <= 1);
        jfuzz_run_ok(&run);

        memset(&run, 0, sizeof(run));
        r = jenkins_find_queued(j, "pk-0123456789abcdef", "https://ci.example.com", &run,
                                err, sizeof(err));
        FUZZ_CHECK(r >= -1 && r <= 1);
        FUZZ_CHECK(run.status != RUN_PASSED);
        jfuzz_run_ok(&run);

        header[0] = 0;
        if (jenkins_parse_crumb(j, header, sizeof(header), err, sizeof(err)) == 0)
            FUZZ_CHECK(strlen(header) < sizeof(header) && !strchr(header, '\n') &&
                       !strchr(header, '\r'));
        cJSON_Delete(j);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    /* the raw text as a queue URL and a job path */
    s = fuzz_cstr(data, size < 4096 ? size : 4096);
    (void)jenkins_queue_id(s);
    free(jenkins_job_path(s));
    (void)jenkins_map_result(size & 1, s);
    free(s);
    free(resp.body);
    return 0;
}
