/* kbuild.h: build a kernel from a resolved .config with ccache, and cache the result by the
 * hash of that .config so the same configuration never builds twice. */
#ifndef KCONFIG_KBUILD_H
#define KCONFIG_KBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "tinyx/hash.h"

struct kbuild_result {
    char hash[TINYX_SHA256_HEX]; /* kconfig_hash of the .config */
    char *dir;                   /* CACHE/kernel/built/HASH */
    char *vmlinux;               /* DIR/vmlinux (stripped, PVH-bootable ELF) */
    char *bzimage;               /* DIR/bzImage */
    char *config;                /* DIR/config */
    uint64_t vmlinux_bytes, bzimage_bytes;
    bool cached;    /* true: no build was needed */
    double seconds; /* build time (0 when cached) */
};

struct kbuild_opts {
    const char *srcdir;    /* the linux source tree */
    const char *objdir;    /* build folder holding the .config to build (kept for incremental
                              rebuilds: one per minimization, one per platform for builds) */
    const char *cache_dir; /* tinyx cache root: kernels go to CACHE/kernel/built/HASH, ccache to
                              CACHE/kernel/ccache */
    unsigned jobs;         /* make -j (0: number of CPUs) */
    unsigned timeout_s;    /* 0: none */
    const char *log;       /* build output (appended); NULL: OBJDIR/build.log */
};

/* Build OBJDIR/.config (make vmlinux bzImage) unless CACHE/kernel/built/HASH exists; publish
 * atomically. A failed build returns -1 and prints the last lines of the log (compiler errors). */
int kbuild_build(const struct kbuild_opts *o, struct kbuild_result *out);
/* The cached build for a .config, if any (no build). Returns 0 and fills out, or -1 if absent. */
int kbuild_lookup(const char *cache_dir, const char *config_path, struct kbuild_result *out);
void kbuild_result_free(struct kbuild_result *r);

#endif
