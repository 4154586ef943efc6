/* atomic.h - whole-file replacement that a crash can never tear:
 * O_EXCL temp file in the same directory, write, fsync, rename, fsync the directory. */
#ifndef PROMO_ATOMIC_H
#define PROMO_ATOMIC_H

#include <stddef.h>

/* Temp files are named ".<name>.tmp.<pid>.<n>"; names starting with '.' are
 * never listed as records. */
#define ATOMIC_TMP_PREFIX "."

/* atomic_durable - switch fsync of file and directory on (default) or off
 * (benchmarks without durability, tmpfs). */
void atomic_durable(int on);

/* atomic_write - replace dir/name with data[0..len). mode as for open(2).
 * Returns 0, or -errno with nothing changed (the temp file is removed). */
/* atomic_is_durable - the current setting (the audit log follows it too). */
int atomic_is_durable(void);

int atomic_write(const char *dir, const char *name, const void *data, size_t len, int mode);

/* atomic_clean_temps - remove temp files in dir left by a crash whose owner
 * process is gone (its pid no longer exists) or that are older than max_age_s.
 * Returns how many were removed. */
int atomic_clean_temps(const char *dir, int max_age_s);

/* Test hook: when PROMO_CRASH_AT names "atomic.before_rename" the process
 * exits (_exit(111)) after the temp file is fsynced and before rename. */

#endif
