/* sim_json.c - JSON tools promo-sim needs: JSON Merge Patch (RFC 7386), a
 * JSON Patch subset (RFC 6902: add, remove, replace, test), and Jenkins's
 * ?tree= filter for its remote API. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "sim/sim.h"


/* sim_json_pointer_token - decode the next reference token of a JSON pointer
 * (~1 is '/', ~0 is '~') from *pp into a fresh string, advancing *pp. */
static char *sim_json_pointer_token(const char **pp)
{
    const char *p = *pp, *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p), i, o = 0;
    char *t = xmalloc(n + 1);

    for (i = 0; i < n; i++) {
        if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
            t[o++] = p[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            t[o++] = p[i];
        }
    }
    t[o] = 0;
    *pp = end ? end + 1 : p + n;
    return t;
}

/* sim_json_index - parse an array index token ("-" is size); -1 if invalid. */
static int sim_json_index(const char *t, int size)
{
    char *end;
    long v;

    if (strcmp(t, "-") == 0)
        return size;
    if (!*t || !isdigit((unsigned char)*t) || (t[0] == '0' && t[1]))
        return -1;
    v = strtol(t, &end, 10);
    return *end || v > 1000000 ? -1 : (int)v;
}

/* sim_json_op - apply one operation at pointer path; 0 or -1 with err. */
static int sim_json_op(cJSON **doc, const char *op, const char *path, const cJSON *value,
                       char *err, size_t errlen)
{
    cJSON *parent = NULL, *cur = *doc;
    const char *p = path;
    char *tok = NULL;
    int rc = -1;

    if (*path == 0) {  /* the whole document */
        if (strcmp(op, "test") == 0)
            return cJSON_Compare(*doc, value, 1) ? 0 : (snprintf(err, errlen, "test failed"), -1);
        if (strcmp(op, "remove") == 0 || !value)
            return snprintf(err, errlen, "cannot remove the whole document"), -1;
        cJSON_Delete(*doc);
        *doc = cJSON_Duplicate(value, 1);
        return 0;
    }
    if (*p != '/')
        return snprintf(err, errlen, "path %s is not a JSON pointer", path), -1;
    p++;
    for (;;) {
        int last = strchr(p, '/') == NULL;
        free(tok);
        tok = sim_json_pointer_token(&p);
        parent = cur;
        if (cJSON_IsObject(parent))
            cur = cJSON_GetObjectItemCaseSensitive(parent, tok);
        else if (cJSON_IsArray(parent)) {
            int i = sim_json_index(tok, cJSON_GetArraySize(parent));
            cur = i >= 0 ? cJSON_GetArrayItem(parent, i) : NULL;
        } else {
            snprintf(err, errlen, "path %s: not a container", path);
            goto out;
        }
        if (last)
            break;
        if (!cur) {
            snprintf(err, errlen, "path %s does not exist", path);
            goto out;
        }
    }
    if (strcmp(op, "test") == 0) {
        rc = cur && cJSON_Compare(cur, value, 1) ? 0 : -1;
        if (rc)
            snprintf(err, errlen, "test failed at %s", path);
    } else if (strcmp(op, "remove") == 0 || strcmp(op, "replace") == 0) {
        if (!cur) {
            snprintf(err, errlen, "path %s does not exist", path);
            goto out;
        }
        if (strcmp(op, "replace") == 0) {
            if (cJSON_IsObject(parent))
                cJSON_ReplaceItemInObjectCaseSensitive(parent, tok, cJSON_Duplicate(value, 1));
            else
                cJSON_ReplaceItemInArray(parent, sim_json_index(tok, 0), cJSON_Duplicate(value, 1));
        } else if (cJSON_IsObject(parent)) {
            cJSON_DeleteItemFromObjectCaseSensitive(parent, tok);
        } else {
            cJSON_DeleteItemFromArray(parent, sim_json_index(tok, 0));
        }
        rc = 0;
    } else if (strcmp(op, "add") == 0) {
        if (cJSON_IsObject(parent)) {
            cJSON_DeleteItemFromObjectCaseSensitive(parent, tok);
            cJSON_AddItemToObject(parent, tok, cJSON_Duplicate(value, 1));
        } else {
            int n = cJSON_GetArraySize(parent), i = sim_json_index(tok, n);
            if (i < 0 || i > n) {
                snprintf(err, errlen, "path %s: index out of range", path);
                goto out;
            }
            if (i == n)
                cJSON_AddItemToArray(parent, cJSON_Duplicate(value, 1));
            else
                cJSON_InsertItemInArray(parent, i, cJSON_Duplicate(value, 1));
        }
        rc = 0;
    } else {
        snprintf(err, errlen, "unsupported operation %s", op);
    }
out:
    free(tok);
    return rc;
}

/* sim_json_patch - apply an RFC 6902 patch (add, remove, replace, test) to
 * *doc, all or nothing. Returns 0, or -1 with err and *doc unchanged. */
int sim_json_patch(cJSON **doc, const cJSON *ops, char *err, size_t errlen)
{
    cJSON *work = cJSON_Duplicate(*doc, 1);
    const cJSON *op;

    if (!cJSON_IsArray(ops)) {
        snprintf(err, errlen, "a JSON patch must be an array of operations");
        cJSON_Delete(work);
        return -1;
    }
    cJSON_ArrayForEach(op, ops) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "op"));
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "path"));
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
        if (!name || !path || (!value && strcmp(name, "remove") != 0)) {
            snprintf(err, errlen, "an operation needs op, path and (but for remove) value");
            cJSON_Delete(work);
            return -1;
        }
        if (sim_json_op(&work, name, path, value, err, errlen) != 0) {
            cJSON_Delete(work);
            return -1;
        }
    }
    cJSON_Delete(*doc);
    *doc = work;
    return 0;
}

/* One field of a Jenkins tree spec: name, subtree, range {lo,hi}. */
struct sim_tree {
    char name[64];
    struct sim_tree *sub;   /* array of nsub, or NULL */
    int nsub;
    int lo, hi;             /* hi < 0: no upper bound */
};

/* sim_tree_free - release an array of n fields. */
static void sim_tree_free(struct sim_tree *t, int n)
{
    int i;

    for (i = 0; i < n; i++)
        sim_tree_free(t[i].sub, t[i].nsub);
    free(t);
}

/* sim_tree_parse - parse "a,b[c,d]{0,50}" from *pp up to ']' or the end.
 * Returns the fields (count in *n) or NULL on a syntax error. */
static struct sim_tree *sim_tree_parse(const char **pp, int *n, int depth)
{
    struct sim_tree *t = NULL;
    const char *p = *pp;
    int cap = 0;

    *n = 0;
    if (depth > 16)
        return NULL;
    for (;;) {
        struct sim_tree *f;
        size_t len = 0;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            t = xrealloc(t, (size_t)cap * sizeof *t);
        }
        f = &t[*n];
        memset(f, 0, sizeof *f);
        f->hi = -1;
        while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || *p == '*')) {
            if (len + 1 < sizeof f->name)
                f->name[len++] = *p;
            p++;
        }
        f->name[len] = 0;
        (*n)++;
        if (!len)
            goto bad;
        if (*p == '[') {
            p++;
            f->sub = sim_tree_parse(&p, &f->nsub, depth + 1);
            if (!f->sub || *p != ']')
                goto bad;
            p++;
        }
        if (*p == '{') {
            char *end;
            p++;
            if (*p == ',')
                f->lo = 0;
            else
                f->lo = (int)strtol(p, &end, 10), p = end;
            if (*p == ',') {
                p++;
                if (*p != '}')
                    f->hi = (int)strtol(p, &end, 10), p = end;
            } else {
                f->hi = f->lo + 1;  /* {N}: just element N */
            }
            if (*p != '}' || f->lo < 0)
                goto bad;
            p++;
        }
        if (*p != ',')
            break;
        p++;
    }
    *pp = p;
    return t;
bad:
    sim_tree_free(t, *n);
    *n = 0;
    return NULL;
}

static cJSON *sim_tree_apply(const cJSON *node, const struct sim_tree *t, int n);

/* sim_tree_value - filter one selected value by its field's subtree and range. */
static cJSON *sim_tree_value(const cJSON *v, const struct sim_tree *f)
{
    if (cJSON_IsArray(v)) {
        cJSON *out = cJSON_CreateArray();
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, v) {
            if (i >= f->lo && (f->hi < 0 || i < f->hi))
                cJSON_AddItemToArray(out, sim_tree_apply(e, f->sub, f->nsub));
            i++;
        }
        return out;
    }
    return sim_tree_apply(v, f->sub, f->nsub);
}

/* sim_tree_apply - keep only the fields t of node (objects keep "_class"). */
static cJSON *sim_tree_apply(const cJSON *node, const struct sim_tree *t, int n)
{
    cJSON *out;
    const cJSON *cls;
    int i;

    if (!cJSON_IsObject(node))
        return cJSON_Duplicate(node, 1);
    out = cJSON_CreateObject();
    if ((cls = cJSON_GetObjectItemCaseSensitive(node, "_class")))
        cJSON_AddItemToObject(out, "_class", cJSON_Duplicate(cls, 1));
    for (i = 0; i < n; i++) {
        const cJSON *v;
        if (strcmp(t[i].name, "*") == 0) {
            cJSON_ArrayForEach(v, node)
                if (strcmp(v->string, "_class") != 0)
                    cJSON_AddItemToObject(out, v->string, sim_tree_value(v, &t[i]));
            continue;
        }
        v = cJSON_GetObjectItemCaseSensitive(node, t[i].name);
        if (v && strcmp(t[i].name, "_class") != 0)
            cJSON_AddItemToObject(out, t[i].name, sim_tree_value(v, &t[i]));
    }
    return out;
}

/* sim_tree_filter - Jenkins's ?tree=: a copy of node with only the fields the
 * spec names, arrays sliced by {lo,hi}. NULL with err on a bad spec. */
cJSON *sim_tree_filter(const cJSON *node, const char *tree, char *err, size_t errlen)
{
    const char *p = tree;
    struct sim_tree *t;
    cJSON *out;
    int n = 0;

    t = sim_tree_parse(&p, &n, 0);
    if (!t || *p) {
        if (t)
            sim_tree_free(t, n);
        snprintf(err, errlen, "bad tree spec at offset %d", (int)(p - tree));
        return NULL;
    }
    out = sim_tree_apply(node, t, n);
    sim_tree_free(t, n);
    return out;
}
