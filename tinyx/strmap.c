/* strmap.c: open-addressing string hash map (FNV-1a, linear probing). */
#include "tinyx/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct strmap_slot *find_slot(const struct strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask)
        if (!m->slots[i].key || !strcmp(m->slots[i].key, key))
            return &m->slots[i];
}

static void grow(struct strmap *m)
{
    struct strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->slots = tinyx_xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            *find_slot(m, old.slots[i].key) = old.slots[i];
    free(old.slots);
}

static bool put(struct strmap *m, const char *key, const char *value, bool replace)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    struct strmap_slot *s = find_slot(m, key);
    if (s->key) {
        if (replace) {
            free(s->value);
            s->value = value ? tinyx_xstrdup(value) : NULL;
        }
        return false;
    }
    s->key = tinyx_xstrdup(key);
    s->value = value ? tinyx_xstrdup(value) : NULL;
    m->n++;
    return true;
}

bool tinyx_strmap_set(struct strmap *m, const char *key, const char *value)
{
    return put(m, key, value, true);
}

bool tinyx_strmap_add(struct strmap *m, const char *key, const char *value)
{
    return put(m, key, value, false);
}

bool tinyx_strmap_has(const struct strmap *m, const char *key)
{
    return m->cap && find_slot(m, key)->key != NULL;
}

const char *tinyx_strmap_get(const struct strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    return find_slot(m, key)->value;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **tinyx_strmap_sorted_keys(const struct strmap *m)
{
    const char **keys = tinyx_xcalloc(m->n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            keys[k++] = m->slots[i].key;
    qsort(keys, k, sizeof(char *), cmp_str);
    return keys;
}

void tinyx_strmap_free(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        free(m->slots[i].value);
    }
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}
