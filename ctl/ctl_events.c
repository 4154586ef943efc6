/* ctl_events.c - promoctl events: the audit log, for people or scripts, optionally followed live.
 *
 *   promoctl events [--tracker NAME] [--json] [-f|--follow]
 *
 * Reads STATE/audit.log, which promo only ever appends to. A line that is not
 * a valid event is reported on stderr and skipped, never printed as one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/audit.h"
#include "util/util.h"
#include "ctl/ctl.h"

struct events_args {
    const char *tracker;
    int follow;
};

/* events_print - one event line, filtered, as a table row or JSON. */
static void events_print(struct ctl *c, const struct events_args *a, const char *line,
                         size_t len, long lineno)
{
    char err[128];
    cJSON *o = audit_decode(line, len, err, sizeof(err));
    const char *tr;

    if (!o) {
        fprintf(stderr, "promoctl: warning: audit.log:%ld: %s\n", lineno, err);
        return;
    }
    tr = cJSON_GetObjectItemCaseSensitive(o, "tracker")->valuestring;
    if (!a->tracker || strcmp(a->tracker, tr) == 0) {
        if (c->json) {
            char *s = cJSON_PrintUnformatted(o);
            printf("%s\n", s);
            free(s);
        } else {
            printf("%-24s %-32s %-8s %-20s %s\n",
                   cJSON_GetObjectItemCaseSensitive(o, "time")->valuestring, tr,
                   cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(o, "reason")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(o, "message")->valuestring);
        }
        fflush(stdout);
    }
    cJSON_Delete(o);
}

/* events_drain - print complete lines from fd at *off onward; keeps a
 * partial last line for the next call. Returns 0 or -errno. */
static int events_drain(struct ctl *c, const struct events_args *a, int fd, off_t *off,
                        char **carry, size_t *carrylen, long *lineno)
{
    char buf[65536];

    for (;;) {
        ssize_t r = pread(fd, buf, sizeof(buf), *off);
        size_t i, start = 0;

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return 0;
        *off += r;
        for (i = 0; i < (size_t)r; i++) {
            if (buf[i] != '\n')
                continue;
            (*lineno)++;
            if (*carrylen) {
                *carry = xrealloc(*carry, *carrylen + (i - start) + 1);
                memcpy(*carry + *carrylen, buf + start, i - start);
                events_print(c, a, *carry, *carrylen + (i - start), *lineno);
                *carrylen = 0;
            } else {
                events_print(c, a, buf + start, i - start, *lineno);
            }
            start = i + 1;
        }
        if (start < (size_t)r) {
            if (*carrylen + ((size_t)r - start) > AUDIT_LINE_MAX * 4) {
                fprintf(stderr, "promoctl: warning: audit.log: line %ld too long, skipped\n", *lineno + 1);
                *carrylen = 0;
            } else {
                *carry = xrealloc(*carry, *carrylen + ((size_t)r - start) + 1);
                memcpy(*carry + *carrylen, buf + start, (size_t)r - start);
                *carrylen += (size_t)r - start;
            }
        }
    }
}

/* ctl_events - promoctl events. */
int ctl_events(struct ctl *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "follow", no_argument, NULL, 'f' },
        { "tracker", required_argument, NULL, 't' },
        { 0, 0, 0, 0 },
    };
    struct events_args a = { NULL, 0 };
    char path[4096], *carry = NULL;
    size_t carrylen = 0;
    long lineno = 0;
    off_t off = 0;
    int ch, fd = -1, rc = 0;

    while ((ch = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': c->json = 1; break;
        case 'f': a.follow = 1; break;
        case 't':
            if (!name_valid(optarg))
                return ctl_usage_error("events: '%s' is not a tracker name", optarg);
            a.tracker = optarg;
            break;
        default: return ctl_usage_error("events: unknown option");
        }
    }
    if (optind < argc)
        return ctl_usage_error("events: unexpected argument '%s'", argv[optind]);
    snprintf(path, sizeof(path), "%s/%s", store_dir(c->store), AUDIT_FILE);
    if (!c->json)
        printf("%-24s %-32s %-8s %-20s %s\n", "TIME", "TRACKER", "TYPE", "REASON", "MESSAGE");
    for (;;) {
        if (fd < 0) {
            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 && errno != ENOENT) {
                fprintf(stderr, "promoctl: fatal: unable to open %s: %s\n", path, strerror(errno));
                return EXIT_TEMP;
            }
        }
        if (fd >= 0 && (rc = events_drain(c, &a, fd, &off, &carry, &carrylen, &lineno)) < 0) {
            fprintf(stderr, "promoctl: fatal: unable to read %s: %s\n", path, strerror(-rc));
            break;
        }
        if (!a.follow)
            break;
        {
            struct timespec ts = { 0, 200 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    if (fd >= 0)
        close(fd);
    free(carry);
    return rc < 0 ? EXIT_TEMP : EXIT_OK;
}
