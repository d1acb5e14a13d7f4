/* vmm_spawn.h: start a VMM process (QEMU, tinyx-kvm) the way every process backend needs it:
 * console, log and boot-timer pipes, extra descriptors at fixed numbers, its own process group,
 * dead with the launcher, and a failed exec reported as an error here rather than as a VM that
 * ends at once. */
#ifndef LAUNCHER_VMM_SPAWN_H
#define LAUNCHER_VMM_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "launcher/backend.h"

/* The child's descriptors: stdin /dev/null, stdout the console pipe, stderr the log pipe, this
 * one the boot-timer pipe, and extra_fds[i] at LAUNCHER_SPAWN_EXTRA_FD + i. */
#define LAUNCHER_SPAWN_TIMER_FD  3
#define LAUNCHER_SPAWN_EXTRA_FD  5
#define LAUNCHER_SPAWN_MAX_EXTRA 16

/* Run argv (argv[0] through PATH unless it has a '/'; `what` names it in messages) and fill
 * vm's console_fd, log_fd, timer_fd (non-blocking read ends), exit_fd (a pidfd, or -1) and
 * vmm_pid; vm->priv is left NULL. The caller keeps extra_fds open and closes them after.
 * Returns 0 with *pid set, or the exit code after a message (6 when argv[0] does not exist). */
int launcher_spawn_vmm(char *const *argv, const char *what, const int *extra_fds, size_t n_extra,
                       struct launcher_vm *vm, pid_t *pid);

/* Close what launcher_spawn_vmm opened in vm (console, log, timer, exit descriptors). */
void launcher_spawn_close(struct launcher_vm *vm);

#endif
