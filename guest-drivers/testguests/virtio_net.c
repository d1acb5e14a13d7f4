/* virtio_net.c: a minimal virtio-net driver: one receive and one transmit queue, no offloads. */
#include "virtio_net.h"

#include "alloc.h"
#include "devpage.h"
#include "console.h"
#include "io.h"
#include "irq.h"
#include "mem.h"
#include "power.h"

#define VIRTIO_NET_F_MAC (1ull << 5)
#define QUEUE_RX         0
#define QUEUE_TX         1
#define QUEUE_ENTRIES    64u
/* Two descriptors per frame (header, then data), as legacy devices without ANY_LAYOUT want. */
#define DESC_PER_FRAME 2u
#define HDR_MAX        12u
/* A stuck transmit queue ends the wait after this many interrupt-less spins. */
#define TX_SPIN_LIMIT 10000000u

/* A frame buffer: the virtio_net_hdr, then the Ethernet frame. */
struct tg_net_buf {
    struct tg_net_buf *next_free;
    uint8_t hdr[HDR_MAX];
    uint8_t frame[TG_ETH_FRAME_MAX];
};

static void on_interrupt(void *ctx)
{
    struct tg_net *net = ctx;
    tg_virtio_ack_interrupt(&net->dev);
    net->interrupts++;
}

static bool post_rx(struct tg_net *net, struct tg_net_buf *b)
{
    struct tg_virtq_buf bufs[DESC_PER_FRAME] = {
        {b->hdr, net->hdr_len, true},
        {b->frame, TG_ETH_FRAME_MAX, true},
    };
    return tg_virtq_add(&net->rx, bufs, DESC_PER_FRAME, b);
}

static struct tg_net_buf *buf_of_frame(uint8_t *frame)
{
    return (struct tg_net_buf *)(frame - __builtin_offsetof(struct tg_net_buf, frame));
}

int tg_net_init(struct tg_net *net, const char *cmdline)
{
    memset(net, 0, sizeof(*net));
    struct devpage_abi_device entry;
    if (tg_devpage_find(DEVPAGE_ABI_NET, 0, &entry)) {
        if (!tg_virtio_probe(entry.mmio_base, entry.mmio_size, entry.irq, TG_VIRTIO_ID_NET, "net",
                             &net->dev)) {
            tg_printf("net: the device page names a virtio-net device at %#llx irq %u, but "
                      "there is none\n",
                      (unsigned long long)entry.mmio_base, entry.irq);
            return TG_EXIT_NODEV;
        }
        net->from_devpage = true;
    } else if (!tg_virtio_find(cmdline, TG_VIRTIO_ID_NET, "net", &net->dev)) {
        return TG_EXIT_NODEV;
    }
    if (!tg_virtio_begin(&net->dev, VIRTIO_NET_F_MAC))
        return TG_EXIT_DEVICE;
    net->hdr_len = net->dev.version == 1 ? 10 : 12;
    if (!tg_virtio_queue(&net->dev, QUEUE_RX, QUEUE_ENTRIES, &net->rx) ||
        !tg_virtio_queue(&net->dev, QUEUE_TX, QUEUE_ENTRIES, &net->tx)) {
        tg_virtio_fail(&net->dev);
        return TG_EXIT_DEVICE;
    }
    if (net->from_devpage) {
        memcpy(net->mac, entry.mac, 6); /* the same as the device's config space */
    } else if (net->dev.features & VIRTIO_NET_F_MAC) {
        for (unsigned i = 0; i < 6; i++)
            net->mac[i] = tg_virtio_config8(&net->dev, i);
    } else {
        /* A locally administered address of our own. */
        static const uint8_t fallback[6] = {0x02, 0x74, 0x67, 0x00, 0x00, 0x01};
        memcpy(net->mac, fallback, sizeof(fallback));
    }
    while (net->rx.num_free >= DESC_PER_FRAME)
        post_rx(net, tg_alloc_buffer(sizeof(struct tg_net_buf), 64));
    for (unsigned i = 0; i < net->tx.size / DESC_PER_FRAME; i++) {
        struct tg_net_buf *b = tg_alloc_buffer(sizeof(struct tg_net_buf), 64);
        b->next_free = net->tx_free;
        net->tx_free = b;
    }
    if (!tg_irq_attach(net->dev.irq, on_interrupt, net)) {
        tg_virtio_fail(&net->dev);
        return TG_EXIT_DEVICE;
    }
    tg_virtio_driver_ok(&net->dev);
    tg_virtq_kick(&net->rx);
    return 0;
}

uint8_t *tg_net_receive(struct tg_net *net, size_t *len)
{
    uint32_t written;
    struct tg_net_buf *b;
    while ((b = tg_virtq_take(&net->rx, &written))) {
        if (written > net->hdr_len && written <= net->hdr_len + TG_ETH_FRAME_MAX) {
            *len = written - net->hdr_len;
            return b->frame;
        }
        post_rx(net, b); /* runt or oversized: drop it */
        tg_virtq_kick(&net->rx);
    }
    return NULL;
}

void tg_net_recycle(struct tg_net *net, uint8_t *frame)
{
    post_rx(net, buf_of_frame(frame));
    tg_virtq_kick(&net->rx);
}

static void reclaim_tx(struct tg_net *net)
{
    struct tg_net_buf *b;
    while ((b = tg_virtq_take(&net->tx, NULL))) {
        b->next_free = net->tx_free;
        net->tx_free = b;
    }
}

bool tg_net_send(struct tg_net *net, const void *frame, size_t len)
{
    if (len > TG_ETH_FRAME_MAX)
        return false;
    reclaim_tx(net);
    for (unsigned spins = 0; !net->tx_free; spins++) {
        if (spins == TX_SPIN_LIMIT) {
            tg_printf("net: the device returns no transmit buffers\n");
            return false;
        }
        tg_pause();
        reclaim_tx(net);
    }
    struct tg_net_buf *b = net->tx_free;
    net->tx_free = b->next_free;
    memset(b->hdr, 0, sizeof(b->hdr));
    memcpy(b->frame, frame, len);
    struct tg_virtq_buf bufs[DESC_PER_FRAME] = {
        {b->hdr, net->hdr_len, false},
        {b->frame, (uint32_t)len, false},
    };
    tg_virtq_add(&net->tx, bufs, DESC_PER_FRAME, b);
    tg_virtq_kick(&net->tx);
    return true;
}

void tg_net_wait(struct tg_net *net)
{
    reclaim_tx(net);
    tg_cli();
    if (!tg_virtq_has_used(&net->rx))
        tg_wait_interrupt();
}

void tg_net_flush(struct tg_net *net)
{
    reclaim_tx(net);
    while (net->tx.num_free != net->tx.size) {
        tg_cli();
        if (!tg_virtq_has_used(&net->tx))
            tg_wait_interrupt();
        reclaim_tx(net);
    }
}
