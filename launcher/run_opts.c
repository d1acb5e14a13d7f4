/* run_opts.c: parse the options of `tinyx-launch run` and print its help. */
#include "launcher/run_opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/boot_abi.h"
#include "launcher/backend.h"
#include "launcher/commands.h"
#include "launcher/vmm_devpage.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* "  NAME   TEXT", continuation lines of TEXT (after '\n') under its first. */
static void usage_backend_line(FILE *out, const char *name, const char *text)
{
    fprintf(out, "                     %-6s ", name);
    for (const char *p = text; *p; p++) {
        fputc(*p, out);
        if (*p == '\n')
            fprintf(out, "                            ");
    }
    fputc('\n', out);
}

void launcher_run_usage(FILE *out)
{
    fprintf(out, "Usage: tinyx-launch run IMAGE_DIR [OPTIONS]\n"
                 "Boot a Tinyx image, run its app check from the host, and report boot and ready\n"
                 "times. Exits with the guest's exit status.\n"
                 "\n"
                 "Options:\n"
                 "  --backend NAME   VM backend (default: chosen as below):\n");
    for (size_t i = 0; i < launcher_backend_count(); i++)
        usage_backend_line(out, launcher_backend_at(i)->name, launcher_backend_at(i)->summary);
    fprintf(out,
            "                   Without --backend: the first, in this order, that can boot the\n"
            "                   image with the options given (--accel: one with accelerators);\n"
            "                   a line on stderr says which and why (JSON: backend_reason):\n");
    for (size_t i = 0; launcher_backend_preferred(i); i++)
        usage_backend_line(out, launcher_backend_preferred(i)->name,
                           launcher_backend_preferred(i)->pick_when);
    fprintf(out,
            "  --accel ACCEL    accelerator (qemu: tcg|kvm; default: kvm when it can run Linux\n"
            "                   here, else tcg)\n"
            "  --mem MIB        guest memory (default: the manifest's app.memory_mb, else %u)\n"
            "  --timeout S      bound on each boot, in seconds (default %.0f)\n"
            "  --until-ready    stop the VM once the check passes and exit 0\n"
            "  --kernel FILE    boot this kernel (bzImage, or ELF vmlinux with the PVH note)\n"
            "                   instead of IMAGE_DIR/kernel; image_bytes then counts it\n"
            "  --virtio-mmio M  how the kernel finds its virtio-mmio devices: acpi (ACPI tables)\n"
            "                   or cmdline (no ACPI; QEMU lists them on the command line).\n"
            "                   Default: the manifest's kernel.virtio_mmio, else acpi\n"
            "  --append WORDS   extra kernel command-line words, after all others (repeatable)\n"
            "  --net TAP[,mac=XX:XX:XX:XX:XX:XX][,bridge=BR][,ip=A.B.C.D/P][,gw=A.B.C.D]\n"
            "                   a virtio-net device on host tap TAP: created when missing (then\n"
            "                   gone when the VM ends), brought up, attached to the existing\n"
            "                   bridge BR; no scripts. Needs CAP_NET_ADMIN. It replaces the\n"
            "                   user-mode network: no port is forwarded. ip= (prefix 1-30) and\n"
            "                   gw=: the guest's address and default route (kvm, daemon: the\n"
            "                   device page; qemu: tinyx.ip=/tinyx.gw= on the command line).\n"
            "                   An app with ports needs ip= on a --net: the check connects to\n"
            "                   that address (the host needs a route to it, e.g. an address of\n"
            "                   the subnet on BR). Default MAC: 02:74:78 + 3 bytes hashed from\n"
            "                   the tap name\n"
            "  --blk FILE[,ro]  a virtio-blk device on the raw disk image FILE (,ro: read-only)\n"
            "                   --net and --blk are repeatable, %u devices at most in all\n"
            "  --runs N         boot N times, each in a fresh VM (1-%u, default 1); report the\n"
            "                   median, min and max of boot_us and ready_us. With N > 1 an app\n"
            "                   with a tcp/http check (or with ports and no check) is stopped\n"
            "                   once ready, as with --until-ready; others run until they exit\n"
            "  --json           print one JSON object on stdout; keep the console in memory\n"
            "  --quiet          do not stream the guest console; show its end on failure\n"
            "  -v, --verbose    say more (the VMM command line, its own messages)\n"
            "  -h, --help       show this help\n"
            "\n"
            "Reported: boot_us (VM start -> boot-timer byte on port 0x%x), ready_us (-> first\n"
            "passing check; = boot_us without a check), exit_status, image_bytes, vmm_rss_kb and\n"
            "vmm_pss_kb (the VMM process, sampled when ready), backend, accel, kernel_panic.\n"
            "With --runs, boot_us, ready_us and the VMM memory are medians over the runs, and\n"
            "boot_us_all/ready_us_all list every run. Human summary on stderr; with --json one\n"
            "object on stdout (errors before the VM starts print only a message). Guest ports\n"
            "(app.ports and the check's): qemu forwards them from free ports of 127.0.0.1;\n"
            "kvm links the guest to the host on a tap of its own (txkN, gone with the VM; a /30\n"
            "of 100.64.0.0/16, host .1, guest .2; needs root); with --net ...,ip= they are at\n"
            "that address. The report says where (JSON: \"ports\":[{\"guest\":80,\"addr\":\n"
            "\"100.64.0.6\",\"port\":80}]; forwarded ones also give \"host\", the port).\n"
            "\n"
            "Exit status: the guest's when it exits on its own; 0 with --until-ready once ready;\n"
            "1 the VMM failed; 2 bad command line, image path or --kernel file; 5 the guest\n"
            "panicked, reset without a status or exited before ready; 6 the host lacks\n"
            "QEMU/KVM; 7 timeout; 8 broken image directory or manifest; 130 interrupted.\n"
            "With --runs N > 1: 0 when every run passed, else the first failed run's status.\n"
            "Environment: TINYX_QEMU  the QEMU binary (default qemu-system-x86_64 from PATH).\n",
            LAUNCHER_RUN_DEFAULT_MEMORY_MB, LAUNCHER_RUN_DEFAULT_TIMEOUT_S,
            LAUNCHER_RUN_MAX_DEVICES, LAUNCHER_RUN_MAX_RUNS, BOOT_ABI_TIMER_PORT);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tinyx_err("run: %s (see `tinyx-launch run --help`)", msg);
    return TINYX_EXIT_USAGE;
}

/* A network interface name the kernel takes: 1-15 bytes, no '/', ':', ',' '=' or spaces; with
 * allow_pattern, one "%d" that the kernel turns into the first free number. */
static bool valid_ifname(const char *name, bool allow_pattern)
{
    size_t len = strlen(name);
    if (len == 0 || len >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    const char *pct = strchr(name, '%');
    if (pct && (!allow_pattern || pct[1] != 'd' || strchr(pct + 1, '%')))
        return false;
    for (const char *p = name; *p; p++)
        if (strchr("/:,=", *p) || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
            return false;
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "XX:XX:XX:XX:XX:XX", six hex pairs. */
static bool parse_mac(const char *text, uint8_t mac[6])
{
    if (strlen(text) != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        int hi = hex_value(text[3 * i]), lo = hex_value(text[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

#define NET_SYNTAX "--net TAP[,mac=XX:XX:XX:XX:XX:XX][,bridge=BR][,ip=A.B.C.D/P][,gw=A.B.C.D]"

/* --net TAP[,mac=..][,bridge=BR][,ip=..][,gw=..] into dev. -1 to go on, else the exit code
 * after a message. */
static int parse_net(const char *value, struct launcher_vm_device *dev)
{
    memset(dev, 0, sizeof(*dev));
    dev->kind = LAUNCHER_VM_DEVICE_NET;
    char *copy = tinyx_xstrdup(value), *save = NULL;
    int rc = -1;
    const char *tap = value[0] == ',' ? NULL : strtok_r(copy, ",", &save);
    if (!tap || !valid_ifname(tap, true)) {
        rc = usage_error("--net '%s': the tap name comes first, 1-%d characters without '/', ':', "
                         "',', '=' or spaces (a pattern may hold one %%d); use " NET_SYNTAX,
                         value, IFNAMSIZ - 1);
        goto out;
    }
    snprintf(dev->net.tap, sizeof(dev->net.tap), "%s", tap);
    for (const char *tok; rc < 0 && (tok = strtok_r(NULL, ",", &save));) {
        if (tinyx_str_starts(tok, "mac=")) {
            const char *mac = tok + strlen("mac=");
            static const uint8_t zero[6];
            if (dev->net.have_mac)
                rc = usage_error("--net %s: mac= is given twice", value);
            else if (!parse_mac(mac, dev->net.mac))
                rc = usage_error("--net: mac=%s is not a MAC address like 02:00:00:00:00:01", mac);
            else if (dev->net.mac[0] & 1)
                rc = usage_error("--net: mac=%s is a multicast address (the lowest bit of its "
                                 "first byte is set); use a unicast one such as "
                                 "02:00:00:00:00:01",
                                 mac);
            else if (!memcmp(dev->net.mac, zero, sizeof(zero)))
                rc = usage_error("--net: mac=%s is not a usable address; use one such as "
                                 "02:00:00:00:00:01",
                                 mac);
            dev->net.have_mac = true;
        } else if (tinyx_str_starts(tok, "bridge=")) {
            const char *bridge = tok + strlen("bridge=");
            if (dev->net.bridge[0])
                rc = usage_error("--net %s: bridge= is given twice", value);
            else if (!valid_ifname(bridge, false))
                rc = usage_error("--net: bridge=%s is not an interface name (1-%d characters "
                                 "without '/', ':', ',', '=', '%%' or spaces)",
                                 bridge, IFNAMSIZ - 1);
            else
                snprintf(dev->net.bridge, sizeof(dev->net.bridge), "%s", bridge);
        } else if (tinyx_str_starts(tok, "ip=")) {
            char why[256];
            if (dev->net.have_ip)
                rc = usage_error("--net %s: ip= is given twice", value);
            else if (!launcher_devpage_net_ip(tok + 3, dev->net.ip, &dev->net.prefix, why,
                                              sizeof(why)))
                rc = usage_error("--net: %s", why);
            dev->net.have_ip = true;
        } else if (tinyx_str_starts(tok, "gw=")) {
            char why[256];
            if (dev->net.have_gw)
                rc = usage_error("--net %s: gw= is given twice", value);
            else if (!launcher_devpage_net_gw(tok + 3, NULL, dev->net.gw, why, sizeof(why)))
                rc = usage_error("--net: %s", why);
            dev->net.have_gw = true;
        } else {
            rc = usage_error("--net: unknown setting '%s'; use " NET_SYNTAX, tok);
        }
    }
    if (rc < 0 && dev->net.have_gw && !dev->net.have_ip)
        rc = usage_error("--net %s: gw= needs ip= as well (the guest routes through the gateway "
                         "from an address of its own)",
                         value);
    if (rc < 0 && dev->net.have_gw && !memcmp(dev->net.gw, dev->net.ip, 4))
        rc = usage_error("--net %s: gw= is the guest's own address (ip=); give the address of a "
                         "router, such as the host's side of the tap",
                         value);
out:
    free(copy);
    return rc;
}

/* --blk FILE[,ro] into dev. Only a trailing ",ro" (or ",rw") is a setting, so a file name may
 * hold commas, as with tinyx-kvm --blk. -1 to go on, else the exit code after a message. */
static int parse_blk(const char *value, struct launcher_vm_device *dev)
{
    memset(dev, 0, sizeof(*dev));
    dev->kind = LAUNCHER_VM_DEVICE_BLK;
    size_t len = strlen(value);
    if (len >= 3 && !strcmp(value + len - 3, ",ro")) {
        dev->blk.read_only = true;
        len -= 3;
    } else if (len >= 3 && !strcmp(value + len - 3, ",rw")) {
        len -= 3;
    }
    if (len == 0)
        return usage_error("--blk '%s': expected a disk image file, as in --blk FILE[,ro]", value);
    dev->blk.path = tinyx_xstrndup(value, len);
    return -1;
}

/* Add --net or --blk VALUE to o->devices. -1 to go on, else the exit code after a message. */
static int add_device(struct launcher_run_opts *o, enum launcher_vm_device_kind kind,
                      const char *value)
{
    const char *opt = kind == LAUNCHER_VM_DEVICE_NET ? "--net" : "--blk";
    if (o->n_devices == LAUNCHER_RUN_MAX_DEVICES)
        return usage_error("%s %s: at most %u devices (--net and --blk together)", opt, value,
                           LAUNCHER_RUN_MAX_DEVICES);
    struct launcher_vm_device *dev = &o->devices[o->n_devices];
    int rc = kind == LAUNCHER_VM_DEVICE_NET ? parse_net(value, dev) : parse_blk(value, dev);
    if (rc >= 0) {
        if (kind == LAUNCHER_VM_DEVICE_BLK)
            free(dev->blk.path);
        memset(dev, 0, sizeof(*dev));
        return rc;
    }
    o->n_devices++;
    /* Two devices on one tap would fight over it (run.c checks disks, once their paths are
     * resolved). */
    for (size_t i = 0; kind == LAUNCHER_VM_DEVICE_NET && i + 1 < o->n_devices; i++) {
        const struct launcher_vm_device *old = &o->devices[i];
        if (old->kind == kind && !strchr(dev->net.tap, '%') && !strcmp(old->net.tap, dev->net.tap))
            return usage_error("--net: tap %s is given twice; one tap carries one device",
                               dev->net.tap);
        if (old->kind == kind && old->net.have_ip && dev->net.have_ip &&
            !memcmp(old->net.ip, dev->net.ip, 4))
            return usage_error("--net: ip=%u.%u.%u.%u is given to two devices; give each its own",
                               dev->net.ip[0], dev->net.ip[1], dev->net.ip[2], dev->net.ip[3]);
    }
    return -1;
}

static void add_append(struct launcher_run_opts *o, const char *words)
{
    words += strspn(words, " \t");
    if (!*words)
        return;
    char *joined = o->append ? tinyx_xasprintf("%s %s", o->append, words) : tinyx_xstrdup(words);
    free(o->append);
    o->append = joined;
}

void launcher_run_opts_free(struct launcher_run_opts *o)
{
    free(o->append);
    o->append = NULL;
    for (size_t i = 0; i < o->n_devices; i++)
        if (o->devices[i].kind == LAUNCHER_VM_DEVICE_BLK)
            free(o->devices[i].blk.path);
    o->n_devices = 0;
}

int launcher_run_parse_opts(int argc, char **argv, struct launcher_run_opts *o)
{
    enum { OPT_KERNEL = 256, OPT_VIRTIO_MMIO, OPT_APPEND, OPT_RUNS, OPT_NET, OPT_BLK };
    static const struct option longopts[] = {
        {"backend", required_argument, NULL, 'b'},
        {"accel", required_argument, NULL, 'a'},
        {"mem", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"until-ready", no_argument, NULL, 'r'},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"virtio-mmio", required_argument, NULL, OPT_VIRTIO_MMIO},
        {"append", required_argument, NULL, OPT_APPEND},
        {"runs", required_argument, NULL, OPT_RUNS},
        {"net", required_argument, NULL, OPT_NET},
        {"blk", required_argument, NULL, OPT_BLK},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    o->timeout_s = LAUNCHER_RUN_DEFAULT_TIMEOUT_S;
    o->runs = 1;
    optind = 0; /* full reset: callers (tests) may parse more than once */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":vhq", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'b':
            o->backend = optarg;
            break;
        case 'a':
            o->accel = optarg;
            break;
        case 'm': {
            errno = 0;
            unsigned long mb = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || mb < 1 || mb > 1024 * 1024)
                return usage_error("--mem: expected MiB from 1 to 1048576, got '%s'", optarg);
            o->memory_mb = (unsigned)mb;
            break;
        }
        case 't':
            o->timeout_s = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(o->timeout_s) || o->timeout_s <= 0 ||
                o->timeout_s > 7 * 24 * 3600)
                return usage_error("--timeout: expected seconds > 0, got '%s'", optarg);
            break;
        case 'r':
            o->until_ready = true;
            break;
        case OPT_KERNEL:
            if (!optarg[0])
                return usage_error("--kernel: expected a kernel file%s", "");
            o->kernel = optarg;
            break;
        case OPT_VIRTIO_MMIO:
            if (launcher_virtio_mmio_from_name(optarg, &o->virtio_mmio) < 0)
                return usage_error("--virtio-mmio: expected acpi (the kernel reads ACPI tables) "
                                   "or cmdline (the kernel has no ACPI), got '%s'",
                                   optarg);
            o->virtio_mmio_set = true;
            break;
        case OPT_APPEND:
            if (strpbrk(optarg, "\r\n"))
                return usage_error("--append: kernel parameters must be on one line%s", "");
            add_append(o, optarg);
            break;
        case OPT_RUNS: {
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || n < 1 ||
                n > LAUNCHER_RUN_MAX_RUNS) {
                char what[128];
                snprintf(what, sizeof(what), "--runs: expected a number of boots from 1 to %u",
                         LAUNCHER_RUN_MAX_RUNS);
                tinyx_err("run: %s, got '%s' (see `tinyx-launch run --help`)", what, optarg);
                return TINYX_EXIT_USAGE;
            }
            o->runs = (unsigned)n;
            break;
        }
        case OPT_NET:
        case OPT_BLK: {
            int rc = add_device(o, c == OPT_NET ? LAUNCHER_VM_DEVICE_NET : LAUNCHER_VM_DEVICE_BLK,
                                optarg);
            if (rc >= 0)
                return rc;
            break;
        }
        case 'j':
            o->json = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'v':
            tinyx_verbosity = 2;
            break;
        case 'h':
            launcher_run_usage(stdout);
            return TINYX_EXIT_OK;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("%s", "missing IMAGE_DIR");
    if (optind + 1 < argc)
        return usage_error("unexpected argument '%s' (one IMAGE_DIR only)", argv[optind + 1]);
    o->image_dir = argv[optind];
    return -1;
}
