/* strvec.h: a growable, NULL-terminated vector of owned strings (argv lists, path lists). */
#ifndef TINYX_STRVEC_H
#define TINYX_STRVEC_H

#include <stdbool.h>
#include <stddef.h>

struct strvec {
    char **v; /* always NULL-terminated once anything was pushed; NULL when empty+unused */
    size_t n;
    size_t cap;
};

#define STRVEC_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Append a copy of s. */
void tinyx_strvec_push(struct strvec *sv, const char *s);
/* Append s, taking ownership (s must come from malloc). */
void tinyx_strvec_push_owned(struct strvec *sv, char *s);
void tinyx_strvec_pushf(struct strvec *sv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool tinyx_strvec_contains(const struct strvec *sv, const char *s);
/* Sort bytewise and drop duplicates. */
void tinyx_strvec_sort_unique(struct strvec *sv);
/* The NULL-terminated array (valid even when empty). */
char **tinyx_strvec_argv(struct strvec *sv);
void tinyx_strvec_free(struct strvec *sv);

#endif
