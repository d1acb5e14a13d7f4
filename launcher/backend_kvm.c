/* backend_kvm.c: the KVM backend: one tinyx-kvm process per VM, console and timer on pipes; a
 * guest whose ports the host must reach gets a tap link of its own (hostlink.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/backend.h"
#include "launcher/backend_kvm.h"
#include "launcher/guest_net.h"
#include "launcher/hostinfo.h"
#include "launcher/hostlink.h"
#include "launcher/kernel.h"
#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "launcher/vmm_spawn.h"
#include "tinyx/exitcode.h"
#include "tinyx/strvec.h"
#include "tinyx/util.h"

/* tinyx-kvm's --mem limit (LAYOUT_RAM_MAX). */
#define MAX_MEMORY_MB 3072u
#define MIB           (1024ull * 1024)
/* stop(): SIGTERM lets tinyx-kvm write out the console and close its devices; a monitor that
 * does not end by then is killed. */
#define STOP_GRACE_MS 200
/* The PVH entry note's type (Xen's PHYS32_ENTRY), for messages. */
#define XEN_PHYS32_ENTRY 18

struct kvm_vm {
    pid_t pid;
    bool reaped;
    int wait_status;
};

/* The host link's tap reaches tinyx-kvm as this descriptor (--net=NAME,fd=N). */
#define LINK_CHILD_FD LAUNCHER_SPAWN_EXTRA_FD

/* TINYX_KVM overrides the monitor (tests use a missing one); else tinyx-kvm beside us. */
static const char *kvm_program(void)
{
    static char path[4200];
    const char *p = getenv("TINYX_KVM");
    if (p && *p)
        return p;
    snprintf(path, sizeof(path), "%s/tinyx-kvm", tinyx_self_dir());
    return path;
}

static void note_set(char *note, size_t note_len, const char *text)
{
    if (note && note_len)
        snprintf(note, note_len, "%s", text);
}

static int kvm_prepare(const char *requested, const char **accel_out, char *note, size_t note_len)
{
    (void)requested; /* no accelerator choice: run.c refuses --accel for this backend */
    const char *prog = kvm_program();
    if (access(prog, X_OK) < 0) {
        tinyx_err("the kvm backend needs tinyx-kvm, and %s %s; build it with `make` (it is "
                  "installed next to tinyx-launch), or set TINYX_KVM",
                  prog, errno == ENOENT ? "does not exist" : "is not executable");
        return TINYX_EXIT_ENV;
    }
    char why[256];
    enum launcher_kvm_state kvm = launcher_host_kvm(why, sizeof(why));
    if (kvm == LAUNCHER_KVM_MISSING) {
        tinyx_err("the kvm backend cannot run here: %s; use --backend qemu", why);
        return TINYX_EXIT_ENV;
    }
    *accel_out = "kvm";
    note_set(note, note_len,
             kvm == LAUNCHER_KVM_SOFTWARE
                 ? "kvm_pvm (software nested virtualisation): tiny PVH guests run, a standard "
                   "Linux kernel does not"
                 : "hardware KVM");
    return 0;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* The initrd goes page-aligned at the top of RAM, above the kernel (tinyx-kvm's rule,
 * vmm_pvh.c): one that does not fit is refused here, with the --mem that would do. */
static int check_initrd_fits(const struct launcher_vm_spec *spec, uint64_t kernel_end)
{
    struct stat st;
    if (!spec->initrd_path || stat(spec->initrd_path, &st) < 0)
        return 0; /* none, or the monitor says what is wrong with it */
    uint64_t mem = (uint64_t)spec->memory_mb * MIB, size = (uint64_t)st.st_size;
    uint64_t lowest = align_up(kernel_end, LAYOUT_INITRD_ALIGN);
    if (size <= mem && ((mem - size) & ~(uint64_t)(LAYOUT_INITRD_ALIGN - 1)) >= lowest)
        return 0;
    uint64_t need = lowest + align_up(size, LAYOUT_INITRD_ALIGN);
    char human[32];
    tinyx_err("the initrd %s (%s) does not fit in %u MiB of guest RAM above the kernel (which "
              "ends at %.1f MiB): give --mem %llu or more",
              spec->initrd_path, tinyx_human_size(size, human, sizeof(human)), spec->memory_mb,
              (double)kernel_end / MIB, (unsigned long long)((need + MIB - 1) / MIB));
    return TINYX_EXIT_USAGE;
}

/* One phrase into why (for the automatic choice); returns ok. */
static bool say(bool ok, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool say(bool ok, char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return ok;
}

bool launcher_kvm_runs_kernel(const struct launcher_kernel_info *kernel,
                              const struct launcher_host *host, char *why, size_t why_len)
{
    if (host->kvm_errno == ENOENT || host->kvm_errno == ENODEV || host->kvm_errno == ENXIO)
        return say(false, why, why_len, "no /dev/kvm here");
    if (host->kvm_errno == EACCES || host->kvm_errno == EPERM)
        return say(false, why, why_len, "/dev/kvm: permission denied");
    if (host->kvm_errno)
        return say(false, why, why_len, "/dev/kvm: %s", strerror(host->kvm_errno));
    if (!kernel->elf)
        return say(false, why, why_len, "tinyx-kvm boots PVH ELF kernels, and this one is %s",
                   kernel->bzimage ? "a bzImage" : "not an ELF file");
    if (kernel->broken[0])
        return say(false, why, why_len, "the kernel is a corrupt ELF file (%s)", kernel->broken);
    if (!kernel->pvh_entry)
        return say(false, why, why_len,
                   "tinyx-kvm boots PVH ELF kernels, and this one has no PVH entry note");
    if (kernel->is_linux && host->kvm_pvm)
        return say(false, why, why_len, "/dev/kvm is kvm_pvm, which does not run Linux");
    if (kernel->is_linux)
        return say(true, why, why_len, "this host's /dev/kvm runs Linux guests");
    return say(true, why, why_len, "this host's /dev/kvm%s runs PVH guests like this one%s",
               host->kvm_pvm ? " (kvm_pvm)" : "", host->kvm_pvm ? ", though not Linux" : "");
}

/* tinyx-kvm has no user-mode network: a guest whose ports the host must reach, and that has no
 * address on a --net device, gets a tap link of its own, which takes CAP_NET_ADMIN and
 * /dev/net/tun. why says what is missing. */
static bool can_link(const struct launcher_host *host, char *why, size_t why_len)
{
    if (!host->net_admin)
        return say(false, why, why_len,
                   "the app's ports need a tap network, which needs CAP_NET_ADMIN (run as root)");
    if (host->tun_errno == ENOENT || host->tun_errno == ENODEV || host->tun_errno == ENXIO)
        return say(false, why, why_len,
                   "the app's ports need a tap network, and /dev/net/tun is missing (modprobe "
                   "tun)");
    if (host->tun_errno)
        return say(false, why, why_len, "the app's ports need a tap network, and /dev/net/tun: %s",
                   strerror(host->tun_errno));
    return true;
}

/* Besides the kernel and the host (above): options tinyx-kvm supports, and tinyx-kvm itself. */
static bool kvm_can_boot(const struct launcher_boot_request *req, char *why, size_t why_len)
{
    char yes[256];
    if (!launcher_kvm_runs_kernel(req->kernel, req->host, why, why_len))
        return false;
    snprintf(yes, sizeof(yes), "%s", why);
    const char *prog = kvm_program();
    if (req->forward_port && !can_link(req->host, why, why_len))
        return false;
    if (req->forward_port)
        snprintf(yes + strlen(yes), sizeof(yes) - strlen(yes),
                 ", and the app's ports go on a tap link of its own");
    if (req->memory_mb > MAX_MEMORY_MB)
        return say(false, why, why_len, "the kvm backend gives a guest at most %u MiB (asked: %u)",
                   MAX_MEMORY_MB, req->memory_mb);
    if (req->n_devices + (req->forward_port ? 1 : 0) > LAYOUT_VIRTIO_MAX_DEVICES)
        return say(false, why, why_len, "the kvm backend gives a guest at most %u devices%s",
                   LAYOUT_VIRTIO_MAX_DEVICES,
                   req->forward_port ? " (the link for the app's ports is one)" : "");
    if (access(prog, X_OK) < 0)
        return say(false, why, why_len, "the kvm backend's monitor %s %s", prog,
                   errno == ENOENT ? "does not exist" : "is not executable");
    return say(true, why, why_len, "%s", yes);
}

/* What this host's KVM and tinyx-kvm cannot boot is refused here, before any process starts,
 * with the way out. The rule for "this kernel is Linux": a bzImage (the Linux boot protocol),
 * or an ELF file with a Linux note (above); the test guests carry only the PVH entry note. */
static int check_bootable(const struct launcher_vm_spec *spec)
{
    char why[512];
    struct launcher_kernel_info k;
    launcher_kernel_inspect(spec->kernel_path, &k);
    enum launcher_kernel_format format = LAUNCHER_KERNEL_PVH_ELF;
    if (!k.elf && launcher_kernel_probe(spec->kernel_path, &format, NULL, why, sizeof(why)) < 0) {
        tinyx_err("%s", why); /* missing, unreadable, or neither ELF nor bzImage */
        return TINYX_EXIT_IMAGE;
    }
    if (k.elf && k.broken[0]) {
        tinyx_err("kernel %s is a corrupt ELF file (%s); rebuild it or copy it again",
                  spec->kernel_path, k.broken);
        return TINYX_EXIT_IMAGE;
    }
    if (k.is_linux && launcher_host_kvm(why, sizeof(why)) == LAUNCHER_KVM_SOFTWARE) {
        tinyx_err("the kvm backend cannot boot %s: it is a Linux kernel, and %s (it would stall "
                  "in instruction emulation); use --backend qemu",
                  spec->kernel_path, why);
        return TINYX_EXIT_ENV;
    }
    if (!k.elf) {
        tinyx_err("the kvm backend boots PVH ELF kernels (a vmlinux built with CONFIG_PVH=y); "
                  "%s is a bzImage: give the vmlinux with --kernel, or use --backend qemu",
                  spec->kernel_path);
        return TINYX_EXIT_IMAGE;
    }
    if (!k.pvh_entry) {
        tinyx_err("the kvm backend boots PVH ELF kernels, and %s has no PVH entry note (ELF note "
                  "\"Xen\", type %d): build Linux with CONFIG_PVH=y, or use --backend qemu",
                  spec->kernel_path, XEN_PHYS32_ENTRY);
        return TINYX_EXIT_IMAGE;
    }
    if (spec->n_forwards) {
        struct launcher_host host;
        launcher_host_probe(&host);
        if (!can_link(&host, why, sizeof(why))) {
            tinyx_err("the kvm backend cannot reach guest port %d: %s; or give the guest an "
                      "address on a tap of yours (--net TAP,ip=A.B.C.D/P), or use --backend qemu",
                      spec->forwards[0].guest_port, why);
            return TINYX_EXIT_ENV;
        }
    }
    if (spec->memory_mb > MAX_MEMORY_MB) {
        tinyx_err("the kvm backend gives a guest at most %u MiB (asked: %u); use a smaller --mem",
                  MAX_MEMORY_MB, spec->memory_mb);
        return TINYX_EXIT_USAGE;
    }
    size_t n_devices = spec->n_devices + (spec->n_forwards ? 1 : 0);
    if (n_devices > LAYOUT_VIRTIO_MAX_DEVICES) {
        tinyx_err("the kvm backend gives a guest at most %u devices (asked: %zu%s)",
                  LAYOUT_VIRTIO_MAX_DEVICES, n_devices,
                  spec->n_forwards ? ", the tap link for the app's ports included" : "");
        return TINYX_EXIT_USAGE;
    }
    return check_initrd_fits(spec, k.load_end);
}

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

/* The image's words, then what makes a panic end the VM (a triple fault, which tinyx-kvm
 * reports as "halted"), then extra (the host link's words, or NULL), then the user's words,
 * which win. The guest's addresses are not here: tinyx-kvm writes them into the device page. */
static char *build_cmdline(const struct launcher_vm_spec *spec, const char *extra)
{
    const char *append = spec->append ? spec->append : "";
    char *cmdline = tinyx_xstrdup(spec->cmdline ? spec->cmdline : "");
    static const char *const exit_params[][2] = {{"panic", "panic=-1"}, {"reboot", "reboot=t"}};
    for (size_t i = 0; i < sizeof(exit_params) / sizeof(exit_params[0]); i++) {
        if (has_param(cmdline, exit_params[i][0]) || has_param(append, exit_params[i][0]))
            continue;
        char *more = tinyx_xasprintf("%s%s%s", cmdline, cmdline[0] ? " " : "", exit_params[i][1]);
        free(cmdline);
        cmdline = more;
    }
    if (extra) {
        char *more = tinyx_xasprintf("%s%s%s", cmdline, cmdline[0] ? " " : "", extra);
        free(cmdline);
        cmdline = more;
    }
    if (append[0]) {
        char *more = tinyx_xasprintf("%s %s", cmdline, append);
        free(cmdline);
        cmdline = more;
    }
    return cmdline;
}

/* ",ip=A.B.C.D/P[,gw=A.B.C.D]" of a net device, or "". */
static void address_settings(const struct launcher_vm_device *d, char *out, size_t len)
{
    char ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
    out[0] = '\0';
    if (!d->net.have_ip)
        return;
    launcher_guest_net_ntoa(d->net.ip, ip);
    launcher_guest_net_ntoa(d->net.gw, gw);
    snprintf(out, len, ",ip=%s/%u%s%s", ip, d->net.prefix, d->net.have_gw ? ",gw=" : "",
             d->net.have_gw ? gw : "");
}

/* tinyx-kvm's option for a device: --net=TAP[,mac=..][,bridge=BR][,ip=..][,gw=..] or
 * --blk=FILE[,ro]. */
static char *device_option(const struct launcher_vm_device *d)
{
    if (d->kind == LAUNCHER_VM_DEVICE_BLK) {
        /* tinyx-kvm reads a trailing ",ro" or ",rw" as the mode: a file whose own name ends
         * that way gets an explicit ",rw" after it. */
        bool ambiguous = tinyx_str_ends(d->blk.path, ",ro") || tinyx_str_ends(d->blk.path, ",rw");
        return tinyx_xasprintf("--blk=%s%s", d->blk.path,
                               d->blk.read_only ? ",ro"
                               : ambiguous      ? ",rw"
                                                : "");
    }
    char mac[32] = "";
    if (d->net.have_mac)
        snprintf(mac, sizeof(mac), ",mac=%02x:%02x:%02x:%02x:%02x:%02x", d->net.mac[0],
                 d->net.mac[1], d->net.mac[2], d->net.mac[3], d->net.mac[4], d->net.mac[5]);
    char address[80];
    address_settings(d, address, sizeof(address));
    return tinyx_xasprintf("--net=%s%s%s%s%s", d->net.tap, mac, d->net.bridge[0] ? ",bridge=" : "",
                           d->net.bridge, address);
}

/* The host link as a net device (for its tinyx-kvm option). */
static struct launcher_vm_device link_device(const struct launcher_hostlink *link)
{
    struct launcher_vm_device d;
    memset(&d, 0, sizeof(d));
    d.kind = LAUNCHER_VM_DEVICE_NET;
    snprintf(d.net.tap, sizeof(d.net.tap), "%s", link->ifname);
    d.net.have_ip = d.net.have_gw = true;
    memcpy(d.net.ip, link->guest_ip, 4);
    memcpy(d.net.gw, link->host_ip, 4);
    d.net.prefix = link->prefix;
    return d;
}

/* link: the host link (its tap goes to tinyx-kvm as LINK_CHILD_FD), or NULL. */
static void build_argv(const struct launcher_vm_spec *spec, const struct launcher_hostlink *link,
                       struct strvec *av)
{
    /* The guest's resolver asks the host's side of the link (the device page has no field for
     * it): a DNS server there answers, else a lookup fails at once (port unreachable) instead
     * of waiting for the image's nameserver, which the link does not reach (python's
     * http.server looks its own name up before it listens). */
    char *extra = NULL;
    if (link) {
        char host[INET_ADDRSTRLEN];
        launcher_guest_net_ntoa(link->host_ip, host);
        extra = tinyx_xasprintf(BOOT_ABI_CMDLINE_DNS "%s", host);
    }
    tinyx_strvec_push(av, kvm_program());
    tinyx_strvec_push(av, "--kernel");
    tinyx_strvec_push(av, spec->kernel_path);
    if (spec->initrd_path) {
        tinyx_strvec_push(av, "--initrd");
        tinyx_strvec_push(av, spec->initrd_path);
    }
    tinyx_strvec_push(av, "--cmdline");
    tinyx_strvec_push_owned(av, build_cmdline(spec, extra));
    tinyx_strvec_push(av, "--mem");
    tinyx_strvec_pushf(av, "%u", spec->memory_mb);
    tinyx_strvec_push(av, "--console-fd");
    tinyx_strvec_push(av, "1");
    tinyx_strvec_push(av, "--timer-fd");
    tinyx_strvec_pushf(av, "%d", LAUNCHER_SPAWN_TIMER_FD);
    for (size_t i = 0; i < spec->n_devices; i++)
        tinyx_strvec_push_owned(av, device_option(&spec->devices[i]));
    if (link) {
        struct launcher_vm_device d = link_device(link);
        char settings[80];
        address_settings(&d, settings, sizeof(settings));
        tinyx_strvec_pushf(av, "--net=%s,fd=%d%s", link->ifname, LINK_CHILD_FD, settings);
    }
    free(extra);
}

static int kvm_start(const struct launcher_vm_spec *spec, struct launcher_vm *vm)
{
    int rc = check_bootable(spec);
    if (rc != 0)
        return rc;
    /* Guest ports without an address on a --net device: a link of the guest's own. */
    struct launcher_hostlink link = {.fd = -1};
    if (spec->n_forwards) {
        rc = launcher_hostlink_open(&link);
        if (rc != 0)
            return rc;
        tinyx_debug("host link for the app's ports: tap %s, host %u.%u.%u.%u/%u, guest %s",
                    link.ifname, link.host_ip[0], link.host_ip[1], link.host_ip[2], link.host_ip[3],
                    link.prefix, link.guest_addr);
    }
    struct strvec av = STRVEC_INIT;
    build_argv(spec, link.fd >= 0 ? &link : NULL, &av);
    pid_t pid;
    rc = launcher_spawn_vmm(tinyx_strvec_argv(&av), "tinyx-kvm", link.fd >= 0 ? &link.fd : NULL,
                            link.fd >= 0 ? 1 : 0, vm, &pid);
    tinyx_strvec_free(&av);
    /* tinyx-kvm holds the tap now (or failed to start): it goes away when the monitor exits. */
    launcher_hostlink_close(&link);
    if (rc != 0)
        return rc;
    if (link.guest_addr[0])
        snprintf(vm->ports_addr, sizeof(vm->ports_addr), "%s", link.guest_addr);
    struct kvm_vm *k = tinyx_xcalloc(1, sizeof(*k));
    k->pid = pid;
    vm->priv = k;
    return 0;
}

static void reap(struct kvm_vm *k)
{
    if (k->reaped)
        return;
    while (waitpid(k->pid, &k->wait_status, 0) < 0) {
        if (errno != EINTR) {
            k->wait_status = 0;
            break;
        }
    }
    k->reaped = true;
}

/* The last "tinyx-kvm: vm ended: ..." line of the log (vmm.h), or NULL. */
static const char *end_line(const char *log)
{
    const char *found = NULL;
    size_t key_len = strlen(LAUNCHER_VMM_END_LINE);
    for (const char *p = log; (p = strstr(p, LAUNCHER_VMM_END_LINE)); p += key_len)
        if (p == log || p[-1] == '\n')
            found = p + key_len;
    return found;
}

int launcher_backend_kvm_end(const char *vmm_log, int wait_status, struct launcher_vm_end *end)
{
    if (WIFSIGNALED(wait_status)) {
        end->kind = LAUNCHER_VM_END_KILLED;
        end->code = WTERMSIG(wait_status);
        return 0;
    }
    int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : TINYX_EXIT_FAIL;
    const char *line = end_line(vmm_log ? vmm_log : "");
    /* tinyx-kvm's exit code alone cannot tell a guest status 5 from "halted" (5): its last
     * line can. Without that line the monitor itself broke. */
    if (line && tinyx_str_starts(line, "status ")) {
        end->kind = LAUNCHER_VM_END_STATUS;
        end->code = atoi(line + strlen("status "));
    } else if (line && tinyx_str_starts(line, "halted")) {
        end->kind = LAUNCHER_VM_END_RESET;
        end->code = 0;
    } else if (line && tinyx_str_starts(line, "interrupted")) {
        end->kind = LAUNCHER_VM_END_KILLED;
        end->code = SIGTERM;
    } else {
        end->kind = LAUNCHER_VM_END_VMM_FAILED;
        end->code = code;
    }
    return 0;
}

static int kvm_wait(struct launcher_vm *vm, const char *vmm_log, struct launcher_vm_end *end)
{
    struct kvm_vm *k = vm->priv;
    reap(k);
    return launcher_backend_kvm_end(vmm_log, k->wait_status, end);
}

static void kvm_stop(struct launcher_vm *vm)
{
    struct kvm_vm *k = vm->priv;
    if (!k || k->reaped)
        return;
    kill(k->pid, SIGTERM);
    if (vm->exit_fd >= 0) {
        struct pollfd p = {.fd = vm->exit_fd, .events = POLLIN};
        uint64_t deadline = tinyx_now_us() + STOP_GRACE_MS * 1000ull;
        for (uint64_t now = tinyx_now_us(); now < deadline; now = tinyx_now_us())
            if (poll(&p, 1, (int)((deadline - now + 999) / 1000)) > 0)
                break;
    } else {
        usleep(STOP_GRACE_MS * 1000);
    }
    if (waitpid(k->pid, &k->wait_status, WNOHANG) == k->pid) {
        k->reaped = true;
        return;
    }
    kill(k->pid, SIGKILL);
    reap(k);
}

static void kvm_release(struct launcher_vm *vm)
{
    kvm_stop(vm);
    launcher_spawn_close(vm);
    free(vm->priv);
    vm->priv = NULL;
}

const struct launcher_backend launcher_backend_kvm = {
    .name = "kvm",
    .summary = "tinyx-kvm, our own KVM monitor (PVH ELF kernels; guest ports on a tap)",
    .pick_when = "when /dev/kvm runs the PVH ELF kernel (Linux: not on kvm_pvm)\n"
                 "and, for an app with ports and no --net ip=, we may make taps (root)",
    .can_boot = kvm_can_boot,
    .accels = NULL,
    .ports_proxied = false,
    .forwards_ports = false,
    .prepare = kvm_prepare,
    .start = kvm_start,
    .wait = kvm_wait,
    .stop = kvm_stop,
    .release = kvm_release,
};
