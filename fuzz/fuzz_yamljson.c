/* fuzz_yamljson.c - libFuzzer harness of yj_parse (util/yamljson.h), the
 * YAML reader under promo.yaml and every policy file.
 *
 * The limits are the defaults, but smaller than production for bytes and
 * nodes so that the fuzzer reaches them often. Invariants: a parse that
 * succeeds gives an array of at most max_docs documents, each nested at most
 * max_depth deep, whose nodes all have sane positions; a failed parse says
 * why. */
#include <cjson/cJSON.h>

#include "util/yamljson.h"
#include "fuzz/fuzz.h"

/* yjfuzz_walk - check depth and positions of node and below; the node count. */
static long yjfuzz_walk(const struct yj_doc *d, const cJSON *node, int depth, int max_depth)
{
    const cJSON *it;
    struct yj_pos p = yj_pos_of(d, node);
    long n = 1;

    FUZZ_CHECK(p.line >= 0 && p.col >= 0 && p.key_line >= 0 && p.key_col >= 0);
    if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
        FUZZ_CHECK(depth < max_depth + 1);
        cJSON_ArrayForEach(it, node)
            n += yjfuzz_walk(d, it, depth + 1, max_depth);
    }
    return n;
}

/* LLVMFuzzerTestOneInput - parse a YAML stream under limits and walk it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yj_limits lim = { 64 << 10, 64, 20000, 50 };
    struct yj_doc doc = { 0 };
    char *buf = fuzz_copy(data, size), err[256];
    const cJSON *it;
    long nodes = 0;

    err[0] = 0;
    if (yj_parse(buf, size, "fuzz.yaml", &lim, &doc, err, sizeof(err)) == 0) {
        FUZZ_CHECK(cJSON_IsArray(doc.docs));
        FUZZ_CHECK(cJSON_GetArraySize(doc.docs) <= lim.max_docs);
        cJSON_ArrayForEach(it, doc.docs)
            nodes += yjfuzz_walk(&doc, it, 0, lim.max_depth);
        FUZZ_CHECK(nodes <= lim.max_nodes + lim.max_docs);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    yj_free(&doc);
    free(buf);
    return 0;
}
