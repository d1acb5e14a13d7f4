/* elfdeps.h: what an ELF file needs at run time (PT_INTERP, DT_NEEDED via RPATH/RUNPATH,
 * LD_LIBRARY_PATH, ld.so.conf and the default folders), resolved inside a staged root. */
#ifndef TINYX_ELFDEPS_H
#define TINYX_ELFDEPS_H

#include <stdbool.h>

#include "tinyx/strvec.h"

struct tinyx_elf_info {
    bool is_elf;
    int elf_class; /* ELFCLASS32/64 */
    int machine;   /* EM_X86_64, ... */
    bool dynamic;  /* has a dynamic section */
    char *interp;  /* PT_INTERP or NULL */
    struct strvec needed;
    struct strvec rpath;   /* DT_RPATH entries (split on ':') */
    struct strvec runpath; /* DT_RUNPATH entries */
};

/* Read the ELF facts of a host file. Returns 0 (info->is_elf false for non-ELF files), or -1
 * with a message for a file that claims to be ELF but is broken (truncated, bad headers). */
int tinyx_elf_read(const char *host_path, struct tinyx_elf_info *info);
void tinyx_elf_info_free(struct tinyx_elf_info *info);

struct tinyx_elf_resolver {
    const char *root;
    struct strvec ld_library_path; /* from the app's environment */
    struct strvec conf_dirs;       /* from ROOT/etc/ld.so.conf (+ includes) */
};

/* Prepare a resolver for ROOT; ld_library_path may be NULL. */
void tinyx_elf_resolver_init(struct tinyx_elf_resolver *r, const char *root,
                             const char *ld_library_path);
void tinyx_elf_resolver_free(struct tinyx_elf_resolver *r);

/* The guest paths GUEST_PATH (an ELF inside root, canonical) needs: its interpreter and each
 * DT_NEEDED library, found as the dynamic loader would. Names that cannot be found go to
 * missing. Returns -1 for a broken ELF. */
int tinyx_elf_needs(struct tinyx_elf_resolver *r, const char *guest_path, struct strvec *needs,
                    struct strvec *missing);

#endif
