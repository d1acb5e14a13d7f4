/* virtio_mmio.c: the virtio-mmio v2 register window, negotiation, notify and interrupts. */
#include "launcher/virtio_mmio.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>

#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "tinyx/util.h"

#define FEATURE_VERSION_1 (1ull << VIRTIO_F_VERSION_1)

/* Attached devices by slot; written during setup (one thread), read by the vCPU thread. */
static struct launcher_virtio_mmio *slots[LAYOUT_VIRTIO_MAX_DEVICES];

void launcher_virtio_mmio_init(struct launcher_virtio_mmio *d, struct launcher_vmm *v,
                               const struct launcher_virtio_ops *ops, void *priv, uint64_t features)
{
    memset(d, 0, sizeof(*d));
    d->vm = v;
    d->ops = ops;
    d->priv = priv;
    d->features = features | FEATURE_VERSION_1;
    d->slot = -1;
    d->irqfd = -1;
    d->notify_fd = -1;
    pthread_mutex_init(&d->lock, NULL);
}

static void on_notify_fd(struct launcher_vmm *v, void *ctx)
{
    (void)v;
    struct launcher_virtio_mmio *d = ctx;
    uint64_t count;
    /* Clear the eventfd; which queue was kicked is not recorded, so look at all of them. */
    if (read(d->notify_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return;
    launcher_virtio_mmio_notify_all(d);
}

int launcher_virtio_mmio_attach(struct launcher_virtio_mmio *d, struct strvec *cmdline_words)
{
    unsigned i = 0;
    while (i < LAYOUT_VIRTIO_MAX_DEVICES && slots[i])
        i++;
    if (i == LAYOUT_VIRTIO_MAX_DEVICES)
        return tinyx_err("%s: too many virtio devices (at most %u --net and --blk together)",
                         d->ops->name, LAYOUT_VIRTIO_MAX_DEVICES);
    d->slot = (int)i;
    d->base = LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)i * LAYOUT_VIRTIO_MMIO_STRIDE;
    d->gsi = LAYOUT_VIRTIO_IRQ_BASE + i;

    d->irqfd = launcher_vmm_irqfd(d->vm, d->gsi);
    if (d->irqfd < 0)
        tinyx_debug("%s: no irqfd for GSI %u: interrupts go through KVM_IRQ_LINE", d->ops->name,
                    d->gsi);
    d->notify_fd = launcher_vmm_ioeventfd(d->vm, d->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4);
    if (d->notify_fd < 0) {
        tinyx_debug("%s: no ioeventfd: queue notifications exit to the monitor", d->ops->name);
    } else if (launcher_vmm_watch(d->vm, d->notify_fd, on_notify_fd, d) < 0) {
        launcher_virtio_mmio_detach(d);
        return -1;
    }
    tinyx_strvec_pushf(cmdline_words, "virtio_mmio.device=%u@0x%llx:%u", LAYOUT_VIRTIO_MMIO_SIZE,
                       (unsigned long long)d->base, d->gsi);
    slots[i] = d;
    return 0;
}

void launcher_virtio_mmio_detach(struct launcher_virtio_mmio *d)
{
    if (d->slot >= 0 && slots[d->slot] == d)
        slots[d->slot] = NULL;
    d->slot = -1;
    if (d->irqfd >= 0)
        close(d->irqfd);
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->irqfd = d->notify_fd = -1;
}

void launcher_virtio_mmio_destroy(struct launcher_virtio_mmio *d)
{
    launcher_virtio_mmio_detach(d);
    pthread_mutex_destroy(&d->lock);
}

struct launcher_virtio_mmio *launcher_virtio_mmio_at(uint64_t addr)
{
    if (addr < LAYOUT_VIRTIO_MMIO_BASE)
        return NULL;
    uint64_t slot = (addr - LAYOUT_VIRTIO_MMIO_BASE) / LAYOUT_VIRTIO_MMIO_STRIDE;
    return slot < LAYOUT_VIRTIO_MAX_DEVICES ? slots[slot] : NULL;
}

/* Interrupts. With irqfd every raise is an edge (KVM pulses the GSI). Without it the line
 * follows InterruptStatus != 0, which works for edge and level pins alike. */
static void update_irq_line(struct launcher_virtio_mmio *d)
{
    if (d->irqfd >= 0 || d->slot < 0 || d->irq_line_failed)
        return;
    int level = d->interrupt_status != 0;
    if (level == d->irq_line_level)
        return;
    if (launcher_vmm_irq_line(d->vm, d->gsi, level) < 0) {
        d->irq_line_failed = true;
        tinyx_warn("%s at 0x%llx: cannot raise GSI %u (no irqfd, KVM_IRQ_LINE failed): the "
                   "guest only sees completions by polling the used ring",
                   d->ops->name, (unsigned long long)d->base, d->gsi);
        return;
    }
    d->irq_line_level = level;
}

static void raise_interrupt(struct launcher_virtio_mmio *d, uint32_t bits)
{
    d->interrupt_status |= bits;
    if (d->irqfd >= 0) {
        uint64_t one = 1;
        if (write(d->irqfd, &one, sizeof(one)) == (ssize_t)sizeof(one))
            return;
    }
    update_irq_line(d);
}

bool launcher_virtio_mmio_queue_live(struct launcher_virtio_mmio *d, unsigned q)
{
    const uint32_t live = VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
    return (d->status & live) == live && !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
           q < d->ops->num_queues && d->queues[q].ready && !d->queues[q].broken;
}

void launcher_virtio_mmio_used(struct launcher_virtio_mmio *d, unsigned q)
{
    if (q < d->ops->num_queues && launcher_virtq_wants_interrupt(&d->queues[q]))
        raise_interrupt(d, VIRTIO_MMIO_INT_VRING);
}

void launcher_virtio_mmio_fail(struct launcher_virtio_mmio *d, unsigned q, const char *why)
{
    if (q < d->ops->num_queues)
        d->queues[q].broken = true;
    if (d->status & VIRTIO_CONFIG_S_NEEDS_RESET)
        return;
    d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    if (!d->warned) {
        d->warned = true;
        tinyx_warn("%s at 0x%llx, queue %u: %s; the device stops until the guest resets it "
                   "(later errors of this device are not reported)",
                   d->ops->name, (unsigned long long)d->base, q, why);
    }
    if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
        raise_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

static void process_queue(struct launcher_virtio_mmio *d, unsigned q)
{
    if (launcher_virtio_mmio_queue_live(d, q) && d->ops->queue_notify)
        d->ops->queue_notify(d, q);
}

void launcher_virtio_mmio_notify_all(struct launcher_virtio_mmio *d)
{
    pthread_mutex_lock(&d->lock);
    for (unsigned q = 0; q < d->ops->num_queues; q++)
        process_queue(d, q);
    pthread_mutex_unlock(&d->lock);
}

static void device_reset(struct launcher_virtio_mmio *d)
{
    d->status = 0;
    d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
    d->driver_features = 0;
    d->interrupt_status = 0;
    for (unsigned q = 0; q < LAUNCHER_VIRTIO_MAX_QUEUES; q++)
        launcher_virtq_reset(&d->queues[q]);
    update_irq_line(d);
    if (d->ops->reset)
        d->ops->reset(d);
}

static void write_status(struct launcher_virtio_mmio *d, uint32_t value)
{
    if (value == 0) {
        device_reset(d);
        return;
    }
    uint32_t old = d->status;
    /* NEEDS_RESET is the device's bit: the driver can neither set nor clear it. */
    uint32_t status =
        (value & ~VIRTIO_CONFIG_S_NEEDS_RESET & 0xffu) | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
    if ((status & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
        /* Modern only, and nothing we did not offer: otherwise FEATURES_OK does not stick and
         * the driver sees the refusal when it reads the status back. */
        bool acceptable =
            (d->driver_features & ~d->features) == 0 && (d->driver_features & FEATURE_VERSION_1);
        if (!acceptable)
            status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    d->status = status;
    if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
        for (unsigned q = 0; q < d->ops->num_queues; q++)
            process_queue(d, q); /* e.g. frames that arrived before the driver was ready */
    }
}

static struct launcher_virtq *selected_queue(struct launcher_virtio_mmio *d)
{
    return d->queue_sel < d->ops->num_queues ? &d->queues[d->queue_sel] : NULL;
}

static void set_half(uint64_t *field, bool high, uint32_t value)
{
    if (high)
        *field = (*field & 0xffffffffull) | ((uint64_t)value << 32);
    else
        *field = (*field & ~0xffffffffull) | value;
}

static void enable_queue(struct launcher_virtio_mmio *d, struct launcher_virtq *q)
{
    const char *why = NULL;
    if (launcher_virtq_enable(q, d->vm, LAUNCHER_VIRTQ_MAX_SIZE, &why) < 0)
        launcher_virtio_mmio_fail(d, d->queue_sel, why);
}

static uint32_t read_register(struct launcher_virtio_mmio *d, uint64_t offset)
{
    struct launcher_virtq *q = selected_queue(d);
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return LAUNCHER_VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return d->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return LAUNCHER_VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        if (d->device_features_sel > 1)
            return 0;
        return (uint32_t)(d->features >> (32 * d->device_features_sel));
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return q ? LAUNCHER_VIRTQ_MAX_SIZE : 0; /* 0: no such queue */
    case VIRTIO_MMIO_QUEUE_READY:
        return q ? q->ready : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return d->interrupt_status;
    case VIRTIO_MMIO_STATUS:
        return d->status;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0xffffffffu; /* no shared memory regions */
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return 0; /* the config space never changes while the driver runs */
    default:
        return 0;
    }
}

static void write_register(struct launcher_virtio_mmio *d, uint64_t offset, uint32_t value)
{
    struct launcher_virtq *q = selected_queue(d);
    /* Queue addresses and size are fixed while the queue is ready. */
    struct launcher_virtq *setup = q && !q->ready ? q : NULL;
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        d->device_features_sel = value;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (!(d->status & VIRTIO_CONFIG_S_FEATURES_OK) && d->driver_features_sel <= 1)
            set_half(&d->driver_features, d->driver_features_sel == 1, value);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        d->driver_features_sel = value;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        d->queue_sel = value;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (setup)
            setup->size = value <= LAUNCHER_VIRTQ_MAX_SIZE ? (uint16_t)value : 0;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (q && value == 1 && !q->ready)
            enable_queue(d, q);
        else if (q && value == 0)
            q->ready = false;
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (value < d->ops->num_queues)
            process_queue(d, value);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        d->interrupt_status &= ~value;
        update_irq_line(d);
        break;
    case VIRTIO_MMIO_STATUS:
        write_status(d, value);
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if (setup)
            set_half(&setup->desc_gpa, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
    case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
        if (setup)
            set_half(&setup->avail_gpa, offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, value);
        break;
    case VIRTIO_MMIO_QUEUE_USED_LOW:
    case VIRTIO_MMIO_QUEUE_USED_HIGH:
        if (setup)
            set_half(&setup->used_gpa, offset == VIRTIO_MMIO_QUEUE_USED_HIGH, value);
        break;
    default:
        break; /* read-only or unknown: ignored */
    }
}

void launcher_virtio_mmio_access(struct launcher_virtio_mmio *d, uint64_t offset, bool is_write,
                                 uint8_t *data, unsigned len)
{
    if (len == 0 || len > 8)
        return;
    if (!is_write)
        memset(data, 0, len);
    pthread_mutex_lock(&d->lock);
    if (offset >= VIRTIO_MMIO_CONFIG) {
        /* Config space: any of 1/2/4/8 bytes, read-only (the MAC and capacity are ours). */
        uint64_t at = offset - VIRTIO_MMIO_CONFIG;
        if (!is_write && at < d->config_size && len <= d->config_size - at)
            memcpy(data, d->config + at, len);
    } else if (len == 4 && offset % 4 == 0) {
        /* Registers: aligned 32-bit accesses only (virtio 1.x 4.2.2.2). */
        if (is_write) {
            uint32_t value;
            memcpy(&value, data, 4);
            write_register(d, offset, value);
        } else {
            uint32_t value = read_register(d, offset);
            memcpy(data, &value, 4);
        }
    }
    pthread_mutex_unlock(&d->lock);
}

/* The module: one MMIO hook for every window. Unused slots and the gap between the register
 * window and the next slot read as zero, so a guest probing slots sees no device. */
static int virtio_mmio_exit(struct launcher_vmm *v, uint64_t addr, bool is_write, uint8_t *data,
                            unsigned len)
{
    (void)v;
    const uint64_t end =
        LAYOUT_VIRTIO_MMIO_BASE + (uint64_t)LAYOUT_VIRTIO_MAX_DEVICES * LAYOUT_VIRTIO_MMIO_STRIDE;
    if (addr < LAYOUT_VIRTIO_MMIO_BASE || addr >= end || len > 8)
        return 0;
    uint64_t offset = (addr - LAYOUT_VIRTIO_MMIO_BASE) % LAYOUT_VIRTIO_MMIO_STRIDE;
    struct launcher_virtio_mmio *d = launcher_virtio_mmio_at(addr);
    if (d && offset + len <= LAYOUT_VIRTIO_MMIO_SIZE)
        launcher_virtio_mmio_access(d, offset, is_write, data, len);
    else if (!is_write)
        memset(data, 0, len);
    return 1;
}

/* While the VM runs: the I/O thread reads the ioeventfds and writes the irqfds; the locks may
 * sleep in futex. */
static int virtio_mmio_sandbox(struct launcher_vmm *v, void *seccomp_ctx)
{
    (void)v;
    scmp_filter_ctx ctx = seccomp_ctx;
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 0);
    for (unsigned i = 0; i < LAYOUT_VIRTIO_MAX_DEVICES && rc == 0; i++) {
        const struct launcher_virtio_mmio *d = slots[i];
        if (!d)
            continue;
        if (d->notify_fd >= 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)d->notify_fd));
        if (rc == 0 && d->irqfd >= 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)d->irqfd));
    }
    if (rc < 0) {
        errno = -rc;
        return tinyx_errno("virtio-mmio: cannot add seccomp rules");
    }
    return 0;
}

static const struct launcher_vmm_module virtio_mmio_module = {
    .name = "virtio-mmio",
    .mmio = virtio_mmio_exit,
    .sandbox = virtio_mmio_sandbox,
};
LAUNCHER_VMM_MODULE(virtio_mmio_module);
