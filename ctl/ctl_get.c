/* ctl_get.c - promoctl get and promoctl list: what each tracker is doing.
 *
 * Both read the state dir only (never the pipeline), so they answer even
 * when every stage is down. A tracker that is not moving says why. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/tracker.h"
#include "common/util.h"
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

/* get_waiting - in plain words, what the tracker waits on now. */
static const char *get_waiting(const struct tracker *t, char *buf, size_t len)
{
    switch (t->state) {
    case TS_DEPLOYING:
        snprintf(buf, len, "deployment of %s in %s to be synced and healthy", t->application, t->status_env);
        break;
    case TS_SYNCED:
        snprintf(buf, len, "promotion tests for %s to be started", t->status_env);
        break;
    case TS_TESTING:
        snprintf(buf, len, "promotion tests in %s", t->status_env);
        break;
    case TS_AWAITING_APPROVAL:
        snprintf(buf, len, "approval: promoctl approve %s", t->name);
        break;
    case TS_PROMOTING:
        snprintf(buf, len, "promotion from %s", t->status_env);
        break;
    case TS_FAILED:
        snprintf(buf, len, "an operator: it failed in %s", t->status_env);
        break;
    default:
        snprintf(buf, len, "nothing");
        break;
    }
    return buf;
}

/* ctl_get - promoctl get NAME [--json]. */
int ctl_get(struct ctl *c, int argc, char **argv)
{
    const char *name = NULL;
    struct tracker t;
    char err[256], age[32], wait[512];
    cJSON *doc;
    int rc;

    if ((rc = get_json_flag(c, argc, argv, "get", 1, &name)) != 0)
        return rc;
    if (!name_valid(name))
        return ctl_usage_error("get: '%s' is not a tracker name", name);
    rc = store_read(c->store, "trackers", name, &doc);
    if (rc == -ENOENT) {
        fprintf(stderr, "promoctl: fatal: no tracker named %s\n", name);
        return EXIT_PERM;
    }
    if (rc < 0) {
        fprintf(stderr, "promoctl: fatal: unable to read tracker %s: %s\n", name,
                rc == -EBADMSG ? "corrupt record (quarantined)" : strerror(-rc));
        return rc == -EBADMSG ? EXIT_PERM : EXIT_TEMP;
    }
    if (c->json) {
        char *s = cJSON_Print(doc);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(doc);
        return EXIT_OK;
    }
    if (tracker_decode(doc, &t, err, sizeof(err)) < 0) {
        fprintf(stderr, "promoctl: fatal: tracker %s is invalid: %s\n", name, err);
        cJSON_Delete(doc);
        return EXIT_PERM;
    }
    printf("Tracker:      %s\n", t.name);
    printf("Pull request: %s#%lld%s%s\n", t.repository, (long long)t.number,
           t.head_ref[0] ? " from " : "", t.head_ref);
    printf("Head SHA:     %s (generation %lld)\n", t.head_sha, (long long)t.generation);
    printf("Application:  %s\n", t.application);
    printf("Environment:  %s (started in %s)\n", t.status_env, t.environment);
    printf("State:        %s\n", tracker_state_name(t.state));
    printf("Age:          %s\n", get_age(t.created_ms, age, sizeof(age)));
    printf("Waiting on:   %s\n", get_waiting(&t, wait, sizeof(wait)));
    cJSON_Delete(doc);
    return EXIT_OK;
}

/* ctl_list - promoctl list [--json]. */
int ctl_list(struct ctl *c, int argc, char **argv)
{
    char **names, err[256], age[32], wait[512];
    cJSON *arr = NULL;
    int rc, n, i;

    if ((rc = get_json_flag(c, argc, argv, "list", 0, NULL)) != 0)
        return rc;
    n = store_list(c->store, "trackers", &names);
    if (n < 0) {
        fprintf(stderr, "promoctl: fatal: unable to list trackers: %s\n", strerror(-n));
        return EXIT_TEMP;
    }
    if (c->json)
        arr = cJSON_CreateArray();
    else
        printf("%-40s %-12s %-18s %-8s %s\n", "TRACKER", "ENV", "STATE", "AGE", "WAITING ON");
    for (i = 0; i < n; i++) {
        struct tracker t;
        cJSON *doc;

        if (store_read(c->store, "trackers", names[i], &doc) < 0)
            continue;       /* vanished or quarantined meanwhile */
        if (tracker_decode(doc, &t, err, sizeof(err)) < 0) {
            if (!c->json)
                printf("%-40s %-12s %-18s %-8s invalid: %s\n", names[i], "-", "-", "-", err);
            cJSON_Delete(doc);
            continue;
        }
        get_waiting(&t, wait, sizeof(wait));
        get_age(t.created_ms, age, sizeof(age));
        if (c->json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", t.name);
            cJSON_AddStringToObject(o, "repository", t.repository);
            cJSON_AddNumberToObject(o, "number", (double)t.number);
            cJSON_AddStringToObject(o, "headSHA", t.head_sha);
            cJSON_AddNumberToObject(o, "generation", (double)t.generation);
            cJSON_AddStringToObject(o, "environment", t.status_env);
            cJSON_AddStringToObject(o, "state", tracker_state_name(t.state));
            cJSON_AddStringToObject(o, "age", age);
            cJSON_AddStringToObject(o, "waitingOn", wait);
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%-40s %-12s %-18s %-8s %s\n", t.name, t.status_env,
                   tracker_state_name(t.state), age, wait);
        }
        cJSON_Delete(doc);
    }
    if (arr) {
        char *s = cJSON_Print(arr);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(arr);
    }
    store_list_free(names);
    return EXIT_OK;
}
