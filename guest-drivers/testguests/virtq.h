/* virtq.h: split virtqueues (virtio 1.x section 2.7, same layout as legacy virtio 0.9.5). */
#ifndef TG_VIRTQ_H
#define TG_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_VIRTQ_DESC_F_NEXT  1
#define TG_VIRTQ_DESC_F_WRITE 2
/* Legacy virtio-mmio places the used ring on the next boundary of this alignment. */
#define TG_VIRTQ_LEGACY_ALIGN 4096u

struct tg_virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct tg_virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct tg_virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct tg_virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct tg_virtq_used_elem ring[];
};

struct tg_virtq {
    uint16_t size;      /* entries, a power of two */
    uint16_t free_head; /* first free descriptor (chained through next) */
    uint16_t num_free;
    uint16_t last_used; /* used->idx value up to which entries were taken */
    volatile struct tg_virtq_desc *desc;
    volatile struct tg_virtq_avail *avail;
    volatile struct tg_virtq_used *used;
    void **tokens;        /* the caller's pointer per chain head */
    uint64_t notify_addr; /* QueueNotify of the transport */
    uint32_t index;       /* the queue number written there */
};

/* One buffer of a chain: the device reads it (device_writes false) or writes it. */
struct tg_virtq_buf {
    void *addr;
    uint32_t len;
    bool device_writes;
};

/* Allocate the rings for size entries in one block laid out as legacy virtio-mmio wants it
 * (modern devices take the three addresses as they are). */
void tg_virtq_alloc(struct tg_virtq *q, uint16_t size);

/* Put a chain of n buffers (readable ones first) on the available ring; token comes back from
 * tg_virtq_take(). False when fewer than n descriptors are free. Call tg_virtq_kick() after. */
bool tg_virtq_add(struct tg_virtq *q, const struct tg_virtq_buf *bufs, unsigned n, void *token);

/* Tell the device there are new available buffers. */
void tg_virtq_kick(struct tg_virtq *q);

/* Whether the device has returned a chain not taken yet. */
bool tg_virtq_has_used(const struct tg_virtq *q);

/* Take the next returned chain: its token, *written = bytes the device wrote. NULL if none. */
void *tg_virtq_take(struct tg_virtq *q, uint32_t *written);

#endif
