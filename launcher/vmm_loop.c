/* vmm_loop.c: the vCPU run loop: exits to the modules, how a guest ended, timeout, signals. */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "launcher/vmm_core.h"
#include "tinyx/util.h"

/* The VM the signal handlers act on (one per process) and what they saw. */
static struct launcher_vmm *volatile loop_vm;
static volatile sig_atomic_t timed_out;
static volatile sig_atomic_t interrupted_by;
static pid_t vcpu_tid;
static bool parked; /* the guest idles in HLT with interrupts on (park_idle) */

/* Every handler leaves KVM_RUN (or makes the next one return at once) on the vCPU thread; a
 * process-directed signal that landed on another thread is passed on to it. */
static void leave_guest(void)
{
    struct launcher_vmm *v = loop_vm;
    if (!v || !v->run)
        return;
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
    if (vcpu_tid && (pid_t)syscall(SYS_gettid) != vcpu_tid)
        syscall(SYS_tgkill, getpid(), vcpu_tid, SIGUSR1);
}

static void on_kick(int sig)
{
    (void)sig;
    struct launcher_vmm *v = loop_vm;
    if (v && v->run)
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
}

static void on_timeout(int sig)
{
    (void)sig;
    timed_out = 1;
    leave_guest();
}

static void on_interrupt(int sig)
{
    interrupted_by = sig;
    leave_guest();
}

int launcher_vmm_loop_prepare(struct launcher_vmm *v)
{
    loop_vm = v;
    timed_out = 0;
    interrupted_by = 0;
    parked = false;
    vcpu_tid = (pid_t)syscall(SYS_gettid);
    static const struct {
        int sig;
        void (*fn)(int);
    } handlers[] = {{SIGUSR1, on_kick},
                    {SIGALRM, on_timeout},
                    {SIGINT, on_interrupt},
                    {SIGTERM, on_interrupt},
                    {SIGHUP, on_interrupt}};
    sigset_t unblock;
    sigemptyset(&unblock);
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        /* No SA_RESTART: KVM_RUN must come back with EINTR. */
        struct sigaction sa = {.sa_handler = handlers[i].fn};
        sigemptyset(&sa.sa_mask);
        if (sigaction(handlers[i].sig, &sa, NULL) < 0)
            return tinyx_errno("cannot install the signal handlers");
        sigaddset(&unblock, handlers[i].sig);
    }
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    /* Only now may launcher_vmm_stop kick this thread: SIGUSR1 has its handler. */
    v->vcpu_thread = pthread_self();
    /* A reader that went away must not kill the monitor mid-write; the write fails instead. */
    signal(SIGPIPE, SIG_IGN);
    if (v->cfg->timeout_ms) {
        /* The timeout counts from the monitor's start, like everything it reports. */
        uint64_t limit = (uint64_t)v->cfg->timeout_ms * 1000, spent = tinyx_now_us() - v->t_start;
        uint64_t left = spent < limit ? limit - spent : 1;
        struct itimerval it = {.it_value = {.tv_sec = (time_t)(left / 1000000),
                                            .tv_usec = (suseconds_t)(left % 1000000)}};
        if (setitimer(ITIMER_REAL, &it, NULL) < 0)
            return tinyx_errno("cannot arm the --timeout timer");
    }
    return 0;
}

void launcher_vmm_loop_finish(struct launcher_vmm *v)
{
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, NULL);
    v->vcpu_thread = 0;
    loop_vm = NULL;
}

/* Give a port access to the modules; unclaimed reads see an empty bus (all ones). */
static void dispatch_pio(struct launcher_vmm *v, uint16_t port, bool is_write, uint8_t *data,
                         unsigned size)
{
    for (size_t i = 0; i < launcher_vmm_module_count(); i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (!m->pio)
            continue;
        int rc = m->pio(v, port, is_write, data, size);
        if (rc > 0)
            return;
        if (rc < 0) {
            launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0, "device %s failed on port 0x%x", m->name,
                              port);
            return;
        }
    }
    if (!is_write)
        memset(data, 0xff, size);
}

static void dispatch_mmio(struct launcher_vmm *v, uint64_t addr, bool is_write, uint8_t *data,
                          unsigned len)
{
    for (size_t i = 0; i < launcher_vmm_module_count(); i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (!m->mmio)
            continue;
        int rc = m->mmio(v, addr, is_write, data, len);
        if (rc > 0)
            return;
        if (rc < 0) {
            launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0, "device %s failed at address 0x%llx",
                              m->name, (unsigned long long)addr);
            return;
        }
    }
    if (!is_write)
        memset(data, 0xff, len);
}

static void handle_io(struct launcher_vmm *v)
{
    struct kvm_run *run = v->run;
    unsigned size = run->io.size, count = run->io.count;
    uint64_t offset = run->io.data_offset, total = (uint64_t)size * count;
    /* KVM fills these, but the run page is shared memory: trust nothing that indexes it. */
    if ((size != 1 && size != 2 && size != 4) || offset > v->run_size ||
        total > v->run_size - offset) {
        launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0,
                          "KVM reported a malformed port access (port 0x%x, %u x %u bytes)",
                          run->io.port, count, size);
        return;
    }
    uint8_t *data = (uint8_t *)run + offset;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    for (unsigned i = 0;
         i < count && __atomic_load_n(&v->end, __ATOMIC_ACQUIRE) == LAUNCHER_VMM_RUNNING; i++)
        dispatch_pio(v, run->io.port, is_write, data + (size_t)i * size, size);
}

static void handle_mmio(struct launcher_vmm *v)
{
    struct kvm_run *run = v->run;
    unsigned len = run->mmio.len;
    if (len == 0 || len > sizeof(run->mmio.data)) {
        launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0,
                          "KVM reported a malformed MMIO access (0x%llx, %u bytes)",
                          (unsigned long long)run->mmio.phys_addr, len);
        return;
    }
    dispatch_mmio(v, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data, len);
}

static const char *system_event_name(uint32_t type)
{
    switch (type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        return "power-off";
    case KVM_SYSTEM_EVENT_RESET:
        return "reset";
    case KVM_SYSTEM_EVENT_CRASH:
        return "crash report";
    default:
        return "system event";
    }
}

static void handle_internal_error(struct launcher_vmm *v, const char *state)
{
    struct kvm_run *run = v->run;
    const char *hint =
        launcher_vmm_host_is_pvm()
            ? "; /dev/kvm here is kvm_pvm, which emulates instructions a PVM guest does not "
              "use (a standard Linux kernel does not run on it: use --backend qemu)"
            : "";
    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
        launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0,
                          "KVM could not emulate a guest instruction (%s)%s", state, hint);
    else
        launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0, "KVM internal error, suberror %u (%s)%s",
                          run->internal.suberror, state, hint);
}

/* A HLT exit with interrupts enabled comes only from a VM without the in-kernel irqchip, that
 * is without devices (they bring it along), so no interrupt can ever arrive: the guest idles,
 * as a real CPU would, until the monitor is stopped (launcher_vmm_stop, --timeout, a signal).
 * The vCPU thread sleeps meanwhile; an idle VM costs the host no CPU and its creation no
 * irqchip (~1 ms under kvm_pvm). Signals are blocked around the check so none is missed. */
static void park_idle(struct launcher_vmm *v)
{
    static const int wake[] = {SIGUSR1, SIGALRM, SIGINT, SIGTERM, SIGHUP};
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof(wake) / sizeof(wake[0]); i++)
        sigaddset(&block, wake[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    parked = true;
    while (__atomic_load_n(&v->end, __ATOMIC_ACQUIRE) == LAUNCHER_VMM_RUNNING && !timed_out &&
           !interrupted_by)
        sigsuspend(&old);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void handle_exit(struct launcher_vmm *v)
{
    struct kvm_run *run = v->run;
    char state[200];
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(v);
        return;
    case KVM_EXIT_MMIO:
        handle_mmio(v);
        return;
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return;
    default:
        break;
    }
    launcher_vmm_x86_describe(v, state, sizeof(state));
    switch (run->exit_reason) {
    case KVM_EXIT_HLT:
        /* Without the in-kernel irqchip nothing can wake the vCPU again: with interrupts off
         * the guest is dead, with them on it idles until it is stopped. */
        if (run->if_flag) {
            park_idle(v);
            return;
        }
        launcher_vmm_stop(v, LAUNCHER_VMM_HALTED, 0,
                          "the guest halted (HLT) with no interrupt to wait for (%s)", state);
        return;
    case KVM_EXIT_SHUTDOWN:
        launcher_vmm_stop(v, LAUNCHER_VMM_HALTED, 0,
                          "the guest triple-faulted (a CPU exception it could not handle) or "
                          "reset itself (%s)",
                          state);
        return;
    case KVM_EXIT_SYSTEM_EVENT:
        launcher_vmm_stop(v, LAUNCHER_VMM_HALTED, 0, "the guest asked for a %s (%s)",
                          system_event_name(run->system_event.type), state);
        return;
    case KVM_EXIT_FAIL_ENTRY:
        launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0,
                          "KVM could not enter the guest (hardware entry failure reason 0x%llx; "
                          "%s)",
                          (unsigned long long)run->fail_entry.hardware_entry_failure_reason, state);
        return;
    case KVM_EXIT_INTERNAL_ERROR:
        handle_internal_error(v, state);
        return;
    default:
        launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0, "unexpected KVM exit reason %u (%s)",
                          run->exit_reason, state);
        return;
    }
}

/* Why the guest was still running at --timeout, from the state it is in. */
static void stop_timed_out(struct launcher_vmm *v)
{
    char state[200];
    launcher_vmm_x86_describe(v, state, sizeof(state));
    struct kvm_mp_state mp = {0};
    bool halted = parked || (ioctl(v->vcpu_fd, KVM_GET_MP_STATE, &mp) == 0 &&
                             mp.mp_state == KVM_MP_STATE_HALTED);
    char timer[80];
    if (v->t_boot_timer)
        snprintf(timer, sizeof(timer), "it signalled the boot timer after %.3f ms",
                 (double)(v->t_boot_timer - v->t_start) / 1000.0);
    else
        snprintf(timer, sizeof(timer), "it never signalled the boot timer");
    launcher_vmm_stop(v, LAUNCHER_VMM_TIMEOUT, 0, "the guest did not end within %u ms; %s; %s (%s)",
                      v->cfg->timeout_ms, timer,
                      halted ? "it is halted (HLT), waiting for an interrupt" : "it is running",
                      state);
}

void launcher_vmm_loop(struct launcher_vmm *v)
{
    v->t_first_run = tinyx_now_us();
    while (__atomic_load_n(&v->end, __ATOMIC_ACQUIRE) == LAUNCHER_VMM_RUNNING) {
        if (timed_out) {
            stop_timed_out(v);
            break;
        }
        if (interrupted_by) {
            launcher_vmm_stop(v, LAUNCHER_VMM_INTERRUPTED, 0, "stopped by signal %d (%s)",
                              (int)interrupted_by, strsignal(interrupted_by));
            break;
        }
        if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            launcher_vmm_stop(v, LAUNCHER_VMM_FAILED, 0, "KVM_RUN failed: %s", strerror(errno));
            break;
        }
        handle_exit(v);
    }
}
