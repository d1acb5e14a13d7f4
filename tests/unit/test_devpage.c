/* test_devpage.c: the device page writer and checker (launcher/devpage.c, devpage_abi.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "launcher/devpage.h"
#include "launcher/layout.h"

static void test_build_two(void **state)
{
    (void)state;
    struct launcher_devpage_net nets[2] = {
        {.mac = {2, 0, 0, 0, 0, 1},
         .have_ip = true,
         .ip = {10, 0, 0, 2},
         .prefix = 24,
         .have_gw = true,
         .gw = {10, 0, 0, 1}},
        {.mac = {2, 0, 0, 0, 0, 2}},
    };
    struct devpage_abi page;
    memset(&page, 0xa5, sizeof(page));
    size_t len = launcher_devpage_build(&page, 42, nets, 2);
    assert_int_equal(len, sizeof(page));
    assert_int_equal(page.magic, DEVPAGE_ABI_MAGIC);
    assert_int_equal(page.version, DEVPAGE_ABI_VERSION);
    assert_int_equal(page.size, sizeof(page));
    assert_int_equal(page.count, 2);
    assert_int_equal(page.instance, 42);
    assert_int_equal(page.reserved, 0);
    /* Slot i: the monitor's window and GSI for virtio device i. */
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(page.dev[i].type, DEVPAGE_ABI_NET);
        assert_int_equal(page.dev[i].mmio_base,
                         LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_STRIDE);
        assert_int_equal(page.dev[i].mmio_size, LAYOUT_VIRTIO_MMIO_SIZE);
        assert_int_equal(page.dev[i].irq, LAYOUT_VIRTIO_IRQ_BASE + i);
        assert_memory_equal(page.dev[i].mac, nets[i].mac, 6);
    }
    assert_int_equal(page.dev[0].flags, DEVPAGE_ABI_HAS_IP | DEVPAGE_ABI_HAS_GW);
    assert_memory_equal(page.dev[0].ip, nets[0].ip, 4);
    assert_memory_equal(page.dev[0].gw, nets[0].gw, 4);
    assert_int_equal(page.dev[0].prefix, 24);
    assert_int_equal(page.dev[1].flags, 0);
    /* Unused entries and reserved bytes are zero (no stale data reaches the guest). */
    static const uint8_t zero[sizeof(page.dev[0])];
    for (unsigned i = 2; i < DEVPAGE_ABI_MAX_DEVICES; i++)
        assert_memory_equal(&page.dev[i], zero, sizeof(zero));
    assert_memory_equal(page.dev[0].reserved, zero, sizeof(page.dev[0].reserved));
    assert_int_equal(page.checksum, devpage_abi_checksum(&page, page.size));
    assert_true(launcher_devpage_valid(&page, len));
}

static void test_build_limits(void **state)
{
    (void)state;
    struct launcher_devpage_net nets[DEVPAGE_ABI_MAX_DEVICES + 1];
    memset(nets, 0, sizeof(nets));
    struct devpage_abi page;
    assert_int_equal(launcher_devpage_build(&page, 1, nets, DEVPAGE_ABI_MAX_DEVICES + 1), 0);
    assert_int_equal(launcher_devpage_build(&page, 1, nets, DEVPAGE_ABI_MAX_DEVICES), sizeof(page));
    assert_true(launcher_devpage_valid(&page, sizeof(page)));
    nets[0].have_ip = true;
    nets[0].prefix = 33;
    assert_int_equal(launcher_devpage_build(&page, 1, nets, 1), 0);
    /* No devices: still a valid page (the guest learns it has none). */
    assert_int_equal(launcher_devpage_build(&page, 7, nets, 0), sizeof(page));
    assert_int_equal(page.count, 0);
    assert_true(launcher_devpage_valid(&page, sizeof(page)));
}

static void test_valid_rejects(void **state)
{
    (void)state;
    struct launcher_devpage_net net = {.mac = {2, 0, 0, 0, 0, 1}};
    struct devpage_abi page, bad;
    size_t len = launcher_devpage_build(&page, 1, &net, 1);
    assert_true(launcher_devpage_valid(&page, len));
    assert_false(launcher_devpage_valid(&page, len - 1)); /* size mismatch */
    assert_false(launcher_devpage_valid(&page, 8));
    /* Any flipped byte breaks the checksum (or a field check). */
    for (size_t i = 0; i < len; i++) {
        if (i >= 16 && i < 20)
            continue; /* the checksum itself: covered below */
        memcpy(&bad, &page, sizeof(page));
        ((uint8_t *)&bad)[i] ^= 0x40;
        if (launcher_devpage_valid(&bad, len))
            fail_msg("flipping byte %zu went unnoticed", i);
    }
    memcpy(&bad, &page, sizeof(page));
    bad.checksum ^= 1;
    assert_false(launcher_devpage_valid(&bad, len));
    /* Well-formed checksum but bad fields. */
    memcpy(&bad, &page, sizeof(page));
    bad.count = DEVPAGE_ABI_MAX_DEVICES + 1;
    bad.checksum = devpage_abi_checksum(&bad, bad.size);
    assert_false(launcher_devpage_valid(&bad, len));
    memcpy(&bad, &page, sizeof(page));
    bad.dev[0].mmio_base = 0x1000;
    bad.checksum = devpage_abi_checksum(&bad, bad.size);
    assert_false(launcher_devpage_valid(&bad, len));
    memcpy(&bad, &page, sizeof(page));
    bad.dev[0].type = 77;
    bad.checksum = devpage_abi_checksum(&bad, bad.size);
    assert_false(launcher_devpage_valid(&bad, len));
    memcpy(&bad, &page, sizeof(page));
    bad.dev[0].mmio_base = UINT64_MAX - 10; /* base + size must not wrap */
    bad.checksum = devpage_abi_checksum(&bad, bad.size);
    assert_false(launcher_devpage_valid(&bad, len));
}

static void test_layout(void **state)
{
    (void)state;
    assert_int_equal(DEVPAGE_ABI_GPA, LAYOUT_DEVPAGE);
    assert_int_equal(DEVPAGE_ABI_SIZE, LAYOUT_DEVPAGE_SIZE);
    assert_true(LAYOUT_MEMMAP + LAYOUT_MAX_MEMMAP * 24 <= LAYOUT_DEVPAGE);
    assert_true(LAYOUT_DEVPAGE + LAYOUT_DEVPAGE_SIZE <= LAYOUT_CMDLINE);
    assert_true(LAYOUT_DEVPAGE + LAYOUT_DEVPAGE_SIZE <= LAYOUT_LOW_END);
}

static void test_parsers(void **state)
{
    (void)state;
    uint8_t ip[4], mac[6];
    unsigned prefix = 99;
    assert_true(launcher_devpage_parse_ipv4("192.168.0.1", ip, &prefix));
    assert_int_equal(prefix, 32);
    assert_true(launcher_devpage_parse_ipv4("0.0.0.0/0", ip, &prefix));
    assert_int_equal(prefix, 0);
    assert_true(launcher_devpage_parse_ipv4("10.1.2.3/8", ip, &prefix));
    assert_int_equal(ip[0], 10);
    assert_int_equal(ip[3], 3);
    assert_int_equal(prefix, 8);
    static const char *const bad_ip[] = {
        "",        "1.2.3",    "1.2.3.4.5",   "1.2.3.256",   "1.2.3.4/", "1.2.3.4/33",
        "a.b.c.d", "1.2.3.4 ", "01234.1.1.1", "1.2.3.4/100", "-1.2.3.4"};
    for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++)
        if (launcher_devpage_parse_ipv4(bad_ip[i], ip, &prefix))
            fail_msg("'%s' accepted as an address", bad_ip[i]);
    assert_false(launcher_devpage_parse_ipv4("1.2.3.4/24", ip, NULL)); /* no prefix wanted */
    assert_true(launcher_devpage_parse_mac("02:AB:cd:00:00:ff", mac));
    assert_int_equal(mac[1], 0xab);
    assert_int_equal(mac[5], 0xff);
    assert_false(launcher_devpage_parse_mac("03:00:00:00:00:01", mac)); /* multicast */
    assert_false(launcher_devpage_parse_mac("02-00-00-00-00-01", mac));
    assert_false(launcher_devpage_parse_mac("02:00:00:00:00:0g", mac));
    assert_false(launcher_devpage_parse_mac("02:00:00:00:00:01:", mac));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_two),     cmocka_unit_test(test_build_limits),
        cmocka_unit_test(test_valid_rejects), cmocka_unit_test(test_layout),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
