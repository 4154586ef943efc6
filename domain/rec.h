/* rec.h - what every record decoder of the state dir shares (domain/rec_*.h).
 *
 * Each stage's record (docs/state.md) has one decoder into a struct and, where
 * its writer builds it whole, one encoder; nobody else picks its JSON apart.
 * The decoders are strict: a member of the wrong type, a string longer than
 * its limit, a missing required member, or more entries than the limit make
 * the whole record invalid (err says "path: reason"), since a record that is
 * half-understood would be half-acted on. JSON null counts as absent, and
 * members a decoder does not know are ignored, so records written by older
 * and newer promo read alike.
 *
 * Decoded strings live in a pool owned by the struct (struct rec_pool); an
 * absent string decodes as "" (never NULL). */
#ifndef PROMO_REC_H
#define PROMO_REC_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

/* Limits of decoded strings, in bytes without the NUL. */
#define REC_MAX_NAME  253        /* a tracker, environment, policy or application name */
#define REC_MAX_ID    256        /* a key, a run id, a provider, a status, a time */
#define REC_MAX_URL   4096
#define REC_MAX_TEXT  16384      /* free text: an error, the CI's words, a reason */

/* The strings of one decoded record. */
struct rec_pool {
    char **v;
    size_t n, cap;
};

/* rec_pool_add - a copy of s kept in p until rec_pool_free. */
const char *rec_pool_add(struct rec_pool *p, const char *s);
/* rec_pool_free - release every string; p is left empty. */
void rec_pool_free(struct rec_pool *p);

/* rec_err - err = "path: reason" (printf-style reason); returns -1. */
int rec_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* rec_str - o[key] as a string of at most max bytes into *out (pooled; ""
 * when absent or null). required: absence is an error. Returns 0 or -1
 * with err set (path names o). */
int rec_str(const cJSON *o, const char *path, const char *key, int required, size_t max,
            struct rec_pool *p, const char **out, char *err, size_t errlen);

/* rec_int - o[key] as an integral number in [min, max] into *out (dflt when
 * absent or null). Returns 0 or -1 with err set. */
int rec_int(const cJSON *o, const char *path, const char *key, int required, int64_t min, int64_t max,
            int64_t dflt, int64_t *out, char *err, size_t errlen);

/* rec_bool - o[key] as 0/1 into *out (dflt when absent or null). Returns 0
 * or -1 with err set. */
int rec_bool(const cJSON *o, const char *path, const char *key, int dflt, int *out, char *err, size_t errlen);

/* rec_member - o[key] when it is of type (cJSON_Object, cJSON_Array, ...),
 * NULL when absent or null, and -1 (err set) when of another type or when
 * an object or array has more than max members. */
int rec_member(const cJSON *o, const char *path, const char *key, int type, int max, const cJSON **out,
               char *err, size_t errlen);

/* rec_head - the members every per-tracker record starts with: the
 * tracker's name under namekey ("name", or "tracker" in the policy record)
 * equal to want when want is not NULL, generation (an integer >= 0) and
 * headSHA (hex, optional when sha_optional). Returns 0 or -1. */
int rec_head(const cJSON *o, const char *namekey, const char *want, int sha_optional, struct rec_pool *p,
             const char **name, int64_t *generation, const char **head_sha, char *err, size_t errlen);

/* A Kubernetes-style condition of the policy and watcher records. */
struct rec_condition {
    const char *type, *status, *reason, *message, *last_transition;
};
#define REC_MAX_CONDITIONS 16

/* rec_conditions - o["conditions"] (an array, optional) into c[0..*n) (at
 * most REC_MAX_CONDITIONS). Returns 0 or -1 with err set. */
int rec_conditions(const cJSON *o, struct rec_pool *p, struct rec_condition *c, int *n, char *err, size_t errlen);
/* rec_conditions_encode - the array of c[0..n). */
cJSON *rec_conditions_encode(const struct rec_condition *c, int n);

/* rec_current - 1 when a decoded head is about generation gen and head
 * SHA sha (a record without a head SHA matches any). */
int rec_current(int64_t generation, const char *head_sha, int64_t gen, const char *sha);

/* The two halves every rec_X_load shares (around its own decoder):
 * rec_read - AREA/NAME as JSON into *o (caller frees): 0, -ENOENT with no
 * store or no file, -EBADMSG for a corrupt (quarantined) file, another
 * -errno; err is cleared, or says why. */
struct store;
struct tracker;
int rec_read(struct store *s, const char *area, const char *name, cJSON **o, char *err, size_t errlen);
/* rec_stale - with t, -ESTALE (and why in err) unless the decoded head
 * (generation, head_sha) is t's current one; 0 otherwise, or without t. */
int rec_stale(const struct tracker *t, int64_t generation, const char *head_sha, char *err, size_t errlen);

#endif
