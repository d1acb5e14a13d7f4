/* fragment.c: the settings lists behind fragment.h, one table per concern. */
#include "kconfig-minimizer/fragment.h"

#include <string.h>

#include "tinyx/util.h"

/* What tinyx-init and ordinary Linux programs use: initramfs (every compression tinyx writes),
 * ELF and #! programs, proc/sys/devtmpfs/tmpfs/devpts, users and groups, the event and timer
 * syscalls servers and runtimes call, I/O-port access for the boot-timer and exit ports, and a
 * tickless idle: a periodic tick wakes every idle guest HZ times a second, which is what many
 * idle guests cost the host (20 idle nginx guests saturated a nested L1 with ticks). */
static const char *const base_settings[] = {
    "64BIT=y",         "PRINTK=y",          "TTY=y",          "BLK_DEV_INITRD=y",
    "RD_ZSTD=y",       "RD_XZ=y",           "RD_GZIP=y",      "BINFMT_ELF=y",
    "BINFMT_SCRIPT=y", "PROC_FS=y",         "SYSFS=y",        "DEVTMPFS=y",
    "SHMEM=y",         "TMPFS=y",           "UNIX98_PTYS=y",  "MULTIUSER=y",
    "FUTEX=y",         "EPOLL=y",           "SIGNALFD=y",     "TIMERFD=y",
    "EVENTFD=y",       "POSIX_TIMERS=y",    "FILE_LOCKING=y", "INOTIFY_USER=y",
    "AIO=y",           "ADVISE_SYSCALLS=y", "MEMBARRIER=y",   "SYSCTL=y",
    "PROC_SYSCTL=y",   "X86_IOPL_IOPERM=y", "NO_HZ_IDLE=y",
};

/* QEMU microvm and tinyx-kvm (one kernel boots on both): PVH entry (boots the ELF vmlinux
 * directly), kvm-clock and the KVM paravirt features (without them Linux calibrates its clock
 * against a PIT the monitor does not have), an 8250 console, virtio-mmio devices declared on the
 * command line (no ACPI, no PCI), and /dev/mem, through which the init reads the device page. */
static const char *const qemu_settings[] = {
    "HYPERVISOR_GUEST=y",
    "PARAVIRT=y",
    "PVH=y",
    "KVM_GUEST=y",
    "DEVMEM=y",
    "SERIAL_8250=y",
    "SERIAL_8250_CONSOLE=y",
    "VIRTIO_MENU=y",
    "VIRTIO=y",
    "VIRTIO_MMIO=y",
    "VIRTIO_MMIO_CMDLINE_DEVICES=y",
};

/* Xen guests: the hypervisor console (hvc0); PV or PVH entry. */
static const char *const xen_settings[] = {"HYPERVISOR_GUEST=y", "PARAVIRT=y", "XEN=y",
                                           "HVC_XEN=y"};
static const char *const xen_pv_extra[] = {"XEN_PV=y"};
static const char *const xen_pvh_extra[] = {"XEN_PVH=y", "PVH=y"};

/* TCP/IP for apps with ports. IPV6: servers such as nginx listen on [::] by default. */
static const char *const net_settings[] = {"NET=y",  "INET=y",       "IPV6=y",
                                           "UNIX=y", "NETDEVICES=y", "NET_CORE=y"};
static const char *const virtio_net[] = {"VIRTIO_NET=y"};
static const char *const xen_net[] = {"XEN_NETDEV_FRONTEND=y"};

/* Never minimized away: the boot entry, the console, the initramfs, ELF, and port I/O. */
static const char *const protected_common[] = {
    "64BIT", "BLK_DEV_INITRD",  "BINFMT_ELF", "PRINTK",
    "TTY",   "X86_IOPL_IOPERM", "PROC_FS",    "DEVTMPFS"};
static const char *const protected_qemu[] = {
    "HYPERVISOR_GUEST", "PVH", "KVM_GUEST", "DEVMEM", "SERIAL_8250", "SERIAL_8250_CONSOLE"};
static const char *const protected_xen[] = {"HYPERVISOR_GUEST", "XEN", "HVC_XEN"};

#define ADD(list) add_all(out, list, sizeof(list) / sizeof(list[0]))

static void add_all(struct strvec *out, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tinyx_strvec_push(out, list[i]);
}

static bool is_xen(const char *platform)
{
    return !strcmp(platform, "xen-pv") || !strcmp(platform, "xen-pvh");
}

bool kconfig_platform_known(const char *platform)
{
    return !strcmp(platform, "qemu") || !strcmp(platform, "kvm") || is_xen(platform);
}

int kconfig_fragment_settings(const char *platform, const struct kconfig_app_needs *needs,
                              struct strvec *out)
{
    if (!kconfig_platform_known(platform))
        return tinyx_err("unknown kernel platform '%s' (qemu, kvm, xen-pv, xen-pvh)", platform);
    ADD(base_settings);
    if (is_xen(platform)) {
        ADD(xen_settings);
        if (!strcmp(platform, "xen-pv"))
            ADD(xen_pv_extra);
        else
            ADD(xen_pvh_extra);
    } else {
        ADD(qemu_settings); /* "qemu" and "kvm" name the same platform */
    }
    if (needs && needs->network) {
        ADD(net_settings);
        if (is_xen(platform))
            ADD(xen_net);
        else
            ADD(virtio_net);
    }
    return 0;
}

const char *kconfig_platform_console(const char *platform)
{
    return is_xen(platform) ? "console=hvc0" : "console=ttyS0";
}

const char *kconfig_platform_virtio_mmio(const char *platform)
{
    return is_xen(platform) ? NULL : "cmdline";
}

int kconfig_fragment_protected(const char *platform, struct strvec *out)
{
    if (!kconfig_platform_known(platform))
        return tinyx_err("unknown kernel platform '%s' (qemu, kvm, xen-pv, xen-pvh)", platform);
    ADD(protected_common);
    if (is_xen(platform))
        ADD(protected_xen);
    else
        ADD(protected_qemu);
    return 0;
}
