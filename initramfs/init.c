/* init.c: tinyx-init, the guest's PID 1: sets up, runs and supervises the app, powers off. */

/* No shell runs at boot: this program mounts, loads modules and configures the network itself,
 * then forks the app, reaps and forwards signals in one loop, and passes the app's status out. */
#include "initramfs/boot_abi.h"
#include "initramfs/init_app.h"
#include "initramfs/init_cmdline.h"
#include "initramfs/init_devpage.h"
#include "initramfs/init_log.h"
#include "initramfs/init_modules.h"
#include "initramfs/init_mount.h"
#include "initramfs/init_net.h"
#include "initramfs/init_plan.h"
#include "initramfs/init_power.h"
#include "initramfs/plan_abi.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Status for "the app never ran": a bad plan or command line, or no fork. */
#define STATUS_BOOT_FAILED 127
/* After the app's main process exits: how long the rest get after SIGTERM, then SIGKILL. */
#define STOP_GRACE_MS 2000
#define KILL_GRACE_MS 1000

/* Signals the init passes on to the app's process group. Each goes on as itself, except
 * SIGPWR (power failing / power button), which becomes SIGTERM, the signal apps handle.
 * SIGINT also arrives on Ctrl-Alt-Del (reboot(RB_DISABLE_CAD) below). */
static int forwarded_as(int sig)
{
    switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGHUP:
    case SIGUSR1:
    case SIGUSR2:
        return sig;
    case SIGPWR:
        return SIGTERM;
    default:
        return 0;
    }
}

static int status_of(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return STATUS_BOOT_FAILED;
}

/* Reap every exited child, orphans reparented to PID 1 included; the app's status goes to
 * *app_status. Returns true when no child is left (then no user process is left: they all
 * descend from PID 1). */
static bool reap(pid_t app, int *app_status)
{
    for (;;) {
        int wstatus;
        pid_t pid = waitpid(-1, &wstatus, WNOHANG);
        if (pid > 0) {
            if (pid == app && app_status) {
                *app_status = status_of(wstatus);
                initramfs_debug("app (pid %d) ended, status %d", (int)pid, *app_status);
            } else {
                initramfs_debug("reaped pid %d", (int)pid);
            }
            continue;
        }
        if (pid < 0 && errno == EINTR)
            continue;
        return pid < 0 && errno == ECHILD;
    }
}

static long ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000L + (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Reap until no process is left or ms pass. Returns true if none is left. */
static bool wait_all_gone(long ms)
{
    sigset_t chld;
    struct timespec deadline;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (;;) {
        if (reap(0, NULL))
            return true;
        long left = ms_until(&deadline);
        if (left <= 0)
            return false;
        struct timespec timeout = {left / 1000, (left % 1000) * 1000000L};
        sigtimedwait(&chld, NULL, &timeout);
    }
}

/* The app's main process has ended: what it left behind gets SIGTERM, then SIGKILL. */
static void stop_the_rest(void)
{
    if (reap(0, NULL))
        return;
    initramfs_debug("sending SIGTERM to the remaining processes");
    kill(-1, SIGTERM);
    kill(-1, SIGCONT); /* a stopped process acts on SIGTERM only once continued */
    if (wait_all_gone(STOP_GRACE_MS))
        return;
    initramfs_debug("sending SIGKILL to the remaining processes");
    kill(-1, SIGKILL);
    if (!wait_all_gone(KILL_GRACE_MS))
        initramfs_error("some processes did not end after SIGKILL; powering off anyway");
}

/* The one signal loop (BusyBox init style): every signal stays blocked and is taken here
 * synchronously, so there are no handlers and no races with them. Returns the app's status. */
static int supervise(pid_t app)
{
    sigset_t all;
    int app_status = -1;
    sigfillset(&all);
    while (app_status < 0) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0)
            continue; /* EINTR: a ptrace stop */
        if (sig == SIGCHLD) {
            reap(app, &app_status);
            continue;
        }
        int to = forwarded_as(sig);
        if (!to) {
            initramfs_debug("ignored signal %d from pid %d", sig, (int)info.si_pid);
            continue;
        }
        initramfs_debug("signal %d from pid %d: sending %d to the app", sig, (int)info.si_pid, to);
        /* Until the child has called setsid() its process group does not exist yet. */
        if (kill(-app, to) != 0 && errno == ESRCH)
            kill(app, to);
    }
    stop_the_rest();
    return app_status;
}

int main(void)
{
    static char cmdline_text[INITRAMFS_CMDLINE_MAX];
    static struct initramfs_cmdline cmdline;
    static struct initramfs_plan plan;
    static struct initramfs_devpage devpage;
    char err[512];
    sigset_t all;

    /* Block everything first: a signal to PID 1 must not be lost before the loop runs. */
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    /* Ctrl-Alt-Del then sends SIGINT to PID 1 (forwarded) instead of an instant reboot. */
    reboot(RB_DISABLE_CAD);
    initramfs_console_ensure();

    ssize_t n = initramfs_read_proc_cmdline(cmdline_text, sizeof cmdline_text);
    if (n < 0) {
        initramfs_error_errno(errno, "cannot read /proc/cmdline; going on without tinyx.* "
                                     "settings");
        n = 0;
    }
    if (initramfs_cmdline_parse(cmdline_text, (size_t)n, &cmdline, err, sizeof err) != 0) {
        initramfs_error("kernel command line: %s", err);
        initramfs_power_off(STATUS_BOOT_FAILED);
    }
    initramfs_log_set_debug(cmdline.debug);
    while (n > 0 && cmdline_text[n - 1] == '\n')
        cmdline_text[--n] = '\0';
    initramfs_debug("started; command line: %s", cmdline_text);

    if (initramfs_plan_load(PLAN_ABI_PATH, &plan, err, sizeof err) != 0) {
        initramfs_error("%s", err);
        initramfs_power_off(STATUS_BOOT_FAILED);
    }
    initramfs_debug("plan: %zu mounts, %zu modules, %zu env, %zu args, uid %u gid %u, cwd %s",
                    plan.n_mounts, plan.n_modules, plan.n_env, plan.argc, (unsigned)plan.uid,
                    (unsigned)plan.gid, plan.cwd);

    initramfs_mount_all(&plan);
    initramfs_console_reopen();
    initramfs_modules_load(&plan, &cmdline);
    /* The toolstack's device page (noxs), when it wrote one, wins over tinyx.ip=/tinyx.gw=. */
    bool have_page = initramfs_devpage_find(&devpage);
    initramfs_net_setup(&plan, &cmdline, have_page ? &devpage : NULL);

    pid_t app = initramfs_app_start(&plan);
    if (app < 0) {
        initramfs_error_errno(errno, "cannot start %s: fork failed", plan.argv[0]);
        initramfs_power_off(STATUS_BOOT_FAILED);
    }
    initramfs_boot_timer_ready();
    initramfs_debug("app started: pid %d, %s", (int)app, plan.argv[0]);

    int status = supervise(app);
    initramfs_debug("powering off with status %d", status);
    initramfs_power_off(status);
}
