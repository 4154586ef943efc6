/* ctl_track.c - promoctl track: create or update a PullRequestTracker.
 *
 * The tracker record (STATE/trackers/NAME.json) is written only here, under
 * the trackers area lock, by read-modify-write of the stored document so
 * fields this version does not know survive. A new head SHA bumps
 * metadata.generation and restarts the tracker in --env: results gathered
 * for the old SHA are never used for the new one (DESIGN.md principle 5). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "ctl/ctl.h"

struct track_args {
    const char *repo, *sha, *env, *app, *ref, *name;
    int64_t pr;
    int state;
};

/* track_set_str - set obj.key to a string, replacing what is there. */
static void track_set_str(cJSON *obj, const char *key, const char *val)
{
    cJSON *n = cJSON_CreateString(val);

    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, n);
    else
        cJSON_AddItemToObject(obj, key, n);
}

/* track_set_num - set obj.key to a number. */
static void track_set_num(cJSON *obj, const char *key, double val)
{
    cJSON *n = cJSON_CreateNumber(val);

    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, n);
    else
        cJSON_AddItemToObject(obj, key, n);
}

/* track_child - obj.key as an object, created when absent or not an object. */
static cJSON *track_child(cJSON *obj, const char *key)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsObject(n))
        return n;
    n = cJSON_CreateObject();
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, n);
    else
        cJSON_AddItemToObject(obj, key, n);
    return n;
}

/* track_parse - the command's flags; returns 0 or an exit code. */
static int track_parse(int argc, char **argv, struct track_args *a)
{
    static const struct option opts[] = {
        { "repo", required_argument, NULL, 'r' },
        { "pr", required_argument, NULL, 'p' },
        { "sha", required_argument, NULL, 's' },
        { "env", required_argument, NULL, 'e' },
        { "app", required_argument, NULL, 'a' },
        { "state", required_argument, NULL, 'S' },
        { "ref", required_argument, NULL, 'R' },
        { "name", required_argument, NULL, 'n' },
        { 0, 0, 0, 0 },
    };
    char *end;
    int ch;

    memset(a, 0, sizeof(*a));
    a->state = TS_DEPLOYING;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': a->repo = optarg; break;
        case 's': a->sha = optarg; break;
        case 'e': a->env = optarg; break;
        case 'a': a->app = optarg; break;
        case 'R': a->ref = optarg; break;
        case 'n': a->name = optarg; break;
        case 'p':
            errno = 0;
            a->pr = strtoll(optarg, &end, 10);
            if (errno || *end || end == optarg || a->pr < 1 || a->pr > TRACKER_NUMBER_MAX)
                return ctl_usage_error("track: --pr must be an integer in 1..%lld, not '%s'",
                                       (long long)TRACKER_NUMBER_MAX, optarg);
            break;
        case 'S':
            a->state = tracker_state_parse(optarg);
            if (a->state != TS_DEPLOYING && a->state != TS_SYNCED)
                return ctl_usage_error("track: --state must be deploying or synced, not '%s'", optarg);
            break;
        default:
            return ctl_usage_error("track: unknown option");
        }
    }
    if (optind < argc)
        return ctl_usage_error("track: unexpected argument '%s'", argv[optind]);
    if (!a->repo || !a->pr || !a->sha || !a->env || !a->app)
        return ctl_usage_error("track: --repo, --pr, --sha, --env and --app are required");
    if (!tracker_repo_valid(a->repo))
        return ctl_usage_error("track: --repo must be OWNER/NAME, not '%s'", a->repo);
    if (!tracker_sha_valid(a->sha))
        return ctl_usage_error("track: --sha must be 40 or 64 hex digits, not '%s'", a->sha);
    if (!name_valid(a->env) || strlen(a->env) >= 64)
        return ctl_usage_error("track: --env must be a lowercase name, not '%s'", a->env);
    if (!name_valid(a->app))
        return ctl_usage_error("track: --app must be a lowercase name, not '%s'", a->app);
    if (a->name && !name_valid(a->name))
        return ctl_usage_error("track: --name must be a lowercase name, not '%s'", a->name);
    if (a->ref && (strlen(a->ref) >= 256 || strpbrk(a->ref, "\n\r\t")))
        return ctl_usage_error("track: --ref is not a valid ref");
    return 0;
}

/* ctl_track - promoctl track. */
int ctl_track(struct ctl *c, int argc, char **argv)
{
    struct track_args a;
    struct tracker t;
    char name[254], sha[65], err[256], ts[40];
    cJSON *doc = NULL, *meta, *spec, *status;
    const char *verb = "created";
    int64_t gen = 1;
    int rc, lock, i;

    if ((rc = track_parse(argc, argv, &a)) != 0)
        return rc;
    for (i = 0; a.sha[i]; i++)
        sha[i] = (char)((a.sha[i] >= 'A' && a.sha[i] <= 'F') ? a.sha[i] + 32 : a.sha[i]);
    sha[i] = 0;
    if (a.name)
        str_copy(name, a.name, sizeof(name));
    else
        tracker_name_for(a.repo, a.pr, name, sizeof(name));

    lock = store_lock(c->store, "trackers");
    if (lock < 0) {
        fprintf(stderr, "promoctl: fatal: unable to lock trackers: %s\n", strerror(-lock));
        return EXIT_TEMP;
    }
    /* A file that is no valid tracker of this name is quarantined by
     * tracker_read (-EBADMSG): the tracker starts afresh. */
    rc = tracker_read(c->store, name, &doc, &t, err, sizeof(err));
    if (rc == 0) {
        if (strcmp(t.repository, a.repo) != 0 || t.number != a.pr) {
            fprintf(stderr, "promoctl: fatal: tracker %s belongs to %s#%lld, not %s#%lld\n",
                    name, t.repository, (long long)t.number, a.repo, (long long)a.pr);
            cJSON_Delete(doc);
            store_unlock(lock);
            return EXIT_PERM;
        } else if (strcmp(t.head_sha, sha) != 0) {
            gen = t.generation + 1;
            verb = "updated (new head SHA)";
        } else {
            gen = t.generation;
            verb = "updated";
        }
    } else if (rc != -ENOENT && rc != -EBADMSG) {
        fprintf(stderr, "promoctl: fatal: unable to read tracker %s: %s\n", name, strerror(-rc));
        store_unlock(lock);
        return EXIT_TEMP;
    }
    if (!doc) {
        doc = cJSON_CreateObject();
        track_set_str(doc, "apiVersion", PROMO_API_VERSION);
        track_set_str(doc, "kind", "PullRequestTracker");
        meta = track_child(doc, "metadata");
        track_set_str(meta, "name", name);
        track_set_str(meta, "creationTimestamp", time_format_iso(wall_ms(), ts, sizeof(ts)));
    }
    meta = track_child(doc, "metadata");
    track_set_num(meta, "generation", (double)gen);
    spec = track_child(doc, "spec");
    track_set_str(spec, "repository", a.repo);
    track_set_num(spec, "number", (double)a.pr);
    track_set_str(spec, "headSHA", sha);
    if (a.ref)
        track_set_str(spec, "headRef", a.ref);
    track_set_str(spec, "application", a.app);
    track_set_str(spec, "environment", a.env);
    status = track_child(doc, "status");
    track_set_str(status, "environment", a.env);
    track_set_str(status, "state", tracker_state_name((enum tracker_state)a.state));
    track_set_str(status, "updatedAt", time_format_iso(wall_ms(), ts, sizeof(ts)));

    if (tracker_decode(doc, &t, err, sizeof(err)) < 0) {
        fprintf(stderr, "promoctl: fatal: tracker %s would be invalid: %s\n", name, err);
        cJSON_Delete(doc);
        store_unlock(lock);
        return EXIT_PERM;
    }
    rc = store_write(c->store, "trackers", name, doc);
    store_unlock(lock);
    cJSON_Delete(doc);
    if (rc < 0) {
        fprintf(stderr, "promoctl: fatal: unable to write tracker %s: %s\n", name, strerror(-rc));
        return EXIT_TEMP;
    }
    printf("tracker %s %s: generation %lld, %s in %s\n", name, verb, (long long)gen,
           tracker_state_name((enum tracker_state)a.state), a.env);
    return EXIT_OK;
}
