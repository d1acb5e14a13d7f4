/* kbuild.c: build vmlinux + bzImage from OBJDIR/.config with ccache and reproducible build
 * stamps, and publish the kernel under CACHE/kernel/built/HASH (HASH = kconfig_hash). */
#include "kconfig-minimizer/kbuild.h"

#include <fcntl.h>
#include <gelf.h>
#include <jansson.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kconfig-minimizer/kconfig.h"
#include "tinyx/cache.h"
#include "tinyx/proc.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"
#include "tinyx/version.h"

/* Xen's ELF note that makes a vmlinux bootable by PVH loaders (QEMU -kernel, Firecracker, the
 * launcher): name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Fixed build stamps: the same config and source give the same kernel bytes. */
#define BUILD_TIMESTAMP "Thu Jan  1 00:00:00 UTC 1970"
#define BUILD_USER      "tinyx"
#define BUILD_HOST      "tinyx"

static char *built_dir(const char *cache_dir, const char *hash)
{
    return tinyx_xasprintf("%s/kernel/built/%s", cache_dir, hash);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void fill_result(struct kbuild_result *out, const char *dir, const char *hash)
{
    memcpy(out->hash, hash, TINYX_SHA256_HEX);
    out->dir = tinyx_xstrdup(dir);
    out->vmlinux = tinyx_xasprintf("%s/vmlinux", dir);
    out->bzimage = tinyx_xasprintf("%s/bzImage", dir);
    out->config = tinyx_xasprintf("%s/config", dir);
    out->vmlinux_bytes = file_size(out->vmlinux);
    out->bzimage_bytes = file_size(out->bzimage);
}

/* A published entry is complete by construction (atomic rename); check its files anyway. */
static bool entry_complete(const char *dir)
{
    static const char *const files[] = {"vmlinux", "bzImage", "config", "build.json", NULL};
    bool ok = tinyx_is_dir(dir);
    for (size_t i = 0; ok && files[i]; i++) {
        char *p = tinyx_xasprintf("%s/%s", dir, files[i]);
        ok = tinyx_exists(p);
        free(p);
    }
    return ok;
}

int kbuild_lookup(const char *cache_dir, const char *config_path, struct kbuild_result *out)
{
    memset(out, 0, sizeof(*out));
    char hash[TINYX_SHA256_HEX];
    if (!tinyx_exists(config_path) || kconfig_hash(config_path, hash) < 0)
        return -1;
    char *dir = built_dir(cache_dir, hash);
    int rc = -1;
    if (entry_complete(dir)) {
        fill_result(out, dir, hash);
        out->cached = true;
        rc = 0;
    }
    free(dir);
    return rc;
}

void kbuild_result_free(struct kbuild_result *r)
{
    free(r->dir);
    free(r->vmlinux);
    free(r->bzimage);
    free(r->config);
    memset(r, 0, sizeof(*r));
}

static char *find_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = tinyx_xstrdup(path), *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = tinyx_xasprintf("%s/%s", *d ? d : ".", name);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

/* ccache in masquerade mode: OBJDIR/.tinyx/ccache-bin/gcc -> ccache, first in PATH. $(CC)
 * stays "gcc", so the build sees the same compiler string as `make olddefconfig` did (no
 * configuration re-sync) and host tools are cached too. NULL when ccache is missing. */
static char *ccache_bin_dir(const char *objdir)
{
    char *ccache = find_program("ccache");
    if (!ccache) {
        tinyx_warn("ccache not found: kernels build without a compiler cache (slower "
                   "rebuilds; `make deps` installs it)");
        return NULL;
    }
    char *dir = tinyx_xasprintf("%s/.tinyx/ccache-bin", objdir);
    char *link = tinyx_xasprintf("%s/gcc", dir);
    char have[PATH_MAX];
    ssize_t n = readlink(link, have, sizeof(have) - 1);
    bool ok = n > 0 && (size_t)n == strlen(ccache) && !memcmp(have, ccache, (size_t)n);
    if (!ok) {
        unlink(link);
        if (tinyx_mkdir_p(dir, 0755) < 0 || symlink(ccache, link) < 0) {
            tinyx_errno("cannot create %s: building without ccache", link);
            free(dir);
            dir = NULL;
        }
    }
    free(link);
    free(ccache);
    return dir;
}

/* CCACHE_BASEDIR: the deepest folder holding both trees, so compiler arguments become paths
 * relative to OBJDIR, equal for every OBJDIR at the same place relative to the source. */
static char *common_base(const char *srcdir, const char *objdir)
{
    char *a = realpath(srcdir, NULL), *b = realpath(objdir, NULL);
    char *base = NULL;
    if (a && b) {
        size_t i = 0, last = 0;
        while (a[i] && a[i] == b[i]) {
            if (a[i] == '/')
                last = i;
            i++;
        }
        if ((!a[i] || a[i] == '/') && (!b[i] || b[i] == '/'))
            last = i;
        if (last > 0)
            base = tinyx_xstrndup(a, last);
    }
    free(a);
    free(b);
    return base;
}

/* The environment of the kernel's make: the host's minus an outer make's flags and kconfig's
 * inputs, plus ccache and the reproducible build stamps. */
static void build_env(const char *srcdir, const char *objdir, const char *cache_dir,
                      struct strvec *env, bool *with_ccache)
{
    static const char *const drop[] = {"MAKEFLAGS=",    "MFLAGS=",  "MAKELEVEL=", "MAKEOVERRIDES=",
                                       "GNUMAKEFLAGS=", "CONFIG_=", "KCONFIG_",   "KBUILD_BUILD_",
                                       "CCACHE_",       "PATH=",    NULL};
    tinyx_env_without(drop, env);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *bin = ccache_bin_dir(objdir);
    *with_ccache = bin != NULL;
    if (bin) {
        tinyx_strvec_pushf(env, "PATH=%s:%s", bin, path);
        tinyx_strvec_pushf(env, "CCACHE_DIR=%s/kernel/ccache", cache_dir);
        tinyx_strvec_push(env, "CCACHE_NOHASHDIR=1");
        char *base = common_base(srcdir, objdir);
        if (base)
            tinyx_strvec_pushf(env, "CCACHE_BASEDIR=%s", base);
        free(base);
        free(bin);
    } else {
        tinyx_strvec_pushf(env, "PATH=%s", path);
    }
    tinyx_strvec_push(env, "KBUILD_BUILD_TIMESTAMP=" BUILD_TIMESTAMP);
    tinyx_strvec_push(env, "KBUILD_BUILD_USER=" BUILD_USER);
    tinyx_strvec_push(env, "KBUILD_BUILD_HOST=" BUILD_HOST);
    tinyx_strvec_push(env, "KBUILD_BUILD_VERSION=1");
}

/* Print the compiler errors of a failed build, else its last lines. */
static void show_failure(const char *log)
{
    char *text = tinyx_read_file(log, NULL);
    if (!text)
        return;
    struct strvec errors = STRVEC_INIT;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strstr(l, "error:") || strstr(l, "Error ") || strstr(l, "undefined reference"))
            tinyx_strvec_push(&errors, l);
    free(text);
    if (errors.n) {
        fprintf(stderr, "---- errors in %s ----\n", log);
        for (size_t i = errors.n > 20 ? errors.n - 20 : 0; i < errors.n; i++)
            fprintf(stderr, "%s\n", errors.v[i]);
    } else if ((text = tinyx_read_file(log, NULL))) {
        size_t len = strlen(text), lines = 0;
        const char *start = text + len;
        while (start > text && lines < 20)
            if (*--start == '\n' && start + 1 < text + len)
                lines++;
        fprintf(stderr, "---- last lines of %s ----\n%s%s", log, start,
                len && text[len - 1] != '\n' ? "\n" : "");
        free(text);
    }
    tinyx_strvec_free(&errors);
}

/* True if the ELF file carries the PVH entry note (libelf; sections, or segments if none). */
static bool has_pvh_note(const char *path)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    bool found = false;
    size_t nphdr = 0;
    if (e && elf_kind(e) == ELF_K_ELF && elf_getphdrnum(e, &nphdr) == 0) {
        for (size_t i = 0; i < nphdr && !found; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
                continue;
            Elf_Data *d = elf_getdata_rawchunk(e, (off_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
            GElf_Nhdr nh;
            size_t off = 0, name_off, desc_off;
            while (d && !found && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
                found = nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
                        !memcmp((char *)d->d_buf + name_off, "Xen", 4);
        }
    }
    if (e)
        elf_end(e);
    close(fd);
    return found;
}

static char *config_value(const char *config, const char *name)
{
    struct strmap m = STRMAP_INIT;
    char *v = NULL;
    if (kconfig_read(config, &m) == 0 && tinyx_strmap_get(&m, name))
        v = tinyx_xstrdup(tinyx_strmap_get(&m, name));
    tinyx_strmap_free(&m);
    return v;
}

static int write_build_json(const char *tmp, const char *hash, const char *srcdir,
                            const char *objdir, double seconds, unsigned jobs, bool ccache,
                            bool pvh, uint64_t unstripped)
{
    char *config = tinyx_xasprintf("%s/config", tmp);
    char *cc = config_value(config, "CC_VERSION_TEXT");
    char *relpath = tinyx_xasprintf("%s/include/config/kernel.release", objdir);
    char *release = tinyx_read_file(relpath, NULL);
    if (release)
        release[strcspn(release, "\n")] = '\0';
    if (cc && cc[0] == '"') {
        memmove(cc, cc + 1, strlen(cc));
        if (*cc && cc[strlen(cc) - 1] == '"')
            cc[strlen(cc) - 1] = '\0';
    }
    char *vm = tinyx_xasprintf("%s/vmlinux", tmp);
    char *bz = tinyx_xasprintf("%s/bzImage", tmp);
    json_t *j = json_object();
    json_object_set_new(j, "config_sha256", json_string(hash));
    json_object_set_new(j, "kernel_release", json_string(release ? release : ""));
    json_object_set_new(j, "compiler", json_string(cc ? cc : ""));
    json_object_set_new(j, "source", json_string(srcdir));
    json_object_set_new(j, "vmlinux_bytes", json_integer((json_int_t)file_size(vm)));
    json_object_set_new(j, "vmlinux_unstripped_bytes", json_integer((json_int_t)unstripped));
    json_object_set_new(j, "bzimage_bytes", json_integer((json_int_t)file_size(bz)));
    json_object_set_new(j, "pvh", json_boolean(pvh));
    json_object_set_new(j, "build_seconds", json_real((double)(long)(seconds * 10) / 10));
    json_object_set_new(j, "jobs", json_integer(jobs));
    json_object_set_new(j, "ccache", json_boolean(ccache));
    json_object_set_new(j, "build_timestamp", json_string(BUILD_TIMESTAMP));
    json_object_set_new(j, "tinyx", json_string(TINYX_VERSION));
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
    json_decref(j);
    char *path = tinyx_xasprintf("%s/build.json", tmp);
    char *with_nl = tinyx_xasprintf("%s\n", text ? text : "{}");
    int rc = tinyx_write_file_atomic(path, with_nl, strlen(with_nl), 0644);
    free(with_nl);
    free(text);
    free(path);
    free(vm);
    free(bz);
    free(release);
    free(relpath);
    free(cc);
    free(config);
    return rc;
}

/* Stripped vmlinux, bzImage, config and build.json into a temp folder, then publish. */
static int publish(const struct kbuild_opts *o, const char *hash, double seconds, unsigned jobs,
                   bool ccache, struct kbuild_result *out)
{
    char *final = built_dir(o->cache_dir, hash);
    char *parent = tinyx_xasprintf("%s/kernel/built", o->cache_dir);
    char *vm_src = tinyx_xasprintf("%s/vmlinux", o->objdir);
    char *bz_src = tinyx_xasprintf("%s/arch/x86/boot/bzImage", o->objdir);
    char *cfg_src = tinyx_xasprintf("%s/.config", o->objdir);
    char *tmp = NULL, *vm = NULL, *bz = NULL, *cfg = NULL;
    int rc = -1;
    if (tinyx_mkdir_p(parent, 0755) < 0 || !(tmp = tinyx_cache_tmpdir_for(final)))
        goto out;
    vm = tinyx_xasprintf("%s/vmlinux", tmp);
    bz = tinyx_xasprintf("%s/bzImage", tmp);
    cfg = tinyx_xasprintf("%s/config", tmp);
    /* --strip-all drops symbols and debug info; allocated sections (the .notes PVH needs)
     * stay. */
    char *strip[] = {"strip", "--strip-all", "-o", vm, vm_src, NULL};
    char *log = o->log ? tinyx_xstrdup(o->log) : tinyx_xasprintf("%s/build.log", o->objdir);
    struct tinyx_cmd c = {.argv = strip, .log_path = log, .timeout_ms = 120u * 1000u};
    int st = tinyx_cmd_run(&c);
    free(log);
    if (st != 0) {
        tinyx_err("strip of %s failed (exit %d): is binutils installed?", vm_src, st);
        goto out;
    }
    bool pvh = has_pvh_note(vm);
    if (!pvh && has_pvh_note(vm_src)) {
        tinyx_err("stripping %s lost its PVH note (Xen PHYS32_ENTRY)", vm_src);
        goto out;
    }
    if (!pvh)
        tinyx_warn("the kernel has no PVH entry note (CONFIG_PVH is off): its vmlinux cannot be "
                   "booted directly; use bzImage");
    if (tinyx_copy_file(bz_src, bz, 0644) < 0 || tinyx_copy_file(cfg_src, cfg, 0644) < 0 ||
        write_build_json(tmp, hash, o->srcdir, o->objdir, seconds, jobs, ccache, pvh,
                         file_size(vm_src)) < 0 ||
        tinyx_cache_publish_dir(tmp, final) < 0)
        goto out;
    fill_result(out, final, hash);
    out->seconds = seconds;
    rc = 0;
out:
    if (rc < 0 && tmp) {
        tinyx_rm_rf(tmp);
        tinyx_cleanup_remove(tmp);
    }
    free(tmp);
    free(vm);
    free(bz);
    free(cfg);
    free(final);
    free(parent);
    free(vm_src);
    free(bz_src);
    free(cfg_src);
    return rc;
}

int kbuild_build(const struct kbuild_opts *o, struct kbuild_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!o || !o->srcdir || !o->objdir || !o->cache_dir)
        return tinyx_err("kbuild_build: srcdir, objdir and cache_dir are required");
    char *config = tinyx_xasprintf("%s/.config", o->objdir);
    if (!tinyx_exists(config)) {
        free(config);
        return tinyx_err("%s/.config does not exist: make a configuration first", o->objdir);
    }
    if (kbuild_lookup(o->cache_dir, config, out) == 0) {
        tinyx_debug("kernel: %.12s already built (%s)", out->hash, out->dir);
        free(config);
        return 0;
    }
    char hash[TINYX_SHA256_HEX];
    if (kconfig_hash(config, hash) < 0) {
        free(config);
        return -1;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned jobs = o->jobs ? o->jobs : (unsigned)(ncpu > 0 ? ncpu : 1);
    char *log = o->log ? tinyx_xstrdup(o->log) : tinyx_xasprintf("%s/build.log", o->objdir);
    struct strvec env = STRVEC_INIT;
    bool ccache = false;
    build_env(o->srcdir, o->objdir, o->cache_dir, &env, &ccache);
    char *odir = tinyx_xasprintf("O=%s", o->objdir);
    char *jarg = tinyx_xasprintf("-j%u", jobs);
    char *argv[] = {"make", "-C", (char *)o->srcdir, odir, jarg, "vmlinux", "bzImage", NULL};
    unsigned timeout_ms = o->timeout_s > UINT_MAX / 1000 ? UINT_MAX : o->timeout_s * 1000;
    struct tinyx_cmd c = {
        .argv = argv, .envp = tinyx_strvec_argv(&env), .log_path = log, .timeout_ms = timeout_ms};
    tinyx_debug("kernel: make -j%u vmlinux bzImage in %s (log %s)", jobs, o->objdir, log);
    uint64_t t0 = tinyx_now_us();
    int st = tinyx_cmd_run(&c);
    double seconds = (double)(tinyx_now_us() - t0) / 1e6;
    int rc = 0;
    if (st == TINYX_CMD_INTERRUPTED) {
        rc = -1;
    } else if (st == TINYX_CMD_TIMED_OUT) {
        rc = tinyx_err("the kernel build in %s timed out after %u s: see %s", o->objdir,
                       o->timeout_s, log);
    } else if (st != 0) {
        rc = tinyx_err("the kernel build in %s failed (exit %d): see %s", o->objdir, st, log);
        show_failure(log);
    }
    if (rc == 0) {
        /* make re-syncs a .config that was not resolved: publish under what was built. */
        char now[TINYX_SHA256_HEX];
        if (kconfig_hash(config, now) < 0)
            rc = -1;
        else if (strcmp(now, hash) != 0) {
            tinyx_warn("make changed %s while building (it was not resolved with "
                       "olddefconfig): the kernel is cached under the resolved config",
                       config);
            memcpy(hash, now, sizeof(hash));
        }
    }
    if (rc == 0)
        rc = publish(o, hash, seconds, jobs, ccache, out);
    if (rc == 0)
        tinyx_debug("kernel: built %.12s in %.1f s: vmlinux %llu bytes, bzImage %llu bytes", hash,
                    seconds, (unsigned long long)out->vmlinux_bytes,
                    (unsigned long long)out->bzimage_bytes);
    tinyx_strvec_free(&env);
    free(odir);
    free(jarg);
    free(log);
    free(config);
    return rc;
}
