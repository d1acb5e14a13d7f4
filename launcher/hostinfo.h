/* hostinfo.h: host facts the launcher needs: TSC frequency, whether KVM can run Linux, whether
 * it may make taps. */
#ifndef LAUNCHER_HOSTINFO_H
#define LAUNCHER_HOSTINFO_H

#include <stdbool.h>
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

/* What this host's /dev/kvm is: probed by launcher_host_probe, or made up by tests. */
struct launcher_host {
    int kvm_errno;  /* 0: /dev/kvm opens read-write; else why not (ENOENT: there is none) */
    bool kvm_pvm;   /* the kvm_pvm module is loaded: a /dev/kvm is software nested virtualisation */
    bool net_admin; /* we hold CAP_NET_ADMIN (may create taps and give them addresses) */
    int tun_errno;  /* 0: /dev/net/tun opens read-write; else why not */
};

void launcher_host_probe(struct launcher_host *host);
/* What host says about KVM. why (may be NULL) gets one sentence for messages. */
enum launcher_kvm_state launcher_host_kvm_state(const struct launcher_host *host, char *why,
                                                size_t why_len);
/* Probe KVM (launcher_host_probe, then launcher_host_kvm_state). */
enum launcher_kvm_state launcher_host_kvm(char *why, size_t why_len);

#endif
