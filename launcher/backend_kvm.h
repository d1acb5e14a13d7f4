/* backend_kvm.h: what the KVM backend shares: whether this host's KVM runs a kernel under
 * tinyx-kvm (the daemon's shells too), and how tinyx-kvm ended. */
#ifndef LAUNCHER_BACKEND_KVM_H
#define LAUNCHER_BACKEND_KVM_H

#include <stdbool.h>
#include <stddef.h>

#include "launcher/backend.h"
#include "launcher/hostinfo.h"
#include "launcher/kernel.h"

/* Whether tinyx-kvm can boot this kernel on this host: a usable /dev/kvm, a whole PVH ELF, and
 * not Linux on kvm_pvm (which does not run it). why gets one phrase either way, for the user
 * ("no /dev/kvm here", "/dev/kvm is kvm_pvm, which does not run Linux"). Quiet. */
bool launcher_kvm_runs_kernel(const struct launcher_kernel_info *kernel,
                              const struct launcher_host *host, char *why, size_t why_len);

/* How the VM ended, from tinyx-kvm's wait status and its stderr (the last
 * LAUNCHER_VMM_END_LINE line tells a guest status from the monitor's own exit codes). */
int launcher_backend_kvm_end(const char *vmm_log, int wait_status, struct launcher_vm_end *end);

#endif
