/* trace_sandbox.c: the traced app's sandbox: namespaces, an overlay on the staged root, chroot. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tinyx/proc.h"
#include "tinyx/trace_internal.h"
#include "tinyx/util.h"

/* Host devices an app may reasonably open; tty is there so that opening it fails the normal
 * way (no controlling terminal) instead of with ENOENT. */
static const char *const dev_nodes[TINYX_SANDBOX_N_DEVS] = {"null",   "zero",    "full",
                                                            "random", "urandom", "tty"};
static const char *const dev_link_names[4] = {"fd", "stdin", "stdout", "stderr"};
static const char *const dev_link_targets[4] = {"/proc/self/fd", "/proc/self/fd/0",
                                                "/proc/self/fd/1", "/proc/self/fd/2"};

/* A temp folder for upper/work/merged that is not inside the root (overlayfs refuses
 * overlapping layers): $TMPDIR or /tmp, else beside the root. */
static char *make_temp_dir(const char *root_real)
{
    const char *tmp = getenv("TMPDIR");
    char *parent = tinyx_xstrdup(root_real);
    char *slash = strrchr(parent, '/');
    if (slash)
        slash[slash == parent ? 1 : 0] = '\0';
    const char *bases[2] = {tmp && *tmp ? tmp : "/tmp", parent};
    char *dir = NULL;
    size_t rlen = strlen(root_real);
    for (int i = 0; i < 2 && !dir; i++) {
        char *templ = tinyx_xasprintf("%s/%stinyx-trace-XXXXXX", bases[i], i ? "." : "");
        if (!mkdtemp(templ)) {
            tinyx_debug("cannot create %s: %s", templ, strerror(errno));
            free(templ);
            continue;
        }
        char *real = realpath(templ, NULL);
        bool inside = !real || !strcmp(root_real, "/") ||
                      (!strncmp(real, root_real, rlen) && real[rlen] == '/');
        if (inside) {
            rmdir(templ);
            free(real);
        } else {
            dir = real;
        }
        free(templ);
    }
    free(parent);
    if (!dir)
        tinyx_err("cannot create a temp folder for the trace overlay outside %s (tried $TMPDIR "
                  "or /tmp, and beside the root); set TMPDIR to a writable folder",
                  root_real);
    return dir;
}

int tinyx_sandbox_prepare(struct tinyx_sandbox *sb, const struct tinyx_trace_spec *spec)
{
    char *root_real = realpath(spec->root, NULL);
    if (!root_real)
        return tinyx_errno("cannot use the staged root %s", spec->root);
    if (strpbrk(root_real, ",:\\")) {
        tinyx_err("the staged root path %s contains ',', ':' or '\\', which overlayfs options "
                  "cannot carry; move it to a plain path",
                  root_real);
        free(root_real);
        return -1;
    }
    sb->dir = make_temp_dir(root_real);
    if (!sb->dir) {
        free(root_real);
        return -1;
    }
    tinyx_cleanup_add(sb->dir); /* removed even if tinyx is interrupted */
    if (strpbrk(sb->dir, ",:\\")) {
        tinyx_err("the temp folder %s contains ',', ':' or '\\'; set TMPDIR to a plain path",
                  sb->dir);
        free(root_real);
        return -1;
    }
    sb->merged = tinyx_xasprintf("%s/merged", sb->dir);
    sb->mem_at = tinyx_xasprintf("%s/mem", sb->dir);
    sb->mem_upper = tinyx_xasprintf("%s/mem/upper", sb->dir);
    sb->mem_work = tinyx_xasprintf("%s/mem/work", sb->dir);
    sb->mem_opts = tinyx_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", root_real, sb->mem_upper,
                                   sb->mem_work);
    sb->upper = tinyx_xasprintf("%s/upper", sb->dir);
    sb->work = tinyx_xasprintf("%s/work", sb->dir);
    sb->disk_opts =
        tinyx_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", root_real, sb->upper, sb->work);
    free(root_real);
    if (mkdir(sb->merged, 0755) < 0 || mkdir(sb->mem_at, 0755) < 0 || mkdir(sb->upper, 0755) < 0 ||
        mkdir(sb->work, 0755) < 0)
        return tinyx_errno("cannot create the trace overlay folders in %s", sb->dir);
    sb->proc_at = tinyx_xasprintf("%s/proc", sb->merged);
    sb->sys_at = tinyx_xasprintf("%s/sys", sb->merged);
    sb->dev_at = tinyx_xasprintf("%s/dev", sb->merged);
    sb->shm_at = tinyx_xasprintf("%s/dev/shm", sb->merged);
    for (int i = 0; i < TINYX_SANDBOX_N_DEVS; i++)
        sb->dev_node_at[i] = tinyx_xasprintf("%s/dev/%s", sb->merged, dev_nodes[i]);
    for (int i = 0; i < 4; i++)
        sb->dev_link_at[i] = tinyx_xasprintf("%s/dev/%s", sb->merged, dev_link_names[i]);
    sb->cwd = spec->cwd && *spec->cwd ? spec->cwd : "/";
    sb->uid = spec->uid;
    sb->gid = spec->gid;
    sb->groups = spec->groups;
    sb->n_groups = spec->n_groups;
    sb->argv = spec->argv;
    sb->envp = spec->envp;
    return 0;
}

void tinyx_sandbox_destroy(struct tinyx_sandbox *sb)
{
    if (sb->dir) {
        tinyx_rm_rf(sb->dir);
        tinyx_cleanup_remove(sb->dir);
    }
    free(sb->dir);
    free(sb->merged);
    free(sb->mem_at);
    free(sb->mem_upper);
    free(sb->mem_work);
    free(sb->mem_opts);
    free(sb->upper);
    free(sb->work);
    free(sb->disk_opts);
    free(sb->proc_at);
    free(sb->sys_at);
    free(sb->dev_at);
    free(sb->shm_at);
    for (int i = 0; i < TINYX_SANDBOX_N_DEVS; i++)
        free(sb->dev_node_at[i]);
    for (int i = 0; i < 4; i++)
        free(sb->dev_link_at[i]);
    memset(sb, 0, sizeof(*sb));
}

/* ---- the child: system calls only from here to execve ----------------------------------- */

static void __attribute__((noreturn)) child_fail(const struct tinyx_sandbox *sb, int step)
{
    struct tinyx_sandbox_report rep = {step, errno};
    ssize_t w = write(sb->report_fd, &rep, sizeof(rep));
    (void)w;
    _exit(126);
}

static int mkdir_quiet(const char *path, mode_t mode)
{
    return mkdir(path, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* A tmpfs /dev holding bind mounts of a few host devices and the usual /proc/self links. */
static int setup_dev(const struct tinyx_sandbox *sb)
{
    if (mkdir_quiet(sb->dev_at, 0755) < 0 ||
        mount("tmpfs", sb->dev_at, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1024k") < 0)
        return -1;
    for (int i = 0; i < TINYX_SANDBOX_N_DEVS; i++) {
        char host[32] = "/dev/";
        strcat(host, dev_nodes[i]);
        int fd = open(sb->dev_node_at[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            return -1;
        close(fd);
        /* Only /dev/null is essential; a host without /dev/tty still traces. */
        if (mount(host, sb->dev_node_at[i], NULL, MS_BIND, NULL) < 0) {
            if (i == 0)
                return -1;
            unlink(sb->dev_node_at[i]);
        }
    }
    for (int i = 0; i < 4; i++)
        if (symlink(dev_link_targets[i], sb->dev_link_at[i]) < 0)
            return -1;
    if (mkdir_quiet(sb->shm_at, 01777) < 0)
        return -1;
    return chmod(sb->shm_at, 01777);
}

static int mount_overlay(const struct tinyx_sandbox *sb)
{
    if (mount("tmpfs", sb->mem_at, "tmpfs", 0, "mode=755") == 0) {
        if (mkdir(sb->mem_upper, 0755) == 0 && mkdir(sb->mem_work, 0755) == 0 &&
            mount("overlay", sb->merged, "overlay", 0, sb->mem_opts) == 0)
            return 0;
        umount2(sb->mem_at, MNT_DETACH); /* e.g. a tmpfs without xattrs: use the disk */
    }
    return mount("overlay", sb->merged, "overlay", 0, sb->disk_opts);
}

static int loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int e = errno;
    close(s);
    errno = e;
    return rc;
}

static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL); /* SIGKILL/SIGSTOP and libc-reserved ones just fail */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

void tinyx_sandbox_child(const struct tinyx_sandbox *sb)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    reset_signals();
    char go;
    if (read(sb->go_fd, &go, 1) != 1)
        _exit(126); /* the parent could not attach and gave up */
    close(sb->go_fd);
    setsid(); /* its own session: no terminal, and a process group of its own */
    umask(022);

    if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
        child_fail(sb, TINYX_STEP_UNSHARE);
    /* Nothing mounted here may leak back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(sb, TINYX_STEP_PRIVATE);
    if (mount_overlay(sb) < 0)
        child_fail(sb, TINYX_STEP_OVERLAY);
    if (mkdir_quiet(sb->proc_at, 0555) < 0 ||
        mount("proc", sb->proc_at, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(sb, TINYX_STEP_PROC);
    /* sysfs is a nicety (CPU counts, ...): apps fall back without it. */
    if (mkdir_quiet(sb->sys_at, 0555) == 0)
        mount("sysfs", sb->sys_at, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    if (setup_dev(sb) < 0)
        child_fail(sb, TINYX_STEP_DEV);
    if (loopback_up() < 0)
        child_fail(sb, TINYX_STEP_LOOPBACK);

    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(sb->out_fd, STDOUT_FILENO) < 0 ||
        dup2(sb->out_fd, STDERR_FILENO) < 0)
        child_fail(sb, TINYX_STEP_STDIO);
    if (chroot(sb->merged) < 0)
        child_fail(sb, TINYX_STEP_CHROOT);
    if (chdir(sb->cwd) < 0)
        child_fail(sb, TINYX_STEP_CHDIR);
    /* No fd of ours may reach the app (the report pipe closes itself at exec). */
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 4096; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);

    /* From here every file syscall stops for the tracer; we are still root, so no
     * no_new_privs is needed and set-uid programs inside the app keep working. */
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sb->filter) < 0)
        child_fail(sb, TINYX_STEP_SECCOMP);
    if (setgroups(sb->n_groups, sb->groups) < 0 || setgid(sb->gid) < 0 || setuid(sb->uid) < 0)
        child_fail(sb, TINYX_STEP_CREDS);
    static char *const empty_env[] = {NULL};
    execve(sb->argv[0], sb->argv, sb->envp ? sb->envp : empty_env);
    child_fail(sb, TINYX_STEP_EXEC);
}

/* ---- messages for the parent ------------------------------------------------------------ */

int tinyx_sandbox_explain(const struct tinyx_sandbox *sb, const struct tinyx_trace_spec *spec,
                          const struct tinyx_sandbox_report *rep)
{
    const char *why = strerror(rep->err);
    switch (rep->step) {
    case TINYX_STEP_UNSHARE:
        tinyx_err("cannot create mount/network/UTS/IPC namespaces for the trace: %s (needs root "
                  "with CAP_SYS_ADMIN; in a container, run it privileged)",
                  why);
        break;
    case TINYX_STEP_PRIVATE:
        tinyx_err("cannot make the trace's mounts private: %s", why);
        break;
    case TINYX_STEP_OVERLAY:
        if (rep->err == ENODEV)
            tinyx_err("cannot trace: overlayfs is not available in this kernel (try `modprobe "
                      "overlay`)");
        else
            tinyx_err("cannot mount an overlay on the staged root %s at %s: %s (tried a tmpfs "
                      "and the folder %s as its writable layer; set TMPDIR to a folder on ext4, "
                      "xfs or tmpfs)",
                      spec->root, sb->merged, why, sb->dir);
        break;
    case TINYX_STEP_PROC:
        tinyx_err("cannot mount /proc in the trace sandbox: %s", why);
        break;
    case TINYX_STEP_DEV:
        tinyx_err("cannot set up /dev in the trace sandbox: %s", why);
        break;
    case TINYX_STEP_LOOPBACK:
        tinyx_err("cannot bring up the loopback interface in the trace sandbox: %s", why);
        break;
    case TINYX_STEP_STDIO:
        tinyx_err("cannot set up the app's stdin/stdout/stderr: %s", why);
        break;
    case TINYX_STEP_CHROOT:
        tinyx_err("cannot chroot into the trace overlay %s: %s", sb->merged, why);
        break;
    case TINYX_STEP_CHDIR:
        tinyx_err("cannot enter the app's working folder %s inside %s: %s (set cwd to a folder "
                  "that exists in the root)",
                  sb->cwd, spec->root, why);
        break;
    case TINYX_STEP_SECCOMP:
        tinyx_err("cannot install the tracing seccomp filter: %s (the kernel needs "
                  "CONFIG_SECCOMP_FILTER)",
                  why);
        break;
    case TINYX_STEP_CREDS:
        tinyx_err("cannot switch the app to uid %u gid %u (%zu groups): %s", (unsigned)sb->uid,
                  (unsigned)sb->gid, sb->n_groups, why);
        break;
    case TINYX_STEP_EXEC:
        if (rep->err == ENOENT)
            tinyx_err("cannot run %s in the staged root %s: it, or the ELF interpreter or "
                      "\"#!\" program it names, does not exist there",
                      spec->argv[0], spec->root);
        else
            tinyx_err("cannot run %s in the staged root %s: %s", spec->argv[0], spec->root, why);
        return TINYX_TRACE_EXEC_FAILED;
    default:
        tinyx_err("the trace sandbox failed at step %d: %s", rep->step, why);
        break;
    }
    return TINYX_TRACE_SETUP_FAILED;
}

/* ---- can this host trace at all? -------------------------------------------------------- */

int tinyx_trace_available(char **why)
{
    *why = NULL;
    if (geteuid() != 0) {
        *why = tinyx_xstrdup("tracing the app needs root (namespaces, overlayfs mounts)");
        return -1;
    }
    /* Mount an overlay on an empty root in a throw-away namespace, the way a trace does. */
    const char *tmp = getenv("TMPDIR");
    char *lower = tinyx_xasprintf("%s/tinyx-probe-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(lower)) {
        *why = tinyx_xasprintf("cannot create a temp folder %s: %s", lower, strerror(errno));
        free(lower);
        return -1;
    }
    struct tinyx_trace_spec spec = {.root = lower};
    struct tinyx_sandbox sb;
    memset(&sb, 0, sizeof(sb));
    int rc = -1, pipefd[2];
    if (tinyx_sandbox_prepare(&sb, &spec) < 0) {
        *why = tinyx_xstrdup("cannot prepare the overlay folders (see the message above)");
    } else if (pipe2(pipefd, O_CLOEXEC) < 0) {
        *why = tinyx_xasprintf("pipe: %s", strerror(errno));
    } else {
        pid_t pid = fork();
        if (pid == 0) {
            int step = TINYX_STEP_NONE;
            if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
                step = TINYX_STEP_UNSHARE;
            else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                step = TINYX_STEP_PRIVATE;
            else if (mount_overlay(&sb) < 0)
                step = TINYX_STEP_OVERLAY;
            struct tinyx_sandbox_report rep = {step, errno};
            ssize_t w = write(pipefd[1], &rep, sizeof(rep));
            (void)w;
            _exit(0);
        }
        close(pipefd[1]);
        struct tinyx_sandbox_report rep = {TINYX_STEP_WAIT, errno};
        if (pid > 0) {
            if (read(pipefd[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
                rep.step = TINYX_STEP_WAIT;
            waitpid(pid, NULL, 0);
        }
        close(pipefd[0]);
        if (rep.step == TINYX_STEP_NONE)
            rc = 0;
        else if (rep.step == TINYX_STEP_UNSHARE)
            *why = tinyx_xasprintf("cannot create namespaces: %s", strerror(rep.err));
        else if (rep.step == TINYX_STEP_OVERLAY && rep.err == ENODEV)
            *why = tinyx_xstrdup("overlayfs is not available in this kernel (try "
                                 "`modprobe overlay`)");
        else if (rep.step == TINYX_STEP_OVERLAY)
            *why = tinyx_xasprintf("cannot mount overlayfs (writable layer in a tmpfs or %s): %s",
                                   sb.dir, strerror(rep.err));
        else
            *why = tinyx_xasprintf("the namespace probe failed (step %d): %s", rep.step,
                                   strerror(rep.err));
    }
    tinyx_sandbox_destroy(&sb);
    rmdir(lower);
    free(lower);
    return rc;
}
