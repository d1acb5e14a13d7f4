/* tree.h: materialise an image's root tree in a folder: the selected files copied from the
 * staged root, then the overlays (BusyBox applets, the init, its plan, kernel modules). */
#ifndef TINYX_TREE_H
#define TINYX_TREE_H

#include <stdbool.h>

#include "tinyx/kernel.h"
#include "tinyx/strmap.h"

struct tinyx_tree_input {
    const char *root;                  /* staged root */
    const struct strmap *selection;    /* canonical guest paths to copy */
    const char *init_binary;           /* host path of tinyx-init */
    const char *plan_text;             /* the boot plan */
    bool busybox;                      /* add BusyBox applet links */
    const struct tinyx_kernel *kernel; /* modules to copy (may be NULL) */
};

/* Build the tree in DIR (which must exist and be empty). overlay receives the guest paths the
 * overlays added (for the manifest). */
int tinyx_tree_build(const struct tinyx_tree_input *in, const char *dir, struct strmap *overlay);

/* Guest path where a kernel module file (relative to lib/modules/RELEASE) is placed. */
char *tinyx_tree_module_path(const char *release, const char *file);

#endif
