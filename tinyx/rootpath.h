/* rootpath.h: resolve guest paths inside a staged root folder the way the guest kernel would
 * (symlinks resolved against the root, never escaping it), recording each symlink crossed. */
#ifndef TINYX_ROOTPATH_H
#define TINYX_ROOTPATH_H

#include <stdbool.h>

#include "tinyx/strvec.h"

enum tinyx_rootpath_result {
    TINYX_ROOTPATH_FOUND = 0,   /* the path exists; *canon is its canonical guest path */
    TINYX_ROOTPATH_MISSING = 1, /* a component is missing; *canon = existing prefix + rest */
    TINYX_ROOTPATH_LOOP = -1,   /* too many symlinks */
};

/* Resolve guest path PATH in ROOT. follow_last: resolve a final symlink too. links (may be
 * NULL) receives the canonical guest paths of the symlinks crossed, in order. *canon gets the
 * canonical guest path (malloc'd); *existing (may be NULL) the longest existing canonical
 * prefix. */
int tinyx_rootpath_resolve(const char *root, const char *path, bool follow_last,
                           struct strvec *links, char **canon, char **existing);

/* Normalise a guest path lexically: collapse "//", "." and ".." (never above "/"). */
char *tinyx_rootpath_normalize(const char *path);

#endif
