/* promokey.c - deterministic idempotency keys: SHA-256 (OpenSSL EVP) over the
 * fields of an intent, cut to 96 bits and written as "pk-<24 hex>". */
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "domain/promokey.h"

/* promo_key - hash the fields joined with "\n"; see promokey.h. */
char *promo_key(const char *tracker, const char *head_sha, const char *source_env,
                const char *target_env, const char *test_name, int attempt,
                char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const char *field[5] = { tracker, head_sha, source_env, target_env, test_name };
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char num[24];
    EVP_MD_CTX *ctx;
    int ok, i;

    if (len > 0)
        buf[0] = '\0';
    if (len < PROMO_KEY_SIZE)
        return NULL;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return NULL;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (i = 0; ok && i < 5; i++) {
        const char *f = field[i] ? field[i] : "";
        ok = EVP_DigestUpdate(ctx, f, strlen(f)) == 1 && EVP_DigestUpdate(ctx, "\n", 1) == 1;
    }
    snprintf(num, sizeof(num), "%d", attempt);
    ok = ok && EVP_DigestUpdate(ctx, num, strlen(num)) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 12;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return NULL;
    memcpy(buf, "pk-", 3);
    for (i = 0; i < 12; i++) {
        buf[3 + 2 * i] = hex[md[i] >> 4];
        buf[4 + 2 * i] = hex[md[i] & 15];
    }
    buf[PROMO_KEY_LEN] = '\0';
    return buf;
}

/* promo_key_valid - the shape check of a key read from a record. */
int promo_key_valid(const char *s)
{
    int i;

    if (!s || strncmp(s, "pk-", 3) != 0 || strlen(s) != PROMO_KEY_LEN)
        return 0;
    for (i = 3; i < PROMO_KEY_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}
