/* fuzz_config.c - libFuzzer harness of config_load (domain/config.h), the
 * promo.yaml loader. config_load reads a file, so each input is written to a
 * file in a private directory (under /dev/shm when it exists) and loaded
 * over the defaults; config.c is used exactly as the stages use it.
 *
 * The directory also holds a token file ("token", mode 0600) so that
 * tokenFile keys have something to read; PROMO_*_TOKEN variables are unset
 * so the environment does not change the outcome.
 *
 * Invariants: a loaded config has every default filled in (absolute
 * directories, positive intervals), at most CONFIG_MAX_CLUSTERS clusters,
 * each named and with a URL; a failed load says why; config_free releases
 * everything either way. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/config.h"
#include "util/log.h"
#include "fuzz/fuzz.h"

static char cfgfuzz_dir[256];
static char cfgfuzz_path[300];

/* cfgfuzz_cleanup - remove the private directory at exit. */
static void cfgfuzz_cleanup(void)
{
    char p[320];

    snprintf(p, sizeof(p), "%s/token", cfgfuzz_dir);
    unlink(p);
    unlink(cfgfuzz_path);
    rmdir(cfgfuzz_dir);
}

/* LLVMFuzzerInitialize - make the private directory and its token file. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char p[320];
    int fd;

    snprintf(cfgfuzz_dir, sizeof(cfgfuzz_dir), "%s/promo-fuzz-config.XXXXXX", base);
    if (!mkdtemp(cfgfuzz_dir))
        abort();
    snprintf(cfgfuzz_path, sizeof(cfgfuzz_path), "%s/promo.yaml", cfgfuzz_dir);
    snprintf(p, sizeof(p), "%s/token", cfgfuzz_dir);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "fuzz-token-value\n", 17) != 17)
        abort();
    close(fd);
    atexit(cfgfuzz_cleanup);
    unsetenv("PROMO_GITHUB_TOKEN");
    unsetenv("PROMO_JENKINS_TOKEN");
    unsetenv("PROMO_GITLAB_TOKEN");
    log_init("fuzz_config", LOG_FATAL);
    return 0;
}

/* LLVMFuzzerTestOneInput - write the input as promo.yaml and load it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    char err[4096];
    int fd, i;

    if (!cfgfuzz_dir[0])
        LLVMFuzzerInitialize(NULL, NULL);
    fd = open(cfgfuzz_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);

    config_defaults(&c);
    err[0] = 0;
    if (config_load(&c, cfgfuzz_path, err, sizeof(err)) == 0) {
        FUZZ_CHECK(c.state_dir && c.run_dir && c.policy_dir && c.github.api_url);
        FUZZ_CHECK(c.state_dir[0] == '/' && c.run_dir[0] == '/' && c.policy_dir[0] == '/');
        FUZZ_CHECK(c.resync_interval_ms > 0 && c.poll_interval_ms > 0 && c.deploy_timeout_ms > 0);
        FUZZ_CHECK(c.nclusters >= 0 && c.nclusters <= CONFIG_MAX_CLUSTERS);
        for (i = 0; i < c.nclusters; i++)
            FUZZ_CHECK(c.clusters[i].name && c.clusters[i].name[0]);
        (void)config_cluster(&c, NULL);
        (void)config_cluster(&c, "default");
    } else {
        FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
    }
    config_free(&c);
    return 0;
}
