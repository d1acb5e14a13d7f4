/* vmm_core.h: the KVM monitor core's internal interfaces between its files (not for modules). */
#ifndef LAUNCHER_VMM_CORE_H
#define LAUNCHER_VMM_CORE_H

#include <stdbool.h>

#include "launcher/vmm.h"
#include "launcher/vmm_pvh.h"

/* vmm.c: whether /dev/kvm is kvm_pvm (software nested virtualisation), which runs tiny PVH
 * guests but not a standard Linux kernel. */
bool launcher_vmm_host_is_pvm(void);
/* vmm.c: whether KVM's in-kernel LAPIC offers the TSC-deadline timer. */
bool launcher_vmm_has_tsc_deadline(struct launcher_vmm *v);
/* vmm.c: KVM_CREATE_IRQCHIP now (before the vCPU), and an in-kernel PIT when KVM has no
 * TSC-deadline timer. 0, or -1 after a message. */
int launcher_vmm_irqchip_create(struct launcher_vmm *v);

/* vmm.c: the steps of launcher_vmm_run, for the prepared shell (vmm_shell.c). */
/* --mem in range, the kernel's headers checked, a Linux kernel on kvm_pvm refused: 0 or a
 * TINYX_EXIT_* code after a message. */
int launcher_vmm_open_kernel(const struct launcher_vmm_config *cfg, struct launcher_pvh_kernel *k);
int launcher_vmm_check_memory(const struct launcher_vmm_config *cfg);
/* /dev/kvm, KVM_CREATE_VM and guest RAM: anonymous, or when ram_fd >= 0 a MAP_PRIVATE
 * (copy-on-write) mapping of that file, which must be exactly cfg->mem_bytes long. The RAM
 * slot is given to KVM on a helper thread: launcher_vmm_finish_memory() joins it. 0 or a
 * TINYX_EXIT_* code after a message. */
int launcher_vmm_create_vm(struct launcher_vmm *v, int ram_fd);
int launcher_vmm_finish_memory(void);
/* KVM_CREATE_VCPU and its run page. 0, or -1 after a message. */
int launcher_vmm_create_vcpu(struct launcher_vmm *v);
/* base + " " + each word (malloc'd). */
char *launcher_vmm_join_cmdline(const char *base, const struct strvec *words);
/* Undo everything: helper threads, I/O thread, modules whose setup_done[i] (may be NULL: no
 * module), vCPU, VM, RAM. */
void launcher_vmm_destroy(struct launcher_vmm *v, const bool *setup_done);

/* vmm_x86.c: start reading KVM_GET_SUPPORTED_CPUID on a helper thread (v->kvm_fd open), so
 * it overlaps VM creation; launcher_vmm_x86_release joins it and frees the result. */
void launcher_vmm_x86_prefetch(struct launcher_vmm *v);
void launcher_vmm_x86_release(void);
/* vmm_x86.c: CPUID from KVM_GET_SUPPORTED_CPUID, and the PVH entry state: 32-bit protected
 * mode, flat segments, EIP = v->entry, EBX = start_info. 0, or -1 after a message. */
int launcher_vmm_x86_setup(struct launcher_vmm *v);
/* vmm_x86.c: "rip 0x... (32-bit protected mode)" or similar for messages; "" on failure. */
void launcher_vmm_x86_describe(struct launcher_vmm *v, char *out, size_t len);

/* vmm_loop.c: signal handlers (stop kick, --timeout, SIGINT/SIGTERM/SIGHUP) for the calling
 * thread, which becomes the vCPU thread. 0, or -1 after a message. */
int launcher_vmm_loop_prepare(struct launcher_vmm *v);
/* vmm_loop.c: run the vCPU until the VM ends (v->end is then set). */
void launcher_vmm_loop(struct launcher_vmm *v);
/* vmm_loop.c: undo launcher_vmm_loop_prepare (timer off, default handlers). */
void launcher_vmm_loop_finish(struct launcher_vmm *v);

/* vmm_io.c: start the I/O thread when something is watched (all signals blocked in it), and
 * stop it (wake, join, close). 0, or -1 after a message. */
int launcher_vmm_io_start(struct launcher_vmm *v);
void launcher_vmm_io_stop(struct launcher_vmm *v);

/* vmm_sandbox.c: the seccomp allow-list, core rules plus each module's (after every setup):
 * prepare compiles it on a helper thread, install loads it for every thread of the process
 * (0, or -1 after a message), release frees what is left (any path). */
void launcher_vmm_sandbox_prepare(struct launcher_vmm *v);
int launcher_vmm_sandbox_install(struct launcher_vmm *v);
void launcher_vmm_sandbox_release(void);

#endif
