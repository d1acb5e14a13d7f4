/* bootinfo.c: read the PVH start_info: command line, memory map, modules. */
#include "bootinfo.h"

#include <stddef.h>

/* Everything the static page tables map as RAM (start.S): 0-1 GiB. */
#define MAPPED_RAM_END 0x40000000ull

/* Linker script symbols: the image's first and last byte (end page-aligned, includes .bss). */
extern char tg_image_start[], tg_image_end[];

static const struct tg_hvm_start_info *start_info;

void tg_bootinfo_set(const struct tg_hvm_start_info *si)
{
    start_info = si;
}

bool tg_bootinfo_valid(void)
{
    return start_info && (uint64_t)(uintptr_t)start_info < MAPPED_RAM_END &&
           start_info->magic == TG_PVH_MAGIC;
}

const char *tg_cmdline(void)
{
    if (!tg_bootinfo_valid() || !start_info->cmdline_paddr ||
        start_info->cmdline_paddr >= MAPPED_RAM_END)
        return "";
    return (const char *)(uintptr_t)start_info->cmdline_paddr;
}

void tg_bootinfo_free_ram(uint64_t *start, uint64_t *end)
{
    uint64_t from = (uint64_t)(uintptr_t)tg_image_end;
    uint64_t to = from;
    *start = *end = from;
    if (!tg_bootinfo_valid() || start_info->version < 1 || !start_info->memmap_paddr)
        return;
    const struct tg_hvm_memmap_entry *map = (const void *)(uintptr_t)start_info->memmap_paddr;
    for (uint32_t i = 0; i < start_info->memmap_entries; i++) {
        if (map[i].type != TG_E820_RAM)
            continue;
        if (map[i].addr <= from && from < map[i].addr + map[i].size)
            to = map[i].addr + map[i].size;
    }
    if (to > MAPPED_RAM_END)
        to = MAPPED_RAM_END;
    /* The initrd (module) sits in that RAM too, usually at its top: stop below it. */
    if (start_info->nr_modules && start_info->modlist_paddr) {
        const struct tg_hvm_modlist_entry *mods =
            (const void *)(uintptr_t)start_info->modlist_paddr;
        for (uint32_t i = 0; i < start_info->nr_modules; i++)
            if (mods[i].paddr >= from && mods[i].paddr < to)
                to = mods[i].paddr;
    }
    *start = from;
    *end = to;
}
