/* audit.h - the append-only audit log: STATE/audit.log, one JSON object per line.
 *
 *   {"time":"2026-11-28T04:30:01.234Z","tracker":"acme-shop-42","type":"Normal",
 *    "reason":"Promoted","message":"promoted dev -> staging at 0123abc","key":"pk-..."}
 *
 * type is "Normal" or "Warning" (as Kubernetes events); reason is one
 * CamelCase word; key is the idempotency key of the action the event records,
 * so a writer that crashed between appending and recording that it appended
 * can look before appending again (audit_has_key). */
#ifndef PROMO_AUDIT_H
#define PROMO_AUDIT_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct store;

#define AUDIT_FILE "audit.log"
#define AUDIT_LINE_MAX 8192

/* audit_append - append one event (fsync when durable). Values are truncated
 * to keep a line under AUDIT_LINE_MAX. Returns 0 or -errno. */
int audit_append(struct store *s, const char *tracker, const char *type,
                 const char *reason, const char *message, const char *key);

/* audit_has_key - 1 when an event with this key (and reason, when not NULL)
 * is in the log, 0 when not, -errno on error. It looks among the events
 * appended since the process first looked and at least the 4 MiB before
 * them, kept in an index in memory: each call reads only what was appended
 * since the last. */
int audit_has_key(struct store *s, const char *key, const char *reason);

/* audit_decode - check one log line; returns the object or NULL with err. */
cJSON *audit_decode(const char *line, size_t len, char *err, size_t errlen);

#endif
