/* strmap.c - open-addressing string hash map (see strmap.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/util.h"

#define STRMAP_TOMB ((char *)1)

struct strmap_slot {
    char *key;          /* NULL empty, STRMAP_TOMB deleted */
    void *val;
    uint32_t hash;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap, count, used;    /* used = live + tombstones */
};

/* strmap_hash - FNV-1a (see strmap.h). */
uint32_t strmap_hash(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* strmap_new - an empty map. */
struct strmap *strmap_new(void)
{
    struct strmap *m = xcalloc(1, sizeof(*m));

    m->cap = 16;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    return m;
}

/* strmap_free - release keys, values (through free_val) and the map. */
void strmap_free(struct strmap *m, void (*free_val)(void *))
{
    size_t i;

    if (!m)
        return;
    for (i = 0; i < m->cap; i++) {
        char *k = m->slots[i].key;
        if (k && k != STRMAP_TOMB) {
            if (free_val)
                free_val(m->slots[i].val);
            free(k);
        }
    }
    free(m->slots);
    free(m);
}

/* strmap_find - the slot holding key, or NULL. */
static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, uint32_t h)
{
    size_t i = h & (m->cap - 1);

    for (;;) {
        struct strmap_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != STRMAP_TOMB && s->hash == h && strcmp(s->key, key) == 0)
            return s;
        i = (i + 1) & (m->cap - 1);
    }
}

/* strmap_grow - rehash into a table twice as large (or the same size to
 * drop tombstones). */
static void strmap_grow(struct strmap *m)
{
    struct strmap_slot *old = m->slots;
    size_t oldcap = m->cap, i;

    if (m->count * 2 >= m->cap)
        m->cap *= 2;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->used = m->count;
    for (i = 0; i < oldcap; i++) {
        if (old[i].key && old[i].key != STRMAP_TOMB) {
            size_t j = old[i].hash & (m->cap - 1);
            while (m->slots[j].key)
                j = (j + 1) & (m->cap - 1);
            m->slots[j] = old[i];
        }
    }
    free(old);
}

/* strmap_put - insert or replace. */
void *strmap_put(struct strmap *m, const char *key, void *val)
{
    uint32_t h = strmap_hash(key);
    struct strmap_slot *s = strmap_find(m, key, h);
    size_t i;

    if (s) {
        void *old = s->val;
        s->val = val;
        return old;
    }
    if ((m->used + 1) * 4 >= m->cap * 3)
        strmap_grow(m);
    i = h & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != STRMAP_TOMB)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = xstrdup(key);
    m->slots[i].val = val;
    m->slots[i].hash = h;
    m->count++;
    return NULL;
}

/* strmap_get - lookup. */
void *strmap_get(const struct strmap *m, const char *key)
{
    struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));

    return s ? s->val : NULL;
}

/* strmap_has - membership. */
int strmap_has(const struct strmap *m, const char *key)
{
    return strmap_find(m, key, strmap_hash(key)) != NULL;
}

/* strmap_del - remove, leaving a tombstone. */
void *strmap_del(struct strmap *m, const char *key)
{
    struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));
    void *v;

    if (!s)
        return NULL;
    v = s->val;
    free(s->key);
    s->key = STRMAP_TOMB;
    s->val = NULL;
    m->count--;
    return v;
}

/* strmap_count - live entries. */
size_t strmap_count(const struct strmap *m)
{
    return m->count;
}

/* strmap_each - visit every entry. */
void strmap_each(const struct strmap *m, void (*fn)(const char *, void *, void *), void *arg)
{
    size_t i;

    for (i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != STRMAP_TOMB)
            fn(m->slots[i].key, m->slots[i].val, arg);
}
