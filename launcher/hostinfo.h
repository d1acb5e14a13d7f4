/* hostinfo.h: host facts the launcher needs: TSC frequency, whether KVM can run Linux. */
#ifndef LAUNCHER_HOSTINFO_H
#define LAUNCHER_HOSTINFO_H

#include <stddef.h>

/* The host's TSC frequency in kHz (sysfs tsc_freq_khz, else "cpu MHz" of /proc/cpuinfo), or 0
 * when neither says. */
unsigned long launcher_host_tsc_khz(void);

enum launcher_kvm_state {
    LAUNCHER_KVM_USABLE,   /* /dev/kvm opens and is a hardware-backed KVM */
    LAUNCHER_KVM_MISSING,  /* no /dev/kvm, or it cannot be opened */
    LAUNCHER_KVM_SOFTWARE, /* kvm_pvm (software nested virtualisation): tiny guests run,
                            * a standard Linux kernel does not */
};

/* Probe KVM. why (may be NULL) gets one sentence for messages. */
enum launcher_kvm_state launcher_host_kvm(char *why, size_t why_len);

#endif
