/* test_virtio_net.c: virtio-net against a fake guest and a socketpair "tap"; a real tap; the
 * --net options of tinyx-kvm (ip=, gw=, fd= of an inherited tap). */
#include "tests/unit/virtio_fake_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "launcher/vdev_net.h"
#include "launcher/vmm_netlink.h"

#define HDR 12u

struct fixture {
    struct fake_guest g;
    struct launcher_vdev_net *n;
    int wire; /* the host end of the "tap" */
    struct fake_queue rx, tx;
};

static const uint8_t test_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fake_guest_init(&f->g);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    f->wire = sv[1];
    f->n = launcher_vdev_net_create(&f->g.vm, sv[0], test_mac);
    fake_irqfd(&f->n->mmio);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    launcher_vdev_net_destroy(f->n);
    close(f->wire);
    fake_guest_free(&f->g);
    free(f);
    return 0;
}

static void bring_up(struct fixture *f)
{
    struct launcher_virtio_mmio *d = &f->n->mmio;
    uint64_t want =
        (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS);
    assert_true(fake_negotiate(d, want) & VIRTIO_CONFIG_S_FEATURES_OK);
    fake_queue_setup(&f->g, d, &f->rx, LAUNCHER_VDEV_NET_RXQ, 16);
    fake_queue_setup(&f->g, d, &f->tx, LAUNCHER_VDEV_NET_TXQ, 16);
    fake_driver_ok(d);
}

/* A receive buffer of len bytes (header included). */
static uint64_t post_rx(struct fixture *f, uint32_t len)
{
    uint64_t buf = fake_alloc(&f->g, len, 8);
    memset(fake_ptr(&f->g, buf), 0xee, len);
    struct fake_seg seg[] = {{buf, len, true}};
    fake_post(&f->g, &f->rx, seg, 1);
    return buf;
}

static void make_frame(uint8_t *frame, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        frame[i] = (uint8_t)(seed + i * 7);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* Frames wait in the device's end of the "tap" (not yet taken by the device). */
static bool wire_readable(struct fixture *f)
{
    return readable(f->n->fd);
}

static void test_features_and_config(void **state)
{
    struct fixture *f = *state;
    struct launcher_virtio_mmio *d = &f->n->mmio;
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_ID), 1);
    reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES),
                     (1u << VIRTIO_NET_F_MAC) | (1u << VIRTIO_NET_F_STATUS));
    uint8_t mac[6];
    for (int i = 0; i < 6; i++)
        launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + (uint64_t)i, false, &mac[i], 1);
    assert_memory_equal(mac, test_mac, 6);
    uint16_t status = 0;
    launcher_virtio_mmio_access(d, VIRTIO_MMIO_CONFIG + 6, false, (uint8_t *)&status, 2);
    assert_int_equal(status, VIRTIO_NET_S_LINK_UP);
    /* An offload the device never offered is refused. */
    assert_false(fake_negotiate(d, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_CSUM)) &
                 VIRTIO_CONFIG_S_FEATURES_OK);
}

static void test_transmit(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    /* Header in its own buffer, the frame split over two more. */
    uint8_t frame[98];
    make_frame(frame, sizeof(frame), 1);
    uint64_t hdr = fake_alloc(&f->g, HDR, 8), a = fake_alloc(&f->g, 40, 8),
             b = fake_alloc(&f->g, 58, 8);
    memcpy(fake_ptr(&f->g, a), frame, 40);
    memcpy(fake_ptr(&f->g, b), frame + 40, 58);
    struct fake_seg segs[] = {{hdr, HDR, false}, {a, 40, false}, {b, 58, false}};
    uint16_t head = fake_post(&f->g, &f->tx, segs, 3);
    fake_notify(&f->n->mmio, &f->tx);

    uint8_t got[200];
    assert_int_equal(read(f->wire, got, sizeof(got)), sizeof(frame));
    assert_memory_equal(got, frame, sizeof(frame));
    uint32_t id, len;
    assert_true(fake_used(&f->g, &f->tx, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, 0);
    assert_int_equal(fake_irqs(&f->n->mmio), 1);

    /* Header and frame in one buffer works the same. */
    uint64_t one = fake_alloc(&f->g, HDR + 60, 8);
    memcpy(fake_ptr(&f->g, one + HDR), frame, 60);
    struct fake_seg single[] = {{one, HDR + 60, false}};
    fake_post(&f->g, &f->tx, single, 1);
    fake_notify(&f->n->mmio, &f->tx);
    assert_int_equal(read(f->wire, got, sizeof(got)), 60);
    assert_memory_equal(got, frame, 60);

    /* A chain shorter than the header carries no frame: returned, nothing sent. */
    struct fake_seg runt[] = {{hdr, 6, false}};
    fake_post(&f->g, &f->tx, runt, 1);
    fake_notify(&f->n->mmio, &f->tx);
    assert_true(fake_used(&f->g, &f->tx, &id, &len));
    assert_true(fake_used(&f->g, &f->tx, &id, &len));
    assert_false(readable(f->wire)); /* nothing was sent */
    assert_int_equal(f->n->tx_frames, 2);
    assert_int_equal(f->n->tx_dropped, 1);
}

static void test_receive(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    uint64_t buf = post_rx(f, HDR + 1514);
    fake_notify(&f->n->mmio, &f->rx);
    uint8_t frame[342];
    make_frame(frame, sizeof(frame), 9);
    assert_int_equal(write(f->wire, frame, sizeof(frame)), sizeof(frame));
    launcher_vdev_net_readable(f->n);

    uint32_t id, len;
    assert_true(fake_used(&f->g, &f->rx, &id, &len));
    assert_int_equal(len, HDR + sizeof(frame));
    struct virtio_net_hdr_v1 hdr;
    memcpy(&hdr, fake_ptr(&f->g, buf), HDR);
    assert_int_equal(hdr.flags, 0);
    assert_int_equal(hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    assert_int_equal(hdr.num_buffers, 1);
    assert_memory_equal(fake_ptr(&f->g, buf + HDR), frame, sizeof(frame));
    assert_int_equal(fake_irqs(&f->n->mmio), 1);
    assert_false(wire_readable(f));

    /* A buffer split in two (header + data) works too. */
    uint64_t h = fake_alloc(&f->g, HDR, 8), data = fake_alloc(&f->g, 1514, 8);
    struct fake_seg segs[] = {{h, HDR, true}, {data, 1514, true}};
    fake_post(&f->g, &f->rx, segs, 2);
    assert_int_equal(write(f->wire, frame, 100), 100);
    launcher_vdev_net_readable(f->n);
    assert_true(fake_used(&f->g, &f->rx, &id, &len));
    assert_int_equal(len, HDR + 100);
    assert_memory_equal(fake_ptr(&f->g, data), frame, 100);
    assert_int_equal(f->n->rx_frames, 2);
}

static void test_receive_waits_for_buffers(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    uint8_t first[60], second[70];
    make_frame(first, sizeof(first), 1);
    make_frame(second, sizeof(second), 2);
    assert_int_equal(write(f->wire, first, sizeof(first)), sizeof(first));
    assert_int_equal(write(f->wire, second, sizeof(second)), sizeof(second));
    /* No receive buffers: the first frame is kept, the rest dropped, the fd drained (so the
     * I/O thread does not spin on a readable fd). */
    launcher_vdev_net_readable(f->n);
    assert_false(wire_readable(f));
    assert_int_equal(f->n->rx_dropped, 1);
    uint32_t id, len;
    assert_false(fake_used(&f->g, &f->rx, &id, &len));

    /* The guest posts a buffer and notifies: the kept frame arrives. */
    uint64_t buf = post_rx(f, HDR + 1514);
    fake_notify(&f->n->mmio, &f->rx);
    assert_true(fake_used(&f->g, &f->rx, &id, &len));
    assert_int_equal(len, HDR + sizeof(first));
    assert_memory_equal(fake_ptr(&f->g, buf + HDR), first, sizeof(first));
}

static void test_receive_before_driver_ok_drops(void **state)
{
    struct fixture *f = *state;
    uint8_t frame[60] = {0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(write(f->wire, frame, sizeof(frame)), sizeof(frame));
    launcher_vdev_net_readable(f->n);
    assert_false(wire_readable(f));
    assert_int_equal(f->n->rx_frames, 0);
}

static void test_receive_buffer_too_small(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    uint64_t small = post_rx(f, HDR + 64);
    uint8_t frame[200];
    make_frame(frame, sizeof(frame), 3);
    assert_int_equal(write(f->wire, frame, sizeof(frame)), sizeof(frame));
    launcher_vdev_net_readable(f->n);
    /* Dropped, and the buffer was neither used nor written. */
    uint32_t id, len;
    assert_false(fake_used(&f->g, &f->rx, &id, &len));
    assert_int_equal(f->n->rx_dropped, 1);
    assert_int_equal(*(uint8_t *)fake_ptr(&f->g, small), 0xee);
    /* A frame that fits still uses it. */
    assert_int_equal(write(f->wire, frame, 50), 50);
    launcher_vdev_net_readable(f->n);
    assert_true(fake_used(&f->g, &f->rx, &id, &len));
    assert_int_equal(len, HDR + 50);
}

static void test_receive_into_bad_buffer(void **state)
{
    struct fixture *f = *state;
    bring_up(f);
    struct fake_seg bad[] = {{FAKE_RAM_SIZE - 100, 1600, true}};
    fake_post(&f->g, &f->rx, bad, 1);
    uint8_t frame[60] = {0};
    assert_int_equal(write(f->wire, frame, sizeof(frame)), sizeof(frame));
    launcher_vdev_net_readable(f->n);
    assert_true(reg_read(&f->n->mmio, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
    assert_false(wire_readable(f)); /* still drained */
}

static void test_parse_options(void **state)
{
    (void)state;
    struct launcher_vdev_net_config c;
    assert_int_equal(launcher_vdev_net_parse("tap0", &c), 0);
    assert_string_equal(c.tap, "tap0");
    assert_false(c.have_mac);
    assert_string_equal(c.bridge, "");
    assert_int_equal(launcher_vdev_net_parse("t1,mac=02:AB:cd:00:00:01,bridge=br0", &c), 0);
    assert_string_equal(c.tap, "t1");
    assert_true(c.have_mac);
    assert_memory_equal(c.mac, ((uint8_t[]){0x02, 0xab, 0xcd, 0, 0, 1}), 6);
    assert_string_equal(c.bridge, "br0");
    assert_int_equal(launcher_vdev_net_parse("tap%d,bridge=br0", &c), 0);
    assert_false(c.have_ip);
    assert_false(c.have_fd);

    /* the guest's address (for the device page) and an inherited tap */
    assert_int_equal(launcher_vdev_net_parse("txk3,fd=5,ip=100.64.0.14/30,gw=100.64.0.13", &c), 0);
    assert_string_equal(c.tap, "txk3");
    assert_true(c.have_fd);
    assert_int_equal(c.fd, 5);
    assert_true(c.have_ip);
    assert_memory_equal(c.ip, ((uint8_t[]){100, 64, 0, 14}), 4);
    assert_int_equal(c.prefix, 30);
    assert_true(c.have_gw);
    assert_memory_equal(c.gw, ((uint8_t[]){100, 64, 0, 13}), 4);
    assert_int_equal(launcher_vdev_net_parse("tap0,ip=10.0.0.2/24", &c), 0);
    assert_true(c.have_ip);
    assert_false(c.have_gw);

    const char *bad[] = {
        "",
        NULL,
        ",mac=02:00:00:00:00:01",
        "averyveryverylongname",
        "a/b",
        "mac=02:00:00:00:00:01",
        "tap0,mac=02:00:00:00:00",
        "tap0,mac=02:00:00:00:00:0g",
        "tap0,mac=01:00:5e:00:00:01", /* multicast */
        "tap0,mac=02-00-00-00-00-01",
        "tap0,bridge=",
        "tap0,speed=10",
        "tap0,ip=10.0.0.2",     /* no prefix */
        "tap0,ip=10.0.0.2/31",  /* prefix 1-30 */
        "tap0,ip=10.0.0.0/24",  /* the network address */
        "tap0,ip=224.0.0.2/24", /* multicast */
        "tap0,ip=10.0.0.2/24,ip=10.0.0.3/24",
        "tap0,gw=10.0.0.1",                /* gw= without ip= */
        "tap0,ip=10.0.0.2/24,gw=10.0.0.2", /* its own address */
        "tap0,ip=10.0.0.2/24,gw=10.0.0.1/24",
        "tap0,ip=10.0.0.2/24,gw=239.1.1.1",
        "tap0,fd=",
        "tap0,fd=2", /* stdin, stdout, stderr are not taps */
        "tap0,fd=x",
        "tap0,fd=-4",
        "tap0,fd=5,fd=6",
        "tap0,fd=5,bridge=br0", /* whoever opened it bridges it */
        "tap%d,fd=5",           /* an open tap has its name */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("bad --net=%s\n", bad[i] ? bad[i] : "(null)");
        assert_int_equal(launcher_vdev_net_parse(bad[i], &c), -1);
    }
}

/* In a child with its own network namespace: --net=NAME,fd=N takes an inherited tap only: open,
 * a tap (IFF_TAP | IFF_NO_PI), of that name. Exit code: 0 ok, 77 cannot test here, else the
 * failing step. */
static int fd_option_child(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return 77;
    char name[IFNAMSIZ];
    int fd = launcher_vdev_net_open_tap("tfd%d", name);
    if (fd < 0)
        return 77;
    if (launcher_vdev_net_check_fd(fd, name) != 0)
        return 10;
    if (launcher_vdev_net_check_fd(fd, "other0") == 0) /* not that tap's name */
        return 11;
    int p[2];
    if (pipe(p) < 0)
        return 77;
    if (launcher_vdev_net_check_fd(p[0], name) == 0) /* not a tap */
        return 12;
    if (launcher_vdev_net_check_fd(999, name) == 0) /* not open */
        return 13;
    int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC); /* not attached to an interface */
    if (tun >= 0 && launcher_vdev_net_check_fd(tun, name) == 0)
        return 14;
    /* a tap with the packet-information header, and a layer-3 tun, are refused */
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tpi0");
    int pi = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (pi < 0 || ioctl(pi, TUNSETIFF, &ifr) < 0)
        return 77;
    /* (Some kernels report IFF_NO_PI for every tap: then there is nothing to tell apart.) */
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(pi, TUNGETIFF, &ifr) == 0 && !(ifr.ifr_flags & IFF_NO_PI) &&
        launcher_vdev_net_check_fd(pi, "tpi0") == 0)
        return 15;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "ttun0");
    int l3 = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (l3 < 0 || ioctl(l3, TUNSETIFF, &ifr) < 0)
        return 77;
    if (launcher_vdev_net_check_fd(l3, "ttun0") == 0)
        return 16;
    return 0;
}

static void test_fd_option(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("SKIP: taps and network namespaces need root\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fd_option_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("SKIP: no private network namespace or /dev/net/tun here\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_default_mac(void **state)
{
    (void)state;
    uint8_t a[6], b[6], c[6];
    launcher_vdev_net_default_mac("tap0", a);
    launcher_vdev_net_default_mac("tap0", b);
    launcher_vdev_net_default_mac("tap1", c);
    assert_memory_equal(a, b, 6);
    assert_memory_not_equal(a, c, 6);
    assert_int_equal(a[0], 0x02); /* locally administered, unicast */
    assert_int_equal(a[1], 0x74);
    assert_int_equal(a[2], 0x78);
}

/* In a child with its own network (and mount, for /sys) namespace: a tap, brought up, then put
 * on a bridge. Exit code: 0 ok, 77 cannot test here, else the failing step. */
static int tap_and_bridge_child(void)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
        return 77;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
        return 77;
    char name[IFNAMSIZ];
    int fd = launcher_vdev_net_open_tap("ttap%d", name);
    if (fd < 0)
        return 77; /* no /dev/net/tun */
    if (strcmp(name, "ttap0") != 0)
        return 10;
    if (launcher_netlink_link_up(name, NULL) < 0)
        return 11;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
        return 12;
    /* A second open of the same tap is refused (one VM per tap). */
    char again[IFNAMSIZ];
    int fd2 = launcher_vdev_net_open_tap(name, again);
    if (fd2 >= 0)
        return 13;
    /* Missing bridge: a clear error, no crash. */
    if (launcher_netlink_link_up(name, "nosuchbr") == 0)
        return 14;
    /* Not a bridge: the loopback device cannot be a master. */
    if (launcher_netlink_link_up(name, "lo") == 0)
        return 15;
    if (ioctl(s, SIOCBRADDBR, "tbr0") < 0)
        return 77; /* no bridge support in this kernel */
    if (launcher_netlink_link_up(name, "tbr0") < 0)
        return 16;
    char link[256];
    ssize_t n = readlink("/sys/class/net/ttap0/master", link, sizeof(link) - 1);
    if (n < 0)
        return 17;
    link[n] = 0;
    if (!strstr(link, "tbr0"))
        return 18;
    close(fd);
    /* Closing the fd removes a tap we created. */
    if (if_nametoindex("ttap0") != 0)
        return 19;
    return 0;
}

static void test_tap_and_bridge(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("SKIP: taps and network namespaces need root\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(tap_and_bridge_child());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("SKIP: no private network namespace, /dev/net/tun or bridge here\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_features_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_waits_for_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_before_driver_ok_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_buffer_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_into_bad_buffer, setup, teardown),
        cmocka_unit_test(test_parse_options),
        cmocka_unit_test(test_default_mac),
        cmocka_unit_test(test_tap_and_bridge),
        cmocka_unit_test(test_fd_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
