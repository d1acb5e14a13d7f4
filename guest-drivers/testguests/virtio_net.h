/* virtio_net.h: a minimal virtio-net driver: one receive and one transmit queue, no offloads. */
#ifndef TG_VIRTIO_NET_H
#define TG_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio_mmio.h"

#define TG_ETH_FRAME_MAX 1514u /* without the FCS, as virtio-net carries frames */

struct tg_net_buf;

struct tg_net {
    struct tg_virtio_dev dev;
    struct tg_virtq rx, tx;
    uint8_t mac[6];
    uint32_t hdr_len;           /* virtio_net_hdr: 12 bytes (VERSION_1), 10 (legacy) */
    struct tg_net_buf *tx_free; /* transmit buffers not in the queue */
    unsigned interrupts;        /* how many the device raised (for the report) */
    bool from_devpage;          /* found through the device page (MAC from there too) */
};

/* Find the first virtio-net device of the device page (devpage.h) or, without one, of the
 * command line, negotiate (MAC only), set up both
 * queues, fill the receive queue, route its interrupt, DRIVER_OK. Returns 0, or after a
 * message TG_EXIT_NODEV (no such device declared) or TG_EXIT_DEVICE (it misbehaved). */
int tg_net_init(struct tg_net *net, const char *cmdline);

/* The next received frame (Ethernet header first) and its length, or NULL. Hand it back with
 * tg_net_recycle() once done with it. */
uint8_t *tg_net_receive(struct tg_net *net, size_t *len);
void tg_net_recycle(struct tg_net *net, uint8_t *frame);

/* Copy a frame out (len <= TG_ETH_FRAME_MAX). False when the device has not freed any
 * transmit buffer for a long while (a stuck device). */
bool tg_net_send(struct tg_net *net, const void *frame, size_t len);

/* Take back sent buffers, then wait (HLT) unless a received frame is already waiting. */
void tg_net_wait(struct tg_net *net);

/* Wait until the device has taken every frame sent (before powering off). */
void tg_net_flush(struct tg_net *net);

#endif
