/* test_devpage.c: the device page (launcher/vmm_devpage.c, devpage_abi.h): the one builder, as the
 * daemon and a standalone tinyx-kvm use it, the checker, the --net ip=/gw= values, and the
 * page tinyx-kvm writes for its --net devices as the guest's init reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/init_devpage.h"
#include "launcher/layout.h"
#include "launcher/vdev_net.h"
#include "launcher/vmm.h"
#include "launcher/vmm_devpage.h"

static void test_build_two(void **state)
{
    (void)state;
    struct launcher_devpage_net nets[2] = {
        {.slot = 0,
         .mac = {2, 0, 0, 0, 0, 1},
         .have_ip = true,
         .ip = {10, 0, 0, 2},
         .prefix = 24,
         .have_gw = true,
         .gw = {10, 0, 0, 1}},
        {.slot = 1, .mac = {2, 0, 0, 0, 0, 2}},
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
    for (unsigned i = 0; i <= DEVPAGE_ABI_MAX_DEVICES; i++)
        nets[i].slot = i % LAYOUT_VIRTIO_MAX_DEVICES;
    struct devpage_abi page;
    assert_int_equal(launcher_devpage_build(&page, 1, nets, DEVPAGE_ABI_MAX_DEVICES + 1), 0);
    assert_int_equal(launcher_devpage_build(&page, 1, nets, DEVPAGE_ABI_MAX_DEVICES), sizeof(page));
    assert_true(launcher_devpage_valid(&page, sizeof(page)));
    /* One device per slot, and only the monitor's slots. */
    nets[1].slot = 0;
    assert_int_equal(launcher_devpage_build(&page, 1, nets, 2), 0);
    nets[1].slot = LAYOUT_VIRTIO_MAX_DEVICES;
    assert_int_equal(launcher_devpage_build(&page, 1, nets, 2), 0);
    nets[1].slot = 1;
    nets[0].have_ip = true;
    nets[0].prefix = 33;
    assert_int_equal(launcher_devpage_build(&page, 1, nets, 1), 0);
    /* No devices: still a valid page (the guest learns it has none). */
    assert_int_equal(launcher_devpage_build(&page, 7, nets, 0), sizeof(page));
    assert_int_equal(page.count, 0);
    assert_true(launcher_devpage_valid(&page, sizeof(page)));
}

/* Entries follow their slots, not their order: a net device after a disk sits in slot 1. */
static void test_build_slots(void **state)
{
    (void)state;
    struct launcher_devpage_net nets[2] = {{.slot = 3, .mac = {2, 0, 0, 0, 0, 3}},
                                           {.slot = 1, .mac = {2, 0, 0, 0, 0, 1}}};
    struct devpage_abi page;
    assert_int_equal(launcher_devpage_build(&page, 0, nets, 2), sizeof(page));
    assert_int_equal(page.dev[0].mmio_base,
                     LAYOUT_VIRTIO_MMIO_BASE + 3 * LAYOUT_VIRTIO_MMIO_STRIDE);
    assert_int_equal(page.dev[0].irq, LAYOUT_VIRTIO_IRQ_BASE + 3);
    assert_int_equal(page.dev[1].mmio_base,
                     LAYOUT_VIRTIO_MMIO_BASE + 1 * LAYOUT_VIRTIO_MMIO_STRIDE);
    assert_int_equal(page.dev[1].irq, LAYOUT_VIRTIO_IRQ_BASE + 1);
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

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text);
}

/* --net ip= and gw= (tinyx-launch run and tinyx-kvm share these checks). */
static void test_net_settings(void **state)
{
    (void)state;
    uint8_t ip[4], gw[4];
    unsigned prefix = 0;
    char why[256];
    assert_true(launcher_devpage_net_ip("10.0.0.2/24", ip, &prefix, why, sizeof(why)));
    assert_memory_equal(ip, ((uint8_t[]){10, 0, 0, 2}), 4);
    assert_int_equal(prefix, 24);
    assert_true(launcher_devpage_net_ip("100.64.0.6/30", ip, &prefix, why, sizeof(why)));
    assert_true(launcher_devpage_net_ip("192.168.7.1/1", ip, &prefix, why, sizeof(why)));
    static const struct {
        const char *text, *says;
    } bad_ip[] = {
        {"10.0.0.2", "has no prefix length; write it like ip=10.0.0.2/24"},
        {"10.0.0.2/0", "the prefix length must be 1-30"},
        {"10.0.0.2/31", "the prefix length must be 1-30"},
        {"10.0.0.2/32", "the prefix length must be 1-30"},
        {"10.0.0.2/33", "is not an IPv4 address with a prefix length"},
        {"10.0.0/24", "is not an IPv4 address with a prefix length"},
        {"10.0.0.256/24", "is not an IPv4 address"},
        {"ten/24", "is not an IPv4 address"},
        {"", "is not an IPv4 address"},
        {"127.0.0.2/8", "loopback"},
        {"224.0.0.5/24", "multicast"},
        {"240.0.0.5/24", "reserved"},
        {"0.1.2.3/8", "this network"},
        {"10.0.0.0/24", "the network address of its subnet; pick a host address such as "
                        "ip=10.0.0.1/24"},
        {"10.0.0.255/24", "the broadcast address of its subnet"},
        {"100.64.0.7/30", "the broadcast address of its subnet; pick a host address such as "
                          "ip=100.64.0.5/30"},
    };
    for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++) {
        why[0] = '\0';
        if (launcher_devpage_net_ip(bad_ip[i].text, ip, &prefix, why, sizeof(why)))
            fail_msg("ip=%s accepted", bad_ip[i].text);
        assert_contains(why, bad_ip[i].says);
        char named[64];
        snprintf(named, sizeof(named), "ip=%s", bad_ip[i].text);
        assert_contains(why, named); /* the message names the bad value */
    }
    const uint8_t own[4] = {10, 0, 0, 2};
    assert_true(launcher_devpage_net_gw("10.0.0.1", own, gw, why, sizeof(why)));
    assert_memory_equal(gw, ((uint8_t[]){10, 0, 0, 1}), 4);
    /* outside the guest's subnet is allowed (an on-link route is the guest's business) */
    assert_true(launcher_devpage_net_gw("192.168.1.1", own, gw, why, sizeof(why)));
    assert_true(launcher_devpage_net_gw("10.0.0.2", NULL, gw, why, sizeof(why)));
    static const struct {
        const char *text, *says;
    } bad_gw[] = {
        {"10.0.0.1/24", "a gateway has no prefix length"},
        {"10.0.0", "is not an IPv4 address; write it like gw=10.0.0.1"},
        {"224.0.0.1", "multicast"},
        {"255.255.255.255", "broadcast"},
        {"0.0.0.0", "this network"},
        {"127.0.0.1", "loopback"},
        {"10.0.0.2", "is the guest's own address"},
    };
    for (size_t i = 0; i < sizeof(bad_gw) / sizeof(bad_gw[0]); i++) {
        why[0] = '\0';
        if (launcher_devpage_net_gw(bad_gw[i].text, own, gw, why, sizeof(why)))
            fail_msg("gw=%s accepted", bad_gw[i].text);
        assert_contains(why, bad_gw[i].says);
        char named[64];
        snprintf(named, sizeof(named), "gw=%s", bad_gw[i].text);
        assert_contains(why, named);
    }
}

/* What a standalone tinyx-kvm writes for --net devices: its page in guest RAM at 0x8000, as the
 * guest's init reads it, with and without ip=. */
static void test_standalone_page(void **state)
{
    (void)state;
    struct launcher_vmm v;
    memset(&v, 0, sizeof(v));
    v.mem_size = 1 << 20;
    v.mem = calloc(1, v.mem_size);
    assert_non_null(v.mem);
    memset(v.mem + LAYOUT_DEVPAGE, 0xa5, LAYOUT_DEVPAGE_SIZE); /* stale bytes are cleared */
    struct launcher_vdev_net_config cfg[2];
    assert_int_equal(launcher_vdev_net_parse("tap0,ip=10.1.2.3/24,gw=10.1.2.1", &cfg[0]), 0);
    assert_int_equal(launcher_vdev_net_parse("tap1,mac=02:00:00:00:00:09", &cfg[1]), 0);
    uint8_t mac0[6];
    launcher_vdev_net_default_mac("tap0", mac0);
    struct launcher_devpage_net nets[2];
    /* a disk took slot 0: the net devices are in slots 1 and 2 */
    launcher_vdev_net_page_entry(&cfg[0], 1, mac0, &nets[0]);
    launcher_vdev_net_page_entry(&cfg[1], 2, cfg[1].mac, &nets[1]);
    assert_int_equal(launcher_vdev_net_write_devpage(&v, nets, 2), 0);

    struct initramfs_devpage seen;
    char err[256] = "";
    int rc = initramfs_devpage_parse(v.mem + LAYOUT_DEVPAGE, LAYOUT_DEVPAGE_SIZE, &seen, err,
                                     sizeof(err));
    if (rc != 1)
        fail_msg("the init does not take the page (%d): %s", rc, err);
    assert_true(launcher_devpage_valid(v.mem + LAYOUT_DEVPAGE, sizeof(struct devpage_abi)));
    assert_int_equal(seen.n_nets, 2);
    assert_memory_equal(seen.net[0].mac, mac0, 6);
    assert_true(seen.net[0].has_ip);
    assert_string_equal(inet_ntoa(seen.net[0].ip), "10.1.2.3");
    assert_int_equal(seen.net[0].prefix, 24);
    assert_true(seen.net[0].has_gw);
    assert_string_equal(inet_ntoa(seen.net[0].gw), "10.1.2.1");
    assert_int_equal(seen.net[0].mmio_base,
                     LAYOUT_VIRTIO_MMIO_BASE + 1 * LAYOUT_VIRTIO_MMIO_STRIDE);
    assert_int_equal(seen.net[0].irq, LAYOUT_VIRTIO_IRQ_BASE + 1);
    /* without ip=: the device, its MAC and window, no address (the init then uses tinyx.ip=) */
    assert_memory_equal(seen.net[1].mac, ((uint8_t[]){2, 0, 0, 0, 0, 9}), 6);
    assert_false(seen.net[1].has_ip);
    assert_false(seen.net[1].has_gw);
    assert_int_equal(seen.net[1].irq, LAYOUT_VIRTIO_IRQ_BASE + 2);
    /* the rest of the page is zero */
    for (size_t i = sizeof(struct devpage_abi); i < LAYOUT_DEVPAGE_SIZE; i++)
        if (v.mem[LAYOUT_DEVPAGE + i])
            fail_msg("byte %zu after the page is 0x%02x", i, v.mem[LAYOUT_DEVPAGE + i]);

    /* guest RAM without room for the page: refused, nothing written out of bounds */
    v.mem_size = LAYOUT_DEVPAGE + 16;
    assert_int_equal(launcher_vdev_net_write_devpage(&v, nets, 2), -1);
    free(v.mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_two),    cmocka_unit_test(test_build_limits),
        cmocka_unit_test(test_build_slots),  cmocka_unit_test(test_valid_rejects),
        cmocka_unit_test(test_layout),       cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_net_settings), cmocka_unit_test(test_standalone_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
