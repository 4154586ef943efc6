/* store.h - the state dir: the truth of promo.
 *
 * Layout (docs/state.md):
 *   STATE/trackers/NAME.json   PullRequestTracker, written only by promoctl
 *   STATE/<area>/NAME.json     one record per stage per tracker, written only
 *                              by that stage (areas: watcher policy trigger
 *                              monitor promoter approvals)
 *   STATE/quarantine/          corrupt records and rejected messages, moved
 *                              aside with a .reason file, never deleted
 *   STATE/audit.log            append-only audit events (issue 5)
 *
 * Records are JSON objects; a file that is empty, truncated, not JSON, not an
 * object or too large is quarantined on read and reported as -EBADMSG, never
 * half-read. */
#ifndef PROMO_STORE_H
#define PROMO_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define STORE_MAX_RECORD (4 << 20)    /* bytes in one record file */

struct store;

/* store_open - open (with create, make) the state dir and its areas, mode 0700
 * for new directories. Returns NULL with errno set and a log line on failure. */
struct store *store_open(const char *dir, int create);
void store_close(struct store *s);
const char *store_dir(const struct store *s);

/* store_area_path - "STATE/area" into buf. */
char *store_area_path(const struct store *s, const char *area, char *buf, size_t len);

/* store_read - read area/name.json. Returns 0 and *out (caller frees), -ENOENT
 * when absent, -EBADMSG when corrupt (then already quarantined with the
 * reason logged), or another -errno. */
int store_read(struct store *s, const char *area, const char *name, cJSON **out);

/* store_check_fn - a reader's judgement of a record store_read parsed: 0
 * when it is good, or -1 with the reason in why (one line). */
typedef int (*store_check_fn)(const cJSON *doc, const char *name, char *why, size_t whylen, void *arg);

/* store_read_checked - store_read, where a record check refuses (a JSON
 * object that is not a valid document of its area) is quarantined with
 * check's reason exactly like a corrupt one, and only if it is still the
 * file that was read (a writer's replacement is read again instead).
 * Returns as store_read; on -EBADMSG why (whylen >= 1) holds the reason,
 * else "". check may be NULL; it may run more than once. */
int store_read_checked(struct store *s, const char *area, const char *name, store_check_fn check, void *arg,
                       cJSON **out, char *why, size_t whylen);

/* store_read_borrow - store_read_checked without a copy for the caller:
 * *doc is valid until the next call of a store function; when *owned is
 * not NULL the caller frees it (the record was not kept by the cache).
 * Returns as store_read_checked. For readers that decode at once (the
 * view). */
int store_read_borrow(struct store *s, const char *area, const char *name, store_check_fn check, void *arg,
                      const cJSON **doc, cJSON **owned, char *why, size_t whylen);

/* store_write - atomically replace area/name.json with doc. Returns 0 or -errno. */
int store_write(struct store *s, const char *area, const char *name, const cJSON *doc);
/* store_encode - what store_write writes, without writing it: the area's
 * folder (dir), the file name (file) and the bytes (*out, caller frees).
 * Returns 0 or -errno (as store_write). */
int store_encode(struct store *s, const char *area, const char *name, const cJSON *doc, char *dir, size_t dirlen,
                 char *file, size_t filelen, char **out, size_t *outlen);

/* store_remove - delete area/name.json; absent is not an error. */
int store_remove(struct store *s, const char *area, const char *name);

/* store_list - the record names (without .json) in area, sorted; temp and
 * hidden files skipped. *names is a NULL-terminated heap array; free with
 * store_list_free. Returns the count, or -errno. */
int store_list(struct store *s, const char *area, char ***names);
void store_list_free(char **names);

/* store_quarantine - move area/name.json to quarantine/area.name.<time>.json
 * with a .reason file beside it, and log it. Returns 0 or -errno. */
int store_quarantine(struct store *s, const char *area, const char *name, const char *reason);

/* store_quarantine_bytes - keep rejected bytes (a bad message line) in
 * quarantine/<what>.<time>.<pid>.<n>.bad with a .reason file. Returns 0 or -errno. */
int store_quarantine_bytes(struct store *s, const char *what, const void *data,
                           size_t len, const char *reason);

/* Record versions (domain/storewatch.c): a long-running stage asks inotify
 * to tell it of every change to the records of the tracker areas (trackers,
 * watcher, policy, trigger, monitor, promoter, approvals), made by any
 * process, itself included. store_version(s, NAME) is a number that changes
 * whenever a record of tracker NAME may have changed since it was last
 * asked: a stage that has fully handled NAME at version V need not read its
 * records again while the version is still V (issue 15, "cheap resync").
 * The version is taken before the records are read, so a change racing the
 * read makes the next version differ: never a stale skip. An inotify queue
 * overflow, or an area directory replaced, changes every version. Without
 * store_watch_start, store_version returns 0 for every name and
 * store_version_known says so: nothing is ever skipped. */
struct store_watch;
/* store_watch_start - start watching; 0 or -errno (logged; versions stay unknown). */
int store_watch_start(struct store *s);
void store_watch_stop(struct store *s);
/* store_watch_fd - the inotify fd (to drain from a loop when readable), or -1. */
int store_watch_fd(const struct store *s);
/* store_watch_drain - read what inotify has queued (non-blocking). */
void store_watch_drain(struct store *s);
/* store_version - drain, then the version of NAME's records. */
uint64_t store_version(struct store *s, const char *name);
/* store_version_known - 1 while versions are being kept. */
int store_version_known(const struct store *s);
/* The record cache (storewatch.c), used by the reads while versions are
 * kept: a record read (a document, or its absence) is served again until
 * inotify reports a change to its file. store_cache_peek (drains first): 1
 * and *out (the cache's: valid until the next store call), -ENOENT when
 * known absent, 0 when unknown. store_cache_keep: the cache takes doc (NULL:
 * absent) and returns 1, or 0 when it cannot keep it (the caller still
 * owns it). */
int store_cache_peek(struct store *s, const char *area, const char *name, store_check_fn check, const cJSON **out);
int store_cache_keep(struct store *s, const char *area, const char *name, store_check_fn check, cJSON *doc);
/* store_cache_stats - reads served by the cache, and reads that were not. */
void store_cache_stats(const struct store *s, uint64_t *hits, uint64_t *misses);
/* store_watch_slot - for storewatch.c only. */
struct store_watch **store_watch_slot(struct store *s);

/* store_lock - take an exclusive flock on STATE/area/.lock (for writers that
 * are short-lived CLI processes, e.g. promoctl). Returns an fd to pass to
 * store_unlock, or -errno. */
int store_lock(struct store *s, const char *area);
void store_unlock(int fd);

#endif
