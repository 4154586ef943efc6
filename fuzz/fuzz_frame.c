/* fuzz_frame.c - libFuzzer harness of frame_decode (ipc/frame.h), the decoder
 * every stage runs on every input line, and of frame_encode on what it
 * accepts.
 *
 * Invariants: a decoded message is an object with "v" 1 and a known "kind";
 * frame_encode of it either succeeds, with a line that frame_decode accepts
 * again and that encodes to the same bytes, or refuses it for size
 * (EMSGSIZE: numbers can print longer than they were written). */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "fuzz/fuzz.h"
#include "ipc/frame.h"

/* LLVMFuzzerTestOneInput - decode one line, check, re-encode, re-decode. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size), err[128], err2[128];
    cJSON *msg, *again, *v, *kind;
    char *line, *line2;
    size_t len, len2;

    msg = frame_decode(buf, size, err, sizeof(err));
    if (!msg) {
        FUZZ_CHECK(err[0] != '\0');
        free(buf);
        return 0;
    }
    FUZZ_CHECK(cJSON_IsObject(msg));
    v = cJSON_GetObjectItemCaseSensitive(msg, "v");
    kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
    FUZZ_CHECK(cJSON_IsNumber(v) && v->valuedouble == FRAME_VERSION);
    FUZZ_CHECK(cJSON_IsString(kind) && frame_kind_known(kind->valuestring));

    errno = 0;
    line = frame_encode(msg, &len);
    if (!line) {
        FUZZ_CHECK(errno == EMSGSIZE);
    } else {
        FUZZ_CHECK(len > 0 && line[len - 1] == '\n' && strlen(line) == len);
        again = frame_decode(line, len, err2, sizeof(err2));
        if (!again) {
            fprintf(stderr, "re-decode failed: %s\n", err2);
            FUZZ_CHECK(again != NULL);
        }
        line2 = frame_encode(again, &len2);
        FUZZ_CHECK(line2 && len2 == len && memcmp(line, line2, len) == 0);
        free(line2);
        cJSON_Delete(again);
        free(line);
    }
    cJSON_Delete(msg);
    free(buf);
    return 0;
}
