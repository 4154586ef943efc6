/* stage_int.h - what the parts of the stage skeleton share (stage.c,
 * stage_cli.c); not for stages. */
#ifndef PROMO_STAGE_INT_H
#define PROMO_STAGE_INT_H

#include <getopt.h>
#include <stdio.h>

struct stage_ops;

enum {
    STAGE_OPT_IN = 1, STAGE_OPT_OUT, STAGE_OPT_ONCE, STAGE_OPT_DRY_RUN,
    STAGE_OPT_NOTIFY_FD, STAGE_OPT_HELP, STAGE_OPT_VERSION
};

/* stage_usage_error - "prog: fatal: what arg" and the usage line on
 * stderr; returns EXIT_PERM. */
int stage_usage_error(const struct stage_ops *ops, const char *what, const char *arg);
/* stage_help - --help on stdout. */
void stage_help(const struct stage_ops *ops);
/* stage_long_opts - the common options then ops->extra_opts (heap, {0} ended). */
struct option *stage_long_opts(const struct stage_ops *ops);
/* stage_parse_fd - a decimal fd number; -1 when not one. */
int stage_parse_fd(const char *s);
/* stage_resolve - an endpoint: given ("none": NULL), else ipc://RUNDIR/dflt, else NULL. */
char *stage_resolve(const char *given, const char *dflt, const char *run_dir);
/* stage_is_zmq_ep - 1 when ep names a ZeroMQ endpoint. */
int stage_is_zmq_ep(const char *ep);
/* stage_open_errno_code - the exit code for a transport that did not open. */
int stage_open_errno_code(int e);

#endif
