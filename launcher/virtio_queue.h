/* virtio_queue.h: split virtqueues, device side: checked rings and descriptor chains. */
#ifndef LAUNCHER_VIRTIO_QUEUE_H
#define LAUNCHER_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h> /* VRING_DESC_F_*, VRING_AVAIL_F_NO_INTERRUPT */

struct launcher_vmm;

/* QueueNumMax of every queue: a chain cannot be longer than its queue, so this also bounds
 * the work one chain can cause. */
#define LAUNCHER_VIRTQ_MAX_SIZE 256u

/* One descriptor chain, as host memory. iov[0, n_read) are device-readable buffers, then
 * iov[n_read, n_read + n_write) device-writable ones (the spec orders them so). Zero-length
 * descriptors are skipped. */
struct launcher_virtq_chain {
    uint16_t head; /* descriptor index to hand back in the used ring */
    unsigned n_read, n_write;
    uint64_t read_len, write_len; /* total bytes of each kind */
    struct iovec iov[LAUNCHER_VIRTQ_MAX_SIZE];
};

struct launcher_virtq {
    /* Set by the driver (through the transport) while the queue is not ready. */
    uint16_t size; /* QueueNum */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    /* Valid while ready: host mappings of the three areas, checked by launcher_virtq_enable. */
    bool ready;
    bool broken; /* a malformed ring was seen: the queue is not used until a reset */
    uint8_t *desc, *avail, *used;
    uint16_t last_avail; /* next available-ring entry the device takes */
    uint16_t used_idx;   /* the device's copy of used->idx */
};

/* Forget everything (device reset or a new queue). */
void launcher_virtq_reset(struct launcher_virtq *q);

/* QueueReady = 1: check size (a power of 2, 1..max_size), alignment, and that the descriptor
 * table and both rings lie in guest RAM. 0 and the queue is ready, or -1 (why in *why). */
int launcher_virtq_enable(struct launcher_virtq *q, struct launcher_vmm *v, unsigned max_size,
                          const char **why);

/* Look at the next available chain without taking it. 1 = *c filled, 0 = none available,
 * -1 = malformed ring (q->broken is set, *why says what). Every descriptor is copied out of
 * guest memory once before it is checked, so the guest cannot change it under us. */
int launcher_virtq_peek(struct launcher_virtq *q, struct launcher_vmm *v,
                        struct launcher_virtq_chain *c, const char **why);
/* Take the chain that peek returned. */
void launcher_virtq_consume(struct launcher_virtq *q);
/* peek + consume. */
int launcher_virtq_pop(struct launcher_virtq *q, struct launcher_vmm *v,
                       struct launcher_virtq_chain *c, const char **why);

/* Hand a chain back: used ring entry (head, bytes written), then used->idx (release). */
void launcher_virtq_push(struct launcher_virtq *q, uint16_t head, uint32_t written);

/* After pushes: does the driver want an interrupt (no VIRTQ_AVAIL_F_NO_INTERRUPT)? */
bool launcher_virtq_wants_interrupt(const struct launcher_virtq *q);

/* Copy bytes at [offset, offset + len) of the chain's readable part into dst, or src into its
 * writable part. Return the bytes copied (short when the chain ends first). */
size_t launcher_virtq_chain_read(const struct launcher_virtq_chain *c, uint64_t offset, void *dst,
                                 size_t len);
size_t launcher_virtq_chain_write(const struct launcher_virtq_chain *c, uint64_t offset,
                                  const void *src, size_t len);

/* Fill out[] with the part [skip, skip + len) of the iovec list in[0, n). Returns the number of
 * entries used (at most max_out); covering fewer bytes than len means in[] was shorter. */
unsigned launcher_virtq_iov_slice(const struct iovec *in, unsigned n, uint64_t skip, uint64_t len,
                                  struct iovec *out, unsigned max_out);

#endif
