/* fuzz_policy.c - libFuzzer harness of the PromotionPolicy loader and
 * validator (domain/policy.h): policy_set_add_text on one file's text (YAML
 * or JSON, one or more documents), the set's cross-policy checks, indexes
 * and chains, and policy_decode of what the set accepted, as later stages
 * decode the policy a message carries.
 *
 * Invariants: every accepted policy has a source and target that differ;
 * its document (defaults filled in), printed as JSON and parsed back,
 * decodes again to the same policy; the set's lookups agree with it. */
#include <string.h>
#include <cjson/cJSON.h>

#include "domain/policy.h"
#include "fuzz/fuzz.h"

/* polfuzz_redecode - a policy as a message carries it decodes again, the same. */
static void polfuzz_redecode(const struct policy *p)
{
    struct policy_diag d = { 0 };
    struct policy q;
    char *text = cJSON_PrintUnformatted(p->doc);
    cJSON *doc;
    int i;

    FUZZ_CHECK(text != NULL);
    doc = cJSON_Parse(text);
    FUZZ_CHECK(doc != NULL);
    if (policy_decode(doc, NULL, "message.policy", &q, &d) < 0) {
        policy_diag_print(&d, stderr);
        FUZZ_CHECK(!"accepted policy fails to decode from its message form");
    }
    FUZZ_CHECK(strcmp(q.name, p->name) == 0);
    FUZZ_CHECK(strcmp(q.source, p->source) == 0 && strcmp(q.target, p->target) == 0);
    FUZZ_CHECK(q.ntests == p->ntests && q.timeout_ms == p->timeout_ms);
    FUZZ_CHECK(q.auto_promote == p->auto_promote);
    for (i = 0; i < q.ntests; i++) {
        FUZZ_CHECK(strcmp(q.tests[i].name, p->tests[i].name) == 0);
        FUZZ_CHECK(q.tests[i].provider == p->tests[i].provider);
        FUZZ_CHECK(q.tests[i].timeout_ms == p->tests[i].timeout_ms && q.tests[i].timeout_ms > 0);
        FUZZ_CHECK(q.tests[i].parameters != NULL);
    }
    FUZZ_CHECK(d.nerrors == 0);
    policy_free(&q);
    policy_diag_free(&d);
    cJSON_Delete(doc);
    free(text);
}

/* LLVMFuzzerTestOneInput - load one policy file's text into a set and check it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_copy(data, size), *chain;
    struct policy_set s;
    const struct policy *found;
    cJSON *chains;
    int i, errs;

    policy_set_init(&s);
    errs = policy_set_add_text(&s, buf, size, "fuzz.yaml");
    FUZZ_CHECK(errs >= 0 && errs == s.diag.nerrors);
    FUZZ_CHECK(s.n >= 0 && s.n <= POLICY_SET_MAX);
    policy_set_finish(&s);
    FUZZ_CHECK(s.diag.n <= POLICY_DIAG_MAX + 1);
    for (i = 0; i < s.n; i++) {
        const struct policy *p = s.pol[i];
        FUZZ_CHECK(p->doc && p->name && p->source && p->target);
        FUZZ_CHECK(strcmp(p->source, p->target) != 0);
        FUZZ_CHECK(p->ntests >= 0 && p->ntests <= POLICY_MAX_TESTS);
        polfuzz_redecode(p);
        if (policy_set_decide(&s, p->source, &found) == POLICY_FOUND)
            FUZZ_CHECK(found && strcmp(found->source, p->source) == 0);
        (void)policy_set_decide(&s, p->target, &found);
        (void)policy_set_lookup(&s, p->target);
    }
    (void)policy_set_decide(&s, "", &found);
    (void)policy_set_valid(&s);
    chains = policy_set_chains(&s);
    FUZZ_CHECK(chains != NULL);
    cJSON_Delete(chains);
    chain = policy_set_chain_text(&s);
    FUZZ_CHECK(chain != NULL);
    free(chain);
    if (size < 4096) {
        FILE *devnull = fopen("/dev/null", "w");
        if (devnull) {
            policy_diag_print(&s.diag, devnull);
            fclose(devnull);
        }
    }
    policy_set_free(&s);
    free(buf);
    return 0;
}
