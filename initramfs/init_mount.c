/* init_mount.c: the plan's mounts, the console file descriptors and /proc/cmdline. */
#include "initramfs/init_mount.h"
#include "initramfs/init_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

void initramfs_console_ensure(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int c = open("/dev/console", O_RDWR | O_NOCTTY);
        if (c < 0)
            c = open("/dev/null", O_RDWR);
        if (c < 0)
            return;
        if (c != fd) {
            dup2(c, fd);
            close(c);
        }
    }
}

void initramfs_console_reopen(void)
{
    int c = open("/dev/console", O_RDWR | O_NOCTTY);
    if (c < 0)
        return;
    for (int fd = 0; fd <= 2; fd++)
        if (c != fd)
            dup2(c, fd);
    if (c > 2)
        close(c);
}

/* mkdir -p; an existing directory is fine. */
static int make_dirs(const char *path)
{
    char p[4096];
    size_t n = strlen(path);
    if (n >= sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(p, path, n + 1);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        if (saved == '\0')
            return 0;
        *s = saved;
    }
}

static bool world_writable_tmpfs(const char *target)
{
    return strcmp(target, "/tmp") == 0 || strcmp(target, "/var/tmp") == 0 ||
           strcmp(target, "/dev/shm") == 0;
}

/* Add a symlink only where nothing exists yet (the image may have its own). */
static void link_if_missing(const char *to, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT && symlink(to, path) != 0)
        initramfs_error_errno(errno, "cannot create %s -> %s", path, to);
}

static void mount_one(enum initramfs_fs fs, const char *target)
{
    const char *type = initramfs_fs_name(fs);
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    const char *data = NULL;

    switch (fs) {
    case INITRAMFS_FS_PROC:
    case INITRAMFS_FS_SYSFS:
        break;
    case INITRAMFS_FS_DEVTMPFS:
        flags = MS_NOSUID;
        data = "mode=0755";
        break;
    case INITRAMFS_FS_TMPFS:
        flags = MS_NOSUID | MS_NODEV;
        data = world_writable_tmpfs(target) ? "mode=1777" : "mode=0755";
        break;
    case INITRAMFS_FS_DEVPTS:
        /* gid 5 is Debian's "tty" group; ptmxmode lets every user open pts/ptmx. */
        flags = MS_NOSUID | MS_NOEXEC;
        data = "gid=5,mode=0620,ptmxmode=0666";
        break;
    }
    if (make_dirs(target) != 0) {
        initramfs_error_errno(errno, "cannot create mount point %s for %s", target, type);
        return;
    }
    if (mount(type, target, type, flags, data) != 0) {
        int e = errno;
        if (e == ENODEV)
            initramfs_error("cannot mount %s on %s: the kernel has no %s support", type, target,
                            type);
        else
            initramfs_error_errno(e, "cannot mount %s on %s", type, target);
        return;
    }
    initramfs_debug("mounted %s on %s%s%s", type, target, data ? " with " : "", data ? data : "");

    if (fs == INITRAMFS_FS_DEVPTS && strcmp(target, "/dev/pts") == 0) {
        /* devtmpfs provides /dev/ptmx (it finds pts/ next to it); a bare /dev needs the link. */
        link_if_missing("pts/ptmx", "/dev/ptmx");
    }
    if (fs == INITRAMFS_FS_DEVTMPFS && strcmp(target, "/dev") == 0) {
        /* What udev or mdev would add; shells and many programs use them. */
        link_if_missing("/proc/self/fd", "/dev/fd");
        link_if_missing("/proc/self/fd/0", "/dev/stdin");
        link_if_missing("/proc/self/fd/1", "/dev/stdout");
        link_if_missing("/proc/self/fd/2", "/dev/stderr");
    }
}

void initramfs_mount_all(const struct initramfs_plan *plan)
{
    for (size_t i = 0; i < plan->n_mounts; i++)
        mount_one(plan->mounts[i].fs, plan->mounts[i].target);
}

static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

ssize_t initramfs_read_proc_cmdline(char *buf, size_t size)
{
    ssize_t n = read_small_file("/proc/cmdline", buf, size);
    if (n >= 0)
        return n;
    if (mkdir("/proc", 0555) != 0 && errno != EEXIST)
        return -1;
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return -1;
    n = read_small_file("/proc/cmdline", buf, size);
    int e = errno;
    umount2("/proc", MNT_DETACH);
    errno = e;
    return n;
}
