/* replay.c - the corpus replayer of a fuzz harness, for make test (gcc, no
 * libFuzzer): feeds every regular file of the harness's corpus directory to
 * its LLVMFuzzerTestOneInput, in name order, and prints one TAP line per
 * file. An input that crashes the decoder or breaks an invariant aborts the
 * run, which tests/run reports as a failure (and, under the ASan build, a
 * sanitizer report).
 *
 *   test_fuzz_NAME [DIR|FILE...]     default: fuzz/corpus/NAME
 *
 * FUZZ_NAME is given at compile time (-DFUZZ_NAME="frame"). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must be defined"
#endif

#define REPLAY_MAX_INPUT (4 << 20)     /* bytes in one corpus file */

/* LLVMFuzzerInitialize is optional in a harness. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_n;

/* replay_read - the whole of path into a heap buffer of exactly its size;
 * 0, or -1 with errno. */
static int replay_read(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    uint8_t *buf;
    size_t got;

    if (!f)
        return -1;
    if (fstat(fileno(f), &sb) < 0 || sb.st_size < 0 || sb.st_size > REPLAY_MAX_INPUT) {
        fclose(f);
        errno = EFBIG;
        return -1;
    }
    buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    got = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    if (got != (size_t)sb.st_size) {
        free(buf);
        errno = EIO;
        return -1;
    }
    *out = buf;
    *len = got;
    return 0;
}

/* replay_file - run one input and print its TAP line. */
static void replay_file(const char *path)
{
    uint8_t *buf;
    size_t len;

    replay_n++;
    if (replay_read(path, &buf, &len) < 0) {
        printf("not ok %d - %s: cannot read: %s\n", replay_n, path, strerror(errno));
        return;
    }
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %d - fuzz_%s replays %s (%zu bytes)\n", replay_n, FUZZ_NAME, path, len);
}

/* replay_cmp - name order for scandir. */
static int replay_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* replay_path - a file, or every regular non-hidden file of a directory. */
static void replay_path(const char *path)
{
    struct dirent **ents;
    struct stat sb;
    int n, i;

    if (stat(path, &sb) < 0) {
        printf("not ok %d - %s: %s\n", ++replay_n, path, strerror(errno));
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        replay_file(path);
        return;
    }
    n = scandir(path, &ents, NULL, replay_cmp);
    if (n < 0) {
        printf("not ok %d - %s: %s\n", ++replay_n, path, strerror(errno));
        return;
    }
    for (i = 0; i < n; i++) {
        char *full;
        if (ents[i]->d_name[0] != '.') {
            size_t need = strlen(path) + strlen(ents[i]->d_name) + 2;
            full = malloc(need);
            if (!full)
                abort();
            snprintf(full, need, "%s/%s", path, ents[i]->d_name);
            if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
                replay_file(full);
            free(full);
        }
        free(ents[i]);
    }
    free(ents);
}

/* main - replay the corpus (or the paths given) and report in TAP. */
int main(int argc, char **argv)
{
    int i;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1)
        for (i = 1; i < argc; i++)
            replay_path(argv[i]);
    else
        replay_path("fuzz/corpus/" FUZZ_NAME);
    if (replay_n == 0)
        printf("not ok 1 - fuzz_%s: empty corpus\n", FUZZ_NAME), replay_n = 1;
    printf("1..%d\n", replay_n);
    return 0;
}
