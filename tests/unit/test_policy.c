/* test_policy.c - PromotionPolicy validation (one bad and one good case per rule),
 * error positions, multi-error reports, policy sets (ambiguous, cycles, chains,
 * end of chain vs not found), directory loading and hostile files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/policy.h"
#include "util/util.h"
#include "util/yamljson.h"
#include "unit.h"

#define HEAD "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\nmetadata:\n  name: p\n"
#define SPEC "spec:\n  sourceEnvironment: dev\n  targetEnvironment: staging\n"
#define TESTS "  externalTests:\n    - name: t\n      provider: jenkins\n      job: j\n"
#define GOOD HEAD SPEC TESTS

/* One rule: a document that breaks it (want names the error) and one that keeps it. */
static const struct {
    const char *rule, *bad, *want, *good;
} rules[] = {
    { "document is a mapping", "- a\n- b\n", "(document): must be a mapping", GOOD },
    { "apiVersion present", "kind: PromotionPolicy\nmetadata: {name: p}\n" SPEC TESTS,
      "apiVersion: required field is missing", GOOD },
    { "apiVersion value", "apiVersion: promo.dev/v2\nkind: PromotionPolicy\nmetadata: {name: p}\n" SPEC TESTS,
      "apiVersion: must be \"promo.dev/v1alpha1\"", GOOD },
    { "kind present", "apiVersion: promo.dev/v1alpha1\nmetadata: {name: p}\n" SPEC TESTS,
      "kind: required field is missing", GOOD },
    { "kind value", "apiVersion: promo.dev/v1alpha1\nkind: PullRequestTracker\nmetadata: {name: p}\n" SPEC TESTS,
      "kind: must be \"PromotionPolicy\"", GOOD },
    { "metadata present", "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\n" SPEC TESTS,
      "metadata: required field is missing", GOOD },
    { "metadata is a mapping", "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\nmetadata: [p]\n" SPEC TESTS,
      "metadata: must be a mapping, not a list", GOOD },
    { "metadata.name present", "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\nmetadata: {}\n" SPEC TESTS,
      "metadata.name: required field is missing", GOOD },
    { "metadata.name valid", "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\nmetadata: {name: Bad_Name}\n" SPEC TESTS,
      "metadata.name: \"Bad_Name\" is not a valid name",
      "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\nmetadata: {name: dev-to-staging.v2}\n" SPEC TESTS },
    { "spec present", HEAD, "spec: required field is missing", GOOD },
    { "spec is a mapping", HEAD "spec: dev\n", "spec: must be a mapping, not a string", GOOD },
    { "sourceEnvironment present", HEAD "spec:\n  targetEnvironment: staging\n" TESTS,
      "spec.sourceEnvironment: required field is missing", GOOD },
    { "sourceEnvironment non-empty", HEAD "spec:\n  sourceEnvironment: \"\"\n  targetEnvironment: staging\n" TESTS,
      "spec.sourceEnvironment: must not be empty", GOOD },
    { "sourceEnvironment a string", HEAD "spec:\n  sourceEnvironment: 3\n  targetEnvironment: staging\n" TESTS,
      "spec.sourceEnvironment: must be a string, not a number",
      HEAD "spec:\n  sourceEnvironment: \"3\"\n  targetEnvironment: staging\n" TESTS },
    { "sourceEnvironment a valid name", HEAD "spec:\n  sourceEnvironment: Dev!\n  targetEnvironment: staging\n" TESTS,
      "not a valid environment name", HEAD "spec:\n  sourceEnvironment: eu-west.dev\n  targetEnvironment: staging\n" TESTS },
    { "targetEnvironment present", HEAD "spec:\n  sourceEnvironment: dev\n" TESTS,
      "spec.targetEnvironment: required field is missing", GOOD },
    { "targetEnvironment non-empty", HEAD "spec:\n  sourceEnvironment: dev\n  targetEnvironment: ''\n" TESTS,
      "spec.targetEnvironment: must not be empty", GOOD },
    { "source and target differ", HEAD "spec:\n  sourceEnvironment: dev\n  targetEnvironment: dev\n" TESTS,
      "must differ from sourceEnvironment", GOOD },
    { "autoPromote a boolean", GOOD "  autoPromote: \"yes\"\n", "spec.autoPromote: must be a boolean",
      GOOD "  autoPromote: false\n" },
    { "timeout a duration", GOOD "  timeout: 30\n", "spec.timeout: must be a duration", GOOD "  timeout: 45m\n" },
    { "timeout well formed", GOOD "  timeout: 10x\n", "spec.timeout: ", GOOD "  timeout: 1h30m\n" },
    { "timeout positive", GOOD "  timeout: 0s\n", "spec.timeout: must be positive", GOOD "  timeout: 1ms\n" },
    { "externalTests a list", HEAD SPEC "  externalTests:\n    name: t\n", "spec.externalTests: must be a list",
      GOOD },
    { "at most 64 tests", NULL, "more than 64 tests", NULL },
    { "a test is a mapping", HEAD SPEC "  externalTests:\n    - t\n", "spec.externalTests[0]: must be a mapping",
      GOOD },
    { "test name present", HEAD SPEC "  externalTests:\n    - provider: jenkins\n      job: j\n",
      "spec.externalTests[0].name: required field is missing", GOOD },
    { "test name valid", HEAD SPEC "  externalTests:\n    - name: a b\n      provider: jenkins\n      job: j\n",
      "name \"a b\" is invalid",
      HEAD SPEC "  externalTests:\n    - name: E2E_tests.v1\n      provider: jenkins\n      job: j\n" },
    { "test names unique", GOOD "    - name: t\n      provider: gitlab\n      job: k\n",
      "spec.externalTests[1].name: duplicate test name \"t\"", GOOD "    - name: u\n      provider: gitlab\n      job: k\n" },
    { "provider present", HEAD SPEC "  externalTests:\n    - name: t\n      job: j\n",
      "spec.externalTests[0].provider: required field is missing", GOOD },
    { "provider known", HEAD SPEC "  externalTests:\n    - name: t\n      provider: circleci\n      job: j\n",
      "unknown provider \"circleci\"",
      HEAD SPEC "  externalTests:\n"
      "    - {name: a, provider: jenkins, job: j}\n    - {name: b, provider: github-actions, job: j}\n"
      "    - {name: c, provider: gitlab, job: j}\n    - {name: d, provider: exec, job: /bin/true}\n"
      "    - {name: e, provider: plugin, job: my-ci}\n" },
    { "provider exact case", HEAD SPEC "  externalTests:\n    - name: t\n      provider: Jenkins\n      job: j\n",
      "unknown provider \"Jenkins\"", GOOD },
    { "job present", HEAD SPEC "  externalTests:\n    - name: t\n      provider: jenkins\n",
      "spec.externalTests[0].job: required field is missing", GOOD },
    { "job non-empty", HEAD SPEC "  externalTests:\n    - name: t\n      provider: jenkins\n      job: \"\"\n",
      "spec.externalTests[0].job: must not be empty", GOOD },
    { "job variables known", HEAD SPEC "  externalTests:\n    - name: t\n      provider: jenkins\n      job: ci-${ENV}\n",
      "unknown variable '${ENV}'",
      HEAD SPEC "  externalTests:\n    - name: t\n      provider: jenkins\n      job: ci-${TARGET_ENV}\n" },
    { "required a boolean", GOOD "      required: \"no\"\n", "spec.externalTests[0].required: must be a boolean",
      GOOD "      required: false\n" },
    { "test timeout well formed", GOOD "      timeout: -5m\n", "spec.externalTests[0].timeout: ",
      GOOD "      timeout: 5m\n" },
    { "test timeout positive", GOOD "      timeout: 0ms\n", "spec.externalTests[0].timeout: must be positive",
      GOOD "      timeout: 1s\n" },
    { "parameters a mapping", GOOD "      parameters: [a, b]\n", "parameters: must be a mapping",
      GOOD "      parameters: {}\n" },
    { "parameter values strings", GOOD "      parameters:\n        USERS: 500\n",
      "parameters.USERS: must be a string, not a number (quote it)", GOOD "      parameters:\n        USERS: \"500\"\n" },
    { "parameter names valid", GOOD "      parameters:\n        \"a b\": x\n", "invalid parameter name",
      GOOD "      parameters:\n        _A.b-c: x\n" },
    { "parameter variables known", GOOD "      parameters:\n        SHA: ${HEAD_SHA} ${SHA}\n",
      "parameters.SHA: unknown variable '${SHA}'",
      GOOD "      parameters:\n        SHA: ${HEAD_SHA}\n        COST: $$5\n" },
    { "parameter variables well formed", GOOD "      parameters:\n        X: \"${\"\n", "unterminated",
      GOOD "      parameters:\n        X: \"$${\"\n" },
    { "parameter variables upper case", GOOD "      parameters:\n        X: ${head_sha}\n", "malformed variable name",
      GOOD "      parameters:\n        X: ${HEAD_SHA}\n" },
    { "parameter variables not empty", GOOD "      parameters:\n        X: ${}\n", "empty variable name",
      GOOD "      parameters:\n        X: ${SHORT_SHA}\n" },
    { "no stray $", GOOD "      parameters:\n        X: $HOME\n", "stray '$'",
      GOOD "      parameters:\n        X: $$HOME\n" },
    { "promotion a mapping", GOOD "  promotion: [argocd]\n", "spec.promotion: must be a mapping",
      GOOD "  promotion: {}\n" },
    { "argocd a mapping", GOOD "  promotion:\n    argocd: shop\n", "spec.promotion.argocd: must be a mapping",
      GOOD "  promotion:\n    argocd: {cluster: prod, application: shop-prod}\n" },
    { "argocd cluster a name", GOOD "  promotion:\n    argocd: {cluster: Prod_1}\n", "not a valid cluster name",
      GOOD "  promotion:\n    argocd: {cluster: prod-1}\n" },
    { "argocd application template", GOOD "  promotion:\n    argocd: {application: \"shop-${ENV}\"}\n",
      "spec.promotion.argocd.application: unknown variable",
      GOOD "  promotion:\n    argocd: {application: \"shop-${TARGET_ENV}\"}\n" },
    { "argocd project a string", GOOD "  promotion:\n    argocd: {project: 3}\n",
      "spec.promotion.argocd.project: must be a string, not a number",
      GOOD "  promotion:\n    argocd: {project: shop}\n" },
    { "argocd project a name", GOOD "  promotion:\n    argocd: {project: \"shop team\"}\n",
      "spec.promotion.argocd.project: \"shop team\" is not a valid Argo CD name",
      GOOD "  promotion:\n    argocd: {project: \"team-${REPO_NAME}\"}\n" },
    { "argocd project template", GOOD "  promotion:\n    argocd: {project: \"${TEAM}\"}\n",
      "spec.promotion.argocd.project: unknown variable",
      GOOD "  promotion:\n    argocd: {project: \"${REPO_OWNER}\"}\n" },
    { "argocd appNamespace a name", GOOD "  promotion:\n    argocd: {appNamespace: \"ns/x\"}\n",
      "spec.promotion.argocd.appNamespace: \"ns/x\" is not a valid Argo CD name",
      GOOD "  promotion:\n    argocd: {appNamespace: team-apps}\n" },
    { "update a strategy", GOOD "  promotion:\n    argocd: {update: kustomizeImage}\n",
      "spec.promotion.argocd.update: \"kustomizeImage\": only targetRevision is written as a word",
      GOOD "  promotion:\n    argocd: {update: targetRevision}\n" },
    { "update a mapping or word", GOOD "  promotion:\n    argocd: {update: [targetRevision]}\n",
      "spec.promotion.argocd.update: must be targetRevision or a mapping",
      GOOD "  promotion:\n    argocd: {update: {targetRevision: {}}}\n" },
    { "update exactly one", GOOD "  promotion:\n    argocd:\n      update:\n        targetRevision: {}\n"
      "        helmParameter: {name: image.tag, value: x}\n",
      "spec.promotion.argocd.update: must hold exactly one of targetRevision, kustomizeImage, helmParameter, "
      "mergePatch (found 2)",
      GOOD "  promotion:\n    argocd:\n      update:\n        helmParameter: {name: image.tag, value: x}\n" },
    { "update none", GOOD "  promotion:\n    argocd: {update: {}}\n", "(found 0)",
      GOOD "  promotion:\n    argocd: {}\n" },
    { "targetRevision takes no settings", GOOD "  promotion:\n    argocd: {update: {targetRevision: main}}\n",
      "spec.promotion.argocd.update.targetRevision: takes no settings",
      GOOD "  promotion:\n    argocd: {update: {targetRevision: null}}\n" },
    { "kustomizeImage a mapping", GOOD "  promotion:\n    argocd: {update: {kustomizeImage: nginx}}\n",
      "spec.promotion.argocd.update.kustomizeImage: must be a mapping {image, tag}",
      GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {image: nginx, tag: \"${SHORT_SHA}\"}}}\n" },
    { "kustomizeImage image required", GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {tag: v1}}}\n",
      "spec.promotion.argocd.update.kustomizeImage.image: required field is missing",
      GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {image: \"registry:5000/shop\", tag: v1}}}\n" },
    { "kustomizeImage image plain", GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {image: \"a=b\", tag: v1}}}\n",
      "kustomizeImage.image: \"a=b\" is not an image name",
      GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {image: ghcr.io/acme/shop, tag: v1}}}\n" },
    { "kustomizeImage tag template", GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {image: x, tag: \"${SHA}\"}}}\n",
      "spec.promotion.argocd.update.kustomizeImage.tag: unknown variable",
      GOOD "  promotion:\n    argocd: {update: {kustomizeImage: {image: x, tag: \"pr-${PR_NUMBER}\"}}}\n" },
    { "helmParameter fields", GOOD "  promotion:\n    argocd: {update: {helmParameter: {name: image.tag}}}\n",
      "spec.promotion.argocd.update.helmParameter.value: required field is missing",
      GOOD "  promotion:\n    argocd: {update: {helmParameter: {name: image.tag, value: \"${HEAD_SHA}\"}}}\n" },
    { "helmParameter value a string", GOOD "  promotion:\n    argocd: {update: {helmParameter: {name: replicas, value: 3}}}\n",
      "spec.promotion.argocd.update.helmParameter.value: must be a string, not a number",
      GOOD "  promotion:\n    argocd: {update: {helmParameter: {name: replicas, value: \"3\"}}}\n" },
    { "mergePatch a string", GOOD "  promotion:\n    argocd: {update: {mergePatch: {spec: {}}}}\n",
      "spec.promotion.argocd.update.mergePatch: must be a string, not a mapping",
      GOOD "  promotion:\n    argocd: {update: {mergePatch: '{\"spec\":{}}'}}\n" },
    { "mergePatch JSON", GOOD "  promotion:\n    argocd: {update: {mergePatch: '{\"spec\": ${SHORT_SHA}}'}}\n",
      "spec.promotion.argocd.update.mergePatch: not valid JSON once its variables are filled in",
      GOOD "  promotion:\n    argocd: {update: {mergePatch: '{\"spec\": \"${SHORT_SHA}\"}'}}\n" },
    { "mergePatch an object", GOOD "  promotion:\n    argocd: {update: {mergePatch: '[1]'}}\n",
      "spec.promotion.argocd.update.mergePatch: a merge patch must be a JSON object, not an array",
      GOOD "  promotion:\n    argocd: {update: {mergePatch: '{}'}}\n" },
    { "mergePatch variables", GOOD "  promotion:\n    argocd: {update: {mergePatch: '{\"a\": \"${X}\"}'}}\n",
      "spec.promotion.argocd.update.mergePatch: unknown variable",
      GOOD "  promotion:\n    argocd: {update: {mergePatch: '{\"a\": \"${HEAD_REF}\"}'}}\n" },
    { "source an integer", GOOD "  promotion:\n    argocd: {source: \"1\"}\n",
      "spec.promotion.argocd.source: must be an index of spec.sources (an integer 0 to 63), not a string",
      GOOD "  promotion:\n    argocd: {source: 1}\n" },
    { "source not negative", GOOD "  promotion:\n    argocd: {source: -1}\n",
      "spec.promotion.argocd.source: must be an integer from 0 to 63, not -1",
      GOOD "  promotion:\n    argocd: {source: 0}\n" },
    { "source bounded", GOOD "  promotion:\n    argocd: {source: 64}\n",
      "spec.promotion.argocd.source: must be an integer from 0 to 63, not 64",
      GOOD "  promotion:\n    argocd: {source: 63}\n" },
    { "source integral", GOOD "  promotion:\n    argocd: {source: 1.5}\n",
      "spec.promotion.argocd.source: must be an integer from 0 to 63, not 1.5",
      GOOD "  promotion:\n    argocd: {source: 2}\n" },
    { "github a mapping", GOOD "  promotion:\n    github: true\n", "spec.promotion.github: must be a mapping",
      GOOD "  promotion:\n    github: {}\n" },
    { "addLabels a list", GOOD "  promotion:\n    github: {addLabels: promoted}\n",
      "spec.promotion.github.addLabels: must be a list",
      GOOD "  promotion:\n    github: {addLabels: [promoted, \"env:${TARGET_ENV}\"]}\n" },
    { "labels strings", GOOD "  promotion:\n    github: {removeLabels: [1]}\n",
      "spec.promotion.github.removeLabels[0]: must be a string",
      GOOD "  promotion:\n    github: {removeLabels: [\"1\"]}\n" },
    { "labels non-empty", GOOD "  promotion:\n    github: {addLabels: [\"\"]}\n", "a label is 1 to 100 bytes",
      GOOD "  promotion:\n    github: {addLabels: [x]}\n" },
    { "commitStatus a string", GOOD "  promotion:\n    github: {commitStatus: true}\n",
      "spec.promotion.github.commitStatus: must be a string",
      GOOD "  promotion:\n    github: {commitStatus: promo/staging}\n" },
    { "comment template", GOOD "  promotion:\n    github: {comment: \"at ${SHORT_SHA\"}\n",
      "spec.promotion.github.comment: unterminated",
      GOOD "  promotion:\n    github: {comment: \"at ${SHORT_SHA} for $$0\"}\n" },
};

/* Warnings, not errors: the document is accepted. */
static const struct {
    const char *text, *want;
} warnings[] = {
    { GOOD "  autoPromte: false\n", "warning: spec: unknown field \"autoPromte\" ignored (did you mean \"autoPromote\"?)" },
    { GOOD "      jobb: x\n", "warning: spec.externalTests[0]: unknown field \"jobb\"" },
    { GOOD "  promotion:\n    slack: {}\n", "warning: spec.promotion: unknown field \"slack\"" },
    { HEAD SPEC, "warning: spec.externalTests: no external tests" },
    { "extra: 1\n" GOOD, "warning: (document): unknown field \"extra\"" },
};

/* load - a set from one text; returns it finished. */
static void load(struct policy_set *s, const char *text)
{
    policy_set_init(s);
    policy_set_add_text(s, text, strlen(text), "t.yaml");
    policy_set_finish(s);
}

/* diag_has - some message contains want. */
static int diag_has(const struct policy_set *s, const char *want)
{
    int i;

    for (i = 0; i < s->diag.n; i++)
        if (strstr(s->diag.msg[i].text, want))
            return 1;
    return 0;
}

/* note_diag - show the messages of a failed check. */
static void note_diag(const struct policy_set *s)
{
    int i;

    for (i = 0; i < s->diag.n; i++)
        unit_note("  %s", s->diag.msg[i].text);
}

/* many_tests - a policy with n tests (heap). */
static char *many_tests(int n)
{
    size_t cap = 256 + (size_t)n * 64, len;
    char *t = xmalloc(cap);
    int i;

    len = (size_t)snprintf(t, cap, "%s%s  externalTests:\n", HEAD, SPEC);
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len, "    - {name: t%d, provider: exec, job: /bin/true}\n", i);
    return t;
}

static void test_rules(void)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(rules); i++) {
        struct policy_set s;
        char *bad = NULL, *good = NULL;
        const char *btext = rules[i].bad, *gtext = rules[i].good;

        if (!btext) {
            btext = bad = many_tests(POLICY_MAX_TESTS + 1);
            gtext = good = many_tests(POLICY_MAX_TESTS);
        }
        load(&s, btext);
        if (!unit_ok(s.diag.nerrors > 0 && s.n == 0 && diag_has(&s, rules[i].want),
                     "rule %s: bad case rejected with \"%s\"", rules[i].rule, rules[i].want))
            note_diag(&s);
        policy_set_free(&s);
        load(&s, gtext);
        if (!unit_ok(s.diag.nerrors == 0 && s.n == 1, "rule %s: good case accepted", rules[i].rule))
            note_diag(&s);
        policy_set_free(&s);
        free(bad);
        free(good);
    }
    for (i = 0; i < ARRAY_LEN(warnings); i++) {
        struct policy_set s;
        load(&s, warnings[i].text);
        if (!unit_ok(s.diag.nerrors == 0 && s.diag.nwarnings >= 1 && s.n == 1 && diag_has(&s, warnings[i].want),
                     "warning only: %s", warnings[i].want))
            note_diag(&s);
        policy_set_free(&s);
    }
}

static void test_positions_and_multi(void)
{
    static const char text[] =
        "apiVersion: promo.dev/v1\n"              /* 1 */
        "kind: PromotionPolicy\n"                 /* 2 */
        "metadata:\n"                             /* 3 */
        "  name: Bad_Name\n"                      /* 4 */
        "spec:\n"                                 /* 5 */
        "  sourceEnvironment: dev\n"              /* 6 */
        "  targetEnvironment: dev\n"              /* 7 */
        "  autoPromote: \"yes\"\n"                /* 8 */
        "  timeout: 0s\n"                         /* 9 */
        "  externalTests:\n"                      /* 10 */
        "    - name: a\n"                         /* 11 */
        "      provider: circleci\n"              /* 12 */
        "      job: \"\"\n"                       /* 13 */
        "      parameters:\n"                     /* 14 */
        "        X: ${FOO}\n"                     /* 15 */
        "    - name: a\n"                         /* 16 */
        "      provider: jenkins\n"               /* 17 */
        "      job: j\n"                          /* 18 */
        "      timeout: 10x\n";                   /* 19 */
    static const char *const want[] = {
        "t.yaml:1:13: apiVersion: must be",
        "t.yaml:4:9: metadata.name:",
        "t.yaml:7:22: spec.targetEnvironment: must differ",
        "t.yaml:8:16: spec.autoPromote: must be a boolean",
        "t.yaml:9:12: spec.timeout: must be positive",
        "t.yaml:12:17: spec.externalTests[0].provider: unknown provider",
        "t.yaml:13:12: spec.externalTests[0].job: must not be empty",
        "t.yaml:15:12: spec.externalTests[0].parameters.X: unknown variable",
        "t.yaml:16:13: spec.externalTests[1].name: duplicate test name",
        "t.yaml:19:16: spec.externalTests[1].timeout:",
    };
    struct policy_set s;
    size_t i;

    load(&s, text);
    unit_ok(s.diag.nerrors == (int)ARRAY_LEN(want), "all %zu errors of the file reported (got %d)",
            ARRAY_LEN(want), s.diag.nerrors);
    for (i = 0; i < ARRAY_LEN(want); i++)
        if (!unit_ok(diag_has(&s, want[i]), "position: %s", want[i]))
            note_diag(&s);
    policy_set_free(&s);

    /* a missing field points at its parent's key */
    load(&s, HEAD "spec:\n  targetEnvironment: staging\n" TESTS);
    unit_ok(diag_has(&s, "t.yaml:5:1: spec.sourceEnvironment: required field is missing"),
            "missing field: position of the parent");
    policy_set_free(&s);

    /* errors in several documents of one file */
    load(&s, HEAD "spec: {sourceEnvironment: a, targetEnvironment: a}\n---\n" HEAD
             "spec: {sourceEnvironment: b, targetEnvironment: c, timeout: 1y}\n");
    unit_ok(s.diag.nerrors == 2 && diag_has(&s, "t.yaml:5:") && diag_has(&s, "t.yaml:11:"),
            "errors of every document reported");
    policy_set_free(&s);

    /* a YAML syntax error is reported with its position too */
    load(&s, "apiVersion: [\n");
    unit_ok(s.diag.nerrors == 1 && diag_has(&s, "t.yaml:"), "syntax error: %s",
            s.diag.n ? s.diag.msg[0].text : "none");
    policy_set_free(&s);
}

static void test_defaults_and_doc(void)
{
    struct policy_set s;
    struct policy_diag d = { 0 };
    struct policy again;
    const struct policy *p;

    load(&s, GOOD "    - name: u\n      provider: github-actions\n      job: e2e.yml\n      required: false\n"
             "      timeout: 5m\n      parameters: {ref: \"${HEAD_REF}\"}\n"
             "  promotion:\n    argocd: {application: shop}\n    github: {addLabels: [a, b], comment: hi}\n");
    p = s.n == 1 ? s.pol[0] : NULL;
    unit_ok(p != NULL, "policy decoded");
    if (!p) {
        policy_set_free(&s);
        return;
    }
    unit_ok(strcmp(p->name, "p") == 0 && strcmp(p->source, "dev") == 0 && strcmp(p->target, "staging") == 0,
            "name, source, target");
    unit_ok(p->auto_promote == 1, "autoPromote defaults to true");
    unit_ok(p->timeout_ms == POLICY_DEFAULT_TIMEOUT, "timeout defaults to 1h");
    unit_ok(p->ntests == 2 && p->tests[0].required == 1 && p->tests[1].required == 0, "required default true");
    unit_ok(p->tests[0].timeout_ms == POLICY_DEFAULT_TIMEOUT && p->tests[1].timeout_ms == 5 * 60 * 1000,
            "test timeout defaults to the policy's");
    unit_ok(p->tests[0].provider == PP_JENKINS && p->tests[1].provider == PP_GITHUB_ACTIONS, "providers");
    unit_ok(cJSON_GetArraySize(p->tests[0].parameters) == 0 &&
            strcmp(cJSON_GetObjectItem(p->tests[1].parameters, "ref")->valuestring, "${HEAD_REF}") == 0,
            "parameters kept as templates");
    unit_ok(p->argocd_cluster == NULL && strcmp(p->argocd_application, "shop") == 0, "argocd fields");
    unit_ok(cJSON_GetArraySize(p->add_labels) == 2 && p->remove_labels == NULL && p->commit_status == NULL &&
            strcmp(p->comment, "hi") == 0, "github fields");
    unit_ok(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(p->doc, "spec"), "autoPromote")) &&
            strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(p->doc, "spec"), "timeout")->valuestring, "1h") == 0,
            "the kept document has the defaults filled in");
    unit_ok(p->line == 1 && strcmp(p->file, "t.yaml") == 0, "file and line of the policy");
    /* a later stage decodes the attached document again, without positions */
    unit_ok(policy_decode(p->doc, NULL, "message", &again, &d) == 0 && d.nerrors == 0 && d.nwarnings == 0 &&
            again.ntests == 2 && again.tests[1].required == 0, "attached document decodes again");
    policy_free(&again);
    policy_diag_free(&d);
    policy_set_free(&s);
}

#define POL(name, src, dst) HEAD_N(name) "spec: {sourceEnvironment: " src ", targetEnvironment: " dst \
    ", externalTests: [{name: t, provider: exec, job: /bin/true}]}\n---\n"
#define HEAD_N(name) "apiVersion: promo.dev/v1alpha1\nkind: PromotionPolicy\nmetadata: {name: " name "}\n"

/* The decoded spec.promotion.argocd: the strategy, its values, source, names. */
static void test_argocd_fields(void)
{
    struct policy_set s;
    const struct policy *p;

    load(&s, GOOD "  promotion:\n    argocd:\n      application: shop-${TARGET_ENV}\n      project: shop\n"
         "      appNamespace: team-apps\n      source: 1\n"
         "      update: {kustomizeImage: {image: ghcr.io/acme/shop, tag: \"${SHORT_SHA}\"}}\n");
    p = s.n == 1 ? s.pol[0] : NULL;
    unit_ok(p && p->argocd_update == PU_KUSTOMIZE_IMAGE && strcmp(p->argocd_update_name, "ghcr.io/acme/shop") == 0 &&
            strcmp(p->argocd_update_value, "${SHORT_SHA}") == 0 && p->argocd_source == 1 &&
            strcmp(p->argocd_project, "shop") == 0 && strcmp(p->argocd_app_namespace, "team-apps") == 0,
            "argocd: kustomizeImage, source, project, appNamespace decoded");
    policy_set_free(&s);
    load(&s, GOOD "  promotion:\n    argocd: {update: {helmParameter: {name: image.tag, value: \"${HEAD_SHA}\"}}}\n");
    p = s.n == 1 ? s.pol[0] : NULL;
    unit_ok(p && p->argocd_update == PU_HELM_PARAMETER && strcmp(p->argocd_update_name, "image.tag") == 0 &&
            p->argocd_source == -1 && !p->argocd_project && !p->argocd_app_namespace,
            "argocd: helmParameter decoded; no source, project, namespace");
    policy_set_free(&s);
    load(&s, GOOD "  promotion:\n    argocd: {update: {mergePatch: '{\"metadata\":{\"annotations\":{\"pr\":\"${PR_NUMBER}\"}}}'}}\n");
    p = s.n == 1 ? s.pol[0] : NULL;
    unit_ok(p && p->argocd_update == PU_MERGE_PATCH && strstr(p->argocd_update_value, "${PR_NUMBER}") &&
            !p->argocd_update_name, "argocd: mergePatch decoded (a template)");
    policy_set_free(&s);
    load(&s, GOOD);
    p = s.n == 1 ? s.pol[0] : NULL;
    unit_ok(p && p->argocd_update == PU_TARGET_REVISION && p->argocd_source == -1,
            "argocd: the default is targetRevision of spec.source");
    unit_ok(strcmp(policy_update_name(PU_HELM_PARAMETER), "helmParameter") == 0, "policy_update_name");
    policy_set_free(&s);
}

static void test_sets(void)
{
    struct policy_set s;
    const struct policy *p;
    char *chain;

    load(&s, POL("b", "staging", "prod") POL("a", "dev", "staging"));
    chain = policy_set_chain_text(&s);
    unit_ok(policy_set_valid(&s) && strcmp(chain, "dev → staging → prod") == 0, "chain: %s", chain);
    free(chain);
    unit_ok(policy_set_decide(&s, "dev", &p) == POLICY_FOUND && strcmp(p->name, "a") == 0, "dev: policy a");
    unit_ok(policy_set_decide(&s, "staging", &p) == POLICY_FOUND && strcmp(p->name, "b") == 0, "staging: policy b");
    unit_ok(policy_set_decide(&s, "prod", &p) == POLICY_END_OF_CHAIN && p == NULL, "prod: end of chain");
    unit_ok(policy_set_decide(&s, "qa", &p) == POLICY_NOT_FOUND && p == NULL, "qa: not found");
    unit_ok(policy_set_lookup(&s, "prod") == NULL && policy_set_lookup(&s, "dev") == s.pol[1], "lookup");
    policy_set_free(&s);

    load(&s, POL("a", "dev", "staging") POL("b", "dev", "prod"));
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "ambiguous") && diag_has(&s, "both promote from \"dev\""),
            "two policies for one source: ambiguous");
    unit_ok(diag_has(&s, "t.yaml:9:"), "ambiguous: reported at the second policy");
    policy_set_free(&s);
    load(&s, POL("a", "dev", "staging") POL("b", "qa", "staging"));
    unit_ok(policy_set_valid(&s), "two sources into one target: fine");
    chain = policy_set_chain_text(&s);
    unit_ok(strcmp(chain, "dev → staging; qa → staging") == 0, "two chains: %s", chain);
    free(chain);
    policy_set_free(&s);

    load(&s, POL("a", "dev", "staging") POL("b", "staging", "dev"));
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "cycle in the environment chain"), "two-step cycle");
    policy_set_free(&s);
    load(&s, POL("a", "dev", "staging") POL("b", "staging", "prod") POL("c", "prod", "dev"));
    unit_ok(!policy_set_valid(&s) && s.diag.nerrors == 1 && diag_has(&s, "→ dev"), "three-step cycle, reported once");
    policy_set_free(&s);
    load(&s, POL("x", "qa", "dev") POL("a", "dev", "staging") POL("b", "staging", "dev"));
    unit_ok(!policy_set_valid(&s) && s.diag.nerrors == 1, "a cycle reached from a root");
    policy_set_free(&s);
    load(&s, POL("a", "dev", "staging") POL("b", "staging", "prod") POL("c", "qa", "uat"));
    unit_ok(policy_set_valid(&s), "no cycle: valid");
    policy_set_free(&s);

    load(&s, POL("a", "dev", "staging") POL("a", "staging", "prod"));
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "duplicate policy name \"a\""), "duplicate names");
    policy_set_free(&s);

    load(&s, "");
    unit_ok(policy_set_valid(&s) && s.n == 0 && policy_set_decide(&s, "dev", &p) == POLICY_NOT_FOUND,
            "empty set: valid, nothing found");
    policy_set_free(&s);
    load(&s, "---\n---\n" GOOD "---\n");
    unit_ok(policy_set_valid(&s) && s.n == 1, "null documents are skipped");
    policy_set_free(&s);

    /* JSON documents go through the same decoder */
    load(&s, "{\"apiVersion\":\"promo.dev/v1alpha1\",\"kind\":\"PromotionPolicy\",\"metadata\":{\"name\":\"j\"},"
             "\"spec\":{\"sourceEnvironment\":\"dev\",\"targetEnvironment\":\"prod\",\"autoPromote\":\"no\","
             "\"externalTests\":[]}}");
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "t.yaml:1:") && diag_has(&s, "spec.autoPromote"), "JSON input");
    policy_set_free(&s);
}

/* write_file - dir/name with text. */
static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void test_dir(void)
{
    char dir[600], sub[700];
    struct policy_set s;
    const char *json = "{\"apiVersion\":\"promo.dev/v1alpha1\",\"kind\":\"PromotionPolicy\","
                       "\"metadata\":{\"name\":\"c\"},\"spec\":{\"sourceEnvironment\":\"prod\","
                       "\"targetEnvironment\":\"dr\"}}\n";

    snprintf(dir, sizeof(dir), "%s/pol", unit_tmpdir());
    snprintf(sub, sizeof(sub), "mkdir -p '%s'", dir);
    if (system(sub) != 0)
        exit(1);
    write_file(dir, "a.yaml", POL("a", "dev", "staging"), strlen(POL("a", "dev", "staging")));
    write_file(dir, "b.yml", POL("b", "staging", "prod"), strlen(POL("b", "staging", "prod")));
    write_file(dir, "c.json", json, strlen(json));
    write_file(dir, ".a.yaml.swp", "garbage: [", 10);
    write_file(dir, "README.txt", "not a policy", 12);
    policy_set_load_dir(&s, dir);
    unit_ok(policy_set_valid(&s) && s.n == 3 && s.nfiles == 3, "dir: 3 files, hidden and other suffixes skipped");
    {
        char *chain = policy_set_chain_text(&s);
        unit_ok(strcmp(chain, "dev → staging → prod → dr") == 0, "dir chain: %s", chain);
        free(chain);
    }
    policy_set_free(&s);
    write_file(dir, "d.yaml", POL("d", "dev", "qa"), strlen(POL("d", "dev", "qa")));
    policy_set_load_dir(&s, dir);
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "d.yaml:") && diag_has(&s, "ambiguous"),
            "ambiguous across files names the file");
    policy_set_free(&s);
    snprintf(sub, sizeof(sub), "%s/missing", dir);
    policy_set_load_dir(&s, sub);
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "cannot open policy directory"), "missing dir is an error");
    policy_set_free(&s);
}

/* Hostile inputs: each rejected (failure asserted, not timing). */
static void test_hostile(void)
{
    static const char laughs[] =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    struct policy_set s;
    size_t n = 100000, big = 10 * 1024 * 1024, i;
    char *deep, *huge, path[600];

    load(&s, laughs);
    unit_ok(!policy_set_valid(&s) && s.n == 0, "billion laughs rejected: %s", s.diag.n ? s.diag.msg[0].text : "");
    policy_set_free(&s);

    deep = xmalloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = 0;
    load(&s, deep);
    unit_ok(!policy_set_valid(&s) && s.n == 0, "100000 levels of nesting rejected: %s",
            s.diag.n ? s.diag.msg[0].text : "");
    policy_set_free(&s);
    for (i = 0; i < n; i++)
        deep[i] = i % 2 ? ' ' : '-';           /* "- - - - ..." : block nesting */
    deep[n] = 0;
    load(&s, deep);
    unit_ok(!policy_set_valid(&s) && s.n == 0, "deep block sequence rejected");
    policy_set_free(&s);
    free(deep);

    {
        static const char nul[] = GOOD "  timeout: 1h\0x\n";
        policy_set_init(&s);
        policy_set_add_text(&s, nul, sizeof(nul) - 1, "t.yaml");
        policy_set_finish(&s);
        unit_ok(!policy_set_valid(&s) && s.n == 0 && diag_has(&s, "t.yaml:12:14: NUL byte"),
                "NUL byte rejected with its position: %s", s.diag.n ? s.diag.msg[0].text : "");
        policy_set_free(&s);
    }

    huge = xmalloc(big);
    memset(huge, '#', big);
    for (i = 79; i < big; i += 80)
        huge[i] = '\n';
    snprintf(path, sizeof(path), "%s", unit_tmpdir());
    write_file(path, "huge.yaml", huge, big);
    snprintf(path, sizeof(path), "%s/huge.yaml", unit_tmpdir());
    policy_set_init(&s);
    policy_set_add_file(&s, path);
    policy_set_finish(&s);
    unit_ok(!policy_set_valid(&s) && diag_has(&s, "larger than"), "10 MB file refused: %s",
            s.diag.n ? s.diag.msg[0].text : "");
    policy_set_free(&s);
    policy_set_init(&s);
    policy_set_add_text(&s, huge, big, "huge.yaml");
    policy_set_finish(&s);
    unit_ok(!policy_set_valid(&s) && s.n == 0, "10 MB text refused by the parser limits");
    policy_set_free(&s);
    free(huge);
}

static void test_diag_bound(void)
{
    struct policy_set s;
    size_t cap = 400 * 60, len = 0;
    char *t = xmalloc(cap);
    int i;

    len += (size_t)snprintf(t, cap, "%s%s  externalTests:\n", HEAD, SPEC);
    for (i = 0; i < 300; i++)
        len += (size_t)snprintf(t + len, cap - len, "    - {name: t%d, provider: nope, job: j}\n", i);
    load(&s, t);
    unit_ok(s.diag.nerrors >= 300 && s.diag.n == POLICY_DIAG_MAX, "messages bounded, errors counted (%d)",
            s.diag.nerrors);
    policy_set_free(&s);
    free(t);
}

int main(void)
{
    test_rules();
    test_positions_and_multi();
    test_defaults_and_doc();
    test_argocd_fields();
    test_sets();
    test_dir();
    test_hostile();
    test_diag_bound();
    return unit_done();
}
