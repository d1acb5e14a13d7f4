/* dpkg.h: read a staged root's dpkg database: installed packages and who owns which file. */
#ifndef TINYX_DPKG_H
#define TINYX_DPKG_H

#include "tinyx/apt.h"
#include "tinyx/strmap.h"
#include "tinyx/strvec.h"

/* Installed packages (Status: install ok installed), sorted by name. */
int tinyx_dpkg_installed(const char *root, struct tinyx_pkglist *out);
/* The paths dpkg lists for PKG (var/lib/dpkg/info/PKG[:arch].list), as canonical guest paths
 * (merged-/usr symlinks resolved), in file order. -1 if the package has no list. */
int tinyx_dpkg_files(const char *root, const char *pkg, struct strvec *out);
/* Map canonical guest path -> owning package for every non-folder path of every package. */
int tinyx_dpkg_owners(const char *root, const struct tinyx_pkglist *installed,
                      struct strmap *owners);

#endif
