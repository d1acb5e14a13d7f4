/* kernel_debian.c: Debian kernel package -> cached unpacked kernel + libkmod module resolution. */
#include "tinyx/kernel.h"

#include <ctype.h>
#include <dirent.h>
#include <libkmod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyx/cache.h"
#include "tinyx/deb.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

static bool want_kernel_file(const char *path, void *ud)
{
    (void)ud;
    return tinyx_str_starts(path, "boot/vmlinuz-") || tinyx_str_starts(path, "boot/config-") ||
           tinyx_str_starts(path, "lib/modules/") || !strcmp(path, "boot") ||
           !strcmp(path, "lib") || !strcmp(path, "lib/modules");
}

/* Add MOD's dependencies (depth first), then MOD, once each. */
static int add_module(struct kmod_module *mod, const char *base, struct tinyx_kernel *k, int depth)
{
    if (depth > 32)
        return tinyx_err("module dependency chain too deep at %s", kmod_module_get_name(mod));
    const char *name = kmod_module_get_name(mod);
    if (tinyx_strvec_contains(&k->module_names, name))
        return 0;
    struct kmod_list *deps = kmod_module_get_dependencies(mod), *l;
    int rc = 0;
    kmod_list_foreach(l, deps)
    {
        struct kmod_module *d = kmod_module_get_module(l);
        if (add_module(d, base, k, depth + 1) < 0)
            rc = -1;
        kmod_module_unref(d);
    }
    kmod_module_unref_list(deps);
    if (rc < 0)
        return -1;
    const char *path = kmod_module_get_path(mod);
    if (!path)
        return 0; /* built into the kernel */
    if (tinyx_strvec_contains(&k->module_names, name))
        return 0;
    size_t bl = strlen(base);
    tinyx_strvec_push(&k->module_names, name);
    tinyx_strvec_push(&k->module_files,
                      !strncmp(path, base, bl) && path[bl] == '/' ? path + bl + 1 : path);
    return 0;
}

static int resolve_modules(struct tinyx_kernel *k, char *const *names, size_t n)
{
    char *base = tinyx_xasprintf("%s/lib/modules/%s", k->moddir, k->release);
    const char *no_config[] = {NULL}; /* never the host's /etc/modprobe.d */
    struct kmod_ctx *ctx = kmod_new(base, no_config);
    if (!ctx) {
        free(base);
        return tinyx_err("libkmod cannot open %s", k->moddir);
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct kmod_list *list = NULL, *l;
        if (kmod_module_new_from_lookup(ctx, names[i], &list) < 0 || !list) {
            rc = tinyx_err("kernel %s has no module '%s' (recipe key modules)", k->release,
                           names[i]);
            break;
        }
        kmod_list_foreach(l, list)
        {
            struct kmod_module *m = kmod_module_get_module(l);
            if (add_module(m, base, k, 0) < 0)
                rc = -1;
            kmod_module_unref(m);
        }
        kmod_module_unref_list(list);
    }
    kmod_unref(ctx);
    free(base);
    return rc;
}

static char *find_one(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!found && tinyx_str_starts(e->d_name, prefix))
            found = tinyx_xasprintf("%s/%s", dir, e->d_name);
    closedir(d);
    return found;
}

int tinyx_kernel_debian(struct tinyx_apt *apt, const char *cache_dir, char *const *modules,
                        size_t n_modules, struct tinyx_kernel *out)
{
    memset(out, 0, sizeof(*out));
    const char *meta = getenv("TINYX_KERNEL_PACKAGE");
    if (!meta || !*meta)
        meta = "linux-image-cloud-amd64";
    struct tinyx_pkglist closure;
    char *names[] = {(char *)meta};
    if (tinyx_apt_closure(apt, names, 1, &closure) < 0)
        return -1;
    /* The real image package is the linux-image-* the metapackage depends on. */
    const struct tinyx_pkg *pkg = NULL;
    for (size_t i = 0; i < closure.n; i++)
        if (tinyx_str_starts(closure.v[i].name, "linux-image-") &&
            strcmp(closure.v[i].name, meta) != 0 && isdigit((unsigned char)closure.v[i].name[12]))
            pkg = &closure.v[i];
    if (!pkg) {
        tinyx_pkglist_free(&closure);
        return tinyx_err("%s does not depend on a linux-image-<version> package", meta);
    }
    out->release = tinyx_xstrdup(pkg->name + strlen("linux-image-"));
    out->source = tinyx_xasprintf("%s %s", pkg->name, pkg->version);
    out->format = tinyx_xstrdup("bzImage");
    /* Its virtio drivers find microvm's devices through ACPI; it prints a harmless PCI error on
     * microvm even with quiet, hence loglevel=3. */
    out->virtio_mmio = tinyx_xstrdup("acpi");
    out->cmdline = tinyx_xstrdup("console=ttyS0 quiet loglevel=3");
    char *kroot = tinyx_xasprintf("%s/kernels", cache_dir);
    tinyx_mkdir_p(kroot, 0755);
    out->moddir = tinyx_xasprintf("%s/%s_%s", kroot, pkg->name, pkg->version);
    free(kroot);
    char *done = tinyx_xasprintf("%s/complete", out->moddir);
    int rc = 0;
    if (!tinyx_exists(done)) {
        char *deb = NULL;
        char *tmp = NULL;
        if (tinyx_apt_fetch_one(apt, pkg, &deb) < 0 ||
            !(tmp = tinyx_cache_tmpdir_for(out->moddir))) {
            rc = -1;
        } else {
            tinyx_info("kernel: unpacking %s", out->source);
            if (tinyx_deb_extract(deb, tmp, want_kernel_file, NULL) <= 0)
                rc = -1;
            /* modules.dep is made by the package's postinst on a real system: make it here. */
            char *depmod[] = {"depmod", "-b", tmp, out->release, NULL};
            if (rc == 0 && tinyx_run_argv(depmod) != 0)
                rc = tinyx_err("depmod failed for %s (is kmod installed? `make deps`)",
                               out->release);
            char *mark = tinyx_xasprintf("%s/complete", tmp);
            if (rc == 0)
                rc = tinyx_write_file_atomic(mark, out->source, strlen(out->source), 0644);
            free(mark);
            if (rc == 0)
                rc = tinyx_cache_publish_dir(tmp, out->moddir);
            if (rc < 0) {
                tinyx_rm_rf(tmp);
                tinyx_cleanup_remove(tmp);
            }
        }
        free(deb);
        free(tmp);
    }
    free(done);
    tinyx_pkglist_free(&closure);
    if (rc < 0)
        return -1;
    char *bootdir = tinyx_xasprintf("%s/boot", out->moddir);
    char *vmlinuz = tinyx_xasprintf("vmlinuz-%s", out->release);
    char *config = tinyx_xasprintf("config-%s", out->release);
    out->image = find_one(bootdir, vmlinuz);
    char *cfg = find_one(bootdir, config);
    free(bootdir);
    free(vmlinuz);
    free(config);
    if (!out->image || !cfg) {
        free(cfg);
        return tinyx_err("kernel package %s has no boot/vmlinuz or boot/config", out->source);
    }
    rc = tinyx_sha256_file(cfg, out->config_sha256);
    out->config = cfg;
    if (rc == 0)
        rc = resolve_modules(out, modules, n_modules);
    return rc;
}

void tinyx_kernel_free(struct tinyx_kernel *k)
{
    free(k->image);
    free(k->format);
    free(k->bzimage);
    free(k->config);
    free(k->virtio_mmio);
    free(k->cmdline);
    free(k->release);
    free(k->source);
    free(k->moddir);
    tinyx_strvec_free(&k->module_names);
    tinyx_strvec_free(&k->module_files);
    memset(k, 0, sizeof(*k));
}
