/* test_budget.c - the request budget: header decoding (good and bad
 * input), the pacing and reserve arithmetic of polls, windows, refunds of
 * 304s, out-of-order answers, a configured rate, the shared file (two
 * tables on one file see each other's spending), and the list decoding of
 * GitHub's and Jenkins' batched status reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/adapters_internal.h"
#include "util/budget.h"
#include "util/util.h"
#include "unit.h"

/* test_hdr - strict decoding of limit / remaining / reset. */
static void test_hdr(void)
{
    static const struct {
        const char *l, *r, *s;
        int ok;
        const char *desc;
    } cases[] = {
        { "5000", "4999", "1700000000", 0, "GitHub's usual answer" },
        { "5000", "0", "1700000000", 0, "used up" },
        { "5000", "5000", "1", 0, "nothing used" },
        { NULL, "4999", "1700000000", -1, "limit missing" },
        { "5000", NULL, "1700000000", -1, "remaining missing" },
        { "5000", "4999", NULL, -1, "reset missing" },
        { "", "4999", "1700000000", -1, "limit empty" },
        { "0", "0", "1700000000", -1, "limit 0" },
        { "5000", "5001", "1700000000", -1, "remaining above the limit" },
        { "-1", "0", "1700000000", -1, "a sign" },
        { "50 00", "0", "1700000000", -1, "a space inside" },
        { "5000", "12x", "1700000000", -1, "trailing garbage" },
        { "5000", "1", "0", -1, "reset 0" },
        { "5000", "1", "1700000000000", -1, "reset in ms, not s (too large)" },
        { "99999999999999999999", "1", "1700000000", -1, "limit overflows" },
        { "5000", "4999", "1.5", -1, "a fraction" },
    };
    struct budget_hdr h;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        memset(&h, 0, sizeof(h));
        int r = budget_hdr_parse(cases[i].l, cases[i].r, cases[i].s, &h);
        unit_ok(r == cases[i].ok, "hdr %s: %d", cases[i].desc, r);
        if (r == 0)
            unit_ok(h.reset_ms == atoll(cases[i].s) * 1000 && h.limit == atoll(cases[i].l),
                    "hdr %s: values", cases[i].desc);
    }
}

/* test_pace - polls spread over the window above the reserve; other
 * requests always go; a used-up budget waits for the reset. */
static void test_pace(void)
{
    struct budget_slot s;
    struct budget_hdr h = { 1000, 1000, 3600000 };
    int64_t now = 1000, d;
    int i, went = 0;

    memset(&s, 0, sizeof(s));
    unit_ok(budget_slot_take(&s, BUDGET_POLL, now) == 0, "unknown limit: a poll goes");
    budget_slot_observe(&s, &h, 0, now);
    unit_ok(s.limit == 1000 && s.remaining == 1000 && s.reset_ms == 3600000, "first headers adopted");
    unit_ok(budget_slot_reserve(&s) == 100, "reserve: a tenth");
    for (i = 0; i < 100; i++)
        if (budget_slot_take(&s, BUDGET_POLL, now) == 0)
            went++;
    unit_ok(went == BUDGET_BURST + 1, "a burst of %d polls at once, then paced (went %d)", BUDGET_BURST, went);
    d = budget_slot_take(&s, BUDGET_POLL, now);
    unit_ok(d >= BUDGET_MIN_WAIT_MS && d <= 3600000 / 800 + 1, "the next poll waits one interval (%lld)",
            (long long)d);
    unit_ok(budget_slot_take(&s, BUDGET_OTHER, now) == 0, "a promotion step is never held back");
    unit_ok(budget_slot_take(&s, BUDGET_POLL, now + d) == 0, "after the delay the poll goes");
    /* used down to the reserve: polls wait for the reset, steps still go */
    s.remaining = 100;
    d = budget_slot_take(&s, BUDGET_POLL, now + 10000);
    unit_ok(d == 3600000 - (now + 10000), "at the reserve a poll waits until the reset (%lld)", (long long)d);
    unit_ok(s.deferred >= 2, "deferred polls counted");
    unit_ok(budget_slot_take(&s, BUDGET_OTHER, now + 10000) == 0 && s.remaining == 99,
            "a step spends the reserve");
    /* the window ends: full again */
    unit_ok(budget_slot_take(&s, BUDGET_POLL, 3600001) == 0 && s.remaining == 999,
            "a new window starts full (%lld)", (long long)s.remaining);
}

/* test_observe - out-of-order answers, refunds, a new window. */
static void test_observe(void)
{
    struct budget_slot s;
    struct budget_hdr a = { 5000, 4000, 3600000 }, b = { 5000, 4010, 3600000 }, c = { 5000, 4999, 7200000 };
    struct budget_hdr old = { 5000, 10, 500 };

    memset(&s, 0, sizeof(s));
    budget_slot_observe(&s, &a, 0, 1000);
    budget_slot_observe(&s, &b, 0, 1000);
    unit_ok(s.remaining == 4000, "an older answer (more remaining) does not raise it");
    budget_slot_take(&s, BUDGET_OTHER, 1000);
    unit_ok(s.remaining == 3999, "a request counted when let go");
    budget_slot_observe(&s, NULL, 1, 1000);
    unit_ok(s.remaining == 4000, "a 304 is given back");
    budget_slot_observe(&s, &old, 0, 1000);
    unit_ok(s.remaining == 4000, "an answer of a window already over is ignored");
    budget_slot_observe(&s, &c, 0, 1000);
    unit_ok(s.remaining == 4999 && s.reset_ms == 7200000, "a later window replaces it");
}

/* test_config - a configured rate (Jenkins): its own window, headers win. */
static void test_config(void)
{
    struct budget_slot s;
    struct budget_hdr h = { 600, 599, 10000000 };
    int i, went = 0;

    memset(&s, 0, sizeof(s));
    budget_slot_config(&s, 360, 0);
    unit_ok(s.limit == 360 && s.remaining == 360 && s.reset_ms == BUDGET_WINDOW_MS, "rate 360 an hour");
    for (i = 0; i < 400; i++)
        went += budget_slot_take(&s, BUDGET_POLL, 0) == 0;
    unit_ok(went >= 15 && went <= 17, "a burst of a 20th of what is above the reserve, then paced (%d)", went);
    for (i = 0; i < 400; i++)
        went += budget_slot_take(&s, BUDGET_OTHER, 0) == 0;
    unit_ok(s.remaining == 0, "steps spend to 0, never below");
    unit_ok(budget_slot_take(&s, BUDGET_POLL, BUDGET_WINDOW_MS) == 0, "the next window lets polls go");
    budget_slot_config(&s, 360, BUDGET_WINDOW_MS + 5);
    unit_ok(s.remaining == 359, "the same rate again keeps the window");
    budget_slot_observe(&s, &h, 0, 1000);
    budget_slot_config(&s, 360, 2000);
    unit_ok(s.limit == 600 && s.window_ms == 0, "headers win over a configured rate");
}

/* test_shared - two tables on one file share one budget; no token in it. */
static void test_shared(void)
{
    char dir[] = "/tmp/promo-budget-XXXXXX", path[256], buf[sizeof(struct budget_slot) * BUDGET_SLOTS + 64];
    struct budget *a, *b;
    struct budget_slot s;
    uint64_t k = budget_key_url("github", "https://api.github.com/repos/o/r", "Authorization: Bearer sekrit-token");
    FILE *f;
    size_t n;

    unit_ok(mkdtemp(dir) != NULL, "temp dir");
    a = budget_open(dir);
    b = budget_open(dir);
    unit_ok(k == budget_key_url("github", "https://api.github.com/other", "Authorization: Bearer sekrit-token"),
            "one key per origin and credential");
    unit_ok(k != budget_key_url("github", "https://api.github.com", "Authorization: Bearer other"),
            "another token, another budget");
    budget_take(a, k, "github", 0, BUDGET_OTHER);
    budget_take(b, k, "github", 0, BUDGET_OTHER);
    unit_ok(budget_get(a, k, &s) == 0 && s.sent == 2, "both processes' requests counted in one slot (%lld)",
            (long long)s.sent);
    snprintf(path, sizeof(path), "%s/%s", dir, BUDGET_FILE);
    f = fopen(path, "rb");
    n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    unit_ok(n > 0 && !memmem(buf, n, "sekrit", 6), "the file holds no token");
    budget_close(a);
    budget_close(b);
    unlink(path);
    rmdir(dir);
    a = budget_open(NULL);
    unit_ok(budget_take(a, k, "github", 0, BUDGET_POLL) == 0, "a private table works too");
    budget_close(a);
}

/* test_add - collect the runs of a list. */
static int nadded;
static struct adapter_run added[4];
static void test_add(void *arg, const struct adapter_run *run)
{
    if (nadded < 4)
        added[nadded] = *run;
    nadded++;
}

/* One list answer and what decoding it must give. */
struct list_case {
    const char *json;
    int r, n;                   /* the result; runs given to add */
    const char *desc;
};

typedef int (*list_fn)(const cJSON *, void (*)(void *, const struct adapter_run *), void *, char *, size_t);

/* test_lists - each case through fn; the first case's runs stay in added[]. */
static void test_lists(const char *sys, list_fn fn, const struct list_case *cases, size_t n)
{
    char err[200];
    size_t i;

    for (i = n; i-- > 0;) {
        cJSON *j = cJSON_Parse(cases[i].json);
        nadded = 0;
        int r = fn(j, test_add, NULL, err, sizeof(err));
        unit_ok(r == cases[i].r && (r < 0 || nadded == cases[i].n), "%s list %s: %d (%s)", sys, cases[i].desc,
                r, r < 0 ? err : "");
        cJSON_Delete(j);
    }
}

/* test_github_list - GitHub's list of workflow runs, good and bad. */
static void test_github_list(void)
{
    static const struct list_case cases[] = {
        { "{\"total_count\":2,\"workflow_runs\":[{\"id\":7,\"html_url\":\"http://gh/r\",\"status\":\"completed\","
          "\"conclusion\":\"success\"},{\"id\":8,\"html_url\":\"http://gh/r\",\"status\":\"in_progress\","
          "\"conclusion\":null}]}", 0, 2, "two runs" },
        { "{\"workflow_runs\":[]}", 0, 0, "no run" },
        { "{\"total_count\":1}", -1, 0, "workflow_runs missing" },
        { "{\"workflow_runs\":{}}", -1, 0, "workflow_runs not an array" },
        { "[1]", -1, 0, "not an object" },
        { "{\"workflow_runs\":[{\"id\":\"x\",\"status\":\"queued\"}]}", -1, 0, "an id not a number" },
        { "{\"workflow_runs\":[{\"id\":9,\"html_url\":\"http://gh/r\",\"status\":7}]}", -1, 0, "a status not a string" },
    };

    test_lists("github", github_batch_list, cases, ARRAY_LEN(cases));
    unit_ok(strcmp(added[0].id, "7") == 0 && added[0].status == RUN_PASSED && added[1].status == RUN_RUNNING,
            "github list: ids and statuses");
}

/* test_jenkins_list - a job's builds[] from one tree= query, good and bad. */
static void test_jenkins_list(void)
{
    static const struct list_case cases[] = {
        { "{\"builds\":[{\"number\":2,\"url\":\"http://j/job/x/2/\",\"building\":true,\"result\":null},"
          "{\"number\":1,\"url\":\"http://j/job/x/1/\",\"building\":false,\"result\":\"SUCCESS\","
          "\"duration\":1200}]}", 0, 2, "two builds" },
        { "{\"builds\":null}", 0, 0, "builds null" },
        { "{}", 0, 0, "no builds" },
        { "{\"builds\":{}}", -1, 0, "builds not an array" },
        { "[]", -1, 0, "not an object" },
        { "{\"builds\":[{\"number\":0,\"url\":\"http://j/job/x/0/\",\"building\":false}]}", -1, 0,
          "build number 0" },
        { "{\"builds\":[{\"number\":3,\"url\":\"file:///etc/passwd\",\"building\":false}]}", -1, 0,
          "a url not http(s)" },
        { "{\"builds\":[{\"number\":3,\"url\":\"http://j/job/x/3/\",\"building\":\"no\"}]}", -1, 0,
          "building not a bool" },
    };

    test_lists("jenkins", jenkins_batch_list, cases, ARRAY_LEN(cases));
    unit_ok(strcmp(added[0].id, "2") == 0 && added[0].status == RUN_RUNNING && added[1].status == RUN_PASSED
            && added[1].duration_ms == 1200, "jenkins list: numbers, statuses and durations");
}

int main(void)
{
    test_hdr();
    test_pace();
    test_observe();
    test_config();
    test_shared();
    test_github_list();
    test_jenkins_list();
    return unit_done();
}
