/* ctl_approve.c - promoctl approve and promoctl retry: the operator's word on a hop.
 *
 *   promoctl approve TRACKER [--sha SHA] [--by NAME] [--json]
 *   promoctl retry TRACKER [--by NAME] [--json]
 *
 * Both write STATE/approvals/NAME.json (docs/state.md, "The approvals
 * record"), whose only writer is promoctl, under store_lock("approvals"),
 * keyed by the current hop's source environment and stamped with the
 * tracker's generation and head SHA: a word given for one commit never
 * counts for another. Each is allowed only in the state the view
 * (domain/view.c) gives: approve when awaiting-approval, retry when failed
 * with failed tests (promo-trigger starts them again, attempt N, new keys)
 * or a failed promotion (promo-promoter starts it again) in the current
 * hop; otherwise exit 100 saying why. The
 * audit event (Approved, RetryRequested) is appended first, once per key,
 * so a crash between the two leaves nothing to undo: running the command
 * again finds the event and writes the record.
 *
 * approve --sha binds the approval to the commit the operator looked at: a
 * tracker whose head SHA is not that one (it moved on since) is refused
 * before anything is written. The stamp alone would not do: it is taken
 * from the tracker as it is now, so without --sha an operator who looked at
 * one commit would approve whatever the head became meanwhile. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/audit.h"
#include "domain/promokey.h"
#include "domain/rec_approvals.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "domain/view.h"
#include "ctl/ctl.h"

#define APPROVE_BY_MAX 128
#define APPROVE_SHA_MIN 7       /* git's short SHA: what people copy from GitHub */

/* approve_sha_ok - 7 to 64 hex digits: a head SHA or a prefix of one. */
static int approve_sha_ok(const char *sha)
{
    size_t i, n = strlen(sha);

    if (n < APPROVE_SHA_MIN || n > 64)
        return 0;
    for (i = 0; i < n; i++)
        if (!isxdigit((unsigned char)sha[i]))
            return 0;
    return 1;
}

/* approve_args - TRACKER [--sha SHA] [--by NAME] [--json]; returns 0 or an
 * exit code. sha is NULL for a command without --sha (retry). */
static int approve_args(struct ctl *c, int argc, char **argv, const char *cmd, const char **name, char *by,
                        const char **sha)
{
    static const struct option opts[] = {
        { "by", required_argument, NULL, 'b' },
        { "json", no_argument, NULL, 'j' },
        { "sha", required_argument, NULL, 's' },
        { 0, 0, 0, 0 },
    };
    const char *who = NULL;
    size_t i;
    int ch;

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': who = optarg; break;
        case 'j': c->json = 1; break;
        case 's':
            if (!sha)
                return ctl_usage_error("%s: unknown option --sha", cmd);
            if (!approve_sha_ok(optarg))
                return ctl_usage_error("%s: --sha must be the head SHA or a prefix of it of at least %d "
                                       "hex digits, not '%s'", cmd, APPROVE_SHA_MIN, optarg);
            *sha = optarg;
            break;
        default: return ctl_usage_error("%s: unknown option", cmd);
        }
    }
    if (argc - optind != 1)
        return ctl_usage_error("%s: expected one TRACKER", cmd);
    *name = argv[optind];
    if (!name_valid(*name))
        return ctl_usage_error("%s: '%s' is not a tracker name", cmd, *name);
    if (!who || !*who) {
        if (who)
            return ctl_usage_error("%s: --by needs a name", cmd);
        who = getenv("SUDO_USER");
        if (!who || !*who)
            who = getenv("USER");
        if (!who || !*who)
            who = "operator";
    }
    if (strlen(who) >= APPROVE_BY_MAX)
        return ctl_usage_error("%s: --by is longer than %d characters", cmd, APPROVE_BY_MAX - 1);
    for (i = 0; who[i]; i++)
        if ((unsigned char)who[i] < 0x20 || who[i] == 0x7f)
            return ctl_usage_error("%s: --by must not contain control characters", cmd);
    str_copy(by, who, APPROVE_BY_MAX);
    return 0;
}

/* approve_record - the approvals record of v's tracker for its current
 * generation and head SHA into r (a fresh one when there is none, it is
 * about another commit, or it is not an approvals record). Free r with
 * rec_approvals_free. */
static void approve_record(struct ctl *c, const struct view *v, struct rec_approvals *r)
{
    char err[256];

    if (rec_approvals_load(c->store, v->t.name, &v->t, r, err, sizeof(err)) == 0)
        return;
    memset(r, 0, sizeof(*r));
    r->name = rec_pool_add(&r->pool, v->t.name);
    r->generation = v->t.generation;
    r->head_sha = rec_pool_add(&r->pool, v->t.head_sha);
}

/* approve_commit - the audit event (unless one with key is there), then
 * the record. Returns 0 or an exit code (message printed). */
static int approve_commit(struct ctl *c, const struct view *v, const struct rec_approvals *r, const char *reason,
                          const char *message, const char *key)
{
    int rc = audit_has_key(c->store, key, reason);
    cJSON *rec;

    if (rc < 0 || (rc == 0 && (rc = audit_append(c->store, v->t.name, "Normal", reason, message, key)) < 0)) {
        fprintf(stderr, "promoctl: fatal: unable to append to the audit log: %s\n", strerror(-rc));
        return EXIT_TEMP;
    }
    rec = rec_approvals_encode(r);
    rc = store_write(c->store, "approvals", v->t.name, rec);
    cJSON_Delete(rec);
    if (rc < 0) {
        fprintf(stderr, "promoctl: fatal: unable to write approvals/%s: %s\n", v->t.name, strerror(-rc));
        return EXIT_TEMP;
    }
    return 0;
}

/* approve_load - lock approvals and load the view of name. Returns the
 * lock fd, or -1 with *exitc set (message printed). */
static int approve_load(struct ctl *c, const char *name, struct view *v, int *exitc)
{
    char err[256];
    int lock, rc;

    lock = store_lock(c->store, "approvals");
    if (lock < 0) {
        fprintf(stderr, "promoctl: fatal: unable to lock approvals: %s\n", strerror(-lock));
        *exitc = EXIT_TEMP;
        return -1;
    }
    rc = view_load(c->store, name, v, err, sizeof(err));
    if (rc < 0) {
        if (rc == -ENOENT)
            fprintf(stderr, "promoctl: fatal: no tracker named %s\n", name);
        else
            fprintf(stderr, "promoctl: fatal: unable to read tracker %s: %s\n", name, err[0] ? err : strerror(-rc));
        store_unlock(lock);
        *exitc = rc == -ENOENT || rc == -EBADMSG ? EXIT_PERM : EXIT_TEMP;
        return -1;
    }
    return lock;
}

/* approve_print - what was recorded, for people or scripts. */
static void approve_print(const struct ctl *c, const struct view *v, const char *what, const char *by,
                          const char *at, int attempt)
{
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        char *s;

        cJSON_AddStringToObject(o, "tracker", v->t.name);
        cJSON_AddNumberToObject(o, "generation", (double)v->t.generation);
        cJSON_AddStringToObject(o, "headSHA", v->t.head_sha);
        cJSON_AddStringToObject(o, "source", v->environment);
        cJSON_AddStringToObject(o, "target", v->target);
        if (attempt) {
            cJSON_AddNumberToObject(o, "attempt", attempt);
            cJSON_AddStringToObject(o, "requestedBy", by);
            cJSON_AddStringToObject(o, "requestedAt", at);
        } else {
            cJSON_AddStringToObject(o, "approvedBy", by);
            cJSON_AddStringToObject(o, "approvedAt", at);
        }
        s = cJSON_PrintUnformatted(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (attempt) {
        printf("tracker %s: attempt %d of the failed tests in %s requested by %s (generation %lld, %.12s)\n",
               v->t.name, attempt, v->environment, by, (long long)v->t.generation, v->t.head_sha);
    } else {
        printf("tracker %s: %s %s -> %s %s by %s (generation %lld, %.12s)\n", v->t.name, what, v->environment,
               v->target[0] ? v->target : "?", "approved", by, (long long)v->t.generation, v->t.head_sha);
    }
}

/* ctl_approve - promoctl approve TRACKER [--sha SHA] [--by NAME]. */
int ctl_approve(struct ctl *c, int argc, char **argv)
{
    const char *name, *sha = NULL;
    char by[APPROVE_BY_MAX], at[40], key[PROMO_KEY_SIZE], msg[512];
    struct view *v;
    struct rec_approvals rec;
    struct rec_approval *hop;
    int rc, lock;

    if ((rc = approve_args(c, argc, argv, "approve", &name, by, &sha)) != 0)
        return rc;
    v = xcalloc(1, sizeof(*v));
    if ((lock = approve_load(c, name, v, &rc)) < 0) {
        free(v);
        return rc;
    }
    /* Before the state: a tracker that moved on may well be awaiting
     * approval again, of a commit nobody looked at yet. */
    if (sha && strncasecmp(v->t.head_sha, sha, strlen(sha)) != 0) {
        fprintf(stderr, "promoctl: fatal: tracker %s is at %s (generation %lld), not %s: it moved on; "
                "nothing approved (see promoctl show %s)\n", name, v->t.head_sha, (long long)v->t.generation,
                sha, name);
        store_unlock(lock);
        free(v);
        return EXIT_PERM;
    }
    if (v->state != TS_AWAITING_APPROVAL) {
        fprintf(stderr, "promoctl: fatal: tracker %s is not awaiting approval: it is %s in %s, waiting on %s\n",
                name, tracker_state_name(v->state), v->environment, v->waiting);
        store_unlock(lock);
        free(v);
        return EXIT_PERM;
    }
    time_format_iso(wall_ms(), at, sizeof(at));
    approve_record(c, v, &rec);
    hop = rec_approvals_hop_add(&rec, v->environment);
    hop->approved_by = rec_pool_add(&rec.pool, by);
    hop->approved_at = rec_pool_add(&rec.pool, at);
    promo_key(v->t.name, v->t.head_sha, v->environment, v->target, "approve", 1, key, sizeof(key));
    snprintf(msg, sizeof(msg), "promotion %s -> %s at %.12s approved by %s", v->environment,
             v->target[0] ? v->target : "?", v->t.head_sha, by);
    rc = approve_commit(c, v, &rec, "Approved", msg, key);
    store_unlock(lock);
    rec_approvals_free(&rec);
    if (rc == 0)
        approve_print(c, v, "promotion", by, at, 0);
    free(v);
    return rc;
}

/* ctl_retry - promoctl retry TRACKER [--by NAME]. */
int ctl_retry(struct ctl *c, int argc, char **argv)
{
    const char *name;
    char by[APPROVE_BY_MAX], at[40], key[PROMO_KEY_SIZE], msg[512];
    struct view *v;
    const struct view_hop *h;
    struct rec_approvals rec;
    struct rec_approval *hop;
    int rc, lock, i, attempt = 0, failed = 0;

    if ((rc = approve_args(c, argc, argv, "retry", &name, by, NULL)) != 0)
        return rc;
    v = xcalloc(1, sizeof(*v));
    if ((lock = approve_load(c, name, v, &rc)) < 0) {
        free(v);
        return rc;
    }
    h = &v->hops[v->nhops - 1];
    for (i = 0; i < v->ntests; i++) {
        const char *st = v->tests[i].status;
        if (v->tests[i].attempt > attempt)
            attempt = v->tests[i].attempt;
        if (!strcmp(st, "failed") || !strcmp(st, "timed-out") || !strcmp(st, "cancelled") || !strcmp(st, "error"))
            failed++;
    }
    if (h->retry_attempt > attempt)
        attempt = h->retry_attempt;
    if (v->state != TS_FAILED || (!failed && !h->failed_at[0] && !h->last_error[0])) {
        if (v->state != TS_FAILED)
            fprintf(stderr, "promoctl: fatal: tracker %s has nothing to retry: it is %s in %s, waiting on %s\n",
                    name, tracker_state_name(v->state), v->environment, v->waiting);
        else
            fprintf(stderr, "promoctl: fatal: tracker %s has no failed test or promotion in %s to retry: %s\n",
                    name, v->environment, v->waiting);
        store_unlock(lock);
        free(v);
        return EXIT_PERM;
    }
    attempt++;
    time_format_iso(wall_ms(), at, sizeof(at));
    approve_record(c, v, &rec);
    hop = rec_approvals_hop_add(&rec, v->environment);
    hop->retry_attempt = attempt;
    hop->retry_by = rec_pool_add(&rec.pool, by);
    hop->retry_at = rec_pool_add(&rec.pool, at);
    promo_key(v->t.name, v->t.head_sha, v->environment, v->target, "retry", attempt, key, sizeof(key));
    if (failed)
        snprintf(msg, sizeof(msg), "attempt %d of %d failed test%s in %s requested by %s", attempt, failed,
                 failed == 1 ? "" : "s", v->environment, by);
    else
        snprintf(msg, sizeof(msg), "attempt %d of the promotion %s -> %s requested by %s", attempt,
                 v->environment, v->target[0] ? v->target : "?", by);
    rc = approve_commit(c, v, &rec, "RetryRequested", msg, key);
    store_unlock(lock);
    rec_approvals_free(&rec);
    if (rc == 0)
        approve_print(c, v, "retry", by, at, attempt);
    free(v);
    return rc;
}
