/* test_kconfig.c: kernel configurations (kconfig-minimizer/kconfig.h): reading and hashing
 * .config files, composing one through a stand-in kernel tree, the cache lookup of built
 * kernels, and (when an unpacked Linux tree is at hand) the real kconfig tools and dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kconfig-minimizer/kbuild.h"
#include "kconfig-minimizer/kconfig.h"
#include "kconfig-minimizer/ksyms.h"
#include "tinyx/cache.h"
#include "tinyx/proc.h"
#include "tinyx/strmap.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

static char base[64];       /* temp folder of this file's tests */
static char *fake_tree;     /* a stand-in kernel tree: Makefile + scripts/config */
static char *real_tree;     /* an unpacked linux-source tree, or NULL */
static const char *no_real; /* why the real-tree tests skip */

/* ---- helpers ---- */

struct capture {
    int saved, fd;
    char path[64];
};

static void capture_start(struct capture *c)
{
    strcpy(c->path, "/tmp/tinyx-ut-stderr-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(dup2(c->fd, STDERR_FILENO) >= 0);
}

static char *capture_stop(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    char *text = tinyx_read_file(c->path, NULL);
    close(c->fd);
    unlink(c->path);
    return text ? text : tinyx_xstrdup("");
}

static char *write_temp(const char *name, const char *text)
{
    char *p = tinyx_xasprintf("%s/%s", base, name);
    assert_int_equal(tinyx_write_file_atomic(p, text, strlen(text), 0644), 0);
    return p;
}

static void hash_of(const char *text, char hex[TINYX_SHA256_HEX])
{
    char *p = write_temp("hash.config", text);
    assert_int_equal(kconfig_hash(p, hex), 0);
    free(p);
}

static char *fresh_objdir(const char *name)
{
    char *dir = tinyx_xasprintf("%s/%s", base, name);
    tinyx_rm_rf(dir);
    assert_int_equal(tinyx_mkdir_p(dir, 0755), 0);
    return dir;
}

static char *objfile(const char *objdir, const char *name)
{
    char *p = tinyx_xasprintf("%s/%s", objdir, name);
    char *text = tinyx_read_file(p, NULL);
    free(p);
    return text;
}

static bool has_line_starting(const struct strvec *v, const char *prefix)
{
    for (size_t i = 0; i < v->n; i++)
        if (tinyx_str_starts(v->v[i], prefix))
            return true;
    return false;
}

/* ---- kconfig_read ---- */

static void test_read_values(void **state)
{
    (void)state;
    char *p = write_temp("read.config", "#\n# Automatically generated file; DO NOT EDIT.\n"
                                        "# Linux/x86 6.1.192 Kernel Configuration\n#\n"
                                        "CONFIG_CC_VERSION_TEXT=\"gcc (Debian) 12.2.0\"\n"
                                        "CONFIG_64BIT=y\n"
                                        "CONFIG_VIRTIO_NET=m\n"
                                        "# CONFIG_PCI is not set\n"
                                        "\n"
                                        "CONFIG_NR_CPUS=4\r\n"
                                        "CONFIG_PHYSICAL_START=0x1000000\n"
                                        "CONFIG_CMDLINE=\"\"\n"
                                        "# CONFIG_ALSO is a comment\n"
                                        "NOT_CONFIG=y\n");
    struct strmap m = STRMAP_INIT;
    assert_int_equal(kconfig_read(p, &m), 0);
    assert_string_equal(tinyx_strmap_get(&m, "64BIT"), "y");
    assert_string_equal(tinyx_strmap_get(&m, "VIRTIO_NET"), "m");
    assert_string_equal(tinyx_strmap_get(&m, "PCI"), "n");
    assert_string_equal(tinyx_strmap_get(&m, "NR_CPUS"), "4"); /* CR stripped */
    assert_string_equal(tinyx_strmap_get(&m, "PHYSICAL_START"), "0x1000000");
    assert_string_equal(tinyx_strmap_get(&m, "CMDLINE"), "\"\"");
    assert_string_equal(tinyx_strmap_get(&m, "CC_VERSION_TEXT"), "\"gcc (Debian) 12.2.0\"");
    assert_false(tinyx_strmap_has(&m, "ALSO"));
    assert_false(tinyx_strmap_has(&m, "NOT_CONFIG"));
    assert_int_equal(m.n, 7);
    tinyx_strmap_free(&m);
    free(p);
}

static void test_read_missing_file(void **state)
{
    (void)state;
    struct strmap m = STRMAP_INIT;
    struct capture c;
    capture_start(&c);
    int rc = kconfig_read("/nonexistent/.config", &m);
    char *err = capture_stop(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "/nonexistent/.config"));
    assert_int_equal(m.n, 0);
    free(err);
}

/* ---- kconfig_hash ---- */

static void test_hash_ignores_order_and_comments(void **state)
{
    (void)state;
    char a[TINYX_SHA256_HEX], b[TINYX_SHA256_HEX], c[TINYX_SHA256_HEX];
    hash_of("# Linux/x86 6.1.192 Kernel Configuration\nCONFIG_A=y\nCONFIG_B=m\n"
            "# CONFIG_C is not set\n",
            a);
    hash_of("#\n# generated on another day\n# Linux/x86 6.1.192 Kernel Configuration\n\n"
            "CONFIG_B=m\r\n\nCONFIG_A=y\n# comment\n",
            b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 64);
    /* Any value change is another configuration. */
    hash_of("# Linux/x86 6.1.192 Kernel Configuration\nCONFIG_A=y\nCONFIG_B=y\n", c);
    assert_string_not_equal(a, c);
    hash_of("# Linux/x86 6.1.192 Kernel Configuration\nCONFIG_A=y\nCONFIG_B=m\nCONFIG_D=y\n", c);
    assert_string_not_equal(a, c);
}

static void test_hash_includes_kernel_version(void **state)
{
    (void)state;
    char a[TINYX_SHA256_HEX], b[TINYX_SHA256_HEX];
    hash_of("# Linux/x86 6.1.192 Kernel Configuration\nCONFIG_A=y\n", a);
    hash_of("# Linux/x86 6.1.200 Kernel Configuration\nCONFIG_A=y\n", b);
    assert_string_not_equal(a, b);
}

static void test_hash_missing_file(void **state)
{
    (void)state;
    char h[TINYX_SHA256_HEX];
    struct capture c;
    capture_start(&c);
    int rc = kconfig_hash("/nonexistent/.config", h);
    free(capture_stop(&c));
    assert_int_equal(rc, -1);
}

/* ---- kconfig_make / kconfig_apply through a stand-in kernel tree ---- */

/* The stand-in's olddefconfig resolves like Kconfig would for three symbols: C depends on A,
 * D is selected (always on); it records each call. */
static const char fake_makefile[] =
    "tinyconfig:\n"
    "\tprintf 'CONFIG_A=y\\n# CONFIG_B is not set\\nCONFIG_C=y\\nCONFIG_N=5\\n' > $(O)/.config\n"
    "olddefconfig:\n"
    "\techo olddefconfig >> $(O)/make.calls\n"
    "\tgrep -q '^CONFIG_A=y' $(O)/.config || sed -i '/^CONFIG_C=/d' $(O)/.config\n"
    "\tsed -i '/CONFIG_D[= ]/d' $(O)/.config\n"
    "\techo CONFIG_D=y >> $(O)/.config\n"
    "broken:\n"
    "\techo 'no such configuration target' >&2; exit 2\n";

/* The stand-in's scripts/config: records its arguments, then edits the file. */
static const char fake_config_script[] =
    "#!/bin/bash\n"
    "[ \"$1\" = --file ] || exit 9\n"
    "f=$2; shift 2\n"
    "printf '%s\\n' \"$@\" > \"$(dirname \"$f\")/config.args\"\n"
    "set_line() { sed -i \"/^CONFIG_$1=/d; /^# CONFIG_$1 is not set/d\" \"$f\"; "
    "echo \"$2\" >> \"$f\"; }\n"
    "while [ $# -gt 0 ]; do\n"
    "  case $1 in\n"
    "  --keep-case) shift ;;\n"
    "  --enable) set_line $2 \"CONFIG_$2=y\"; shift 2 ;;\n"
    "  --module) set_line $2 \"CONFIG_$2=m\"; shift 2 ;;\n"
    "  --disable) set_line $2 \"# CONFIG_$2 is not set\"; shift 2 ;;\n"
    "  --set-val) set_line $2 \"CONFIG_$2=$3\"; shift 3 ;;\n"
    "  --set-str) set_line $2 \"CONFIG_$2=\\\"$3\\\"\"; shift 3 ;;\n"
    "  *) exit 8 ;;\n"
    "  esac\n"
    "done\n";

static void make_fake_tree(void)
{
    fake_tree = tinyx_xasprintf("%s/fake-linux", base);
    char *scripts = tinyx_xasprintf("%s/scripts", fake_tree);
    assert_int_equal(tinyx_mkdir_p(scripts, 0755), 0);
    char *mk = tinyx_xasprintf("%s/Makefile", fake_tree);
    char *sc = tinyx_xasprintf("%s/config", scripts);
    assert_int_equal(tinyx_write_file_atomic(mk, fake_makefile, strlen(fake_makefile), 0644), 0);
    assert_int_equal(
        tinyx_write_file_atomic(sc, fake_config_script, strlen(fake_config_script), 0755), 0);
    free(mk);
    free(sc);
    free(scripts);
}

static int make_with(const char *objdir, const char *base_cfg, const char *const *settings,
                     struct strvec *unmet, char **err)
{
    struct strvec sv = STRVEC_INIT;
    for (size_t i = 0; settings && settings[i]; i++)
        tinyx_strvec_push(&sv, settings[i]);
    struct kconfig_spec spec = {.srcdir = fake_tree, .base = base_cfg, .settings = &sv};
    struct capture c;
    capture_start(&c);
    int rc = kconfig_make(&spec, objdir, unmet);
    char *text = capture_stop(&c);
    if (err)
        *err = text;
    else
        free(text);
    tinyx_strvec_free(&sv);
    return rc;
}

static void test_make_settings_hold(void **state)
{
    (void)state;
    char *obj = fresh_objdir("obj-hold");
    const char *settings[] = {"B=y", "N=0x10", "CONFIG_S=\"hello world\"", "E=m", "A=n",
                              "A=y", NULL};
    struct strvec unmet = STRVEC_INIT;
    assert_int_equal(make_with(obj, "tinyconfig", settings, &unmet, NULL), 0);
    assert_int_equal(unmet.n, 0);
    /* scripts/config got the settings in order, names kept exactly as written. */
    char *args = objfile(obj, "config.args");
    assert_non_null(args);
    assert_string_equal(args, "--keep-case\n--enable\nB\n--set-val\nN\n0x10\n--set-str\nS\n"
                              "hello world\n--module\nE\n--disable\nA\n--enable\nA\n");
    char *calls = objfile(obj, "make.calls");
    assert_string_equal(calls, "olddefconfig\n");
    char *cfg = tinyx_xasprintf("%s/.config", obj);
    struct strmap m = STRMAP_INIT;
    assert_int_equal(kconfig_read(cfg, &m), 0);
    assert_string_equal(tinyx_strmap_get(&m, "S"), "\"hello world\"");
    assert_string_equal(tinyx_strmap_get(&m, "C"), "y");
    tinyx_strmap_free(&m);
    free(cfg);
    free(calls);
    free(args);
    tinyx_strvec_free(&unmet);
    free(obj);
}

static void test_make_reports_unmet(void **state)
{
    (void)state;
    char *obj = fresh_objdir("obj-unmet");
    /* Without the dumper the reasons are generic; the names and values must be exact. */
    setenv("TINYX_KCONFIG_DUMP_C", "/nonexistent/kconfig_dump.c", 1);
    const char *settings[] = {"A=n", "C=y", "D=n", "N=7", NULL};
    struct strvec unmet = STRVEC_INIT;
    int rc = make_with(obj, "tinyconfig", settings, &unmet, NULL);
    unsetenv("TINYX_KCONFIG_DUMP_C");
    assert_int_equal(rc, 1);
    assert_int_equal(unmet.n, 2);
    assert_true(has_line_starting(&unmet, "C=y (got n): "));
    assert_true(has_line_starting(&unmet, "D=n (got y): "));
    tinyx_strvec_free(&unmet);
    free(obj);
}

static void test_make_from_config_file(void **state)
{
    (void)state;
    char *obj = fresh_objdir("obj-file");
    char *cfgfile = write_temp("base.config", "CONFIG_A=y\nCONFIG_Q=y\n");
    const char *settings[] = {"B=y", NULL};
    struct strvec unmet = STRVEC_INIT;
    assert_int_equal(make_with(obj, cfgfile, settings, &unmet, NULL), 0);
    char *cfg = tinyx_xasprintf("%s/.config", obj);
    struct strmap m = STRMAP_INIT;
    assert_int_equal(kconfig_read(cfg, &m), 0);
    assert_string_equal(tinyx_strmap_get(&m, "Q"), "y"); /* from the file, not tinyconfig */
    assert_string_equal(tinyx_strmap_get(&m, "B"), "y");
    assert_string_equal(tinyx_strmap_get(&m, "D"), "y"); /* resolved by olddefconfig */
    assert_false(tinyx_strmap_has(&m, "N"));
    tinyx_strmap_free(&m);
    /* A base path that does not exist is an error, not a make target. */
    char *err = NULL;
    assert_int_equal(make_with(obj, "/nonexistent/my.config", NULL, &unmet, &err), -1);
    assert_non_null(strstr(err, "/nonexistent/my.config"));
    free(err);
    free(cfg);
    free(cfgfile);
    tinyx_strvec_free(&unmet);
    free(obj);
}

static void test_make_rejects_bad_settings(void **state)
{
    (void)state;
    const char *bad[][2] = {
        {"NOVALUE", "no value"}, {"A=maybe", "must be y, n, m"}, {"A-B=y", "not an option name"},
        {"=y", "no name"},       {"S=\"a\"b\"", "quotes"},       {"N=0x", "must be y, n, m"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *obj = fresh_objdir("obj-bad");
        const char *settings[] = {"B=y", bad[i][0], NULL};
        struct strvec unmet = STRVEC_INIT;
        char *err = NULL;
        int rc = make_with(obj, "tinyconfig", settings, &unmet, &err);
        char *calls = objfile(obj, "make.calls");
        bool ok = rc == -1 && strstr(err, bad[i][1]) && !calls && !unmet.n;
        char msg[256];
        snprintf(msg, sizeof(msg), "setting '%s': rc %d, message '%.150s'", bad[i][0], rc, err);
        free(calls);
        free(err);
        tinyx_strvec_free(&unmet);
        free(obj);
        if (!ok)
            fail_msg("%s", msg);
    }
}

static void test_make_tool_failure(void **state)
{
    (void)state;
    char *obj = fresh_objdir("obj-broken");
    struct strvec unmet = STRVEC_INIT;
    char *err = NULL;
    assert_int_equal(make_with(obj, "broken", NULL, &unmet, &err), -1);
    assert_non_null(strstr(err, "make broken"));
    assert_non_null(strstr(err, "kconfig.log"));
    assert_non_null(strstr(err, "no such configuration target")); /* the log's tail */
    free(err);
    /* Not a kernel tree at all. */
    struct kconfig_spec spec = {.srcdir = base, .base = "tinyconfig"};
    struct capture c;
    capture_start(&c);
    int rc = kconfig_make(&spec, obj, &unmet);
    err = capture_stop(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "not a Linux source tree"));
    free(err);
    tinyx_strvec_free(&unmet);
    free(obj);
}

static void test_apply(void **state)
{
    (void)state;
    char *obj = fresh_objdir("obj-apply");
    struct strvec sv = STRVEC_INIT;
    tinyx_strvec_push(&sv, "A=n");
    struct capture c;
    capture_start(&c);
    int rc = kconfig_apply(fake_tree, obj, &sv); /* no .config yet */
    char *err = capture_stop(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, ".config does not exist"));
    free(err);
    assert_int_equal(make_with(obj, "tinyconfig", NULL, NULL, NULL), 0);
    assert_int_equal(kconfig_apply(fake_tree, obj, &sv), 0);
    char *cfg = tinyx_xasprintf("%s/.config", obj);
    struct strmap m = STRMAP_INIT;
    assert_int_equal(kconfig_read(cfg, &m), 0);
    assert_string_equal(tinyx_strmap_get(&m, "A"), "n");
    assert_false(tinyx_strmap_has(&m, "C")); /* resolved away: depends on A */
    tinyx_strmap_free(&m);
    /* No settings: just re-resolve. */
    struct strvec none = STRVEC_INIT;
    assert_int_equal(kconfig_apply(fake_tree, obj, &none), 0);
    char *calls = objfile(obj, "make.calls");
    assert_string_equal(calls, "olddefconfig\nolddefconfig\nolddefconfig\n");
    free(calls);
    free(cfg);
    tinyx_strvec_free(&sv);
    free(obj);
}

/* ---- kbuild_lookup: the cache of built kernels ---- */

static void test_kbuild_lookup(void **state)
{
    (void)state;
    char *cache = tinyx_xasprintf("%s/cache", base);
    char *cfg = write_temp("lookup.config", "# Linux/x86 6.1.192 Kernel Configuration\n"
                                            "CONFIG_A=y\n");
    char hex[TINYX_SHA256_HEX];
    assert_int_equal(kconfig_hash(cfg, hex), 0);
    struct kbuild_result r;
    assert_int_equal(kbuild_lookup(cache, cfg, &r), -1); /* nothing built */
    char *dir = tinyx_xasprintf("%s/kernel/built/%s", cache, hex);
    assert_int_equal(tinyx_mkdir_p(dir, 0755), 0);
    const char *files[][2] = {{"vmlinux", "ELF-ish 12345"}, {"bzImage", "bz"}, {"config", "c"}};
    for (size_t i = 0; i < 3; i++) {
        char *p = tinyx_xasprintf("%s/%s", dir, files[i][0]);
        assert_int_equal(tinyx_write_file_atomic(p, files[i][1], strlen(files[i][1]), 0644), 0);
        free(p);
    }
    assert_int_equal(kbuild_lookup(cache, cfg, &r), -1); /* incomplete: no build.json */
    char *bj = tinyx_xasprintf("%s/build.json", dir);
    assert_int_equal(tinyx_write_file_atomic(bj, "{}\n", 3, 0644), 0);
    assert_int_equal(kbuild_lookup(cache, cfg, &r), 0);
    assert_true(r.cached);
    assert_string_equal(r.hash, hex);
    assert_string_equal(r.dir, dir);
    assert_true(tinyx_str_ends(r.vmlinux, "/vmlinux"));
    assert_int_equal(r.vmlinux_bytes, strlen(files[0][1]));
    assert_int_equal(r.bzimage_bytes, 2);
    assert_true(r.seconds == 0);
    kbuild_result_free(&r);
    /* kbuild_build answers from the same cache without running make. */
    char *obj = fresh_objdir("obj-cached");
    char *objcfg = tinyx_xasprintf("%s/.config", obj);
    assert_int_equal(tinyx_copy_file(cfg, objcfg, 0644), 0);
    struct kbuild_opts o = {.srcdir = "/nonexistent", .objdir = obj, .cache_dir = cache};
    assert_int_equal(kbuild_build(&o, &r), 0);
    assert_true(r.cached);
    assert_string_equal(r.hash, hex);
    kbuild_result_free(&r);
    /* No .config to build. */
    unlink(objcfg);
    struct capture c;
    capture_start(&c);
    int rc = kbuild_build(&o, &r);
    char *err = capture_stop(&c);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, ".config does not exist"));
    free(err);
    free(objcfg);
    free(obj);
    free(bj);
    free(dir);
    free(cfg);
    free(cache);
}

/* ---- the real kernel tools (skipped without an unpacked tree) ---- */

#define SKIP_IF_NO_TREE()                                                                          \
    do {                                                                                           \
        if (!real_tree) {                                                                          \
            printf("SKIP: %s\n", no_real);                                                         \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static char *find_real_tree(void)
{
    const char *e = getenv("TINYX_TEST_KERNEL_SRC");
    if (e && *e)
        return tinyx_xstrdup(e);
    struct strvec roots = STRVEC_INIT;
    const char *tc = getenv("TINYX_CACHE");
    if (tc && *tc)
        tinyx_strvec_push(&roots, tc);
    tinyx_strvec_push_owned(&roots, tinyx_cache_default_dir());
    tinyx_strvec_push(&roots, ".cache/tinyx-e2e"); /* the e2e tests' cache (repo root) */
    char *found = NULL;
    for (size_t i = 0; i < roots.n && !found; i++) {
        char *pattern = tinyx_xasprintf("%s/kernel/src/*/*/scripts/config", roots.v[i]);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
            found = tinyx_xstrdup(g.gl_pathv[0]);
            *strstr(found, "/scripts/config") = '\0';
        }
        globfree(&g);
        free(pattern);
    }
    tinyx_strvec_free(&roots);
    return found;
}

static void test_real_make_apply_and_dump(void **state)
{
    (void)state;
    SKIP_IF_NO_TREE();
    char *obj = fresh_objdir("obj-real");
    struct strvec sv = STRVEC_INIT, unmet = STRVEC_INIT;
    const char *settings[] = {"PRINTK=y", "TTY=y", "PCI_MSI=y", "PRINTK_TIMe=y", NULL};
    for (size_t i = 0; settings[i]; i++)
        tinyx_strvec_push(&sv, settings[i]);
    struct kconfig_spec spec = {.srcdir = real_tree, .base = "tinyconfig", .settings = &sv};
    assert_int_equal(kconfig_make(&spec, obj, &unmet), 1);
    for (size_t i = 0; i < unmet.n; i++)
        printf("  unmet: %s\n", unmet.v[i]);
    assert_int_equal(unmet.n, 2);
    assert_true(has_line_starting(&unmet, "PCI_MSI=y (got n): "));
    assert_true(has_line_starting(&unmet, "PRINTK_TIMe=y (got n): "));
    char *cfg = tinyx_xasprintf("%s/.config", obj);
    struct strmap m = STRMAP_INIT;
    assert_int_equal(kconfig_read(cfg, &m), 0);
    assert_string_equal(tinyx_strmap_get(&m, "PRINTK"), "y");
    assert_string_equal(tinyx_strmap_get(&m, "TTY"), "y");
    assert_string_equal(tinyx_strmap_get(&m, "PRINTK_TIME"), "n"); /* the typo set nothing */
    tinyx_strmap_free(&m);

    /* apply: PRINTK off; olddefconfig keeps TTY. */
    struct strvec off = STRVEC_INIT;
    tinyx_strvec_push(&off, "PRINTK=n");
    assert_int_equal(kconfig_apply(real_tree, obj, &off), 0);
    assert_int_equal(kconfig_read(cfg, &m), 0);
    assert_string_equal(tinyx_strmap_get(&m, "PRINTK"), "n");
    assert_string_equal(tinyx_strmap_get(&m, "TTY"), "y");

    /* The dump computes what conf computed: every bool/tristate it lists has the .config
     * value, and every y/m of the .config is listed. */
    struct kconfig_syms s;
    assert_int_equal(kconfig_syms_load(real_tree, obj, &s), 0);
    size_t bad = 0, on = 0;
    for (size_t i = 0; i < s.n; i++) {
        const struct kconfig_sym *y = &s.v[i];
        if (y->type != 'b' && y->type != 't')
            continue;
        const char *want = tinyx_strmap_get(&m, y->name);
        if (strcmp(want ? want : "n", y->value) != 0 && bad++ < 5)
            printf("  mismatch: %s dump=%s config=%s\n", y->name, y->value, want ? want : "-");
    }
    for (size_t i = 0; i < m.cap; i++) {
        const struct strmap_slot *sl = &m.slots[i];
        if (sl->key && sl->value && (!strcmp(sl->value, "y") || !strcmp(sl->value, "m"))) {
            on++;
            if (kconfig_syms_find(&s, sl->key) < 0 && bad++ < 10)
                printf("  not listed: %s=%s\n", sl->key, sl->value);
        }
    }
    assert_int_equal(bad, 0);
    assert_true(on > 50);
    int tty = kconfig_syms_find(&s, "TTY"), vt = kconfig_syms_find(&s, "VT");
    assert_true(tty >= 0 && vt >= 0);
    assert_true(s.v[tty].has_prompt && s.v[tty].can_be_n);
    assert_int_equal(s.v[vt].parent, tty); /* VT sits in TTY's "if TTY" block */
    assert_int_equal(s.v[tty].type, 'b');
    int lvl = kconfig_syms_find(&s, "CONSOLE_LOGLEVEL_DEFAULT");
    assert_true(lvl >= 0);
    assert_int_equal(s.v[lvl].type, 'i');
    assert_int_equal(kconfig_syms_find(&s, "NO_SUCH_SYMBOL"), -1);
    kconfig_syms_free(&s);
    tinyx_strmap_free(&m);
    free(cfg);
    tinyx_strvec_free(&off);
    tinyx_strvec_free(&sv);
    tinyx_strvec_free(&unmet);
    free(obj);
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(base, "/tmp/tinyx-ut-kconfig-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    make_fake_tree();
    real_tree = find_real_tree();
    if (!real_tree)
        no_real = "no unpacked linux-source tree (set TINYX_TEST_KERNEL_SRC, or run "
                  "tests/e2e/test_10_kernel_build.sh once): real kconfig tests skipped";
    else if (!tinyx_have_program("make") || !tinyx_have_program("gcc") ||
             !tinyx_have_program("flex") || !tinyx_have_program("bison")) {
        no_real = "make, gcc, flex or bison missing (`make deps`): real kconfig tests skipped";
        free(real_tree);
        real_tree = NULL;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tinyx_rm_rf(base);
    free(fake_tree);
    free(real_tree);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_values),
        cmocka_unit_test(test_read_missing_file),
        cmocka_unit_test(test_hash_ignores_order_and_comments),
        cmocka_unit_test(test_hash_includes_kernel_version),
        cmocka_unit_test(test_hash_missing_file),
        cmocka_unit_test(test_make_settings_hold),
        cmocka_unit_test(test_make_reports_unmet),
        cmocka_unit_test(test_make_from_config_file),
        cmocka_unit_test(test_make_rejects_bad_settings),
        cmocka_unit_test(test_make_tool_failure),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_kbuild_lookup),
        cmocka_unit_test(test_real_make_apply_and_dump),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
