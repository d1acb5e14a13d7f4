/* build.h: the `tinyx build` pipeline: recipe -> resolve -> fetch -> stage -> trace -> select ->
 * kernel -> image. Each stage is its own file; this one strings them together. */
#ifndef TINYX_BUILD_H
#define TINYX_BUILD_H

#include <stdbool.h>

#include "tinyx/recipe.h"

struct tinyx_build_opts {
    const char *out_dir;     /* image folder (default out/<name>) */
    const char *cache_dir;   /* default tinyx_cache_default_dir() */
    const char *compression; /* overrides the recipe's */
    bool refresh;            /* re-run apt-get update */
    bool no_trace;           /* skip running the app at build time */
    const char *keep_tree;   /* if set, leave the image tree in this folder */
    unsigned trace_timeout_ms;
};

/* Run the whole pipeline for a loaded recipe. Returns a TINYX_EXIT_* code. */
int tinyx_build(const struct tinyx_recipe *recipe, const struct tinyx_build_opts *opts);

#endif
