/* vmm_shell.h: tinyx-kvm --shell, the prepared VM shell the launcher daemon runs. */
#ifndef LAUNCHER_VMM_SHELL_H
#define LAUNCHER_VMM_SHELL_H

#include "launcher/vmm.h"

/* Prepare a VM (RAM a private mapping of ram_fd, the image template the daemon loaded; the
 * kernel file is only checked), report SHELL_ABI_READY on sock, wait for the execute record
 * (launcher/shell_abi.h), then run the guest like launcher_vmm_run, boot-timer bytes going to
 * sock. Returns 0 when the VM ran (v->end says how it ended), -1 when the daemon closed the
 * socket before the execute record (nothing to report), or a TINYX_EXIT_* code after a
 * message (also sent as SHELL_ABI_FAILED). cfg is updated with the execute record's values. */
int launcher_vmm_shell(struct launcher_vmm_config *cfg, struct launcher_vmm *v, int sock,
                       int ram_fd);

#endif
