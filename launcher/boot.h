/* boot.h: one boot of an image: start the VM, time it, run its check, say how it ended. */
#ifndef LAUNCHER_BOOT_H
#define LAUNCHER_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/backend.h"
#include "launcher/image.h"
#include "launcher/kernel.h"
#include "launcher/measure.h"

/* What to boot and how; the same for every run of `run --runs N`. */
struct launcher_boot_config {
    const struct launcher_image *img; /* initrd, cmdline, check, ports */
    const struct launcher_backend *backend;
    const char *accel;
    const char *kernel_path; /* the image's kernel or --kernel */
    enum launcher_virtio_discovery virtio_mmio;
    const char *append;                       /* --append words, or NULL */
    const struct launcher_vm_device *devices; /* --net, --blk */
    size_t n_devices;
    unsigned memory_mb;
    double timeout_s;
    bool until_ready;   /* stop the VM once the check passes */
    bool must_be_ready; /* a guest that exits before its check passed fails the boot */
    bool stream;        /* copy the console to stdout as it arrives */
    bool announce;      /* say where the host reaches each guest port */
    const char *label;  /* prefix of this boot's messages, e.g. "run 2/5: "; "" for none */
    const char *hint;   /* added to the failure message in parentheses, or NULL */
};

struct launcher_boot_result {
    bool started;        /* the VM was started; false: exit_code is a setup error, already told */
    const char *outcome; /* "exited", "ready", "timeout", "interrupted", "failed" */
    int exit_code;       /* what tinyx-launch would exit with after this boot alone */
    int exit_status;     /* the guest's; -1: unknown */
    int64_t boot_us;     /* VM start -> boot-timer byte; -1: not seen */
    int64_t ready_us;    /* VM start -> first passing check; -1: never */
    struct launcher_mem_sample mem; /* the VMM, sampled when ready */
    bool kernel_panic;              /* the console shows a kernel panic */
    char message[1024];             /* why the boot failed; "" when it did not */
    struct launcher_port_forward *forwards;
    size_t n_forwards;
};

/* Boot once and watch the VM until it exits, is ready (until_ready), times out or the user
 * interrupts. Prints the failure message, the console's last lines and the VMM's messages
 * when the boot fails. Returns res->exit_code. */
int launcher_boot_once(const struct launcher_boot_config *cfg, struct launcher_boot_result *res);
void launcher_boot_result_free(struct launcher_boot_result *res);

#endif
