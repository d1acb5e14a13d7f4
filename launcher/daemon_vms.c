/* daemon_vms.c: the daemon's VMs and prepared shells: take from the pool and refill it,
 * execute a create (taps, device page, command line), shell messages, destroy, reaping. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "initramfs/boot_abi.h"
#include "launcher/daemon_core.h"
#include "launcher/daemon_net.h"
#include "launcher/vmm_devpage.h"
#include "launcher/shell_abi.h"
#include "launcher/vdev_net.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

/* Shells of one template that die before they are READY, in a row, before it is given up. */
#define MAX_PREPARE_FAILURES 3
/* A shell not READY this long after its spawn is killed (and counts as a failure);
 * TINYX_DAEMON_PREPARE_TIMEOUT_MS overrides it (tests). */
#define PREPARE_TIMEOUT_US (20ull * 1000 * 1000)

static uint64_t prepare_timeout_us(void)
{
    const char *env = getenv("TINYX_DAEMON_PREPARE_TIMEOUT_MS");
    unsigned long ms = env ? strtoul(env, NULL, 10) : 0;
    return ms ? (uint64_t)ms * 1000 : PREPARE_TIMEOUT_US;
}

/* ---- templates and the pool ---------------------------------------------------------- */

static struct launcher_template *find_template(struct daemon *d, const char *image, unsigned mem)
{
    for (size_t i = 0; i < d->n_tpls; i++)
        if (d->tpls[i]->mem_mib == mem && !strcmp(d->tpls[i]->image, image))
            return d->tpls[i];
    return NULL;
}

static struct launcher_template *get_template(struct daemon *d, const char *image, unsigned mem,
                                              char *err, size_t errlen)
{
    struct launcher_template *t = find_template(d, image, mem);
    if (t)
        return t;
    if (launcher_template_load(image, mem, &t, err, errlen) != 0)
        return NULL;
    /* Only the daemon's shell size is kept ready; other sizes are made on demand. */
    t->target = mem == d->opt.mem_mib ? d->opt.pool : 0;
    d->tpls = tinyx_xrealloc(d->tpls, (d->n_tpls + 1) * sizeof(*d->tpls));
    d->tpls[d->n_tpls++] = t;
    tinyx_debug("template %s (%u MiB) loaded", image, mem);
    return t;
}

static void add_shell(struct daemon *d, struct daemon_shell *sh)
{
    if (d->n_shells == d->cap_shells) {
        d->cap_shells = d->cap_shells ? 2 * d->cap_shells : 64;
        d->shells = tinyx_xrealloc(d->shells, d->cap_shells * sizeof(*d->shells));
    }
    d->shells[d->n_shells++] = sh;
}

static struct daemon_shell *spawn(struct daemon *d, struct launcher_template *t, char *err,
                                  size_t errlen)
{
    if (t->broken[0]) {
        snprintf(err, errlen, "%s", t->broken);
        return NULL;
    }
    int sock = -1;
    pid_t pid = launcher_shell_spawn(t, d->kvm_path, tinyx_verbosity >= 3, &sock, err, errlen);
    if (pid < 0)
        return NULL;
    struct daemon_shell *sh = tinyx_xcalloc(1, sizeof(*sh));
    sh->tag = DAEMON_TAG_SHELL;
    sh->state = SHELL_PREPARING;
    sh->timer_w = -1;
    sh->pid = pid;
    sh->sock = sock;
    sh->tpl = t;
    sh->t_spawn = tinyx_now_us();
    d->n_preparing++;
    add_shell(d, sh);
    daemon_watch(d, sock, sh, EPOLLIN);
    sh->in_epoll = true;
    return sh;
}

/* Keep t's pool full: spawn shells until ready + preparing (unclaimed) reach its target. */
static void refill(struct daemon *d, struct launcher_template *t)
{
    while (!d->stopping && !t->broken[0] && t->ready + t->preparing < t->target) {
        char err[512];
        struct daemon_shell *sh = spawn(d, t, err, sizeof(err));
        if (!sh) {
            tinyx_err("cannot refill the pool of %s: %s", t->image, err);
            return;
        }
        t->preparing++;
    }
}

/* A VM handed to its client at once ("attach": `tinyx run`) whose guest has not signalled its
 * boot timer yet, within its boot deadline: booting, although no create reply is pending. */
static bool attached_booting(const struct daemon_shell *sh, uint64_t now)
{
    return !sh->dead && !sh->destroying && sh->id && sh->attach_client && !sh->t_boot &&
           (sh->state == SHELL_STARTING || sh->state == SHELL_BOOTING) && now < sh->boot_deadline;
}

bool daemon_vms_guest_booting(const struct daemon *d, uint64_t now)
{
    if (d->pending_creates)
        return true;
    for (size_t i = 0; i < d->n_shells; i++)
        if (attached_booting(d->shells[i], now))
            return true;
    return false;
}

void daemon_vms_refill(struct daemon *d)
{
    /* Off the hot path: spawning competes for the CPUs with a guest that is booting, whether
     * its create reply waits for the boot-timer byte or went out at once (attach). */
    if (d->stopping || daemon_vms_guest_booting(d, tinyx_now_us()))
        return;
    for (size_t i = 0; i < d->n_tpls; i++)
        refill(d, d->tpls[i]);
}

int daemon_vms_prepare_image(struct daemon *d, const char *image)
{
    char real[PATH_MAX], err[600];
    if (!realpath(image, real))
        return tinyx_errno("--image %s", image);
    struct launcher_template *t = get_template(d, real, d->opt.mem_mib, err, sizeof(err));
    if (!t)
        return tinyx_err("--image %s: %s", image, err);
    refill(d, t);
    return 0;
}

/* ---- execute --------------------------------------------------------------------------- */

static void fail_create(struct daemon *d, struct daemon_shell *sh, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_create(struct daemon *d, struct daemon_shell *sh, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (sh->create_client) {
        daemon_reply(d, sh->create_client, launcher_daemon_error_line("%s", msg));
        sh->create_client = 0;
        d->pending_creates--;
    }
}

static char *build_cmdline(const struct daemon_shell *sh, const struct launcher_daemon_request *req)
{
    /* No tinyx.ip=/tinyx.gw=: guests (the Linux init too) read their network from the device
     * page. */
    return tinyx_xasprintf("%s%s%s", sh->tpl->cmdline, req->cmdline ? " " : "",
                           req->cmdline ? req->cmdline : "");
}

static int send_exec(struct daemon_shell *sh, const struct shell_abi_exec *x, const int *fds,
                     unsigned n_fds)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * (2 + DEVPAGE_ABI_MAX_DEVICES))];
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = {.iov_base = (void *)x, .iov_len = sizeof(*x)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * n_fds)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    ssize_t w;
    do
        w = sendmsg(sh->sock, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)sizeof(*x) ? 0 : -1;
}

static void put_back(struct daemon_shell *sh)
{
    /* The request failed before the shell was used: it stays prepared. */
    sh->id = 0;
    sh->claimed = false;
    sh->fresh = false;
    sh->create_client = 0;
    sh->state = SHELL_READY;
    sh->tpl->ready++;
}

/* The execute phase for a READY shell: taps, device page, command line, console, one message.
 * Takes req. */
static void execute(struct daemon *d, struct daemon_shell *sh, struct launcher_daemon_request *req)
{
    struct shell_abi_exec *x = tinyx_xcalloc(1, sizeof(*x));
    int fds[2 + DEVPAGE_ABI_MAX_DEVICES];
    unsigned n_fds = 0;
    /* attach: the client's ends of the console, log and boot-timer pipes. */
    int mine[3] = {-1, -1, -1};
    char err[600] = "";
    uint64_t client;
    uint64_t id = ++d->next_vm_id;
    struct launcher_devpage_net nets[DEVPAGE_ABI_MAX_DEVICES];
    memset(nets, 0, sizeof(nets));

    x->magic = SHELL_ABI_EXEC_MAGIC;
    x->instance = id;
    x->timeout_ms = req->timeout_ms;
    x->n_net = req->n_net;
    if (req->attach) {
        int console[2], log[2], timer[2];
        if (pipe2(console, O_CLOEXEC) < 0) {
            snprintf(err, sizeof(err), "cannot create pipes: %s", strerror(errno));
            goto fail;
        }
        fds[n_fds++] = console[1];
        mine[0] = console[0];
        if (pipe2(log, O_CLOEXEC) < 0) {
            snprintf(err, sizeof(err), "cannot create pipes: %s", strerror(errno));
            goto fail;
        }
        fds[n_fds++] = log[1];
        mine[1] = log[0];
        if (pipe2(timer, O_CLOEXEC | O_NONBLOCK) < 0) {
            snprintf(err, sizeof(err), "cannot create pipes: %s", strerror(errno));
            goto fail;
        }
        mine[2] = timer[0];
        sh->timer_w = timer[1];
        x->flags |= SHELL_ABI_EXEC_LOG;
    } else {
        sh->console = tinyx_xasprintf("%s/%llu.log", d->vm_dir, (unsigned long long)id);
        fds[n_fds] = open(sh->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fds[n_fds] < 0) {
            snprintf(err, sizeof(err), "cannot create the console log %s: %s", sh->console,
                     strerror(errno));
            goto fail;
        }
        n_fds++;
    }
    for (unsigned i = 0; i < req->n_net; i++) {
        const struct launcher_daemon_net *n = &req->net[i];
        char name[IFNAMSIZ];
        if (n->tap[0])
            snprintf(name, sizeof(name), "%s", n->tap);
        else
            snprintf(name, sizeof(name), LAUNCHER_DAEMON_TAP_PREFIX "%llun%u",
                     (unsigned long long)id, i);
        int fd = launcher_daemon_tap(name, n->bridge, x->net[i].ifname, err, sizeof(err));
        if (fd < 0)
            goto fail;
        fds[n_fds++] = fd;
        snprintf(sh->taps[i], IFNAMSIZ, "%s", x->net[i].ifname);
        sh->n_taps = i + 1;
        if (n->have_mac)
            memcpy(nets[i].mac, n->mac, 6);
        else
            launcher_vdev_net_default_mac(x->net[i].ifname, nets[i].mac);
        memcpy(x->net[i].mac, nets[i].mac, 6);
        nets[i].slot = i; /* a shell plugs only these, in order (vmm_shell.c) */
        nets[i].have_ip = n->have_ip;
        memcpy(nets[i].ip, n->ip, 4);
        nets[i].prefix = n->prefix;
        nets[i].have_gw = n->have_gw;
        memcpy(nets[i].gw, n->gw, 4);
    }
    x->devpage_len =
        (uint32_t)launcher_devpage_build((struct devpage_abi *)x->devpage, id, nets, req->n_net);
    char *cmdline = build_cmdline(sh, req);
    if (strlen(cmdline) >= sizeof(x->cmdline)) {
        snprintf(err, sizeof(err), "the command line is too long (%zu bytes)", strlen(cmdline));
        free(cmdline);
        goto fail;
    }
    strcpy(x->cmdline, cmdline);
    free(cmdline);
    if (send_exec(sh, x, fds, n_fds) < 0) {
        snprintf(err, sizeof(err), "the shell (pid %ld) did not take the execute record: %s",
                 (long)sh->pid, strerror(errno));
        kill(sh->pid, SIGKILL);
        sh->destroying = true;
        goto fail_no_putback;
    }
    for (unsigned i = 0; i < n_fds; i++)
        close(fds[i]);
    if (req->n_net) {
        const uint8_t *m = nets[0].mac;
        snprintf(sh->mac, sizeof(sh->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                 m[4], m[5]);
        snprintf(sh->ip, sizeof(sh->ip), "%s", req->net[0].ip_text);
    }
    sh->id = id;
    sh->state = SHELL_STARTING;
    sh->t_vm_start = tinyx_now_us();
    sh->boot_deadline = sh->t_request + (uint64_t)req->boot_timeout_ms * 1000;
    d->created++;
    tinyx_debug("vm %llu: pid %ld, %s shell of %s%s", (unsigned long long)id, (long)sh->pid,
                sh->fresh ? "fresh" : "prepared", sh->tpl->image, req->attach ? " (attached)" : "");
    if (req->attach) {
        /* The client watches the guest itself: reply now, with its pipes. */
        json_t *r = json_pack("{s:b,s:I,s:i,s:s,s:b,s:i}", "ok", 1, "id", (json_int_t)id, "pid",
                              (int)sh->pid, "shell", sh->fresh ? "fresh" : "prepared", "attached",
                              1, "mem_mib", (int)sh->tpl->mem_mib);
        client = sh->create_client;
        sh->create_client = 0;
        d->pending_creates--;
        if (daemon_send_fds(d, client, launcher_daemon_reply_line(r), mine, 3) == 0) {
            sh->attach_client = client;
        } else {
            kill(sh->pid, SIGKILL); /* nobody to watch it */
            sh->destroying = true;
            daemon_reply(d, client,
                         launcher_daemon_error_line("cannot hand the VM's pipes over (read the "
                                                    "replies before sending \"attach\")"));
        }
    }
    for (unsigned i = 0; i < 3; i++)
        if (mine[i] >= 0)
            close(mine[i]);
    free(x);
    launcher_daemon_request_free(req);
    free(req);
    return;
fail:
    client = sh->create_client;
    put_back(sh);
    sh->create_client = client;
fail_no_putback:
    for (unsigned i = 0; i < n_fds; i++)
        close(fds[i]);
    for (unsigned i = 0; i < 3; i++)
        if (mine[i] >= 0)
            close(mine[i]);
    if (sh->timer_w >= 0)
        close(sh->timer_w);
    sh->timer_w = -1;
    if (sh->console) {
        unlink(sh->console);
        free(sh->console);
        sh->console = NULL;
    }
    sh->n_taps = 0;
    /* The id stays used: ids are never reused within a daemon's life. */
    client = sh->create_client;
    sh->create_client = 0;
    if (client) {
        d->pending_creates--;
        daemon_reply(d, client, launcher_daemon_error_line("%s", err));
    }
    free(x);
    launcher_daemon_request_free(req);
    free(req);
}

static struct daemon_shell *take(struct daemon *d, struct launcher_template *t,
                                 enum daemon_shell_state state)
{
    for (size_t i = 0; i < d->n_shells; i++) {
        struct daemon_shell *sh = d->shells[i];
        if (!sh->dead && !sh->destroying && sh->tpl == t && sh->state == state && !sh->claimed &&
            !sh->id)
            return sh;
    }
    return NULL;
}

void daemon_vms_create(struct daemon *d, struct daemon_client *c,
                       struct launcher_daemon_request *req, uint64_t t_request)
{
    char err[700], real[PATH_MAX];
    struct launcher_daemon_request *owned = tinyx_xmalloc(sizeof(*owned));
    *owned = *req; /* takes the strings */
    memset(req, 0, sizeof(*req));
    if (!realpath(owned->image, real)) {
        daemon_reply(d, c->id,
                     launcher_daemon_error_line("image folder %s: %s (give the absolute path of "
                                                "a folder made by `tinyx build` or `make guests`)",
                                                owned->image, strerror(errno)));
        goto drop;
    }
    unsigned mem = owned->mem_mib ? owned->mem_mib : d->opt.mem_mib;
    struct launcher_template *pool_tpl = get_template(d, real, d->opt.mem_mib, err, sizeof(err));
    if (!pool_tpl) {
        daemon_reply(d, c->id, launcher_daemon_error_line("%s", err));
        goto drop;
    }
    /* A prepared shell serves any request that fits in it; a bigger one gets a fresh shell. */
    struct launcher_template *t = pool_tpl;
    if (mem > d->opt.mem_mib) {
        t = get_template(d, real, mem, err, sizeof(err));
        if (!t) {
            daemon_reply(d, c->id, launcher_daemon_error_line("%s", err));
            goto drop;
        }
    }
    struct daemon_shell *sh = take(d, t, SHELL_READY);
    bool fresh = !sh;
    if (sh) {
        t->ready--;
    } else if ((sh = take(d, t, SHELL_PREPARING))) {
        t->preparing--; /* being prepared already: claim it */
    } else if (!(sh = spawn(d, t, err, sizeof(err)))) {
        daemon_reply(d, c->id, launcher_daemon_error_line("%s", err));
        goto drop;
    }
    sh->fresh = fresh;
    sh->t_request = t_request;
    sh->create_client = c->id;
    d->pending_creates++;
    c->busy = true;
    if (sh->state == SHELL_READY) {
        execute(d, sh, owned);
    } else {
        sh->claimed = true;
        sh->pending_req = owned;
    }
    return;
drop:
    launcher_daemon_request_free(owned);
    free(owned);
}

/* ---- messages from shells -------------------------------------------------------------- */

static void reply_created(struct daemon *d, struct daemon_shell *sh, bool booted)
{
    if (!sh->create_client)
        return;
    json_t *taps = json_array();
    for (unsigned i = 0; i < sh->n_taps; i++)
        json_array_append_new(taps, json_string(sh->taps[i]));
    json_t *r =
        json_pack("{s:b,s:I,s:i,s:s,s:I,s:s,s:i,s:o}", "ok", 1, "id", (json_int_t)sh->id, "pid",
                  (int)sh->pid, "shell", sh->fresh ? "fresh" : "prepared", "create_us",
                  (json_int_t)(sh->t_started ? sh->t_started - sh->t_request : 0), "console",
                  sh->console ? sh->console : "", "mem_mib", (int)sh->tpl->mem_mib, "taps", taps);
    if (booted) {
        json_object_set_new(r, "boot_us", json_integer((json_int_t)(sh->t_boot - sh->t_request)));
    } else {
        json_object_set_new(r, "boot_us", json_null());
        json_object_set_new(r, "warning",
                            json_string("the guest did not signal its boot timer in time; it "
                                        "keeps running (destroy it, or see its console)"));
    }
    uint64_t client = sh->create_client;
    sh->create_client = 0;
    d->pending_creates--;
    daemon_reply(d, client, launcher_daemon_reply_line(r));
}

static void on_message(struct daemon *d, struct daemon_shell *sh, const struct shell_abi_msg *m)
{
    switch (m->type) {
    case SHELL_ABI_READY:
        if (sh->state != SHELL_PREPARING)
            return;
        d->n_preparing--;
        sh->tpl->failures = 0;
        if (sh->claimed && sh->pending_req) {
            struct launcher_daemon_request *req = sh->pending_req;
            sh->pending_req = NULL;
            sh->claimed = false;
            sh->state = SHELL_READY;
            execute(d, sh, req);
        } else {
            sh->state = SHELL_READY;
            sh->tpl->preparing--;
            sh->tpl->ready++;
        }
        return;
    case SHELL_ABI_STARTED:
        if (sh->state == SHELL_STARTING) {
            sh->t_started = m->t_us;
            sh->state = SHELL_BOOTING;
        }
        return;
    case SHELL_ABI_FAILED:
        sh->fail_code = m->code;
        memcpy(sh->fail_text, m->text, sizeof(sh->fail_text));
        sh->fail_text[sizeof(sh->fail_text) - 1] = '\0';
        return;
    default:
        return;
    }
}

static void unwatch(struct daemon *d, struct daemon_shell *sh)
{
    if (sh->in_epoll) {
        epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, sh->sock, NULL);
        sh->in_epoll = false;
    }
}

void daemon_vms_shell_readable(struct daemon *d, struct daemon_shell *sh)
{
    for (int budget = 0; budget < 64 && !sh->dead; budget++) {
        struct shell_abi_msg m;
        ssize_t got = recv(sh->sock, &m, sizeof(m), MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got <= 0) {
            unwatch(d, sh); /* the shell is gone or going: its reaping says how */
            return;
        }
        if (got == 1) {
            uint8_t byte = *(uint8_t *)&m;
            if (sh->timer_w >= 0 && write(sh->timer_w, &byte, 1) != 1) {
                close(sh->timer_w); /* the client does not read: stop passing bytes on */
                sh->timer_w = -1;
            }
            if (byte == BOOT_ABI_TIMER_READY && !sh->t_boot &&
                (sh->state == SHELL_BOOTING || sh->state == SHELL_STARTING)) {
                sh->t_boot = tinyx_now_us();
                sh->state = SHELL_RUNNING;
                reply_created(d, sh, true);
                /* Nothing more to hear from it: a guest that keeps writing the port fills
                 * its socket, and its monitor then stops passing the bytes on (the socket is
                 * non-blocking on its side), instead of keeping the daemon busy. Its end is
                 * learnt from SIGCHLD. */
                unwatch(d, sh);
                return;
            }
        } else if ((size_t)got == sizeof(m)) {
            on_message(d, sh, &m);
        }
    }
}

/* ---- ending ---------------------------------------------------------------------------- */

/* The last line the shell wrote to the console log (its "vm ended" line). */
static void last_line(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return;
    char buf[600];
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
    ssize_t got = pread(fd, buf, sizeof(buf) - 1, from);
    close(fd);
    if (got <= 0)
        return;
    buf[got] = '\0';
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        buf[--got] = '\0';
    char *nl = strrchr(buf, '\n');
    snprintf(out, len, "%s", nl ? nl + 1 : buf);
}

static void describe_status(int status, char *out, size_t len)
{
    if (WIFEXITED(status))
        snprintf(out, len, "exit code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "status 0x%x", status);
}

static void ended(struct daemon *d, struct daemon_shell *sh, int status)
{
    daemon_vms_shell_readable(d, sh); /* bytes written just before it exited */
    unwatch(d, sh);
    char how[120], line[600];
    describe_status(status, how, sizeof(how));
    struct launcher_template *t = sh->tpl;
    if (sh->state == SHELL_PREPARING)
        d->n_preparing--;
    if (!sh->id) {
        /* A pooled shell (or one claimed while preparing) died. */
        if (sh->state == SHELL_READY && !sh->claimed)
            t->ready--;
        else if (sh->state == SHELL_PREPARING && !sh->claimed)
            t->preparing--;
        if (!d->stopping && !sh->destroying && sh->state == SHELL_PREPARING) {
            tinyx_err("a shell of %s (pid %ld) died before it was ready: %s%s%s", t->image,
                      (long)sh->pid, how, sh->fail_text[0] ? ": " : "", sh->fail_text);
            if (++t->failures >= MAX_PREPARE_FAILURES)
                snprintf(t->broken, sizeof(t->broken),
                         "shells for %s (%u MiB) die before they are ready (%s); the daemon's "
                         "log says why; restart the daemon after fixing it",
                         t->image, t->mem_mib, how);
        }
        if (sh->pending_req) {
            fail_create(d, sh, "the shell for this VM died while it was prepared (%s): %s", how,
                        t->broken[0] ? t->broken : "see the daemon's log");
            launcher_daemon_request_free(sh->pending_req);
            free(sh->pending_req);
            sh->pending_req = NULL;
        }
    } else {
        last_line(sh->console, line, sizeof(line));
        if (sh->create_client)
            fail_create(d, sh, "vm %llu ended before its boot-timer byte: %s%s%s",
                        (unsigned long long)sh->id, sh->destroying ? "destroyed" : how,
                        line[0] ? "; its monitor said: " : "", line);
        if (sh->destroying)
            d->destroyed++;
        else
            d->ended++;
        tinyx_debug("vm %llu ended: %s", (unsigned long long)sh->id, line[0] ? line : how);
    }
    if (sh->timer_w >= 0)
        close(sh->timer_w);
    sh->timer_w = -1;
    if (sh->attach_client) {
        /* `tinyx run` reads the exit as the monitor's wait status (plus its log's end line). */
        json_t *r = json_pack("{s:s,s:I,s:i}", "event", "end", "id", (json_int_t)sh->id,
                              "wait_status", status);
        daemon_reply(d, sh->attach_client, launcher_daemon_reply_line(r));
        sh->attach_client = 0;
    }
    if (sh->destroy_client) {
        struct daemon_client *c = daemon_client_find(d, sh->destroy_client);
        if (c && c->destroy_pending && --c->destroy_pending == 0) {
            json_t *r = json_pack("{s:b,s:i}", "ok", 1, "destroyed", (int)c->destroy_count);
            daemon_reply(d, c->id, launcher_daemon_reply_line(r));
        }
        sh->destroy_client = 0;
    }
    if (sh->console && !d->opt.keep_logs)
        unlink(sh->console);
    sh->dead = true;
}

static struct daemon_shell *find_pid(struct daemon *d, pid_t pid)
{
    for (size_t i = 0; i < d->n_shells; i++)
        if (d->shells[i]->pid == pid && !d->shells[i]->dead)
            return d->shells[i];
    return NULL;
}

void daemon_vms_reap(struct daemon *d)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct daemon_shell *sh = find_pid(d, pid);
        if (sh)
            ended(d, sh, status);
    }
}

void daemon_vms_collect(struct daemon *d)
{
    size_t j = 0;
    for (size_t i = 0; i < d->n_shells; i++) {
        struct daemon_shell *sh = d->shells[i];
        if (!sh->dead) {
            d->shells[j++] = sh;
            continue;
        }
        unwatch(d, sh);
        if (sh->sock >= 0)
            close(sh->sock);
        if (sh->timer_w >= 0)
            close(sh->timer_w);
        free(sh->console);
        if (sh->pending_req) {
            launcher_daemon_request_free(sh->pending_req);
            free(sh->pending_req);
        }
        free(sh);
    }
    d->n_shells = j;
}

void daemon_vms_client_gone(struct daemon *d, uint64_t client_id)
{
    for (size_t i = 0; i < d->n_shells; i++) {
        struct daemon_shell *sh = d->shells[i];
        if (sh->dead || sh->attach_client != client_id)
            continue;
        sh->attach_client = 0;
        if (!sh->destroying) {
            kill(sh->pid, SIGKILL);
            sh->destroying = true;
        }
    }
}

void daemon_vms_destroy(struct daemon *d, struct daemon_client *c,
                        const struct launcher_daemon_request *req)
{
    c->destroy_count = 0;
    c->destroy_pending = 0;
    bool found = false;
    for (size_t i = 0; i < d->n_shells; i++) {
        struct daemon_shell *sh = d->shells[i];
        if (sh->dead || !sh->id || (!req->all && sh->id != req->id))
            continue;
        found = true;
        if (sh->destroying)
            continue; /* someone else's destroy is reaping it */
        kill(sh->pid, SIGKILL);
        sh->destroying = true;
        sh->destroy_client = c->id;
        c->destroy_pending++;
        c->destroy_count++;
    }
    if (!req->all && !found) {
        daemon_reply(d, c->id,
                     launcher_daemon_error_line("no VM with id %llu (it ended, or never existed): "
                                                "see `tinyx list`",
                                                (unsigned long long)req->id));
        return;
    }
    if (c->destroy_pending == 0) {
        json_t *r = json_pack("{s:b,s:i}", "ok", 1, "destroyed", (int)c->destroy_count);
        daemon_reply(d, c->id, launcher_daemon_reply_line(r));
        return;
    }
    c->busy = true; /* the reply comes when the last one is reaped */
}

int daemon_vms_tick(struct daemon *d)
{
    uint64_t now = tinyx_now_us(), next = UINT64_MAX;
    for (size_t i = 0; i < d->n_shells; i++) {
        struct daemon_shell *sh = d->shells[i];
        if (sh->dead || sh->destroying)
            continue;
        uint64_t deadline = UINT64_MAX;
        if (attached_booting(sh, now)) {
            /* The refill waits for its boot-timer byte, or else for its boot deadline. */
            deadline = sh->boot_deadline;
        } else if (sh->state == SHELL_PREPARING) {
            if (sh->fail_text[0])
                continue; /* killed already, not reaped yet */
            deadline = sh->t_spawn + prepare_timeout_us();
            if (deadline <= now) {
                /* Stuck before READY: its reaping fails a waiting create and counts it. */
                snprintf(sh->fail_text, sizeof(sh->fail_text), "not ready after %llu ms",
                         (unsigned long long)(prepare_timeout_us() / 1000));
                tinyx_err("a shell of %s (pid %ld) was %s: killed", sh->tpl->image, (long)sh->pid,
                          sh->fail_text);
                kill(sh->pid, SIGKILL);
                continue;
            }
        } else if (sh->create_client && sh->id) {
            deadline = sh->boot_deadline;
            if (deadline <= now) {
                reply_created(d, sh, false);
                continue;
            }
        }
        if (deadline < next)
            next = deadline;
    }
    if (next == UINT64_MAX)
        return -1;
    return (int)((next - now + 999) / 1000);
}

void daemon_vms_kill_all(struct daemon *d)
{
    for (size_t i = 0; i < d->n_shells; i++)
        if (!d->shells[i]->dead)
            kill(d->shells[i]->pid, SIGKILL);
    for (size_t i = 0; i < d->n_shells; i++) {
        struct daemon_shell *sh = d->shells[i];
        if (sh->dead)
            continue;
        int status;
        while (waitpid(sh->pid, &status, 0) < 0 && errno == EINTR)
            ;
        sh->destroying = true;
        ended(d, sh, status);
    }
    daemon_vms_collect(d);
    for (size_t i = 0; i < d->n_tpls; i++)
        launcher_template_free(d->tpls[i]);
    free(d->tpls);
    d->tpls = NULL;
    d->n_tpls = 0;
    free(d->shells);
    d->shells = NULL;
    d->n_shells = d->cap_shells = 0;
}

/* ---- list and stats -------------------------------------------------------------------- */

static const char *state_name(enum daemon_shell_state s)
{
    switch (s) {
    case SHELL_STARTING:
        return "starting";
    case SHELL_BOOTING:
        return "booting";
    case SHELL_RUNNING:
        return "running";
    case SHELL_PREPARING:
    case SHELL_READY:
        break;
    }
    return "prepared";
}

char *daemon_vms_list(struct daemon *d)
{
    json_t *vms = json_array();
    uint64_t now = tinyx_now_us();
    for (size_t i = 0; i < d->n_shells; i++) {
        const struct daemon_shell *sh = d->shells[i];
        if (sh->dead || !sh->id)
            continue;
        json_t *vm = json_pack("{s:I,s:s,s:i,s:s,s:I,s:s,s:s,s:i}", "id", (json_int_t)sh->id,
                               "image", sh->tpl->image, "pid", (int)sh->pid, "state",
                               sh->destroying ? "destroying" : state_name(sh->state), "uptime_ms",
                               (json_int_t)((now - sh->t_vm_start) / 1000), "shell",
                               sh->fresh ? "fresh" : "prepared", "console",
                               sh->console ? sh->console : "", "mem_mib", (int)sh->tpl->mem_mib);
        json_object_set_new(vm, "mac", sh->mac[0] ? json_string(sh->mac) : json_null());
        json_object_set_new(vm, "ip", sh->ip[0] ? json_string(sh->ip) : json_null());
        json_array_append_new(vms, vm);
    }
    return launcher_daemon_reply_line(json_pack("{s:b,s:o}", "ok", 1, "vms", vms));
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1; /* the directory's own descriptor */
}

char *daemon_vms_stats(struct daemon *d)
{
    unsigned vms = 0, ready = 0, preparing = 0;
    for (size_t i = 0; i < d->n_shells; i++) {
        const struct daemon_shell *sh = d->shells[i];
        if (sh->dead)
            continue;
        if (sh->id)
            vms++;
        else if (sh->state == SHELL_READY)
            ready++;
        else
            preparing++;
    }
    json_t *pools = json_array();
    for (size_t i = 0; i < d->n_tpls; i++) {
        const struct launcher_template *t = d->tpls[i];
        json_t *p = json_pack("{s:s,s:i,s:i,s:i,s:i}", "image", t->image, "mem_mib",
                              (int)t->mem_mib, "target", (int)t->target, "ready", (int)t->ready,
                              "preparing", (int)t->preparing);
        if (t->broken[0])
            json_object_set_new(p, "broken", json_string(t->broken));
        json_array_append_new(pools, p);
    }
    json_t *r = json_pack("{s:b,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:o}", "ok", 1, "vms",
                          (int)vms, "prepared", (int)ready, "preparing", (int)preparing,
                          "daemon_rss_kb", (json_int_t)rss_kb(), "daemon_fds",
                          (json_int_t)open_fds(), "created", (json_int_t)d->created, "destroyed",
                          (json_int_t)d->destroyed, "ended", (json_int_t)d->ended, "pool",
                          (int)d->opt.pool, "mem_mib", (int)d->opt.mem_mib, "pools", pools);
    return launcher_daemon_reply_line(r);
}
