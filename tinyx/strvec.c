/* strvec.c: growable vector of owned strings. */
#include "tinyx/strvec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/util.h"

void tinyx_strvec_push_owned(struct strvec *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = tinyx_xrealloc(sv->v, sv->cap * sizeof(char *));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

void tinyx_strvec_push(struct strvec *sv, const char *s)
{
    tinyx_strvec_push_owned(sv, tinyx_xstrdup(s));
}

void tinyx_strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    tinyx_strvec_push_owned(sv, s);
}

bool tinyx_strvec_contains(const struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (!strcmp(sv->v[i], s))
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tinyx_strvec_sort_unique(struct strvec *sv)
{
    if (sv->n < 2)
        return;
    qsort(sv->v, sv->n, sizeof(char *), cmp_str);
    size_t w = 1;
    for (size_t r = 1; r < sv->n; r++) {
        if (!strcmp(sv->v[r], sv->v[w - 1]))
            free(sv->v[r]);
        else
            sv->v[w++] = sv->v[r];
    }
    sv->n = w;
    sv->v[w] = NULL;
}

char **tinyx_strvec_argv(struct strvec *sv)
{
    if (!sv->v) {
        sv->cap = 8;
        sv->v = tinyx_xcalloc(sv->cap, sizeof(char *));
    }
    return sv->v;
}

void tinyx_strvec_free(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}
