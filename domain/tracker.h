/* tracker.h - the PullRequestTracker document: strict decoder and encoder.
 *
 *   apiVersion: promo.dev/v1alpha1
 *   kind: PullRequestTracker
 *   metadata: {name, generation, creationTimestamp}
 *   spec:     {repository "owner/name", number, headSHA, headRef, application, environment}
 *   status:   {environment, state, conditions, ...}   (see docs/state.md)
 *
 * The document is kept as cJSON so fields a newer version adds survive a
 * read-modify-write; struct tracker is the checked view of it. */
#ifndef PROMO_TRACKER_H
#define PROMO_TRACKER_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define PROMO_API_VERSION "promo.dev/v1alpha1"

/* spec.number is 1..TRACKER_NUMBER_MAX (2^31, docs/state.md): every reader
 * (tracker_decode) and promoctl track take the same range. */
#define TRACKER_NUMBER_MAX INT64_C(2147483648)

/* Tracker states, in the order a PR lives them. */
enum tracker_state {
    TS_DEPLOYING = 0,        /* being deployed in status.environment */
    TS_SYNCED,               /* deployed, synced and healthy: tests may start */
    TS_TESTING,              /* promotion tests running */
    TS_AWAITING_APPROVAL,    /* tests passed, autoPromote false */
    TS_PROMOTING,            /* promotion in progress */
    TS_FAILED,               /* required tests failed or promotion failed */
    TS_DONE,                 /* at the end of its chain */
    TS_COUNT
};

#define TRACKER_GENERATION_MAX 9007199254740992.0 /* 2^53: exact in a double */

struct tracker {
    char name[254];
    int64_t generation;
    int64_t created_ms;          /* metadata.creationTimestamp, 0 if absent */
    char repository[201];        /* owner/name */
    char owner[100], repo[101];
    int64_t number;
    char head_sha[65];           /* 40 or 64 lowercase hex */
    char head_ref[256];
    char application[254];
    char environment[64];        /* spec.environment: where the PR starts */
    char status_env[64];         /* status.environment: where it is now */
    enum tracker_state state;    /* status.state */
};

const char *tracker_state_name(enum tracker_state s);
/* tracker_state_parse - name to state; -1 when unknown. */
int tracker_state_parse(const char *s);

/* tracker_decode - check doc and fill t. Every field is type- and
 * range-checked; returns 0, or -1 with "field: reason" in err. */
int tracker_decode(const cJSON *doc, struct tracker *t, char *err, size_t errlen);

struct store;

/* tracker_read - read STATE/trackers/NAME.json: the document into *doc
 * (caller frees; doc may be NULL) and its checked view into t. A file that
 * is corrupt, fails tracker_decode, or whose metadata.name is not NAME is
 * quarantined with the reason and gives -EBADMSG with "reason
 * (quarantined)" in err: every reader of trackers/ goes through here, so
 * none sees a tracker another one refuses. Else as store_read: 0, -ENOENT
 * or another -errno. */
int tracker_read(struct store *s, const char *name, cJSON **doc, struct tracker *t, char *err, size_t errlen);

/* tracker_name_for - the default tracker name for a repository and PR:
 * "owner-name-N", lowercased, other characters mapped to '-'. */
char *tracker_name_for(const char *repository, int64_t number, char *buf, size_t len);

/* tracker_sha_valid - 40 or 64 hex digits. */
int tracker_sha_valid(const char *sha);
/* tracker_repo_valid - "owner/name" with GitHub's characters. */
int tracker_repo_valid(const char *repo);

#endif
