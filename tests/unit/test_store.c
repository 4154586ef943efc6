/* test_store.c - unit tests of domain/store.c: round trips, listing, name
 * checks, quarantine of corrupt records, and a crash before rename. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"
#include "domain/store.h"
#include "util/util.h"
#include "domain/tracker.h"
#include "unit.h"

static char state[PATH_MAX];

/* put_raw - write bytes to STATE/area/file directly (bypassing the store). */
static void put_raw(const char *area, const char *file, const void *data, size_t len)
{
    char path[2 * PATH_MAX + 600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/%s", state, area, file);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* unlink_raw_ok - remove STATE/area/file directly; 1 when done. */
static int unlink_raw_ok(const char *area, const char *file)
{
    char path[2 * PATH_MAX + 600];

    snprintf(path, sizeof(path), "%s/%s/%s", state, area, file);
    return unlink(path) == 0;
}

/* exists - does STATE/area/file exist (lstat)? */
static int exists(const char *area, const char *file)
{
    char path[2 * PATH_MAX + 600];
    struct stat sb;

    snprintf(path, sizeof(path), "%s/%s/%s", state, area, file);
    return lstat(path, &sb) == 0;
}

/* file_text - contents of STATE/sub/file, heap, or NULL; its length in
 * file_len. */
static size_t file_len;
static char *file_text(const char *sub, const char *file)
{
    char path[2 * PATH_MAX + 600];
    char *buf = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%s/%s", state, sub, file);
    file_len = 0;
    if (read_file(path, 1 << 20, &buf, &len) < 0)
        return NULL;
    file_len = len;
    return buf;
}

/* find_in - the first file in STATE/sub starting with prefix and ending
 * with suffix, copied into out; 1 if found. */
static int find_in(const char *sub, const char *prefix, const char *suffix, char *out, size_t len)
{
    char path[2 * PATH_MAX + 600];
    struct dirent *de;
    DIR *d;
    int found = 0;

    snprintf(path, sizeof(path), "%s/%s", state, sub);
    d = opendir(path);
    if (!d)
        return 0;
    while (!found && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name), pl = strlen(prefix), sl = strlen(suffix);
        if (n >= pl + sl && strncmp(de->d_name, prefix, pl) == 0
            && strcmp(de->d_name + n - sl, suffix) == 0) {
            snprintf(out, len, "%s", de->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* test_open - store_open creates every area, 0700; a missing dir without
 * create fails with ENOENT. */
static struct store *test_open(void)
{
    static const char *dirs[] = { "trackers", "watcher", "policy", "trigger", "monitor",
                                  "promoter", "approvals", "quarantine" };
    char path[2 * PATH_MAX + 600];
    struct store *s;
    struct stat sb;
    size_t i;

    snprintf(path, sizeof(path), "%s/nope", unit_tmpdir());
    errno = 0;
    unit_ok(store_open(path, 0) == NULL && errno == ENOENT, "open without create: ENOENT");

    snprintf(state, sizeof(state), "%s/state/sub/", unit_tmpdir());
    s = store_open(state, 1);
    unit_ok(s != NULL, "open with create (mkdir -p)");
    if (!s)
        exit(unit_done());
    state[strlen(state) - 1] = '\0';
    unit_ok(strcmp(store_dir(s), state) == 0, "store_dir drops trailing slash");
    for (i = 0; i < ARRAY_LEN(dirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", state, dirs[i]);
        unit_ok(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700,
                "area %s created 0700", dirs[i]);
    }
    unit_ok(store_area_path(s, "trigger", path, sizeof(path)) != NULL
            && strcmp(path + strlen(state), "/trigger") == 0, "store_area_path");
    unit_ok(store_area_path(s, "../etc", path, sizeof(path)) == NULL, "store_area_path unknown");
    store_close(s);
    s = store_open(state, 0);
    unit_ok(s != NULL, "reopen without create");
    return s;
}

/* test_roundtrip - write, read, overwrite, remove. */
static void test_roundtrip(struct store *s)
{
    cJSON *doc = cJSON_Parse("{\"a\":1,\"s\":\"x y\",\"o\":{\"k\":[1,2,null]}}");
    cJSON *doc2 = cJSON_Parse("{\"a\":2}");
    cJSON *arr = cJSON_Parse("[1]");
    cJSON *got = NULL;
    struct stat sb;
    char path[2 * PATH_MAX + 600];
    char *text;

    unit_ok(store_write(s, "trackers", "acme-shop-42", doc) == 0, "write");
    unit_ok(store_read(s, "trackers", "acme-shop-42", &got) == 0 && cJSON_Compare(got, doc, 1),
            "read back equal");
    cJSON_Delete(got);
    text = file_text("trackers", "acme-shop-42.json");
    unit_ok(text && text[strlen(text) - 1] == '\n',
            "file is compact JSON + newline");
    unit_ok(text && strcmp(text, "{\"a\":1,\"s\":\"x y\",\"o\":{\"k\":[1,2,null]}}\n") == 0,
            "file content exact");
    free(text);
    snprintf(path, sizeof(path), "%s/trackers/acme-shop-42.json", state);
    unit_ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "record mode 0600");

    unit_ok(store_write(s, "trackers", "acme-shop-42", doc2) == 0, "overwrite");
    got = NULL;
    unit_ok(store_read(s, "trackers", "acme-shop-42", &got) == 0 && cJSON_Compare(got, doc2, 1),
            "read back new content");
    cJSON_Delete(got);
    got = NULL;
    unit_ok(store_read(s, "trackers", "absent", &got) == -ENOENT && got == NULL, "absent: ENOENT");
    unit_ok(store_write(s, "trackers", "arr", arr) == -EINVAL, "write of an array: EINVAL");
    unit_ok(store_remove(s, "trackers", "acme-shop-42") == 0
            && !exists("trackers", "acme-shop-42.json"), "remove");
    unit_ok(store_remove(s, "trackers", "acme-shop-42") == 0, "remove absent is 0");

    atomic_durable(0);
    unit_ok(store_write(s, "watcher", "nodurable", doc) == 0, "write without durability");
    atomic_durable(1);
    cJSON_Delete(doc);
    cJSON_Delete(doc2);
    cJSON_Delete(arr);
}

/* test_list - sorted, only valid "*.json" records. */
static void test_list(struct store *s)
{
    static const char *want[] = { "a", "b.c", "z-9" };
    cJSON *doc = cJSON_Parse("{}");
    char path[2 * PATH_MAX + 600];
    char **names = NULL;
    int n, ok;
    size_t i;

    store_write(s, "policy", "z-9", doc);
    store_write(s, "policy", "a", doc);
    store_write(s, "policy", "b.c", doc);
    put_raw("policy", ".hidden.json", "{}", 2);
    put_raw("policy", ".a.json.tmp.99999.0", "{}", 2);
    put_raw("policy", "notes.txt", "{}", 2);
    put_raw("policy", "Upper.json", "{}", 2);
    put_raw("policy", "bad_name.json", "{}", 2);
    put_raw("policy", ".json", "{}", 2);
    put_raw("policy", "x.json.bak", "{}", 2);
    snprintf(path, sizeof(path), "%s/policy/dir.json", state);
    mkdir(path, 0700);

    n = store_list(s, "policy", &names);
    ok = n == (int)ARRAY_LEN(want);
    for (i = 0; ok && i < ARRAY_LEN(want); i++)
        ok = strcmp(names[i], want[i]) == 0;
    unit_ok(ok && names[n] == NULL, "list sorted, skipping hidden/temp/non-json/invalid (%d)", n);
    store_list_free(names);

    n = store_list(s, "approvals", &names);
    unit_ok(n == 0 && names && names[0] == NULL, "list of an empty area");
    store_list_free(names);
    n = store_list(s, "../policy", &names);
    unit_ok(n == -EINVAL && names == NULL, "list of an unknown area: EINVAL");
    cJSON_Delete(doc);
}

/* test_names - names that would escape or are not DNS names: EINVAL. */
static void test_names(struct store *s)
{
    static const char *bad[] = { "", ".", "..", "../x", "a/b", "/abs", "A", "-a", "a-",
                                 "x y", "a\nb", ".hidden", "a_b", "trackers/../../x" };
    static const char *bad_area[] = { "", "nope", "../trackers", "trackers/..", "quarantine",
                                      "Trackers" };
    cJSON *doc = cJSON_Parse("{}");
    cJSON *got;
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        got = NULL;
        unit_ok(store_write(s, "watcher", bad[i], doc) == -EINVAL
                && store_read(s, "watcher", bad[i], &got) == -EINVAL && got == NULL
                && store_remove(s, "watcher", bad[i]) == -EINVAL
                && store_quarantine(s, "watcher", bad[i], "x") == -EINVAL,
                "name %s rejected", log_q(bad[i]));
    }
    for (i = 0; i < ARRAY_LEN(bad_area); i++) {
        got = NULL;
        unit_ok(store_write(s, bad_area[i], "a", doc) == -EINVAL
                && store_read(s, bad_area[i], "a", &got) == -EINVAL
                && store_lock(s, bad_area[i]) == -EINVAL,
                "area %s rejected", log_q(bad_area[i]));
    }
    cJSON_Delete(doc);
}

/* test_corrupt - each corrupt record is quarantined with a reason. */
static void test_corrupt(struct store *s)
{
    static const struct {
        const char *name, *data;
        size_t len;
        const char *reason;          /* substring of the .reason file */
    } cases[] = {
        { "empty", "", 0, "empty" },
        { "truncated", "{\"a\":[1,2", 9, "invalid JSON" },
        { "garbage", "\x01\xff\xfe\x80zz", 6, "invalid JSON" },
        { "array", "[1,2,3]\n", 8, "not a JSON object" },
        { "string", "\"x\"", 3, "not a JSON object" },
        { "trailing", "{\"a\":1} x", 9, "invalid JSON" },
        { "two-docs", "{}{}", 4, "invalid JSON" },
        { "nul", "{}\0{}", 5, "NUL byte" },
        { "spaces", "   \n", 4, "invalid JSON" },
    };
    char file[300], q[512], prefix[300];
    char *text;
    cJSON *got;
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(file, sizeof(file), "%s.json", cases[i].name);
        put_raw("monitor", file, cases[i].data, cases[i].len);
        got = NULL;
        rc = store_read(s, "monitor", cases[i].name, &got);
        unit_ok(rc == -EBADMSG && got == NULL, "corrupt %s: EBADMSG (%d)", cases[i].name, rc);
        unit_ok(!exists("monitor", file), "corrupt %s: gone from its area", cases[i].name);
        snprintf(prefix, sizeof(prefix), "monitor.%s.", cases[i].name);
        unit_ok(find_in("quarantine", prefix, ".json", q, sizeof(q)), "corrupt %s: quarantined",
                cases[i].name);
        text = file_text("quarantine", q);
        unit_ok(text && file_len == cases[i].len && memcmp(text, cases[i].data, cases[i].len) == 0,
                "corrupt %s: bytes kept", cases[i].name);
        free(text);
        text = NULL;
        if (find_in("quarantine", prefix, ".reason", q, sizeof(q)))
            text = file_text("quarantine", q);
        unit_ok(text && strstr(text, cases[i].reason) && text[strlen(text) - 1] == '\n',
                "corrupt %s: reason %s", cases[i].name, log_q(text ? text : "(none)"));
        free(text);
        unit_ok(store_read(s, "monitor", cases[i].name, &got) == -ENOENT, "corrupt %s: now ENOENT",
                cases[i].name);
    }

    /* over STORE_MAX_RECORD: a sparse file of the limit + 1 */
    {
        char path[2 * PATH_MAX + 600];
        int fd;

        snprintf(path, sizeof(path), "%s/monitor/big.json", state);
        fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        rc = fd >= 0 && write(fd, "{", 1) == 1 && ftruncate(fd, STORE_MAX_RECORD + 1) == 0;
        if (fd >= 0)
            close(fd);
        got = NULL;
        unit_ok(rc && store_read(s, "monitor", "big", &got) == -EBADMSG && got == NULL,
                "oversized: EBADMSG");
        unit_ok(!exists("monitor", "big.json") && find_in("quarantine", "monitor.big.", ".reason",
                                                          q, sizeof(q)), "oversized: quarantined");
        text = file_text("quarantine", q);
        unit_ok(text && strstr(text, "too large"), "oversized: reason");
        free(text);
    }

    /* a symlink is not followed, and is moved aside */
    {
        char path[2 * PATH_MAX + 600];

        snprintf(path, sizeof(path), "%s/monitor/link.json", state);
        rc = symlink("/etc/passwd", path);
        got = NULL;
        unit_ok(rc == 0 && store_read(s, "monitor", "link", &got) == -EBADMSG && got == NULL,
                "symlink: EBADMSG");
        unit_ok(!exists("monitor", "link.json")
                && find_in("quarantine", "monitor.link.", ".json", q, sizeof(q)),
                "symlink: quarantined");
    }

    /* two quarantines of the same record do not overwrite each other */
    put_raw("monitor", "twice.json", "x", 1);
    put_raw("monitor", "twice2.json", "y", 1);
    rc = store_quarantine(s, "monitor", "twice", "first");
    put_raw("monitor", "twice.json", "z", 1);
    rc = rc == 0 && store_quarantine(s, "monitor", "twice", "second") == 0;
    {
        char path[2 * PATH_MAX + 600];
        struct dirent *de;
        DIR *d;
        int n = 0;

        snprintf(path, sizeof(path), "%s/quarantine", state);
        d = opendir(path);
        while (d && (de = readdir(d)) != NULL)
            if (strncmp(de->d_name, "monitor.twice.", 14) == 0)
                n++;
        if (d)
            closedir(d);
        unit_ok(rc && n == 4, "quarantine twice keeps both (%d files)", n);
    }
    unit_ok(store_quarantine(s, "monitor", "absent", "x") == -ENOENT, "quarantine absent: ENOENT");
}

/* tracker_json - a valid tracker document named name, with headSHA sha. */
static char *tracker_json(const char *name, const char *sha)
{
    return xasprintf("{\"apiVersion\":\"promo.dev/v1alpha1\",\"kind\":\"PullRequestTracker\","
                     "\"metadata\":{\"name\":\"%s\",\"generation\":1},"
                     "\"spec\":{\"repository\":\"acme/shop\",\"number\":1,\"headSHA\":\"%s\","
                     "\"application\":\"shop\",\"environment\":\"dev\"}}\n", name, sha);
}

/* test_tracker_read - tracker_read quarantines what store_read would not:
 * an invalid document, and one whose metadata.name is not its file's. */
static void test_tracker_read(struct store *s)
{
    static const char sha[] = "0123456789abcdef0123456789abcdef01234567";
    struct tracker t;
    char err[256], q[512], *text, *j;
    cJSON *doc = NULL;
    int rc;

    j = tracker_json("good", sha);
    put_raw("trackers", "good.json", j, strlen(j));
    free(j);
    rc = tracker_read(s, "good", &doc, &t, err, sizeof(err));
    unit_ok(rc == 0 && doc && strcmp(t.name, "good") == 0 && err[0] == '\0', "tracker_read: a valid tracker");
    cJSON_Delete(doc);

    /* the file other.json holds the tracker "good" */
    j = tracker_json("good", sha);
    put_raw("trackers", "other.json", j, strlen(j));
    free(j);
    doc = NULL;
    rc = tracker_read(s, "other", &doc, &t, err, sizeof(err));
    unit_ok(rc == -EBADMSG && doc == NULL, "tracker_read: metadata.name not the file's: EBADMSG (%d)", rc);
    unit_ok(strstr(err, "\"good\"") && strstr(err, "trackers/other.json") && strstr(err, "(quarantined)"),
            "tracker_read: the error names both: %s", err);
    unit_ok(!exists("trackers", "other.json") && exists("trackers", "good.json") &&
            find_in("quarantine", "trackers.other.", ".reason", q, sizeof(q)), "tracker_read: quarantined");
    text = file_text("quarantine", q);
    unit_ok(text && strstr(text, "metadata.name") && strstr(text, "\"good\"") && strstr(text, "trackers/other.json"),
            "tracker_read: the reason names both: %s", log_q(text ? text : "(none)"));
    free(text);

    /* valid JSON, not a valid tracker */
    j = tracker_json("bad", "xyz");
    put_raw("trackers", "bad.json", j, strlen(j));
    free(j);
    rc = tracker_read(s, "bad", NULL, &t, err, sizeof(err));
    unit_ok(rc == -EBADMSG && strstr(err, "spec.headSHA") && !exists("trackers", "bad.json") &&
            find_in("quarantine", "trackers.bad.", ".reason", q, sizeof(q)), "tracker_read: invalid: quarantined (%s)", err);
    unit_ok(tracker_read(s, "nope", NULL, &t, err, sizeof(err)) == -ENOENT && err[0] == '\0', "tracker_read: absent");
}

/* test_quarantine_bytes - a rejected line kept with its reason. */
static void test_quarantine_bytes(struct store *s)
{
    char q[512];
    char *text;
    int rc;

    rc = store_quarantine_bytes(s, "promo-trigger.in", "{bad line", 9, "invalid JSON at byte 1");
    unit_ok(rc == 0 && find_in("quarantine", "promo-trigger.in.", ".bad", q, sizeof(q)),
            "quarantine_bytes: .bad written (%s)", q);
    text = file_text("quarantine", q);
    unit_ok(text && strcmp(text, "{bad line") == 0, "quarantine_bytes: bytes kept");
    free(text);
    text = NULL;
    if (find_in("quarantine", "promo-trigger.in.", ".reason", q, sizeof(q)))
        text = file_text("quarantine", q);
    unit_ok(text && strcmp(text, "invalid JSON at byte 1\n") == 0, "quarantine_bytes: reason");
    free(text);
    rc = store_quarantine_bytes(s, "promo-trigger.in", "x", 1, "again");
    unit_ok(rc == 0, "quarantine_bytes: second in the same ms");
    unit_ok(store_quarantine_bytes(s, "../x", "x", 1, "r") == -EINVAL, "quarantine_bytes: bad what");
}

/* test_lock - store_lock excludes another open file description. */
static void test_lock(struct store *s)
{
    char path[2 * PATH_MAX + 600];
    int fd, fd2, rc;

    fd = store_lock(s, "trackers");
    unit_ok(fd >= 0 && exists("trackers", ".lock"), "lock taken");
    snprintf(path, sizeof(path), "%s/trackers/.lock", state);
    fd2 = open(path, O_RDWR | O_CLOEXEC);
    rc = flock(fd2, LOCK_EX | LOCK_NB);
    unit_ok(fd2 >= 0 && rc < 0 && errno == EWOULDBLOCK, "lock excludes others");
    store_unlock(fd);
    unit_ok(flock(fd2, LOCK_EX | LOCK_NB) == 0, "unlock releases");
    close(fd2);
}

/* test_crash - a writer killed between temp write and rename leaves the
 * old record intact and a temp file that is never listed and is cleaned. */
static void test_crash(struct store *s)
{
    cJSON *old = cJSON_Parse("{\"v\":\"old\"}");
    cJSON *got = NULL;
    char **names = NULL;
    char prefix[64], q[512], area[PATH_MAX + 300];
    pid_t pid;
    int status = 0, n;

    unit_ok(store_write(s, "trigger", "crashy", old) == 0, "crash: old record written");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        cJSON *neu = cJSON_Parse("{\"v\":\"new\"}");
        setenv("PROMO_CRASH_AT", "atomic.before_rename", 1);
        store_write(s, "trigger", "crashy", neu);
        _exit(0);                    /* not reached when crash_point works */
    }
    unit_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
            && WEXITSTATUS(status) == 111, "crash: child died at atomic.before_rename");
    unit_ok(store_read(s, "trigger", "crashy", &got) == 0 && cJSON_Compare(got, old, 1),
            "crash: old record intact");
    cJSON_Delete(got);
    snprintf(prefix, sizeof(prefix), ".crashy.json.tmp.%ld.", (long)pid);
    unit_ok(find_in("trigger", prefix, "", q, sizeof(q)), "crash: temp file left (%s)", q);
    n = store_list(s, "trigger", &names);
    unit_ok(n == 1 && strcmp(names[0], "crashy") == 0, "crash: temp not listed");
    store_list_free(names);
    store_area_path(s, "trigger", area, sizeof(area));
    unit_ok(atomic_clean_temps(area, 3600) == 1 && !find_in("trigger", prefix, "", q, sizeof(q)),
            "crash: atomic_clean_temps removes the dead writer's temp");
    got = NULL;
    unit_ok(store_read(s, "trigger", "crashy", &got) == 0 && cJSON_Compare(got, old, 1),
            "crash: old record still intact");
    cJSON_Delete(got);

    /* a temp left by a dead pid is also cleaned at store_open */
    put_raw("watcher", ".w.json.tmp.2147483646.7", "{", 1);
    {
        struct store *s2 = store_open(state, 0);
        unit_ok(s2 && !exists("watcher", ".w.json.tmp.2147483646.7"), "store_open cleans temps");
        store_close(s2);
    }
    cJSON_Delete(old);
}

/* rename_raw - replace STATE/area/file by writing a temp and renaming it
 * over, as another process's store_write does. */
static void rename_raw(const char *area, const char *file, const char *text)
{
    char tmp[2 * PATH_MAX + 600], path[2 * PATH_MAX + 600];

    put_raw(area, ".other.tmp", text, strlen(text));
    snprintf(tmp, sizeof(tmp), "%s/%s/.other.tmp", state, area);
    snprintf(path, sizeof(path), "%s/%s/%s", state, area, file);
    if (rename(tmp, path) < 0) {
        perror(path);
        exit(1);
    }
}

/* read_n - area/name's "n", or -1 when it cannot be read. */
static int read_n(struct store *s, const char *area, const char *name)
{
    cJSON *o = NULL, *n;
    int v = -1;

    if (store_read(s, area, name, &o) == 0 && cJSON_IsNumber(n = cJSON_GetObjectItemCaseSensitive(o, "n")))
        v = n->valueint;
    cJSON_Delete(o);
    return v;
}

/* test_versions - record versions and the record cache: a change by
 * another writer (rename, in place, removal) is seen at the next read; a
 * writer's leftover temp file (a crash in the middle of a write) changes
 * nothing; versions are per tracker; a second store starts afresh. */
static void test_versions(void)
{
    struct store *s = store_open(state, 0), *s2;
    uint64_t v1, v2, w1;
    cJSON *doc = cJSON_CreateObject();

    unit_ok(s && store_version(s, "cache-a") == 0 && !store_version_known(s), "no versions before the watch");
    unit_ok(store_watch_start(s) == 0 && store_version_known(s) && store_watch_fd(s) >= 0, "watch starts");
    cJSON_AddNumberToObject(doc, "n", 1);
    unit_ok(store_write(s, "monitor", "cache-a", doc) == 0, "own write");
    v1 = store_version(s, "cache-a");
    w1 = store_version(s, "cache-b");
    unit_ok(v1 != 0 && v1 == store_version(s, "cache-a"), "a version stays while nothing changes");
    {
        uint64_t h0, m0, h1, m1;

        store_cache_stats(s, &h0, &m0);
        unit_ok(read_n(s, "monitor", "cache-a") == 1, "read");
        store_cache_stats(s, &h1, &m1);
        unit_ok(h1 == h0 && m1 == m0 + 1, "the first read is a miss");
        unit_ok(read_n(s, "monitor", "cache-a") == 1, "read again");
        store_cache_stats(s, &h0, &m0);
        unit_ok(h0 == h1 + 1 && m0 == m1, "the second read is served by the cache");
    }

    rename_raw("monitor", "cache-a.json", "{\"n\":2}\n");
    v2 = store_version(s, "cache-a");
    unit_ok(v2 != v1, "a rename by another writer changes the version");
    unit_ok(read_n(s, "monitor", "cache-a") == 2, "and the next read sees the new record");
    unit_ok(store_version(s, "cache-b") == w1, "another tracker's version is untouched");

    put_raw("monitor", "cache-a.json", "{\"n\":3}\n", 8);
    unit_ok(store_version(s, "cache-a") != v2, "a write in place changes the version");
    unit_ok(read_n(s, "monitor", "cache-a") == 3, "and the next read sees it");

    v2 = store_version(s, "cache-a");
    put_raw("monitor", ".cache-a.json.tmp.999.1", "{\"n\":", 5);   /* a writer died mid-write */
    unit_ok(store_version(s, "cache-a") == v2 && read_n(s, "monitor", "cache-a") == 3,
            "a half-written temp file is no change");

    put_raw("trackers", "cache-a.json", "{}", 2);
    unit_ok(store_version(s, "cache-a") != v2, "a change in another area of the tracker changes its version");

    unit_ok(unlink_raw_ok("monitor", "cache-a.json") && read_n(s, "monitor", "cache-a") == -1,
            "a removal is seen at the next read");

    {
        uint64_t h0, m0, h1, m1;

        store_cache_stats(s, &h0, &m0);
        unit_ok(read_n(s, "approvals", "cache-z") == -1 && read_n(s, "approvals", "cache-z") == -1,
                "an absent record, twice");
        store_cache_stats(s, &h1, &m1);
        unit_ok(h1 == h0 + 1 && m1 == m0 + 1, "its absence is known the second time");
        rename_raw("approvals", "cache-z.json", "{\"n\":5}\n");
        unit_ok(read_n(s, "approvals", "cache-z") == 5, "and forgotten when the record appears");
    }

    s2 = store_open(state, 0);
    unit_ok(s2 && store_watch_start(s2) == 0, "a second store (a restart) watches too");
    put_raw("monitor", "cache-a.json", "{\"n\":4}\n", 8);
    unit_ok(read_n(s2, "monitor", "cache-a") == 4 && read_n(s, "monitor", "cache-a") == 4,
            "each store reads what is on disk, not the other's cache");
    store_close(s2);
    store_close(s);
    cJSON_Delete(doc);
}

int main(void)
{
    struct store *s;

    log_init("test_store", LOG_ERROR);
    s = test_open();
    if (!s)
        return unit_done();
    test_roundtrip(s);
    test_list(s);
    test_names(s);
    test_corrupt(s);
    test_quarantine_bytes(s);
    test_tracker_read(s);
    test_lock(s);
    test_crash(s);
    test_versions();
    store_close(s);
    return unit_done();
}
