/* vmm.h: Tinyx's KVM monitor (tinyx-kvm): one process, one VM, one vCPU. The core creates the
 * VM, loads a PVH kernel, and runs the vCPU; devices are modules that plug in through a struct
 * of hooks, so the core never names a device (as in Solo5's hvt). Every guest address a module
 * touches goes through launcher_vmm_gpa(), which bounds-checks it against guest RAM. */
#ifndef LAUNCHER_VMM_H
#define LAUNCHER_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyx/strvec.h"

struct kvm_run;

/* What to run (filled from tinyx-kvm's command line). */
struct launcher_vmm_config {
    const char *kernel;  /* ELF with a XEN_ELFNOTE_PHYS32_ENTRY note (PVH) */
    const char *initrd;  /* or NULL; passed as PVH module 0 */
    const char *cmdline; /* the image's command line; modules append their words */
    uint64_t mem_bytes;  /* guest RAM */
    int console_fd;      /* guest serial output is written here */
    int timer_fd;        /* every byte the guest writes to BOOT_ABI_TIMER_PORT is written
                            here, as is (the reader timestamps it); -1: ignore */
    unsigned timeout_ms; /* 0: none; the monitor ends the VM when it expires */
    bool no_sandbox;     /* debugging only: skip the seccomp filter */
};

/* How the VM ended (the process exit code encodes it, see "tinyx-kvm's exit" below). */
enum launcher_vmm_end {
    LAUNCHER_VMM_RUNNING = 0,
    LAUNCHER_VMM_EXIT_STATUS, /* the guest wrote its status to BOOT_ABI_EXIT_PORT */
    LAUNCHER_VMM_HALTED,      /* HLT with no interrupt to wait for, a reset, a triple fault */
    LAUNCHER_VMM_TIMEOUT,     /* config timeout_ms expired */
    LAUNCHER_VMM_FAILED, /* the monitor failed (bad guest access, KVM error): message printed */
    LAUNCHER_VMM_INTERRUPTED, /* SIGINT, SIGTERM or SIGHUP */
};

struct launcher_vmm {
    const struct launcher_vmm_config *cfg;
    int kvm_fd, vm_fd, vcpu_fd; /* -1 (or 0 before launcher_vmm_run) when not open */
    struct kvm_run *run;        /* the vCPU's shared run page */
    size_t run_size;
    uint8_t *mem; /* guest RAM, host mapping of guest-physical [0, mem_size) */
    uint64_t mem_size;
    uint64_t entry;       /* guest-physical PVH entry point */
    bool irqchip;         /* the in-kernel PIC, IOAPIC and LAPIC exist (see launcher_vmm_irqfd) */
    bool kernel_is_linux; /* the kernel carries a "Linux" ELF note (see vmm_pvh.c) */
    enum launcher_vmm_end end; /* set once, by launcher_vmm_stop */
    int exit_status;           /* LAUNCHER_VMM_EXIT_STATUS: the byte the guest wrote */
    char why[512];             /* how it ended, for people ("triple fault at rip 0x100020") */
    /* CLOCK_MONOTONIC microseconds: process start (main), VM created, first guest
     * instruction (KVM_RUN entered), boot-timer byte seen, VM ended. 0 = not reached. */
    uint64_t t_start, t_created, t_first_run, t_boot_timer, t_end;
    struct launcher_vmm_io *io; /* the I/O thread (watches fds for modules); NULL: none */
    pthread_t vcpu_thread;      /* the thread in KVM_RUN (launcher_vmm_stop kicks it) */
};

/* Host pointer to guest-physical [gpa, gpa + len), or NULL when any byte of it lies outside
 * guest RAM (also on overflow). len 0 is valid for gpa <= mem_size. Every guest-supplied
 * address goes through this. */
void *launcher_vmm_gpa(struct launcher_vmm *v, uint64_t gpa, uint64_t len);

/* Interrupts. The in-kernel irqchip (KVM_CREATE_IRQCHIP: PIC, IOAPIC at 0xfec00000, LAPIC at
 * 0xfee00000) is created on first use of launcher_vmm_irq_line or launcher_vmm_irqfd from a
 * module's setup(), because KVM only allows it before the vCPU exists; a VM whose modules never
 * ask has none (it boots faster, and a guest HLT then ends the VM instead of sleeping). The core
 * also creates it for Linux kernels. After setup these calls fail (-1, errno ENODEV) when
 * the VM has no irqchip; v->irqchip says whether it has one. */

/* Raise (level 1) or lower (0) a GSI of the in-kernel IOAPIC. For edge interrupts from device
 * threads prefer irqfd (launcher_vmm_irqfd). 0 or -1. */
int launcher_vmm_irq_line(struct launcher_vmm *v, unsigned gsi, int level);
/* An eventfd that injects GSI gsi when written (KVM_IRQFD). Returns the fd or -1. */
int launcher_vmm_irqfd(struct launcher_vmm *v, unsigned gsi);
/* An eventfd that KVM signals when the guest writes to MMIO address addr (len bytes, any value)
 * without leaving the guest (KVM_IOEVENTFD). Returns the fd or -1. */
int launcher_vmm_ioeventfd(struct launcher_vmm *v, uint64_t addr, unsigned len);

/* Call fn(v, ctx) on the I/O thread whenever fd is readable (level-triggered: fn must drain
 * it). Modules register in setup(); the thread starts before the vCPU runs, and only when
 * something is watched. At most LAUNCHER_VMM_MAX_WATCHES. 0 or -1 (message printed). */
#define LAUNCHER_VMM_MAX_WATCHES 32
int launcher_vmm_watch(struct launcher_vmm *v, int fd,
                       void (*fn)(struct launcher_vmm *v, void *ctx), void *ctx);

/* End the VM from any thread (e.g. the exit port): the vCPU loop stops at its next exit, or at
 * once when it is in the guest. The first call wins; later ones are ignored. why (may be NULL)
 * is a printf format for v->why. */
void launcher_vmm_stop(struct launcher_vmm *v, enum launcher_vmm_end end, int status,
                       const char *why, ...) __attribute__((format(printf, 4, 5)));

/* A device module. Hooks may be NULL. Return conventions: 1 = handled/consumed, 0 = not mine,
 * -1 = error (a message was printed; the VM ends with LAUNCHER_VMM_FAILED). */
struct launcher_vmm_module {
    const char *name;
    const char *usage; /* its command-line options for --help, e.g. "--net=TAP[,mac=..]" */
    /* A command-line option the core does not know. name includes the dashes ("--net");
     * value is what followed "=" or the next argument when that does not start with "--",
     * else NULL (a flag). Called before launcher_vmm_run, in command-line order. */
    int (*option)(const char *name, const char *value);
    /* VM and RAM exist, the vCPU does not yet (interrupts: see launcher_vmm_irqfd); the guest
     * is not loaded yet. Create devices, append kernel command-line words (e.g.
     * "virtio_mmio.device=512@0xd0000000:5"). */
    int (*setup)(struct launcher_vmm *v, struct strvec *cmdline_words);
    /* A port I/O exit. For IN, fill data[0..size). Runs on the vCPU thread. */
    int (*pio)(struct launcher_vmm *v, uint16_t port, bool is_write, uint8_t *data, unsigned size);
    /* An MMIO exit. For reads, fill data[0..len). Runs on the vCPU thread. */
    int (*mmio)(struct launcher_vmm *v, uint64_t addr, bool is_write, uint8_t *data, unsigned len);
    /* Add the seccomp rules this module needs while the VM runs (scmp_filter_ctx). Called
     * once, after every setup and before the vCPU exists, possibly on a helper thread. The
     * core allows: read, write, KVM_RUN/KVM_IRQ_LINE/KVM_GET_*REGS ioctls, epoll_wait, futex,
     * close, memory management without PROT_EXEC, signals to itself, exit. */
    int (*sandbox)(struct launcher_vmm *v, void *seccomp_ctx);
    /* The VM has ended (or setup failed): close fds, remove taps. Called for every module
     * whose setup was called, on the thread that called launcher_vmm_run, after the I/O
     * thread stopped. */
    void (*teardown)(struct launcher_vmm *v);
};

/* Register a module: the core finds every module in the "launcher_vmm_modules" section. */
#define LAUNCHER_VMM_MODULE(mod)                                                                   \
    static const struct launcher_vmm_module *const launcher_vmm_module_ptr_##mod                   \
        __attribute__((section("launcher_vmm_modules"), used)) = &(mod)

/* Iterate over the registered modules. */
size_t launcher_vmm_module_count(void);
const struct launcher_vmm_module *launcher_vmm_module_at(size_t i);

/* The whole lifecycle: check the kernel, create the VM, load, run until the guest ends, tear
 * down. v must be zeroed by the caller, who may set v->t_start first. Returns 0 when the VM
 * ran (v->end and v->why say how it ended), or a TINYX_EXIT_* code after a message when it
 * could not start: TINYX_EXIT_IMAGE (bad kernel/initrd file, does not fit in RAM),
 * TINYX_EXIT_ENV (no usable KVM; a Linux kernel on kvm_pvm), TINYX_EXIT_FAIL (other). */
int launcher_vmm_run(const struct launcher_vmm_config *cfg, struct launcher_vmm *v);

/* tinyx-kvm's exit: the guest's status (0-255) when it wrote one to BOOT_ABI_EXIT_PORT;
 * otherwise a tinyx/exitcode.h code: 1 the monitor failed (KVM error, emulation failure, bad
 * guest access, blocked system call), 2 bad command line, 5 the guest halted, reset or
 * triple-faulted without a status, 6 the host cannot run it (no /dev/kvm; a Linux kernel on
 * kvm_pvm), 7 --timeout expired, 8 bad kernel or initrd (missing, corrupt, no PVH note, does
 * not fit in --mem), 130 interrupted. The two ranges overlap, so the last line tinyx-kvm
 * writes to stderr says which it was (launchers parse it):
 *   "tinyx-kvm: vm ended: status N" | "... halted: WHY" | "... timeout: WHY" |
 *   "... failed: WHY" | "... interrupted" */
#define LAUNCHER_VMM_END_LINE "tinyx-kvm: vm ended: "

#endif
