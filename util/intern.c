/* intern.c - shared, reference-counted strings (see intern.h): an
 * open-addressing table of entries, each a count, a hash and the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/intern.h"
#include "util/strmap.h"
#include "util/util.h"

#define INTERN_TOMB ((struct intern_ent *)1)

struct intern_ent {
    uint32_t refs;              /* holders */
    uint32_t hash;
    char s[];
};

struct intern {
    struct intern_ent **slots;  /* NULL empty, INTERN_TOMB deleted */
    size_t cap, count, used;    /* used = live + tombstones */
    size_t bytes;               /* of the live entries */
};

static const char intern_empty[] = "";

/* intern_ent_of - the entry holding string p. */
static struct intern_ent *intern_ent_of(const char *p)
{
    return (struct intern_ent *)(void *)(p - offsetof(struct intern_ent, s));
}

/* intern_new - see intern.h. */
struct intern *intern_new(void)
{
    struct intern *in = xcalloc(1, sizeof(*in));

    in->cap = 64;
    in->slots = xcalloc(in->cap, sizeof(*in->slots));
    return in;
}

/* intern_free - see intern.h. */
void intern_free(struct intern *in)
{
    size_t i;

    if (!in)
        return;
    for (i = 0; i < in->cap; i++)
        if (in->slots[i] && in->slots[i] != INTERN_TOMB)
            free(in->slots[i]);
    free(in->slots);
    free(in);
}

/* intern_grow - rehash into a table twice as large (or as large, to drop
 * tombstones, when few entries are live). */
static void intern_grow(struct intern *in)
{
    struct intern_ent **old = in->slots;
    size_t oldcap = in->cap, i;

    if (in->count * 4 >= in->cap)
        in->cap *= 2;
    in->slots = xcalloc(in->cap, sizeof(*in->slots));
    in->used = in->count;
    for (i = 0; i < oldcap; i++) {
        struct intern_ent *e = old[i];
        size_t j;

        if (!e || e == INTERN_TOMB)
            continue;
        for (j = e->hash & (in->cap - 1); in->slots[j]; j = (j + 1) & (in->cap - 1))
            ;
        in->slots[j] = e;
    }
    free(old);
}

/* intern_get - see intern.h. */
const char *intern_get(struct intern *in, const char *s)
{
    uint32_t h;
    size_t i, n, tomb = SIZE_MAX;
    struct intern_ent *e;

    if (!s)
        return NULL;
    if (!*s)
        return intern_empty;
    h = strmap_hash(s);
    for (i = h & (in->cap - 1); (e = in->slots[i]) != NULL; i = (i + 1) & (in->cap - 1)) {
        if (e == INTERN_TOMB) {
            if (tomb == SIZE_MAX)
                tomb = i;
        } else if (e->hash == h && strcmp(e->s, s) == 0) {
            e->refs++;
            return e->s;
        }
    }
    n = strlen(s) + 1;
    e = xmalloc(sizeof(*e) + n);
    e->refs = 1;
    e->hash = h;
    memcpy(e->s, s, n);
    if (tomb != SIZE_MAX) {
        i = tomb;                 /* reuse a deleted slot: used is unchanged */
    } else {
        in->used++;
    }
    in->slots[i] = e;
    in->count++;
    in->bytes += sizeof(*e) + n;
    if (in->used * 2 > in->cap)
        intern_grow(in);
    return e->s;
}

/* intern_put - see intern.h. */
void intern_put(struct intern *in, const char *p)
{
    struct intern_ent *e;
    size_t i;

    if (!p || !*p)
        return;
    e = intern_ent_of(p);
    if (--e->refs > 0)
        return;
    for (i = e->hash & (in->cap - 1); in->slots[i] != e; i = (i + 1) & (in->cap - 1))
        ;
    in->slots[i] = INTERN_TOMB;
    in->count--;
    in->bytes -= sizeof(*e) + strlen(e->s) + 1;
    free(e);
}

/* intern_set - see intern.h. */
int intern_set(struct intern *in, const char **slot, const char *s)
{
    const char *old = *slot;

    if (old == s || (old && s && strcmp(old, s) == 0))
        return 0;
    *slot = intern_get(in, s);    /* before the put: s may be old's own bytes */
    intern_put(in, old);
    return 1;
}

/* intern_count - see intern.h. */
size_t intern_count(const struct intern *in)
{
    return in->count;
}

/* intern_bytes - see intern.h. */
size_t intern_bytes(const struct intern *in)
{
    return in->bytes;
}
