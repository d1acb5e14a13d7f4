/* kernel.h: the image's kernel. Until Tinyx builds its own kernels, Debian's cloud kernel is
 * used: unpacked once from its .deb, with the modules the image needs resolved by libkmod. */
#ifndef TINYX_KERNEL_H
#define TINYX_KERNEL_H

#include "tinyx/apt.h"
#include "tinyx/hash.h"
#include "tinyx/strvec.h"

struct tinyx_kernel {
    char *image;   /* host path of the bootable kernel (bzImage) */
    char *format;  /* "bzImage" */
    char *release; /* e.g. "6.1.0-56-cloud-amd64" */
    char *source;  /* e.g. "linux-image-6.1.0-56-cloud-amd64 6.1.192-2" */
    char *moddir;  /* host folder holding lib/modules/RELEASE */
    char config_sha256[TINYX_SHA256_HEX];
    struct strvec module_names; /* resolved modules in load order (dependencies first) */
    struct strvec module_files; /* their paths relative to lib/modules/RELEASE */
};

/* Fetch and unpack (cached) Debian's cloud kernel and resolve modules (names, with their
 * dependencies). The package is $TINYX_KERNEL_PACKAGE or linux-image-cloud-amd64. */
int tinyx_kernel_debian(struct tinyx_apt *apt, const char *cache_dir, char *const *modules,
                        size_t n_modules, struct tinyx_kernel *out);
void tinyx_kernel_free(struct tinyx_kernel *k);

#endif
