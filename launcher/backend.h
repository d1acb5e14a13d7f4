/* backend.h: the hook table every VM backend fills in; the core never names a backend. */
#ifndef LAUNCHER_BACKEND_H
#define LAUNCHER_BACKEND_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "launcher/kernel.h"

/* A guest TCP port and where the host reaches it: host_addr:host_port. Either a forward of the
 * VMM's user-mode network (127.0.0.1 and a free port of the host), or direct: the guest's own
 * address on a tap, and the guest port itself. */
struct launcher_port_forward {
    int guest_port;
    char host_addr[INET_ADDRSTRLEN];
    int host_port;
    bool direct; /* host_addr is the guest's own address: nothing forwards or proxies it */
};

/* A device the user asked for (`run --net` / `--blk`), created by the backend in its own way:
 * tinyx-kvm's --net/--blk, or QEMU's -netdev tap / -drive with virtio-mmio devices. */
enum launcher_vm_device_kind {
    LAUNCHER_VM_DEVICE_NET, /* virtio-net over a host tap */
    LAUNCHER_VM_DEVICE_BLK, /* virtio-blk over a raw disk image */
};

struct launcher_vm_device {
    enum launcher_vm_device_kind kind;
    union {
        struct {
            char tap[IFNAMSIZ];    /* a name, or a pattern with one %d the kernel completes */
            char bridge[IFNAMSIZ]; /* an existing bridge to attach the tap to; "": none */
            bool have_mac;         /* false: the backend derives one from the tap name */
            uint8_t mac[6];
            /* ip=A.B.C.D/P, gw=A.B.C.D: the guest's address on this tap (the device page of
             * tinyx-kvm, tinyx.ip=/tinyx.gw= for QEMU); the launcher reaches its ports there */
            bool have_ip, have_gw;
            uint8_t ip[4], gw[4]; /* network order */
            unsigned prefix;
        } net;
        struct {
            char *path; /* the disk image (owned by whoever filled the device in) */
            bool read_only;
        } blk;
    };
};

/* What to boot. The backend appends its per-instance kernel parameters (guest network,
 * clock hints) to cmdline, then append. It makes sure a guest kernel panic ends the VM
 * (panic=-1 unless the command line sets panic=). */
struct launcher_vm_spec {
    const char *image_dir; /* the image folder (the daemon backend boots it by name) */
    const char *kernel_path;
    const char *initrd_path;
    const char *cmdline; /* the image's command line */
    const char *append;  /* extra words from the user, last so they win; NULL: none */
    enum launcher_virtio_discovery virtio_mmio; /* how the kernel finds the virtio-mmio devices */
    unsigned memory_mb;
    /* Guest ports the host must reach while the guest has no address of its own on a --net
     * device (else the core connects to that address and passes none here). A backend with a
     * user-mode network forwards each from 127.0.0.1:host_port; one without (kvm) gives the
     * guest a tap link to the host instead and says where in launcher_vm.ports_addr. */
    const struct launcher_port_forward *forwards;
    size_t n_forwards;
    /* Extra devices, in the order given. A net device replaces the user-mode network: the
     * caller never asks for port forwards together with one. */
    const struct launcher_vm_device *devices;
    size_t n_devices;
    const char *accel; /* as chosen by the backend's prepare() */
};

/* A running VM as the core sees it: file descriptors to poll and a process to measure. */
struct launcher_vm {
    const struct launcher_backend *backend;
    int console_fd; /* guest serial console output; non-blocking; EOF when the VM is gone */
    int timer_fd;   /* bytes the guest wrote to the boot-timer port; non-blocking */
    int log_fd;     /* the VMM's own diagnostics (non-blocking), or -1 */
    int exit_fd;    /* readable once the VM has ended, or -1: then console EOF means ended */
    pid_t vmm_pid;  /* the process whose memory is reported (the VMM) */
    /* Set by start() when the spec's forwards are reached at this guest address instead (on
     * the guest port): a link the backend made; "" otherwise. */
    char ports_addr[INET_ADDRSTRLEN];
    void *priv; /* the backend's state */
};

enum launcher_vm_end_kind {
    LAUNCHER_VM_END_STATUS,     /* the guest wrote its exit status to the exit port */
    LAUNCHER_VM_END_RESET,      /* the guest reset or powered off without a status (reboot,
                                 * triple fault, kernel panic with panic=-1) */
    LAUNCHER_VM_END_VMM_FAILED, /* the VMM itself failed; its log says why */
    LAUNCHER_VM_END_KILLED,     /* the VMM died from a signal */
};

struct launcher_vm_end {
    enum launcher_vm_end_kind kind;
    int code; /* STATUS: the guest's status; VMM_FAILED: VMM exit code; KILLED: signal */
};

struct launcher_host;

/* What `run` without --backend asks of each backend before choosing one: the kernel (inspected
 * once), the options, and this host (probed once; tests make up both). */
struct launcher_boot_request {
    const char *kernel_path;
    const struct launcher_kernel_info *kernel;
    bool kernel_from_option; /* --kernel: not the image's own kernel */
    const char *accel;       /* --accel, or NULL */
    /* A guest port the host must reach (the first) while no --net device gives the guest an
     * address (ip=), or 0: a backend forwards it, or links the guest to the host itself. */
    int forward_port;
    unsigned memory_mb;
    const struct launcher_vm_device *devices;
    size_t n_devices;
    const struct launcher_host *host;
};

struct launcher_backend {
    const char *name;      /* --backend NAME */
    const char *summary;   /* one line for --help */
    const char *pick_when; /* for --help: when the automatic choice takes it ("when ...";
                            * a newline starts a continuation line) */
    const char *accels;    /* accelerators --accel accepts, e.g. "tcg|kvm"; NULL: none */
    /* True when a host connect to a forwarded port succeeds before the guest accepts it (a
     * user-mode NAT proxies the connection), so a bare TCP connect proves nothing. */
    bool ports_proxied;
    /* True when the VMM forwards guest ports from free ports of 127.0.0.1 (a user-mode
     * network); the core then picks those ports. Without one, start() gives a guest that has no
     * --net address a link to the host itself and says where (launcher_vm.ports_addr). */
    bool forwards_ports;
    /* The automatic choice: whether this backend can boot req here. true with why saying why it
     * suits ("this host's /dev/kvm runs Linux guests"), or false with why saying what stands in
     * the way ("no /dev/kvm here"); both for the user, one phrase without a final period. NULL:
     * it boots anything (the last resort). --accel is checked before (against accels). */
    bool (*can_boot)(const struct launcher_boot_request *req, char *why, size_t why_len);
    /* Check that this host can run the backend and choose the accelerator (requested may be
     * NULL: pick the best that works here). *accel_out points to static storage; note gets one
     * sentence on why that accelerator (for the user). Prints what is wrong and returns a
     * TINYX_EXIT_* code; 0 when usable. */
    int (*prepare)(const char *requested_accel, const char **accel_out, char *note,
                   size_t note_len);
    /* Create and start the VM; fills *vm. Returns 0, or a TINYX_EXIT_* code after a message. */
    int (*start)(const struct launcher_vm_spec *spec, struct launcher_vm *vm);
    /* Called once the VM has ended (exit_fd readable or console EOF): reap it and say how it
     * ended. vmm_log is what the core read from log_fd (may be ""). Returns 0 or -1. */
    int (*wait)(struct launcher_vm *vm, const char *vmm_log, struct launcher_vm_end *end);
    /* Stop the VM now. Safe to call at any time and more than once. */
    void (*stop)(struct launcher_vm *vm);
    /* Stop if still running, close every descriptor, free priv. */
    void (*release)(struct launcher_vm *vm);
};

/* The backend called name, or NULL (after a message listing the known ones). */
const struct launcher_backend *launcher_backend_find(const char *name);
/* The last resort of the automatic choice (it boots anything). */
const struct launcher_backend *launcher_backend_default(void);
/* The automatic choice (`run` without --backend): the first backend in order of preference that
 * can boot req (launcher_backend_preferred), with one phrase in why saying why: its own, or for
 * the last resort what kept the one before it out. Quiet; never NULL. */
const struct launcher_backend *launcher_backend_pick(const struct launcher_boot_request *req,
                                                     char *why, size_t why_len);
/* The i-th backend in the automatic choice's order of preference, or NULL past the last. */
const struct launcher_backend *launcher_backend_preferred(size_t i);
/* Number of compiled-in backends and the i-th one (for --help). */
size_t launcher_backend_count(void);
const struct launcher_backend *launcher_backend_at(size_t i);

#endif
