/* unit.c - the TAP producer of unit.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"

static int unit_n, unit_failed;
static char unit_dir[512];

/* unit_ok - one numbered TAP result. */
int unit_ok(int cond, const char *fmt, ...)
{
    va_list ap;

    unit_n++;
    printf("%sok %d - ", cond ? "" : "not ", unit_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!cond)
        unit_failed++;
    return cond;
}

/* unit_note - a TAP diagnostic. */
void unit_note(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* unit_tmpdir - one scratch directory per test binary. */
const char *unit_tmpdir(void)
{
    const char *t = getenv("TMPDIR");

    if (unit_dir[0])
        return unit_dir;
    snprintf(unit_dir, sizeof(unit_dir), "%s/promo-unit.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(unit_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return unit_dir;
}

/* unit_done - print the plan, remove the scratch dir, return the exit code. */
int unit_done(void)
{
    printf("1..%d\n", unit_n);
    if (unit_dir[0]) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", unit_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "unit: could not remove %s\n", unit_dir);
    }
    return unit_failed ? 1 : 0;
}
