/* vmm_pvh.h: the PVH boot ABI (Xen's hvm_start_info) and tinyx-kvm's PVH ELF loader. */
#ifndef LAUNCHER_VMM_PVH_H
#define LAUNCHER_VMM_PVH_H

#include <stdbool.h>
#include <stdint.h>

struct launcher_vmm;

/* xen/include/public/arch-x86/hvm/start_info.h (version 1), little-endian, packed by
 * construction (every field naturally aligned). */
#define LAUNCHER_PVH_START_MAGIC   0x336ec578u
#define LAUNCHER_PVH_E820_RAM      1u
#define LAUNCHER_PVH_E820_RESERVED 2u

struct launcher_pvh_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct launcher_pvh_module {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct launcher_pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

/* The ELF notes the loader looks at (xen/include/public/elfnote.h). */
#define LAUNCHER_PVH_NOTE_NAME     "Xen"
#define LAUNCHER_PVH_NOTE_ENTRY    18      /* XEN_ELFNOTE_PHYS32_ENTRY: 32-bit entry address */
#define LAUNCHER_PVH_NOTE_GUEST_OS 6       /* XEN_ELFNOTE_GUEST_OS: "linux" for Linux */
#define LAUNCHER_PVH_NOTE_LINUX    "Linux" /* Linux's own notes (build salt, LTO info) */

#define LAUNCHER_PVH_MAX_SEGMENTS 16

/* A PVH kernel file, checked but not loaded yet. */
struct launcher_pvh_kernel {
    const char *path;
    uint64_t file_size;
    uint64_t entry;    /* from the PHYS32_ENTRY note */
    bool is_linux;     /* a "Linux" note, or Xen GUEST_OS "linux" */
    uint64_t load_end; /* highest p_paddr + p_memsz */
    unsigned n_segments;
    struct {
        uint64_t offset, filesz, paddr, memsz;
    } segments[LAUNCHER_PVH_MAX_SEGMENTS];
};

/* Read and check the kernel's ELF headers and notes: x86 ELF32/ELF64, every offset and size
 * inside the file, PT_LOAD segments at or above LAYOUT_KERNEL_MIN and below 4 GiB, the PVH
 * entry note, the entry inside a loaded segment. 0, or TINYX_EXIT_IMAGE after a message
 * naming the file and what to do. */
int launcher_vmm_pvh_open(const char *path, struct launcher_pvh_kernel *k);

/* Load into v's RAM (v->mem, v->mem_size; fresh, so zero-filled): the segments, the initrd
 * (path or NULL) page-aligned at the top of RAM as module 0, the command line, the memory map
 * and hvm_start_info at LAYOUT_START_INFO. Sets v->entry and v->kernel_is_linux. 0, or
 * TINYX_EXIT_IMAGE after a message (segments or initrd do not fit in RAM, unreadable file,
 * command line too long). */
int launcher_vmm_pvh_load(struct launcher_vmm *v, const struct launcher_pvh_kernel *k,
                          const char *initrd, const char *cmdline);

#endif
