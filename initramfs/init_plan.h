/* init_plan.h: the boot plan (plan_abi.h) parsed into memory, and the plan's escaping rule. */
#ifndef INITRAMFS_INIT_PLAN_H
#define INITRAMFS_INIT_PLAN_H

#include <stddef.h>
#include <sys/types.h>

enum initramfs_fs {
    INITRAMFS_FS_PROC,
    INITRAMFS_FS_SYSFS,
    INITRAMFS_FS_DEVTMPFS,
    INITRAMFS_FS_TMPFS,
    INITRAMFS_FS_DEVPTS,
};

struct initramfs_plan_mount {
    enum initramfs_fs fs;
    const char *target; /* absolute path */
};

/* Every string points into one block owned by the plan; initramfs_plan_free releases it all. */
struct initramfs_plan {
    int version;
    const char *hostname; /* NULL: the plan names none */
    struct initramfs_plan_mount *mounts;
    size_t n_mounts;
    char **modules; /* absolute paths, NULL-terminated */
    size_t n_modules;
    char **env; /* "NAME=VALUE", NULL-terminated: the app's whole environment */
    size_t n_env;
    const char *cwd; /* "/" unless the plan says otherwise */
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t n_groups;
    char **argv; /* NULL-terminated; argv[0] is an absolute path */
    size_t argc;
    char *storage; /* the decoded values */
};

/* Parse a plan held in buf[0..len). Pure: no I/O. Returns 0, or -1 with a message in err
 * ("line N: what is wrong") and *out left empty (safe to free). */
int initramfs_plan_parse(const char *buf, size_t len, struct initramfs_plan *out, char *err,
                         size_t errlen);
/* Read and parse the plan file at path. Returns 0, or -1 with a message in err. */
int initramfs_plan_load(const char *path, struct initramfs_plan *out, char *err, size_t errlen);
void initramfs_plan_free(struct initramfs_plan *plan);

/* The plan's escaping rule for one VALUE: bytes below 0x20, 0x7f and '%' become "%XX" (two
 * upper-case hex digits); every other byte (space and bytes >= 0x80 included) is copied as is.
 * Writes at most outsize bytes including the NUL, never a partial %XX, and returns the length
 * of the whole escaped value (like snprintf: truncated if the result is >= outsize). */
size_t initramfs_plan_escape(const char *value, char *out, size_t outsize);

/* "proc", "sysfs", ... as written in the plan and as passed to mount(2). */
const char *initramfs_fs_name(enum initramfs_fs fs);

#endif
