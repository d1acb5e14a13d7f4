/* trace.c: tinyx_trace_run: start the sandboxed, traced app, run its check, stop it, clean up. */
#include "tinyx/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tinyx/proc.h"
#include "tinyx/trace_internal.h"
#include "tinyx/util.h"

#define OUTPUT_CAP         (1u << 20)  /* app output kept for messages and the output check */
#define CHECK_OUTPUT_CAP   (64u << 10) /* the check's own messages */
#define DEFAULT_TIMEOUT_MS 30000u
#define TERM_GRACE_US      300000ull  /* SIGTERM, then this long, then SIGKILL */
#define KILL_WAIT_US       5000000ull /* give up waiting for killed processes after this */
#define OUTPUT_SETTLE_US   1000000ull /* a still-running app that printed the expected output */
#define CHECK_RETRY_US     200000ull  /* pause before running a failed check again */
#define IDLE_US                                                                                    \
    3000000ull      /* no check: a running app this long without file syscalls                     \
                       has finished starting */
#define TICK_MS 100 /* longest sleep of the event loop */

/* A capped, growable byte buffer (always NUL-terminated). */
struct capbuf {
    char *data;
    size_t len, cap, limit;
    bool truncated;
    bool eof;
};

struct run {
    const struct tinyx_trace_spec *spec;
    struct tinyx_sandbox sb;
    struct tinyx_tracer tr;
    struct tinyx_trace_check check;
    bool attached;
    pid_t child;
    int out_rd, report_rd, sig_fd;
    struct capbuf out;
    /* the server check */
    pid_t check_pid;
    int check_rd;
    struct capbuf check_out;
    bool check_passed;
    int check_runs;          /* finished runs */
    int check_status;        /* wait status of the last finished run */
    uint64_t check_next_us;  /* when the next run may start */
    uint64_t expect_seen_us; /* output check: when the expected text appeared */
    uint64_t start_us, deadline_us;
    bool show_output; /* the caller does not take the output: put it in our messages */
    int result;       /* -1 while undecided */
    uint64_t stop_us;
    bool killed;
    /* caller's signal state, restored at the end */
    sigset_t old_mask;
    struct sigaction old_chld;
    bool signals_changed;
};

static void buf_init(struct capbuf *b, size_t limit)
{
    b->cap = 4096;
    b->data = tinyx_xmalloc(b->cap);
    b->data[0] = '\0';
    b->len = 0;
    b->limit = limit;
    b->truncated = b->eof = false;
}

/* Read what fd has (non-blocking); keep up to the limit, drop the rest. */
static void buf_drain(struct capbuf *b, int fd)
{
    char chunk[16384];
    while (fd >= 0 && !b->eof) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return; /* EAGAIN: nothing more for now */
        if (n == 0) {
            b->eof = true;
            return;
        }
        size_t keep = (size_t)n;
        if (b->len + keep > b->limit) {
            keep = b->limit - b->len;
            b->truncated = true;
        }
        if (b->len + keep + 1 > b->cap) {
            while (b->len + keep + 1 > b->cap)
                b->cap *= 2;
            b->data = tinyx_xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, chunk, keep);
        b->len += keep;
        b->data[b->len] = '\0';
    }
}

/* The last lines of a buffer for a message (points into it). */
static const char *tail(const struct capbuf *b)
{
    const size_t max = 2000;
    if (b->len == 0)
        return "(no output)";
    if (b->len <= max)
        return b->data;
    const char *t = b->data + b->len - max;
    const char *nl = strchr(t, '\n');
    return nl && nl[1] ? nl + 1 : t;
}

/* The end of a message: the app's output, unless the caller gets (and shows) it. Returns
 * either "" or ": its output:\n..." in buf. */
static const char *app_output(const struct run *r, char *buf, size_t len)
{
    if (!r->show_output)
        return "";
    snprintf(buf, len, "; its output:\n%s", tail(&r->out));
    return buf;
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "ended (wait status 0x%x)", (unsigned)status);
}

static int validate(const struct tinyx_trace_spec *spec)
{
    if (!spec->root || !tinyx_is_dir(spec->root))
        return tinyx_err("cannot trace: the staged root %s is not a folder",
                         spec->root ? spec->root : "(none)");
    if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
        return tinyx_err("cannot trace: the command must start with an absolute path inside the "
                         "root (got \"%s\")",
                         spec->argv && spec->argv[0] ? spec->argv[0] : "");
    if (spec->cwd && *spec->cwd && spec->cwd[0] != '/')
        return tinyx_err("cannot trace: the working folder must be absolute (got \"%s\")",
                         spec->cwd);
    if (geteuid() != 0)
        return tinyx_err("tracing the app needs root (namespaces, overlayfs mounts, ptrace); run "
                         "tinyx build as root");
    return 0;
}

/* ---- start-up ----------------------------------------------------------------------------- */

static int block_sigchld(struct run *r)
{
    /* SIGCHLD arrives through a signalfd; its disposition must not be SIG_IGN, or children
     * would be reaped behind our back. */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &r->old_mask);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, &r->old_chld);
    r->signals_changed = true;
    r->sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r->sig_fd < 0)
        return tinyx_errno("signalfd");
    return 0;
}

static int start_child(struct run *r)
{
    int out[2], report[2], go[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return tinyx_errno("pipe");
    if (pipe2(report, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return tinyx_errno("pipe");
    }
    if (pipe2(go, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        close(report[0]);
        close(report[1]);
        return tinyx_errno("pipe");
    }
    r->sb.out_fd = out[1];
    r->sb.report_fd = report[1];
    r->sb.go_fd = go[0];
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]); /* so that a dead parent means EOF on go */
        close(out[0]);
        close(report[0]);
        tinyx_sandbox_child(&r->sb);
    }
    int fork_errno = errno;
    close(out[1]);
    close(report[1]);
    close(go[0]);
    r->out_rd = out[0];
    r->report_rd = report[0];
    fcntl(r->out_rd, F_SETFL, O_NONBLOCK);
    fcntl(r->report_rd, F_SETFL, O_NONBLOCK);
    if (pid < 0) {
        close(go[1]);
        errno = fork_errno;
        return tinyx_errno("cannot start the app for tracing (fork)");
    }
    r->child = pid;
    if (tinyx_tracer_attach(&r->tr, pid) < 0) {
        close(go[1]); /* the child sees EOF and exits */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        r->child = 0;
        return -1;
    }
    r->attached = true;
    ssize_t w = write(go[1], "g", 1);
    close(go[1]);
    if (w != 1)
        return tinyx_errno("cannot start the traced app");
    return 0;
}

/* ---- the event loop ----------------------------------------------------------------------- */

static void reap(struct run *r)
{
    for (;;) {
        int status;
        pid_t w = waitpid(-1, &status, __WALL | WNOHANG);
        if (w == 0)
            return;
        if (w < 0) {
            if (errno == EINTR)
                continue;
            /* ECHILD: nothing of ours is left (no child, no tracee). */
            r->tr.n_live = 0;
            r->check_pid = 0;
            return;
        }
        if (w == r->check_pid) {
            r->check_pid = 0;
            r->check_status = status;
            r->check_runs++;
            buf_drain(&r->check_out, r->check_rd);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                r->check_passed = true;
            continue;
        }
        tinyx_tracer_handle(&r->tr, w, status);
    }
}

static void set_result(struct run *r, int result)
{
    if (r->result < 0)
        r->result = result;
}

/* The sandbox child ended before its execve: say why. */
static void setup_failure(struct run *r)
{
    struct tinyx_sandbox_report rep;
    ssize_t n = read(r->report_rd, &rep, sizeof(rep));
    if (n == (ssize_t)sizeof(rep)) {
        set_result(r, tinyx_sandbox_explain(&r->sb, r->spec, &rep));
        return;
    }
    char how[128];
    describe_status(r->tr.main_status, how, sizeof(how));
    tinyx_err("the trace sandbox for %s %s before running it", r->spec->argv[0], how);
    set_result(r, TINYX_TRACE_SETUP_FAILED);
}

static unsigned remaining_s(const struct run *r, uint64_t now)
{
    /* Rounded down, so that a failing check reports before our own deadline. */
    unsigned s = now >= r->deadline_us ? 0 : (unsigned)((r->deadline_us - now) / 1000000);
    return s ? s : 1;
}

static bool check_can_retry(int status)
{
    /* Usage errors, a missing launcher, or a host problem will not go away by retrying. */
    if (!WIFEXITED(status))
        return true;
    int code = WEXITSTATUS(status);
    return code != 2 && code != 6 && code != 126 && code != 127;
}

static void decide_server(struct run *r, bool app_gone, uint64_t now)
{
    char msg[2100];
    const struct tinyx_trace_spec *spec = r->spec;
    if (r->check_passed) {
        set_result(r, TINYX_TRACE_OK);
        return;
    }
    char how[128];
    if (app_gone) {
        describe_status(r->tr.main_status, how, sizeof(how));
        tinyx_err("the app %s %s before its %s passed%s", spec->argv[0], how, r->check.description,
                  app_output(r, msg, sizeof(msg)));
        set_result(r, TINYX_TRACE_EXITED_EARLY);
        return;
    }
    if (r->check_pid == 0 && r->check_runs > 0 && !check_can_retry(r->check_status)) {
        describe_status(r->check_status, how, sizeof(how));
        tinyx_err("the %s could not run: `%s check` %s:\n%s", r->check.description, spec->launcher,
                  how, tail(&r->check_out));
        set_result(r, TINYX_TRACE_CHECK_FAILED);
        return;
    }
    if (now >= r->deadline_us) {
        if (r->check_runs > 0 && r->check_pid == 0) {
            describe_status(r->check_status, how, sizeof(how));
            tinyx_err("the %s of %s did not pass within %u ms (the check %s):\n%s",
                      r->check.description, spec->argv[0], spec->timeout_ms, how,
                      tail(&r->check_out));
            set_result(r, TINYX_TRACE_CHECK_FAILED);
        } else {
            tinyx_err("the %s of %s did not finish within %u ms%s", r->check.description,
                      spec->argv[0], spec->timeout_ms, app_output(r, msg, sizeof(msg)));
            set_result(r, TINYX_TRACE_TIMEOUT);
        }
        return;
    }
    if (r->check_pid == 0 && now >= r->check_next_us && r->tr.netns_fd >= 0) {
        r->check_out.len = 0;
        r->check_out.data[0] = '\0';
        r->check_out.eof = false;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) {
            tinyx_errno("pipe");
            set_result(r, TINYX_TRACE_SETUP_FAILED);
            return;
        }
        pid_t pid = tinyx_trace_check_start(spec->launcher, spec->check_json, r->tr.netns_fd,
                                            remaining_s(r, now), fds[1]);
        close(fds[1]);
        if (pid < 0) {
            close(fds[0]);
            set_result(r, TINYX_TRACE_SETUP_FAILED);
            return;
        }
        if (r->check_rd >= 0)
            close(r->check_rd);
        r->check_rd = fds[0];
        fcntl(r->check_rd, F_SETFL, O_NONBLOCK);
        r->check_pid = pid;
        r->check_next_us = now + CHECK_RETRY_US;
    }
}

static void decide_output(struct run *r, bool app_gone, uint64_t now)
{
    char msg[2100];
    const struct tinyx_trace_spec *spec = r->spec;
    if (strstr(r->out.data, r->check.expect)) {
        if (!r->expect_seen_us)
            r->expect_seen_us = now;
        /* A server that printed what we wait for: give it a moment to finish starting. */
        if (app_gone || now >= r->expect_seen_us + OUTPUT_SETTLE_US || now >= r->deadline_us)
            set_result(r, TINYX_TRACE_OK);
        return;
    }
    if (app_gone) {
        char how[128];
        describe_status(r->tr.main_status, how, sizeof(how));
        tinyx_err("the output check of %s failed: it %s and its output lacks \"%s\"%s%s",
                  spec->argv[0], how, r->check.expect,
                  r->out.truncated ? " (in its first 1 MiB)" : "", app_output(r, msg, sizeof(msg)));
        set_result(r, TINYX_TRACE_CHECK_FAILED);
    } else if (now >= r->deadline_us) {
        tinyx_err("the output of %s did not contain \"%s\" within %u ms%s", spec->argv[0],
                  r->check.expect, spec->timeout_ms, app_output(r, msg, sizeof(msg)));
        set_result(r, TINYX_TRACE_TIMEOUT);
    }
}

static void decide_none(struct run *r, bool app_gone, uint64_t now)
{
    char msg[2100];
    if (app_gone) {
        int st = r->tr.main_status;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            set_result(r, TINYX_TRACE_OK);
        } else {
            char how[128];
            describe_status(st, how, sizeof(how));
            tinyx_err("the app %s %s%s", r->spec->argv[0], how, app_output(r, msg, sizeof(msg)));
            set_result(r, TINYX_TRACE_EXITED_EARLY);
        }
    } else if (now >= r->tr.last_activity_us + IDLE_US || now >= r->deadline_us) {
        /* Without a check nothing says "started"; a server that stopped touching files has. */
        tinyx_info("trace: %s (no check) still runs, idle for %llu ms; stopping it",
                   r->spec->argv[0], (unsigned long long)(now - r->tr.last_activity_us) / 1000);
        set_result(r, TINYX_TRACE_OK);
    }
}

static void decide(struct run *r, uint64_t now)
{
    if (tinyx_interrupted()) {
        tinyx_err("interrupted while tracing %s", r->spec->argv[0]);
        set_result(r, TINYX_TRACE_INTERRUPTED);
        return;
    }
    if (!r->tr.main_exec_done) {
        if (r->tr.main_exited || r->tr.n_live == 0) {
            setup_failure(r);
        } else if (now >= r->deadline_us) {
            tinyx_err("the trace sandbox for %s did not start within %u ms", r->spec->argv[0],
                      r->spec->timeout_ms);
            set_result(r, TINYX_TRACE_TIMEOUT);
        }
        return;
    }
    bool app_gone = r->tr.n_live == 0;
    if (app_gone)
        buf_drain(&r->out, r->out_rd); /* everything it wrote before exiting */
    if (r->check.mode == TINYX_TRACE_CHECK_SERVER)
        decide_server(r, app_gone, now);
    else if (r->check.mode == TINYX_TRACE_CHECK_OUTPUT)
        decide_output(r, app_gone, now);
    else
        decide_none(r, app_gone, now);
}

/* Once decided: SIGTERM everything, SIGKILL after a grace period, reap. True when done. */
static bool wind_down(struct run *r, uint64_t now)
{
    if (!r->stop_us) {
        r->stop_us = now;
        tinyx_tracer_signal_all(&r->tr, SIGTERM);
        if (r->check_pid > 0)
            kill(r->check_pid, SIGKILL);
    }
    if (!r->killed && (now >= r->stop_us + TERM_GRACE_US || tinyx_interrupted())) {
        r->killed = true;
        tinyx_tracer_signal_all(&r->tr, SIGKILL);
    }
    if (r->killed)
        tinyx_tracer_signal_all(&r->tr, SIGKILL); /* also any child forked meanwhile */
    if (r->tr.n_live == 0 && r->check_pid <= 0)
        return true;
    if (now >= r->stop_us + TERM_GRACE_US + KILL_WAIT_US) {
        tinyx_warn("trace: %zu traced processes of %s did not go away after SIGKILL", r->tr.n_live,
                   r->spec->argv[0]);
        return true;
    }
    return false;
}

static void event_loop(struct run *r)
{
    for (;;) {
        reap(r);
        buf_drain(&r->out, r->out_rd);
        if (r->check_rd >= 0)
            buf_drain(&r->check_out, r->check_rd);
        uint64_t now = tinyx_now_us();
        if (r->result < 0)
            decide(r, now);
        if (r->result >= 0 && wind_down(r, now))
            return;

        struct pollfd pfd[3] = {{.fd = r->sig_fd, .events = POLLIN},
                                {.fd = r->out.eof ? -1 : r->out_rd, .events = POLLIN},
                                {.fd = r->check_rd, .events = POLLIN}};
        int timeout = TICK_MS;
        if (r->result < 0 && r->deadline_us > now && (r->deadline_us - now) / 1000 < TICK_MS)
            timeout = (int)((r->deadline_us - now) / 1000) + 1;
        if (r->result >= 0)
            timeout = 20;
        if (poll(pfd, 3, timeout) > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(r->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            }
        }
    }
}

/* ---- the whole run ------------------------------------------------------------------------ */

static void cleanup(struct run *r)
{
    /* Normally the loop has reaped everything; this covers the early failure paths. */
    if (r->attached && r->tr.n_live) {
        tinyx_tracer_signal_all(&r->tr, SIGKILL);
        uint64_t give_up = tinyx_now_us() + KILL_WAIT_US;
        while (r->tr.n_live && tinyx_now_us() < give_up) {
            reap(r);
            usleep(1000);
        }
    } else if (r->child > 0 && !r->attached) {
        kill(r->child, SIGKILL);
        waitpid(r->child, NULL, __WALL);
    }
    if (r->check_pid > 0) {
        kill(r->check_pid, SIGKILL);
        waitpid(r->check_pid, NULL, 0);
    }
    if (r->out_rd >= 0)
        close(r->out_rd);
    if (r->report_rd >= 0)
        close(r->report_rd);
    if (r->check_rd >= 0)
        close(r->check_rd);
    if (r->sig_fd >= 0)
        close(r->sig_fd);
    if (r->signals_changed) {
        sigaction(SIGCHLD, &r->old_chld, NULL);
        sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
    }
    free(r->sb.filter.filter);
    r->sb.filter.filter = NULL;
    tinyx_tracer_free(&r->tr);
    tinyx_sandbox_destroy(&r->sb);
    tinyx_trace_check_free(&r->check);
    free(r->check_out.data);
}

int tinyx_trace_run(const struct tinyx_trace_spec *spec, struct strvec *paths, char **output)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.spec = spec;
    r.result = -1;
    r.show_output = output == NULL;
    r.out_rd = r.report_rd = r.check_rd = r.sig_fd = -1;
    r.tr.root_fd = r.tr.netns_fd = -1;
    buf_init(&r.out, OUTPUT_CAP);
    buf_init(&r.check_out, CHECK_OUTPUT_CAP);
    unsigned timeout_ms = spec->timeout_ms ? spec->timeout_ms : DEFAULT_TIMEOUT_MS;
    struct tinyx_trace_spec effective = *spec;
    effective.timeout_ms = timeout_ms;
    r.spec = &effective;

    if (validate(spec) < 0 || tinyx_trace_check_parse(spec, &r.check) < 0 ||
        tinyx_tracer_build_filter(&r.sb.filter) < 0 || tinyx_sandbox_prepare(&r.sb, spec) < 0 ||
        block_sigchld(&r) < 0) {
        r.result = TINYX_TRACE_SETUP_FAILED;
    } else {
        r.start_us = tinyx_now_us();
        r.deadline_us = r.start_us + timeout_ms * 1000ull;
        if (start_child(&r) < 0)
            r.result = TINYX_TRACE_SETUP_FAILED;
        else
            event_loop(&r);
    }
    if (r.result < 0)
        r.result = TINYX_TRACE_SETUP_FAILED;
    uint64_t elapsed_ms = r.start_us ? (tinyx_now_us() - r.start_us) / 1000 : 0;
    unsigned long n_stops = r.tr.n_stops;
    size_t n_paths = r.tr.paths.n;
    if (paths)
        tinyx_tracer_take_paths(&r.tr, paths);
    cleanup(&r);
    if (r.result == TINYX_TRACE_OK)
        tinyx_info("traced %s: %zu paths from %lu file syscalls in %llu ms", spec->argv[0], n_paths,
                   n_stops, (unsigned long long)elapsed_ms);
    if (output)
        *output = r.out.data;
    else
        free(r.out.data);
    return r.result;
}

const char *tinyx_trace_result_name(int result)
{
    switch (result) {
    case TINYX_TRACE_OK:
        return "ok";
    case TINYX_TRACE_EXEC_FAILED:
        return "exec failed";
    case TINYX_TRACE_EXITED_EARLY:
        return "exited early";
    case TINYX_TRACE_CHECK_FAILED:
        return "check failed";
    case TINYX_TRACE_TIMEOUT:
        return "timeout";
    case TINYX_TRACE_SETUP_FAILED:
        return "setup failed";
    case TINYX_TRACE_INTERRUPTED:
        return "interrupted";
    default:
        return "unknown";
    }
}
