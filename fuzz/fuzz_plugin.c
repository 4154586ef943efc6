/* fuzz_plugin.c - libFuzzer harness of the plugin adapter's protocol decoder
 * (adapters/plugin.h): plugin_decode_response on a plugin's stdout, for
 * each verb (byte 0 picks it; the rest is the response).
 *
 * Invariants: a response is either well formed (0) or a protocol violation
 * (-1 with ADAPTER_EPERM and a message); a violation never leaves a run
 * PASSED; strings stay inside their buffers. */
#include <string.h>

#include "adapters/plugin.h"
#include "fuzz/fuzz.h"

/* LLVMFuzzerTestOneInput - decode one plugin response. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum plugin_verb verbs[] = { PLUGIN_TRIGGER, PLUGIN_STATUS, PLUGIN_FIND,
                                              PLUGIN_CANCEL };
    struct adapter_result res;
    enum plugin_verb verb;
    char *buf;
    int r;

    if (size < 1)
        return 0;
    verb = verbs[data[0] % 4];
    data++, size--;
    buf = fuzz_copy(data, size);
    memset(&res, 0, sizeof(res));
    res.rate_remaining = -1;
    r = plugin_decode_response(verb, buf, size, &res);
    FUZZ_CHECK(r == 0 || r == -1);
    if (r < 0)
        FUZZ_CHECK(res.error == ADAPTER_EPERM && res.errmsg[0] != '\0');
    FUZZ_CHECK(memchr(res.errmsg, 0, sizeof(res.errmsg)) != NULL);
    FUZZ_CHECK(memchr(res.run.id, 0, sizeof(res.run.id)) && memchr(res.run.url, 0, sizeof(res.run.url)));
    FUZZ_CHECK(memchr(res.run.api, 0, sizeof(res.run.api)) && memchr(res.run.detail, 0, sizeof(res.run.detail)));
    FUZZ_CHECK(res.run.status >= RUN_UNKNOWN && res.run.status <= RUN_TIMED_OUT);
    if (res.run.status == RUN_PASSED)
        FUZZ_CHECK(r == 0);
    FUZZ_CHECK(res.retry_after_ms >= 0);
    free(buf);
    (void)plugin_verb_name(verb);
    {
        char *s = fuzz_cstr(data, size < 64 ? size : 64);
        (void)plugin_map_status(s);
        free(s);
    }
    return 0;
}
