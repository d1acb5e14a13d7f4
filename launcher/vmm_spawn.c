/* vmm_spawn.c: see vmm_spawn.h. */
#include "launcher/vmm_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* Where the child reports a failed exec (close-on-exec, so the VMM never sees it). */
#define REPORT_CHILD_FD 4
/* Every descriptor the child passes on is first moved above this, so no dup2 onto a target
 * number overwrites a source still to be moved. */
#define CHILD_FD_FLOOR 64

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_child(char *const *argv, pid_t parent, int console_w, int log_w, int timer_w,
                       int report_w, const int *extra_fds, size_t n_extra)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    /* Its own process group: a terminal's Ctrl-C reaches only the launcher, which then stops
     * the VM itself. The death signal covers a launcher that dies without cleaning up. */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int err;
    if (getppid() != parent)
        _exit(127);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int c = fcntl(console_w, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR);
    int l = fcntl(log_w, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR);
    int t = fcntl(timer_w, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR);
    int r = fcntl(report_w, F_DUPFD_CLOEXEC, CHILD_FD_FLOOR);
    int extra[LAUNCHER_SPAWN_MAX_EXTRA];
    bool ok = devnull >= 0 && c >= 0 && l >= 0 && t >= 0 && r >= 0;
    for (size_t i = 0; i < n_extra; i++) {
        extra[i] = fcntl(extra_fds[i], F_DUPFD_CLOEXEC, CHILD_FD_FLOOR);
        ok = ok && extra[i] >= 0;
    }
    ok = ok && dup2(devnull, STDIN_FILENO) >= 0 && dup2(c, STDOUT_FILENO) >= 0 &&
         dup2(l, STDERR_FILENO) >= 0 && dup2(t, LAUNCHER_SPAWN_TIMER_FD) >= 0 &&
         dup3(r, REPORT_CHILD_FD, O_CLOEXEC) >= 0;
    for (size_t i = 0; ok && i < n_extra; i++)
        ok = dup2(extra[i], LAUNCHER_SPAWN_EXTRA_FD + (int)i) >= 0;
    if (!ok) {
        err = errno;
        ssize_t w = write(report_w, &err, sizeof(err));
        (void)w;
        _exit(127);
    }
    /* The VMM gets exactly stdin, stdout, stderr, the timer pipe and the extra descriptors. */
    syscall(SYS_close_range, LAUNCHER_SPAWN_EXTRA_FD + (unsigned)n_extra, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    err = errno;
    ssize_t w = write(REPORT_CHILD_FD, &err, sizeof(err));
    (void)w;
    _exit(127);
}

int launcher_spawn_vmm(char *const *argv, const char *what, const int *extra_fds, size_t n_extra,
                       struct launcher_vm *vm, pid_t *pid_out)
{
    if (n_extra > LAUNCHER_SPAWN_MAX_EXTRA) {
        tinyx_err("cannot pass %zu descriptors to %s (at most %d)", n_extra, what,
                  LAUNCHER_SPAWN_MAX_EXTRA);
        return TINYX_EXIT_USAGE;
    }
    if (tinyx_verbosity >= 2) {
        char line[8192] = "";
        for (size_t i = 0; argv[i]; i++)
            snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", i ? " " : "",
                     argv[i]);
        tinyx_debug("running: %s", line);
    }
    int console[2] = {-1, -1}, log[2] = {-1, -1}, timer[2] = {-1, -1}, report[2] = {-1, -1};
    if (pipe2(console, O_CLOEXEC) < 0 || pipe2(log, O_CLOEXEC) < 0 || pipe2(timer, O_CLOEXEC) < 0 ||
        pipe2(report, O_CLOEXEC) < 0) {
        tinyx_errno("cannot create pipes for %s", what);
        for (int i = 0; i < 2; i++) {
            close_fd(&console[i]);
            close_fd(&log[i]);
            close_fd(&timer[i]);
            close_fd(&report[i]);
        }
        return TINYX_EXIT_FAIL;
    }

    /* Block signals across fork so the child never runs our handlers. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_child(argv, parent, console[1], log[1], timer[1], report[1], extra_fds, n_extra);
    int fork_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close_fd(&console[1]);
    close_fd(&log[1]);
    close_fd(&timer[1]);
    close_fd(&report[1]);

    int exec_errno = 0;
    if (pid > 0) {
        /* EOF here means exec succeeded (the report pipe is close-on-exec). */
        ssize_t r;
        do
            r = read(report[0], &exec_errno, sizeof(exec_errno));
        while (r < 0 && errno == EINTR);
        if (r != (ssize_t)sizeof(exec_errno))
            exec_errno = 0;
    }
    close_fd(&report[0]);
    if (pid < 0 || exec_errno) {
        errno = pid < 0 ? fork_errno : exec_errno;
        tinyx_errno("cannot run %s", argv[0]);
        int code = errno == ENOENT ? TINYX_EXIT_ENV : TINYX_EXIT_FAIL;
        if (pid > 0)
            waitpid(pid, NULL, 0);
        close_fd(&console[0]);
        close_fd(&log[0]);
        close_fd(&timer[0]);
        return code;
    }

    fcntl(console[0], F_SETFL, O_NONBLOCK);
    fcntl(log[0], F_SETFL, O_NONBLOCK);
    fcntl(timer[0], F_SETFL, O_NONBLOCK);
    memset(vm, 0, sizeof(*vm));
    vm->console_fd = console[0];
    vm->log_fd = log[0];
    vm->timer_fd = timer[0];
    /* A pidfd turns "the VMM exited" into a pollable event; without one, console EOF says it. */
    vm->exit_fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (vm->exit_fd >= 0)
        fcntl(vm->exit_fd, F_SETFD, FD_CLOEXEC);
    vm->vmm_pid = pid;
    *pid_out = pid;
    return 0;
}

void launcher_spawn_close(struct launcher_vm *vm)
{
    close_fd(&vm->console_fd);
    close_fd(&vm->log_fd);
    close_fd(&vm->timer_fd);
    close_fd(&vm->exit_fd);
}
