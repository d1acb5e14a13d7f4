/* test_cpio_writer.c: the initramfs writer (initramfs/cpio_writer.h), read back with libarchive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "initramfs/cpio_writer.h"
#include "tinyx/util.h"

#define MTIME    1234567890
#define APP_SIZE 5000

static char base[64];       /* temp folder of this file's tests */
static char *tree;          /* the tree written by most tests */
static bool tree_has_mknod; /* dev/null could be created in the tree (needs CAP_MKNOD) */
static const char *const compressions[] = {"zstd", "xz", "gzip", "none"};

/* ---- stderr capture ---- */

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

/* ---- the tree ---- */

static char *app_bytes(void)
{
    char *b = tinyx_xmalloc(APP_SIZE);
    for (size_t i = 0; i < APP_SIZE; i++)
        b[i] = (char)("tinyx initramfs "[i % 16] ^ (i / 16 % 7));
    return b;
}

static int mk(const char *rel, mode_t mode)
{
    char *p = tinyx_xasprintf("%s/%s", tree, rel);
    int rc = mkdir(p, mode) == 0 && chmod(p, mode) == 0 ? 0 : -1;
    free(p);
    return rc;
}

static int put(const char *rel, const void *data, size_t len, mode_t mode)
{
    char *p = tinyx_xasprintf("%s/%s", tree, rel);
    int rc = tinyx_write_file_atomic(p, data, len, mode);
    if (rc == 0)
        rc = chmod(p, mode);
    free(p);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(base, "/tmp/tinyx-ut-cpio-XXXXXX");
    if (!mkdtemp(base))
        return -1;
    tree = tinyx_xasprintf("%s/tree", base);
    char *app = app_bytes();
    int rc = mkdir(tree, 0755);
    rc |= mk("bin", 0755);
    rc |= put("bin/app", app, APP_SIZE, 0755);
    rc |= mk("dev", 0755);
    rc |= mk("etc", 0755);
    rc |= put("etc/conf", "key=value\n", 10, 0640);
    rc |= put("etc/empty", "", 0, 0600);
    rc |= mk("var", 0755);
    rc |= mk("var/empty", 0700);
    free(app);
    char *sh = tinyx_xasprintf("%s/bin/sh", tree);
    rc |= symlink("app", sh);
    free(sh);
    char *null = tinyx_xasprintf("%s/dev/null", tree);
    tree_has_mknod = mknod(null, S_IFCHR | 0666, makedev(1, 3)) == 0 && chmod(null, 0666) == 0;
    free(null);
    return rc == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = tinyx_rm_rf(base);
    free(tree);
    return rc;
}

static const struct initramfs_node console = {"dev/console", S_IFCHR | 0600, 5, 1};

/* Write tree as out with stderr captured. */
static int write_cpio(const char *src, const char *out, const char *compression, int64_t mtime,
                      struct initramfs_cpio_stats *stats, char **err)
{
    struct initramfs_cpio_opts o = {.compression = compression, .mtime = mtime};
    struct capture cap;
    capture_start(&cap);
    int rc = initramfs_cpio_write(src, out, &o, &console, 1, stats);
    *err = capture_stop(&cap);
    return rc;
}

/* ---- reading back ---- */

struct expected {
    const char *name;
    mode_t type; /* AE_IFREG, ... */
    mode_t perm;
    int64_t size;
    const char *content; /* regular files; NULL: the app bytes */
    const char *link;    /* symlinks */
    unsigned major, minor;
};

static void check_archive(const char *path, const char *compression)
{
    char *app = app_bytes();
    struct expected want[] = {
        {"bin", AE_IFDIR, 0755, 0, NULL, NULL, 0, 0},
        {"bin/app", AE_IFREG, 0755, APP_SIZE, NULL, NULL, 0, 0},
        {"bin/sh", AE_IFLNK, 0777, 3, NULL, "app", 0, 0}, /* newc stores the target as data */
        {"dev", AE_IFDIR, 0755, 0, NULL, NULL, 0, 0},
        {"dev/console", AE_IFCHR, 0600, 0, NULL, NULL, 5, 1},
        {"dev/null", AE_IFCHR, 0666, 0, NULL, NULL, 1, 3},
        {"etc", AE_IFDIR, 0755, 0, NULL, NULL, 0, 0},
        {"etc/conf", AE_IFREG, 0640, 10, "key=value\n", NULL, 0, 0},
        {"etc/empty", AE_IFREG, 0600, 0, "", NULL, 0, 0},
        {"var", AE_IFDIR, 0755, 0, NULL, NULL, 0, 0},
        {"var/empty", AE_IFDIR, 0700, 0, NULL, NULL, 0, 0},
    };
    size_t n_want = sizeof want / sizeof want[0];
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_cpio(a);
    assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    struct archive_entry *e;
    size_t i = 0, index = 0;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        if (i < n_want && !strcmp(want[i].name, "dev/null") && !tree_has_mknod)
            i++;
        if (i >= n_want)
            fail_msg("%s: unexpected entry %s", compression, archive_entry_pathname(e));
        const struct expected *w = &want[i];
        const char *name = archive_entry_pathname(e);
        if (strcmp(name, w->name) != 0)
            fail_msg("%s: entry %zu is %s, want %s", compression, index, name, w->name);
        if (archive_entry_filetype(e) != w->type || (archive_entry_perm(e) & 07777) != w->perm)
            fail_msg("%s: %s has type 0%o perm 0%o, want 0%o 0%o", compression, name,
                     archive_entry_filetype(e), archive_entry_perm(e), w->type, w->perm);
        if (archive_entry_size(e) != w->size)
            fail_msg("%s: %s has size %lld, want %lld", compression, name,
                     (long long)archive_entry_size(e), (long long)w->size);
        if (archive_entry_mtime(e) != MTIME)
            fail_msg("%s: %s has mtime %lld, want %d", compression, name,
                     (long long)archive_entry_mtime(e), MTIME);
        assert_int_equal(archive_entry_uid(e), getuid());
        assert_int_equal(archive_entry_gid(e), getgid());
        /* Inode numbers in order, from 1; folders count 2 links, the rest 1. */
        assert_int_equal(archive_entry_ino64(e), (int64_t)index + 1);
        assert_int_equal(archive_entry_nlink(e), w->type == AE_IFDIR ? 2 : 1);
        if (w->type == AE_IFREG) {
            const char *content = w->content ? w->content : app;
            char *buf = tinyx_xmalloc((size_t)w->size + 1);
            la_ssize_t got = archive_read_data(a, buf, (size_t)w->size + 1);
            assert_int_equal(got, w->size);
            assert_memory_equal(buf, content, (size_t)w->size);
            free(buf);
        }
        if (w->type == AE_IFLNK) {
            assert_non_null(archive_entry_symlink(e));
            assert_string_equal(archive_entry_symlink(e), w->link);
        }
        if (w->type == AE_IFCHR) {
            assert_int_equal(archive_entry_rdevmajor(e), w->major);
            assert_int_equal(archive_entry_rdevminor(e), w->minor);
        }
        i++;
        index++;
    }
    assert_int_equal(r, ARCHIVE_EOF);
    assert_int_equal(i, n_want);
    assert_int_equal(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
    const char *filter = archive_filter_name(a, 0);
    const char *want_filter = !strcmp(compression, "none") ? "none" : compression;
    if (strcmp(filter, want_filter) != 0)
        fail_msg("%s: read through filter %s", compression, filter);
    archive_read_free(a);
    free(app);
}

static size_t count_entries_starting(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (tinyx_str_starts(de->d_name, prefix))
            n++;
    closedir(d);
    return n;
}

/* ---- tests ---- */

static void test_compression_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++)
        assert_true(initramfs_cpio_compression_ok(compressions[i]));
    assert_false(initramfs_cpio_compression_ok("lz4"));
    assert_false(initramfs_cpio_compression_ok("ZSTD"));
    assert_false(initramfs_cpio_compression_ok(""));
    assert_false(initramfs_cpio_compression_ok("gz"));
}

static void test_write_and_read_back(void **state)
{
    (void)state;
    if (!tree_has_mknod)
        printf("SKIP: mknod is not permitted here: dev/null in the tree is not tested (the "
               "added dev/console node is)\n");
    for (size_t c = 0; c < 4; c++) {
        char *out = tinyx_xasprintf("%s/initrd-%s", base, compressions[c]);
        struct initramfs_cpio_stats st;
        memset(&st, 0xff, sizeof st);
        char *err = NULL;
        int rc = write_cpio(tree, out, compressions[c], MTIME, &st, &err);
        if (rc != 0)
            fail_msg("%s: rc %d: %s", compressions[c], rc, err);
        assert_string_equal(err, "");
        free(err);
        check_archive(out, compressions[c]);
        struct stat fst;
        assert_int_equal(stat(out, &fst), 0);
        assert_int_equal(st.entries, tree_has_mknod ? 11 : 10);
        assert_int_equal(st.file_bytes, APP_SIZE + 10);
        assert_int_equal(st.out_bytes, (uint64_t)fst.st_size);
        /* No temp file left beside it. */
        assert_int_equal(count_entries_starting(base, "initrd-"), c + 1);
        free(out);
    }
}

static void test_compressed_headers(void **state)
{
    (void)state;
    const struct {
        const char *name;
        const char *magic;
        size_t len;
    } magics[] = {
        {"zstd", "\x28\xb5\x2f\xfd", 4},
        {"xz",
         "\xfd"
         "7zXZ\0",
         6},
        {"gzip", "\x1f\x8b", 2},
        {"none", "070701", 6},
    };
    for (size_t i = 0; i < 4; i++) {
        char *out = tinyx_xasprintf("%s/magic-%s", base, magics[i].name);
        char *err = NULL;
        assert_int_equal(write_cpio(tree, out, magics[i].name, MTIME, NULL, &err), 0);
        free(err);
        size_t len = 0;
        char *data = tinyx_read_file(out, &len);
        assert_non_null(data);
        assert_true(len > 16);
        if (memcmp(data, magics[i].magic, magics[i].len) != 0)
            fail_msg("%s: wrong magic bytes", magics[i].name);
        if (!strcmp(magics[i].name, "gzip")) {
            /* No file name (FLG.FNAME) and no time (MTIME = 0) in the gzip header. */
            assert_int_equal((unsigned char)data[3] & 0x08, 0);
            assert_memory_equal(data + 4, "\0\0\0\0", 4);
        }
        if (!strcmp(magics[i].name, "none")) {
            /* Exactly the newc stream: ends with the trailer padded to 4 bytes, no block
             * padding. */
            const char *trailer = "TRAILER!!!";
            char *last = memmem(data, len, trailer, strlen(trailer));
            assert_non_null(last);
            size_t end = (size_t)(last - data) + strlen(trailer) + 1;
            assert_int_equal(len, (end + 3) & ~(size_t)3);
        }
        free(data);
        free(out);
    }
}

static void test_reproducible(void **state)
{
    (void)state;
    for (size_t c = 0; c < 4; c++) {
        char *a = tinyx_xasprintf("%s/repro-a-%s", base, compressions[c]);
        char *b = tinyx_xasprintf("%s/repro-b-%s", base, compressions[c]);
        char *other = tinyx_xasprintf("%s/repro-other-%s", base, compressions[c]);
        char *err = NULL;
        assert_int_equal(write_cpio(tree, a, compressions[c], MTIME, NULL, &err), 0);
        free(err);
        /* Touch the tree between the writes: its times must not leak into the output. */
        struct timespec ts[2] = {{.tv_sec = 42, .tv_nsec = 0}, {.tv_sec = 4242, .tv_nsec = 7}};
        const char *touched[] = {"bin/app", "etc", "etc/conf", "var/empty"};
        for (size_t i = 0; i < 4; i++) {
            char *p = tinyx_xasprintf("%s/%s", tree, touched[i]);
            assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
            free(p);
        }
        assert_int_equal(write_cpio(tree, b, compressions[c], MTIME, NULL, &err), 0);
        free(err);
        assert_int_equal(write_cpio(tree, other, compressions[c], MTIME + 1, NULL, &err), 0);
        free(err);
        size_t la = 0, lb = 0, lo = 0;
        char *da = tinyx_read_file(a, &la), *db = tinyx_read_file(b, &lb);
        char *dother = tinyx_read_file(other, &lo);
        assert_non_null(da);
        assert_non_null(db);
        assert_non_null(dother);
        if (la != lb || memcmp(da, db, la) != 0)
            fail_msg("%s: two writes of the same tree differ (%zu vs %zu bytes)", compressions[c],
                     la, lb);
        /* The given mtime is what goes in. */
        assert_true(la != lo || memcmp(da, dother, la) != 0);
        free(da);
        free(db);
        free(dother);
        free(a);
        free(b);
        free(other);
    }
}

/* A write that must fail: -1, the message, and nothing new at or beside out (`existing`: out
 * was there before and must stay). */
static void expect_failed_write(const char *src, const char *out, const char *compression,
                                const char *want_err_prefix, size_t existing)
{
    char *dir = tinyx_xstrdup(out);
    *strrchr(dir, '/') = '\0';
    const char *name = strrchr(out, '/') + 1;
    char *err = NULL;
    int rc = write_cpio(src, out, compression, MTIME, NULL, &err);
    char problem[1024] = "";
    if (rc != -1)
        snprintf(problem, sizeof problem, "%s: rc %d, want -1", out, rc);
    else if (strncmp(err, want_err_prefix, strlen(want_err_prefix)) != 0)
        snprintf(problem, sizeof problem, "stderr '%s', want it to start with '%s'", err,
                 want_err_prefix);
    else if (tinyx_is_dir(dir) && count_entries_starting(dir, name) != existing)
        snprintf(problem, sizeof problem, "%s or a temp file beside it was left behind", out);
    free(err);
    free(dir);
    if (problem[0])
        fail_msg("%s", problem);
}

static void test_failed_writes_leave_nothing(void **state)
{
    (void)state;
    char *dir = tinyx_xasprintf("%s/failed", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *out = tinyx_xasprintf("%s/initrd", dir);

    expect_failed_write(tree, out, "lz4", "tinyx: error: cpio: cannot set up lz4 compression", 0);
    char *missing = tinyx_xasprintf("%s/no-such-tree", base);
    char *want =
        tinyx_xasprintf("tinyx: error: cannot read %s: No such file or directory\n", missing);
    expect_failed_write(missing, out, "zstd", want, 0);
    free(want);
    free(missing);
    char *nodir = tinyx_xasprintf("%s/no-such-dir/initrd", base);
    expect_failed_write(tree, nodir, "gzip", "tinyx: error: cannot create ", 0);
    free(nodir);

    /* Running out of space half way (a file size limit stands in for a full disk). */
    char *bigtree = tinyx_xasprintf("%s/bigtree", base);
    assert_int_equal(mkdir(bigtree, 0755), 0);
    size_t big = 256 * 1024;
    char *data = tinyx_xcalloc(1, big);
    char *bigfile = tinyx_xasprintf("%s/big", bigtree);
    assert_int_equal(tinyx_write_file_atomic(bigfile, data, big, 0644), 0);
    free(bigfile);
    free(data);
    struct rlimit saved;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    struct rlimit small = {.rlim_cur = 64 * 1024, .rlim_max = saved.rlim_max};
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    char *err = NULL;
    int rc = write_cpio(bigtree, out, "none", MTIME, NULL, &err);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old);
    char *want_write = tinyx_xasprintf("tinyx: error: cpio: writing %s/big: ", bigtree);
    bool ok = rc == -1 && tinyx_str_starts(err, want_write);
    char problem[1024];
    snprintf(problem, sizeof problem, "rc %d, stderr '%s', want -1 and '%s...'", rc, err,
             want_write);
    free(want_write);
    free(err);
    if (!ok)
        fail_msg("%s", problem);
    assert_int_equal(count_entries_starting(dir, "initrd"), 0);

    /* An earlier output stays as it was when a later write fails. */
    assert_int_equal(write_cpio(tree, out, "gzip", MTIME, NULL, &err), 0);
    free(err);
    size_t before_len = 0;
    char *before = tinyx_read_file(out, &before_len);
    expect_failed_write(tree, out, "lz4", "tinyx: error: cpio: cannot set up lz4 compression", 1);
    size_t after_len = 0;
    char *after = tinyx_read_file(out, &after_len);
    assert_non_null(after);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    assert_int_equal(count_entries_starting(dir, "initrd"), 1);
    free(before);
    free(after);
    free(bigtree);
    free(out);
    free(dir);
}

/* Asked to stop (a Ctrl-C) after a few entries: -1, no output, no temp file left. */
static int stop_calls;
static bool stop_after_three(void)
{
    return ++stop_calls > 3;
}

static void test_stop_leaves_nothing(void **state)
{
    (void)state;
    char *dir = tinyx_xasprintf("%s/stopped", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *out = tinyx_xasprintf("%s/initrd", dir);
    struct initramfs_cpio_opts o = {
        .compression = "zstd", .mtime = MTIME, .stop = stop_after_three};
    stop_calls = 0;
    assert_int_equal(initramfs_cpio_write(tree, out, &o, &console, 1, NULL), -1);
    assert_int_equal(stop_calls, 4); /* asked before every entry, and no further */
    assert_int_equal(count_entries_starting(dir, "initrd"), 0);
    free(out);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compression_names),
        cmocka_unit_test(test_write_and_read_back),
        cmocka_unit_test(test_compressed_headers),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_failed_writes_leave_nothing),
        cmocka_unit_test(test_stop_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
