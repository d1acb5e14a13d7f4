/* vmm_main.c: the tinyx-kvm program: options, one VM run, exit code and end line, --timing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "launcher/shell_abi.h"
#include "launcher/vmm.h"
#include "launcher/vmm_shell.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define MIB             (1024ull * 1024)
#define DEFAULT_MEM_MIB 128u
#define MAX_MEM_MIB     3072u /* LAYOUT_RAM_MAX */
#define MAX_TIMEOUT_MS  (7u * 24 * 3600 * 1000)

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: tinyx-kvm --kernel FILE [OPTIONS]\n"
            "Tinyx's KVM monitor: boot one PVH ELF kernel in a fresh VM (one vCPU) and run it\n"
            "until it ends. Guest console on --console-fd; boot-timer bytes (port 0x3f0) on\n"
            "--timer-fd; the guest's status (port 0xf4) becomes the exit code.\n"
            "\n"
            "Options:\n"
            "  --kernel FILE      ELF kernel with the PVH entry note (Xen note 18)\n"
            "  --initrd FILE      passed to the guest as PVH module 0, at the top of RAM\n"
            "  --cmdline TEXT     kernel command line (devices append their words)\n"
            "  --mem MIB          guest RAM, 2-%u (default %u)\n"
            "  --console-fd N     write the guest console to descriptor N (default 1)\n"
            "  --timer-fd N       write every boot-timer byte to descriptor N (default: none)\n"
            "  --timeout MS       end the VM after MS milliseconds (default: none)\n"
            "  --no-sandbox       do not install the seccomp filter (debugging)\n"
            "  --timing           print a JSON line of milestones (us since start) on stderr\n"
            "  --shell            run as a prepared shell of the launcher daemon (socket on fd 3,\n"
            "                     RAM template on fd 4; see docs/daemon.md)\n"
            "  --parent-pid PID   with --shell: die with that process (the daemon)\n"
            "  -v, --verbose      say more\n"
            "  -h, --help         this help\n",
            MAX_MEM_MIB, DEFAULT_MEM_MIB);
    bool any = false;
    for (size_t i = 0; i < launcher_vmm_module_count(); i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (!m->usage)
            continue;
        if (!any)
            fprintf(out, "\nDevices:\n");
        any = true;
        fprintf(out, "  %s\n", m->usage);
    }
    fprintf(out,
            "\n"
            "Exit status: the guest's status (0-255) when it wrote one to port 0xf4; otherwise\n"
            "1 the monitor failed (KVM error, emulation failure, bad guest access), 2 bad\n"
            "command line, 5 the guest halted, reset or triple-faulted without a status, 6 the\n"
            "host cannot run it (no KVM; a Linux kernel on kvm_pvm), 7 --timeout expired,\n"
            "8 bad kernel or initrd (missing, corrupt, no PVH note, too big for --mem),\n"
            "130 interrupted. The last stderr line says which: \"" LAUNCHER_VMM_END_LINE
            "status N\"\n"
            "(or halted/timeout/failed/interrupted, with the reason).\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, arg);
    tinyx_err("%s (see `tinyx-kvm --help`)", msg);
    return TINYX_EXIT_USAGE;
}

/* A whole number in [min, max]; false for anything else. */
static bool parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_fd(const char *opt, const char *text, int *out)
{
    unsigned long fd;
    if (!parse_uint(text, 0, 1u << 20, &fd))
        return usage_error("%s: expected a descriptor number", opt);
    if (fcntl((int)fd, F_GETFD) < 0) {
        tinyx_err("%s %lu: that descriptor is not open in tinyx-kvm", opt, fd);
        return TINYX_EXIT_USAGE;
    }
    *out = (int)fd;
    return 0;
}

/* An option the core does not know goes to the modules, in order, until one takes it. */
static int module_option(const char *name, const char *value)
{
    for (size_t i = 0; i < launcher_vmm_module_count(); i++) {
        const struct launcher_vmm_module *m = launcher_vmm_module_at(i);
        if (!m->option)
            continue;
        int rc = m->option(name, value);
        if (rc > 0)
            return 0;
        if (rc < 0)
            return TINYX_EXIT_USAGE;
    }
    return usage_error("unknown option '%s'", name);
}

struct options {
    struct launcher_vmm_config cfg;
    bool timing;
    bool shell;
    long parent_pid;
};

/* The core's own options; everything else goes to the modules. */
static const struct {
    const char *name;
    bool takes_value;
} core_options[] = {{"--kernel", true},  {"--initrd", true},      {"--cmdline", true},
                    {"--mem", true},     {"--console-fd", true},  {"--timer-fd", true},
                    {"--timeout", true}, {"--no-sandbox", false}, {"--timing", false},
                    {"--shell", false},  {"--parent-pid", true}};

static int apply_core(struct options *o, const char *name, const char *value)
{
    unsigned long n;
    if (!strcmp(name, "--no-sandbox"))
        o->cfg.no_sandbox = true;
    else if (!strcmp(name, "--timing"))
        o->timing = true;
    else if (!strcmp(name, "--shell"))
        o->shell = true;
    else if (!strcmp(name, "--parent-pid")) {
        if (!parse_uint(value, 1, 1ul << 22, &n))
            return usage_error("--parent-pid: expected a process id, got '%s'", value);
        o->parent_pid = (long)n;
    } else if (!strcmp(name, "--kernel"))
        o->cfg.kernel = value;
    else if (!strcmp(name, "--initrd"))
        o->cfg.initrd = value;
    else if (!strcmp(name, "--cmdline"))
        o->cfg.cmdline = value;
    else if (!strcmp(name, "--mem")) {
        if (!parse_uint(value, 2, MAX_MEM_MIB, &n))
            return usage_error("--mem: expected MiB from 2 to 3072, got '%s'", value);
        o->cfg.mem_bytes = n * MIB;
    } else if (!strcmp(name, "--timeout")) {
        if (!parse_uint(value, 1, MAX_TIMEOUT_MS, &n))
            return usage_error("--timeout: expected milliseconds (1 or more), got '%s'", value);
        o->cfg.timeout_ms = (unsigned)n;
    } else if (!strcmp(name, "--console-fd")) {
        return parse_fd(name, value, &o->cfg.console_fd);
    } else {
        return parse_fd(name, value, &o->cfg.timer_fd);
    }
    return 0;
}

/* One "--name[=value]" (value possibly the next word). Returns 0 or an exit code. */
static int parse_option(struct options *o, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    char *name = eq ? tinyx_xstrndup(arg, (size_t)(eq - arg)) : tinyx_xstrdup(arg);
    const char *value = eq ? eq + 1 : NULL;
    int rc = 0;
    size_t k = 0;
    while (k < sizeof(core_options) / sizeof(core_options[0]) && strcmp(core_options[k].name, name))
        k++;
    if (k < sizeof(core_options) / sizeof(core_options[0])) {
        if (core_options[k].takes_value && !value && *i + 1 < argc)
            value = argv[++*i];
        if (core_options[k].takes_value && !value)
            rc = usage_error("%s needs a value", name);
        else if (!core_options[k].takes_value && value)
            rc = usage_error("%s takes no value", name);
        else
            rc = apply_core(o, name, value);
    } else {
        /* A module option's value follows "=", or is the next word unless that is an option. */
        if (!value && *i + 1 < argc && strncmp(argv[*i + 1], "--", 2))
            value = argv[++*i];
        rc = module_option(name, value);
    }
    free(name);
    return rc;
}

/* Returns -1 to go on, else the exit code (0 after --help). */
static int parse_args(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return TINYX_EXIT_OK;
        }
        if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
            tinyx_verbosity++;
            continue;
        }
        if (strncmp(arg, "--", 2) || !arg[2])
            return usage_error("unexpected argument '%s'", arg);
        int rc = parse_option(o, argc, argv, &i);
        if (rc)
            return rc;
    }
    if (!o->cfg.kernel)
        return usage_error("no kernel given%s: use --kernel FILE", "");
    return -1;
}

static const char *end_name(enum launcher_vmm_end end)
{
    switch (end) {
    case LAUNCHER_VMM_EXIT_STATUS:
        return "status";
    case LAUNCHER_VMM_HALTED:
        return "halted";
    case LAUNCHER_VMM_TIMEOUT:
        return "timeout";
    case LAUNCHER_VMM_INTERRUPTED:
        return "interrupted";
    case LAUNCHER_VMM_RUNNING:
    case LAUNCHER_VMM_FAILED:
        break;
    }
    return "failed";
}

static int exit_code_of(const struct launcher_vmm *v)
{
    switch (v->end) {
    case LAUNCHER_VMM_EXIT_STATUS:
        return v->exit_status & 0xff;
    case LAUNCHER_VMM_HALTED:
        return TINYX_EXIT_APP;
    case LAUNCHER_VMM_TIMEOUT:
        return TINYX_EXIT_TIMEOUT;
    case LAUNCHER_VMM_INTERRUPTED:
        return TINYX_EXIT_INTERRUPTED;
    case LAUNCHER_VMM_RUNNING:
    case LAUNCHER_VMM_FAILED:
        break;
    }
    return TINYX_EXIT_FAIL;
}

static long since(const struct launcher_vmm *v, uint64_t t)
{
    return t ? (long)(t - v->t_start) : -1;
}

static void print_timing(const struct launcher_vmm *v, int code)
{
    struct rusage ru;
    long maxrss_kb = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
    char boot[32] = "null";
    if (v->t_boot_timer)
        snprintf(boot, sizeof(boot), "%ld", since(v, v->t_boot_timer));
    fprintf(stderr,
            "{\"tinyx_kvm_timing\":1,\"created_us\":%ld,\"first_run_us\":%ld,"
            "\"boot_timer_us\":%s,\"end_us\":%ld,\"end\":\"%s\",\"exit_code\":%d,"
            "\"maxrss_kb\":%ld}\n",
            since(v, v->t_created), since(v, v->t_first_run), boot,
            since(v, v->t_end ? v->t_end : tinyx_now_us()), end_name(v->end), code, maxrss_kb);
}

int main(int argc, char **argv)
{
    uint64_t t_start = tinyx_now_us();
    tinyx_progname = "tinyx-kvm";
    struct options o = {
        .cfg = {.mem_bytes = DEFAULT_MEM_MIB * MIB, .console_fd = 1, .timer_fd = -1}};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;

    struct launcher_vmm v;
    memset(&v, 0, sizeof(v));
    v.t_start = t_start;
    if (o.shell) {
        /* A shell dies with its daemon, so a killed daemon leaves no VMs (nor their taps). */
        if (fcntl(SHELL_ABI_FD_SOCK, F_GETFD) < 0 || fcntl(SHELL_ABI_FD_RAM, F_GETFD) < 0) {
            tinyx_err("--shell is how the launcher daemon starts its shells (descriptors 3 and 4 "
                      "open); to boot a guest yourself, leave it out");
            return TINYX_EXIT_USAGE;
        }
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (o.parent_pid && getppid() != (pid_t)o.parent_pid)
            return TINYX_EXIT_FAIL;
        rc = launcher_vmm_shell(&o.cfg, &v, SHELL_ABI_FD_SOCK, SHELL_ABI_FD_RAM);
        if (rc < 0)
            return TINYX_EXIT_OK; /* released unused */
    } else {
        rc = launcher_vmm_run(&o.cfg, &v);
    }
    int code = rc != 0 ? rc : exit_code_of(&v);
    if (rc == 0 && v.end == LAUNCHER_VMM_FAILED)
        tinyx_err("%s", v.why[0] ? v.why : "the monitor failed");
    if (o.timing)
        print_timing(&v, code);
    /* Last, so a launcher finds it at the end of what it read. */
    if (rc != 0)
        fprintf(stderr, LAUNCHER_VMM_END_LINE "failed: the VM did not start (exit code %d)\n", rc);
    else if (v.end == LAUNCHER_VMM_EXIT_STATUS)
        fprintf(stderr, LAUNCHER_VMM_END_LINE "status %d\n", v.exit_status & 0xff);
    else
        fprintf(stderr, LAUNCHER_VMM_END_LINE "%s%s%s\n", end_name(v.end), v.why[0] ? ": " : "",
                v.why);
    return code;
}
