/* test_promokey.c - promo_key(): deterministic, sensitive to every field,
 * checked against digests computed independently with sha256sum(1). */
#include <string.h>

#include "domain/promokey.h"
#include "util/util.h"
#include "unit.h"

struct promokey_case {
    const char *tracker, *sha, *src, *dst, *test;
    int attempt;
    const char *want;
};

/* The wants are printf 'f1\nf2\nf3\nf4\nf5\nN' | sha256sum | cut -c1-24. */
static const struct promokey_case promokey_cases[] = {
    { "acme-shop-42", "0123456789abcdef0123456789abcdef01234567", "dev", "staging", "smoke", 1,
      "pk-e32409ce6aa82de41ebd16b3" },
    { "acme-shop-42", "0123456789abcdef0123456789abcdef01234567", "dev", "staging", "smoke", 2,
      "pk-57b6d9bfb4bfaa863aa4fd30" },
    { "t", "sha", "staging", "prod", "e2e", 1, "pk-ab049e715c32653180a01040" },
    { NULL, NULL, NULL, NULL, NULL, 0, "pk-811690c32865043d8c524787" },
    { "", "", "", "", "", 0, "pk-811690c32865043d8c524787" },
};

int main(void)
{
    char a[PROMO_KEY_SIZE], b[PROMO_KEY_SIZE], small[PROMO_KEY_SIZE - 1];
    const char *fields[5] = { "acme-shop-42", "0123456789abcdef0123456789abcdef01234567", "dev",
                              "staging", "smoke" };
    size_t i;
    int f;

    for (i = 0; i < ARRAY_LEN(promokey_cases); i++) {
        const struct promokey_case *c = &promokey_cases[i];
        char *k = promo_key(c->tracker, c->sha, c->src, c->dst, c->test, c->attempt, a, sizeof(a));
        unit_ok(k == a && strcmp(a, c->want) == 0, "case %zu: %s (want %s)", i, a, c->want);
        unit_ok(promo_key_valid(a), "case %zu: key has the documented shape", i);
    }

    /* deterministic */
    promo_key("x", "y", "dev", "prod", "t", 1, a, sizeof(a));
    promo_key("x", "y", "dev", "prod", "t", 1, b, sizeof(b));
    unit_ok(strcmp(a, b) == 0, "same fields give the same key");

    /* every field matters */
    for (f = 0; f < 5; f++) {
        const char *g[5];
        memcpy(g, fields, sizeof(g));
        g[f] = "other";
        promo_key(fields[0], fields[1], fields[2], fields[3], fields[4], 1, a, sizeof(a));
        promo_key(g[0], g[1], g[2], g[3], g[4], 1, b, sizeof(b));
        unit_ok(strcmp(a, b) != 0, "changing field %d changes the key", f);
    }
    /* the separator keeps fields apart: "ab","c" differs from "a","bc" */
    promo_key("ab", "c", "d", "e", "f", 1, a, sizeof(a));
    promo_key("a", "bc", "d", "e", "f", 1, b, sizeof(b));
    unit_ok(strcmp(a, b) != 0, "moving a byte across a field boundary changes the key");

    unit_ok(promo_key("x", "y", "z", "w", "v", 1, small, sizeof(small)) == NULL && small[0] == '\0',
            "a buffer too small is refused and left empty");
    unit_ok(!promo_key_valid("pk-E32409CE6AA82DE41EBD16B3"), "uppercase hex is not a key");
    unit_ok(!promo_key_valid("pk-e32409ce6aa82de41ebd16b"), "a short key is not a key");
    unit_ok(!promo_key_valid("xx-e32409ce6aa82de41ebd16b3"), "a wrong prefix is not a key");
    unit_ok(!promo_key_valid(NULL), "NULL is not a key");
    return unit_done();
}
