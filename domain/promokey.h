/* promokey.h - the idempotency key of a side effect (DESIGN.md principle 4).
 *
 * The key names one intent: tracker, head SHA, source and target
 * environment, test (or promotion) name and attempt. It is passed to the
 * external system (a Jenkins parameter, a GitHub Actions input and run name,
 * a GitLab variable) so that after a crash the run can be found again by it.
 * The same intent always gives the same key, in any process. */
#ifndef PROMO_PROMOKEY_H
#define PROMO_PROMOKEY_H

#include <stddef.h>

#define PROMO_KEY_LEN  27          /* "pk-" + 24 hex digits */
#define PROMO_KEY_SIZE 28          /* with the terminating NUL */

/* promo_key - "pk-" followed by the first 24 hex digits of SHA-256 over the
 * fields joined with "\n" (tracker, head_sha, source_env, target_env,
 * test_name, the attempt in decimal). A NULL field counts as "". Returns buf,
 * or NULL when len < PROMO_KEY_SIZE or the digest cannot be computed (buf is
 * then "" when len > 0). */
char *promo_key(const char *tracker, const char *head_sha, const char *source_env,
                const char *target_env, const char *test_name, int attempt,
                char *buf, size_t len);

/* promo_key_valid - 1 when s has the shape of a key: "pk-" and 24 lowercase hex digits. */
int promo_key_valid(const char *s);

#endif
