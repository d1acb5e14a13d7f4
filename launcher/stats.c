/* stats.c: median, min and max of repeated measurements, ignoring the missing ones. */
#include "launcher/stats.h"

#include <stdlib.h>

#include "tinyx/util.h"

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void launcher_stats_compute(const int64_t *values, size_t count, struct launcher_stats *out)
{
    out->n = 0;
    out->median = out->min = out->max = -1;
    int64_t *kept = tinyx_xcalloc(count ? count : 1, sizeof(*kept));
    for (size_t i = 0; i < count; i++)
        if (values[i] >= 0)
            kept[out->n++] = values[i];
    if (out->n) {
        qsort(kept, out->n, sizeof(*kept), compare_int64);
        size_t mid = out->n / 2;
        /* a + (b - a) / 2 cannot overflow for a <= b, both >= 0 */
        out->median = out->n % 2 ? kept[mid] : kept[mid - 1] + (kept[mid] - kept[mid - 1]) / 2;
        out->min = kept[0];
        out->max = kept[out->n - 1];
    }
    free(kept);
}
