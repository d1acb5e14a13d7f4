/* virtio_mmio.h: the virtio-mmio transport (virtio 1.x 4.2, version 2) devices plug into. */
#ifndef LAUNCHER_VIRTIO_MMIO_H
#define LAUNCHER_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "launcher/virtio_queue.h"
#include "tinyx/strvec.h"

struct launcher_vmm;

/* Register offsets (VIRTIO_MMIO_*), status bits (VIRTIO_CONFIG_S_*) and feature bits come from
 * the kernel's UAPI headers, so guest and monitor agree on one spelling. */
#define LAUNCHER_VIRTIO_MMIO_MAGIC  0x74726976u /* "virt" */
#define LAUNCHER_VIRTIO_MMIO_VENDOR 0x58594e54u /* "TNYX" */

#define LAUNCHER_VIRTIO_MAX_QUEUES 2u
#define LAUNCHER_VIRTIO_CONFIG_MAX 64u

struct launcher_virtio_mmio;

/* What a device tells the transport. Hooks run with the device lock held. */
struct launcher_virtio_ops {
    const char *name;   /* "virtio-net": prefix of messages */
    uint32_t device_id; /* 1 = net, 2 = blk */
    unsigned num_queues;
    /* The guest made buffers available on queue q (notify), or the driver became ready. */
    void (*queue_notify)(struct launcher_virtio_mmio *d, unsigned q);
    /* The driver reset the device (status 0): drop device state tied to the queues. */
    void (*reset)(struct launcher_virtio_mmio *d);
};

struct launcher_virtio_mmio {
    struct launcher_vmm *vm;
    const struct launcher_virtio_ops *ops;
    void *priv;                                 /* the device's own state */
    uint64_t features;                          /* offered: device bits | 1 << VIRTIO_F_VERSION_1 */
    uint8_t config[LAUNCHER_VIRTIO_CONFIG_MAX]; /* device config space, read-only to the guest */
    uint32_t config_size;

    /* Placement, once attached: slot index, window base, GSI. */
    int slot; /* -1: not attached */
    uint64_t base;
    unsigned gsi;
    int irqfd;     /* eventfd injecting the GSI (KVM_IRQFD), or -1 */
    int notify_fd; /* ioeventfd on QueueNotify (KVM_IOEVENTFD), or -1 */
    bool irq_line_failed;
    int irq_line_level;

    /* Everything below is guarded by lock: the vCPU thread (register accesses) and the I/O
     * thread (ioeventfd, tap) both get here. */
    pthread_mutex_t lock;
    uint32_t status;
    uint32_t device_features_sel, driver_features_sel, queue_sel;
    uint64_t driver_features;
    uint32_t interrupt_status;
    bool warned; /* one message per device: a hostile guest cannot flood the log */
    struct launcher_virtq queues[LAUNCHER_VIRTIO_MAX_QUEUES];
    struct launcher_virtq_chain chain; /* scratch for the device's queue work */
};

/* Set up the transport state (no VM resources yet). features are the device's own bits. */
void launcher_virtio_mmio_init(struct launcher_virtio_mmio *d, struct launcher_vmm *v,
                               const struct launcher_virtio_ops *ops, void *priv,
                               uint64_t features);
/* Give the device the next free slot: irqfd on its GSI, ioeventfd on QueueNotify (watched by
 * the I/O thread), and append its "virtio_mmio.device=<size>@<base>:<irq>" word. Works on
 * without irqfd (KVM_IRQ_LINE) or ioeventfd (MMIO exits); says so. 0 or -1. */
int launcher_virtio_mmio_attach(struct launcher_virtio_mmio *d, struct strvec *cmdline_words);
/* Give the slot back and close the eventfds (after the VM stopped). */
void launcher_virtio_mmio_detach(struct launcher_virtio_mmio *d);
void launcher_virtio_mmio_destroy(struct launcher_virtio_mmio *d);

/* A guest access at offset in the window (reads fill data[0, len)). Never fails: accesses the
 * spec does not allow read as zero and are ignored. */
void launcher_virtio_mmio_access(struct launcher_virtio_mmio *d, uint64_t offset, bool is_write,
                                 uint8_t *data, unsigned len);
/* The ioeventfd fired: look at every queue. */
void launcher_virtio_mmio_notify_all(struct launcher_virtio_mmio *d);

/* For devices, lock held. */
/* DRIVER_OK set, no reset pending, queue q ready and usable. */
bool launcher_virtio_mmio_queue_live(struct launcher_virtio_mmio *d, unsigned q);
/* Buffers were pushed to queue q: interrupt the guest unless it asked not to be. */
void launcher_virtio_mmio_used(struct launcher_virtio_mmio *d, unsigned q);
/* The guest broke the protocol: DEVICE_NEEDS_RESET, a config interrupt, one message. */
void launcher_virtio_mmio_fail(struct launcher_virtio_mmio *d, unsigned q, const char *why);

/* The device attached at guest-physical addr, or NULL (used by the MMIO hook and tests). */
struct launcher_virtio_mmio *launcher_virtio_mmio_at(uint64_t addr);

#endif
