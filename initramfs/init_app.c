/* init_app.c: starts the app as the plan says (session, cwd, credentials, env, argv). */
#include "initramfs/init_app.h"
#include "initramfs/init_log.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The status a shell gives a command it cannot run. */
#define APP_CANNOT_RUN 127

static _Noreturn void app_exec(const struct initramfs_plan *plan)
{
    setsid();
    /* Best effort: an interactive app gets the console as its terminal (job control, ^C). */
    if (isatty(STDIN_FILENO))
        ioctl(STDIN_FILENO, TIOCSCTTY, 0);

    /* The init blocks every signal and handles none; the app starts from the defaults. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (chdir(plan->cwd) != 0) {
        initramfs_error_errno(errno, "cannot change to the app's directory %s", plan->cwd);
        _exit(APP_CANNOT_RUN);
    }
    if (setgroups(plan->n_groups, plan->groups) != 0 || setgid(plan->gid) != 0 ||
        setuid(plan->uid) != 0) {
        initramfs_error_errno(errno, "cannot switch to uid %u gid %u (%zu groups)",
                              (unsigned)plan->uid, (unsigned)plan->gid, plan->n_groups);
        _exit(APP_CANNOT_RUN);
    }
    execve(plan->argv[0], plan->argv, plan->env ? plan->env : (char *[]){NULL});
    int e = errno;
    struct stat st;
    if (e == ENOENT && stat(plan->argv[0], &st) == 0)
        initramfs_error("cannot run %s: %s (the file exists: its ELF interpreter or #! program "
                        "is missing)",
                        plan->argv[0], strerror(e));
    else
        initramfs_error_errno(e, "cannot run %s", plan->argv[0]);
    _exit(APP_CANNOT_RUN);
}

pid_t initramfs_app_start(const struct initramfs_plan *plan)
{
    pid_t pid = fork();
    if (pid == 0)
        app_exec(plan);
    return pid;
}
