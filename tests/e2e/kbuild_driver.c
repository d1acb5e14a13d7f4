/* kbuild_driver.c: a small command-line front end to the kernel-side library (source, config,
 * build, lookup, symbols) for tests/e2e/test_10_kernel_build.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kconfig-minimizer/kbuild.h"
#include "kconfig-minimizer/kconfig.h"
#include "kconfig-minimizer/ksource.h"
#include "kconfig-minimizer/ksyms.h"
#include "tinyx/apt.h"
#include "tinyx/proc.h"
#include "tinyx/strmap.h"
#include "tinyx/util.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: kbuild_driver source CACHE\n"
            "       kbuild_driver config SRC OBJDIR BASE [NAME=VALUE...]\n"
            "       kbuild_driver apply SRC OBJDIR [NAME=VALUE...]\n"
            "       kbuild_driver build SRC OBJDIR CACHE [JOBS]\n"
            "       kbuild_driver lookup CACHE CONFIG\n"
            "       kbuild_driver hash CONFIG\n"
            "       kbuild_driver syms SRC OBJDIR   (checks the dump against OBJDIR/.config)\n");
    return 2;
}

static int cmd_source(const char *cache)
{
    struct tinyx_apt apt;
    if (tinyx_apt_open(cache, false, &apt) < 0)
        return 1;
    struct kconfig_source src;
    int rc = kconfig_source_get(&apt, cache, &src);
    tinyx_apt_close(&apt);
    if (rc < 0)
        return 1;
    printf("dir=%s\npackage=%s\nversion=%s\n", src.dir, src.package, src.version);
    kconfig_source_free(&src);
    return 0;
}

static void collect(int argc, char **argv, struct strvec *out)
{
    for (int i = 0; i < argc; i++)
        tinyx_strvec_push(out, argv[i]);
}

static int cmd_config(const char *src, const char *obj, const char *base, int argc, char **argv)
{
    struct strvec settings = STRVEC_INIT, unmet = STRVEC_INIT;
    collect(argc, argv, &settings);
    struct kconfig_spec spec = {.srcdir = src, .base = base, .settings = &settings};
    int rc = kconfig_make(&spec, obj, &unmet);
    for (size_t i = 0; i < unmet.n; i++)
        printf("unmet: %s\n", unmet.v[i]);
    tinyx_strvec_free(&settings);
    tinyx_strvec_free(&unmet);
    return rc < 0 ? 2 : rc;
}

static int cmd_apply(const char *src, const char *obj, int argc, char **argv)
{
    struct strvec settings = STRVEC_INIT;
    collect(argc, argv, &settings);
    int rc = kconfig_apply(src, obj, &settings);
    tinyx_strvec_free(&settings);
    return rc < 0 ? 1 : 0;
}

static void print_result(const struct kbuild_result *r)
{
    printf("hash=%s\ncached=%d\nseconds=%.1f\nvmlinux=%s\nbzimage=%s\nconfig=%s\n"
           "vmlinux_bytes=%llu\nbzimage_bytes=%llu\n",
           r->hash, r->cached, r->seconds, r->vmlinux, r->bzimage, r->config,
           (unsigned long long)r->vmlinux_bytes, (unsigned long long)r->bzimage_bytes);
}

static int cmd_build(const char *src, const char *obj, const char *cache, const char *jobs)
{
    struct kbuild_opts o = {.srcdir = src,
                            .objdir = obj,
                            .cache_dir = cache,
                            .jobs = jobs ? (unsigned)atoi(jobs) : 0,
                            .timeout_s = 1800};
    struct kbuild_result r;
    if (kbuild_build(&o, &r) < 0)
        return 1;
    print_result(&r);
    kbuild_result_free(&r);
    return 0;
}

static int cmd_lookup(const char *cache, const char *config)
{
    struct kbuild_result r;
    if (kbuild_lookup(cache, config, &r) < 0) {
        printf("absent\n");
        return 1;
    }
    print_result(&r);
    kbuild_result_free(&r);
    return 0;
}

/* Every listed bool/tristate must have its .config value, and every y/m of the .config must be
 * listed: the dumper computed the configuration the same way conf did. */
static int cmd_syms(const char *src, const char *obj)
{
    struct kconfig_syms s;
    if (kconfig_syms_load(src, obj, &s) < 0)
        return 2;
    char *path = tinyx_xasprintf("%s/.config", obj);
    struct strmap cfg = STRMAP_INIT;
    int rc = kconfig_read(path, &cfg) < 0 ? 2 : 0;
    size_t bools = 0, on = 0, bad = 0, with_parent = 0, settable = 0;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        const struct kconfig_sym *y = &s.v[i];
        with_parent += y->parent >= 0;
        settable += y->has_prompt && y->can_be_n;
        if (y->type != 'b' && y->type != 't')
            continue;
        bools++;
        const char *want = tinyx_strmap_get(&cfg, y->name);
        if (!want)
            want = "n";
        if (strcmp(want, y->value) != 0 && bad++ < 10)
            printf("mismatch: %s dump=%s config=%s\n", y->name, y->value, want);
    }
    for (size_t i = 0; i < cfg.cap && rc == 0; i++) {
        const struct strmap_slot *sl = &cfg.slots[i];
        if (!sl->key || !sl->value || (strcmp(sl->value, "y") && strcmp(sl->value, "m")))
            continue;
        on++;
        if (kconfig_syms_find(&s, sl->key) < 0 && bad++ < 20)
            printf("missing: %s=%s is not in the dump\n", sl->key, sl->value);
    }
    printf("symbols=%zu bool_or_tristate=%zu config_on=%zu with_parent=%zu settable_off=%zu "
           "mismatches=%zu\n",
           s.n, bools, on, with_parent, settable, bad);
    for (size_t i = 0; i < s.n; i++)
        if (!strcmp(s.v[i].name, "VIRTIO_NET") || !strcmp(s.v[i].name, "SERIAL_8250_CONSOLE"))
            printf("sym: %s type=%c value=%s prompt=%d can_be_n=%d parent=%s file=%s\n",
                   s.v[i].name, s.v[i].type, s.v[i].value, s.v[i].has_prompt, s.v[i].can_be_n,
                   s.v[i].parent >= 0 ? s.v[s.v[i].parent].name : "-", s.v[i].file);
    tinyx_strmap_free(&cfg);
    free(path);
    kconfig_syms_free(&s);
    return rc ? rc : bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    tinyx_progname = "kbuild_driver";
    tinyx_interrupt_install();
    if (getenv("TINYX_VERBOSE"))
        tinyx_verbosity = 2;
    if (argc < 3)
        return usage();
    const char *cmd = argv[1];
    int rc;
    if (!strcmp(cmd, "source"))
        rc = cmd_source(argv[2]);
    else if (!strcmp(cmd, "config") && argc >= 5)
        rc = cmd_config(argv[2], argv[3], argv[4], argc - 5, argv + 5);
    else if (!strcmp(cmd, "apply") && argc >= 4)
        rc = cmd_apply(argv[2], argv[3], argc - 4, argv + 4);
    else if (!strcmp(cmd, "build") && argc >= 5)
        rc = cmd_build(argv[2], argv[3], argv[4], argc > 5 ? argv[5] : NULL);
    else if (!strcmp(cmd, "lookup") && argc >= 4)
        rc = cmd_lookup(argv[2], argv[3]);
    else if (!strcmp(cmd, "hash")) {
        char hex[TINYX_SHA256_HEX];
        rc = kconfig_hash(argv[2], hex) < 0 ? 1 : 0;
        if (rc == 0)
            printf("%s\n", hex);
    } else if (!strcmp(cmd, "syms") && argc >= 4)
        rc = cmd_syms(argv[2], argv[3]);
    else
        return usage();
    if (rc != 0 || tinyx_interrupted())
        tinyx_cleanup_run();
    return tinyx_interrupted() ? 130 : rc;
}
