/* select.h: choose the minimal file set of an image from a staged root. */
#ifndef TINYX_SELECT_H
#define TINYX_SELECT_H

#include "tinyx/strmap.h"
#include "tinyx/strvec.h"

struct tinyx_select_input {
    const char *root;      /* staged root */
    char *const *packages; /* the recipe's packages: their files are kept */
    size_t n_packages;
    const struct strvec *traced;  /* guest paths the app touched at build time */
    const struct strvec *include; /* recipe include globs */
    const struct strvec *exclude; /* recipe exclude globs (win over everything) */
    const char *program;          /* absolute guest path of cmd[0] */
    const char *ld_library_path;  /* from the app's environment, or NULL */
};

/* Fill selection with canonical guest path -> reason ("package:NAME", "trace", "elf",
 * "include", "base", "link", "parent", "cmd"). Every kept path has its parent folders kept.
 * Returns -1 with a message on a broken ELF or when exclude removes the program. */
int tinyx_select_files(const struct tinyx_select_input *in, struct strmap *selection);

/* True if PATH is in the documented blacklist (docs, man pages, locales, package-manager
 * state, init-system files...). Applies to package files, not to traced or included ones. */
bool tinyx_select_blacklisted(const char *path);

/* True if glob matches path or one of its parent folders (fnmatch, FNM_PATHNAME). */
bool tinyx_select_glob_matches(const char *glob, const char *path);

#endif
