/* strmap.h - a string-keyed hash map (open addressing, FNV-1a), for sets
 * and indexes of trackers and environments in constant time. */
#ifndef PROMO_STRMAP_H
#define PROMO_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap;

struct strmap *strmap_new(void);
/* strmap_free - free the map; free_val (may be NULL) is called on each value. */
void strmap_free(struct strmap *m, void (*free_val)(void *));
/* strmap_put - set key (copied) to val; returns the old value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *val);
/* strmap_get - the value of key, or NULL. strmap_has tells absent from NULL. */
void *strmap_get(const struct strmap *m, const char *key);
int strmap_has(const struct strmap *m, const char *key);
/* strmap_del - remove key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* strmap_hash - the map's hash of s (FNV-1a), also for spreading work by name. */
uint32_t strmap_hash(const char *s);
/* strmap_each - call fn for every entry (do not modify the map meanwhile). */
void strmap_each(const struct strmap *m, void (*fn)(const char *key, void *val, void *arg), void *arg);

#endif
