/* alloc.c: a bump allocator over the RAM the loader left free after the guest's image. */
#include "alloc.h"

#include <stdint.h>

#include "bootinfo.h"
#include "console.h"
#include "power.h"
#include "mem.h"

static uint64_t next, limit;
static int ready;

void *tg_alloc_buffer(size_t size, size_t align)
{
    if (!ready) {
        tg_bootinfo_free_ram(&next, &limit);
        ready = 1;
    }
    uint64_t at = (next + align - 1) & ~(uint64_t)(align - 1);
    if (at < next || at + size < at || at + size > limit) {
        tg_printf("tg: out of memory: %zu bytes wanted, %llu free (give the VM more RAM)\n", size,
                  (unsigned long long)(limit > next ? limit - next : 0));
        tg_exit(TG_EXIT_NOMEM);
    }
    next = at + size;
    return (void *)(uintptr_t)at;
}

void *tg_alloc(size_t size, size_t align)
{
    return memset(tg_alloc_buffer(size, align), 0, size);
}
