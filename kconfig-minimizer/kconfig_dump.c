/* kconfig_dump.c: list a .config's symbols with the kernel's own kconfig parser (linked with
 * the objects in OBJDIR/scripts/kconfig at run time by ksyms.c): one tab-separated line per symbol.
 */
/*
 * Usage: kconfig_dump KCONFIG DOTCONFIG   (run in OBJDIR with the kernel's environment:
 * srctree, ARCH, SRCARCH, CC, ... as the kernel's Makefile exports them to its conf)
 *
 * Output, one line per symbol that is y or m, or that has a prompt:
 *   NAME TYPE VALUE HAS_PROMPT CAN_BE_N PARENT FILE:LINE DEPENDS SELECTED_BY
 * TYPE is b, t, s, i or h; VALUE is y/m/n or the raw string or number (tab, newline and
 * backslash escaped as \t, \n, \\); HAS_PROMPT is 1 when a prompt is visible now (a person can
 * set it); CAN_BE_N is 1 when n is within its range (nothing selects it, not a choice's only
 * pick); PARENT is the nearest enclosing listed symbol in the menu tree, or "-". DEPENDS is the
 * kernel's own text of its dependencies with current values ("NET [=y] && PCI [=n]"), and
 * SELECTED_BY the selects that hold it on ("A [=y] || B [=m]"), "-" when none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkc.h"

/* The menu node a symbol is listed at (its first node with a prompt, else its first node) is
 * kept in def[S_DEF_DEF4], a slot kconfig reserves for front ends. */
static struct menu *chosen_node(struct symbol *sym)
{
    return sym->def[S_DEF_DEF4].val;
}

static int is_listable(struct symbol *sym)
{
    return sym && sym->name && !(sym->flags & SYMBOL_CONST) && sym->type != S_UNKNOWN;
}

static int has_prompt_property(struct symbol *sym)
{
    struct property *prop;
    for_all_prompts(sym, prop) return 1;
    return 0;
}

static int is_listed(struct symbol *sym)
{
    if (!is_listable(sym))
        return 0;
    if ((sym->type == S_BOOLEAN || sym->type == S_TRISTATE) && sym_get_tristate_value(sym) != no)
        return 1;
    return has_prompt_property(sym);
}

static void choose_nodes(struct menu *m)
{
    for (; m; m = m->next) {
        struct symbol *sym = m->sym;
        if (is_listable(sym)) {
            struct menu *cur = chosen_node(sym);
            if (!cur || (!menu_has_prompt(cur) && menu_has_prompt(m)))
                sym->def[S_DEF_DEF4].val = m;
        }
        if (m->list)
            choose_nodes(m->list);
    }
}

static void put_escaped(const char *s)
{
    for (; *s; s++) {
        if (*s == '\t')
            fputs("\\t", stdout);
        else if (*s == '\n')
            fputs("\\n", stdout);
        else if (*s == '\\')
            fputs("\\\\", stdout);
        else
            putchar(*s);
    }
}

static char type_letter(enum symbol_type t)
{
    switch (t) {
    case S_BOOLEAN:
        return 'b';
    case S_TRISTATE:
        return 't';
    case S_INT:
        return 'i';
    case S_HEX:
        return 'h';
    case S_STRING:
        return 's';
    default:
        return '?';
    }
}

/* Append the text of gs to stdout, with the kernel's "  - X\n" revdep lines joined by " || ". */
static void put_revdep(struct gstr *gs)
{
    const char *s = str_get(gs);
    int first = 1;
    while (*s) {
        const char *end = strchr(s, '\n');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len >= 4 && !strncmp(s, "  - ", 4)) {
            char *term = strndup(s + 4, len - 4);
            if (!first)
                fputs(" || ", stdout);
            put_escaped(term);
            free(term);
            first = 0;
        }
        s += len + (end ? 1 : 0);
    }
    if (first)
        putchar('-');
}

static void put_depends(struct menu *m)
{
    struct expr *dep = m->dep;
    struct expr *vis = m->prompt ? m->prompt->visible.expr : NULL;
    struct gstr gs = str_new();
    if (!expr_is_yes(dep))
        expr_gstr_print(dep, &gs);
    /* A prompt with its own "if" (or a "visible if" menu) differs from the dependencies. */
    if (m->prompt && !expr_eq(dep, vis) && !expr_is_yes(vis)) {
        str_append(&gs, *str_get(&gs) ? " (visible if " : "(visible if ");
        expr_gstr_print(vis, &gs);
        str_append(&gs, ")");
    }
    if (*str_get(&gs))
        put_escaped(str_get(&gs));
    else
        putchar('-');
    str_free(&gs);
}

static void print_symbol(struct menu *m)
{
    struct symbol *sym = m->sym;
    const char *parent = "-";
    /* Menus, ifs and choices are not symbols a person sets: skip them to the next symbol. */
    for (struct menu *up = m->parent; up; up = up->parent)
        if (up->sym && up->sym != sym && is_listed(up->sym)) {
            parent = up->sym->name;
            break;
        }
    int boolish = sym->type == S_BOOLEAN || sym->type == S_TRISTATE;
    printf("%s\t%c\t", sym->name, type_letter(sym->type));
    put_escaped(sym_get_string_value(sym));
    printf("\t%d\t%d\t%s\t%s:%d\t", sym->visible != no,
           boolish && sym_tristate_within_range(sym, no), parent, m->file ? m->file->name : "?",
           m->lineno);
    put_depends(m);
    putchar('\t');
    struct gstr sel = str_new();
    if (sym->rev_dep.expr) {
        expr_gstr_print_revdep(sym->rev_dep.expr, &sel, yes, "");
        expr_gstr_print_revdep(sym->rev_dep.expr, &sel, mod, "");
    }
    put_revdep(&sel);
    str_free(&sel);
    putchar('\n');
}

static void dump(struct menu *m)
{
    for (; m; m = m->next) {
        if (m->sym && chosen_node(m->sym) == m && is_listed(m->sym))
            print_symbol(m);
        if (m->list)
            dump(m->list);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr,
                "usage: %s KCONFIG DOTCONFIG (run in the build folder with the kernel's "
                "environment: srctree, ARCH, SRCARCH, CC...)\n",
                argv[0]);
        return 2;
    }
    conf_parse(argv[1]);
    if (conf_read(argv[2])) {
        fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[2]);
        return 1;
    }
    /* conf_read computed every value; compute again for symbols it did not touch. */
    int i;
    struct symbol *sym;
    for_all_symbols(i, sym) sym_calc_value(sym);
    choose_nodes(rootmenu.list);
    dump(rootmenu.list);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("kconfig_dump: write");
        return 1;
    }
    return 0;
}
