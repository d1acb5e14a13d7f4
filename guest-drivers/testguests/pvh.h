/* pvh.h: the PVH boot ABI the guests are entered with (Xen's hvm_start_info, EBX at entry). */
#ifndef TG_PVH_H
#define TG_PVH_H

#include <stdint.h>

#define TG_PVH_MAGIC 0x336ec578u /* hvm_start_info.magic */
#define TG_E820_RAM  1u          /* hvm_memmap_table_entry.type of usable RAM */

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), version 0 and 1. */
struct tg_hvm_start_info {
    uint32_t magic;
    uint32_t version; /* 1: the memmap fields below are valid */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr; /* NUL-terminated, or 0 */
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct tg_hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct tg_hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

#endif
