/* atomic.c - whole-file replacement that a crash can never tear.
 *
 * The protocol (docs/state.md): create ".<name>.tmp.<pid>.<n>" in the same
 * directory with O_EXCL, write it all, fsync, close, rename over <name>,
 * fsync the directory. A reader sees the old file or the new one, never a
 * mix. A crash leaves at most a temp file, which atomic_clean_temps removes
 * once its owner is dead. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"
#include "util/util.h"

static int atomic_sync = 1;
static unsigned long atomic_counter;

/* atomic_durable - fsync on (default) or off. */
void atomic_durable(int on)
{
    atomic_sync = on ? 1 : 0;
}

/* atomic_is_durable - whether writes fsync (other appenders follow it). */
int atomic_is_durable(void)
{
    return atomic_sync;
}

/* atomic_name_ok - a plain file name: not empty, no '/', not "." or "..". */
static int atomic_name_ok(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0
        && strcmp(name, "..") != 0;
}

/* atomic_fsync_dir - fsync a directory so a rename or unlink in it is
 * durable. Returns 0 or -errno. */
static int atomic_fsync_dir(const char *dir)
{
    int fd, rc = 0;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0 && errno != EINVAL)   /* EINVAL: fs without dir fsync */
        rc = -errno;
    close(fd);
    return rc;
}

/* atomic_write_all - write len bytes to fd, retrying on EINTR and short
 * writes. Returns 0 or -errno. */
static int atomic_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* atomic_write - replace dir/name with data[0..len); 0, or -errno with the
 * temp file removed and dir/name untouched. Only the final directory fsync
 * can fail after the rename: then the new content is in place but its
 * durability is unknown, and -errno is still returned. */
int atomic_write(const char *dir, const char *name, const void *data, size_t len, int mode)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    int fd = -1, rc, tries;

    if (!dir || !atomic_name_ok(name) || (!data && len > 0))
        return -EINVAL;
    rc = snprintf(dst, sizeof(dst), "%s/%s", dir, name);
    if (rc < 0 || (size_t)rc >= sizeof(dst))
        return -ENAMETOOLONG;

    /* A stale temp of a recycled pid may hold the name: take the next n. */
    for (tries = 0; tries < 16; tries++) {
        rc = snprintf(tmp, sizeof(tmp), "%s/" ATOMIC_TMP_PREFIX "%s.tmp.%ld.%lu",
                      dir, name, (long)getpid(), __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_RELAXED));
        if (rc < 0 || (size_t)rc >= sizeof(tmp))
            return -ENAMETOOLONG;
        fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0)
        return -errno;

    rc = atomic_write_all(fd, data, len);
    if (rc == 0 && atomic_sync && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0) {
        crash_point("atomic.before_rename");
        if (rename(tmp, dst) < 0)
            rc = -errno;
    }
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    if (atomic_sync)
        return atomic_fsync_dir(dir);
    return 0;
}

/* atomic_temp_pid - if name is a temp file ".<x>.tmp.<pid>.<n>", return its
 * pid; else 0. */
static pid_t atomic_temp_pid(const char *name)
{
    const char *p, *tail = NULL;
    char *end;
    long pid;

    if (name[0] != '.')
        return 0;
    /* the last ".tmp." followed by digits '.' digits to the end */
    for (p = strstr(name + 1, ".tmp."); p; p = strstr(p + 1, ".tmp."))
        tail = p + 5;
    if (!tail || *tail < '0' || *tail > '9')
        return 0;
    errno = 0;
    pid = strtol(tail, &end, 10);
    if (errno || pid <= 0 || pid > INT_MAX || *end != '.')
        return 0;
    for (p = end + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    if (p == end + 1)
        return 0;
    return (pid_t)pid;
}

/* atomic_clean_temps - remove regular temp files in dir whose owner pid is
 * gone, or (max_age_s > 0) whose mtime is older than max_age_s. Returns how
 * many were removed; a dir that cannot be read counts as none. */
int atomic_clean_temps(const char *dir, int max_age_s)
{
    DIR *d;
    struct dirent *de;
    time_t now = time(NULL);
    int removed = 0;

    d = opendir(dir);
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        pid_t pid = atomic_temp_pid(de->d_name);
        int dead, old;

        if (pid == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
            continue;
        dead = pid != getpid() && kill(pid, 0) == -1 && errno == ESRCH;
        old = max_age_s > 0 && now - sb.st_mtime > (time_t)max_age_s;
        if (!dead && !old)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
            removed++;
            log_info("atomic_clean", "dir=%s file=%s reason=%s", log_q(dir),
                     log_q(de->d_name), dead ? "owner-gone" : "too-old");
        }
    }
    closedir(d);
    return removed;
}
