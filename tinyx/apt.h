/* apt.h: a private apt state (sources, lists, .deb cache) so builds never touch the host's apt. */
#ifndef TINYX_APT_H
#define TINYX_APT_H

#include <stdbool.h>
#include <stddef.h>

#include "tinyx/strvec.h"

struct tinyx_apt {
    char *dir;          /* CACHE/apt */
    char *sources;      /* CACHE/apt/sources.list (one-line format, generated) */
    char *lists;        /* CACHE/apt/lists */
    char *debs;         /* CACHE/debs: the .deb cache shared by every build */
    char *suite;        /* e.g. "bookworm" */
    struct strvec opts; /* "-o" "Dir::...=..." pairs for apt-get/apt-cache */
    int lock_fd;
};

struct tinyx_pkg {
    char *name;
    char *version;
};

struct tinyx_pkglist {
    struct tinyx_pkg *v;
    size_t n;
};

/* Find the Debian entries of the host's apt sources (or $TINYX_APT_SOURCES) and format them as
 * one-line sources.list text. Returns a malloc'd string, or NULL with a message. */
char *tinyx_apt_sources_text(const char *suite);
/* Parse apt source files into one-line "deb [signed-by=K] URI SUITE COMPONENTS" entries whose
 * suite is SUITE, SUITE-updates or SUITE-security. text is one file's content; deb822 selects
 * the .sources format. Exposed for tests. */
void tinyx_apt_sources_parse(const char *text, bool deb822, const char *suite, struct strvec *out);
/* The host's release codename (/etc/os-release VERSION_CODENAME, or $TINYX_SUITE). */
char *tinyx_apt_host_suite(void);

/* Open (and lock) the private apt state under cache_dir; runs `apt-get update` when the lists
 * are missing, the sources changed, or refresh is set. */
int tinyx_apt_open(const char *cache_dir, bool refresh, struct tinyx_apt *apt);
void tinyx_apt_close(struct tinyx_apt *apt);

/* Resolve names to the full set apt would install (no recommends), with versions, sorted by
 * name. Unknown names are reported with close matches; returns -1 then. */
int tinyx_apt_closure(struct tinyx_apt *apt, char *const *names, size_t n,
                      struct tinyx_pkglist *out);
/* Download every package in the closure of names into apt->debs (no-op for cached ones).
 * *downloaded gets how many files were fetched. */
int tinyx_apt_fetch(struct tinyx_apt *apt, char *const *names, size_t n, unsigned *downloaded);
/* Download one package (no dependencies) into apt->debs; *deb_path gets its path. */
int tinyx_apt_fetch_one(struct tinyx_apt *apt, const struct tinyx_pkg *pkg, char **deb_path);

void tinyx_pkglist_free(struct tinyx_pkglist *l);
const struct tinyx_pkg *tinyx_pkglist_find(const struct tinyx_pkglist *l, const char *name);

#endif
