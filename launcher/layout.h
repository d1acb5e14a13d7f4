/* layout.h: every guest-physical address and I/O port the KVM monitor uses, in one place.
 * (Guest-visible ports shared with the guest side live in initramfs/boot_abi.h.) */
#ifndef LAUNCHER_LAYOUT_H
#define LAUNCHER_LAYOUT_H

/* Low memory: boot data the monitor writes before the first instruction. Everything here is
 * below the kernel (Linux and the test guests link at 1 MiB or above). */
#define LAYOUT_ZERO_PAGE_END 0x1000u /* first page left unmapped-looking (zeroed) */
#define LAYOUT_START_INFO    0x6000u /* struct hvm_start_info (PVH), EBX at entry */
#define LAYOUT_MODLIST       0x6100u /* struct hvm_modlist_entry[LAYOUT_MAX_MODULES] */
#define LAYOUT_MAX_MODULES   4u
#define LAYOUT_MEMMAP        0x7000u /* struct hvm_memmap_table_entry[LAYOUT_MAX_MEMMAP] */
#define LAYOUT_MAX_MEMMAP    8u
#define LAYOUT_DEVPAGE       0x8000u /* the device page (guest-drivers/devpage_abi.h) */
#define LAYOUT_DEVPAGE_SIZE  0x1000u
#define LAYOUT_CMDLINE       0x20000u  /* kernel command line, NUL-terminated */
#define LAYOUT_CMDLINE_MAX   4096u     /* bytes including the NUL */
#define LAYOUT_LOW_END       0x9fc00u  /* end of conventional low memory (E820 RAM) */
#define LAYOUT_KERNEL_MIN    0x100000u /* ELF segments must load at or above 1 MiB */

/* The initrd goes at the top of RAM (below 4 GiB), page aligned. */
#define LAYOUT_INITRD_ALIGN 0x1000u

/* RAM: one slot from 0 to the size asked for, at most up to the MMIO hole. */
#define LAYOUT_RAM_MAX 0xc0000000ull /* 3 GiB: the monitor refuses more (no high RAM) */

/* Devices declared up front: virtio-mmio windows, one page apart, each with its IRQ line on the
 * in-kernel IOAPIC. Linux learns them from "virtio_mmio.device=<size>@<base>:<irq>". */
#define LAYOUT_VIRTIO_MMIO_BASE   0xd0000000ull
#define LAYOUT_VIRTIO_MMIO_STRIDE 0x1000u
#define LAYOUT_VIRTIO_MMIO_SIZE   0x200u /* the virtio-mmio register window */
#define LAYOUT_VIRTIO_MAX_DEVICES 8u
#define LAYOUT_VIRTIO_IRQ_BASE    5u /* device i uses GSI LAYOUT_VIRTIO_IRQ_BASE + i */

/* Legacy devices. */
#define LAYOUT_SERIAL_PORT 0x3f8u /* 8250 UART (COM1), 8 ports */
#define LAYOUT_SERIAL_IRQ  4u

#endif
