/* virtio_fake_guest.h: a fake guest (RAM buffer, tiny driver) for the virtio unit tests. */
#ifndef TESTS_VIRTIO_FAKE_GUEST_H
#define TESTS_VIRTIO_FAKE_GUEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "launcher/virtio_mmio.h"
#include "launcher/vmm.h"

#define FAKE_RAM_SIZE (1u << 20)

struct fake_guest {
    struct launcher_vmm vm;
    uint8_t *ram;
    uint64_t next_free; /* bump allocator for rings and buffers */
};

struct fake_queue {
    unsigned index;
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx; /* the driver's copy */
    uint16_t used_seen; /* used entries already collected */
    uint16_t next_desc; /* descriptors are handed out round-robin */
};

/* One buffer of a chain to post. */
struct fake_seg {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

static inline void fake_guest_init(struct fake_guest *g)
{
    memset(g, 0, sizeof(*g));
    g->ram = aligned_alloc(4096, FAKE_RAM_SIZE);
    assert_non_null(g->ram);
    memset(g->ram, 0, FAKE_RAM_SIZE);
    g->vm.mem = g->ram;
    g->vm.mem_size = FAKE_RAM_SIZE;
    g->vm.kvm_fd = g->vm.vm_fd = g->vm.vcpu_fd = -1;
    g->next_free = 0x10000;
}

static inline void fake_guest_free(struct fake_guest *g)
{
    free(g->ram);
}

static inline uint64_t fake_alloc(struct fake_guest *g, uint64_t len, uint64_t align)
{
    g->next_free = (g->next_free + align - 1) / align * align;
    uint64_t gpa = g->next_free;
    g->next_free += len;
    assert_true(g->next_free <= FAKE_RAM_SIZE);
    return gpa;
}

static inline void *fake_ptr(struct fake_guest *g, uint64_t gpa)
{
    return g->ram + gpa;
}

static inline uint32_t reg_read(struct launcher_virtio_mmio *d, uint64_t offset)
{
    uint32_t value = 0xdeadbeef;
    launcher_virtio_mmio_access(d, offset, false, (uint8_t *)&value, 4);
    return value;
}

static inline void reg_write(struct launcher_virtio_mmio *d, uint64_t offset, uint32_t value)
{
    launcher_virtio_mmio_access(d, offset, true, (uint8_t *)&value, 4);
}

/* The driver side of status/feature negotiation (virtio 1.x 3.1.1). Returns the status read
 * back after setting FEATURES_OK. */
static inline uint32_t fake_negotiate(struct launcher_virtio_mmio *d, uint64_t features)
{
    reg_write(d, VIRTIO_MMIO_STATUS, 0);
    reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    reg_write(d, VIRTIO_MMIO_STATUS,
              VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
    return reg_read(d, VIRTIO_MMIO_STATUS);
}

/* Lay out queue `index` of `size` entries in guest RAM and tell the device about it. */
static inline void fake_queue_setup(struct fake_guest *g, struct launcher_virtio_mmio *d,
                                    struct fake_queue *fq, unsigned index, uint16_t size)
{
    memset(fq, 0, sizeof(*fq));
    fq->index = index;
    fq->size = size;
    fq->desc = fake_alloc(g, 16ull * size, 16);
    fq->avail = fake_alloc(g, 6 + 2ull * size, 2);
    fq->used = fake_alloc(g, 6 + 8ull * size, 4);
    reg_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
    reg_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
    reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)fq->desc);
    reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(fq->desc >> 32));
    reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)fq->avail);
    reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(fq->avail >> 32));
    reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)fq->used);
    reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(fq->used >> 32));
    reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

static inline void fake_driver_ok(struct launcher_virtio_mmio *d)
{
    uint32_t status = reg_read(d, VIRTIO_MMIO_STATUS);
    reg_write(d, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Write one raw descriptor. */
static inline void fake_desc(struct fake_guest *g, struct fake_queue *fq, uint16_t i, uint64_t addr,
                             uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *p = fake_ptr(g, fq->desc + 16ull * i);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

/* Put head in the available ring and publish it (no notify). */
static inline void fake_publish(struct fake_guest *g, struct fake_queue *fq, uint16_t head)
{
    uint16_t *ring = fake_ptr(g, fq->avail + 4);
    ring[fq->avail_idx % fq->size] = head;
    fq->avail_idx++;
    __atomic_store_n((uint16_t *)fake_ptr(g, fq->avail + 2), fq->avail_idx, __ATOMIC_RELEASE);
}

/* Post a chain of n segments; returns its head. */
static inline uint16_t fake_post(struct fake_guest *g, struct fake_queue *fq,
                                 const struct fake_seg *segs, unsigned n)
{
    uint16_t head = fq->next_desc;
    for (unsigned k = 0; k < n; k++) {
        uint16_t i = (uint16_t)((head + k) % fq->size);
        uint16_t next = (uint16_t)((i + 1) % fq->size);
        uint16_t flags =
            (segs[k].writable ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
        fake_desc(g, fq, i, segs[k].gpa, segs[k].len, flags, next);
    }
    fq->next_desc = (uint16_t)((head + n) % fq->size);
    fake_publish(g, fq, head);
    return head;
}

static inline void fake_notify(struct launcher_virtio_mmio *d, struct fake_queue *fq)
{
    reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, fq->index);
}

/* Collect the next used entry: true with id and len filled, or false when there is none. */
static inline bool fake_used(struct fake_guest *g, struct fake_queue *fq, uint32_t *id,
                             uint32_t *len)
{
    uint16_t idx = __atomic_load_n((uint16_t *)fake_ptr(g, fq->used + 2), __ATOMIC_ACQUIRE);
    if (idx == fq->used_seen)
        return false;
    uint8_t *elem = fake_ptr(g, fq->used + 4 + 8ull * (fq->used_seen % fq->size));
    memcpy(id, elem, 4);
    memcpy(len, elem + 4, 4);
    fq->used_seen++;
    return true;
}

/* An eventfd standing in for the irqfd; fake_irqs() reads how many interrupts were raised. */
static inline void fake_irqfd(struct launcher_virtio_mmio *d)
{
    d->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(d->irqfd >= 0);
}

static inline uint64_t fake_irqs(struct launcher_virtio_mmio *d)
{
    uint64_t count = 0;
    if (read(d->irqfd, &count, sizeof(count)) != (ssize_t)sizeof(count))
        return 0;
    return count;
}

#endif
