/* virtio_blk.h: a minimal virtio-blk driver: read sectors, one request at a time. */
#ifndef TG_VIRTIO_BLK_H
#define TG_VIRTIO_BLK_H

#include <stdint.h>

#include "virtio_mmio.h"

#define TG_BLK_SECTOR 512u

struct tg_blk {
    struct tg_virtio_dev dev;
    struct tg_virtq q;
    uint64_t capacity; /* sectors */
    struct tg_blk_req *req;
    unsigned interrupts;
};

/* Find the first virtio-blk device on the command line, set up its queue and interrupt,
 * DRIVER_OK. Returns 0, or after a message TG_EXIT_NODEV or TG_EXIT_DEVICE. */
int tg_blk_init(struct tg_blk *blk, const char *cmdline);

/* Read count sectors from sector into buf (waits for the interrupt). Returns 0, or after a
 * message TG_EXIT_DEVICE. */
int tg_blk_read(struct tg_blk *blk, uint64_t sector, void *buf, uint32_t count);

#endif
