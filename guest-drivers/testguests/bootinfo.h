/* bootinfo.h: what the loader told the guest at entry (PVH start_info): command line, RAM. */
#ifndef TG_BOOTINFO_H
#define TG_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "pvh.h"

/* Keep the loader's start_info pointer (EBX at entry; checked only when used). */
void tg_bootinfo_set(const struct tg_hvm_start_info *si);

/* Whether that pointer holds a PVH start_info (its magic); the accessors below return
 * nothing from one that does not. */
bool tg_bootinfo_valid(void);

/* The kernel command line ("" when the loader gave none). */
const char *tg_cmdline(void);

/* Free RAM the guest may use: from the end of its image to the first of the end of that RAM
 * range, the first module (initrd) and the end of the identity map. *start == *end when the
 * loader gave no memory map. */
void tg_bootinfo_free_ram(uint64_t *start, uint64_t *end);

#endif
