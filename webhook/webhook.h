/* webhook.h - promo-webhook's own state, shared by the files of webhook/.
 *
 *   promo_webhook.c   main(), the HTTP server (libmicrohttpd in the stage's
 *                     event loop), limits and request deadlines, routing,
 *                     statuses, counters
 *   webhook_verify.c  HMAC-SHA256 signatures and shared tokens, compared in
 *                     constant time; the replay memory
 *   webhook_event.c   one strict decoder per source: what a verified body
 *                     says (run id, idempotency key, application)
 *   webhook_index.c   run id / key / application -> tracker, read from the
 *                     trigger and promoter records (read only)
 *   webhook_rate.c    the request rate limits: all clients together, and
 *                     each client address in a bounded LRU table
 *
 * promo-webhook never changes state: a verified, matched event becomes a
 * "hint" message (docs/protocol.md) for promo-monitor or promo-watcher,
 * which re-check with the API before acting. */
#ifndef PROMO_WEBHOOK_H
#define PROMO_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "util/strmap.h"
#include "ipc/stage.h"

#define WEBHOOK_BODY_MAX      (1 << 20)  /* bytes: a larger body answers 413 */
#define WEBHOOK_HEADER_MEM    (32 * 1024) /* per-connection memory for the request line and headers */
#define WEBHOOK_CONN_MAX      64         /* connections at once */
#define WEBHOOK_CONN_PER_IP   16         /* ... of one client address: a quarter, so that
                                            it takes more than three addresses to fill them */
#define WEBHOOK_CONN_TIMEOUT  10         /* seconds idle before a connection is closed */
#define WEBHOOK_REQUEST_TIMEOUT_MS 10000 /* a request not whole by then is closed, however
                                            steadily it trickles (webhook.requestTimeout) */
#define WEBHOOK_CONN_SPARE    8          /* with fewer slots free than this ... */
#define WEBHOOK_BUSY_REQUEST_MS 2000     /* ... a request has this long, so that clients
                                            waiting to connect get a slot within seconds
                                            even when many addresses trickle */
#define WEBHOOK_RUN_BURST     64         /* MHD_run calls in a row before the loop's other fds */
#define WEBHOOK_RATE          2000       /* requests a second of all clients, on average
                                            (webhook.rateLimit), bursts of twice that: beyond, 429 */
#define WEBHOOK_CLIENT_RATE   1000       /* ... of one client address (webhook.clientRateLimit) */
#define WEBHOOK_CLIENTS       1024       /* client addresses with a bucket of their own (LRU) */
#define WEBHOOK_CLIENT_HASH   2048       /* hash buckets of that table (a power of 2) */
#define WEBHOOK_REPLAY_MEMORY 4096       /* digests of recent bodies remembered */
#define WEBHOOK_RESCAN_MS     200        /* an unmatched event rescans the records at most this often */
#define WEBHOOK_DEFAULT_LISTEN "127.0.0.1:8090"

enum webhook_source { WH_GITHUB, WH_GITLAB, WH_JENKINS, WH_ARGOCD, WH_NSOURCES };

/* What one verified body says. */
struct webhook_event {
    enum webhook_source source;
    int relevant;                /* 0: a ping or an event promo does not act on */
    char what[64];               /* "workflow_run completed", "pipeline success" ... */
    char run_id[32];             /* the CI's run id, "" when none */
    char keys[4][64];            /* idempotency keys found ("pk-..."), in order */
    int nkeys;
    char application[254];       /* Argo CD: the application */
    char cluster[64];
};

/* One index entry: a test run of a tracker, or a promoted application. Its
 * strings live in buf, after it, in one allocation (about 200 bytes, where
 * fixed arrays took 1.2 KB: 10,000 trackers' index is 127 MB with those). */
struct webhook_target {
    struct webhook_target *next; /* "app:" entries: the other trackers of that application */
    const char *owner;           /* the record it was read from: "trigger/NAME.json" */
    const char *tracker;
    const char *test;            /* "" for an application */
    const char *key;
    const char *run_id;
    const char *provider;
    const char *application;
    const char *cluster;         /* all "" when absent, never NULL */
    char buf[];
};

/* A token bucket: tokens earned at a rate, up to twice the rate. */
struct webhook_bucket {
    double tokens;
    int64_t at;                  /* monotonic ms: the last fill */
};

/* One client address's bucket, in the hash chain and the LRU list. */
struct webhook_client {
    unsigned char addr[16];      /* IPv6, or IPv4 mapped into it */
    struct webhook_bucket b;
    int hnext;                   /* next slot in the hash chain, or -1 */
    int prev, next;              /* LRU list, most recent first, or -1 */
};

/* The rate limits: all clients together, and each client address. */
struct webhook_rate {
    double rate, client_rate;    /* tokens a second */
    struct webhook_bucket all;
    struct webhook_client slot[WEBHOOK_CLIENTS];
    int hash[WEBHOOK_CLIENT_HASH];
    int head, tail;              /* LRU ends: most and least recently seen */
    int nclients;                /* slots in use */
    uint32_t seed;
    uint64_t evicted;            /* clients that gave their slot up to a new address */
    uint64_t limited_client, limited_all;
};

enum webhook_rate_verdict { WEBHOOK_RATE_OK, WEBHOOK_RATE_CLIENT, WEBHOOK_RATE_ALL };

struct webhook_index {
    struct strmap *map;          /* "key:pk-..", "run:<provider>:<id>" -> target;
                                    "app:<name>" -> a chain of targets, one per tracker */
    struct strmap *owned;        /* "trigger/NAME.json" -> the keys that record put in map */
    struct strmap *changed;      /* records inotify named since the last lookup (a set) */
    int rescan;                  /* read every record before the next lookup */
    int inotify;                 /* -1 when unavailable */
    int wd[2];                   /* the watches of trigger/ and promoter/ */
    int64_t scanned_ms;          /* monotonic: the last whole scan */
    uint64_t scans, reloads;     /* whole scans; single records read again */
};

/* webhook_verify.c */
/* webhook_verify_github - 1 when sig is "sha256=<hex HMAC-SHA256(secret, body)>". */
int webhook_verify_github(const char *secret, const char *sig, const void *body, size_t len);
/* webhook_verify_token - 1 when got equals secret (constant time, both hashed first). */
int webhook_verify_token(const char *secret, const char *got);
/* webhook_replay_seen - remember source+body; 1 when it was seen already. */
int webhook_replay_seen(enum webhook_source src, const void *body, size_t len);

/* webhook_event.c */
/* webhook_event_decode - decode body for src (hdr_event: X-GitHub-Event or
 * X-Gitlab-Event, else NULL). Returns 0, or -1 with a reason in err (400). */
int webhook_event_decode(enum webhook_source src, const char *hdr_event, const char *body, size_t len,
                         struct webhook_event *ev, char *err, size_t errlen);
const char *webhook_source_name(enum webhook_source src);

/* webhook_rate.c */
/* webhook_rate_init - empty table, full buckets; rate and client_rate in
 * requests a second (0 or less: WEBHOOK_RATE, WEBHOOK_CLIENT_RATE). */
void webhook_rate_init(struct webhook_rate *r, int rate, int client_rate, int64_t now);
/* webhook_rate_take - one request from the client at sa (NULL: unknown, one
 * shared bucket) at now (monotonic ms): WEBHOOK_RATE_OK when both its
 * client's bucket and the bucket of all clients had a token (one is taken
 * from each); else WEBHOOK_RATE_CLIENT or WEBHOOK_RATE_ALL, and nothing is
 * taken. */
enum webhook_rate_verdict webhook_rate_take(struct webhook_rate *r, const struct sockaddr *sa, int64_t now);

/* webhook_index.c */
int webhook_index_open(struct stage *st, struct webhook_index *ix);
void webhook_index_close(struct webhook_index *ix);
/* webhook_index_match - the target of ev, or NULL; an Argo CD event's
 * target chains (->next) every tracker of that application. Records that
 * inotify named as changed are read again first; a miss reads them all (at
 * most every WEBHOOK_RESCAN_MS), as does an overflow of inotify's queue. */
const struct webhook_target *webhook_index_match(struct stage *st, struct webhook_index *ix,
                                                 const struct webhook_event *ev);

#endif
