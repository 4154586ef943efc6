/* frame.c - NDJSON message framing, version 1: the strict decoder every
 * stage runs on every input line, and the encoder for what it sends.
 *
 * The decoder checks the cheap things first and in this order: size, UTF-8,
 * nesting depth (a pre-scan, so cJSON never recurses deeper than
 * FRAME_MAX_DEPTH), JSON syntax with nothing after the object, then the
 * envelope ("v" and "kind"). Unknown fields are left in the object. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"
#include "util/util.h"

/* frame_utf8_valid - 1 when s[0..len) is strict UTF-8 without NUL bytes. */
int frame_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        unsigned int cp;
        size_t n, k;

        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;               /* continuation byte, 0xc0/0xc1, 0xf5.. */
        }
        if (len - i - 1 < n)
            return 0;               /* truncated sequence */
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000))
            return 0;               /* overlong */
        if (cp >= 0xd800 && cp <= 0xdfff)
            return 0;               /* surrogate */
        if (cp > 0x10ffff)
            return 0;
        i += n + 1;
    }
    return 1;
}

/* frame_scan - the pre-scan of s[0..len) before cJSON sees it: nesting of
 * [ and { outside strings at most FRAME_MAX_DEPTH, no raw control bytes
 * inside strings (RFC 8259; cJSON would take them). Returns 0, or -1 with
 * the reason in err. */
static int frame_scan(const char *s, size_t len, char *err, size_t errlen)
{
    size_t i;
    int depth = 0, in_str = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            else if (c < 0x20) {
                snprintf(err, errlen, "not json");
                return -1;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            break;
        case '[':
        case '{':
            if (++depth > FRAME_MAX_DEPTH) {
                snprintf(err, errlen, "too deep");
                return -1;
            }
            break;
        case ']':
        case '}':
            if (depth > 0)
                depth--;
            break;
        case '\n':
            snprintf(err, errlen, "embedded newline");
            return -1;
        default:
            break;
        }
    }
    return 0;
}

/* frame_kind_known - the kinds of protocol version 1. */
int frame_kind_known(const char *kind)
{
    static const char *const kinds[] = { "tracker", "resync", "hint" };
    size_t i;

    if (!kind)
        return 0;
    for (i = 0; i < ARRAY_LEN(kinds); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return 1;
    return 0;
}

/* frame_word - 1 when s is a short plain word, safe to quote in a reason. */
static int frame_word(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++) {
        if (n >= 40)
            return 0;
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    }
    return n > 0;
}

/* frame_envelope - check "v" and "kind" of the object msg. Returns 0, or -1
 * with the reason in err. */
static int frame_envelope(const cJSON *msg, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "v");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
    double d;

    if (!v) {
        snprintf(err, errlen, "missing v");
        return -1;
    }
    if (!cJSON_IsNumber(v)) {
        snprintf(err, errlen, "v is not a number");
        return -1;
    }
    d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < -1e15 || d > 1e15) {
        snprintf(err, errlen, "v is not an integer");
        return -1;
    }
    if (d != FRAME_VERSION) {
        snprintf(err, errlen, "unsupported version %lld", (long long)d);
        return -1;
    }
    if (!kind) {
        snprintf(err, errlen, "missing kind");
        return -1;
    }
    if (!cJSON_IsString(kind) || !kind->valuestring) {
        snprintf(err, errlen, "kind is not a string");
        return -1;
    }
    if (!frame_kind_known(kind->valuestring)) {
        if (frame_word(kind->valuestring))
            snprintf(err, errlen, "unknown kind %s", kind->valuestring);
        else
            snprintf(err, errlen, "unknown kind");
        return -1;
    }
    return 0;
}

/* frame_decode - decode one line (a trailing "\n" or "\r\n" is allowed).
 * Returns the object (caller frees), or NULL with a short reason in err. */
cJSON *frame_decode(const char *line, size_t len, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *msg;
    size_t used;

    if (errlen)
        err[0] = '\0';
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > FRAME_MAX) {
        snprintf(err, errlen, "too long");
        return NULL;
    }
    if (len == 0) {
        snprintf(err, errlen, "empty line");
        return NULL;
    }
    if (!frame_utf8_valid((const unsigned char *)line, len)) {
        snprintf(err, errlen, "invalid utf-8");
        return NULL;
    }
    if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
        snprintf(err, errlen, "not json");     /* a BOM: cJSON would skip it */
        return NULL;
    }
    if (frame_scan(line, len, err, errlen) < 0)
        return NULL;
    msg = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!msg) {
        snprintf(err, errlen, "not json");
        return NULL;
    }
    used = end ? (size_t)(end - line) : len;
    for (; used < len; used++) {
        if (line[used] != ' ' && line[used] != '\t') {
            snprintf(err, errlen, "trailing garbage");
            cJSON_Delete(msg);
            return NULL;
        }
    }
    if (!cJSON_IsObject(msg)) {
        snprintf(err, errlen, "not an object");
        cJSON_Delete(msg);
        return NULL;
    }
    if (frame_envelope(msg, err, errlen) < 0) {
        cJSON_Delete(msg);
        return NULL;
    }
    return msg;
}

/* frame_encode - the line for msg, with its "\n", as a heap string. Returns
 * NULL with errno EMSGSIZE when it would exceed FRAME_MAX, or with EILSEQ
 * (a string that is not strict UTF-8) or ELOOP (nested deeper than
 * FRAME_MAX_DEPTH) when the receiving frame_decode would refuse it. */
char *frame_encode(const cJSON *msg, size_t *len)
{
    char *s, *line, err[64];
    size_t n;

    s = cJSON_PrintUnformatted(msg);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    n = strlen(s);
    if (n > FRAME_MAX) {
        free(s);
        errno = EMSGSIZE;
        return NULL;
    }
    if (!frame_utf8_valid((const unsigned char *)s, n)) {
        free(s);
        errno = EILSEQ;
        return NULL;
    }
    if (frame_scan(s, n, err, sizeof(err)) < 0) {
        free(s);
        errno = ELOOP;
        return NULL;
    }
    line = xrealloc(s, n + 2);
    line[n] = '\n';
    line[n + 1] = '\0';
    if (len)
        *len = n + 1;
    return line;
}
