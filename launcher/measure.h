/* measure.h: memory use of the VMM process, read from /proc. */
#ifndef LAUNCHER_MEASURE_H
#define LAUNCHER_MEASURE_H

#include <sys/types.h>

struct launcher_mem_sample {
    long rss_kb; /* resident set, -1 when unknown */
    long pss_kb; /* proportional set (shared pages divided among users), -1 when unknown */
};

/* Sample pid's RSS and PSS (smaps_rollup; VmRSS from status when that is missing).
 * Returns 0, or -1 when the process is gone or /proc cannot be read (fields then -1). */
int launcher_measure_memory(pid_t pid, struct launcher_mem_sample *out);

#endif
