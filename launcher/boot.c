/* boot.c: one boot watched to its end: console, boot timer, app check, panic, timeout. */
#include "launcher/boot.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/check.h"
#include "launcher/check_job.h"
#include "launcher/console.h"
#include "launcher/guest_net.h"
#include "tinyx/exitcode.h"
#include "tinyx/proc.h"
#include "tinyx/util.h"

#define CONSOLE_KEEP_BYTES (4u << 20)
#define VMM_LOG_KEEP_BYTES (64u << 10)
#define FAILURE_TAIL_LINES 20
/* The longest the loop sleeps, so a signal that lands just before poll() is seen soon. */
#define MAX_POLL_MS 100
/* How long a proxied TCP connection must stay open to count as accepted by the guest. */
#define TCP_SETTLE_MS       300
#define CHECK_OP_TIMEOUT_MS 2000
/* After the console shows a kernel panic, how long the VM gets to reset on its own (panic=-1
 * does at once; a panic=N from --append waits N s) before the launcher stops it. */
#define PANIC_GRACE_US (5u * 1000 * 1000)

struct boot {
    const struct launcher_boot_config *cfg;
    struct launcher_boot_result *res;

    struct launcher_vm vm;
    bool vm_started;
    bool vm_ended;
    struct launcher_vm_end end;
    bool console_eof, timer_eof, log_eof;
    bool stream; /* console -> stdout (until stdout goes away) */

    uint64_t t0;       /* when the launcher asked the backend to start the VM */
    uint64_t deadline; /* t0 + timeout */
    uint64_t panic_at; /* when the console first showed a panic; 0: not yet */
    size_t panic_cursor;
    struct launcher_console console;
    struct launcher_console vmm_log;

    bool direct; /* the guest's ports are at its --net address: nothing to forward */
    struct launcher_check_target target;
    struct launcher_check_job *job;
    bool job_done;
    char check_why[512];
};

void launcher_boot_result_free(struct launcher_boot_result *res)
{
    free(res->forwards);
    res->forwards = NULL;
    res->n_forwards = 0;
}

/* The guest ports the launcher reaches (app.ports plus the check's port) and where: at the
 * guest's address when a --net device gives it one (direct); else through the VMM's forwards
 * from free ports of 127.0.0.1, held open until all are chosen so no two are the same; else
 * where the backend's own link puts them (known once it started: watch()). */
static int pick_forwards(struct boot *b)
{
    const struct launcher_image *img = b->cfg->img;
    struct launcher_boot_result *res = b->res;
    size_t n = img->n_ports + 1;
    res->forwards = tinyx_xcalloc(n, sizeof(*res->forwards));
    int *guest = tinyx_xcalloc(n, sizeof(int));
    size_t m = launcher_guest_net_ports(img, guest, n);
    const struct launcher_vm_device *addressed =
        launcher_guest_net_addressed(b->cfg->devices, b->cfg->n_devices, NULL);
    if (addressed) {
        char addr[INET_ADDRSTRLEN];
        launcher_guest_net_ntoa(addressed->net.ip, addr);
        for (size_t i = 0; i < m; i++)
            res->forwards[i].guest_port = guest[i];
        res->n_forwards = m;
        launcher_guest_net_direct(res->forwards, m, addr);
        free(guest);
        return 0;
    }
    if (!b->cfg->backend->forwards_ports) {
        for (size_t i = 0; i < m; i++)
            res->forwards[i].guest_port = guest[i];
        res->n_forwards = m;
        free(guest);
        return 0;
    }
    int *fds = tinyx_xcalloc(n, sizeof(int));
    int rc = 0;
    for (size_t i = 0; i < m && rc == 0; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(s, (struct sockaddr *)&a, &len) < 0) {
            rc = tinyx_errno("cannot find a free port on " LAUNCHER_GUEST_NET_LOOPBACK);
            if (s >= 0)
                close(s);
            break;
        }
        fds[res->n_forwards] = s;
        struct launcher_port_forward *f = &res->forwards[res->n_forwards++];
        f->guest_port = guest[i];
        snprintf(f->host_addr, sizeof(f->host_addr), LAUNCHER_GUEST_NET_LOOPBACK);
        f->host_port = ntohs(a.sin_port);
    }
    for (size_t k = 0; k < res->n_forwards; k++)
        close(fds[k]);
    free(fds);
    free(guest);
    return rc;
}

static void mark_ready(struct boot *b, uint64_t now)
{
    struct launcher_boot_result *res = b->res;
    if (res->ready_us >= 0)
        return;
    res->ready_us = (int64_t)(now - b->t0);
    if (res->ready_us < res->boot_us)
        res->ready_us = res->boot_us;
    launcher_measure_memory(b->vm.vmm_pid, &res->mem);
    tinyx_debug("%sapp ready after %.1f ms", b->cfg->label, res->ready_us / 1000.0);
}

static void try_output_check(struct boot *b, uint64_t now)
{
    const struct launcher_check *check = &b->cfg->img->check;
    if (check->kind == LAUNCHER_CHECK_OUTPUT && b->res->boot_us >= 0 && b->res->ready_us < 0 &&
        launcher_console_find(&b->console, check->expect))
        mark_ready(b, now);
}

static void on_boot(struct boot *b, uint64_t now)
{
    b->res->boot_us = (int64_t)(now - b->t0);
    tinyx_debug("%sboot-timer signal after %.1f ms", b->cfg->label, b->res->boot_us / 1000.0);
    const struct launcher_check *check = &b->cfg->img->check;
    switch (check->kind) {
    case LAUNCHER_CHECK_NONE:
        mark_ready(b, now);
        break;
    case LAUNCHER_CHECK_OUTPUT:
        try_output_check(b, now);
        break;
    case LAUNCHER_CHECK_TCP:
    case LAUNCHER_CHECK_HTTP: {
        const struct launcher_port_forward *f =
            launcher_guest_net_find(b->res->forwards, b->res->n_forwards, check->port);
        struct launcher_check_opts o = LAUNCHER_CHECK_OPTS_INIT;
        o.op_timeout_ms = CHECK_OP_TIMEOUT_MS;
        /* A user-mode NAT accepts before the guest does; the guest's own address does not. */
        o.settle_ms = f && !f->direct && b->cfg->backend->ports_proxied ? TCP_SETTLE_MS : 0;
        if (!f || !f->host_addr[0]) {
            snprintf(b->check_why, sizeof(b->check_why),
                     "the %s backend gave guest port %d no address the host reaches",
                     b->cfg->backend->name, check->port);
            break;
        }
        if (launcher_check_target_init(&b->target, f->host_addr, f->host_port, b->check_why,
                                       sizeof(b->check_why)) < 0)
            break;
        b->job = launcher_check_job_start(check, &b->target, &o, b->deadline);
        break;
    }
    }
}

static void stream_console(struct boot *b, const char *data, size_t n)
{
    while (b->stream && n) {
        ssize_t w = write(STDOUT_FILENO, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* stdout went away (a closed pipe): keep running, keep the console in memory. */
            b->stream = false;
            break;
        }
        data += w;
        n -= (size_t)w;
    }
}

/* The VM's output streams. */
enum vm_stream { STREAM_TIMER, STREAM_CONSOLE, STREAM_LOG };

/* Read everything fd has now. Returns false at EOF (or a read error). */
static bool drain(int fd, struct boot *b, enum vm_stream which, uint64_t now)
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
                if ((unsigned char)buf[i] == BOOT_ABI_TIMER_READY && b->res->boot_us < 0)
                    on_boot(b, now);
        } else if (which == STREAM_CONSOLE) {
            launcher_console_append(&b->console, buf, (size_t)n);
            stream_console(b, buf, (size_t)n);
            try_output_check(b, now);
            if (!b->panic_at &&
                launcher_console_find_at(&b->console, LAUNCHER_CONSOLE_PANIC, &b->panic_cursor)) {
                b->panic_at = now;
                tinyx_debug("%sthe guest kernel panicked", b->cfg->label);
            }
        } else {
            launcher_console_append(&b->vmm_log, buf, (size_t)n);
            if (tinyx_verbosity >= 2) {
                ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
                (void)w;
            }
        }
    }
}

static void drain_all(struct boot *b, uint64_t now)
{
    /* The timer first: a boot byte and the console text of the same moment keep their order. */
    if (!b->timer_eof)
        b->timer_eof = !drain(b->vm.timer_fd, b, STREAM_TIMER, now);
    if (!b->console_eof)
        b->console_eof = !drain(b->vm.console_fd, b, STREAM_CONSOLE, now);
    if (!b->log_eof && b->vm.log_fd >= 0)
        b->log_eof = !drain(b->vm.log_fd, b, STREAM_LOG, now);
}

static void on_job_done(struct boot *b)
{
    uint64_t passed_at;
    enum launcher_check_result res =
        launcher_check_job_result(b->job, &passed_at, b->check_why, sizeof(b->check_why), NULL);
    b->job_done = true;
    if (res == LAUNCHER_CHECK_PASSED)
        mark_ready(b, passed_at);
}

enum outcome { OUT_EXITED, OUT_READY, OUT_TIMEOUT, OUT_INTERRUPTED, OUT_FAILED, OUT_PANIC };

static enum outcome event_loop(struct boot *b)
{
    for (;;) {
        if (tinyx_interrupted())
            return OUT_INTERRUPTED;
        if (b->res->ready_us >= 0 && b->cfg->until_ready)
            return OUT_READY;
        uint64_t now = tinyx_now_us();
        if (b->panic_at && now - b->panic_at >= PANIC_GRACE_US)
            return OUT_PANIC;
        if (now >= b->deadline)
            return OUT_TIMEOUT;

        struct pollfd p[5];
        nfds_t n = 0;
        int i_timer = -1, i_console = -1, i_log = -1, i_exit = -1, i_job = -1;
        if (!b->timer_eof)
            p[i_timer = (int)n++] = (struct pollfd){.fd = b->vm.timer_fd, .events = POLLIN};
        if (!b->console_eof)
            p[i_console = (int)n++] = (struct pollfd){.fd = b->vm.console_fd, .events = POLLIN};
        if (!b->log_eof && b->vm.log_fd >= 0)
            p[i_log = (int)n++] = (struct pollfd){.fd = b->vm.log_fd, .events = POLLIN};
        if (b->vm.exit_fd >= 0)
            p[i_exit = (int)n++] = (struct pollfd){.fd = b->vm.exit_fd, .events = POLLIN};
        if (b->job && !b->job_done)
            p[i_job = (int)n++] =
                (struct pollfd){.fd = launcher_check_job_fd(b->job), .events = POLLIN};
        uint64_t wait_ms = (b->deadline - now + 999) / 1000;
        int rc = poll(p, n, wait_ms > MAX_POLL_MS ? MAX_POLL_MS : (int)wait_ms);
        if (rc < 0 && errno != EINTR) {
            tinyx_errno("cannot wait for the VM (poll)");
            return OUT_FAILED;
        }
        if (rc <= 0)
            continue;
        now = tinyx_now_us();
        if (i_timer >= 0 && p[i_timer].revents)
            b->timer_eof = !drain(b->vm.timer_fd, b, STREAM_TIMER, now);
        if (i_console >= 0 && p[i_console].revents)
            b->console_eof = !drain(b->vm.console_fd, b, STREAM_CONSOLE, now);
        if (i_log >= 0 && p[i_log].revents)
            b->log_eof = !drain(b->vm.log_fd, b, STREAM_LOG, now);
        if (i_job >= 0 && p[i_job].revents)
            on_job_done(b);
        bool ended = (i_exit >= 0 && p[i_exit].revents) || (b->vm.exit_fd < 0 && b->console_eof);
        if (ended && !(b->res->ready_us >= 0 && b->cfg->until_ready)) {
            drain_all(b, tinyx_now_us());
            b->cfg->backend->wait(&b->vm, b->vmm_log.buf, &b->end);
            b->vm_ended = true;
            return OUT_EXITED;
        }
    }
}

static void describe_timeout(struct boot *b, char *msg, size_t len)
{
    const struct launcher_boot_result *res = b->res;
    const struct launcher_check *check = &b->cfg->img->check;
    char last[200], seen[300];
    launcher_console_last_line(&b->console, last, sizeof(last));
    if (last[0])
        snprintf(seen, sizeof(seen), "; last console line: \"%s\"", last);
    else
        snprintf(seen, sizeof(seen), "; the guest printed nothing on its console");
    double s = b->cfg->timeout_s;
    char panic[200];
    if (launcher_console_panic(&b->console, panic, sizeof(panic))) {
        snprintf(msg, len, "timed out after %g s: the guest kernel panicked (\"%s\")", s, panic);
    } else if (res->boot_us < 0) {
        snprintf(msg, len,
                 "timed out after %g s: the guest never signalled the boot timer (port "
                 "0x%x)%s",
                 s, BOOT_ABI_TIMER_PORT, seen);
    } else if (res->ready_us < 0 && check->kind == LAUNCHER_CHECK_OUTPUT) {
        snprintf(msg, len,
                 "timed out after %g s: booted in %.1f ms, but the console never "
                 "showed \"%s\"%s",
                 s, res->boot_us / 1000.0, check->expect, seen);
    } else if (res->ready_us < 0) {
        snprintf(msg, len,
                 "timed out after %g s: booted in %.1f ms, but the app check never "
                 "passed; last failure: %s",
                 s, res->boot_us / 1000.0, b->check_why);
    } else {
        snprintf(msg, len,
                 "timed out after %g s: the app was ready after %.1f ms but the guest "
                 "did not exit (use --until-ready to stop it once ready)",
                 s, res->ready_us / 1000.0);
    }
}

/* Decide the exit code and message from how the boot ended. */
static int conclude(struct boot *b, enum outcome out)
{
    struct launcher_boot_result *res = b->res;
    const struct launcher_check *check = &b->cfg->img->check;
    const char *backend = b->cfg->backend->name;
    char *msg = res->message;
    size_t msg_len = sizeof(res->message);
    char panic[200];
    res->kernel_panic = launcher_console_panic(&b->console, panic, sizeof(panic));
    msg[0] = '\0';
    switch (out) {
    case OUT_INTERRUPTED:
        res->outcome = "interrupted";
        snprintf(msg, msg_len, "interrupted; the VM was stopped");
        return TINYX_EXIT_INTERRUPTED;
    case OUT_READY:
        res->outcome = "ready";
        return TINYX_EXIT_OK;
    case OUT_TIMEOUT:
        res->outcome = "timeout";
        describe_timeout(b, msg, msg_len);
        return TINYX_EXIT_TIMEOUT;
    case OUT_FAILED:
        res->outcome = "failed";
        snprintf(msg, msg_len, "the launcher failed while watching the VM; the VM was stopped");
        return TINYX_EXIT_FAIL;
    case OUT_PANIC:
        res->outcome = "failed";
        snprintf(msg, msg_len,
                 "kernel panic: \"%s\"; the guest did not reset within %u s, so it was stopped",
                 panic, PANIC_GRACE_US / 1000000);
        return TINYX_EXIT_APP;
    case OUT_EXITED:
        break;
    }
    res->outcome = "exited";
    int status = launcher_console_exit_status(&b->console);
    if (status < 0 && b->end.kind == LAUNCHER_VM_END_STATUS)
        status = b->end.code;
    res->exit_status = status;
    if (status < 0) {
        res->outcome = "failed";
        if (b->end.kind == LAUNCHER_VM_END_RESET && res->kernel_panic)
            snprintf(msg, msg_len, "kernel panic: \"%s\"", panic);
        else if (b->end.kind == LAUNCHER_VM_END_RESET)
            snprintf(msg, msg_len,
                     "the guest reset without reporting an exit status (kernel "
                     "panic, triple fault or reboot)");
        else if (b->end.kind == LAUNCHER_VM_END_KILLED)
            snprintf(msg, msg_len, "the %s process was killed by signal %d", backend, b->end.code);
        else
            snprintf(msg, msg_len, "%s failed (exit code %d)", backend, b->end.code);
        return b->end.kind == LAUNCHER_VM_END_RESET ? TINYX_EXIT_APP : TINYX_EXIT_FAIL;
    }
    if (b->cfg->until_ready) {
        snprintf(msg, msg_len, "the guest exited with status %d before the app was ready%s%s",
                 status, b->job_done ? "; last check failure: " : "",
                 b->job_done ? b->check_why : "");
        return TINYX_EXIT_APP;
    }
    if (b->cfg->must_be_ready && res->ready_us < 0) {
        if (res->boot_us < 0)
            snprintf(msg, msg_len,
                     "the guest exited with status %d without signalling the boot timer "
                     "(port 0x%x)",
                     status, BOOT_ABI_TIMER_PORT);
        else
            snprintf(msg, msg_len, "the guest exited with status %d before its %s check passed%s%s",
                     status, launcher_check_kind_name(check->kind), b->check_why[0] ? ": " : "",
                     b->check_why);
        return status ? status : TINYX_EXIT_APP;
    }
    if (res->boot_us < 0)
        tinyx_warn("%sthe guest exited without signalling the boot timer (port 0x%x)",
                   b->cfg->label, BOOT_ABI_TIMER_PORT);
    else if (res->ready_us < 0 && check->kind != LAUNCHER_CHECK_NONE)
        tinyx_warn("%sthe guest exited before its %s check passed%s%s", b->cfg->label,
                   launcher_check_kind_name(check->kind), b->check_why[0] ? ": " : "",
                   b->check_why);
    return status;
}

static int watch(struct boot *b)
{
    const struct launcher_boot_config *cfg = b->cfg;
    struct launcher_boot_result *res = b->res;
    struct launcher_vm_spec spec = {.image_dir = cfg->img->dir,
                                    .kernel_path = cfg->kernel_path,
                                    .initrd_path = cfg->img->initrd_path,
                                    .cmdline = cfg->img->cmdline,
                                    .append = cfg->append,
                                    .virtio_mmio = cfg->virtio_mmio,
                                    .memory_mb = cfg->memory_mb,
                                    .forwards = b->direct ? NULL : res->forwards,
                                    .n_forwards = b->direct ? 0 : res->n_forwards,
                                    .devices = cfg->devices,
                                    .n_devices = cfg->n_devices,
                                    .accel = cfg->accel};
    b->t0 = tinyx_now_us();
    b->deadline = b->t0 + (uint64_t)(cfg->timeout_s * 1e6);
    int rc = cfg->backend->start(&spec, &b->vm);
    if (rc != 0)
        return rc;
    b->vm.backend = cfg->backend;
    b->vm_started = true;
    res->started = true;
    /* The backend linked the guest to the host itself: its ports are at the guest's address. */
    if (!b->direct && b->vm.ports_addr[0])
        launcher_guest_net_direct(res->forwards, res->n_forwards, b->vm.ports_addr);
    for (size_t i = 0; cfg->announce && i < res->n_forwards; i++)
        if (res->forwards[i].host_addr[0])
            tinyx_info("guest port %d is %s:%d", res->forwards[i].guest_port,
                       res->forwards[i].host_addr, res->forwards[i].host_port);

    enum outcome out = event_loop(b);
    launcher_check_job_stop(b->job);
    if (b->job && !b->job_done)
        on_job_done(b);
    if (!b->vm_ended)
        cfg->backend->stop(&b->vm);

    int code = conclude(b, out);
    if (code != TINYX_EXIT_OK && out != OUT_INTERRUPTED && cfg->hint && res->message[0]) {
        size_t used = strlen(res->message);
        snprintf(res->message + used, sizeof(res->message) - used, " (%s)", cfg->hint);
    }
    /* Any non-zero end (a guest status included) shows what the guest said last. */
    bool failed = code != TINYX_EXIT_OK && out != OUT_INTERRUPTED;
    if (res->message[0])
        tinyx_err("%s%s", cfg->label, res->message);
    if (failed && b->console.len && !b->stream) {
        fprintf(stderr, "%s: %slast lines of the guest console:\n", tinyx_progname, cfg->label);
        fflush(stderr);
        launcher_console_write_tail(&b->console, STDERR_FILENO, FAILURE_TAIL_LINES, "  | ");
    }
    if (failed && b->vmm_log.len && tinyx_verbosity < 2) {
        fprintf(stderr, "%s: %s%s said:\n", tinyx_progname, cfg->label, cfg->backend->name);
        fflush(stderr);
        launcher_console_write_tail(&b->vmm_log, STDERR_FILENO, FAILURE_TAIL_LINES, "  | ");
    }
    return code;
}

int launcher_boot_once(const struct launcher_boot_config *cfg, struct launcher_boot_result *res)
{
    memset(res, 0, sizeof(*res));
    res->outcome = "failed";
    res->exit_status = -1;
    res->boot_us = res->ready_us = -1;
    res->mem.rss_kb = res->mem.pss_kb = -1;

    struct boot b;
    memset(&b, 0, sizeof(b));
    b.cfg = cfg;
    b.res = res;
    b.stream = cfg->stream;
    b.vm.console_fd = b.vm.timer_fd = b.vm.log_fd = b.vm.exit_fd = -1;
    if (pick_forwards(&b) < 0)
        return res->exit_code = TINYX_EXIT_ENV;
    b.direct = res->n_forwards && res->forwards[0].direct;
    launcher_console_init(&b.console, CONSOLE_KEEP_BYTES);
    launcher_console_init(&b.vmm_log, VMM_LOG_KEEP_BYTES);

    res->exit_code = watch(&b);

    launcher_check_job_free(b.job);
    if (b.vm_started)
        cfg->backend->release(&b.vm);
    launcher_console_free(&b.console);
    launcher_console_free(&b.vmm_log);
    return res->exit_code;
}
