/* daemon.c: `tinyx-launch daemon`: the launcher daemon's socket, clients and event loop (one
 * epoll with a signalfd); the VMs themselves are in daemon_vms.c. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "launcher/daemon_core.h"
#include "launcher/daemon_net.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define DEFAULT_SOCKET  "/run/tinyx/daemon.sock"
#define DEFAULT_POOL    8u
#define DEFAULT_MEM_MIB 16u
#define MAX_POOL        4096u
#define MAX_OUT_BYTES   (16u << 20) /* a client that reads nothing is dropped past this */
#define MAX_IN_BYTES    (4u << 20)  /* nor may one queue more requests than this */
/* Connections served at once: each may hold MAX_IN_BYTES + MAX_OUT_BYTES and a descriptor, so
 * a client opening connections without end must not cost the host without bound. */
#define MAX_CLIENTS 128u

const char *launcher_daemon_socket_path(const char *given)
{
    if (given && *given)
        return given;
    const char *env = getenv("TINYX_DAEMON_SOCKET");
    return env && *env ? env : DEFAULT_SOCKET;
}

void launcher_daemon_usage(FILE *out)
{
    fprintf(out,
            "Usage: tinyx-launch daemon [OPTIONS]\n"
            "The launcher daemon: keeps prepared VM shells (tinyx-kvm) ready per image and\n"
            "creates VMs from them on request (docs/daemon.md). Clients: tinyx create, destroy,\n"
            "list, stats.\n"
            "\n"
            "Options:\n"
            "  --socket PATH   listen here (default $TINYX_DAEMON_SOCKET or " DEFAULT_SOCKET ")\n"
            "  --pool N        prepared shells kept ready per image (default %u; 0 = none, every\n"
            "                  create builds a fresh VM)\n"
            "  --mem MIB       guest RAM of a prepared shell (default %u)\n"
            "  --image DIR     prepare this image at start (repeatable; others on first use)\n"
            "  --detach        go to the background once ready\n"
            "  --pidfile FILE  write the daemon's pid there\n"
            "  --log FILE      with --detach: messages go there (default: discarded)\n"
            "  --keep-logs     keep the console logs of ended VMs (SOCKET.vm/ID.log)\n"
            "  -v, --verbose   one line per VM event (twice: the monitors' details too)\n"
            "  -h, --help      this help\n",
            DEFAULT_POOL, DEFAULT_MEM_MIB);
}

/* ---- clients ------------------------------------------------------------------------- */

void daemon_watch(struct daemon *d, int fd, void *tagged, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = tagged};
    if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
        tinyx_errno("epoll_ctl(ADD %d)", fd);
}

struct daemon_client *daemon_client_find(struct daemon *d, uint64_t id)
{
    for (struct daemon_client *c = d->clients; c; c = c->next)
        if (c->id == id && !c->dead)
            return c;
    return NULL;
}

static void client_close(struct daemon *d, struct daemon_client *c)
{
    if (c->dead)
        return;
    daemon_vms_client_gone(d, c->id);
    epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    d->n_clients--;
    c->dead = true; /* its pending creates still complete; their replies are dropped */
}

static void client_flush(struct daemon *d, struct daemon_client *c)
{
    while (c->out_len) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            client_close(d, c);
            return;
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
    bool want = c->out_len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
        epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
}

static void client_send(struct daemon *d, struct daemon_client *c, char *line)
{
    size_t len = strlen(line);
    if (c->out_len + len > MAX_OUT_BYTES) {
        tinyx_warn("client %llu reads no replies: dropped", (unsigned long long)c->id);
        free(line);
        client_close(d, c);
        return;
    }
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = tinyx_xrealloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, line, len);
    c->out_len += len;
    free(line);
    client_flush(d, c);
}

static void client_pump(struct daemon *d, struct daemon_client *c);

int daemon_send_fds(struct daemon *d, uint64_t client_id, char *line, const int *fds, unsigned n)
{
    struct daemon_client *c = daemon_client_find(d, client_id);
    if (c)
        client_flush(d, c);
    if (!c || c->dead || c->out_len || n > 4) {
        free(line);
        return -1;
    }
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } control;
    memset(&control, 0, sizeof(control));
    size_t len = strlen(line);
    struct iovec iov = {.iov_base = line, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
    ssize_t w;
    do
        w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        free(line);
        return -1;
    }
    /* The descriptors went with the first byte; the rest of a short write is plain text. */
    if ((size_t)w < len) {
        char *rest = tinyx_xstrdup(line + w);
        client_send(d, c, rest);
    }
    free(line);
    return 0;
}

void daemon_reply(struct daemon *d, uint64_t client_id, char *line)
{
    struct daemon_client *c = daemon_client_find(d, client_id);
    if (!c) {
        free(line);
        return;
    }
    client_send(d, c, line);
    c->busy = false;
    if (!c->pumping)
        client_pump(d, c);
}

static void handle_request(struct daemon *d, struct daemon_client *c, const char *line, size_t len)
{
    uint64_t t_request = tinyx_now_us();
    struct launcher_daemon_request req;
    char err[600];
    if (launcher_daemon_parse(line, len, &req, err, sizeof(err)) < 0) {
        client_send(d, c, launcher_daemon_error_line("%s", err));
        return;
    }
    switch (req.op) {
    case LAUNCHER_DAEMON_CREATE:
        daemon_vms_create(d, c, &req, t_request);
        break;
    case LAUNCHER_DAEMON_DESTROY:
        daemon_vms_destroy(d, c, &req);
        break;
    case LAUNCHER_DAEMON_LIST:
        client_send(d, c, daemon_vms_list(d));
        break;
    case LAUNCHER_DAEMON_STATS:
        client_send(d, c, daemon_vms_stats(d));
        break;
    }
    launcher_daemon_request_free(&req);
}

/* Serve buffered request lines, one at a time (replies go out in request order). */
static void client_pump(struct daemon *d, struct daemon_client *c)
{
    c->pumping = true;
    size_t used = 0;
    while (!c->dead && !c->busy) {
        char *nl = memchr(c->in + used, '\n', c->in_len - used);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (c->in + used));
        if (len && c->in[used + len - 1] == '\r')
            len--;
        if (len)
            handle_request(d, c, c->in + used, len);
        used = (size_t)(nl - c->in) + 1;
    }
    if (used) {
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
    c->pumping = false;
}

static void client_readable(struct daemon *d, struct daemon_client *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 8192;
            c->in = tinyx_xrealloc(c->in, c->in_cap);
        }
        ssize_t got = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (got <= 0) {
            client_close(d, c);
            return;
        }
        c->in_len += (size_t)got;
        /* Requests queue while one is served; a client may not queue without bound. */
        if (c->in_len > MAX_IN_BYTES) {
            client_send(d, c,
                        launcher_daemon_error_line("more than %u bytes of requests queued: "
                                                   "dropped (wait for the replies)",
                                                   MAX_IN_BYTES));
            client_close(d, c);
            return;
        }
        if (c->in_len > LAUNCHER_DAEMON_MAX_LINE && !memchr(c->in, '\n', c->in_len)) {
            client_send(d, c,
                        launcher_daemon_error_line("request line longer than %u bytes: dropped",
                                                   LAUNCHER_DAEMON_MAX_LINE));
            client_close(d, c);
            return;
        }
    }
    client_pump(d, c);
}

static void accept_clients(struct daemon *d)
{
    for (;;) {
        int fd = accept4(d->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                tinyx_errno("accept on the daemon socket");
            return;
        }
        if (d->n_clients >= MAX_CLIENTS) {
            /* Refused with a reason, never queued: the listen backlog stays short. */
            char *line = launcher_daemon_error_line("the daemon serves %u connections at once: "
                                                    "this one is refused (close idle ones, then "
                                                    "retry)",
                                                    MAX_CLIENTS);
            ssize_t w = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w; /* best effort: the close says the rest */
            free(line);
            close(fd);
            continue;
        }
        struct daemon_client *c = tinyx_xcalloc(1, sizeof(*c));
        d->n_clients++;
        c->tag = DAEMON_TAG_CLIENT;
        c->id = ++d->next_client_id;
        c->fd = fd;
        c->next = d->clients;
        d->clients = c;
        daemon_watch(d, fd, c, EPOLLIN);
    }
}

static void collect_clients(struct daemon *d)
{
    struct daemon_client **pp = &d->clients;
    while (*pp) {
        struct daemon_client *c = *pp;
        if (c->dead) {
            *pp = c->next;
            free(c->in);
            free(c->out);
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

/* ---- setup ----------------------------------------------------------------------------- */

static int parse_uint_arg(const char *opt, const char *v, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || v[0] == '-' || n < min || n > max) {
        tinyx_err("%s: expected a whole number from %u to %u, got '%s'", opt, min, max, v ? v : "");
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int parse_args(int argc, char **argv, struct daemon_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            launcher_daemon_usage(stdout);
            return TINYX_EXIT_OK;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            tinyx_verbosity++;
        } else if (!strcmp(a, "--keep-logs")) {
            o->keep_logs = true;
        } else if (!strcmp(a, "--detach")) {
            o->detach = true;
        } else if (!strcmp(a, "--socket") && v) {
            o->socket = argv[++i];
        } else if (!strcmp(a, "--pidfile") && v) {
            o->pidfile = argv[++i];
        } else if (!strcmp(a, "--log") && v) {
            o->log = argv[++i];
        } else if (!strcmp(a, "--image") && v) {
            o->images = tinyx_xrealloc(o->images, (o->n_images + 1) * sizeof(*o->images));
            o->images[o->n_images++] = argv[++i];
        } else if (!strcmp(a, "--pool")) {
            if (parse_uint_arg(a, v, 0, MAX_POOL, &o->pool) < 0)
                return TINYX_EXIT_USAGE;
            i++;
        } else if (!strcmp(a, "--mem")) {
            if (parse_uint_arg(a, v, 2, LAUNCHER_DAEMON_MAX_MEM_MIB, &o->mem_mib) < 0)
                return TINYX_EXIT_USAGE;
            i++;
        } else {
            tinyx_err("daemon: unknown or incomplete option '%s' (see `tinyx daemon --help`)", a);
            return TINYX_EXIT_USAGE;
        }
    }
    return -1;
}

/* Whether a daemon answers on path. */
static bool someone_listens(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return yes;
}

static int open_socket(struct daemon *d)
{
    const char *path = d->opt.socket;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        tinyx_err("socket path %s is too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 1);
        return TINYX_EXIT_USAGE;
    }
    char *dir = tinyx_xstrdup(path);
    int rc = tinyx_mkdir_p(dirname(dir), 0755);
    free(dir);
    if (rc < 0)
        return TINYX_EXIT_ENV;
    if (someone_listens(path)) {
        tinyx_err("a daemon already listens on %s: stop it first (or use --socket)", path);
        return TINYX_EXIT_ENV;
    }
    unlink(path); /* stale, from a daemon that was killed */
    d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    mode_t old = umask(0077); /* the socket is root's: it creates VMs and taps */
    rc = d->listen_fd < 0 ? -1 : bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(d->listen_fd, 4096) < 0) {
        tinyx_errno("cannot listen on %s", path);
        return TINYX_EXIT_ENV;
    }
    return 0;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* --detach: fork; the parent waits until the child is ready (its socket listens, its --image
 * pools are being filled), prints the ready line and exits 0, or exits with the child's code
 * when it fails first (the child's messages still reach the terminal until then). Returns -1
 * or, in the child, the pipe to report readiness on. */
static int detach(struct daemon *d)
{
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return tinyx_errno("cannot fork into the background (pipe)");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return tinyx_errno("cannot fork into the background");
    if (pid > 0) {
        close(ready[1]);
        char byte = 0;
        ssize_t got;
        do
            got = read(ready[0], &byte, 1);
        while (got < 0 && errno == EINTR);
        if (got == 1) {
            printf("tinyx-launch: daemon ready on %s (pool %u, %u MiB, pid %ld, detached)\n",
                   d->opt.socket, d->opt.pool, d->opt.mem_mib, (long)pid);
            fflush(stdout);
            _exit(TINYX_EXIT_OK);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        _exit(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : TINYX_EXIT_FAIL);
    }
    close(ready[0]);
    setsid();
    return ready[1];
}

/* The detached child is ready: tell the parent, and leave the terminal. */
static void detach_done(struct daemon *d, int ready_fd)
{
    char byte = 1;
    ssize_t w = write(ready_fd, &byte, 1);
    (void)w;
    close(ready_fd);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log = d->opt.log ? open(d->opt.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(log >= 0 ? log : null, STDERR_FILENO);
        close(null);
    }
    if (log >= 0)
        close(log);
}

static int setup_loop(struct daemon *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (d->signal_fd < 0 || d->epoll_fd < 0)
        return tinyx_errno("cannot set up the event loop");
    d->listen_tag = DAEMON_TAG_LISTEN;
    d->signal_tag = DAEMON_TAG_SIGNAL;
    daemon_watch(d, d->listen_fd, &d->listen_tag, EPOLLIN);
    daemon_watch(d, d->signal_fd, &d->signal_tag, EPOLLIN);
    return 0;
}

static void on_signals(struct daemon *d)
{
    struct signalfd_siginfo si;
    bool child = false;
    while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            child = true;
        else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            tinyx_info("daemon: signal %u: destroying every VM and stopping", si.ssi_signo);
            d->stopping = true;
        }
    }
    if (child)
        daemon_vms_reap(d);
}

static void run_loop(struct daemon *d)
{
    struct epoll_event events[64];
    while (!d->stopping) {
        int timeout = daemon_vms_tick(d);
        int n = epoll_wait(d->epoll_fd, events, 64, timeout);
        if (n < 0 && errno != EINTR) {
            tinyx_errno("epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            enum daemon_tag *tag = events[i].data.ptr;
            switch (*tag) {
            case DAEMON_TAG_LISTEN:
                accept_clients(d);
                break;
            case DAEMON_TAG_SIGNAL:
                on_signals(d);
                break;
            case DAEMON_TAG_CLIENT: {
                struct daemon_client *c = (struct daemon_client *)tag;
                if (c->dead)
                    break;
                if (events[i].events & EPOLLOUT)
                    client_flush(d, c);
                if (!c->dead && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    client_readable(d, c);
                break;
            }
            case DAEMON_TAG_SHELL: {
                struct daemon_shell *sh = (struct daemon_shell *)tag;
                if (!sh->dead)
                    daemon_vms_shell_readable(d, sh);
                break;
            }
            }
        }
        /* Only now: an event later in the batch may name what an earlier one ended. */
        daemon_vms_collect(d);
        collect_clients(d);
        daemon_vms_refill(d);
    }
}

int launcher_daemon_command(int argc, char **argv)
{
    struct daemon *d = tinyx_xcalloc(1, sizeof(*d));
    d->opt.pool = DEFAULT_POOL;
    d->opt.mem_mib = DEFAULT_MEM_MIB;
    d->listen_fd = d->epoll_fd = d->signal_fd = -1;
    int rc = parse_args(argc, argv, &d->opt);
    if (rc >= 0)
        goto out;
    rc = TINYX_EXIT_OK;
    d->opt.socket = launcher_daemon_socket_path(d->opt.socket);
    if (access("/dev/kvm", R_OK | W_OK) < 0) {
        tinyx_errno("the daemon needs /dev/kvm (load kvm_intel or kvm_amd; run as root)");
        rc = TINYX_EXIT_ENV;
        goto out;
    }
    const char *kvm = getenv("TINYX_KVM");
    snprintf(d->kvm_path, sizeof(d->kvm_path), "%s", kvm && *kvm ? kvm : "");
    if (!d->kvm_path[0])
        snprintf(d->kvm_path, sizeof(d->kvm_path), "%s/tinyx-kvm", tinyx_self_dir());
    if (access(d->kvm_path, X_OK) < 0) {
        tinyx_errno("the daemon runs VMs with %s; build it with `make`", d->kvm_path);
        rc = TINYX_EXIT_ENV;
        goto out;
    }
    raise_fd_limit();
    if ((rc = open_socket(d)) != 0)
        goto out;
    d->vm_dir = tinyx_xasprintf("%s.vm", d->opt.socket);
    tinyx_rm_rf(d->vm_dir); /* console logs of a daemon that was killed */
    if (tinyx_mkdir_p(d->vm_dir, 0700) < 0) {
        rc = TINYX_EXIT_ENV;
        goto out;
    }
    launcher_daemon_sweep_taps();
    int ready_fd = -1;
    if (d->opt.detach && (ready_fd = detach(d)) < 0) {
        rc = TINYX_EXIT_FAIL;
        goto out;
    }
    if (d->opt.pidfile) {
        char pid[24];
        snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (tinyx_write_file_atomic(d->opt.pidfile, pid, strlen(pid), 0644) < 0) {
            rc = TINYX_EXIT_ENV;
            goto out;
        }
    }
    if (setup_loop(d) < 0) {
        rc = TINYX_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < d->opt.n_images; i++)
        if (daemon_vms_prepare_image(d, d->opt.images[i]) < 0) {
            rc = TINYX_EXIT_IMAGE;
            goto stop;
        }
    if (ready_fd >= 0) {
        detach_done(d, ready_fd);
    } else {
        printf("tinyx-launch: daemon ready on %s (pool %u, %u MiB, pid %ld)\n", d->opt.socket,
               d->opt.pool, d->opt.mem_mib, (long)getpid());
        fflush(stdout);
    }
    run_loop(d);
stop:
    d->stopping = true;
    daemon_vms_kill_all(d);
    for (struct daemon_client *c = d->clients; c; c = c->next)
        client_close(d, c);
    collect_clients(d);
    unlink(d->opt.socket);
    if (d->vm_dir)
        tinyx_rm_rf(d->vm_dir);
    if (d->opt.pidfile)
        unlink(d->opt.pidfile);
out:
    if (d->listen_fd >= 0)
        close(d->listen_fd);
    if (d->epoll_fd >= 0)
        close(d->epoll_fd);
    if (d->signal_fd >= 0)
        close(d->signal_fd);
    free(d->vm_dir);
    free(d->opt.images);
    free(d);
    return rc;
}
