/* ctl_get.c - promoctl get and promoctl list: what each tracker is doing.
 *
 * Both read the state dir only (never the pipeline), so they answer even
 * when every stage is down. A tracker that is not moving says why; its
 * effective state and the tests of its hop come from domain/view.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "util/yamljson.h"
#include "domain/rec_promoter.h"
#include "domain/view.h"
#include "ctl/ctl.h"

/* get_json_flag - parse a lone --json flag; returns 0 or an exit code. */
static int get_json_flag(struct ctl *c, int argc, char **argv, const char *cmd, int nargs,
                         const char **arg)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { 0, 0, 0, 0 },
    };
    int ch;

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'j')
            return ctl_usage_error("%s: unknown option", cmd);
        c->json = 1;
    }
    if (argc - optind != nargs)
        return ctl_usage_error(nargs ? "%s: expected one tracker NAME" : "%s: unexpected argument", cmd);
    if (nargs)
        *arg = argv[optind];
    return 0;
}

/* get_age - "3d4h", "12m", "40s" since epoch_ms. */
static char *get_age(int64_t epoch_ms, char *buf, size_t len)
{
    int64_t s = (wall_ms() - epoch_ms) / 1000;

    if (epoch_ms <= 0)
        snprintf(buf, len, "-");
    else if (s < 0)
        snprintf(buf, len, "0s");
    else if (s < 120)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(buf, len, "%lldm", (long long)(s / 60));
    else if (s < 172800)
        snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    return buf;
}

/* get_duration - "1m05s", "4.2s", "-" for a duration in ms. */
static char *get_duration(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0)
        snprintf(buf, len, "-");
    else if (ms < 60000)
        snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
    else
        snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    return buf;
}

/* get_tests - the tests table of the view's hop. */
static void get_tests(const struct view *v)
{
    char dur[32];
    int i;

    if (!v->ntests)
        return;
    printf("Tests:        %s -> %s%s%s%s\n", v->environment, v->target[0] ? v->target : "?",
           v->policy[0] ? " (policy " : "", v->policy, v->policy[0] ? ")" : "");
    printf("  %-24s %-15s %-9s %-10s %-9s %-25s %s\n", "NAME", "PROVIDER", "REQUIRED", "STATUS",
           "DURATION", "DEADLINE", "URL");
    for (i = 0; i < v->ntests; i++) {
        const struct view_test *r = &v->tests[i];
        printf("  %-24s %-15s %-9s %-10s %-9s %-25s %s%s%s\n", r->name, r->provider[0] ? r->provider : "-",
               r->required ? "yes" : "no", r->status, get_duration(r->duration_ms, dur, sizeof(dur)),
               r->deadline[0] ? r->deadline : "-", r->url[0] ? r->url : "-",
               r->detail[0] ? "  " : "", r->detail);
    }
}

/* The output of promoctl get. */
enum get_output { GET_TEXT = 0, GET_JSON_VIEW, GET_YAML, GET_JSON };

/* get_options - NAME [--json | -o yaml|json]; returns 0 or an exit code. */
static int get_options(int argc, char **argv, const char **name, enum get_output *out)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "output", required_argument, NULL, 'o' },
        { 0, 0, 0, 0 },
    };
    int ch, json = 0, o = 0;

    *out = GET_TEXT;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (ch == 'j') {
            json = 1;
        } else if (ch == 'o') {
            if (strcmp(optarg, "yaml") == 0)
                *out = GET_YAML;
            else if (strcmp(optarg, "json") == 0)
                *out = GET_JSON;
            else
                return ctl_usage_error("get: -o takes yaml or json, not '%s'", optarg);
            o = 1;
        } else {
            return ctl_usage_error("get: unknown option (get NAME [--json | -o yaml|json])");
        }
    }
    if (json && o)
        return ctl_usage_error("get: --json and -o cannot be given together");
    if (json)
        *out = GET_JSON_VIEW;
    if (argc - optind != 1)
        return ctl_usage_error("get: expected one tracker NAME");
    *name = argv[optind];
    return 0;
}

/* get_object - the PullRequestTracker as the original controller's users
 * know it: doc (consumed) with "status" replaced by view_status_json, the
 * promotions from the promoter record's history. Printed as YAML or JSON. */
static int get_object(struct ctl *c, const char *name, cJSON *doc, const struct view *v, enum get_output out)
{
    struct rec_promoter prom;
    char err[256], *text = NULL;
    int rc = rec_promoter_load(c->store, name, NULL, &prom, err, sizeof(err));

    if (rc < 0 && rc != -ENOENT)
        fprintf(stderr, "promoctl: warning: the promoter record of %s is not used: %s\n", name,
                err[0] ? err : strerror(-rc));
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "status");
    cJSON_AddItemToObject(doc, "status", view_status_json(v, rc == 0 ? &prom : NULL));
    rec_promoter_free(&prom);
    if (out == GET_YAML) {
        if (yj_emit(doc, 0, &text, NULL, err, sizeof(err)) < 0) {
            fprintf(stderr, "promoctl: fatal: cannot write tracker %s as YAML: %s\n", name, err);
            cJSON_Delete(doc);
            return EXIT_TEMP;
        }
        fputs(text, stdout);
        free(text);
    } else {
        text = cJSON_Print(doc);
        printf("%s\n", text);
        cJSON_free(text);
    }
    cJSON_Delete(doc);
    return EXIT_OK;
}

/* ctl_get - promoctl get NAME [--json | -o yaml|json]. */
int ctl_get(struct ctl *c, int argc, char **argv)
{
    const char *name = NULL;
    enum get_output out;
    struct view *v;
    char err[256], age[32];
    cJSON *doc;
    int rc;

    if ((rc = get_options(argc, argv, &name, &out)) != 0)
        return rc;
    c->json = out == GET_JSON_VIEW;
    if (!name_valid(name))
        return ctl_usage_error("get: '%s' is not a tracker name", name);
    v = xcalloc(1, sizeof(*v));
    rc = tracker_read(c->store, name, &doc, &v->t, err, sizeof(err));
    if (rc == -ENOENT) {
        fprintf(stderr, "promoctl: fatal: no tracker named %s\n", name);
        free(v);
        return EXIT_PERM;
    }
    if (rc < 0) {
        fprintf(stderr, "promoctl: fatal: unable to read tracker %s: %s\n", name,
                rc == -EBADMSG ? err : strerror(-rc));
        free(v);
        return rc == -EBADMSG ? EXIT_PERM : EXIT_TEMP;
    }
    rc = view_load(c->store, name, v, err, sizeof(err));
    if (rc == 0)
        ctl_targets_apply(c, v);
    if ((out == GET_YAML || out == GET_JSON) && rc == 0) {
        rc = get_object(c, name, doc, v, out);
        free(v);
        return rc;
    }
    if (c->json) {
        char *s;
        if (rc == 0)
            cJSON_AddItemToObject(doc, "view", view_to_json(v));
        s = cJSON_Print(doc);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(doc);
        free(v);
        return EXIT_OK;
    }
    cJSON_Delete(doc);
    if (rc < 0) {
        fprintf(stderr, "promoctl: fatal: tracker %s is invalid: %s\n", name, err[0] ? err : strerror(-rc));
        free(v);
        return rc == -EBADMSG ? EXIT_PERM : EXIT_TEMP;
    }
    printf("Tracker:      %s\n", v->t.name);
    printf("Pull request: %s#%lld%s%s\n", v->t.repository, (long long)v->t.number,
           v->t.head_ref[0] ? " from " : "", v->t.head_ref);
    printf("Head SHA:     %s (generation %lld)\n", v->t.head_sha, (long long)v->t.generation);
    printf("Application:  %s\n", v->t.application);
    printf("Environment:  %s (started in %s)\n", v->environment, v->t.environment);
    printf("State:        %s\n", tracker_state_name(v->state));
    printf("Age:          %s\n", get_age(v->t.created_ms, age, sizeof(age)));
    printf("Waiting on:   %s\n", v->waiting);
    get_tests(v);
    free(v);
    return EXIT_OK;
}

void ctl_targets_apply(struct ctl *c, struct view *v)
{
    if (!c->targets) {
        c->targets = xcalloc(1, sizeof(*c->targets));
        target_table_load(c->store, c->targets);
    }
    target_table_apply(c->targets, v);
}

/* ctl_list - promoctl list [--json]. */
int ctl_list(struct ctl *c, int argc, char **argv)
{
    char **names, err[256], age[32];
    struct view *v = xcalloc(1, sizeof(*v));
    cJSON *arr = NULL;
    int rc, n, i;

    if ((rc = get_json_flag(c, argc, argv, "list", 0, NULL)) != 0)
        return rc;
    n = store_list(c->store, "trackers", &names);
    if (n < 0) {
        fprintf(stderr, "promoctl: fatal: unable to list trackers: %s\n", strerror(-n));
        free(v);
        return EXIT_TEMP;
    }
    if (c->json)
        arr = cJSON_CreateArray();
    else
        printf("%-40s %-12s %-18s %-8s %s\n", "TRACKER", "ENV", "STATE", "AGE", "WAITING ON");
    for (i = 0; i < n; i++) {
        const struct tracker *tp = &v->t;

        rc = view_load(c->store, names[i], v, err, sizeof(err));
        if (rc == 0)
            ctl_targets_apply(c, v);
        if (rc < 0) {
            if (rc == -EBADMSG && !c->json)
                printf("%-40s %-12s %-18s %-8s invalid: %s\n", names[i], "-", "-", "-", err);
            continue;       /* vanished or quarantined meanwhile */
        }
        get_age(tp->created_ms, age, sizeof(age));
        if (c->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", tp->name);
            cJSON_AddStringToObject(o, "repository", tp->repository);
            cJSON_AddNumberToObject(o, "number", (double)tp->number);
            cJSON_AddStringToObject(o, "headSHA", tp->head_sha);
            cJSON_AddNumberToObject(o, "generation", (double)tp->generation);
            cJSON_AddStringToObject(o, "environment", v->environment);
            cJSON_AddStringToObject(o, "state", tracker_state_name(v->state));
            cJSON_AddStringToObject(o, "age", age);
            cJSON_AddStringToObject(o, "waitingOn", v->waiting);
            cJSON_AddItemToObject(o, "view", view_to_json(v));
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-40s %-12s %-18s %-8s %s\n", tp->name, v->environment,
                   tracker_state_name(v->state), age, v->waiting);
        }
    }
    if (arr) {
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    }
    store_list_free(names);
    free(v);
    return EXIT_OK;
}
