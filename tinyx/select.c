/* select.c: the file selection: package files minus the blacklist, traced paths, includes,
 * the ELF closure of everything kept, minus excludes; symlinks and parents kept. */
#include "tinyx/select.h"

#include <fnmatch.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tinyx/dpkg.h"
#include "tinyx/elfdeps.h"
#include "tinyx/rootpath.h"
#include "tinyx/util.h"

/* Paths no app needs at run time. Prefixes end in '/' (a folder and all below it); other
 * entries are fnmatch patterns on the whole path. Documented in recipes/README.md. */
static const char *const blacklist[] = {
    "/usr/share/doc/",
    "/usr/share/man/",
    "/usr/share/info/",
    "/usr/share/locale/",
    "/usr/share/lintian/",
    "/usr/share/linda/",
    "/usr/share/bug/",
    "/usr/share/menu/",
    "/usr/share/common-licenses/",
    "/usr/share/bash-completion/",
    "/usr/share/zsh/",
    "/usr/share/fish/",
    "/usr/share/help/",
    "/usr/share/gtk-doc/",
    "/usr/share/applications/",
    "/usr/share/pixmaps/",
    "/usr/share/icons/",
    "/usr/share/apport/",
    "/usr/share/polkit-1/",
    "/usr/share/debconf/",
    "/usr/share/pkgconfig/",
    "/usr/include/",
    "/usr/lib/systemd/",
    "/usr/lib/tmpfiles.d/",
    "/usr/lib/sysusers.d/",
    "/usr/lib/x86_64-linux-gnu/pkgconfig/",
    "/etc/systemd/",
    "/etc/init.d/",
    "/etc/init/",
    "/etc/rc0.d/",
    "/etc/rc1.d/",
    "/etc/rc2.d/",
    "/etc/rc3.d/",
    "/etc/rc4.d/",
    "/etc/rc5.d/",
    "/etc/rc6.d/",
    "/etc/rcS.d/",
    "/etc/logrotate.d/",
    "/etc/cron.d/",
    "/etc/cron.daily/",
    "/etc/cron.weekly/",
    "/etc/cron.monthly/",
    "/etc/cron.hourly/",
    "/etc/apparmor.d/",
    "/etc/ufw/",
    "/etc/default/",
    "/var/lib/dpkg/",
    "/var/lib/apt/",
    "/var/cache/apt/",
    "/var/cache/debconf/",
    "/var/log/apt/",
    "/var/lib/systemd/",
    "*.a",
    "*.la",
    "*.h",
    "*.pod",
};

/* Small files every image gets when the root has them: users and groups (apps and the init
 * resolve names), name-service and host tables, the library search configuration from which
 * the image's ld.so.cache is regenerated, and the merged-/usr links (/bin -> usr/bin...). */
static const char *const base_files[] = {
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d/*",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
};

bool tinyx_select_blacklisted(const char *path)
{
    for (size_t i = 0; i < sizeof(blacklist) / sizeof(blacklist[0]); i++) {
        const char *b = blacklist[i];
        size_t n = strlen(b);
        if (b[n - 1] == '/') {
            /* The folder itself and everything below it. */
            if (!strncmp(path, b, n) || (!strncmp(path, b, n - 1) && path[n - 1] == '\0'))
                return true;
        } else if (fnmatch(b, path, 0) == 0) {
            return true;
        }
    }
    return false;
}

bool tinyx_select_glob_matches(const char *glob, const char *path)
{
    char *p = tinyx_xstrdup(path);
    bool hit = false;
    for (;;) {
        if (fnmatch(glob, p, FNM_PATHNAME) == 0) {
            hit = true;
            break;
        }
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    free(p);
    return hit;
}

struct selector {
    const char *root;
    struct strmap *sel;
    struct strvec work; /* canonical regular files still to scan for ELF needs */
};

static void add_entry(struct selector *s, const char *path, const char *reason)
{
    if (!strcmp(path, "/"))
        return;
    /* Parents first (they are canonical folders, since path is canonical). */
    char *p = tinyx_xstrdup(path);
    for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        tinyx_strmap_add(s->sel, p, "parent");
        *slash = '/';
    }
    free(p);
    const char *old = tinyx_strmap_get(s->sel, path);
    if (!tinyx_strmap_has(s->sel, path) || (old && !strcmp(old, "parent"))) {
        tinyx_strmap_set(s->sel, path, reason);
        char *host = tinyx_xasprintf("%s%s", s->root, path);
        struct stat st;
        if (lstat(host, &st) == 0 && S_ISREG(st.st_mode))
            tinyx_strvec_push(&s->work, path);
        free(host);
    }
}

/* Keep PATH and whatever makes it reachable: symlinks crossed on the way, the target of a final
 * symlink (recursively), its parent folders. A missing path keeps its longest existing prefix
 * (the app may create the rest at run time). Returns true if the path exists. */
static bool keep(struct selector *s, const char *path, const char *reason)
{
    struct strvec links = STRVEC_INIT;
    char *canon = NULL, *existing = NULL;
    int r = tinyx_rootpath_resolve(s->root, path, true, &links, &canon, &existing);
    for (size_t i = 0; i < links.n; i++)
        add_entry(s, links.v[i], "link");
    bool found = r == TINYX_ROOTPATH_FOUND;
    if (found)
        add_entry(s, canon, reason);
    else if (existing)
        add_entry(s, existing, "parent");
    tinyx_strvec_free(&links);
    free(canon);
    free(existing);
    return found;
}

/* Keep a folder tree (include globs naming folders). */
static struct selector *walk_sel;
static size_t walk_rootlen;
static int walk_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    const char *guest = fpath + walk_rootlen;
    if (*guest)
        keep(walk_sel, guest, "include");
    return 0;
}

static void keep_include(struct selector *s, const char *pattern)
{
    char *hostpat = tinyx_xasprintf("%s%s", s->root, pattern);
    glob_t g;
    if (glob(hostpat, GLOB_NOSORT, NULL, &g) != 0) {
        tinyx_warn("include '%s' matches nothing in the staged root", pattern);
        free(hostpat);
        return;
    }
    size_t rootlen = strlen(s->root);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *guest = g.gl_pathv[i] + rootlen;
        keep(s, guest, "include");
        struct stat st;
        if (lstat(g.gl_pathv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            walk_sel = s;
            walk_rootlen = rootlen;
            nftw(g.gl_pathv[i], walk_cb, 32, FTW_PHYS);
        }
    }
    globfree(&g);
    free(hostpat);
}

static bool skip_traced(const char *p)
{
    static const char *const virt[] = {"/proc", "/sys", "/dev", "/tmp"};
    for (size_t i = 0; i < sizeof(virt) / sizeof(virt[0]); i++) {
        size_t n = strlen(virt[i]);
        if (!strncmp(p, virt[i], n) && (p[n] == '\0' || p[n] == '/'))
            return true;
    }
    return false;
}

int tinyx_select_files(const struct tinyx_select_input *in, struct strmap *selection)
{
    struct selector s = {.root = in->root, .sel = selection, .work = STRVEC_INIT};

    for (size_t i = 0; i < in->n_packages; i++) {
        struct strvec files = STRVEC_INIT;
        if (tinyx_dpkg_files(in->root, in->packages[i], &files) < 0) {
            tinyx_strvec_free(&files);
            return tinyx_err("package %s is not installed in the staged root", in->packages[i]);
        }
        char *reason = tinyx_xasprintf("package:%s", in->packages[i]);
        for (size_t j = 0; j < files.n; j++)
            if (!tinyx_select_blacklisted(files.v[j]))
                keep(&s, files.v[j], reason);
        free(reason);
        tinyx_strvec_free(&files);
    }
    for (size_t i = 0; in->traced && i < in->traced->n; i++)
        if (!skip_traced(in->traced->v[i]))
            keep(&s, in->traced->v[i], "trace");
    for (size_t i = 0; i < sizeof(base_files) / sizeof(base_files[0]); i++) {
        char *hostpat = tinyx_xasprintf("%s%s", in->root, base_files[i]);
        glob_t g;
        /* GLOB_NOCHECK is not used: a base file the root lacks is simply not kept. */
        if (glob(hostpat, 0, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                keep(&s, g.gl_pathv[k] + strlen(in->root), "base");
            globfree(&g);
        }
        free(hostpat);
    }
    for (size_t i = 0; in->include && i < in->include->n; i++)
        keep_include(&s, in->include->v[i]);
    if (in->program && !keep(&s, in->program, "cmd")) {
        tinyx_strvec_free(&s.work);
        return tinyx_err("cmd: %s is not in the staged root", in->program);
    }

    /* ELF closure: scan every kept regular file once; needs found are kept and scanned. */
    struct tinyx_elf_resolver res;
    tinyx_elf_resolver_init(&res, in->root, in->ld_library_path);
    struct strvec missing = STRVEC_INIT;
    struct strmap scanned = STRMAP_INIT;
    int rc = 0;
    while (s.work.n > 0) {
        char *path = s.work.v[--s.work.n];
        s.work.v[s.work.n] = NULL;
        if (!tinyx_strmap_add(&scanned, path, NULL)) {
            free(path);
            continue;
        }
        struct strvec needs = STRVEC_INIT;
        if (tinyx_elf_needs(&res, path, &needs, &missing) < 0)
            rc = -1;
        for (size_t i = 0; i < needs.n; i++)
            keep(&s, needs.v[i], "elf");
        tinyx_strvec_free(&needs);
        free(path);
    }
    tinyx_strmap_free(&scanned);
    tinyx_elf_resolver_free(&res);
    tinyx_strvec_sort_unique(&missing);
    for (size_t i = 0; i < missing.n && i < 10; i++)
        tinyx_warn("library not found in the staged root: %s", missing.v[i]);
    if (missing.n > 10)
        tinyx_warn("... and %zu more missing libraries", missing.n - 10);
    tinyx_strvec_free(&missing);
    tinyx_strvec_free(&s.work);
    if (rc < 0)
        return -1;

    /* Excludes win over everything, but never silently remove the program itself: not its
     * file, and not a symlink its path goes through (e.g. /bin -> usr/bin). */
    if (in->exclude && in->exclude->n) {
        struct strvec needed = STRVEC_INIT;
        char *canon = NULL;
        if (in->program && tinyx_rootpath_resolve(in->root, in->program, true, &needed, &canon,
                                                  NULL) == TINYX_ROOTPATH_FOUND)
            tinyx_strvec_push(&needed, canon);
        free(canon);
        const char **keys = tinyx_strmap_sorted_keys(selection);
        struct strmap dropped = STRMAP_INIT;
        for (size_t i = 0; keys[i] && rc == 0; i++)
            for (size_t j = 0; j < in->exclude->n; j++) {
                if (!tinyx_select_glob_matches(in->exclude->v[j], keys[i]))
                    continue;
                bool vital = false;
                for (size_t k = 0; k < needed.n && !vital; k++)
                    vital =
                        !strcmp(needed.v[k], keys[i]) || (tinyx_str_starts(needed.v[k], keys[i]) &&
                                                          needed.v[k][strlen(keys[i])] == '/');
                if (vital)
                    rc = tinyx_err("exclude '%s' removes the program %s", in->exclude->v[j],
                                   in->program);
                tinyx_strmap_set(&dropped, keys[i], NULL);
                break;
            }
        free(keys);
        tinyx_strvec_free(&needed);
        if (rc < 0) {
            tinyx_strmap_free(&dropped);
            return -1;
        }
        struct strmap kept = STRMAP_INIT;
        const char **all = tinyx_strmap_sorted_keys(selection);
        for (size_t i = 0; all[i]; i++)
            if (!tinyx_strmap_has(&dropped, all[i]))
                tinyx_strmap_set(&kept, all[i], tinyx_strmap_get(selection, all[i]));
        free(all);
        tinyx_strmap_free(selection);
        tinyx_strmap_free(&dropped);
        *selection = kept;
    }
    return 0;
}
