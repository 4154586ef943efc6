/* budget.c - request budgets per credential, shared through a locked,
 * mapped file in runDir (see budget.h for the rules). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/budget.h"
#include "util/log.h"
#include "util/util.h"

#define BUDGET_MAGIC   0x50524f4d4f424731ULL   /* "PROMOBG1" */
#define BUDGET_NUM_MAX 1000000000000LL         /* 10^12: the largest limit or remaining read */
#define BUDGET_SECS_MAX 100000000000LL         /* 10^11: the largest reset read (epoch s) */

/* The file: a header and the slots. */
struct budget_table {
    uint64_t magic;
    uint64_t nslots;
    struct budget_slot slot[BUDGET_SLOTS];
};

struct budget {
    struct budget_table *t;
    int fd;                     /* -1: private table (heap) */
};

/* budget_key - FNV-1a 64 over the three strings, each with its NUL. */
uint64_t budget_key(const char *system, const char *server, const char *credential)
{
    const char *parts[3] = { system, server, credential };
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < 3; i++) {
        const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "");

        do {
            h ^= *p;
            h *= 1099511628211ULL;
        } while (*p++);
    }
    return h ? h : 1;
}

/* budget_key_url - the key of url's origin. */
uint64_t budget_key_url(const char *system, const char *url, const char *credential)
{
    const char *b = url ? url : "", *host = strstr(b, "://");
    size_t n = host ? strcspn(host + 3, "/") + (size_t)(host + 3 - b) : strlen(b);
    char origin[512];

    snprintf(origin, sizeof(origin), "%.*s", (int)(n < sizeof(origin) ? n : sizeof(origin) - 1), b);
    return budget_key(system, origin, credential);
}

/* budget_num - a header value of decimal digits only, 0..max, or -1. */
static int64_t budget_num(const char *s, int64_t max)
{
    return s ? str_uint(s, s + strlen(s), max) : -1;
}

/* budget_hdr_parse - strict decoding of the three rate-limit headers. */
int budget_hdr_parse(const char *limit, const char *remaining, const char *reset, struct budget_hdr *h)
{
    int64_t l = budget_num(limit, BUDGET_NUM_MAX), r = budget_num(remaining, BUDGET_NUM_MAX);
    int64_t s = budget_num(reset, BUDGET_SECS_MAX);

    if (l <= 0 || r < 0 || r > l || s <= 0)
        return -1;
    h->limit = l;
    h->remaining = r;
    h->reset_ms = s * 1000;
    return 0;
}

/* budget_slot_config - a configured rate per hour (0: none), unless the
 * credential's answers carry rate-limit headers. */
void budget_slot_config(struct budget_slot *s, int64_t per_hour, int64_t now_ms)
{
    if (per_hour <= 0 || (s->limit > 0 && s->window_ms == 0)     /* headers know better */
        || (s->window_ms == BUDGET_WINDOW_MS && s->limit == per_hour))
        return;
    s->window_ms = BUDGET_WINDOW_MS;
    s->limit = per_hour;
    s->remaining = per_hour;
    s->reset_ms = now_ms + BUDGET_WINDOW_MS;
    s->tat_ms = now_ms;
}

/* budget_slot_roll - a window that has ended starts again full (a header
 * window's end is a guess until the next answer says). */
static void budget_slot_roll(struct budget_slot *s, int64_t now_ms)
{
    if (s->limit <= 0 || !s->reset_ms || now_ms < s->reset_ms)
        return;
    s->remaining = s->limit;
    s->reset_ms = now_ms + (s->window_ms > 0 ? s->window_ms : BUDGET_WINDOW_MS);
    s->tat_ms = now_ms;
}

/* budget_slot_observe - what an answer's headers say. */
void budget_slot_observe(struct budget_slot *s, const struct budget_hdr *h, int refund, int64_t now_ms)
{
    if (refund && s->limit > 0 && s->remaining < s->limit)
        s->remaining++;
    if (!h || h->reset_ms <= now_ms)
        return;                     /* none, or an answer of a window already over */
    if (s->limit <= 0 || h->reset_ms > s->reset_ms + 1000 || h->reset_ms < s->reset_ms - 1000
        || h->limit != s->limit) {
        s->limit = h->limit;        /* another window (or the first answer) */
        s->remaining = h->remaining;
        s->reset_ms = h->reset_ms;
        s->window_ms = 0;
        if (s->tat_ms < now_ms)
            s->tat_ms = now_ms;
        return;
    }
    if (h->remaining < s->remaining)
        s->remaining = h->remaining;
}

/* budget_slot_reserve - a tenth of the limit, at least 1. */
int64_t budget_slot_reserve(const struct budget_slot *s)
{
    return s->limit / 10 > 0 ? s->limit / 10 : 1;
}

/* budget_slot_wait - the delay given to a poll that may not go: counted. */
static int64_t budget_slot_wait(struct budget_slot *s, int64_t ms)
{
    s->deferred++;
    return ms < BUDGET_MIN_WAIT_MS ? BUDGET_MIN_WAIT_MS : ms;
}

/* budget_slot_take - let a request go (0) or give a poll its delay. */
int64_t budget_slot_take(struct budget_slot *s, enum budget_kind kind, int64_t now_ms)
{
    int64_t avail, per, tau, left;

    budget_slot_roll(s, now_ms);
    if (kind == BUDGET_POLL && s->limit > 0) {
        avail = s->remaining - budget_slot_reserve(s);
        left = s->reset_ms - now_ms;
        if (avail <= 0)
            return budget_slot_wait(s, left);
        per = left / avail;
        tau = per * (avail / 20 < 1 ? 1 : avail / 20 > BUDGET_BURST ? BUDGET_BURST : avail / 20);
        if (s->tat_ms < now_ms)
            s->tat_ms = now_ms;
        if (s->tat_ms - now_ms > tau)
            return budget_slot_wait(s, s->tat_ms - now_ms - tau);
        s->tat_ms += per;
        s->polls++;
    }
    if (s->limit > 0 && s->remaining > 0)
        s->remaining--;
    s->sent++;
    return 0;
}

/* budget_open - map dir/BUDGET_FILE, or make a private table. */
struct budget *budget_open(const char *dir)
{
    struct budget *b = xcalloc(1, sizeof(*b));
    char path[4096];
    void *m;

    b->fd = -1;
    if (dir && *dir && (size_t)snprintf(path, sizeof(path), "%s/%s", dir, BUDGET_FILE) < sizeof(path)) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        if (fd >= 0 && ftruncate(fd, sizeof(struct budget_table)) == 0
            && (m = mmap(NULL, sizeof(struct budget_table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
               != MAP_FAILED) {
            b->t = m;
            b->fd = fd;
        } else {
            log_warn("budget_private", "path=%s reason=%s effect=%s", log_q(path), log_q(strerror(errno)),
                     log_q("the request budget is not shared with the other stages"));
            if (fd >= 0)
                close(fd);
        }
    }
    if (!b->t)
        b->t = xcalloc(1, sizeof(*b->t));
    return b;
}

/* budget_close - unmap (or free) the table. */
void budget_close(struct budget *b)
{
    if (!b)
        return;
    if (b->fd >= 0) {
        munmap(b->t, sizeof(*b->t));
        close(b->fd);
    } else {
        free(b->t);
    }
    free(b);
}

/* budget_lock - take (on) or give back the file's lock; a table in a file
 * of another shape (or garbage) is started over. */
static void budget_lock(struct budget *b, int on)
{
    if (b->fd < 0)
        return;
    if (!on) {
        flock(b->fd, LOCK_UN);
        return;
    }
    while (flock(b->fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    if (b->t->magic != BUDGET_MAGIC || b->t->nslots != BUDGET_SLOTS) {
        memset(b->t, 0, sizeof(*b->t));
        b->t->magic = BUDGET_MAGIC;
        b->t->nslots = BUDGET_SLOTS;
    }
}

/* budget_slot - key's slot (locked), made when make and absent; a full
 * table gives the slot the key hashes to. NULL when absent and not made. */
static struct budget_slot *budget_slot(struct budget *b, uint64_t key, const char *system, int make)
{
    struct budget_slot *free_slot = NULL, *s;
    size_t i;

    for (i = 0; i < BUDGET_SLOTS; i++) {
        s = &b->t->slot[i];
        if (s->key == key)
            return s;
        if (!s->key && !free_slot)
            free_slot = s;
    }
    if (!make)
        return NULL;
    s = free_slot ? free_slot : &b->t->slot[key % BUDGET_SLOTS];
    memset(s, 0, sizeof(*s));
    s->key = key;
    str_copy(s->system, system ? system : "", sizeof(s->system));
    return s;
}

/* budget_take - may a request go now (0), or the poll's delay. */
int64_t budget_take(struct budget *b, uint64_t key, const char *system, int64_t per_hour,
                    enum budget_kind kind)
{
    struct budget_slot *s;
    int64_t now = wall_ms(), d;

    if (!b)
        return 0;
    budget_lock(b, 1);
    s = budget_slot(b, key, system, 1);
    budget_slot_config(s, per_hour, now);
    d = budget_slot_take(s, kind, now);
    budget_lock(b, 0);
    return d;
}

/* budget_observe - an answer's headers (and refund) on key's slot. */
void budget_observe(struct budget *b, uint64_t key, const struct budget_hdr *h, int refund)
{
    struct budget_slot *s;

    if (!b)
        return;
    budget_lock(b, 1);
    if ((s = budget_slot(b, key, NULL, 0)) != NULL)
        budget_slot_observe(s, h, refund, wall_ms());
    budget_lock(b, 0);
}

/* budget_observe_headers - an answer's headers on key's slot. */
int budget_observe_headers(struct budget *b, uint64_t key, const char *limit, const char *remaining,
                           const char *reset, int refund)
{
    struct budget_hdr h;
    int ok = budget_hdr_parse(limit, remaining, reset, &h) == 0;

    budget_observe(b, key, ok ? &h : NULL, refund);
    return ok && h.remaining == 0;
}

/* budget_get - a copy of key's slot. */
int budget_get(struct budget *b, uint64_t key, struct budget_slot *out)
{
    struct budget_slot *s;

    if (!b)
        return -1;
    budget_lock(b, 1);
    if ((s = budget_slot(b, key, NULL, 0)) != NULL)
        *out = *s;
    budget_lock(b, 0);
    return s ? 0 : -1;
}
