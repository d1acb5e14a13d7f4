/* init_mount.h: the plan's mounts, the console file descriptors and /proc/cmdline. */
#ifndef INITRAMFS_INIT_MOUNT_H
#define INITRAMFS_INIT_MOUNT_H

#include <stddef.h>
#include <sys/types.h>

#include "initramfs/init_plan.h"

/* Open /dev/console (or /dev/null) on whichever of fds 0, 1, 2 is not open. */
void initramfs_console_ensure(void);
/* After devtmpfs hid the cpio's /dev: point fds 0, 1, 2 at the /dev/console now visible, so
 * the app's ttyname() and /proc/self/fd/0 name a file that exists. */
void initramfs_console_reopen(void);

/* Mount the plan's filesystems in order, creating targets; failures are reported, not fatal. */
void initramfs_mount_all(const struct initramfs_plan *plan);

/* Read /proc/cmdline into buf (NUL-terminated), mounting proc on /proc for the read when it is
 * not mounted yet (and unmounting it again: the plan decides what the app sees). Returns the
 * length, or -1 with errno set. */
ssize_t initramfs_read_proc_cmdline(char *buf, size_t size);

#endif
