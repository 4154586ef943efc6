/* rec_target.h - STATE/targets/KEY.json, the record of one target
 * application (cluster, appNamespace, application) that a promotion goes
 * into: which tracker holds it, and who waits for it, in order.
 *
 * A target application of a policy with spec.promotion.exclusive (the
 * default) is held by one tracker at a time, from the moment promo-promoter
 * decides to promote into it until the tracker leaves (promoted onward,
 * failed, superseded, removed, or verified at the end of its chain); other
 * trackers ready to promote into it wait first come first served. Only
 * promo-promoter writes these records; promoctl and domain/view.c read them
 * (docs/state.md, "The target record"). */
#ifndef PROMO_REC_TARGET_H
#define PROMO_REC_TARGET_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "domain/promokey.h"

#define TARGET_AREA        "targets"
#define TARGET_MAX_WAITING 100000    /* trackers waiting for one application */

/* A tracker holding, or waiting for, a target. */
struct target_entry {
    char tracker[254];
    int64_t generation;
    char head_sha[65];
    char source[64];             /* the environment it comes from */
    char key[PROMO_KEY_SIZE];    /* the hop's idempotency key */
    char at[40];                 /* holder: since when; waiter: ready since when */
};

/* One target record. */
struct target_rec {
    char key[254];               /* the record's name (target_key) */
    char cluster[254], app_namespace[254], application[254];
    char environment[64];        /* the target environment */
    int held;                    /* holder is set */
    struct target_entry holder;
    char progress_at[40];        /* holder: when its state last changed */
    char observed[128];          /* holder: that state, "ENV/STATE" */
    int64_t timeout_ms;          /* holder: quiet this long, the hold expires */
    struct target_entry *waiting;   /* ready first, first */
    int nwaiting, capwaiting;
    uint64_t sig;                /* in memory only (promo-promoter): the holder's
                                  * records as last judged (promoter_hold.c) */
};

/* target_key - the record name of an application: its name lowercased
 * (outside [a-z0-9.-] mapped to '-', at most 200 bytes), '-', and 12 hex
 * digits of SHA-256 over cluster, app namespace and application, so two
 * applications never share a record. Returns 0, or -1. */
int target_key(const char *cluster, const char *app_namespace, const char *application, char *out, size_t len);

/* target_decode - strict decoder (domain/rec.h rules) of o, the record
 * named key (NULL: any). Returns 0, or -1 with err set; r is to be freed
 * with target_free either way. */
int target_decode(const cJSON *o, const char *key, struct target_rec *r, char *err, size_t errlen);
/* target_encode - the record as written. */
cJSON *target_encode(const struct target_rec *r);
void target_free(struct target_rec *r);

/* target_waiting_add - append e to r's waiters (no check for duplicates). */
void target_waiting_add(struct target_rec *r, const struct target_entry *e);
/* target_waiting_find - the index of tracker among r's waiters, or -1. */
int target_waiting_find(const struct target_rec *r, const char *tracker);
/* target_waiting_remove - remove waiter i. */
void target_waiting_remove(struct target_rec *r, int i);

/* target_entry_set - e = tracker's name, generation, head SHA, source, key, at. */
void target_entry_set(struct target_entry *e, const char *tracker, int64_t generation, const char *head_sha,
                      const char *source, const char *key, const char *at);

struct store;

/* Every target record of a state dir, for readers (promoctl, the view). */
struct target_table {
    struct target_rec *v;
    int n;
};

/* target_table_load - read every record of STATE/targets (an invalid one
 * is skipped with a warning). Returns the count, or -errno. */
int target_table_load(struct store *s, struct target_table *tt);
void target_table_free(struct target_table *tt);

/* target_table_note - what tracker name waits for, or holds, in plain
 * words into buf: "waiting for shop-staging (position 1 of 2), held by
 * acme-shop-41 since 12:03" / "holds shop-staging since 12:03"; "" when
 * neither. Returns 1 when it waits, 2 when it holds, 0 otherwise. */
int target_table_note(const struct target_table *tt, const char *name, int64_t generation, char *buf,
                      size_t len);

struct view;
/* target_table_apply - when v's tracker waits in line for a target, its
 * waiting text (v->waiting) says so: for which application, in which
 * position, held by whom since when. Returns 1 then, else 0. */
int target_table_apply(const struct target_table *tt, struct view *v);

#endif
