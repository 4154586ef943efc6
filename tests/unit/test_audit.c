/* test_audit.c - the append-only audit log: append, look up by key, decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "util/atomic.h"
#include "util/log.h"
#include "domain/store.h"
#include "util/util.h"
#include "tests/unit/unit.h"

int main(void)
{
    static const struct { const char *line; int ok; const char *why; } lines[] = {
        { "{\"time\":\"t\",\"tracker\":\"a\",\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\",\"key\":\"k\"}", 1, "complete" },
        { "{\"time\":\"t\",\"tracker\":\"a\",\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\",\"key\":\"k\"}\n", 1, "with newline" },
        { "{\"time\":\"t\",\"tracker\":\"a\",\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\"}", 0, "no key" },
        { "{\"time\":1,\"tracker\":\"a\",\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\",\"key\":\"k\"}", 0, "time not a string" },
        { "[1,2]", 0, "array" },
        { "{\"time\":\"t\",\"tracker\":\"a\",\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\",\"key\":\"k\"} x", 0, "trailing garbage" },
        { "{\"time\":\"t\",\"trac", 0, "torn" },
        { "", 0, "empty" },
    };
    struct store *s;
    char path[600], *text, big[20000], err[128];
    size_t len, i;
    int n = 0;

    log_init("test_audit", LOG_FATAL);
    atomic_durable(0);
    s = store_open(unit_tmpdir(), 1);
    unit_ok(s != NULL, "store opens");
    unit_ok(audit_has_key(s, "pk-1", NULL) == 0, "no log yet: key absent");
    unit_ok(audit_append(s, "acme-shop-1", "Normal", "Promoted", "dev -> staging", "pk-1") == 0, "append");
    unit_ok(audit_append(s, "acme-shop-1", "Warning", "TestsFailed", "lint failed\nsecond line", "pk-2") == 0,
            "append with a newline in the message");
    unit_ok(audit_has_key(s, "pk-1", NULL) == 1, "key found");
    unit_ok(audit_has_key(s, "pk-1", "Promoted") == 1, "key and reason found");
    unit_ok(audit_has_key(s, "pk-1", "TestsFailed") == 0, "key with another reason not found");
    unit_ok(audit_has_key(s, "pk-3", NULL) == 0, "unknown key absent");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    unit_ok(audit_append(s, "acme-shop-1", "Normal", "Big", big, "pk-4") == 0, "a huge message is cut, not refused");

    snprintf(path, sizeof(path), "%s/audit.log", store_dir(s));
    unit_ok(read_file(path, 1 << 20, &text, &len) == 0, "log readable");
    for (char *p = text; *p; p = strchr(p, '\n') + 1) {
        char *e = strchr(p, '\n');
        cJSON *o;
        if (!e)
            break;
        o = audit_decode(p, (size_t)(e - p), err, sizeof(err));
        unit_ok(o != NULL && (size_t)(e - p) < AUDIT_LINE_MAX, "line %d decodes and is bounded (%zu bytes)", n + 1, (size_t)(e - p));
        cJSON_Delete(o);
        n++;
    }
    unit_ok(n == 3, "one line per event (%d)", n);
    free(text);

    /* the index reads only what was appended since: by another writer, a
     * line without its newline yet, a log replaced by a shorter one */
    {
        FILE *f = fopen(path, "a");
        unit_ok(f != NULL, "log opens for another writer");
        fputs("{\"time\":\"t\",\"tracker\":\"b\",\"type\":\"Normal\",\"reason\":\"Approved\",\"message\":\"m\",\"key\":\"pk-9\"}\n", f);
        fputs("{\"time\":\"t\",\"tracker\":\"b\",\"type\":\"Normal\",\"reason\":\"Approved\",\"message\":\"m\",\"key\":\"pk-10\"", f);
        fclose(f);
        unit_ok(audit_has_key(s, "pk-9", "Approved") == 1, "an event another process appended is found");
        unit_ok(audit_has_key(s, "pk-10", NULL) == 0, "a line not yet ended is not read");
        f = fopen(path, "a");
        fputs("}\n", f);
        fclose(f);
        unit_ok(audit_has_key(s, "pk-10", "Approved") == 1, "... and is, once its newline is there");
        unit_ok(audit_has_key(s, "pk-1", "Promoted") == 1, "events read before are still known");
        f = fopen(path, "w");
        fputs("{\"time\":\"t\",\"tracker\":\"c\",\"type\":\"Normal\",\"reason\":\"R\",\"message\":\"m\",\"key\":\"pk-11\"}\n", f);
        fclose(f);
        unit_ok(audit_has_key(s, "pk-1", NULL) == 0, "a log that shrank is read again: old keys gone");
        unit_ok(audit_has_key(s, "pk-11", "R") == 1, "... its events found");
    }
    for (i = 0; i < ARRAY_LEN(lines); i++) {
        cJSON *o = audit_decode(lines[i].line, strlen(lines[i].line), err, sizeof(err));
        unit_ok((o != NULL) == lines[i].ok, "decode %s: %s", lines[i].why, o ? "ok" : err);
        cJSON_Delete(o);
    }
    store_close(s);
    return unit_done();
}
