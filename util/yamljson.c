/* yamljson.c - YAML (and so JSON) text to cJSON, with hard limits and source positions.
 *
 * libyaml's event parser drives a small builder with its own stack: no
 * recursion on the input, so nesting is bounded by lim->max_depth before
 * any memory is spent on it. Every cJSON item built counts against
 * lim->max_nodes, and an alias is priced at the size of the subtree it
 * names *before* that subtree is copied, so "billion laughs" stops after a
 * few expansions. Plain scalars follow the YAML 1.2 core schema; only the
 * standard tags (!!str !!int !!float !!bool !!null !!map !!seq) are known.
 * Positions live in a pointer-keyed hash beside the tree (yj_pos_of). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/util.h"
#include "util/yamljson.h"

#define YJ_TAG_PREFIX "tag:yaml.org,2002:"
#define YJ_INT_MAX (UINT64_C(1) << 53)  /* beyond ±2^53 a double no longer holds every integer */

/* One node's position, in the pointer-keyed open-addressing table of yj_doc. */
struct yj_pos_entry {
    const cJSON *node;
    struct yj_pos pos;
};

/* An open mapping or sequence. */
struct yj_frame {
    cJSON *node;
    int is_map;
    char *key;                  /* mapping: the key waiting for its value, or NULL */
    int key_line, key_col;
    int height;                 /* tallest child so far (scalars are 0) */
    long nodes_at_start;        /* p->nodes before this collection was counted */
    char *anchor;               /* its anchor, completed at the end event */
};

/* A named node, for aliases (per document). */
struct yj_anchor {
    char *name;
    cJSON *node;
    long nodes;                 /* cJSON items in the subtree, itself included */
    int height;
    int done;                   /* 0 while the collection is still open */
};

/* The set of keys already used in each mapping (duplicate detection). */
struct yj_key {
    const cJSON *map;
    const char *key;            /* the item's own ->string */
};

struct yj_parser {
    const char *file, *text;
    size_t len;
    struct yj_limits lim;
    struct yj_doc *doc;
    struct yj_frame *stack;
    int depth;
    long nodes;
    int ndocs;
    struct yj_anchor *anchors;
    size_t nanchors, acap;
    struct yj_key *keys;
    size_t nkeys, kcap;
    char *err;
    size_t errlen;
    int failed;
};

/* yj_fail - record the first error as "file:line:col: message" (1-based). */
static int yj_fail(struct yj_parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int yj_fail(struct yj_parser *p, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (p->failed)
        return -1;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->file, line, col, msg);
    return -1;
}

/* yj_hash_ptr - a well-mixed hash of a pointer. */
static size_t yj_hash_ptr(const void *ptr)
{
    uint64_t x = (uint64_t)(uintptr_t)ptr;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* yj_hash_str - FNV-1a of a string. */
static size_t yj_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* yj_pos_slot - the slot of node in the table, or the empty slot where it goes. */
static struct yj_pos_entry *yj_pos_slot(struct yj_pos_entry *tab, size_t cap, const cJSON *node)
{
    size_t i = yj_hash_ptr(node) & (cap - 1);

    while (tab[i].node && tab[i].node != node)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* yj_pos_put - remember where node stood (replaces an earlier entry). */
static void yj_pos_put(struct yj_doc *d, const cJSON *node, struct yj_pos pos)
{
    struct yj_pos_entry *e;

    if ((d->npos + 1) * 2 > d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 256, i;
        struct yj_pos_entry *ntab = xcalloc(ncap, sizeof(*ntab));

        for (i = 0; i < d->cap; i++)
            if (d->pos[i].node)
                *yj_pos_slot(ntab, ncap, d->pos[i].node) = d->pos[i];
        free(d->pos);
        d->pos = ntab;
        d->cap = ncap;
    }
    e = yj_pos_slot(d->pos, d->cap, node);
    if (!e->node)
        d->npos++;
    e->node = node;
    e->pos = pos;
}

/* yj_pos_of - see yamljson.h. */
struct yj_pos yj_pos_of(const struct yj_doc *d, const cJSON *node)
{
    struct yj_pos none = { 0, 0, 0, 0 };
    const struct yj_pos_entry *e;

    if (!d || !node || !d->cap)
        return none;
    e = yj_pos_slot(d->pos, d->cap, node);
    return e->node ? e->pos : none;
}

/* yj_pos_copy - give each node of a copied subtree its original's position. */
static void yj_pos_copy(struct yj_doc *d, const cJSON *copy, const cJSON *orig)
{
    const cJSON *a, *b;

    for (a = copy->child, b = orig->child; a && b; a = a->next, b = b->next) {
        yj_pos_put(d, a, yj_pos_of(d, b));
        yj_pos_copy(d, a, b);
    }
}

/* yj_key_slot - the slot of (map, key), or the empty slot where it goes. */
static struct yj_key *yj_key_slot(struct yj_key *tab, size_t cap, const cJSON *map, const char *key)
{
    size_t i = (yj_hash_ptr(map) ^ yj_hash_str(key)) & (cap - 1);

    while (tab[i].map && !(tab[i].map == map && strcmp(tab[i].key, key) == 0))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* yj_key_seen - 1 if map already has key. */
static int yj_key_seen(struct yj_parser *p, const cJSON *map, const char *key)
{
    return p->kcap && yj_key_slot(p->keys, p->kcap, map, key)->map != NULL;
}

/* yj_key_add - record that map now has the item whose ->string is key. */
static void yj_key_add(struct yj_parser *p, const cJSON *map, const char *key)
{
    struct yj_key *e;

    if ((p->nkeys + 1) * 2 > p->kcap) {
        size_t ncap = p->kcap ? p->kcap * 2 : 256, i;
        struct yj_key *ntab = xcalloc(ncap, sizeof(*ntab));

        for (i = 0; i < p->kcap; i++)
            if (p->keys[i].map)
                *yj_key_slot(ntab, ncap, p->keys[i].map, p->keys[i].key) = p->keys[i];
        free(p->keys);
        p->keys = ntab;
        p->kcap = ncap;
    }
    e = yj_key_slot(p->keys, p->kcap, map, key);
    if (!e->map)
        p->nkeys++;
    e->map = map;
    e->key = key;
}

/* yj_anchor_slot - the slot of name, or the empty slot where it goes. */
static struct yj_anchor *yj_anchor_slot(struct yj_anchor *tab, size_t cap, const char *name)
{
    size_t i = yj_hash_str(name) & (cap - 1);

    while (tab[i].name && strcmp(tab[i].name, name) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* yj_anchor_find - the anchor called name, or NULL. */
static struct yj_anchor *yj_anchor_find(struct yj_parser *p, const char *name)
{
    struct yj_anchor *a;

    if (!p->acap)
        return NULL;
    a = yj_anchor_slot(p->anchors, p->acap, name);
    return a->name ? a : NULL;
}

/* yj_anchor_set - (re)define name as node; a later definition replaces an earlier one. */
static void yj_anchor_set(struct yj_parser *p, const char *name, cJSON *node,
                          long nodes, int height, int done)
{
    struct yj_anchor *a;

    if ((p->nanchors + 1) * 2 > p->acap) {
        size_t ncap = p->acap ? p->acap * 2 : 64, i;
        struct yj_anchor *ntab = xcalloc(ncap, sizeof(*ntab));

        for (i = 0; i < p->acap; i++)
            if (p->anchors[i].name)
                *yj_anchor_slot(ntab, ncap, p->anchors[i].name) = p->anchors[i];
        free(p->anchors);
        p->anchors = ntab;
        p->acap = ncap;
    }
    a = yj_anchor_slot(p->anchors, p->acap, name);
    if (!a->name) {
        a->name = xstrdup(name);
        p->nanchors++;
    }
    a->node = node;
    a->nodes = nodes;
    a->height = height;
    a->done = done;
}

/* yj_anchors_clear - forget every anchor (anchors do not cross documents). */
static void yj_anchors_clear(struct yj_parser *p)
{
    size_t i;

    for (i = 0; i < p->acap; i++)
        free(p->anchors[i].name);
    free(p->anchors);
    p->anchors = NULL;
    p->nanchors = p->acap = 0;
}

/* yj_count - charge n nodes to the budget; -1 (error recorded) when it is spent. */
static int yj_count(struct yj_parser *p, long n, const yaml_mark_t *m)
{
    if (n > p->lim.max_nodes - p->nodes)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                       "too many nodes (limit %ld, aliases included)", p->lim.max_nodes);
    p->nodes += n;
    return 0;
}

/* yj_attach - place node in the open collection (or as the document root),
 * recording its position. Fails on a collection or alias used as a key. */
static int yj_attach(struct yj_parser *p, cJSON *node, const yaml_mark_t *m, int height)
{
    struct yj_pos pos = { (int)m->line + 1, (int)m->column + 1, 0, 0 };
    struct yj_frame *f;

    if (p->depth == 0) {
        cJSON_AddItemToArray(p->doc->docs, node);
        yj_pos_put(p->doc, node, pos);
        return 0;
    }
    f = &p->stack[p->depth - 1];
    if (height > f->height)
        f->height = height;
    if (!f->is_map) {
        cJSON_AddItemToArray(f->node, node);
    } else {
        /* the key is known not to be a duplicate (checked when it was read) */
        cJSON_AddItemToObject(f->node, f->key, node);
        yj_key_add(p, f->node, node->string);
        pos.key_line = f->key_line;
        pos.key_col = f->key_col;
        free(f->key);
        f->key = NULL;
    }
    yj_pos_put(p->doc, node, pos);
    return 0;
}

/* yj_expect_value - fail if a non-scalar stands where a mapping key is due. */
static int yj_expect_value(struct yj_parser *p, const yaml_mark_t *m, const char *what)
{
    struct yj_frame *f = p->depth ? &p->stack[p->depth - 1] : NULL;

    if (f && f->is_map && !f->key)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                       "%s as a mapping key is not supported", what);
    return 0;
}

/* yj_is_null / yj_is_bool - core-schema spellings. */
static int yj_is_null(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int yj_is_bool(const char *s, int *v)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return *v = 1, 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return *v = 0, 1;
    return 0;
}

/* yj_int - core-schema int ([-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+).
 * Returns 1 and *v, 0 when s is not an int, -1 when it is one beyond ±2^53. */
static int yj_int(const char *s, double *v)
{
    const char *q = s;
    uint64_t acc = 0;
    int neg = 0, base = 10, digits = 0;

    if (s[0] == '0' && s[1] == 'o') {
        base = 8;
        q = s + 2;
    } else if (s[0] == '0' && s[1] == 'x') {
        base = 16;
        q = s + 2;
    } else if (*q == '-' || *q == '+') {
        neg = *q++ == '-';
    }
    for (; *q; q++, digits++) {
        int d;
        if (*q >= '0' && *q <= '9')
            d = *q - '0';
        else if (base == 16 && *q >= 'a' && *q <= 'f')
            d = *q - 'a' + 10;
        else if (base == 16 && *q >= 'A' && *q <= 'F')
            d = *q - 'A' + 10;
        else
            return 0;
        if (d >= base)
            return 0;
        if (acc <= YJ_INT_MAX)          /* stops growing once out of range: no overflow */
            acc = acc * (uint64_t)base + (uint64_t)d;
    }
    if (!digits)
        return 0;
    if (acc > YJ_INT_MAX)
        return -1;
    *v = neg ? -(double)acc : (double)acc;
    return 1;
}

/* yj_float - core-schema float. Returns 1 and *v, 0 when s is not a float,
 * -1 when it is one JSON cannot hold (.inf, .nan, overflow). */
static int yj_float(const char *s, double *v)
{
    const char *q = s;
    int mant = 0;
    char *end;

    if (*q == '-' || *q == '+')
        q++;
    if (!strcmp(q, ".inf") || !strcmp(q, ".Inf") || !strcmp(q, ".INF"))
        return -1;
    if (q == s && (!strcmp(q, ".nan") || !strcmp(q, ".NaN") || !strcmp(q, ".NAN")))
        return -1;
    /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    while (*q >= '0' && *q <= '9')
        q++, mant++;
    if (*q == '.') {
        q++;
        while (*q >= '0' && *q <= '9')
            q++, mant++;
    }
    if (!mant)
        return 0;
    if (*q == 'e' || *q == 'E') {
        int ed = 0;
        q++;
        if (*q == '-' || *q == '+')
            q++;
        while (*q >= '0' && *q <= '9')
            q++, ed++;
        if (!ed)
            return 0;
    }
    if (*q)
        return 0;
    errno = 0;
    *v = strtod(s, &end);
    if (*end || !isfinite(*v))
        return -1;
    return 1;
}

/* yj_scalar - the cJSON value of a scalar event (core schema, tags), or NULL
 * with the error recorded. */
static cJSON *yj_scalar(struct yj_parser *p, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    int b, r;
    double v;

    if (strlen(s) != ev->data.scalar.length) {
        yj_fail(p, line, col, "NUL byte in scalar");
        return NULL;
    }
    if (tag && strcmp(tag, "!") != 0) {
        const char *t = strncmp(tag, YJ_TAG_PREFIX, sizeof(YJ_TAG_PREFIX) - 1) == 0
                        ? tag + sizeof(YJ_TAG_PREFIX) - 1 : NULL;
        if (t && !strcmp(t, "str"))
            return cJSON_CreateString(s);
        if (t && !strcmp(t, "null")) {
            if (yj_is_null(s))
                return cJSON_CreateNull();
        } else if (t && !strcmp(t, "bool")) {
            if (yj_is_bool(s, &b))
                return cJSON_CreateBool(b);
        } else if (t && !strcmp(t, "int")) {
            if ((r = yj_int(s, &v)) > 0)
                return cJSON_CreateNumber(v);
            if (r < 0)
                goto range;
        } else if (t && !strcmp(t, "float")) {
            if ((r = yj_int(s, &v)) > 0 || (r == 0 && (r = yj_float(s, &v)) > 0))
                return cJSON_CreateNumber(v);
            if (r < 0)
                goto range;
        } else {
            yj_fail(p, line, col, "unsupported tag %s", tag);
            return NULL;
        }
        yj_fail(p, line, col, "\"%.60s\" is not a valid !!%s", s, t);
        return NULL;
    }
    if (!plain || tag)                  /* quoted, block, or "!": always a string */
        return cJSON_CreateString(s);
    if (yj_is_null(s))
        return cJSON_CreateNull();
    if (yj_is_bool(s, &b))
        return cJSON_CreateBool(b);
    if ((r = yj_int(s, &v)) > 0)
        return cJSON_CreateNumber(v);
    if (r == 0 && (r = yj_float(s, &v)) > 0)
        return cJSON_CreateNumber(v);
    if (r == 0)
        return cJSON_CreateString(s);
range:
    if (yj_int(s, &v) < 0)
        yj_fail(p, line, col, "integer out of range: %.60s (beyond +/-2^53; quote it to make a string)", s);
    else
        yj_fail(p, line, col, "%.60s is not a finite number, which JSON cannot hold", s);
    return NULL;
}

/* yj_collection_tag_ok - a mapping may be tagged !!map, a sequence !!seq, nothing else. */
static int yj_collection_tag_ok(const yaml_char_t *tag, const char *want)
{
    const char *t = (const char *)tag;

    if (!t || !strcmp(t, "!"))
        return 1;
    return !strncmp(t, YJ_TAG_PREFIX, sizeof(YJ_TAG_PREFIX) - 1)
           && !strcmp(t + sizeof(YJ_TAG_PREFIX) - 1, want);
}

/* yj_on_scalar - a key (when a mapping waits for one) or a value. */
static int yj_on_scalar(struct yj_parser *p, const yaml_event_t *ev)
{
    struct yj_frame *f = p->depth ? &p->stack[p->depth - 1] : NULL;
    const yaml_mark_t *m = &ev->start_mark;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    cJSON *node;

    if (f && f->is_map && !f->key) {
        const char *k = (const char *)ev->data.scalar.value;
        const char *tag = (const char *)ev->data.scalar.tag;

        if (strlen(k) != ev->data.scalar.length)
            return yj_fail(p, (int)m->line + 1, (int)m->column + 1, "NUL byte in key");
        if (tag && strcmp(tag, "!") && strcmp(tag, YJ_TAG_PREFIX "str"))
            return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                           "unsupported tag %s on a mapping key", tag);
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag && !strcmp(k, "<<"))
            return yj_fail(p, (int)m->line + 1, (int)m->column + 1, "merge keys are not supported");
        if (yj_key_seen(p, f->node, k))
            return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                           "duplicate key \"%.80s\"", k);
        if (anchor)
            return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                           "anchors on mapping keys are not supported");
        f->key = xstrdup(k);
        f->key_line = (int)m->line + 1;
        f->key_col = (int)m->column + 1;
        return 0;
    }
    if (yj_count(p, 1, m) < 0)
        return -1;
    node = yj_scalar(p, ev);
    if (!node)
        return p->failed ? -1 : yj_fail(p, (int)m->line + 1, (int)m->column + 1, "out of memory");
    yj_attach(p, node, m, 0);
    if (anchor)
        yj_anchor_set(p, anchor, node, 1, 0, 1);
    return 0;
}

/* yj_on_alias - a copy of the anchored node, priced before it is made. */
static int yj_on_alias(struct yj_parser *p, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    struct yj_anchor *a;
    cJSON *copy;

    if (yj_expect_value(p, m, "an alias") < 0)
        return -1;
    a = yj_anchor_find(p, name);
    if (!a)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1, "unknown anchor *%.80s", name);
    if (!a->done)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                       "alias *%.80s refers to a node that contains it", name);
    if (p->depth + a->height > p->lim.max_depth)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                       "nesting too deep (limit %d, aliases included)", p->lim.max_depth);
    if (yj_count(p, a->nodes, m) < 0)
        return -1;
    copy = cJSON_Duplicate(a->node, 1);
    if (!copy)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1, "out of memory");
    yj_attach(p, copy, m, a->height);
    yj_pos_copy(p->doc, copy, a->node);
    return 0;
}

/* yj_on_start - open a mapping or sequence. */
static int yj_on_start(struct yj_parser *p, const yaml_event_t *ev, int is_map)
{
    const yaml_mark_t *m = &ev->start_mark;
    const yaml_char_t *tag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                               : ev->data.sequence_start.anchor);
    struct yj_frame *f;
    cJSON *node;

    if (yj_expect_value(p, m, is_map ? "a mapping" : "a sequence") < 0)
        return -1;
    if (!yj_collection_tag_ok(tag, is_map ? "map" : "seq"))
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1, "unsupported tag %s on a %s",
                       (const char *)tag, is_map ? "mapping" : "sequence");
    if (p->depth >= p->lim.max_depth)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                       "nesting too deep (limit %d)", p->lim.max_depth);
    f = &p->stack[p->depth];
    f->nodes_at_start = p->nodes;
    if (yj_count(p, 1, m) < 0)
        return -1;
    node = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!node)
        return yj_fail(p, (int)m->line + 1, (int)m->column + 1, "out of memory");
    yj_attach(p, node, m, 0);
    f->node = node;
    f->is_map = is_map;
    f->key = NULL;
    f->height = 0;
    f->anchor = anchor ? xstrdup(anchor) : NULL;
    if (anchor)
        yj_anchor_set(p, anchor, node, 0, 0, 0);
    p->depth++;
    return 0;
}

/* yj_on_end - close the innermost collection and complete its anchor. */
static void yj_on_end(struct yj_parser *p)
{
    struct yj_frame *f = &p->stack[--p->depth];
    int height = f->height + 1;

    if (f->anchor) {
        struct yj_anchor *a = yj_anchor_find(p, f->anchor);
        if (a && a->node == f->node)
            yj_anchor_set(p, f->anchor, f->node, p->nodes - f->nodes_at_start, height, 1);
        free(f->anchor);
        f->anchor = NULL;
    }
    free(f->key);
    f->key = NULL;
    if (p->depth && height > p->stack[p->depth - 1].height)
        p->stack[p->depth - 1].height = height;
}

/* yj_event - feed one libyaml event to the builder. */
static int yj_event(struct yj_parser *p, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++p->ndocs > p->lim.max_docs)
            return yj_fail(p, (int)m->line + 1, (int)m->column + 1,
                           "too many documents (limit %d)", p->lim.max_docs);
        yj_anchors_clear(p);
        return 0;
    case YAML_SCALAR_EVENT:
        return yj_on_scalar(p, ev);
    case YAML_ALIAS_EVENT:
        return yj_on_alias(p, ev);
    case YAML_SEQUENCE_START_EVENT:
        return yj_on_start(p, ev, 0);
    case YAML_MAPPING_START_EVENT:
        return yj_on_start(p, ev, 1);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        yj_on_end(p);
        return 0;
    default:
        return 0;
    }
}

/* yj_offset_mark - line and column (0-based) of byte offset off in the text. */
static yaml_mark_t yj_offset_mark(const char *text, size_t len, size_t off)
{
    yaml_mark_t m = { 0, 0, 0 };
    size_t i;

    for (i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            m.column++;
        }
    }
    m.index = off;
    return m;
}

/* yj_libyaml_error - turn libyaml's own error into ours. */
static void yj_libyaml_error(struct yj_parser *p, const yaml_parser_t *yp)
{
    yaml_mark_t m = yp->problem_mark;
    const char *problem = yp->problem ? yp->problem : "invalid YAML";

    if (yp->error == YAML_MEMORY_ERROR) {
        yj_fail(p, 1, 1, "out of memory");
        return;
    }
    if (yp->error == YAML_READER_ERROR) {
        m = yj_offset_mark(p->text, p->len, yp->problem_offset);
        yj_fail(p, (int)m.line + 1, (int)m.column + 1, "%s", problem);
        return;
    }
    if (yp->context)
        yj_fail(p, (int)m.line + 1, (int)m.column + 1, "%s (%s that started at line %d, column %d)", problem,
                yp->context, (int)yp->context_mark.line + 1, (int)yp->context_mark.column + 1);
    else
        yj_fail(p, (int)m.line + 1, (int)m.column + 1, "%s", problem);
}

/* yj_parse - see yamljson.h. A NULL lim, or a zero field in it, means the default. */
int yj_parse(const char *text, size_t len, const char *file,
             const struct yj_limits *lim, struct yj_doc *out,
             char *err, size_t errlen)
{
    static const struct yj_limits defaults = YJ_LIMITS_DEFAULT;
    struct yj_parser p;
    yaml_parser_t yp;
    const char *nul;
    int i, rc = -1;

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    if (err && errlen)
        err[0] = 0;
    p.file = file ? file : "<input>";
    p.text = text;
    p.len = len;
    p.lim = lim ? *lim : defaults;
    if (!p.lim.max_bytes)
        p.lim.max_bytes = defaults.max_bytes;
    if (p.lim.max_depth <= 0)
        p.lim.max_depth = defaults.max_depth;
    if (p.lim.max_nodes <= 0)
        p.lim.max_nodes = defaults.max_nodes;
    if (p.lim.max_docs <= 0)
        p.lim.max_docs = defaults.max_docs;
    p.err = err;
    p.errlen = errlen;
    p.doc = out;

    if (len > p.lim.max_bytes) {
        if (err && errlen)
            snprintf(err, errlen, "%s: input is %zu bytes, over the limit of %zu",
                     p.file, len, p.lim.max_bytes);
        return -1;
    }
    if (len && (nul = memchr(text, 0, len)) != NULL) {
        yaml_mark_t m = yj_offset_mark(text, len, (size_t)(nul - text));
        return yj_fail(&p, (int)m.line + 1, (int)m.column + 1, "NUL byte in input");
    }
    if (!yaml_parser_initialize(&yp))
        return yj_fail(&p, 1, 1, "out of memory");
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    out->docs = cJSON_CreateArray();
    out->file = xstrdup(p.file);
    p.stack = xcalloc((size_t)p.lim.max_depth, sizeof(*p.stack));
    for (;;) {
        yaml_event_t ev;
        yaml_event_type_t type;
        int r;

        if (!yaml_parser_parse(&yp, &ev)) {
            yj_libyaml_error(&p, &yp);
            break;
        }
        r = yj_event(&p, &ev);
        type = ev.type;
        yaml_event_delete(&ev);
        if (r < 0)
            break;
        if (type == YAML_STREAM_END_EVENT) {
            rc = 0;
            break;
        }
    }
    yaml_parser_delete(&yp);
    for (i = 0; i < p.depth; i++) {
        free(p.stack[i].key);
        free(p.stack[i].anchor);
    }
    free(p.stack);
    yj_anchors_clear(&p);
    free(p.keys);
    if (rc < 0)
        yj_free(out);
    return rc;
}

/* yj_parse_file - see yamljson.h. */
int yj_parse_file(const char *path, const struct yj_limits *lim,
                  struct yj_doc *out, char *err, size_t errlen)
{
    static const struct yj_limits defaults = YJ_LIMITS_DEFAULT;
    size_t max = lim && lim->max_bytes ? lim->max_bytes : defaults.max_bytes;
    char *text;
    size_t len;
    int r, rc;

    memset(out, 0, sizeof(*out));
    r = read_file(path, max, &text, &len);      /* stats first: a big file is never read */
    if (r == -EFBIG) {
        snprintf(err, errlen, "%s: file is larger than the limit of %zu bytes", path, max);
        return -1;
    }
    if (r == -EINVAL) {
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
        return -1;
    }
    rc = yj_parse(text, len, path, lim, out, err, errlen);
    free(text);
    return rc;
}

/* yj_free - see yamljson.h. */
void yj_free(struct yj_doc *d)
{
    if (!d)
        return;
    cJSON_Delete(d->docs);
    free(d->file);
    free(d->pos);
    memset(d, 0, sizeof(*d));
}

/* ---- the emitter: cJSON to YAML text, by libyaml's emitter ---- */

/* The output buffer of yj_emit. */
struct yj_out {
    char *buf;
    size_t len, cap;
};

/* yj_out_write - libyaml's write handler: append to the buffer. */
static int yj_out_write(void *data, unsigned char *bytes, size_t size)
{
    struct yj_out *o = data;

    if (o->len + size + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + size + 1)
            cap *= 2;
        o->buf = xrealloc(o->buf, cap);
        o->cap = cap;
    }
    memcpy(o->buf + o->len, bytes, size);
    o->len += size;
    o->buf[o->len] = '\0';
    return 1;
}

/* yj_plain_unsafe - 1 when the string s, written plain, would be read back
 * as something else than that string: by this parser (the YAML 1.2 core
 * schema: null, booleans, numbers, "") or by a YAML 1.1 reader (yes/no/
 * on/off, y/n, numbers with "_" or ":", timestamps: anything that starts
 * like a number). Such a string is double-quoted; libyaml quotes the rest
 * when it has to (indicators, ": ", "#", line breaks, spaces at the ends). */
static int yj_plain_unsafe(const char *s)
{
    static const char *const words11[] = { "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                            "on", "On", "ON", "off", "Off", "OFF", "=" , "<<" };
    double d;
    int b;
    size_t i;

    if (yj_is_null(s) || yj_is_bool(s, &b) || yj_int(s, &d) != 0 || yj_float(s, &d) != 0)
        return 1;
    for (i = 0; i < ARRAY_LEN(words11); i++)
        if (!strcmp(s, words11[i]))
            return 1;
    if (*s == '-' || *s == '+' || *s == '.')
        s++;
    return (*s >= '0' && *s <= '9') || *s == '.';
}

/* yj_emit_fail - the emitter's error into err. Returns -1. */
static int yj_emit_fail(yaml_emitter_t *e, char *err, size_t errlen)
{
    if (!err[0])
        snprintf(err, errlen, "libyaml: %s", e->problem ? e->problem : "cannot emit");
    return -1;
}

/* yj_emit_scalar - one scalar event of text, plain or double-quoted. */
static int yj_emit_scalar(yaml_emitter_t *e, const char *text, int quoted)
{
    yaml_event_t ev;

    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                                      quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE))
        return -1;
    return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

/* yj_emit_node - the events of v (depth: how deep v is). */
static int yj_emit_node(yaml_emitter_t *e, const cJSON *v, int depth, int max_depth, char *err, size_t errlen)
{
    yaml_event_t ev;
    const cJSON *c;
    char num[64];

    if (depth > max_depth) {
        snprintf(err, errlen, "nested deeper than %d levels", max_depth);
        return -1;
    }
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        int map = cJSON_IsObject(v);
        if (!(map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
                  : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)) ||
            !yaml_emitter_emit(e, &ev))
            goto libyaml;
        cJSON_ArrayForEach(c, v) {
            if (map && yj_emit_scalar(e, c->string ? c->string : "", yj_plain_unsafe(c->string ? c->string : "")) < 0)
                goto libyaml;
            if (yj_emit_node(e, c, depth + 1, max_depth, err, errlen) < 0)
                return -1;
        }
        if (!(map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev)) ||
            !yaml_emitter_emit(e, &ev))
            goto libyaml;
        return 0;
    }
    if (cJSON_IsString(v))
        return yj_emit_scalar(e, v->valuestring, yj_plain_unsafe(v->valuestring)) < 0 ? yj_emit_fail(e, err, errlen) : 0;
    if (cJSON_IsBool(v))
        return yj_emit_scalar(e, cJSON_IsTrue(v) ? "true" : "false", 0) < 0 ? yj_emit_fail(e, err, errlen) : 0;
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble)) {
            snprintf(err, errlen, "a number JSON cannot hold");
            return -1;
        }
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) <= (double)YJ_INT_MAX)
            snprintf(num, sizeof(num), "%lld", (long long)v->valuedouble);
        else
            snprintf(num, sizeof(num), "%.17g", v->valuedouble);
        return yj_emit_scalar(e, num, 0) < 0 ? yj_emit_fail(e, err, errlen) : 0;
    }
    if (cJSON_IsNull(v))
        return yj_emit_scalar(e, "null", 0) < 0 ? yj_emit_fail(e, err, errlen) : 0;
    snprintf(err, errlen, "a JSON value of unknown type");
    return -1;
libyaml:
    return yj_emit_fail(e, err, errlen);
}

/* yj_emit - see yamljson.h. */
int yj_emit(const cJSON *v, int max_depth, char **out, size_t *outlen, char *err, size_t errlen)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    struct yj_out o = { NULL, 0, 0 };
    int rc = -1;

    *out = NULL;
    if (outlen)
        *outlen = 0;
    if (errlen)
        err[0] = '\0';
    if (!v) {
        snprintf(err, errlen, "no value");
        return -1;
    }
    if (!yaml_emitter_initialize(&e)) {
        snprintf(err, errlen, "libyaml: cannot initialize the emitter");
        return -1;
    }
    yaml_emitter_set_output(&e, yj_out_write, &o);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&e, &ev) ||
        !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(&e, &ev)) {
        yj_emit_fail(&e, err, errlen);
        goto out;
    }
    if (yj_emit_node(&e, v, 1, max_depth > 0 ? max_depth : 64, err, errlen) < 0)
        goto out;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev) ||
        !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) || !yaml_emitter_flush(&e)) {
        yj_emit_fail(&e, err, errlen);
        goto out;
    }
    rc = 0;
out:
    yaml_emitter_delete(&e);
    if (rc < 0) {
        free(o.buf);
        return -1;
    }
    *out = o.buf ? o.buf : xstrdup("");
    if (outlen)
        *outlen = o.len;
    return 0;
}
