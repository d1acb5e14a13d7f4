/* test_virtio_mmio.c: the virtio-mmio transport and virtqueues against a fake guest. */
#include "tests/unit/virtio_fake_guest.h"

#include "launcher/layout.h"

/* A test device: one queue; every chain gets its writable bytes filled with 0xab. */
struct echo {
    struct launcher_virtio_mmio mmio;
    unsigned notifies;
    unsigned chains;
    uint64_t last_read_len;
};

static void echo_notify(struct launcher_virtio_mmio *d, unsigned qi)
{
    struct echo *e = d->priv;
    e->notifies++;
    struct launcher_virtq *q = &d->queues[qi];
    unsigned pushed = 0;
    for (unsigned k = 0; k < q->size; k++) {
        const char *why = NULL;
        int r = launcher_virtq_pop(q, d->vm, &d->chain, &why);
        if (r == 0)
            break;
        if (r < 0) {
            launcher_virtio_mmio_fail(d, qi, why);
            break;
        }
        e->chains++;
        e->last_read_len = d->chain.read_len;
        for (unsigned i = d->chain.n_read; i < d->chain.n_read + d->chain.n_write; i++)
            memset(d->chain.iov[i].iov_base, 0xab, d->chain.iov[i].iov_len);
        launcher_virtq_push(q, d->chain.head, (uint32_t)d->chain.write_len);
        pushed++;
    }
    if (pushed)
        launcher_virtio_mmio_used(d, qi);
}

static const struct launcher_virtio_ops echo_ops = {
    .name = "echo",
    .device_id = 42,
    .num_queues = 1,
    .queue_notify = echo_notify,
};

#define ECHO_FEATURE (1ull << 3)

struct fixture {
    struct fake_guest g;
    struct echo e;
    struct fake_queue q;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fake_guest_init(&f->g);
    launcher_virtio_mmio_init(&f->e.mmio, &f->g.vm, &echo_ops, &f->e, ECHO_FEATURE);
    f->e.mmio.config_size = 8;
    for (int i = 0; i < 8; i++)
        f->e.mmio.config[i] = (uint8_t)(0x10 + i);
    fake_irqfd(&f->e.mmio);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    launcher_virtio_mmio_destroy(&f->e.mmio);
    fake_guest_free(&f->g);
    free(f);
    return 0;
}

/* Negotiate, one queue of 8, DRIVER_OK. */
static void bring_up(struct fixture *f)
{
    uint32_t status = fake_negotiate(&f->e.mmio, (1ull << VIRTIO_F_VERSION_1) | ECHO_FEATURE);
    assert_true(status & VIRTIO_CONFIG_S_FEATURES_OK);
    fake_queue_setup(&f->g, &f->e.mmio, &f->q, 0, 8);
    assert_int_equal(reg_read(&f->e.mmio, VIRTIO_MMIO_QUEUE_READY), 1);
    fake_driver_ok(&f->e.mmio);
}

static bool needs_reset(struct fixture *f)
{
    return reg_read(&f->e.mmio, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static void test_identity_registers(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->e.mmio;
    assert_int_equal(reg_read(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_ID), 42);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_VENDOR_ID), LAUNCHER_VIRTIO_MMIO_VENDOR);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_CONFIG_GENERATION), 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu); /* no SHM regions */
    reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), LAUNCHER_VIRTQ_MAX_SIZE);
    reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 1); /* no such queue */
    assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);

    /* Registers are 32-bit only: a 2-byte read gives zeros, a 1-byte write is ignored. */
    uint8_t small[2] = {0xff, 0xff};
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_MAGIC_VALUE, false, small, 2);
    assert_int_equal(small[0] | small[1], 0);
    uint8_t one = VIRTIO_CONFIG_S_ACKNOWLEDGE;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_STATUS, true, &one, 1);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_STATUS), 0);
    /* Unaligned 4-byte register read: zeros. */
    assert_int_equal(reg_read(d, VIRTIO_MMIO_MAGIC_VALUE + 1), 0);
    /* Oversized accesses are refused without touching memory past 8 bytes. */
    uint8_t big[16];
    memset(big, 0x5a, sizeof(big));
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_MAGIC_VALUE, false, big, 16);
    assert_int_equal(big[15], 0x5a);
}

static void test_config_space(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->e.mmio;
    uint8_t b = 0;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + 3, false, &b, 1);
    assert_int_equal(b, 0x13);
    uint16_t h = 0;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + 6, false, (uint8_t *)&h, 2);
    assert_int_equal(h, 0x1716);
    uint64_t q = 0;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, false, (uint8_t *)&q, 8);
    assert_true(q == 0x1716151413121110ull);
    /* Straddling the end, or past it: zeros. */
    uint32_t w = 0xffffffff;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + 6, false, (uint8_t *)&w, 4);
    assert_int_equal(w, 0);
    w = 0xffffffff;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + 0x100, false, (uint8_t *)&w, 4);
    assert_int_equal(w, 0);
    /* Read-only to the guest. */
    b = 0x99;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, true, &b, 1);
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG, false, &b, 1);
    assert_int_equal(b, 0x10);
}

static void test_feature_negotiation(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->e.mmio;
    reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)ECHO_FEATURE);
    reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 = bit 32 */
    reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES), 0);

    /* A legacy driver (no VERSION_1) is refused. */
    assert_false(fake_negotiate(d, ECHO_FEATURE) & VIRTIO_CONFIG_S_FEATURES_OK);
    /* A feature the device did not offer is refused. */
    assert_false(fake_negotiate(d, (1ull << VIRTIO_F_VERSION_1) | (1ull << 7)) &
                 VIRTIO_CONFIG_S_FEATURES_OK);
    /* The offered set (or a subset with VERSION_1) is accepted. */
    assert_true(fake_negotiate(d, 1ull << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
    assert_true(fake_negotiate(d, (1ull << VIRTIO_F_VERSION_1) | ECHO_FEATURE) &
                VIRTIO_CONFIG_S_FEATURES_OK);
    assert_true(d->driver_features == ((1ull << VIRTIO_F_VERSION_1) | ECHO_FEATURE));
    /* After FEATURES_OK the driver's features are frozen. */
    reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
    assert_true(d->driver_features == ((1ull << VIRTIO_F_VERSION_1) | ECHO_FEATURE));
    /* The driver cannot set NEEDS_RESET itself. */
    reg_write(d, VIRTIO_MMIO_STATUS, 0xff);
    assert_false(needs_reset(f));
    /* Reset clears everything. */
    reg_write(d, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_STATUS), 0);
    assert_true(d->driver_features == 0);
}

static void test_chain_round_trip_and_interrupts(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->e.mmio;
    bring_up(f);
    uint64_t in = fake_alloc(&f->g, 100, 8), out1 = fake_alloc(&f->g, 30, 8),
             out2 = fake_alloc(&f->g, 34, 8);
    memset(fake_ptr(&f->g, in), 1, 100);
    struct fake_seg segs[] = {{in, 100, false}, {out1, 30, true}, {out2, 34, true}};
    uint16_t head = fake_post(&f->g, &f->q, segs, 3);
    fake_notify(d, &f->q);

    uint32_t id = 0, len = 0;
    assert_true(fake_used(&f->g, &f->q, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, 64);
    assert_int_equal(f->e.last_read_len, 100);
    assert_int_equal(((uint8_t *)fake_ptr(&f->g, out2))[33], 0xab);
    assert_false(fake_used(&f->g, &f->q, &id, &len));
    assert_int_equal(fake_irqs(d), 1);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

    /* VRING_AVAIL_F_NO_INTERRUPT: the buffer is used, but no interrupt. */
    *(uint16_t *)fake_ptr(&f->g, f->q.avail) = VRING_AVAIL_F_NO_INTERRUPT;
    fake_post(&f->g, &f->q, segs, 3);
    fake_notify(d, &f->q);
    assert_true(fake_used(&f->g, &f->q, &id, &len));
    assert_int_equal(fake_irqs(d), 0);

    /* Many chains, wrapping the 8-entry ring several times. */
    *(uint16_t *)fake_ptr(&f->g, f->q.avail) = 0;
    for (int round = 0; round < 5; round++) {
        struct fake_seg one[] = {{out1, 30, true}};
        for (int k = 0; k < 8; k++)
            fake_post(&f->g, &f->q, one, 1);
        fake_notify(d, &f->q);
        for (int k = 0; k < 8; k++)
            assert_true(fake_used(&f->g, &f->q, &id, &len));
        assert_false(fake_used(&f->g, &f->q, &id, &len));
    }
    assert_false(needs_reset(f));
    assert_int_equal(f->e.chains, 2 + 40);
}

static void test_nothing_moves_before_driver_ok(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->e.mmio;
    assert_true(fake_negotiate(d, 1ull << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
    fake_queue_setup(&f->g, d, &f->q, 0, 8);
    struct fake_seg segs[] = {{fake_alloc(&f->g, 16, 8), 16, true}};
    fake_post(&f->g, &f->q, segs, 1);
    fake_notify(d, &f->q);
    assert_int_equal(f->e.notifies, 0);
    /* DRIVER_OK looks at the queues: the waiting chain is served then. */
    fake_driver_ok(d);
    uint32_t id, len;
    assert_true(fake_used(&f->g, &f->q, &id, &len));
    /* Notifying a queue that does not exist does nothing. */
    reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
}

static void test_queue_setup_is_checked(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->e.mmio;
    const struct {
        uint32_t num;
        uint64_t desc, avail, used;
    } bad[] = {
        {6, 0x1000, 0x2000, 0x3000},                /* not a power of 2 */
        {0, 0x1000, 0x2000, 0x3000},                /* empty */
        {512, 0x1000, 0x4000, 0x5000},              /* above QueueNumMax */
        {8, FAKE_RAM_SIZE - 64, 0x2000, 0x3000},    /* table runs past the end of RAM */
        {8, 0x1000, 0x2000, FAKE_RAM_SIZE},         /* used ring outside RAM */
        {8, 0x1008, 0x2000, 0x3000},                /* table not 16-byte aligned */
        {8, 0x1000, 0x2001, 0x3000},                /* avail not 2-byte aligned */
        {8, 0x1000, 0x2000, 0x3002},                /* used not 4-byte aligned */
        {8, 0xfffffffffffff000ull, 0x2000, 0x3000}, /* wraps around */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(fake_negotiate(d, 1ull << VIRTIO_F_VERSION_1) & VIRTIO_CONFIG_S_FEATURES_OK);
        reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
        reg_write(d, VIRTIO_MMIO_QUEUE_NUM, bad[i].num);
        reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)bad[i].desc);
        reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(bad[i].desc >> 32));
        reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)bad[i].avail);
        reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
        reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)bad[i].used);
        reg_write(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
        reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
        print_message("bad queue setup %zu\n", i);
        assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
        assert_true(needs_reset(f));
    }
    /* After a reset the same device takes a good queue; the address is frozen once ready. */
    bring_up(f);
    assert_false(needs_reset(f));
    reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x40);
    assert_true(d->queues[0].desc_gpa == f->q.desc);
    /* QueueReady = 0 takes the queue down (and lets the driver read 0 back). */
    reg_write(d, VIRTIO_MMIO_QUEUE_READY, 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_QUEUE_READY), 0);
}

/* Post a hand-made chain, notify, and check the device refused it without using it. */
static void expect_rejected(struct fixture *f, uint16_t head)
{
    fake_publish(&f->g, &f->q, head);
    fake_notify(&f->e.mmio, &f->q);
    uint32_t id, len;
    assert_false(fake_used(&f->g, &f->q, &id, &len));
    assert_true(needs_reset(f));
    assert_int_equal(f->e.chains, 0);
    /* A config-change interrupt told the driver. */
    assert_true(reg_read(&f->e.mmio, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    /* The queue stays stopped: a good chain now is not processed either. */
    struct fake_seg good[] = {{0x8000, 16, true}};
    fake_post(&f->g, &f->q, good, 1);
    fake_notify(&f->e.mmio, &f->q);
    assert_false(fake_used(&f->g, &f->q, &id, &len));
}

static void test_descriptor_outside_ram(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, FAKE_RAM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0);
    expect_rejected(f, 0);
}

static void test_descriptor_length_overflows(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    /* addr + len wraps past 2^64 and would land at a small address. */
    fake_desc(&f->g, &f->q, 0, 0xffffffffffffff00ull, 0x200, 0, 0);
    expect_rejected(f, 0);
}

static void test_descriptor_huge_length(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, 0x8000, 0xffffffffu, VRING_DESC_F_WRITE, 0);
    expect_rejected(f, 0);
}

static void test_descriptor_loop(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, 0x8000, 16, VRING_DESC_F_NEXT, 1);
    fake_desc(&f->g, &f->q, 1, 0x8000, 16, VRING_DESC_F_NEXT, 2);
    fake_desc(&f->g, &f->q, 2, 0x8000, 16, VRING_DESC_F_NEXT, 0);
    expect_rejected(f, 0);
}

static void test_descriptor_self_loop(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 3, 0x8000, 0, VRING_DESC_F_NEXT, 3); /* zero-length, to itself */
    expect_rejected(f, 3);
}

static void test_next_index_out_of_range(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, 0x8000, 16, VRING_DESC_F_NEXT, 8);
    expect_rejected(f, 0);
}

static void test_head_index_out_of_range(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    expect_rejected(f, 200);
}

static void test_readable_after_writable(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, 0x8000, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    fake_desc(&f->g, &f->q, 1, 0x9000, 16, 0, 0);
    expect_rejected(f, 0);
}

static void test_indirect_not_offered(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, 0x8000, 64, VRING_DESC_F_INDIRECT, 0);
    expect_rejected(f, 0);
}

static void test_avail_index_runs_ahead(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    /* The driver claims 100 new entries in an 8-entry ring. */
    __atomic_store_n((uint16_t *)fake_ptr(&f->g, f->q.avail + 2), 100, __ATOMIC_RELEASE);
    fake_notify(&f->e.mmio, &f->q);
    uint32_t id, len;
    assert_false(fake_used(&f->g, &f->q, &id, &len));
    assert_true(needs_reset(f));
}

static void test_reset_recovers_a_broken_device(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    fake_desc(&f->g, &f->q, 0, FAKE_RAM_SIZE, 1, 0, 0);
    fake_publish(&f->g, &f->q, 0);
    fake_notify(&f->e.mmio, &f->q);
    assert_true(needs_reset(f));
    /* The driver resets and starts over: the device works again. */
    memset(&f->g.ram[f->q.desc], 0, 16 * 8);
    bring_up(f);
    assert_false(needs_reset(f));
    struct fake_seg segs[] = {{fake_alloc(&f->g, 8, 8), 8, true}};
    fake_post(&f->g, &f->q, segs, 1);
    fake_notify(&f->e.mmio, &f->q);
    uint32_t id, len;
    assert_true(fake_used(&f->g, &f->q, &id, &len));
    assert_int_equal(len, 8);
}

static void test_chain_copy_helpers(void **state)
{
    (void)state;
    uint8_t a[3] = {1, 2, 3}, b[4] = {4, 5, 6, 7}, w1[2] = {0}, w2[5] = {0};
    struct launcher_virtq_chain *c = calloc(1, sizeof(*c));
    c->iov[0] = (struct iovec){a, 3};
    c->iov[1] = (struct iovec){b, 4};
    c->iov[2] = (struct iovec){w1, 2};
    c->iov[3] = (struct iovec){w2, 5};
    c->n_read = 2;
    c->n_write = 2;
    c->read_len = 7;
    c->write_len = 7;
    uint8_t out[8] = {0};
    assert_int_equal(launcher_virtq_chain_read(c, 2, out, 4), 4);
    assert_memory_equal(out, ((uint8_t[]){3, 4, 5, 6}), 4);
    assert_int_equal(launcher_virtq_chain_read(c, 5, out, 8), 2); /* short at the end */
    assert_int_equal(launcher_virtq_chain_read(c, 9, out, 1), 0);
    assert_int_equal(launcher_virtq_chain_write(c, 1, "xyz", 3), 3);
    assert_memory_equal(w1, "\0x", 2);
    assert_memory_equal(w2, "yz\0\0\0", 5);

    struct iovec slice[4];
    unsigned n = launcher_virtq_iov_slice(c->iov, 2, 2, 3, slice, 4);
    assert_int_equal(n, 2);
    assert_ptr_equal(slice[0].iov_base, a + 2);
    assert_int_equal(slice[0].iov_len, 1);
    assert_ptr_equal(slice[1].iov_base, b);
    assert_int_equal(slice[1].iov_len, 2);
    assert_int_equal(launcher_virtq_iov_slice(c->iov, 2, 7, 3, slice, 4), 0);
    free(c);
}

/* The module's MMIO hook: routes by slot; attach works without KVM (no irqfd, no ioeventfd). */
static void test_slots_and_mmio_hook(void **state)
{
    struct fixture *f = *state;
    const struct launcher_vmm_module *m = NULL;
    for (size_t i = 0; i < launcher_vmm_module_count(); i++)
        if (strcmp(launcher_vmm_module_at(i)->name, "virtio-mmio") == 0)
            m = launcher_vmm_module_at(i);
    assert_non_null(m);
    uint32_t value = 0xffffffff;
    /* Nothing attached: the range reads as zero, and is still ours. */
    assert_int_equal(m->mmio(&f->g.vm, LAYOUT_VIRTIO_MMIO_BASE, false, (uint8_t *)&value, 4), 1);
    assert_int_equal(value, 0);
    assert_int_equal(m->mmio(&f->g.vm, LAYOUT_VIRTIO_MMIO_BASE - 4, false, (uint8_t *)&value, 4),
                     0);
    assert_int_equal(m->mmio(&f->g.vm, 0xfee00000, false, (uint8_t *)&value, 4), 0);

    /* The fixture's irqfd is the test's eventfd; keep it across attach. */
    int irqfd = f->e.mmio.irqfd;
    f->e.mmio.irqfd = -1;
    struct strvec words = STRVEC_INIT;
    assert_int_equal(launcher_virtio_mmio_attach(&f->e.mmio, &words), 0);
    close(irqfd);
    assert_int_equal(words.n, 1);
    assert_string_equal(words.v[0], "virtio_mmio.device=512@0xd0000000:5");
    assert_ptr_equal(launcher_virtio_mmio_at(LAYOUT_VIRTIO_MMIO_BASE + 0x10), &f->e.mmio);
    assert_int_equal(m->mmio(&f->g.vm, LAYOUT_VIRTIO_MMIO_BASE, false, (uint8_t *)&value, 4), 1);
    assert_int_equal(value, 0x74726976);
    /* Past the register window, inside the slot: zeros. */
    value = 1;
    assert_int_equal(
        m->mmio(&f->g.vm, LAYOUT_VIRTIO_MMIO_BASE + 0x800, false, (uint8_t *)&value, 4), 1);
    assert_int_equal(value, 0);

    /* A second device gets the next slot and IRQ. */
    struct echo e2;
    launcher_virtio_mmio_init(&e2.mmio, &f->g.vm, &echo_ops, &e2, 0);
    assert_int_equal(launcher_virtio_mmio_attach(&e2.mmio, &words), 0);
    assert_string_equal(words.v[1], "virtio_mmio.device=512@0xd0001000:6");
    value = 0;
    assert_int_equal(
        m->mmio(&f->g.vm, LAYOUT_VIRTIO_MMIO_BASE + 0x1008, false, (uint8_t *)&value, 4), 1);
    assert_int_equal(value, 42);
    launcher_virtio_mmio_destroy(&e2.mmio);
    launcher_virtio_mmio_detach(&f->e.mmio);
    assert_null(launcher_virtio_mmio_at(LAYOUT_VIRTIO_MMIO_BASE));
    tinyx_strvec_free(&words);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identity_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_round_trip_and_interrupts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_moves_before_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_setup_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_outside_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_length_overflows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_huge_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descriptor_self_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_index_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_indirect_not_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_index_runs_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_recovers_a_broken_device, setup, teardown),
        cmocka_unit_test(test_chain_copy_helpers),
        cmocka_unit_test_setup_teardown(test_slots_and_mmio_hook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
