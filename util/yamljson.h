/* yamljson.h - YAML (and so JSON) text to cJSON, with hard limits and source positions.
 *
 * Every external YAML input goes through here: promo.yaml, policy files.
 * Limits are checked while parsing, so a hostile file ("billion laughs",
 * 100,000 levels of nesting, NUL bytes, a 10 MB file) is refused quickly
 * and in bounded memory. */
#ifndef PROMO_YAMLJSON_H
#define PROMO_YAMLJSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct yj_limits {
    size_t max_bytes;     /* input size; default 1 MiB */
    int max_depth;        /* nesting of mappings/sequences; default 64 */
    long max_nodes;       /* nodes built, alias expansions included; default 100000 */
    int max_docs;         /* documents in one stream; default 1000 */
};
#define YJ_LIMITS_DEFAULT { 1 << 20, 64, 100000, 1000 }

/* Where a node stood in the source (1-based; 0 when unknown). For a value
 * inside a mapping, key_line/key_col give the position of its key. */
struct yj_pos {
    int line, col;
    int key_line, key_col;
};

/* A parsed stream: docs is a cJSON array with one item per document. */
struct yj_doc {
    cJSON *docs;
    char *file;            /* name used in messages */
    struct yj_pos_entry *pos; size_t npos, cap;   /* private */
};

/* yj_parse - parse text (len bytes; need not be NUL-terminated) named file.
 * Scalars follow the YAML 1.2 core schema (null, true/false, ints, floats,
 * the rest strings; quoted scalars are always strings). Duplicate keys,
 * non-scalar keys, and documents that break a limit are errors.
 * Returns 0 and fills *out, or -1 with "file:line:col: message" in err. */
int yj_parse(const char *text, size_t len, const char *file,
             const struct yj_limits *lim, struct yj_doc *out,
             char *err, size_t errlen);

/* yj_parse_file - read path (refusing files over lim->max_bytes before reading
 * them whole) and parse it. Same result contract as yj_parse. */
int yj_parse_file(const char *path, const struct yj_limits *lim,
                  struct yj_doc *out, char *err, size_t errlen);

/* yj_pos_of - the source position of node, or all zeros. */
struct yj_pos yj_pos_of(const struct yj_doc *d, const cJSON *node);

/* yj_emit - v as one YAML document (block style, UTF-8, no "---", no line
 * folding), written by libyaml's emitter: libyaml quotes what needs
 * quoting, and a string that would read back as another type (null, true,
 * 12, 1e3, "", and YAML 1.1's yes/no/on/off and number-like or
 * timestamp-like strings) is double-quoted, so yj_parse (and a YAML 1.1
 * reader) gives v back. Objects nested deeper than max_depth (<= 0: 64)
 * are refused. Returns 0 with *out (heap, NUL-terminated; *outlen bytes
 * when outlen is not NULL), or -1 with err set. */
int yj_emit(const cJSON *v, int max_depth, char **out, size_t *outlen, char *err, size_t errlen);

/* yj_free - release everything in d (safe on a zeroed or failed doc). */
void yj_free(struct yj_doc *d);

#endif
