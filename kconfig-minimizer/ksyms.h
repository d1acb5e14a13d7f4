/* ksyms.h: the symbols of a kernel configuration and their menu hierarchy, read with the
 * kernel's own kconfig parser (kconfig_dump.c compiled against OBJDIR/scripts/kconfig). */
#ifndef KCONFIG_KSYMS_H
#define KCONFIG_KSYMS_H

#include <stdbool.h>
#include <stddef.h>

struct kconfig_sym {
    char *name;        /* without CONFIG_ */
    char type;         /* 'b' bool, 't' tristate, 's' string, 'i' int, 'h' hex */
    char *value;       /* current value: "y", "m", "n", or the string/number */
    bool has_prompt;   /* user-visible: a person (or scripts/config) can set it */
    bool can_be_n;     /* turning it off is within its range (not forced on by a select/imply) */
    int parent;        /* index of the nearest enclosing symbol in the menu tree (a menuconfig or
                          a config with a "depends on" block under it), or -1 at the top */
    char *file;        /* Kconfig file:line where it is defined */
    char *depends;     /* its dependencies as the kernel prints them, with current values
                          ("PCI [=n] && NET [=y]"), or "" when it has none */
    char *selected_by; /* the selects holding it on ("A [=y] || B [=m]"), or "" */
};

struct kconfig_syms {
    struct kconfig_sym *v;
    size_t n;
};

/* Dump OBJDIR/.config's symbols (every bool/tristate that is y or m, plus all with prompts).
 * Compiles the dumper once per OBJDIR (from tinyx_self_dir()/../share/tinyx/kconfig_dump.c and
 * the OBJDIR/scripts/kconfig objects built by `make O=OBJDIR <any>config`). */
int kconfig_syms_load(const char *srcdir, const char *objdir, struct kconfig_syms *out);
void kconfig_syms_free(struct kconfig_syms *s);
/* Index of NAME, or -1. */
int kconfig_syms_find(const struct kconfig_syms *s, const char *name);

#endif
