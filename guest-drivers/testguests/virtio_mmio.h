/* virtio_mmio.h: the virtio-mmio transport (v2 and legacy v1), devices from the cmdline. */
#ifndef TG_VIRTIO_MMIO_H
#define TG_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

/* Devices are found only from "virtio_mmio.device=SIZE@BASE:IRQ" command-line words: no
 * probing, no ACPI, no PCI. */

#define TG_VIRTIO_ID_NET 1u
#define TG_VIRTIO_ID_BLK 2u

#define TG_VIRTIO_F_VERSION_1 (1ull << 32)

struct tg_virtio_dev {
    const char *name; /* for messages: "net", "blk" */
    uint64_t base;    /* register window, as the command line declared it */
    uint64_t size;
    unsigned irq;      /* GSI */
    uint32_t version;  /* 1 legacy, 2 modern */
    uint64_t features; /* negotiated */
};

/* The first device on the command line whose DeviceID is device_id. Reads only the windows
 * the words declare (MagicValue, Version, DeviceID). False (after a message naming what was
 * found) when there is none. */
bool tg_virtio_find(const char *cmdline, uint32_t device_id, const char *name,
                    struct tg_virtio_dev *dev);

/* The device at [base, base + size) with interrupt irq (from the device page), if its
 * registers say it is a virtio-mmio device with DeviceID device_id. The window must lie in
 * 3-4 GiB (the guest's page tables map that). */
bool tg_virtio_probe(uint64_t base, uint64_t size, unsigned irq, uint32_t device_id,
                     const char *name, struct tg_virtio_dev *dev);

/* Reset, ACKNOWLEDGE, DRIVER, then negotiate: the driver takes wanted & offered (plus
 * VERSION_1 on a modern device, which it must offer), then FEATURES_OK. False after a message. */
bool tg_virtio_begin(struct tg_virtio_dev *dev, uint64_t wanted);

/* Set up queue index with at most max_entries entries (fewer if the device says so). */
bool tg_virtio_queue(struct tg_virtio_dev *dev, uint32_t index, uint16_t max_entries,
                     struct tg_virtq *q);

/* DRIVER_OK: the device may now use the queues and raise interrupts. */
void tg_virtio_driver_ok(struct tg_virtio_dev *dev);

/* Tell the device the driver gave up (FAILED). */
void tg_virtio_fail(struct tg_virtio_dev *dev);

/* Read and acknowledge InterruptStatus (what an interrupt handler does); returns the bits. */
uint32_t tg_virtio_ack_interrupt(struct tg_virtio_dev *dev);

/* Whether the device has set DEVICE_NEEDS_RESET (it found our rings broken). */
bool tg_virtio_needs_reset(struct tg_virtio_dev *dev);

/* Device configuration space, byte and 32-bit reads at offset. */
uint8_t tg_virtio_config8(struct tg_virtio_dev *dev, uint32_t offset);
uint32_t tg_virtio_config32(struct tg_virtio_dev *dev, uint32_t offset);

#endif
