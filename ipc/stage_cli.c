/* stage_cli.c - the command line every stage shares (DESIGN.md,
 * "Common stage flags"): the options, --help, usage errors, endpoints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include "ipc/stage.h"
#include "ipc/stage_int.h"
#include "util/util.h"

static const struct option stage_base_opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "in", required_argument, NULL, STAGE_OPT_IN },
    { "out", required_argument, NULL, STAGE_OPT_OUT },
    { "once", no_argument, NULL, STAGE_OPT_ONCE },
    { "dry-run", no_argument, NULL, STAGE_OPT_DRY_RUN },
    { "verbose", no_argument, NULL, 'v' },
    { "notify-fd", required_argument, NULL, STAGE_OPT_NOTIFY_FD },
    { "help", no_argument, NULL, STAGE_OPT_HELP },
    { "version", no_argument, NULL, STAGE_OPT_VERSION },
};

/* stage_usage_line - the one-line synopsis. */
static void stage_usage_line(FILE *f, const struct stage_ops *ops)
{
    fprintf(f, "%s [-c FILE] [--in ENDPOINT|-|none] [--out ENDPOINT|-|none] [--once] "
            "[--dry-run] [-v] [--notify-fd N] [--help] [--version]%s%s", ops->prog,
            ops->operands ? " " : "", ops->operands ? ops->operands : "");
}

/* stage_usage_error - "prog: fatal: what arg" and "prog: usage: ..." on
 * stderr; returns EXIT_PERM. */
int stage_usage_error(const struct stage_ops *ops, const char *what, const char *arg)
{
    fprintf(stderr, "%s: fatal: %s%s\n", ops->prog, what, arg ? arg : "");
    fprintf(stderr, "%s: usage: ", ops->prog);
    stage_usage_line(stderr, ops);
    fprintf(stderr, "\n");
    return EXIT_PERM;
}

/* stage_help - --help on stdout. */
void stage_help(const struct stage_ops *ops)
{
    printf("Usage: ");
    stage_usage_line(stdout, ops);
    printf("\n%s\n\n", ops->summary ? ops->summary : "");
    printf("  -c, --config FILE    configuration (default $PROMO_CONFIG, then ./promo.yaml)\n");
    if (ops->in_default)
        printf("      --in ENDPOINT    where messages come from: a ZeroMQ endpoint this stage\n"
               "                       binds, - for stdin, none (default ipc://RUNDIR/%s)\n",
               ops->in_default);
    else if (ops->message)
        printf("      --in ENDPOINT    where messages come from: a ZeroMQ endpoint this stage\n"
               "                       binds, - for stdin, none (default none)\n");
    else
        printf("      --in none        this stage reads no messages\n");
    if (ops->out_default)
        printf("      --out ENDPOINT   where messages go: a ZeroMQ endpoint this stage\n"
               "                       connects to, - for stdout, none (default ipc://RUNDIR/%s)\n",
               ops->out_default);
    else
        printf("      --out ENDPOINT   where messages go: a ZeroMQ endpoint, - for stdout\n"
               "                       (default none)\n");
    printf("      --once           exit at the end of input / after one pass\n"
           "      --dry-run        no side effects: print what would be done as JSON\n"
           "  -v, --verbose        debug logging\n"
           "      --notify-fd N    write a newline to fd N when ready (s6 readiness)\n"
           "      --help           this text\n"
           "      --version        the version\n");
    if (ops->extra_usage)
        printf("%s%s", ops->extra_usage,
               ops->extra_usage[0] && ops->extra_usage[strlen(ops->extra_usage) - 1] != '\n' ? "\n" : "");
    printf("\nExit status: 0 done, 100 usage or configuration error, 111 temporary error.\n");
}

/* stage_long_opts - the base options followed by ops->extra_opts, {0}
 * ended, as a heap array. */
struct option *stage_long_opts(const struct stage_ops *ops)
{
    size_t nbase = ARRAY_LEN(stage_base_opts), nextra = 0;
    struct option *o;

    while (ops->extra_opts && ops->extra_opts[nextra].name)
        nextra++;
    o = xcalloc(nbase + nextra + 1, sizeof(*o));
    memcpy(o, stage_base_opts, sizeof(stage_base_opts));
    if (nextra)
        memcpy(o + nbase, ops->extra_opts, nextra * sizeof(*o));
    return o;
}

/* stage_parse_fd - a decimal fd number; -1 when not one. */
int stage_parse_fd(const char *s)
{
    char *end;
    long v;

    if (!s || !*s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 65535)
        return -1;
    return (int)v;
}

/* stage_resolve - the endpoint for one side: explicit (given), "none" for
 * none, else ipc://RUNDIR/dflt, else NULL. Heap string or NULL. */
char *stage_resolve(const char *given, const char *dflt, const char *run_dir)
{
    if (given)
        return strcmp(given, "none") == 0 ? NULL : xstrdup(given);
    if (dflt)
        return xasprintf("ipc://%s/%s", run_dir, dflt);
    return NULL;
}

/* stage_is_zmq_ep - 1 when ep names a ZeroMQ endpoint (not stdio, not none). */
int stage_is_zmq_ep(const char *ep)
{
    return ep && strcmp(ep, "-") != 0;
}

/* stage_open_errno_code - exit code for a transport that did not open. */
int stage_open_errno_code(int e)
{
    return (e == EINVAL || e == EPROTONOSUPPORT || e == ENOCOMPATPROTO ||
            e == ENAMETOOLONG || e == EEXIST) ? EXIT_PERM : EXIT_TEMP;
}

