/* virtio_queue.c: split virtqueues, device side: checked ring mappings, chains, used ring. */
#include "launcher/virtio_queue.h"

#include <string.h>

#include "launcher/vmm.h"

/* virtio rings are little-endian; so is every host this monitor runs on (x86-64 KVM). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "virtio rings are little-endian, as is this host");

/* Ring layout (virtio 1.x 2.7): sizes and offsets, in bytes. */
#define DESC_SIZE      16u
#define AVAIL_RING_OFF 4u /* after flags and idx */
#define USED_RING_OFF  4u
#define USED_ELEM_SIZE 8u
#define DESC_ALIGN     16u
#define AVAIL_ALIGN    2u
#define USED_ALIGN     4u

_Static_assert(sizeof(struct vring_desc) == DESC_SIZE, "virtq_desc is 16 bytes");

/* The rings are shared with a running vCPU: indexes are read and written atomically, with
 * acquire/release so that ring entries are seen in order. */
static uint16_t load16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void store16(uint8_t *p, uint16_t value)
{
    __atomic_store_n((uint16_t *)p, value, __ATOMIC_RELEASE);
}

void launcher_virtq_reset(struct launcher_virtq *q)
{
    memset(q, 0, sizeof(*q));
}

static uint8_t *map_area(struct launcher_vmm *v, uint64_t gpa, uint64_t len, uint64_t align)
{
    if (gpa % align != 0)
        return NULL;
    return launcher_vmm_gpa(v, gpa, len);
}

int launcher_virtq_enable(struct launcher_virtq *q, struct launcher_vmm *v, unsigned max_size,
                          const char **why)
{
    unsigned n = q->size;
    if (max_size > LAUNCHER_VIRTQ_MAX_SIZE) /* chains are collected in a fixed array */
        max_size = LAUNCHER_VIRTQ_MAX_SIZE;
    if (n == 0 || n > max_size || (n & (n - 1)) != 0) {
        *why = "queue size is not a power of 2 within QueueNumMax";
        return -1;
    }
    q->desc = map_area(v, q->desc_gpa, (uint64_t)n * DESC_SIZE, DESC_ALIGN);
    q->avail = map_area(v, q->avail_gpa, AVAIL_RING_OFF + 2ull * n, AVAIL_ALIGN);
    q->used = map_area(v, q->used_gpa, USED_RING_OFF + (uint64_t)USED_ELEM_SIZE * n, USED_ALIGN);
    if (!q->desc || !q->avail || !q->used) {
        *why = "descriptor table or ring is misaligned or outside guest RAM";
        q->desc = q->avail = q->used = NULL;
        return -1;
    }
    q->last_avail = 0;
    q->used_idx = 0;
    q->broken = false;
    q->ready = true;
    return 0;
}

static int malformed(struct launcher_virtq *q, const char **why, const char *what)
{
    q->broken = true;
    *why = what;
    return -1;
}

int launcher_virtq_peek(struct launcher_virtq *q, struct launcher_vmm *v,
                        struct launcher_virtq_chain *c, const char **why)
{
    if (!q->ready || q->broken)
        return 0;
    uint16_t avail_idx = load16(q->avail + 2);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return malformed(q, why, "available index ran more than a queue size ahead");

    uint16_t mask = (uint16_t)(q->size - 1);
    uint16_t head =
        __atomic_load_n((const uint16_t *)(q->avail + AVAIL_RING_OFF + 2u * (q->last_avail & mask)),
                        __ATOMIC_RELAXED);
    if (head >= q->size)
        return malformed(q, why, "available ring names a descriptor beyond the queue size");

    c->head = head;
    c->n_read = c->n_write = 0;
    c->read_len = c->write_len = 0;
    uint16_t i = head;
    /* A chain visits each descriptor at most once, so more than size steps means a loop. */
    for (unsigned steps = 0;; steps++) {
        if (steps >= q->size)
            return malformed(q, why, "descriptor chain loops (longer than the queue)");
        struct vring_desc d;
        memcpy(&d, q->desc + (size_t)i * DESC_SIZE, sizeof(d)); /* one read of guest memory */
        if (d.flags & VRING_DESC_F_INDIRECT)
            return malformed(q, why, "indirect descriptor (VIRTIO_F_INDIRECT_DESC not offered)");
        bool writable = d.flags & VRING_DESC_F_WRITE;
        if (!writable && c->n_write > 0)
            return malformed(q, why, "device-readable descriptor after a device-writable one");
        if (d.len > 0) {
            void *host = launcher_vmm_gpa(v, d.addr, d.len);
            if (!host)
                return malformed(q, why, "descriptor buffer lies outside guest RAM");
            struct iovec *slot = &c->iov[c->n_read + c->n_write];
            slot->iov_base = host;
            slot->iov_len = d.len;
            if (writable) {
                c->n_write++;
                c->write_len += d.len;
            } else {
                c->n_read++;
                c->read_len += d.len;
            }
        }
        if (!(d.flags & VRING_DESC_F_NEXT))
            break;
        if (d.next >= q->size)
            return malformed(q, why, "descriptor's next index is beyond the queue size");
        i = d.next;
    }
    return 1;
}

void launcher_virtq_consume(struct launcher_virtq *q)
{
    q->last_avail++;
}

int launcher_virtq_pop(struct launcher_virtq *q, struct launcher_vmm *v,
                       struct launcher_virtq_chain *c, const char **why)
{
    int r = launcher_virtq_peek(q, v, c, why);
    if (r == 1)
        launcher_virtq_consume(q);
    return r;
}

void launcher_virtq_push(struct launcher_virtq *q, uint16_t head, uint32_t written)
{
    uint16_t mask = (uint16_t)(q->size - 1);
    uint8_t *elem = q->used + USED_RING_OFF + (size_t)USED_ELEM_SIZE * (q->used_idx & mask);
    uint32_t id = head;
    memcpy(elem, &id, 4);
    memcpy(elem + 4, &written, 4);
    q->used_idx++;
    store16(q->used + 2, q->used_idx); /* release: the element is visible first */
}

bool launcher_virtq_wants_interrupt(const struct launcher_virtq *q)
{
    if (!q->ready)
        return false;
    /* The used index store must be visible before we read the driver's flags, or we can miss
     * a driver that just re-enabled interrupts after finding the ring empty. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t flags = __atomic_load_n((const uint16_t *)q->avail, __ATOMIC_RELAXED);
    return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}

/* Copy between a flat buffer and the byte range [offset, offset + len) of iov[0, n). */
static size_t iov_copy(const struct iovec *iov, unsigned n, uint64_t offset, uint8_t *flat,
                       size_t len, bool to_iov)
{
    size_t done = 0;
    for (unsigned k = 0; k < n && done < len; k++) {
        if (offset >= iov[k].iov_len) {
            offset -= iov[k].iov_len;
            continue;
        }
        size_t chunk = iov[k].iov_len - offset;
        if (chunk > len - done)
            chunk = len - done;
        uint8_t *p = (uint8_t *)iov[k].iov_base + offset;
        if (to_iov)
            memcpy(p, flat + done, chunk);
        else
            memcpy(flat + done, p, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t launcher_virtq_chain_read(const struct launcher_virtq_chain *c, uint64_t offset, void *dst,
                                 size_t len)
{
    return iov_copy(c->iov, c->n_read, offset, dst, len, false);
}

size_t launcher_virtq_chain_write(const struct launcher_virtq_chain *c, uint64_t offset,
                                  const void *src, size_t len)
{
    return iov_copy(c->iov + c->n_read, c->n_write, offset, (uint8_t *)(uintptr_t)src, len, true);
}

unsigned launcher_virtq_iov_slice(const struct iovec *in, unsigned n, uint64_t skip, uint64_t len,
                                  struct iovec *out, unsigned max_out)
{
    unsigned used = 0;
    for (unsigned k = 0; k < n && len > 0 && used < max_out; k++) {
        if (skip >= in[k].iov_len) {
            skip -= in[k].iov_len;
            continue;
        }
        uint64_t chunk = in[k].iov_len - skip;
        if (chunk > len)
            chunk = len;
        out[used].iov_base = (uint8_t *)in[k].iov_base + skip;
        out[used].iov_len = chunk;
        used++;
        len -= chunk;
        skip = 0;
    }
    return used;
}
