/* trace_ptrace.c: the seccomp filter and the ptrace event handling that record file syscalls. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tinyx/trace_internal.h"
#include "tinyx/util.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452 /* Linux 6.6; newer than the build host's headers */
#endif

/* How a traced syscall names files: up to two path arguments, each with an optional dirfd
 * argument (none: relative to the cwd). */
struct file_syscall {
    const char *name;
    int nr;
    signed char path[2];  /* argument index of a path string, -1: none */
    signed char dirfd[2]; /* argument index of its dirfd, -1: AT_FDCWD */
    /* argument index of flags where AT_EMPTY_PATH means "the fd itself": such calls (glibc's
     * fstat) are left untraced by the filter, they name no file. -1: none */
    signed char empty_path_flags;
    unsigned char kind;
};

enum { KIND_PATH = 0, KIND_EXEC, KIND_SOCKADDR /* path[0]: sockaddr, path[1]: its length */ };

#define SC(n, p0, d0, p1, d1, ef, k)                                                               \
    {                                                                                              \
#n, __NR_##n, {p0, p1 }, {d0, d1 }, ef, k                                                  \
    }
#define PATH0(n) SC(n, 0, -1, -1, -1, -1, KIND_PATH)
#define AT01(n)  SC(n, 1, 0, -1, -1, -1, KIND_PATH)

static const struct file_syscall file_syscalls[] = {
    PATH0(open),
    PATH0(creat),
    AT01(openat),
    AT01(openat2),
    PATH0(stat),
    PATH0(lstat),
    SC(newfstatat, 1, 0, -1, -1, 3, KIND_PATH),
    SC(statx, 1, 0, -1, -1, 2, KIND_PATH),
    PATH0(access),
    AT01(faccessat),
    AT01(faccessat2),
    PATH0(readlink),
    AT01(readlinkat),
    SC(execve, 0, -1, -1, -1, -1, KIND_EXEC),
    SC(execveat, 1, 0, -1, -1, -1, KIND_EXEC),
    PATH0(chdir),
    PATH0(chroot),
    PATH0(mkdir),
    AT01(mkdirat),
    PATH0(mknod),
    AT01(mknodat),
    PATH0(rmdir),
    PATH0(unlink),
    AT01(unlinkat),
    SC(rename, 0, -1, 1, -1, -1, KIND_PATH),
    SC(renameat, 1, 0, 3, 2, -1, KIND_PATH),
    SC(renameat2, 1, 0, 3, 2, -1, KIND_PATH),
    SC(link, 0, -1, 1, -1, -1, KIND_PATH),
    SC(linkat, 1, 0, 3, 2, -1, KIND_PATH),
    SC(symlink, 1, -1, -1, -1, -1, KIND_PATH), /* the target is data, not a lookup */
    SC(symlinkat, 2, 1, -1, -1, -1, KIND_PATH),
    PATH0(truncate),
    PATH0(statfs),
    PATH0(chmod),
    AT01(fchmodat),
    AT01(fchmodat2),
    PATH0(chown),
    PATH0(lchown),
    AT01(fchownat),
    PATH0(utime),
    PATH0(utimes),
    AT01(futimesat),
    AT01(utimensat),
    PATH0(getxattr),
    PATH0(lgetxattr),
    PATH0(setxattr),
    PATH0(lsetxattr),
    PATH0(listxattr),
    PATH0(llistxattr),
    PATH0(removexattr),
    PATH0(lremovexattr),
    SC(inotify_add_watch, 1, -1, -1, -1, -1, KIND_PATH),
    SC(fanotify_mark, 4, 3, -1, -1, -1, KIND_PATH),
    AT01(name_to_handle_at),
    SC(bind, 1, -1, 2, -1, -1, KIND_SOCKADDR),
    SC(connect, 1, -1, 2, -1, -1, KIND_SOCKADDR),
};

#define N_FILE_SYSCALLS (sizeof(file_syscalls) / sizeof(file_syscalls[0]))
#define MAX_NR          512

static const struct file_syscall *by_nr[MAX_NR];

static void index_syscalls(void)
{
    static bool done;
    if (done)
        return;
    for (size_t i = 0; i < N_FILE_SYSCALLS; i++)
        if (file_syscalls[i].nr >= 0 && file_syscalls[i].nr < MAX_NR)
            by_nr[file_syscalls[i].nr] = &file_syscalls[i];
    done = true;
}

int tinyx_tracer_build_filter(struct sock_fprog *prog)
{
#ifndef __x86_64__
    (void)prog;
    return tinyx_err("the file-access tracer supports x86_64 hosts only");
#else
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return tinyx_err("cannot create a seccomp filter (libseccomp)");
    int rc = 0;
    /* Root installs the filter before dropping to the app's user: no no_new_privs needed, and
     * 32-bit syscalls simply go untraced instead of killing the app. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
    for (size_t i = 0; i < N_FILE_SYSCALLS && rc == 0; i++) {
        const struct file_syscall *sc = &file_syscalls[i];
        int r;
        if (sc->empty_path_flags >= 0)
            r = seccomp_rule_add(
                ctx, SCMP_ACT_TRACE(0), sc->nr, 1,
                SCMP_CMP((unsigned)sc->empty_path_flags, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0));
        else
            r = seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), sc->nr, 0);
        if (r < 0) {
            /* An older libseccomp may not know the newest syscalls: trace the rest. */
            if (sc->nr == __NR_fchmodat2)
                tinyx_debug("trace: libseccomp does not know %s; not traced", sc->name);
            else
                rc = tinyx_err("cannot add %s to the seccomp filter: %s", sc->name, strerror(-r));
        }
    }
    /* io_uring can open files without a syscall we could see; apps fall back to plain syscalls
     * when it is missing (as it is in a minimal guest kernel). */
    if (rc == 0 && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0) < 0)
        tinyx_debug("trace: cannot deny io_uring_setup");
    int fd = -1;
    if (rc == 0) {
        fd = memfd_create("tinyx-trace-bpf", MFD_CLOEXEC);
        if (fd < 0)
            rc = tinyx_errno("memfd_create");
    }
    if (rc == 0) {
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
            rc = tinyx_err("cannot export the seccomp filter: %s", strerror(-r));
    }
    if (rc == 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
            size / (off_t)sizeof(struct sock_filter) > USHRT_MAX) {
            rc = tinyx_err("the exported seccomp filter has a bad size (%lld bytes)",
                           (long long)size);
        } else {
            struct sock_filter *code = tinyx_xmalloc((size_t)size);
            if (pread(fd, code, (size_t)size, 0) != (ssize_t)size) {
                free(code);
                rc = tinyx_errno("cannot read the exported seccomp filter");
            } else {
                prog->filter = code;
                prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
            }
        }
    }
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return rc;
#endif
}

/* ---- the table of live tracees ------------------------------------------------------------ */

static struct tinyx_tracee *find(const struct tinyx_tracer *tr, pid_t pid)
{
    for (size_t i = 0; i < tr->n_live; i++)
        if (tr->live[i].pid == pid)
            return &tr->live[i];
    return NULL;
}

static struct tinyx_tracee *find_or_add(struct tinyx_tracer *tr, pid_t pid, bool started)
{
    struct tinyx_tracee *t = find(tr, pid);
    if (t)
        return t;
    if (tr->n_live == tr->cap_live) {
        tr->cap_live = tr->cap_live ? tr->cap_live * 2 : 16;
        tr->live = tinyx_xrealloc(tr->live, tr->cap_live * sizeof(*tr->live));
    }
    t = &tr->live[tr->n_live++];
    t->pid = pid;
    t->started = started;
    return t;
}

static void drop(struct tinyx_tracer *tr, pid_t pid)
{
    struct tinyx_tracee *t = find(tr, pid);
    if (t)
        *t = tr->live[--tr->n_live];
}

bool tinyx_tracer_is_traced(const struct tinyx_tracer *tr, pid_t pid)
{
    return find(tr, pid) != NULL;
}

void tinyx_tracer_signal_all(const struct tinyx_tracer *tr, int sig)
{
    for (size_t i = 0; i < tr->n_live; i++)
        kill(tr->live[i].pid, sig);
}

int tinyx_tracer_attach(struct tinyx_tracer *tr, pid_t pid)
{
    memset(tr, 0, sizeof(*tr));
    tr->root_fd = tr->netns_fd = -1;
    tr->main_pid = pid;
    index_syscalls();
    long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)opts) < 0)
        return tinyx_errno("cannot trace the app (ptrace) - is another tracer or a security "
                           "module (Yama, seccomp) in the way?");
    find_or_add(tr, pid, true);
    return 0;
}

/* ---- one stop ----------------------------------------------------------------------------- */

#ifdef __x86_64__
static void note_sockaddr(struct tinyx_tracer *tr, pid_t pid, unsigned long addr, unsigned long len)
{
    struct sockaddr_un sun;
    size_t min = offsetof(struct sockaddr_un, sun_path) + 1;
    if (!addr || len <= min || len > sizeof(sun))
        return;
    memset(&sun, 0, sizeof(sun));
    if (tinyx_tracee_read(pid, addr, &sun, len) < 0 || sun.sun_family != AF_UNIX ||
        sun.sun_path[0] == '\0') /* abstract sockets name no file */
        return;
    char path[sizeof(sun.sun_path) + 1];
    memcpy(path, sun.sun_path, sizeof(sun.sun_path));
    path[sizeof(sun.sun_path)] = '\0';
    tinyx_tracer_note(tr, pid, AT_FDCWD, path);
}

static void on_syscall(struct tinyx_tracer *tr, pid_t pid)
{
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0)
        return;
    long nr = (long)regs.orig_rax;
    if (nr < 0 || nr >= MAX_NR || !by_nr[nr])
        return;
    const struct file_syscall *sc = by_nr[nr];
    unsigned long args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
    tr->n_stops++;
    tr->last_activity_us = tinyx_now_us();
    tinyx_tracer_learn_root(tr, pid);
    if (sc->kind == KIND_SOCKADDR) {
        note_sockaddr(tr, pid, args[sc->path[0]], args[sc->path[1]]);
        return;
    }
    char path[PATH_MAX + 1];
    for (int i = 0; i < 2; i++) {
        if (sc->path[i] < 0)
            continue;
        if (tinyx_tracee_read_string(pid, args[sc->path[i]], path, sizeof(path)) < 0)
            continue;
        int dirfd = sc->dirfd[i] >= 0 ? (int)args[sc->dirfd[i]] : AT_FDCWD;
        tinyx_tracer_note(tr, pid, dirfd, path);
        if (sc->kind == KIND_EXEC)
            tinyx_tracer_note_exec(tr, pid, dirfd, path);
    }
}
#else
static void on_syscall(struct tinyx_tracer *tr, pid_t pid)
{
    (void)tr;
    (void)pid;
}
#endif

static bool is_stop_signal(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void tinyx_tracer_handle(struct tinyx_tracer *tr, pid_t pid, int status)
{
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        drop(tr, pid);
        if (pid == tr->main_pid) {
            tr->main_exited = true;
            tr->main_status = status;
        }
        return;
    }
    if (!WIFSTOPPED(status))
        return;
    /* A new child's first stop can come before its parent's fork event. */
    struct tinyx_tracee *t = find_or_add(tr, pid, false);
    int sig = WSTOPSIG(status), event = (int)((unsigned)status >> 16), inject = 0;
    unsigned long msg = 0;
    switch (event) {
    case PTRACE_EVENT_SECCOMP:
        on_syscall(tr, pid);
        break;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
        if (ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg) == 0 && msg)
            find_or_add(tr, (pid_t)msg, false);
        t = find(tr, pid); /* the table may have moved */
        break;
    case PTRACE_EVENT_EXEC:
        /* A non-leader thread that execs takes over the leader's pid: forget its old tid. */
        if (ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg) == 0 && (pid_t)msg != pid) {
            drop(tr, (pid_t)msg);
            t = find(tr, pid);
        }
        if (pid == tr->main_pid)
            tr->main_exec_done = true;
        {
            /* What really runs (also covers fexecve and execs through /proc/self/exe). */
            char *exe = tinyx_tracer_guest_link(tr, pid, "exe");
            if (exe)
                tinyx_strmap_add(&tr->paths, exe, NULL);
            free(exe);
        }
        break;
    case PTRACE_EVENT_STOP:
        if (t && !t->started)
            break; /* the attach stop of an auto-attached child */
        if (is_stop_signal(sig)) {
            /* A group-stop: stay stopped (like untraced) until SIGCONT. */
            if (t)
                t->started = true;
            ptrace(PTRACE_LISTEN, pid, NULL, NULL);
            return;
        }
        break;
    case 0:
        inject = sig; /* signal-delivery-stop: deliver the signal */
        break;
    default:
        break;
    }
    if (t)
        t->started = true;
    ptrace(PTRACE_CONT, pid, NULL, (void *)(long)inject);
}

void tinyx_tracer_take_paths(struct tinyx_tracer *tr, struct strvec *out)
{
    const char **keys = tinyx_strmap_sorted_keys(&tr->paths);
    for (size_t i = 0; i < tr->paths.n; i++)
        tinyx_strvec_push(out, keys[i]);
    free(keys);
    tinyx_strvec_sort_unique(out);
}

void tinyx_tracer_free(struct tinyx_tracer *tr)
{
    if (tr->root_fd >= 0)
        close(tr->root_fd);
    if (tr->netns_fd >= 0)
        close(tr->netns_fd);
    tr->root_fd = tr->netns_fd = -1;
    free(tr->prefix);
    tr->prefix = NULL;
    free(tr->live);
    tr->live = NULL;
    tr->n_live = tr->cap_live = 0;
    tinyx_strmap_free(&tr->paths);
}
