/* subst.c - ${VAR} substitution with raw, URL and JSON escaping (see subst.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/subst.h"
#include "domain/tracker.h"
#include "util/util.h"

static const char *const subst_names[SV_COUNT] = {
    [SV_PR_NUMBER] = "PR_NUMBER",
    [SV_HEAD_SHA] = "HEAD_SHA",
    [SV_SHORT_SHA] = "SHORT_SHA",
    [SV_REPOSITORY] = "REPOSITORY",
    [SV_REPO_OWNER] = "REPO_OWNER",
    [SV_REPO_NAME] = "REPO_NAME",
    [SV_HEAD_REF] = "HEAD_REF",
    [SV_SOURCE_ENV] = "SOURCE_ENV",
    [SV_TARGET_ENV] = "TARGET_ENV",
    [SV_APPLICATION] = "APPLICATION",
    [SV_TRACKER] = "TRACKER",
    [SV_PROMO_KEY] = "PROMO_KEY",
};

/* A growing output buffer, bounded by SUBST_MAX_OUT. */
struct subst_buf {
    char *p;
    size_t len, cap;
    int over;
};

/* subst_var_name - the name of var, or NULL. */
const char *subst_var_name(int var)
{
    if (var < 0 || var >= SV_COUNT)
        return NULL;
    return subst_names[var];
}

/* subst_var_lookup - linear search of a dozen names: cheap enough. */
int subst_var_lookup(const char *name, size_t len)
{
    int i;

    for (i = 0; i < SV_COUNT; i++)
        if (strlen(subst_names[i]) == len && memcmp(subst_names[i], name, len) == 0)
            return i;
    return -1;
}

/* subst_ctx_init - clear every value. */
void subst_ctx_init(struct subst_ctx *c)
{
    memset(c, 0, sizeof(*c));
}

/* subst_ctx_set_derived - SHORT_SHA from HEAD_SHA, OWNER/NAME from REPOSITORY. */
static void subst_ctx_set_derived(struct subst_ctx *c, enum subst_var var, const char *value)
{
    const char *slash;

    if (var == SV_HEAD_SHA && !c->val[SV_SHORT_SHA] && value) {
        str_copy(c->short_sha_buf, value, sizeof(c->short_sha_buf));
        c->val[SV_SHORT_SHA] = c->short_sha_buf;
    }
    if (var == SV_REPOSITORY && value && (slash = strchr(value, '/')) != NULL) {
        size_t n = (size_t)(slash - value);
        if (!c->val[SV_REPO_OWNER] && n < sizeof(c->owner_buf)) {
            memcpy(c->owner_buf, value, n);      /* a prefix of value: copied */
            c->owner_buf[n] = 0;
            c->val[SV_REPO_OWNER] = c->owner_buf;
        }
        if (!c->val[SV_REPO_NAME])
            c->val[SV_REPO_NAME] = slash + 1;
    }
}

/* subst_ctx_set - set one value; derived values follow unless set before. */
void subst_ctx_set(struct subst_ctx *c, enum subst_var var, const char *value)
{
    if ((int)var < 0 || var >= SV_COUNT)
        return;
    c->val[var] = value;
    subst_ctx_set_derived(c, var, value);
}

/* subst_ctx_from_tracker - the values a tracker and a hop provide. */
void subst_ctx_from_tracker(struct subst_ctx *c, const struct tracker *t,
                            const char *source_env, const char *target_env,
                            const char *promo_key)
{
    subst_ctx_init(c);
    snprintf(c->pr_number_buf, sizeof(c->pr_number_buf), "%lld", (long long)t->number);
    c->val[SV_PR_NUMBER] = c->pr_number_buf;
    c->val[SV_REPO_OWNER] = t->owner;
    c->val[SV_REPO_NAME] = t->repo;
    subst_ctx_set(c, SV_HEAD_SHA, t->head_sha);
    subst_ctx_set(c, SV_REPOSITORY, t->repository);
    c->val[SV_HEAD_REF] = t->head_ref;
    c->val[SV_APPLICATION] = t->application;
    c->val[SV_TRACKER] = t->name;
    c->val[SV_SOURCE_ENV] = source_env;
    c->val[SV_TARGET_ENV] = target_env;
    c->val[SV_PROMO_KEY] = promo_key;
}

/* subst_buf_add - append n bytes; past SUBST_MAX_OUT only mark the overflow. */
static void subst_buf_add(struct subst_buf *b, const char *s, size_t n)
{
    if (!b || b->over)
        return;
    if (b->len + n > SUBST_MAX_OUT) {
        b->over = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* subst_buf_value - append value escaped for mode. */
static void subst_buf_value(struct subst_buf *b, const char *v, enum subst_mode mode)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)v;
    char e[8];

    if (mode == SUBST_RAW) {
        subst_buf_add(b, v, strlen(v));
        return;
    }
    for (; *s; s++) {
        unsigned char ch = *s;
        if (mode == SUBST_URL) {
            if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
                subst_buf_add(b, (const char *)s, 1);
            } else {
                e[0] = '%';
                e[1] = hex[ch >> 4];
                e[2] = hex[ch & 15];
                subst_buf_add(b, e, 3);
            }
            continue;
        }
        /* SUBST_JSON */
        switch (ch) {
        case '"':  subst_buf_add(b, "\\\"", 2); break;
        case '\\': subst_buf_add(b, "\\\\", 2); break;
        case '\n': subst_buf_add(b, "\\n", 2); break;
        case '\r': subst_buf_add(b, "\\r", 2); break;
        case '\t': subst_buf_add(b, "\\t", 2); break;
        case '\b': subst_buf_add(b, "\\b", 2); break;
        case '\f': subst_buf_add(b, "\\f", 2); break;
        default:
            if (ch < 0x20 || ch == 0x7f) {
                snprintf(e, sizeof(e), "\\u%04x", ch);
                subst_buf_add(b, e, 6);
            } else {
                subst_buf_add(b, (const char *)s, 1);
            }
        }
    }
}

/* subst_run - the one scanner behind check and expand. With c NULL, only
 * checks. Returns 0, or -1 with the reason in err. */
static int subst_run(const char *tmpl, const struct subst_ctx *c, enum subst_mode mode,
                     struct subst_buf *b, char *err, size_t errlen)
{
    const char *p = tmpl, *lit = tmpl;

    if (!tmpl) {
        snprintf(err, errlen, "no template");
        return -1;
    }
    while (*p) {
        const char *name, *end;
        size_t col = (size_t)(p - tmpl) + 1, n, i;
        int var;

        if (*p != '$') {
            p++;
            continue;
        }
        subst_buf_add(b, lit, (size_t)(p - lit));
        if (p[1] == '$') {              /* "$$": a literal '$' */
            subst_buf_add(b, "$", 1);
            p += 2;
            lit = p;
            continue;
        }
        if (p[1] != '{') {
            snprintf(err, errlen, "stray '$' at position %zu (write '$$' for a literal '$', "
                     "${NAME} for a variable)", col);
            return -1;
        }
        name = p + 2;
        end = strchr(name, '}');
        if (!end) {
            snprintf(err, errlen, "unterminated '${' at position %zu (no closing '}')", col);
            return -1;
        }
        n = (size_t)(end - name);
        if (n == 0) {
            snprintf(err, errlen, "empty variable name '${}' at position %zu", col);
            return -1;
        }
        for (i = 0; i < n; i++) {
            char ch = name[i];
            int ok = (ch >= 'A' && ch <= 'Z') || ch == '_' || (i > 0 && ch >= '0' && ch <= '9');
            if (!ok || n > SUBST_NAME_MAX) {
                snprintf(err, errlen, "malformed variable name '${%.*s}' at position %zu "
                         "(names are upper case letters, digits and '_')",
                         (int)(n > SUBST_NAME_MAX ? SUBST_NAME_MAX : n), name, col);
                return -1;
            }
        }
        var = subst_var_lookup(name, n);
        if (var < 0) {
            snprintf(err, errlen, "unknown variable '${%.*s}' at position %zu", (int)n, name, col);
            return -1;
        }
        if (c) {
            const char *v = c->val[var];
            if (!v) {
                snprintf(err, errlen, "variable '${%s}' at position %zu has no value here",
                         subst_names[var], col);
                return -1;
            }
            subst_buf_value(b, v, mode);
        }
        p = end + 1;
        lit = p;
    }
    subst_buf_add(b, lit, (size_t)(p - lit));
    if (b && b->over) {
        snprintf(err, errlen, "expansion longer than %d bytes", SUBST_MAX_OUT);
        return -1;
    }
    return 0;
}

/* subst_check - syntax and names only. */
int subst_check(const char *tmpl, char *err, size_t errlen)
{
    return subst_run(tmpl, NULL, SUBST_RAW, NULL, err, errlen);
}

/* subst_expand - the expanded template as a heap string, or NULL. */
char *subst_expand(const char *tmpl, const struct subst_ctx *c,
                   enum subst_mode mode, char *err, size_t errlen)
{
    struct subst_buf b = { 0 };

    if (subst_run(tmpl, c, mode, &b, err, errlen) < 0) {
        free(b.p);
        return NULL;
    }
    if (!b.p)
        return xstrdup("");
    return b.p;
}
