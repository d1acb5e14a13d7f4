/* vmm.c: the KVM monitor's lifecycle, module registry, guest-address checks and IRQ helpers. */
#include "launcher/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/layout.h"
#include "launcher/vmm_core.h"
#include "launcher/vmm_pvh.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define KVM_DEVICE "/dev/kvm"
/* The stable KVM API; every kernel since 2.6.22 reports it. */
#define KVM_API_VERSION_EXPECTED 12
#define MIB                      (1024ull * 1024)

/* The linker makes these for the "launcher_vmm_modules" section; weak, so a build without
 * any module still links (the count is then 0). */
extern const struct launcher_vmm_module *const __start_launcher_vmm_modules[] __attribute__((weak));
extern const struct launcher_vmm_module *const __stop_launcher_vmm_modules[] __attribute__((weak));

size_t launcher_vmm_module_count(void)
{
    if (!__start_launcher_vmm_modules || !__stop_launcher_vmm_modules)
        return 0;
    return (size_t)(__stop_launcher_vmm_modules - __start_launcher_vmm_modules);
}

const struct launcher_vmm_module *launcher_vmm_module_at(size_t i)
{
    return i < launcher_vmm_module_count() ? __start_launcher_vmm_modules[i] : NULL;
}

void *launcher_vmm_gpa(struct launcher_vmm *v, uint64_t gpa, uint64_t len)
{
    /* Written so no sum can overflow: gpa is checked first, then len against what is left. */
    if (!v->mem || gpa > v->mem_size || len > v->mem_size - gpa)
        return NULL;
    return v->mem + gpa;
}

bool launcher_vmm_host_is_pvm(void)
{
    /* kvm_pvm answers every ioctl like hardware KVM; only the module's presence tells. */
    return tinyx_is_dir("/sys/module/kvm_pvm");
}

bool launcher_vmm_has_tsc_deadline(struct launcher_vmm *v)
{
    return ioctl(v->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
}

int launcher_vmm_irqchip_create(struct launcher_vmm *v)
{
    if (v->irqchip)
        return 0;
    if (ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return tinyx_errno("cannot create the in-kernel interrupt controller (KVM_CREATE_IRQCHIP)");
    v->irqchip = true;
    /* Linux needs a timer it can calibrate against: the LAPIC's TSC-deadline mode (CPUID, see
     * vmm_x86.c) where KVM has it, else an in-kernel PIT (a kernel thread per VM, so only
     * then). */
    if (!launcher_vmm_has_tsc_deadline(v)) {
        struct kvm_pit_config pit = {.flags = 0};
        if (ioctl(v->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
            return tinyx_errno("cannot create the in-kernel timer (KVM_CREATE_PIT2), which a "
                               "KVM without the TSC-deadline timer needs");
    }
    return 0;
}

/* The irqchip on demand: possible only while the vCPU does not exist yet (module setup). */
static int need_irqchip(struct launcher_vmm *v)
{
    if (v->irqchip)
        return 0;
    if (v->vcpu_fd >= 0 || v->vm_fd < 0) {
        errno = ENODEV;
        return -1;
    }
    return launcher_vmm_irqchip_create(v);
}

int launcher_vmm_irq_line(struct launcher_vmm *v, unsigned gsi, int level)
{
    if (need_irqchip(v) < 0)
        return -1;
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
    return ioctl(v->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -1 : 0;
}

int launcher_vmm_irqfd(struct launcher_vmm *v, unsigned gsi)
{
    if (need_irqchip(v) < 0)
        return -1;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -1;
    struct kvm_irqfd req = {.fd = (uint32_t)fd, .gsi = gsi};
    if (ioctl(v->vm_fd, KVM_IRQFD, &req) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int launcher_vmm_ioeventfd(struct launcher_vmm *v, uint64_t addr, unsigned len)
{
    if (v->vm_fd < 0) {
        errno = ENODEV;
        return -1;
    }
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -1;
    struct kvm_ioeventfd req = {.addr = addr, .len = len, .fd = fd};
    if (ioctl(v->vm_fd, KVM_IOEVENTFD, &req) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

void launcher_vmm_stop(struct launcher_vmm *v, enum launcher_vmm_end end, int status,
                       const char *why, ...)
{
    enum launcher_vmm_end running = LAUNCHER_VMM_RUNNING;
    if (!__atomic_compare_exchange_n(&v->end, &running, end, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return; /* the first reason wins */
    v->exit_status = status;
    v->t_end = tinyx_now_us();
    if (why) {
        va_list ap;
        va_start(ap, why);
        vsnprintf(v->why, sizeof(v->why), why, ap);
        va_end(ap);
    }
    /* immediate_exit makes the next KVM_RUN return at once; the signal ends one in progress
     * (KVM returns EINTR). Together they leave no window where a stop is missed. */
    if (v->run)
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
    if (v->vcpu_thread && !pthread_equal(v->vcpu_thread, pthread_self()))
        pthread_kill(v->vcpu_thread, SIGUSR1);
}

/* Giving the VM its RAM waits for an SRCU grace period (0.1 ms idle, several ms on a busy
 * host), so it runs on a helper thread while the main thread loads the guest and creates the
 * vCPU; KVM orders the two itself. Joined before the guest runs. */
static struct {
    pthread_t thread;
    bool started;
    int err; /* errno of KVM_SET_USER_MEMORY_REGION, 0 when it worked */
    struct kvm_userspace_memory_region region;
    int vm_fd;
} memory_job;

static void *set_memory(void *arg)
{
    (void)arg;
    memory_job.err =
        ioctl(memory_job.vm_fd, KVM_SET_USER_MEMORY_REGION, &memory_job.region) < 0 ? errno : 0;
    return NULL;
}

int launcher_vmm_finish_memory(void)
{
    if (memory_job.started) {
        pthread_join(memory_job.thread, NULL);
        memory_job.started = false;
    }
    if (memory_job.err) {
        errno = memory_job.err;
        memory_job.err = 0;
        return tinyx_errno("cannot give the VM its RAM (KVM_SET_USER_MEMORY_REGION)");
    }
    return 0;
}

/* /dev/kvm, the VM and its RAM (a private mapping of ram_fd when >= 0: see vmm_core.h). */
int launcher_vmm_create_vm(struct launcher_vmm *v, int ram_fd)
{
    v->kvm_fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
    if (v->kvm_fd < 0) {
        int e = errno;
        tinyx_errno("cannot open %s", KVM_DEVICE);
        if (e == ENOENT)
            tinyx_err("this host has no KVM: load kvm_intel or kvm_amd (or use --backend qemu)");
        else if (e == EACCES)
            tinyx_err("run as root or add yourself to the kvm group");
        return TINYX_EXIT_ENV;
    }
    int api = ioctl(v->kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION_EXPECTED) {
        tinyx_err("%s speaks KVM API version %d, not %d", KVM_DEVICE, api,
                  KVM_API_VERSION_EXPECTED);
        return TINYX_EXIT_ENV;
    }
    launcher_vmm_x86_prefetch(v);
    v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
    if (v->vm_fd < 0) {
        tinyx_errno("cannot create a VM (KVM_CREATE_VM)");
        return TINYX_EXIT_ENV;
    }
    fcntl(v->vm_fd, F_SETFD, FD_CLOEXEC);
    /* Private anonymous memory: pages the guest never touches cost nothing, so the VMM's
     * resident set stays small for tiny guests however much --mem says. */
    void *mem;
    if (ram_fd >= 0) {
        struct stat st;
        if (fstat(ram_fd, &st) < 0 || (uint64_t)st.st_size != v->cfg->mem_bytes) {
            tinyx_err("the RAM template is not %llu MiB",
                      (unsigned long long)(v->cfg->mem_bytes / MIB));
            return TINYX_EXIT_FAIL;
        }
        /* Copy-on-write: the template's pages are shared until the guest writes them. */
        mem = mmap(NULL, v->cfg->mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
                   ram_fd, 0);
    } else {
        mem = mmap(NULL, v->cfg->mem_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (mem == MAP_FAILED) {
        tinyx_errno("cannot reserve %llu MiB of guest RAM",
                    (unsigned long long)(v->cfg->mem_bytes / MIB));
        return TINYX_EXIT_FAIL;
    }
    v->mem = mem;
    v->mem_size = v->cfg->mem_bytes;
    memory_job.vm_fd = v->vm_fd;
    memory_job.err = 0;
    memory_job.region = (struct kvm_userspace_memory_region){
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = v->mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)v->mem,
    };
    memory_job.started = pthread_create(&memory_job.thread, NULL, set_memory, NULL) == 0;
    if (!memory_job.started)
        set_memory(NULL);
    return 0;
}

int launcher_vmm_create_vcpu(struct launcher_vmm *v)
{
    v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
    if (v->vcpu_fd < 0)
        return tinyx_errno("cannot create the vCPU (KVM_CREATE_VCPU)");
    fcntl(v->vcpu_fd, F_SETFD, FD_CLOEXEC);
    int size = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return tinyx_errno("KVM reports a bad vCPU run-page size (%d)", size);
    void *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
    if (run == MAP_FAILED)
        return tinyx_errno("cannot map the vCPU's run page");
    v->run = run;
    v->run_size = (size_t)size;
    return 0;
}

/* The image's command line plus the modules' words. */
char *launcher_vmm_join_cmdline(const char *base, const struct strvec *words)
{
    size_t len = strlen(base) + 1;
    for (size_t i = 0; i < words->n; i++)
        len += strlen(words->v[i]) + 1;
    char *out = tinyx_xmalloc(len);
    char *p = stpcpy(out, base);
    for (size_t i = 0; i < words->n; i++) {
        if (p != out)
            *p++ = ' ';
        p = stpcpy(p, words->v[i]);
    }
    return out;
}

int launcher_vmm_check_memory(const struct launcher_vmm_config *cfg)
{
    /* The kernel loads at 1 MiB, so less than 2 MiB leaves no room for anything. */
    if (cfg->mem_bytes < 2 * MIB || cfg->mem_bytes > LAYOUT_RAM_MAX ||
        cfg->mem_bytes % LAYOUT_INITRD_ALIGN) {
        tinyx_err("guest RAM must be a whole number of pages from 2 MiB to %llu MiB (got %llu "
                  "bytes)",
                  (unsigned long long)(LAYOUT_RAM_MAX / MIB), (unsigned long long)cfg->mem_bytes);
        return TINYX_EXIT_USAGE;
    }
    return 0;
}

/* Everything after the files were checked: returns 0 or a TINYX_EXIT_* code. setup_done[i]
 * records which modules' setup ran, so teardown calls exactly those. */
static int create_and_run(struct launcher_vmm *v, const struct launcher_pvh_kernel *k,
                          bool *setup_done)
{
    const struct launcher_vmm_config *cfg = v->cfg;
    int rc = launcher_vmm_create_vm(v, -1);
    if (rc != 0)
        return rc;

    struct strvec words = STRVEC_INIT;
    for (size_t i = 0; i < launcher_vmm_module_count(); i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (!m->setup)
            continue;
        setup_done[i] = true;
        if (m->setup(v, &words) < 0) {
            tinyx_err("device %s could not be set up", m->name);
            tinyx_strvec_free(&words);
            return TINYX_EXIT_FAIL;
        }
    }
    /* Linux needs its local APIC timer, so it always gets the irqchip. */
    if (k->is_linux && launcher_vmm_irqchip_create(v) < 0) {
        tinyx_strvec_free(&words);
        return TINYX_EXIT_FAIL;
    }
    char *cmdline = launcher_vmm_join_cmdline(cfg->cmdline ? cfg->cmdline : "", &words);
    tinyx_strvec_free(&words);
    rc = launcher_vmm_pvh_load(v, k, cfg->initrd, cmdline);
    free(cmdline);
    if (rc != 0)
        return rc;
    if (!cfg->no_sandbox)
        launcher_vmm_sandbox_prepare(v);
    if (launcher_vmm_create_vcpu(v) < 0 || launcher_vmm_x86_setup(v) < 0 ||
        launcher_vmm_finish_memory() < 0)
        return TINYX_EXIT_FAIL;
    v->t_created = tinyx_now_us();

    if (launcher_vmm_io_start(v) < 0 || launcher_vmm_loop_prepare(v) < 0)
        return TINYX_EXIT_FAIL;
    /* Last, so everything above may still open files and create threads. */
    if (!cfg->no_sandbox && launcher_vmm_sandbox_install(v) < 0) {
        launcher_vmm_loop_finish(v);
        return TINYX_EXIT_FAIL;
    }
    launcher_vmm_loop(v);
    launcher_vmm_loop_finish(v);
    return 0;
}

void launcher_vmm_destroy(struct launcher_vmm *v, const bool *setup_done)
{
    launcher_vmm_finish_memory();
    launcher_vmm_x86_release();
    launcher_vmm_sandbox_release();
    launcher_vmm_io_stop(v);
    for (size_t i = launcher_vmm_module_count(); i-- > 0;) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (setup_done && setup_done[i] && m->teardown)
            m->teardown(v);
    }
    if (v->run)
        munmap(v->run, v->run_size);
    v->run = NULL;
    if (v->vcpu_fd >= 0)
        close(v->vcpu_fd);
    if (v->vm_fd >= 0)
        close(v->vm_fd);
    if (v->kvm_fd >= 0)
        close(v->kvm_fd);
    v->vcpu_fd = v->vm_fd = v->kvm_fd = -1;
    if (v->mem)
        munmap(v->mem, v->mem_size);
    v->mem = NULL;
}

int launcher_vmm_open_kernel(const struct launcher_vmm_config *cfg, struct launcher_pvh_kernel *k)
{
    int rc = launcher_vmm_check_memory(cfg);
    if (rc != 0)
        return rc;
    rc = launcher_vmm_pvh_open(cfg->kernel, k);
    if (rc != 0)
        return rc;
    if (k->is_linux && launcher_vmm_host_is_pvm()) {
        tinyx_err("%s is a Linux kernel, and /dev/kvm here is kvm_pvm (software nested "
                  "virtualisation), on which a standard Linux kernel does not boot (it stalls in "
                  "emulation); boot it under QEMU instead: tinyx-launch run IMAGE --backend qemu",
                  cfg->kernel);
        return TINYX_EXIT_ENV;
    }
    return 0;
}

int launcher_vmm_run(const struct launcher_vmm_config *cfg, struct launcher_vmm *v)
{
    v->cfg = cfg;
    v->kvm_fd = v->vm_fd = v->vcpu_fd = -1;
    if (!v->t_start)
        v->t_start = tinyx_now_us();
    struct launcher_pvh_kernel k;
    int rc = launcher_vmm_open_kernel(cfg, &k);
    if (rc != 0)
        return rc;
    bool *setup_done = tinyx_xcalloc(launcher_vmm_module_count() + 1, sizeof(bool));
    rc = create_and_run(v, &k, setup_done);
    launcher_vmm_destroy(v, setup_done);
    free(setup_done);
    return rc;
}
