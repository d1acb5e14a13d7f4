/* measure.c: sample a process's RSS and PSS from /proc/PID/smaps_rollup (or status). */
#include "launcher/measure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

/* Value in kB of the first line starting with key (e.g. "Rss:"), or -1. */
static long field_kb(const char *text, const char *key)
{
    size_t key_len = strlen(key);
    for (const char *line = text; line && *line;) {
        if (!strncmp(line, key, key_len)) {
            char *end;
            long v = strtol(line + key_len, &end, 10);
            return end != line + key_len && v >= 0 ? v : -1;
        }
        const char *next = strchr(line, '\n');
        line = next ? next + 1 : NULL;
    }
    return -1;
}

int launcher_measure_memory(pid_t pid, struct launcher_mem_sample *out)
{
    out->rss_kb = -1;
    out->pss_kb = -1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    char *text = tinyx_read_file(path, NULL);
    if (text) {
        out->rss_kb = field_kb(text, "Rss:");
        out->pss_kb = field_kb(text, "Pss:");
        free(text);
        if (out->rss_kb >= 0)
            return 0;
    }
    /* Kernels before 4.14 have no smaps_rollup: RSS only. */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    text = tinyx_read_file(path, NULL);
    if (!text)
        return -1;
    out->rss_kb = field_kb(text, "VmRSS:");
    free(text);
    return out->rss_kb >= 0 ? 0 : -1;
}
