/* backend_kvm.h: the KVM backend's reading of how tinyx-kvm ended (for the backend and tests). */
#ifndef LAUNCHER_BACKEND_KVM_H
#define LAUNCHER_BACKEND_KVM_H

#include "launcher/backend.h"

/* How the VM ended, from tinyx-kvm's wait status and its stderr (the last
 * LAUNCHER_VMM_END_LINE line tells a guest status from the monitor's own exit codes). */
int launcher_backend_kvm_end(const char *vmm_log, int wait_status, struct launcher_vm_end *end);

#endif
