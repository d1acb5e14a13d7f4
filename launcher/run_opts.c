/* run_opts.c: parse the options of `tinyx-launch run` and print its help. */
#include "launcher/run_opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "initramfs/boot_abi.h"
#include "launcher/backend.h"
#include "launcher/commands.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

void launcher_run_usage(FILE *out)
{
    fprintf(out,
            "Usage: tinyx-launch run IMAGE_DIR [OPTIONS]\n"
            "Boot a Tinyx image, run its app check from the host, and report boot and ready\n"
            "times. Exits with the guest's exit status.\n"
            "\n"
            "Options:\n"
            "  --backend NAME   VM backend (default %s):\n",
            launcher_backend_default()->name);
    for (size_t i = 0; i < launcher_backend_count(); i++)
        fprintf(out, "                     %-6s %s\n", launcher_backend_at(i)->name,
                launcher_backend_at(i)->summary);
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
            "(app.ports and the check's) are forwarded to free ports of 127.0.0.1.\n"
            "\n"
            "Exit status: the guest's when it exits on its own; 0 with --until-ready once ready;\n"
            "1 the VMM failed; 2 bad command line, image path or --kernel file; 5 the guest\n"
            "panicked, reset without a status or exited before ready; 6 the host lacks\n"
            "QEMU/KVM; 7 timeout; 8 broken image directory or manifest; 130 interrupted.\n"
            "With --runs N > 1: 0 when every run passed, else the first failed run's status.\n"
            "Environment: TINYX_QEMU  the QEMU binary (default qemu-system-x86_64 from PATH).\n",
            LAUNCHER_RUN_DEFAULT_MEMORY_MB, LAUNCHER_RUN_DEFAULT_TIMEOUT_S, LAUNCHER_RUN_MAX_RUNS,
            BOOT_ABI_TIMER_PORT);
}

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, arg);
    tinyx_err("run: %s (see `tinyx-launch run --help`)", msg);
    return TINYX_EXIT_USAGE;
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
}

int launcher_run_parse_opts(int argc, char **argv, struct launcher_run_opts *o)
{
    enum { OPT_KERNEL = 256, OPT_VIRTIO_MMIO, OPT_APPEND, OPT_RUNS };
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
