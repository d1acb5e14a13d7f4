/* test_vmm_core.c: tinyx-kvm's core without KVM: gpa bounds, registry, serial, ports, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/layout.h"
#include "launcher/vmm.h"

static void test_gpa_bounds(void **state)
{
    (void)state;
    static uint8_t ram[0x10000];
    struct launcher_vmm v = {.mem = ram, .mem_size = sizeof(ram)};
    assert_ptr_equal(launcher_vmm_gpa(&v, 0, 1), ram);
    assert_ptr_equal(launcher_vmm_gpa(&v, 0, sizeof(ram)), ram);
    assert_ptr_equal(launcher_vmm_gpa(&v, 0xfff0, 0x10), ram + 0xfff0);
    assert_null(launcher_vmm_gpa(&v, 0xfff0, 0x11));
    assert_null(launcher_vmm_gpa(&v, 0x10000, 1));
    assert_null(launcher_vmm_gpa(&v, 0, sizeof(ram) + 1));
    /* Zero bytes are fine up to the end, not past it. */
    assert_ptr_equal(launcher_vmm_gpa(&v, 0x10000, 0), ram + 0x10000);
    assert_null(launcher_vmm_gpa(&v, 0x10001, 0));
    /* gpa + len wraps around 2^64: a naive "gpa + len <= size" would accept these. */
    assert_null(launcher_vmm_gpa(&v, 0x10, UINT64_MAX));
    assert_null(launcher_vmm_gpa(&v, UINT64_MAX, 2));
    assert_null(launcher_vmm_gpa(&v, UINT64_MAX - 0x0f, 0x20));
    assert_null(launcher_vmm_gpa(&v, 0x8000, UINT64_MAX - 0x7fff));
    /* No RAM at all. */
    struct launcher_vmm none = {0};
    assert_null(launcher_vmm_gpa(&none, 0, 0));
}

static const struct launcher_vmm_module *module_named(const char *name)
{
    for (size_t i = 0; i < launcher_vmm_module_count(); i++)
        if (!strcmp(launcher_vmm_module_at(i)->name, name))
            return launcher_vmm_module_at(i);
    return NULL;
}

static void test_registry(void **state)
{
    (void)state;
    assert_true(launcher_vmm_module_count() >= 2);
    assert_non_null(module_named("serial"));
    assert_non_null(module_named("boot-ports"));
    assert_null(launcher_vmm_module_at(launcher_vmm_module_count()));
    for (size_t i = 0; i < launcher_vmm_module_count(); i++)
        assert_non_null(launcher_vmm_module_at(i)->name);
}

/* A VM with no KVM behind it: modules' setup and port hooks only need cfg. */
struct fake {
    struct launcher_vmm_config cfg;
    struct launcher_vmm v;
    int console[2], timer[2];
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(pipe2(f->console, O_NONBLOCK), 0);
    assert_int_equal(pipe2(f->timer, O_NONBLOCK), 0);
    f->cfg.console_fd = f->console[1];
    f->cfg.timer_fd = f->timer[1];
    f->v.cfg = &f->cfg;
    f->v.kvm_fd = f->v.vm_fd = f->v.vcpu_fd = -1;
    struct strvec words = STRVEC_INIT;
    assert_int_equal(module_named("serial")->setup(&f->v, &words), 0);
    assert_int_equal(module_named("boot-ports")->setup(&f->v, &words), 0);
    assert_int_equal(words.n, 0);
    tinyx_strvec_free(&words);
}

static void fake_free(struct fake *f)
{
    module_named("serial")->teardown(&f->v);
    for (int i = 0; i < 2; i++) {
        close(f->console[i]);
        close(f->timer[i]);
    }
}

static int out8(struct fake *f, uint16_t port, uint8_t value)
{
    for (size_t i = 0; i < launcher_vmm_module_count(); i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (m->pio) {
            int rc = m->pio(&f->v, port, true, &value, 1);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static uint8_t in8(struct fake *f, uint16_t port)
{
    uint8_t value = 0xee;
    assert_int_equal(module_named("serial")->pio(&f->v, port, false, &value, 1), 1);
    return value;
}

static void test_serial(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    const uint16_t base = LAYOUT_SERIAL_PORT;
    /* Transmitter always empty, so polled output never waits. */
    assert_int_equal(in8(&f, base + 5) & 0x60, 0x60);
    /* Scratch register and divisor latch keep what was written. */
    out8(&f, base + 7, 0xa5);
    assert_int_equal(in8(&f, base + 7), 0xa5);
    out8(&f, base + 3, 0x80); /* DLAB */
    out8(&f, base + 0, 0x01);
    out8(&f, base + 1, 0x00);
    assert_int_equal(in8(&f, base + 0), 0x01);
    out8(&f, base + 3, 0x03); /* 8N1, DLAB off */
    assert_int_equal(in8(&f, base + 3), 0x03);
    /* No interrupt pending until THRI is enabled; then THRE is pending until IIR is read. */
    assert_int_equal(in8(&f, base + 2), 0x01);
    out8(&f, base + 1, 0x02);
    assert_int_equal(in8(&f, base + 1), 0x02);
    assert_int_equal(in8(&f, base + 2), 0x02);
    assert_int_equal(in8(&f, base + 2), 0x01);
    /* Output: buffered to the end of a line. */
    const char *text = "hi\npartial";
    for (const char *p = text; *p; p++)
        out8(&f, base, (uint8_t)*p);
    char buf[64] = {0};
    ssize_t n = read(f.console[0], buf, sizeof(buf) - 1);
    assert_int_equal(n, 3);
    assert_string_equal(buf, "hi\n");
    /* The rest comes out when the VM ends. */
    module_named("serial")->teardown(&f.v);
    memset(buf, 0, sizeof(buf));
    n = read(f.console[0], buf, sizeof(buf) - 1);
    assert_int_equal(n, 7);
    assert_string_equal(buf, "partial");
    /* Loopback: modem outputs come back as status lines, and nothing is sent. */
    out8(&f, base + 4, 0x1a);
    assert_int_equal(in8(&f, base + 6) & 0xf0, 0x90);
    out8(&f, base, 'x');
    module_named("serial")->teardown(&f.v);
    assert_int_equal(read(f.console[0], buf, sizeof(buf)), -1);
    /* Not its ports. */
    uint8_t b = 0;
    assert_int_equal(module_named("serial")->pio(&f.v, base + 8, true, &b, 1), 0);
    assert_int_equal(module_named("serial")->pio(&f.v, base - 1, false, &b, 1), 0);
    fake_free(&f);
}

static void test_ports(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    /* Every timer byte reaches the reader; only the ready byte is timestamped. */
    f.v.t_start = 1;
    assert_int_equal(out8(&f, BOOT_ABI_TIMER_PORT, 7), 1);
    assert_int_equal(f.v.t_boot_timer, 0);
    assert_int_equal(out8(&f, BOOT_ABI_TIMER_PORT, BOOT_ABI_TIMER_READY), 1);
    assert_true(f.v.t_boot_timer > 0);
    uint64_t first = f.v.t_boot_timer;
    assert_int_equal(out8(&f, BOOT_ABI_TIMER_PORT, BOOT_ABI_TIMER_READY), 1);
    assert_int_equal(f.v.t_boot_timer, first);
    uint8_t got[4];
    assert_int_equal(read(f.timer[0], got, sizeof(got)), 3);
    assert_int_equal(got[0], 7);
    assert_int_equal(got[1], BOOT_ABI_TIMER_READY);
    /* The exit port ends the VM with the byte as its status. */
    assert_int_equal(f.v.end, LAUNCHER_VMM_RUNNING);
    assert_int_equal(out8(&f, BOOT_ABI_EXIT_PORT, 42), 1);
    assert_int_equal(f.v.end, LAUNCHER_VMM_EXIT_STATUS);
    assert_int_equal(f.v.exit_status, 42);
    assert_non_null(strstr(f.v.why, "status 42"));
    assert_true(f.v.t_end > 0);
    /* The first end wins. */
    launcher_vmm_stop(&f.v, LAUNCHER_VMM_FAILED, 1, "later %d", 1);
    assert_int_equal(f.v.end, LAUNCHER_VMM_EXIT_STATUS);
    assert_int_equal(f.v.exit_status, 42);
    fake_free(&f);
}

static void test_reset_ports(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    /* Other keyboard-controller commands are not a reset. */
    assert_int_equal(out8(&f, 0x64, 0xad), 0);
    assert_int_equal(f.v.end, LAUNCHER_VMM_RUNNING);
    assert_int_equal(out8(&f, 0x64, 0xfe), 1);
    assert_int_equal(f.v.end, LAUNCHER_VMM_HALTED);
    assert_non_null(strstr(f.v.why, "reset"));
    fake_free(&f);
    fake_init(&f);
    assert_int_equal(out8(&f, 0xcf9, 0x02), 0);
    assert_int_equal(out8(&f, 0xcf9, 0x06), 1);
    assert_int_equal(f.v.end, LAUNCHER_VMM_HALTED);
    fake_free(&f);
}

static void test_irq_helpers_without_vm(void **state)
{
    (void)state;
    struct launcher_vmm v;
    memset(&v, 0, sizeof(v));
    v.kvm_fd = v.vm_fd = v.vcpu_fd = -1;
    assert_int_equal(launcher_vmm_irq_line(&v, 5, 1), -1);
    assert_int_equal(launcher_vmm_irqfd(&v, 5), -1);
    assert_int_equal(launcher_vmm_ioeventfd(&v, LAYOUT_VIRTIO_MMIO_BASE + 0x50, 4), -1);
    assert_false(v.irqchip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpa_bounds),  cmocka_unit_test(test_registry),
        cmocka_unit_test(test_serial),      cmocka_unit_test(test_ports),
        cmocka_unit_test(test_reset_ports), cmocka_unit_test(test_irq_helpers_without_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
