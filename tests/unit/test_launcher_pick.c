/* test_launcher_pick.c: the backend `run` picks without --backend (daemon, kvm, qemu) and why,
 * on made-up hosts and kernels; the kernel inspector and the host's KVM reading behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/backend.h"
#include "launcher/backend_kvm.h"
#include "launcher/hostinfo.h"
#include "launcher/kernel.h"
#include "tinyx/util.h"
#include "vmm_test_elf.h"

static char *tmp_dir;     /* everything this test writes */
static char *monitor;     /* an executable that stands in for tinyx-kvm (TINYX_KVM) */
static char *no_daemon;   /* a socket path nothing listens on */
static char *daemon_sock; /* where daemon_listen() listens */
static int daemon_fd = -1;

/* Hosts: no /dev/kvm, one we may not open, one that fails otherwise, kvm_pvm, hardware KVM. */
static const struct launcher_host no_kvm = {.kvm_errno = ENOENT};
static const struct launcher_host kvm_denied = {.kvm_errno = EACCES};
static const struct launcher_host kvm_busy = {.kvm_errno = EBUSY};
static const struct launcher_host pvm = {.kvm_pvm = true};
static const struct launcher_host hw_kvm = {0};
/* Hardware KVM, and we may make taps (root), or not: no /dev/net/tun. */
static const struct launcher_host hw_kvm_root = {.net_admin = true};
static const struct launcher_host hw_kvm_root_no_tun = {.net_admin = true, .tun_errno = ENOENT};

/* Kernels: a Linux vmlinux with the PVH note, a PVH test guest, a bzImage, an ELF without the
 * PVH note, a corrupt ELF, a file that is no kernel. */
static const struct launcher_kernel_info linux_pvh = {
    .elf = true, .pvh_entry = true, .is_linux = true};
static const struct launcher_kernel_info guest_pvh = {.elf = true, .pvh_entry = true};
static const struct launcher_kernel_info bzimage = {.bzimage = true, .is_linux = true};
static const struct launcher_kernel_info elf_no_pvh = {.elf = true, .is_linux = true};
static const struct launcher_kernel_info elf_broken = {
    .elf = true, .pvh_entry = true, .broken = "segment 0 needs more bytes"};
static const struct launcher_kernel_info not_kernel = {0};

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/test-launcher-pick-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    tmp_dir = tinyx_xstrdup(tmpl);
    monitor = tinyx_xasprintf("%s/tinyx-kvm", tmp_dir);
    write_file(monitor, "#!/bin/sh\nexit 0\n", 17, 0755);
    no_daemon = tinyx_xasprintf("%s/none.sock", tmp_dir);
    daemon_sock = tinyx_xasprintf("%s/daemon.sock", tmp_dir);
    setenv("TINYX_KVM", monitor, 1);
    setenv("TINYX_DAEMON_SOCKET", no_daemon, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (daemon_fd >= 0)
        close(daemon_fd);
    tinyx_rm_rf(tmp_dir);
    free(tmp_dir);
    free(monitor);
    free(no_daemon);
    free(daemon_sock);
    unsetenv("TINYX_KVM");
    unsetenv("TINYX_DAEMON_SOCKET");
    return 0;
}

/* A listening socket where TINYX_DAEMON_SOCKET points: "a launcher daemon runs". */
static void daemon_listen(void)
{
    if (daemon_fd < 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", daemon_sock);
        daemon_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(daemon_fd >= 0);
        assert_int_equal(bind(daemon_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(daemon_fd, 16), 0);
    }
    setenv("TINYX_DAEMON_SOCKET", daemon_sock, 1);
}

static void daemon_gone(void)
{
    setenv("TINYX_DAEMON_SOCKET", no_daemon, 1);
}

static void assert_contains(const char *text, const char *part)
{
    if (!text || !strstr(text, part))
        fail_msg("expected \"%s\" in \"%s\"", part, text ? text : "(null)");
}

/* A request for kernel on host with the image's own kernel, 128 MiB, no options. */
static struct launcher_boot_request request(const struct launcher_kernel_info *kernel,
                                            const struct launcher_host *host)
{
    return (struct launcher_boot_request){
        .kernel_path = "/images/app/kernel", .kernel = kernel, .memory_mb = 128, .host = host};
}

/* Pick for req; expect backend name and a reason equal to why (exact). */
static void expect_pick(const struct launcher_boot_request *req, const char *name, const char *why)
{
    char got[512] = "";
    const struct launcher_backend *b = launcher_backend_pick(req, got, sizeof(got));
    assert_non_null(b);
    if (strcmp(b->name, name) || strcmp(got, why))
        fail_msg("picked %s (%s); expected %s (%s)", b->name, got, name, why);
}

/* ---- the kernel and the host, as both KVM backends read them ---- */

static void expect_runs(const struct launcher_kernel_info *k, const struct launcher_host *h,
                        bool yes, const char *why)
{
    char got[512] = "";
    bool said = launcher_kvm_runs_kernel(k, h, got, sizeof(got));
    if (said != yes || strcmp(got, why))
        fail_msg("said %s (%s); expected %s (%s)", said ? "yes" : "no", got, yes ? "yes" : "no",
                 why);
}

static void test_kvm_runs_kernel(void **state)
{
    (void)state;
    /* the host first: without a usable /dev/kvm nothing else matters */
    expect_runs(&linux_pvh, &no_kvm, false, "no /dev/kvm here");
    expect_runs(&bzimage, &no_kvm, false, "no /dev/kvm here");
    expect_runs(&guest_pvh, &kvm_denied, false, "/dev/kvm: permission denied");
    struct launcher_host eperm = {.kvm_errno = EPERM};
    expect_runs(&guest_pvh, &eperm, false, "/dev/kvm: permission denied");
    char busy[128];
    snprintf(busy, sizeof(busy), "/dev/kvm: %s", strerror(EBUSY));
    expect_runs(&guest_pvh, &kvm_busy, false, busy);
    /* then the kernel: tinyx-kvm boots whole PVH ELF files only */
    expect_runs(&bzimage, &hw_kvm, false,
                "tinyx-kvm boots PVH ELF kernels, and this one is a bzImage");
    expect_runs(&not_kernel, &hw_kvm, false,
                "tinyx-kvm boots PVH ELF kernels, and this one is not an ELF file");
    expect_runs(&elf_no_pvh, &hw_kvm, false,
                "tinyx-kvm boots PVH ELF kernels, and this one has no PVH entry note");
    expect_runs(&elf_broken, &hw_kvm, false,
                "the kernel is a corrupt ELF file (segment 0 needs more bytes)");
    /* then Linux on kvm_pvm */
    expect_runs(&linux_pvh, &pvm, false, "/dev/kvm is kvm_pvm, which does not run Linux");
    expect_runs(&linux_pvh, &hw_kvm, true, "this host's /dev/kvm runs Linux guests");
    expect_runs(&guest_pvh, &pvm, true,
                "this host's /dev/kvm (kvm_pvm) runs PVH guests like this one, though not Linux");
    expect_runs(&guest_pvh, &hw_kvm, true, "this host's /dev/kvm runs PVH guests like this one");
}

/* ---- the automatic choice ---- */

static void test_preference_order(void **state)
{
    (void)state;
    static const char *const order[] = {"daemon", "kvm", "qemu"};
    size_t n = 0;
    for (const struct launcher_backend *b; (b = launcher_backend_preferred(n)); n++) {
        assert_true(n < 3);
        assert_string_equal(b->name, order[n]);
        assert_non_null(b->pick_when);
        /* every backend but the last resort says whether it can boot an image */
        if (n < 2)
            assert_non_null(b->can_boot);
    }
    assert_int_equal(n, 3);
    assert_string_equal(launcher_backend_default()->name, "qemu");
    assert_null(launcher_backend_default()->can_boot);
}

static void test_pick_without_daemon(void **state)
{
    (void)state;
    daemon_gone();
    struct launcher_boot_request req = request(&linux_pvh, &no_kvm);
    expect_pick(&req, "qemu", "no /dev/kvm here");
    req.host = &kvm_denied;
    expect_pick(&req, "qemu", "/dev/kvm: permission denied");
    req.host = &pvm;
    expect_pick(&req, "qemu", "/dev/kvm is kvm_pvm, which does not run Linux");
    req.host = &hw_kvm;
    expect_pick(&req, "kvm", "this host's /dev/kvm runs Linux guests");
    /* a test guest runs on any KVM */
    req = request(&guest_pvh, &pvm);
    expect_pick(&req, "kvm",
                "this host's /dev/kvm (kvm_pvm) runs PVH guests like this one, though not Linux");
    req.host = &no_kvm;
    expect_pick(&req, "qemu", "no /dev/kvm here");
    /* a bzImage-only image does not go to kvm, whatever the host */
    req = request(&bzimage, &hw_kvm);
    expect_pick(&req, "qemu", "tinyx-kvm boots PVH ELF kernels, and this one is a bzImage");
    /* --kernel and disks are fine for kvm */
    req = request(&linux_pvh, &hw_kvm);
    req.kernel_from_option = true;
    struct launcher_vm_device blk = {.kind = LAUNCHER_VM_DEVICE_BLK};
    req.devices = &blk;
    req.n_devices = 1;
    expect_pick(&req, "kvm", "this host's /dev/kvm runs Linux guests");
}

static void test_pick_options_kvm_lacks(void **state)
{
    (void)state;
    daemon_gone();
    struct launcher_boot_request req = request(&linux_pvh, &hw_kvm);
    req.accel = "tcg";
    expect_pick(&req, "qemu", "--accel tcg: the kvm backend has no accelerator choice");
    req = request(&linux_pvh, &hw_kvm);
    req.memory_mb = 4096;
    expect_pick(&req, "qemu", "the kvm backend gives a guest at most 3072 MiB (asked: 4096)");
    req.memory_mb = 3072;
    expect_pick(&req, "kvm", "this host's /dev/kvm runs Linux guests");
    /* tinyx-kvm itself must be there */
    char *missing = tinyx_xasprintf("%s/no-such-monitor", tmp_dir);
    setenv("TINYX_KVM", missing, 1);
    char *why = tinyx_xasprintf("the kvm backend's monitor %s does not exist", missing);
    expect_pick(&req, "qemu", why);
    free(why);
    char *plain = tinyx_xasprintf("%s/not-executable", tmp_dir);
    write_file(plain, "x", 1, 0644);
    setenv("TINYX_KVM", plain, 1);
    if (geteuid() != 0) { /* root may execute anything */
        why = tinyx_xasprintf("the kvm backend's monitor %s is not executable", plain);
        expect_pick(&req, "qemu", why);
        free(why);
    }
    setenv("TINYX_KVM", monitor, 1);
    free(plain);
    free(missing);
}

/* An app with ports: kvm gives the guest a tap link of its own, which takes CAP_NET_ADMIN and
 * /dev/net/tun; with an address on --net (forward_port 0) it needs neither. */
static void test_pick_ports(void **state)
{
    (void)state;
    daemon_gone();
    const struct launcher_backend *kvm = launcher_backend_preferred(1);
    char why[512];
    struct launcher_boot_request req = request(&linux_pvh, &hw_kvm);
    req.forward_port = 8080;
    assert_false(kvm->can_boot(&req, why, sizeof(why)));
    assert_string_equal(
        why, "the app's ports need a tap network, which needs CAP_NET_ADMIN (run as root)");
    expect_pick(&req, "qemu",
                "the app's ports need a tap network, which needs CAP_NET_ADMIN (run as root)");
    req.host = &hw_kvm_root_no_tun;
    expect_pick(&req, "qemu",
                "the app's ports need a tap network, and /dev/net/tun is missing (modprobe tun)");
    req.host = &hw_kvm_root;
    expect_pick(&req, "kvm",
                "this host's /dev/kvm runs Linux guests, and the app's ports go on a tap link of "
                "its own");
    /* the link is a device: with 8 given, none is left for it */
    struct launcher_vm_device blk[8];
    memset(blk, 0, sizeof(blk));
    for (size_t i = 0; i < 8; i++)
        blk[i].kind = LAUNCHER_VM_DEVICE_BLK;
    req.devices = blk;
    req.n_devices = 8;
    expect_pick(&req, "qemu",
                "the kvm backend gives a guest at most 8 devices (the link for the app's ports "
                "is one)");
    req.n_devices = 7;
    expect_pick(&req, "kvm",
                "this host's /dev/kvm runs Linux guests, and the app's ports go on a tap link of "
                "its own");
    /* the guest has an address on a --net device: the ports are there, no link, no root */
    struct launcher_vm_device net = {.kind = LAUNCHER_VM_DEVICE_NET,
                                     .net = {.tap = "tap0", .have_ip = true, .prefix = 24}};
    req = request(&linux_pvh, &hw_kvm);
    req.devices = &net;
    req.n_devices = 1;
    req.forward_port = 0;
    expect_pick(&req, "kvm", "this host's /dev/kvm runs Linux guests");
    /* nor on kvm_pvm does a link make Linux run */
    req = request(&linux_pvh, &pvm);
    req.forward_port = 80;
    expect_pick(&req, "qemu", "/dev/kvm is kvm_pvm, which does not run Linux");
}

static void test_pick_daemon(void **state)
{
    (void)state;
    daemon_listen();
    char *yes = tinyx_xasprintf(
        "a launcher daemon listens on %s and boots this image in a prepared shell", daemon_sock);
    /* a test guest with its own kernel goes to the daemon, on any KVM */
    struct launcher_boot_request req = request(&guest_pvh, &pvm);
    expect_pick(&req, "daemon", yes);
    req.host = &hw_kvm;
    expect_pick(&req, "daemon", yes);
    struct launcher_vm_device net = {.kind = LAUNCHER_VM_DEVICE_NET, .net.tap = "tap0"};
    req.devices = &net;
    req.n_devices = 1;
    expect_pick(&req, "daemon", yes);
    /* a Linux kernel: only where /dev/kvm runs Linux */
    req = request(&linux_pvh, &hw_kvm);
    expect_pick(&req, "daemon", yes);
    req.host = &pvm;
    expect_pick(&req, "qemu", "/dev/kvm is kvm_pvm, which does not run Linux");
    req.host = &no_kvm;
    expect_pick(&req, "qemu", "no /dev/kvm here");
    /* the daemon opens /dev/kvm itself: one we may not open does not keep it out */
    req = request(&guest_pvh, &kvm_denied);
    expect_pick(&req, "daemon", yes);
    /* what the daemon does not do goes to kvm when it can */
    const struct launcher_backend *d = launcher_backend_preferred(0);
    char why[512];
    req = request(&guest_pvh, &pvm);
    req.kernel_from_option = true;
    assert_false(d->can_boot(&req, why, sizeof(why)));
    assert_string_equal(why, "the daemon boots an image's own kernel, not --kernel");
    expect_pick(&req, "kvm",
                "this host's /dev/kvm (kvm_pvm) runs PVH guests like this one, though not Linux");
    req = request(&guest_pvh, &hw_kvm);
    struct launcher_vm_device blk = {.kind = LAUNCHER_VM_DEVICE_BLK};
    req.devices = &blk;
    req.n_devices = 1;
    assert_false(d->can_boot(&req, why, sizeof(why)));
    assert_string_equal(why, "the daemon plugs no --blk disks");
    expect_pick(&req, "kvm", "this host's /dev/kvm runs PVH guests like this one");
    struct launcher_vm_device pattern = {.kind = LAUNCHER_VM_DEVICE_NET, .net.tap = "tx%d"};
    req.devices = &pattern;
    assert_false(d->can_boot(&req, why, sizeof(why)));
    assert_string_equal(why, "the daemon plugs taps by name, not by pattern");
    expect_pick(&req, "kvm", "this host's /dev/kvm runs PVH guests like this one");
    /* ports without an address on --net: the daemon has no link for them; kvm makes one as
     * root */
    req = request(&guest_pvh, &hw_kvm);
    req.forward_port = 80;
    assert_false(d->can_boot(&req, why, sizeof(why)));
    assert_string_equal(why, "the daemon forwards no guest ports (this app uses port 80)");
    expect_pick(&req, "qemu",
                "the app's ports need a tap network, which needs CAP_NET_ADMIN (run as root)");
    req.host = &hw_kvm_root;
    expect_pick(&req, "kvm",
                "this host's /dev/kvm runs PVH guests like this one, and the app's ports go on a "
                "tap link of its own");
    /* --accel: only QEMU has accelerators */
    req = request(&guest_pvh, &hw_kvm);
    req.accel = "kvm";
    expect_pick(&req, "qemu", "--accel kvm: the kvm backend has no accelerator choice");
    /* the daemon gone: kvm */
    daemon_gone();
    req = request(&guest_pvh, &hw_kvm);
    assert_false(d->can_boot(&req, why, sizeof(why)));
    char *none = tinyx_xasprintf("no launcher daemon listens on %s", no_daemon);
    assert_string_equal(why, none);
    expect_pick(&req, "kvm", "this host's /dev/kvm runs PVH guests like this one");
    free(none);
    free(yes);
}

/* ---- the facts behind it ---- */

static void test_kernel_inspect(void **state)
{
    (void)state;
    static const uint32_t entry = 0x100000;
    static uint8_t code[64] = {0xf4};
    struct test_segment seg = {.paddr = 0x100000, .data = code, .filesz = 64, .memsz = 0x2000};
    struct test_note pvh_note = test_pvh_note(&entry);
    static const char salt[4] = {0};
    struct test_note linux_note = {.name = "Linux", .type = 0x100, .desc = salt, .descsz = 4};
    static const char linux_os[6] = "linux";
    struct test_note xen_os = {.name = "Xen", .type = 6, .desc = linux_os, .descsz = 6};
    uint8_t elf[TEST_ELF_MAX];
    struct launcher_kernel_info k;

    /* a PVH test guest: not Linux */
    struct test_note notes[2] = {pvh_note, linux_note};
    size_t len = test_elf_build(elf, true, &seg, 1, notes, 1);
    char *path = test_write_file(tmp_dir, "guest", elf, len);
    launcher_kernel_inspect(path, &k);
    assert_true(k.elf && k.pvh_entry);
    assert_false(k.is_linux || k.bzimage);
    assert_string_equal(k.broken, "");
    assert_int_equal(k.load_end, 0x102000);
    free(path);
    /* a vmlinux: its "Linux" note */
    len = test_elf_build(elf, true, &seg, 1, notes, 2);
    path = test_write_file(tmp_dir, "vmlinux", elf, len);
    launcher_kernel_inspect(path, &k);
    assert_true(k.elf && k.pvh_entry && k.is_linux);
    free(path);
    /* Xen's GUEST_OS note saying linux, in an ELF32 file */
    notes[1] = xen_os;
    len = test_elf_build(elf, false, &seg, 1, notes, 2);
    path = test_write_file(tmp_dir, "vmlinux32", elf, len);
    launcher_kernel_inspect(path, &k);
    assert_true(k.elf && k.pvh_entry && k.is_linux);
    free(path);
    /* no PVH note */
    len = test_elf_build(elf, true, &seg, 1, &linux_note, 1);
    path = test_write_file(tmp_dir, "no-pvh", elf, len);
    launcher_kernel_inspect(path, &k);
    assert_true(k.elf && k.is_linux);
    assert_false(k.pvh_entry);
    free(path);
    /* cut short: broken */
    len = test_elf_build(elf, true, &seg, 1, notes, 1);
    path = test_write_file(tmp_dir, "cut", elf, len - 32);
    launcher_kernel_inspect(path, &k);
    assert_true(k.elf);
    assert_contains(k.broken, "truncated?");
    free(path);
    /* a bzImage: Linux, not ELF */
    unsigned char bz[1024] = {0};
    bz[0x1fe] = 0x55;
    bz[0x1ff] = 0xaa;
    memcpy(bz + 0x202, "HdrS", 4);
    path = test_write_file(tmp_dir, "bzImage", bz, sizeof(bz));
    launcher_kernel_inspect(path, &k);
    assert_true(k.bzimage && k.is_linux);
    assert_false(k.elf || k.pvh_entry);
    free(path);
    /* anything else, or nothing */
    path = test_write_file(tmp_dir, "text", "KERNEL", 6);
    launcher_kernel_inspect(path, &k);
    assert_false(k.elf || k.bzimage || k.is_linux || k.pvh_entry);
    free(path);
    memset(&k, 0xff, sizeof(k));
    launcher_kernel_inspect("/nonexistent/kernel", &k);
    assert_false(k.elf || k.bzimage || k.is_linux || k.pvh_entry);
}

static void test_host_kvm_state(void **state)
{
    (void)state;
    char why[256];
    assert_int_equal(launcher_host_kvm_state(&no_kvm, why, sizeof(why)), LAUNCHER_KVM_MISSING);
    assert_contains(why, "/dev/kvm cannot be opened");
    assert_int_equal(launcher_host_kvm_state(&kvm_denied, NULL, 0), LAUNCHER_KVM_MISSING);
    assert_int_equal(launcher_host_kvm_state(&pvm, why, sizeof(why)), LAUNCHER_KVM_SOFTWARE);
    assert_contains(why, "kvm_pvm");
    assert_int_equal(launcher_host_kvm_state(&hw_kvm, why, sizeof(why)), LAUNCHER_KVM_USABLE);
    /* the probe agrees with this host */
    struct launcher_host here;
    launcher_host_probe(&here);
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int open_errno = errno;
    if (fd >= 0) {
        close(fd);
        assert_int_equal(here.kvm_errno, 0);
    } else {
        assert_int_equal(here.kvm_errno, open_errno);
    }
    assert_int_equal(here.kvm_pvm, tinyx_is_dir("/sys/module/kvm_pvm"));
    /* a kvm_pvm module without a /dev/kvm is no KVM at all */
    struct launcher_host pvm_gone = {.kvm_errno = ENOENT, .kvm_pvm = true};
    assert_int_equal(launcher_host_kvm_state(&pvm_gone, NULL, 0), LAUNCHER_KVM_MISSING);
    expect_runs(&guest_pvh, &pvm_gone, false, "no /dev/kvm here");
    assert_int_equal(launcher_host_kvm(NULL, 0), launcher_host_kvm_state(&here, NULL, 0));
}

int main(void)
{
    tinyx_progname = "tinyx-launch";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kvm_runs_kernel),     cmocka_unit_test(test_preference_order),
        cmocka_unit_test(test_pick_without_daemon), cmocka_unit_test(test_pick_options_kvm_lacks),
        cmocka_unit_test(test_pick_ports),          cmocka_unit_test(test_pick_daemon),
        cmocka_unit_test(test_kernel_inspect),      cmocka_unit_test(test_host_kvm_state),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
