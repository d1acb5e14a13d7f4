/* fragment.h: the kernel settings of a Tinyx kernel: what every guest needs (the init and a
 * Linux userland), what each platform needs (boot entry, console, devices), and what an app's
 * recipe implies (networking). Applied on top of tinyconfig. */
#ifndef KCONFIG_FRAGMENT_H
#define KCONFIG_FRAGMENT_H

#include <stdbool.h>

#include "tinyx/strvec.h"

struct kconfig_app_needs {
    bool network; /* the app listens on ports: TCP/IP and the platform's network driver */
};

/* True for "qemu", "kvm", "xen-pv", "xen-pvh". */
bool kconfig_platform_known(const char *platform);
/* Append the settings ("NAME=y", ...) for platform + app needs, in a fixed order. */
int kconfig_fragment_settings(const char *platform, const struct kconfig_app_needs *needs,
                              struct strvec *out);
/* The console part of the kernel command line on this platform ("console=ttyS0"). */
const char *kconfig_platform_console(const char *platform);
/* How the kernel finds virtio-mmio devices on this platform: "cmdline" (virtio_mmio.device=
 * entries), or NULL where there is no virtio-mmio (Xen). */
const char *kconfig_platform_virtio_mmio(const char *platform);
/* Settings the minimizer must never turn off on this platform: without them the guest cannot
 * boot, talk or signal at all, so trials would only waste builds. */
int kconfig_fragment_protected(const char *platform, struct strvec *out);

#endif
