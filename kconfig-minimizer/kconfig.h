/* kconfig.h: kernel configurations: compose one from a base and fragments with the kernel's
 * own tools (make tinyconfig, scripts/config, make olddefconfig), read it, hash it. */
#ifndef KCONFIG_KCONFIG_H
#define KCONFIG_KCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "tinyx/hash.h"
#include "tinyx/strmap.h"
#include "tinyx/strvec.h"

struct kconfig_spec {
    const char *srcdir; /* unpacked linux source tree (never written to) */
    const char *base;   /* "tinyconfig", "defconfig", ... (a make target) or a .config path */
    const struct strvec *settings; /* "NAME=y", "NAME=n", "NAME=m", "NAME=123", "NAME=\"str\""
                                      (NAME without CONFIG_), applied in order */
};

/* Write OBJDIR/.config: base, then settings (scripts/config), then `make olddefconfig`.
 * Every setting must hold in the result: the ones that do not (unmet dependencies, choices) go
 * to `unmet` as "NAME=want (got VALUE): depends on EXPR" and the call returns 1; 0 when all
 * hold; -1 with a message when a tool fails. Output of make goes to OBJDIR/kconfig.log. */
int kconfig_make(const struct kconfig_spec *spec, const char *objdir, struct strvec *unmet);

/* Apply settings to an existing OBJDIR/.config and re-resolve it (olddefconfig). */
int kconfig_apply(const char *srcdir, const char *objdir, const struct strvec *settings);

/* Read a .config: NAME -> "y", "m", "n" (for "# CONFIG_NAME is not set"), or the raw value. */
int kconfig_read(const char *path, struct strmap *out);

/* Hash of a .config's settings (CONFIG_ lines sorted, comments and blank lines ignored), so
 * the same configuration always has the same name. */
int kconfig_hash(const char *path, char hex[TINYX_SHA256_HEX]);

#endif
