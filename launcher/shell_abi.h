/* shell_abi.h: the messages between the launcher daemon and a prepared shell (tinyx-kvm
 * --shell): one SOCK_SEQPACKET socketpair, fixed-size binary records. Host-only. */
#ifndef LAUNCHER_SHELL_ABI_H
#define LAUNCHER_SHELL_ABI_H

#include <net/if.h>
#include <stdint.h>

#include "guest-drivers/devpage_abi.h"
#include "launcher/layout.h"

/* Descriptors a shell finds at exec: its socket to the daemon, the image's RAM template. */
#define SHELL_ABI_FD_SOCK 3
#define SHELL_ABI_FD_RAM  4

#define SHELL_ABI_EXEC_MAGIC 0x43455854u /* "TXEC" */

/* Shell -> daemon. A 1-byte packet is a boot-timer byte, as the guest wrote it. */
enum shell_abi_msg_type {
    SHELL_ABI_READY = 1,   /* prepared: VM, RAM, irqchip, vCPU; waiting for the exec record */
    SHELL_ABI_STARTED = 2, /* about to enter the guest (t_us) */
    SHELL_ABI_FAILED = 3,  /* could not prepare or start: code, text */
};

struct shell_abi_msg {
    uint32_t type;
    uint32_t code; /* FAILED: a TINYX_EXIT_* code */
    uint64_t t_us; /* CLOCK_MONOTONIC microseconds (tinyx_now_us) */
    char text[240];
};

/* Daemon -> shell: the execute phase, with SCM_RIGHTS descriptors: the console (always
 * first), the monitor's log when SHELL_ABI_EXEC_LOG (else its messages go to the console),
 * then one tap per net device, in order. */
#define SHELL_ABI_EXEC_LOG 1u

struct shell_abi_exec {
    uint32_t magic;
    uint32_t n_net;
    uint32_t timeout_ms;  /* 0: none */
    uint32_t devpage_len; /* bytes of devpage used (0: no device page) */
    uint32_t flags;       /* SHELL_ABI_EXEC_* */
    uint32_t reserved;
    uint64_t instance;
    struct {
        uint8_t mac[6];
        char ifname[IFNAMSIZ];
    } net[DEVPAGE_ABI_MAX_DEVICES];
    uint8_t devpage[sizeof(struct devpage_abi)];
    char cmdline[LAYOUT_CMDLINE_MAX]; /* NUL-terminated; the modules' words are appended */
};

#endif
