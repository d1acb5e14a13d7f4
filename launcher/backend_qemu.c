/* backend_qemu.c: the QEMU backend: qemu-system-x86_64 -M microvm, console and timer on pipes. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "initramfs/boot_abi.h"
#include "launcher/backend.h"
#include "launcher/guest_net.h"
#include "launcher/hostinfo.h"
#include "launcher/vmm_netlink.h"
#include "launcher/vmm_spawn.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

/* The guest's side of QEMU's user-mode network (slirp's fixed defaults). */
#define GUEST_IP  "10.0.2.15/24"
#define GUEST_GW  "10.0.2.2"
#define GUEST_DNS "10.0.2.3"

/* The taps of --net, in order, from this descriptor up (-netdev tap,fd=N). */
#define TAP_CHILD_FD LAUNCHER_SPAWN_EXTRA_FD
/* More --net devices than this are refused (run_opts allows 8 devices in all). */
#define MAX_TAPS 16

struct qemu_vm {
    pid_t pid;
    bool reaped;
    int wait_status;
};

/* TINYX_QEMU overrides the binary (a wrapper, a build of our own, or a missing one in tests). */
static const char *qemu_program(void)
{
    const char *p = getenv("TINYX_QEMU");
    return p && *p ? p : "qemu-system-x86_64";
}

static void note_set(char *note, size_t note_len, const char *fmt, const char *arg)
{
    if (note && note_len)
        snprintf(note, note_len, fmt, arg);
}

static int qemu_prepare(const char *requested, const char **accel_out, char *note, size_t note_len)
{
    const char *prog = qemu_program();
    if (!tinyx_have_program(prog)) {
        tinyx_err("%s not found; install QEMU with `make deps` (or `apt-get install "
                  "qemu-system-x86`), or point TINYX_QEMU at it",
                  prog);
        return TINYX_EXIT_ENV;
    }
    char why[256];
    enum launcher_kvm_state kvm = launcher_host_kvm(why, sizeof(why));
    if (!requested) {
        *accel_out = kvm == LAUNCHER_KVM_USABLE ? "kvm" : "tcg";
        note_set(note, note_len, "%s", why);
        return 0;
    }
    if (!strcmp(requested, "tcg")) {
        *accel_out = "tcg";
        note_set(note, note_len, "%s", "software emulation, as asked");
        return 0;
    }
    if (!strcmp(requested, "kvm")) {
        if (kvm == LAUNCHER_KVM_MISSING) {
            tinyx_err("--accel kvm: %s; use --accel tcg or run on a host with KVM", why);
            return TINYX_EXIT_ENV;
        }
        if (kvm == LAUNCHER_KVM_SOFTWARE)
            tinyx_warn("--accel kvm: %s; expect the guest to stall until --timeout", why);
        *accel_out = "kvm";
        note_set(note, note_len, "%s", "as asked");
        return 0;
    }
    tinyx_err("unknown accelerator '%s' for the qemu backend (use tcg or kvm)", requested);
    return TINYX_EXIT_USAGE;
}

/* Kernel parameters that make a guest panic or reboot end the VM (with -no-reboot). */
static const struct {
    const char *name;
    const char *word;
} exit_params[] = {{"panic", "panic=-1"}, {"reboot", "reboot=t"}};

/* Whether the kernel command line has parameter name, bare or as name=VALUE. */
static bool has_param(const char *cmdline, const char *name)
{
    size_t name_len = strlen(name);
    for (const char *p = cmdline; *p;) {
        p += strspn(p, " \t");
        size_t word_len = strcspn(p, " \t");
        if (word_len >= name_len && !strncmp(p, name, name_len) &&
            (word_len == name_len || p[name_len] == '='))
            return true;
        p += word_len;
    }
    return false;
}

/* The MAC a tap's guest gets without mac=: tinyx-kvm's rule (vdev_net.c), so a guest keeps its
 * address across backends and two VMs on one bridge differ (QEMU's own default is the same
 * 52:54:00:12:34:56 in every process). 02:74:78 ("tx", locally administered) + FNV-1a. */
static void default_mac(const char *ifname, uint8_t mac[6])
{
    uint32_t hash = 2166136261u;
    for (const char *p = ifname; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 16777619u;
    mac[0] = 0x02;
    mac[1] = 0x74;
    mac[2] = 0x78;
    mac[3] = (uint8_t)(hash >> 16);
    mac[4] = (uint8_t)(hash >> 8);
    mac[5] = (uint8_t)hash;
}

/* Create (or open) the tap with TUNSETIFF, as tinyx-kvm does, bring it up and attach it to
 * its bridge over rtnetlink: QEMU gets the open descriptor, so no script runs and the tap is
 * ready before the guest starts. A tap created here is gone once QEMU and we have closed it.
 * Returns the descriptor with its real name in ifname, or -1 after a message (*code set). */
static int open_tap(const struct launcher_vm_device *d, char ifname[IFNAMSIZ], int *code)
{
    *code = TINYX_EXIT_ENV;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return tinyx_err("--net: /dev/net/tun is missing: load the tun module (modprobe tun)");
        return tinyx_errno("--net: cannot open /dev/net/tun (taps need root or CAP_NET_ADMIN)");
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->net.tap);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        if (e == EPERM)
            return tinyx_errno("--net: cannot create tap %s: needs CAP_NET_ADMIN (run as root)",
                               d->net.tap);
        *code = TINYX_EXIT_USAGE;
        if (e == EBUSY)
            return tinyx_errno("--net: tap %s is in use (by another VM?): pick another name",
                               d->net.tap);
        if (e == EINVAL)
            return tinyx_errno("--net: cannot use %s as a tap (an interface of another kind has "
                               "that name?)",
                               d->net.tap);
        return tinyx_errno("--net: cannot create tap %s", d->net.tap);
    }
    snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
    if (launcher_netlink_link_up(ifname, d->net.bridge[0] ? d->net.bridge : NULL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void close_taps(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* QEMU's -drive takes "," as a separator: a comma in a file name is written twice. */
static char *drive_path(const char *path)
{
    size_t commas = 0;
    for (const char *p = path; *p; p++)
        commas += *p == ',';
    char *out = tinyx_xmalloc(strlen(path) + commas + 1), *w = out;
    for (const char *p = path; *p; p++) {
        *w++ = *p;
        if (*p == ',')
            *w++ = ',';
    }
    *w = '\0';
    return out;
}

/* The --net and --blk devices: tap k is descriptor TAP_CHILD_FD + k in QEMU, taps[k] its name. */
static void push_devices(const struct launcher_vm_spec *spec, char (*taps)[IFNAMSIZ],
                         struct strvec *av)
{
    size_t n_net = 0, n_blk = 0;
    for (size_t i = 0; i < spec->n_devices; i++) {
        const struct launcher_vm_device *d = &spec->devices[i];
        if (d->kind == LAUNCHER_VM_DEVICE_BLK) {
            char *path = drive_path(d->blk.path);
            tinyx_strvec_push(av, "-drive");
            tinyx_strvec_pushf(av, "file=%s,format=raw,if=none,id=blk%zu%s", path, n_blk,
                               d->blk.read_only ? ",readonly=on" : "");
            tinyx_strvec_push(av, "-device");
            tinyx_strvec_pushf(av, "virtio-blk-device,drive=blk%zu", n_blk);
            free(path);
            n_blk++;
            continue;
        }
        uint8_t mac[6];
        if (d->net.have_mac)
            memcpy(mac, d->net.mac, sizeof(mac));
        else
            default_mac(taps[n_net], mac);
        tinyx_strvec_push(av, "-netdev");
        tinyx_strvec_pushf(av, "tap,id=net%zu,fd=%zu", n_net, TAP_CHILD_FD + n_net);
        tinyx_strvec_push(av, "-device");
        tinyx_strvec_pushf(av, "virtio-net-device,netdev=net%zu,mac=%02x:%02x:%02x:%02x:%02x:%02x",
                           n_net, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
        n_net++;
    }
}

static bool has_net_device(const struct launcher_vm_spec *spec)
{
    for (size_t i = 0; i < spec->n_devices; i++)
        if (spec->devices[i].kind == LAUNCHER_VM_DEVICE_NET)
            return true;
    return false;
}

static void build_argv(const struct launcher_vm_spec *spec, char (*taps)[IFNAMSIZ],
                       struct strvec *av)
{
    tinyx_strvec_push(av, qemu_program());
    tinyx_strvec_push(av, "-M");
    /* Without ACPI tables microvm writes virtio_mmio.device=SIZE@ADDR:IRQ for each device onto
     * the kernel command line itself: what a kernel without ACPI needs to find them. */
    tinyx_strvec_push(av, spec->virtio_mmio == LAUNCHER_VIRTIO_MMIO_CMDLINE ? "microvm,acpi=off"
                                                                            : "microvm");
    tinyx_strvec_push(av, "-accel");
    tinyx_strvec_push(av, spec->accel);
    tinyx_strvec_push(av, "-cpu");
    /* -cpu host is the fast path on real KVM; on kvm_pvm it fails on MSR 0x10a unless the
     * arch-capabilities MSR is hidden. TCG has no host CPU to copy: "max". */
    if (strcmp(spec->accel, "kvm"))
        tinyx_strvec_push(av, "max");
    else if (launcher_host_kvm(NULL, 0) == LAUNCHER_KVM_SOFTWARE)
        tinyx_strvec_push(av, "host,-arch-capabilities");
    else
        tinyx_strvec_push(av, "host");
    tinyx_strvec_push(av, "-m");
    tinyx_strvec_pushf(av, "%u", spec->memory_mb);
    tinyx_strvec_push(av, "-nodefaults");
    tinyx_strvec_push(av, "-no-user-config");
    tinyx_strvec_push(av, "-nographic");
    tinyx_strvec_push(av, "-no-reboot");
    tinyx_strvec_push(av, "-serial");
    tinyx_strvec_push(av, "stdio");
    tinyx_strvec_push(av, "-kernel");
    tinyx_strvec_push(av, spec->kernel_path);
    if (spec->initrd_path) {
        tinyx_strvec_push(av, "-initrd");
        tinyx_strvec_push(av, spec->initrd_path);
    }

    /* Per-instance parameters: the slirp network, and the TSC frequency, without which
     * Debian's kernel can hang calibrating the TSC under TCG. */
    /* An app that listens on no port gets no network device and no address: its kernel may
     * have no network stack at all. With --net the guest is on a tap instead: no user-mode
     * network, and its address is the one ip= gives (QEMU writes no device page, so it goes on
     * the command line), if any. */
    bool network = spec->n_forwards > 0 && !has_net_device(spec);
    char *address = launcher_guest_net_cmdline(spec->devices, spec->n_devices);
    char *cmdline =
        network
            ? tinyx_xasprintf("%s%s" BOOT_ABI_CMDLINE_IP GUEST_IP " " BOOT_ABI_CMDLINE_GW GUEST_GW
                              " " BOOT_ABI_CMDLINE_DNS GUEST_DNS,
                              spec->cmdline, spec->cmdline[0] ? " " : "")
        : address ? tinyx_xasprintf("%s%s%s", spec->cmdline, spec->cmdline[0] ? " " : "", address)
                  : tinyx_xstrdup(spec->cmdline);
    free(address);
    unsigned long khz = launcher_host_tsc_khz();
    if (khz) {
        char *with_tsc = tinyx_xasprintf("%s tsc_early_khz=%lu", cmdline, khz);
        free(cmdline);
        cmdline = with_tsc;
    } else {
        tinyx_debug("host TSC frequency unknown: not passing tsc_early_khz");
    }
    /* A panicking guest must end the VM, not sit until --timeout: panic=-1 reboots at once,
     * reboot=t makes that a triple fault (no ACPI needed), and -no-reboot turns it into QEMU's
     * exit. The image's command line normally says so already; the user's words win. */
    const char *append = spec->append ? spec->append : "";
    for (size_t i = 0; i < sizeof(exit_params) / sizeof(exit_params[0]); i++) {
        if (has_param(cmdline, exit_params[i].name) || has_param(append, exit_params[i].name))
            continue;
        char *more = tinyx_xasprintf("%s %s", cmdline, exit_params[i].word);
        free(cmdline);
        cmdline = more;
    }
    if (append[0]) {
        char *more = tinyx_xasprintf("%s %s", cmdline, append);
        free(cmdline);
        cmdline = more;
    }
    tinyx_strvec_push(av, "-append");
    tinyx_strvec_push_owned(av, cmdline);

    if (network) {
        char *netdev = tinyx_xstrdup("user,id=n0");
        for (size_t i = 0; i < spec->n_forwards; i++) {
            char *more = tinyx_xasprintf("%s,hostfwd=tcp:127.0.0.1:%d-:%d", netdev,
                                         spec->forwards[i].host_port, spec->forwards[i].guest_port);
            free(netdev);
            netdev = more;
        }
        tinyx_strvec_push(av, "-netdev");
        tinyx_strvec_push_owned(av, netdev);
        tinyx_strvec_push(av, "-device");
        tinyx_strvec_push(av, "virtio-net-device,netdev=n0");
    }
    push_devices(spec, taps, av);
    tinyx_strvec_push(av, "-device");
    tinyx_strvec_pushf(av, "isa-debug-exit,iobase=0x%x,iosize=0x01", BOOT_ABI_EXIT_PORT);
    /* QEMU reopens the pipe through /proc: every byte the guest writes to the boot-timer port
     * arrives on our end of the pipe, where the core timestamps it. */
    tinyx_strvec_push(av, "-chardev");
    tinyx_strvec_pushf(av, "file,id=bt,path=/dev/fd/%d", LAUNCHER_SPAWN_TIMER_FD);
    tinyx_strvec_push(av, "-device");
    tinyx_strvec_pushf(av, "isa-debugcon,iobase=0x%x,chardev=bt", BOOT_ABI_TIMER_PORT);
}

/* Open every --net tap (all or none). Returns 0, or the exit code after a message. */
static int open_taps(const struct launcher_vm_spec *spec, int *fds, char (*names)[IFNAMSIZ],
                     size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < spec->n_devices; i++) {
        const struct launcher_vm_device *d = &spec->devices[i];
        if (d->kind != LAUNCHER_VM_DEVICE_NET)
            continue;
        int code = TINYX_EXIT_USAGE;
        int fd = *n == MAX_TAPS ? tinyx_err("at most %d --net devices", MAX_TAPS)
                                : open_tap(d, names[*n], &code);
        if (fd < 0) {
            close_taps(fds, *n);
            *n = 0;
            return code;
        }
        fds[(*n)++] = fd;
    }
    return 0;
}

static int qemu_start(const struct launcher_vm_spec *spec, struct launcher_vm *vm)
{
    if (spec->n_forwards && has_net_device(spec)) {
        /* run.c refuses this pair; a caller that does not gets told, not a silent half. */
        tinyx_err("the qemu backend forwards guest ports through its user-mode network, which "
                  "--net replaces: leave out --net");
        return TINYX_EXIT_USAGE;
    }
    size_t n_addressed = 0;
    for (size_t i = 0; i < spec->n_devices; i++)
        n_addressed +=
            spec->devices[i].kind == LAUNCHER_VM_DEVICE_NET && spec->devices[i].net.have_ip;
    if (n_addressed > 1) {
        tinyx_err("the qemu backend gives the guest one address (tinyx.ip= on its command line, "
                  "as QEMU writes no device page) and %zu --net devices have ip=: keep ip= on "
                  "one, or use --backend kvm (its device page carries one per device)",
                  n_addressed);
        return TINYX_EXIT_USAGE;
    }
    int tap_fds[MAX_TAPS];
    char tap_names[MAX_TAPS][IFNAMSIZ];
    size_t n_taps = 0;
    int rc = open_taps(spec, tap_fds, tap_names, &n_taps);
    if (rc != 0)
        return rc;
    struct strvec av = STRVEC_INIT;
    build_argv(spec, tap_names, &av);
    pid_t pid;
    rc = launcher_spawn_vmm(tinyx_strvec_argv(&av), "QEMU", tap_fds, n_taps, vm, &pid);
    tinyx_strvec_free(&av);
    /* QEMU holds the taps now (or failed to start); a tap we created goes away when it exits. */
    close_taps(tap_fds, n_taps);
    if (rc != 0)
        return rc;
    struct qemu_vm *q = tinyx_xcalloc(1, sizeof(*q));
    q->pid = pid;
    vm->priv = q;
    return 0;
}

/* QEMU writes nothing to stderr but its own messages ("qemu-system-x86_64: ...", "qemu: ...");
 * any line that is not a warning means QEMU failed. */
static bool log_has_error(const char *log)
{
    for (const char *line = log; line && *line;) {
        const char *next = strchr(line, '\n');
        size_t len = next ? (size_t)(next - line) : strlen(line);
        if (len > 1 && !memmem(line, len, "warning:", 8))
            return true;
        line = next ? next + 1 : NULL;
    }
    return false;
}

static void reap(struct qemu_vm *q)
{
    if (q->reaped)
        return;
    while (waitpid(q->pid, &q->wait_status, 0) < 0) {
        if (errno != EINTR) {
            q->wait_status = 0;
            break;
        }
    }
    q->reaped = true;
}

static int qemu_wait(struct launcher_vm *vm, const char *vmm_log, struct launcher_vm_end *end)
{
    struct qemu_vm *q = vm->priv;
    reap(q);
    int st = q->wait_status;
    if (WIFSIGNALED(st)) {
        end->kind = LAUNCHER_VM_END_KILLED;
        end->code = WTERMSIG(st);
        return 0;
    }
    int code = WEXITSTATUS(st);
    if (code == 0) {
        /* -no-reboot turns a guest reset (reboot=t, triple fault, panic) into a clean exit. */
        end->kind = LAUNCHER_VM_END_RESET;
        end->code = 0;
    } else if ((code & 1) && !(code == 1 && log_has_error(vmm_log ? vmm_log : ""))) {
        /* isa-debug-exit: QEMU exits with (value << 1) | 1. Exit code 1 is also QEMU's own
         * failure code; its log tells the two apart. */
        end->kind = LAUNCHER_VM_END_STATUS;
        end->code = code >> 1;
    } else {
        end->kind = LAUNCHER_VM_END_VMM_FAILED;
        end->code = code;
    }
    return 0;
}

static void qemu_stop(struct launcher_vm *vm)
{
    struct qemu_vm *q = vm->priv;
    if (!q || q->reaped)
        return;
    kill(q->pid, SIGKILL);
    reap(q);
}

static void qemu_release(struct launcher_vm *vm)
{
    qemu_stop(vm);
    launcher_spawn_close(vm);
    free(vm->priv);
    vm->priv = NULL;
}

const struct launcher_backend launcher_backend_qemu = {
    .name = "qemu",
    .summary = "qemu-system-x86_64 -M microvm (TCG or KVM), user-mode networking or taps",
    .pick_when = "otherwise (it boots any kernel)",
    .accels = "tcg|kvm",
    .ports_proxied = true,
    .forwards_ports = true,
    .prepare = qemu_prepare,
    .start = qemu_start,
    .wait = qemu_wait,
    .stop = qemu_stop,
    .release = qemu_release,
};
