/* policy_lint.c - promo-policy --validate PATH...: the policy linter for CI.
 *
 * Each DIR argument is checked as one policy set (as promo-policy would load
 * it); all FILE arguments together form one more set, so cross-policy rules
 * (ambiguous source, cycles, duplicate names) apply across them. Errors and
 * warnings go to stderr as "file:line:col: field: message"; a summary per set
 * goes to stdout. Exit 0 when every set is valid (warnings allowed), 100
 * otherwise, including usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"
#include "util/util.h"
#include "policy/policy_stage.h"

#define POLICY_LINT_USAGE "usage: promo-policy --validate FILE|DIR...\n"

/* policy_lint_report - print a finished set's messages and summary; 1 if valid. */
static int policy_lint_report(struct policy_set *s, const char *what)
{
    char *chain;
    int ok = policy_set_finish(s) == 0;

    policy_diag_print(&s->diag, stderr);
    chain = policy_set_chain_text(s);
    if (ok)
        printf("%s: valid: %d polic%s in %d file%s, %d warning%s\n", what, s->n,
               s->n == 1 ? "y" : "ies", s->nfiles, s->nfiles == 1 ? "" : "s",
               s->diag.nwarnings, s->diag.nwarnings == 1 ? "" : "s");
    else
        fprintf(stderr, "%s: invalid: %d error%s, %d warning%s\n", what, s->diag.nerrors,
                s->diag.nerrors == 1 ? "" : "s", s->diag.nwarnings, s->diag.nwarnings == 1 ? "" : "s");
    if (ok && chain[0])
        printf("%s: chain: %s\n", what, chain);
    free(chain);
    return ok;
}

/* policy_lint_main - the linter; argv is promo-policy's whole command line. */
int policy_lint_main(int argc, char **argv)
{
    struct policy_set files;
    const char *last_file = "files";
    int i, nfiles = 0, npaths = 0, ok = 1, end_of_opts = 0;

    log_init("promo-policy", LOG_WARN);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (end_of_opts)
            continue;
        if (strcmp(a, "--") == 0)
            end_of_opts = 1;
        else if (strncmp(a, "--validate=", 11) == 0)
            npaths++;
        else if (a[0] == '-' && strcmp(a, "--validate") != 0) {
            fprintf(stderr, "promo-policy: usage: unknown option with --validate: %s\n%s", a,
                    POLICY_LINT_USAGE);
            return EXIT_PERM;
        }
    }
    for (i = 1; i < argc; i++)
        if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)
            npaths++;
    if (npaths == 0) {
        fprintf(stderr, "promo-policy: usage: --validate needs at least one FILE or DIR\n%s",
                POLICY_LINT_USAGE);
        return EXIT_PERM;
    }
    policy_set_init(&files);
    end_of_opts = 0;
    for (i = 1; i < argc; i++) {
        const char *path = argv[i];
        struct stat sb;

        if (!end_of_opts && strcmp(path, "--") == 0) {
            end_of_opts = 1;
            continue;
        }
        if (!end_of_opts && strncmp(path, "--validate=", 11) == 0)
            path += 11;
        else if (!end_of_opts && path[0] == '-')
            continue;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            struct policy_set dir;
            policy_set_init(&dir);
            policy_set_add_dir(&dir, path);
            ok &= policy_lint_report(&dir, path);
            policy_set_free(&dir);
        } else {
            policy_set_add_file(&files, path);
            last_file = path;
            nfiles++;
        }
    }
    if (nfiles)
        ok &= policy_lint_report(&files, nfiles == 1 ? last_file : "files");
    policy_set_free(&files);
    return ok ? EXIT_OK : EXIT_PERM;
}
