/* suggest.c: close-match suggestions by edit distance. */
#include "tinyx/suggest.h"

#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

size_t tinyx_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Three rolling rows: two back for the transposition case. */
    size_t *prev2 = tinyx_xcalloc(lb + 1, sizeof(size_t));
    size_t *prev = tinyx_xcalloc(lb + 1, sizeof(size_t));
    size_t *cur = tinyx_xcalloc(lb + 1, sizeof(size_t));
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    size_t d = prev[lb];
    free(prev2);
    free(prev);
    free(cur);
    return d;
}

struct scored {
    const char *name;
    size_t score;
};

static int cmp_scored(const void *x, const void *y)
{
    const struct scored *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return strcmp(a->name, b->name);
}

size_t tinyx_suggest(const char *word, char *const *candidates, size_t n, size_t max,
                     struct strvec *out)
{
    size_t wl = strlen(word);
    size_t limit = wl / 3 > 2 ? wl / 3 : 2;
    struct scored *s = tinyx_xcalloc(n ? n : 1, sizeof(*s));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = candidates[i];
        if (!strcmp(word, c))
            continue; /* the word itself is no suggestion */
        size_t cl = strlen(c);
        /* Cheap length filter before the quadratic distance. */
        size_t diff = cl > wl ? cl - wl : wl - cl;
        if (diff <= limit) {
            size_t d = tinyx_edit_distance(word, c);
            if (d <= limit) {
                s[k].name = c;
                s[k++].score = d;
                continue;
            }
        }
        /* Substring matches rank after every edit-distance match. */
        if (wl >= 3 && cl > 0 && (strstr(c, word) || (cl >= 3 && strstr(word, c)))) {
            s[k].name = c;
            s[k++].score = limit + 1 + diff;
        }
    }
    qsort(s, k, sizeof(*s), cmp_scored);
    size_t added = 0;
    for (size_t i = 0; i < k && added < max; i++) {
        if (tinyx_strvec_contains(out, s[i].name))
            continue;
        tinyx_strvec_push(out, s[i].name);
        added++;
    }
    free(s);
    return added;
}

char *tinyx_suggest_phrase(const struct strvec *sv)
{
    if (sv->n == 0)
        return tinyx_xstrdup("");
    size_t len = 32;
    for (size_t i = 0; i < sv->n; i++)
        len += strlen(sv->v[i]) + 8;
    char *p = tinyx_xmalloc(len);
    strcpy(p, " (did you mean ");
    for (size_t i = 0; i < sv->n; i++) {
        if (i > 0)
            strcat(p, i + 1 == sv->n ? " or " : ", ");
        strcat(p, "'");
        strcat(p, sv->v[i]);
        strcat(p, "'");
    }
    strcat(p, "?)");
    return p;
}
