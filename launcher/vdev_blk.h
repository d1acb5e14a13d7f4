/* vdev_blk.h: the virtio-blk device of tinyx-kvm (--blk=FILE[,ro]) over a raw disk image. */
#ifndef LAUNCHER_VDEV_BLK_H
#define LAUNCHER_VDEV_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

#include "launcher/virtio_mmio.h"

#define LAUNCHER_VDEV_BLK_SECTOR 512u

struct launcher_vdev_blk_config {
    char *path; /* owned */
    bool ro;
};

/* Parse "FILE[,ro]". 0, or -1 with a message. */
int launcher_vdev_blk_parse(const char *value, struct launcher_vdev_blk_config *cfg);
/* Open a disk image (regular file or block device) for the VM, locked against a second writer.
 * *sectors gets its capacity in 512-byte sectors. Returns the fd, or -1 with a message. */
int launcher_vdev_blk_open(const char *path, bool ro, uint64_t *sectors);

struct launcher_vdev_blk {
    struct launcher_virtio_mmio mmio;
    int fd;
    bool ro;
    uint64_t sectors;
    char id[VIRTIO_BLK_ID_BYTES]; /* GET_ID answer, NUL-padded */
    uint64_t requests, errors;
};

/* A blk device over fd (not attached yet; takes ownership of fd). id: the serial the guest
 * sees (truncated to 20 bytes). */
struct launcher_vdev_blk *launcher_vdev_blk_create(struct launcher_vmm *v, int fd, uint64_t sectors,
                                                   bool ro, const char *id);
void launcher_vdev_blk_destroy(struct launcher_vdev_blk *b);

#endif
