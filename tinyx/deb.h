/* deb.h: read Debian .deb packages (ar + data.tar.*) with libarchive, without dpkg. */
#ifndef TINYX_DEB_H
#define TINYX_DEB_H

#include <stdbool.h>

/* Extract the data.tar members of DEB whose path (as "./x/y" in the archive, normalised to
 * "x/y") satisfies want() into DEST. Returns the number of entries written, or -1 with a
 * message naming the .deb for a broken or truncated package. */
int tinyx_deb_extract(const char *deb, const char *dest, bool (*want)(const char *path, void *ud),
                      void *ud);

#endif
