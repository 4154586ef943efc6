/* ctl_show.c - promoctl show: the timeline of one tracker, hop by hop.
 *
 *   promoctl show TRACKER [--json]
 *
 * For every hop of the chain (source -> target): the policy, when its tests
 * started, every test with its outcome, attempt, duration and URL, the
 * approval, when it was promoted and by whom, when the target was seen
 * synced; then, in plain words, what the tracker waits on now. Everything
 * comes from domain/view.c, so it answers with every stage down. --json
 * prints the tracker document with the view (hops included) under "view".
 * Each hop shows its last outcome (the PromotionRecord: promoted, failed:
 * WHY, superseded by SHORTSHA, aborted), and "Outcomes:" the whole history
 * of the promoter record, every generation. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/tracker.h"
#include "util/util.h"
#include "domain/view.h"
#include "ctl/ctl.h"

/* show_duration - "1m05s", "4.2s", "-" for a duration in ms. */
static char *show_duration(int64_t ms, char *buf, size_t len)
{
    if (ms <= 0)
        snprintf(buf, len, "-");
    else if (ms < 60000)
        snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
    else
        snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
    return buf;
}

/* show_hop - one hop of the timeline. */
static void show_hop(const struct view_hop *h)
{
    char dur[32];
    int i;

    if (!h->target[0] && !h->policy[0]) {
        printf("\n  %s   [%s]\n", h->source, h->state);
        return;
    }
    printf("\n  %s -> %s   %s%s   [%s]\n", h->source, h->target[0] ? h->target : "?",
           h->policy[0] ? "policy " : "no policy known", h->policy, h->state);
    if (h->started_at[0])
        printf("    tests started  %s\n", h->started_at);
    if (h->ntests) {
        printf("    %-22s %-15s %-8s %-7s %-10s %-9s %s\n", "TEST", "PROVIDER", "REQUIRED", "ATTEMPT",
               "OUTCOME", "DURATION", "URL");
        for (i = 0; i < h->ntests; i++) {
            const struct view_test *t = &h->tests[i];
            printf("    %-22s %-15s %-8s %-7d %-10s %-9s %s%s%s\n", t->name, t->provider[0] ? t->provider : "-",
                   t->required ? "yes" : "no", t->attempt, t->status,
                   show_duration(t->duration_ms, dur, sizeof(dur)), t->url[0] ? t->url : "-",
                   t->detail[0] ? "  " : "", t->detail);
        }
    }
    if (h->retry_attempt)
        printf("    retry          attempt %d asked (promoctl retry)\n", h->retry_attempt);
    if (h->approved_by[0])
        printf("    approved       by %s%s%s\n", h->approved_by, h->approved_at[0] ? " at " : "", h->approved_at);
    if (h->promoted_at[0] || h->promoted_by[0])
        printf("    promoted       %s%s%s\n", h->promoted_at[0] ? h->promoted_at : "(time unknown)",
               h->promoted_by[0] ? " by " : "", h->promoted_by);
    if (h->revision_check[0])
        printf("    revision       %s\n", h->revision_check);
    if (h->argocd_app[0])
        printf("    argo cd        %s on cluster %s\n", h->argocd_app, h->argocd_cluster[0] ? h->argocd_cluster : "default");
    if (h->synced_at[0])
        printf("    synced         %s in %s\n", h->synced_at, h->target);
    if (h->last_error[0])
        printf("    last error     %s\n", h->last_error);
    if (h->outcome[0])
        printf("    outcome        %s\n", h->outcome);
}

/* ctl_show - promoctl show TRACKER [--json]. */
int ctl_show(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { 0, 0, 0, 0 },
    };
    const char *name;
    struct view *v;
    struct tracker t;
    char err[256];
    cJSON *doc = NULL;
    int ch, rc, i;

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch != 'j')
            return ctl_usage_error("show: unknown option");
        c->json = 1;
    }
    if (argc - optind != 1)
        return ctl_usage_error("show: expected one TRACKER");
    name = argv[optind];
    if (!name_valid(name))
        return ctl_usage_error("show: '%s' is not a tracker name", name);
    v = xcalloc(1, sizeof(*v));
    rc = view_load(c->store, name, v, err, sizeof(err));
    if (rc == 0)
        rc = tracker_read(c->store, name, &doc, &t, err, sizeof(err));
    if (rc == 0)
        ctl_targets_apply(c, v);
    if (rc < 0) {
        if (rc == -ENOENT)
            fprintf(stderr, "promoctl: fatal: no tracker named %s\n", name);
        else
            fprintf(stderr, "promoctl: fatal: unable to read tracker %s: %s\n", name,
                    err[0] ? err : strerror(-rc));
        free(v);
        return rc == -ENOENT || rc == -EBADMSG ? EXIT_PERM : EXIT_TEMP;
    }
    if (c->json) {
        char *s;
        cJSON_AddItemToObject(doc, "view", view_to_json(v));
        s = cJSON_Print(doc);
        printf("%s\n", s);
        free(s);
    } else {
        printf("Tracker:      %s\n", v->t.name);
        printf("Pull request: %s#%lld%s%s\n", v->t.repository, (long long)v->t.number,
               v->t.head_ref[0] ? " from " : "", v->t.head_ref);
        printf("Head SHA:     %s (generation %lld)\n", v->t.head_sha, (long long)v->t.generation);
        printf("Application:  %s\n", v->t.application);
        printf("Environment:  %s (started in %s)\n", v->environment, v->t.environment);
        printf("State:        %s\n", tracker_state_name(v->state));
        printf("Waiting on:   %s\n", v->waiting);
        printf("\nTimeline:\n");
        for (i = 0; i < v->nhops; i++)
            show_hop(&v->hops[i]);
        if (v->noutcomes) {
            printf("\nOutcomes:%s\n", v->outcomes_total > v->noutcomes ? " (the last ones)" : "");
            for (i = 0; i < v->noutcomes; i++) {
                const struct view_outcome *e = &v->outcomes[i];
                printf("  %-24s %s -> %s at %.7s (generation %lld)  %s%s%s\n", e->at[0] ? e->at : "-",
                       e->source, e->target[0] ? e->target : "?", e->head_sha, (long long)e->generation, e->text,
                       e->by[0] ? " by " : "", e->by);
            }
        }
    }
    cJSON_Delete(doc);
    free(v);
    return EXIT_OK;
}
