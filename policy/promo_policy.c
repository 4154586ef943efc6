/* promo_policy.c - promo-policy: attaches to each tracker message the PromotionPolicy
 * for the tracker's current environment.
 *
 *   promo-watcher ──tracker──▶ promo-policy ──tracker + "policy"──▶ promo-trigger
 *
 * For each "tracker" message the tracker is re-read from the state dir (the
 * truth; a message older than the tracker on disk is stale and dropped), the
 * policy whose sourceEnvironment is status.environment is looked up in the
 * set in force (policy_reload.c), attached as "policy" and the message is
 * forwarded. With no such policy nothing is forwarded: the tracker is at the
 * end of its chain (record state "done") or blocked with PolicyNotFound, as
 * policy_record.c writes. `--validate PATH...` runs the linter instead
 * (policy_lint.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/memtrim.h"
#include "util/util.h"
#include "domain/view.h"
#include "policy/policy_stage.h"

static struct policy_stage promo_policy_state;

/* promo_policy_forward - the message with the tracker from disk and the policy. */
static void promo_policy_forward(struct stage *st, const cJSON *msg, cJSON *doc,
                                 const struct tracker *t, const struct policy *pol)
{
    cJSON *out = stage_forward(st, msg);

    stage_msg_set(out, "generation", cJSON_CreateNumber((double)t->generation));
    stage_msg_set(out, "tracker", cJSON_Duplicate(doc, 1));
    stage_msg_set(out, "policy", cJSON_Duplicate(pol->doc, 1));
    if (st->dry_run && strcmp(st->out_ep, "-") != 0) {
        char *line = cJSON_PrintUnformatted(out);
        if (line) {
            printf("{\"dryRun\":true,\"wouldForward\":%s}\n", line);
            fflush(stdout);
        }
        free(line);
    }
    if (stage_send(st, t->name, out) > 0)
        log_debug("attach", "tracker=%s gen=%lld env=%s policy=%s", t->name,
                  (long long)t->generation, t->status_env, pol->name);
}

/* promo_policy_message - one tracker message: re-read, decide, record, forward. */
static void promo_policy_message(struct stage *st, cJSON *msg)
{
    struct policy_stage *ps = st->data;
    const struct policy *pol = NULL;
    enum policy_outcome o;
    struct tracker t;
    cJSON *doc;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");

    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "tracker") != 0)
        return;                   /* other kinds are not for this stage */
    memtrim_note(st->loop);       /* after a burst, what it used goes back */
    doc = stage_tracker(st, msg, &t, 0);
    if (!doc)
        return;
    if (st->store)
        view_effective(st->store, &t);      /* the environment the chain has taken it to */
    if (!policy_record_active(&t)) {
        log_debug("inactive", "tracker=%s state=%s", t.name, tracker_state_name(t.state));
        stage_memo(st, t.name, t.generation);
        cJSON_Delete(doc);
        return;
    }
    o = policy_record_decide(ps, &t, &pol);
    policy_record_write(st, &t, o, pol);
    if (o == PO_ATTACHED) {
        promo_policy_forward(st, msg, doc, &t, pol);
    } else if (st->dry_run) {
        static const char *const what[] = { "attach", "end-of-chain", "policy-not-found", "no-valid-policy-set" };
        log_info("dry_run", "tracker=%s env=%s decision=%s", t.name, t.status_env, what[o]);
    } else if (o == PO_NOT_FOUND) {
        log_warn("policy_not_found", "tracker=%s env=%s", t.name, t.status_env);
    }
    stage_memo(st, t.name, t.generation);   /* until its records or the policy set change */
    cJSON_Delete(doc);
}

/* promo_policy_start - load the set and start watching it. */
static int promo_policy_start(struct stage *st)
{
    st->data = &promo_policy_state;
    promo_policy_state.inotify = -1;
    promo_policy_state.wd = -1;
    return policy_reload_start(st);
}

/* promo_policy_hup - SIGHUP: reload now (a no-op when nothing changed). */
static void promo_policy_hup(struct stage *st)
{
    policy_reload_now(st, "sighup");
}

/* promo_policy_stop - release the set and the inotify watch. */
static void promo_policy_stop(struct stage *st)
{
    policy_reload_stop(st);
}

/* main - --validate runs the linter; anything else runs the stage. */
int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-policy",
        .summary = "attach to each tracker the PromotionPolicy of its environment",
        .in_default = "policy.sock",
        .out_default = "trigger.sock",
        .extra_usage =
            "      --validate PATH...  lint policy files and directories instead of running:\n"
            "                          errors on stderr as file:line:col: message;\n"
            "                          exit 0 when valid, 100 when not\n",
        .start = promo_policy_start,
        .message = promo_policy_message,
        .reload = promo_policy_hup,
        .stop = promo_policy_stop,
    };
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--validate") == 0 || strncmp(argv[i], "--validate=", 11) == 0)
            return policy_lint_main(argc, argv);
    return stage_main(argc, argv, &ops);
}
