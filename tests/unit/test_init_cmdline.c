/* test_init_cmdline.c: the guest init's kernel command line parser and module options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/init_cmdline.h"

/* The struct is large (it keeps the command line); one per test, off the stack. */
static struct initramfs_cmdline cl;

static int parse(const char *text, char *err, size_t errlen)
{
    return initramfs_cmdline_parse(text, strlen(text), &cl, err, errlen);
}

static void expect_ok(const char *text)
{
    char err[512] = "";
    if (parse(text, err, sizeof err) != 0)
        fail_msg("'%s' rejected: %s", text, err);
}

static void expect_error(const char *text, const char *want)
{
    char err[512] = "";
    if (parse(text, err, sizeof err) != -1)
        fail_msg("'%s' accepted, expected an error with '%s'", text, want);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void assert_addr(struct in_addr got, const char *want)
{
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &got, text, sizeof text);
    assert_string_equal(text, want);
}

static void test_typical_line(void **state)
{
    (void)state;
    expect_ok("console=ttyS0 reboot=t panic=-1 quiet tsc_early_khz=2596132 "
              "tinyx.ip=10.0.2.15/24 tinyx.gw=10.0.2.2\n");
    assert_true(cl.has_ip);
    assert_addr(cl.ip, "10.0.2.15");
    assert_int_equal(cl.prefix, 24);
    assert_true(cl.has_gw);
    assert_addr(cl.gw, "10.0.2.2");
    assert_string_equal(cl.iface, "eth0");
    assert_string_equal(cl.hostname, "");
    assert_int_equal(cl.n_dns, 0);
    assert_false(cl.debug);
}

static void test_defaults(void **state)
{
    (void)state;
    expect_ok("");
    assert_false(cl.has_ip);
    assert_false(cl.has_gw);
    assert_false(cl.debug);
    assert_string_equal(cl.iface, "eth0");
    expect_ok("  \n");
    assert_false(cl.has_ip);
}

static void test_all_params(void **state)
{
    (void)state;
    expect_ok("tinyx.debug tinyx.hostname=web-1 tinyx.iface=ens3 tinyx.ip=192.168.1.7/32 "
              "tinyx.dns=1.1.1.1,2001:db8::53");
    assert_true(cl.debug);
    assert_string_equal(cl.hostname, "web-1");
    assert_string_equal(cl.iface, "ens3");
    assert_int_equal(cl.prefix, 32);
    assert_int_equal(cl.n_dns, 2);
    assert_string_equal(cl.dns[0], "1.1.1.1");
    assert_string_equal(cl.dns[1], "2001:db8::53");
    expect_ok("tinyx.ip=10.0.0.1/0 tinyx.debug=1");
    assert_int_equal(cl.prefix, 0);
    assert_true(cl.debug);
    expect_ok("tinyx.debug tinyx.debug=off");
    assert_false(cl.debug);
    /* Repeated: the last one counts, as for the kernel's own parameters. */
    expect_ok("tinyx.ip=10.0.0.1/8 tinyx.ip=10.0.0.2/16 tinyx.dns=8.8.8.8 tinyx.dns=9.9.9.9");
    assert_addr(cl.ip, "10.0.0.2");
    assert_int_equal(cl.prefix, 16);
    assert_int_equal(cl.n_dns, 1);
    assert_string_equal(cl.dns[0], "9.9.9.9");
}

static void test_quotes_and_end_marker(void **state)
{
    (void)state;
    expect_ok("tinyx.hostname=\"my host\" x=\"a b\" -- tinyx.bogus");
    assert_string_equal(cl.hostname, "my host");
    expect_ok("\"tinyx.iface=eth1\"\ttinyx.debug");
    assert_string_equal(cl.iface, "eth1");
    assert_true(cl.debug);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("tinyx.ip=10.0.2.15", "tinyx.ip=10.0.2.15: expected an IPv4 address and prefix");
    expect_error("tinyx.ip=10.0.2.15/33", "tinyx.ip=10.0.2.15/33: expected");
    expect_error("tinyx.ip=10.0.2.15/", "tinyx.ip=10.0.2.15/: expected");
    expect_error("tinyx.ip=10.0.2.15/2x", "expected an IPv4");
    expect_error("tinyx.ip=10.0.2/24", "expected an IPv4");
    expect_error("tinyx.ip=::1/64", "expected an IPv4");
    expect_error("tinyx.ip", "tinyx.ip needs a value");
    expect_error("tinyx.ip=", "tinyx.ip needs a value");
    expect_error("tinyx.gw=gateway", "tinyx.gw=gateway: expected an IPv4 address");
    expect_error("tinyx.dns=1.1.1.1,,2.2.2.2", "expected IP addresses separated by commas");
    expect_error("tinyx.dns=1.1.1.1,dns.example", "'dns.example' is not an IP address");
    expect_error("tinyx.dns=1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", "at most 3 name servers");
    expect_error("tinyx.iface=a-very-long-interface", "not an interface name");
    expect_error("tinyx.iface=../x", "not an interface name");
    expect_error("tinyx.debug=maybe", "tinyx.debug=maybe: expected no value");
    expect_error("quiet tinyx.ipaddr=1.2.3.4/8",
                 "unknown parameter tinyx.ipaddr (known: tinyx.ip=, tinyx.gw=, tinyx.dns=, "
                 "tinyx.hostname=, tinyx.iface=, tinyx.debug)");
    expect_error("tinyx.=1", "unknown parameter tinyx.");
    expect_error("tinyx.hostname="
                 "a23456789012345678901234567890123456789012345678901234567890123456",
                 "66 bytes long");

    char *huge = malloc(INITRAMFS_CMDLINE_MAX + 1);
    assert_non_null(huge);
    memset(huge, 'a', INITRAMFS_CMDLINE_MAX);
    huge[INITRAMFS_CMDLINE_MAX] = '\0';
    expect_error(huge, "longer than");
    free(huge);
}

static void test_module_name(void **state)
{
    (void)state;
    char name[64];
    initramfs_module_name("/lib/modules/6.1/kernel/drivers/net/virtio-net.ko", name, sizeof name);
    assert_string_equal(name, "virtio_net");
    initramfs_module_name("failover.ko.xz", name, sizeof name);
    assert_string_equal(name, "failover");
    initramfs_module_name("/x/a.kobold.ko", name, sizeof name);
    assert_string_equal(name, "a.kobold");
    initramfs_module_name("net-failover", name, sizeof name);
    assert_string_equal(name, "net_failover");
    initramfs_module_name("/x/virtio_ring.ko", name, 7);
    assert_string_equal(name, "virtio");
}

static void test_module_options(void **state)
{
    (void)state;
    char opts[256];
    expect_ok("console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 virtio-net.napi_tx=1 quiet "
              "virtio_net.flag virtio_netx.no=1 net.no=2 virtio_net.=x virtio_net. "
              "virtio_net.msg=\"a b\" tinyx.debug -- virtio_net.after=1");
    assert_int_equal(
        initramfs_cmdline_module_options(&cl, "/lib/modules/x/virtio_net.ko", opts, sizeof opts),
        strlen("napi_tx=1 flag msg=\"a b\""));
    assert_string_equal(opts, "napi_tx=1 flag msg=\"a b\"");
    initramfs_cmdline_module_options(&cl, "virtio-mmio", opts, sizeof opts);
    assert_string_equal(opts, "device=4K@0xd0000000:5");
    assert_int_equal(initramfs_cmdline_module_options(&cl, "failover", opts, sizeof opts), 0);
    assert_string_equal(opts, "");
    /* Cut like snprintf. */
    assert_int_equal(initramfs_cmdline_module_options(&cl, "virtio_net", opts, 8), 24);
    assert_string_equal(opts, "napi_tx");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typical_line),   cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_params),     cmocka_unit_test(test_quotes_and_end_marker),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_module_name),
        cmocka_unit_test(test_module_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
