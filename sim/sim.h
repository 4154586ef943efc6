/* sim.h - promo-sim's shared types: the simulator's state, one request, one answer.
 *
 * promo-sim plays Jenkins, GitHub, GitLab and Argo CD on one port. Every request
 * is handled under one mutex (sim->lock), so handlers read and change the state
 * freely. Runs progress lazily: their phase is computed from the wall clock at
 * each request, with no background thread. Nothing here is shared with
 * adapters/: the simulator is written from the APIs' documentation only. */
#ifndef PROMO_SIM_H
#define PROMO_SIM_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "util/strmap.h"

#define SIM_BODY_MAX   (1 << 20)   /* request bodies above this answer 413 */
#define SIM_LOG_MAX    100000      /* request log entries kept in memory */
#define SIM_MAX_HDRS   16

enum sim_system { SIM_SYS_SIM, SIM_SYS_JENKINS, SIM_SYS_GITHUB, SIM_SYS_GITLAB, SIM_SYS_ARGOCD };

enum sim_outcome { SIM_PASS, SIM_FAIL, SIM_TIMEOUT, SIM_CANCEL, SIM_UNSTABLE };

enum sim_phase { SIM_QUEUED, SIM_RUNNING, SIM_DONE };

/* How one run behaves, resolved when it is created (sim_scenario_plan). */
struct sim_plan {
    enum sim_outcome outcome;
    int64_t queue_ms, run_ms;
    char status[32];        /* exact final status/conclusion/result, or "" */
    int flaky;              /* requests naming the job that answer 503 first */
    int ratelimit;          /* the first trigger answers 429 */
    int parameterized;      /* Jenkins: 0 = buildWithParameters answers 400 */
    int exists;             /* 0 = unknown job (scenario restricts) */
};

/* One CI run: a Jenkins queue item and its build, a GitHub workflow run, a
 * GitLab pipeline. */
struct sim_run {
    enum sim_system sys;
    long id;                /* queue item id, run id, pipeline id */
    long number;            /* build number (0 until started), run_number, iid */
    char *job;              /* Jenkins full name "a/b", workflow file, project path */
    char *repo;             /* GitHub "owner/repo" */
    long workflow_id;       /* GitHub workflow id, GitLab project id */
    char *ref, *sha, *title;
    cJSON *params;          /* object: parameter/input/variable name -> string */
    cJSON *vartypes;        /* GitLab: name -> variable_type */
    struct sim_plan plan;
    int64_t created;        /* wall ms */
    int64_t ended;          /* wall ms when finished by hand, else 0 */
    int cancelled_in_queue; /* ended before it ever started */
    int notified;           /* sim_webhook.c sent its completion webhook */
    struct sim_run *next;
};

/* One Argo CD application and its operation in progress. */
struct sim_app {
    cJSON *app;             /* the Application as served */
    int64_t op_start;       /* wall ms; 0 when no operation runs */
    int64_t delay_ms;
    char outcome[16];       /* healthy | degraded | failed */
    int flaky;              /* remaining 503 answers */
    int notify;             /* an operation ended: sim_webhook.c sends a notification */
    struct sim_app *next;
};

struct sim {
    pthread_mutex_t lock;
    /* configuration */
    char listen_host[64];
    int port;
    cJSON *scenario;        /* {} when none */
    char *scenario_path;
    char *jenkins_user, *jenkins_token, *jenkins_password;
    char *github_token, *gitlab_token, *argocd_token;
    FILE *logf;
    int verbose;
    int64_t started;        /* wall ms */
    /* state (sim_state_reset clears it) */
    cJSON *log;             /* array of request log entries */
    int nlog;               /* entries in log (cJSON counts by walking it) */
    long seq;
    struct sim_run *runs, *runs_tail;
    long next_queue_id, next_gh_run_id, next_pipeline_id;
    long next_comment_id, next_status_id, next_label_id, next_project_id;
    struct strmap *counters;    /* name -> long*: build numbers, ids, flaky hits */
    struct strmap *crumbs;      /* Jenkins crumb -> session id (char*) */
    cJSON *gh_labels;       /* "o/r#n" -> [label] */
    cJSON *gh_statuses;     /* "o/r@ref" -> [status], newest first */
    cJSON *gh_comments;     /* [comment] with a private "_issue" key */
    cJSON *gl_projects;     /* [{id, path}] */
    long gh_used;
    int64_t gh_reset;       /* epoch seconds */
    struct sim_app *apps;
};

/* One request, as the handlers see it. */
struct sim_req {
    void *conn;             /* struct MHD_Connection * */
    const char *method;
    char *path;             /* raw path, as sent */
    char **seg;             /* decoded segments after the system prefix */
    int nseg;
    cJSON *query;           /* decoded query arguments (object of strings) */
    char *body;
    size_t body_len;
    int too_large;
    cJSON *json;            /* body parsed as JSON, or NULL */
    int json_bad;           /* a body was given and is not valid JSON */
    cJSON *form;            /* body parsed as a form (object of strings), or NULL */
    enum sim_system sys;
    int auth;               /* -1 no credential seen, 0 bad, 1 good */
    int64_t now;            /* wall ms when the request was handled */
    char base[160];         /* "http://host:port" as the client addressed it */
};

/* One answer. */
struct sim_resp {
    int status;
    char *body;
    size_t len;
    char ctype[64];
    int nhdr;
    char *hname[SIM_MAX_HDRS], *hval[SIM_MAX_HDRS];
};

/* sim_http.c */
int sim_http_run(struct sim *s, int notify_fd, const char *port_file);
/* sim_http_log_add - append entry e (taken) to the request log, in memory
 * and in the --log file; the caller holds s->lock and has given e its seq. */
void sim_http_log_add(struct sim *s, cJSON *e);
const char *sim_req_header(const struct sim_req *rq, const char *name);
const char *sim_req_arg(const struct sim_req *rq, const char *name);
void sim_resp_header(struct sim_resp *rp, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_resp_json(struct sim_resp *rp, int status, cJSON *body);
void sim_resp_text(struct sim_resp *rp, int status, const char *ctype, const char *text);
const char *sim_system_name(enum sim_system sys);
char *sim_url_decode(const char *s, size_t n, int plus_is_space);
char *sim_url_encode(const char *s);

/* sim_state.c */
void sim_state_init(struct sim *s);
void sim_state_reset(struct sim *s);
void sim_state_free(struct sim *s);
long sim_counter_next(struct sim *s, const char *key);
long sim_counter_get(struct sim *s, const char *key);
void sim_counter_set(struct sim *s, const char *key, long v);
struct sim_run *sim_run_new(struct sim *s, enum sim_system sys, const char *job);
struct sim_run *sim_run_find(struct sim *s, enum sim_system sys, long id);
int64_t sim_run_start(const struct sim_run *r);
int64_t sim_run_end(const struct sim_run *r);
enum sim_phase sim_run_phase(const struct sim_run *r, int64_t now);
void sim_run_finish(struct sim_run *r, int64_t now, enum sim_outcome o, const char *status);
int sim_outcome_parse(const char *s, enum sim_outcome *o);
const char *sim_outcome_name(enum sim_outcome o);
char *sim_time_gh(int64_t ms, char *buf, size_t len);
char *sim_time_iso(int64_t ms, char *buf, size_t len);
void sim_fake_sha(const char *seed, char out[41]);
cJSON *sim_state_json(struct sim *s, int64_t now);
int sim_complete(struct sim *s, const char *sys, const char *id, const char *result,
                 int64_t now, char *err, size_t errlen);

/* sim_scenario.c */
int sim_scenario_load(struct sim *s, const char *path, char *err, size_t errlen);
int sim_auth_load(struct sim *s, const char *path, char *err, size_t errlen);
void sim_auth_env(struct sim *s);
void sim_scenario_plan(struct sim *s, enum sim_system sys, const char *job,
                       const cJSON *params, struct sim_plan *p);
const cJSON *sim_scenario_get(const struct sim *s, const char *sys, const char *key);
int64_t sim_scenario_ms(const cJSON *v, int64_t dflt);
int sim_flaky_hit(struct sim *s, enum sim_system sys, const char *job, int flaky);
int sim_ratelimit_hit(struct sim *s, enum sim_system sys, const char *job, int ratelimit);
int sim_secret_eq(const char *a, const char *b);

/* one handler per system */
void sim_jenkins_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp);
void sim_jenkins_error(struct sim_resp *rp, int status, const char *msg);
cJSON *sim_jenkins_state(struct sim *s, const char *base, int64_t now);
const char *sim_jenkins_result(const struct sim_run *r);
void sim_jenkins_advance(struct sim *s, int64_t now);
void sim_github_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp);
void sim_github_error(struct sim_resp *rp, int status, const char *msg);
cJSON *sim_github_run_json(struct sim *s, const struct sim_run *r, const char *base, int64_t now);
void sim_gitlab_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp);
void sim_gitlab_error(struct sim_resp *rp, int status, const char *msg);
cJSON *sim_gitlab_pipeline_json(struct sim *s, const struct sim_run *r, const char *base, int64_t now);
void sim_argocd_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp);
void sim_argocd_error(struct sim_resp *rp, int status, int code, const char *msg);
void sim_argocd_load(struct sim *s);
void sim_argocd_advance(struct sim *s, int64_t now);
int sim_argocd_complete(struct sim *s, const char *name, const char *result, int64_t now);
int sim_argocd_deploy(struct sim *s, const char *name, const char *revision, int64_t now, char *err, size_t errlen);

/* sim_webhook.c - with --webhook-url, a thread sends the webhooks the real
 * systems send when a run finishes or an Argo CD operation ends. */
int sim_webhook_start(struct sim *s, const char *url, const char *secrets_path, char *err, size_t errlen);
void sim_webhook_stop(struct sim *s);

/* sim_json.c */
int sim_json_patch(cJSON **doc, const cJSON *ops, char *err, size_t errlen);
cJSON *sim_tree_filter(const cJSON *node, const char *tree, char *err, size_t errlen);

#endif
