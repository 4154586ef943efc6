/* promoctl.c - the operator's command line: global flags and dispatch.
 *
 *   promoctl [-c FILE] [-v] COMMAND [ARGS...]
 *
 * Each command lives in ctl/ctl_<command>.c. Exit codes: 0 success, 100 usage
 * or permanent error (bad input, unknown tracker), 111 temporary error. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/config.h"
#include "util/log.h"
#include "domain/store.h"
#include "util/util.h"
#include "ctl/ctl.h"

static const char promoctl_usage[] =
    "usage: promoctl [-c FILE] [-v] COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  track --repo OWNER/NAME --pr N --sha SHA --env ENV --app APP\n"
    "        [--state deploying|synced] [--ref REF] [--name NAME]\n"
    "                      create or update a PullRequestTracker (a new head SHA\n"
    "                      bumps its generation and restarts it in ENV); N is\n"
    "                      1..2147483648 (2^31)\n"
    "  get NAME [--json | -o yaml|json]\n"
    "                      show one tracker; -o prints the PullRequestTracker with\n"
    "                      its status (testRuns, promotions, conditions) as the\n"
    "                      original controller's users know it; --json the stored\n"
    "                      document with promo's view under \"view\"\n"
    "  list [--json]       all trackers: environment, state, age, what each waits on\n"
    "  show NAME [--json]  the timeline of every hop: tests with outcome, duration and\n"
    "                      URL, approval, promotion; and what it waits on now\n"
    "  approve NAME [--sha SHA] [--by WHO] [--json]\n"
    "                      approve the promotion of a tracker awaiting approval\n"
    "                      (WHO defaults to $SUDO_USER, then $USER, then operator);\n"
    "                      with --sha (the head SHA, or a prefix of at least 7 hex\n"
    "                      digits) only if the tracker is still at that commit,\n"
    "                      else exit 100 and nothing is approved\n"
    "  retry NAME [--by WHO] [--json]\n"
    "                      a failed hop once more: its failed tests again (attempt\n"
    "                      N, new keys), or, when the promotion itself failed, the\n"
    "                      promotion\n"
    "  policies [--json]   the PromotionPolicy set and the environment chain it forms\n"
    "  events [--tracker NAME] [--json] [-f]\n"
    "                      the audit log; -f follows it live\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   promo.yaml (default $PROMO_CONFIG, then ./promo.yaml)\n"
    "  -v, --verbose       debug logging\n"
    "  -h, --help          this help\n"
    "      --version       print the version\n"
    "\n"
    "Exit codes: 0 ok, 100 usage or permanent error, 111 temporary error.\n";

/* needs_store: CTL_NO_STORE, CTL_READS (the state dir must exist: a reader
 * never makes it, nor its areas - not for a typo, not as root at the
 * built-in /var/lib/promo) or CTL_WRITES (made if missing, as a stage does). */
enum { CTL_NO_STORE, CTL_READS, CTL_WRITES };

struct ctl_command {
    const char *name;
    int (*run)(struct ctl *, int, char **);
    int needs_store;
};

static const struct ctl_command ctl_commands[] = {
    { "track", ctl_track, CTL_WRITES },
    { "get", ctl_get, CTL_READS },
    { "list", ctl_list, CTL_READS },
    { "policies", ctl_policies, CTL_NO_STORE },
    { "events", ctl_events, CTL_READS },
    { "show", ctl_show, CTL_READS },
    { "approve", ctl_approve, CTL_WRITES },
    { "retry", ctl_retry, CTL_WRITES },
};

/* ctl_usage_error - one usage line on stderr, exit code 100. */
int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "promoctl: usage: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see promoctl --help)\n");
    return EXIT_PERM;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { 0, 0, 0, 0 },
    };
    const char *cfgpath = NULL, *path;
    struct ctl c;
    char err[8192];
    size_t i;
    int ch, rc, cmd;

    log_init("promoctl", LOG_WARN);
    memset(&c, 0, sizeof(c));
    /* "+" stops at the first non-option: the command's own flags follow it. */
    while ((ch = getopt_long(argc, argv, "+c:vh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cfgpath = optarg; break;
        case 'v': log_set_level(LOG_DEBUG); break;
        case 'h': fputs(promoctl_usage, stdout); return EXIT_OK;
        case 'V': printf("promoctl %s\n", PROMO_VERSION); return EXIT_OK;
        default: return ctl_usage_error("unknown option");
        }
    }
    if (optind >= argc)
        return ctl_usage_error("missing COMMAND");
    for (i = 0; i < ARRAY_LEN(ctl_commands); i++)
        if (strcmp(argv[optind], ctl_commands[i].name) == 0)
            break;
    if (i == ARRAY_LEN(ctl_commands))
        return ctl_usage_error("unknown command '%s'", argv[optind]);

    path = config_find(cfgpath);
    if (path) {
        if (config_load(&c.cfg, path, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            fprintf(stderr, "promoctl: fatal: invalid configuration %s\n", path);
            config_free(&c.cfg);
            return EXIT_PERM;
        }
    } else {
        config_defaults(&c.cfg);
    }
    if (ctl_commands[i].needs_store != CTL_NO_STORE) {
        c.store = store_open(c.cfg.state_dir, ctl_commands[i].needs_store == CTL_WRITES);
        if (!c.store) {
            fprintf(stderr, "promoctl: fatal: unable to open state dir %s\n", c.cfg.state_dir);
            config_free(&c.cfg);
            return EXIT_TEMP;
        }
    }
    cmd = optind;
    optind = 0;     /* full getopt reset: the command parses its own argv */
    rc = ctl_commands[i].run(&c, argc - cmd, argv + cmd);
    if (c.targets) {
        target_table_free(c.targets);
        free(c.targets);
    }
    store_close(c.store);
    config_free(&c.cfg);
    return rc;
}
