/* report.h: what `run` measured and how it ended, for people (stderr) or as JSON (stdout). */
#ifndef LAUNCHER_REPORT_H
#define LAUNCHER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "launcher/backend.h"
#include "launcher/stats.h"

struct launcher_report {
    const char *image_dir;
    const char *image_name;
    const char *backend;
    const char *backend_reason; /* why that backend (picked, or asked for), or NULL */
    const char *accel;
    const char *outcome; /* "exited", "ready", "timeout", "interrupted", "failed" */
    const char *message; /* why the run failed, or NULL */
    const char *check;   /* the check's kind: "none", "output", "tcp", "http" */
    int64_t boot_us;     /* VM start -> boot-timer byte; -1: not seen (median over runs) */
    int64_t ready_us;    /* VM start -> first passing check; -1: never (median over runs) */
    int exit_status;     /* the guest's; -1: unknown (still running when stopped, no status) */
    int exit_code;       /* tinyx-launch's own */
    uint64_t kernel_bytes;
    uint64_t initrd_bytes;
    unsigned memory_mb;
    long vmm_rss_kb; /* sampled when ready; -1: not sampled (median over runs) */
    long vmm_pss_kb;
    const struct launcher_port_forward *forwards;
    size_t n_forwards;
    const char *kernel_path; /* the kernel booted (the image's or --kernel) */
    bool kernel_from_option; /* kernel_path came from --kernel */
    const char *virtio_mmio; /* "acpi" or "cmdline" */
    bool kernel_panic;       /* a run's console showed a kernel panic */
    /* Repeated boots (--runs): runs >= 1; the _all arrays have runs entries (-1: none). */
    unsigned runs;
    const int64_t *boot_us_all;
    const int64_t *ready_us_all;
    struct launcher_stats boot_stats, ready_stats;
    const unsigned *failed_runs; /* 1-based numbers of the runs that failed */
    size_t n_failed;
};

/* One JSON object and a newline on out. Returns 0, or -1 if it could not be written. */
int launcher_report_write_json(const struct launcher_report *r, FILE *out);
/* Two lines on stderr for a person (with several runs: medians, min and max). */
void launcher_report_write_human(const struct launcher_report *r);
/* One line on stderr about run i (1-based) of n as it ends. */
void launcher_report_write_run_line(unsigned i, unsigned n, const char *outcome, int64_t boot_us,
                                    int64_t ready_us, int exit_status, bool failed);

#endif
