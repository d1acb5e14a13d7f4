/* strmap.h: a hash map from strings to strings (or a string set when values are NULL). */
#ifndef TINYX_STRMAP_H
#define TINYX_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "tinyx/strvec.h"

struct strmap_slot {
    char *key;
    char *value;
};

struct strmap {
    struct strmap_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

#define STRMAP_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Insert or replace; copies key and value (value may be NULL). Returns true if key was new. */
bool tinyx_strmap_set(struct strmap *m, const char *key, const char *value);
/* Insert only if absent. Returns true if key was new. */
bool tinyx_strmap_add(struct strmap *m, const char *key, const char *value);
bool tinyx_strmap_has(const struct strmap *m, const char *key);
/* The value, or NULL when absent (or stored as NULL). */
const char *tinyx_strmap_get(const struct strmap *m, const char *key);
/* All keys, sorted, as borrowed pointers (valid until the map changes). Caller frees the array. */
const char **tinyx_strmap_sorted_keys(const struct strmap *m);
void tinyx_strmap_free(struct strmap *m);

#endif
