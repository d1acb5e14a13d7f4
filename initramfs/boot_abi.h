/* boot_abi.h: the guest-to-host signalling ABI (boot timer, power-off with status). Shared by
 * the guest init, the test guests and the launcher; nothing else crosses this line. */
#ifndef INITRAMFS_BOOT_ABI_H
#define INITRAMFS_BOOT_ABI_H

/* Boot timer: the guest writes BOOT_ABI_TIMER_READY (one byte) to this I/O port when the app
 * starts. Same port and magic as Firecracker's x86 boot-timer device. Under QEMU the launcher
 * maps an isa-debugcon device here and timestamps the byte. */
#define BOOT_ABI_TIMER_PORT  0x03f0
#define BOOT_ABI_TIMER_READY 123

/* Power-off with status: the guest writes its exit status (one byte, 0-255) to this port.
 * Under QEMU this is an isa-debug-exit device (QEMU then exits with (status << 1) | 1, so
 * statuses above 127 are truncated there; the console line below carries the full value). */
#define BOOT_ABI_EXIT_PORT 0x00f4

/* The init also prints this line on the console just before powering off, e.g.
 * "tinyx-init: exit status 0". Launchers parse it when the port is not available. */
#define BOOT_ABI_EXIT_LINE "tinyx-init: exit status "

/* Kernel command-line parameters the init reads (per instance, written by the launcher). */
#define BOOT_ABI_CMDLINE_IP       "tinyx.ip="       /* ADDR/PREFIX, e.g. 10.0.2.15/24 */
#define BOOT_ABI_CMDLINE_GW       "tinyx.gw="       /* default route, e.g. 10.0.2.2 */
#define BOOT_ABI_CMDLINE_DNS      "tinyx.dns="      /* nameserver written to /etc/resolv.conf */
#define BOOT_ABI_CMDLINE_HOSTNAME "tinyx.hostname=" /* overrides the plan's hostname */
#define BOOT_ABI_CMDLINE_IFACE    "tinyx.iface="    /* interface to configure (default eth0) */
#define BOOT_ABI_CMDLINE_DEBUG    "tinyx.debug"     /* init prints what it does */

#endif
