/* check_job.c: a check polled in a background thread, cancellable through an eventfd. */
#include "launcher/check_job.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tinyx/util.h"

struct launcher_check_job {
    const struct launcher_check *check;
    const struct launcher_check_target *target;
    struct launcher_check_opts opts;
    uint64_t deadline_us;
    int cancel_fd;
    int done_fd;
    pthread_t thread;
    bool joined;
    /* Written by the thread before it signals done_fd; read after the join. */
    enum launcher_check_result result;
    uint64_t passed_at_us;
    unsigned attempts;
    char why[512];
};

static void *job_main(void *arg)
{
    struct launcher_check_job *job = arg;
    job->result =
        launcher_check_poll(job->check, job->target, &job->opts, job->deadline_us,
                            &job->passed_at_us, job->why, sizeof(job->why), &job->attempts);
    uint64_t one = 1;
    ssize_t w = write(job->done_fd, &one, sizeof(one));
    (void)w;
    return NULL;
}

struct launcher_check_job *launcher_check_job_start(const struct launcher_check *c,
                                                    const struct launcher_check_target *t,
                                                    const struct launcher_check_opts *o,
                                                    uint64_t deadline_us)
{
    struct launcher_check_job *job = tinyx_xcalloc(1, sizeof(*job));
    job->check = c;
    job->target = t;
    job->opts = *o;
    job->deadline_us = deadline_us;
    job->cancel_fd = eventfd(0, EFD_CLOEXEC);
    job->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    job->joined = true;
    if (job->cancel_fd < 0 || job->done_fd < 0) {
        tinyx_errno("cannot create an eventfd for the app check");
        launcher_check_job_free(job);
        return NULL;
    }
    job->opts.cancel_fd = job->cancel_fd;
    /* Signals belong to the main thread: the thread starts with them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&job->thread, NULL, job_main, job);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        tinyx_err("cannot start the app check thread: %s", strerror(rc));
        launcher_check_job_free(job);
        return NULL;
    }
    job->joined = false;
    return job;
}

int launcher_check_job_fd(const struct launcher_check_job *job)
{
    return job->done_fd;
}

void launcher_check_job_stop(struct launcher_check_job *job)
{
    if (!job || job->joined)
        return;
    uint64_t one = 1;
    ssize_t w = write(job->cancel_fd, &one, sizeof(one));
    (void)w;
    pthread_join(job->thread, NULL);
    job->joined = true;
}

enum launcher_check_result launcher_check_job_result(struct launcher_check_job *job,
                                                     uint64_t *passed_at_us, char *why,
                                                     size_t why_len, unsigned *attempts)
{
    launcher_check_job_stop(job);
    if (passed_at_us)
        *passed_at_us = job->passed_at_us;
    if (why && why_len)
        snprintf(why, why_len, "%s", job->why);
    if (attempts)
        *attempts = job->attempts;
    return job->result;
}

void launcher_check_job_free(struct launcher_check_job *job)
{
    if (!job)
        return;
    launcher_check_job_stop(job);
    if (job->cancel_fd >= 0)
        close(job->cancel_fd);
    if (job->done_fd >= 0)
        close(job->done_fd);
    free(job);
}
