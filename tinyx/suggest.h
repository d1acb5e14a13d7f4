/* suggest.h: "did you mean" close matches by edit distance (package names, recipe keys). */
#ifndef TINYX_SUGGEST_H
#define TINYX_SUGGEST_H

#include <stddef.h>

#include "tinyx/strvec.h"

/* Optimal string alignment distance (Levenshtein plus adjacent transposition). */
size_t tinyx_edit_distance(const char *a, const char *b);

/* Append to out up to max candidates close to word, best first: those within an edit distance
 * of max(2, strlen(word) / 3), then candidates that contain word or that word contains (ties
 * broken by name). Returns how many were appended. */
size_t tinyx_suggest(const char *word, char *const *candidates, size_t n, size_t max,
                     struct strvec *out);

/* Format suggestions as " (did you mean 'a', 'b' or 'c'?)", or "" when there are none.
 * Returns a malloc'd string. */
char *tinyx_suggest_phrase(const struct strvec *suggestions);

#endif
