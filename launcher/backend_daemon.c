/* backend_daemon.c: the daemon backend: `tinyx run --backend daemon` boots the image in a
 * prepared shell of the running launcher daemon ("create" with "attach", docs/daemon.md) and
 * watches it through the console, log and boot-timer pipes the daemon hands over. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/backend.h"
#include "launcher/backend_kvm.h"
#include "launcher/commands.h"
#include "launcher/guest_net.h"
#include "launcher/hostinfo.h"
#include "tinyx/exitcode.h"
#include "tinyx/util.h"

#define STOP_GRACE_MS 200

struct daemon_vm {
    int sock; /* the connection; the "end" event arrives on it */
    pid_t pid;
    long long id;
    bool ended;
    int wait_status;
};

static int connect_daemon(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

bool launcher_daemon_running(const char **socket_out)
{
    const char *path = launcher_daemon_socket_path(NULL);
    if (socket_out)
        *socket_out = path;
    int fd = connect_daemon(path);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The daemon's shells are tinyx-kvm's: the image's own kernel that this host's KVM runs, net
 * devices on named taps, no disks and no port forwards (check_spec below); and a daemon must
 * answer (checked last: it is a connect). */
static bool daemon_can_boot(const struct launcher_boot_request *req, char *why, size_t why_len)
{
    const char *no = NULL;
    if (req->kernel_from_option)
        no = "the daemon boots an image's own kernel, not --kernel";
    for (size_t i = 0; !no && i < req->n_devices; i++)
        if (req->devices[i].kind != LAUNCHER_VM_DEVICE_NET)
            no = "the daemon plugs no --blk disks";
        else if (strchr(req->devices[i].net.tap, '%'))
            no = "the daemon plugs taps by name, not by pattern";
    if (!no && req->forward_port) {
        snprintf(why, why_len, "the daemon forwards no guest ports (this app uses port %d)",
                 req->forward_port);
        return false;
    }
    if (no) {
        snprintf(why, why_len, "%s", no);
        return false;
    }
    /* The daemon opens /dev/kvm itself: one we may not open may still be its. */
    struct launcher_host host = *req->host;
    if (host.kvm_errno == EACCES || host.kvm_errno == EPERM)
        host.kvm_errno = 0;
    if (!launcher_kvm_runs_kernel(req->kernel, &host, why, why_len))
        return false;
    const char *sock = NULL;
    bool running = launcher_daemon_running(&sock);
    snprintf(why, why_len,
             running ? "a launcher daemon listens on %s and boots this image in a prepared shell"
                     : "no launcher daemon listens on %s",
             sock);
    return running;
}

static int daemon_prepare(const char *requested, const char **accel_out, char *note,
                          size_t note_len)
{
    (void)requested;
    *accel_out = "kvm";
    const char *path = launcher_daemon_socket_path(NULL);
    int fd = connect_daemon(path);
    if (fd < 0) {
        tinyx_err("the daemon backend needs a running daemon, and none listens on %s: start "
                  "one with `tinyx daemon --detach` (or set TINYX_DAEMON_SOCKET)",
                  path);
        return TINYX_EXIT_ENV;
    }
    close(fd);
    if (note && note_len)
        snprintf(note, note_len, "a prepared shell of the daemon at %s", path);
    return 0;
}

/* One line from the daemon (blocking), with any descriptors that came with it. */
static json_t *read_line(int sock, int *fds, unsigned max_fds, unsigned *n_fds)
{
    char buf[65536];
    size_t len = 0;
    *n_fds = 0;
    while (len < sizeof(buf) - 1) {
        union {
            struct cmsghdr h;
            char c[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        /* One byte at a time: nothing after the line may be consumed (the "end" event). */
        struct iovec iov = {.iov_base = buf + len, .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control.c,
                            .msg_controllen = sizeof(control.c)};
        ssize_t got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return NULL;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                if (*n_fds < max_fds)
                    fds[(*n_fds)++] = fd;
                else
                    close(fd);
            }
        }
        if (buf[len++] == '\n')
            break;
    }
    buf[len] = '\0';
    return json_loads(buf, 0, NULL);
}

static json_t *create_request(const struct launcher_vm_spec *spec)
{
    char dir[PATH_MAX];
    if (!realpath(spec->image_dir, dir))
        snprintf(dir, sizeof(dir), "%s", spec->image_dir);
    json_t *req = json_pack("{s:s,s:s,s:b}", "op", "create", "image", dir, "attach", 1);
    if (spec->memory_mb)
        json_object_set_new(req, "mem_mib", json_integer(spec->memory_mb));
    if (spec->append && *spec->append)
        json_object_set_new(req, "cmdline", json_string(spec->append));
    json_t *nets = json_array();
    for (size_t i = 0; i < spec->n_devices; i++) {
        const struct launcher_vm_device *d = &spec->devices[i];
        json_t *n = json_pack("{s:s,s:s}", "tap", d->net.tap, "bridge", d->net.bridge);
        if (d->net.have_mac) {
            char mac[18];
            snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", d->net.mac[0],
                     d->net.mac[1], d->net.mac[2], d->net.mac[3], d->net.mac[4], d->net.mac[5]);
            json_object_set_new(n, "mac", json_string(mac));
        }
        char ip[INET_ADDRSTRLEN], text[INET_ADDRSTRLEN + 4];
        if (d->net.have_ip) {
            launcher_guest_net_ntoa(d->net.ip, ip);
            snprintf(text, sizeof(text), "%s/%u", ip, d->net.prefix);
            json_object_set_new(n, "ip", json_string(text));
        }
        if (d->net.have_gw) {
            launcher_guest_net_ntoa(d->net.gw, ip);
            json_object_set_new(n, "gw", json_string(ip));
        }
        json_array_append_new(nets, n);
    }
    json_object_set_new(req, "net", nets);
    return req;
}

static int check_spec(const struct launcher_vm_spec *spec)
{
    char dir[PATH_MAX], kernel_dir[PATH_MAX];
    char *copy = tinyx_xstrdup(spec->kernel_path ? spec->kernel_path : "");
    char *slash = strrchr(copy, '/');
    if (slash)
        *slash = '\0';
    bool same = spec->image_dir && realpath(spec->image_dir, dir) &&
                realpath(slash ? copy : ".", kernel_dir) && !strcmp(dir, kernel_dir);
    free(copy);
    if (!same) {
        tinyx_err("the daemon backend boots an image folder with its own kernel; --kernel is "
                  "not supported (use --backend kvm)");
        return TINYX_EXIT_USAGE;
    }
    for (size_t i = 0; i < spec->n_devices; i++)
        if (spec->devices[i].kind != LAUNCHER_VM_DEVICE_NET ||
            strchr(spec->devices[i].net.tap, '%')) {
            tinyx_err("the daemon backend plugs net devices with a tap name only (no --blk, no "
                      "tap patterns; use --backend kvm)");
            return TINYX_EXIT_USAGE;
        }
    if (spec->n_forwards) {
        tinyx_err("the daemon backend has no port forwarding (use --net, or --backend qemu)");
        return TINYX_EXIT_USAGE;
    }
    return 0;
}

static int daemon_start(const struct launcher_vm_spec *spec, struct launcher_vm *vm)
{
    int rc = check_spec(spec);
    if (rc != 0)
        return rc;
    const char *path = launcher_daemon_socket_path(NULL);
    int sock = connect_daemon(path);
    if (sock < 0) {
        tinyx_errno("cannot connect to the daemon at %s", path);
        return TINYX_EXIT_ENV;
    }
    json_t *req = create_request(spec);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *line = tinyx_xasprintf("%s\n", text);
    free(text);
    ssize_t w = send(sock, line, strlen(line), MSG_NOSIGNAL);
    bool sent = w == (ssize_t)strlen(line);
    free(line);
    int fds[3] = {-1, -1, -1};
    unsigned n_fds = 0;
    json_t *reply = sent ? read_line(sock, fds, 3, &n_fds) : NULL;
    if (!reply || !json_is_true(json_object_get(reply, "ok")) || n_fds != 3) {
        const char *e = reply ? json_string_value(json_object_get(reply, "error")) : NULL;
        tinyx_err("the daemon did not create the VM: %s",
                  e ? e : "no reply with the VM's pipes (did it stop?)");
        json_decref(reply);
        for (unsigned i = 0; i < n_fds; i++)
            close(fds[i]);
        close(sock);
        return TINYX_EXIT_FAIL;
    }
    struct daemon_vm *dv = tinyx_xcalloc(1, sizeof(*dv));
    dv->sock = sock;
    dv->pid = (pid_t)json_integer_value(json_object_get(reply, "pid"));
    dv->id = json_integer_value(json_object_get(reply, "id"));
    tinyx_info("daemon: vm %lld, pid %ld, %s shell", dv->id, (long)dv->pid,
               json_string_value(json_object_get(reply, "shell")));
    json_decref(reply);
    for (int i = 0; i < 3; i++)
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    memset(vm, 0, sizeof(*vm));
    vm->console_fd = fds[0];
    vm->log_fd = fds[1];
    vm->timer_fd = fds[2];
    vm->exit_fd = sock; /* readable when the daemon sends the "end" event */
    vm->vmm_pid = dv->pid;
    vm->priv = dv;
    return 0;
}

/* Wait (up to timeout_ms, -1: forever) for the "end" event. */
static bool await_end(struct daemon_vm *dv, int timeout_ms)
{
    if (dv->ended)
        return true;
    struct pollfd p = {.fd = dv->sock, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    unsigned n_fds = 0;
    json_t *event = read_line(dv->sock, NULL, 0, &n_fds);
    dv->ended = true;
    if (event && json_is_integer(json_object_get(event, "wait_status")))
        dv->wait_status = (int)json_integer_value(json_object_get(event, "wait_status"));
    else
        dv->wait_status = TINYX_EXIT_FAIL << 8; /* the daemon went away: "exited 1" */
    json_decref(event);
    return true;
}

static int daemon_wait(struct launcher_vm *vm, const char *vmm_log, struct launcher_vm_end *end)
{
    struct daemon_vm *dv = vm->priv;
    await_end(dv, -1);
    return launcher_backend_kvm_end(vmm_log, dv->wait_status, end);
}

static void daemon_stop(struct launcher_vm *vm)
{
    struct daemon_vm *dv = vm->priv;
    if (!dv || dv->ended)
        return;
    /* The shell is the daemon's child, but ours to stop: SIGTERM lets it flush its console. */
    kill(dv->pid, SIGTERM);
    if (!await_end(dv, STOP_GRACE_MS)) {
        kill(dv->pid, SIGKILL);
        await_end(dv, 5000);
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void daemon_release(struct launcher_vm *vm)
{
    daemon_stop(vm);
    struct daemon_vm *dv = vm->priv;
    close_fd(&vm->console_fd);
    close_fd(&vm->log_fd);
    close_fd(&vm->timer_fd);
    vm->exit_fd = -1;
    if (dv)
        close(dv->sock); /* a daemon that still holds the VM kills it now */
    free(dv);
    vm->priv = NULL;
}

const struct launcher_backend launcher_backend_daemon = {
    .name = "daemon",
    .summary = "a prepared tinyx-kvm shell of the running daemon (tinyx daemon; test guests, "
               "--net)",
    .pick_when = "when a running launcher daemon can boot the image",
    .can_boot = daemon_can_boot,
    .accels = NULL,
    .ports_proxied = false,
    .forwards_ports = false,
    .prepare = daemon_prepare,
    .start = daemon_start,
    .wait = daemon_wait,
    .stop = daemon_stop,
    .release = daemon_release,
};
