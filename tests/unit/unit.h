/* unit.h - a tiny TAP producer for table-driven C unit tests.
 *
 *   for (i = 0; i < ARRAY_LEN(cases); i++)
 *       unit_ok(check(cases[i]) == cases[i].want, "duration %s", cases[i].in);
 *   return unit_done();
 *
 * Each unit_ok prints "ok N - desc" or "not ok N - desc"; unit_done prints
 * the plan "1..N" and returns the exit code (1 when any check failed).
 * tests/run counts these lines. */
#ifndef PROMO_UNIT_H
#define PROMO_UNIT_H

int unit_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* unit_note - a "# ..." diagnostic line. */
void unit_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* unit_tmpdir - a fresh directory under $TMPDIR (removed by unit_done). */
const char *unit_tmpdir(void);
int unit_done(void);

#endif
