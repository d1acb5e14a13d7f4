/* vdev_blk.c: virtio-blk over a raw image or block device (--blk=FILE[,ro]), range-checked. */
#include "launcher/vdev_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/virtio_ids.h>

#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "tinyx/util.h"

#define BLK_HDR_LEN sizeof(struct virtio_blk_outhdr)
_Static_assert(sizeof(struct virtio_blk_outhdr) == 16, "virtio-blk request header is 16 bytes");

int launcher_vdev_blk_parse(const char *value, struct launcher_vdev_blk_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    if (!value || !*value)
        return tinyx_err("--blk needs a disk image: use --blk=FILE[,ro]");
    /* Only a trailing ",ro" is an option: a path may contain commas. */
    size_t len = strlen(value);
    if (len > 3 && strcmp(value + len - 3, ",ro") == 0) {
        cfg->ro = true;
        len -= 3;
    } else if (len > 3 && strcmp(value + len - 3, ",rw") == 0) {
        len -= 3;
    }
    cfg->path = tinyx_xstrndup(value, len);
    return 0;
}

int launcher_vdev_blk_open(const char *path, bool ro, uint64_t *sectors)
{
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return tinyx_err("--blk: disk image %s does not exist", path);
        if (!ro && (errno == EROFS || errno == EACCES || errno == EPERM))
            return tinyx_errno("--blk: cannot open %s for writing (add ,ro to attach it "
                               "read-only)",
                               path);
        return tinyx_errno("--blk: cannot open %s", path);
    }
    struct stat st;
    uint64_t bytes = 0;
    if (fstat(fd, &st) < 0) {
        tinyx_errno("--blk: cannot stat %s", path);
        goto fail;
    }
    if (S_ISREG(st.st_mode)) {
        bytes = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
            tinyx_errno("--blk: cannot get the size of %s", path);
            goto fail;
        }
    } else {
        tinyx_err("--blk: %s is neither a regular file nor a block device", path);
        goto fail;
    }
    /* Two VMs writing one file system corrupt it: one writer, or any number of readers. */
    if (flock(fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            tinyx_err("--blk: %s is in use by another VM (locked); attach it with ,ro in "
                      "every VM to share it",
                      path);
        else
            tinyx_errno("--blk: cannot lock %s", path);
        goto fail;
    }
    if (bytes < LAUNCHER_VDEV_BLK_SECTOR) {
        tinyx_err("--blk: %s is smaller than one 512-byte sector (%llu bytes)", path,
                  (unsigned long long)bytes);
        goto fail;
    }
    if (bytes % LAUNCHER_VDEV_BLK_SECTOR)
        tinyx_warn("--blk: %s is %llu bytes, not a multiple of 512: the guest does not see "
                   "the last %llu bytes",
                   path, (unsigned long long)bytes,
                   (unsigned long long)(bytes % LAUNCHER_VDEV_BLK_SECTOR));
    *sectors = bytes / LAUNCHER_VDEV_BLK_SECTOR;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Device side. Every function below runs with the transport lock held. */

/* All of iov at file offset off: short transfers continue, EOF (a file that shrank) fails. */
static int transfer_all(int fd, struct iovec *iov, unsigned cnt, uint64_t off, bool write)
{
    while (cnt > 0) {
        ssize_t r =
            write ? pwritev(fd, iov, (int)cnt, (off_t)off) : preadv(fd, iov, (int)cnt, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (uint64_t)r;
        size_t left = (size_t)r;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* IN or OUT of len bytes at sector: the range must lie inside the disk. */
static uint8_t blk_rw(struct launcher_vdev_blk *b, const struct launcher_virtq_chain *c,
                      uint64_t sector, bool write, uint64_t *written)
{
    uint64_t len = write ? c->read_len - BLK_HDR_LEN : c->write_len - 1;
    if (len % LAUNCHER_VDEV_BLK_SECTOR != 0)
        return VIRTIO_BLK_S_IOERR;
    uint64_t count = len / LAUNCHER_VDEV_BLK_SECTOR;
    if (sector > b->sectors || count > b->sectors - sector) /* no overflow possible */
        return VIRTIO_BLK_S_IOERR;
    if (write && b->ro)
        return VIRTIO_BLK_S_IOERR;
    struct iovec data[LAUNCHER_VIRTQ_MAX_SIZE];
    unsigned cnt;
    if (write)
        cnt = launcher_virtq_iov_slice(c->iov, c->n_read, BLK_HDR_LEN, len, data,
                                       LAUNCHER_VIRTQ_MAX_SIZE);
    else
        cnt = launcher_virtq_iov_slice(c->iov + c->n_read, c->n_write, 0, len, data,
                                       LAUNCHER_VIRTQ_MAX_SIZE);
    if (transfer_all(b->fd, data, cnt, sector * LAUNCHER_VDEV_BLK_SECTOR, write) < 0)
        return VIRTIO_BLK_S_IOERR;
    if (!write)
        *written = len;
    return VIRTIO_BLK_S_OK;
}

/* One request; returns its status, *written gets the data bytes put in guest buffers. */
static uint8_t blk_request(struct launcher_vdev_blk *b, const struct launcher_virtq_chain *c,
                           uint64_t *written)
{
    struct virtio_blk_outhdr hdr;
    if (launcher_virtq_chain_read(c, 0, &hdr, sizeof(hdr)) < sizeof(hdr))
        return VIRTIO_BLK_S_IOERR;
    switch (hdr.type) {
    case VIRTIO_BLK_T_IN:
        return blk_rw(b, c, hdr.sector, false, written);
    case VIRTIO_BLK_T_OUT:
        return blk_rw(b, c, hdr.sector, true, written);
    case VIRTIO_BLK_T_FLUSH:
        if (!b->ro && fdatasync(b->fd) < 0)
            return VIRTIO_BLK_S_IOERR;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t len = c->write_len - 1;
        if (len > VIRTIO_BLK_ID_BYTES)
            len = VIRTIO_BLK_ID_BYTES;
        *written = launcher_virtq_chain_write(c, 0, b->id, len);
        return VIRTIO_BLK_S_OK;
    }
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

static void blk_queue_notify(struct launcher_virtio_mmio *d, unsigned qi)
{
    struct launcher_vdev_blk *b = d->priv;
    struct launcher_virtq *q = &d->queues[qi];
    struct launcher_virtq_chain *c = &d->chain;
    unsigned done = 0;
    /* At most one ring's worth per kick. */
    for (unsigned k = 0; k < q->size; k++) {
        const char *why = NULL;
        int r = launcher_virtq_pop(q, d->vm, c, &why);
        if (r == 0)
            break;
        if (r < 0) {
            launcher_virtio_mmio_fail(d, qi, why);
            break;
        }
        if (c->write_len == 0) {
            /* Nowhere to put the status byte: not a request we can answer. */
            launcher_virtio_mmio_fail(d, qi, "block request without a writable status byte");
            break;
        }
        uint64_t written = 0;
        uint8_t status = blk_request(b, c, &written);
        launcher_virtq_chain_write(c, c->write_len - 1, &status, 1);
        b->requests++;
        if (status != VIRTIO_BLK_S_OK)
            b->errors++;
        launcher_virtq_push(q, c->head, (uint32_t)(written + 1));
        done++;
    }
    if (done)
        launcher_virtio_mmio_used(d, qi);
}

static const struct launcher_virtio_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_notify = blk_queue_notify,
};

struct launcher_vdev_blk *launcher_vdev_blk_create(struct launcher_vmm *v, int fd, uint64_t sectors,
                                                   bool ro, const char *id)
{
    struct launcher_vdev_blk *b = tinyx_xcalloc(1, sizeof(*b));
    b->fd = fd;
    b->ro = ro;
    b->sectors = sectors;
    /* NUL-padded, and not terminated when it fills all 20 bytes (as the spec has it). */
    size_t id_len = strnlen(id, sizeof(b->id));
    memcpy(b->id, id, id_len);
    /* SEG_MAX: without it Linux sends one data buffer per request. Two descriptors of a chain
     * are the header and the status. */
    uint64_t features = (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_SEG_MAX);
    if (ro)
        features |= 1ull << VIRTIO_BLK_F_RO;
    launcher_virtio_mmio_init(&b->mmio, v, &blk_ops, b, features);
    memcpy(b->mmio.config + offsetof(struct virtio_blk_config, capacity), &sectors, 8);
    uint32_t seg_max = LAUNCHER_VIRTQ_MAX_SIZE - 2;
    memcpy(b->mmio.config + offsetof(struct virtio_blk_config, seg_max), &seg_max, 4);
    b->mmio.config_size = offsetof(struct virtio_blk_config, seg_max) + 4;
    return b;
}

void launcher_vdev_blk_destroy(struct launcher_vdev_blk *b)
{
    if (!b)
        return;
    launcher_virtio_mmio_destroy(&b->mmio);
    if (b->fd >= 0)
        close(b->fd);
    free(b);
}

/* The module. */

static struct launcher_vdev_blk_config blk_configs[LAYOUT_VIRTIO_MAX_DEVICES];
static unsigned blk_config_count;
static struct launcher_vdev_blk *blk_devices[LAYOUT_VIRTIO_MAX_DEVICES];

static int blk_option(const char *name, const char *value)
{
    if (strcmp(name, "--blk") != 0 && strcmp(name, "blk") != 0)
        return 0;
    if (blk_config_count == LAYOUT_VIRTIO_MAX_DEVICES)
        return tinyx_err("--blk: at most %u disks", LAYOUT_VIRTIO_MAX_DEVICES);
    if (launcher_vdev_blk_parse(value, &blk_configs[blk_config_count]) < 0)
        return -1;
    blk_config_count++;
    return 1;
}

static int blk_setup(struct launcher_vmm *v, struct strvec *cmdline_words)
{
    for (unsigned i = 0; i < blk_config_count; i++) {
        const struct launcher_vdev_blk_config *cfg = &blk_configs[i];
        uint64_t sectors = 0;
        int fd = launcher_vdev_blk_open(cfg->path, cfg->ro, &sectors);
        if (fd < 0)
            return -1;
        char *path = tinyx_xstrdup(cfg->path);
        blk_devices[i] = launcher_vdev_blk_create(v, fd, sectors, cfg->ro, basename(path));
        free(path);
        if (launcher_virtio_mmio_attach(&blk_devices[i]->mmio, cmdline_words) < 0)
            return -1;
        tinyx_debug("virtio-blk: %s%s, %llu sectors at 0x%llx irq %u", cfg->path,
                    cfg->ro ? " (read-only)" : "", (unsigned long long)sectors,
                    (unsigned long long)blk_devices[i]->mmio.base, blk_devices[i]->mmio.gsi);
    }
    return 0;
}

static int blk_sandbox(struct launcher_vmm *v, void *seccomp_ctx)
{
    (void)v;
    int rc = 0;
    for (unsigned i = 0; i < LAYOUT_VIRTIO_MAX_DEVICES && rc == 0; i++) {
        const struct launcher_vdev_blk *b = blk_devices[i];
        if (!b)
            continue;
        const int calls[] = {SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fdatasync)};
        for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]) && rc == 0; k++)
            rc = seccomp_rule_add(seccomp_ctx, SCMP_ACT_ALLOW, calls[k], 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)b->fd));
    }
    if (rc < 0) {
        errno = -rc;
        return tinyx_errno("virtio-blk: cannot add seccomp rules");
    }
    return 0;
}

static void blk_teardown(struct launcher_vmm *v)
{
    (void)v;
    for (unsigned i = 0; i < LAYOUT_VIRTIO_MAX_DEVICES; i++) {
        launcher_vdev_blk_destroy(blk_devices[i]);
        blk_devices[i] = NULL;
    }
}

static const struct launcher_vmm_module blk_module = {
    .name = "virtio-blk",
    .usage = "--blk=FILE[,ro]  virtio-blk over a raw disk image (ext4, erofs, ...) or block "
             "device",
    .option = blk_option,
    .setup = blk_setup,
    .sandbox = blk_sandbox,
    .teardown = blk_teardown,
};
LAUNCHER_VMM_MODULE(blk_module);
