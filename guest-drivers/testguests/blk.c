/* blk.c: the blk test guest: read the disk, print its CRC-32 for a test to compare. */
#include "alloc.h"
#include "bootinfo.h"
#include "cmdline.h"
#include "console.h"
#include "crc32.h"
#include "power.h"
#include "program.h"
#include "virtio_blk.h"

#define CHUNK_SECTORS   32u /* 16 KiB per request */
#define CMDLINE_SECTORS "blk.sectors"

int tg_main(void)
{
    static struct tg_blk blk;
    tg_runtime_init();
    const char *cmdline = tg_cmdline();
    uint64_t want = UINT64_MAX;
    struct tg_str v;
    if (tg_cmdline_get(cmdline, CMDLINE_SECTORS, &v) && !tg_parse_u64(v, false, &want)) {
        tg_printf("blk: " CMDLINE_SECTORS "='%.*s' is not a number\n", (int)v.len, v.s);
        return TG_EXIT_USAGE;
    }
    int rc = tg_blk_init(&blk, cmdline);
    if (rc)
        return rc;
    tg_printf("blk: virtio-mmio version %u at %#llx irq %u, capacity %llu sectors\n",
              blk.dev.version, (unsigned long long)blk.dev.base, blk.dev.irq,
              (unsigned long long)blk.capacity);
    if (want != UINT64_MAX && want > blk.capacity) {
        tg_printf("blk: " CMDLINE_SECTORS "=%llu but the disk has %llu sectors\n",
                  (unsigned long long)want, (unsigned long long)blk.capacity);
        return TG_EXIT_USAGE;
    }
    if (want == UINT64_MAX)
        want = blk.capacity;
    tg_boot_ready();
    uint8_t *buf = tg_alloc_buffer(CHUNK_SECTORS * TG_BLK_SECTOR, 4096);
    uint32_t crc = 0;
    for (uint64_t s = 0; s < want;) {
        uint32_t n = want - s < CHUNK_SECTORS ? (uint32_t)(want - s) : CHUNK_SECTORS;
        rc = tg_blk_read(&blk, s, buf, n);
        if (rc)
            return rc;
        crc = tg_crc32(crc, buf, (size_t)n * TG_BLK_SECTOR);
        s += n;
    }
    tg_printf("blk: sectors=%llu crc32=%08x\n", (unsigned long long)want, crc);
    return TG_EXIT_OK;
}
