/* stage.h: the staged root: a full Debian root (mmdebstrap minbase + the app's packages) in
 * which maintainer scripts have run, cached by its inputs. */
#ifndef TINYX_STAGE_H
#define TINYX_STAGE_H

#include <stdbool.h>

#include "tinyx/apt.h"
#include "tinyx/hash.h"

struct tinyx_stage {
    char *dir;  /* CACHE/stage/KEY */
    char *root; /* CACHE/stage/KEY/root */
    char key[TINYX_SHA256_HEX];
    bool reused; /* true when the cache already held it */
};

/* Compute where the root for minbase + names lives (closure: what apt resolved, part of the
 * cache key) and whether it is already there (out->reused). */
int tinyx_stage_lookup(struct tinyx_apt *apt, const char *cache_dir, char *const *names, size_t n,
                       const struct tinyx_pkglist *closure, struct tinyx_stage *out);
/* Stage the root found by tinyx_stage_lookup unless it is already there. */
int tinyx_stage_create(struct tinyx_apt *apt, char *const *names, size_t n,
                       struct tinyx_stage *out);
void tinyx_stage_free(struct tinyx_stage *s);

#endif
