/* policy.h - PromotionPolicy documents: strict decoder and validator, and the
 * policy set of a directory with its cross-policy checks, its index by
 * source environment and the environment chain it forms.
 *
 *   apiVersion: promo.dev/v1alpha1
 *   kind: PromotionPolicy
 *   metadata: {name}
 *   spec:
 *     sourceEnvironment, targetEnvironment       required, different
 *     autoPromote                                 bool, default true
 *     timeout                                     duration > 0, default 1h
 *     externalTests: [{name, provider, job, required (default true),
 *                      timeout (default spec.timeout), parameters {str: str}}]
 *     promotion: {exclusive (bool, default true: the target application
 *                 is held by one tracker at a time),
 *                 argocd: {cluster, application, project, appNamespace,
 *                          update: targetRevision | {kustomizeImage: {image, tag}}
 *                                  | {helmParameter: {name, value}} | {mergePatch: "{...}"},
 *                          source},
 *                 github: {addLabels, removeLabels, commitStatus, comment}}
 *
 * docs/policy.md is the reference. Every error of a file is reported, each as
 * "file:line:col: field.path: message"; unknown fields are warnings. The
 * decoded policy keeps its cJSON document (defaults filled in), which is what
 * promo-policy attaches to messages and what later stages decode again with
 * policy_decode(doc, NULL, ...). */
#ifndef PROMO_POLICY_H
#define PROMO_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

struct yj_doc;

#define POLICY_KIND            "PromotionPolicy"
#define POLICY_DEFAULT_TIMEOUT (60 * 60 * 1000)   /* ms: spec.timeout when absent */
#define POLICY_MAX_TESTS       64       /* externalTests in one policy */
#define POLICY_MAX_PARAMS      64       /* parameters of one test */
#define POLICY_MAX_LABELS      32       /* addLabels, removeLabels */
#define POLICY_MAX_STRING      16384    /* bytes in any one string field */
#define POLICY_ENV_MAX         63       /* bytes in an environment name */
#define POLICY_SET_MAX         1024     /* policies in a set */
#define POLICY_SET_MAX_FILES   1024     /* files read from a directory */
#define POLICY_FILE_MAX        (1 << 20)  /* bytes in one policy file */
#define POLICY_DIAG_MAX        200      /* messages kept (the rest only counted) */
#define POLICY_MAX_SOURCE      63       /* spec.promotion.argocd.source: 0..63 */

/* spec.promotion.argocd.update: how the target application is changed. */
enum policy_update {
    PU_TARGET_REVISION = 0,      /* spec.source(s[N]).targetRevision = HEAD_SHA (default) */
    PU_KUSTOMIZE_IMAGE,          /* an entry of kustomize.images: name image, tag template */
    PU_HELM_PARAMETER,           /* an entry of helm.parameters: name, value template */
    PU_MERGE_PATCH               /* a JSON merge patch template (SUBST_JSON) */
};

enum policy_provider {
    PP_JENKINS = 0,
    PP_GITHUB_ACTIONS,
    PP_GITLAB,
    PP_EXEC,
    PP_PLUGIN,
    PP_COUNT
};

struct policy_test {
    const char *name;
    enum policy_provider provider;
    const char *job;
    int required;
    int64_t timeout_ms;          /* effective: its own, else the policy's */
    const cJSON *parameters;     /* object of string values (never NULL) */
};

/* A decoded policy. Every pointer points into doc. */
struct policy {
    cJSON *doc;                  /* the document, defaults filled in; owned */
    const char *name;
    const char *source, *target;
    int auto_promote;
    int exclusive;               /* spec.promotion.exclusive, default 1 */
    int64_t timeout_ms;
    struct policy_test *tests;
    int ntests;
    const char *argocd_cluster;      /* NULL: the cluster named "default" */
    const char *argocd_application;  /* NULL: the tracker's spec.application */
    const char *argocd_project;      /* template, or NULL: none sent */
    const char *argocd_app_namespace;/* template, or NULL: none sent */
    enum policy_update argocd_update;
    const char *argocd_update_name;  /* kustomizeImage.image, helmParameter.name, else NULL */
    const char *argocd_update_value; /* kustomizeImage.tag, helmParameter.value or the
                                      * mergePatch (templates), else NULL */
    int argocd_source;               /* spec.sources index, -1: spec.source */
    const cJSON *add_labels;         /* array of strings, or NULL */
    const cJSON *remove_labels;      /* array of strings, or NULL */
    const char *commit_status;       /* status context, or NULL: none */
    const char *comment;             /* comment template, or NULL: none */
    char *file;                      /* where it came from (owned), or NULL */
    int line, col;                   /* of the document, 0 when unknown */
    int source_line, source_col;     /* of spec.sourceEnvironment */
};

/* Messages of a validation run, in the order found. */
struct policy_diag_msg {
    char *text;                  /* "file:line:col: [warning: ]field: message" */
    int error;                   /* 1 error, 0 warning */
};

struct policy_diag {
    struct policy_diag_msg *msg;
    int n, cap;
    int nerrors, nwarnings;      /* all, including those past POLICY_DIAG_MAX */
};

/* policy_update_name - "kustomizeImage" for PU_KUSTOMIZE_IMAGE. */
const char *policy_update_name(enum policy_update u);

/* policy_provider_name - "github-actions" for PP_GITHUB_ACTIONS. */
const char *policy_provider_name(enum policy_provider p);
/* policy_provider_parse - the provider called s, or -1. */
int policy_provider_parse(const char *s);

/* policy_diag_add - append one message (file and pos may be 0/NULL). */
void policy_diag_add(struct policy_diag *d, int error, const char *file, int line, int col,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* policy_diag_print - every message, one per line, to f; then a line for
 * those that were only counted. */
void policy_diag_print(const struct policy_diag *d, FILE *f);
void policy_diag_free(struct policy_diag *d);

/* policy_decode - check one document and decode it into p. src (may be NULL)
 * gives source positions, file names the input in messages (may be NULL).
 * Every error and warning goes to d. Returns 0 and fills p (free with
 * policy_free) when there was no error, else -1 with p zeroed. doc itself is
 * not changed: p->doc is a copy. */
int policy_decode(const cJSON *doc, const struct yj_doc *src, const char *file,
                  struct policy *p, struct policy_diag *d);

void policy_free(struct policy *p);

/* What the set says about an environment. */
enum policy_verdict {
    POLICY_FOUND = 0,            /* a policy has it as source */
    POLICY_END_OF_CHAIN,         /* some policy's target, no policy's source */
    POLICY_NOT_FOUND             /* neither: the tracker is stuck (PolicyNotFound) */
};

struct policy_index {
    const char **key;
    int *val;
    size_t size;                 /* a power of two, or 0 */
};

/* A set of policies: a directory, or the files given to --validate. */
struct policy_set {
    struct policy **pol;
    int n, cap;
    int nfiles;
    struct policy_index by_source, by_target;
    struct policy_diag diag;
    uint64_t fingerprint;        /* of the file names and bytes read */
    int finished;
};

/* policy_set_init - an empty set. */
void policy_set_init(struct policy_set *s);

/* policy_set_add_text - parse text (len bytes) named file and decode every
 * document in it. Null documents are skipped. Returns the number of errors
 * this text added. */
int policy_set_add_text(struct policy_set *s, const char *text, size_t len, const char *file);

/* policy_set_add_file - read path (refused over POLICY_FILE_MAX, or not a
 * regular file) and add its text. Returns the number of errors added. */
int policy_set_add_file(struct policy_set *s, const char *path);

/* policy_set_add_dir - add every *.yaml, *.yml and *.json file of dir, in
 * name order, skipping hidden names; a missing or unreadable dir is an error.
 * Returns the number of errors added. */
int policy_set_add_dir(struct policy_set *s, const char *dir);

/* policy_set_finish - the cross-policy checks (duplicate names, two policies
 * for one source environment, cycles) and the indexes. Returns 0 when the set
 * has no error at all, -1 otherwise (the set can still be listed). */
int policy_set_finish(struct policy_set *s);

/* policy_set_load_dir - init, add_dir and finish in one call. */
int policy_set_load_dir(struct policy_set *s, const char *dir);

/* policy_set_valid - 1 when finished without any error. */
int policy_set_valid(const struct policy_set *s);

/* policy_set_lookup - the policy whose source is env, in constant time, or NULL. */
const struct policy *policy_set_lookup(const struct policy_set *s, const char *env);

/* policy_set_decide - what to do with a tracker now in env; *out gets the
 * policy for POLICY_FOUND, else NULL. */
enum policy_verdict policy_set_decide(const struct policy_set *s, const char *env,
                                      const struct policy **out);

/* policy_set_chains - the chains of the set, as a JSON array of arrays of
 * environment names, each from an environment that is no policy's target to
 * the end of its chain: [["dev","staging","prod"]]. */
cJSON *policy_set_chains(const struct policy_set *s);

/* policy_set_chain_text - the same as text: "dev → staging → prod", chains
 * joined by "; ". Heap string ("" for an empty set). */
char *policy_set_chain_text(const struct policy_set *s);

/* policy_set_free - release everything (the set is left empty and reusable
 * after policy_set_init). */
void policy_set_free(struct policy_set *s);

#endif
