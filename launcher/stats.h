/* stats.h: summarise a measurement repeated over several boots (median, min, max). */
#ifndef LAUNCHER_STATS_H
#define LAUNCHER_STATS_H

#include <stddef.h>
#include <stdint.h>

struct launcher_stats {
    size_t n;       /* values that were measured (>= 0) */
    int64_t median; /* of an even count: the mean of the middle two, rounded down; -1: n == 0 */
    int64_t min;    /* -1 when n == 0 */
    int64_t max;
};

/* Summarise values[0..count); negative values mean "not measured" and are left out. */
void launcher_stats_compute(const int64_t *values, size_t count, struct launcher_stats *out);

#endif
