/* sim_main.c - promo-sim: API-faithful simulators of Jenkins, GitHub, GitLab
 * and Argo CD on one port, for tests, the demo and benchmarks.
 *
 * This file holds the command line only; see sim_http.c for the server and
 * docs/sim.md for the whole reference. Secrets never come from argv: they
 * come from --auth FILE or PROMO_SIM_* variables. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"
#include "sim/sim.h"

static const char sim_usage[] =
    "usage: promo-sim [--listen HOST:PORT] [--port-file FILE] [--log FILE]\n"
    "                 [--scenario FILE] [--auth FILE] [--notify-fd N] [-v]\n"
    "                 [--webhook-url URL --webhook-secrets FILE]\n"
    "                 [--help] [--version]\n"
    "\n"
    "Plays Jenkins (/jenkins), GitHub (/github), GitLab (/gitlab/api/v4) and\n"
    "Argo CD (/argocd) on one port; /_sim/ holds the test controls.\n"
    "\n"
    "  --listen HOST:PORT  IPv4 address and port (default 127.0.0.1:8080; port 0 = any free)\n"
    "  --port-file FILE    write the port chosen, atomically, once listening\n"
    "  --log FILE          append one NDJSON line per request served\n"
    "  --scenario FILE     YAML or JSON scenario (outcomes, delays, restrictions)\n"
    "  --auth FILE         YAML credentials: jenkins {user, token, password},\n"
    "                      github {token}, gitlab {token}, argocd {token};\n"
    "                      else PROMO_SIM_<SYSTEM>_TOKEN etc.; none = any non-empty one\n"
    "  --notify-fd N       write a newline to fd N when ready, then close it\n"
    "  --webhook-url URL   send the systems' webhooks (run finished, Argo CD operation\n"
    "                      ended) to URL/github, URL/gitlab, URL/jenkins, URL/argocd\n"
    "  --webhook-secrets FILE  YAML: github {secret}, gitlab {token}, jenkins {token},\n"
    "                      argocd {token}; a system without one sends nothing\n"
    "  -v                  log every request on stderr\n"
    "\n"
    "Stops on SIGTERM or SIGINT. See docs/sim.md.\n";

/* sim_main_usage - print the usage on stderr and exit 100. */
static void sim_main_usage(const char *why)
{
    if (why)
        fprintf(stderr, "promo-sim: fatal: %s\n", why);
    fputs(sim_usage, stderr);
    exit(EXIT_PERM);
}

/* sim_main_listen - parse HOST:PORT into s. Returns 0 or -1. */
static int sim_main_listen(struct sim *s, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    char *end;
    long port;

    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof s->listen_host)
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return -1;
    memcpy(s->listen_host, arg, (size_t)(colon - arg));
    s->listen_host[colon - arg] = 0;
    s->port = (int)port;
    return 0;
}

/* main - parse the command line, load the scenario and credentials, serve until signalled. */
int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "port-file", required_argument, NULL, 'p' },
        { "log", required_argument, NULL, 'L' },
        { "scenario", required_argument, NULL, 's' },
        { "auth", required_argument, NULL, 'a' },
        { "notify-fd", required_argument, NULL, 'n' },
        { "webhook-url", required_argument, NULL, 'w' },
        { "webhook-secrets", required_argument, NULL, 'W' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct sim s;
    const char *port_file = NULL, *log_path = NULL, *auth_path = NULL;
    const char *webhook_url = NULL, *webhook_secrets = NULL;
    int notify_fd = -1, c, rc;
    char err[512], *end;

    memset(&s, 0, sizeof s);
    str_copy(s.listen_host, "127.0.0.1", sizeof s.listen_host);
    s.port = 8080;
    log_init("promo-sim", LOG_INFO);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (sim_main_listen(&s, optarg) != 0)
                sim_main_usage("--listen wants HOST:PORT, e.g. 127.0.0.1:0");
            break;
        case 'p': port_file = optarg; break;
        case 'L': log_path = optarg; break;
        case 's': s.scenario_path = optarg; break;
        case 'a': auth_path = optarg; break;
        case 'w': webhook_url = optarg; break;
        case 'W': webhook_secrets = optarg; break;
        case 'n':
            notify_fd = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || notify_fd < 0)
                sim_main_usage("--notify-fd wants a file descriptor number");
            break;
        case 'v': s.verbose = 1; break;
        case 'h': fputs(sim_usage, stdout); return EXIT_OK;
        case 'V': printf("promo-sim %s\n", PROMO_VERSION); return EXIT_OK;
        default:
            snprintf(err, sizeof err, "unknown or incomplete option %s", argv[optind - 1]);
            sim_main_usage(err);
        }
    }
    if (optind < argc)
        sim_main_usage("unexpected argument (secrets go in --auth FILE, not argv)");
    s.scenario = cJSON_CreateObject();
    if (s.scenario_path && sim_scenario_load(&s, s.scenario_path, err, sizeof err) != 0) {
        fprintf(stderr, "promo-sim: fatal: scenario: %s\n", err);
        cJSON_Delete(s.scenario);
        return EXIT_PERM;
    }
    sim_auth_env(&s);
    if (auth_path && sim_auth_load(&s, auth_path, err, sizeof err) != 0) {
        fprintf(stderr, "promo-sim: fatal: auth: %s\n", err);
        return EXIT_PERM;
    }
    if (s.jenkins_token) log_secret(s.jenkins_token);
    if (s.jenkins_password) log_secret(s.jenkins_password);
    if (s.github_token) log_secret(s.github_token);
    if (s.gitlab_token) log_secret(s.gitlab_token);
    if (s.argocd_token) log_secret(s.argocd_token);
    if (log_path && !(s.logf = fopen(log_path, "a"))) {
        fprintf(stderr, "promo-sim: fatal: unable to open %s: %s\n", log_path, strerror(errno));
        return EXIT_TEMP;
    }
    pthread_mutex_init(&s.lock, NULL);
    s.started = wall_ms();
    sim_state_init(&s);
    if (webhook_url && sim_webhook_start(&s, webhook_url, webhook_secrets, err, sizeof err) != 0) {
        fprintf(stderr, "promo-sim: fatal: webhook: %s\n", err);
        sim_state_free(&s);
        return EXIT_PERM;
    }
    rc = sim_http_run(&s, notify_fd, port_file);
    sim_webhook_stop(&s);
    sim_state_free(&s);
    pthread_mutex_destroy(&s.lock);
    if (s.logf)
        fclose(s.logf);
    cJSON_Delete(s.scenario);
    free(s.jenkins_user);
    free(s.jenkins_token);
    free(s.jenkins_password);
    free(s.github_token);
    free(s.gitlab_token);
    free(s.argocd_token);
    return rc;
}
