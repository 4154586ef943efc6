/* budget.h - a request budget per credential, shared by the processes that
 * spend it (promo-monitor, promo-promoter, promo-trigger: one token's rate
 * limit is theirs together).
 *
 * A credential (a CI server and the token or user that speaks to it) has a
 * limit of requests per window: GitHub says it in every answer
 * (x-ratelimit-limit, -remaining, -reset), GitLab.com too (RateLimit-*);
 * Jenkins and a GitLab without those headers have a configured rate
 * (jenkins.rateLimit, gitlab.rateLimit: requests an hour). The budget keeps
 * what is left and when the window ends, counts each request it lets go,
 * and paces polls: a poll may only spend what is above a reserve kept for
 * everything else (promotion steps, triggers, cancels: a tenth of the
 * limit, at least 1), spread evenly over what is left of the window with a
 * small burst. A poll that may not go now gets the delay after which it
 * may: the caller polls later (polling stretches) instead of meeting a 403
 * or 429. Other requests always go.
 *
 * The arithmetic (budget_hdr_parse, budget_slot_*) is pure and unit-tested.
 * The table of slots lives in a small file in runDir (BUDGET_FILE), mapped
 * by each process and locked with flock around each update; a slot is
 * keyed by a 64-bit hash of the system, the server and the credential: the
 * file never holds a token. Without a file (no runDir, or it cannot be
 * made) each process keeps a private table: the same rules, not shared. */
#ifndef PROMO_BUDGET_H
#define PROMO_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#define BUDGET_FILE        "ratelimit.budget"
#define BUDGET_SLOTS       64          /* credentials in one table */
#define BUDGET_BURST       20          /* polls that may go at once (at most a 20th of
                                        * what is above the reserve, at least 1), paced after */
#define BUDGET_WINDOW_MS   3600000     /* a configured rate's window; a header window's guess */
#define BUDGET_MIN_WAIT_MS 100         /* the shortest delay given to a poll */

/* What a request is, for the budget. */
enum budget_kind { BUDGET_POLL, BUDGET_OTHER };

/* One credential's budget (one slot of the shared table; plain data). */
struct budget_slot {
    uint64_t key;               /* budget_key(); 0: a free slot */
    char system[16];            /* "github", "jenkins", "gitlab": for people */
    int64_t limit;              /* requests per window; 0: unknown (nothing is paced) */
    int64_t remaining;          /* left in this window, as last known and counted since */
    int64_t reset_ms;           /* wall ms when the window ends (0: unknown) */
    int64_t window_ms;          /* > 0: a configured rate (the window restarts by itself) */
    int64_t tat_ms;             /* pacing: when the next poll is due (theoretical arrival) */
    int64_t sent, polls, deferred;  /* counters: requests let go, of them polls, polls delayed */
};

/* What the rate-limit headers of one answer said. */
struct budget_hdr {
    int64_t limit, remaining, reset_ms;
};

/* budget_key - the slot key of system + server + credential (FNV-1a 64,
 * never 0). The credential is hashed, never stored. */
uint64_t budget_key(const char *system, const char *server, const char *credential);

/* budget_key_url - budget_key of the origin (scheme://host:port) of url. */
uint64_t budget_key_url(const char *system, const char *url, const char *credential);

/* budget_hdr_parse - the three headers (values as received, or NULL) into
 * h: limit and remaining 0..10^12 in decimal digits only, remaining <=
 * limit, limit > 0; reset in epoch seconds (1..10^11, GitHub and GitLab.com
 * both send epoch seconds) made wall ms. 0, or -1 when any is missing or
 * malformed (then h is untouched and the answer changes nothing). */
int budget_hdr_parse(const char *limit, const char *remaining, const char *reset, struct budget_hdr *h);

/* budget_slot_config - a configured rate: per_hour requests an hour (0:
 * none, the headers decide). Keeps the window when the rate is the same. */
void budget_slot_config(struct budget_slot *s, int64_t per_hour, int64_t now_ms);

/* budget_slot_observe - an answer's headers: a later window replaces the
 * known one; in the same window the lower remaining wins (answers arrive
 * out of order). refund: the request did not count (a 304 of GitHub), so
 * the one counted when it was let go is given back first. */
void budget_slot_observe(struct budget_slot *s, const struct budget_hdr *h, int refund, int64_t now_ms);

/* budget_slot_reserve - what polls must leave: a tenth of the limit, >= 1. */
int64_t budget_slot_reserve(const struct budget_slot *s);

/* budget_slot_take - may a request of kind go now? 0: yes, and it is
 * counted; else the delay in ms (>= BUDGET_MIN_WAIT_MS) after which a poll
 * may ask again. A window that has ended starts again full. Only polls are
 * ever delayed, and only when the limit is known: by the reserve (none
 * above it: until the window ends) and by the pace (what is above the
 * reserve spread over the rest of the window, a small burst at once). */
int64_t budget_slot_take(struct budget_slot *s, enum budget_kind kind, int64_t now_ms);

/* The shared table of one process. */
struct budget;

/* budget_open - the table in dir/BUDGET_FILE (created 0600), or a private
 * one when dir is NULL or the file cannot be used (logged). Never NULL. */
struct budget *budget_open(const char *dir);
void budget_close(struct budget *b);

/* budget_take - budget_slot_take on key's slot (made with system and the
 * configured rate per_hour when absent), under the lock. b NULL: 0. */
int64_t budget_take(struct budget *b, uint64_t key, const char *system, int64_t per_hour,
                    enum budget_kind kind);

/* budget_observe - budget_slot_observe on key's slot, under the lock, when
 * h is not NULL; else only the refund. b NULL: nothing. */
void budget_observe(struct budget *b, uint64_t key, const struct budget_hdr *h, int refund);

/* budget_observe_headers - budget_observe with the three rate-limit
 * header values of an answer (budget_hdr_parse; malformed: only the
 * refund). 1 when they say none remain, else 0. */
int budget_observe_headers(struct budget *b, uint64_t key, const char *limit, const char *remaining,
                           const char *reset, int refund);

/* budget_get - a copy of key's slot: 0, or -1 when there is none. */
int budget_get(struct budget *b, uint64_t key, struct budget_slot *out);

#endif
