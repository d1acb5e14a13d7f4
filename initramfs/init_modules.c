/* init_modules.c: loads the plan's kernel modules in order with finit_module(2). */

/* Why not libkmod: Debian ships no static libkmod, and the guest needs none of its logic. The
 * build side (tinyx, with libkmod) resolves dependencies and their order and decompresses the
 * modules; the init only loads the resolved list of plain .ko files. */
#include "initramfs/init_modules.h"
#include "initramfs/init_log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long elapsed_us(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000L + (now.tv_nsec - since->tv_nsec) / 1000;
}

static const char *load_hint(int e)
{
    switch (e) {
    case ENOENT:
        return " (an unknown symbol: is a module it needs missing, or listed after it?)";
    case ENOEXEC:
        return " (not a module for this kernel: wrong version, or compressed)";
    case EINVAL:
        return " (a bad option on the command line, or a module for another kernel)";
    case ENOSYS:
        return " (the kernel was built without module support)";
    default:
        return "";
    }
}

static void load_one(const char *path, const struct initramfs_cmdline *cmdline)
{
    char opts[INITRAMFS_CMDLINE_MAX], name[64];
    struct timespec start;

    initramfs_module_name(path, name, sizeof name);
    if (initramfs_cmdline_module_options(cmdline, path, opts, sizeof opts) >= sizeof opts) {
        initramfs_error("module %s: its options on the kernel command line are too long; "
                        "loading it without them",
                        name);
        opts[0] = '\0';
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        initramfs_error_errno(errno, "cannot open module %s", path);
        return;
    }
    long rc = syscall(SYS_finit_module, fd, opts, 0);
    int e = errno;
    close(fd);
    if (rc != 0 && e == EEXIST) {
        initramfs_debug("module %s: already loaded", name);
    } else if (rc != 0) {
        initramfs_error("cannot load module %s%s%s: %s%s", path, opts[0] ? " with options " : "",
                        opts, strerror(e), load_hint(e));
    } else {
        initramfs_debug("loaded module %s%s%s in %ld us", name, opts[0] ? " with options " : "",
                        opts, elapsed_us(&start));
    }
}

void initramfs_modules_load(const struct initramfs_plan *plan,
                            const struct initramfs_cmdline *cmdline)
{
    for (size_t i = 0; i < plan->n_modules; i++)
        load_one(plan->modules[i], cmdline);
}
