/* monitor.h - promo-monitor's own state, shared by the files of monitor/.
 *
 *   promo_monitor.c   main(), the message handler (re-read tracker and trigger
 *                     record, update the hop), evaluation, forwarding
 *   monitor_test.c    one test of the poll table, compact: interned strings,
 *                     what an adapter is handed made only while lent
 *   monitor_gate.c    at most MONITOR_POLLS_OUT polls out; the others wait in line
 *   monitor_poll.c    the poll table: status polls through the adapters with
 *                     adaptive intervals, deadlines, cancellation
 *   monitor_record.c  STATE/monitor/NAME.json: restore results, persist changes
 *   monitor_hop.c     a hop's lifecycle: its states and their one transition function
 *
 * What is kept in memory is compact (docs/operations.md, "Memory"): fixed
 * structs whose strings are interned (util/intern.h), no JSON tree per test,
 * hop or tracker. The trigger record stays the truth for the runs and this
 * stage's record for the results: a hop's record entry is read back when the
 * hop is created, and a hop whose decision is recorded and forwarded, with
 * nothing left to poll, is freed; the next message for it builds it again
 * from the two records, as a restart does. */
#ifndef PROMO_MONITOR_H
#define PROMO_MONITOR_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "adapters/adapter.h"
#include "adapters/argocd.h"
#include "domain/aggregate.h"
#include "util/intern.h"
#include "util/strmap.h"
#include "domain/tracker.h"
#include "ipc/stage.h"

#define MONITOR_AREA          "monitor"   /* STATE/monitor/: this stage's records */
#define MONITOR_WRITERS       4           /* threads writing records (domain/wasync.h) */
#define MONITOR_ETEMP_BASE    1000        /* ms: first delay after an infrastructure error */
#define MONITOR_ETEMP_CAP     60000       /* ms: longest delay after infrastructure errors */
#define MONITOR_MAX_TESTS     256         /* tests in one hop */
#define MONITOR_HINT_LIVE_MS  600000      /* webhooks count as arriving this long after the last hint */
#define MONITOR_POLLS_OUT     256         /* status polls out at once; more wait in line (monitor_gate.c) */

struct mon_hop;
struct monitor_rev_req;

/* The lifecycle of a hop's decision (monitor_hop.c; docs/state.md has the
 * table): undecided, then decided and written before it is forwarded, and
 * forwarded again at each message for it (level-triggered). */
enum mon_hop_state {
    MH_OPEN = 0,                 /* undecided: tests are polled */
    MH_DECIDED,                  /* decided (aggregate frozen), not on disk yet */
    MH_WRITING,                  /* ... its record write is in flight (a writer thread) */
    MH_RECORDED,                 /* on disk, nothing to forward */
    MH_TO_FORWARD,               /* on disk, to be forwarded (waits for room in the output) */
    MH_COUNT
};

/* What happens to a hop. */
enum mon_hop_event {
    MHE_DECIDE = 0,              /* the aggregate became decided */
    MHE_RESTORE,                 /* a decided aggregate was read back from the record */
    MHE_WRITE_QUEUED,            /* its record write went to a writer thread */
    MHE_WRITTEN,                 /* its record is on disk (or --dry-run printed it) */
    MHE_WRITE_FAILED,            /* the write failed: the next evaluation writes again */
    MHE_FORWARD_DUE,             /* recorded and (again) to be forwarded */
    MHE_EMITTED,                 /* the message went out (or was dropped for good) */
    MHE_RESET,                   /* a test has a new attempt: the decision no longer holds */
    MHE_COUNT
};

/* A run as the monitor keeps it: interned strings ("" when unknown); what
 * the adapters are handed is a struct adapter_run made from it while a
 * request is out (monitor_test_lend). */
struct mon_run {
    const char *id, *url, *api, *etag;
    enum run_status status;
    int64_t duration_ms;         /* when the CI reports it, else 0 */
};

/* What an adapter was handed for the requests of a test that are out: the
 * test (pointing at its strings), its parameters and its run, alive until
 * the last of them ends. */
struct mon_lent {
    struct adapter_test at;
    cJSON *params;
    struct adapter_run run;
};

/* One test of a hop: an entry of the poll table. Every string is interned
 * in monitor_stage.strs (never NULL once made; "" when empty). */
struct mon_test {
    struct stage *st;            /* for the adapters' callbacks */
    struct mon_hop *hop;         /* NULL once orphaned (freed when its requests end) */
    const char *name, *key, *provider, *job, *repository, *ref, *sha, *tracker;
    const char *params;          /* the parameters object, printed; "" when none */
    struct mon_lent *lent;       /* while requests are out, else NULL */
    unsigned char required;
    unsigned char fresh;         /* a webhook hint came: the next poll reads the run alone */
    int64_t timeout_ms;          /* the test's own timeout */
    int64_t start_ms;            /* wall: triggeredAt (else intentAt, else when first seen) */
    int64_t deadline_ms;         /* wall: min(start + timeout, the hop's policy deadline) */
    const char *deadline_why;    /* "test timeout 2s" or "policy timeout 1h" */
    unsigned char has_run;       /* the trigger record gives a run to poll */
    struct mon_run run;
    enum run_status status;      /* as last seen, RUN_UNKNOWN before any answer */
    unsigned char timed_out;     /* promo's deadline passed first */
    unsigned char error;         /* phase "error" in the trigger record, or no adapter */
    const char *detail;          /* provider's words, the deadline, the trigger error */
    const char *lasterr;         /* the last infrastructure error of a poll, "" when none */
    unsigned char cancelled;     /* cancel accepted by the CI (after a timeout) */
    int64_t finished_ms;         /* wall, 0 while not final */
    int64_t polled_ms;           /* wall: the last answer */
    int etemp;                   /* consecutive failed polls */
    long rate_remaining;         /* the provider's last word on its rate limit, -1 unknown */
    int nreq;                    /* adapter requests outstanding (status, cancel) */
    unsigned char polling;       /* a status request is outstanding */
    unsigned char hint_pending;  /* a hint came while polling: poll again at once */
    unsigned char gated;         /* its due poll waits in line (monitor_gate.c) */
    int cancel_tries;            /* cancel requests sent */
    int64_t armed_deadline;      /* the deadline deadline_tmr was armed for */
    struct loop_timer *poll_tmr, *deadline_tmr;
    struct mon_test *orphan_next;   /* in monitor_stage.orphans once orphaned */
    struct mon_test *gate_prev, *gate_next;   /* in line for the gate, when gated */
};

/* The Argo CD check of a hop whose required tests passed (monitor_revision.c):
 * does the source application still run the head SHA? Results count only
 * once it says so (docs/protocol.md, "The deployed revision"). */
enum mon_rev {
    MR_NONE = 0,                 /* not asked (tests not passed yet, or an older record) */
    MR_PENDING,                  /* asked, no answer that decides yet (temporary errors) */
    MR_CONFIRMED,                /* Synced and Healthy at the head SHA: the results count */
    MR_CHANGED,                  /* another revision runs (or is being synced): results void */
    MR_UNVERIFIED,               /* cannot be asked for good (not found, permission, config) */
    MR_SKIPPED,                  /* no state dir: a standalone debugging run, logged */
    MR_COUNT
};

/* A hop's revision check, allocated when it starts (most hops, their
 * tests still running, have none). */
struct mon_rev_text {
    unsigned seq;                /* numbers the read out: an answer to an older one is ignored */
    int inflight;                /* a read of the application is out */
    int attempts;                /* temporary errors of the check so far */
    int audited;                 /* the audit event of a void result is in the log */
    int64_t at;                  /* wall: the last answer (or error) */
    struct loop_timer *tmr;      /* the next read after a temporary error */
    char cluster[64], app[254];
    char project[254], ns[254];  /* sent on the read ("" when none) */
    char digest[32];             /* "": the app must run the head SHA; else the promotion
                                  * into it changed its spec (adapters/argocd.h,
                                  * argocd_app_reached): it must still carry it */
    char seen[ARGOCD_REV_MAX + 1];   /* status.sync.revision as Argo CD said it */
    char sync[32], health[32];
    char error[512];             /* the last error ("" when none) */
    char reason[AGGREGATE_MAX_REASON];   /* with MR_CHANGED/MR_UNVERIFIED: the failure reason */
};

/* One hop (a tracker in one source environment, under one policy). */
struct mon_hop {
    struct mon_tracker *tr;
    const char *source, *target, *policy;   /* interned */
    int64_t started_ms;          /* wall: the hop's startedAt */
    int64_t policy_timeout_ms;
    struct mon_test **tests;
    int ntests;
    /* the message to forward, kept compact: its own fields printed (without
     * "tracker" and "runs", read again from the state dir when it goes out,
     * unless there is no state dir to read them from), and the policy
     * document printed, one copy for every hop under it */
    const char *fwd_fields, *fwd_policy;
    enum mon_hop_state state;    /* changed only by monitor_hop_move */
    int has_agg;                 /* agg holds the frozen decided aggregate */
    struct aggregate agg;
    int64_t decided_ms;          /* wall: when it was decided (the record's decidedAt) */
    uint64_t saved;              /* hash of the hop's record entry as last written (or
                                  * read), lastPolledAt left out; 0 unknown: written */
    enum mon_rev rev;            /* the revision check's outcome (monitor_revision.c) */
    struct mon_rev_text *rv;     /* the check, NULL until it starts (or is restored) */
    struct mon_hop *next;
};

/* One tracker, at one generation and head SHA. */
struct mon_tracker {
    const char *name;            /* interned */
    int64_t generation;
    const char *sha;             /* interned */
    cJSON *writing;              /* the record of the last write still out, else NULL */
    int nwrites;                 /* record writes out */
    struct mon_hop *hops;
};

/* The stage's state. */
struct monitor_stage {
    struct adapter_ctx actx;     /* loop, http client, config, store: what adapters use */
    struct strmap *trackers;     /* name -> struct mon_tracker */
    struct intern *strs;         /* every string of the trackers, hops and tests */
    struct mon_hop *live_hop;    /* the hop of the message being handled, and ... */
    const cJSON *live_msg;       /* ... the message to forward for it (else NULL) */
    int nreq;                    /* adapter requests in flight */
    int polls_out;               /* status polls out (monitor_gate.c) */
    struct mon_test *gate_head, *gate_tail;   /* the polls waiting in line */
    struct mon_test *orphans;    /* freed tests whose requests are still in flight */
    struct monitor_rev_req *rev_reqs;   /* reads of Argo CD in flight (monitor_revision.c) */
    int stopping;                /* at exit: free everything, whatever is in flight */
    int want_fill;               /* some hop may wait for room: fill looks (else it costs nothing) */
    struct wasync *wa;           /* the record writes (domain/wasync.h) */
    uint64_t polls, changes, decided, forwarded, timeouts, stale;
    uint64_t hints;              /* "hint" messages from promo-webhook */
    int64_t hint_ms;             /* monotonic: the last hint (or the start) */
};

/* promo_monitor.c */
/* monitor_evaluate - recompute hop's aggregate; persist what changed; when
 * newly decided, persist (crash points around) and forward. */
void monitor_evaluate(struct stage *st, struct mon_hop *hop);
/* monitor_tracker_gc - free the hops of tr that have nothing left to do
 * (decided, recorded, forwarded, nothing to poll: the records hold them),
 * and tr itself when none is left. tr must not be used afterwards. Nothing
 * is freed without a state dir (or with --dry-run): nothing would bring it
 * back. */
void monitor_tracker_gc(struct stage *st, struct mon_tracker *tr);

/* monitor_test.c */
/* monitor_time - the ISO time member key of o as wall ms, or 0. */
int64_t monitor_time(const cJSON *o, const char *key);
/* monitor_num - the number member key of o (0 <= n < 9e15), or dflt. */
int64_t monitor_num(const cJSON *o, const char *key, int64_t dflt);
/* monitor_str - the stage's interned copy of s (NULL counts as ""), one
 * holder more; monitor_str_put lets go of it. */
const char *monitor_str(struct stage *st, const char *s);
void monitor_str_put(struct stage *st, const char *s);
/* monitor_set - replace the interned *slot by s (NULL counts as "");
 * returns 1 when it changed. monitor_setf formats it (at most 1 KiB). */
int monitor_set(struct stage *st, const char **slot, const char *s);
void monitor_setf(struct stage *st, const char **slot, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* monitor_test_new - a poll table entry for trigger test te of tracker t in
 * hop (no run yet: promo_monitor.c takes it from the trigger record). */
struct mon_test *monitor_test_new(struct stage *st, struct mon_hop *hop, const struct tracker *t,
                                  const cJSON *te);
/* monitor_test_free - free t now, or orphan it until its requests end. */
void monitor_test_free(struct stage *st, struct mon_test *t);
/* monitor_orphan_release - t's last request ended: unlink it from the
 * orphans and free it (t must be orphaned: t->hop NULL, t->nreq 0). */
void monitor_orphan_release(struct stage *st, struct mon_test *t);
/* monitor_test_take_run - t's run as r says now (an id, API URL or URL left
 * blank keeps the one known). Returns 1 when its URL changed. */
int monitor_test_take_run(struct stage *st, struct mon_test *t, const struct adapter_run *r);
/* monitor_test_lend - what to hand an adapter for a request of t: the test
 * and its run as struct adapter_test and struct adapter_run, alive until
 * monitor_test_unlend finds no request of t out. Call it after counting the
 * request in t->nreq. */
const struct mon_lent *monitor_test_lend(struct stage *st, struct mon_test *t);
void monitor_test_unlend(struct stage *st, struct mon_test *t);

/* monitor_poll.c */
/* monitor_poll_schedule - make sure t is polled (in ms) if it should be, and
 * that its deadline timer is armed; stop both when it should not be. */
void monitor_poll_schedule(struct stage *st, struct mon_test *t, int64_t ms);
/* monitor_poll_wanted - 1 when t has a run to poll and its result still matters
 * or is still to be recorded (a decided hop's optional tests). */
int monitor_poll_wanted(const struct mon_test *t);
/* monitor_poll_hint - a webhook says t's run changed: poll it now (once;
 * nothing when a poll is out or its result is known already). Returns 1
 * when a poll was brought forward. */
int monitor_poll_hint(struct stage *st, struct mon_test *t);
/* monitor_poll_stretched - the interval to use instead of ms while webhooks
 * arrive (webhook.pollStretch, docs/webhook.md). */
int64_t monitor_poll_stretched(struct stage *st, int64_t ms);
/* monitor_poll_stop - disarm t's timers. */
void monitor_poll_stop(struct stage *st, struct mon_test *t);
/* monitor_poll_start - send t's status poll now (the gate let it go). */
void monitor_poll_start(struct stage *st, struct mon_test *t);

/* monitor_gate.c */
/* monitor_gate_enter - 1 when t's due poll may go now (counted out), else
 * 0: t waits in line (once) until monitor_gate_leave starts it. */
int monitor_gate_enter(struct stage *st, struct mon_test *t);
/* monitor_gate_leave - a poll ended: the next in line goes. */
void monitor_gate_leave(struct stage *st);
/* monitor_gate_forget - t leaves the line (it is freed, or its poll went). */
void monitor_gate_forget(struct stage *st, struct mon_test *t);

/* monitor_revision.c */
/* monitor_revision_settled - 1 when hop's passed results may be decided on:
 * the check confirmed or voided them (or, without a state dir, was skipped,
 * logged). 0 while it is pending: the check is started (or stays under way)
 * and the caller decides nothing. */
int monitor_revision_settled(struct stage *st, struct mon_hop *hop);
/* monitor_revision_void - with MR_CHANGED or MR_UNVERIFIED, turn a's pass
 * into a failure: anyFailed, not allPassed, the reason first. */
void monitor_revision_void(const struct mon_hop *hop, struct aggregate *a);
/* monitor_revision_reset - forget the check (a new attempt of a test);
 * an answer still out is ignored. */
void monitor_revision_reset(struct stage *st, struct mon_hop *hop);
/* monitor_revision_json - the record's "revisionCheck" of hop, or NULL
 * with MR_NONE and MR_SKIPPED. */
cJSON *monitor_revision_json(const struct mon_hop *hop);
/* monitor_revision_restore - the check of a decided hop from the record's
 * "revisionCheck" (o may be NULL: an older record; nothing then). */
void monitor_revision_restore(struct mon_hop *hop, const cJSON *o);
/* monitor_revision_audit - the audit event of a void result, once (by key).
 * Returns 0 when it is in the log (or not needed), -1 when it could not be
 * appended (the caller does not forward yet). */
int monitor_revision_audit(struct stage *st, struct mon_hop *hop);
/* monitor_revision_stop - at exit, once the HTTP client is freed (no
 * callback runs any more): free the reads that were still in flight. */
void monitor_revision_stop(struct stage *st);
/* monitor_revision_waiting - one line for waitingOn while pending, or NULL. */
cJSON *monitor_revision_waiting(const struct mon_hop *hop);

/* monitor_hop.c */
/* monitor_hop_move - the state after ev; an event that does not apply in
 * hop's state (a late write callback, a second due forward) changes
 * nothing. Returns the new state. */
enum mon_hop_state monitor_hop_move(struct mon_hop *hop, enum mon_hop_event ev);
/* monitor_hop_decided - 1 once the hop's outcome is decided (any state but MH_OPEN). */
int monitor_hop_decided(const struct mon_hop *hop);
/* monitor_hop_state_name, monitor_hop_event_name - for logs and docs. */
const char *monitor_hop_state_name(enum mon_hop_state s);
const char *monitor_hop_event_name(enum mon_hop_event e);

/* monitor_record.c */
/* monitor_record_load - this stage's record of name: 0 and *rec, or -errno
 * (-ENOENT absent; -EBADMSG corrupt, quarantined). Never with --dry-run's
 * missing store. */
int monitor_record_load(struct stage *st, const char *name, cJSON **rec);
/* monitor_record_base - tr's record, to change and write: the record of
 * the write still out (a copy), else the one on disk when it is of tr's
 * generation and head SHA, else a new one with no hop. Caller frees. */
cJSON *monitor_record_base(struct stage *st, const struct mon_tracker *tr);
/* monitor_record_entry - the entry of hop source in rec, or NULL. */
const cJSON *monitor_record_entry(const cJSON *rec, const char *source);
/* monitor_record_hash - what a hop entry is compared by: a hash of it
 * without lastPolledAt (never 0), 0 for NULL. */
uint64_t monitor_record_hash(const cJSON *entry);
/* monitor_record_restore - fill t from the record's entry for it (same key
 * only). Returns 1 when something was restored. */
int monitor_record_restore(struct stage *st, const cJSON *rec, const char *source, struct mon_test *t);
/* monitor_record_restore_agg - when rec holds a decided aggregate of hop
 * and every test key matches hop's, make it hop's frozen aggregate (with
 * its decidedAt) and return 1; else 0, nothing changed. */
int monitor_record_restore_agg(const cJSON *rec, struct mon_hop *hop);
/* monitor_record_agg_json - hop's frozen aggregate as recorded and
 * forwarded (with decidedAt). */
cJSON *monitor_record_agg_json(const struct mon_hop *hop);
/* monitor_record_hop_json - the hop as recorded (tests, aggregate, waitingOn). */
cJSON *monitor_record_hop_json(const struct mon_hop *hop, const struct aggregate *a);
/* monitor_record_save - put hop into its tracker's record and have a writer
 * thread write it when it changed (not counting lastPolledAt); with decision,
 * monitor_persisted() is called once it is on disk. Returns 1 queued, 0
 * unchanged, -1 on error (logged). With --dry-run nothing is written (0). */
int monitor_record_save(struct stage *st, struct mon_hop *hop, const struct aggregate *a, int decision);
/* monitor_persisted - hop source of tracker name at generation gen was
 * written with its decision (rc 0) or not (-errno): forward it, or not. */
void monitor_persisted(struct stage *st, const char *name, int64_t gen, const char *source, int rc);
/* monitor_agg_tests - the hop's tests as agg_test (heap array of ntests). */
struct agg_test *monitor_agg_tests(const struct mon_hop *hop);

#endif
