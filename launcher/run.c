/* run.c: the `run` subcommand: boot an image once or --runs N times, report the measurements. */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/backend.h"
#include "launcher/boot.h"
#include "launcher/check.h"
#include "launcher/commands.h"
#include "launcher/guest_net.h"
#include "launcher/hostinfo.h"
#include "launcher/image.h"
#include "launcher/kernel.h"
#include "launcher/report.h"
#include "launcher/run_opts.h"
#include "launcher/stats.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

/* A server (an app that runs until stopped): its check talks to a port, or it has ports and no
 * check at all. Repeated boots stop it once ready instead of waiting for an exit. */
static bool is_server(const struct launcher_image *img)
{
    return img->check.kind == LAUNCHER_CHECK_TCP || img->check.kind == LAUNCHER_CHECK_HTTP ||
           (img->check.kind == LAUNCHER_CHECK_NONE && img->n_ports > 0);
}

/* Everything the runs share, and what they measured. */
struct session {
    struct launcher_run_opts opts;
    struct launcher_image img;
    const struct launcher_backend *backend;
    char backend_why[512]; /* why this backend (for the report) */
    const char *accel;
    const char *kernel_path;
    uint64_t kernel_bytes;
    enum launcher_virtio_discovery virtio_mmio;
    unsigned memory_mb;

    unsigned done; /* runs that ended (an interrupt can cut the series short) */
    int64_t *boot_us, *ready_us;
    int64_t *rss_kb, *pss_kb;
    unsigned *failed;
    size_t n_failed;
    struct launcher_boot_result first_failure; /* forwards freed; message kept */
    unsigned first_failure_run;                /* 0: none */
    struct launcher_boot_result last;          /* the last run's result (forwards kept) */
};

/* The kernel to boot: --kernel FILE (checked here, so a wrong file is a usage error, not a
 * puzzling QEMU message) or the image's own. */
static int choose_kernel(struct session *s)
{
    s->virtio_mmio = s->opts.virtio_mmio_set ? s->opts.virtio_mmio : s->img.virtio_mmio;
    if (!s->opts.kernel) {
        s->kernel_path = s->img.kernel_path;
        s->kernel_bytes = s->img.kernel_bytes;
        return 0;
    }
    enum launcher_kernel_format format;
    char why[512];
    if (launcher_kernel_probe(s->opts.kernel, &format, &s->kernel_bytes, why, sizeof(why)) < 0) {
        tinyx_err("--kernel: %s", why);
        return TINYX_EXIT_USAGE;
    }
    s->kernel_path = s->opts.kernel;
    tinyx_info("kernel %s: %s; virtio-mmio devices via %s%s", s->kernel_path,
               launcher_kernel_format_name(format), launcher_virtio_mmio_name(s->virtio_mmio),
               s->opts.virtio_mmio_set ? "" : " (the manifest's; change with --virtio-mmio)");
    return 0;
}

/* A disk image for --blk: a regular file or block device of at least one sector, readable, and
 * writable unless read-only. Its path becomes absolute, so neither VMM reads a relative name
 * as something else (QEMU takes "proto:name" as a protocol). */
static int check_disk(struct launcher_vm_device *dev)
{
    const char *path = dev->blk.path;
    char *abs = realpath(path, NULL);
    struct stat st;
    int rc = 0;
    if (!abs || stat(abs, &st) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = tinyx_err("--blk: disk image %s does not exist", path);
        else
            rc = tinyx_errno("--blk: cannot use disk image %s", path);
    } else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        rc = tinyx_err("--blk: %s is neither a regular file nor a block device", path);
    } else if (S_ISREG(st.st_mode) && st.st_size < 512) {
        rc = tinyx_err("--blk: %s is smaller than one 512-byte sector (%lld bytes)", path,
                       (long long)st.st_size);
    } else if (access(abs, R_OK) < 0) {
        rc = tinyx_errno("--blk: cannot read %s", path);
    } else if (!dev->blk.read_only && access(abs, W_OK) < 0) {
        rc = tinyx_errno("--blk: cannot write %s (add ,ro to attach it read-only)", path);
    }
    if (rc != 0) {
        free(abs);
        return TINYX_EXIT_USAGE;
    }
    free(dev->blk.path);
    dev->blk.path = abs;
    return 0;
}

/* What --net and --blk ask for, checked before any VM starts: disks that exist, bridges that
 * exist, and for an app with ports, an address (ip=) on a --net device to reach them at. */
static int check_devices(struct session *s)
{
    const struct launcher_image *img = &s->img;
    int ports[1];
    bool has_ports = launcher_guest_net_ports(img, ports, 1) > 0;
    bool addressed = launcher_guest_net_addressed(s->opts.devices, s->opts.n_devices, NULL);
    for (size_t i = 0; i < s->opts.n_devices; i++) {
        struct launcher_vm_device *dev = &s->opts.devices[i];
        if (dev->kind == LAUNCHER_VM_DEVICE_BLK) {
            int rc = check_disk(dev);
            if (rc != 0)
                return rc;
            /* Two devices on one file would corrupt it (or fail on its lock). */
            for (size_t k = 0; k < i; k++) {
                const struct launcher_vm_device *old = &s->opts.devices[k];
                if (old->kind == LAUNCHER_VM_DEVICE_BLK && !strcmp(old->blk.path, dev->blk.path)) {
                    tinyx_err("--blk: %s is given twice; attach a disk image once", dev->blk.path);
                    return TINYX_EXIT_USAGE;
                }
            }
            continue;
        }
        if (dev->net.bridge[0] && if_nametoindex(dev->net.bridge) == 0) {
            tinyx_err("--net: bridge %s does not exist: create it first (ip link add %s type "
                      "bridge && ip link set %s up), or leave out bridge=",
                      dev->net.bridge, dev->net.bridge, dev->net.bridge);
            return TINYX_EXIT_USAGE;
        }
        if (has_ports && !addressed) {
            /* A tap replaces the user-mode network and its forwards on 127.0.0.1: the launcher
             * then connects to the guest's own address, which it must know. */
            tinyx_err("--net: %s's app uses guest port %d, which the launcher reaches at the "
                      "guest's address on the tap; --net %s gives the guest none: add "
                      "ip=A.B.C.D/P (the host needs a route to it, e.g. an address of that "
                      "subnet on the tap or its bridge), or leave out --net",
                      img->name, ports[0], dev->net.tap);
            return TINYX_EXIT_USAGE;
        }
    }
    return 0;
}

/* One line naming the devices, for the start-up message. */
static void describe_devices(const struct session *s, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < s->opts.n_devices; i++) {
        const struct launcher_vm_device *d = &s->opts.devices[i];
        char what[600], ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], address[80] = "";
        if (d->kind == LAUNCHER_VM_DEVICE_NET && d->net.have_ip) {
            launcher_guest_net_ntoa(d->net.ip, ip);
            launcher_guest_net_ntoa(d->net.gw, gw);
            snprintf(address, sizeof(address), ", guest %s/%u%s%s", ip, d->net.prefix,
                     d->net.have_gw ? " via " : "", d->net.have_gw ? gw : "");
        }
        if (d->kind == LAUNCHER_VM_DEVICE_BLK)
            snprintf(what, sizeof(what), "blk %s%s", d->blk.path,
                     d->blk.read_only ? " (read-only)" : "");
        else if (d->net.bridge[0])
            snprintf(what, sizeof(what), "net on tap %s (bridge %s%s)", d->net.tap, d->net.bridge,
                     address);
        else if (address[0])
            snprintf(what, sizeof(what), "net on tap %s (%s)", d->net.tap, address + 2);
        else
            snprintf(what, sizeof(what), "net on tap %s", d->net.tap);
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i ? ", " : "", what);
    }
}

static int64_t median_of_longs(const int64_t *values, unsigned n)
{
    struct launcher_stats st;
    launcher_stats_compute(values, n, &st);
    return st.median;
}

/* Boot opts.runs times (fewer if interrupted or the host cannot start a VM). Returns the exit
 * code of the series. */
static int run_series(struct session *s)
{
    unsigned n = s->opts.runs;
    bool several = n > 1;
    struct launcher_boot_config cfg = {
        .img = &s->img,
        .backend = s->backend,
        .accel = s->accel,
        .kernel_path = s->kernel_path,
        .virtio_mmio = s->virtio_mmio,
        .append = s->opts.append,
        .devices = s->opts.devices,
        .n_devices = s->opts.n_devices,
        .memory_mb = s->memory_mb,
        .timeout_s = s->opts.timeout_s,
        .until_ready = s->opts.until_ready || (several && is_server(&s->img)),
        .must_be_ready = several,
        .stream = !s->opts.quiet && !s->opts.json,
        /* A kernel of one's own that finds no devices boots fine and then fails its check. */
        .hint = s->opts.kernel && !s->opts.virtio_mmio_set &&
                        s->virtio_mmio == LAUNCHER_VIRTIO_MMIO_ACPI
                    ? "the kernel looked for its virtio-mmio devices in ACPI tables, as the "
                      "manifest says; a kernel without ACPI needs --virtio-mmio cmdline"
                    : NULL,
    };
    int code = TINYX_EXIT_OK;
    for (unsigned i = 0; i < n; i++) {
        char label[32] = "";
        if (several)
            snprintf(label, sizeof(label), "run %u/%u: ", i + 1, n);
        cfg.label = label;
        cfg.announce = i == 0;
        launcher_boot_result_free(&s->last);
        int rc = launcher_boot_once(&cfg, &s->last);
        if (!s->last.started)
            return rc; /* the host cannot start the VM: the next run would not either */
        s->done++;
        s->boot_us[i] = s->last.boot_us;
        s->ready_us[i] = s->last.ready_us;
        s->rss_kb[i] = s->last.mem.rss_kb;
        s->pss_kb[i] = s->last.mem.pss_kb;
        bool failed = rc != TINYX_EXIT_OK;
        if (several && (s->opts.json ? tinyx_verbosity >= 1 : true))
            launcher_report_write_run_line(i + 1, n, s->last.outcome, s->last.boot_us,
                                           s->last.ready_us, s->last.exit_status, failed);
        if (failed && rc != TINYX_EXIT_INTERRUPTED) {
            s->failed[s->n_failed++] = i + 1;
            if (!s->first_failure_run) {
                s->first_failure = s->last;
                s->first_failure.forwards = NULL;
                s->first_failure.n_forwards = 0;
                s->first_failure_run = i + 1;
                code = rc;
            }
        }
        if (rc == TINYX_EXIT_INTERRUPTED)
            return rc;
    }
    return code;
}

static void report(struct session *s, int code)
{
    unsigned n = s->opts.runs;
    bool several = n > 1;
    /* The run that speaks for the series: the first that failed, else the last. */
    const struct launcher_boot_result *rep_run =
        s->first_failure_run && code != TINYX_EXIT_INTERRUPTED ? &s->first_failure : &s->last;
    char message[1200] = "";
    if (rep_run->message[0] && several && s->first_failure_run && rep_run == &s->first_failure)
        snprintf(message, sizeof(message), "run %u of %u failed%s: %s", s->first_failure_run, n,
                 s->n_failed > 1 ? " (the first of several)" : "", rep_run->message);
    else if (several && s->first_failure_run && rep_run == &s->first_failure)
        snprintf(message, sizeof(message), "run %u of %u failed: exit code %d",
                 s->first_failure_run, n, rep_run->exit_code);
    else if (rep_run->message[0])
        snprintf(message, sizeof(message), "%s", rep_run->message);

    struct launcher_report rep = {.image_dir = s->img.dir,
                                  .image_name = s->img.name,
                                  .backend = s->backend->name,
                                  .backend_reason = s->backend_why,
                                  .accel = s->accel,
                                  .outcome = rep_run->outcome,
                                  .message = message[0] ? message : NULL,
                                  .check = launcher_check_kind_name(s->img.check.kind),
                                  .exit_status = rep_run->exit_status,
                                  .exit_code = code,
                                  .kernel_bytes = s->kernel_bytes,
                                  .initrd_bytes = s->img.initrd_bytes,
                                  .memory_mb = s->memory_mb,
                                  .forwards = s->last.forwards,
                                  .n_forwards = s->last.n_forwards,
                                  .kernel_path = s->kernel_path,
                                  .kernel_from_option = s->opts.kernel != NULL,
                                  .virtio_mmio = launcher_virtio_mmio_name(s->virtio_mmio),
                                  .kernel_panic = rep_run->kernel_panic,
                                  .runs = s->done ? s->done : 1,
                                  .boot_us_all = s->boot_us,
                                  .ready_us_all = s->ready_us,
                                  .failed_runs = s->failed,
                                  .n_failed = s->n_failed};
    launcher_stats_compute(s->boot_us, rep.runs, &rep.boot_stats);
    launcher_stats_compute(s->ready_us, rep.runs, &rep.ready_stats);
    rep.boot_us = rep.boot_stats.median;
    rep.ready_us = rep.ready_stats.median;
    rep.vmm_rss_kb = (long)median_of_longs(s->rss_kb, rep.runs);
    rep.vmm_pss_kb = (long)median_of_longs(s->pss_kb, rep.runs);
    if (several && s->done < n)
        tinyx_warn("only %u of %u runs were done; the figures are over those", s->done, n);
    if (s->opts.json) {
        if (launcher_report_write_json(&rep, stdout) < 0 && code == 0) {
            tinyx_errno("cannot write the JSON report to stdout");
            code = TINYX_EXIT_FAIL;
        }
    } else {
        if (several && s->first_failure_run)
            tinyx_err("%s", message);
        launcher_report_write_human(&rep);
    }
}

/* The first guest port the host must reach without an address on a --net device (boot.c's
 * pick_forwards: the app's ports, then its check's), or 0. */
static int first_forward(const struct session *s)
{
    int port;
    if (launcher_guest_net_addressed(s->opts.devices, s->opts.n_devices, NULL))
        return 0;
    return launcher_guest_net_ports(&s->img, &port, 1) ? port : 0;
}

/* --backend, or else the first backend in order of preference that can boot this image here
 * with these options (backend.c), saying which and why. */
static const struct launcher_backend *pick_backend(struct session *s)
{
    if (s->opts.backend) {
        snprintf(s->backend_why, sizeof(s->backend_why), "asked for with --backend");
        return launcher_backend_find(s->opts.backend);
    }
    struct launcher_host host;
    launcher_host_probe(&host);
    struct launcher_kernel_info kernel;
    launcher_kernel_inspect(s->kernel_path, &kernel);
    struct launcher_boot_request req = {
        .kernel_path = s->kernel_path,
        .kernel = &kernel,
        .kernel_from_option = s->opts.kernel != NULL,
        .accel = s->opts.accel,
        .forward_port = first_forward(s),
        .memory_mb = s->memory_mb,
        .devices = s->opts.devices,
        .n_devices = s->opts.n_devices,
        .host = &host,
    };
    const struct launcher_backend *b =
        launcher_backend_pick(&req, s->backend_why, sizeof(s->backend_why));
    tinyx_info("backend %s (%s)", b->name, s->backend_why);
    return b;
}

static int run_command(struct session *s)
{
    int rc = launcher_image_load(s->opts.image_dir, &s->img);
    if (rc != 0)
        return rc;
    rc = choose_kernel(s);
    if (rc != 0)
        return rc;
    rc = check_devices(s);
    if (rc != 0)
        return rc;
    s->memory_mb = s->opts.memory_mb  ? s->opts.memory_mb
                   : s->img.memory_mb ? s->img.memory_mb
                                      : LAUNCHER_RUN_DEFAULT_MEMORY_MB;
    s->backend = pick_backend(s);
    if (!s->backend)
        return TINYX_EXIT_USAGE;
    if (s->opts.accel && !s->backend->accels) {
        tinyx_err("run: --accel: the %s backend has no accelerator choice (see `tinyx-launch run "
                  "--help`)",
                  s->backend->name);
        return TINYX_EXIT_USAGE;
    }
    char note[512] = "";
    rc = s->backend->prepare(s->opts.accel, &s->accel, note, sizeof(note));
    if (rc != 0)
        return rc;
    unsigned n = s->opts.runs;
    s->boot_us = tinyx_xcalloc(n, sizeof(int64_t));
    s->ready_us = tinyx_xcalloc(n, sizeof(int64_t));
    s->rss_kb = tinyx_xcalloc(n, sizeof(int64_t));
    s->pss_kb = tinyx_xcalloc(n, sizeof(int64_t));
    s->failed = tinyx_xcalloc(n, sizeof(unsigned));

    char runs[64] = "";
    if (n > 1)
        snprintf(runs, sizeof(runs), ", %u runs%s", n,
                 s->opts.until_ready || is_server(&s->img) ? " (each stopped once ready)"
                                                           : " (each to the guest's exit)");
    tinyx_info("booting %s with %s/%s, %u MiB, timeout %g s%s", s->img.name, s->backend->name,
               s->accel, s->memory_mb, s->opts.timeout_s, runs);
    if (note[0])
        tinyx_info("accel %s: %s", s->accel, note);
    if (s->opts.n_devices) {
        char devices[1024];
        describe_devices(s, devices, sizeof(devices));
        tinyx_info("devices: %s", devices);
    }

    /* A closed stdout must not kill us before QEMU is stopped; Ctrl-C and SIGTERM set a flag
     * the boot loop checks. */
    signal(SIGPIPE, SIG_IGN);
    tinyx_interrupt_install();
    int code = run_series(s);
    if (s->done)
        report(s, code);
    return code;
}

int launcher_run_command(int argc, char **argv)
{
    struct session s;
    memset(&s, 0, sizeof(s));
    int rc = launcher_run_parse_opts(argc, argv, &s.opts);
    if (rc < 0) {
        if (s.opts.quiet && tinyx_verbosity < 2)
            tinyx_verbosity = 0;
        rc = run_command(&s);
    }
    launcher_boot_result_free(&s.last);
    free(s.boot_us);
    free(s.ready_us);
    free(s.rss_kb);
    free(s.pss_kb);
    free(s.failed);
    launcher_image_free(&s.img);
    launcher_run_opts_free(&s.opts);
    return rc;
}
