/* ctl.h - promoctl, the operator's command line: shared pieces of its subcommands.
 *
 * promoctl.c parses the global flags (-c, -v, --help, --version), loads the
 * config and dispatches to one ctl_<command>() per subcommand; each lives in
 * its own file ctl/ctl_<command>.c and returns the process exit code. */
#ifndef PROMO_CTL_H
#define PROMO_CTL_H

#include "domain/config.h"
#include "domain/store.h"

#include "domain/rec_target.h"

struct ctl {
    struct config cfg;
    struct store *store;     /* opened (created) state dir */
    int json;                /* --json given to the subcommand */
    struct target_table *targets;   /* STATE/targets, read once when first needed */
};

struct view;
/* ctl_targets_apply - v's waiting text names the target it waits in line
 * for, if it does (domain/rec_target.h); the records are read once. */
void ctl_targets_apply(struct ctl *c, struct view *v);

/* ctl_usage_error - "promoctl: usage: ..." on stderr; returns EXIT_PERM. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int ctl_track(struct ctl *c, int argc, char **argv);
int ctl_get(struct ctl *c, int argc, char **argv);
int ctl_list(struct ctl *c, int argc, char **argv);
int ctl_events(struct ctl *c, int argc, char **argv);
int ctl_policies(struct ctl *c, int argc, char **argv);   /* ctl_policies.c (issue 3) */
int ctl_show(struct ctl *c, int argc, char **argv);       /* ctl_show.c */
int ctl_approve(struct ctl *c, int argc, char **argv);    /* ctl_approve.c */
int ctl_retry(struct ctl *c, int argc, char **argv);      /* ctl_approve.c */

#endif
