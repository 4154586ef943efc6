/* intern.h - a table of shared, reference-counted strings.
 *
 * A stage that keeps thousands of small objects alive (promo-monitor's poll
 * table) repeats the same strings in each: provider, job and test names,
 * environments, deadline reasons, a provider's words ("running"), the same
 * error from a CI that is down. Kept through an intern table, each distinct
 * string is stored once, with a count of its holders; a holder keeps a
 * const char * that stays valid until it lets go. Strings that happen to be
 * unique (a run's URL) cost one small header more than a strdup, and every
 * string of an object is then kept, replaced and released the same way.
 *
 *   const char *s = intern_get(in, "running");   // one more holder
 *   intern_set(in, &t->detail, "passed");        // replace: old released
 *   intern_put(in, s);                           // one holder less
 *
 * "" is never stored: intern_get returns a static "" for it, and NULL for
 * NULL, and intern_put ignores both. Not thread-safe: one table per loop. */
#ifndef PROMO_INTERN_H
#define PROMO_INTERN_H

#include <stddef.h>

struct intern;

/* intern_new - an empty table. */
struct intern *intern_new(void);
/* intern_free - free the table and every string still in it (their holders
 * must not use them any more). NULL is ignored. */
void intern_free(struct intern *in);
/* intern_get - the table's copy of s, with one more holder (NULL for NULL,
 * a static "" for ""). */
const char *intern_get(struct intern *in, const char *s);
/* intern_put - let go of p (a string intern_get returned, NULL or ""):
 * freed when it was its last holder. */
void intern_put(struct intern *in, const char *p);
/* intern_set - replace *slot (an interned string, NULL or "") by the
 * table's copy of s; nothing changes when they are equal. Returns 1 when
 * *slot changed, 0 when it did not. */
int intern_set(struct intern *in, const char **slot, const char *s);
/* intern_count - distinct strings stored; intern_bytes - their bytes,
 * headers included (for tests and the memory figures). */
size_t intern_count(const struct intern *in);
size_t intern_bytes(const struct intern *in);

#endif
