/* kernel.h: the guest kernel file (bzImage or PVH ELF) and how it finds virtio-mmio devices. */
#ifndef LAUNCHER_KERNEL_H
#define LAUNCHER_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the guest kernel discovers the VM's virtio-mmio devices (manifest kernel.virtio_mmio). */
enum launcher_virtio_discovery {
    LAUNCHER_VIRTIO_MMIO_ACPI = 0, /* from the ACPI tables (kernels with ACPI, e.g. Debian's) */
    LAUNCHER_VIRTIO_MMIO_CMDLINE,  /* from virtio_mmio.device= on the command line (no ACPI) */
};

/* "acpi" or "cmdline". */
const char *launcher_virtio_mmio_name(enum launcher_virtio_discovery mode);
/* Parse a name as above. Returns 0, or -1 for an unknown name (no message). */
int launcher_virtio_mmio_from_name(const char *name, enum launcher_virtio_discovery *out);

enum launcher_kernel_format {
    LAUNCHER_KERNEL_BZIMAGE, /* the Linux x86 boot protocol ("HdrS") */
    LAUNCHER_KERNEL_PVH_ELF, /* an x86-64 ELF vmlinux with the PVH entry note */
};

/* "bzImage" or "vmlinux (PVH ELF)". */
const char *launcher_kernel_format_name(enum launcher_kernel_format format);

/* Tell a bootable kernel file from anything else, reading only its headers. Returns 0 with
 * *format and *bytes (may be NULL) set, or -1 with one sentence in why saying what is wrong
 * (missing, not a regular file, empty, neither format, an ELF without the PVH note). */
int launcher_kernel_probe(const char *path, enum launcher_kernel_format *format, uint64_t *bytes,
                          char *why, size_t why_len);

/* What a kernel file is, as far as the backends that do not boot every kind care. */
struct launcher_kernel_info {
    bool elf;          /* it starts with the ELF magic */
    bool bzimage;      /* it has the Linux x86 boot protocol's header */
    bool pvh_entry;    /* ELF: Xen's PHYS32_ENTRY note (a PVH kernel) */
    bool is_linux;     /* a bzImage, or an ELF with a note called "Linux" (every vmlinux since
                        * 5.x carries its build-salt note) or Xen's GUEST_OS note saying "linux" */
    uint64_t load_end; /* ELF: the highest p_paddr + p_memsz of its PT_LOAD segments */
    char broken[300];  /* ELF: why it is not a whole ELF file; "" when it is */
};

/* Fill *info from path's headers and notes. A file that cannot be read is neither ELF nor
 * bzImage (launcher_kernel_probe says why). */
void launcher_kernel_inspect(const char *path, struct launcher_kernel_info *info);

#endif
