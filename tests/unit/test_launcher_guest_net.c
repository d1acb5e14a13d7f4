/* test_launcher_guest_net.c: where the host reaches the guest's ports (launcher/guest_net.c: the
 * check's target, forwarded or direct), the guest's address as command-line words, and the
 * kvm backend's automatic host link (launcher/hostlink.c: the /30 for a tap, collisions with
 * the host's addresses skipped, and a real link in a network namespace of its own). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/guest_net.h"
#include "launcher/hostlink.h"
#include "launcher/vmm_netlink.h"
#include "tinyx/util.h"

/* An image with app.ports and a check (only what guest_net.c reads). */
static struct launcher_image image(int *ports, size_t n_ports, enum launcher_check_kind kind,
                                   int check_port)
{
    struct launcher_image img;
    memset(&img, 0, sizeof(img));
    img.ports = ports;
    img.n_ports = n_ports;
    img.check.kind = kind;
    img.check.port = check_port;
    return img;
}

static struct launcher_vm_device net(const char *tap, const char *ip, unsigned prefix,
                                     const char *gw)
{
    struct launcher_vm_device d;
    memset(&d, 0, sizeof(d));
    d.kind = LAUNCHER_VM_DEVICE_NET;
    snprintf(d.net.tap, sizeof(d.net.tap), "%s", tap);
    if (ip) {
        d.net.have_ip = true;
        d.net.prefix = prefix;
        assert_int_equal(sscanf(ip, "%hhu.%hhu.%hhu.%hhu", &d.net.ip[0], &d.net.ip[1], &d.net.ip[2],
                                &d.net.ip[3]),
                         4);
    }
    if (gw) {
        d.net.have_gw = true;
        assert_int_equal(sscanf(gw, "%hhu.%hhu.%hhu.%hhu", &d.net.gw[0], &d.net.gw[1], &d.net.gw[2],
                                &d.net.gw[3]),
                         4);
    }
    return d;
}

static void test_ports_listed_once(void **state)
{
    (void)state;
    int app[] = {80, 443, 80};
    int got[8];
    struct launcher_image img = image(app, 3, LAUNCHER_CHECK_HTTP, 8080);
    assert_int_equal(launcher_guest_net_ports(&img, got, 8), 3);
    assert_int_equal(got[0], 80);
    assert_int_equal(got[1], 443);
    assert_int_equal(got[2], 8080);
    /* the check's port once, when it is one of the app's */
    img = image(app, 2, LAUNCHER_CHECK_TCP, 443);
    assert_int_equal(launcher_guest_net_ports(&img, got, 8), 2);
    /* an output check has no port; no ports at all: nothing to reach */
    img = image(app, 0, LAUNCHER_CHECK_OUTPUT, 0);
    assert_int_equal(launcher_guest_net_ports(&img, got, 8), 0);
    img = image(NULL, 0, LAUNCHER_CHECK_TCP, 6379);
    assert_int_equal(launcher_guest_net_ports(&img, got, 8), 1);
    assert_int_equal(got[0], 6379);
    /* max is respected */
    img = image(app, 2, LAUNCHER_CHECK_HTTP, 8080);
    assert_int_equal(launcher_guest_net_ports(&img, got, 1), 1);
    assert_int_equal(got[0], 80);
}

/* The first net device with ip= is where the guest's ports are, whatever disks come first. */
static void test_addressed_device(void **state)
{
    (void)state;
    struct launcher_vm_device devs[4];
    memset(&devs[0], 0, sizeof(devs[0]));
    devs[0].kind = LAUNCHER_VM_DEVICE_BLK;
    devs[1] = net("tap0", NULL, 0, NULL);
    devs[2] = net("tap1", "10.0.0.2", 24, "10.0.0.1");
    devs[3] = net("tap2", "10.5.0.2", 16, NULL);
    size_t k = 99;
    assert_ptr_equal(launcher_guest_net_addressed(devs, 4, &k), &devs[2]);
    assert_int_equal(k, 1); /* eth1: the second net device */
    assert_null(launcher_guest_net_addressed(devs, 2, &k));
    assert_null(launcher_guest_net_addressed(NULL, 0, NULL));
}

/* What the check connects to: the forward on 127.0.0.1 (qemu), the --net address, or the
 * address of a link the backend made (kvm), each at the port it says. */
static void test_check_target(void **state)
{
    (void)state;
    struct launcher_port_forward f[2];
    memset(f, 0, sizeof(f));
    f[0].guest_port = 80;
    f[1].guest_port = 8080;
    snprintf(f[0].host_addr, sizeof(f[0].host_addr), LAUNCHER_GUEST_NET_LOOPBACK);
    f[0].host_port = 40001;
    snprintf(f[1].host_addr, sizeof(f[1].host_addr), LAUNCHER_GUEST_NET_LOOPBACK);
    f[1].host_port = 40002;
    const struct launcher_port_forward *t = launcher_guest_net_find(f, 2, 8080);
    assert_non_null(t);
    assert_string_equal(t->host_addr, "127.0.0.1");
    assert_int_equal(t->host_port, 40002);
    assert_false(t->direct);
    assert_null(launcher_guest_net_find(f, 2, 22));

    /* the guest's own address: each port at itself, nothing forwarded */
    struct launcher_vm_device devs[1] = {net("tap0", "100.64.0.10", 30, "100.64.0.9")};
    char addr[INET_ADDRSTRLEN];
    launcher_guest_net_ntoa(launcher_guest_net_addressed(devs, 1, NULL)->net.ip, addr);
    assert_string_equal(addr, "100.64.0.10");
    launcher_guest_net_direct(f, 2, addr);
    t = launcher_guest_net_find(f, 2, 8080);
    assert_string_equal(t->host_addr, "100.64.0.10");
    assert_int_equal(t->host_port, 8080);
    assert_true(t->direct);
    t = launcher_guest_net_find(f, 2, 80);
    assert_string_equal(t->host_addr, "100.64.0.10");
    assert_int_equal(t->host_port, 80);
}

static void test_cmdline_words(void **state)
{
    (void)state;
    struct launcher_vm_device devs[3];
    devs[0] = net("tap0", NULL, 0, NULL);
    devs[1] = net("tap1", "10.0.0.2", 24, "10.0.0.1");
    devs[2] = net("tap2", "10.1.0.2", 24, NULL);
    char *w = launcher_guest_net_cmdline(devs, 3);
    assert_string_equal(w, "tinyx.ip=10.0.0.2/24 tinyx.gw=10.0.0.1 tinyx.iface=eth1");
    free(w);
    w = launcher_guest_net_cmdline(devs + 1, 2);
    assert_string_equal(w, "tinyx.ip=10.0.0.2/24 tinyx.gw=10.0.0.1");
    free(w);
    w = launcher_guest_net_cmdline(devs + 2, 1);
    assert_string_equal(w, "tinyx.ip=10.1.0.2/24");
    free(w);
    assert_null(launcher_guest_net_cmdline(devs, 1));
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return a << 24 | b << 16 | c << 8 | d;
}

/* The /30 of a tap: from its interface index, unique among live interfaces; the next one when
 * the host has an address there (the lookup is the caller's: here made up). */
static void test_subnet_from_ifindex(void **state)
{
    (void)state;
    assert_int_equal(launcher_hostlink_subnet(0, NULL, 0), ip4(100, 64, 0, 0));
    assert_int_equal(launcher_hostlink_subnet(2, NULL, 0), ip4(100, 64, 0, 8));
    assert_int_equal(launcher_hostlink_subnet(3, NULL, 0), ip4(100, 64, 0, 12));
    assert_int_equal(launcher_hostlink_subnet(300, NULL, 0), ip4(100, 64, 4, 176));
    assert_int_equal(launcher_hostlink_subnet(16383, NULL, 0), ip4(100, 64, 255, 252));
    /* past 16384 /30s it wraps around */
    assert_int_equal(launcher_hostlink_subnet(16384 + 2, NULL, 0), ip4(100, 64, 0, 8));
    /* two live interfaces never share one (short of the wrap) */
    for (unsigned i = 1; i < 64; i++)
        assert_int_not_equal(launcher_hostlink_subnet(i, NULL, 0),
                             launcher_hostlink_subnet(i + 1, NULL, 0));

    /* unrelated host addresses change nothing */
    struct launcher_hostlink_addr host[4] = {
        {ip4(127, 0, 0, 1), 8}, {ip4(192, 168, 1, 5), 24}, {ip4(100, 65, 0, 1), 16}};
    assert_int_equal(launcher_hostlink_subnet(2, host, 3), ip4(100, 64, 0, 8));
    /* an address inside the /30 (another link's host side, or anyone's): the next one */
    host[3] = (struct launcher_hostlink_addr){ip4(100, 64, 0, 9), 30};
    assert_int_equal(launcher_hostlink_subnet(2, host, 4), ip4(100, 64, 0, 12));
    host[3] = (struct launcher_hostlink_addr){ip4(100, 64, 0, 11), 32};
    assert_int_equal(launcher_hostlink_subnet(2, host, 4), ip4(100, 64, 0, 12));
    /* a wider subnet of the host's that covers it: skipped to past that subnet */
    host[3] = (struct launcher_hostlink_addr){ip4(100, 64, 0, 1), 28};
    assert_int_equal(launcher_hostlink_subnet(2, host, 4), ip4(100, 64, 0, 16));
    /* the wrap, with the last /30 taken */
    host[3] = (struct launcher_hostlink_addr){ip4(100, 64, 255, 253), 30};
    assert_int_equal(launcher_hostlink_subnet(16383, host, 4), ip4(100, 64, 0, 0));
    /* the whole pool (or more) taken: none */
    host[3] = (struct launcher_hostlink_addr){ip4(100, 64, 0, 1), 10};
    assert_int_equal(launcher_hostlink_subnet(2, host, 4), 0);
}

/* In a child with its own network namespace: a real link. Exit code: 0 ok, 77 cannot test
 * here, else the failing step. */
static int real_link_child(void)
{
    if (unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", R_OK | W_OK) < 0)
        return 77;
    uint8_t taken[4] = {100, 64, 0, 13}; /* inside the /30 the second tap would get */
    if (launcher_netlink_link_up("lo", NULL) < 0 || launcher_netlink_addr_add("lo", taken, 32))
        return 10;
    struct launcher_hostlink a, b;
    if (launcher_hostlink_open(&a) != 0)
        return 11;
    /* lo is 1, so the first tap is 2: 100.64.0.8/30 */
    if (strcmp(a.ifname, "txk0") || strcmp(a.guest_addr, "100.64.0.10") || a.prefix != 30 ||
        memcmp(a.host_ip, ((uint8_t[]){100, 64, 0, 9}), 4))
        return 12;
    /* the second (index 3) skips 100.64.0.12/30, where lo has an address */
    if (launcher_hostlink_open(&b) != 0)
        return 13;
    if (strcmp(b.ifname, "txk1") || strcmp(b.guest_addr, "100.64.0.18"))
        return 14;
    /* the host's side has its address and is up */
    struct launcher_hostlink_addr *addrs = NULL;
    int n = launcher_hostlink_host_addrs(&addrs);
    bool found = false;
    for (int i = 0; i < n; i++)
        found = found || (addrs[i].addr == ip4(100, 64, 0, 9) && addrs[i].prefix == 30);
    free(addrs);
    if (!found)
        return 15;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a.ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
        return 16;
    /* not persistent: gone with the last descriptor */
    launcher_hostlink_close(&a);
    launcher_hostlink_close(&b);
    if (if_nametoindex("txk0") || if_nametoindex("txk1"))
        return 17;
    return 0;
}

static void test_real_link(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("SKIP: taps and network namespaces need root\n");
        skip();
    }
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(real_link_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("SKIP: no private network namespace or /dev/net/tun here\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports_listed_once),   cmocka_unit_test(test_addressed_device),
        cmocka_unit_test(test_check_target),        cmocka_unit_test(test_cmdline_words),
        cmocka_unit_test(test_subnet_from_ifindex), cmocka_unit_test(test_real_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
