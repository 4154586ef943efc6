/* webhook_rate.c - promo-webhook's request rate limits: a token bucket for
 * all clients together and one for each client address, so one client
 * sending too much (a runaway job, a flood) is answered 429 while the
 * others still get through, and all of them together stay under the cap.
 *
 * The per-client buckets live in a fixed table of WEBHOOK_CLIENTS slots,
 * found by a seeded hash of the address and kept in least-recently-used
 * order: when the table is full, a new address takes the slot of the one
 * seen least recently (which starts afresh if it comes back). A flood of
 * addresses therefore costs no memory, only the cap of all clients. */
#include <string.h>
#include <sys/random.h>
#include <netinet/in.h>

#include "util/util.h"
#include "webhook/webhook.h"

/* webhook_bucket_fill - add the tokens earned since b->at, up to burst. */
static void webhook_bucket_fill(struct webhook_bucket *b, double rate, double burst, int64_t now)
{
    if (now > b->at)
        b->tokens += (double)(now - b->at) * rate / 1000.0;
    if (b->tokens > burst)
        b->tokens = burst;
    b->at = now;
}

/* webhook_rate_init - see webhook.h. */
void webhook_rate_init(struct webhook_rate *r, int rate, int client_rate, int64_t now)
{
    int i;

    memset(r, 0, sizeof(*r));
    r->rate = rate > 0 ? rate : WEBHOOK_RATE;
    r->client_rate = client_rate > 0 ? client_rate : WEBHOOK_CLIENT_RATE;
    r->all.tokens = 2.0 * r->rate;
    r->all.at = now;
    for (i = 0; i < WEBHOOK_CLIENT_HASH; i++)
        r->hash[i] = -1;
    r->head = r->tail = -1;
    if (getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != (ssize_t)sizeof(r->seed))
        r->seed = (uint32_t)wall_ms() ^ 0x9e3779b9u;
}

/* webhook_rate_key - the client's address as 16 bytes (IPv4 mapped into
 * IPv6); all zero when there is none (one shared bucket). */
static void webhook_rate_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
}

/* webhook_rate_hash - the hash bucket of key (FNV-1a, seeded). */
static unsigned webhook_rate_hash(const struct webhook_rate *r, const unsigned char key[16])
{
    uint32_t h = 2166136261u ^ r->seed;
    int i;

    for (i = 0; i < 16; i++) {
        h ^= key[i];
        h *= 16777619u;
    }
    return h & (WEBHOOK_CLIENT_HASH - 1);
}

/* webhook_rate_unlink - take slot i out of the LRU list. */
static void webhook_rate_unlink(struct webhook_rate *r, int i)
{
    struct webhook_client *cl = &r->slot[i];

    if (cl->prev >= 0)
        r->slot[cl->prev].next = cl->next;
    else
        r->head = cl->next;
    if (cl->next >= 0)
        r->slot[cl->next].prev = cl->prev;
    else
        r->tail = cl->prev;
    cl->prev = cl->next = -1;
}

/* webhook_rate_front - put slot i at the head of the LRU list (most recent). */
static void webhook_rate_front(struct webhook_rate *r, int i)
{
    struct webhook_client *cl = &r->slot[i];

    cl->prev = -1;
    cl->next = r->head;
    if (r->head >= 0)
        r->slot[r->head].prev = i;
    r->head = i;
    if (r->tail < 0)
        r->tail = i;
}

/* webhook_rate_unhash - take slot i out of its hash chain. */
static void webhook_rate_unhash(struct webhook_rate *r, int i)
{
    int *p = &r->hash[webhook_rate_hash(r, r->slot[i].addr)];

    while (*p >= 0 && *p != i)
        p = &r->slot[*p].hnext;
    if (*p == i)
        *p = r->slot[i].hnext;
    r->slot[i].hnext = -1;
}

/* webhook_rate_client - the slot of key, made most recent; a new one (a
 * full bucket) when the address is not in the table, taking the least
 * recently seen client's slot when the table is full. */
static struct webhook_client *webhook_rate_client(struct webhook_rate *r, const unsigned char key[16], int64_t now)
{
    unsigned h = webhook_rate_hash(r, key);
    struct webhook_client *cl;
    int i;

    for (i = r->hash[h]; i >= 0; i = r->slot[i].hnext)
        if (memcmp(r->slot[i].addr, key, 16) == 0)
            break;
    if (i >= 0) {
        webhook_rate_unlink(r, i);
        webhook_rate_front(r, i);
        return &r->slot[i];
    }
    if (r->nclients < WEBHOOK_CLIENTS) {
        i = r->nclients++;
    } else {
        i = r->tail;
        webhook_rate_unlink(r, i);
        webhook_rate_unhash(r, i);
        r->evicted++;
    }
    cl = &r->slot[i];
    memcpy(cl->addr, key, 16);
    cl->b.tokens = 2.0 * r->client_rate;
    cl->b.at = now;
    cl->hnext = r->hash[h];
    r->hash[h] = i;
    webhook_rate_front(r, i);
    return cl;
}

/* webhook_rate_take - see webhook.h. */
enum webhook_rate_verdict webhook_rate_take(struct webhook_rate *r, const struct sockaddr *sa, int64_t now)
{
    struct webhook_client *cl;
    unsigned char key[16];

    webhook_rate_key(sa, key);
    cl = webhook_rate_client(r, key, now);
    webhook_bucket_fill(&cl->b, r->client_rate, 2.0 * r->client_rate, now);
    webhook_bucket_fill(&r->all, r->rate, 2.0 * r->rate, now);
    if (cl->b.tokens < 1) {
        r->limited_client++;
        return WEBHOOK_RATE_CLIENT;
    }
    if (r->all.tokens < 1) {
        r->limited_all++;
        return WEBHOOK_RATE_ALL;
    }
    cl->b.tokens -= 1;
    r->all.tokens -= 1;
    return WEBHOOK_RATE_OK;
}
