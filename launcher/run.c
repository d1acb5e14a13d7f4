/* run.c: the `run` subcommand: boot an image, time boot and check, end with the guest status. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/backend.h"
#include "launcher/check.h"
#include "launcher/check_job.h"
#include "launcher/commands.h"
#include "launcher/console.h"
#include "launcher/image.h"
#include "launcher/measure.h"
#include "launcher/report.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

#define DEFAULT_TIMEOUT_S  60.0
#define DEFAULT_MEMORY_MB  128u
#define CONSOLE_KEEP_BYTES (4u << 20)
#define VMM_LOG_KEEP_BYTES (64u << 10)
#define FAILURE_TAIL_LINES 20
/* The longest the loop sleeps, so a signal that lands just before poll() is seen soon. */
#define MAX_POLL_MS 100
/* How long a proxied TCP connection must stay open to count as accepted by the guest. */
#define TCP_SETTLE_MS       300
#define CHECK_OP_TIMEOUT_MS 2000

struct run_opts {
    const char *image_dir;
    const char *backend;
    const char *accel;
    bool json;
    bool quiet;
    bool until_ready;
    double timeout_s;
    unsigned memory_mb; /* 0: the manifest's */
};

struct run {
    struct run_opts opts;
    struct launcher_image img;
    const struct launcher_backend *backend;
    const char *accel;
    unsigned memory_mb;
    struct launcher_port_forward *forwards;
    size_t n_forwards;

    struct launcher_vm vm;
    bool vm_started;
    bool vm_ended;
    struct launcher_vm_end end;
    bool console_eof, timer_eof, log_eof;
    bool stream; /* console -> stdout */

    uint64_t t0;       /* when the launcher asked the backend to start the VM */
    uint64_t deadline; /* t0 + --timeout */
    int64_t boot_us;
    int64_t ready_us;
    struct launcher_console console;
    struct launcher_console vmm_log;
    struct launcher_mem_sample mem;

    struct launcher_check_target target;
    struct launcher_check_job *job;
    bool job_done;
    char check_why[512];
};

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
            "  --timeout S      bound on the whole run, in seconds (default %.0f)\n"
            "  --until-ready    stop the VM once the check passes and exit 0\n"
            "  --json           print one JSON object on stdout; keep the console in memory\n"
            "  --quiet          do not stream the guest console; show its end on failure\n"
            "  -v, --verbose    say more (the VMM command line, its own messages)\n"
            "  -h, --help       show this help\n"
            "\n"
            "Reported: boot_us (VM start -> boot-timer byte on port 0x%x), ready_us (-> first\n"
            "passing check; = boot_us without a check), exit_status, image_bytes, vmm_rss_kb and\n"
            "vmm_pss_kb (the VMM process, sampled when ready), backend, accel. Human summary on\n"
            "stderr; with --json one object on stdout (errors before the VM starts print only a\n"
            "message). Guest ports (app.ports and the check's) are forwarded to free ports of\n"
            "127.0.0.1.\n"
            "\n"
            "Exit status: the guest's when it exits on its own; 0 with --until-ready once ready;\n"
            "1 the VMM failed; 2 bad command line or image path; 5 the guest reset without a\n"
            "status or exited before ready; 6 the host lacks QEMU/KVM; 7 timeout; 8 broken image\n"
            "directory or manifest; 130 interrupted.\n"
            "Environment: TINYX_QEMU  the QEMU binary (default qemu-system-x86_64 from PATH).\n",
            DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, BOOT_ABI_TIMER_PORT);
}

static int usage_error(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, arg);
    tinyx_err("run: %s (see `tinyx-launch run --help`)", msg);
    return TINYX_EXIT_USAGE;
}

/* Returns -1 to go on, or the exit code (0 after --help). */
static int parse_opts(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        {"backend", required_argument, NULL, 'b'}, {"accel", required_argument, NULL, 'a'},
        {"mem", required_argument, NULL, 'm'},     {"timeout", required_argument, NULL, 't'},
        {"until-ready", no_argument, NULL, 'r'},   {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},         {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof(*o));
    o->timeout_s = DEFAULT_TIMEOUT_S;
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
            if (errno || end == optarg || *end || mb < 1 || mb > 1024 * 1024)
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

/* Guest ports to forward: app.ports plus the check's port. Host ports are free ports of
 * 127.0.0.1, held open until all are chosen so no two are the same. */
static int pick_forwards(struct run *r)
{
    size_t n = r->img.n_ports + 1;
    r->forwards = tinyx_xcalloc(n, sizeof(*r->forwards));
    int *guest = tinyx_xcalloc(n, sizeof(int));
    size_t m = 0;
    for (size_t i = 0; i < r->img.n_ports; i++)
        guest[m++] = r->img.ports[i];
    if (r->img.check.kind == LAUNCHER_CHECK_TCP || r->img.check.kind == LAUNCHER_CHECK_HTTP)
        guest[m++] = r->img.check.port;
    int *fds = tinyx_xcalloc(n, sizeof(int));
    int rc = 0;
    for (size_t i = 0; i < m && rc == 0; i++) {
        bool dup = false;
        for (size_t k = 0; k < r->n_forwards; k++)
            dup = dup || r->forwards[k].guest_port == guest[i];
        if (dup)
            continue;
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(s, (struct sockaddr *)&a, &len) < 0) {
            rc = tinyx_errno("cannot find a free port on 127.0.0.1");
            if (s >= 0)
                close(s);
            break;
        }
        fds[r->n_forwards] = s;
        r->forwards[r->n_forwards].guest_port = guest[i];
        r->forwards[r->n_forwards].host_port = ntohs(a.sin_port);
        r->n_forwards++;
    }
    for (size_t k = 0; k < r->n_forwards; k++)
        close(fds[k]);
    free(fds);
    free(guest);
    return rc;
}

static int host_port_of(const struct run *r, int guest_port)
{
    for (size_t i = 0; i < r->n_forwards; i++)
        if (r->forwards[i].guest_port == guest_port)
            return r->forwards[i].host_port;
    return -1;
}

static void mark_ready(struct run *r, uint64_t now)
{
    if (r->ready_us >= 0)
        return;
    r->ready_us = (int64_t)(now - r->t0);
    if (r->ready_us < r->boot_us)
        r->ready_us = r->boot_us;
    launcher_measure_memory(r->vm.vmm_pid, &r->mem);
    tinyx_debug("app ready after %.1f ms", r->ready_us / 1000.0);
}

static void try_output_check(struct run *r, uint64_t now)
{
    if (r->img.check.kind == LAUNCHER_CHECK_OUTPUT && r->boot_us >= 0 && r->ready_us < 0 &&
        launcher_console_find(&r->console, r->img.check.expect))
        mark_ready(r, now);
}

static void on_boot(struct run *r, uint64_t now)
{
    r->boot_us = (int64_t)(now - r->t0);
    tinyx_debug("boot-timer signal after %.1f ms", r->boot_us / 1000.0);
    switch (r->img.check.kind) {
    case LAUNCHER_CHECK_NONE:
        mark_ready(r, now);
        break;
    case LAUNCHER_CHECK_OUTPUT:
        try_output_check(r, now);
        break;
    case LAUNCHER_CHECK_TCP:
    case LAUNCHER_CHECK_HTTP: {
        struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
        o.op_timeout_ms = CHECK_OP_TIMEOUT_MS;
        o.settle_ms = r->backend->ports_proxied ? TCP_SETTLE_MS : 0;
        if (launcher_check_target_init(&r->target, "127.0.0.1", host_port_of(r, r->img.check.port),
                                       r->check_why, sizeof(r->check_why)) < 0)
            break;
        r->job = launcher_check_job_start(&r->img.check, &r->target, &o, r->deadline);
        break;
    }
    }
}

static void stream_console(struct run *r, const char *data, size_t n)
{
    while (r->stream && n) {
        ssize_t w = write(STDOUT_FILENO, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* stdout went away (a closed pipe): keep running, keep the console in memory. */
            r->stream = false;
            break;
        }
        data += w;
        n -= (size_t)w;
    }
}

/* The VM's output streams. */
enum vm_stream { STREAM_TIMER, STREAM_CONSOLE, STREAM_LOG };

/* Read everything fd has now. Returns false at EOF (or a read error). */
static bool drain(int fd, struct run *r, enum vm_stream which, uint64_t now)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (n == 0)
            return false;
        if (which == STREAM_TIMER) {
            for (ssize_t i = 0; i < n; i++)
                if ((unsigned char)buf[i] == BOOT_ABI_TIMER_READY && r->boot_us < 0)
                    on_boot(r, now);
        } else if (which == STREAM_CONSOLE) {
            launcher_console_append(&r->console, buf, (size_t)n);
            stream_console(r, buf, (size_t)n);
            try_output_check(r, now);
        } else {
            launcher_console_append(&r->vmm_log, buf, (size_t)n);
            if (tinyx_verbosity >= 2) {
                ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
                (void)w;
            }
        }
    }
}

static void drain_all(struct run *r, uint64_t now)
{
    /* The timer first: a boot byte and the console text of the same moment keep their order. */
    if (!r->timer_eof)
        r->timer_eof = !drain(r->vm.timer_fd, r, STREAM_TIMER, now);
    if (!r->console_eof)
        r->console_eof = !drain(r->vm.console_fd, r, STREAM_CONSOLE, now);
    if (!r->log_eof && r->vm.log_fd >= 0)
        r->log_eof = !drain(r->vm.log_fd, r, STREAM_LOG, now);
}

static void on_job_done(struct run *r)
{
    uint64_t passed_at;
    enum launcher_check_result res =
        launcher_check_job_result(r->job, &passed_at, r->check_why, sizeof(r->check_why), NULL);
    r->job_done = true;
    if (res == LAUNCHER_CHECK_PASSED)
        mark_ready(r, passed_at);
}

enum outcome { OUT_EXITED, OUT_READY, OUT_TIMEOUT, OUT_INTERRUPTED, OUT_FAILED };

static enum outcome event_loop(struct run *r)
{
    for (;;) {
        if (tinyx_interrupted())
            return OUT_INTERRUPTED;
        if (r->ready_us >= 0 && r->opts.until_ready)
            return OUT_READY;
        uint64_t now = tinyx_now_us();
        if (now >= r->deadline)
            return OUT_TIMEOUT;

        struct pollfd p[5];
        nfds_t n = 0;
        int i_timer = -1, i_console = -1, i_log = -1, i_exit = -1, i_job = -1;
        if (!r->timer_eof)
            p[i_timer = (int)n++] = (struct pollfd){.fd = r->vm.timer_fd, .events = POLLIN};
        if (!r->console_eof)
            p[i_console = (int)n++] = (struct pollfd){.fd = r->vm.console_fd, .events = POLLIN};
        if (!r->log_eof && r->vm.log_fd >= 0)
            p[i_log = (int)n++] = (struct pollfd){.fd = r->vm.log_fd, .events = POLLIN};
        if (r->vm.exit_fd >= 0)
            p[i_exit = (int)n++] = (struct pollfd){.fd = r->vm.exit_fd, .events = POLLIN};
        if (r->job && !r->job_done)
            p[i_job = (int)n++] =
                (struct pollfd){.fd = launcher_check_job_fd(r->job), .events = POLLIN};
        uint64_t wait_ms = (r->deadline - now + 999) / 1000;
        int rc = poll(p, n, wait_ms > MAX_POLL_MS ? MAX_POLL_MS : (int)wait_ms);
        if (rc < 0 && errno != EINTR) {
            tinyx_errno("cannot wait for the VM (poll)");
            return OUT_FAILED;
        }
        if (rc <= 0)
            continue;
        now = tinyx_now_us();
        if (i_timer >= 0 && p[i_timer].revents)
            r->timer_eof = !drain(r->vm.timer_fd, r, STREAM_TIMER, now);
        if (i_console >= 0 && p[i_console].revents)
            r->console_eof = !drain(r->vm.console_fd, r, STREAM_CONSOLE, now);
        if (i_log >= 0 && p[i_log].revents)
            r->log_eof = !drain(r->vm.log_fd, r, STREAM_LOG, now);
        if (i_job >= 0 && p[i_job].revents)
            on_job_done(r);
        bool ended = (i_exit >= 0 && p[i_exit].revents) || (r->vm.exit_fd < 0 && r->console_eof);
        if (ended && !(r->ready_us >= 0 && r->opts.until_ready)) {
            drain_all(r, tinyx_now_us());
            r->backend->wait(&r->vm, r->vmm_log.buf, &r->end);
            r->vm_ended = true;
            return OUT_EXITED;
        }
    }
}

static void describe_timeout(struct run *r, char *msg, size_t len)
{
    char last[200], seen[300];
    launcher_console_last_line(&r->console, last, sizeof(last));
    if (last[0])
        snprintf(seen, sizeof(seen), "; last console line: \"%s\"", last);
    else
        snprintf(seen, sizeof(seen), "; the guest printed nothing on its console");
    double s = r->opts.timeout_s;
    if (r->boot_us < 0) {
        snprintf(msg, len,
                 "timed out after %g s: the guest never signalled the boot timer (port "
                 "0x%x)%s",
                 s, BOOT_ABI_TIMER_PORT, seen);
    } else if (r->ready_us < 0 && r->img.check.kind == LAUNCHER_CHECK_OUTPUT) {
        snprintf(msg, len,
                 "timed out after %g s: booted in %.1f ms, but the console never "
                 "showed \"%s\"%s",
                 s, r->boot_us / 1000.0, r->img.check.expect, seen);
    } else if (r->ready_us < 0) {
        snprintf(msg, len,
                 "timed out after %g s: booted in %.1f ms, but the app check never "
                 "passed; last failure: %s",
                 s, r->boot_us / 1000.0, r->check_why);
    } else {
        snprintf(msg, len,
                 "timed out after %g s: the app was ready after %.1f ms but the guest "
                 "did not exit (use --until-ready to stop it once ready)",
                 s, r->ready_us / 1000.0);
    }
}

/* Decide the exit code and message from how the run ended. */
static int conclude(struct run *r, enum outcome out, struct launcher_report *rep, char *msg,
                    size_t msg_len)
{
    msg[0] = '\0';
    switch (out) {
    case OUT_INTERRUPTED:
        rep->outcome = "interrupted";
        snprintf(msg, msg_len, "interrupted; the VM was stopped");
        return TINYX_EXIT_INTERRUPTED;
    case OUT_READY:
        rep->outcome = "ready";
        return TINYX_EXIT_OK;
    case OUT_TIMEOUT:
        rep->outcome = "timeout";
        describe_timeout(r, msg, msg_len);
        return TINYX_EXIT_TIMEOUT;
    case OUT_FAILED:
        rep->outcome = "failed";
        snprintf(msg, msg_len, "the launcher failed while watching the VM; the VM was stopped");
        return TINYX_EXIT_FAIL;
    case OUT_EXITED:
        break;
    }
    rep->outcome = "exited";
    int status = launcher_console_exit_status(&r->console);
    if (status < 0 && r->end.kind == LAUNCHER_VM_END_STATUS)
        status = r->end.code;
    rep->exit_status = status;
    if (status < 0) {
        rep->outcome = "failed";
        if (r->end.kind == LAUNCHER_VM_END_RESET)
            snprintf(msg, msg_len,
                     "the guest reset without reporting an exit status (kernel "
                     "panic, triple fault or reboot)");
        else if (r->end.kind == LAUNCHER_VM_END_KILLED)
            snprintf(msg, msg_len, "the %s process was killed by signal %d", r->backend->name,
                     r->end.code);
        else
            snprintf(msg, msg_len, "%s failed (exit code %d)", r->backend->name, r->end.code);
        return r->end.kind == LAUNCHER_VM_END_RESET ? TINYX_EXIT_APP : TINYX_EXIT_FAIL;
    }
    if (r->opts.until_ready) {
        snprintf(msg, msg_len, "the guest exited with status %d before the app was ready%s%s",
                 status, r->job_done ? "; last check failure: " : "",
                 r->job_done ? r->check_why : "");
        return TINYX_EXIT_APP;
    }
    if (r->boot_us < 0)
        tinyx_warn("the guest exited without signalling the boot timer (port 0x%x)",
                   BOOT_ABI_TIMER_PORT);
    else if (r->ready_us < 0 && r->img.check.kind != LAUNCHER_CHECK_NONE)
        tinyx_warn("the guest exited before its %s check passed%s%s",
                   launcher_check_kind_name(r->img.check.kind), r->check_why[0] ? ": " : "",
                   r->check_why);
    return status;
}

static int boot_and_watch(struct run *r)
{
    struct launcher_vm_spec spec = {.kernel_path = r->img.kernel_path,
                                    .initrd_path = r->img.initrd_path,
                                    .cmdline = r->img.cmdline,
                                    .memory_mb = r->memory_mb,
                                    .forwards = r->forwards,
                                    .n_forwards = r->n_forwards,
                                    .accel = r->accel};
    r->t0 = tinyx_now_us();
    r->deadline = r->t0 + (uint64_t)(r->opts.timeout_s * 1e6);
    int rc = r->backend->start(&spec, &r->vm);
    if (rc != 0)
        return rc;
    r->vm.backend = r->backend;
    r->vm_started = true;

    enum outcome out = event_loop(r);
    launcher_check_job_stop(r->job);
    if (r->job && !r->job_done)
        on_job_done(r);
    if (!r->vm_ended)
        r->backend->stop(&r->vm);

    char msg[1024];
    struct launcher_report rep = {.image_dir = r->img.dir,
                                  .image_name = r->img.name,
                                  .backend = r->backend->name,
                                  .accel = r->accel,
                                  .check = launcher_check_kind_name(r->img.check.kind),
                                  .boot_us = r->boot_us,
                                  .ready_us = r->ready_us,
                                  .exit_status = -1,
                                  .kernel_bytes = r->img.kernel_bytes,
                                  .initrd_bytes = r->img.initrd_bytes,
                                  .memory_mb = r->memory_mb,
                                  .vmm_rss_kb = r->mem.rss_kb,
                                  .vmm_pss_kb = r->mem.pss_kb,
                                  .forwards = r->forwards,
                                  .n_forwards = r->n_forwards};
    int code = conclude(r, out, &rep, msg, sizeof(msg));
    rep.exit_code = code;
    rep.message = msg[0] ? msg : NULL;

    /* Any non-zero end (a guest status included) shows what the guest said last. */
    bool failed = code != TINYX_EXIT_OK && out != OUT_INTERRUPTED;
    if (msg[0])
        tinyx_err("%s", msg);
    if (failed && r->console.len && !r->stream) {
        fprintf(stderr, "%s: last lines of the guest console:\n", tinyx_progname);
        fflush(stderr);
        launcher_console_write_tail(&r->console, STDERR_FILENO, FAILURE_TAIL_LINES, "  | ");
    }
    if (failed && r->vmm_log.len && tinyx_verbosity < 2) {
        fprintf(stderr, "%s: %s said:\n", tinyx_progname, r->backend->name);
        fflush(stderr);
        launcher_console_write_tail(&r->vmm_log, STDERR_FILENO, FAILURE_TAIL_LINES, "  | ");
    }
    if (r->opts.json) {
        if (launcher_report_write_json(&rep, stdout) < 0 && code == 0) {
            tinyx_errno("cannot write the JSON report to stdout");
            code = TINYX_EXIT_FAIL;
        }
    } else {
        launcher_report_write_human(&rep);
    }
    return code;
}

int launcher_run_command(int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    int rc = parse_opts(argc, argv, &r.opts);
    if (rc >= 0)
        return rc;
    if (r.opts.quiet && tinyx_verbosity < 2)
        tinyx_verbosity = 0;
    r.boot_us = -1;
    r.ready_us = -1;
    r.mem.rss_kb = r.mem.pss_kb = -1;
    r.vm.console_fd = r.vm.timer_fd = r.vm.log_fd = r.vm.exit_fd = -1;

    rc = launcher_image_load(r.opts.image_dir, &r.img);
    if (rc != 0)
        return rc;
    r.backend = r.opts.backend ? launcher_backend_find(r.opts.backend) : launcher_backend_default();
    if (!r.backend) {
        launcher_image_free(&r.img);
        return TINYX_EXIT_USAGE;
    }
    if (r.opts.accel && !r.backend->accels) {
        launcher_image_free(&r.img);
        return usage_error("--accel: the backend has no accelerator choice", "");
    }
    char note[512] = "";
    rc = r.backend->prepare(r.opts.accel, &r.accel, note, sizeof(note));
    if (rc == 0)
        rc = pick_forwards(&r) < 0 ? TINYX_EXIT_ENV : 0;
    if (rc != 0) {
        free(r.forwards);
        launcher_image_free(&r.img);
        return rc;
    }
    r.memory_mb = r.opts.memory_mb  ? r.opts.memory_mb
                  : r.img.memory_mb ? r.img.memory_mb
                                    : DEFAULT_MEMORY_MB;
    r.stream = !r.opts.quiet && !r.opts.json;
    launcher_console_init(&r.console, CONSOLE_KEEP_BYTES);
    launcher_console_init(&r.vmm_log, VMM_LOG_KEEP_BYTES);

    tinyx_info("booting %s with %s/%s, %u MiB, timeout %g s", r.img.name, r.backend->name, r.accel,
               r.memory_mb, r.opts.timeout_s);
    if (note[0])
        tinyx_info("accel %s: %s", r.accel, note);
    for (size_t i = 0; i < r.n_forwards; i++)
        tinyx_info("guest port %d is 127.0.0.1:%d", r.forwards[i].guest_port,
                   r.forwards[i].host_port);

    /* A closed stdout must not kill us before QEMU is stopped; Ctrl-C and SIGTERM set a flag
     * the loop checks. */
    signal(SIGPIPE, SIG_IGN);
    tinyx_interrupt_install();
    rc = boot_and_watch(&r);

    launcher_check_job_free(r.job);
    if (r.vm_started)
        r.backend->release(&r.vm);
    launcher_console_free(&r.console);
    launcher_console_free(&r.vmm_log);
    free(r.forwards);
    launcher_image_free(&r.img);
    return rc;
}
