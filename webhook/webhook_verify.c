/* webhook_verify.c - is a webhook from who it says: GitHub's HMAC-SHA256
 * signature over the raw body, the shared tokens of GitLab, Jenkins and
 * Argo CD; every comparison in constant time (CRYPTO_memcmp). Also the
 * replay memory: digests of the bodies seen lately. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "webhook/webhook.h"

/* webhook_verify_github - see webhook.h. */
int webhook_verify_github(const char *secret, const char *sig, const void *body, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0, i;
    char want[2 * SHA256_DIGEST_LENGTH + 1], got[2 * SHA256_DIGEST_LENGTH + 1];
    int ok;

    if (!secret || !*secret || !sig || strncmp(sig, "sha256=", 7) != 0 ||
        strlen(sig + 7) != 2 * SHA256_DIGEST_LENGTH)
        return 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body ? body : (const void *)"", len, mac, &maclen) ||
        maclen != SHA256_DIGEST_LENGTH)
        return 0;
    for (i = 0; i < maclen; i++) {
        want[2 * i] = hex[mac[i] >> 4];
        want[2 * i + 1] = hex[mac[i] & 15];
    }
    want[2 * maclen] = 0;
    for (i = 0; i < 2 * SHA256_DIGEST_LENGTH; i++) {
        char c = sig[7 + i];
        got[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    got[2 * SHA256_DIGEST_LENGTH] = 0;
    ok = CRYPTO_memcmp(want, got, 2 * SHA256_DIGEST_LENGTH) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

/* webhook_verify_token - see webhook.h. Both sides are hashed, so the time
 * taken tells nothing of the secret's length or content. */
int webhook_verify_token(const char *secret, const char *got)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    int ok;

    if (!secret || !*secret || !got || !*got)
        return 0;
    SHA256((const unsigned char *)secret, strlen(secret), a);
    SHA256((const unsigned char *)got, strlen(got), b);
    ok = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    return ok;
}

/* webhook_replay_seen - see webhook.h: a ring of SHA-256 digests. */
int webhook_replay_seen(enum webhook_source src, const void *body, size_t len)
{
    static unsigned char ring[WEBHOOK_REPLAY_MEMORY][SHA256_DIGEST_LENGTH];
    static size_t next, used;
    unsigned char d[SHA256_DIGEST_LENGTH];
    unsigned char tag = (unsigned char)src;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t i;
    int ok;

    ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, &tag, 1) == 1 &&
         EVP_DigestUpdate(c, body ? body : (const void *)"", len) == 1 && EVP_DigestFinal_ex(c, d, NULL) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return 0;
    for (i = 0; i < used; i++)
        if (memcmp(ring[i], d, sizeof(d)) == 0)
            return 1;
    memcpy(ring[next], d, sizeof(d));
    next = (next + 1) % WEBHOOK_REPLAY_MEMORY;
    if (used < WEBHOOK_REPLAY_MEMORY)
        used++;
    return 0;
}
