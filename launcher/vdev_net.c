/* vdev_net.c: virtio-net over a tap (--net=TAP[,mac=..][,bridge=BR][,ip=..][,gw=..][,fd=N]),
 * no IFF_VNET_HDR; the device page of a standalone tinyx-kvm. */
#include "launcher/vdev_net.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "launcher/layout.h"
#include "launcher/vmm.h"
#include "launcher/vmm_netlink.h"
#include "tinyx/util.h"

#define NET_HDR_LEN sizeof(struct virtio_net_hdr_v1)
_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "virtio 1.x net header is 12 bytes");

/* Frames moved per wake-up of the tap: enough to empty a full ring, small enough that one busy
 * tap does not starve the other devices on the I/O thread. */
#define RX_BUDGET LAUNCHER_VIRTQ_MAX_SIZE

static bool valid_ifname(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
            return false;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

#define NET_USAGE                                                                                  \
    "use --net=TAP[,mac=XX:XX:XX:XX:XX:XX][,bridge=BR][,ip=A.B.C.D/P][,gw=A.B.C.D][,fd=N]"

/* One setting after the tap name into cfg. 0, or -1 with a message. */
static int parse_setting(const char *value, const char *tok, struct launcher_vdev_net_config *cfg)
{
    char why[256];
    if (tinyx_str_starts(tok, "mac=")) {
        const char *mac = tok + 4;
        if (cfg->have_mac)
            return tinyx_err("--net=%s: mac= is given twice", value);
        cfg->have_mac = true;
        if (!parse_mac(mac, cfg->mac))
            return tinyx_err("--net: mac=%s is not a MAC address like 02:00:00:00:00:01", mac);
        if (cfg->mac[0] & 1)
            return tinyx_err("--net: mac=%s is a multicast address (lowest bit of the first "
                             "byte set); use a unicast one such as 02:00:00:00:00:01",
                             mac);
        return 0;
    }
    if (tinyx_str_starts(tok, "bridge=")) {
        const char *br = tok + 7;
        if (cfg->bridge[0])
            return tinyx_err("--net=%s: bridge= is given twice", value);
        if (!valid_ifname(br))
            return tinyx_err("--net: bridge=%s is not a usable interface name", br);
        strcpy(cfg->bridge, br);
        return 0;
    }
    if (tinyx_str_starts(tok, "ip=")) {
        if (cfg->have_ip)
            return tinyx_err("--net=%s: ip= is given twice", value);
        if (!launcher_devpage_net_ip(tok + 3, cfg->ip, &cfg->prefix, why, sizeof(why)))
            return tinyx_err("--net: %s", why);
        cfg->have_ip = true;
        return 0;
    }
    if (tinyx_str_starts(tok, "gw=")) {
        if (cfg->have_gw)
            return tinyx_err("--net=%s: gw= is given twice", value);
        if (!launcher_devpage_net_gw(tok + 3, NULL, cfg->gw, why, sizeof(why)))
            return tinyx_err("--net: %s", why);
        cfg->have_gw = true;
        return 0;
    }
    if (tinyx_str_starts(tok, "fd=")) {
        const char *num = tok + 3;
        char *end;
        errno = 0;
        unsigned long fd = strtoul(num, &end, 10);
        if (cfg->have_fd)
            return tinyx_err("--net=%s: fd= is given twice", value);
        if (errno || end == num || *end || num[0] == '-' || fd < 3 || fd > (1u << 20))
            return tinyx_err("--net: fd=%s is not a descriptor number (3 or more) of an open "
                             "tap",
                             num);
        cfg->have_fd = true;
        cfg->fd = (int)fd;
        return 0;
    }
    return tinyx_err("--net: unknown setting '%s'; " NET_USAGE, tok);
}

int launcher_vdev_net_parse(const char *value, struct launcher_vdev_net_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->fd = -1;
    if (!value || !*value || *value == ',')
        return tinyx_err("--net needs a tap name first: " NET_USAGE);
    char *copy = tinyx_xstrdup(value), *save = NULL;
    int rc = 0;
    char *tok = strtok_r(copy, ",", &save);
    if (!tok || strchr(tok, '=') || !valid_ifname(tok)) {
        rc = tinyx_err("--net=%s: '%s' is not a usable interface name (1-%d characters, no "
                       "'/', ':' or spaces); " NET_USAGE,
                       value, tok ? tok : "", IFNAMSIZ - 1);
        goto out;
    }
    strcpy(cfg->tap, tok);
    while (rc == 0 && (tok = strtok_r(NULL, ",", &save)))
        rc = parse_setting(value, tok, cfg);
    if (rc == 0 && cfg->have_gw && !cfg->have_ip)
        rc = tinyx_err("--net=%s: gw= needs ip= as well (the guest routes through the gateway "
                       "from an address of its own)",
                       value);
    if (rc == 0 && cfg->have_gw && !memcmp(cfg->gw, cfg->ip, 4))
        rc = tinyx_err("--net=%s: gw= is the guest's own address (ip=); give the address of a "
                       "router, such as the host's side of the tap",
                       value);
    if (rc == 0 && cfg->have_fd && cfg->bridge[0])
        rc = tinyx_err("--net=%s: bridge= and fd= do not go together: whoever opened the tap "
                       "attaches it to its bridge",
                       value);
    if (rc == 0 && cfg->have_fd && strchr(cfg->tap, '%'))
        rc = tinyx_err("--net=%s: with fd= give the tap's own name, not a pattern", value);
out:
    free(copy);
    return rc;
}

int launcher_vdev_net_check_fd(int fd, const char *name)
{
    if (fcntl(fd, F_GETFD) < 0)
        return tinyx_err("--net=%s,fd=%d: descriptor %d is not open in tinyx-kvm (its caller "
                         "must pass the tap's descriptor down)",
                         name, fd, fd);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return tinyx_errno("--net=%s,fd=%d: descriptor %d is not a tap (open /dev/net/tun and "
                           "attach it with TUNSETIFF, IFF_TAP | IFF_NO_PI)",
                           name, fd, fd);
    ifr.ifr_name[IFNAMSIZ - 1] = '\0';
    if (!(ifr.ifr_flags & IFF_TAP))
        return tinyx_err("--net=%s,fd=%d: %s is a tun (layer 3) device, not a tap; create it "
                         "with IFF_TAP | IFF_NO_PI",
                         name, fd, ifr.ifr_name);
    if (!(ifr.ifr_flags & IFF_NO_PI))
        return tinyx_err("--net=%s,fd=%d: tap %s was made without IFF_NO_PI (its frames carry a "
                         "packet-information header); create it with IFF_TAP | IFF_NO_PI",
                         name, fd, ifr.ifr_name);
    if (ifr.ifr_flags & IFF_VNET_HDR)
        return tinyx_err("--net=%s,fd=%d: tap %s has IFF_VNET_HDR, which tinyx-kvm does not use; "
                         "create it without",
                         name, fd, ifr.ifr_name);
    if (strcmp(ifr.ifr_name, name) != 0)
        return tinyx_err("--net=%s,fd=%d: descriptor %d is tap %s; name that one: --net=%s,fd=%d",
                         name, fd, fd, ifr.ifr_name, ifr.ifr_name, fd);
    return 0;
}

void launcher_vdev_net_page_entry(const struct launcher_vdev_net_config *cfg, unsigned slot,
                                  const uint8_t mac[6], struct launcher_devpage_net *out)
{
    memset(out, 0, sizeof(*out));
    out->slot = slot;
    memcpy(out->mac, mac, 6);
    out->have_ip = cfg->have_ip;
    memcpy(out->ip, cfg->ip, 4);
    out->prefix = cfg->prefix;
    out->have_gw = cfg->have_gw;
    memcpy(out->gw, cfg->gw, 4);
}

int launcher_vdev_net_write_devpage(struct launcher_vmm *v, const struct launcher_devpage_net *nets,
                                    unsigned n)
{
    struct devpage_abi page;
    size_t len = launcher_devpage_build(&page, 0, nets, n);
    if (len == 0)
        return tinyx_err("virtio-net: cannot describe %u devices in the device page", n);
    uint8_t *dst = launcher_vmm_gpa(v, LAYOUT_DEVPAGE, LAYOUT_DEVPAGE_SIZE);
    if (!dst)
        return tinyx_err("virtio-net: guest RAM has no room for the device page at 0x%x",
                         LAYOUT_DEVPAGE);
    memset(dst, 0, LAYOUT_DEVPAGE_SIZE);
    memcpy(dst, &page, len);
    return 0;
}

void launcher_vdev_net_default_mac(const char *ifname, uint8_t mac[6])
{
    uint32_t hash = 2166136261u; /* FNV-1a: stable across runs, differs between taps */
    for (const char *p = ifname; *p; p++)
        hash = (hash ^ (uint8_t)*p) * 16777619u;
    mac[0] = 0x02; /* locally administered, unicast */
    mac[1] = 0x74;
    mac[2] = 0x78;
    mac[3] = (uint8_t)(hash >> 16);
    mac[4] = (uint8_t)(hash >> 8);
    mac[5] = (uint8_t)hash;
}

/* No IFF_VNET_HDR: no offloads are offered, so the 12-byte virtio_net_hdr carries nothing; the
 * device strips it on TX and writes a blank one on RX itself, and the guest's header never
 * reaches the host kernel. */
int launcher_vdev_net_open_tap(const char *name, char ifname[IFNAMSIZ])
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return tinyx_err("/dev/net/tun is missing: load the tun module (modprobe tun)");
        return tinyx_errno("cannot open /dev/net/tun (taps need root or CAP_NET_ADMIN)");
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        if (e == EPERM)
            return tinyx_errno("cannot create tap %s: needs CAP_NET_ADMIN (run as root)", name);
        if (e == EBUSY)
            return tinyx_errno("tap %s is already in use (another VM?): pick another name", name);
        if (e == EINVAL)
            return tinyx_errno("cannot use %s as a tap (an interface of another kind has that "
                               "name?)",
                               name);
        return tinyx_errno("cannot create tap %s", name);
    }
    snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
    return fd;
}

/* Device side. Every function below runs with the transport lock held. */

static struct launcher_vdev_net *net_of(struct launcher_virtio_mmio *d)
{
    return d->priv;
}

static void net_transmit(struct launcher_vdev_net *n)
{
    struct launcher_virtio_mmio *d = &n->mmio;
    struct launcher_virtq *q = &d->queues[LAUNCHER_VDEV_NET_TXQ];
    struct launcher_virtq_chain *c = &d->chain;
    struct iovec frame[LAUNCHER_VIRTQ_MAX_SIZE];
    unsigned done = 0;
    /* At most one ring's worth per kick: the guest cannot keep the I/O thread here forever. */
    for (unsigned k = 0; k < q->size; k++) {
        const char *why = NULL;
        int r = launcher_virtq_pop(q, d->vm, c, &why);
        if (r == 0)
            break;
        if (r < 0) {
            launcher_virtio_mmio_fail(d, LAUNCHER_VDEV_NET_TXQ, why);
            break;
        }
        uint64_t len = c->read_len > NET_HDR_LEN ? c->read_len - NET_HDR_LEN : 0;
        if (len == 0 || len > LAUNCHER_VDEV_NET_FRAME_MAX) {
            n->tx_dropped++;
        } else {
            unsigned cnt = launcher_virtq_iov_slice(c->iov, c->n_read, NET_HDR_LEN, len, frame,
                                                    LAUNCHER_VIRTQ_MAX_SIZE);
            /* A full tap queue (EAGAIN) or a down link drops the frame, as a wire would. */
            if (writev(n->fd, frame, (int)cnt) < 0)
                n->tx_dropped++;
            else
                n->tx_frames++;
        }
        launcher_virtq_push(q, c->head, 0);
        done++;
    }
    if (done)
        launcher_virtio_mmio_used(d, LAUNCHER_VDEV_NET_TXQ);
}

/* Why net_receive stopped. */
enum rx_stop { RX_DRAINED, RX_BLOCKED, RX_BUDGET_SPENT };

/* Move frames from fd into guest receive buffers. */
static enum rx_stop net_receive(struct launcher_vdev_net *n)
{
    struct launcher_virtio_mmio *d = &n->mmio;
    struct launcher_virtq *q = &d->queues[LAUNCHER_VDEV_NET_RXQ];
    struct launcher_virtq_chain *c = &d->chain;
    enum rx_stop stop = RX_BUDGET_SPENT;
    unsigned pushed = 0;
    for (unsigned k = 0; k < RX_BUDGET; k++) {
        if (!launcher_virtio_mmio_queue_live(d, LAUNCHER_VDEV_NET_RXQ)) {
            stop = RX_BLOCKED;
            break;
        }
        if (n->frame_len == 0) {
            ssize_t got = read(n->fd, n->frame, sizeof(n->frame));
            if (got <= 0) {
                stop = RX_DRAINED;
                break;
            }
            if ((size_t)got > LAUNCHER_VDEV_NET_FRAME_MAX) { /* truncated: useless */
                n->rx_dropped++;
                continue;
            }
            n->frame_len = (size_t)got;
        }
        const char *why = NULL;
        int r = launcher_virtq_peek(q, d->vm, c, &why);
        if (r < 0) {
            launcher_virtio_mmio_fail(d, LAUNCHER_VDEV_NET_RXQ, why);
            stop = RX_BLOCKED;
            break;
        }
        if (r == 0) {
            stop = RX_BLOCKED; /* no buffer: keep the frame for the next one */
            break;
        }
        if (c->write_len < NET_HDR_LEN + n->frame_len) {
            /* The guest's buffers are too small for this frame: drop it, keep the buffers. */
            n->rx_dropped++;
            n->frame_len = 0;
            continue;
        }
        struct virtio_net_hdr_v1 hdr;
        memset(&hdr, 0, sizeof(hdr));
        hdr.num_buffers = 1; /* no VIRTIO_NET_F_MRG_RXBUF: always one buffer per frame */
        launcher_virtq_chain_write(c, 0, &hdr, sizeof(hdr));
        launcher_virtq_chain_write(c, NET_HDR_LEN, n->frame, n->frame_len);
        launcher_virtq_consume(q);
        launcher_virtq_push(q, c->head, (uint32_t)(NET_HDR_LEN + n->frame_len));
        n->frame_len = 0;
        n->rx_frames++;
        pushed++;
    }
    if (pushed)
        launcher_virtio_mmio_used(d, LAUNCHER_VDEV_NET_RXQ);
    return stop;
}

static void net_queue_notify(struct launcher_virtio_mmio *d, unsigned q)
{
    if (q == LAUNCHER_VDEV_NET_TXQ)
        net_transmit(net_of(d));
    else
        net_receive(net_of(d)); /* new buffers: frames may be waiting */
}

static void net_reset(struct launcher_virtio_mmio *d)
{
    net_of(d)->frame_len = 0; /* a frame kept for the old driver is stale */
}

static const struct launcher_virtio_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

struct launcher_vdev_net *launcher_vdev_net_create(struct launcher_vmm *v, int fd,
                                                   const uint8_t mac[6])
{
    struct launcher_vdev_net *n = tinyx_xcalloc(1, sizeof(*n));
    n->fd = fd;
    launcher_virtio_mmio_init(&n->mmio, v, &net_ops, n,
                              (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS));
    memcpy(n->mmio.config + offsetof(struct virtio_net_config, mac), mac, 6);
    uint16_t status = VIRTIO_NET_S_LINK_UP;
    memcpy(n->mmio.config + offsetof(struct virtio_net_config, status), &status, 2);
    n->mmio.config_size = offsetof(struct virtio_net_config, status) + 2;
    return n;
}

void launcher_vdev_net_readable(struct launcher_vdev_net *n)
{
    pthread_mutex_lock(&n->mmio.lock);
    if (net_receive(n) == RX_BLOCKED) {
        /* The guest cannot take frames now. Keep the one in hand, drop what else is queued
         * (bounded) so that fd stops being readable. */
        uint8_t discard[64];
        for (unsigned k = 0; k < RX_BUDGET; k++) {
            if (read(n->fd, discard, sizeof(discard)) < 0)
                break;
            n->rx_dropped++;
        }
    }
    pthread_mutex_unlock(&n->mmio.lock);
}

void launcher_vdev_net_destroy(struct launcher_vdev_net *n)
{
    if (!n)
        return;
    launcher_virtio_mmio_destroy(&n->mmio);
    if (n->fd >= 0)
        close(n->fd);
    free(n);
}

/* The module: options, setup (taps, bridges, slots), seccomp rules, teardown. */

static struct launcher_vdev_net_config net_configs[LAYOUT_VIRTIO_MAX_DEVICES];
static unsigned net_config_count;
static struct launcher_vdev_net *net_devices[LAYOUT_VIRTIO_MAX_DEVICES];
/* The daemon plugged the devices (launcher_vdev_net_add_open) and writes the device page
 * itself; otherwise setup writes one for the --net devices. */
static bool page_from_daemon;

static int net_option(const char *name, const char *value)
{
    if (strcmp(name, "--net") != 0 && strcmp(name, "net") != 0)
        return 0;
    if (net_config_count == LAYOUT_VIRTIO_MAX_DEVICES)
        return tinyx_err("--net: at most %u network devices", LAYOUT_VIRTIO_MAX_DEVICES);
    struct launcher_vdev_net_config cfg;
    if (launcher_vdev_net_parse(value, &cfg) < 0)
        return -1;
    if (cfg.have_fd && launcher_vdev_net_check_fd(cfg.fd, cfg.tap) < 0)
        return -1;
    for (unsigned i = 0; i < net_config_count; i++) {
        if (strcmp(net_configs[i].tap, cfg.tap) == 0 && !strchr(cfg.tap, '%'))
            return tinyx_err("--net: tap %s is given twice", cfg.tap);
        if (cfg.have_fd && net_configs[i].have_fd && net_configs[i].fd == cfg.fd)
            return tinyx_err("--net: fd=%d is given twice", cfg.fd);
    }
    net_configs[net_config_count++] = cfg;
    return 1;
}

int launcher_vdev_net_add_open(int fd, const char *ifname, const uint8_t mac[6])
{
    if (net_config_count == LAYOUT_VIRTIO_MAX_DEVICES)
        return tinyx_err("at most %u network devices", LAYOUT_VIRTIO_MAX_DEVICES);
    struct launcher_vdev_net_config *cfg = &net_configs[net_config_count++];
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->tap, sizeof(cfg->tap), "%s", ifname);
    memcpy(cfg->mac, mac, 6);
    cfg->have_mac = true;
    cfg->have_fd = true;
    cfg->fd = fd;
    page_from_daemon = true;
    return 0;
}

static void on_tap_readable(struct launcher_vmm *v, void *ctx)
{
    (void)v;
    launcher_vdev_net_readable(ctx);
}

static int net_setup(struct launcher_vmm *v, struct strvec *cmdline_words)
{
    struct launcher_devpage_net page[LAYOUT_VIRTIO_MAX_DEVICES];
    for (unsigned i = 0; i < net_config_count; i++) {
        const struct launcher_vdev_net_config *cfg = &net_configs[i];
        char ifname[IFNAMSIZ];
        int fd;
        if (cfg->have_fd) {
            fd = cfg->fd;
            snprintf(ifname, sizeof(ifname), "%s", cfg->tap);
            /* An inherited tap may be blocking; the I/O thread reads until EAGAIN. */
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        } else if ((fd = launcher_vdev_net_open_tap(cfg->tap, ifname)) < 0) {
            return -1;
        }
        uint8_t mac[6];
        if (cfg->have_mac)
            memcpy(mac, cfg->mac, 6);
        else
            launcher_vdev_net_default_mac(ifname, mac);
        struct launcher_vdev_net *n = launcher_vdev_net_create(v, fd, mac);
        net_devices[i] = n;
        if (!cfg->have_fd &&
            launcher_netlink_link_up(ifname, cfg->bridge[0] ? cfg->bridge : NULL) < 0)
            return -1;
        if (launcher_virtio_mmio_attach(&n->mmio, cmdline_words) < 0)
            return -1;
        if (launcher_vmm_watch(v, fd, on_tap_readable, n) < 0)
            return -1;
        launcher_vdev_net_page_entry(cfg, (unsigned)n->mmio.slot, mac, &page[i]);
        tinyx_debug("virtio-net: tap %s%s%s, mac %02x:%02x:%02x:%02x:%02x:%02x at 0x%llx irq %u%s",
                    ifname, cfg->bridge[0] ? " on bridge " : "", cfg->bridge, mac[0], mac[1],
                    mac[2], mac[3], mac[4], mac[5], (unsigned long long)n->mmio.base, n->mmio.gsi,
                    cfg->have_ip ? " (address in the device page)" : "");
    }
    /* The guest finds its devices, MACs and addresses in the device page (as the daemon's
     * guests do); a guest that does not read it uses the command line. */
    if (net_config_count && !page_from_daemon &&
        launcher_vdev_net_write_devpage(v, page, net_config_count) < 0)
        return -1;
    return 0;
}

static int net_sandbox(struct launcher_vmm *v, void *seccomp_ctx)
{
    (void)v;
    int rc = 0;
    for (unsigned i = 0; i < LAYOUT_VIRTIO_MAX_DEVICES && rc == 0; i++) {
        const struct launcher_vdev_net *n = net_devices[i];
        if (!n)
            continue;
        rc = seccomp_rule_add(seccomp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)n->fd));
        if (rc == 0)
            rc = seccomp_rule_add(seccomp_ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)n->fd));
    }
    if (rc < 0) {
        errno = -rc;
        return tinyx_errno("virtio-net: cannot add seccomp rules");
    }
    return 0;
}

static void net_teardown(struct launcher_vmm *v)
{
    (void)v;
    /* Closing a tap we created removes it (and takes it off the bridge). */
    for (unsigned i = 0; i < LAYOUT_VIRTIO_MAX_DEVICES; i++) {
        launcher_vdev_net_destroy(net_devices[i]);
        net_devices[i] = NULL;
    }
}

static const struct launcher_vmm_module net_module = {
    .name = "virtio-net",
    .usage = "--net=TAP[,mac=XX:XX:XX:XX:XX:XX][,bridge=BR][,ip=A.B.C.D/P][,gw=A.B.C.D][,fd=N]\n"
             "                     virtio-net over tap TAP (created if missing, brought up),\n"
             "                     attached to the existing bridge BR. ip=/gw=: the guest's\n"
             "                     address (prefix 1-30) and gateway, written with the device's\n"
             "                     MAC, window and IRQ into the device page at 0x8000 (written\n"
             "                     whenever there is a --net). fd=N: tap TAP is already open on\n"
             "                     inherited descriptor N (IFF_TAP|IFF_NO_PI) and up; not touched",
    .option = net_option,
    .setup = net_setup,
    .sandbox = net_sandbox,
    .teardown = net_teardown,
};
LAUNCHER_VMM_MODULE(net_module);
