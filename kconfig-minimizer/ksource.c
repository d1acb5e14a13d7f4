/* ksource.c: Debian's linux-source package -> its tarball unpacked once into the cache
 * (CACHE/kernel/src/PKG_VERSION/), atomically and under a lock. */
#include "kconfig-minimizer/ksource.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tinyx/cache.h"
#include "tinyx/deb.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

#define DEFAULT_SOURCE_PACKAGE "linux-source-6.1"

/* A version as a path component: make cannot handle ':' (epochs) in O= or -C paths. */
static char *path_safe(const char *version)
{
    char *s = tinyx_xstrdup(version);
    for (char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".+~-", *p))
            *p = '_';
    return s;
}

static bool want_tarball(const char *path, void *ud)
{
    return !strcmp(path, (const char *)ud);
}

static const char *errstr(struct archive *a)
{
    const char *s = archive_error_string(a);
    return s ? s : "unexpected end of data";
}

/* Stream-extract TARBALL into DEST (libarchive, no path escapes). *bytes gets the size. */
static int unpack_tarball(const char *tarball, const char *dest, uint64_t *bytes, size_t *files)
{
    struct archive *in = archive_read_new();
    archive_read_support_filter_all(in);
    archive_read_support_format_tar(in);
    struct archive *out = archive_write_disk_new();
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    int rc = 0;
    *bytes = 0;
    *files = 0;
    if (archive_read_open_filename(in, tarball, 1 << 20) != ARCHIVE_OK) {
        rc = tinyx_err("cannot open %s: %s", tarball, errstr(in));
        goto done;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
        if (tinyx_interrupted()) {
            rc = -1;
            goto done;
        }
        /* Entries land under DEST (an absolute path, so libarchive's NOABSOLUTEPATHS check
         * cannot be used): refuse absolute names here; NODOTDOT refuses "..". */
        const char *raw = archive_entry_pathname(e), *rawhl = archive_entry_hardlink(e);
        if (!raw || raw[0] == '/' || (rawhl && rawhl[0] == '/')) {
            rc = tinyx_err("%s has an entry with an absolute path (%s): refusing it", tarball,
                           raw ? raw : "?");
            goto done;
        }
        char *name = tinyx_xstrdup(raw);
        char *target = tinyx_xasprintf("%s/%s", dest, name);
        archive_entry_set_pathname(e, target);
        const char *hl = archive_entry_hardlink(e);
        char *hltarget = hl ? tinyx_xasprintf("%s/%s", dest, hl) : NULL;
        if (hltarget)
            archive_entry_set_hardlink(e, hltarget);
        int w = archive_write_header(out, e);
        if (w == ARCHIVE_OK && archive_entry_size(e) > 0) {
            const void *buf;
            size_t size;
            la_int64_t off;
            int d;
            while ((d = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK) {
                if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK) {
                    w = ARCHIVE_FATAL;
                    break;
                }
                *bytes += size;
            }
            if (d < ARCHIVE_WARN) {
                rc = tinyx_err("broken %s at %s: %s", tarball, name, errstr(in));
                w = ARCHIVE_FATAL;
            }
        }
        if (rc == 0 && (w < ARCHIVE_WARN || archive_write_finish_entry(out) < ARCHIVE_WARN))
            rc = tinyx_err("cannot unpack %s from %s: %s", name, tarball, errstr(out));
        free(name);
        free(target);
        free(hltarget);
        if (rc < 0)
            goto done;
        (*files)++;
    }
    if (r != ARCHIVE_EOF)
        rc = tinyx_err("broken %s: %s", tarball, errstr(in));
done:
    archive_write_free(out);
    archive_read_free(in);
    return rc;
}

/* The tree inside FINAL: FINAL/PKG (the tarball's top folder), else its one folder with a
 * Makefile. */
static char *tree_in(const char *final, const char *pkg)
{
    char *dir = tinyx_xasprintf("%s/%s", final, pkg);
    char *mk = tinyx_xasprintf("%s/Makefile", dir);
    bool ok = tinyx_exists(mk);
    free(mk);
    if (ok)
        return dir;
    free(dir);
    dir = NULL;
    DIR *d = opendir(final);
    if (!d)
        return NULL;
    struct dirent *e;
    while ((e = readdir(d)) && !dir) {
        if (e->d_name[0] == '.')
            continue;
        char *cand = tinyx_xasprintf("%s/%s", final, e->d_name);
        char *cmk = tinyx_xasprintf("%s/Makefile", cand);
        if (tinyx_exists(cmk))
            dir = cand;
        else
            free(cand);
        free(cmk);
    }
    closedir(d);
    return dir;
}

/* Fetch the .deb, take its tarball out, unpack it into a temp folder and publish it. */
static int unpack_source(struct tinyx_apt *apt, const struct tinyx_pkg *pkg, const char *final)
{
    char *deb = NULL;
    tinyx_info("kernel: fetching %s %s (the .deb cache first)", pkg->name, pkg->version);
    if (tinyx_apt_fetch_one(apt, pkg, &deb) < 0)
        return -1;
    char *member = tinyx_xasprintf("usr/src/%s.tar.xz", pkg->name);
    char *holder = tinyx_xasprintf("%s.tarball", final);
    char *tardir = tinyx_cache_tmpdir_for(holder);
    char *tmp = NULL;
    int rc = -1;
    if (!tardir)
        goto out;
    int n = tinyx_deb_extract(deb, tardir, want_tarball, member);
    if (n == 0)
        tinyx_err("%s has no %s: is %s a linux-source package? ($TINYX_KERNEL_SOURCE)", deb, member,
                  pkg->name);
    if (n <= 0)
        goto out;
    char *tarball = tinyx_xasprintf("%s/%s", tardir, member);
    char size[32];
    struct stat st;
    /* Kernel sources unpack to about 9.5 times their .tar.xz (6.1: 132 MiB -> 1.2 GiB). */
    uint64_t packed = stat(tarball, &st) == 0 ? (uint64_t)st.st_size : 0;
    tinyx_info("kernel: unpacking %s %s (about %s, once)", pkg->name, pkg->version,
               tinyx_human_size(packed * 19 / 2, size, sizeof(size)));
    uint64_t t0 = tinyx_now_us(), bytes = 0;
    size_t files = 0;
    if ((tmp = tinyx_cache_tmpdir_for(final)) &&
        unpack_tarball(tarball, tmp, &bytes, &files) == 0 &&
        tinyx_cache_publish_dir(tmp, final) == 0) {
        tinyx_info("kernel: unpacked %s (%zu files) in %.1f s",
                   tinyx_human_size(bytes, size, sizeof(size)), files,
                   (double)(tinyx_now_us() - t0) / 1e6);
        rc = 0;
    }
    free(tarball);
out:
    if (rc < 0 && tmp) {
        tinyx_rm_rf(tmp);
        tinyx_cleanup_remove(tmp);
    }
    if (tardir) {
        tinyx_rm_rf(tardir);
        tinyx_cleanup_remove(tardir);
    }
    free(tmp);
    free(tardir);
    free(holder);
    free(member);
    free(deb);
    return rc;
}

int kconfig_source_get(struct tinyx_apt *apt, const char *cache_dir, struct kconfig_source *out)
{
    memset(out, 0, sizeof(*out));
    const char *name = getenv("TINYX_KERNEL_SOURCE");
    if (!name || !*name)
        name = DEFAULT_SOURCE_PACKAGE;
    struct tinyx_pkglist closure;
    char *names[] = {(char *)name};
    if (tinyx_apt_closure(apt, names, 1, &closure) < 0)
        return -1;
    const struct tinyx_pkg *pkg = tinyx_pkglist_find(&closure, name);
    if (!pkg) {
        tinyx_pkglist_free(&closure);
        return tinyx_err("apt resolved %s to nothing installable (no candidate version)", name);
    }
    out->package = tinyx_xstrdup(pkg->name);
    out->version = tinyx_xstrdup(pkg->version);
    char *root = tinyx_xasprintf("%s/kernel/src", cache_dir);
    char *ver = path_safe(pkg->version);
    char *final = tinyx_xasprintf("%s/%s_%s", root, pkg->name, ver);
    char *lockpath = tinyx_xasprintf("%s.lock", final);
    int rc = 0, lock = -1;
    if (!tinyx_is_dir(final)) {
        /* One unpacker at a time: a second build waits, then finds the tree published. */
        if (tinyx_mkdir_p(root, 0755) < 0 || (lock = tinyx_cache_lock(lockpath)) < 0)
            rc = -1;
        else if (!tinyx_is_dir(final))
            rc = unpack_source(apt, pkg, final);
        tinyx_cache_unlock(lock);
    }
    if (rc == 0) {
        out->dir = tree_in(final, pkg->name);
        if (!out->dir)
            rc = tinyx_err("%s holds no Linux source tree: remove it and retry", final);
    }
    free(lockpath);
    free(final);
    free(ver);
    free(root);
    tinyx_pkglist_free(&closure);
    if (rc < 0)
        kconfig_source_free(out);
    return rc;
}

void kconfig_source_free(struct kconfig_source *s)
{
    free(s->dir);
    free(s->package);
    free(s->version);
    memset(s, 0, sizeof(*s));
}
