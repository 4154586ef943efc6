/* test_store_size.c - unit tests of domain/store.c: the quarantine reason
 * of a record that is too large gives the file's size and the limit, both
 * when it was too large when store_read looked at its size and when it
 * grew past the limit between that look and the read (a writer appending
 * in place). The second case needs the file to grow at exactly that
 * moment, so this test has its own binary and interposes fstat(): the
 * store's calls resolve to the definition below, which answers and then,
 * once, grows the file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "domain/store.h"
#include "util/util.h"
#include "unit.h"

static char state[PATH_MAX];
static char grow_path[2 * PATH_MAX];      /* the next fstat grows this file */
static off_t grow_to;

/* fstat - the real answer (fstatat of the descriptor itself), then grow
 * grow_path to grow_to bytes if asked: a writer got in after the look. */
int fstat(int fd, struct stat *sb)
{
    int rc = fstatat(fd, "", sb, AT_EMPTY_PATH);

    if (rc == 0 && grow_path[0]) {
        if (truncate(grow_path, grow_to) < 0)
            perror(grow_path);
        grow_path[0] = '\0';
    }
    return rc;
}

/* make_file - STATE/monitor/name.json: "{" and zeros up to size bytes. */
static int make_file(const char *name, off_t size, char *path, size_t len)
{
    int fd, ok;

    snprintf(path, len, "%s/monitor/%s.json", state, name);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ok = fd >= 0 && write(fd, "{", 1) == 1 && ftruncate(fd, size) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* reason - the .reason text of the one quarantine of monitor.name, heap. */
static char *reason(const char *name)
{
    char cmd[2 * PATH_MAX + 100], *text = NULL;
    size_t cap = 0;
    ssize_t n;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "cat %s/quarantine/monitor.%s.*.reason", state, name);
    p = popen(cmd, "r");
    if (!p)
        return NULL;
    n = getline(&text, &cap, p);
    pclose(p);
    if (n <= 0) {
        free(text);
        return NULL;
    }
    return text;
}

int main(void)
{
    char path[2 * PATH_MAX], want[128], *text;
    struct store *s;
    cJSON *got = NULL;
    int ok;

    log_init("test_store_size", LOG_ERROR);
    snprintf(state, sizeof(state), "%s/state", unit_tmpdir());
    s = store_open(state, 1);
    unit_ok(s != NULL, "store_open");
    if (!s)
        return unit_done();

    /* too large when looked at */
    ok = make_file("big", STORE_MAX_RECORD + 5, path, sizeof(path));
    unit_ok(ok && store_read(s, "monitor", "big", &got) == -EBADMSG && got == NULL, "too large: EBADMSG");
    text = reason("big");
    snprintf(want, sizeof(want), "too large: %d bytes, limit %d\n", STORE_MAX_RECORD + 5, STORE_MAX_RECORD);
    unit_ok(text && strcmp(text, want) == 0, "too large: reason %s", log_q(text ? text : "(none)"));
    free(text);

    /* within the limit when looked at, grown past it before the read */
    ok = make_file("grown", 100, path, sizeof(path));
    snprintf(grow_path, sizeof(grow_path), "%s", path);
    grow_to = (off_t)STORE_MAX_RECORD + 1000;
    unit_ok(ok && store_read(s, "monitor", "grown", &got) == -EBADMSG && got == NULL, "grown: EBADMSG");
    unit_ok(grow_path[0] == '\0', "grown: it grew after the look");
    text = reason("grown");
    snprintf(want, sizeof(want), "too large: %d bytes, limit %d\n", STORE_MAX_RECORD + 1000, STORE_MAX_RECORD);
    unit_ok(text && strcmp(text, want) == 0, "grown: reason gives its size: %s", log_q(text ? text : "(none)"));
    free(text);

    store_close(s);
    return unit_done();
}
