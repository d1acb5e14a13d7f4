/* report.h: what `run` measured and how it ended, for people (stderr) or as JSON (stdout). */
#ifndef LAUNCHER_REPORT_H
#define LAUNCHER_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "launcher/backend.h"

struct launcher_report {
    const char *image_dir;
    const char *image_name;
    const char *backend;
    const char *accel;
    const char *outcome; /* "exited", "ready", "timeout", "interrupted", "failed" */
    const char *message; /* why the run failed, or NULL */
    const char *check;   /* the check's kind: "none", "output", "tcp", "http" */
    int64_t boot_us;     /* VM start -> boot-timer byte; -1: not seen */
    int64_t ready_us;    /* VM start -> first passing check; -1: never */
    int exit_status;     /* the guest's; -1: unknown (still running when stopped, no status) */
    int exit_code;       /* tinyx-launch's own */
    uint64_t kernel_bytes;
    uint64_t initrd_bytes;
    unsigned memory_mb;
    long vmm_rss_kb; /* sampled when ready; -1: not sampled */
    long vmm_pss_kb;
    const struct launcher_port_forward *forwards;
    size_t n_forwards;
};

/* One JSON object and a newline on out. Returns 0, or -1 if it could not be written. */
int launcher_report_write_json(const struct launcher_report *r, FILE *out);
/* Two or three lines on stderr for a person. */
void launcher_report_write_human(const struct launcher_report *r);

#endif
