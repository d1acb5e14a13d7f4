/* virtq.c: split virtqueues: ring memory, descriptor free list, add, kick, take. */
#include "virtq.h"

#include "alloc.h"
#include "io.h"

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

void tg_virtq_alloc(struct tg_virtq *q, uint16_t size)
{
    size_t desc_bytes = sizeof(struct tg_virtq_desc) * size;
    size_t avail_bytes = sizeof(struct tg_virtq_avail) + sizeof(uint16_t) * (size + 1u);
    size_t used_off = align_up(desc_bytes + avail_bytes, TG_VIRTQ_LEGACY_ALIGN);
    size_t used_bytes =
        sizeof(struct tg_virtq_used) + sizeof(struct tg_virtq_used_elem) * size + sizeof(uint16_t);
    uint8_t *block = tg_alloc(used_off + used_bytes, TG_VIRTQ_LEGACY_ALIGN);
    q->size = size;
    q->desc = (volatile struct tg_virtq_desc *)block;
    q->avail = (volatile struct tg_virtq_avail *)(block + desc_bytes);
    q->used = (volatile struct tg_virtq_used *)(block + used_off);
    q->tokens = tg_alloc(sizeof(void *) * size, sizeof(void *));
    for (uint16_t i = 0; i < size; i++)
        q->desc[i].next = (uint16_t)(i + 1);
    q->free_head = 0;
    q->num_free = size;
    q->last_used = 0;
}

bool tg_virtq_add(struct tg_virtq *q, const struct tg_virtq_buf *bufs, unsigned n, void *token)
{
    if (n == 0 || n > q->num_free)
        return false;
    uint16_t head = q->free_head, i = head;
    for (unsigned k = 0; k < n; k++) {
        volatile struct tg_virtq_desc *d = &q->desc[i];
        d->addr = (uint64_t)(uintptr_t)bufs[k].addr;
        d->len = bufs[k].len;
        d->flags = (uint16_t)((bufs[k].device_writes ? TG_VIRTQ_DESC_F_WRITE : 0) |
                              (k + 1 < n ? TG_VIRTQ_DESC_F_NEXT : 0));
        if (k + 1 < n)
            i = d->next;
    }
    q->free_head = q->desc[i].next;
    q->num_free = (uint16_t)(q->num_free - n);
    q->tokens[head] = token;
    uint16_t idx = q->avail->idx;
    q->avail->ring[idx & (q->size - 1)] = head;
    /* The device may read the entry as soon as it sees the new index. */
    tg_compiler_barrier();
    q->avail->idx = (uint16_t)(idx + 1);
    return true;
}

void tg_virtq_kick(struct tg_virtq *q)
{
    tg_mb();
    tg_mmio_write32(q->notify_addr, q->index);
}

bool tg_virtq_has_used(const struct tg_virtq *q)
{
    return q->used->idx != q->last_used;
}

void *tg_virtq_take(struct tg_virtq *q, uint32_t *written)
{
    if (!tg_virtq_has_used(q))
        return NULL;
    /* Read the element only after seeing the index that publishes it. */
    tg_compiler_barrier();
    volatile struct tg_virtq_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
    uint32_t id = e->id;
    uint32_t len = e->len;
    q->last_used++;
    if (id >= q->size)
        return NULL; /* a broken device: nothing sensible to free */
    void *token = q->tokens[id];
    q->tokens[id] = NULL;
    /* Return the chain to the free list. */
    uint16_t tail = (uint16_t)id, count = 1;
    while ((q->desc[tail].flags & TG_VIRTQ_DESC_F_NEXT) && count < q->size) {
        tail = q->desc[tail].next;
        count++;
    }
    q->desc[tail].next = q->free_head;
    q->free_head = (uint16_t)id;
    q->num_free = (uint16_t)(q->num_free + count);
    if (written)
        *written = len;
    return token;
}
