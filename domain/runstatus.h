/* runstatus.h - what a CI system says about a test run, mapped to one
 * vocabulary: the adapters map each provider's words into it, the monitor
 * and the aggregate judge by it, the records persist its names. */
#ifndef PROMO_RUNSTATUS_H
#define PROMO_RUNSTATUS_H

/* What a CI system says about a run, mapped. */
enum run_status {
    RUN_UNKNOWN = 0,    /* not known yet (nothing asked, or the answer was unusable) */
    RUN_QUEUED,         /* accepted, not started (Jenkins queue, GitHub queued/waiting/requested/pending, GitLab created/pending/...) */
    RUN_RUNNING,        /* executing (or waiting on a person: GitHub action_required, GitLab manual) */
    RUN_PASSED,         /* finished and passed: the only status that lets a promotion go */
    RUN_FAILED,         /* finished and did not pass (failure, unstable, skipped, not built, startup failure...) */
    RUN_CANCELLED,      /* stopped by someone or something (aborted, canceled) */
    RUN_TIMED_OUT,      /* the CI itself timed it out */
};

const char *run_status_name(enum run_status s);
int run_status_parse(const char *s);       /* -1 when unknown */
/* run_status_final - 1 for passed, failed, cancelled, timed-out. */
int run_status_final(enum run_status s);

#endif
