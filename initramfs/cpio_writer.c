/* cpio_writer.c: reproducible compressed newc cpio from a folder tree, via libarchive. */
#include "initramfs/cpio_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tinyx/strvec.h"
#include "tinyx/util.h"

int initramfs_cpio_compression_ok(const char *name)
{
    return !strcmp(name, "zstd") || !strcmp(name, "xz") || !strcmp(name, "gzip") ||
           !strcmp(name, "none");
}

static int collect(const char *tree, const char *rel, struct strvec *out)
{
    char *dir = rel[0] ? tinyx_xasprintf("%s/%s", tree, rel) : tinyx_xstrdup(tree);
    DIR *d = opendir(dir);
    if (!d) {
        tinyx_errno("cannot read %s", dir);
        free(dir);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && rc == 0) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = rel[0] ? tinyx_xasprintf("%s/%s", rel, e->d_name) : tinyx_xstrdup(e->d_name);
        tinyx_strvec_push(out, p);
        char *full = tinyx_xasprintf("%s/%s", tree, p);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode))
            rc = collect(tree, p, out);
        free(full);
        free(p);
    }
    closedir(d);
    free(dir);
    return rc;
}

static int set_filter(struct archive *a, const struct initramfs_cpio_opts *o)
{
    char opt[64];
    const char *c = o->compression;
    if (!strcmp(c, "none"))
        return 0;
    if (!strcmp(c, "zstd")) {
        if (archive_write_add_filter_zstd(a) != ARCHIVE_OK)
            return -1;
        snprintf(opt, sizeof(opt), "%d", o->level ? o->level : 19);
        return archive_write_set_filter_option(a, "zstd", "compression-level", opt) == ARCHIVE_OK
                   ? 0
                   : -1;
    }
    if (!strcmp(c, "xz")) {
        if (archive_write_add_filter_xz(a) != ARCHIVE_OK)
            return -1;
        snprintf(opt, sizeof(opt), "%d", o->level ? o->level : 9);
        return archive_write_set_filter_option(a, "xz", "compression-level", opt) == ARCHIVE_OK
                   ? 0
                   : -1;
    }
    if (!strcmp(c, "gzip")) {
        if (archive_write_add_filter_gzip(a) != ARCHIVE_OK)
            return -1;
        snprintf(opt, sizeof(opt), "%d", o->level ? o->level : 9);
        /* No name or time in the gzip header: same input, same bytes. */
        if (archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK)
            return -1;
        return archive_write_set_filter_option(a, "gzip", "compression-level", opt) == ARCHIVE_OK
                   ? 0
                   : -1;
    }
    errno = EINVAL;
    return -1;
}

static int write_entry(struct archive *a, struct archive_entry *e, const char *full,
                       const struct stat *st, uint64_t *file_bytes)
{
    if (archive_write_header(a, e) != ARCHIVE_OK)
        return tinyx_err("cpio: %s: %s", full, archive_error_string(a));
    if (!S_ISREG(st->st_mode) || st->st_size == 0)
        return 0;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tinyx_errno("cannot read %s", full);
    char buf[65536];
    ssize_t r;
    uint64_t total = 0;
    while ((r = read(fd, buf, sizeof(buf))) > 0) {
        if (archive_write_data(a, buf, (size_t)r) != r) {
            close(fd);
            return tinyx_err("cpio: writing %s: %s", full, archive_error_string(a));
        }
        total += (uint64_t)r;
    }
    close(fd);
    if (r < 0 || total != (uint64_t)st->st_size)
        return tinyx_err("%s changed size while being archived", full);
    *file_bytes += total;
    return 0;
}

int initramfs_cpio_write(const char *tree, const char *out, const struct initramfs_cpio_opts *o,
                         const struct initramfs_node *nodes, size_t n_nodes,
                         struct initramfs_cpio_stats *stats)
{
    struct initramfs_cpio_stats local = {0};
    struct strvec paths = STRVEC_INIT;
    if (collect(tree, "", &paths) < 0) {
        tinyx_strvec_free(&paths);
        return -1;
    }
    for (size_t i = 0; i < n_nodes; i++)
        tinyx_strvec_push(&paths, nodes[i].path);
    tinyx_strvec_sort_unique(&paths);

    char *tmp = tinyx_xasprintf("%s.tmp-%ld", out, (long)getpid());
    struct archive *a = archive_write_new();
    int rc = 0;
    if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK || set_filter(a, o) < 0) {
        rc = tinyx_err("cpio: cannot set up %s compression: %s", o->compression,
                       archive_error_string(a) ? archive_error_string(a) : "unsupported");
        goto out;
    }
    /* No padding of the last block: the file is exactly the compressed stream. */
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_filename(a, tmp) != ARCHIVE_OK) {
        rc = tinyx_err("cannot create %s: %s", tmp, archive_error_string(a));
        goto out;
    }
    struct archive_entry *e = archive_entry_new();
    for (size_t i = 0; i < paths.n && rc == 0; i++) {
        if (o->stop && o->stop()) {
            rc = -1; /* the caller says why (an interrupt) */
            break;
        }
        archive_entry_clear(e);
        archive_entry_set_pathname(e, paths.v[i]);
        archive_entry_set_mtime(e, o->mtime, 0);
        archive_entry_set_ino64(e, (la_int64_t)(i + 1));
        archive_entry_set_dev(e, 0);
        archive_entry_set_size(e, 0);
        const struct initramfs_node *node = NULL;
        for (size_t k = 0; k < n_nodes; k++)
            if (!strcmp(nodes[k].path, paths.v[i]))
                node = &nodes[k];
        if (node) {
            archive_entry_set_mode(e, node->mode);
            archive_entry_set_uid(e, 0);
            archive_entry_set_gid(e, 0);
            archive_entry_set_nlink(e, 1);
            archive_entry_set_rdev(e, makedev(node->major, node->minor));
            if (archive_write_header(a, e) != ARCHIVE_OK)
                rc = tinyx_err("cpio: %s: %s", paths.v[i], archive_error_string(a));
            local.entries++;
            continue;
        }
        char *full = tinyx_xasprintf("%s/%s", tree, paths.v[i]);
        struct stat st;
        if (lstat(full, &st) < 0) {
            rc = tinyx_errno("cannot stat %s", full);
            free(full);
            break;
        }
        archive_entry_set_mode(e, st.st_mode);
        archive_entry_set_uid(e, st.st_uid);
        archive_entry_set_gid(e, st.st_gid);
        /* Hard links are written as separate files: simpler and still reproducible. */
        archive_entry_set_nlink(e, S_ISDIR(st.st_mode) ? 2 : 1);
        if (S_ISREG(st.st_mode)) {
            archive_entry_set_size(e, st.st_size);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlink(full, target, sizeof(target) - 1);
            if (n < 0) {
                rc = tinyx_errno("cannot read link %s", full);
                free(full);
                break;
            }
            target[n] = '\0';
            archive_entry_set_symlink(e, target);
            archive_entry_set_size(e, 0);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            archive_entry_set_rdev(e, st.st_rdev);
        } else if (!S_ISDIR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
            tinyx_warn("skipping %s: unsupported file type", full);
            free(full);
            continue;
        }
        rc = write_entry(a, e, full, &st, &local.file_bytes);
        local.entries++;
        free(full);
    }
    archive_entry_free(e);
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
        rc = tinyx_err("cannot write %s: %s", tmp, archive_error_string(a));
out:
    archive_write_free(a);
    if (rc == 0) {
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0)
            rc = tinyx_errno("cannot write %s", tmp);
        else
            local.out_bytes = (uint64_t)st.st_size;
        if (fd >= 0)
            close(fd);
    }
    if (rc == 0 && rename(tmp, out) < 0)
        rc = tinyx_errno("cannot rename %s to %s", tmp, out);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    tinyx_strvec_free(&paths);
    if (stats)
        *stats = local;
    return rc;
}
