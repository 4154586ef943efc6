/* test_intern.c - the intern table: one copy per distinct string, counted
 * holders, replacement, "" and NULL, growth and reuse of deleted slots. */
#include <stdio.h>
#include <string.h>

#include "util/intern.h"
#include "util/util.h"
#include "unit.h"

/* test_basic - equal strings share one copy until their last holder lets go. */
static void test_basic(void)
{
    struct intern *in = intern_new();
    char buf[16];
    const char *a, *b, *c;

    strcpy(buf, "jenkins");
    a = intern_get(in, buf);
    strcpy(buf, "gitlab");          /* the table holds its own bytes */
    b = intern_get(in, "jenkins");
    c = intern_get(in, buf);
    unit_ok(a == b && strcmp(a, "jenkins") == 0, "equal strings: one copy");
    unit_ok(c != a && strcmp(c, "gitlab") == 0, "another string: another copy");
    unit_ok(intern_count(in) == 2, "two distinct strings stored (%zu)", intern_count(in));
    intern_put(in, a);
    unit_ok(intern_count(in) == 2 && strcmp(b, "jenkins") == 0, "a string stays while it has a holder");
    intern_put(in, b);
    unit_ok(intern_count(in) == 1, "freed with its last holder");
    intern_put(in, c);
    unit_ok(intern_count(in) == 0 && intern_bytes(in) == 0, "an empty table holds no bytes (%zu)",
            intern_bytes(in));
    unit_ok(intern_get(in, NULL) == NULL, "NULL stays NULL");
    a = intern_get(in, "");
    unit_ok(a && !*a && intern_count(in) == 0, "\"\" is not stored");
    intern_put(in, a);
    intern_put(in, NULL);
    unit_ok(intern_count(in) == 0, "putting \"\" and NULL changes nothing");
    intern_free(in);
}

/* test_set - replacing a held string releases the old one. */
static void test_set(void)
{
    struct intern *in = intern_new();
    const char *slot = NULL, *keep;

    unit_ok(intern_set(in, &slot, "running") == 1 && strcmp(slot, "running") == 0, "set from NULL");
    keep = slot;
    unit_ok(intern_set(in, &slot, "running") == 0 && slot == keep, "the same value: unchanged");
    unit_ok(intern_set(in, &slot, slot) == 0, "its own bytes: unchanged");
    unit_ok(intern_set(in, &slot, "passed") == 1 && strcmp(slot, "passed") == 0 && intern_count(in) == 1,
            "a new value: the old one released");
    unit_ok(intern_set(in, &slot, "") == 1 && !*slot && intern_count(in) == 0, "set to \"\": nothing stored");
    unit_ok(intern_set(in, &slot, NULL) == 1 && slot == NULL, "set to NULL");
    intern_free(in);
}

/* test_many - growth, and deleted slots reused, keep every string findable. */
static void test_many(void)
{
    struct intern *in = intern_new();
    static const char *held[5000];
    char name[32];
    int i, ok = 1;

    for (i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "https://ci/job/%d/", i);
        held[i] = intern_get(in, name);
    }
    for (i = 0; i < 5000; i += 2)
        intern_put(in, held[i]);
    for (i = 0; i < 5000; i += 2) {       /* back into deleted slots */
        snprintf(name, sizeof(name), "https://ci/job/%d/", i);
        held[i] = intern_get(in, name);
    }
    for (i = 0; i < 5000 && ok; i++) {
        snprintf(name, sizeof(name), "https://ci/job/%d/", i);
        ok = intern_get(in, name) == held[i] && strcmp(held[i], name) == 0;
        intern_put(in, held[i]);
    }
    unit_ok(ok && intern_count(in) == 5000, "5000 strings, half released and taken again: all found");
    for (i = 0; i < 5000; i++)
        intern_put(in, held[i]);
    unit_ok(intern_count(in) == 0 && intern_bytes(in) == 0, "all released");
    intern_free(in);
}

int main(void)
{
    test_basic();
    test_set();
    test_many();
    return unit_done();
}
