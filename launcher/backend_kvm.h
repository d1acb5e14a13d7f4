/* backend_kvm.h: the KVM backend's reading of how tinyx-kvm ended (for the backend and tests). */
#ifndef LAUNCHER_BACKEND_KVM_H
#define LAUNCHER_BACKEND_KVM_H

#include <stdbool.h>

#include "launcher/backend.h"

/* How the VM ended, from tinyx-kvm's wait status and its stderr (the last
 * LAUNCHER_VMM_END_LINE line tells a guest status from the monitor's own exit codes). */
/* Whether tinyx-kvm can boot this kernel on this host: a whole PVH ELF, and not Linux on a
 * host whose KVM cannot run Linux (kvm_pvm). Quiet: callers choosing a backend use it. */
bool launcher_kvm_can_boot(const char *kernel_path);

int launcher_backend_kvm_end(const char *vmm_log, int wait_status, struct launcher_vm_end *end);

#endif
