/* virtio_mmio.c: the virtio-mmio transport: find declared devices, negotiate, set up queues. */
#include "virtio_mmio.h"

#include "cmdline.h"
#include "console.h"
#include "io.h"

/* Register offsets (virtio 1.x section 4.2.2; legacy section 4.2.4). */
#define REG_MAGIC            0x000
#define REG_VERSION          0x004
#define REG_DEVICE_ID        0x008
#define REG_DEVICE_FEATURES  0x010
#define REG_DEVICE_FEAT_SEL  0x014
#define REG_DRIVER_FEATURES  0x020
#define REG_DRIVER_FEAT_SEL  0x024
#define REG_LEGACY_PAGE_SIZE 0x028 /* legacy: GuestPageSize */
#define REG_QUEUE_SEL        0x030
#define REG_QUEUE_NUM_MAX    0x034
#define REG_QUEUE_NUM        0x038
#define REG_LEGACY_ALIGN     0x03c /* legacy: QueueAlign */
#define REG_LEGACY_PFN       0x040 /* legacy: QueuePFN */
#define REG_QUEUE_READY      0x044
#define REG_QUEUE_NOTIFY     0x050
#define REG_INT_STATUS       0x060
#define REG_INT_ACK          0x064
#define REG_STATUS           0x070
#define REG_QUEUE_DESC_LOW   0x080
#define REG_QUEUE_DESC_HIGH  0x084
#define REG_QUEUE_AVAIL_LOW  0x090
#define REG_QUEUE_AVAIL_HIGH 0x094
#define REG_QUEUE_USED_LOW   0x0a0
#define REG_QUEUE_USED_HIGH  0x0a4
#define REG_CONFIG           0x100

#define VIRTIO_MAGIC 0x74726976u /* "virt" */

#define STATUS_ACKNOWLEDGE 1u
#define STATUS_DRIVER      2u
#define STATUS_DRIVER_OK   4u
#define STATUS_FEATURES_OK 8u
#define STATUS_NEEDS_RESET 64u
#define STATUS_FAILED      128u

#define WORD_PREFIX "virtio_mmio.device="
/* The transport needs the registers up to the config space; smaller windows are refused. */
#define MIN_WINDOW 0x100u

static uint32_t rd(const struct tg_virtio_dev *dev, uint32_t reg)
{
    return tg_mmio_read32(dev->base + reg);
}

static void wr(const struct tg_virtio_dev *dev, uint32_t reg, uint32_t value)
{
    tg_mmio_write32(dev->base + reg, value);
}

/* "SIZE@BASE:IRQ[:ID]" (Linux's syntax; SIZE may carry K/M/G). */
static bool parse_word(struct tg_str v, uint64_t *size, uint64_t *base, uint64_t *irq)
{
    size_t at = 0, colon = 0, end = v.len;
    while (at < v.len && v.s[at] != '@')
        at++;
    for (colon = at; colon < v.len && v.s[colon] != ':'; colon++)
        ;
    if (at == v.len || colon == v.len)
        return false;
    for (end = colon + 1; end < v.len && v.s[end] != ':'; end++)
        ;
    struct tg_str s_size = {v.s, at};
    struct tg_str s_base = {v.s + at + 1, colon - at - 1};
    struct tg_str s_irq = {v.s + colon + 1, end - colon - 1};
    return tg_parse_u64(s_size, true, size) && tg_parse_u64(s_base, true, base) &&
           tg_parse_u64(s_irq, false, irq);
}

bool tg_virtio_probe(uint64_t base, uint64_t size, unsigned irq, uint32_t device_id,
                     const char *name, struct tg_virtio_dev *dev)
{
    /* The static page tables map the device windows' GiB (3-4 GiB) only. */
    if (size < MIN_WINDOW || base < 0xc0000000ull || base + size > 0x100000000ull || (base & 3))
        return false;
    struct tg_virtio_dev d = {name, base, size, irq, 0, 0};
    uint32_t magic = rd(&d, REG_MAGIC);
    d.version = rd(&d, REG_VERSION);
    uint32_t id = rd(&d, REG_DEVICE_ID);
    if (magic != VIRTIO_MAGIC || (d.version != 1 && d.version != 2) || id != device_id)
        return false;
    *dev = d;
    return true;
}

bool tg_virtio_find(const char *cmdline, uint32_t device_id, const char *name,
                    struct tg_virtio_dev *dev)
{
    unsigned seen = 0;
    struct tg_str word, v;
    for (const char *cur = cmdline; tg_cmdline_next(&cur, &word);) {
        if (!tg_str_prefix(word, WORD_PREFIX, &v))
            continue;
        uint64_t size, base, irq;
        if (!parse_word(v, &size, &base, &irq)) {
            tg_printf("%s: ignoring malformed word '%.*s' (want " WORD_PREFIX "SIZE@BASE:IRQ)\n",
                      name, (int)word.len, word.s);
            continue;
        }
        if (size < MIN_WINDOW || base < 0xc0000000ull || base + size > 0x100000000ull ||
            (base & 3)) {
            tg_printf("%s: ignoring %.*s: the window must be at least %#x bytes inside "
                      "3-4 GiB\n",
                      name, (int)word.len, word.s, MIN_WINDOW);
            continue;
        }
        seen++;
        if (tg_virtio_probe(base, size, (unsigned)irq, device_id, name, dev))
            return true;
    }
    tg_printf("%s: no virtio-mmio device with DeviceID %u among the %u declared on the command "
              "line (the VMM must add virtio_mmio.device=SIZE@BASE:IRQ for it)\n",
              name, device_id, seen);
    return false;
}

static void set_status(struct tg_virtio_dev *dev, uint32_t bits)
{
    wr(dev, REG_STATUS, rd(dev, REG_STATUS) | bits);
}

bool tg_virtio_begin(struct tg_virtio_dev *dev, uint64_t wanted)
{
    wr(dev, REG_STATUS, 0);
    if (rd(dev, REG_STATUS) != 0) {
        tg_printf("%s: the device at %#llx does not reset\n", dev->name,
                  (unsigned long long)dev->base);
        return false;
    }
    set_status(dev, STATUS_ACKNOWLEDGE);
    set_status(dev, STATUS_DRIVER);
    wr(dev, REG_DEVICE_FEAT_SEL, 0);
    uint64_t offered = rd(dev, REG_DEVICE_FEATURES);
    if (dev->version == 2) {
        wr(dev, REG_DEVICE_FEAT_SEL, 1);
        offered |= (uint64_t)rd(dev, REG_DEVICE_FEATURES) << 32;
        if (!(offered & TG_VIRTIO_F_VERSION_1)) {
            tg_printf("%s: the device does not offer VIRTIO_F_VERSION_1\n", dev->name);
            tg_virtio_fail(dev);
            return false;
        }
        wanted |= TG_VIRTIO_F_VERSION_1;
    } else {
        wanted &= ~TG_VIRTIO_F_VERSION_1;
    }
    dev->features = wanted & offered;
    wr(dev, REG_DRIVER_FEAT_SEL, 0);
    wr(dev, REG_DRIVER_FEATURES, (uint32_t)dev->features);
    if (dev->version == 1) {
        /* Legacy: no FEATURES_OK step; queue addresses are page frame numbers of this size. */
        wr(dev, REG_LEGACY_PAGE_SIZE, TG_VIRTQ_LEGACY_ALIGN);
        return true;
    }
    wr(dev, REG_DRIVER_FEAT_SEL, 1);
    wr(dev, REG_DRIVER_FEATURES, (uint32_t)(dev->features >> 32));
    set_status(dev, STATUS_FEATURES_OK);
    if (!(rd(dev, REG_STATUS) & STATUS_FEATURES_OK)) {
        tg_printf("%s: the device refused features %#llx\n", dev->name,
                  (unsigned long long)dev->features);
        tg_virtio_fail(dev);
        return false;
    }
    return true;
}

bool tg_virtio_queue(struct tg_virtio_dev *dev, uint32_t index, uint16_t max_entries,
                     struct tg_virtq *q)
{
    wr(dev, REG_QUEUE_SEL, index);
    if (dev->version == 2 && rd(dev, REG_QUEUE_READY)) {
        tg_printf("%s: queue %u is already in use\n", dev->name, index);
        return false;
    }
    uint32_t max = rd(dev, REG_QUEUE_NUM_MAX);
    if (max == 0) {
        tg_printf("%s: the device has no queue %u\n", dev->name, index);
        return false;
    }
    /* The largest power of two within both limits. */
    uint16_t size = 1;
    while ((uint32_t)size * 2 <= max && size * 2 <= max_entries)
        size = (uint16_t)(size * 2);
    tg_virtq_alloc(q, size);
    q->notify_addr = dev->base + REG_QUEUE_NOTIFY;
    q->index = index;
    wr(dev, REG_QUEUE_NUM, size);
    if (dev->version == 1) {
        wr(dev, REG_LEGACY_ALIGN, TG_VIRTQ_LEGACY_ALIGN);
        wr(dev, REG_LEGACY_PFN, (uint32_t)((uintptr_t)q->desc / TG_VIRTQ_LEGACY_ALIGN));
        return true;
    }
    uint64_t desc = (uintptr_t)q->desc, avail = (uintptr_t)q->avail, used = (uintptr_t)q->used;
    wr(dev, REG_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(dev, REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(dev, REG_QUEUE_AVAIL_LOW, (uint32_t)avail);
    wr(dev, REG_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
    wr(dev, REG_QUEUE_USED_LOW, (uint32_t)used);
    wr(dev, REG_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
    wr(dev, REG_QUEUE_READY, 1);
    return true;
}

void tg_virtio_driver_ok(struct tg_virtio_dev *dev)
{
    set_status(dev, STATUS_DRIVER_OK);
}

void tg_virtio_fail(struct tg_virtio_dev *dev)
{
    set_status(dev, STATUS_FAILED);
}

uint32_t tg_virtio_ack_interrupt(struct tg_virtio_dev *dev)
{
    uint32_t bits = rd(dev, REG_INT_STATUS);
    if (bits)
        wr(dev, REG_INT_ACK, bits);
    return bits;
}

bool tg_virtio_needs_reset(struct tg_virtio_dev *dev)
{
    return dev->version == 2 && (rd(dev, REG_STATUS) & STATUS_NEEDS_RESET);
}

uint8_t tg_virtio_config8(struct tg_virtio_dev *dev, uint32_t offset)
{
    return tg_mmio_read8(dev->base + REG_CONFIG + offset);
}

uint32_t tg_virtio_config32(struct tg_virtio_dev *dev, uint32_t offset)
{
    return rd(dev, REG_CONFIG + offset);
}
