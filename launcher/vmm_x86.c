/* vmm_x86.c: the vCPU's CPUID and its PVH entry state (32-bit protected mode, EBX). */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "launcher/layout.h"
#include "launcher/vmm_core.h"
#include "tinyx/util.h"

/* Enough for every leaf KVM reports today (~80 here); KVM says E2BIG when it needs more. */
#define CPUID_MAX_ENTRIES 256

/* CPUID.1:ECX bits the monitor sets itself: KVM_GET_SUPPORTED_CPUID reports neither. Without
 * the hypervisor bit Linux ignores the KVM leaves (0x40000000: kvm-clock, the TSC rate) and
 * calibrates against a PIT; without a timer it trusts, its APIC timer fails verification and
 * sleeps never end. TSC-deadline is the in-kernel LAPIC's own timer: no calibration at all. */
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR   (1u << 31)

#define CR0_PE     (1u << 0)
#define CR0_ET     (1u << 4)
#define RFLAGS_ONE (1u << 1) /* bit 1 of EFLAGS always reads as 1 */

/* Selectors are not architecturally meaningful here (no GDT yet); these match Linux's
 * __BOOT_CS/__BOOT_DS so a guest that looks at them sees familiar values. */
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_TR 0x20

/* KVM_GET_SUPPORTED_CPUID takes ~0.3 ms here (every host CPUID leaf traps to the outer
 * hypervisor), so it runs on its own thread while the main thread creates the VM. */
static struct {
    pthread_t thread;
    bool started;
    int err; /* errno of the query, 0 when it worked */
    struct kvm_cpuid2 *cpuid;
} supported;

static void *query_supported_cpuid(void *arg)
{
    int kvm_fd = (int)(intptr_t)arg;
    size_t bytes = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    supported.cpuid = tinyx_xcalloc(1, bytes);
    supported.cpuid->nent = CPUID_MAX_ENTRIES;
    supported.err = ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, supported.cpuid) < 0 ? errno : 0;
    return NULL;
}

void launcher_vmm_x86_prefetch(struct launcher_vmm *v)
{
    memset(&supported, 0, sizeof(supported));
    /* Without a thread the query simply runs later, in launcher_vmm_x86_setup. */
    supported.started = pthread_create(&supported.thread, NULL, query_supported_cpuid,
                                       (void *)(intptr_t)v->kvm_fd) == 0;
}

void launcher_vmm_x86_release(void)
{
    if (supported.started)
        pthread_join(supported.thread, NULL);
    free(supported.cpuid);
    memset(&supported, 0, sizeof(supported));
}

/* The guest's CPUID is what KVM can give, with the topology of one vCPU (APIC ID 0), the
 * hypervisor bit, and the TSC-deadline timer where the in-kernel LAPIC has one. */
static int setup_cpuid(struct launcher_vmm *v)
{
    if (supported.started) {
        pthread_join(supported.thread, NULL);
        supported.started = false;
    } else if (!supported.cpuid) {
        query_supported_cpuid((void *)(intptr_t)v->kvm_fd);
    }
    struct kvm_cpuid2 *cpuid = supported.cpuid;
    if (supported.err) {
        errno = supported.err;
        return tinyx_errno("cannot read the CPU features KVM supports (KVM_GET_SUPPORTED_CPUID)");
    }
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function == 1) {
            e->ebx &= 0x00ffffffu; /* initial APIC ID */
            e->ecx |= CPUID1_ECX_HYPERVISOR;
            if (launcher_vmm_has_tsc_deadline(v))
                e->ecx |= CPUID1_ECX_TSC_DEADLINE;
        } else if (e->function == 0xb || e->function == 0x1f)
            e->edx = 0; /* x2APIC ID */
    }
    if (ioctl(v->vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
        return tinyx_errno("cannot set the vCPU's CPUID (KVM_SET_CPUID2)");
    return 0;
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
    return (struct kvm_segment){
        .base = 0,
        .limit = 0xffffffffu,
        .selector = selector,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = 1, /* 32-bit */
        .s = 1,  /* code or data */
        .l = 0,
        .g = 1, /* limit in pages: 4 GiB */
    };
}

int launcher_vmm_x86_setup(struct launcher_vmm *v)
{
    if (setup_cpuid(v) < 0)
        return -1;
    struct kvm_sregs sregs;
    if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return tinyx_errno("cannot read the vCPU's segment registers (KVM_GET_SREGS)");
    /* The PVH entry state (xen docs/misc/pvh.pandoc): CR0.PE only, CR4 = 0, flat 4 GiB code
     * and data segments, TR a 32-bit TSS. ET is read-as-one on every CPU since the 486. */
    sregs.cs = flat_segment(BOOT_CS, 0xb); /* execute/read, accessed */
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(BOOT_DS, 0x3);
    sregs.tr = (struct kvm_segment){.base = 0,
                                    .limit = 0x67,
                                    .selector = BOOT_TR,
                                    .type = 0xb, /* 32-bit TSS, busy */
                                    .present = 1,
                                    .s = 0};
    sregs.cr0 = CR0_PE | CR0_ET;
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return tinyx_errno("cannot enter 32-bit protected mode (KVM_SET_SREGS)");
    struct kvm_regs regs = {
        .rip = v->entry,
        .rbx = LAYOUT_START_INFO,
        .rflags = RFLAGS_ONE,
    };
    if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return tinyx_errno("cannot set the vCPU's registers (KVM_SET_REGS)");
    return 0;
}

void launcher_vmm_x86_describe(struct launcher_vmm *v, char *out, size_t len)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (!len)
        return;
    out[0] = '\0';
    if (v->vcpu_fd < 0 || ioctl(v->vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
        ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return;
    const char *mode = !(sregs.cr0 & CR0_PE) ? "real mode"
                       : sregs.cs.l          ? "64-bit mode"
                       : sregs.cs.db         ? "32-bit protected mode"
                                             : "16-bit protected mode";
    snprintf(out, len, "rip 0x%llx, %s, rflags 0x%llx, cr0 0x%llx, cr3 0x%llx",
             (unsigned long long)regs.rip, mode, (unsigned long long)regs.rflags,
             (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3);
}
