/* dpkg.c: parse var/lib/dpkg/status and the var/lib/dpkg/info/PKG.list files of a staged root. */
#include "tinyx/dpkg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tinyx/rootpath.h"
#include "tinyx/util.h"

static int cmp_pkg(const void *a, const void *b)
{
    return strcmp(((const struct tinyx_pkg *)a)->name, ((const struct tinyx_pkg *)b)->name);
}

int tinyx_dpkg_installed(const char *root, struct tinyx_pkglist *out)
{
    memset(out, 0, sizeof(*out));
    char *path = tinyx_xasprintf("%s/var/lib/dpkg/status", root);
    char *text = tinyx_read_file(path, NULL);
    if (!text) {
        tinyx_errno("cannot read %s", path);
        free(path);
        return -1;
    }
    free(path);
    size_t cap = 0;
    char *name = NULL, *version = NULL;
    bool installed = false;
    /* Stanzas are separated by empty lines; add a sentinel pass at the end. */
    char *line = text;
    for (;;) {
        char *nl = line ? strchr(line, '\n') : NULL;
        if (nl)
            *nl = '\0';
        if (!line || *line == '\0') {
            if (name && version && installed) {
                if (out->n == cap) {
                    cap = cap ? cap * 2 : 256;
                    out->v = tinyx_xrealloc(out->v, cap * sizeof(*out->v));
                }
                out->v[out->n].name = name;
                out->v[out->n++].version = version;
            } else {
                free(name);
                free(version);
            }
            name = version = NULL;
            installed = false;
            if (!line)
                break;
        } else if (tinyx_str_starts(line, "Package: ")) {
            free(name);
            name = tinyx_xstrdup(line + 9);
        } else if (tinyx_str_starts(line, "Version: ")) {
            free(version);
            version = tinyx_xstrdup(line + 9);
        } else if (tinyx_str_starts(line, "Status: ")) {
            /* "Status: WANT FLAG STATE": only the state matters (a held package is installed). */
            installed = tinyx_str_ends(line, " installed");
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_pkg);
    return 0;
}

int tinyx_dpkg_files(const char *root, const char *pkg, struct strvec *out)
{
    char *path = tinyx_xasprintf("%s/var/lib/dpkg/info/%s.list", root, pkg);
    char *text = tinyx_read_file(path, NULL);
    if (!text) {
        /* Multi-arch: same packages are listed as NAME:ARCH. */
        free(path);
        path = tinyx_xasprintf("%s/var/lib/dpkg/info/%s:amd64.list", root, pkg);
        text = tinyx_read_file(path, NULL);
    }
    free(path);
    if (!text)
        return -1;
    for (char *s = NULL, *l = strtok_r(text, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
        if (l[0] != '/' || !strcmp(l, "/."))
            continue;
        /* Resolve the folder part only: a listed symlink stays a symlink. */
        char *canon = NULL;
        tinyx_rootpath_resolve(root, l, false, NULL, &canon, NULL);
        tinyx_strvec_push_owned(out, canon);
    }
    free(text);
    return 0;
}

int tinyx_dpkg_owners(const char *root, const struct tinyx_pkglist *installed,
                      struct strmap *owners)
{
    for (size_t i = 0; i < installed->n; i++) {
        struct strvec files = STRVEC_INIT;
        if (tinyx_dpkg_files(root, installed->v[i].name, &files) == 0) {
            for (size_t j = 0; j < files.n; j++) {
                char *host = tinyx_xasprintf("%s%s", root, files.v[j]);
                struct stat st;
                if (lstat(host, &st) == 0 && !S_ISDIR(st.st_mode))
                    tinyx_strmap_add(owners, files.v[j], installed->v[i].name);
                free(host);
            }
        }
        tinyx_strvec_free(&files);
    }
    return 0;
}
