/* test_yamljson.c - yj_parse: the core schema, positions, limits, hostile input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "util/yamljson.h"
#include "unit.h"

/* A document and the compact JSON it must turn into. */
static const struct {
    const char *in, *want;
} good[] = {
    { "a: 1\n", "[{\"a\":1}]" },
    { "", "[]" },
    { "# only a comment\n", "[]" },
    { "---\n", "[null]" },
    { "---\na: 1\n---\n- 2\n...\n---\nx\n", "[{\"a\":1},[2],\"x\"]" },
    { "[~, null, Null, NULL, '']", "[[null,null,null,null,\"\"]]" },
    { "a:\n", "[{\"a\":null}]" },
    { "[true, True, TRUE, false, False, FALSE]", "[[true,true,true,false,false,false]]" },
    { "[0, -3, +4, 012, 0o17, 0x1f, 0xFF]", "[[0,-3,4,12,15,31,255]]" },
    { "[1.5, -0.25, .5, 1e3, 2.5E-1, +1.]", "[[1.5,-0.25,0.5,1000,0.25,1]]" },
    { "[yes, no, on, off, y, n]", "[[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\"]]" },
    { "[0o8, 0x, 1_000, 1.2.3, -, ., .nan1, 12ab, 2026-11-28]",
      "[[\"0o8\",\"0x\",\"1_000\",\"1.2.3\",\"-\",\".\",\".nan1\",\"12ab\",\"2026-11-28\"]]" },
    { "['1', \"true\", 'null', \"~\"]", "[[\"1\",\"true\",\"null\",\"~\"]]" },
    { "a: |\n  line1\n  line2\nb: >-\n  folded\n  text\n",
      "[{\"a\":\"line1\\nline2\\n\",\"b\":\"folded text\"}]" },
    { "a: !!str 12\nb: !!int \"7\"\nc: !!float 3\nd: !!bool \"true\"\ne: !!null ''\nf: ! 5\n",
      "[{\"a\":\"12\",\"b\":7,\"c\":3,\"d\":true,\"e\":null,\"f\":\"5\"}]" },
    { "m: !!map {a: 1}\ns: !!seq [1]\n", "[{\"m\":{\"a\":1},\"s\":[1]}]" },
    { "1: a\ntrue: b\n~: c\n\"<<\": d\n", "[{\"1\":\"a\",\"true\":\"b\",\"~\":\"c\",\"<<\":\"d\"}]" },
    { "base: &b {x: 1, y: [1, 2]}\ncopy: *b\ns: &s hello\nt: *s\n",
      "[{\"base\":{\"x\":1,\"y\":[1,2]},\"copy\":{\"x\":1,\"y\":[1,2]},\"s\":\"hello\",\"t\":\"hello\"}]" },
    { "a: &x 1\nb: &x 2\nc: *x\n", "[{\"a\":1,\"b\":2,\"c\":2}]" },
    { "{\"a\": {\"b\": [1, 2.5, true, null, \"x\\u00e9\"]}, \"c\": {}}",
      "[{\"a\":{\"b\":[1,2.5,true,null,\"x\xc3\xa9\"]},\"c\":{}}]" },
    { "- a\n- - b\n  - c\n- {d: e}\n", "[[\"a\",[\"b\",\"c\"],{\"d\":\"e\"}]]" },
};

/* A document that must fail, and a piece of the error it must give. */
static const struct {
    const char *in, *want;
} bad[] = {
    { "a: 1\na: 2\n", "t.yaml:2:1: duplicate key \"a\"" },
    { "a: {b: 1, b: 2}\n", "t.yaml:1:11: duplicate key \"b\"" },
    { "a: &x {b: 1}\nc:\n  <<: *x\n", "t.yaml:3:3: merge keys are not supported" },
    { "a: !foo 1\n", "t.yaml:1:4: unsupported tag !foo" },
    { "a: !!binary aGk=\n", "unsupported tag tag:yaml.org,2002:binary" },
    { "a: !!map [1]\n", "unsupported tag tag:yaml.org,2002:map on a sequence" },
    { "a: !!int x\n", "t.yaml:1:4: \"x\" is not a valid !!int" },
    { "a: !!bool 1\n", "is not a valid !!bool" },
    { "a: !!null 0\n", "is not a valid !!null" },
    { "? [a]\n: 1\n", "t.yaml:1:3: a sequence as a mapping key is not supported" },
    { "{a: 1}: 2\n", "a mapping as a mapping key is not supported" },
    { "a: &k x\n*k : 2\n", "t.yaml:2:1: an alias as a mapping key is not supported" },
    { "a: 9007199254740993\n", "t.yaml:1:4: integer out of range" },
    { "a: -0x20000000000001\n", "" },   /* "-0x..." is not an int: a string, so not an error */
    { "a: 0x20000000000001\n", "integer out of range" },
    { "a: .inf\n", "t.yaml:1:4: .inf is not a finite number" },
    { "a: -.Inf\n", "not a finite number" },
    { "a: .NaN\n", "not a finite number" },
    { "a: 1e400\n", "not a finite number" },
    { "a: *nope\n", "t.yaml:1:4: unknown anchor *nope" },
    { "a: &a [1, *a]\n", "t.yaml:1:11: alias *a refers to a node that contains it" },
    { "---\na: &x 1\n---\nb: *x\n", "t.yaml:4:4: unknown anchor *x" },
    { "a: b\n  c: d\n", "t.yaml:2:4: mapping values are not allowed in this context" },
    { "a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']'" },
    { "a: \"\\0\"\n", "t.yaml:1:4: NUL byte in scalar" },
    { "a:\tb: c\n", "t.yaml:1:" },
};

/* to_json - compact JSON of the docs array (caller frees). */
static char *to_json(const struct yj_doc *d)
{
    return cJSON_PrintUnformatted(d->docs);
}

/* check_good - parse in and compare with want. */
static void check_good(const char *in, const char *want)
{
    struct yj_doc d;
    char err[512];
    char *got;

    if (yj_parse(in, strlen(in), "t.yaml", NULL, &d, err, sizeof(err)) < 0) {
        unit_ok(0, "good %s", want);
        unit_note("error: %s", err);
        return;
    }
    got = to_json(&d);
    if (!unit_ok(strcmp(got, want) == 0, "good %s", want))
        unit_note("got %s", got);
    free(got);
    yj_free(&d);
}

/* check_bad - parse in; it must fail with want in the error (or succeed when want is ""). */
static void check_bad(const char *in, const char *want, const struct yj_limits *lim)
{
    struct yj_doc d;
    char err[512];
    int rc = yj_parse(in, strlen(in), "t.yaml", lim, &d, err, sizeof(err));

    if (!*want) {
        char shown[64];
        size_t i, o = 0;

        for (i = 0; in[i] && o + 3 < sizeof(shown); i++) {
            if (in[i] == '\n')
                shown[o++] = '\\', shown[o++] = 'n';
            else
                shown[o++] = in[i];
        }
        shown[o] = 0;
        if (!unit_ok(rc == 0, "accepted %s", shown))
            unit_note("err=%s", err);
        yj_free(&d);
        return;
    }
    if (!unit_ok(rc < 0 && strstr(err, want) != NULL && d.docs == NULL, "bad: %s", want))
        unit_note("rc=%d err=%s", rc, rc < 0 ? err : "");
    yj_free(&d);
}

/* test_int_range - 2^53 is the largest integer kept as a number. */
static void test_int_range(void)
{
    static const char in[] = "[9007199254740992, -9007199254740992, 0x20000000000000]";
    struct yj_doc d;
    char err[512];
    const cJSON *a;

    if (!unit_ok(yj_parse(in, strlen(in), "t.yaml", NULL, &d, err, sizeof(err)) == 0, "2^53 parses"))
        return;
    a = cJSON_GetArrayItem(d.docs, 0);
    unit_ok(cJSON_GetArrayItem(a, 0)->valuedouble == 9007199254740992.0
            && cJSON_GetArrayItem(a, 1)->valuedouble == -9007199254740992.0
            && cJSON_GetArrayItem(a, 2)->valuedouble == 9007199254740992.0, "2^53 kept exactly");
    yj_free(&d);
}

/* test_positions - lines and columns of nodes and of their keys. */
static void test_positions(void)
{
    static const char in[] =
        "apiVersion: v1\n"                  /* 1 */
        "spec:\n"                           /* 2 */
        "  tests:\n"                        /* 3 */
        "    - name: unit\n"                /* 4 */
        "      job:   build\n"              /* 5 */
        "  base: &b {x: 1}\n"               /* 6 */
        "  copy: *b\n"                      /* 7 */
        "---\n"                             /* 8 */
        "second: [a, \"b\"]\n";             /* 9 */
    static const struct {
        const char *path;
        int line, col, key_line, key_col;
    } want[] = {
        { "0", 1, 1, 0, 0 },
        { "0.apiVersion", 1, 13, 1, 1 },
        { "0.spec", 3, 3, 2, 1 },
        { "0.spec.tests", 4, 5, 3, 3 },
        { "0.spec.tests.0", 4, 7, 0, 0 },
        { "0.spec.tests.0.name", 4, 13, 4, 7 },
        { "0.spec.tests.0.job", 5, 14, 5, 7 },
        { "0.spec.base", 6, 9, 6, 3 },
        { "0.spec.base.x", 6, 16, 6, 13 },
        { "0.spec.copy", 7, 9, 7, 3 },
        { "0.spec.copy.x", 6, 16, 6, 13 },     /* an alias's insides point at the anchor */
        { "1.second", 9, 9, 9, 1 },
        { "1.second.1", 9, 13, 0, 0 },
    };
    struct yj_doc d;
    struct yj_pos none;
    char err[512];
    size_t i;

    if (!unit_ok(yj_parse(in, strlen(in), "p.yaml", NULL, &d, err, sizeof(err)) == 0,
                 "positions document parses")) {
        unit_note("%s", err);
        return;
    }
    for (i = 0; i < ARRAY_LEN(want); i++) {
        char path[128], *save = NULL, *tok;
        const cJSON *n = d.docs;
        struct yj_pos p;

        str_copy(path, want[i].path, sizeof(path));
        for (tok = strtok_r(path, ".", &save); tok && n; tok = strtok_r(NULL, ".", &save))
            n = cJSON_IsArray(n) ? cJSON_GetArrayItem(n, atoi(tok))
                                 : cJSON_GetObjectItemCaseSensitive(n, tok);
        p = yj_pos_of(&d, n);
        if (!unit_ok(n && p.line == want[i].line && p.col == want[i].col
                     && p.key_line == want[i].key_line && p.key_col == want[i].key_col,
                     "position of %s", want[i].path))
            unit_note("got %d:%d key %d:%d", p.line, p.col, p.key_line, p.key_col);
    }
    none = yj_pos_of(&d, NULL);
    unit_ok(none.line == 0 && none.col == 0, "position of NULL is zero");
    yj_free(&d);
}

/* test_limits - depth, nodes, documents, size, NUL, on hostile inputs. */
static void test_limits(void)
{
    struct yj_limits small = { 1024, 4, 10, 2 };
    struct yj_doc d;
    char err[512], *big;
    size_t i, n = 100000;
    int rc;

    /* 100,000 levels of flow and of block nesting */
    big = xmalloc(2 * n + 1);
    memset(big, '[', n);
    memset(big + n, ']', n);
    big[2 * n] = 0;
    rc = yj_parse(big, 2 * n, "deep.yaml", NULL, &d, err, sizeof(err));
    unit_ok(rc < 0 && strstr(err, "deep.yaml:1:65: nesting too deep (limit 64)"),
            "100000 levels of [ refused at depth 64");
    free(big);
    big = xmalloc(n * 3 + 2);
    for (i = 0; i < n; i++)
        memcpy(big + 2 * i, "- ", 2);
    memcpy(big + 2 * n, "x\n", 3);
    rc = yj_parse(big, strlen(big), "deep.yaml", NULL, &d, err, sizeof(err));
    unit_ok(rc < 0 && strstr(err, "nesting too deep"), "100000 levels of - refused");
    free(big);

    check_bad("[[[[1]]]]", "", &small);
    check_bad("[[[[[1]]]]]", "t.yaml:1:5: nesting too deep (limit 4)", &small);
    check_bad("a: &a [[1]]\nb: [*a]\n", "", &small);
    check_bad("a: &a [[1]]\nb: [[*a]]\n", "t.yaml:2:6: nesting too deep (limit 4, aliases included)",
              &small);
    check_bad("[1, 2, 3, 4, 5, 6, 7, 8, 9]", "", &small);
    check_bad("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "t.yaml:1:29: too many nodes (limit 10", &small);
    check_bad("a: &a [1, 2, 3]\nb: *a\n", "", &small);
    check_bad("a: &a [1, 2, 3]\nb: *a\nc: *a\n", "t.yaml:3:4: too many nodes", &small);
    check_bad("--- 1\n--- 2\n", "", &small);
    check_bad("--- 1\n--- 2\n--- 3\n", "t.yaml:3:1: too many documents (limit 2)", &small);

    /* billion laughs: 9^9 strings if expanded; must stop at the node budget */
    {
        static const char lol[] =
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
            "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
            "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
            "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
            "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
            "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
            "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
            "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        check_bad(lol, "too many nodes (limit 100000, aliases included)", NULL);
    }

    /* NUL bytes, size */
    rc = yj_parse("a: 1\nb: x\0y\n", 12, "nul.yaml", NULL, &d, err, sizeof(err));
    unit_ok(rc < 0 && strcmp(err, "nul.yaml:2:5: NUL byte in input") == 0, "NUL byte refused");
    check_bad("[1]", "", &small);
    big = xmalloc(2000);
    memset(big, ' ', 1999);
    big[1999] = 0;
    big[0] = 'x';
    check_bad(big, "t.yaml: input is 1999 bytes, over the limit of 1024", &small);
    free(big);
}

/* test_file - yj_parse_file: a good file, a too-big file, a missing file. */
static void test_file(void)
{
    struct yj_limits small = { 64, 0, 0, 0 };
    struct yj_doc d;
    char path[600], err[1024];
    FILE *f;
    int rc, i;

    snprintf(path, sizeof(path), "%s/ok.yaml", unit_tmpdir());
    f = fopen(path, "w");
    fputs("a:\n  - 1\n", f);
    fclose(f);
    rc = yj_parse_file(path, &small, &d, err, sizeof(err));
    unit_ok(rc == 0 && cJSON_GetArraySize(d.docs) == 1 && strcmp(d.file, path) == 0
            && yj_pos_of(&d, cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(d.docs, 0),
                                                                     "a"), 0)).line == 2,
            "yj_parse_file reads a file");
    yj_free(&d);

    snprintf(path, sizeof(path), "%s/big.yaml", unit_tmpdir());
    f = fopen(path, "w");
    for (i = 0; i < 100; i++)
        fputs("k: v\n", f);
    fclose(f);
    rc = yj_parse_file(path, &small, &d, err, sizeof(err));
    unit_ok(rc < 0 && strstr(err, "big.yaml: file is larger than the limit of 64 bytes")
            && d.docs == NULL, "yj_parse_file refuses a file over max_bytes");

    snprintf(path, sizeof(path), "%s/none.yaml", unit_tmpdir());
    rc = yj_parse_file(path, NULL, &d, err, sizeof(err));
    unit_ok(rc < 0 && strstr(err, "none.yaml: cannot read: No such file"), "missing file");
    rc = yj_parse_file(unit_tmpdir(), NULL, &d, err, sizeof(err));
    unit_ok(rc < 0 && strstr(err, "not a regular file"), "directory refused");
    yj_free(&d);
    yj_free(&d);
    unit_ok(1, "yj_free twice is safe");
}

/* test_emit - yj_emit's YAML reads back as the same JSON, whatever the
 * strings look like; what needs quoting is quoted; limits hold. */
static void test_emit(void)
{
    static const char *const docs[] = {
        "{\"a\":\"true\",\"b\":\"null\",\"c\":\"\",\"d\":\"123\",\"e\":\"1e3\",\"f\":\"0x1F\",\"g\":\"~\","
        "\"h\":\".inf\",\"i\":\"-.5\",\"j\":\"0o17\",\"k\":\"+12\"}",
        "{\"yes\":\"yes\",\"on\":\"off\",\"y\":\"n\",\"ts\":\"2026-11-28T04:30:00Z\",\"sexa\":\"1:20\",\"u\":\"1_000\","
        "\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"merge\":\"<<\"}",
        "{\"colon\":\"a: b\",\"hash\":\"#x\",\"dash\":\"- x\",\"lead\":\" x\",\"trail\":\"x \",\"nl\":\"one\\ntwo\\n\","
        "\"quote\":\"it's \\\"q\\\"\",\"utf8\":\"\u00fcn\u00efc\u00f6de \u2713\",\"star\":\"*a\",\"amp\":\"&a\","
        "\"bang\":\"!x\",\"pct\":\"%x\",\"at\":\"@x\",\"tick\":\"`x\",\"brace\":\"{x}\",\"tab\":\"a\\tb\","
        "\"ctl\":\"a\\u0001b\",\"\":\"empty key\",\"a key: with colon\":1}",
        "{\"n\":[1,-3,1.5,9007199254740992,-0.25,1e-7],\"b\":[true,false,null],\"e\":{},\"ea\":[],"
        "\"nest\":[[1,[2,{\"x\":[]}]],{\"y\":{\"z\":\"w\"}}]}",
        "[\"top\",\"level\",{\"seq\":1}]",
        "\"just a string\"",
        "42",
    };
    char err[256], *out;
    size_t i, len;
    cJSON *deep, *cur;

    for (i = 0; i < ARRAY_LEN(docs); i++) {
        cJSON *v = cJSON_Parse(docs[i]);
        struct yj_doc d;
        int ok = 0;

        err[0] = '\0';
        out = NULL;
        if (v && yj_emit(v, 0, &out, &len, err, sizeof(err)) == 0 && strlen(out) == len &&
            yj_parse(out, len, "emitted", NULL, &d, err, sizeof(err)) == 0) {
            ok = cJSON_GetArraySize(d.docs) == 1 && cJSON_Compare(cJSON_GetArrayItem(d.docs, 0), v, 1);
            yj_free(&d);
        }
        unit_ok(ok, "emit %zu reads back the same %s", i, err);
        if (!ok && out)
            unit_note("%s", out);
        free(out);
        cJSON_Delete(v);
    }
    {
        cJSON *v = cJSON_Parse("{\"s\":\"true\",\"t\":true,\"n\":\"12\",\"m\":12,\"p\":\"plain words\",\"o\":\"on\"}");
        unit_ok(yj_emit(v, 0, &out, NULL, err, sizeof(err)) == 0 &&
                strcmp(out, "s: \"true\"\nt: true\n\"n\": \"12\"\nm: 12\np: plain words\no: \"on\"\n") == 0,
                "emit: strings (and keys: n is a YAML 1.1 boolean) that look like something else are double-quoted, the rest plain");
        free(out);
        cJSON_Delete(v);
    }
    deep = cJSON_CreateArray();
    for (cur = deep, i = 0; i < 70; i++) {
        cJSON *n = cJSON_CreateArray();
        cJSON_AddItemToArray(cur, n);
        cur = n;
    }
    out = (char *)"x";
    unit_ok(yj_emit(deep, 0, &out, NULL, err, sizeof(err)) < 0 && out == NULL && strstr(err, "deeper than 64"),
            "emit: nesting beyond the limit is refused: %s", err);
    unit_ok(yj_emit(deep, 100, &out, NULL, err, sizeof(err)) == 0, "emit: a higher limit takes it");
    free(out);
    cJSON_Delete(deep);
    unit_ok(yj_emit(NULL, 0, &out, NULL, err, sizeof(err)) < 0 && out == NULL, "emit: NULL is refused");
}

int main(void)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(good); i++)
        check_good(good[i].in, good[i].want);
    for (i = 0; i < ARRAY_LEN(bad); i++)
        check_bad(bad[i].in, bad[i].want, NULL);
    test_int_range();
    test_positions();
    test_limits();
    test_file();
    test_emit();
    return unit_done();
}
