/* ksource.h: the Linux source tree: Debian's linux-source-6.1, fetched through the private apt
 * state and unpacked once into the cache. */
#ifndef KCONFIG_KSOURCE_H
#define KCONFIG_KSOURCE_H

#include "tinyx/apt.h"

struct kconfig_source {
    char *dir;     /* CACHE/kernel/src/linux-source-6.1_VERSION/linux-source-6.1 */
    char *package; /* "linux-source-6.1" */
    char *version; /* Debian version, e.g. "6.1.192-2" */
};

/* Fetch (the .deb cache) and unpack (atomically, once) the source; $TINYX_KERNEL_SOURCE names
 * another package. */
int kconfig_source_get(struct tinyx_apt *apt, const char *cache_dir, struct kconfig_source *out);
void kconfig_source_free(struct kconfig_source *s);

#endif
