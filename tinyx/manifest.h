/* manifest.h: manifest.json of an image (docs/image-format.md) and the size report. */
#ifndef TINYX_MANIFEST_H
#define TINYX_MANIFEST_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tinyx/apt.h"
#include "tinyx/kernel.h"
#include "tinyx/recipe.h"
#include "tinyx/strmap.h"

struct tinyx_manifest_input {
    const struct tinyx_recipe *recipe;
    const struct strvec *argv; /* resolved cmd */
    const struct strvec *env;  /* NAME=VALUE */
    const char *cwd;
    const char *user;
    uid_t uid;
    gid_t gid;
    const struct tinyx_pkglist *packages; /* installed in the staged root */
    const struct strmap *owners;          /* canonical path -> package */
    const char *tree;                     /* the materialised image tree */
    const struct strmap *overlay;         /* paths the overlays added */
    const struct strmap *selection;       /* path -> why it was selected */
    const struct tinyx_kernel *kernel;
    uint64_t kernel_bytes;
    uint64_t initrd_bytes;
    const char *initrd_sha256;
    const char *kernel_sha256;
    const char *compression;
    const char *cmdline;
    const char *stage_key;
    const char *init_sha256;
    const char *recipe_sha256;
};

json_t *tinyx_manifest_build(const struct tinyx_manifest_input *in);
/* Print the size report (by package, by folder, largest files) of a manifest. */
void tinyx_manifest_print_sizes(json_t *manifest, FILE *out, size_t top);

#endif
