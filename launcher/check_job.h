/* check_job.h: run a tcp/http check in a background thread, with a pollable "done" fd. */
#ifndef LAUNCHER_CHECK_JOB_H
#define LAUNCHER_CHECK_JOB_H

#include <stdint.h>

#include "launcher/check.h"

struct launcher_check_job;

/* Poll c against t until it passes, deadline_us passes, or the job is stopped. c and t must
 * outlive the job. o->cancel_fd is ignored (the job has its own). NULL after a message if the
 * thread cannot be started. */
struct launcher_check_job *launcher_check_job_start(const struct launcher_check *c,
                                                    const struct launcher_check_target *t,
                                                    const struct launcher_check_opts *o,
                                                    uint64_t deadline_us);
/* Readable once the job has finished. */
int launcher_check_job_fd(const struct launcher_check_job *job);
/* Stop the job if it still runs and wait for it. Safe to call more than once. */
void launcher_check_job_stop(struct launcher_check_job *job);
/* The outcome (stops the job first if needed): PASSED with *passed_at_us (tinyx_now_us clock),
 * or TIMED_OUT/CANCELLED with the last failure in why. */
enum launcher_check_result launcher_check_job_result(struct launcher_check_job *job,
                                                     uint64_t *passed_at_us, char *why,
                                                     size_t why_len, unsigned *attempts);
void launcher_check_job_free(struct launcher_check_job *job);

#endif
