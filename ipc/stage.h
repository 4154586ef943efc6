/* stage.h - the shared skeleton of every pipeline stage.
 *
 * A stage's main() declares a struct stage_ops and calls stage_main(); the
 * skeleton parses the common flags of DESIGN.md, loads the config, opens the
 * state dir and the transports, handles signals (signalfd: SIGTERM/SIGINT stop
 * cleanly, SIGHUP calls ops->reload, SIGCHLD calls ops->child and reaps
 * nothing itself: code that forks reaps its own children by pid), announces
 * readiness on --notify-fd, and runs the one event loop: zmq_poll over the
 * input socket or stdin, the output socket when a message waits to go out,
 * and every fd the stage registered (inotify, timers, curl sockets). Each
 * input line is framed and decoded (a bad one is counted, logged and
 * quarantined, and the stage goes on) before ops->message sees it.
 *
 * Backpressure: the output has a small bounded queue; while it is full the
 * input is not read, so a slow downstream slows the upstream instead of
 * growing memory. ops->fill is called whenever there is room, for stages
 * (the watcher) that generate messages themselves. */
#ifndef PROMO_STAGE_H
#define PROMO_STAGE_H

#include <getopt.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "domain/config.h"
#include "domain/store.h"
#include "util/loop.h"

#define STAGE_OUTQ 64          /* encoded messages waiting for the output */

struct stage;

struct stage_ops {
    const char *prog;            /* "promo-watcher" */
    const char *summary;         /* one line for --help */
    const char *in_default;      /* socket file in runDir for --in ("policy.sock"), or NULL: no input */
    const char *out_default;     /* socket file in runDir for --out, or NULL: no output */
    const char *extra_usage;     /* extra lines for --help, or NULL */
    const struct option *extra_opts;    /* extra long options (val >= 1000), {0} ended, or NULL */
    /* opt - handle an extra option; return 0, or -1 for a usage error. */
    int (*opt)(struct stage *st, int val, const char *arg);
    /* start - after config, store and transports, before readiness. Return 0,
     * or an exit code (EXIT_PERM/EXIT_TEMP) to stop now. */
    int (*start)(struct stage *st);
    /* message - one decoded message (owned by the skeleton; detach what you keep). */
    void (*message)(struct stage *st, cJSON *msg);
    /* fill - there is room in the output queue: emit what you have. */
    void (*fill)(struct stage *st);
    /* busy - 1 while the stage has work in flight (keeps --once and stdin EOF from exiting). */
    int (*busy)(struct stage *st);
    void (*reload)(struct stage *st);
    void (*child)(struct stage *st);
    /* stop - clean up before exit. */
    void (*stop)(struct stage *st);
    /* operands - the synopsis of what follows the options, for the usage
     * line ("-- COMMAND [ARG...]"), or NULL. */
    const char *operands;
    /* args - the operands (argc may be 0), before the config is loaded.
     * Return NULL, or a usage error message (the stage exits 100). With
     * args set, option parsing stops at the first operand or "--"; without
     * it, an operand is a usage error. */
    const char *(*args)(struct stage *st, int argc, char **argv);
    /* paused - 1 while the stage can take no input message (promo-pipe:
     * its child's stdin is full); the input is not read meanwhile. */
    int (*paused)(struct stage *st);
};

struct stage {
    const struct stage_ops *ops;
    struct config cfg;
    struct store *store;         /* NULL when the state dir cannot be opened in stdio mode */
    void *zctx;
    struct loop *loop;           /* the one event loop (util/loop.h): fds, sockets, timers */
    struct transport *in, *out;
    const char *in_ep, *out_ep;  /* as resolved */
    int once;                    /* --once */
    int dry_run;                 /* --dry-run */
    int verbose;
    void *data;                  /* the stage's own state */
    /* counters (issue 7 turns them into metrics) */
    uint64_t msgs_in, msgs_out, msgs_bad, msgs_dropped, msgs_stale;
    uint64_t msgs_skipped;       /* periodic resync messages passed on unhandled (stage_memo) */
};

/* stage_main - run the stage; returns the process exit code. */
int stage_main(int argc, char **argv, const struct stage_ops *ops);

/* stage_emit - encode msg and queue it for the output (msg stays the caller's).
 * Returns 1 when queued, 0 when the queue is full (try again from ops->fill),
 * -1 when msg cannot be encoded (too large: logged). With no output
 * configured the message is dropped and 1 returned. */
int stage_emit(struct stage *st, const cJSON *msg);
/* One message discipline (docs/protocol.md, "Staleness"): every stage
 * decodes a "tracker" message the same way, re-reads the tracker it names
 * from the state dir, judges staleness by one rule, forwards it with its
 * unknown fields, and sends through one full-queue policy. */

/* A "tracker" message, decoded: what it says, not yet judged. */
struct tracker_msg {
    const char *name;            /* "name": a valid tracker name */
    int64_t generation;          /* "generation": a whole number >= 0 */
    const cJSON *snapshot;       /* "tracker": the sender's copy of the document, or NULL */
    const char *head_sha;        /* the snapshot's spec.headSHA, or NULL */
};
/* tracker_msg_decode - fill m from msg (pointers into msg). Returns 0, or
 * -1 with the reason in err. */
int tracker_msg_decode(const cJSON *msg, struct tracker_msg *m, char *err, size_t errlen);

/* stage_tracker flags */
#define STAGE_TRACKER_NEED_SHA 1 /* the message must name the head SHA it is about
                                  * (the promoter: nothing untested is promoted) */

/* stage_tracker - the tracker a "tracker" message names, re-read from the
 * state dir (the truth; the message is a hint), or, with no store or in
 * --dry-run when the store has none, the message's own snapshot. The one
 * staleness rule: the message is about the tracker as it is now, so its
 * generation must equal the tracker's and its snapshot's head SHA (when it
 * has one; always with STAGE_TRACKER_NEED_SHA) must be the tracker's.
 * Returns the document (caller frees) with t filled, or NULL when the
 * message is dropped: malformed (counted in msgs_bad), gone, unreadable, or
 * stale (counted in msgs_stale); each logged with its reason. */
struct tracker;
cJSON *stage_tracker(struct stage *st, const cJSON *msg, struct tracker *t, int flags);

/* stage_forward - a new "tracker" message for the next stage carrying
 * every field of msg but the envelope (v, kind, from, sent): unknown fields
 * travel on. The caller sets what it changes with stage_msg_set. */
cJSON *stage_forward(const struct stage *st, const cJSON *msg);
/* stage_msg_set - set msg[key] to item (taken), replacing any old value. */
void stage_msg_set(cJSON *msg, const char *key, cJSON *item);

/* stage_send - the one full-queue policy: queue msg (taken) for the output
 * as the latest message about tracker name. While the queue is full, the
 * message waits, replacing any earlier one about the same tracker, and goes
 * out in arrival order as room comes (before ops->fill is asked). The
 * input is not read while the queue is full, so what waits is bounded by
 * the work already in flight. Returns 1 (queued or waiting), or -1 when msg
 * cannot be encoded (logged, counted as dropped). */
int stage_send(struct stage *st, const char *name, cJSON *msg);

/* stage_memo - the stage has fully handled tracker name at generation:
 * nothing of it is in flight, and handling it again with the same records
 * would do nothing. Called from ops->message only (elsewhere it is a no-op):
 * the version of the records taken before the message was handled is kept,
 * and a periodic resync message about name at that generation and version
 * is then passed on unhandled (stage_skip in stage.c). Any change to a
 * record of name, by any process, ends the memo; so does stage_memo_clear
 * (a stage whose decisions depend on more than the records, e.g. the
 * policy set, calls it when that changes). */
void stage_memo(struct stage *st, const char *name, int64_t generation);
void stage_memo_clear(struct stage *st);

/* stage_out_room - how many more messages stage_emit will take now. */
int stage_out_room(const struct stage *st);

/* Fds, sockets and timers are the loop's (util/loop.h): st->loop. */

/* stage_stop - leave the loop after this iteration with code. */
void stage_stop(struct stage *st, int code);

/* stage_message_new - a fresh v1 message of kind with "from" and "sent" set. */
cJSON *stage_message_new(const struct stage *st, const char *kind);

#endif
