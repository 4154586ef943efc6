/* test_exec_plugin.c - the exec and plugin adapters, for real: a stage
 * (--in none --out none --once) whose start() triggers exec runs and plugin
 * operations, polls their status from the loop until each is final, and
 * records what happened; main() then checks it. Hostile plugins (garbage,
 * huge output, exit 3, a hang, an unknown status...) are written to the
 * scratch directory. The pure parts (response decoder, exit-file mapping,
 * names) are checked by table first. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/adapter.h"
#include "adapters/exec.h"
#include "adapters/plugin.h"
#include "util/proc.h"
#include "util/log.h"
#include "util/util.h"
#include "ipc/stage.h"
#include "unit.h"

#define POLL_MS     50
#define GIVE_UP_MS  40000

static char dir[512];                 /* scratch (unit_tmpdir) */
static char example[PATH_MAX];        /* examples/plugins/promo-plugin-example, or "" */

/* --- tables ------------------------------------------------------------ */

static const struct {
    int verb;
    const char *in;
    int rc, error, found;
    int status;                 /* expected run status when rc == 0 and no error */
    const char *id, *msg;       /* expected id; substring of errmsg */
} decode_cases[] = {
    { PLUGIN_TRIGGER, "{\"ok\":true,\"run\":{\"id\":\"42\",\"url\":\"https://ci/42\",\"status\":\"queued\"}}",
      0, 0, 0, RUN_QUEUED, "42", NULL },
    { PLUGIN_STATUS, "{\"v\":1,\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"running\",\"detail\":\"step 2\"}}\n",
      0, 0, 0, RUN_RUNNING, "42", NULL },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"passed\",\"duration_ms\":1200}}",
      0, 0, 0, RUN_PASSED, "42", NULL },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"failed\"}}", 0, 0, 0, RUN_FAILED, "42", NULL },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"cancelled\"}}", 0, 0, 0, RUN_CANCELLED, "42", NULL },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"timed-out\"}}", 0, 0, 0, RUN_TIMED_OUT, "42", NULL },
    { PLUGIN_FIND, "{\"ok\":true,\"run\":{\"id\":\"7\",\"status\":\"running\"}}", 0, 0, 1, RUN_RUNNING, "7", NULL },
    { PLUGIN_FIND, "{\"ok\":true}", 0, 0, 0, RUN_UNKNOWN, "", NULL },
    { PLUGIN_FIND, "{\"ok\":true,\"run\":null}", 0, 0, 0, RUN_UNKNOWN, "", NULL },
    { PLUGIN_CANCEL, "{\"ok\":true}", 0, 0, 0, RUN_UNKNOWN, "", NULL },
    { PLUGIN_TRIGGER, "{\"ok\":false,\"error\":\"busy\",\"temporary\":true}", 0, ADAPTER_ETEMP, 0, 0, "", "busy" },
    { PLUGIN_TRIGGER, "{\"ok\":false,\"error\":\"no such pipeline\"}", 0, ADAPTER_EPERM, 0, 0, "", "no such pipeline" },
    { PLUGIN_TRIGGER, "{\"ok\":false,\"error\":\"x\",\"temporary\":\"yes\"}", -1, ADAPTER_EPERM, 0, 0, "", "temporary" },
    { PLUGIN_TRIGGER, "{\"ok\":false}", -1, ADAPTER_EPERM, 0, 0, "", "error: missing" },
    /* never a pass */
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"success\"}}", -1, ADAPTER_EPERM, 0, 0, "", "unknown status" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":\"PASSED\"}}", -1, ADAPTER_EPERM, 0, 0, "", "unknown status" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\",\"status\":true}}", -1, ADAPTER_EPERM, 0, 0, "", "run.status" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"42\"}}", -1, ADAPTER_EPERM, 0, 0, "", "run.status: missing" },
    { PLUGIN_STATUS, "{\"ok\":\"true\",\"run\":{\"id\":\"42\",\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "ok:" },
    { PLUGIN_STATUS, "{\"run\":{\"id\":\"42\",\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "ok: missing" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":42,\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "run.id" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"\",\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "run.id" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"a b\",\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "run.id" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"url\":\"javascript:x\",\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "run.url" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"passed\",\"duration_ms\":-1}}", -1, ADAPTER_EPERM, 0, 0, "", "duration_ms" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"passed\",\"detail\":5}}", -1, ADAPTER_EPERM, 0, 0, "", "run.detail" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":[1]}", -1, ADAPTER_EPERM, 0, 0, "", "run: not an object" },
    { PLUGIN_STATUS, "{\"ok\":true}", -1, ADAPTER_EPERM, 0, 0, "", "run: missing" },
    { PLUGIN_TRIGGER, "{\"ok\":true}", -1, ADAPTER_EPERM, 0, 0, "", "run: missing" },
    { PLUGIN_STATUS, "{\"v\":2,\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"passed\"}}", -1, ADAPTER_EPERM, 0, 0, "", "v:" },
    { PLUGIN_STATUS, "", -1, ADAPTER_EPERM, 0, 0, "", "empty" },
    { PLUGIN_STATUS, "hello", -1, ADAPTER_EPERM, 0, 0, "", "not JSON" },
    { PLUGIN_STATUS, "[]", -1, ADAPTER_EPERM, 0, 0, "", "not a JSON object" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"passed\"}} {}", -1, ADAPTER_EPERM, 0, 0, "", "data after" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"passed\"}}\n{\"ok\":true}", -1, ADAPTER_EPERM, 0, 0, "", "data after" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"pass\xff\"}}", -1, ADAPTER_EPERM, 0, 0, "", "UTF-8" },
    { PLUGIN_STATUS, "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"passed\"", -1, ADAPTER_EPERM, 0, 0, "", "not JSON" },
};

/* test_decoder - the response decoder by table, plus a few built cases. */
static void test_decoder(void)
{
    struct adapter_result res;
    size_t i;
    char *big;

    for (i = 0; i < ARRAY_LEN(decode_cases); i++) {
        int rc;

        memset(&res, 0, sizeof(res));
        rc = plugin_decode_response(decode_cases[i].verb, decode_cases[i].in,
                                    strlen(decode_cases[i].in), &res);
        unit_ok(rc == decode_cases[i].rc && res.error == decode_cases[i].error &&
                res.found == decode_cases[i].found &&
                (rc < 0 || res.error || (int)res.run.status == decode_cases[i].status) &&
                strcmp(res.run.id, decode_cases[i].id) == 0 &&
                (!decode_cases[i].msg || strstr(res.errmsg, decode_cases[i].msg)) &&
                (res.error || res.run.status != RUN_PASSED || strstr(decode_cases[i].in, "\"passed\"")),
                "decode %s -> rc %d error %d found %d status %d id %s errmsg %s",
                log_q(decode_cases[i].in), rc, res.error, res.found, (int)res.run.status,
                res.run.id, log_q(res.errmsg));
    }

    /* a NUL byte in the middle */
    memset(&res, 0, sizeof(res));
    unit_ok(plugin_decode_response(PLUGIN_STATUS, "{\"ok\":true}\0xx", 14, &res) < 0 &&
            strstr(res.errmsg, "NUL"), "decode: NUL byte rejected (%s)", res.errmsg);
    /* too large */
    big = xmalloc(PLUGIN_MAX_RESPONSE + 2);
    memset(big, ' ', PLUGIN_MAX_RESPONSE + 1);
    memcpy(big, "{\"ok\":true}", 11);
    memset(&res, 0, sizeof(res));
    unit_ok(plugin_decode_response(PLUGIN_CANCEL, big, PLUGIN_MAX_RESPONSE + 1, &res) < 0 &&
            strstr(res.errmsg, "larger"), "decode: more than 64 KiB rejected");
    memset(&res, 0, sizeof(res));
    unit_ok(plugin_decode_response(PLUGIN_CANCEL, big, PLUGIN_MAX_RESPONSE, &res) == 0 && !res.error,
            "decode: exactly 64 KiB (padded) accepted");
    free(big);
    /* a long detail is cut at a character boundary; control bytes become spaces */
    {
        char in[1024], d[400];
        size_t k;

        d[0] = '\0';
        for (k = 0; k < 100; k++)
            strcat(d, "\xc3\xa9");          /* é, 200 bytes */
        snprintf(in, sizeof(in), "{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"failed\",\"detail\":\"a\\nb%s\"}}", d);
        memset(&res, 0, sizeof(res));
        unit_ok(plugin_decode_response(PLUGIN_STATUS, in, strlen(in), &res) == 0 &&
                strncmp(res.run.detail, "a b\xc3\xa9", 5) == 0 && strlen(res.run.detail) == 127,
                "decode: detail cleaned and cut to 127 bytes on a boundary (%zu)", strlen(res.run.detail));
    }
    /* deep nesting is refused, not a crash */
    {
        size_t n = 5000, k;
        char *deep = xmalloc(2 * n + 64);

        strcpy(deep, "{\"ok\":true,\"x\":");
        for (k = 0; k < n; k++)
            deep[15 + k] = '[';
        for (k = 0; k < n; k++)
            deep[15 + n + k] = ']';
        strcpy(deep + 15 + 2 * n, "}");
        memset(&res, 0, sizeof(res));
        unit_ok(plugin_decode_response(PLUGIN_CANCEL, deep, strlen(deep), &res) < 0,
                "decode: 5000 levels of nesting refused (%s)", res.errmsg);
        free(deep);
    }

    unit_ok(plugin_map_status("passed") == RUN_PASSED && plugin_map_status("queued") == RUN_QUEUED &&
            plugin_map_status("timed-out") == RUN_TIMED_OUT && plugin_map_status("success") < 0 &&
            plugin_map_status("") < 0 && plugin_map_status(NULL) < 0, "plugin_map_status");
    unit_ok(strcmp(plugin_verb_name(PLUGIN_FIND), "status") == 0 &&
            strcmp(plugin_verb_name(PLUGIN_CANCEL), "cancel") == 0, "plugin_verb_name");
}

static const struct {
    const char *text;
    int status;
    const char *detail;
} exit_cases[] = {
    { "exit 0\n", RUN_PASSED, "exit 0" },
    { "exit 0", RUN_PASSED, "exit 0" },
    { "exit 1\n", RUN_FAILED, "exit 1" },
    { "exit 255\n", RUN_FAILED, "exit 255" },
    { "exit 256\n", RUN_FAILED, "bad exit file" },
    { "exit -0\n", RUN_FAILED, "bad exit file" },
    { "exit 0 \n", RUN_FAILED, "bad exit file" },
    { "exit 00x\n", RUN_FAILED, "bad exit file" },
    { "exit \n", RUN_FAILED, "bad exit file" },
    { "exit 0\n\n", RUN_FAILED, "bad exit file" },
    { "signal 9\n", RUN_FAILED, "signal 9" },
    { "signal 0\n", RUN_FAILED, "bad exit file" },
    { "timeout\n", RUN_TIMED_OUT, "timeout" },
    { "cancelled\n", RUN_CANCELLED, "cancelled" },
    { "error\n", RUN_FAILED, "runner error: see output.log" },
    { "", RUN_FAILED, "bad exit file" },
    { "passed\n", RUN_FAILED, "bad exit file" },
};

/* test_exec_pure - exit-file mapping, key and parameter names. */
static void test_exec_pure(void)
{
    char detail[128], name[96];
    size_t i;

    for (i = 0; i < ARRAY_LEN(exit_cases); i++) {
        enum run_status s = exec_map_exit(exit_cases[i].text, detail, sizeof(detail));

        unit_ok((int)s == exit_cases[i].status && strcmp(detail, exit_cases[i].detail) == 0,
                "exec_map_exit %s -> %d %s", log_q(exit_cases[i].text), (int)s, detail);
    }
    unit_ok(exec_key_valid("pk-0123456789abcdef01234567") && exec_key_valid("a") &&
            !exec_key_valid("") && !exec_key_valid(NULL) && !exec_key_valid("-a") &&
            !exec_key_valid("..") && !exec_key_valid("a/b") && !exec_key_valid("A") &&
            !exec_key_valid("a.b") && !exec_key_valid("a b"), "exec_key_valid");
    {
        char k[120];

        memset(k, 'a', sizeof(k) - 1);
        k[sizeof(k) - 1] = '\0';
        unit_ok(!exec_key_valid(k), "exec_key_valid: 119 chars is too long");
        k[100] = '\0';
        unit_ok(exec_key_valid(k), "exec_key_valid: 100 chars is fine");
    }
    unit_ok(exec_param_env_name("outcome", name, sizeof(name)) == 0 &&
            strcmp(name, "PROMO_PARAM_OUTCOME") == 0, "param name outcome -> %s", name);
    unit_ok(exec_param_env_name("a-b.c d", name, sizeof(name)) == 0 &&
            strcmp(name, "PROMO_PARAM_A_B_C_D") == 0, "param name a-b.c d -> %s", name);
    unit_ok(exec_param_env_name("", name, sizeof(name)) < 0 && exec_param_env_name(NULL, name, sizeof(name)) < 0,
            "param name: empty refused");
}

/* --- the live cases ---------------------------------------------------- */

enum { K_TRIGGER, K_SECOND, K_STATUS, K_CANCEL, K_FIND, K_FIND2, K_NOPS };

struct tc;
struct tc_arg {
    struct tc *tc;
    int kind;
};

/* One scenario: trigger (or, for status_only, just poll), maybe cancel,
 * poll status until final, maybe find by key. */
struct tc {
    const char *name;
    const struct adapter *ad;
    char job[PATH_MAX];
    char key[64];
    cJSON *params;
    int64_t timeout_ms;
    int cancel_ms;              /* > 0: cancel this long after the trigger answered */
    int twice;                  /* trigger the same key again at once */
    int find_after;             /* after the final status: find by key, and find an unknown key */
    int status_only;            /* no trigger: poll status of run key */
    int trigger_only;           /* the trigger's answer is the end */
    struct adapter_test t;
    struct tc_arg args[K_NOPS];
    /* what happened */
    int pending, finished, polls, done_in_call, done_calls;
    struct adapter_result res[K_NOPS];
    int got[K_NOPS];
    struct adapter_run run;
    enum run_status final;
    int final_error;
    char final_detail[128], final_errmsg[256];
    int64_t t_final;
};

static struct tc cases[32];
static int ncases;
static int in_call;
static struct adapter_ctx actx;
static int64_t t_start;

/* tc_new - a case for adapter ad with job and key. */
static struct tc *tc_new(const char *name, const struct adapter *ad, const char *job, const char *key)
{
    struct tc *c = &cases[ncases++];
    int k;

    memset(c, 0, sizeof(*c));
    c->name = name;
    c->ad = ad;
    str_copy(c->job, job, sizeof(c->job));
    str_copy(c->key, key, sizeof(c->key));
    c->params = cJSON_CreateObject();
    for (k = 0; k < K_NOPS; k++) {
        c->args[k].tc = c;
        c->args[k].kind = k;
    }
    return c;
}

/* tc_param - add a string parameter. */
static void tc_param(struct tc *c, const char *name, const char *value)
{
    cJSON_AddStringToObject(c->params, name, value);
}

static void tc_done(void *arg, const struct adapter_result *res);

/* tc_call - start one operation of kind on c. */
static void tc_call(struct tc *c, int kind)
{
    struct adapter_test t2;

    c->pending++;
    in_call = 1;
    switch (kind) {
    case K_TRIGGER:
    case K_SECOND:
        c->ad->trigger(&actx, &c->t, tc_done, &c->args[kind]);
        break;
    case K_STATUS:
        c->ad->status(&actx, &c->t, &c->run, tc_done, &c->args[kind]);
        break;
    case K_CANCEL:
        c->ad->cancel(&actx, &c->t, &c->run, tc_done, &c->args[kind]);
        break;
    case K_FIND:
        c->ad->find(&actx, &c->t, tc_done, &c->args[kind]);
        break;
    case K_FIND2:
        t2 = c->t;
        t2.key = "pk-never-triggered";
        c->ad->find(&actx, &t2, tc_done, &c->args[kind]);
        break;
    }
    in_call = 0;
}

/* tc_final - record the end of a case. */
static void tc_final(struct tc *c, const struct adapter_result *res)
{
    if (c->finished)
        return;
    c->finished = 1;
    c->final = res->run.status;
    c->final_error = res->error;
    str_copy(c->final_detail, res->run.detail, sizeof(c->final_detail));
    str_copy(c->final_errmsg, res->errmsg, sizeof(c->final_errmsg));
    c->t_final = now_ms() - t_start;
    if (c->find_after) {
        tc_call(c, K_FIND);
        tc_call(c, K_FIND2);
    }
}

/* tc_poll_cb - ask for the status again. */
static void tc_poll_cb(struct loop *l, void *arg)
{
    struct tc *c = arg;

    c->pending--;
    tc_call(c, K_STATUS);
}

/* tc_poll_later - schedule a status poll. */
static void tc_poll_later(struct tc *c)
{
    c->pending++;
    loop_after(actx.loop, POLL_MS, tc_poll_cb, c);
}

/* tc_cancel_cb - cancel the run now. */
static void tc_cancel_cb(struct loop *l, void *arg)
{
    struct tc *c = arg;

    c->pending--;
    tc_call(c, K_CANCEL);
}

/* run_status_final_local - passed, failed, cancelled, timed out. */
static int run_status_final_local(enum run_status s)
{
    return s == RUN_PASSED || s == RUN_FAILED || s == RUN_CANCELLED || s == RUN_TIMED_OUT;
}

/* tc_done - every operation ends here. */
static void tc_done(void *arg, const struct adapter_result *res)
{
    struct tc_arg *a = arg;
    struct tc *c = a->tc;

    if (in_call)
        c->done_in_call++;
    c->done_calls++;
    c->pending--;
    c->got[a->kind]++;
    c->res[a->kind] = *res;
    switch (a->kind) {
    case K_TRIGGER:
        if (res->error || run_status_final_local(res->run.status) || c->trigger_only) {
            tc_final(c, res);
            break;
        }
        c->run = res->run;
        if (c->cancel_ms > 0) {
            c->pending++;
            loop_after(actx.loop, c->cancel_ms, tc_cancel_cb, c);
        }
        tc_poll_later(c);
        break;
    case K_STATUS:
        c->polls++;
        if (res->error == ADAPTER_ETEMP && c->polls < 100) {
            tc_poll_later(c);
            break;
        }
        if (res->error || run_status_final_local(res->run.status) ||
            now_ms() - t_start > GIVE_UP_MS) {
            tc_final(c, res);
            break;
        }
        tc_poll_later(c);
        break;
    default:
        break;
    }
}

/* --- files ------------------------------------------------------------- */

/* write_file - dir/name = text with mode; the full path into out (if not NULL). */
static void write_file(const char *name, const char *text, int mode, char *out, size_t outlen)
{
    char path[PATH_MAX];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, (mode_t)mode) != 0) {
        perror(path);
        exit(1);
    }
    if (out)
        str_copy(out, path, outlen);
}

/* script - a 0755 script dir/name; its path (static rotating buffers). */
static const char *script(const char *name, const char *body)
{
    static char paths[32][PATH_MAX];
    static int n;
    char *p = paths[n++ % 32];

    write_file(name, body, 0755, p, PATH_MAX);
    return p;
}

/* text_of - contents of path (heap, "" when absent); its size in *len. */
static char *text_of(const char *path, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;

    if (read_file(path, 32 << 20, &buf, &n) < 0)
        return xstrdup("");
    if (len)
        *len = n;
    return buf;
}

/* run_file - STATE/exec/<key>/<name> as text (heap). */
static char *run_file(const char *key, const char *name, size_t *len)
{
    char path[PATH_MAX * 2];

    snprintf(path, sizeof(path), "%s/state/exec/%s/%s", dir, key, name);
    return text_of(path, len);
}

/* find_example - the example plugin, from the repository root (where
 * tests/run runs us) or relative to this binary. */
static void find_example(const char *argv0)
{
    static const char *const tries[] = { "", "/../..", "/../../.." };
    char base[PATH_MAX], path[PATH_MAX * 2];
    size_t i;

    for (i = 0; i < ARRAY_LEN(tries); i++) {
        if (i == 0) {
            if (!getcwd(base, sizeof(base)))
                continue;
        } else {
            const char *slash = strrchr(argv0, '/');

            if (!slash)
                break;
            snprintf(base, sizeof(base), "%.*s%s", (int)(slash - argv0), argv0, tries[i]);
        }
        snprintf(path, sizeof(path), "%s/examples/plugins/promo-plugin-example", base);
        if (access(path, X_OK) == 0 && realpath(path, example))
            return;
    }
    example[0] = '\0';
}

/* --- the stage --------------------------------------------------------- */

static struct tc *c_true, *c_false, *c_timeout, *c_inject, *c_cancel, *c_twice, *c_cap,
    *c_badkey, *c_relative, *c_collide, *c_lost, *c_notexec;
static struct tc *p_pass, *p_fail, *p_twice, *p_cancel, *p_garbage, *p_huge, *p_exit3, *p_hang,
    *p_unknown, *p_temp, *p_noread, *p_otherid, *p_argv, *p_linger, *p_missing;
static char hang_pid_file[PATH_MAX];

/* setup_lost - a run directory whose runner died without a result (after
 * the first exec trigger, which made the exec area). */
static void setup_lost(void)
{
    char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/state/exec/pk-lost", dir);
    unit_ok(mkdir(path, 0700) == 0, "exec: the trigger made the exec area in the state dir");
    write_file("state/exec/pk-lost/started", "2020-01-01T00:00:00.000Z\n", 0600, NULL, 0);
    write_file("state/exec/pk-lost/pid", "999999 1 999998 1\n", 0600, NULL, 0);
}

/* setup_cases - every scenario (files written, nothing started). */
static void setup_cases(void)
{
    char path[PATH_MAX * 2], text[PATH_MAX * 3];
    const char *sh;

    /* exec */
    c_true = tc_new("exec /bin/true", &adapter_exec, "/bin/true", "pk-true");
    c_true->find_after = 1;
    c_false = tc_new("exec /bin/false", &adapter_exec, "/bin/false", "pk-false");
    c_timeout = tc_new("exec sleep past its timeout", &adapter_exec, "/bin/sleep", "pk-timeout");
    tc_param(c_timeout, "args", "30");
    c_timeout->timeout_ms = 300;
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "printf '%%s' \"$1\" > \"$PROMO_RUN_DIR/arg1\"\n"
             "printf '%%s' \"$#\" > \"$PROMO_RUN_DIR/argc\"\n"
             "printf '%%s' \"$PROMO_PARAM_X\" > \"$PROMO_RUN_DIR/envx\"\n"
             "printf '%%s' \"${SECRET_TOKEN-unset}\" > \"$PROMO_RUN_DIR/secret\"\n"
             "printf '%%s|%%s|%%s' \"$PROMO_KEY\" \"$PROMO_TRACKER\" \"$PROMO_TEST\" > \"$PROMO_RUN_DIR/promo\"\n"
             "(exec grep -E '^Sig(Blk|Ign)' /proc/self/status) > \"$PROMO_RUN_DIR/sigs\"\n"
             "ls -l /proc/$$/fd/ > \"$PROMO_RUN_DIR/fds\"\n"
             "echo out-marker; echo err-marker >&2\n");
    sh = script("inject.sh", text);
    c_inject = tc_new("exec: substituted values cannot inject", &adapter_exec, sh, "pk-inject");
    tc_param(c_inject, "args", "; rm -rf / $(touch pwned) `touch pwned`");
    snprintf(text, sizeof(text), "$(touch %s/pwned)", dir);
    tc_param(c_inject, "x", text);
    c_cancel = tc_new("exec cancel", &adapter_exec, "/bin/sleep", "pk-cancel");
    tc_param(c_cancel, "args", "30");
    c_cancel->cancel_ms = 200;
    snprintf(text, sizeof(text), "#!/bin/sh\necho run >> %s/count\nsleep 0.2\n", dir);
    c_twice = tc_new("exec twice with one key", &adapter_exec, script("count.sh", text), "pk-twice");
    c_twice->twice = 1;
    c_cap = tc_new("exec output capped", &adapter_exec,
                   script("big.sh", "#!/bin/sh\nhead -c 11000000 /dev/zero\necho done\n"), "pk-cap");
    c_badkey = tc_new("exec bad key", &adapter_exec, "/bin/true", "../etc");
    c_relative = tc_new("exec relative job", &adapter_exec, "true", "pk-relative");
    write_file("notexec.sh", "#!/bin/sh\nexit 0\n", 0644, path, sizeof(path));
    c_notexec = tc_new("exec job not executable", &adapter_exec, path, "pk-notexec");
    c_collide = tc_new("exec parameters colliding", &adapter_exec, "/bin/true", "pk-collide");
    tc_param(c_collide, "a-b", "1");
    tc_param(c_collide, "a_b", "2");
    c_lost = tc_new("exec lost runner", &adapter_exec, "/bin/true", "pk-lost");
    c_lost->status_only = 1;

    /* plugin: the example */
    if (example[0]) {
        p_pass = tc_new("plugin example pass", &adapter_plugin, example, "pk-ex-pass");
        tc_param(p_pass, "outcome", "pass");
        tc_param(p_pass, "seconds", "0");
        p_pass->find_after = 1;
        p_fail = tc_new("plugin example fail", &adapter_plugin, example, "pk-ex-fail");
        tc_param(p_fail, "outcome", "fail");
        tc_param(p_fail, "seconds", "0");
        p_twice = tc_new("plugin example twice", &adapter_plugin, example, "pk-ex-twice");
        tc_param(p_twice, "seconds", "1");
        p_twice->twice = 1;
        p_cancel = tc_new("plugin example cancel", &adapter_plugin, example, "pk-ex-cancel");
        tc_param(p_cancel, "seconds", "30");
        p_cancel->cancel_ms = 100;
    }
    /* plugin: hostile fakes */
    p_garbage = tc_new("plugin garbage", &adapter_plugin,
                       script("garbage.sh", "#!/bin/sh\ncat >/dev/null\necho 'hello, I am not JSON'\n"), "pk-garbage");
    p_huge = tc_new("plugin huge output", &adapter_plugin,
                    script("huge.sh", "#!/bin/sh\ncat >/dev/null\nprintf '{\"ok\":true,\"x\":\"'\n"
                           "exec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), "pk-huge");
    p_exit3 = tc_new("plugin exits 3", &adapter_plugin,
                     script("exit3.sh", "#!/bin/sh\ncat >/dev/null\necho 'boom: the CI is down' >&2\nexit 3\n"), "pk-exit3");
    snprintf(hang_pid_file, sizeof(hang_pid_file), "%s/hang.pid", dir);
    snprintf(text, sizeof(text), "#!/bin/sh\necho $$ > %s\nexec sleep 60\n", hang_pid_file);
    p_hang = tc_new("plugin hangs", &adapter_plugin, script("hang.sh", text), "pk-hang");
    p_unknown = tc_new("plugin unknown status", &adapter_plugin,
                       script("unknown.sh", "#!/bin/sh\ncat >/dev/null\n"
                              "echo '{\"ok\":true,\"run\":{\"id\":\"1\",\"status\":\"success\"}}'\n"), "pk-unknown");
    p_temp = tc_new("plugin temporary error", &adapter_plugin,
                    script("temp.sh", "#!/bin/sh\ncat >/dev/null\n"
                           "echo '{\"ok\":false,\"error\":\"busy, try later\",\"temporary\":true}'\n"), "pk-temp");
    p_noread = tc_new("plugin answers without reading", &adapter_plugin,
                      script("noread.sh", "#!/bin/sh\nexec 0<&-\n"
                             "echo '{\"ok\":true,\"run\":{\"id\":\"r1\",\"status\":\"passed\"}}'\n"), "pk-noread");
    p_otherid = tc_new("plugin status about another run", &adapter_plugin,
                       script("otherid.sh", "#!/bin/sh\ncat >/dev/null\n"
                              "case $1 in trigger) echo '{\"ok\":true,\"run\":{\"id\":\"r1\",\"status\":\"running\"}}';;\n"
                              "*) echo '{\"ok\":true,\"run\":{\"id\":\"r2\",\"status\":\"passed\"}}';; esac\n"), "pk-otherid");
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "cat > %s/argv.req\n"
             "printf '%%s|%%s' \"$#\" \"$1\" > %s/argv.args\n"
             "printf '%%s|%%s' \"${SECRET_TOKEN-unset}\" \"${PROMO_PLUGIN_STATE-unset}\" > %s/argv.env\n"
             "(exec grep -E '^Sig(Blk|Ign)' /proc/self/status) > %s/argv.sigs\n"
             "echo '{\"ok\":true,\"run\":{\"id\":\"a1\",\"url\":\"https://ci.example/a1\",\"status\":\"passed\",\"duration_ms\":5}}'\n",
             dir, dir, dir, dir);
    p_argv = tc_new("plugin argv, env and request", &adapter_plugin, script("argv.sh", text), "pk-argv");
    tc_param(p_argv, "outcome", "pass");
    tc_param(p_argv, "evil", "$(touch pwned); --verbose");
    p_linger = tc_new("plugin leaves a process holding stderr", &adapter_plugin,
                      script("linger.sh", "#!/bin/sh\ncat >/dev/null\n(sleep 3 >/dev/null) &\n"
                             "echo '{\"ok\":true,\"run\":{\"id\":\"l1\",\"status\":\"running\"}}'\n"), "pk-linger");
    p_linger->trigger_only = 1;
    p_missing = tc_new("plugin missing", &adapter_plugin, "/nonexistent/plugin", "pk-missing");
}

/* t_begin - fill each case's adapter_test and start it. */
static int t_begin(struct stage *st)
{
    int i;

    actx.loop = st->loop;
    actx.cfg = &st->cfg;
    actx.store = st->store;
    t_start = now_ms();
    for (i = 0; i < ncases; i++) {
        struct tc *c = &cases[i];

        c->t.tracker = "acme-shop-42";
        c->t.name = c->name;
        c->t.provider = c->ad->provider;
        c->t.job = c->job;
        c->t.params = c->params;
        c->t.key = c->key;
        c->t.repository = "acme/shop";
        c->t.ref = "feature/x";
        c->t.sha = "0123456789abcdef0123456789abcdef01234567";
        c->t.timeout_ms = c->timeout_ms;
        if (c->status_only) {
            setup_lost();
            str_copy(c->run.id, c->key, sizeof(c->run.id));
            tc_call(c, K_STATUS);
            continue;
        }
        tc_call(c, K_TRIGGER);
        if (c->twice)
            tc_call(c, K_SECOND);
    }
    return 0;
}

/* t_busy - 1 while any case has work in flight. */
static int t_busy(struct stage *st)
{
    int i;

    for (i = 0; i < ncases; i++)
        if (!cases[i].finished || cases[i].pending > 0)
            return 1;
    return 0;
}

/* t_child - reap nothing blindly: the adapters reap their own children. */
static void t_child(struct stage *st)
{
}

static const struct stage_ops t_ops = {
    .prog = "test-exec-plugin",
    .summary = "exec and plugin adapters under a real stage loop",
    .start = t_begin,
    .busy = t_busy,
    .child = t_child,
};

/* --- checks ------------------------------------------------------------ */

/* check_final - c ended with status want (and detail containing detail). */
static void check_final(const struct tc *c, enum run_status want, const char *detail)
{
    if (!c)
        return;
    unit_ok(c->finished && !c->final_error && c->final == want &&
            (!detail || strstr(c->final_detail, detail)),
            "%s: final %d (want %d) detail %s error %d %s after %lld ms", c->name, (int)c->final,
            (int)want, log_q(c->final_detail), c->final_error, log_q(c->final_errmsg),
            (long long)c->t_final);
}

/* check_error - c ended with error (and errmsg containing msg). */
static void check_error(const struct tc *c, int error, const char *msg)
{
    if (!c)
        return;
    unit_ok(c->finished && c->final_error == error && c->final != RUN_PASSED &&
            (!msg || strstr(c->final_errmsg, msg)),
            "%s: error %d (want %d) errmsg %s after %lld ms", c->name, c->final_error, error,
            log_q(c->final_errmsg), (long long)c->t_final);
}

/* check_exec - what the exec runs left on disk. */
static void check_exec(void)
{
    char *s, *t;
    size_t len = 0;
    int i;

    check_final(c_true, RUN_PASSED, "exit 0");
    unit_ok(strcmp(c_true->res[K_TRIGGER].run.id, "pk-true") == 0 &&
            strncmp(c_true->res[K_TRIGGER].run.url, "file://", 7) == 0 &&
            strstr(c_true->res[K_TRIGGER].run.url, "/exec/pk-true/output.log") &&
            strstr(c_true->res[K_TRIGGER].run.api, "/exec/pk-true"),
            "exec: run id %s url %s api %s", c_true->res[K_TRIGGER].run.id,
            c_true->res[K_TRIGGER].run.url, c_true->res[K_TRIGGER].run.api);
    unit_ok(c_true->got[K_FIND] == 1 && c_true->res[K_FIND].found == 1 &&
            c_true->res[K_FIND].run.status == RUN_PASSED, "exec find by key: found, passed");
    unit_ok(c_true->got[K_FIND2] == 1 && c_true->res[K_FIND2].found == 0 &&
            c_true->res[K_FIND2].error == 0, "exec find of an unknown key: not found, no error");
    s = run_file("pk-true", "pid", NULL);
    t = run_file("pk-true", "finished", NULL);
    unit_ok(s[0] && t[0] && time_parse_iso(strtok(t, "\n")) > 0, "exec: pid and finished files written");
    free(s);
    free(t);
    check_final(c_false, RUN_FAILED, "exit 1");
    check_final(c_timeout, RUN_TIMED_OUT, "timeout");
    unit_ok(c_timeout->t_final < 5000, "exec timeout: killed at its deadline (%lld ms)",
            (long long)c_timeout->t_final);

    check_final(c_inject, RUN_PASSED, "exit 0");
    s = run_file("pk-inject", "arg1", NULL);
    unit_ok(strcmp(s, "; rm -rf / $(touch pwned) `touch pwned`") == 0, "exec: args is one literal argv element: %s", log_q(s));
    free(s);
    s = run_file("pk-inject", "argc", NULL);
    unit_ok(strcmp(s, "1") == 0, "exec: argv holds [job, args] only (argc %s)", s);
    free(s);
    s = run_file("pk-inject", "envx", NULL);
    unit_ok(strstr(s, "$(touch ") == s, "exec: parameter x arrives as PROMO_PARAM_X, literally: %s", log_q(s));
    free(s);
    {
        char path[PATH_MAX * 2];

        snprintf(path, sizeof(path), "%s/pwned", dir);
        unit_ok(access(path, F_OK) < 0, "exec: nothing was executed from a value");
    }
    s = run_file("pk-inject", "secret", NULL);
    unit_ok(strcmp(s, "unset") == 0, "exec: the stage's environment is not inherited (%s)", s);
    free(s);
    s = run_file("pk-inject", "promo", NULL);
    unit_ok(strcmp(s, "pk-inject|acme-shop-42|exec: substituted values cannot inject") == 0,
            "exec: PROMO_KEY, PROMO_TRACKER, PROMO_TEST: %s", log_q(s));
    free(s);
    s = run_file("pk-inject", "sigs", NULL);
    unit_ok(strstr(s, "SigBlk:\t0000000000000000") && strstr(s, "SigIgn:\t0000000000000000"),
            "exec: the program starts with no blocked or ignored signal: %s", log_q(s));
    free(s);
    s = run_file("pk-inject", "fds", NULL);
    {
        int pipes = 0;
        const char *q;

        for (q = s; (q = strstr(q, "pipe:")) != NULL; q++)
            pipes++;
        unit_ok(s[0] && !strstr(s, "socket:") && !strstr(s, "anon_inode:") && pipes <= 2,
                "exec: the program inherits no fd of the stage (sockets, signalfd...): %s", log_q(s));
    }
    free(s);
    s = run_file("pk-inject", "output.log", NULL);
    unit_ok(strstr(s, "out-marker") && strstr(s, "err-marker"), "exec: stdout and stderr in output.log");
    free(s);

    check_final(c_cancel, RUN_CANCELLED, "cancel");
    unit_ok(c_cancel->got[K_CANCEL] == 1 && c_cancel->res[K_CANCEL].error == 0 &&
            c_cancel->res[K_CANCEL].run.status == RUN_CANCELLED, "exec cancel answered cancelled");
    unit_ok(c_cancel->t_final < 5000, "exec cancel: stopped at once (%lld ms)", (long long)c_cancel->t_final);

    check_final(c_twice, RUN_PASSED, "exit 0");
    unit_ok(c_twice->got[K_SECOND] == 1 && c_twice->res[K_SECOND].error == 0 &&
            strcmp(c_twice->res[K_SECOND].run.id, "pk-twice") == 0,
            "exec: the second trigger of a key reports the existing run (%s)", c_twice->res[K_SECOND].errmsg);
    {
        char path[PATH_MAX * 2];

        snprintf(path, sizeof(path), "%s/count", dir);
        s = text_of(path, NULL);
        unit_ok(strcmp(s, "run\n") == 0, "exec: one key, one run (%s)", log_q(s));
        free(s);
    }

    check_final(c_cap, RUN_PASSED, "exit 0");
    s = run_file("pk-cap", "output.log", &len);
    unit_ok(len > EXEC_OUTPUT_MAX && len < EXEC_OUTPUT_MAX + 100 && strstr(s + EXEC_OUTPUT_MAX, "truncated"),
            "exec: output.log capped at 10 MiB with a note (%zu bytes)", len);
    free(s);

    check_error(c_badkey, ADAPTER_EPERM, "safe name");
    check_error(c_relative, ADAPTER_EPERM, "absolute");
    check_error(c_notexec, ADAPTER_EPERM, "not an executable");
    check_error(c_collide, ADAPTER_EPERM, "same variable");
    check_final(c_lost, RUN_FAILED, "lost");

    for (i = 0; i < ncases; i++)
        unit_ok(cases[i].done_in_call == 0 && cases[i].pending == 0,
                "%s: done never called from inside the starting call, nothing left pending",
                cases[i].name);
}

/* check_plugin - the example and the hostile fakes. */
static void check_plugin(void)
{
    char path[PATH_MAX * 2], *s;

    if (example[0]) {
        check_final(p_pass, RUN_PASSED, NULL);
        unit_ok(p_pass->res[K_TRIGGER].error == 0 && strcmp(p_pass->res[K_TRIGGER].run.id, "pk-ex-pass") == 0,
                "plugin example: trigger answered run %s", p_pass->res[K_TRIGGER].run.id);
        unit_ok(p_pass->got[K_FIND] && p_pass->res[K_FIND].found == 1 &&
                p_pass->res[K_FIND].run.status == RUN_PASSED, "plugin find by key: found (%s)",
                p_pass->res[K_FIND].errmsg);
        unit_ok(p_pass->got[K_FIND2] && p_pass->res[K_FIND2].found == 0 && p_pass->res[K_FIND2].error == 0,
                "plugin find of an unknown key: not found (%s)", p_pass->res[K_FIND2].errmsg);
        check_final(p_fail, RUN_FAILED, NULL);
        check_final(p_twice, RUN_PASSED, NULL);
        unit_ok(p_twice->got[K_SECOND] && !p_twice->res[K_SECOND].error &&
                strcmp(p_twice->res[K_SECOND].run.id, p_twice->res[K_TRIGGER].run.id) == 0,
                "plugin example: a second trigger returns the same run");
        check_final(p_cancel, RUN_CANCELLED, NULL);
        unit_ok(p_cancel->got[K_CANCEL] && !p_cancel->res[K_CANCEL].error &&
                p_cancel->res[K_CANCEL].run.status == RUN_CANCELLED, "plugin example: cancel answered cancelled (%s)",
                p_cancel->res[K_CANCEL].errmsg);
    } else {
        unit_note("examples/plugins/promo-plugin-example not found: example cases skipped");
    }
    check_error(p_garbage, ADAPTER_EPERM, "not JSON");
    check_error(p_huge, ADAPTER_EPERM, "larger than");
    check_error(p_exit3, ADAPTER_ETEMP, "exited 3: boom: the CI is down");
    check_error(p_hang, ADAPTER_ETEMP, "no answer within");
    s = text_of(hang_pid_file, NULL);
    unit_ok(s[0] && proc_start_time((pid_t)atol(s)) < 0, "plugin hang: the plugin was killed (pid %s)",
            log_q(s));
    free(s);
    check_error(p_unknown, ADAPTER_EPERM, "unknown status");
    check_error(p_temp, ADAPTER_ETEMP, "busy, try later");
    check_final(p_noread, RUN_PASSED, NULL);
    check_error(p_otherid, ADAPTER_EPERM, "not the run asked about");
    check_final(p_argv, RUN_PASSED, NULL);
    unit_ok(strcmp(p_argv->res[K_TRIGGER].run.url, "https://ci.example/a1") == 0 &&
            p_argv->res[K_TRIGGER].run.duration_ms == 5, "plugin: url and duration decoded");
    snprintf(path, sizeof(path), "%s/argv.args", dir);
    s = text_of(path, NULL);
    unit_ok(strcmp(s, "1|trigger") == 0, "plugin: argv holds only the verb (%s)", log_q(s));
    free(s);
    snprintf(path, sizeof(path), "%s/argv.env", dir);
    s = text_of(path, NULL);
    {
        char want[PATH_MAX * 2];

        snprintf(want, sizeof(want), "unset|%s/plugin-state", dir);
        unit_ok(strcmp(s, want) == 0, "plugin: no inherited secret, PROMO_PLUGIN_* passed (%s)", log_q(s));
    }
    free(s);
    snprintf(path, sizeof(path), "%s/argv.sigs", dir);
    s = text_of(path, NULL);
    unit_ok(strstr(s, "SigBlk:\t0000000000000000") && strstr(s, "SigIgn:\t0000000000000000"),
            "plugin: starts with no blocked or ignored signal: %s", log_q(s));
    free(s);
    snprintf(path, sizeof(path), "%s/argv.req", dir);
    s = text_of(path, NULL);
    {
        cJSON *req = cJSON_Parse(s);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "parameters");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "v");

        unit_ok(req && cJSON_IsNumber(v) && v->valueint == 1 &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "verb")), "trigger") == 0 &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "key")), "pk-argv") == 0 &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "tracker")), "acme-shop-42") == 0 &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "sha")),
                       "0123456789abcdef0123456789abcdef01234567") == 0 &&
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "evil")), "$(touch pwned); --verbose") == 0 &&
                !cJSON_GetObjectItemCaseSensitive(req, "run") && s[strlen(s) - 1] == '\n',
                "plugin: the request on stdin: %s", log_q(s));
        cJSON_Delete(req);
    }
    free(s);
    check_final(p_linger, RUN_RUNNING, NULL);
    unit_ok(p_linger->t_final < 2500, "plugin: a leftover process holding stderr does not delay the answer (%lld ms)",
            (long long)p_linger->t_final);
    check_error(p_missing, ADAPTER_EPERM, "No such file");
}

int main(int argc, char **argv)
{
    char cfg[PATH_MAX * 2], text[PATH_MAX * 2];
    char *sargv[] = { "test_exec_plugin", "--in", "none", "--out", "none", "--once", NULL };
    int code, i;

    test_decoder();
    test_exec_pure();

    str_copy(dir, unit_tmpdir(), sizeof(dir));
    find_example(argv[0]);
    snprintf(text, sizeof(text), "stateDir: %s/state\nrunDir: %s/run\ndurableWrites: false\n", dir, dir);
    write_file("promo.yaml", text, 0600, cfg, sizeof(cfg));
    snprintf(cfg, sizeof(cfg), "%s/promo.yaml", dir);
    setenv("PROMO_CONFIG", cfg, 1);
    setenv("PROMO_PLUGIN_TIMEOUT_MS", "6000", 1);   /* the example runs jq five times: slow on a loaded machine */
    snprintf(text, sizeof(text), "%s/plugin-state", dir);
    setenv("PROMO_PLUGIN_STATE", text, 1);
    setenv("SECRET_TOKEN", "s3cr3t", 1);
    setup_cases();

    code = stage_main((int)ARRAY_LEN(sargv) - 1, sargv, &t_ops);
    unit_ok(code == 0, "the stage ran to the end (code %d)", code);
    for (i = 0; i < ncases; i++)
        unit_ok(cases[i].finished, "%s: finished", cases[i].name);
    check_exec();
    check_plugin();
    for (i = 0; i < ncases; i++)
        cJSON_Delete(cases[i].params);
    return unit_done();
}
