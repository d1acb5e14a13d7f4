/* tree.c: copy the selection out of the staged root and lay the overlays on top. */
#include "tinyx/tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "initramfs/plan_abi.h"
#include "tinyx/proc.h"
#include "tinyx/rootpath.h"
#include "tinyx/util.h"

#define BUSYBOX_GUEST "/usr/bin/busybox"

static int copy_contents(const char *src, const char *dst, const struct stat *st)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return tinyx_errno("cannot read %s", src);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st->st_mode & 07777);
    if (out < 0) {
        close(in);
        return tinyx_errno("cannot create %s", dst);
    }
    off_t left = st->st_size;
    int rc = 0;
    while (left > 0) {
        ssize_t n = sendfile(out, in, NULL, (size_t)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = tinyx_errno("cannot copy %s (disk full?)", src);
            break;
        }
        left -= n;
    }
    close(in);
    if (close(out) < 0 && rc == 0)
        rc = tinyx_errno("cannot write %s (disk full?)", dst);
    return rc;
}

/* Copy one guest path (file, folder or symlink) from root to dir, keeping mode and owner. */
static int copy_entry(const char *root, const char *dir, const char *guest)
{
    char *src = tinyx_xasprintf("%s%s", root, guest);
    char *dst = tinyx_xasprintf("%s%s", dir, guest);
    struct stat st;
    int rc = 0;
    if (lstat(src, &st) < 0) {
        rc = tinyx_errno("cannot stat %s", src);
    } else if (S_ISDIR(st.st_mode)) {
        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
            rc = tinyx_errno("cannot create %s", dst);
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(src, target, sizeof(target) - 1);
        if (n < 0) {
            rc = tinyx_errno("cannot read link %s", src);
        } else {
            target[n] = '\0';
            if (symlink(target, dst) < 0)
                rc = tinyx_errno("cannot create link %s", dst);
        }
    } else if (S_ISREG(st.st_mode)) {
        rc = copy_contents(src, dst, &st);
    } else {
        tinyx_debug("skipping special file %s", guest);
        free(src);
        free(dst);
        return 0;
    }
    if (rc == 0) {
        if (lchown(dst, st.st_uid, st.st_gid) < 0)
            rc = tinyx_errno("cannot set the owner of %s", dst);
        else if (!S_ISLNK(st.st_mode) && chmod(dst, st.st_mode & 07777) < 0)
            rc = tinyx_errno("cannot set the mode of %s", dst);
    }
    free(src);
    free(dst);
    return rc;
}

char *tinyx_tree_module_path(const char *release, const char *file)
{
    return tinyx_xasprintf("/usr/lib/modules/%s/%s", release, file);
}

static int add_file(const char *dir, const char *guest, const char *src, mode_t mode,
                    struct strmap *overlay)
{
    char *dst = tinyx_xasprintf("%s%s", dir, guest);
    char *parent = tinyx_xstrdup(dst);
    *strrchr(parent, '/') = '\0';
    int rc = tinyx_mkdir_p(parent, 0755);
    free(parent);
    if (rc == 0) {
        struct stat st;
        if (stat(src, &st) < 0) {
            rc = tinyx_errno("cannot read %s", src);
        } else {
            st.st_mode = mode;
            unlink(dst);
            rc = copy_contents(src, dst, &st);
            if (rc == 0 && chmod(dst, mode) < 0)
                rc = tinyx_errno("cannot set the mode of %s", dst);
        }
    }
    free(dst);
    if (rc == 0)
        tinyx_strmap_set(overlay, guest, NULL);
    return rc;
}

static int add_text(const char *dir, const char *guest, const char *text, struct strmap *overlay)
{
    char *dst = tinyx_xasprintf("%s%s", dir, guest);
    char *parent = tinyx_xstrdup(dst);
    *strrchr(parent, '/') = '\0';
    int rc = tinyx_mkdir_p(parent, 0755);
    free(parent);
    if (rc == 0)
        rc = tinyx_write_file_atomic(dst, text, strlen(text), 0644);
    free(dst);
    if (rc == 0)
        tinyx_strmap_set(overlay, guest, NULL);
    return rc;
}

/* A link for every BusyBox applet whose path is not already taken in the tree. */
static int busybox_overlay(const char *root, const char *dir, struct strmap *overlay)
{
    char *bb_host = tinyx_xasprintf("%s%s", root, BUSYBOX_GUEST);
    if (!tinyx_exists(bb_host)) {
        free(bb_host);
        return tinyx_err("BusyBox (%s) is not in the staged root (busybox-static)", BUSYBOX_GUEST);
    }
    if (add_file(dir, BUSYBOX_GUEST, bb_host, 0755, overlay) < 0) {
        free(bb_host);
        return -1;
    }
    /* busybox-static is a static binary: it runs on the host to list its applets. */
    char *out = NULL;
    char *argv[] = {bb_host, "--list-full", NULL};
    struct tinyx_cmd c = {.argv = argv, .out = &out};
    int st = tinyx_cmd_run(&c);
    free(bb_host);
    if (st != 0) {
        free(out);
        return tinyx_err("cannot list BusyBox applets (exit %d)", st);
    }
    for (char *s = NULL, *l = strtok_r(out, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
        char *guest = tinyx_xasprintf("/%s", l);
        char *canon = NULL, *existing = NULL;
        int r = tinyx_rootpath_resolve(dir, guest, false, NULL, &canon, &existing);
        /* Only where the applet's folder exists and the name is free. */
        char *parent = tinyx_xstrdup(canon);
        *strrchr(parent, '/') = '\0';
        if (r == TINYX_ROOTPATH_MISSING && !strcmp(parent, existing)) {
            char *dst = tinyx_xasprintf("%s%s", dir, canon);
            if (symlink(BUSYBOX_GUEST, dst) == 0)
                tinyx_strmap_set(overlay, canon, NULL);
            free(dst);
        }
        free(parent);
        free(canon);
        free(existing);
        free(guest);
    }
    free(out);
    return 0;
}

int tinyx_tree_build(const struct tinyx_tree_input *in, const char *dir, struct strmap *overlay)
{
    const char **keys = tinyx_strmap_sorted_keys(in->selection);
    int rc = 0;
    for (size_t i = 0; keys[i] && rc == 0; i++) {
        rc = copy_entry(in->root, dir, keys[i]);
        if (tinyx_interrupted())
            rc = -1;
    }
    free(keys);
    if (rc < 0)
        return -1;

    /* Mount points and writable folders the init and apps expect. */
    static const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {{"/proc", 0555}, {"/sys", 0555},  {"/dev", 0755}, {"/tmp", 01777},
                {"/run", 0755},  {"/root", 0700}, {"/etc", 0755}};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *p = tinyx_xasprintf("%s%s", dir, dirs[i].path);
        if (!tinyx_exists(p)) {
            if (mkdir(p, dirs[i].mode) < 0 || chmod(p, dirs[i].mode) < 0) {
                rc = tinyx_errno("cannot create %s", p);
                free(p);
                return rc;
            }
            tinyx_strmap_set(overlay, dirs[i].path, NULL);
        }
        free(p);
    }
    if (in->busybox && busybox_overlay(in->root, dir, overlay) < 0)
        return -1;
    if (in->kernel) {
        for (size_t i = 0; i < in->kernel->module_files.n; i++) {
            char *src = tinyx_xasprintf("%s/lib/modules/%s/%s", in->kernel->moddir,
                                        in->kernel->release, in->kernel->module_files.v[i]);
            char *guest =
                tinyx_tree_module_path(in->kernel->release, in->kernel->module_files.v[i]);
            rc = add_file(dir, guest, src, 0644, overlay);
            free(src);
            free(guest);
            if (rc < 0)
                return -1;
        }
    }
    if (add_file(dir, "/init", in->init_binary, 0755, overlay) < 0 ||
        add_text(dir, PLAN_ABI_PATH, in->plan_text, overlay) < 0)
        return -1;

    /* The staged root's ld.so.cache names libraries that were pruned: regenerate it. */
    char *conf = tinyx_xasprintf("%s/etc/ld.so.conf", dir);
    bool have_conf = tinyx_exists(conf);
    free(conf);
    if (have_conf && tinyx_have_program("ldconfig")) {
        char *argv[] = {"ldconfig", "-X", "-r", (char *)dir, NULL};
        if (tinyx_run_argv(argv) != 0)
            return tinyx_err("ldconfig -r %s failed", dir);
        tinyx_strmap_set(overlay, "/etc/ld.so.cache", NULL);
    }
    return 0;
}
