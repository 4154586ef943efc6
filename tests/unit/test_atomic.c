/* test_atomic.c - unit tests of util/atomic.c: replacement, errors that
 * leave nothing behind, and which temp files atomic_clean_temps removes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/atomic.h"
#include "util/log.h"
#include "util/util.h"
#include "unit.h"

static char dir[PATH_MAX];

/* count_entries - files in dir other than . and .. */
static int count_entries(void)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

/* touch - create dir/name, with mtime age_s seconds ago. */
static void touch(const char *name, int age_s)
{
    char path[2 * PATH_MAX + 600];
    struct timespec ts[2];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    close(fd);
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= age_s;
    ts[1] = ts[0];
    utimensat(AT_FDCWD, path, ts, 0);
}

/* present - does dir/name exist? */
static int present(const char *name)
{
    char path[2 * PATH_MAX + 600];
    struct stat sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return lstat(path, &sb) == 0;
}

/* dead_pid - the pid of a child that has exited and been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();

    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

/* test_write - replace, contents and mode; bad names; missing dir. */
static void test_write(void)
{
    static const char *bad[] = { "", ".", "..", "a/b", "/x" };
    char path[2 * PATH_MAX + 600];
    char *buf = NULL;
    size_t len = 0, i;
    struct stat sb;

    unit_ok(atomic_write(dir, "f", "hello", 5, 0600) == 0, "write new file");
    snprintf(path, sizeof(path), "%s/f", dir);
    unit_ok(read_file(path, 100, &buf, &len) == 0 && len == 5 && memcmp(buf, "hello", 5) == 0,
            "content");
    free(buf);
    unit_ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "mode 0600");
    unit_ok(atomic_write(dir, "f", "bye", 3, 0600) == 0, "replace");
    buf = NULL;
    unit_ok(read_file(path, 100, &buf, &len) == 0 && len == 3 && memcmp(buf, "bye", 3) == 0,
            "replaced content");
    free(buf);
    unit_ok(atomic_write(dir, "empty", "", 0, 0600) == 0 && present("empty"), "empty file");
    atomic_durable(0);
    unit_ok(atomic_write(dir, "fast", "x", 1, 0644) == 0 && present("fast"), "non-durable write");
    atomic_durable(1);
    for (i = 0; i < ARRAY_LEN(bad); i++)
        unit_ok(atomic_write(dir, bad[i], "x", 1, 0600) == -EINVAL, "name %s: EINVAL",
                log_q(bad[i]));
    snprintf(path, sizeof(path), "%s/missing", dir);
    unit_ok(atomic_write(path, "f", "x", 1, 0600) == -ENOENT, "missing dir: ENOENT");
    /* rename onto a non-empty directory fails: the temp must be gone */
    snprintf(path, sizeof(path), "%s/isdir", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/isdir/x", dir);
    touch("isdir/x", 0);
    i = (size_t)count_entries();
    unit_ok(atomic_write(dir, "isdir", "x", 1, 0600) < 0 && count_entries() == (int)i,
            "failed rename leaves no temp");
}

/* test_clean - dead owner or too old: removed; live and young, or not a
 * temp name: kept. */
static void test_clean(void)
{
    char dead[64], live[64], old[64];
    static const char *keep[] = { ".x.tmp.abc.1", ".x.tmp.12.", ".x.tmp.12", "x.tmp.999999.1",
                                  ".x.tmp..1", ".x.tmp.1.1a", "plain" };
    size_t i;
    int n;

    snprintf(dead, sizeof(dead), ".a.json.tmp.%ld.0", (long)dead_pid());
    snprintf(live, sizeof(live), ".b.json.tmp.%ld.3", (long)getpid());
    snprintf(old, sizeof(old), ".c.tmp.x.tmp.%ld.12", (long)getpid());
    touch(dead, 0);
    touch(live, 0);
    touch(old, 7200);
    for (i = 0; i < ARRAY_LEN(keep); i++)
        touch(keep[i], 7200);
    n = atomic_clean_temps(dir, 3600);
    unit_ok(n == 2, "clean removed 2 (%d)", n);
    unit_ok(!present(dead), "dead owner's temp removed");
    unit_ok(!present(old), "old temp of a live owner removed");
    unit_ok(present(live), "young temp of a live owner kept");
    for (i = 0; i < ARRAY_LEN(keep); i++)
        unit_ok(present(keep[i]), "not a temp name, kept: %s", keep[i]);
    unit_ok(atomic_clean_temps(dir, 0) == 0 && present(live), "max_age 0: age not used");
    unit_ok(atomic_clean_temps("/nonexistent/dir", 1) == 0, "missing dir: 0");
}

int main(void)
{
    log_init("test_atomic", LOG_ERROR);
    snprintf(dir, sizeof(dir), "%s", unit_tmpdir());
    test_write();
    test_clean();
    return unit_done();
}
