/* subst.h - ${VAR} substitution in policy templates, with escaping for where
 * the result goes.
 *
 * Templates are the strings of a PromotionPolicy that may name variables:
 * test jobs and parameters, and the promotion fields. The variables are those
 * of DESIGN.md; "$$" is a literal "$". Anything else after a "$" (an unknown
 * name, "${", "${}", "${lower}", a lone "$") is an error, never an empty
 * string. Expansion is one pass: a value that itself holds "${...}" is not
 * expanded again.
 *
 * Only the values are escaped, never the template's own text: the author of
 * "https://ci/job?ref=${HEAD_REF}" wrote the '?' and '=' on purpose, the PR
 * author who chose the branch name did not. */
#ifndef PROMO_SUBST_H
#define PROMO_SUBST_H

#include <stddef.h>

struct tracker;

enum subst_var {
    SV_PR_NUMBER = 0,
    SV_HEAD_SHA,
    SV_SHORT_SHA,       /* the first 7 characters of HEAD_SHA */
    SV_REPOSITORY,      /* owner/name */
    SV_REPO_OWNER,
    SV_REPO_NAME,
    SV_HEAD_REF,
    SV_SOURCE_ENV,
    SV_TARGET_ENV,
    SV_APPLICATION,
    SV_TRACKER,         /* the tracker's name */
    SV_PROMO_KEY,       /* the idempotency key of the side effect at hand */
    SV_COUNT
};

/* Where an expanded value goes. */
enum subst_mode {
    SUBST_RAW = 0,      /* one argv element, a label, a plain field: verbatim */
    SUBST_URL,          /* a URL query component: RFC 3986 percent-encoding */
    SUBST_JSON          /* inside a JSON string literal: JSON escapes */
};

#define SUBST_MAX_OUT  (64 * 1024)   /* bytes in one expanded template */
#define SUBST_NAME_MAX 32            /* bytes in a variable name */

/* The values of one expansion. A NULL value means "not known here": naming
 * it is an error. The context holds pointers only, plus the buffers of the
 * values it derives (PR_NUMBER, SHORT_SHA, REPO_OWNER). */
struct subst_ctx {
    const char *val[SV_COUNT];
    char pr_number_buf[24];
    char short_sha_buf[8];
    char owner_buf[128];
};

/* subst_var_name - "PR_NUMBER" for SV_PR_NUMBER; NULL when out of range. */
const char *subst_var_name(int var);

/* subst_var_lookup - the variable called name[0..len), or -1. */
int subst_var_lookup(const char *name, size_t len);

/* subst_ctx_init - a context with no values. */
void subst_ctx_init(struct subst_ctx *c);

/* subst_ctx_set - set one value (the string is not copied; NULL unsets it).
 * Setting SV_HEAD_SHA also sets SV_SHORT_SHA, and SV_REPOSITORY sets
 * SV_REPO_OWNER and SV_REPO_NAME, unless they were set before. */
void subst_ctx_set(struct subst_ctx *c, enum subst_var var, const char *value);

/* subst_ctx_from_tracker - PR_NUMBER, HEAD_SHA, SHORT_SHA, REPOSITORY,
 * REPO_OWNER, REPO_NAME, HEAD_REF, APPLICATION and TRACKER from t, and
 * SOURCE_ENV, TARGET_ENV and PROMO_KEY from the arguments (each may be NULL).
 * t must outlive the context. */
void subst_ctx_from_tracker(struct subst_ctx *c, const struct tracker *t,
                            const char *source_env, const char *target_env,
                            const char *promo_key);

/* subst_check - is tmpl well formed with known variables only? Returns 0, or
 * -1 with "reason at position N" (N 1-based, in bytes) in err. */
int subst_check(const char *tmpl, char *err, size_t errlen);

/* subst_expand - tmpl with every variable replaced by its value escaped for
 * mode, and "$$" by "$". Returns a heap string, or NULL with the reason in err
 * (malformed or unknown variable, a variable with no value, a result over
 * SUBST_MAX_OUT). */
char *subst_expand(const char *tmpl, const struct subst_ctx *c,
                   enum subst_mode mode, char *err, size_t errlen);

#endif
