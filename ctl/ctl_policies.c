/* ctl_policies.c - promoctl policies: the PromotionPolicy set of policyDir and its chain.
 *
 *   promoctl policies [--json]
 *
 * Reads policyDir itself (the same loader as promo-policy), so it answers
 * with the stage down and shows what the stage would load now: each policy
 * (name, source → target, tests, autoPromote, file), the environment chain
 * ("dev → staging → prod"), and every validation error and warning. Exit 0
 * when the set is valid, 100 when it is not (promo-policy then keeps its
 * last valid set in force). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/policy.h"
#include "util/util.h"
#include "ctl/ctl.h"

/* ctl_policies_tests - the test names, an optional one marked "?": "unit,e2e,perf?". */
static void ctl_policies_tests(const struct policy *p, char *buf, size_t len)
{
    size_t n = 0;
    int i;

    buf[0] = 0;
    for (i = 0; i < p->ntests && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s%s", i ? "," : "", p->tests[i].name,
                              p->tests[i].required ? "" : "?");
    if (!p->ntests)
        snprintf(buf, len, "-");
}

/* ctl_policies_json - the whole answer as one JSON document on stdout. */
static void ctl_policies_json(const struct ctl *c, const struct policy_set *s)
{
    cJSON *out = cJSON_CreateObject(), *arr, *errs, *warns;
    char *text;
    int i;

    cJSON_AddStringToObject(out, "policyDir", c->cfg.policy_dir);
    cJSON_AddBoolToObject(out, "valid", policy_set_valid(s));
    arr = cJSON_AddArrayToObject(out, "policies");
    for (i = 0; i < s->n; i++) {
        const struct policy *p = s->pol[i];
        cJSON *o = cJSON_CreateObject(), *ts;
        int j;

        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "sourceEnvironment", p->source);
        cJSON_AddStringToObject(o, "targetEnvironment", p->target);
        cJSON_AddBoolToObject(o, "autoPromote", p->auto_promote);
        ts = cJSON_AddArrayToObject(o, "tests");
        for (j = 0; j < p->ntests; j++) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "name", p->tests[j].name);
            cJSON_AddStringToObject(t, "provider", policy_provider_name(p->tests[j].provider));
            cJSON_AddBoolToObject(t, "required", p->tests[j].required);
            cJSON_AddItemToArray(ts, t);
        }
        cJSON_AddStringToObject(o, "file", p->file ? p->file : "");
        cJSON_AddNumberToObject(o, "line", p->line);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddItemToObject(out, "chains", policy_set_chains(s));
    errs = cJSON_AddArrayToObject(out, "errors");
    warns = cJSON_AddArrayToObject(out, "warnings");
    for (i = 0; i < s->diag.n; i++)
        cJSON_AddItemToArray(s->diag.msg[i].error ? errs : warns,
                             cJSON_CreateString(s->diag.msg[i].text));
    cJSON_AddNumberToObject(out, "errorCount", s->diag.nerrors);
    cJSON_AddNumberToObject(out, "warningCount", s->diag.nwarnings);
    text = cJSON_Print(out);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(out);
}

/* ctl_policies_table - the human answer. */
static void ctl_policies_table(const struct ctl *c, const struct policy_set *s)
{
    char *chain = policy_set_chain_text(s), tests[256], hop[140];
    int i;

    printf("%-24s %-30s %-6s %-32s %s\n", "NAME", "SOURCE → TARGET", "AUTO", "TESTS (? optional)", "FILE");
    for (i = 0; i < s->n; i++) {
        const struct policy *p = s->pol[i];
        ctl_policies_tests(p, tests, sizeof(tests));
        snprintf(hop, sizeof(hop), "%s → %s", p->source, p->target);
        /* "→" is 3 bytes and 1 column: pad by bytes plus 2 */
        printf("%-24s %-30s %-6s %-32s %s:%d\n", p->name, hop, p->auto_promote ? "yes" : "no",
               tests, p->file ? p->file : "-", p->line);
    }
    if (s->n == 0)
        printf("(no policies in %s)\n", c->cfg.policy_dir);
    printf("\nchain: %s\n", chain[0] ? chain : "(none)");
    free(chain);
    if (s->diag.n) {
        printf("\n");
        fflush(stdout);
        policy_diag_print(&s->diag, stdout);
    }
    if (!policy_set_valid(s))
        printf("\nINVALID: %d error%s; promo-policy keeps its last valid set in force\n",
               s->diag.nerrors, s->diag.nerrors == 1 ? "" : "s");
}

/* ctl_policies - promoctl policies [--json]. */
int ctl_policies(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { 0, 0, 0, 0 },
    };
    struct policy_set s;
    int ch, valid;

    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'j')
            return ctl_usage_error("policies: unknown option");
        c->json = 1;
    }
    if (optind < argc)
        return ctl_usage_error("policies: unexpected argument '%s'", argv[optind]);
    policy_set_load_dir(&s, c->cfg.policy_dir);
    if (c->json)
        ctl_policies_json(c, &s);
    else
        ctl_policies_table(c, &s);
    valid = policy_set_valid(&s);
    policy_set_free(&s);
    return valid ? EXIT_OK : EXIT_PERM;
}
