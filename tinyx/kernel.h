/* kernel.h: the image's kernel: a Tinyx kernel built from linux-source-6.1 for the app
 * (kernel_tinyx.c), or Debian's cloud kernel with the modules the app needs (kernel_debian.c). */
#ifndef TINYX_KERNEL_H
#define TINYX_KERNEL_H

#include "tinyx/apt.h"
#include "tinyx/hash.h"
#include "tinyx/strvec.h"

struct tinyx_kernel {
    char *image;       /* host path of the file that becomes IMAGE/kernel */
    char *format;      /* "elf" (a PVH-bootable vmlinux) or "bzImage" */
    char *bzimage;     /* host path of a bzImage of the same kernel, or NULL (then image is one) */
    char *config;      /* host path of its .config */
    char *virtio_mmio; /* how it finds virtio-mmio devices: "acpi" or "cmdline" */
    char *cmdline;     /* the kernel's part of the image command line (console, quiet...) */
    bool built;        /* this build compiled it (not found in the cache) */
    char *release;     /* e.g. "6.1.0-56-cloud-amd64" */
    char *source;      /* e.g. "linux-image-6.1.0-56-cloud-amd64 6.1.192-2" */
    char *moddir;      /* host folder holding lib/modules/RELEASE */
    char config_sha256[TINYX_SHA256_HEX];
    struct strvec module_names; /* resolved modules in load order (dependencies first) */
    struct strvec module_files; /* their paths relative to lib/modules/RELEASE */
};

/* Fetch and unpack (cached) Debian's cloud kernel and resolve modules (names, with their
 * dependencies). The package is $TINYX_KERNEL_PACKAGE or linux-image-cloud-amd64. */
int tinyx_kernel_debian(struct tinyx_apt *apt, const char *cache_dir, char *const *modules,
                        size_t n_modules, struct tinyx_kernel *out);

struct tinyx_recipe;
/* Configure (tinyconfig + platform + app fragments + recipe options, or the recipe's own
 * .config) and build (cached by the .config's hash) a Tinyx kernel for the recipe. Returns a
 * TINYX_EXIT_* code (0 on success) after printing what went wrong. */
int tinyx_kernel_tinyx(struct tinyx_apt *apt, const char *cache_dir,
                       const struct tinyx_recipe *recipe, struct tinyx_kernel *out);
void tinyx_kernel_free(struct tinyx_kernel *k);

#endif
