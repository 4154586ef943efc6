/* test_frame.c - the NDJSON frame decoder and encoder (ipc/frame.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "../../ipc/frame.h"
#include "util/util.h"

struct frame_case {
    const char *name;
    const char *in;
    size_t len;              /* 0: strlen(in) */
    const char *want_err;    /* NULL: must decode; else a prefix of the reason */
};

#define GOOD "{\"v\":1,\"kind\":\"tracker\""

static const struct frame_case frame_cases[] = {
    { "minimal tracker", GOOD "}", 0, NULL },
    { "resync", "{\"v\":1,\"kind\":\"resync\"}", 0, NULL },
    { "with newline", GOOD "}\n", 0, NULL },
    { "CRLF accepted", GOOD "}\r\n", 0, NULL },
    { "spaces around", "  " GOOD " }  \n", 0, NULL },
    { "unknown fields kept", GOOD ",\"x\":{\"y\":[1,2,\"\xc3\xa9\"]}}", 0, NULL },
    { "v 1.0 is 1", "{\"v\":1.0,\"kind\":\"tracker\"}", 0, NULL },
    { "4-byte utf-8 ok", GOOD ",\"e\":\"\xf0\x9f\x98\x80\"}", 0, NULL },
    { "U+10FFFF ok", GOOD ",\"e\":\"\xf4\x8f\xbf\xbf\"}", 0, NULL },
    { "escaped quote and brace in string", GOOD ",\"s\":\"\\\"{[\"}", 0, NULL },

    { "empty", "", 0, "empty line" },
    { "only newline", "\n", 0, "empty line" },
    { "overlong /", GOOD ",\"s\":\"\xc0\xaf\"}", 0, "invalid utf-8" },
    { "overlong 3-byte", GOOD ",\"s\":\"\xe0\x80\xaf\"}", 0, "invalid utf-8" },
    { "overlong 4-byte", GOOD ",\"s\":\"\xf0\x80\x80\xaf\"}", 0, "invalid utf-8" },
    { "surrogate", GOOD ",\"s\":\"\xed\xa0\x80\"}", 0, "invalid utf-8" },
    { "above U+10FFFF", GOOD ",\"s\":\"\xf4\x90\x80\x80\"}", 0, "invalid utf-8" },
    { "0xf5 lead", GOOD ",\"s\":\"\xf5\x80\x80\x80\"}", 0, "invalid utf-8" },
    { "lone continuation", GOOD ",\"s\":\"\x80\"}", 0, "invalid utf-8" },
    { "truncated in middle", GOOD ",\"s\":\"\xe2\x82\"}", 0, "invalid utf-8" },
    { "truncated at end", GOOD "}\xe2\x82", 0, "invalid utf-8" },
    { "NUL byte", GOOD ",\"s\":\"a\0b\"}", sizeof(GOOD ",\"s\":\"a\0b\"}") - 1, "invalid utf-8" },
    { "BOM", "\xef\xbb\xbf" GOOD "}", 0, "not json" },
    { "not json", "hello", 0, "not json" },
    { "unterminated object", GOOD, 0, "not json" },
    { "raw tab in string", GOOD ",\"s\":\"a\tb\"}", 0, "not json" },
    { "single quotes", "{'v':1}", 0, "not json" },
    { "array root", "[1,2]", 0, "not an object" },
    { "string root", "\"x\"", 0, "not an object" },
    { "number root", "1", 0, "not an object" },
    { "trailing garbage", GOOD "}x", 0, "trailing garbage" },
    { "two objects", GOOD "}" GOOD "}", 0, "trailing garbage" },
    { "embedded newline", GOOD "}\n" GOOD "}", 0, "embedded newline" },
    { "missing v", "{\"kind\":\"tracker\"}", 0, "missing v" },
    { "V is not v", "{\"V\":1,\"kind\":\"tracker\"}", 0, "missing v" },
    { "v 2", "{\"v\":2,\"kind\":\"tracker\"}", 0, "unsupported version 2" },
    { "v 0", "{\"v\":0,\"kind\":\"tracker\"}", 0, "unsupported version 0" },
    { "v string", "{\"v\":\"1\",\"kind\":\"tracker\"}", 0, "v is not a number" },
    { "v 1.5", "{\"v\":1.5,\"kind\":\"tracker\"}", 0, "v is not an integer" },
    { "v null", "{\"v\":null,\"kind\":\"tracker\"}", 0, "v is not a number" },
    { "missing kind", "{\"v\":1}", 0, "missing kind" },
    { "kind number", "{\"v\":1,\"kind\":3}", 0, "kind is not a string" },
    { "unknown kind", "{\"v\":1,\"kind\":\"bogus\"}", 0, "unknown kind bogus" },
    { "kind case", "{\"v\":1,\"kind\":\"Tracker\"}", 0, "unknown kind" },
};

/* frame_check - decode one case from an exact-size heap copy (so ASan sees
 * any read past the line) and compare with what is wanted. */
static void frame_check(const struct frame_case *c)
{
    size_t len = c->len ? c->len : strlen(c->in);
    char *buf = malloc(len ? len : 1);
    char err[128];
    cJSON *msg;

    memcpy(buf, c->in, len);
    msg = frame_decode(buf, len, err, sizeof(err));
    if (!c->want_err)
        unit_ok(msg != NULL, "decode %s%s%s", c->name, msg ? "" : ": ", msg ? "" : err);
    else
        unit_ok(!msg && strncmp(err, c->want_err, strlen(c->want_err)) == 0,
                "reject %s (want \"%s\", got \"%s\")", c->name, c->want_err,
                msg ? "accepted" : err);
    cJSON_Delete(msg);
    free(buf);
}

/* frame_nested_arrays - GOOD with "d" being extra nested arrays. */
static char *frame_nested_arrays(int extra)
{
    size_t n = strlen(GOOD) + 8 + 2 * (size_t)extra + 4;
    char *s = malloc(n), *p;
    int i;

    p = s + sprintf(s, "%s,\"d\":", GOOD);
    for (i = 0; i < extra; i++)
        *p++ = '[';
    *p++ = '1';
    for (i = 0; i < extra; i++)
        *p++ = ']';
    *p++ = '}';
    *p = '\0';
    return s;
}

/* frame_test_depth - 64 levels (root included) pass, 65 are refused before
 * cJSON parses, and a huge depth is refused without recursion. */
static void frame_test_depth(void)
{
    char err[128], *s;
    cJSON *msg;

    s = frame_nested_arrays(FRAME_MAX_DEPTH - 1);
    msg = frame_decode(s, strlen(s), err, sizeof(err));
    unit_ok(msg != NULL, "depth 64 accepted%s%s", msg ? "" : ": ", msg ? "" : err);
    cJSON_Delete(msg);
    free(s);

    s = frame_nested_arrays(FRAME_MAX_DEPTH);
    msg = frame_decode(s, strlen(s), err, sizeof(err));
    unit_ok(!msg && strcmp(err, "too deep") == 0, "depth 65 refused (%s)", msg ? "accepted" : err);
    cJSON_Delete(msg);
    free(s);

    s = frame_nested_arrays(100000);
    msg = frame_decode(s, strlen(s), err, sizeof(err));
    unit_ok(!msg && strcmp(err, "too deep") == 0, "depth 100001 refused (%s)", msg ? "accepted" : err);
    cJSON_Delete(msg);
    free(s);

    /* brackets inside strings do not count */
    {
        char line[400];
        int i;
        char *p = line + sprintf(line, "%s,\"s\":\"", GOOD);
        for (i = 0; i < 100; i++)
            *p++ = '[';
        strcpy(p, "\"}");
        msg = frame_decode(line, strlen(line), err, sizeof(err));
        unit_ok(msg != NULL, "brackets inside a string are not depth%s%s", msg ? "" : ": ", msg ? "" : err);
        cJSON_Delete(msg);
    }
}

/* frame_test_size - FRAME_MAX bytes pass, FRAME_MAX+1 are "too long". */
static void frame_test_size(void)
{
    size_t pre = strlen(GOOD ",\"pad\":\""), n;
    char *s = malloc(FRAME_MAX + 3), err[128];
    cJSON *msg;

    memcpy(s, GOOD ",\"pad\":\"", pre);
    n = FRAME_MAX - pre - 2;
    memset(s + pre, 'a', n);
    memcpy(s + pre + n, "\"}\n", 3);
    msg = frame_decode(s, FRAME_MAX + 1, err, sizeof(err));
    unit_ok(msg != NULL, "exactly FRAME_MAX bytes + newline accepted%s%s", msg ? "" : ": ", msg ? "" : err);
    cJSON_Delete(msg);

    memset(s + pre, 'a', n + 1);
    memcpy(s + pre + n + 1, "\"}", 2);
    msg = frame_decode(s, FRAME_MAX + 1, err, sizeof(err));
    unit_ok(!msg && strcmp(err, "too long") == 0, "FRAME_MAX+1 bytes refused (%s)", msg ? "accepted" : err);
    cJSON_Delete(msg);
    free(s);
}

/* frame_test_roundtrip - encode(decode(x)) keeps unknown fields, and a
 * message too large or not UTF-8 is not encoded. */
static void frame_test_roundtrip(void)
{
    const char *in = "{\"v\":1,\"kind\":\"tracker\",\"from\":\"promo-watcher\","
                     "\"future\":{\"a\":[1,true,null,\"\xe2\x82\xac\"]},\"name\":\"acme-shop-42\"}";
    char err[128], *line, *big;
    size_t len = 0;
    cJSON *msg, *again, *m2;

    msg = frame_decode(in, strlen(in), err, sizeof(err));
    unit_ok(msg != NULL, "round trip: decode");
    line = msg ? frame_encode(msg, &len) : NULL;
    unit_ok(line && len == strlen(in) + 1 && line[len - 1] == '\n' &&
            memcmp(line, in, len - 1) == 0, "round trip: same bytes, one newline");
    again = line ? frame_decode(line, len, err, sizeof(err)) : NULL;
    unit_ok(again && cJSON_Compare(msg, again, 1), "round trip: equal objects");
    unit_ok(again && cJSON_GetObjectItemCaseSensitive(again, "future") != NULL,
            "round trip: unknown field preserved");
    cJSON_Delete(again);
    free(line);

    big = malloc(FRAME_MAX + 1);
    memset(big, 'x', FRAME_MAX);
    big[FRAME_MAX] = '\0';
    m2 = cJSON_Duplicate(msg, 1);
    cJSON_AddStringToObject(m2, "big", big);
    errno = 0;
    line = frame_encode(m2, &len);
    unit_ok(line == NULL && errno == EMSGSIZE, "encode refuses > FRAME_MAX");
    free(line);
    cJSON_Delete(m2);
    free(big);

    m2 = cJSON_Duplicate(msg, 1);
    cJSON_AddStringToObject(m2, "bad", "\xc0\xaf");
    errno = 0;
    line = frame_encode(m2, &len);
    unit_ok(line == NULL && errno == EILSEQ, "encode refuses invalid utf-8");
    free(line);
    cJSON_Delete(m2);
    cJSON_Delete(msg);
}

/* frame_test_utf8 - the validator on its own. */
static void frame_test_utf8(void)
{
    static const struct { const char *s; size_t len; int want; } cases[] = {
        { "", 0, 1 },
        { "abc", 3, 1 },
        { "\xc2\x80", 2, 1 },
        { "\xdf\xbf", 2, 1 },
        { "\xe0\xa0\x80", 3, 1 },
        { "\xed\x9f\xbf", 3, 1 },
        { "\xee\x80\x80", 3, 1 },
        { "\xf0\x90\x80\x80", 4, 1 },
        { "\xc1\xbf", 2, 0 },
        { "\xe0\x9f\xbf", 3, 0 },
        { "\xed\xbf\xbf", 3, 0 },
        { "\xf0\x8f\xbf\xbf", 4, 0 },
        { "\xf8\x88\x80\x80\x80", 5, 0 },
        { "\xff", 1, 0 },
        { "\xc2", 1, 0 },
        { "\xf0\x90\x80", 3, 0 },
        { "\xc2\x41", 2, 0 },
        { "a\0", 2, 0 },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        unit_ok(frame_utf8_valid((const unsigned char *)cases[i].s, cases[i].len) == cases[i].want,
                "utf8 case %zu is %s", i, cases[i].want ? "valid" : "invalid");
}

/* main - run every check, print the TAP plan. */
int main(void)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(frame_cases); i++)
        frame_check(&frame_cases[i]);
    frame_test_depth();
    frame_test_size();
    frame_test_roundtrip();
    frame_test_utf8();
    unit_ok(frame_kind_known("tracker") && frame_kind_known("resync") &&
            !frame_kind_known("") && !frame_kind_known(NULL), "kinds of v1");
    return unit_done();
}
