/* frame.h - NDJSON message framing, version 1 (docs/protocol.md).
 *
 * One message is one JSON object on one line: at most FRAME_MAX bytes
 * before the newline, strict UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF, no NUL), nesting at most FRAME_MAX_DEPTH, nothing after the
 * object but spaces. The object must carry "v":1 and a known "kind". */
#ifndef PROMO_FRAME_H
#define PROMO_FRAME_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define FRAME_MAX        (1 << 20)
#define FRAME_MAX_DEPTH  64
#define FRAME_VERSION    1

/* frame_utf8_valid - 1 when s[0..len) is strict UTF-8 without NUL bytes. */
int frame_utf8_valid(const unsigned char *s, size_t len);

/* frame_decode - decode one line (a trailing "\n" or "\r\n" is allowed).
 * Returns the object (caller frees), or NULL with a short reason in err
 * ("too long", "invalid utf-8", "not json", "not an object", "too deep",
 * "missing v", "unsupported version 2", "unknown kind"...). */
cJSON *frame_decode(const char *line, size_t len, char *err, size_t errlen);

/* frame_encode - the line for msg, with its "\n", as a heap string, or NULL
 * when it would exceed FRAME_MAX. *len gets its length. */
char *frame_encode(const cJSON *msg, size_t *len);

/* frame_kind_known - the kinds of protocol version 1. */
int frame_kind_known(const char *kind);

#endif
