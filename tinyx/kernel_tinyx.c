/* kernel_tinyx.c: the kernel stage for Tinyx kernels: compose the config from fragments (or
 * the recipe's .config), then build it, or find it built, by the hash of that config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconfig-minimizer/fragment.h"
#include "kconfig-minimizer/kbuild.h"
#include "kconfig-minimizer/kconfig.h"
#include "kconfig-minimizer/ksource.h"
#include "tinyx/cache.h"
#include "tinyx/exitcode.h"
#include "tinyx/kernel.h"
#include "tinyx/proc.h"
#include "tinyx/recipe.h"
#include "tinyx/util.h"

/* Recipe options are "NAME" (meaning =y) or "NAME=VALUE": scripts/config wants NAME=VALUE. */
static void add_recipe_options(const struct tinyx_kernel_spec *k, struct strvec *settings)
{
    for (size_t i = 0; i < k->options.n; i++) {
        if (strchr(k->options.v[i], '='))
            tinyx_strvec_push(settings, k->options.v[i]);
        else
            tinyx_strvec_pushf(settings, "%s=y", k->options.v[i]);
    }
}

int tinyx_kernel_tinyx(struct tinyx_apt *apt, const char *cache_dir,
                       const struct tinyx_recipe *recipe, struct tinyx_kernel *out)
{
    memset(out, 0, sizeof(*out));
    const struct tinyx_kernel_spec *ks = &recipe->kernel;
    const char *platform = ks->platform ? ks->platform : "qemu";
    if (recipe->modules.n)
        tinyx_warn("modules: a Tinyx kernel has its drivers built in and loads no modules; use "
                   "kernel.options (e.g. [%s]) instead",
                   recipe->modules.v[0]);
    if (ks->config && !tinyx_exists(ks->config)) {
        tinyx_err("kernel.config: %s does not exist", ks->config);
        return TINYX_EXIT_RECIPE;
    }

    struct kconfig_source src;
    if (kconfig_source_get(apt, cache_dir, &src) < 0)
        return tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_PACKAGE;

    /* The settings: a recipe's own .config is complete (e.g. a minimized one: the fragments
     * would put back what the minimizer removed); otherwise the fragments. */
    struct strvec settings = STRVEC_INIT;
    struct kconfig_app_needs needs = {.network = recipe->n_ports > 0};
    if (!ks->config && kconfig_fragment_settings(platform, &needs, &settings) < 0) {
        kconfig_source_free(&src);
        tinyx_strvec_free(&settings);
        return TINYX_EXIT_RECIPE;
    }
    add_recipe_options(ks, &settings);

    /* One build folder per platform, kept between builds: a new config rebuilds only what
     * changed. The lock serialises builds sharing it. */
    char *objroot = tinyx_xasprintf("%s/kernel/obj", cache_dir);
    char *objdir = tinyx_xasprintf("%s/%s", objroot, platform);
    char *lockpath = tinyx_xasprintf("%s.lock", objdir);
    int rc = TINYX_EXIT_FAIL, lock = -1;
    struct strvec unmet = STRVEC_INIT;
    struct kbuild_result built = {0};
    if (tinyx_mkdir_p(objdir, 0755) < 0 || (lock = tinyx_cache_lock(lockpath)) < 0)
        goto out;
    struct kconfig_spec spec = {
        .srcdir = src.dir,
        .base = ks->config ? ks->config : "tinyconfig",
        .settings = &settings,
    };
    int k = kconfig_make(&spec, objdir, &unmet);
    if (k < 0) {
        rc = tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_FAIL;
        goto out;
    }
    if (k > 0) {
        /* A kernel feature the app or platform needs cannot be enabled: say which and why. */
        tinyx_err("the kernel cannot have %zu setting(s) this image needs:", unmet.n);
        for (size_t i = 0; i < unmet.n; i++)
            fprintf(stderr, "  %s\n", unmet.v[i]);
        fprintf(stderr,
                "  (settings come from the platform '%s', the app's needs and "
                "kernel.options in %s)\n",
                platform, recipe->file);
        rc = TINYX_EXIT_RECIPE;
        goto out;
    }
    char *config = tinyx_xasprintf("%s/.config", objdir);
    if (kbuild_lookup(cache_dir, config, &built) == 0) {
        out->built = false;
    } else {
        tinyx_info("kernel: building Linux %s for %s (once per configuration; minutes the first "
                   "time), log %s/build.log",
                   src.version, platform, objdir);
        struct kbuild_opts bo = {
            .srcdir = src.dir,
            .objdir = objdir,
            .cache_dir = cache_dir,
            .timeout_s = 3600,
        };
        if (kbuild_build(&bo, &built) < 0) {
            free(config);
            rc = tinyx_interrupted() ? TINYX_EXIT_INTERRUPTED : TINYX_EXIT_FAIL;
            goto out;
        }
        out->built = true;
    }
    free(config);
    out->image = tinyx_xstrdup(built.vmlinux);
    out->format = tinyx_xstrdup("elf");
    out->bzimage = tinyx_xstrdup(built.bzimage);
    out->config = tinyx_xstrdup(built.config);
    memcpy(out->config_sha256, built.hash, sizeof(out->config_sha256));
    out->release = tinyx_xstrdup(src.version);
    out->source = tinyx_xasprintf("tinyx %s %s (%s)", src.package, src.version, platform);
    const char *vm = kconfig_platform_virtio_mmio(platform);
    out->virtio_mmio = tinyx_xstrdup(vm ? vm : "none");
    out->cmdline = tinyx_xasprintf("%s quiet", kconfig_platform_console(platform));
    rc = TINYX_EXIT_OK;
out:
    tinyx_cache_unlock(lock);
    kbuild_result_free(&built);
    tinyx_strvec_free(&unmet);
    tinyx_strvec_free(&settings);
    kconfig_source_free(&src);
    free(objroot);
    free(objdir);
    free(lockpath);
    return rc;
}
