/* vmm_sandbox.c: the monitor's seccomp allow-list (libseccomp), loaded right before KVM_RUN. */
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher/vmm_core.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* Sanitizer builds: the runtime's exit-time leak check runs a ptrace-ing helper that no
 * allow-list can admit, so there the filter logs what it would block instead of trapping. */
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_ACTION SCMP_ACT_LOG
#else
#define DEFAULT_ACTION SCMP_ACT_TRAP
#endif

/* What the core does once the guest runs: the vCPU loop, the I/O thread, console and timer
 * writes, messages, teardown (close, munmap) and exit. */
static const int plain_syscalls[] = {
    SCMP_SYS(read),        SCMP_SYS(write),         SCMP_SYS(readv),
    SCMP_SYS(writev),      SCMP_SYS(close),         SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait), SCMP_SYS(futex),         SCMP_SYS(exit),
    SCMP_SYS(exit_group),  SCMP_SYS(rt_sigreturn),  SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(tgkill),      SCMP_SYS(gettid),        SCMP_SYS(getpid),
    SCMP_SYS(munmap),      SCMP_SYS(madvise),       SCMP_SYS(brk),
    SCMP_SYS(mremap),      SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
    SCMP_SYS(setitimer),   SCMP_SYS(getrusage),     SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),  SCMP_SYS(sched_yield),   SCMP_SYS(restart_syscall),
    SCMP_SYS(getrandom),   SCMP_SYS(rt_sigsuspend),
};

/* Async-signal-safe: the number as decimal text. */
static size_t format_uint(char *out, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof(tmp));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void on_blocked_call(int sig, siginfo_t *info, void *uctx)
{
    (void)sig;
    (void)uctx;
    char msg[320];
    size_t n = 0;
    static const char head[] = "tinyx-kvm: error: the sandbox blocked system call ";
    static const char tail[] =
        " (seccomp); this is a monitor bug: rerun with --no-sandbox to "
        "debug, and report it\n" LAUNCHER_VMM_END_LINE "failed: blocked system call ";
    memcpy(msg, head, sizeof(head) - 1);
    n += sizeof(head) - 1;
    n += format_uint(msg + n, (unsigned long)info->si_syscall);
    memcpy(msg + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    n += format_uint(msg + n, (unsigned long)info->si_syscall);
    msg[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, msg, n);
    (void)w;
    _exit(TINYX_EXIT_FAIL);
}

static int allow(scmp_filter_ctx ctx, int nr, unsigned n_args, const struct scmp_arg_cmp *args)
{
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n_args, args);
    if (rc < 0) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        tinyx_err("cannot add system call %s to the sandbox: %s", name ? name : "?", strerror(-rc));
        free(name);
        return -1;
    }
    return 0;
}

/* An ioctl allowed with one request, on any descriptor: the filter is built before the vCPU
 * exists (see launcher_vmm_sandbox_prepare), and KVM's request numbers (type 0xae) mean
 * nothing to the monitor's other descriptors (pipes, eventfds, taps, files). */
static int allow_ioctl(scmp_filter_ctx ctx, unsigned long request)
{
    /* The request is an unsigned int in the kernel: compare the low 32 bits only. */
    struct scmp_arg_cmp arg = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request);
    return allow(ctx, SCMP_SYS(ioctl), 1, &arg);
}

static int core_rules(scmp_filter_ctx ctx)
{
    for (size_t i = 0; i < sizeof(plain_syscalls) / sizeof(plain_syscalls[0]); i++)
        if (allow(ctx, plain_syscalls[i], 0, NULL) < 0)
            return -1;
    /* Memory for malloc and threads, never executable: no new code after this point. */
    struct scmp_arg_cmp no_exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
    if (allow(ctx, SCMP_SYS(mmap), 1, &no_exec) < 0 ||
        allow(ctx, SCMP_SYS(mprotect), 1, &no_exec) < 0)
        return -1;
    static const unsigned long kvm_requests[] = {
        KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MP_STATE, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS};
    for (size_t i = 0; i < sizeof(kvm_requests) / sizeof(kvm_requests[0]); i++)
        if (allow_ioctl(ctx, kvm_requests[i]) < 0)
            return -1;
    return 0;
}

/* The filter as a BPF program (libseccomp compiles it; exporting goes through a memfd). */
static int compile(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
    int fd = memfd_create("tinyx-kvm-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return tinyx_errno("cannot compile the seccomp filter (memfd_create)");
    int rc = seccomp_export_bpf(ctx, fd);
    off_t size = rc == 0 ? lseek(fd, 0, SEEK_END) : -1;
    if (rc < 0 || size <= 0 || size % (off_t)sizeof(struct sock_filter)) {
        close(fd);
        return tinyx_err("cannot compile the seccomp filter: %s",
                         rc < 0 ? strerror(-rc) : "empty program");
    }
    struct sock_filter *code = tinyx_xmalloc((size_t)size);
    ssize_t got = pread(fd, code, (size_t)size, 0);
    close(fd);
    if (got != size) {
        free(code);
        return tinyx_err("cannot read back the compiled seccomp filter");
    }
    prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    prog->filter = code;
    return 0;
}

static int build(struct launcher_vmm *v, struct sock_fprog *prog)
{
    scmp_filter_ctx ctx = seccomp_init(DEFAULT_ACTION);
    if (!ctx)
        return tinyx_err("cannot create the seccomp filter (libseccomp)");
    int rc = core_rules(ctx);
    for (size_t i = 0; i < launcher_vmm_module_count() && rc == 0; i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (m->sandbox && m->sandbox(v, ctx) < 0)
            rc = tinyx_err("device %s could not add its sandbox rules", m->name);
    }
    if (rc == 0)
        rc = compile(ctx, prog);
    seccomp_release(ctx);
    return rc;
}

/* Compiling takes ~0.1 ms of CPU, so it runs on a helper thread while the main thread creates
 * the vCPU; installing is then one system call. */
static struct {
    pthread_t thread;
    bool started;
    int rc;
    struct sock_fprog prog;
} prepared;

static void *build_thread(void *arg)
{
    prepared.rc = build(arg, &prepared.prog);
    return NULL;
}

void launcher_vmm_sandbox_prepare(struct launcher_vmm *v)
{
    memset(&prepared, 0, sizeof(prepared));
    prepared.started = pthread_create(&prepared.thread, NULL, build_thread, v) == 0;
    if (!prepared.started)
        build_thread(v);
}

void launcher_vmm_sandbox_release(void)
{
    if (prepared.started)
        pthread_join(prepared.thread, NULL);
    free(prepared.prog.filter);
    memset(&prepared, 0, sizeof(prepared));
}

int launcher_vmm_sandbox_install(struct launcher_vmm *v)
{
    (void)v;
    if (prepared.started) {
        pthread_join(prepared.thread, NULL);
        prepared.started = false;
    }
    if (prepared.rc < 0 || !prepared.prog.filter)
        return -1; /* the message was printed */
    struct sigaction sa = {.sa_sigaction = on_blocked_call, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return tinyx_errno("cannot install the sandbox's SIGSYS handler");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return tinyx_errno("cannot set no_new_privs for the seccomp filter");
    /* TSYNC: every thread (the I/O thread) gets the filter too. */
    long rc =
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prepared.prog);
    if (rc != 0)
        return rc > 0
                   ? tinyx_err("cannot load the seccomp filter: thread %ld would not take it", rc)
                   : tinyx_errno("cannot load the seccomp filter (--no-sandbox runs without "
                                 "it)");
    return 0;
}
