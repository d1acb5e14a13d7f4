/* virtio_blk.c: a minimal virtio-blk driver: read sectors, one request at a time. */
#include "virtio_blk.h"

#include "alloc.h"
#include "console.h"
#include "io.h"
#include "irq.h"
#include "mem.h"
#include "power.h"

#define BLK_T_IN      0u
#define BLK_S_OK      0u
#define QUEUE_ENTRIES 8u
#define STATUS_UNSET  0xffu /* what the status byte holds until the device writes it */

/* The request header the device reads, and the status byte it writes. */
struct tg_blk_req {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
    uint8_t status;
};

static void on_interrupt(void *ctx)
{
    struct tg_blk *blk = ctx;
    tg_virtio_ack_interrupt(&blk->dev);
    blk->interrupts++;
}

int tg_blk_init(struct tg_blk *blk, const char *cmdline)
{
    memset(blk, 0, sizeof(*blk));
    if (!tg_virtio_find(cmdline, TG_VIRTIO_ID_BLK, "blk", &blk->dev))
        return TG_EXIT_NODEV;
    /* No optional features: a read needs none (RO, FLUSH and the rest only matter otherwise). */
    if (!tg_virtio_begin(&blk->dev, 0))
        return TG_EXIT_DEVICE;
    if (!tg_virtio_queue(&blk->dev, 0, QUEUE_ENTRIES, &blk->q) ||
        !tg_irq_attach(blk->dev.irq, on_interrupt, blk)) {
        tg_virtio_fail(&blk->dev);
        return TG_EXIT_DEVICE;
    }
    blk->capacity = tg_virtio_config32(&blk->dev, 0) | (uint64_t)tg_virtio_config32(&blk->dev, 4)
                                                           << 32;
    blk->req = tg_alloc(sizeof(*blk->req), 16);
    tg_virtio_driver_ok(&blk->dev);
    return 0;
}

int tg_blk_read(struct tg_blk *blk, uint64_t sector, void *buf, uint32_t count)
{
    struct tg_blk_req *r = blk->req;
    r->type = BLK_T_IN;
    r->reserved = 0;
    r->sector = sector;
    r->status = STATUS_UNSET;
    struct tg_virtq_buf bufs[3] = {
        {r, 16, false},
        {buf, count * TG_BLK_SECTOR, true},
        {&r->status, 1, true},
    };
    if (!tg_virtq_add(&blk->q, bufs, 3, r)) {
        tg_printf("blk: error: no free descriptors (a request was lost)\n");
        return TG_EXIT_DEVICE;
    }
    tg_virtq_kick(&blk->q);
    for (;;) {
        tg_cli();
        if (!tg_virtq_has_used(&blk->q))
            tg_wait_interrupt();
        uint32_t written;
        void *token = tg_virtq_take(&blk->q, &written);
        if (!token)
            continue;
        if (token != r || r->status != BLK_S_OK) {
            tg_printf("blk: error: reading %u sectors at %llu: status %u\n", count,
                      (unsigned long long)sector, r->status);
            return TG_EXIT_DEVICE;
        }
        return 0;
    }
}
