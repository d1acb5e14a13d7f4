/* recipe_model.h: defaults and value rules shared by the recipe files (YAML and flags). */
#ifndef TINYX_RECIPE_MODEL_H
#define TINYX_RECIPE_MODEL_H

#include <stdbool.h>

#include "tinyx/recipe.h"

#define TINYX_RECIPE_LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* Empty the recipe and set the defaults (memory, compression, busybox); file is copied. */
void tinyx_recipe_init(struct tinyx_recipe *r, const char *file);

/* Value rules: NULL when the value is fine, else a malloc'd reason ("'X' is not ..."). */
char *tinyx_recipe_bad_name(const char *s);
char *tinyx_recipe_bad_package(const char *s);
char *tinyx_recipe_bad_port(long long port);
/* cmd[0]: an absolute path or a bare program name. */
char *tinyx_recipe_bad_program(const char *s);

/* True when every byte of s is in set. */
bool tinyx_recipe_only_chars(const char *s, const char *set);

#endif
